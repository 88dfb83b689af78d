//! Layer one: documents against schemas. A definition against the format's schema
//! (`schemas/chanspec.schema.json`), a referenced schema file against JSON Schema 2020-12's
//! meta-schema. Each error of the `jsonschema` crate becomes one diagnostic at its node.

use std::sync::OnceLock;

use crate::value::Value;
use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::model::FORMAT_SCHEMA_JSON;
use crate::source::{FileId, Location, pointer_last};

fn format_validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema: serde_json::Value =
            serde_json::from_str(FORMAT_SCHEMA_JSON).expect("the embedded format schema is JSON");
        jsonschema::draft202012::new(&schema).expect("the embedded format schema compiles")
    })
}

const JSON_TYPES: &[&str] = &["string", "number", "integer", "boolean", "object", "array", "null"];

const META_SCHEMA: &str = "https://json-schema.org/draft/2020-12/schema";

fn meta_validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema = serde_json::json!({ "$ref": META_SCHEMA });
        jsonschema::draft202012::new(&schema).expect("the 2020-12 meta-schema is bundled")
    })
}

/// The format's schema with every payload schema accepted as it is: the definition's own
/// structure only. Payload schemas are checked apart, by [`plainly_valid`].
fn structure_validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| {
        use serde_json::Value;
        fn accept_payloads(v: &mut Value) {
            match v {
                Value::Object(obj) if obj.get("$ref").and_then(Value::as_str) == Some(META_SCHEMA) => {
                    *v = Value::Bool(true)
                }
                Value::Object(obj) => obj.values_mut().for_each(accept_payloads),
                Value::Array(list) => list.iter_mut().for_each(accept_payloads),
                _ => {}
            }
        }
        let mut schema: Value = serde_json::from_str(FORMAT_SCHEMA_JSON).expect("the embedded format schema is JSON");
        accept_payloads(&mut schema);
        jsonschema::draft202012::new(&schema).expect("the embedded format schema compiles")
    })
}

/// Compile the validators a clean run needs, ahead of use (e.g. while files load).
pub fn warm_up() {
    structure_validator();
}

/// The payload schemas of a definition whose structure is valid: `$defs` and topic schemas.
fn payload_schemas(doc: &Value) -> impl Iterator<Item = &Value> {
    let defs = doc.get("$defs").and_then(Value::as_object).into_iter().flat_map(|m| m.values());
    let channels = doc.get("channels").and_then(Value::as_object).into_iter().flat_map(|m| m.values());
    let topics = channels.clone().filter_map(|c| c.get("topics")?.as_object()).flat_map(|m| m.values());
    let lifecycle = channels.filter_map(|c| c.get("lifecycle")).flat_map(|l| [l.get("result"), l.get("error")]);
    defs.chain(topics.filter_map(|t| t.get("schema"))).chain(lifecycle.flatten())
}

/// The document as the structure validator reads it: serde_json's values (what jsonschema
/// takes), with `true` in place of each payload schema (which that validator accepts as it
/// is), so that a clean run converts the definition's structure and not its schemas.
fn structure(doc: &Value) -> serde_json::Value {
    fn with(v: &Value, f: impl Fn(&str, &Value) -> serde_json::Value) -> serde_json::Value {
        match v {
            Value::Object(map) => {
                serde_json::Value::Object(map.iter().map(|(k, v)| (k.to_string(), f(k, v))).collect())
            }
            _ => v.to_serde(),
        }
    }
    let payload = |_: &str, _: &Value| serde_json::Value::Bool(true);
    let topic = |k: &str, v: &Value| if k == "schema" { payload(k, v) } else { v.to_serde() };
    let lifecycle = |k: &str, v: &Value| if k == "result" || k == "error" { payload(k, v) } else { v.to_serde() };
    let channel = |k: &str, v: &Value| match k {
        "topics" => with(v, |_, t| with(t, topic)),
        "lifecycle" => with(v, lifecycle),
        _ => v.to_serde(),
    };
    with(doc, |k, v| match k {
        "$defs" => with(v, payload),
        "channels" => with(v, |_, c| with(c, channel)),
        _ => v.to_serde(),
    })
}

/// Check a definition document against the format's schema.
pub fn check_definition(doc: &Value, file: FileId) -> Vec<Diagnostic> {
    // The common, clean case stays cheap: the structure, then each payload schema by
    // `plainly_valid`, which is far faster than the meta-schema, and the meta-schema only for
    // a payload schema that leaves in doubt (the format's schema asks exactly that of each).
    // `is_valid` short-circuits and collects nothing; the full schema runs, and reports,
    // only when something is wrong.
    let sound = |schema: &Value| plainly_valid(schema) || meta_validator().is_valid(&schema.to_serde());
    if structure_validator().is_valid(&structure(doc)) && payload_schemas(doc).all(sound) {
        return Vec::new();
    }
    let whole = doc.to_serde();
    let errors = format_validator().iter_errors(&whole).map(|e| convert(e, file, Context::Definition, doc));
    dedupe(errors.collect())
}

