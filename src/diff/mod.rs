//! `chanspec diff`: what a change of definitions does to subscribers already running. Reads
//! two IRs (old and new), never files: channels, params and topics are compared by name,
//! payloads by schema inclusion ([`compat`]) in the directions that matter:
//! - forward: the publisher writes with the new schema, old subscribers read;
//! - backward: new subscribers read history written with the old schema (replay).
//!
//! Each breaking finding carries, where one is found, a witness: a whole message the writer's
//! schema accepts and the reader's refuses (both checked with the `jsonschema` crate).

pub mod compat;
pub mod git;
pub mod report;

use crate::json;
use crate::value::{Map, Value};

use crate::ir::{Channel, NamedType, Spec};
use crate::model::ParamType;
use crate::sample;
use compat::{Break, Sides};

/// Which readers to protect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Old subscribers reading live messages written with the new definitions.
    Forward,
    /// New subscribers replaying history written with the old definitions.
    Backward,
    /// Both (the default: history replay is a first-class feature).
    Full,
}

/// What a finding breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    /// Payloads: a reader refuses a message the writer sends.
    Wire,
    /// Channel templates, params, topics: old subscribers' names and tokens stop matching.
    Names,
    /// The wire is fine, but code compiled against the old bindings breaks.
    Generated,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Wire => "wire",
            Category::Names => "names",
            Category::Generated => "generated",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
        }
    }
}

/// One breaking change.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub category: Category,
    /// `None` for `generated` findings (compiled code, not a reader of messages).
    pub direction: Option<Direction>,
    pub channel: String,
    pub topic: Option<String>,
    /// Where in the message (JSON pointer), for `wire` findings.
    pub at: String,
    /// One sentence: who is broken and why.
    pub message: String,
    /// A message the writer accepts and the reader refuses.
    pub witness: Option<Value>,
    /// `false`: not decided either way (reported as breaking, to be safe).
    pub certain: bool,
    /// Acknowledged with `x-chanspec-allow: [breaking-change]` on the new topic or channel.
    pub allowed: bool,
}

/// Compare `old` and `new` in `mode`, for the given categories.
pub fn diff(old: &Spec, new: &Spec, mode: Mode, categories: &[Category]) -> Vec<Finding> {
    let defs = |s: &Spec| -> Map { s.types.iter().map(|t| (t.name.clone(), t.schema.clone())).collect() };
    let (old_defs, new_defs) = (defs(old), defs(new));
    let mut out = Vec::new();
    for o in &old.channels {
        let Some(n) = new.channels.iter().find(|c| c.id == o.id) else {
            out.push(names(
                o,
                None,
                format!(
                    "the channel `{}` (`{}`) is gone: old subscribers' tokens for it are refused",
                    o.id, o.template
                ),
            ));
            continue;
        };
        if n.template != o.template {
            out.push(names(
                o,
                None,
                format!(
                    "the channel's name changes from `{}` to `{}`: names old subscribers build no longer match",
                    o.template, n.template
                ),
            ));
        } else {
            params(o, n, &mut out);
        }
        if o.rust_fn != n.rust_fn || o.message != n.message {
            out.push(generated(
                o,
                None,
                format!(
                    "the Rust channel function `{}` / message enum `{}` is now `{}` / `{}`",
                    o.rust_fn, o.message, n.rust_fn, n.message
                ),
            ));
        }
        for ot in &o.topics {
            let Some(nt) = n.topics.iter().find(|t| t.name == ot.name) else {
                out.push(names(
                    o,
                    Some(&ot.name),
                    format!("the topic `{}` is gone: old subscribers' tokens name it and are refused", ot.name),
                ));
                continue;
            };
            let types = (ot.payload.as_str(), nt.payload.as_str());
            payloads(o, &ot.name, types, (&old_defs, &new_defs), mode, nt.breaking_allowed, &mut out);
            if ot.payload != nt.payload {
                out.push(generated(
                    o,
                    Some(&ot.name),
                    format!("the payload type `{}` is now `{}`", ot.payload, nt.payload),
                ));
            }
            if let (Some(a), Some(b)) = (find(old, &ot.payload), find(new, &nt.payload)) {
                fields(o, &ot.name, a, b, &mut out);
            }
        }
        // The run lifecycle: its result and error are read by subscribers like payloads.
        if let Some(ol) = &o.lifecycle {
            let Some(nl) = &n.lifecycle else {
                let why = "the channel no longer has a lifecycle: old subscribers never learn how a run ends";
                out.push(names(o, None, why.into()));
                continue;
            };
            let allowed = nl.breaking_allowed;
            for (part, old_type, new_type) in [("result", &ol.result, &nl.result), ("error", &ol.error, &nl.error)] {
                let label = format!("lifecycle {part}");
                match (old_type, new_type) {
                    (Some(a), Some(b)) => payloads(o, &label, (a, b), (&old_defs, &new_defs), mode, allowed, &mut out),
                    (Some(_), None) => {
                        out.push(names(o, Some(&label), format!("the run's {part} is no longer declared")))
                    }
                    // Declared now: old subscribers ignore a value they do not expect.
                    _ => {}
                }
            }
        }
    }
    for f in &mut out {
        if let (Some(n), Some(t)) = (new.channels.iter().find(|c| c.id == f.channel), &f.topic) {
            f.allowed |= n.topics.iter().any(|x| &x.name == t && x.breaking_allowed);
        }
    }
    // Names break old subscribers (forward); in backward mode only replay matters.
    out.retain(|f| {
        categories.contains(&f.category) && !(mode == Mode::Backward && f.direction == Some(Direction::Forward))
    });
    out
}

