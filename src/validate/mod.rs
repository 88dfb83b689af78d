//! Validation: loaded documents in, checked definitions and diagnostics out.
//!
//! Layer one checks shapes against schemas ([`meta`]); layer two applies the semantic rules
//! ([`channels`], [`schemas`]). Every rule runs on every part it can, so one run reports
//! every problem, not just the first.

pub mod channels;
pub mod meta;
pub mod schemas;

use ahash::AHashMap as HashMap;
use std::path::PathBuf;

use crate::value::Value;
use serde::Deserialize;

use crate::diagnostic::{Anchor, Diagnostic, Diagnostics};
use crate::model::Channel;
use crate::source::{FileId, Location, Target};
use crate::template::Template;
use crate::workspace::Workspace;

/// A channel as found in an input file.
#[derive(Clone, Debug)]
pub struct ChannelDef {
    pub id: String,
    /// `/channels/<id>` in its file.
    pub at: Location,
    pub channel: Channel,
    /// The parsed name template, when it parses.
    pub template: Option<Template>,
    /// Topics whose schema is only a `$ref` (plus annotations): their payload type is the
    /// referenced one.
    pub bare_refs: ahash::AHashSet<String>,
}

impl ChannelDef {
    /// The runtime name template as written (the identifier when no `name` is given).
    pub fn name(&self) -> &str {
        self.channel.name.as_deref().unwrap_or(&self.id)
    }

    /// Where the name is written: the `name` value, or the channel's key.
    pub fn name_location(&self) -> Location {
        if self.channel.name.is_some() { self.at.child("name") } else { self.at.clone() }
    }

    pub fn is_bare_ref(&self, topic: &str) -> bool {
        self.bare_refs.contains(topic)
    }

    fn point_at_name(&self, d: Diagnostic) -> Diagnostic {
        if self.channel.name.is_some() { d.at(&self.at.child("name")) } else { d.at_key(&self.at) }
    }
}

/// A named schema in an input file's `$defs`.
#[derive(Clone, Debug)]
pub struct DefEntry {
    pub name: String,
    /// `/$defs/<name>` in its file.
    pub at: Location,
}

/// The result of checking: everything later stages need, and what was wrong.
#[derive(Debug, Default)]
pub struct Checked {
    pub workspace: Workspace,
    /// The input definition files, in the order given.
    pub inputs: Vec<FileId>,
    /// Channels of all inputs, merged, in order.
    pub channels: Vec<ChannelDef>,
    /// Named schemas of all inputs.
    pub defs: Vec<DefEntry>,
    /// Every resolved `$ref`: schema location → target location.
    pub refs: schemas::Refs,
    pub diagnostics: Diagnostics,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.has_errors()
    }
}

/// Load and check definition files. Several files are merged into one set of channels.
pub fn check_files(paths: &[PathBuf]) -> Checked {
    // The shape check's validator compiles on the other core while the files load.
    std::thread::spawn(meta::warm_up);
    let mut checked = Checked::default();
    for path in paths {
        match checked.workspace.load(path) {
            Ok(id) => checked.inputs.push(id),
            Err(d) => checked.diagnostics.push(d),
        }
    }
    crate::trace::phase("loaded");
    check_loaded(checked)
}

/// Check definitions given as text (for tests, fuzzing and editors).
pub fn check_texts(files: &[(PathBuf, String)]) -> Checked {
    let mut checked = Checked::default();
    for (path, text) in files {
        match checked.workspace.load_text(path.clone(), text.clone()) {
            Ok(id) => checked.inputs.push(id),
            Err(d) => checked.diagnostics.push(d),
        }
    }
    check_loaded(checked)
}

