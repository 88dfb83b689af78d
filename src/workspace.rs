//! The workspace: every document read in one run (input definitions and the schema files
//! they reference), and `$ref` resolution between them.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::value::Value;

use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::load;
use crate::schema_walk::walk;
use crate::source::{FileId, Location, Sources};

#[derive(Debug, Default)]
pub struct Workspace {
    pub sources: Sources,
    docs: HashMap<FileId, Arc<Value>>,
    /// Files that could not be loaded (already reported), so they are reported once.
    failed: HashSet<PathBuf>,
}

/// A reference that has been followed.
pub struct Resolved {
    pub target: Location,
    /// The target is in a schema file loaded just now, which has not been checked yet.
    pub new_file: Option<FileId>,
}

impl Workspace {
    /// Load one file. Failures are returned as a diagnostic.
    pub fn load(&mut self, path: &Path) -> Result<FileId, Diagnostic> {
        let doc = load::load_file(&mut self.sources, path)?;
        self.docs.insert(doc.file, Arc::new(doc.value));
        Ok(doc.file)
    }

    /// Add a document parsed elsewhere (e.g. from text in memory).
    pub fn load_text(&mut self, path: PathBuf, text: String) -> Result<FileId, Diagnostic> {
        let syntax = crate::source::Syntax::from_path(&path);
        let doc = load::load_text(&mut self.sources, path, text, syntax)?;
        self.docs.insert(doc.file, Arc::new(doc.value));
        Ok(doc.file)
    }

    /// Take every document out, for a stage that consumes them (lowering moves schemas into
    /// the IR instead of copying them). The sources stay, for reports. A document still
    /// shared with another thread is copied.
    pub fn take_docs(&mut self) -> HashMap<FileId, Value> {
        std::mem::take(&mut self.docs)
            .into_iter()
            .map(|(f, doc)| (f, Arc::try_unwrap(doc).unwrap_or_else(|shared| (*shared).clone())))
            .collect()
    }

    pub fn doc(&self, file: FileId) -> &Value {
        &self.docs[&file]
    }

    /// A shared handle on a document, for work on another thread.
    pub fn shared(&self, file: FileId) -> Arc<Value> {
        self.docs[&file].clone()
    }

    pub fn get(&self, at: &Location) -> Option<&Value> {
        self.docs.get(&at.file)?.pointer(&at.pointer)
    }

    pub fn display(&self, file: FileId) -> &str {
        &self.sources.get(file).display
    }

    /// Follow `reference`, the `$ref` of the schema at `site`. Files are loaded on first use,
    /// relative to the file holding the reference. Problems are pushed to `diags`.
    pub fn resolve(&mut self, site: &Location, reference: &str, diags: &mut Diagnostics) -> Option<Resolved> {
        let at_ref = site.child("$ref");
        let (path_part, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        if path_part.contains("://") || path_part.starts_with("urn:") {
            diags.push(
                Diagnostic::error(
                    "remote-ref",
                    format!("`{reference}` is a remote reference; chanspec does not fetch schemas over the network"),
                )
                .at(&at_ref)
                .hint("download the schema into the project and refer to it by a relative path"),
            );
            return None;
        }
        let mut new_file = None;
        let file = if path_part.is_empty() {
            site.file
        } else {
            let base = self.sources.get(site.file).path.parent().unwrap_or(Path::new(""));
            let path = normalize(&base.join(percent_decode(path_part)));
            match self.sources.find_path(&path) {
                Some(id) if self.docs.contains_key(&id) => id,
                // A file that failed to load reported why once, at the file.
                _ if self.failed.contains(&path) => return None,
                _ => {
                    // A missing file is reported at every reference to it.
                    if !path.is_file() {
                        diags.push(
                            Diagnostic::error(
                                "unresolved-ref",
                                format!("`{reference}`: file `{}` not found", load::display(&path)),
                            )
                            .at(&at_ref)
                            .hint("file references are relative to the file that holds the `$ref`"),
                        );
                        return None;
                    }
                    match self.load(&path) {
                        Ok(id) => {
                            new_file = Some(id);
                            id
                        }
                        Err(e) => {
                            self.failed.insert(path);
                            diags.push(e);
                            return None;
                        }
                    }
                }
            }
        };
        let fragment = percent_decode(fragment);
        let pointer = if fragment.is_empty() || fragment.starts_with('/') {
            fragment
        } else {
            match find_anchor(self.doc(file), file, &fragment) {
                Some(p) => p,
                None => {
                    diags.push(
                        Diagnostic::error(
                            "unresolved-ref",
                            format!("`{reference}`: no `$anchor: {fragment}` in `{}`", self.display(file)),
                        )
                        .at(&at_ref),
                    );
                    return None;
                }
            }
        };
        let target = Location::new(file, pointer);
        if self.get(&target).is_none() {
            let mut d = Diagnostic::error(
                "unresolved-ref",
                format!("`{reference}` points at nothing: `{}` has no `#{}`", self.display(file), target.pointer),
            )
            .at(&at_ref);
            if let Some(hint) = self.missing_def_hint(file, &target.pointer) {
                d = d.hint(hint);
            }
            diags.push(d);
            return None;
        }
        Some(Resolved { target, new_file })
    }

    /// For `#/$defs/Name` that does not exist: a close name in the same file, or the same
    /// name in another loaded file.
    fn missing_def_hint(&self, file: FileId, pointer: &str) -> Option<String> {
        let (container, name) = pointer.strip_prefix('/')?.split_once('/')?;
        let defs = self.doc(file).get(container).and_then(Value::as_object);
        if let Some(close) = defs.and_then(|d| did_you_mean(name, d.keys().map(|k| k.as_str()))) {
            return Some(format!("did you mean `#/{container}/{close}`?"));
        }
        let elsewhere = self
            .docs
            .iter()
            .find(|(id, doc)| **id != file && doc.get(container).and_then(|d| d.get(name)).is_some())?;
        Some(format!(
            "`{name}` is defined in `{}`; `#` refers to the file holding the `$ref`, so write the file's path before `#`",
            self.display(*elsewhere.0)
        ))
    }
}

/// The pointer of the schema that declares `$anchor: name`.
fn find_anchor(doc: &Value, file: FileId, name: &str) -> Option<String> {
    let mut found = None;
    walk(doc, &Location::new(file, ""), &mut |v, at| {
        if found.is_none() && v.get("$anchor").and_then(Value::as_str) == Some(name) {
            found = Some(at.pointer.clone());
        }
        found.is_none()
    });
    found
}

/// Resolve `.` and `..` without touching the file system, so paths stay as the user wrote
/// them (relative paths stay relative).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Decode `%XX` escapes in a URI reference.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = s.get(i + 1..i + 3).filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        if let (b'%', Some(h)) = (bytes[i], hex) {
            out.push(u8::from_str_radix(h, 16).unwrap_or(b'%'));
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_lexically() {
        assert_eq!(normalize(Path::new("fixtures/valid/../schemas/a.json")), Path::new("fixtures/schemas/a.json"));
        assert_eq!(normalize(Path::new("../x/./y")), Path::new("../x/y"));
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("/$defs/Foo%20Bar"), "/$defs/Foo Bar");
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