/// The wire findings of one payload (a topic's, or a lifecycle's result or error): the old
/// and new named types compared in the directions of `mode`.
fn payloads(
    ch: &Channel,
    label: &str,
    (old_type, new_type): (&str, &str),
    (old_defs, new_defs): (&Map, &Map),
    mode: Mode,
    allowed: bool,
    out: &mut Vec<Finding>,
) {
    let root = |t: &str| json!({ "$ref": format!("#/definitions/{t}") });
    let (old_root, new_root) = (root(old_type), root(new_type));
    let directions: &[Direction] = match mode {
        Mode::Forward => &[Direction::Forward],
        Mode::Backward => &[Direction::Backward],
        Mode::Full => &[Direction::Forward, Direction::Backward],
    };
    for d in directions {
        let (w, w_defs, r, r_defs) = match d {
            Direction::Forward => (&new_root, new_defs, &old_root, old_defs),
            Direction::Backward => (&old_root, old_defs, &new_root, new_defs),
        };
        let Some(b) = compat::subset(w, r, &Sides { writer: w_defs, reader: r_defs }) else { continue };
        let witness = witness(w, w_defs, r, r_defs, &b);
        out.push(wire(ch, label, *d, b, witness, allowed));
    }
}

fn find<'a>(spec: &'a Spec, name: &str) -> Option<&'a NamedType> {
    spec.types.iter().find(|t| t.name == name)
}

fn finding(
    category: Category,
    direction: Option<Direction>,
    ch: &Channel,
    topic: Option<&str>,
    message: String,
) -> Finding {
    Finding {
        category,
        direction,
        channel: ch.id.clone(),
        topic: topic.map(String::from),
        at: String::new(),
        message,
        witness: None,
        certain: true,
        allowed: false,
    }
}

fn names(ch: &Channel, topic: Option<&str>, message: String) -> Finding {
    finding(Category::Names, Some(Direction::Forward), ch, topic, message)
}

fn generated(ch: &Channel, topic: Option<&str>, message: String) -> Finding {
    finding(Category::Generated, None, ch, topic, message)
}

fn wire(ch: &Channel, topic: &str, d: Direction, b: Break, witness: Option<Value>, allowed: bool) -> Finding {
    let who = match d {
        Direction::Forward => "old subscribers refuse new messages",
        Direction::Backward => "new subscribers refuse history written before the change",
    };
    let example = witness.as_ref().map(|w| format!(" such as {}", compat::short(w))).unwrap_or_default();
    let place = if b.at.is_empty() { String::new() } else { format!(" at `{}`", b.at) };
    let hedge = if b.certain || witness.is_some() { "" } else { "possibly: " };
    Finding {
        category: Category::Wire,
        direction: Some(d),
        channel: ch.id.clone(),
        topic: Some(topic.to_string()),
        at: b.at.clone(),
        message: format!("{hedge}{who}{example}: {}{place}", b.why),
        certain: b.certain || witness.is_some(),
        witness,
        allowed,
    }
}

/// A whole message the writer accepts and the reader refuses, near the break: the break's
/// local value put into sampled writer messages, then sampled messages and mutations alone.
fn witness(w: &Value, w_defs: &Map, r: &Value, r_defs: &Map, b: &Break) -> Option<Value> {
    let ws = jsonschema::draft202012::new(&compat::schema_with(w, w_defs).to_serde()).ok()?;
    let rs = jsonschema::draft202012::new(&compat::schema_with(r, r_defs).to_serde()).ok()?;
    let found = |v: &Value| {
        let v = v.to_serde();
        ws.is_valid(&v) && !rs.is_valid(&v)
    };
    if let Some(local) = &b.local
        && b.at.is_empty()
        && found(local)
    {
        return Some(local.clone());
    }
    let mut rng = sample::Rng::new(b.at.bytes().fold(3u64, |h, c| h.wrapping_mul(31).wrapping_add(c.into())));
    for round in 0..400 {
        let base = sample::instance(w, w_defs, &mut rng, 0);
        let mut candidates = Vec::new();
        if let Some(local) = &b.local {
            candidates.push(put(&base, &b.at, Some(local.clone())));
        }
        candidates.push(put(&base, &b.at, None));
        candidates.push(base.clone());
        if round % 2 == 1 {
            candidates.push(sample::mutate(&base, &mut rng));
        }
        if let Some(c) = candidates.into_iter().find(|c| found(c)) {
            return Some(shrink(c, &found));
        }
    }
    None
}

