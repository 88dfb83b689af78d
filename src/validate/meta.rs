//! Layer one: documents against schemas. A definition against the format's schema
//! (`schemas/chanspec.schema.json`), a referenced schema file against JSON Schema 2020-12's
//! meta-schema. Each error of the `jsonschema` crate becomes one diagnostic at its node.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::model::FORMAT_SCHEMA_JSON;
use crate::source::{FileId, Location, pointer_last};

fn format_validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema: Value = serde_json::from_str(FORMAT_SCHEMA_JSON).expect("the embedded format schema is JSON");
        jsonschema::draft202012::new(&schema).expect("the embedded format schema compiles")
    })
}

const JSON_TYPES: &[&str] = &["string", "number", "integer", "boolean", "object", "array", "null"];

fn meta_validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema = serde_json::json!({ "$ref": "https://json-schema.org/draft/2020-12/schema" });
        jsonschema::draft202012::new(&schema).expect("the 2020-12 meta-schema is bundled")
    })
}

/// Check a definition document against the format's schema.
pub fn check_definition(doc: &Value, file: FileId) -> Vec<Diagnostic> {
    // `is_valid` short-circuits and collects nothing: the common, clean case stays cheap.
    if format_validator().is_valid(doc) {
        return Vec::new();
    }
    let errors = format_validator().iter_errors(doc).map(|e| convert(e, file, Context::Definition, doc));
    dedupe(errors.collect())
}

/// Check a standalone schema file against the JSON Schema 2020-12 meta-schema.
pub fn check_schema_file(doc: &Value, file: FileId) -> Vec<Diagnostic> {
    if meta_validator().is_valid(doc) {
        return Vec::new();
    }
    let errors = meta_validator().iter_errors(doc).map(|e| convert(e, file, Context::SchemaFile, doc));
    dedupe(errors.collect())
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
    matches!(parts.as_slice(), ["", "channels", _, "topics", _, "schema", ..] | ["", "$defs", _, ..])
}

fn convert(e: ValidationError<'_>, file: FileId, ctx: Context, doc: &Value) -> Diagnostic {
    let schema_error = ctx == Context::SchemaFile || in_payload_schema(e.instance_path().as_str());
    let d = diagnostic(&e, file, schema_error, doc);
    if d.hint.is_some() || !schema_error {
        return d;
    }
    match pointer_last(e.instance_path().as_str()).as_ref() {
        "type" => match doc.pointer(e.instance_path().as_str()).and_then(Value::as_str) {
            Some(found) => {
                let d = Diagnostic { message: format!("`{found}` is not a JSON Schema type"), ..d };
                match did_you_mean(found, JSON_TYPES.iter().copied()) {
                    Some(close) => d.hint(format!("did you mean `{close}`?")),
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
        [""] => vec!["$schema", "chanspec", "description", "channels", "$defs"],
        ["", "channels", _] => vec!["name", "description", "deprecated", "params", "topics"],
        ["", "channels", _, "params", _] => {
            vec!["type", "description", "format", "pattern", "enum", "minimum", "maximum"]
        }
        ["", "channels", _, "topics", _] => vec!["description", "deprecated", "schema"],
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
