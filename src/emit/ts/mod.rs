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
use minijinja::Value;
use serde::Serialize;
use std::sync::Arc;

const MODULE: &str = include_str!("../../../templates/typescript/module.ts.j2");
const GUARDS: &str = include_str!("../../../templates/typescript/guards.ts.j2");
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
    emit_parts(spec).map(|parts| parts.concat())
}

/// [`emit`] in consecutive parts (of about a megabyte, cut after a line).
pub fn emit_parts(spec: &Spec) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    emit_into(spec, &mut |part| {
        parts.push(part);
        Ok(())
    })?;
    Ok(parts)
}

/// [`emit`], each part (of about a megabyte, cut after a line) given to `sink` as soon as the
/// template has rendered it: the whole text is never held. An error from `sink` ends
/// generation with it.
pub fn emit_into(spec: &Spec, sink: &mut dyn FnMut(String) -> std::io::Result<()>) -> Result<(), String> {
    let mut env = minijinja::Environment::new();
    env.add_template("module.ts.j2", MODULE).map_err(|e| e.to_string())?;
    env.add_template("guards.ts.j2", GUARDS).map_err(|e| e.to_string())?;
    env.add_template("helpers.ts.j2", HELPERS).map_err(|e| e.to_string())?;
    // The type declarations, then the guards, in chunks that this thread and one other take
    // in turn, put back in order. Once the declarations are made, this thread renders the
    // first part of the module (declarations and channels) while the other makes guards, then
    // helps it; the guards' part comes last. The large texts go into the template's context as
    // they are (`Arc<str>`), not copied.
    let shared = Chunks::new(spec);
    let mut out = Tidy::new(sink);
    let (first, mut channel_guards, (mut builder, mut chunks), (other, more)) = std::thread::scope(|s| {
        let (hand, handed) = std::sync::mpsc::channel();
        let shared = &shared;
        let helper = s.spawn(move || {
            let _ = hand.send(shared.declarations());
            shared.guards()
        });
        let mut declarations = shared.declarations();
        // Nothing comes only if the helper panicked: joining it below passes the panic on.
        declarations.extend(handed.recv().unwrap_or_default());
        declarations.sort_by_key(|(i, _)| *i);
        crate::trace::phase("ts-types");
        let types: Vec<Value> = declarations.into_iter().flat_map(|(_, d)| d).collect();
        let mut channel_guards = guards::Guards::default();
        let channels: Vec<ChannelCtx> = spec.channels.iter().map(|ch| channel(ch, &mut channel_guards)).collect();
        let context = minijinja::context! {
            header => super::header(&spec.sources, "//"),
            types => types,
            channels => minijinja::value::Serde(&channels),
        };
        drop(channels);
        let first = env.get_template("module.ts.j2").and_then(|t| t.render_captured_to(context, &mut out));
        crate::trace::phase("ts-declared");
        let mine = shared.guards();
        let theirs = helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (first.map(|_| ()), channel_guards, mine, theirs)
    });
    first.map_err(|e| e.to_string())?;
    crate::trace::phase("ts-guards");
    chunks.extend(more);
    chunks.sort_by_key(|(i, _)| *i);
    let guards: Vec<Value> = chunks.into_iter().flat_map(|(_, g)| g).collect();
    let mut used = std::mem::take(&mut builder.used);
    used.extend(other.used);
    used.append(&mut channel_guards.used);
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
    let context = minijinja::context! {
        guards => guards,
        used => used.into_iter().collect::<Vec<_>>(),
    };
    env.get_template("guards.ts.j2")
        .and_then(|t| t.render_captured_to(context, &mut out))
        .map_err(|e| e.to_string())?;
    out.finish().map_err(|e| e.to_string())
}

/// Every type's declaration and guard (as template values), made in chunks of types that
/// workers take in turn, declarations first; each worker's guard builder records which helpers
/// its guards use.
struct Chunks<'s> {
    spec: &'s Spec,
    schemas: ahash::AHashMap<&'s str, &'s crate::value::Value>,
    next_declaration: std::sync::atomic::AtomicUsize,
    next_guard: std::sync::atomic::AtomicUsize,
}

/// Chunks made by one worker, each with its index.
type Made = Vec<(usize, Vec<Value>)>;

impl<'s> Chunks<'s> {
    const CHUNK: usize = 64;

    fn new(spec: &'s Spec) -> Self {
        let schemas = spec.types.iter().map(|t| (t.name.as_str(), &t.schema)).collect();
        Chunks { spec, schemas, next_declaration: Default::default(), next_guard: Default::default() }
    }

    /// The next chunk of types from `next`, with its index, until none is left.
    fn take(&self, next: &std::sync::atomic::AtomicUsize) -> Option<(usize, &'s [crate::ir::NamedType])> {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.spec.types.chunks(Self::CHUNK).nth(i).map(|chunk| (i, chunk))
    }

    /// Declaration chunks taken until none is left.
    fn declarations(&self) -> Made {
        let mut done = Vec::new();
        while let Some((i, chunk)) = self.take(&self.next_declaration) {
            done.push((i, chunk.iter().map(|t| Value::from(Arc::<str>::from(types::declaration(t)))).collect()));
        }
        done
    }

    /// Guard chunks taken until none is left: their guards, by chunk index, and the builder.
    fn guards(&self) -> (guards::Guards<'s>, Made) {
        let mut builder = guards::Guards { schemas: self.schemas.clone(), ..Default::default() };
        let mut done = Vec::new();
        while let Some((i, chunk)) = self.take(&self.next_guard) {
            let guards = chunk
                .iter()
                .map(|t| {
                    let check = builder.check(&t.schema);
                    let check_name = format!("${}", t.name);
                    let check = Arc::<str>::from(check.print(0, check_name.len() + 16));
                    minijinja::context! {
                        name => naming::ts_guard(&t.name),
                        type => &t.name,
                        check => Value::from(check),
                        check_name => check_name,
                    }
                })
                .collect();
            done.push((i, guards));
        }
        (builder, done)
    }
}

