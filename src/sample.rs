//! Instances generated from a JSON Schema, seeded and deterministic: values the schema should
//! accept (built from its keywords, best effort: a `pattern` is not aimed at) and mutations of
//! them that it may refuse. Whatever is generated, the verdict is a validator's; the
//! generator's job is only to reach the schema's corners often. Used by `diff` to find
//! witness instances, and by the conformance tests.

use crate::json;
use crate::value::{Map, Value};

/// A small deterministic generator (xorshift64*), so a failure names a seed that replays it.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    #[allow(clippy::should_implement_trait)] // a generator's step, not an iterator
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() { None } else { Some(&items[self.below(items.len())]) }
    }
}

const CHARS: &[char] = &['a', 'b', 'z', 'A', '0', '7', ' ', '-', '_', ':', '/', 'é', 'ü', '日', '😀', '\n', '"'];

/// A value for `schema`, whose `$ref`s (`#/definitions/Name`) resolve in `defs`.
pub fn instance(schema: &Value, defs: &Map, rng: &mut Rng, depth: usize) -> Value {
    let obj = match schema {
        Value::Object(o) => o,
        Value::Bool(false) => return Value::Null,
        _ => return scalar(rng),
    };
    if let Some(target) = obj.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/definitions/")) {
        let resolved = defs.get(target).cloned().unwrap_or(Value::Bool(true));
        // Deep recursion: stop at null when the schema allows it, else keep going a little.
        return instance(&resolved, defs, rng, depth + 1);
    }
    if let Some(c) = obj.get("const") {
        return c.clone();
    }
    if let Some(Value::Array(values)) = obj.get("enum")
        && let Some(v) = rng.pick(values)
    {
        return v.clone();
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(variants)) = obj.get(key) {
            // Near the depth limit, prefer a variant that is `null` (a recursion's end).
            let end = variants.iter().position(|v| v.get("type") == Some(&json!("null")));
            let chosen = match end {
                Some(i) if depth > 4 => &variants[i],
                _ => rng.pick(variants).unwrap_or(&Value::Bool(true)),
            };
            let mut merged = obj.clone();
            merged.remove(key);
            let base = instance(chosen, defs, rng, depth + 1);
            return if merged.keys().any(|k| k == "type" || k == "properties") {
                merge(base, &merged, defs, rng, depth)
            } else {
                base
            };
        }
    }
    if let Some(Value::Array(all)) = obj.get("allOf")
        && let Some(first) = all.first()
    {
        let base = instance(first, defs, rng, depth + 1);
        let mut rest = obj.clone();
        rest.remove("allOf");
        return merge(base, &rest, defs, rng, depth);
    }
    let ty = match obj.get("type") {
        Some(Value::String(t)) => t.to_string(),
        Some(Value::Array(ts)) => {
            // A nullable type: null now and then, the other type mostly.
            let names: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
            let non_null: Vec<&str> = names.iter().copied().filter(|t| *t != "null").collect();
            if non_null.is_empty() || (names.contains(&"null") && (depth > 4 || rng.chance(25))) {
                "null".into()
            } else {
                rng.pick(&non_null).copied().unwrap_or("null").to_string()
            }
        }
        _ if obj.contains_key("properties") || obj.contains_key("required") => "object".into(),
        _ if obj.contains_key("items") || obj.contains_key("prefixItems") => "array".into(),
        _ => return scalar(rng),
    };
    typed(&ty, obj, defs, rng, depth)
}

/// `base` with the keywords of `rest` applied where they add properties.
fn merge(base: Value, rest: &Map, defs: &Map, rng: &mut Rng, depth: usize) -> Value {
    match (base, typed("object", rest, defs, rng, depth)) {
        (Value::Object(mut a), Value::Object(b)) => {
            for (k, v) in b {
                a.entry(k).or_insert(v);
            }
            Value::Object(a)
        }
        (base, _) => base,
    }
}