fn check_loaded(mut c: Checked) -> Checked {
    // Layer one (shape) runs on its own thread while layer two runs here: they read the
    // same documents and report independently.
    let docs: Vec<_> = c.inputs.iter().map(|&f| (f, c.workspace.shared(f))).collect();
    let shape = std::thread::spawn({
        let docs = docs.clone();
        move || docs.iter().flat_map(|(f, doc)| meta::check_definition(doc, *f)).collect::<Vec<_>>()
    });
    let mut semantic = Diagnostics::default();
    let diags = &mut semantic;
    let mut first_channel: HashMap<String, Location> = HashMap::new();
    let mut first_def: HashMap<String, Location> = HashMap::new();
    // The topic schemas of channels that do not deserialize.
    let mut loose_roots: Vec<Location> = Vec::new();
    for &file in &c.inputs {
        let doc = c.workspace.doc(file);
        let root = Location::new(file, "");
        if let Some(map) = doc.get("channels").and_then(Value::as_object) {
            for (id, value) in map {
                let at = root.child("channels").child(id);
                if let Some(first) = first_channel.get(id.as_str()) {
                    diags.push(duplicate("duplicate-channel", "channel", id, &at, first, &c.workspace));
                    continue;
                }
                first_channel.insert(id.to_string(), at.clone());
                // Shape errors were reported above; a channel that does not deserialize is
                // left out of the channel rules, but its topics' schemas are still checked.
                let Ok(channel) = Channel::deserialize(value) else {
                    let topics = value.get("topics").and_then(Value::as_object).into_iter().flatten();
                    let schemas = topics.filter(|(_, t)| t.get("schema").is_some());
                    loose_roots.extend(schemas.map(|(name, _)| at.child("topics").child(name).child("schema")));
                    continue;
                };
                {
                    let bare_refs = value
                        .get("topics")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                        .filter(|(_, t)| t.get("schema").is_some_and(channels::is_bare_ref))
                        .map(|(name, _)| name.to_string())
                        .collect();
                    c.channels.push(ChannelDef { id: id.to_string(), at, channel, template: None, bare_refs });
                }
            }
        }
        if let Some(map) = doc.get("$defs").and_then(Value::as_object) {
            for name in map.keys() {
                let at = root.child("$defs").child(name);
                if let Some(first) = first_def.get(name.as_str()) {
                    diags.push(duplicate("duplicate-def", "schema", name, &at, first, &c.workspace));
                    continue;
                }
                first_def.insert(name.to_string(), at.clone());
                c.defs.push(DefEntry { name: name.to_string(), at });
            }
        }
    }
    let mut roots: Vec<Location> = Vec::new();
    for ch in &c.channels {
        roots.extend(ch.channel.topics.keys().map(|t| ch.at.child("topics").child(t).child("schema")));
        // Absent lifecycle schemas are skipped by the walk (nothing at their location).
        roots.extend(["result", "error"].map(|k| ch.at.child("lifecycle").child(k)));
    }
    roots.extend(loose_roots);
    roots.extend(c.defs.iter().map(|d| d.at.clone()));
    // Channel rules and schema rules read disjoint parts: run them side by side, the keyword
    // rules of the roots' schemas on a third thread while the references are followed here.
    let (channels, defs, workspace) = (&mut c.channels, &c.defs, &mut c.workspace);
    let (channel_diags, refs) = std::thread::scope(|s| {
        let roots = &roots;
        let keywords = s.spawn(move || schemas::keyword_diagnostics(&docs, roots));
        let keywords = || keywords.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        let rules = s.spawn(move || {
            let mut d = Diagnostics::default();
            channels::check_templates(channels, &mut d);
            channels::check_overlaps(channels, &mut d);
            channels::check_names(channels, defs, &mut d);
            d
        });
        let mut schema_diags = Diagnostics::default();
        crate::trace::phase("channels");
        let refs = schemas::check(workspace, roots, keywords, &mut schema_diags);
        crate::trace::phase("references");
        let mut channel_diags = rules.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        channel_diags.extend(schema_diags);
        (channel_diags, refs)
    });
    c.refs = refs;
    diags.extend(channel_diags);
    c.diagnostics.extend(shape.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
    c.diagnostics.extend(semantic);
    drop_allowed_warnings(&mut c);
    crate::trace::phase("checked");
    c
}

/// Drop the warnings acknowledged by an `x-chanspec-allow` listing their code on their node
/// or on any node above it (a schema, a topic, a channel, the definition).
fn drop_allowed_warnings(c: &mut Checked) {
    if c.diagnostics.iter().all(Diagnostic::is_error) {
        return;
    }
    let all = std::mem::take(&mut c.diagnostics).into_vec();
    for d in all {
        if d.is_error() || !allowed(&c.workspace, &d) {
            c.diagnostics.push(d);
        }
    }
}

fn allowed(ws: &Workspace, d: &Diagnostic) -> bool {
    let Anchor::Node { location, .. } = &d.anchor else { return false };
    let doc = ws.doc(location.file);
    let mut pointer = location.pointer.as_str();
    loop {
        let list = doc.pointer(pointer).and_then(|n| n.get("x-chanspec-allow")).and_then(Value::as_array);
        if list.is_some_and(|codes| codes.iter().any(|code| code.as_str() == Some(d.code))) {
            return true;
        }
        match pointer.rfind('/') {
            Some(i) => pointer = &pointer[..i],
            None => return false,
        }
    }
}

fn duplicate(
    code: &'static str,
    what: &str,
    name: &str,
    at: &Location,
    first: &Location,
    ws: &Workspace,
) -> Diagnostic {
    Diagnostic::error(code, format!("{what} `{name}` is declared twice (first in `{}`)", ws.display(first.file)))
        .at_key(at)
        .hint(format!("definition files given together share one namespace; rename one {what}"))
        .related(first, Target::Key, format!("{what} `{name}` is first declared here"))
}
