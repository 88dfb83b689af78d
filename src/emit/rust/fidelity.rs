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

pub fn apply(file: &mut syn::File) {
    OptionalCollections.visit_file_mut(file);
    OptionalNullable.visit_file_mut(file);
    FreeExtra.visit_file_mut(file);
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
        if marked && is_option(&field.ty) {
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
