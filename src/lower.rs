//! Lowering: checked definitions → the IR. Names every payload type, bundles every schema
//! (across files) into one namespace of named types, decides how unions are tagged, and which
//! properties are optional and which admit `null`.

use std::collections::{BTreeMap, VecDeque};

use ahash::{AHashMap as HashMap, AHashSet as HashSet};

use crate::value::{Map, Value};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::ir::{self, NamedType, Properties, Property, Spec};
use crate::naming;
use crate::schema_walk::{each_subschema_mut, walk};
use crate::source::{FileId, Location, Target, pointer_last};
use crate::validate::{ChannelDef, Checked};

/// Lower checked definitions. `checked` must have no errors. Its schemas are copied; see
/// [`lower_taking`] for a caller that no longer needs the documents.
pub fn lower(checked: &Checked) -> Result<Spec, Diagnostics> {
    run(checked, Docs::Shared(&checked.workspace), Box::new(HashSet::new))
}

/// [`lower`], moving the schemas out of `checked`'s documents into the IR instead of copying
/// them: afterwards the workspace keeps its sources (for reports) but no documents. A schema
/// that another named schema lies within, or that lies within one, is copied.
pub fn lower_taking(checked: &mut Checked) -> Result<Spec, Diagnostics> {
    let docs = checked.workspace.take_docs();
    let checked = &*checked;
    // Which schemas may move is worked out on another thread while the channels are lowered.
    std::thread::scope(|s| {
        let movable = s.spawn(|| movable(checked));
        let join = move || movable.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        run(checked, Docs::Owned { docs, movable: HashSet::new() }, Box::new(join))
    })
}

/// Where lowering reads schemas: the checked workspace, or documents taken from it.
enum Docs<'a> {
    Shared(&'a crate::workspace::Workspace),
    Owned { docs: std::collections::HashMap<FileId, Value>, movable: HashSet<Location> },
}

impl Docs<'_> {
    fn get(&self, at: &Location) -> Option<&Value> {
        match self {
            Docs::Shared(ws) => ws.get(at),
            Docs::Owned { docs, .. } => docs.get(&at.file)?.pointer(&at.pointer),
        }
    }

    /// The schema at `at`, to be bundled: moved out when it may be, else copied.
    fn fetch(&mut self, at: &Location) -> Option<Value> {
        match self {
            Docs::Owned { docs, movable } if movable.contains(at) => {
                docs.get_mut(&at.file)?.pointer_mut(&at.pointer).map(std::mem::take)
            }
            _ => self.get(at).cloned(),
        }
    }
}

/// The schemas lowering may name (definitions, topic and lifecycle schemas, reference
/// targets) that no other of them lies within or around: each is read once, whole, so it can
/// be moved out of its document.
fn movable(checked: &Checked) -> HashSet<Location> {
    let mut candidates: HashSet<&Location> = checked.refs.values().collect();
    let sites: Vec<Location> = checked
        .channels
        .iter()
        .flat_map(|ch| {
            let topics = ch.channel.topics.keys().map(|t| ch.at.child("topics").child(t).child("schema"));
            topics.chain(["result", "error"].map(|k| ch.at.child("lifecycle").child(k)))
        })
        .collect();
    candidates.extend(&sites);
    candidates.extend(checked.defs.iter().map(|d| &d.at));
    // Every location with a candidate strictly below it.
    let mut above: HashSet<(FileId, &str)> = HashSet::new();
    for c in &candidates {
        for (i, _) in c.pointer.match_indices('/') {
            above.insert((c.file, &c.pointer[..i]));
        }
    }
    let is_candidate: HashSet<(FileId, &str)> = candidates.iter().map(|c| (c.file, c.pointer.as_str())).collect();
    candidates
        .iter()
        .filter(|c| {
            !above.contains(&(c.file, c.pointer.as_str()))
                && !c.pointer.match_indices('/').any(|(i, _)| is_candidate.contains(&(c.file, &c.pointer[..i])))
        })
        .map(|c| (*c).clone())
        .collect()
}