/// Check a standalone schema file against the JSON Schema 2020-12 meta-schema.
pub fn check_schema_file(doc: &Value, file: FileId) -> Vec<Diagnostic> {
    if plainly_valid(doc) {
        return Vec::new();
    }
    let whole = doc.to_serde();
    if meta_validator().is_valid(&whole) {
        return Vec::new();
    }
    let errors = meta_validator().iter_errors(&whole).map(|e| convert(e, file, Context::SchemaFile, doc));
    dedupe(errors.collect())
}

/// Whether `schema` is valid against JSON Schema 2020-12's meta-schema, decided here for the
/// keywords payload schemas mostly use, each against what the meta-schema asks of its value.
/// `false` means "not decided here" (a keyword left to the meta-schema, or an invalid value):
/// the meta-schema then decides, and reports. Never `true` for a schema the meta-schema
/// refuses; `tests/meta_check.rs` holds that against the meta-schema itself.
pub fn plainly_valid(schema: &Value) -> bool {
    match schema {
        Value::Bool(_) => true,
        Value::Object(obj) => obj.iter().all(|(keyword, value)| plain_keyword(keyword, value)),
        _ => false,
    }
}

fn plain_keyword(keyword: &str, value: &Value) -> bool {
    // `type: array, uniqueItems: true` of strings (the meta-schema's `stringArray`), each
    // accepted by `ok`.
    let unique_strings = |value: &Value, ok: &dyn Fn(&str) -> bool| match value.as_array() {
        // Compared pair by pair, so long lists are left to the meta-schema.
        Some(list) if list.len() <= 64 => {
            list.iter().enumerate().all(|(i, v)| v.as_str().is_some_and(ok) && !list[..i].contains(v))
        }
        _ => false,
    };
    match keyword {
        "properties" | "$defs" | "definitions" => value.as_object().is_some_and(|m| m.values().all(plainly_valid)),
        "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
            value.as_array().is_some_and(|list| !list.is_empty() && list.iter().all(plainly_valid))
        }
        "items" | "additionalProperties" | "contains" | "propertyNames" | "contentSchema" => plainly_valid(value),
        "type" => match value {
            Value::String(t) => JSON_TYPES.contains(&t.as_str()),
            list => !list.as_array().is_some_and(Vec::is_empty) && unique_strings(list, &|t| JSON_TYPES.contains(&t)),
        },
        "required" => unique_strings(value, &|_| true),
        "enum" | "examples" => value.is_array(),
        "const" | "default" => true,
        "title" | "description" | "format" | "$comment" | "contentEncoding" | "contentMediaType" => value.is_string(),
        "deprecated" | "readOnly" | "writeOnly" | "uniqueItems" => value.is_boolean(),
        "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties" | "maxProperties" | "minContains"
        | "maxContains" => value.is_u64(),
        "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => value.is_number(),
        "multipleOf" => value.as_f64().is_some_and(|m| m > 0.0),
        // The meta-schema gives these a `format` (`uri-reference`, `regex`, `uri`), which
        // the validator does not assert in 2020-12, so any string passes it. Caution costs
        // little here: a reference with unusual characters, or another `$schema`, is left to
        // the meta-schema all the same (`tests/meta_check.rs` tries such strings).
        "$ref" => value.as_str().is_some_and(|r| r.chars().all(|c| c.is_ascii_alphanumeric() || "#/._-$".contains(c))),
        "pattern" => value.is_string(),
        "$schema" => value.as_str() == Some(META_SCHEMA),
        // A keyword the meta-schema does not define takes any value; the others not
        // handled above are left to it.
        _ => crate::keywords::support(keyword).is_none(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Context {
    Definition,
    SchemaFile,
}

/// Is this node inside a payload schema (where errors are JSON Schema errors, not format
/// errors)?
fn in_payload_schema(pointer: &str) -> bool {
    let parts: Vec<&str> = pointer.split('/').collect();
    matches!(
        parts.as_slice(),
        ["", "channels", _, "topics", _, "schema", ..]
            | ["", "channels", _, "lifecycle", "result" | "error", ..]
            | ["", "$defs", _, ..]
    )
}

fn convert(e: ValidationError<'_>, file: FileId, ctx: Context, doc: &Value) -> Diagnostic {
    let schema_error = ctx == Context::SchemaFile || in_payload_schema(e.instance_path().as_str());
    let d = diagnostic(&e, file, schema_error, doc);
    let path = e.instance_path().as_str();
    if !schema_error
        && matches!(path.split('/').collect::<Vec<_>>().as_slice(), ["", "channels", _, "params", _, "type"])
        && let Some(found) = doc.pointer(path).and_then(Value::as_str)
    {
        let close = type_alias(found).filter(|a| a.contains("string") || a.contains("integer"));
        let d = Diagnostic { message: format!("`{found}` is not a param type"), ..d };
        return match close {
            Some(close) => d.hint(format!("did you mean {close}? A param's `type` is `string` or `integer`")),
            None => d.hint("a param's `type` is `string` or `integer`"),
        };
    }
    if !schema_error
        && path.rsplit('/').nth(1) == Some("x-chanspec-allow")
        && let Some(found) = doc.pointer(path)
    {
        let codes = crate::diagnostic::WARNING_CODES;
        let d = Diagnostic { code: "invalid-allow", message: format!("{found} is not a warning code"), ..d };
        return match found.as_str().and_then(|f| did_you_mean(f, codes.iter().copied())) {
            Some(close) => d.hint(format!("did you mean `{close}`?")),
            None => d.hint(format!("the codes are: {}", codes.join(", "))),
        };
    }
    if d.hint.is_some() || !schema_error {
        return d;
    }
    match pointer_last(e.instance_path().as_str()).as_ref() {
        "type" => match doc.pointer(e.instance_path().as_str()).and_then(Value::as_str) {
            Some(found) => {
                let d = Diagnostic { message: format!("`{found}` is not a JSON Schema type"), ..d };
                match type_alias(found)
                    .map(String::from)
                    .or_else(|| did_you_mean(found, JSON_TYPES.iter().copied()).map(|c| format!("`type: {c}`")))
                {
                    Some(close) => d.hint(format!("did you mean {close}?")),
                    None => d.hint(format!("`type` is one of {}", JSON_TYPES.join(", "))),
                }
            }
            None => {
                d.hint("`type` is one of string, number, integer, boolean, object, array, null, or an array of them")
            }
        },
        "required" => d.hint("`required` is an array of property names"),
        _ => d,
    }
}

/// What a type name from another language or format means in JSON Schema (`bool` →
/// `type: boolean`, `uuid` → `type: string, format: uuid`), for "did you mean".
pub fn type_alias(found: &str) -> Option<&'static str> {
    let lower = found.trim_end_matches('?').to_ascii_lowercase();
    Some(match lower.as_str() {
        "bool" | "boolean" => "`type: boolean`",
        "int" | "integer" | "long" | "int32" | "int64" | "i32" | "i64" | "u32" | "u64" | "uint" | "short" => {
            "`type: integer`"
        }
        "float" | "double" | "decimal" | "number" | "f32" | "f64" | "float32" | "float64" | "real" => "`type: number`",
        "str" | "string" | "text" | "char" => "`type: string`",
        "uuid" | "guid" => "`type: string, format: uuid`",
        "date" => "`type: string, format: date`",
        "time" => "`type: string, format: time`",
        "datetime" | "date-time" | "timestamp" | "instant" => "`type: string, format: date-time`",
        "email" => "`type: string, format: email`",
        "uri" | "url" => "`type: string, format: uri`",
        "map" | "dict" | "record" | "hash" | "struct" => "`type: object`",
        "list" | "vec" | "tuple" | "set" | "sequence" => "`type: array`",
        "nil" | "none" | "void" => "`type: \"null\"`",
        _ => return None,
    })
}

fn diagnostic(e: &ValidationError<'_>, file: FileId, schema_error: bool, doc: &Value) -> Diagnostic {
    let pointer = e.instance_path().as_str().to_string();
    let at = Location::new(file, pointer.clone());
    let what = if schema_error { "not valid JSON Schema 2020-12: " } else { "" };
    let code_or = |code| if schema_error { "invalid-schema" } else { code };
    match e.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let name = unexpected.first().cloned().unwrap_or_default();
            let known = known_fields(&pointer);
            let mut d = Diagnostic::error(code_or("unknown-field"), format!("{what}unknown field `{name}`"))
                .at_key(&at.child(&name));
            if let Some(close) = did_you_mean(&name, known.iter().copied()) {
                d = d.hint(format!("did you mean `{close}`?"));
            } else if !known.is_empty() {
                d = d.hint(format!("expected one of: {}", known.join(", ")));
            }
            d
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            Diagnostic::error(code_or("missing-field"), format!("{what}missing required field `{name}`")).at(&at)
        }
        ValidationErrorKind::Constant { .. } if pointer == "/chanspec" && !schema_error => {
            let found = doc.pointer(&pointer).cloned().unwrap_or(Value::Null);
            if found.is_number() {
                Diagnostic::error("unsupported-version", format!("definition format version {found} is not supported"))
                    .at(&at)
                    .hint(format!("this chanspec reads `chanspec: {}`", crate::model::FORMAT_VERSION))
            } else {
                Diagnostic::error(
                    "wrong-type",
                    format!("`chanspec` must be the number {}, found {found}", crate::model::FORMAT_VERSION),
                )
                .at(&at)
            }
        }
        ValidationErrorKind::Type { .. } if pointer.is_empty() && !schema_error => {
            Diagnostic::error("wrong-type", "a definition is a mapping with `chanspec: 1` and `channels`")
                .at(&at)
                .hint("start from `chanspec: 1` and `channels:` with one channel and its `topics`")
        }
        ValidationErrorKind::Type { .. } => {
            Diagnostic::error(code_or("wrong-type"), format!("{what}{}", e.masked())).at(&at)
        }
        ValidationErrorKind::PropertyNames { error } => {
            let key = error.instance().as_str().unwrap_or_default().to_string();
            let pattern = if pointer.ends_with("/params") {
                crate::model::PARAM_NAME_PATTERN
            } else {
                crate::model::IDENTIFIER_PATTERN
            };
            Diagnostic::error(code_or("invalid-identifier"), format!("{what}`{key}` is not a valid name here"))
                .at_key(&at.child(&key))
                .hint(format!("names must match `{pattern}`: a letter first, then letters, digits, `_` or `-`"))
        }
        ValidationErrorKind::MinProperties { .. } if pointer.ends_with("/topics") && !schema_error => {
            Diagnostic::error("empty-topics", "a channel needs at least one topic").at(&at)
        }
        _ => Diagnostic::error(code_or("invalid-value"), format!("{what}{}", e.masked())).at(&at),
    }
}

