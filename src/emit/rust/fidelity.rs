//! Adjustments to typify's output where it would not give back the JSON it read.
//!
//! typify gives an optional array or map property a plain `Vec`/`HashMap` that is skipped
//! when empty, so `"tags": []` would come back absent. Such fields become `Option<..>`:
//! absent stays absent, empty stays empty.

use syn::visit_mut::VisitMut;

pub fn apply(file: &mut syn::File) {
    OptionalCollections.visit_file_mut(file);
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