/// Lower, the schemas read from `docs`; `movable` gives the schemas that may be moved out of
/// owned documents, asked for once the channels are lowered (before any schema is fetched).
fn run<'a>(
    checked: &'a Checked,
    docs: Docs<'a>,
    movable: Box<dyn FnOnce() -> HashSet<Location> + '_>,
) -> Result<Spec, Diagnostics> {
    let mut l = Lowering {
        checked,
        docs,
        names: HashMap::new(),
        taken: HashMap::new(),
        queue: VecDeque::new(),
        diags: Diagnostics::default(),
    };
    // Names, in a stable order: input `$defs`, then inline topic payloads.
    for d in &checked.defs {
        l.claim(d.at.clone(), naming::type_name(&d.name));
    }
    let mut channels = Vec::new();
    for ch in &checked.channels {
        channels.push(l.channel(ch));
    }
    if let Docs::Owned { movable: set, .. } = &mut l.docs {
        *set = movable();
    }
    let mut types = Vec::new();
    while let Some((at, name)) = l.queue.pop_front() {
        let Some(mut schema) = l.docs.fetch(&at) else { continue };
        l.bundle(&mut schema, &at);
        types.push(NamedType { name, schema, tag: None, objects: BTreeMap::new() });
    }
    // Property facts need every type: whether a property admits `null` may depend on a `$ref`.
    // Independent per type: the second half on another thread.
    let facts: Vec<_> = {
        let by_name: HashMap<&str, &Value> = types.iter().map(|t| (t.name.as_str(), &t.schema)).collect();
        let resolve = |r: &str| ir::ref_name(r).and_then(|n| by_name.get(n).copied());
        let facts_of = |part: &[NamedType]| part.iter().map(|t| objects(&t.schema, &resolve)).collect::<Vec<_>>();
        let (first, second) = types.split_at(types.len() / 2);
        std::thread::scope(|s| {
            let later = s.spawn(|| facts_of(second));
            let mut facts = facts_of(first);
            facts.extend(later.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
            facts
        })
    };
    for (t, objects) in types.iter_mut().zip(facts) {
        t.objects = objects;
    }
    // Names the channels generate must not be taken by a type named after a file or title
    // (names from `$defs` and topics were checked by validation already).
    for ch in &channels {
        for generated in [&ch.rust_type, &ch.message, &ch.ts_params, &ch.ts_topics] {
            if let Some(at) = l.taken.get(generated) {
                l.diags.push(
                    Diagnostic::error(
                        "name-collision",
                        format!("this schema's type `{generated}` has the name generated for channel `{}`", ch.id),
                    )
                    .at_key(at)
                    .hint("give the schema another `title`, or rename the file or the channel"),
                );
            }
        }
    }
    let index: HashMap<String, usize> = types.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
    let tags: Vec<Option<String>> = types.iter().map(|t| union_tag(&t.schema, &types, &index)).collect();
    for (t, tag) in types.iter_mut().zip(tags) {
        t.tag = tag;
    }
    // A payload without a description of its own is documented by its topic's.
    for topic in channels.iter().flat_map(|c: &ir::Channel| &c.topics) {
        let (Some(doc), Some(&i)) = (&topic.doc, index.get(&topic.payload)) else { continue };
        if let Value::Object(obj) = &mut types[i].schema
            && !obj.contains_key("description")
        {
            obj.insert("description".into(), Value::String(doc.clone().into()));
        }
    }
    if l.diags.has_errors() {
        return Err(l.diags);
    }
    let sources = checked.inputs.iter().map(|&f| checked.workspace.display(f).to_string()).collect();
    Ok(Spec { sources, channels, types })
}

struct Lowering<'a> {
    checked: &'a Checked,
    docs: Docs<'a>,
    /// Schema location → its type name.
    names: HashMap<Location, String>,
    /// Type name → the location that has it.
    taken: HashMap<String, Location>,
    /// Named schemas still to bundle.
    queue: VecDeque<(Location, String)>,
    diags: Diagnostics,
}