fn typed(ty: &str, obj: &Map, defs: &Map, rng: &mut Rng, depth: usize) -> Value {
    let num = |k: &str| obj.get(k).and_then(Value::as_f64);
    match ty {
        "null" => Value::Null,
        "boolean" => Value::Bool(rng.chance(50)),
        // Integers beyond 64 bits and beyond 2^53, which are still doubles exactly (both
        // languages read them alike); valid unless the schema's bounds say otherwise.
        "integer" if rng.chance(10) => {
            const WIDE: [&str; 8] = [
                "9007199254740992",
                "1152921504606846976",
                "9223372036854775808",
                "18446744073709551616",
                "1e20",
                "-9223372036854775808",
                "-9223372036854777856",
                "-1e19",
            ];
            serde_json::from_str(WIDE[rng.below(WIDE.len())]).unwrap_or(Value::Null)
        }
        "integer" | "number" => {
            let low = num("minimum").or(num("exclusiveMinimum").map(|m| m + 1.0)).unwrap_or(-1000.0);
            let high = num("maximum").or(num("exclusiveMaximum").map(|m| m - 1.0)).unwrap_or(1000.0).max(low);
            let span = (high - low).min(1.0e6);
            let mut x = low + (rng.next() % 1_000_001) as f64 / 1_000_000.0 * span;
            if let Some(m) = num("multipleOf").filter(|m| *m > 0.0) {
                x = (x / m).round() * m;
            }
            // JavaScript numbers are exact to 2^53: stay inside, where both languages read alike.
            x = x.clamp(-9.0e15, 9.0e15);
            if ty == "integer" || rng.chance(30) { json!(x.round() as i64) } else { json!((x * 100.0).round() / 100.0) }
        }
        "string" => {
            let low = obj.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
            let high = obj.get("maxLength").and_then(Value::as_u64).map_or(low + 8, |m| m as usize).max(low);
            let len = low + rng.below(high - low + 1);
            Value::String((0..len).map(|_| CHARS[rng.below(CHARS.len())]).collect())
        }
        "array" => {
            let prefix = obj.get("prefixItems").and_then(Value::as_array).cloned().unwrap_or_default();
            let low = obj.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
            let high = obj.get("maxItems").and_then(Value::as_u64).map_or(low.max(prefix.len()) + 3, |m| m as usize);
            let len = if depth > 5 { low } else { low + rng.below(high.saturating_sub(low) + 1) };
            let items = obj.get("items").cloned().unwrap_or(Value::Bool(true));
            Value::Array((0..len).map(|i| instance(prefix.get(i).unwrap_or(&items), defs, rng, depth + 1)).collect())
        }
        "object" => {
            let mut out = Map::new();
            let required: Vec<&str> =
                obj.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
            if let Some(Value::Object(props)) = obj.get("properties") {
                for (k, s) in props {
                    if required.contains(&k.as_str()) || (depth < 5 && rng.chance(50)) {
                        out.insert(k.clone(), instance(s, defs, rng, depth + 1));
                    }
                }
            }
            for r in &required {
                out.entry(r.to_string()).or_insert_with(|| scalar(rng));
            }
            match obj.get("additionalProperties") {
                Some(Value::Bool(false)) => {}
                Some(s @ Value::Object(_)) if rng.chance(30) => {
                    out.insert("extraKey".into(), instance(s, defs, rng, depth + 1));
                }
                None if rng.chance(20) => {
                    out.insert("extraKey".into(), scalar(rng));
                }
                _ => {}
            }
            Value::Object(out)
        }
        _ => scalar(rng),
    }
}

fn scalar(rng: &mut Rng) -> Value {
    match rng.below(6) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => json!(rng.below(2000) as i64 - 1000),
        3 => json!((rng.below(20000) as f64 - 10000.0) / 100.0),
        4 => Value::String((0..rng.below(6)).map(|_| CHARS[rng.below(CHARS.len())]).collect()),
        _ => json!([]),
    }
}

/// `value` changed in one place: a property dropped or added, a value of another type, a
/// number or string or array nudged. The result may or may not be valid.
pub fn mutate(value: &Value, rng: &mut Rng) -> Value {
    // Choose a place by walking down a random path, sometimes stopping early.
    let mut pointer = String::new();
    let mut here = value;
    for _ in 0..4 {
        let step = match here {
            Value::Object(o) if !o.is_empty() && rng.chance(60) => {
                o.iter().nth(rng.below(o.len())).map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v))
            }
            Value::Array(a) if !a.is_empty() && rng.chance(60) => {
                let i = rng.below(a.len());
                Some((i.to_string(), &a[i]))
            }
            _ => None,
        };
        let Some((token, next)) = step else { break };
        pointer.push('/');
        pointer.push_str(&token);
        here = next;
    }
    let mut v = value.clone();
    let Some(slot) = v.pointer_mut(&pointer) else { return v };
    match slot {
        Value::Object(o) if rng.chance(50) && !o.is_empty() => {
            let k = o.keys().nth(rng.below(o.len())).cloned().unwrap_or_default();
            o.remove(&k);
        }
        Value::Object(o) => {
            o.insert("zzUnknown".into(), scalar(rng));
        }
        Value::Array(a) if !a.is_empty() && rng.chance(50) => {
            let first = a[0].clone();
            a.push(first);
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            let y = match rng.below(4) {
                0 => x + 1.0,
                1 => x - 1.0,
                2 => x + 0.5,
                _ => x * 10.0,
            };
            let y = y.clamp(-9.0e15, 9.0e15);
            *slot = if y.fract() == 0.0 { json!(y as i64) } else { json!(y) };
        }
        Value::String(s) if rng.chance(50) => s.push('x'),
        other => *other = scalar(rng),
    }
    v
}
