//! Schema inclusion: does a reader accept every value a writer accepts? Decided on the IR's
//! bundled schemas (`$ref`s to `#/definitions/Name`, followed on each side), keyword by
//! keyword, by what the generated guards and decoders accept: they check the whole schema,
//! narrowing keywords included, and `format` not at all, as JSON Schema 2020-12 says.
//!
//! A `Break` names the instance location where the writer can produce a value the reader
//! refuses, why, and (where one is built directly) such a value at that location. What
//! cannot be decided (a changed `pattern`, `not`, conditional schemas) is a `Break` marked
//! `certain: false`, unless a witness turns up later (see `witness`).

use std::collections::HashSet;

use crate::json;
use crate::value::{Map, Number, Value};

use crate::keywords::{self, Support};

/// Why a writer's value can be refused by the reader.
#[derive(Clone, Debug, PartialEq)]
pub struct Break {
    /// The instance location (JSON pointer; array items as `/0`).
    pub at: String,
    pub why: String,
    /// A value at `at` the writer's schema there accepts and the reader's refuses.
    pub local: Option<Value>,
    /// Decided (`false`: not shown either way; reported as breaking, to be safe).
    pub certain: bool,
}

/// The two schemas' definitions.
pub struct Sides<'a> {
    pub writer: &'a Map,
    pub reader: &'a Map,
}

const ALL_TYPES: [&str; 6] = ["null", "boolean", "object", "array", "number", "string"];

/// `None` when every value `w` accepts, `r` accepts.
pub fn subset(w: &Value, r: &Value, sides: &Sides) -> Option<Break> {
    Checker { sides, seen: HashSet::new() }.subset(w, r, "")
}

struct Checker<'a> {
    sides: &'a Sides<'a>,
    /// Pairs of references being compared: met again, they hold (coinduction).
    seen: HashSet<(String, String)>,
}

fn brk(at: &str, why: impl Into<String>, local: Option<Value>) -> Option<Break> {
    Some(Break { at: at.to_string(), why: why.into(), local, certain: true })
}

fn unsure(at: &str, why: impl Into<String>) -> Option<Break> {
    Some(Break { at: at.to_string(), why: why.into(), local: None, certain: false })
}

fn reference(s: &Value) -> Option<&str> {
    s.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/definitions/"))
}

/// A schema with no keyword that constrains values.
pub fn accepts_any(s: &Value) -> bool {
    match s {
        Value::Bool(b) => *b,
        Value::Object(o) => {
            o.keys().all(|k| k.starts_with("x-") || keywords::support(k) == Some(Support::Annotation) || k == "format")
        }
        _ => false,
    }
}

