//! Payload types through typify. The IR's schemas are adapted to what typify reads
//! (schemars 0.8, draft-07 vocabulary) and to what generated code may depend on (serde,
//! serde_json and chanspec-runtime only): `format`s become doc text on `String`s, and
//! value-narrowing keywords are dropped, so the types accept a superset of the valid values.

use crate::json;
use crate::value::{Map, Value};
use proc_macro2::TokenStream;
use typify::{TypeSpace, TypeSpaceSettings};

use crate::ir::{NamedType, Property, Spec};
use crate::keywords::{self, Support};
use crate::schema_walk::map_subschemas;
use crate::source::pointer_push;

/// Rust items for every named type of the spec, and a note for every type typify could not
/// take (see [`degrade`]).
pub fn payload_types(spec: &Spec) -> Result<(TokenStream, Vec<String>), String> {
    // Each type adapted and read into typify's input one at a time: the adapted JSON of every
    // type is never in memory at once (it was the largest part of the run's peak after typify's
    // own). Only when typify refuses the set are they made again, for `degrade`.
    match typify_types(spec.types.iter()) {
        Ok(tokens) => Ok((tokens, Vec::new())),
        Err(first) => {
            let defs = spec.types.iter().map(|t| (t.name.clone(), adapted(t))).collect();
            degrade(defs, first)
        }
    }
}

/// typify over some of the spec's types (whose references stay among them).
pub(super) fn typify_types<'a>(types: impl Iterator<Item = &'a NamedType>) -> Result<TokenStream, String> {
    let definitions = types
        .map(|t| Ok((t.name.clone(), schema(&adapted(t))?)))
        .collect::<Result<schemars::Map<String, schemars::schema::Schema>, String>>()?;
    typify(definitions)
}

/// A named type's schema as typify gets it.
fn adapted(t: &NamedType) -> Value {
    for_typify(&nullable_enum_as_types(&t.schema, true), t, "", false)
}

/// A JSON schema as typify reads it (schemars 0.8).
fn schema(value: &Value) -> Result<schemars::schema::Schema, String> {
    serde::Deserialize::deserialize(value).map_err(|e| format!("schema bridge: {e}"))
}

/// typify over adapted JSON schemas.
fn typify_values(defs: &Map) -> Result<TokenStream, String> {
    let definitions = defs
        .iter()
        .map(|(name, value)| Ok((name.to_string(), schema(value)?)))
        .collect::<Result<schemars::Map<String, schemars::schema::Schema>, String>>()?;
    typify(definitions)
}

/// typify refused the whole set: find the types it cannot take, one at a time (each alone,
/// the others reduced to `{}`), and make each of them any JSON value. Decoding still checks
/// received values against the full schema first, so nothing invalid gets through; the Rust
/// type is just less precise, and a note says so.
fn degrade(mut defs: Map, first: String) -> Result<(TokenStream, Vec<String>), String> {
    let names: Vec<String> = defs.keys().map(|k| k.to_string()).collect();
    let mut notes = Vec::new();
    for name in &names {
        let mut probe: Map = names.iter().map(|n| (n.clone(), json!({}))).collect();
        probe.insert(name.clone().into(), defs[name].clone());
        let Err(reason) = typify_values(&probe) else { continue };
        let reason =
            reason.trim_start_matches("typify failed on these schemas: ").lines().next().unwrap_or("").to_string();
        let doc = defs[name].get("description").and_then(Value::as_str).map(|d| format!("{}\n\n", d.trim_end()));
        defs.insert(
            name.clone().into(),
            json!({ "description": format!(
                "{}Any JSON value: typify cannot represent this schema ({reason}). Decoding checks \
                 received values against the schema before they get here.",
                doc.unwrap_or_default()
            ) }),
        );
        notes.push(format!("the Rust type `{name}` is any JSON value: typify cannot represent its schema ({reason})"));
    }
    if notes.is_empty() {
        return Err(first);
    }
    Ok((typify_values(&defs)?, notes))
}

