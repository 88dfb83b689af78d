//! Checking received JSON against a topic's schema before it is decoded into a generated
//! type, so a typed subscriber refuses exactly what the schema refuses (serde alone accepts
//! more: `null` for an absent optional field, a struct written as an array, any integer for
//! a `const`).
//!
//! The schemas are the bundled schemas chanspec generated the types from (keywords of JSON
//! Schema 2020-12, `$ref`s written `#/definitions/Name`). Every keyword chanspec accepts is
//! checked, except `format` (not asserted, as 2020-12 says by default);
//! `pattern` is read as ECMA-262 by [`crate::pattern`].

use serde_json::{Map, Value};

/// How deeply values may nest (objects and arrays within each other): as deep as JSON parsing
/// allows (serde_json's limit), so every parsed message can be checked. The TypeScript guards
/// refuse deeper values alike.
pub const MAX_DEPTH: usize = 128;

/// The reason a value nested deeper than [`MAX_DEPTH`] is refused.
pub const TOO_DEEP: &str = "nested deeper than 128 levels, the most a message may nest";

/// A set of named schemas: `{"Name": schema, ...}`.
#[derive(Default)]
pub struct Schemas {
    definitions: Map<String, Value>,
}

impl Schemas {
    /// Parse the bundled definitions generated code embeds.
    pub fn parse(json: &str) -> Self {
        let definitions = serde_json::from_str(json).unwrap_or_default();
        Schemas { definitions }
    }

    /// The named schemas of a [`crate::Definitions`].
    pub fn from_map(definitions: Map<String, Value>) -> Self {
        Schemas { definitions }
    }

    /// Check `instance` against the named type; the error says where and why it fails.
    pub fn check(&self, name: &str, instance: &Value) -> Result<(), String> {
        let schema = self.definitions.get(name).ok_or_else(|| format!("no schema named `{name}`"))?;
        self.node(schema, instance, "", 0)
    }