/// The schema without annotations (so a description-only change is no change).
fn bare(s: &Value) -> Value {
    match s {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| {
                    !k.starts_with("x-") && keywords::support(k) != Some(Support::Annotation) && *k != "format"
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn pointer(at: &str, token: &str) -> String {
    crate::source::pointer_push(at, token)
}

/// The JSON types a schema's `type` admits (`integer` counted apart from `number`).
fn types(o: &Map) -> Vec<&'static str> {
    let listed: Vec<&str> = match o.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return ALL_TYPES.to_vec(),
    };
    let mut out: Vec<&'static str> = ["null", "boolean", "object", "array", "number", "integer", "string"]
        .into_iter()
        .filter(|t| listed.contains(t))
        .collect();
    if out.contains(&"number") {
        out.retain(|t| *t != "integer");
    }
    out
}

fn covers(reader: &[&str], t: &str) -> bool {
    reader.contains(&t) || (t == "integer" && reader.contains(&"number"))
}

/// A value of JSON type `t` (as plain as possible) within `o`'s bounds for that type.
fn sample_of(t: &str, o: &Map) -> Value {
    match t {
        "null" => Value::Null,
        "boolean" => Value::Bool(true),
        "object" => json!({}),
        "array" => json!([]),
        "string" => {
            let n = o.get("minLength").and_then(Value::as_u64).unwrap_or(1).max(1) as usize;
            Value::String("x".repeat(n).into())
        }
        _ => {
            let lo = o
                .get("minimum")
                .and_then(Value::as_f64)
                .or(o.get("exclusiveMinimum").and_then(Value::as_f64).map(|m| m.floor() + 1.0));
            let x = lo.unwrap_or(1.0).ceil();
            json!(x as i64)
        }
    }
}

impl Checker<'_> {
    fn target(&self, name: &str, writer: bool) -> Value {
        let defs = if writer { self.sides.writer } else { self.sides.reader };
        defs.get(name).cloned().unwrap_or(Value::Bool(true))
    }

    fn subset(&mut self, w: &Value, r: &Value, at: &str) -> Option<Break> {
        let (w_ref, r_ref) = (reference(w).map(String::from), reference(r).map(String::from));
        // A reference alone stands for its target; one with other keywords is both.
        if w_ref.is_some() || r_ref.is_some() {
            if let (Some(a), Some(b)) = (&w_ref, &r_ref)
                && !self.seen.insert((a.clone(), b.clone()))
            {
                return None;
            }
            let w = match &w_ref {
                Some(name) => with_target(w, self.target(name, true)),
                None => w.clone(),
            };
            let r = match &r_ref {
                Some(name) => with_target(r, self.target(name, false)),
                None => r.clone(),
            };
            return self.subset(&w, &r, at);
        }
        if accepts_any(r) || *w == Value::Bool(false) {
            return None;
        }
        if bare(w) == bare(r) {
            return None;
        }
        if *r == Value::Bool(false) {
            return brk(at, "the reader accepts nothing here", None);
        }
        let empty = Map::new();
        let wo = w.as_object().unwrap_or(&empty);
        let ro = r.as_object().unwrap_or(&empty);

        // The writer's unions: every variant must be accepted.
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(variants)) = wo.get(key) {
                let mut rest = wo.clone();
                rest.remove(key);
                for v in variants {
                    let merged = merge(&Value::Object(rest.clone()), v);
                    if let Some(b) = self.subset(&merged, r, at) {
                        return Some(b);
                    }
                }
                return None;
            }
        }
        if let Some(Value::Array(parts)) = wo.get("allOf") {
            let mut rest = wo.clone();
            rest.remove("allOf");
            let mut merged = Value::Object(rest);
            for p in parts {
                let p = match reference(p) {
                    Some(name) => with_target(p, self.target(name, true)),
                    None => p.clone(),
                };
                merged = merge(&merged, &p);
            }
            if merged.get("allOf").is_none() {
                return self.subset(&merged, r, at);
            }
            return unsure(at, "the writer's `allOf` could not be compared");
        }
        // The reader's combinators.
        if let Some(Value::Array(parts)) = ro.get("allOf") {
            let mut rest = ro.clone();
            rest.remove("allOf");
            if let Some(b) = self.subset(w, &Value::Object(rest), at) {
                return Some(b);
            }
            for p in parts {
                if let Some(b) = self.subset(w, p, at) {
                    return Some(b);
                }
            }
            return None;
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(variants)) = ro.get(key) {
                let mut rest = ro.clone();
                rest.remove(key);
                if let Some(b) = self.subset(w, &Value::Object(rest.clone()), at) {
                    return Some(b);
                }
                let fits: Vec<usize> = (0..variants.len())
                    .filter(|i| {
                        let saved = self.seen.clone();
                        let ok = self.subset(w, &merge(&Value::Object(rest.clone()), &variants[*i]), at).is_none();
                        self.seen = saved;
                        ok
                    })
                    .collect();
                let Some(&first) = fits.first() else {
                    return brk(at, format!("the value matches none of the reader's `{key}` variants"), None);
                };
                if key == "oneOf" && fits.len() > 1 {
                    return unsure(at, "the value may match more than one of the reader's `oneOf` variants");
                }
                if key == "oneOf" {
                    for (i, v) in variants.iter().enumerate() {
                        if i != first && !self.disjoint(w, v) {
                            return unsure(at, "the reader's `oneOf` variants may both match a value");
                        }
                    }
                }
                return None;
            }
        }
        // Keywords that only narrow the writer can be ignored; on the reader they must match.
        for key in [
            "not",
            "if",
            "then",
            "else",
            "contains",
            "minContains",
            "maxContains",
            "patternProperties",
            "propertyNames",
            "dependentRequired",
            "dependentSchemas",
            "minProperties",
            "maxProperties",
            "unevaluatedProperties",
            "unevaluatedItems",
        ] {
            if let Some(rv) = ro.get(key)
                && wo.get(key) != Some(rv)
            {
                return unsure(at, format!("the reader's `{key}` changed"));
            }
        }

        // Listed values decide exactly.
        let listed: Option<Vec<Value>> = match (wo.get("const"), wo.get("enum")) {
            (Some(c), _) => Some(vec![c.clone()]),
            (None, Some(Value::Array(vs))) => Some(vs.clone()),
            _ => None,
        };
        if let Some(values) = listed {
            let writer = schema_with(w, self.sides.writer);
            let reader = schema_with(r, self.sides.reader);
            for v in values {
                if valid(&writer, &v) && !valid(&reader, &v) {
                    return brk(at, format!("the reader refuses {}", short(&v)), Some(v));
                }
            }
            return None;
        }
        if let Some(rv) =
            ro.get("const").map(|c| vec![c.clone()]).or_else(|| ro.get("enum").and_then(Value::as_array).cloned())
        {
            let t = types(wo);
            let local = t.first().map(|t| sample_of(t, wo)).filter(|v| !rv.contains(v));
            return brk(
                at,
                format!("the reader accepts only {}", rv.iter().map(short).collect::<Vec<_>>().join(", ")),
                local,
            );
        }

        let (tw, tr) = (types(wo), types(ro));
        for t in &tw {
            if !covers(&tr, t) {
                return brk(
                    at,
                    format!("the reader refuses a value of type {t} (it takes {})", tr.join(", ")),
                    Some(sample_of(t, wo)),
                );
            }
        }
        if tw.iter().any(|t| *t == "number" || *t == "integer")
            && let Some(b) = numbers(wo, ro, at, tw.contains(&"number"))
        {
            return Some(b);
        }
        if tw.contains(&"string") {
            if let Some(b) =
                lengths(wo, ro, at, "minLength", "maxLength", "characters", |n| Value::String("x".repeat(n).into()))
            {
                return Some(b);
            }
            if let Some(p) = ro.get("pattern")
                && wo.get("pattern") != Some(p)
            {
                return unsure(at, format!("the reader's `pattern` {p} differs from the writer's"));
            }
        }
        if tw.contains(&"array")
            && let Some(b) = self.arrays(wo, ro, at)
        {
            return Some(b);
        }
        if tw.contains(&"object")
            && let Some(b) = self.objects(wo, ro, at)
        {
            return Some(b);
        }
        None
    }

    fn arrays(&mut self, wo: &Map, ro: &Map, at: &str) -> Option<Break> {
        if let Some(b) = lengths(wo, ro, at, "minItems", "maxItems", "items", |n| Value::Array(vec![Value::Null; n])) {
            return Some(b);
        }
        if ro.get("uniqueItems") == Some(&Value::Bool(true)) && wo.get("uniqueItems") != Some(&Value::Bool(true)) {
            return brk(at, "the reader requires unique items", None);
        }
        let prefix = |o: &Map| o.get("prefixItems").and_then(Value::as_array).cloned().unwrap_or_default();
        let (wp, rp) = (prefix(wo), prefix(ro));
        let any = Value::Bool(true);
        let (wi, ri) = (wo.get("items").unwrap_or(&any).clone(), ro.get("items").unwrap_or(&any).clone());
        for i in 0..wp.len().max(rp.len()) + 1 {
            let w = wp.get(i).unwrap_or(&wi).clone();
            let r = rp.get(i).unwrap_or(&ri).clone();
            if let Some(b) = self.subset(&w, &r, &pointer(at, &i.to_string())) {
                return Some(b);
            }
        }
        None
    }

    fn objects(&mut self, wo: &Map, ro: &Map, at: &str) -> Option<Break> {
        let strings = |o: &Map, k: &str| -> Vec<String> {
            o.get(k)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        };
        let (w_req, r_req) = (strings(wo, "required"), strings(ro, "required"));
        let props = |o: &'_ Map| o.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
        let (wp, rp) = (props(wo), props(ro));
        let any = Value::Bool(true);
        let (w_add, r_add) =
            (wo.get("additionalProperties").unwrap_or(&any), ro.get("additionalProperties").unwrap_or(&any));
        for k in &r_req {
            if !w_req.contains(k) {
                // A writer that cannot produce the property at all fails every value.
                return brk(&pointer(at, k), format!("the reader requires `{k}`, the writer may leave it out"), None);
            }
        }
        // Properties the reader declares: what the writer may put there.
        for (k, r) in &rp {
            let w = match wp.get(k) {
                Some(w) => w.clone(),
                None if *w_add == Value::Bool(false) => continue,
                None => w_add.clone(),
            };
            if let Some(b) = self.subset(&w, r, &pointer(at, k)) {
                return Some(b);
            }
        }
        // Properties only the writer declares: the reader's `additionalProperties` takes them.
        for (k, w) in &wp {
            if rp.contains_key(k) {
                continue;
            }
            if *r_add == Value::Bool(false) {
                return brk(
                    &pointer(at, k),
                    format!("the reader refuses the property `{k}`, which it does not declare"),
                    None,
                );
            }
            if let Some(b) = self.subset(w, r_add, &pointer(at, k)) {
                return Some(b);
            }
        }
        // Undeclared properties.
        if *w_add != Value::Bool(false) {
            let name = (0..)
                .map(|i| format!("undeclared{i}"))
                .find(|n| !rp.contains_key(n) && !wp.contains_key(n))
                .unwrap_or_default();
            if *r_add == Value::Bool(false) {
                let local = Some(sample_of(
                    types(w_add.as_object().unwrap_or(&Map::new())).first().copied().unwrap_or("null"),
                    &Map::new(),
                ));
                return brk(
                    &pointer(at, &name),
                    "the reader refuses properties it does not declare; the writer allows them",
                    local,
                );
            }
            if let Some(b) = self.subset(w_add, r_add, &pointer(at, &name)) {
                return Some(b);
            }
        }
        None
    }

    /// No value matches both `w` and `v`: a property whose listed values do not meet, or no
    /// JSON type in common.
    fn disjoint(&self, w: &Value, v: &Value) -> bool {
        let resolve = |s: &Value, writer: bool| match reference(s) {
            Some(name) => with_target(s, self.target(name, writer)),
            None => s.clone(),
        };
        let (w, v) = (resolve(w, true), resolve(v, false));
        let (Some(wo), Some(vo)) = (w.as_object(), v.as_object()) else { return false };
        let (tw, tv) = (types(wo), types(vo));
        if !tw.iter().any(|t| covers(&tv, t) || (*t == "number" && tv.contains(&"integer"))) {
            return true;
        }
        let values = |s: &Value| -> Option<Vec<Value>> {
            s.get("const").map(|c| vec![c.clone()]).or_else(|| s.get("enum").and_then(Value::as_array).cloned())
        };
        let (Some(wp), Some(vp)) =
            (wo.get("properties").and_then(Value::as_object), vo.get("properties").and_then(Value::as_object))
        else {
            return false;
        };
        let required =
            |o: &Map, k: &str| o.get("required").and_then(Value::as_array).is_some_and(|r| r.iter().any(|x| x == k));
        wp.iter().any(|(k, ws)| {
            let (Some(a), Some(b)) = (values(ws), vp.get(k).and_then(values)) else { return false };
            required(wo, k) && required(vo, k) && !a.iter().any(|x| b.contains(x))
        })
    }
}