/// The fields a format object accepts, for "did you mean" on an unknown field.
fn known_fields(pointer: &str) -> Vec<&'static str> {
    let parts: Vec<&str> = pointer.split('/').collect();
    match parts.as_slice() {
        [""] => vec!["$schema", "chanspec", "description", "channels", "$defs", "x-chanspec-allow"],
        ["", "channels", _] => {
            vec!["name", "description", "deprecated", "params", "topics", "lifecycle", "x-chanspec-allow"]
        }
        ["", "channels", _, "lifecycle"] => vec!["description", "result", "error"],
        ["", "channels", _, "params", _] => {
            vec!["type", "description", "format", "pattern", "enum", "minimum", "maximum"]
        }
        ["", "channels", _, "topics", _] => vec!["description", "deprecated", "schema", "x-chanspec-allow"],
        _ => vec![],
    }
}

/// The meta-schema reports some problems twice (through `anyOf` branches): keep the first
/// per node and code.
fn dedupe(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = std::collections::HashSet::new();
    diags.retain(|d| seen.insert((format!("{:?}", d.anchor), d.code, d.message.clone())));
    diags
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `payload_schemas` finds every place the format's schema gives to the meta-schema: the
    /// structure validator accepts anything there, so a place it missed would go unchecked.
    #[test]
    fn payload_schemas_are_where_the_format_refers_to_the_meta_schema() {
        use serde_json::Value as Json;
        fn refs(v: &Json, at: String, out: &mut Vec<String>) {
            match v {
                Json::Object(obj) if obj.get("$ref").and_then(Json::as_str) == Some(META_SCHEMA) => out.push(at),
                Json::Object(obj) => obj.iter().for_each(|(k, v)| refs(v, format!("{at}/{k}"), out)),
                Json::Array(list) => list.iter().enumerate().for_each(|(i, v)| refs(v, format!("{at}/{i}"), out)),
                _ => {}
            }
        }
        let schema: Json = serde_json::from_str(FORMAT_SCHEMA_JSON).unwrap();
        let mut found = Vec::new();
        refs(&schema, String::new(), &mut found);
        found.sort();
        assert_eq!(
            found,
            [
                "/$defs/Lifecycle/properties/error",
                "/$defs/Lifecycle/properties/result",
                "/$defs/Topic/properties/schema",
                "/properties/$defs/additionalProperties"
            ]
        );
        // And those are the values `payload_schemas` yields.
        let doc = crate::json!({
            "chanspec": 1,
            "$defs": {"A": {"title": "a"}},
            "channels": {"c": {
                "topics": {"t": {"schema": {"title": "t"}}},
                "lifecycle": {"result": {"title": "r"}, "error": {"title": "e"}}
            }}
        });
        let titles: Vec<&str> = payload_schemas(&doc).filter_map(|s| s["title"].as_str()).collect();
        assert_eq!(titles, ["a", "t", "r", "e"]);
        assert!(structure_validator().is_valid(&structure(&doc)) && format_validator().is_valid(&doc.to_serde()));
        let bad = crate::json!({"chanspec": 1, "$defs": {"A": {"type": "strin"}}, "channels": {}});
        assert!(structure_validator().is_valid(&structure(&bad)) && !payload_schemas(&bad).all(plainly_valid));
        assert!(!check_definition(&bad, FileId(0)).is_empty());
    }
}