impl Lowering<'_> {
    /// Give the schema at `at` the type name `name`.
    fn claim(&mut self, at: Location, name: String) -> String {
        if let Some(existing) = self.names.get(&at) {
            return existing.clone();
        }
        if let Some(first) = self.taken.get(&name)
            && *first != at
        {
            self.diags.push(
                Diagnostic::error("name-collision", format!("two schemas would both generate the type `{name}`"))
                    .at_key(&at)
                    .hint("rename one of them, or give the schema file a `title`")
                    .related(first, Target::Key, "the other one"),
            );
            return name;
        }
        self.taken.insert(name.clone(), at.clone());
        self.names.insert(at.clone(), name.clone());
        self.queue.push_back((at, name.clone()));
        name
    }

    /// The type name of a referenced schema, naming it on first use.
    fn name_for(&mut self, at: &Location) -> String {
        if let Some(n) = self.names.get(at) {
            return n.clone();
        }
        let ws = &self.checked.workspace;
        let tokens: Vec<&str> = at.pointer.split('/').skip(1).collect();
        let name = match tokens.as_slice() {
            [] => match self.docs.get(at).and_then(|s| s.get("title")).and_then(Value::as_str) {
                Some(title) => naming::type_name(title),
                None => {
                    let path = &ws.sources.get(at.file).path;
                    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("Schema");
                    naming::type_name(stem.split('.').next().unwrap_or(stem))
                }
            },
            [.., container, _] if *container == "$defs" || *container == "definitions" => {
                naming::type_name(&pointer_last(&at.pointer))
            }
            _ => naming::type_name(&tokens.join("-")),
        };
        self.claim(at.clone(), name)
    }

    fn channel(&mut self, ch: &ChannelDef) -> ir::Channel {
        let topics = ch
            .channel
            .topics
            .iter()
            .map(|(name, t)| {
                let at = ch.at.child("topics").child(name).child("schema");
                let payload = match self.checked.refs.get(&at) {
                    Some(target) if ch.is_bare_ref(name) => self.name_for(&target.clone()),
                    _ => self.claim(at, naming::topic_payload(&ch.id, name)),
                };
                ir::Topic {
                    name: name.to_string(),
                    rust_method: naming::rust_snake(name),
                    variant: naming::type_name(name),
                    payload,
                    doc: t.description.clone(),
                    deprecated: t.deprecated,
                    breaking_allowed: t.allow.iter().chain(&ch.channel.allow).any(|c| c == "breaking-change"),
                }
            })
            .collect();
        let lifecycle = ch.channel.lifecycle.as_ref().map(|l| {
            let mut named = |part: &str| {
                let at = ch.at.child("lifecycle").child(part);
                let bare = crate::validate::channels::is_bare_ref(self.docs.get(&at)?);
                Some(match self.checked.refs.get(&at) {
                    Some(target) if bare => self.name_for(&target.clone()),
                    _ => self.claim(at, naming::topic_payload(&ch.id, part)),
                })
            };
            ir::Lifecycle {
                result: named("result"),
                error: named("error"),
                doc: l.description.clone(),
                breaking_allowed: ch.channel.allow.iter().any(|c| c == "breaking-change"),
            }
        });
        let params = ch
            .channel
            .params
            .iter()
            .map(|(name, p)| ir::Param {
                name: name.to_string(),
                rust_name: naming::rust_snake(name),
                ts_name: naming::ts_property(name),
                ty: p.ty,
                format: p.format.clone(),
                pattern: p.pattern.clone(),
                values: p.values.clone().unwrap_or_default(),
                minimum: p.minimum,
                maximum: p.maximum,
                doc: p.description.clone(),
            })
            .collect();
        ir::Channel {
            id: ch.id.clone(),
            rust_type: naming::channel_type(&ch.id),
            message: naming::message_enum(&ch.id),
            rust_fn: naming::rust_snake(&ch.id),
            ts_name: naming::ts_binding(&ch.id),
            ts_params: naming::ts_params(&ch.id),
            ts_topics: naming::ts_topics(&ch.id),
            ts_decoder: naming::ts_decoder(&ch.id),
            template: ch.name().to_string(),
            segments: ch.template.clone().map(|t| t.segments).unwrap_or_default(),
            params,
            topics,
            lifecycle,
            doc: ch.channel.description.clone(),
            deprecated: ch.channel.deprecated,
        }
    }

    /// Make the schema at `at` self-contained but for `$ref`s to named types, in place.
    fn bundle(&mut self, schema: &mut Value, at: &Location) {
        let Value::Object(obj) = schema else { return };
        // `$defs` are named on reference, not part of this type; identity and comments of the
        // source file are meaningless in the bundle.
        obj.retain(|k, _| !matches!(k.as_str(), "$defs" | "definitions" | "$id" | "$schema" | "$anchor" | "$comment"));
        let mut unresolved = false;
        for (keyword, value) in obj.iter_mut() {
            if keyword == "$ref" {
                match self.checked.refs.get(at) {
                    Some(target) => *value = Value::String(ir::type_ref(&self.name_for(&target.clone())).into()),
                    None => unresolved = true,
                }
                continue;
            }
            let here = at.child(keyword);
            each_subschema_mut(keyword, value, &mut |v, token| {
                let at = token.map_or_else(|| here.clone(), |t| here.child(t));
                self.bundle(v, &at);
            });
        }
        if unresolved {
            obj.shift_remove("$ref");
        }
    }
}

