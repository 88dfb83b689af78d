//! The TypeScript emitter: payload types, channel descriptors, decoders and type guards, as
//! one module that imports nothing.
//!
//! Type expressions and guard expressions are computed here (`types.rs`, `guards.rs`); the
//! layout of the module is the minijinja templates in `templates/typescript/`, embedded in
//! the binary.

mod doc;
mod guards;
mod types;

use crate::ir::{Channel, Spec};
use crate::model::ParamType;
use crate::naming;
use crate::template::Segment;
use serde::Serialize;
use serde_json::Value;

const MODULE: &str = include_str!("../../../templates/typescript/module.ts.j2");
const HELPERS: &str = include_str!("../../../templates/typescript/helpers.ts.j2");

/// Helpers that other helpers call.
const HELPER_DEPS: &[(&str, &[&str])] = &[
    ("$equal", &["$isObject"]),
    ("$type", &["$isObject"]),
    ("$const", &["$equal"]),
    ("$enum", &["$equal"]),
    ("$array", &["$equal"]),
    ("$object", &["$isObject"]),
    ("$anyOf", &["$isObject", "$equal"]),
    ("$oneOf", &["$isObject", "$equal"]),
];

#[derive(Serialize)]
struct Module {
    header: String,
    types: Vec<TypeDecl>,
    channels: Vec<ChannelCtx>,
    guards: Vec<GuardCtx>,
    used: Vec<&'static str>,
}

#[derive(Serialize)]
struct TypeDecl {
    declaration: String,
}

#[derive(Serialize)]
struct GuardCtx {
    name: String,
    r#type: String,
    check_name: String,
    check: String,
}

#[derive(Serialize)]
struct ChannelCtx {
    id: String,
    id_literal: String,
    template: String,
    template_literal: String,
    binding: String,
    doc: String,
    params_type: String,
    topics_type: String,
    message_type: String,
    decoder: String,
    params: Vec<ParamCtx>,
    name_type: String,
    name_expr: String,
    topics: Vec<TopicCtx>,
    topic_literals: String,
    lifecycle: Option<LifecycleCtx>,
}

/// A lifecycle channel's guards of its result and error (`undefined` only, when undeclared).
#[derive(Serialize)]
struct LifecycleCtx {
    result: String,
    error: String,
}

#[derive(Serialize)]
struct ParamCtx {
    name: String,
    r#type: String,
    doc: String,
}

#[derive(Serialize)]
struct TopicCtx {
    property: String,
    literal: String,
    payload: String,
    guard: String,
    doc: String,
}

/// The TypeScript module for `spec`. Deterministic: same IR, same bytes.
pub fn emit(spec: &Spec) -> Result<String, String> {
    // The type declarations on a thread of their own while the guards are made here.
    let (types, (guards, mut builder)) = std::thread::scope(|s| {
        let types = s.spawn(|| -> Vec<TypeDecl> {
            spec.types.iter().map(|t| TypeDecl { declaration: types::declaration(t) }).collect()
        });
        let guards = guard_decls(spec);
        (types.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), guards)
    });
    let channels = spec.channels.iter().map(|ch| channel(ch, &mut builder)).collect();
    let mut used = builder.used;
    let mut added = true;
    while added {
        added = false;
        for (helper, deps) in HELPER_DEPS {
            if used.contains(helper) {
                for d in *deps {
                    added |= used.insert(d);
                }
            }
        }
    }
    let module = Module {
        header: super::header(&spec.sources, "//"),
        types,
        channels,
        guards,
        used: used.into_iter().collect(),
    };
    let mut env = minijinja::Environment::new();
    env.add_template("module.ts.j2", MODULE).map_err(|e| e.to_string())?;
    env.add_template("helpers.ts.j2", HELPERS).map_err(|e| e.to_string())?;
    let text = env
        .get_template("module.ts.j2")
        .and_then(|t| t.render(minijinja::value::Serde(&module)))
        .map_err(|e| e.to_string())?;
    Ok(tidy(&text))
}

/// Every type's guard, and the guard builder (which helpers they use).
fn guard_decls(spec: &Spec) -> (Vec<GuardCtx>, guards::Guards<'_>) {
    let schemas = spec.types.iter().map(|t| (t.name.as_str(), &t.schema)).collect();
    let mut builder = guards::Guards { schemas, ..Default::default() };
    let guards = spec
        .types
        .iter()
        .map(|t| {
            let check = builder.check(&t.schema);
            let check_name = format!("${}", t.name);
            GuardCtx {
                name: naming::ts_guard(&t.name),
                r#type: t.name.clone(),
                check: check.print(0, check_name.len() + 16),
                check_name,
            }
        })
        .collect();
    (guards, builder)
}