/// Tidies text as it is written: one trailing newline, no trailing spaces, at most one blank
/// line in a row. The tidied text goes to the sink in parts of about a megabyte, each ending
/// a line.
struct Tidy<'s> {
    sink: &'s mut dyn FnMut(String) -> std::io::Result<()>,
    /// Whether a part went to the sink already.
    sent: bool,
    current: String,
    /// The unfinished last line written.
    line: Vec<u8>,
    /// A blank line seen after text, written only if more text follows.
    blank: bool,
}

impl<'s> Tidy<'s> {
    const PART: usize = 1 << 20;

    fn new(sink: &'s mut dyn FnMut(String) -> std::io::Result<()>) -> Self {
        Tidy { sink, sent: false, current: String::new(), line: Vec::new(), blank: false }
    }

    fn line(&mut self, line: &str) -> std::io::Result<()> {
        let line = line.trim_end();
        if line.is_empty() {
            self.blank = !self.current.is_empty() || self.sent;
            return Ok(());
        }
        if std::mem::take(&mut self.blank) {
            self.current.push('\n');
        }
        self.current.push_str(line);
        self.current.push('\n');
        if self.current.len() >= Self::PART {
            let full = std::mem::replace(&mut self.current, String::with_capacity(Self::PART + 4096));
            self.sent = true;
            (self.sink)(full)?;
        }
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<()> {
        let rest = std::mem::take(&mut self.line);
        self.line(&String::from_utf8_lossy(&rest))?;
        if !self.current.is_empty() {
            (self.sink)(std::mem::take(&mut self.current))?;
        }
        Ok(())
    }
}

impl std::io::Write for Tidy<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The template writes whole strings: lines straight from them. A piece cut inside a
        // character, or after an unfinished line, goes through `line`.
        if self.line.is_empty()
            && let Ok(text) = std::str::from_utf8(buf)
        {
            let mut rest = text;
            while let Some(end) = memchr::memchr(b'\n', rest.as_bytes()) {
                self.line(&rest[..end])?;
                rest = &rest[end + 1..];
            }
            self.line.extend_from_slice(rest.as_bytes());
            return Ok(buf.len());
        }
        let mut rest = buf;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            let mut line = std::mem::take(&mut self.line);
            line.extend_from_slice(&rest[..end]);
            let text = std::str::from_utf8(&line).map_err(std::io::Error::other)?;
            self.line(text)?;
            line.clear();
            self.line = line;
            rest = &rest[end + 1..];
        }
        self.line.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A JSON value as a JavaScript literal, spaced as the rest of the output
/// (`["a", "b"]`, `{ "a": 1 }`).
pub(crate) fn js_literal(v: &crate::value::Value) -> String {
    let mut out = String::new();
    write_literal(v, &mut out);
    out
}

/// [`js_literal`], appended to `out`.
fn write_literal(v: &crate::value::Value, out: &mut String) {
    use crate::value::Value;
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_literal(item, out);
            }
            out.push(']');
        }
        Value::Object(obj) if obj.is_empty() => out.push_str("{}"),
        Value::Object(obj) => {
            out.push_str("{ ");
            for (i, (k, v)) in obj.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&string_literal(k));
                out.push_str(": ");
                write_literal(v, out);
            }
            out.push_str(" }");
        }
        Value::String(s) => out.push_str(&string_literal(s)),
        other => {
            use std::fmt::Write;
            let _ = write!(out, "{other}");
        }
    }
}

pub(crate) fn string_literal(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::Tidy;
    use proptest::prelude::*;

    /// The rule, on the whole text at once: one trailing newline, no trailing spaces, at most
    /// one blank line in a row (none at the start or the end).
    fn tidy_whole(text: &str) -> String {
        let mut out = String::new();
        let mut blank = false;
        for line in text.lines().map(str::trim_end) {
            if line.is_empty() {
                blank = !out.is_empty();
            } else {
                if std::mem::take(&mut blank) {
                    out.push('\n');
                }
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    proptest! {
        /// Written in any pieces (cut anywhere, even inside a character), the text comes out
        /// tidied exactly as a whole, and every part but the last is at least a megabyte's
        /// worth cut after a line.
        #[test]
        fn tidying_as_written_equals_tidying_the_whole(
            lines in prop::collection::vec("[ a\t\r✓]{0,6}", 0..60),
            cuts in prop::collection::vec(0usize..400, 0..12),
            big in 0usize..3,
        ) {
            let mut text = lines.join("\n");
            // Some texts long enough to be cut into parts.
            for i in 0..big * 40_000 {
                text.push_str(if i % 7 == 0 { "\n\n  \n" } else { "line of text  \n" });
            }
            let bytes = text.as_bytes();
            let mut at: Vec<usize> = cuts.iter().map(|c| c * bytes.len() / 400).collect();
            at.sort();
            let mut parts = Vec::new();
            let mut sink = |part| {
                parts.push(part);
                Ok(())
            };
            let mut out = Tidy::new(&mut sink);
            let mut from = 0;
            for to in at.into_iter().chain([bytes.len()]) {
                std::io::Write::write_all(&mut out, &bytes[from..to]).unwrap();
                from = to;
            }
            out.finish().unwrap();
            prop_assert_eq!(parts.concat(), tidy_whole(&text));
            for p in &parts[..parts.len().saturating_sub(1)] {
                prop_assert!(p.len() >= Tidy::PART && p.ends_with('\n'));
            }
        }
    }
}
