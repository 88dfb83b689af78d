//! Adjustments to typify's output where it would not give back the JSON it read.
//!
//! typify gives an optional array or map property a plain `Vec`/`HashMap` that is skipped
//! when empty, so `"tags": []` would come back absent. Such fields become `Option<..>`:
//! absent stays absent, empty stays empty.
//!
//! An open object's flattened `extra` map is renamed when a declared property takes `extra`.
//!
//! typify gives an optional property that may be `null` an `Option<T>`, so `"x": null` would
//! come back absent. `types` marks the properties the IR says are optional and nullable
//! ([`crate::ir::Property::optional_nullable`]) in their description; here the mark is removed
//! and the field becomes `Option<Option<T>>` (absent: `None`, `null`: `Some(None)`).

use syn::visit_mut::VisitMut;

/// The mark `types` appends to the description of an optional nullable property.
pub const OPTIONAL_NULLABLE: &str = " [chanspec:optional-nullable]";

/// The start of the mark `types` appends to an object's description: `ORDER` + the JSON
/// array of its property names in the schema's order + `]`.
pub const ORDER: &str = " [chanspec:order:";

pub fn apply(file: &mut syn::File) {
    adjust_items(&mut file.items);
    closed_variants_apart(file);
    constructors(file);
}

/// One walk over the items, into structs, enum variants and modules only (typify puts marks
/// and fields nowhere else; impl bodies are not walked): each field made optional where it is
/// an optional collection or an optional nullable property, the `extra` map renamed where it
/// collides, the fields put in the schema's order, and every mark removed.
fn adjust_items(items: &mut [syn::Item]) {
    for item in items {
        match item {
            syn::Item::Struct(s) => {
                let order = take_marks(&mut s.attrs).1;
                adjust_fields(&mut s.fields, order);
            }
            syn::Item::Enum(e) => {
                take_marks(&mut e.attrs);
                for v in e.variants.iter_mut() {
                    let order = take_marks(&mut v.attrs).1;
                    adjust_fields(&mut v.fields, order);
                }
            }
            syn::Item::Mod(m) => {
                take_marks(&mut m.attrs);
                if let Some((_, items)) = &mut m.content {
                    adjust_items(items);
                }
            }
            syn::Item::Impl(i) => {
                take_marks(&mut i.attrs);
                for member in i.items.iter_mut() {
                    if let syn::ImplItem::Fn(f) = member {
                        take_marks(&mut f.attrs);
                    } else {
                        Marks.visit_impl_item_mut(member);
                    }
                }
            }
            syn::Item::Type(t) => {
                take_marks(&mut t.attrs);
            }
            syn::Item::Use(u) => {
                take_marks(&mut u.attrs);
            }
            other => Marks.visit_item_mut(other),
        }
    }
}

fn adjust_fields(fields: &mut syn::Fields, order: Option<Vec<String>>) {
    for field in fields.iter_mut() {
        optional_collection(field);
        let nullable = take_marks(&mut field.attrs).0;
        optional_nullable(field, nullable);
    }
    if let syn::Fields::Named(named) = fields {
        free_extra(named);
        if let Some(order) = order {
            reorder(named, &order);
        }
    }
}

/// Removes the marks from whatever attributes it visits, everywhere below (for items the walk
/// does not know).
struct Marks;

impl VisitMut for Marks {
    fn visit_attributes_mut(&mut self, attrs: &mut Vec<syn::Attribute>) {
        take_marks(attrs);
    }
}

