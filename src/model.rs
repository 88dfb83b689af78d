//! The definition format: what a `chanspec.yaml` / `.json` file may contain.
//!
//! These types are the single description of the format. With the `schema` feature, the JSON
//! Schema in `schemas/chanspec.schema.json` is derived from them (`chanspec schema`); a test
//! fails when the committed file is stale. The validator checks documents against that
//! committed schema (embedded at compile time) before these types are deserialized, so a
//! document that reaches them is already known to have the right shape.

use crate::value::Value;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// The version of the definition format this chanspec reads.
pub const FORMAT_VERSION: u64 = 1;

/// Channel identifiers, topic names and `$defs` keys.
pub const IDENTIFIER_PATTERN: &str = "^[A-Za-z][A-Za-z0-9_-]*$";
/// Parameter names: they appear in `{placeholders}` and as object keys in TypeScript.
pub const PARAM_NAME_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]*$";

/// A chanspec definition: realtime channels and the typed topics published on them.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "chanspec definition"))]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// The JSON Schema this file is written against, for editors.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The version of the definition format. Always `1`.
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::version"))]
    pub chanspec: u64,
    /// What these channels are for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The channels, keyed by identifier (`pipeline` becomes `PipelineChannel` in Rust and
    /// `pipeline` in TypeScript).
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::channels"))]
    pub channels: IndexMap<String, Channel>,
    /// Named JSON Schemas (draft 2020-12) that topics refer to as `#/$defs/Name`. Each becomes
    /// a named type in both languages.
    #[serde(rename = "$defs", default, skip_serializing_if = "IndexMap::is_empty")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::defs"))]
    pub defs: IndexMap<String, Value>,
    /// Warning codes acknowledged here and below (`narrowing-keyword`, …): not reported.
    #[serde(rename = "x-chanspec-allow", default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::allow"))]
    pub allow: Vec<String>,
}

/// A channel: a runtime name (static, or a template with `{param}` placeholders) and the
/// topics published on it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// The runtime channel name, e.g. `pipeline:{runId}`. Every `{placeholder}` must be a
    /// declared param, and every param must be used. Defaults to the channel's identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub name: Option<String>,
    /// What the channel carries; becomes the doc comment of the generated channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Marks the channel deprecated in the generated code.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deprecated: bool,
    /// The parameters of the channel name, keyed by the placeholder's name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::params"))]
    pub params: IndexMap<String, Param>,
    /// The typed message streams of this channel, keyed by topic name.
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::topics"))]
    pub topics: IndexMap<String, Topic>,
    /// A run's lifecycle on this channel: its status (`pending`, `running`, then `completed`,
    /// `failed` or `cancelled`), with the typed `result` of a completed run and `error` of a
    /// failed one. Subscribers learn the status when they subscribe, even after the fact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    /// Warning codes acknowledged here and below (`narrowing-keyword`, …): not reported.
    #[serde(rename = "x-chanspec-allow", default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::allow"))]
    pub allow: Vec<String>,
}

/// A parameter of a channel name.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Param {
    /// `string` or `integer`.
    #[serde(rename = "type")]
    pub ty: ParamType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// For strings: a JSON Schema format; `uuid` is checked when channel names are matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// For strings: a regular expression (ECMA 262) every value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// For strings: the only values allowed.
    #[serde(rename = "enum", default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::param_enum"))]
    pub values: Option<Vec<String>>,
    /// For integers: the smallest value allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<i64>,
    /// For integers: the largest value allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<i64>,
}

/// The type of a channel parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    String,
    Integer,
}

/// A topic: one typed stream of messages on a channel.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Topic {
    /// What the messages mean; becomes the doc comment of the payload type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Marks the topic deprecated in the generated code.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deprecated: bool,
    /// The payload's JSON Schema (draft 2020-12): inline, `{"$ref": "#/$defs/Name"}`, or a
    /// reference to a file (`other.json`, `other.yaml#/$defs/Name`).
    // Deserializing leaves this `null`: schemas stay in the loaded document (read them
    // through the workspace at `/channels/<id>/topics/<name>/schema`), so that checking a
    // large definition does not copy every schema.
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::json_schema"))]
    #[serde(deserialize_with = "skip_schema")]
    pub schema: Value,
    /// Warning codes acknowledged here and below (`narrowing-keyword`, …): not reported.
    #[serde(rename = "x-chanspec-allow", default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::allow"))]
    pub allow: Vec<String>,
}