/// typify over `defs`, a panic becoming an error (typify panics on some inputs; a panic must
/// become a diagnostic, never a crash, and print nothing while it is caught).
fn typify(definitions: schemars::Map<String, schemars::schema::Schema>) -> Result<TokenStream, String> {
    let mut settings = TypeSpaceSettings::default();
    settings.with_struct_builder(false).with_derive("PartialEq".to_string()).with_conversion(
        schemars::schema::SchemaObject {
            instance_type: Some(schemars::schema::InstanceType::Integer.into()),
            ..Default::default()
        },
        "::chanspec_runtime::Integer",
        [typify::TypeSpaceImpl::Display, typify::TypeSpaceImpl::Default].into_iter(),
    );
    let result = quietly(move || {
        std::panic::catch_unwind(move || {
            let mut space = TypeSpace::new(&settings);
            space.add_ref_types(definitions).map_err(|e| e.to_string())?;
            Ok::<_, String>(space.to_stream())
        })
    });
    result.map_err(|panic| {
        let text = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        format!("typify failed on these schemas: {text}")
    })?
}

thread_local! {
    /// This thread is running typify: a panic is caught and reported, not printed.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `f` with panics on this thread not printed. The panic hook is replaced once, by one that
/// asks the panicking thread: typify runs on several threads at once (and tests run side by
/// side), so swapping the hook per call would race and could leave it silent for good.
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = f();
    QUIET.with(|q| q.set(was));
    result
}