/// The properties of every object schema within a bundled `schema` that has `properties` or
/// `required`, by JSON pointer within `schema` ([`NamedType::objects`]). `resolve` finds the
/// schema of a `$ref` (`#/definitions/Name`).
pub fn objects<'s>(schema: &Value, resolve: &dyn Fn(&str) -> Option<&'s Value>) -> BTreeMap<String, Properties> {
    let mut out = BTreeMap::new();
    // Only the pointers of the walk's locations are used: relative to `schema`, in no file.
    walk(schema, &Location::new(FileId(0), ""), &mut |s, at| {
        if let Value::Object(obj) = s
            && (obj.get("properties").is_some() || obj.get("required").is_some())
        {
            out.insert(at.pointer.clone(), properties(obj, resolve));
        }
        true
    });
    out
}

fn properties<'s>(obj: &Map, resolve: &dyn Fn(&str) -> Option<&'s Value>) -> Properties {
    let required: Vec<&str> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let declared = obj.get("properties").and_then(Value::as_object);
    Properties {
        declared: declared
            .into_iter()
            .flatten()
            .map(|(name, schema)| Property {
                name: name.to_string(),
                required: required.contains(&name.as_str()),
                nullable: admits_null(schema, resolve, 0),
            })
            .collect(),
        undeclared_required: required
            .iter()
            .filter(|r| declared.is_none_or(|d| d.get(r).is_none()))
            .map(|r| r.to_string())
            .collect(),
    }
}

/// Whether `null` is valid against `schema`, exactly as JSON Schema decides it: every keyword
/// that can refuse `null` must accept it (`type`, `enum`, `const`, `$ref`, `allOf`, `anyOf`,
/// `oneOf`); the others (`properties`, `items`, `minLength`, ...) apply to other types only.
/// `{}` admits `null`. A `$ref` cycle that reaches itself without deciding admits nothing.
fn admits_null<'s>(schema: &Value, resolve: &dyn Fn(&str) -> Option<&'s Value>, depth: usize) -> bool {
    let obj = match schema {
        Value::Bool(b) => return *b,
        Value::Object(obj) => obj,
        _ => return false,
    };
    if depth > 64 {
        return false;
    }
    let each =
        |k: &str| obj.get(k).and_then(Value::as_array).map(|vs| vs.iter().map(|v| admits_null(v, resolve, depth + 1)));
    let typed = |t: &Value| t == "null" || t.as_array().is_some_and(|ts| ts.iter().any(|t| t == "null"));
    obj.get("type").is_none_or(typed)
        && obj.get("enum").and_then(Value::as_array).is_none_or(|vs| vs.iter().any(Value::is_null))
        && obj.get("const").is_none_or(Value::is_null)
        && obj
            .get("$ref")
            .and_then(Value::as_str)
            .is_none_or(|r| resolve(r).is_some_and(|target| admits_null(target, resolve, depth + 1)))
        && each("allOf").is_none_or(|mut vs| vs.all(|v| v))
        && each("anyOf").is_none_or(|mut vs| vs.any(|v| v))
        && each("oneOf").is_none_or(|vs| vs.filter(|v| *v).count() == 1)
}

