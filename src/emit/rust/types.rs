//! Payload types through typify. The IR's schemas are adapted to what typify reads
//! (schemars 0.8, draft-07 vocabulary) and to what generated code may depend on (serde,
//! serde_json and chanspec-runtime only): `format`s become doc text on `String`s, and
//! value-narrowing keywords are dropped, so the types accept a superset of the valid values.

use proc_macro2::TokenStream;
use serde_json::{Map, Value, json};
use typify::{TypeSpace, TypeSpaceSettings};

use crate::ir::Spec;
use crate::keywords::{self, Support};
use crate::schema_walk::map_subschemas;

/// Rust items for every named type of the spec.
pub fn payload_types(spec: &Spec) -> Result<TokenStream, String> {
    let defs: Map<String, Value> = spec.types.iter().map(|t| (t.name.clone(), for_typify(&t.schema))).collect();
    let root: schemars::schema::RootSchema =
        serde_json::from_value(json!({ "definitions": defs })).map_err(|e| format!("schema bridge: {e}"))?;
    let mut settings = TypeSpaceSettings::default();
    settings.with_struct_builder(false).with_derive("PartialEq".to_string());
    // typify panics on some inputs; a panic must become a diagnostic, never a crash.
    let result = std::panic::catch_unwind(move || {
        let mut space = TypeSpace::new(&settings);
        space.add_ref_types(root.definitions).map_err(|e| e.to_string())?;
        Ok::<_, String>(space.to_stream())
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

/// Object keywords (`properties`, `required`, `additionalProperties`) or array keywords
/// (`items`, `prefixItems`) without `type` constrain only objects or arrays: every other
/// JSON value is valid too. typify would make a struct that refuses them; split the schema
/// into a `oneOf` of the constrained kind(s) and the rest, so the Rust type (an enum) says
/// what the schema says, as the TypeScript union does.
fn split_untyped(obj: &Map<String, Value>) -> Option<Value> {
    const OBJECT: [&str; 3] = ["properties", "required", "additionalProperties"];
    const ARRAY: [&str; 2] = ["items", "prefixItems"];
    const OTHER: [&str; 7] = ["type", "$ref", "allOf", "anyOf", "oneOf", "enum", "const"];
    if OTHER.iter().any(|k| obj.contains_key(*k)) {
        return None;
    }
    let object = OBJECT.iter().any(|k| obj.contains_key(*k));
    let array = ARRAY.iter().any(|k| obj.contains_key(*k));
    if !object && !array {
        return None;
    }
    let mut variants = Vec::new();
    let mut rest = vec!["string", "number", "boolean", "null"];
    for (kind, present, keys) in [("object", object, &OBJECT[..]), ("array", array, &ARRAY[..])] {
        if present {
            let mut v: Map<String, Value> =
                obj.iter().filter(|(k, _)| keys.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
            v.insert("type".into(), json!(kind));
            variants.push(Value::Object(v));
        } else {
            rest.push(kind);
        }
    }
    variants.push(json!({ "type": rest }));
    let mut out: Map<String, Value> = obj
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

/// Marks, in its description, every optional property that may be `null`. typify gives such
/// a property an `Option<T>` that cannot tell `null` from absent; `fidelity` finds the mark
/// on the field, removes it, and makes the field an `Option<Option<T>>`.
fn mark_optional_nullable(obj: &mut Map<String, Value>) {
    let required: Vec<String> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    let Some(Value::Object(props)) = obj.get_mut("properties") else { return };
    for (name, schema) in props.iter_mut() {
        let Value::Object(p) = schema else { continue };
        if required.contains(name) || p.contains_key("$ref") || !admits_null(p) {
            continue;
        }
        let doc = p.get("description").and_then(Value::as_str).unwrap_or_default();
        let marked = format!("{doc}{}", super::fidelity::OPTIONAL_NULLABLE);
        p.insert("description".into(), Value::String(marked));
    }
}

/// Whether a schema accepts `null` by its `type`, `enum`, `const` or a `null` variant.
fn admits_null(obj: &Map<String, Value>) -> bool {
    let is_null_type = |t: &Value| t == "null" || t.as_array().is_some_and(|ts| ts.iter().any(|t| t == "null"));
    if let Some(t) = obj.get("type") {
        return is_null_type(t);
    }
    if let Some(values) = obj.get("enum").and_then(Value::as_array) {
        return values.iter().any(Value::is_null);
    }
    if let Some(c) = obj.get("const") {
        return c.is_null();
    }
    ["anyOf", "oneOf"].iter().any(|k| {
        obj.get(*k)
            .and_then(Value::as_array)
            .is_some_and(|vs| vs.iter().any(|v| v.as_object().is_some_and(|o| o.get("type").is_some_and(is_null_type))))
    })
}

/// A schema as typify should see it.
fn for_typify(schema: &Value) -> Value {
    let Value::Object(obj) = schema else { return schema.clone() };
    if let Some(split) = split_untyped(obj) {
        return for_typify(&split);
    }
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
                let items: Vec<Value> = value.as_array().into_iter().flatten().map(for_typify).collect();
                out.insert("minItems".into(), json!(items.len()));
                out.insert("maxItems".into(), json!(items.len()));
                out.insert("items".into(), Value::Array(items));
            }
            ("items", _) if obj.contains_key("prefixItems") => {}
            // An `anyOf` with a variant that accepts any value (once narrowing keywords are
            // dropped) accepts any value.
            ("anyOf", _) if value.as_array().is_some_and(|vs| vs.iter().map(for_typify).any(|v| accepts_any(&v))) => {}
            _ => {
                let copied = map_subschemas(keyword, value, &mut |v, _| for_typify(v));
                out.insert(keyword.clone(), copied);
            }
        }
    }
    mark_optional_nullable(&mut out);
    // An object with declared properties that allows others: typify's struct would drop the
    // others. `additionalProperties: {}` makes typify keep them in a flattened `extra` map,
    // so a received value goes back out as it came.
    let object = out.get("type").and_then(Value::as_str) == Some("object");
    let open = matches!(out.get("additionalProperties"), None | Some(Value::Bool(true)));
    if object && open && out.contains_key("properties") {
        out.insert("additionalProperties".into(), json!({}));
    }
    if !notes.is_empty() {
        let mut doc =
            out.get("description").and_then(Value::as_str).map(|d| format!("{} ", d.trim_end())).unwrap_or_default();
        doc.push_str(&notes.join(" "));
        out.insert("description".into(), Value::String(doc));
    }
    Value::Object(out)
}