/// A channel's lifecycle: the schemas of a completed run's result and a failed run's error.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// What the run's status means; documents the generated lifecycle methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON Schema of a completed run's result (inline or a `$ref`); absent: no result.
    // Read from the document, as topic schemas are (`/channels/<id>/lifecycle/result`).
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::json_schema"))]
    #[serde(default, deserialize_with = "skip_schema", skip_serializing_if = "Value::is_null")]
    pub result: Value,
    /// The JSON Schema of a failed run's error; absent: no error value.
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::json_schema"))]
    #[serde(default, deserialize_with = "skip_schema", skip_serializing_if = "Value::is_null")]
    pub error: Value,
}

fn skip_schema<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| Value::Null)
}

#[cfg(feature = "schema")]
mod schema {
    //! Parts of the format's schema that derive cannot express: key patterns and the JSON
    //! Schema meta-schema for payloads.
    use crate::json;
    use schemars::r#gen::SchemaGenerator;
    use schemars::schema::Schema;

    use super::{IDENTIFIER_PATTERN, PARAM_NAME_PATTERN};

    fn from(value: crate::value::Value) -> Schema {
        serde::Deserialize::deserialize(&value).expect("a valid schema literal")
    }

    pub fn version(_: &mut SchemaGenerator) -> Schema {
        from(
            json!({ "description": "The version of the definition format. Always `1`.", "const": super::FORMAT_VERSION }),
        )
    }

    pub fn json_schema(_: &mut SchemaGenerator) -> Schema {
        from(json!({ "$ref": "https://json-schema.org/draft/2020-12/schema" }))
    }

    fn map_of(g: &mut SchemaGenerator, value: Schema, pattern: &str, min: Option<u32>) -> Schema {
        let _ = g;
        let mut v = json!({
            "type": "object",
            "propertyNames": { "pattern": pattern },
            "additionalProperties": value,
        });
        if let Some(min) = min {
            v["minProperties"] = json!(min);
        }
        from(v)
    }

    pub fn channels(g: &mut SchemaGenerator) -> Schema {
        let v = g.subschema_for::<super::Channel>();
        map_of(g, v, IDENTIFIER_PATTERN, None)
    }

    pub fn topics(g: &mut SchemaGenerator) -> Schema {
        let v = g.subschema_for::<super::Topic>();
        map_of(g, v, IDENTIFIER_PATTERN, Some(1))
    }

    pub fn params(g: &mut SchemaGenerator) -> Schema {
        let v = g.subschema_for::<super::Param>();
        map_of(g, v, PARAM_NAME_PATTERN, None)
    }

    pub fn defs(g: &mut SchemaGenerator) -> Schema {
        let v = json_schema(g);
        map_of(g, v, IDENTIFIER_PATTERN, None)
    }

    pub fn allow(_: &mut SchemaGenerator) -> Schema {
        from(json!({
            "type": "array",
            "items": { "enum": crate::diagnostic::WARNING_CODES },
            "uniqueItems": true,
        }))
    }

    pub fn param_enum(_: &mut SchemaGenerator) -> Schema {
        from(json!({
            "type": "array",
            "items": { "type": "string", "minLength": 1 },
            "minItems": 1,
            "uniqueItems": true,
        }))
    }
}

/// The JSON Schema of the definition format, derived from these types.
#[cfg(feature = "schema")]
pub fn format_schema() -> Value {
    let mut settings = schemars::r#gen::SchemaSettings::draft2019_09();
    settings.meta_schema = Some("https://json-schema.org/draft/2020-12/schema".into());
    settings.definitions_path = "#/$defs/".into();
    settings.option_nullable = false;
    settings.option_add_null_type = false;
    let root = settings.into_generator().into_root_schema_for::<Definition>();
    let mut value = Value::from(serde_json::to_value(root).expect("schemas serialize"));
    if let Some(obj) = value.as_object_mut() {
        obj.insert("$id".into(), Value::String(FORMAT_SCHEMA_ID.into()));
        // schemars 0.8 names the container `definitions`; 2020-12 calls it `$defs`.
        if let Some(defs) = obj.remove("definitions") {
            obj.insert("$defs".into(), defs);
        }
    }
    value
}

/// The `$id` of the definition format's schema.
pub const FORMAT_SCHEMA_ID: &str = "https://chanspec.dev/schemas/chanspec.schema.json";

/// The committed schema of the definition format, as validated against.
pub const FORMAT_SCHEMA_JSON: &str = include_str!("../schemas/chanspec.schema.json");