/// A smaller witness: members of objects and items of arrays taken out while it stays one.
fn shrink(mut v: Value, found: &dyn Fn(&Value) -> bool) -> Value {
    loop {
        let mut smaller = None;
        for p in places(&v) {
            let candidate = put(&v, &p, None);
            if candidate != v && found(&candidate) {
                smaller = Some(candidate);
                break;
            }
        }
        match smaller {
            Some(s) => v = s,
            None => return v,
        }
    }
}

/// The pointer of every object member in `v`, deepest last.
fn places(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Value::Object(o) = v {
        for (k, child) in o {
            let at = crate::source::pointer_push("", k);
            out.push(at.clone());
            out.extend(places(child).into_iter().map(|p| format!("{at}{p}")));
        }
    }
    out
}

/// `base` with the value at `at` replaced by `value` (made, with its parents, if missing), or
/// removed when `value` is `None`.
fn put(base: &Value, at: &str, value: Option<Value>) -> Value {
    let mut out = base.clone();
    let tokens: Vec<String> = at.split('/').skip(1).map(|t| t.replace("~1", "/").replace("~0", "~")).collect();
    let Some((last, parents)) = tokens.split_last() else {
        return value.unwrap_or(out);
    };
    let mut here = &mut out;
    for t in parents {
        here = match here {
            Value::Object(o) => o.entry(t.clone()).or_insert_with(|| json!({})),
            Value::Array(a) => {
                let i: usize = t.parse().unwrap_or(0);
                while a.len() <= i {
                    a.push(a.last().cloned().unwrap_or(json!({})));
                }
                &mut a[i]
            }
            _ => return out,
        };
    }
    match (here, value) {
        (Value::Object(o), Some(v)) => {
            o.insert(last.clone().into(), v);
        }
        (Value::Object(o), None) => {
            o.remove(last);
        }
        (Value::Array(a), Some(v)) => {
            let i: usize = last.parse().unwrap_or(0);
            while a.len() <= i {
                a.push(v.clone());
            }
            a[i] = v;
        }
        _ => {}
    }
    out
}

/// Params of one channel: an old subscriber's param value the new definitions refuse.
fn params(o: &Channel, n: &Channel, out: &mut Vec<Finding>) {
    for op in &o.params {
        let Some(np) = n.params.iter().find(|p| p.name == op.name) else { continue };
        let mut why = Vec::new();
        if op.ty != np.ty {
            why.push(format!("its type changes from {} to {}", kind(op.ty), kind(np.ty)));
        }
        if !np.values.is_empty() {
            if let Some(v) = op.values.iter().find(|v| !np.values.contains(v)) {
                why.push(format!("`{v}` is no longer one of its values"));
            } else if op.values.is_empty() {
                why.push("it is now limited to listed values".into());
            }
        }
        if np.pattern.is_some() && np.pattern != op.pattern {
            why.push(format!("its pattern is now `{}`", np.pattern.as_deref().unwrap_or_default()));
        }
        if np.format.as_deref() == Some("uuid") && op.format.as_deref() != Some("uuid") {
            why.push("it must now be a UUID".into());
        }
        if np.minimum.is_some_and(|m| op.minimum.is_none_or(|o| o < m)) {
            why.push(format!("its minimum rises to {}", np.minimum.unwrap_or_default()));
        }
        if np.maximum.is_some_and(|m| op.maximum.is_none_or(|o| o > m)) {
            why.push(format!("its maximum falls to {}", np.maximum.unwrap_or_default()));
        }
        if !why.is_empty() {
            out.push(names(
                o,
                None,
                format!("the param `{}` refuses values old subscribers may use: {}", op.name, why.join("; ")),
            ));
        }
    }
}

fn kind(t: ParamType) -> &'static str {
    match t {
        ParamType::String => "string",
        ParamType::Integer => "integer",
    }
}

/// Generated Rust fields: a field gone, or one that changes between required and optional, or
/// in whether it may be `null`, changes the struct code compiled against the old bindings uses.
fn fields(ch: &Channel, topic: &str, old: &NamedType, new: &NamedType, out: &mut Vec<Finding>) {
    for (at, o) in &old.objects {
        let Some(n) = new.objects.get(at) else { continue };
        for op in &o.declared {
            let place = if at.is_empty() { format!("`{}`", op.name) } else { format!("`{}` (in `{at}`)", op.name) };
            match n.declared.iter().find(|p| p.name == op.name) {
                None => out.push(generated(ch, Some(topic), format!("the field {place} of `{}` is gone", old.name))),
                Some(np) if np.required != op.required || np.nullable != op.nullable => {
                    let what = |r: bool, n: bool| {
                        format!("{}{}", if r { "required" } else { "optional" }, if n { " and nullable" } else { "" })
                    };
                    out.push(generated(
                        ch,
                        Some(topic),
                        format!(
                            "the field {place} of `{}` changes from {} to {}",
                            old.name,
                            what(op.required, op.nullable),
                            what(np.required, np.nullable)
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
    }
}
