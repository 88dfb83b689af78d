//! JSON Schema → TypeScript type expressions, for the named types of the IR.
//!
//! The type of a schema is the intersection of what its keywords say: its own instance types
//! (`type`, or every JSON type when absent) shaped by the object and array keywords,
//! `allOf` as `&`, `oneOf`/`anyOf` as `|`, `$ref` as the referenced type's name, `enum` and
//! `const` as literal types. Narrowing keywords leave the type alone (the guards check them).
//! Which properties are optional is read from the IR ([`ir::NamedType::objects`]), by the
//! pointer of the object schema within its named type's schema.

use crate::value::{Map, Value};

use crate::ir::{self, NamedType, Properties};
use crate::naming;
use crate::source::pointer_push;

use super::doc;

/// The instance types of JSON Schema, in output order.
const KINDS: [&str; 6] = ["object", "array", "string", "number", "boolean", "null"];

/// The TypeScript declaration of a named type: an `interface` for a plain object type, a
/// `type` alias otherwise.
pub fn declaration(ty: &NamedType) -> String {
    let (name, schema) = (&ty.name, &ty.schema);
    let tag = ty.tag.as_ref().map(|t| format!("Discriminated by `{t}` (as the Rust enum is tagged)."));
    let docs = doc::comment_with(schema, "", tag.as_deref());
    match as_plain_object(schema) {
        Some(obj) => format!("{docs}export interface {name} {}\n", object_body(obj, ty, "", 0)),
        None => format!("{docs}export type {name} = {};\n", type_of(schema, ty, "", 0)),
    }
}

/// An object schema with nothing but object keywords (and annotations) becomes an
/// interface.
fn as_plain_object(schema: &Value) -> Option<&Map> {
    let obj = schema.as_object()?;
    let object_type = obj.get("type").and_then(Value::as_str) == Some("object");
    let other = ["allOf", "anyOf", "oneOf", "$ref", "enum", "const"].iter().any(|k| obj.get(k).is_some());
    (object_type && !other).then_some(obj)
}

/// The type expression of `schema`, a subschema of the named type `ty` at pointer `at` within
/// its schema; nested object types are laid out at `indent` + 2.
fn type_of(schema: &Value, ty: &NamedType, at: &str, indent: usize) -> String {
    let obj = match schema {
        Value::Bool(true) => return "unknown".into(),
        Value::Bool(false) => return "never".into(),
        Value::Object(obj) => obj,
        _ => return "unknown".into(),
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        parts.push(ref_name(r).to_string());
    }
    // Literal types say more than `type`: they replace it, keeping only the values of the
    // declared types.
    let literals = obj
        .get("const")
        .map(std::slice::from_ref)
        .or_else(|| obj.get("enum").and_then(Value::as_array).map(Vec::as_slice));
    if let Some(values) = literals {
        let declared = declared_types(obj);
        let lits: Vec<String> = dedup(
            values
                .iter()
                .filter(|v| declared.as_ref().is_none_or(|d| d.iter().any(|t| is_kind(v, t))))
                .map(|v| literal(v, indent))
                .collect(),
        );
        parts.push(if lits.is_empty() { "never".into() } else { lits.join(" | ") });
    }
    if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
        parts.extend(
            all.iter()
                .enumerate()
                .map(|(i, s)| type_of(s, ty, &item(at, "allOf", i), indent))
                .filter(|t| t != "unknown"),
        );
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(variants) = obj.get(key).and_then(Value::as_array) {
            let types =
                dedup(variants.iter().enumerate().map(|(i, s)| type_of(s, ty, &item(at, key, i), indent)).collect());
            parts.push(if types.is_empty() { "never".into() } else { types.join(" | ") });
        }
    }
    if literals.is_none()
        && let Some(own) = own_type(obj, ty, at, indent)
    {
        parts.push(own);
    }
    match parts.len() {
        0 => "unknown".into(),
        1 => parts.pop().expect("one part"),
        _ => parts.into_iter().map(|p| paren_if(&p, " | ")).collect::<Vec<_>>().join(" & "),
    }
}