    /// Check `data` against the named type, then decode it as `T` (floats with no fraction
    /// as integers): what a generated message enum does with a message of `topic`.
    pub fn decode<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        topic: &'static str,
        data: Value,
    ) -> Result<T, crate::DecodeError> {
        self.check(name, &data).map_err(|reason| crate::DecodeError::Invalid { topic, reason })?;
        serde_json::from_value(integral_floats(data)).map_err(|error| crate::DecodeError::Payload { topic, error })
    }

    fn resolve(&self, reference: &str) -> Option<&Value> {
        resolve(&self.definitions, reference)
    }

    fn node(&self, schema: &Value, v: &Value, at: &str, depth: usize) -> Result<(), String> {
        // Schema steps without a step into the value (`$ref`, `allOf`, …) are bounded by the
        // schema (`check` refuses `$ref` cycles); this guards hand-made schemas.
        if depth > 4096 {
            return Err(format!("{}: the schema nests too deeply to check", if at.is_empty() { "/" } else { at }));
        }
        let fail = |why: String| Err(format!("{}: {why}", if at.is_empty() { "/" } else { at }));
        let obj = match schema {
            Value::Bool(true) => return Ok(()),
            Value::Bool(false) => return fail("no value is allowed here".into()),
            Value::Object(o) => o,
            _ => return Ok(()),
        };
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            match self.resolve(r) {
                Some(target) => self.node(target, v, at, depth + 1)?,
                None => return fail(format!("unresolved reference `{r}`")),
            }
        }
        if let Some(t) = obj.get("type")
            && !type_matches(t, v)
        {
            return fail(format!("expected {}, found {}", show_type(t), kind(v)));
        }
        if let Some(c) = obj.get("const")
            && !equal(c, v)
        {
            return fail(format!("{v} is not the const {c}"));
        }
        if let Some(Value::Array(values)) = obj.get("enum")
            && !values.iter().any(|e| equal(e, v))
        {
            return fail(format!("{v} is not one of {}", Value::Array(values.clone())));
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            let Some(Value::Array(list)) = obj.get(key) else { continue };
            let results: Vec<Result<(), String>> = list.iter().map(|s| self.node(s, v, at, depth + 1)).collect();
            let passing = results.iter().filter(|r| r.is_ok()).count();
            let ok = match key {
                "allOf" => passing == list.len(),
                "anyOf" => passing >= 1,
                _ => passing == 1,
            };
            if !ok {
                // A value too deep to check is refused for that, whatever the variants.
                if let Some(Err(deep)) = results.iter().find(|r| r.as_ref().is_err_and(|e| e.ends_with(TOO_DEEP))) {
                    return Err(deep.clone());
                }
                return match key {
                    "allOf" => results.into_iter().collect(),
                    "oneOf" if passing > 1 => fail(format!("matches {passing} variants of `oneOf`, not exactly one")),
                    _ => Err(self.no_variant(key, list, results, v, at)),
                };
            }
        }
        match v {
            Value::Object(_) | Value::Array(_) if at.matches('/').count() >= MAX_DEPTH => {
                Err(format!("{at}: {TOO_DEEP}"))
            }
            Value::Object(map) => self.object(obj, map, at, depth),
            Value::Array(items) => self.array(obj, items, at, depth),
            Value::String(s) => {
                bounds(obj, s.chars().count() as f64, "minLength", "maxLength", "characters", at)?;
                match obj.get("pattern").and_then(Value::as_str) {
                    // A pattern the regex engine cannot run (lookaround) is not checked here;
                    // `chanspec check` warns about it.
                    Some(p) if crate::pattern::matches(p, s) == Some(false) => {
                        fail(format!("{} does not match the pattern `{p}`", Value::String(s.clone())))
                    }
                    _ => Ok(()),
                }
            }
            Value::Number(n) => number(obj, n, at),
            _ => Ok(()),
        }
    }

    /// Why `v` matched no variant of a `oneOf`/`anyOf`, said about one variant: the one its
    /// tag selects when every variant is an object tagged by a required `const` property
    /// (or that its tag selects none), otherwise the closest one, whose failure lies deepest.
    fn no_variant(&self, key: &str, list: &[Value], results: Vec<Result<(), String>>, v: &Value, at: &str) -> String {
        let shown = if at.is_empty() { "/" } else { at };
        if let (Some(tag), Some(object)) = (union_tag(&self.definitions, list), v.as_object()) {
            let values: Vec<&Value> = list.iter().filter_map(|s| tag_value(&self.definitions, s, tag)).collect();
            let Some(found) = object.get(tag) else {
                return format!("{shown}: missing the tag property `{tag}` that selects a variant of `{key}`");
            };
            return match values.iter().position(|t| equal(t, found)) {
                Some(i) => results.into_iter().nth(i).and_then(Result::err).unwrap_or_default(),
                None => format!(
                    "{at}/{}: {found} is not one of the tags of `{key}`: {}",
                    escape(tag),
                    Value::Array(values.into_iter().cloned().collect())
                ),
            };
        }
        let errors: Vec<String> = results.into_iter().filter_map(Result::err).collect();
        // Errors read `POINTER: why`; the root's pointer is shown as `/`.
        let segments = |p: &str| if p == "/" { 0 } else { p.matches('/').count() };
        let depth = |e: &String| e.split(": ").next().map_or(0, segments);
        let deepest = errors.iter().map(depth).max().unwrap_or(0);
        match errors.iter().position(|e| depth(e) == deepest) {
            Some(i) if deepest > segments(shown) => {
                format!(
                    "{shown}: matches none of the variants of `{key}`; the closest, variant {}, fails at {}",
                    i + 1,
                    errors[i]
                )
            }
            _ => format!(
                "{shown}: matches none of the variants of `{key}` ({})",
                errors.iter().map(|e| e.split_once(": ").map_or(e.as_str(), |(_, m)| m)).collect::<Vec<_>>().join("; ")
            ),
        }
    }

    fn object(&self, obj: &Map<String, Value>, map: &Map<String, Value>, at: &str, depth: usize) -> Result<(), String> {
        if let Some(Value::Array(required)) = obj.get("required") {
            for r in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(r) {
                    return Err(format!("{}: missing required property `{r}`", if at.is_empty() { "/" } else { at }));
                }
            }
        }
        let properties = obj.get("properties").and_then(Value::as_object);
        for (k, value) in map {
            let here = format!("{at}/{}", escape(k));
            match properties.and_then(|p| p.get(k)) {
                Some(s) => self.node(s, value, &here, depth + 1)?,
                None => match obj.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return Err(format!("{here}: property `{k}` is not allowed (additionalProperties is false)"));
                    }
                    Some(extra) => self.node(extra, value, &here, depth + 1)?,
                    None => {}
                },
            }
        }
        if let Some(names) = obj.get("propertyNames") {
            for k in map.keys() {
                self.node(names, &Value::String(k.clone()), &format!("{at}/{}", escape(k)), depth + 1)
                    .map_err(|e| format!("{e} (propertyNames)"))?;
            }
        }
        if let Some(Value::Object(deps)) = obj.get("dependentRequired") {
            for (k, needed) in deps {
                if map.contains_key(k) {
                    for n in needed.as_array().into_iter().flatten().filter_map(Value::as_str) {
                        if !map.contains_key(n) {
                            return Err(format!("{at}/{k}: requires property `{n}`"));
                        }
                    }
                }
            }
        }
        bounds(obj, map.len() as f64, "minProperties", "maxProperties", "properties", at)
    }

    fn array(&self, obj: &Map<String, Value>, items: &[Value], at: &str, depth: usize) -> Result<(), String> {
        let prefix = obj.get("prefixItems").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        for (i, item) in items.iter().enumerate() {
            let here = format!("{at}/{i}");
            match prefix.get(i) {
                Some(s) => self.node(s, item, &here, depth + 1)?,
                None => {
                    if let Some(s) = obj.get("items") {
                        self.node(s, item, &here, depth + 1)?;
                    }
                }
            }
        }
        if obj.get("uniqueItems") == Some(&Value::Bool(true)) {
            for (i, a) in items.iter().enumerate() {
                if items[..i].iter().any(|b| equal(a, b)) {
                    return Err(format!("{at}/{i}: duplicate item"));
                }
            }
        }
        if let Some(contains) = obj.get("contains") {
            let n = items.iter().filter(|i| self.node(contains, i, at, depth + 1).is_ok()).count() as f64;
            let min = obj.get("minContains").and_then(Value::as_f64).unwrap_or(1.0);
            let max = obj.get("maxContains").and_then(Value::as_f64).unwrap_or(f64::INFINITY);
            if n < min || n > max {
                return Err(format!("{}: {n} items match `contains`", if at.is_empty() { "/" } else { at }));
            }
        }
        bounds(obj, items.len() as f64, "minItems", "maxItems", "items", at)
    }
}

