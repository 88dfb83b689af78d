//! Channel glue: per channel a type with its runtime name, typed topic accessors, a
//! constructor taking the typed params, and a message enum decoding `(topic, JSON)`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::ir::{Channel, Param};
use crate::model::ParamType;
use crate::template::Segment;

fn ident(name: &str) -> Ident {
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(name, Span::call_site()),
    }
}

fn docs(doc: Option<&str>) -> TokenStream {
    let lines = doc.into_iter().flat_map(str::lines).map(|l| format!(" {l}"));
    quote! { #(#[doc = #lines])* }
}

fn deprecated(yes: bool) -> TokenStream {
    if yes {
        quote! { #[deprecated] }
    } else {
        quote! {}
    }
}

/// Does building this channel's name need checks that can fail?
fn fallible(ch: &Channel) -> bool {
    ch.params.iter().any(|p| p.ty == ParamType::String || p.minimum.is_some() || p.maximum.is_some())
}

pub fn channel(ch: &Channel) -> TokenStream {
    let ty = ident(&ch.rust_type);
    let msg = ident(&ch.message);
    let func = ident(&ch.rust_fn);
    let (id, template) = (&ch.id, &ch.template);
    let doc = docs(ch.doc.as_deref());
    let dep = deprecated(ch.deprecated);
    let topic_names: Vec<&str> = ch.topics.iter().map(|t| t.name.as_str()).collect();

    let accessors = ch.topics.iter().map(|t| {
        let method = ident(&t.rust_method);
        let payload = ident(&t.payload);
        let payload_name = &t.payload;
        let name = &t.name;
        let doc = docs(Some(&format!(
            "The `{name}` topic.{}",
            t.doc.as_deref().map(|d| format!("\n\n{d}")).unwrap_or_default()
        )));
        let dep = deprecated(t.deprecated);
        quote! {
            #doc
            #dep
            pub fn #method(&self) -> ::chanspec_runtime::Topic<#payload> {
                ::chanspec_runtime::Topic::checked(self.name.clone(), #name, |data| chanspec_schemas().check(#payload_name, data))
            }
        }
    });

    let args = ch.params.iter().map(|p| {
        let name = ident(&p.rust_name);
        match p.ty {
            ParamType::String => quote! { #name: &str },
            ParamType::Integer => quote! { #name: i64 },
        }
    });
    let checks = ch.params.iter().map(param_check);
    let parts = ch.segments.iter().map(|s| match s {
        Segment::Literal(l) => quote! { #l },
        Segment::Param(p) => {
            let param = ch.params.iter().find(|x| &x.name == p).expect("validated: every placeholder is a param");
            let name = ident(&param.rust_name);
            match param.ty {
                ParamType::String => quote! { #name },
                ParamType::Integer => quote! { &#name.to_string() },
            }
        }
    });
    let build_name = if ch.params.is_empty() {
        quote! { ::std::string::String::from(#template) }
    } else {
        quote! { [#(#parts),*].concat() }
    };
    let ctor_doc = docs(Some(&format!("The `{id}` channel: `{template}`.{}", param_docs(&ch.params))));
    let constructor = if fallible(ch) {
        quote! {
            #ctor_doc
            #dep
            #[allow(deprecated)]
            pub fn #func(#(#args),*) -> ::std::result::Result<#ty, ::chanspec_runtime::ParamError> {
                #(#checks)*
                ::std::result::Result::Ok(#ty { name: #build_name })
            }
        }
    } else {
        quote! {
            #ctor_doc
            #dep
            #[allow(deprecated)]
            pub fn #func(#(#args),*) -> #ty {
                #ty { name: #build_name }
            }
        }
    };

    let lifecycle = ch.lifecycle.as_ref().map(|l| {
        let typed = |name: &Option<String>| match name {
            Some(n) => {
                let t = ident(n);
                (quote! { #t }, quote! { ::std::option::Option::Some(|data| chanspec_schemas().check(#n, data)) })
            }
            None => (quote! { () }, quote! { ::std::option::Option::None }),
        };
        let ((result, result_check), (error, error_check)) = (typed(&l.result), typed(&l.error));
        let doc = docs(Some(&format!(
            "The run lifecycle of `{id}`: `publisher.complete(&channel, &result)`, `fail`, `cancel`, `running` \
             (and `*_durable` with an idempotency key).{}",
            l.doc.as_deref().map(|d| format!("\n\n{d}")).unwrap_or_default()
        )));
        quote! {
            #doc
            #[allow(deprecated)]
            impl ::chanspec_runtime::LifecycleChannel for #ty {
                type Result = #result;
                type Error = #error;

                fn channel_name(&self) -> &str {
                    &self.name
                }

                fn result_check(&self) -> ::std::option::Option<::chanspec_runtime::PayloadCheck> {
                    #result_check
                }

                fn error_check(&self) -> ::std::option::Option<::chanspec_runtime::PayloadCheck> {
                    #error_check
                }
            }
        }
    });

    let variants = ch.topics.iter().map(|t| {
        let v = ident(&t.variant);
        let payload = ident(&t.payload);
        let doc = docs(t.doc.as_deref());
        quote! { #doc #v(#payload) }
    });
    let decode_arms = ch.topics.iter().map(|t| {
        let v = ident(&t.variant);
        let name = &t.name;
        let payload = &t.payload;
        // Checked against the schema, then decoded: `Schemas::decode` in the runtime.
        quote! {
            #name => chanspec_schemas().decode(#payload, #name, data).map(Self::#v),
        }
    });
    let topic_arms = ch.topics.iter().map(|t| {
        let v = ident(&t.variant);
        let name = &t.name;
        quote! { Self::#v(_) => #name, }
    });
    let encode_arms = ch.topics.iter().map(|t| {
        let v = ident(&t.variant);
        quote! { Self::#v(payload) => ::chanspec_runtime::serde_json::to_value(payload), }
    });
    let msg_doc = docs(Some(&format!("A message received on the `{id}` channel, by topic.")));

    quote! {
        #doc
        #dep
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct #ty {
            name: ::std::string::String,
        }

        #[allow(deprecated)]
        impl #ty {
            /// The channel's identifier in the definitions.
            pub const ID: &'static str = #id;
            /// The runtime name template.
            pub const NAME_TEMPLATE: &'static str = #template;
            /// The channel's topics.
            pub const TOPICS: &'static [&'static str] = &[#(#topic_names),*];

            /// The runtime channel name.
            pub fn name(&self) -> &str {
                &self.name
            }

            #(#accessors)*
        }

        #constructor

        #lifecycle

        #msg_doc
        #[derive(Clone, Debug, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum #msg {
            #(#variants),*
        }

        #[allow(deprecated)]
        impl ::chanspec_runtime::ChannelMessage for #msg {
            const TOPICS: &'static [&'static str] = &[#(#topic_names),*];

            fn decode(topic: &str, data: ::chanspec_runtime::serde_json::Value) -> ::std::result::Result<Self, ::chanspec_runtime::DecodeError> {
                match topic {
                    #(#decode_arms)*
                    other => ::std::result::Result::Err(::chanspec_runtime::DecodeError::UnknownTopic(other.to_string())),
                }
            }

            fn topic(&self) -> &'static str {
                match self {
                    #(#topic_arms)*
                }
            }

            fn encode(&self) -> ::std::result::Result<::chanspec_runtime::serde_json::Value, ::chanspec_runtime::serde_json::Error> {
                match self {
                    #(#encode_arms)*
                }
            }
        }
    }
}

fn param_docs(params: &[Param]) -> String {
    let mut out = String::new();
    for p in params {
        out.push_str(&format!("\n\n- `{}`", p.rust_name.trim_start_matches("r#")));
        if let Some(d) = &p.doc {
            out.push_str(&format!(": {d}"));
        }
        if let Some(f) = &p.format {
            out.push_str(&format!(" (format `{f}`)"));
        }
        if let Some(pattern) = &p.pattern {
            out.push_str(&format!(" (pattern `{pattern}`)"));
        }
    }
    if params.iter().any(|p| p.ty == ParamType::String) {
        out.push_str("\n\n# Errors\n\nA string parameter that is empty, contains `:`, is not one of its allowed values, is not a lower-case UUID (for `format: uuid`) or does not match its `pattern` is refused.");
    }
    out
}

fn param_check(p: &Param) -> TokenStream {
    let name = ident(&p.rust_name);
    let wire = &p.name;
    match p.ty {
        ParamType::String => {
            let values = &p.values;
            let uuid = p.format.as_deref() == Some("uuid");
            let pattern = match &p.pattern {
                Some(p) => quote! { ::std::option::Option::Some(#p) },
                None => quote! { ::std::option::Option::None },
            };
            quote! { ::chanspec_runtime::check_param(#wire, #name, &[#(#values),*], #uuid, #pattern)?; }
        }
        ParamType::Integer if p.minimum.is_some() || p.maximum.is_some() => {
            let min = opt(p.minimum);
            let max = opt(p.maximum);
            quote! { ::chanspec_runtime::check_int_param(#wire, #name, #min, #max)?; }
        }
        ParamType::Integer => quote! {},
    }
}

fn opt(v: Option<i64>) -> TokenStream {
    match v {
        Some(v) => quote! { ::std::option::Option::Some(#v) },
        None => quote! { ::std::option::Option::None },
    }
}

/// The bundled schemas and the channels' run-time definitions, embedded; the accessor
/// decoding checks messages with; the definitions a hub is built from.
pub fn schemas(json: &str, channels: &str) -> TokenStream {
    quote! {
        /// The JSON Schemas of the payload types (bundled; `$ref`s are `#/definitions/Name`).
        /// Received messages are checked against them before they are decoded.
        pub const CHANSPEC_SCHEMAS: &str = #json;

        fn chanspec_schemas() -> &'static ::chanspec_runtime::check::Schemas {
            static SCHEMAS: ::std::sync::OnceLock<::chanspec_runtime::check::Schemas> = ::std::sync::OnceLock::new();
            SCHEMAS.get_or_init(|| ::chanspec_runtime::check::Schemas::parse(CHANSPEC_SCHEMAS))
        }

        /// The channels at run time (templates, params, topics and their payload types), JSON.
        pub const CHANSPEC_CHANNELS: &str = #channels;

        /// Every channel and payload schema of this module, for a hub:
        /// `chanspec_runtime::hub::Hub::builder(chanspec_definitions())`.
        pub fn chanspec_definitions() -> ::chanspec_runtime::Definitions {
            ::chanspec_runtime::Definitions::from_json(CHANSPEC_CHANNELS, CHANSPEC_SCHEMAS)
                .expect("generated definitions are valid JSON")
        }
    }
}