/// One trailing newline, no trailing spaces, at most one blank line in a row.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            if !blank && !out.is_empty() {
                out.push('\n');
            }
            blank = true;
        } else {
            out.push_str(line);
            out.push('\n');
            blank = false;
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// A JSON value as a JavaScript literal, spaced as the rest of the output
/// (`["a", "b"]`, `{ "a": 1 }`).
pub(crate) fn js_literal(v: &Value) -> String {
    match v {
        Value::Array(items) => format!("[{}]", items.iter().map(js_literal).collect::<Vec<_>>().join(", ")),
        Value::Object(obj) if obj.is_empty() => "{}".into(),
        Value::Object(obj) => {
            let fields: Vec<String> =
                obj.iter().map(|(k, v)| format!("{}: {}", string_literal(k), js_literal(v))).collect();
            format!("{{ {} }}", fields.join(", "))
        }
        other => other.to_string(),
    }
}

fn string_literal(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

fn channel(ch: &Channel, builder: &mut guards::Guards) -> ChannelCtx {
    let params = ch
        .params
        .iter()
        .map(|p| {
            let ty = match p.ty {
                ParamType::Integer => "number".to_string(),
                ParamType::String if !p.values.is_empty() => {
                    p.values.iter().map(|v| string_literal(v)).collect::<Vec<_>>().join(" | ")
                }
                ParamType::String => "string".to_string(),
            };
            let mut tags = Vec::new();
            if let Some(f) = &p.format {
                tags.push(format!("@format {f}"));
            }
            if let Some(pat) = &p.pattern {
                tags.push(format!("@pattern {pat}"));
            }
            ParamCtx { name: p.ts_name.clone(), r#type: ty, doc: doc::block(p.doc.as_deref(), &tags, "  ") }
        })
        .collect();
    // The runtime name: literal parts as a template literal, params checked as in Rust.
    let mut name_expr = String::from("`");
    let mut name_type = String::from("`");
    for seg in &ch.segments {
        match seg {
            Segment::Literal(text) => {
                let escaped = text.replace('\\', "\\\\").replace('`', "\\`").replace("${", "\\${");
                name_expr.push_str(&escaped);
                name_type.push_str(&escaped);
            }
            Segment::Param(name) => {
                let Some(p) = ch.params.iter().find(|p| &p.name == name) else { continue };
                let access = if p.ts_name.starts_with('"') {
                    format!("params[{}]", p.ts_name)
                } else {
                    format!("params.{}", p.ts_name)
                };
                let name_lit = string_literal(&p.name);
                let call = match p.ty {
                    ParamType::Integer => {
                        builder.used.insert("$intParam");
                        let bound = |b: Option<i64>| b.map_or("undefined".to_string(), |b| b.to_string());
                        name_type.push_str("${number}");
                        format!("$intParam({name_lit}, {access}, {}, {})", bound(p.minimum), bound(p.maximum))
                    }
                    ParamType::String => {
                        builder.used.insert("$param");
                        let allowed: Vec<String> = p.values.iter().map(|v| string_literal(v)).collect();
                        let uuid = p.format.as_deref() == Some("uuid");
                        name_type.push_str("${string}");
                        let pattern =
                            p.pattern.as_deref().map(|p| format!(", {}", string_literal(p))).unwrap_or_default();
                        format!("$param({name_lit}, {access}, [{}], {uuid}{pattern})", allowed.join(", "))
                    }
                };
                name_expr.push_str(&format!("${{{call}}}"));
            }
        }
    }
    name_expr.push('`');
    name_type.push('`');
    let topics: Vec<TopicCtx> = ch
        .topics
        .iter()
        .map(|t| {
            let mut tags = Vec::new();
            if t.deprecated {
                tags.push("@deprecated".to_string());
            }
            TopicCtx {
                property: naming::ts_property(&t.name),
                literal: string_literal(&t.name),
                payload: t.payload.clone(),
                guard: naming::ts_guard(&t.payload),
                doc: doc::block(t.doc.as_deref(), &tags, "  "),
            }
        })
        .collect();
    let mut tags = Vec::new();
    if ch.deprecated {
        tags.push("@deprecated".to_string());
    }
    let doc_text = ch.doc.clone().unwrap_or_else(|| format!("Channel `{}`.", ch.id));
    ChannelCtx {
        id: ch.id.clone(),
        id_literal: string_literal(&ch.id),
        template: ch.template.clone(),
        template_literal: string_literal(&ch.template),
        binding: ch.ts_name.clone(),
        doc: doc::block(Some(&doc_text), &tags, ""),
        params_type: ch.ts_params.clone(),
        topics_type: ch.ts_topics.clone(),
        message_type: ch.message.clone(),
        decoder: ch.ts_decoder.clone(),
        params,
        name_type,
        name_expr,
        topic_literals: topics.iter().map(|t| t.literal.clone()).collect::<Vec<_>>().join(", "),
        topics,
        lifecycle: ch.lifecycle.as_ref().map(|l| {
            let guard = |name: &Option<String>| match name {
                Some(n) => naming::ts_guard(n),
                None => "(x: unknown): x is undefined => x === undefined".to_string(),
            };
            LifecycleCtx { result: guard(&l.result), error: guard(&l.error) }
        }),
    }
}