/// The type given by `type` and the object and array keywords; `None` when they say nothing
/// (no `type` and no structural keyword: any value).
fn own_type(obj: &Map, ty: &NamedType, at: &str, indent: usize) -> Option<String> {
    let declared = declared_types(obj);
    let structural =
        ["properties", "required", "additionalProperties", "items", "prefixItems"].iter().any(|k| obj.get(k).is_some());
    if declared.is_none() && !structural {
        return None;
    }
    // Without `type`, every instance type is allowed; the structural keywords shape only
    // their own (an object schema without `type` also accepts a string).
    let kinds: Vec<&str> = KINDS
        .iter()
        .copied()
        .filter(|k| match &declared {
            Some(d) => d.contains(k) || (*k == "number" && d.contains(&"integer")),
            None => true,
        })
        .collect();
    let types: Vec<String> = kinds
        .iter()
        .map(|k| match *k {
            "object" => object_body(obj, ty, at, indent),
            "array" => array_type(obj, ty, at, indent),
            other => other.to_string(),
        })
        .collect();
    Some(if types.is_empty() { "never".into() } else { types.join(" | ") })
}

/// The instance types named by `type`, if it is there.
fn declared_types(obj: &Map) -> Option<Vec<&str>> {
    match obj.get("type") {
        Some(Value::String(t)) => Some(vec![t.as_str()]),
        Some(Value::Array(ts)) => Some(ts.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

/// Whether `v` is an instance of the JSON Schema type `t`.
fn is_kind(v: &Value, t: &str) -> bool {
    match t {
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => crate::keywords::json_type(v) == t,
    }
}

/// `{ a: string; b?: number; [key: string]: unknown }`, laid out one member per line. `obj`
/// is at `at` in `ty`'s schema: which properties are required is read from the IR there.
fn object_body(obj: &Map, ty: &NamedType, at: &str, indent: usize) -> String {
    let pad = " ".repeat(indent + 2);
    let none = Properties::default();
    let facts = ty.properties(at).unwrap_or(&none);
    let props = obj.get("properties").and_then(Value::as_object);
    let additional = obj.get("additionalProperties");
    let additional_at = pointer_push(at, "additionalProperties");
    let mut members = Vec::new();
    let mut member_types = Vec::new();
    for (name, schema) in props.into_iter().flatten() {
        let t = type_of(schema, ty, &pointer_push(&pointer_push(at, "properties"), name), indent + 2);
        let docs = doc::comment(schema, &pad);
        let mark = if facts.get(name).is_some_and(|p| p.required) { "" } else { "?" };
        members.push(format!("{docs}{pad}{}{mark}: {t};\n", naming::ts_property(name)));
        member_types.push(t);
    }
    // Required properties the schema does not describe have the type of extra properties.
    for name in &facts.undeclared_required {
        let t = match additional {
            Some(Value::Bool(false)) => "never".to_string(),
            Some(s @ Value::Object(_)) => type_of(s, ty, &additional_at, indent + 2),
            _ => "unknown".to_string(),
        };
        members.push(format!("{pad}{}: {t};\n", naming::ts_property(name)));
        member_types.push(t);
    }
    // An index signature exactly when extra keys are allowed. TypeScript requires every
    // declared property to fit the index type, so it is widened by the declared types.
    match additional {
        Some(Value::Bool(false)) => {}
        Some(s @ Value::Object(_)) => {
            let mut union = vec![type_of(s, ty, &additional_at, indent + 2)];
            if !union.contains(&"unknown".to_string()) {
                union.extend(member_types);
                if facts.any_optional() {
                    union.push("undefined".into());
                }
            }
            let union = dedup(union);
            let ty = if union.iter().any(|t| t == "unknown") { "unknown".to_string() } else { union.join(" | ") };
            members.push(format!("{pad}[key: string]: {ty};\n"));
        }
        _ => members.push(format!("{pad}[key: string]: unknown;\n")),
    }
    if members.is_empty() {
        return "{}".into();
    }
    format!("{{\n{}{}}}", members.concat(), " ".repeat(indent))
}

/// `T[]`, or a tuple for `prefixItems`.
fn array_type(obj: &Map, ty: &NamedType, at: &str, indent: usize) -> String {
    let items = obj.get("items");
    let items_at = pointer_push(at, "items");
    match obj.get("prefixItems").and_then(Value::as_array) {
        Some(prefix) => {
            let mut elems: Vec<String> =
                prefix.iter().enumerate().map(|(i, s)| type_of(s, ty, &item(at, "prefixItems", i), indent)).collect();
            match items {
                Some(Value::Bool(false)) => {}
                Some(s) => elems.push(format!("...{}", array_of(&type_of(s, ty, &items_at, indent)))),
                None => elems.push("...unknown[]".into()),
            }
            format!("[{}]", elems.join(", "))
        }
        None => match items {
            Some(Value::Bool(false)) => "[]".into(),
            Some(s) => array_of(&type_of(s, ty, &items_at, indent)),
            None => "unknown[]".into(),
        },
    }
}

/// The pointer of the `i`th subschema of the list `keyword` of the schema at `at`.
fn item(at: &str, keyword: &str, i: usize) -> String {
    pointer_push(&pointer_push(at, keyword), &i.to_string())
}

/// `T[]`, parenthesised when `T` is a union or intersection. (Never `Array<T>`: a schema may
/// be named `Array`, and the module must not depend on what global names mean.)
fn array_of(elem: &str) -> String {
    if top_level(elem, " | ") || top_level(elem, " & ") { format!("({elem})[]") } else { format!("{elem}[]") }
}

/// A JSON value as a TypeScript literal type.
fn literal(v: &Value, indent: usize) -> String {
    match v {
        Value::Array(items) => format!("[{}]", items.iter().map(|i| literal(i, indent)).collect::<Vec<_>>().join(", ")),
        Value::Object(obj) => {
            if obj.is_empty() {
                return "{}".into();
            }
            let pad = " ".repeat(indent + 2);
            let members: String = obj
                .iter()
                .map(|(k, v)| format!("{pad}{}: {};\n", naming::ts_property(k), literal(v, indent + 2)))
                .collect();
            format!("{{\n{members}{}}}", " ".repeat(indent))
        }
        other => other.to_string(),
    }
}

/// The type name in a `#/definitions/Name` reference (the reference itself otherwise).
pub fn ref_name(r: &str) -> &str {
    ir::ref_name(r).unwrap_or(r)
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// `t` in parentheses when `op` (`" | "`) occurs in it outside brackets and string literals.
fn paren_if(t: &str, op: &str) -> String {
    if top_level(t, op) { format!("({t})") } else { t.to_string() }
}

fn top_level(t: &str, op: &str) -> bool {
    // Most type expressions hold neither operator anywhere.
    if !t.contains(op) {
        return false;
    }
    let (mut depth, mut in_str, mut escaped) = (0i32, false, false);
    for (i, c) in t.char_indices() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' | '[' | '(' | '<' => depth += 1,
            '}' | ']' | ')' | '>' => depth -= 1,
            _ if depth == 0 && t[i..].starts_with(op) => return true,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    /// The type expression of `schema` as the schema of a named type.
    fn type_of(schema: &Value, indent: usize) -> String {
        let objects = crate::lower::objects(schema, &|_| None);
        let ty = NamedType { name: "T".into(), schema: schema.clone(), tag: None, objects };
        super::type_of(schema, &ty, "", indent)
    }

    #[test]
    fn shapes() {
        assert_eq!(type_of(&json!({"type": ["string", "null"]}), 0), "string | null");
        assert_eq!(type_of(&json!({"enum": ["a", "b"]}), 0), "\"a\" | \"b\"");
        assert_eq!(type_of(&json!({"type": "array", "items": {"type": "integer"}}), 0), "number[]");
        assert_eq!(
            type_of(
                &json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": false}),
                0
            ),
            "[string, number]"
        );
        assert_eq!(type_of(&json!({"allOf": [{"$ref": "#/definitions/A"}, {"$ref": "#/definitions/B"}]}), 0), "A & B");
        assert_eq!(
            type_of(&json!({"type": "object", "additionalProperties": {"type": "string"}}), 0),
            "{\n  [key: string]: string;\n}"
        );
        assert_eq!(
            type_of(
                &json!({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": false}),
                0
            ),
            "{\n  a?: number;\n}"
        );
    }
}