/// `s` (holding a `$ref`) with the reference replaced by its target: the target alone, or
/// both in an `allOf` when `s` has other constraining keywords.
fn with_target(s: &Value, target: Value) -> Value {
    let mut rest = s.as_object().cloned().unwrap_or_default();
    rest.remove("$ref");
    if accepts_any(&Value::Object(rest.clone())) {
        return target;
    }
    merge(&Value::Object(rest), &target)
}

/// Both schemas as one, where their keywords combine simply (object keywords, `type`);
/// otherwise an `allOf`.
fn merge(a: &Value, b: &Value) -> Value {
    let (Some(ao), Some(bo)) = (a.as_object(), b.as_object()) else {
        return match (a, b) {
            (Value::Bool(true), other) | (other, Value::Bool(true)) => other.clone(),
            _ => Value::Bool(false),
        };
    };
    let mut out = ao.clone();
    for (k, v) in bo {
        match (k.as_str(), out.get(k)) {
            (_, None) => {
                out.insert(k.clone(), v.clone());
            }
            (_, Some(existing)) if existing == v => {}
            ("required", Some(Value::Array(x))) => {
                let mut all = x.clone();
                for r in v.as_array().into_iter().flatten() {
                    if !all.contains(r) {
                        all.push(r.clone());
                    }
                }
                out.insert(k.clone(), Value::Array(all));
            }
            ("properties", Some(Value::Object(x))) => {
                let mut all = x.clone();
                for (p, s) in v.as_object().into_iter().flatten() {
                    let m = match all.get(p) {
                        Some(e) => merge(e, s),
                        None => s.clone(),
                    };
                    all.insert(p.clone(), m);
                }
                out.insert(k.clone(), Value::Object(all));
            }
            ("type", Some(existing)) => {
                let list = |t: &Value| -> Vec<Value> {
                    match t {
                        Value::Array(ts) => ts.clone(),
                        other => vec![other.clone()],
                    }
                };
                let (x, y) = (list(existing), list(v));
                let both: Vec<Value> = x
                    .iter()
                    .filter(|t| y.contains(t) || (*t == "integer" && y.contains(&json!("number"))))
                    .cloned()
                    .chain(y.iter().filter(|t| *t == "integer" && x.contains(&json!("number"))).cloned())
                    .collect();
                out.insert(k.clone(), Value::Array(both));
            }
            _ if keywords::support(k) == Some(Support::Annotation) || k.starts_with("x-") => {}
            _ => return json!({ "allOf": [a, b] }),
        }
    }
    Value::Object(out)
}