/// Object keywords (`properties`, `required`, `additionalProperties`) or array keywords
/// (`items`, `prefixItems`) without `type` constrain only objects or arrays: every other
/// JSON value is valid too. typify would make a struct that refuses them; split the schema
/// into a `oneOf` of the constrained kind(s) and the rest, so the Rust type (an enum) says
/// what the schema says, as the TypeScript union does.
fn split_untyped(obj: &Map) -> Option<Value> {
    const OBJECT: [&str; 3] = ["properties", "required", "additionalProperties"];
    const ARRAY: [&str; 2] = ["items", "prefixItems"];
    const OTHER: [&str; 7] = ["type", "$ref", "allOf", "anyOf", "oneOf", "enum", "const"];
    if OTHER.iter().any(|k| obj.contains_key(k)) {
        return None;
    }
    let object = OBJECT.iter().any(|k| obj.contains_key(k));
    let array = ARRAY.iter().any(|k| obj.contains_key(k));
    if !object && !array {
        return None;
    }
    let mut variants = Vec::new();
    let mut rest = vec!["string", "number", "boolean", "null"];
    for (kind, present, keys) in [("object", object, &OBJECT[..]), ("array", array, &ARRAY[..])] {
        if present {
            let mut v: Map =
                obj.iter().filter(|(k, _)| keys.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
            v.insert("type".into(), json!(kind));
            variants.push(Value::Object(v));
        } else {
            rest.push(kind);
        }
    }
    variants.push(json!({ "type": rest }));
    let mut out: Map = obj
        .iter()
        .filter(|(k, _)| !OBJECT.contains(&k.as_str()) && !ARRAY.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.insert("oneOf".into(), Value::Array(variants));
    Some(Value::Object(out))
}

/// A schema with no keyword that constrains values (`true`, `{}`, annotations only).
fn accepts_any(schema: &Value) -> bool {
    match schema {
        Value::Bool(b) => *b,
        Value::Object(obj) => obj.keys().all(|k| keywords::support(k) == Some(Support::Annotation)),
        _ => false,
    }
}

/// Marks, in its description, every property the IR says is optional and nullable. typify
/// gives such a property an `Option<T>` that cannot tell `null` from absent; `fidelity` finds
/// the mark on the field, removes it, and makes the field an `Option<Option<T>>`. typify does
/// not carry a description beside a `$ref` to the field, so a `$ref` moves into an `allOf` of
/// one, which typify reads as the same type, with the mark beside it.
fn mark_optional_nullable(obj: &mut Map, ty: &NamedType, at: &str) {
    let Some(facts) = ty.properties(at) else { return };
    let Some(Value::Object(props)) = obj.get_mut("properties") else { return };
    for (name, schema) in props.iter_mut() {
        let Value::Object(p) = schema else { continue };
        if !facts.get(name).is_some_and(Property::optional_nullable) {
            continue;
        }
        if let Some(target) = p.remove("$ref") {
            // Everything beside the `$ref` that constrains values goes into the `allOf` with it
            // (the same meaning), so that only annotations stay beside the `allOf` and typify
            // keeps the description, mark included.
            let shape: Vec<crate::value::Str> = p
                .keys()
                .filter(|k| *k != "allOf" && keywords::support(k) != Some(Support::Annotation))
                .cloned()
                .collect();
            let rest: Map = shape.iter().filter_map(|k| p.remove_entry(k)).collect();
            let mut all = vec![json!({ "$ref": target })];
            if !rest.is_empty() {
                all.push(Value::Object(rest));
            }
            if let Some(Value::Array(existing)) = p.remove("allOf") {
                all.extend(existing);
            }
            if all.len() > 1 {
                // typify merges an `allOf` of several into a new type and drops the description;
                // a `null` variant beside it (the same meaning: the whole admits `null`) keeps it.
                p.insert("anyOf".into(), json!([{ "type": "null" }, { "allOf": all }]));
            } else {
                p.insert("allOf".into(), Value::Array(all));
            }
        }
        let doc = p.get("description").and_then(Value::as_str).unwrap_or_default();
        let marked = format!("{doc}{}", super::fidelity::OPTIONAL_NULLABLE);
        p.insert("description".into(), Value::String(marked.into()));
    }
}

/// typify gives a nullable `enum` (at the top of a named type, or anywhere when its values
/// are not all strings) an inner type with the outer type's name: two items, one name. Such
/// an enum becomes the types of its values, nullable: a superset, and decoding checks the
/// enum itself.
fn nullable_enum_as_types(schema: &Value, top: bool) -> Value {
    let Some(values) = schema.get("enum").and_then(Value::as_array) else { return schema.clone() };
    let nullable = values.iter().any(Value::is_null);
    let strings_only = values.iter().all(|v| v.is_null() || v.is_string());
    if !nullable || values.len() < 2 || (strings_only && !top) {
        return schema.clone();
    }
    let mut types: Vec<&str> = Vec::new();
    for v in values {
        let t = keywords::json_type(v);
        if !types.contains(&t) {
            types.push(t);
        }
    }
    let mut out = schema.as_object().cloned().unwrap_or_default();
    out.remove("enum");
    out.insert("type".into(), json!(types));
    Value::Object(out)
}

/// typify reads an `anyOf` as a struct of flattened optional parts, which decodes no scalar
/// (two string variants) and refuses an open object beside a closed one. Decoding checks the
/// real `anyOf` first, so the type only needs to hold every valid value: identical variants
/// count once (one left is the schema itself), and the rest are a `oneOf` (an untagged enum,
/// its first fitting variant taken).
fn anyof_as_oneof(out: &mut Map) {
    let Some(Value::Array(variants)) = out.remove("anyOf") else { return };
    let mut distinct: Vec<Value> = Vec::new();
    for v in variants {
        if !distinct.contains(&v) {
            distinct.push(v);
        }
    }
    let single = match distinct.as_slice() {
        [Value::Object(only)] if only.keys().all(|k| !out.contains_key(k)) => Some(only.clone()),
        _ => None,
    };
    match single {
        Some(only) => out.extend(only),
        None if !out.contains_key("oneOf") => {
            out.insert("oneOf".into(), Value::Array(distinct));
        }
        None => {
            let mut all = out.remove("allOf").and_then(|a| a.as_array().cloned()).unwrap_or_default();
            all.push(json!({ "oneOf": distinct }));
            out.insert("allOf".into(), Value::Array(all));
        }
    }
}

/// A `const` as typify understands one: a string `const` is a one-value string `enum` (what
/// typify reads as a tag, making a union of objects tagged by it an internally tagged enum),
/// and any other scalar `const` without `type` takes its value's type, rather than any JSON
/// value. The same values are valid.
fn const_typed(out: &mut Map) {
    let Some(c) = out.get("const").cloned() else { return };
    if !matches!(c, Value::String(_) | Value::Bool(_) | Value::Number(_)) {
        return;
    }
    let ty = keywords::json_type(&c);
    if out.get("type").is_some_and(|t| t.as_str() != Some(ty)) {
        return;
    }
    out.insert("type".into(), json!(ty));
    if c.is_string() && !out.contains_key("enum") {
        out.remove("const");
        out.insert("enum".into(), json!([c]));
    }
}

/// The Rust integer of an `integer` schema, chosen from its bounds (`obj`, the schema before
/// narrowing keywords were dropped): `i64` when they fit it, else `u64` when they fit that
/// (told to typify as `format: int64` or `uint64`). An integer whose bounds fit neither,
/// an unbounded one among them, stays plain, and [`typify`] makes it
/// `chanspec_runtime::Integer`, which holds any whole JSON number: every valid value decodes.
fn integer_width(out: &mut Map, obj: &Map) {
    let integer = match out.get("type") {
        Some(Value::String(t)) => t == "integer",
        Some(Value::Array(ts)) => ts.len() == 2 && ts.contains(&json!("integer")) && ts.contains(&json!("null")),
        _ => false,
    };
    if !integer {
        return;
    }
    // The least and greatest integers the bounds (or the listed values) admit.
    let floor = |n: &crate::value::Number| {
        n.as_i64()
            .map(i128::from)
            .or(n.as_u64().map(i128::from))
            .unwrap_or_else(|| n.as_f64().unwrap_or_default().floor() as i128)
    };
    let ceil = |n: &crate::value::Number| {
        n.as_i64()
            .map(i128::from)
            .or(n.as_u64().map(i128::from))
            .unwrap_or_else(|| n.as_f64().unwrap_or_default().ceil() as i128)
    };
    let number = |k: &str| obj.get(k).and_then(Value::as_number);
    let mut lows = vec![number("minimum").map(ceil), number("exclusiveMinimum").map(|n| floor(n) + 1)];
    let mut highs = vec![number("maximum").map(floor), number("exclusiveMaximum").map(|n| ceil(n) - 1)];
    let listed: Option<Vec<&crate::value::Number>> = match (obj.get("const"), obj.get("enum")) {
        (Some(c), _) => Some(c.as_number().into_iter().collect()),
        (None, Some(Value::Array(vs))) => vs.iter().filter(|v| !v.is_null()).map(Value::as_number).collect(),
        _ => None,
    };
    if let Some(values) = listed.filter(|vs| !vs.is_empty()) {
        lows.push(values.iter().map(|n| ceil(n)).min());
        highs.push(values.iter().map(|n| floor(n)).max());
    }
    let (Some(lo), Some(hi)) = (lows.into_iter().flatten().max(), highs.into_iter().flatten().min()) else { return };
    let format = if lo >= i128::from(i64::MIN) && hi <= i128::from(i64::MAX) {
        "int64"
    } else if lo >= 0 && hi <= i128::from(u64::MAX) {
        "uint64"
    } else {
        return;
    };
    out.insert("format".into(), json!(format));
}

/// typify sorts a struct's fields by name; the schema's order goes into the object's
/// description as a mark, and `fidelity` puts the fields back in that order (so a struct
/// reads, serializes and constructs as the schema is written).
fn mark_property_order(obj: &mut Map) {
    let Some(Value::Object(props)) = obj.get("properties") else { return };
    if props.len() < 2 {
        return;
    }
    let order = Value::Array(props.keys().map(|k| Value::String(k.clone())).collect());
    let doc = obj.get("description").and_then(Value::as_str).unwrap_or_default();
    let marked = format!("{doc}{}{order}]", super::fidelity::ORDER);
    obj.insert("description".into(), Value::String(marked.into()));
}

/// A schema of the named type `ty` as typify should see it; `at` is its pointer within
/// `ty`'s schema. `split`: `schema` is [`split_untyped`]'s rewrite of the schema at `at`, whose
/// `oneOf` variants hold that schema's keywords, so they are at `at` too.
fn for_typify(schema: &Value, ty: &NamedType, at: &str, split: bool) -> Value {
    let Value::Object(obj) = schema else { return schema.clone() };
    if let Some(split) = split_untyped(obj) {
        return for_typify(&split, ty, at, true);
    }
    let obj = match nullable_enum_as_types(schema, false) {
        Value::Object(changed) if changed != *obj => return for_typify(&Value::Object(changed), ty, at, split),
        _ => obj,
    };
    let child = |keyword: &str, token: Option<&str>| match token {
        _ if split && keyword == "oneOf" => at.to_string(),
        Some(t) => pointer_push(&pointer_push(at, keyword), t),
        None => pointer_push(at, keyword),
    };
    let item = |keyword: &str, i: usize| child(keyword, Some(&i.to_string()));
    let mut out = Map::new();
    let mut notes = Vec::new();
    for (keyword, value) in obj {
        match (keyword.as_str(), keywords::support(keyword)) {
            (_, Some(Support::Narrowing)) => {}
            // A default would make the field non-optional, and a round trip would add it.
            ("default", _) => {}
            ("format", _) => {
                if let Some(f) = value.as_str() {
                    notes.push(format!("(format: `{f}`)"));
                }
            }
            // Validation admits only fixed-length tuples: typify's tuple is `items: [..]` with
            // equal `minItems` and `maxItems`.
            ("prefixItems", _) => {
                let items: Vec<Value> = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, v)| for_typify(v, ty, &item(keyword, i), false))
                    .collect();
                out.insert("minItems".into(), json!(items.len()));
                out.insert("maxItems".into(), json!(items.len()));
                out.insert("items".into(), Value::Array(items));
            }
            ("items", _) if obj.contains_key("prefixItems") => {}
            // An `anyOf` with a variant that accepts any value (once narrowing keywords are
            // dropped) accepts any value.
            ("anyOf", _)
                if value.as_array().is_some_and(|vs| {
                    vs.iter().enumerate().any(|(i, v)| accepts_any(&for_typify(v, ty, &item(keyword, i), false)))
                }) => {}
            _ => {
                let copied = map_subschemas(keyword, value, &mut |v, t| for_typify(v, ty, &child(keyword, t), false));
                out.insert(keyword.clone(), copied);
            }
        }
    }
    anyof_as_oneof(&mut out);
    const_typed(&mut out);
    integer_width(&mut out, obj);
    mark_optional_nullable(&mut out, ty, at);
    mark_property_order(&mut out);
    // An object with declared (or only required) properties that allows others: typify's struct would drop the
    // others. `additionalProperties: {}` makes typify keep them in a flattened `extra` map,
    // so a received value goes back out as it came.
    let object = out.get("type").and_then(Value::as_str) == Some("object");
    let open = matches!(out.get("additionalProperties"), None | Some(Value::Bool(true)));
    if object && open && (out.contains_key("properties") || out.contains_key("required")) {
        out.insert("additionalProperties".into(), json!({}));
    }
    if !notes.is_empty() {
        let mut doc =
            out.get("description").and_then(Value::as_str).map(|d| format!("{} ", d.trim_end())).unwrap_or_default();
        doc.push_str(&notes.join(" "));
        out.insert("description".into(), Value::String(doc.into()));
    }
    Value::Object(out)
}