/// A JSON pointer token: `~` and `/` escaped.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// `minLength`/`maxLength` (and the item and property counts): `n` of `what` in the value.
fn bounds(obj: &Map<String, Value>, n: f64, min: &str, max: &str, what: &str, at: &str) -> Result<(), String> {
    let at = if at.is_empty() { "/" } else { at };
    if let Some(m) = obj.get(min).and_then(Value::as_f64)
        && n < m
    {
        return Err(format!("{at}: has {n} {what}, fewer than the {min} of {m}"));
    }
    if let Some(m) = obj.get(max).and_then(Value::as_f64)
        && n > m
    {
        return Err(format!("{at}: has {n} {what}, more than the {max} of {m}"));
    }
    Ok(())
}

fn number(obj: &Map<String, Value>, n: &serde_json::Number, at: &str) -> Result<(), String> {
    use std::cmp::Ordering::{Greater, Less};
    let at = if at.is_empty() { "/" } else { at };
    let get = |k: &str| obj.get(k).and_then(Value::as_number);
    let broken = [
        ("less than the minimum of", get("minimum").filter(|m| compare(n, m) == Less)),
        ("greater than the maximum of", get("maximum").filter(|m| compare(n, m) == Greater)),
        ("not greater than the exclusiveMinimum of", get("exclusiveMinimum").filter(|m| compare(n, m) != Greater)),
        ("not less than the exclusiveMaximum of", get("exclusiveMaximum").filter(|m| compare(n, m) != Less)),
    ];
    if let Some((why, Some(m))) = broken.into_iter().find(|(_, b)| b.is_some()) {
        return Err(format!("{at}: {n} is {why} {m}"));
    }
    if let Some(m) = get("multipleOf")
        && !is_multiple(n, m)
    {
        return Err(format!("{at}: {n} is not a multiple of {m} (multipleOf)"));
    }
    Ok(())
}