/// Removes both marks from `#[doc]` attributes (dropping one left empty): whether the
/// optional-nullable mark was there, and the property order the order mark held. Each doc
/// text is read once; the nullable mark goes first, then the order mark, from what is left.
fn take_marks(attrs: &mut Vec<syn::Attribute>) -> (bool, Option<Vec<String>>) {
    let (mut nullable, mut order) = (false, None);
    attrs.retain_mut(|attr| {
        let Some(mut text) = doc_text(attr) else { return true };
        let mut changed = false;
        if text.contains(OPTIONAL_NULLABLE.trim_start()) {
            nullable = true;
            text = text.replace(OPTIONAL_NULLABLE, "").replace(OPTIONAL_NULLABLE.trim_start(), "");
            if text.trim().is_empty() {
                return false;
            }
            changed = true;
        }
        if let Some((list, cleaned)) = split_order(&text) {
            order = Some(list);
            if cleaned.trim().is_empty() {
                return false;
            }
            text = cleaned;
            changed = true;
        }
        if changed && let syn::Meta::NameValue(nv) = &mut attr.meta {
            nv.value = syn::parse_quote! { #text };
        }
        true
    });
    (nullable, order)
}

/// The property names of the order mark in `text`, and `text` without the mark.
fn split_order(text: &str) -> Option<(Vec<String>, String)> {
    let start = text.find(ORDER.trim_start())?;
    let json = &text[start + ORDER.trim_start().len()..];
    let mut names = serde_json::Deserializer::from_str(json).into_iter::<Vec<String>>();
    let Some(Ok(list)) = names.next() else { return None };
    let end = start + ORDER.trim_start().len() + names.byte_offset() + 1;
    Some((list, format!("{}{}", text[..start].trim_end(), &text[end.min(text.len())..])))
}

/// typify marks a whole untagged enum `deny_unknown_fields` when one variant is a closed
/// object, which refuses the values of its open variants. Where the variants differ, each
/// closed struct-like variant becomes a newtype around a struct of its own that denies unknown
/// fields, and the enum no longer does.
fn closed_variants_apart(file: &mut syn::File) {
    let items = std::mem::take(&mut file.items);
    for mut item in items {
        let mut extra = Vec::new();
        if let syn::Item::Enum(e) = &mut item
            && let Some(pos) = e.attrs.iter().position(|a| {
                serde_list(a).is_some_and(|t| t.contains("untagged") && t.contains("deny_unknown_fields"))
            })
        {
            let open = |v: &syn::Variant| v.fields.iter().any(|f| serde_words(f).iter().any(|w| w == "flatten"));
            if e.variants.iter().any(open) {
                e.attrs[pos] = syn::parse_quote! { #[serde(untagged)] };
                let derives: Vec<syn::Attribute> =
                    e.attrs.iter().filter(|a| a.path().is_ident("derive")).cloned().collect();
                for v in e.variants.iter_mut().filter(|v| !open(v)) {
                    let syn::Fields::Named(named) = &v.fields else { continue };
                    let name = quote::format_ident!("{}{}", e.ident, v.ident);
                    let mut fields = named.clone();
                    for f in fields.named.iter_mut() {
                        f.vis = syn::parse_quote! { pub };
                    }
                    let doc = format!(" Variant `{}` of [`{}`].", v.ident, e.ident);
                    extra.push(syn::parse_quote! {
                        #[doc = #doc]
                        #(#derives)*
                        #[serde(deny_unknown_fields)]
                        pub struct #name #fields
                    });
                    v.fields = syn::Fields::Unnamed(syn::parse_quote! { (#name) });
                }
            }
        }
        file.items.push(item);
        file.items.extend(extra);
    }
}

/// The tokens of a `#[serde(...)]` attribute.
fn serde_list(attr: &syn::Attribute) -> Option<String> {
    if !attr.path().is_ident("serde") {
        return None;
    }
    attr.meta.require_list().ok().map(|l| l.tokens.to_string())
}

/// The words of a field's `#[serde(...)]` attributes (`flatten`, `default`, `rename`, …): the
/// identifiers at their top level (serde's values are string literals, never identifiers).
fn serde_words(field: &syn::Field) -> Vec<String> {
    let mut words = Vec::new();
    for list in serde_lists(field) {
        for t in list.tokens.clone() {
            if let proc_macro2::TokenTree::Ident(i) = t {
                words.push(i.to_string());
            }
        }
    }
    words
}

/// The `#[serde(...)]` lists of a field.
fn serde_lists(field: &syn::Field) -> impl Iterator<Item = &syn::MetaList> {
    field.attrs.iter().filter(|a| a.path().is_ident("serde")).filter_map(|a| a.meta.require_list().ok())
}

fn doc_text(attr: &syn::Attribute) -> Option<String> {
    if !attr.path().is_ident("doc") {
        return None;
    }
    let syn::Meta::NameValue(nv) = &attr.meta else { return None };
    let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &nv.value else { return None };
    Some(s.value())
}

/// The name a field has on the wire: its `#[serde(rename = "…")]`, or its identifier.
fn wire_name(field: &syn::Field) -> Option<String> {
    for list in serde_lists(field) {
        let mut tokens = list.tokens.clone().into_iter();
        while let Some(t) = tokens.next() {
            let proc_macro2::TokenTree::Ident(i) = &t else { continue };
            if i != "rename" {
                continue;
            }
            let (Some(proc_macro2::TokenTree::Punct(eq)), Some(proc_macro2::TokenTree::Literal(lit))) =
                (tokens.next(), tokens.next())
            else {
                continue;
            };
            if eq.as_char() == '='
                && let syn::Lit::Str(s) = syn::Lit::new(lit)
            {
                return Some(s.value());
            }
        }
    }
    field.ident.as_ref().map(|i| i.to_string().trim_start_matches("r#").to_string())
}

/// Stable sort by position in `order`; fields not in it (a flattened map) keep their place
/// after the others.
fn reorder(fields: &mut syn::FieldsNamed, order: &[String]) {
    let mut list: Vec<syn::Field> = std::mem::take(&mut fields.named).into_iter().collect();
    list.sort_by_cached_key(|f| wire_name(f).and_then(|n| order.iter().position(|o| *o == n)).unwrap_or(usize::MAX));
    fields.named = list.into_iter().collect();
}

/// Whether the property is optional, so a constructor leaves it absent: serde fills it when
/// it is missing (`default`, a flattened map), or it is an `Option` skipped when `None` (serde
/// reads a missing `Option` as `None`). A required property that may be `null` is an `Option`
/// that is never skipped, and stays a parameter.
fn defaults(field: &syn::Field) -> bool {
    let words = serde_words(field);
    let has = |w: &str| words.iter().any(|x| x == w);
    has("default") || has("flatten") || (is_option(&field.ty) && has("skip_serializing_if"))
}

/// `Type::new(required…)` for every struct with named fields: the required properties in the
/// schema's order, every optional one absent. Adding an optional property to the schema
/// leaves code that constructs values this way compiling.
fn constructors(file: &mut syn::File) {
    let items = std::mem::take(&mut file.items);
    for item in items {
        let constructor = constructor(&item);
        file.items.push(item);
        file.items.extend(constructor);
    }
}

/// The `impl` with `new` for a payload struct with named fields (placed right after it).
fn constructor(item: &syn::Item) -> Option<syn::Item> {
    let syn::Item::Struct(s) = item else { return None };
    let syn::Fields::Named(fields) = &s.fields else { return None };
    // Payload types only (they derive serde's traits), not the channel glue.
    let payload = s.attrs.iter().any(|a| {
        a.path().is_ident("derive")
            && a.meta.require_list().is_ok_and(|l| {
                l.tokens
                    .clone()
                    .into_iter()
                    .any(|t| matches!(&t, proc_macro2::TokenTree::Ident(i) if i == "Deserialize"))
            })
    });
    if !payload {
        return None;
    }
    // Built from a template parsed once per thread: parsing an `impl` per struct was most of
    // the time spent adjusting typify's output.
    thread_local! {
        static TEMPLATE: (syn::ItemImpl, syn::Expr) = (
            syn::parse_quote! {
                impl T {
                    #[doc = ""]
                    #[allow(clippy::too_many_arguments, clippy::new_without_default)]
                    pub fn new() -> Self {
                        Self {}
                    }
                }
            },
            syn::parse_quote! { ::std::default::Default::default() },
        );
    }
    let (mut imp, default) = TEMPLATE.with(|t| t.clone());
    let ty = &s.ident;
    imp.self_ty = Box::new(syn::Type::Path(syn::TypePath { attrs: Vec::new(), qself: None, path: ty.clone().into() }));
    let syn::ImplItem::Fn(new) = &mut imp.items[0] else { return None };
    let doc = format!(" A `{ty}` with the required properties given and every optional one absent.");
    if let syn::Meta::NameValue(nv) = &mut new.attrs[0].meta {
        nv.value =
            syn::Expr::Lit(syn::ExprLit { attrs: Vec::new(), lit: syn::Lit::Str(syn::LitStr::new(&doc, ty.span())) });
    }
    let Some(syn::Stmt::Expr(syn::Expr::Struct(init), _)) = new.block.stmts.first_mut() else { return None };
    for f in &fields.named {
        let (Some(name), ty) = (&f.ident, &f.ty) else { continue };
        let path = || syn::Expr::Path(syn::ExprPath { attrs: Vec::new(), qself: None, path: name.clone().into() });
        let optional = defaults(f);
        if !optional {
            new.sig.inputs.push(syn::FnArg::Typed(syn::PatType {
                attrs: Vec::new(),
                pat: Box::new(syn::Pat::Ident(syn::PatIdent {
                    attrs: Vec::new(),
                    by_ref: None,
                    mutability: None,
                    ident: name.clone(),
                    subpat: None,
                })),
                colon_token: Default::default(),
                ty: Box::new(ty.clone()),
            }));
        }
        init.fields.push(syn::FieldValue {
            attrs: Vec::new(),
            member: syn::Member::Named(name.clone()),
            colon_token: optional.then(Default::default),
            expr: if optional { default.clone() } else { path() },
        });
    }
    Some(syn::Item::Impl(imp))
}

/// typify names the flattened map of an open object's undeclared properties `extra`; with a
/// declared property `extra` the struct would have two fields of that name. The map's field
/// takes the first free name of `extra_`, `extra__`, ...: flattened, its name is never on the
/// wire.
fn free_extra(fields: &mut syn::FieldsNamed) {
    if fields.named.iter().filter(|f| f.ident.as_ref().is_some_and(|i| i == "extra")).count() < 2 {
        return;
    }
    let names: Vec<String> = fields.named.iter().filter_map(|f| f.ident.as_ref()).map(|i| i.to_string()).collect();
    let mut free = "extra_".to_string();
    while names.contains(&free) {
        free.push('_');
    }
    for field in fields.named.iter_mut() {
        let flattened = field.attrs.iter().any(|a| {
            a.path().is_ident("serde") && a.meta.require_list().is_ok_and(|l| l.tokens.to_string() == "flatten")
        });
        if flattened && field.ident.as_ref().is_some_and(|i| i == "extra") {
            field.ident = Some(syn::Ident::new(&free, proc_macro2::Span::call_site()));
        }
    }
}

/// An optional property that may be `null` (`marked`) gets `Option<Option<T>>`.
fn optional_nullable(field: &mut syn::Field, marked: bool) {
    // An optional property whose only value is `null`: typify's `()` would add it to every
    // value it encodes. `Option<()>`: absent is `None`, `null` is `Some(())`.
    if marked && is_unit(&field.ty) {
        field.ty = syn::parse_quote! { ::std::option::Option<()> };
        field.attrs.retain(|a| {
            !a.path().is_ident("serde") || !a.meta.require_list().is_ok_and(|l| l.tokens.to_string() == "default")
        });
        field.attrs.push(syn::parse_quote! {
            #[serde(default, skip_serializing_if = "::std::option::Option::is_none", deserialize_with = "::chanspec_runtime::present")]
        });
    } else if marked && is_option(&field.ty) {
        let ty = &field.ty;
        field.ty = syn::parse_quote! { ::std::option::Option<#ty> };
        field
            .attrs
            .push(syn::parse_quote! { #[serde(default, deserialize_with = "::chanspec_runtime::double_option")] });
    }
}

fn is_unit(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Tuple(t) if t.elems.is_empty())
}

fn is_option(ty: &syn::Type) -> bool {
    let syn::Type::Path(p) = ty else { return false };
    p.path.segments.last().is_some_and(|s| s.ident == "Option")
}

/// An optional array or map property (typify: skipped when empty) becomes an `Option`.
fn optional_collection(field: &mut syn::Field) {
    let mut skipped_when_empty = false;
    for attr in &mut field.attrs {
        if !attr.path().is_ident("serde") {
            continue;
        }
        let syn::Meta::List(list) = &mut attr.meta else { continue };
        // Most serde attributes have no `skip_serializing_if`: look before printing them.
        let skips = list
            .tokens
            .clone()
            .into_iter()
            .any(|t| matches!(&t, proc_macro2::TokenTree::Ident(i) if i == "skip_serializing_if"));
        if !skips {
            continue;
        }
        let text = list.tokens.to_string();
        // Only the `skip_serializing_if = "...::is_empty"` part changes; `rename` and the
        // rest stay.
        let Some(start) = text.find("skip_serializing_if") else { continue };
        let Some(end) = text[start..].find("is_empty\"").map(|i| start + i + "is_empty\"".len()) else {
            continue;
        };
        let rewritten =
            format!("{}skip_serializing_if = \"::std::option::Option::is_none\"{}", &text[..start], &text[end..]);
        if let Ok(tokens) = rewritten.parse() {
            list.tokens = tokens;
            skipped_when_empty = true;
        }
    }
    if skipped_when_empty {
        let ty = &field.ty;
        field.ty = syn::parse_quote! { ::std::option::Option<#ty> };
    }
}