/// The property that tags the variants of a `oneOf` (or `anyOf`) at the top of `schema`:
/// every variant is an object (inline or a named type) that requires the same property and
/// gives it a different constant string. Rust emits such a union as an internally tagged
/// enum, TypeScript as a discriminated union.
pub fn union_tag(schema: &Value, types: &[NamedType], index: &HashMap<String, usize>) -> Option<String> {
    let variants = schema.get("oneOf").or_else(|| schema.get("anyOf"))?.as_array()?;
    let variants: Vec<&Value> = variants
        .iter()
        .map(|v| match v.get("$ref").and_then(Value::as_str) {
            Some(r) => index.get(ir::ref_name(r)?).map(|&i| &types[i].schema),
            None => Some(v),
        })
        .collect::<Option<_>>()?;
    let first = variants.first()?;
    let candidates = first.get("required")?.as_array()?;
    'property: for p in candidates.iter().filter_map(Value::as_str) {
        let mut seen = Vec::new();
        for v in &variants {
            let required = v.get("required").and_then(Value::as_array).is_some_and(|r| r.iter().any(|x| x == p));
            let Some(tag) =
                v.pointer(&format!("/properties/{}", crate::source::escape_token(p))).and_then(const_string)
            else {
                continue 'property;
            };
            if !required || seen.contains(&tag) {
                continue 'property;
            }
            seen.push(tag);
        }
        return Some(p.to_string());
    }
    None
}

/// `{const: "x"}` or `{enum: ["x"]}` → `x`.
fn const_string(schema: &Value) -> Option<String> {
    match (schema.get("const"), schema.get("enum").and_then(Value::as_array)) {
        (Some(Value::String(s)), _) => Some(s.to_string()),
        (None, Some(values)) if values.len() == 1 => values[0].as_str().map(String::from),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    fn facts(p: &Properties) -> Vec<(&str, bool, bool)> {
        p.declared.iter().map(|p| (p.name.as_str(), p.required, p.nullable)).collect()
    }

    #[test]
    fn property_facts_by_pointer() {
        let schema = json!({
            "type": "object",
            "required": ["a", "z"],
            "properties": {
                "a": {"type": ["string", "null"]},
                "b": {"enum": ["x", null]},
                "c/d": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"e": {"anyOf": [{"type": "null"}, {"type": "integer"}]}, "f": {"const": 1}}
                    }
                },
                "g": {"properties": {}},
                "h": {"$ref": "#/definitions/H"},
                "i": {},
                "j": {"$ref": "#/definitions/N"},
                "k": {"oneOf": [{"enum": [1, null]}, {"type": ["string", "null"]}]},
                "l": {"allOf": [{"$ref": "#/definitions/N"}, {"minLength": 1}]},
                "m": {"type": ["integer", "null"], "enum": [1, 2]}
            }
        });
        let defs = json!({"H": {"type": "string"}, "N": {"type": ["string", "null"]}});
        let resolve = |r: &str| defs.get(ir::ref_name(r)?);
        let objects = objects(&schema, &resolve);
        assert_eq!(objects.keys().collect::<Vec<_>>(), ["", "/properties/c~1d/items", "/properties/g"]);
        let top = &objects[""];
        assert_eq!(
            facts(top),
            [
                ("a", true, true),
                ("b", false, true),
                ("c/d", false, false),
                ("g", false, true),
                ("h", false, false),
                ("i", false, true),
                ("j", false, true),
                ("k", false, false),
                ("l", false, true),
                ("m", false, false)
            ]
        );
        assert_eq!(top.undeclared_required, ["z"]);
        assert!(top.get("b").is_some_and(Property::optional_nullable));
        assert!(!top.get("a").is_some_and(Property::optional_nullable));
        assert_eq!(facts(&objects["/properties/c~1d/items"]), [("e", false, true), ("f", false, false)]);
    }
}