/// A JSON number exactly: an integer (as parsed, up to `u64`), or a double.
enum Exact {
    Int(i128),
    Float(f64),
}

fn exact(n: &serde_json::Number) -> Exact {
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => Exact::Int(i.into()),
        (_, Some(u)) => Exact::Int(u.into()),
        _ => Exact::Float(n.as_f64().unwrap_or(f64::NAN)),
    }
}

/// Two JSON numbers compared by value, exactly: `9007199254740993` is greater than
/// `9007199254740992.0`, which an `f64` comparison would call equal.
pub fn compare(a: &serde_json::Number, b: &serde_json::Number) -> std::cmp::Ordering {
    use std::cmp::Ordering::Equal;
    /// An integer against a double, without rounding either.
    fn int_float(i: i128, f: f64) -> std::cmp::Ordering {
        if f.is_nan() {
            return Equal;
        }
        if f >= 1.0e38 {
            return std::cmp::Ordering::Less;
        }
        if f <= -1.0e38 {
            return std::cmp::Ordering::Greater;
        }
        let whole = f.trunc();
        // Exact: a double below 2^127 in magnitude with no fraction is an integer i128 holds.
        match i.cmp(&(whole as i128)) {
            Equal if f > whole => std::cmp::Ordering::Less,
            Equal if f < whole => std::cmp::Ordering::Greater,
            other => other,
        }
    }
    match (exact(a), exact(b)) {
        (Exact::Int(x), Exact::Int(y)) => x.cmp(&y),
        (Exact::Int(x), Exact::Float(g)) => int_float(x, g),
        (Exact::Float(f), Exact::Int(y)) => int_float(y, f).reverse(),
        (Exact::Float(f), Exact::Float(g)) => f.partial_cmp(&g).unwrap_or(Equal),
    }
}

