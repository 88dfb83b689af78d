//! The IR: what both emitters generate from. Every decision Rust and TypeScript must agree on
//! (type names, which schema each type has, how each union is tagged, which properties are
//! optional and which admit `null`, which parameters a name takes) is made once, in `lower`,
//! and recorded here.

use std::collections::BTreeMap;

use crate::value::Value;

use crate::model::ParamType;
use crate::template::Segment;

/// Everything to generate from one set of definitions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spec {
    /// The input files, as shown in generated headers.
    pub sources: Vec<String>,
    pub channels: Vec<Channel>,
    /// Named payload types, in a stable order (input `$defs` first, then topics, then types
    /// reached through references).
    pub types: Vec<NamedType>,
}

impl Spec {
    /// The reference graph of the named types: for each type (by index in `types`), the
    /// types its schema refers to, in the order it refers to them (repeats kept).
    pub fn references(&self) -> Vec<Vec<usize>> {
        let index: ahash::AHashMap<&str, usize> =
            self.types.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
        let top = crate::source::Location::new(crate::source::FileId(0), "");
        self.types
            .iter()
            .map(|t| {
                let mut to = Vec::new();
                crate::schema_walk::walk(&t.schema, &top, &mut |schema, _| {
                    let target = schema.get("$ref").and_then(Value::as_str).and_then(ref_name);
                    to.extend(target.and_then(|name| index.get(name)));
                    true
                });
                to
            })
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Channel {
    /// The identifier in the definition (`pipeline`).
    pub id: String,
    /// `PipelineChannel`.
    pub rust_type: String,
    /// `PipelineMessage`: the per-channel message type in both languages (a Rust enum, a
    /// TypeScript union).
    pub message: String,
    /// `pipeline` (function building the channel).
    pub rust_fn: String,
    /// `pipeline` (TypeScript binding: the channel descriptor).
    pub ts_name: String,
    /// `PipelineParams` (TypeScript interface of the params).
    pub ts_params: String,
    /// `PipelineTopics` (TypeScript map from topic name to payload type).
    pub ts_topics: String,
    /// `decodePipeline` (TypeScript decoder of the channel's messages).
    pub ts_decoder: String,
    /// The name template as written (`pipeline:{runId}`).
    pub template: String,
    pub segments: Vec<Segment>,
    pub params: Vec<Param>,
    pub topics: Vec<Topic>,
    /// The run lifecycle, when the channel declares one.
    pub lifecycle: Option<Lifecycle>,
    pub doc: Option<String>,
    pub deprecated: bool,
}

/// A channel's run lifecycle: the named types of a completed run's result and of a failed
/// run's error (in [`Spec::types`]), when declared.
#[derive(Clone, Debug, PartialEq)]
pub struct Lifecycle {
    pub result: Option<String>,
    pub error: Option<String>,
    pub doc: Option<String>,
    /// `x-chanspec-allow: [breaking-change]` on the channel: `chanspec diff` reports the
    /// lifecycle's breaking changes as acknowledged.
    pub breaking_allowed: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The placeholder's name (`runId`).
    pub name: String,
    /// `run_id`.
    pub rust_name: String,
    /// `runId` (property of the TypeScript params object; quoted when not an identifier).
    pub ts_name: String,
    pub ty: ParamType,
    pub format: Option<String>,
    pub pattern: Option<String>,
    pub values: Vec<String>,
    pub minimum: Option<i64>,
    pub maximum: Option<i64>,
    pub doc: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Topic {
    /// The topic name on the wire (`status`).
    pub name: String,
    /// `status` (accessor method).
    pub rust_method: String,
    /// `Status` (message enum variant).
    pub variant: String,
    /// Name of the payload type in [`Spec::types`].
    pub payload: String,
    pub doc: Option<String>,
    pub deprecated: bool,
    /// `x-chanspec-allow: [breaking-change]` on the topic or its channel: `chanspec diff`
    /// reports this topic's breaking changes as acknowledged.
    pub breaking_allowed: bool,
}

/// A named type: its name in both languages and its JSON Schema, self-contained except for
/// `$ref`s to other named types, written `#/definitions/<name>`.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedType {
    pub name: String,
    pub schema: Value,
    /// How a `oneOf`/`anyOf` at the top of this schema is tagged, when it is.
    pub tag: Option<String>,
    /// The properties of every object schema within `schema` that has `properties` or
    /// `required`, by the JSON pointer of that object schema within `schema` (`""` for the
    /// top, `/properties/step/items` for an object nested below). Emitters walking `schema`
    /// look up the object they are at here instead of reading `required` and deciding
    /// nullability themselves.
    pub objects: BTreeMap<String, Properties>,
}

impl NamedType {
    /// The properties of the object schema at `pointer` within [`NamedType::schema`].
    pub fn properties(&self, pointer: &str) -> Option<&Properties> {
        self.objects.get(pointer)
    }
}

/// Which properties of one object schema are required, and which admit `null`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Properties {
    /// The properties of `properties`, in schema order.
    pub declared: Vec<Property>,
    /// Names in `required` that `properties` does not declare, in `required` order: they
    /// have the type of the extra properties.
    pub undeclared_required: Vec<String>,
}

impl Properties {
    pub fn get(&self, name: &str) -> Option<&Property> {
        self.declared.iter().find(|p| p.name == name)
    }

    /// Whether some declared property is optional.
    pub fn any_optional(&self) -> bool {
        self.declared.iter().any(|p| !p.required)
    }
}

/// One declared property of an object schema.
#[derive(Clone, Debug, PartialEq)]
pub struct Property {
    pub name: String,
    /// Listed in the object's `required`; otherwise it may be absent.
    pub required: bool,
    /// Its own schema admits `null` by `type`, `enum`, `const`, a `null`-typed variant of
    /// `anyOf`/`oneOf`, or by having only object or array keywords (`$ref`s and `allOf` are
    /// not followed; `{}` does not count).
    pub nullable: bool,
}

impl Property {
    /// May be absent and may be `null`: two different values generated types must keep apart
    /// (Rust makes the field an `Option<Option<T>>`; TypeScript's `x?: T | null` does already).
    pub fn optional_nullable(&self) -> bool {
        !self.required && self.nullable
    }
}

/// The reference to a named type, as written in bundled schemas.
pub fn type_ref(name: &str) -> String {
    format!("{DEFINITIONS}{name}")
}

/// Where bundled schemas keep the named types.
const DEFINITIONS: &str = "#/definitions/";

/// The type name a bundled reference names (`#/definitions/Name` → `Name`): the inverse of
/// [`type_ref`]; `None` for any other reference.
pub fn ref_name(reference: &str) -> Option<&str> {
    reference.strip_prefix(DEFINITIONS)
}
