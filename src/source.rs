//! Source files and positions: every node of a loaded document can be traced back to
//! `file:line:column`.
//!
//! The loader records, for each JSON pointer in a document, the span of the node's value and
//! (for object members) of its key. Diagnostics carry a [`Location`] (file + pointer) and are
//! resolved to line and column only when they are reported.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Index of a file in [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range in a source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end: end.max(start) }
    }
}

/// Where one node of a document is: its value, and its key when it is an object member.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeSpan {
    pub key: Option<Span>,
    pub value: Span,
}

/// JSON pointer → span, for every node of one document.
#[derive(Clone, Debug, Default)]
pub struct PosMap {
    nodes: HashMap<String, NodeSpan>,
}

impl PosMap {
    pub fn insert(&mut self, pointer: String, node: NodeSpan) {
        self.nodes.insert(pointer, node);
    }

    pub fn get(&self, pointer: &str) -> Option<&NodeSpan> {
        self.nodes.get(pointer)
    }

    /// The span of the node at `pointer`, or of its nearest ancestor that has one.
    pub fn find(&self, pointer: &str, target: Target) -> Span {
        let mut p = pointer;
        loop {
            if let Some(node) = self.nodes.get(p) {
                return match target {
                    Target::Key if p == pointer => node.key.unwrap_or(node.value),
                    _ => node.value,
                };
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Span::default(),
            }
        }
    }
}

/// Which part of an object member a diagnostic points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Target {
    #[default]
    Value,
    Key,
}

/// A node in a loaded file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    pub file: FileId,
    pub pointer: String,
}

impl Location {
    pub fn new(file: FileId, pointer: impl Into<String>) -> Self {
        Location { file, pointer: pointer.into() }
    }

    /// The location of a child node.
    pub fn child(&self, token: &str) -> Self {
        Location { file: self.file, pointer: pointer_push(&self.pointer, token) }
    }
}

/// The syntax a file is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    Json,
    Yaml,
}

impl Syntax {
    /// `.json` is JSON; everything else (`.yaml`, `.yml`, no extension) is read as YAML,
    /// whose 1.2 core schema accepts JSON too.
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => Syntax::Json,
            _ => Syntax::Yaml,
        }
    }
}

/// A file's length and modification time when it was read.
pub type Stamp = (u64, std::time::SystemTime);

/// One loaded file: its text, and the positions of its nodes once parsed.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the file was found (used to resolve relative references).
    pub path: PathBuf,
    /// The path as shown in diagnostics.
    pub display: String,
    text: String,
    /// The file's length and modification time when it was read (files read from disk only).
    stamp: Option<Stamp>,
    /// The text was let go (`release_text`); `text()` reads it again, once, if needed.
    released: bool,
    /// The text read again, or `None` when the file is no longer as it was.
    reloaded: std::sync::OnceLock<Option<String>>,
    pub syntax: Syntax,
    /// Node positions, worked out on first use (only reports need them): see
    /// `load::positions`.
    pub positions: std::sync::OnceLock<PosMap>,
    /// Where each line starts, worked out on first use like `positions`.
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

impl SourceFile {
    pub fn new(path: PathBuf, display: String, text: String) -> Self {
        let syntax = Syntax::from_path(&path);
        SourceFile {
            path,
            display,
            text,
            stamp: None,
            released: false,
            reloaded: Default::default(),
            syntax,
            positions: Default::default(),
            line_starts: Default::default(),
        }
    }

    /// The file as read from disk, with its length and modification time then: its text may
    /// be let go and read again for a report.
    pub fn from_disk(path: PathBuf, display: String, text: String, stamp: Stamp) -> Self {
        SourceFile { stamp: Some(stamp), ..SourceFile::new(path, display, text) }
    }

    /// The file's text. After `release_text`, read from disk again, and only if the file is
    /// as it was (length and modification time, before and after reading): otherwise empty,
    /// and [`available`](Self::available) says so (reports then name the file without a place).
    pub fn text(&self) -> &str {
        if !self.released {
            return &self.text;
        }
        self.reload().map_or("", String::as_str)
    }

    /// Whether the text is there: always, unless it was let go and the file has changed since.
    pub fn available(&self) -> bool {
        !self.released || self.reload().is_some()
    }

    fn reload(&self) -> Option<&String> {
        let reloaded = self.reloaded.get_or_init(|| {
            let same = |m: std::fs::Metadata| m.modified().ok().map(|t| (m.len(), t)) == self.stamp;
            let before = std::fs::metadata(&self.path).is_ok_and(same);
            let text = before.then(|| std::fs::read_to_string(&self.path).ok()).flatten()?;
            let whole = self.stamp.is_some_and(|(len, _)| text.len() as u64 == len);
            (whole && std::fs::metadata(&self.path).is_ok_and(same)).then_some(text)
        });
        reloaded.as_ref()
    }

