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
    OptionalCollections.visit_file_mut(file);
    OptionalNullable.visit_file_mut(file);
    FreeExtra.visit_file_mut(file);
    SchemaOrder.visit_file_mut(file);
    closed_variants_apart(file);
    constructors(file);
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

/// The words of a field's `#[serde(...)]` attributes (`flatten`, `default`, `rename`, …).
fn serde_words(field: &syn::Field) -> Vec<String> {
    let mut words = Vec::new();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if let Some(ident) = meta.path.get_ident() {
                words.push(ident.to_string());
            }
            if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
    }
    words
}

/// Puts the fields of a struct (or struct-like enum variant) back in the schema's order, read
/// from the order mark in its doc comment, and removes every order mark.
struct SchemaOrder;

impl VisitMut for SchemaOrder {
    fn visit_item_struct_mut(&mut self, item: &mut syn::ItemStruct) {
        if let (Some(order), syn::Fields::Named(fields)) = (take_order(&mut item.attrs), &mut item.fields) {
            reorder(fields, &order);
        }
        syn::visit_mut::visit_item_struct_mut(self, item);
    }

    fn visit_variant_mut(&mut self, variant: &mut syn::Variant) {
        if let (Some(order), syn::Fields::Named(fields)) = (take_order(&mut variant.attrs), &mut variant.fields) {
            reorder(fields, &order);
        }
        syn::visit_mut::visit_variant_mut(self, variant);
    }

    fn visit_attributes_mut(&mut self, attrs: &mut Vec<syn::Attribute>) {
        take_order(attrs);
    }
}

/// The order mark's property names, removed from the `#[doc]` attributes (a doc left empty
/// is dropped).
fn take_order(attrs: &mut Vec<syn::Attribute>) -> Option<Vec<String>> {
    let mut order = None;
    attrs.retain_mut(|attr| {
        let Some(text) = doc_text(attr) else { return true };
        let Some(start) = text.find(ORDER.trim_start()) else { return true };
        let json = &text[start + ORDER.trim_start().len()..];
        let mut names = serde_json::Deserializer::from_str(json).into_iter::<Vec<String>>();
        let Some(Ok(list)) = names.next() else { return true };
        let end = start + ORDER.trim_start().len() + names.byte_offset() + 1;
        let cleaned = format!("{}{}", text[..start].trim_end(), &text[end.min(text.len())..]);
        order = Some(list);
        if cleaned.trim().is_empty() {
            return false;
        }
        if let syn::Meta::NameValue(nv) = &mut attr.meta {
            nv.value = syn::parse_quote! { #cleaned };
        }
        true
    });
    order
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
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let mut renamed = None;
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value: syn::LitStr = meta.value()?.parse()?;
                renamed = Some(value.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
        if renamed.is_some() {
            return renamed;
        }
    }
    field.ident.as_ref().map(|i| i.to_string().trim_start_matches("r#").to_string())
}

/// Stable sort by position in `order`; fields not in it (a flattened map) keep their place
/// after the others.
fn reorder(fields: &mut syn::FieldsNamed, order: &[String]) {
    let mut list: Vec<syn::Field> = std::mem::take(&mut fields.named).into_iter().collect();
    list.sort_by_key(|f| wire_name(f).and_then(|n| order.iter().position(|o| *o == n)).unwrap_or(usize::MAX));
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
        a.path().is_ident("derive") && a.meta.require_list().is_ok_and(|l| l.tokens.to_string().contains("Deserialize"))
    });
    if !payload {
        return None;
    }
    let (mut params, mut inits) = (Vec::new(), Vec::new());
    for f in &fields.named {
        let (Some(name), ty) = (&f.ident, &f.ty) else { continue };
        if defaults(f) {
            inits.push(quote::quote! { #name: ::std::default::Default::default() });
        } else {
            params.push(quote::quote! { #name: #ty });
            inits.push(quote::quote! { #name });
        }
    }
    let ty = &s.ident;
    let doc = format!(" A `{ty}` with the required properties given and every optional one absent.");
    Some(syn::parse_quote! {
        impl #ty {
            #[doc = #doc]
            #[allow(clippy::too_many_arguments, clippy::new_without_default)]
            pub fn new(#(#params),*) -> Self {
                Self { #(#inits),* }
            }
        }
    })
}

/// typify names the flattened map of an open object's undeclared properties `extra`; with a
/// declared property `extra` the struct would have two fields of that name. The map's field
/// takes the first free name of `extra_`, `extra__`, ...: flattened, its name is never on the
/// wire.
struct FreeExtra;

impl VisitMut for FreeExtra {
    /// The fields of a struct, or of a struct-like enum variant.
    fn visit_fields_named_mut(&mut self, fields: &mut syn::FieldsNamed) {
        let names: Vec<String> = fields.named.iter().filter_map(|f| f.ident.as_ref()).map(|i| i.to_string()).collect();
        if names.iter().filter(|n| *n == "extra").count() > 1 {
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
        syn::visit_mut::visit_fields_named_mut(self, fields);
    }
}

struct OptionalNullable;

impl VisitMut for OptionalNullable {
    fn visit_field_mut(&mut self, field: &mut syn::Field) {
        let marked = strip_mark(&mut field.attrs);
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
        syn::visit_mut::visit_field_mut(self, field);
    }

    fn visit_attributes_mut(&mut self, attrs: &mut Vec<syn::Attribute>) {
        strip_mark(attrs);
    }

    fn visit_item_struct_mut(&mut self, item: &mut syn::ItemStruct) {
        strip_mark(&mut item.attrs);
        syn::visit_mut::visit_item_struct_mut(self, item);
    }

    fn visit_item_enum_mut(&mut self, item: &mut syn::ItemEnum) {
        strip_mark(&mut item.attrs);
        syn::visit_mut::visit_item_enum_mut(self, item);
    }
}

/// Removes the mark from `#[doc]` attributes (dropping one left empty); whether it was there.
fn strip_mark(attrs: &mut Vec<syn::Attribute>) -> bool {
    let mut found = false;
    attrs.retain_mut(|attr| {
        if !attr.path().is_ident("doc") {
            return true;
        }
        let syn::Meta::NameValue(nv) = &mut attr.meta else { return true };
        let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &nv.value else { return true };
        let text = s.value();
        if !text.contains(OPTIONAL_NULLABLE.trim_start()) {
            return true;
        }
        found = true;
        let cleaned = text.replace(OPTIONAL_NULLABLE, "").replace(OPTIONAL_NULLABLE.trim_start(), "");
        if cleaned.trim().is_empty() {
            return false;
        }
        nv.value = syn::parse_quote! { #cleaned };
        true
    });
    found
}

fn is_unit(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Tuple(t) if t.elems.is_empty())
}

fn is_option(ty: &syn::Type) -> bool {
    let syn::Type::Path(p) = ty else { return false };
    p.path.segments.last().is_some_and(|s| s.ident == "Option")
}

struct OptionalCollections;

impl VisitMut for OptionalCollections {
    fn visit_field_mut(&mut self, field: &mut syn::Field) {
        let mut skipped_when_empty = false;
        for attr in &mut field.attrs {
            if !attr.path().is_ident("serde") {
                continue;
            }
            let syn::Meta::List(list) = &mut attr.meta else { continue };
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
}