/// Lower and upper bounds of numbers: the writer's must lie within the reader's.
fn numbers(wo: &Map, ro: &Map, at: &str, fractions: bool) -> Option<Break> {
    use chanspec_runtime::check::compare;
    use std::cmp::Ordering::*;
    let num = |o: &Map, k: &str| o.get(k).and_then(Value::as_number).cloned();
    // (value, exclusive)
    let low = |o: &Map| match (num(o, "minimum"), num(o, "exclusiveMinimum")) {
        (Some(m), Some(e)) => Some(if compare(&e, &m) != Less { (e, true) } else { (m, false) }),
        (Some(m), None) => Some((m, false)),
        (None, Some(e)) => Some((e, true)),
        (None, None) => None,
    };
    let high = |o: &Map| match (num(o, "maximum"), num(o, "exclusiveMaximum")) {
        (Some(m), Some(e)) => Some(if compare(&e, &m) != Greater { (e, true) } else { (m, false) }),
        (Some(m), None) => Some((m, false)),
        (None, Some(e)) => Some((e, true)),
        (None, None) => None,
    };
    let below = |n: &Number| -> Value {
        let f = n.as_f64().unwrap_or_default();
        if fractions { json!(f - 0.5) } else { json!((f.ceil() as i64) - 1) }
    };
    let above = |n: &Number| -> Value {
        let f = n.as_f64().unwrap_or_default();
        if fractions { json!(f + 0.5) } else { json!((f.floor() as i64) + 1) }
    };
    if let Some((r, r_ex)) = low(ro) {
        let ok = match low(wo) {
            None => false,
            Some((w, w_ex)) => match compare(&w, &r) {
                Greater => true,
                Equal => w_ex || !r_ex,
                // An integer writer bounded exclusively just below: `> 0.5` admits 1 like `>= 1`.
                Less => false,
            },
        };
        if !ok {
            let local = match low(wo) {
                Some((w, false)) => Value::Number(w),
                Some((w, true)) if r_ex && compare(&w, &r) == Equal => Value::Number(w),
                _ => {
                    if r_ex {
                        Value::Number(r.clone())
                    } else {
                        below(&r)
                    }
                }
            };
            return brk(
                at,
                format!(
                    "the reader's lower bound {r}{} is higher than the writer's",
                    if r_ex { " (exclusive)" } else { "" }
                ),
                Some(local),
            );
        }
    }
    if let Some((r, r_ex)) = high(ro) {
        let ok = match high(wo) {
            None => false,
            Some((w, w_ex)) => match compare(&w, &r) {
                Less => true,
                Equal => w_ex || !r_ex,
                Greater => false,
            },
        };
        if !ok {
            let local = match high(wo) {
                Some((w, false)) => Value::Number(w),
                _ => {
                    if r_ex {
                        Value::Number(r.clone())
                    } else {
                        above(&r)
                    }
                }
            };
            return brk(
                at,
                format!(
                    "the reader's upper bound {r}{} is lower than the writer's",
                    if r_ex { " (exclusive)" } else { "" }
                ),
                Some(local),
            );
        }
    }
    if let Some(m) = num(ro, "multipleOf") {
        let ok = num(wo, "multipleOf").is_some_and(|w| chanspec_runtime::check::is_multiple(&w, &m));
        let integral_divides = !fractions && m.as_f64() == Some(1.0);
        if !ok && !integral_divides {
            return brk(at, format!("the reader takes only multiples of {m}"), None);
        }
    }
    None
}