    /// Let the text go, once the file is parsed and checked: a large definition's text is a
    /// tenth of `generate`'s memory, and only reports need it (they are rare after `check`
    /// passed). Text not read from disk is kept.
    pub fn release_text(&mut self) {
        if self.stamp.is_some() {
            self.text = String::new();
            self.released = true;
        }
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let mut starts = vec![0];
            starts.extend(self.text().match_indices('\n').map(|(i, _)| i + 1));
            starts
        })
    }

    /// 1-based line and column (counted in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text().len());
        let starts = self.line_starts();
        let line = starts.partition_point(|&s| s <= offset) - 1;
        let start = starts[line];
        let col = self.text().get(start..offset).map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// Byte offset of a 1-based line and 0-based character column.
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let Some(&start) = self.line_starts().get(line.saturating_sub(1)) else {
            return self.text().len();
        };
        let rest = &self.text()[start..];
        rest.char_indices().nth(col).map_or(self.text().len(), |(i, _)| start + i)
    }

    /// Byte offsets of every character index, for parsers that count in characters.
    pub fn char_to_byte(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.text().char_indices().map(|(i, _)| i).collect();
        v.push(self.text().len());
        v
    }
}

/// Every file read while checking: input definitions and referenced schema files.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// Every file's text let go (`SourceFile::release_text`).
    pub fn release_texts(&mut self) {
        self.files.iter_mut().for_each(SourceFile::release_text);
    }

    pub fn get_mut(&mut self, id: FileId) -> &mut SourceFile {
        &mut self.files[id.0 as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i as u32), f))
    }

    pub fn find_path(&self, path: &Path) -> Option<FileId> {
        self.iter().find(|(_, f)| f.path == path).map(|(id, _)| id)
    }
}

/// Escape one reference token for a JSON pointer (RFC 6901).
pub fn escape_token(token: &str) -> std::borrow::Cow<'_, str> {
    if token.bytes().any(|b| b == b'~' || b == b'/') {
        token.replace('~', "~0").replace('/', "~1").into()
    } else {
        token.into()
    }
}

/// Unescape one reference token of a JSON pointer (RFC 6901).
pub fn unescape_token(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains('~') { token.replace("~1", "/").replace("~0", "~").into() } else { token.into() }
}

/// `pointer` extended by one token.
pub fn pointer_push(pointer: &str, token: &str) -> String {
    let mut s = String::with_capacity(pointer.len() + token.len() + 1);
    s.push_str(pointer);
    push_token(&mut s, token);
    s
}

/// Append one token to a pointer in place.
pub fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    pointer.push_str(&escape_token(token));
}

/// The last token of a pointer, unescaped.
pub fn pointer_last(pointer: &str) -> std::borrow::Cow<'_, str> {
    unescape_token(pointer.rsplit('/').next().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text let go is read again for a report while the file is unchanged, and places
    /// come out the same; a changed file gives no text rather than wrong places.
    #[test]
    fn a_released_text_is_read_again_only_from_the_same_file() {
        let dir = std::env::temp_dir().join(format!("chanspec-release-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("d.yaml");
        let text = "chanspec: 1\nchannels:\n  a:\n    topics: {}\n";
        std::fs::write(&path, text).unwrap();
        let mut sources = Sources::default();
        let doc = crate::load::load_file(&mut sources, &path).unwrap();
        let before: Vec<_> = (0..text.len()).map(|o| sources.get(doc.file).line_col(o)).collect();
        sources.release_texts();
        let f = sources.get(doc.file);
        assert!(f.text.is_empty() && f.released);
        assert_eq!(f.text(), text);
        assert_eq!((0..text.len()).map(|o| f.line_col(o)).collect::<Vec<_>>(), before);

        let mut sources = Sources::default();
        let doc = crate::load::load_file(&mut sources, &path).unwrap();
        sources.release_texts();
        std::fs::write(&path, "chanspec: 1\nchannels: {}\n").unwrap();
        assert_eq!(sources.get(doc.file).text(), "");
        assert!(!sources.get(doc.file).available());
        // A report on it names the file, without a place.
        let d = crate::Diagnostic::error("x", "something").at_span(doc.file, Span::new(0, 1));
        let located = crate::report::locate(&d, &sources);
        assert_eq!((located.file.as_deref(), located.line), (Some(sources.get(doc.file).display.as_str()), None));
        let human = crate::report::human(&d, &sources, false);
        assert!(human.contains("which changed since it was checked"), "{human}");

        // Text that was never read from a file is kept.
        let mut sources = Sources::default();
        let id = sources.add(SourceFile::new("x.yaml".into(), "x.yaml".into(), text.into()));
        sources.release_texts();
        assert_eq!(sources.get(id).text(), text);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn line_col_counts_characters() {
        let f = SourceFile::new("a".into(), "a".into(), "ab\nçé: x\n".into());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        // 'x' is after two 2-byte characters, ':' and ' '.
        let x = f.text().find('x').unwrap();
        assert_eq!(f.line_col(x), (2, 5));
        assert_eq!(f.offset_of(2, 4), x);
    }

    #[test]
    fn pointers_escape() {
        assert_eq!(pointer_push("", "a/b~c"), "/a~1b~0c");
        assert_eq!(pointer_last("/x/a~1b~0c"), "a/b~c");
    }

    #[test]
    fn find_falls_back_to_ancestor() {
        let mut m = PosMap::default();
        m.insert("".into(), NodeSpan { key: None, value: Span::new(0, 10) });
        m.insert("/a".into(), NodeSpan { key: Some(Span::new(1, 2)), value: Span::new(3, 4) });
        assert_eq!(m.find("/a", Target::Key), Span::new(1, 2));
        assert_eq!(m.find("/a/b", Target::Key), Span::new(3, 4));
        assert_eq!(m.find("/z", Target::Value), Span::new(0, 10));
    }
}
