//! Loading: text → `crate::value::Value` plus the position of every node.
//!
//! YAML is parsed with saphyr, whose `MarkedYaml` gives every node a span; JSON with serde_json
//! (strict, good errors), followed by a light scan that records where each node starts. Both
//! produce the same thing: a [`Value`] and a [`PosMap`] keyed by JSON pointer. The loader knows
//! nothing of chanspec's format, Rust or TypeScript.

mod block;
mod json;
mod json_direct;
mod yaml;

use std::path::{Path, PathBuf};

use crate::value::{Str, Value};

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, PosMap, SourceFile, Sources, Span, Syntax};

/// Deepest nesting accepted in a document; deeper input is refused rather than overflowing
/// the stack.
pub const MAX_DEPTH: usize = 128;

/// Documents of this size or more are read in two halves at once (`json_direct`, `block`),
/// where there is more than one core.
fn split_size() -> usize {
    const SPLIT_AT: usize = 1 << 20;
    let parallel = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    if parallel { SPLIT_AT } else { usize::MAX }
}

/// How far past the middle of a document a point to split it at is looked for.
const SPLIT_WINDOW: usize = 1 << 16;

/// A parsed document.
#[derive(Debug, Clone)]
pub struct Document {
    pub file: FileId,
    pub value: Value,
}

/// A syntax error at a byte offset.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub offset: usize,
    pub message: String,
    pub code: &'static str,
}

impl SyntaxError {
    pub fn new(offset: usize, message: impl Into<String>) -> Self {
        SyntaxError { offset, message: message.into(), code: "syntax" }
    }

    pub fn duplicate_key(offset: usize, name: &str) -> Self {
        SyntaxError { offset, message: format!("duplicated key `{name}`"), code: "duplicate-key" }
    }
}

/// Members of the arrays and objects being built, innermost last, for both parsers: each
/// container moves its members into a vector or map of the exact size when it closes. Growing
/// one per container by doubling would touch (and have the kernel zero) far more memory than
/// the tree keeps.
#[derive(Default)]
struct Members(Vec<(Str, Value)>);

impl Members {
    /// Where the members of a container opened now start.
    fn open(&self) -> usize {
        self.0.len()
    }

    /// A member of the innermost open container (an array's items have an empty key).
    fn push(&mut self, key: impl Into<Str>, value: Value) {
        self.0.push((key.into(), value));
    }

    /// The array whose items start at `base`.
    fn array(&mut self, base: usize) -> Value {
        Value::Array(self.0.drain(base..).map(|(_, v)| v).collect())
    }

    /// The object whose members start at `base`, or the first key that repeats one before it.
    fn object(&mut self, base: usize) -> Result<Value, String> {
        crate::value::Map::from_entries(self.0.drain(base..).collect()).map(Value::Object)
    }
}

/// Read and parse one file. Errors (unreadable file, syntax) become diagnostics.
pub fn load_file(sources: &mut Sources, path: &Path) -> Result<Document, Diagnostic> {
    // The length and modification time with the text, so that a text let go after checking
    // is read again for a report only if the file is still the same.
    let read = |path: &Path| -> std::io::Result<(Vec<u8>, Option<crate::source::Stamp>)> {
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let meta = file.metadata()?;
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0) + 1);
        file.read_to_end(&mut bytes)?;
        let read = bytes.len() as u64;
        Ok((bytes, meta.modified().ok().map(|t| (meta.len(), t)).filter(|(len, _)| *len == read)))
    };
    let (text, stamp) = match read(path) {
        Ok((bytes, stamp)) => match String::from_utf8(bytes) {
            Ok(t) => (t, stamp),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let id = sources.add(SourceFile::new(path.to_path_buf(), display(path), text));
                return Err(
                    Diagnostic::error("syntax", "the file is not valid UTF-8").at_span(id, Span::new(valid, valid + 1))
                );
            }
        },
        Err(e) => {
            return Err(Diagnostic::error("io", format!("cannot read `{}`: {e}", display(path)))
                .hint("check the path; references are resolved relative to the file that holds them"));
        }
    };
    let shown = display(path);
    let source = match stamp {
        Some(stamp) => SourceFile::from_disk(path.to_path_buf(), shown, text, stamp),
        None => SourceFile::new(path.to_path_buf(), shown, text),
    };
    parse_source(sources, source)
}

/// Parse text already in memory, as if read from `path`.
pub fn load_text(sources: &mut Sources, path: PathBuf, text: String, syntax: Syntax) -> Result<Document, Diagnostic> {
    let shown = display(&path);
    let mut source = SourceFile::new(path, shown, text);
    source.syntax = syntax;
    parse_source(sources, source)
}

fn parse_source(sources: &mut Sources, source: SourceFile) -> Result<Document, Diagnostic> {
    let syntax = source.syntax;
    let id = sources.add(source);
    let file = sources.get(id);
    let parsed = match syntax {
        Syntax::Json => json_direct::read(file.text()).map_or_else(|| json::parse(file.text()), Ok),
        Syntax::Yaml => yaml::parse(file, false).map(|(v, _)| v),
    };
    match parsed {
        Ok(value) => Ok(Document { file: id, value }),
        Err(e) => {
            let hint = match syntax {
                Syntax::Yaml if e.code == "syntax" => yaml::hint(file.text(), e.offset, &e.message),
                _ => None,
            };
            let d = Diagnostic::error(e.code, e.message).at_span(id, Span::new(e.offset, e.offset + 1));
            Err(match hint {
                Some(h) => d.hint(h),
                None => d,
            })
        }
    }
}

/// The position of every node of a loaded file, worked out on first use: checking a clean
/// file never needs them, so they cost nothing until something is reported.
pub fn positions(file: &SourceFile) -> &PosMap {
    file.positions.get_or_init(|| match file.syntax {
        Syntax::Json => json::positions(file.text()),
        Syntax::Yaml => yaml::parse(file, true).map(|(_, p)| p).unwrap_or_default(),
    })
}

/// A path as shown to the user: relative to the working directory when it is inside it.
pub fn display(path: &Path) -> String {
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf());
    shown.to_string_lossy().replace('\\', "/")
}