/// Length bounds (`minLength`/`maxLength`, `minItems`/`maxItems`).
fn lengths(
    wo: &Map,
    ro: &Map,
    at: &str,
    min: &str,
    max: &str,
    what: &str,
    of: impl Fn(usize) -> Value,
) -> Option<Break> {
    let get = |o: &Map, k: &str| o.get(k).and_then(Value::as_u64);
    if let Some(r) = get(ro, min).filter(|r| *r > 0) {
        let w = get(wo, min).unwrap_or(0);
        if w < r {
            return brk(at, format!("the reader takes at least {r} {what}, the writer {w}"), Some(of(w as usize)));
        }
    }
    if let Some(r) = get(ro, max) {
        match get(wo, max) {
            Some(w) if w <= r => {}
            w => {
                let n = (r + 1).max(get(wo, min).unwrap_or(0)) as usize;
                let shown = w.map_or("no limit".to_string(), |w| w.to_string());
                return brk(at, format!("the reader takes at most {r} {what}, the writer {shown}"), Some(of(n)));
            }
        }
    }
    None
}

/// `s` as a schema a validator can run alone: with the definitions its references need.
pub fn schema_with(s: &Value, defs: &Map) -> Value {
    json!({ "allOf": [s], "definitions": defs })
}

/// Whether `schema` (from [`schema_with`]) accepts `v`, by the `jsonschema` crate.
pub fn valid(schema: &Value, v: &Value) -> bool {
    jsonschema::draft202012::new(&schema.to_serde()).map(|c| c.is_valid(&v.to_serde())).unwrap_or(false)
}

/// A value as short JSON text.
pub fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 80 { format!("{}…", text.chars().take(77).collect::<String>()) } else { text }
}