/// A JSON number as `mantissa × 10^exponent`, exactly, from its shortest decimal text (the
/// text a double round-trips through, as JavaScript's `String(x)` gives it too). `None` for
/// values that have none (infinities).
fn decimal(n: &serde_json::Number) -> Option<(i128, i32)> {
    let text = match exact(n) {
        Exact::Int(i) => i.to_string(),
        Exact::Float(f) if f.is_finite() => format!("{f:e}"),
        Exact::Float(_) => return None,
    };
    let (digits, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let mut exponent: i32 = exponent.parse().ok()?;
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    exponent -= fraction.len() as i32;
    let mut mantissa: i128 = format!("{whole}{fraction}").parse().ok()?;
    while mantissa != 0 && mantissa % 10 == 0 {
        mantissa /= 10;
        exponent += 1;
    }
    Some((mantissa, exponent))
}

/// `multipleOf`, exactly in decimal: `0.5000000001` is not a multiple of `0.5`, `0.3` is one
/// of `0.1`.
pub fn is_multiple(n: &serde_json::Number, m: &serde_json::Number) -> bool {
    let (Some((a, p)), Some((b, q))) = (decimal(n), decimal(m)) else { return false };
    if b == 0 {
        return false;
    }
    if a == 0 {
        return true;
    }
    let e = p - q;
    if e >= 0 {
        // b divides a·10^e: take from b the factors of 2 and 5 that 10^e supplies.
        let mut b = b.abs();
        for factor in [2, 5] {
            for _ in 0..e {
                if b % factor != 0 {
                    break;
                }
                b /= factor;
            }
        }
        a % b == 0
    } else {
        // b·10^-e divides a; when that overflows it is larger than any a.
        let divisor = 10i128.checked_pow(e.unsigned_abs()).and_then(|t| t.checked_mul(b));
        divisor.is_some_and(|d| a % d == 0)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if is_integer(n) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_integer(n: &serde_json::Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
}

fn type_matches(t: &Value, v: &Value) -> bool {
    let one = |name: &str| match (name, v) {
        ("integer", Value::Number(n)) => is_integer(n),
        ("number", Value::Number(_)) => true,
        (name, v) => name == kind(v),
    };
    match t {
        Value::String(s) => one(s),
        Value::Array(list) => list.iter().filter_map(Value::as_str).any(one),
        _ => true,
    }
}

fn show_type(t: &Value) -> String {
    match t {
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" or "),
        other => other.as_str().unwrap_or("?").to_string(),
    }
}

/// Equality as JSON Schema defines it: numbers by value, objects regardless of key order.
pub fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare(x, y) == std::cmp::Ordering::Equal,
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

/// `data` with every number that has no fractional part written as an integer (`1.0` → `1`).
/// JSON numbers are values, not spellings: JSON Schema counts `1.0` as an integer, but serde
/// refuses it for an integer field. Decoders normalise received data with this first; float
/// fields read integers as they read floats, so nothing else changes.
pub fn integral_floats(mut data: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Number(n) if n.is_f64() => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    *v = Value::from(f as i64);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            Value::Object(obj) => obj.values_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut data);
    data
}

/// Where bundled definitions (`#/definitions/Name`) are looked up: the embedded map, or the
/// generator's view of the IR's named types.
pub trait Definitions {
    fn definition(&self, name: &str) -> Option<&Value>;
}

impl Definitions for Map<String, Value> {
    fn definition(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

impl Definitions for std::collections::HashMap<&str, &Value> {
    fn definition(&self, name: &str) -> Option<&Value> {
        self.get(name).copied()
    }
}

/// The schema a bundled reference (`#/definitions/Name`) names.
fn resolve<'a>(definitions: &'a impl Definitions, reference: &str) -> Option<&'a Value> {
    definitions.definition(reference.strip_prefix("#/definitions/")?)
}

/// How a union's variants are tagged, if they are: the property every variant (an object
/// schema, through `$ref`s to `definitions`) requires with a distinct `const`, and each
/// variant's value. The rule refusals are explained by, here and in the TypeScript guards.
pub fn union_tag_values(definitions: &impl Definitions, list: &[Value]) -> Option<(String, Vec<Value>)> {
    let tag = union_tag(definitions, list)?;
    let values = list.iter().filter_map(|s| tag_value(definitions, s, tag)).cloned().collect();
    Some((tag.to_string(), values))
}

/// The property every variant requires with a distinct `const`, if there is one.
fn union_tag<'a>(definitions: &'a impl Definitions, list: &'a [Value]) -> Option<&'a str> {
    let first = object_schema(definitions, list.first()?)?;
    let candidates = first.get("properties")?.as_object()?.keys();
    candidates.map(String::as_str).find(|tag| {
        let values: Vec<&Value> = list.iter().filter_map(|s| tag_value(definitions, s, tag)).collect();
        values.len() == list.len() && values.iter().enumerate().all(|(i, a)| values[..i].iter().all(|b| !equal(a, b)))
    })
}

/// The `const` a variant requires for property `tag`.
fn tag_value<'a>(definitions: &'a impl Definitions, variant: &'a Value, tag: &str) -> Option<&'a Value> {
    let o = object_schema(definitions, variant)?;
    let required = o.get("required")?.as_array()?.iter().any(|r| r.as_str() == Some(tag));
    o.get("properties")?.get(tag)?.get("const").filter(|_| required)
}

/// How many `$ref`s [`union_tag_values`] follows from a variant to its object schema.
pub const REF_STEPS: usize = 8;

/// A schema with its `$ref`s followed (a few steps), as an object.
fn object_schema<'a>(definitions: &'a impl Definitions, mut schema: &'a Value) -> Option<&'a Map<String, Value>> {
    for _ in 0..REF_STEPS {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => schema = resolve(definitions, r)?,
            None => return schema.as_object(),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schemas() -> Schemas {
        Schemas::parse(
            &json!({
                "Shape": { "oneOf": [{ "$ref": "#/definitions/Circle" }, { "$ref": "#/definitions/Square" }] },
                "Circle": { "type": "object", "required": ["kind", "r"], "additionalProperties": false,
                            "properties": { "kind": { "const": "circle" }, "r": { "type": "number", "minimum": 0 } } },
                "Square": { "type": "object", "required": ["kind"], "properties": { "kind": { "const": "square" },
                            "side": { "type": ["integer", "null"] } } },
                "Pair": { "type": "array", "prefixItems": [{ "type": "string" }, { "type": "integer" }], "items": false, "minItems": 2 }
            })
            .to_string(),
        )
    }

    #[test]
    fn a_union_failure_is_told_about_the_variant_that_matters() {
        let s = schemas();
        // Tagged: the variant the tag selects, and its own failure.
        let e = s.check("Shape", &json!({ "kind": "circle", "r": -1 })).unwrap_err();
        assert_eq!(e, "/r: -1 is less than the minimum of 0");
        let e = s.check("Shape", &json!({ "kind": "triangle" })).unwrap_err();
        assert_eq!(e, r#"/kind: "triangle" is not one of the tags of `oneOf`: ["circle","square"]"#);
        let e = s.check("Shape", &json!({ "r": 1 })).unwrap_err();
        assert_eq!(e, "/: missing the tag property `kind` that selects a variant of `oneOf`");
        // Untagged: the closest variant, whose failure lies deepest.
        let untagged = Schemas::parse(
            &json!({ "U": { "anyOf": [
                { "type": "string" },
                { "type": "object", "properties": { "a": { "type": "object", "properties": { "b": { "maximum": 3 } } } } }
            ] } })
            .to_string(),
        );
        let e = untagged.check("U", &json!({ "a": { "b": 4 } })).unwrap_err();
        assert_eq!(
            e,
            "/: matches none of the variants of `anyOf`; the closest, variant 2, fails at /a/b: 4 is greater than the maximum of 3"
        );
        let e = untagged.check("U", &json!(5)).unwrap_err();
        assert_eq!(
            e,
            "/: matches none of the variants of `anyOf` (expected string, found integer; expected object, found integer)"
        );
    }

    #[test]
    fn depth_counts_the_value_not_the_schema_and_is_refused_plainly() {
        // A linked list: each level is an `anyOf` of a `$ref` and `null`, three schema steps.
        let s = Schemas::parse(
            &json!({ "L": { "anyOf": [
                { "type": "object", "required": ["next"], "properties": { "next": { "$ref": "#/definitions/L" } } },
                { "type": "null" }
            ] } })
            .to_string(),
        );
        let list = |n: usize| (0..n).fold(Value::Null, |next, _| json!({ "next": next }));
        assert!(s.check("L", &list(100)).is_ok(), "100 levels, as deep as JSON parsing allows");
        assert!(s.check("L", &list(MAX_DEPTH)).is_ok());
        let e = s.check("L", &list(MAX_DEPTH + 1)).unwrap_err();
        assert!(e.ends_with(TOO_DEEP), "{e}");
    }

    #[test]
    fn numbers_are_compared_exactly() {
        let s = Schemas::parse(
            &json!({
                "Max": { "type": "integer", "maximum": 9007199254740992u64 },
                "Half": { "multipleOf": 0.5 },
                "Tenth": { "multipleOf": 0.1 },
                "Big": { "multipleOf": 1e-10 },
                "Unique": { "uniqueItems": true }
            })
            .to_string(),
        );
        let ok = |name: &str, v: &str| s.check(name, &serde_json::from_str(v).unwrap()).is_ok();
        assert!(ok("Max", "9007199254740992"));
        assert!(!ok("Max", "9007199254740993"));
        assert!(ok("Half", "1.5") && ok("Half", "3") && ok("Half", "-0.5") && ok("Half", "0"));
        assert!(!ok("Half", "0.5000000001"));
        assert!(ok("Tenth", "0.3") && ok("Tenth", "12.7"), "no binary rounding: 0.3 is a multiple of 0.1");
        assert!(!ok("Tenth", "0.35"));
        assert!(ok("Big", "1e300") && ok("Big", "0.0000000003"));
        assert!(ok("Unique", "[9007199254740993, 9007199254740992.0]"));
        assert!(!ok("Unique", "[1, 1.0]"));
    }

    #[test]
    fn narrowing_failures_name_the_keyword() {
        let s = Schemas::parse(
            &json!({ "N": { "type": "object", "additionalProperties": false, "properties": {
                "w": { "type": "integer", "minimum": 1, "multipleOf": 2 },
                "s": { "type": "string", "pattern": "^[a-z]+$", "maxLength": 3 },
                "l": { "type": "array", "minItems": 1 }
            } } })
            .to_string(),
        );
        let e = |v: Value| s.check("N", &v).unwrap_err();
        assert_eq!(e(json!({ "w": 0 })), "/w: 0 is less than the minimum of 1");
        assert_eq!(e(json!({ "w": 3 })), "/w: 3 is not a multiple of 2 (multipleOf)");
        assert_eq!(e(json!({ "s": "abcd" })), "/s: has 4 characters, more than the maxLength of 3");
        assert_eq!(e(json!({ "s": "ab1" })), r#"/s: "ab1" does not match the pattern `^[a-z]+$`"#);
        assert_eq!(e(json!({ "l": [] })), "/l: has 0 items, fewer than the minItems of 1");
        assert_eq!(e(json!({ "x": 1 })), "/x: property `x` is not allowed (additionalProperties is false)");
    }

    #[test]
    fn checks_the_supported_keywords() {
        let s = schemas();
        assert!(s.check("Shape", &json!({ "kind": "circle", "r": 1.5 })).is_ok());
        assert!(s.check("Shape", &json!({ "kind": "square", "side": null, "x": 1 })).is_ok());
        assert!(s.check("Shape", &json!({ "kind": "circle", "r": 1, "x": 1 })).is_err());
        assert!(s.check("Shape", &json!({ "kind": "circle", "r": -1 })).is_err());
        assert!(s.check("Shape", &json!({ "kind": "square", "side": 1.5 })).is_err());
        assert!(s.check("Shape", &json!({ "kind": "square", "side": 2.0 })).is_ok());
        assert!(s.check("Shape", &json!(["circle", 1])).is_err());
        assert!(s.check("Pair", &json!(["a", 1])).is_ok());
        assert!(s.check("Pair", &json!(["a"])).is_err());
        assert!(s.check("Pair", &json!(["a", 1, 2])).is_err());
        let e = s.check("Circle", &json!({ "kind": "circle" })).unwrap_err();
        assert!(e.contains("missing required property `r`"), "{e}");
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(equal(&json!(3), &json!(3.0)));
        assert!(!equal(&json!(3), &json!(3.5)));
        assert!(equal(&json!({ "a": [1, 2] }), &json!({ "a": [1.0, 2] })));
    }
}
