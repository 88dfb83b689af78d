//! Block-style YAML read straight from the text, for the documents most definitions are:
//! block mappings and sequences (compact `- key: value` items too), plain and quoted scalars
//! on one line, flow collections on one line, and comments.
//!
//! Anything else is declined (`None`): anchors, aliases, tags, block scalars (`|`, `>`),
//! scalars or flow collections over several lines, complex or float keys, tabs in
//! indentation, directives, several documents, a duplicated key, characters YAML does not
//! allow, and anything that is an error. saphyr then reads the document (its events, or its
//! node tree, which reports what is wrong). What this reader returns is what saphyr reads:
//! scalars are resolved by saphyr's own rules (`Scalar::parse_from_cow`), and a test holds
//! the two equal on generated documents, valid and broken.

use std::borrow::Cow;

use crate::value::Value;
use saphyr::Scalar;

use super::yaml::{key_text, scalar_value};
use super::{MAX_DEPTH, Members};

/// The document's value, or `None` when it is not one this reader takes.
///
/// A large document is read in two halves at once, as `json_direct` reads JSON: a second
/// thread reads the entries of a mapping from a line near the middle (the least indented
/// entry line nearby) to the mapping's end; when this thread reaches that very line as an
/// entry of a mapping, it takes them and goes on from where the second thread stopped.
pub(super) fn read(text: &str) -> Option<Value> {
    read_split(text, super::split_size())
}

/// [`read`], splitting documents of `split_at` bytes or more.
fn read_split(text: &str, split_at: usize) -> Option<Value> {
    if !printable(text) {
        return None;
    }
    let point = (text.len() >= split_at).then(|| split_point(text)).flatten();
    let Some(at) = point else { return Reader::new(text, None).document() };
    std::thread::scope(|s| {
        let second = s.spawn(move || Reader::new(text, None).entries_from(at));
        Reader::new(text, Some(Handoff { at, second: Some(second) })).document()
    })
}

/// The start of a line that seems to hold an entry of an outer mapping, after the middle of
/// `text`: the least indented line nearby with a `key:` on it.
fn split_point(text: &str) -> Option<usize> {
    // Lines are cut at line breaks, so at character boundaries.
    let bytes = text.as_bytes();
    let mid = text.len() / 2;
    let end = (mid + super::SPLIT_WINDOW).min(text.len());
    let mut start = mid + bytes[mid..end].iter().position(|&b| b == b'\n')? + 1;
    let mut best: Option<(usize, usize)> = None;
    while let Some(len) = bytes[start..end].iter().position(|&b| b == b'\n') {
        let line = &text[start..start + len];
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        if !body.starts_with(['-', '#', '\t', '\r']) && entry(body).is_some() && best.is_none_or(|(i, _)| indent < i) {
            best = Some((indent, start));
        }
        start += len + 1;
    }
    best.map(|(_, at)| at)
}

/// The second thread's entries, read from the split line to the end of their mapping.
struct Taken<'a> {
    members: Vec<(crate::value::Str, Value)>,
    /// Where reading stopped, and the line there (less indented than the entries, or none).
    pos: usize,
    line: Option<Line<'a>>,
    /// The deepest nesting reached, from the mapping's own depth.
    deepest: usize,
}

/// Where the second thread started (a line's start), and its work until taken.
struct Handoff<'a, 's> {
    at: usize,
    second: Option<std::thread::ScopedJoinHandle<'s, Option<Taken<'a>>>>,
}

/// Whether every character is one YAML allows in a stream (tab, line breaks, printable
/// ASCII, and the printable rest of Unicode), with no byte order mark.
fn printable(text: &str) -> bool {
    let ascii = |b: u8| b == b'\t' || b == b'\n' || b == b'\r' || (0x20..0x7f).contains(&b);
    if text.bytes().all(ascii) {
        return true;
    }
    text.chars().all(|c| match c {
        c if c.is_ascii() => ascii(c as u8),
        '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' => c != '\u{FEFF}',
        c => c >= '\u{10000}',
    })
}

/// A line with content: its indentation (spaces) and the rest, line break removed.
#[derive(Clone, Copy)]
struct Line<'a> {
    indent: usize,
    body: &'a str,
}

struct Reader<'a, 's> {
    text: &'a str,
    pos: usize,
    /// The current line; `None` at the end.
    line: Option<Line<'a>>,
    /// Whether a line with content has been read (a `---` before it starts the document).
    started: bool,
    members: Members,
    /// The deepest nesting reached.
    deepest: usize,
    handoff: Option<Handoff<'a, 's>>,
}

/// Characters that cannot start a plain scalar (or that this reader leaves to saphyr there).
const INDICATORS: &[u8] = b"-?:,[]{}#&*!|>'\"%@`";

impl<'a, 's> Reader<'a, 's> {
    fn new(text: &'a str, handoff: Option<Handoff<'a, 's>>) -> Self {
        Reader { text, pos: 0, line: None, started: false, members: Members::default(), deepest: 0, handoff }
    }

    /// The whole document: a mapping or sequence starting at column 0.
    fn document(mut self) -> Option<Value> {
        self.advance()?;
        match self.line {
            Some(line) if line.indent == 0 => {}
            _ => return None,
        }
        let value = self.block(0, 0)?;
        self.line.is_none().then_some(value)
    }

    /// The entries of a mapping from the line starting at `at` to the mapping's end (for the
    /// second thread).
    fn entries_from(mut self, at: usize) -> Option<Taken<'a>> {
        self.pos = at;
        self.started = true;
        self.advance()?;
        let n = self.line?.indent;
        self.entries(n, 0)?;
        Some(Taken {
            members: std::mem::take(&mut self.members.0),
            pos: self.pos,
            line: self.line,
            deepest: self.deepest,
        })
    }

    /// Where `line` starts in the text.
    fn start_of(&self, line: Line) -> usize {
        line.body.as_ptr() as usize - self.text.as_ptr() as usize - line.indent
    }

    /// Move to the next line with content, skipping blank and comment lines. `None` when the
    /// text holds what this reader declines (tab indentation, a lone carriage return,
    /// directives, document markers past the first line).
    fn advance(&mut self) -> Option<()> {
        loop {
            if self.pos >= self.text.len() {
                self.line = None;
                return Some(());
            }
            let rest = &self.text[self.pos..];
            let end = rest.find('\n').unwrap_or(rest.len());
            self.pos += end + 1;
            let raw = &rest[..end];
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            if raw.contains('\r') {
                return None;
            }
            let body = raw.trim_start_matches(' ');
            let indent = raw.len() - body.len();
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            if body.starts_with('\t') {
                if body.trim_start_matches([' ', '\t']).is_empty() {
                    continue;
                }
                return None;
            }
            if indent == 0 && (body.starts_with("---") || body.starts_with("...") || body.starts_with('%')) {
                let marker_only = body == "---" || body.starts_with("--- #");
                if self.started || !marker_only {
                    return None;
                }
                self.started = true;
                continue;
            }
            self.started = true;
            self.line = Some(Line { indent, body });
            return Some(());
        }
    }

    /// The block node whose first line is the current one, at indentation `n`.
    fn block(&mut self, n: usize, depth: usize) -> Option<Value> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let line = self.line?;
        if line.indent != n {
            return None;
        }
        if is_item(line.body) { self.seq(n, depth) } else { self.map(n, depth) }
    }

    /// The value of an entry with nothing after its indicator, the entry at indentation `n`:
    /// the block below it, or a sequence at its own indentation (`same_seq`: for a mapping's
    /// value), or null.
    fn below(&mut self, n: usize, depth: usize, same_seq: bool) -> Option<Value> {
        self.advance()?;
        match self.line {
            Some(l) if l.indent > n => self.block(l.indent, depth + 1),
            Some(l) if same_seq && l.indent == n && is_item(l.body) => {
                if depth + 1 >= MAX_DEPTH {
                    return None;
                }
                self.seq(n, depth + 1)
            }
            _ => Some(Value::Null),
        }
    }

    /// An inline value, then the next line, which must not be deeper than the entry at `n`
    /// (that would continue a scalar over several lines).
    fn inline_then_next(&mut self, rest: &str, n: usize, depth: usize) -> Option<Value> {
        let value = inline(rest, depth)?;
        if !matches!(value, Value::String(_)) {
            self.deepest = self.deepest.max(depth + nesting(&value));
        }
        self.advance()?;
        if self.line.is_some_and(|l| l.indent > n) {
            return None;
        }
        Some(value)
    }

    fn seq(&mut self, n: usize, depth: usize) -> Option<Value> {
        self.deepest = self.deepest.max(depth);
        let base = self.members.open();
        while let Some(line) = self.line
            && line.indent == n
            && is_item(line.body)
        {
            let rest = line.body[1..].trim_start_matches(' ');
            let value = if rest.is_empty() || rest.starts_with('#') {
                self.below(n, depth, false)?
            } else if is_item(rest) || rest.starts_with('\t') {
                return None;
            } else if starts_entry(rest) {
                // `- key: value`: a mapping whose keys are at the column of `key`.
                let col = n + line.body.len() - rest.len();
                self.line = Some(Line { indent: col, body: rest });
                if depth + 1 >= MAX_DEPTH {
                    return None;
                }
                self.map(col, depth + 1)?
            } else {
                self.inline_then_next(rest, n, depth)?
            };
            self.members.push(crate::value::Str::default(), value);
        }
        if self.line.is_some_and(|l| l.indent > n) {
            return None;
        }
        Some(self.members.array(base))
    }

    fn map(&mut self, n: usize, depth: usize) -> Option<Value> {
        let base = self.members.open();
        self.entries(n, depth)?;
        self.members.object(base).ok()
    }

    /// The entries of a mapping at indentation `n`, pushed as members.
    fn entries(&mut self, n: usize, depth: usize) -> Option<()> {
        self.deepest = self.deepest.max(depth);
        while let Some(line) = self.line
            && line.indent == n
        {
            let here = self.start_of(line);
            if let Some(h) = &mut self.handoff
                && h.at == here
            {
                // The second thread read on from this very entry: its entries end this mapping.
                let taken = h.second.take().and_then(|t| t.join().ok()).flatten()?;
                self.handoff = None;
                if depth + taken.deepest + 2 >= MAX_DEPTH {
                    return None;
                }
                for (k, v) in taken.members {
                    self.members.push(k, v);
                }
                (self.pos, self.line) = (taken.pos, taken.line);
                continue;
            }
            if is_item(line.body) {
                return None;
            }
            let (key, rest) = entry(line.body)?;
            let value = if rest.is_empty() || rest.starts_with('#') {
                self.below(n, depth, true)?
            } else {
                self.inline_then_next(rest, n, depth)?
            };
            self.members.push(key, value);
        }
        if self.line.is_some_and(|l| l.indent > n) {
            return None;
        }
        Some(())
    }
}

/// How deeply a flow collection nests (a scalar: 0).
fn nesting(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

/// `- …` or a lone `-`: a sequence item.
fn is_item(body: &str) -> bool {
    body == "-" || body.starts_with("- ")
}

/// Whether `body` starts with a mapping key (`key: …`, `"key": …`).
fn starts_entry(body: &str) -> bool {
    entry(body).is_some()
}

/// saphyr gives up on a key whose `:` comes more than 1,024 characters after its start
/// (YAML's limit on implicit keys); keys about that long are left to it.
const KEY_LIMIT: usize = 1000;

/// A mapping entry: its key, and the rest of the line after `:` and spaces.
fn entry(body: &str) -> Option<(crate::value::Str, &str)> {
    let (key, after) = match *body.as_bytes().first()? {
        b'"' | b'\'' => {
            let (key, after) = quoted(body)?;
            (key.into(), after.trim_start_matches(' '))
        }
        b if INDICATORS.contains(&b) => return None,
        _ => {
            let colon = key_colon(body)?;
            let raw = body[..colon].trim_end_matches(' ');
            if raw.contains('\t') || raw.contains(" #") {
                return None;
            }
            let scalar = Scalar::parse_from_cow(Cow::Borrowed(raw));
            // Float keys are left to saphyr, which compares keys by value (`0.0` = `-0.0`).
            if matches!(scalar, Scalar::FloatingPoint(_)) {
                return None;
            }
            (key_text(&scalar), &body[colon..])
        }
    };
    let rest = after.strip_prefix(':')?;
    if !(rest.is_empty() || rest.starts_with(' ')) || body.len() - after.len() > KEY_LIMIT {
        return None;
    }
    Some((key, rest.trim_start_matches(' ')))
}

/// Where the `:` that ends a plain key is: the first one followed by a space or the end.
fn key_colon(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    body.match_indices(':').map(|(i, _)| i).find(|&i| i + 1 == bytes.len() || bytes[i + 1] == b' ')
}

/// A scalar or flow collection that fills the rest of a line (comments allowed after it).
fn inline(rest: &str, depth: usize) -> Option<Value> {
    match rest.as_bytes()[0] {
        b'"' | b'\'' => {
            let (s, after) = quoted(rest)?;
            ends_line(after).then_some(Value::String(s.into()))
        }
        b'[' | b'{' => flow(rest, depth),
        b'-' if rest.len() > 1 && rest.as_bytes()[1] != b' ' => plain(rest),
        b if INDICATORS.contains(&b) => None,
        _ => plain(rest),
    }
}

/// Nothing but spaces and perhaps a comment (after at least one space).
fn ends_line(after: &str) -> bool {
    let t = after.trim_start_matches(' ');
    t.is_empty() || (t.starts_with('#') && t.len() < after.len())
}

/// A plain scalar to the end of the line or a comment.
fn plain(rest: &str) -> Option<Value> {
    let text = match rest.find(" #") {
        Some(i) => &rest[..i],
        None => rest,
    };
    let text = text.trim_end_matches(' ');
    if text.contains(": ") || text.ends_with(':') || text.contains('\t') {
        return None;
    }
    scalar_value(&Scalar::parse_from_cow(Cow::Borrowed(text)))
}

/// A flow collection on one line (`[a, "b", [c]]`, `{ type: string, enum: [x, y] }`),
/// then only spaces and perhaps a comment.
fn flow(rest: &str, depth: usize) -> Option<Value> {
    let mut members = Members::default();
    let (value, after) = flow_node(rest, &mut members, depth)?;
    ends_line(after).then_some(value)
}

/// One flow node at the start of `s` (no leading spaces) and the text after it.
fn flow_node<'s>(s: &'s str, members: &mut Members, depth: usize) -> Option<(Value, &'s str)> {
    if depth + 1 >= MAX_DEPTH {
        return None;
    }
    let bytes = s.as_bytes();
    match *bytes.first()? {
        b'"' | b'\'' => quoted(s).map(|(text, after)| (Value::String(text.into()), after)),
        open @ (b'[' | b'{') => {
            let close = if open == b'[' { ']' } else { '}' };
            let base = members.open();
            let mut inner = s[1..].trim_start_matches(' ');
            if let Some(after) = inner.strip_prefix(close) {
                let value = if open == b'[' { members.array(base) } else { members.object(base).ok()? };
                return Some((value, after));
            }
            loop {
                let key = if open == b'{' {
                    let (key, after) = flow_key(inner)?;
                    inner = after;
                    key
                } else {
                    crate::value::Str::default()
                };
                let (value, after) = flow_node(inner, members, depth + 1)?;
                members.push(key, value);
                let after = after.trim_start_matches(' ');
                if let Some(after) = after.strip_prefix(close) {
                    let value = if open == b'[' { members.array(base) } else { members.object(base).ok()? };
                    return Some((value, after));
                }
                inner = after.strip_prefix(',')?.trim_start_matches(' ');
                // An empty entry, or a comma before the closing bracket: left to saphyr.
                if inner.starts_with([',', ']', '}']) {
                    return None;
                }
            }
        }
        b'-' if bytes.get(1).is_some_and(|c| !b" ,]}".contains(c)) => flow_plain(s),
        b if INDICATORS.contains(&b) => None,
        _ => flow_plain(s),
    }
}

/// A plain scalar in a flow collection: up to the next `,`, `]` or `}`.
fn flow_plain(s: &str) -> Option<(Value, &str)> {
    let end = s.find([',', ']', '}'])?;
    let text = s[..end].trim_end_matches(' ');
    if text.is_empty() || text.contains([':', '#', '[', '{', '\t']) {
        return None;
    }
    Some((scalar_value(&Scalar::parse_from_cow(Cow::Borrowed(text)))?, &s[end..]))
}

/// A key of a flow mapping (`key: `, `"key": `) and the text after the `: `.
fn flow_key(s: &str) -> Option<(crate::value::Str, &str)> {
    let (key, after) = match *s.as_bytes().first()? {
        b'"' | b'\'' => quoted(s).map(|(key, after)| (key.into(), after))?,
        b if INDICATORS.contains(&b) => return None,
        _ => {
            let end = s.find(": ")?;
            let raw = s[..end].trim_end_matches(' ');
            if raw.is_empty() || raw.contains([',', '[', ']', '{', '}', '#', ':', '\t']) {
                return None;
            }
            let scalar = Scalar::parse_from_cow(Cow::Borrowed(raw));
            if matches!(scalar, Scalar::FloatingPoint(_)) {
                return None;
            }
            (key_text(&scalar), &s[end..])
        }
    };
    let after = after.trim_start_matches(' ');
    if s.len() - after.len() > KEY_LIMIT {
        return None;
    }
    let after = after.strip_prefix(": ")?;
    Some((key, after.trim_start_matches(' ')))
}

/// A quoted scalar on one line (`"…"` with YAML's escapes, or `'…'` with `''`) and the text
/// after it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let quote = s.as_bytes()[0];
    let body = &s[1..];
    let mut out = String::new();
    if quote == b'\'' {
        let mut from = 0;
        loop {
            let i = from + body[from..].find('\'')?;
            out.push_str(&body[from..i]);
            if body[i + 1..].starts_with('\'') {
                out.push('\'');
                from = i + 2;
            } else {
                return Some((out, &body[i + 1..]));
            }
        }
    }
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => {
                let (_, e) = chars.next()?;
                let mut hex = |digits: usize| {
                    let mut code = 0u32;
                    for _ in 0..digits {
                        code = code * 16 + chars.next()?.1.to_digit(16)?;
                    }
                    char::from_u32(code)
                };
                out.push(match e {
                    '0' => '\0',
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    't' | '\t' => '\t',
                    'n' => '\n',
                    'v' => '\u{B}',
                    'f' => '\u{C}',
                    'r' => '\r',
                    'e' => '\u{1B}',
                    ' ' => ' ',
                    '"' => '"',
                    '/' => '/',
                    '\\' => '\\',
                    'N' => '\u{85}',
                    '_' => '\u{A0}',
                    'L' => '\u{2028}',
                    'P' => '\u{2029}',
                    'x' => hex(2)?,
                    'u' => hex(4)?,
                    'U' => hex(8)?,
                    _ => return None,
                });
            }
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{read, read_split};
    use crate::json;
    use crate::load::yaml::{events, saphyr};
    use crate::value::Value;

    fn as_text(v: &Value) -> String {
        serde_json::to_string(v).expect("values serialize")
    }

    /// What the reader returns, read whole or split in two, is what saphyr reads; `None` is
    /// always allowed.
    fn agrees(text: &str) -> Result<bool, String> {
        let mut read_any = false;
        for split_at in [usize::MAX, 0] {
            match read_split(text, split_at) {
                None => {}
                Some(v) => match saphyr(text) {
                    // As text: `==` on maps ignores the order of their keys.
                    Some(s) if as_text(&s) == as_text(&v) => read_any = true,
                    other => return Err(format!("read {v:?} (split at {split_at}), saphyr {other:?}, of:\n{text}")),
                },
            }
        }
        Ok(read_any)
    }

    #[test]
    fn reads_block_documents_as_saphyr_does() {
        let cases = [
            "a: 1\nb: [x, \"y\", 'z''s', -2, 1.5e3]\nf: { type: string, enum: [a, \"b\"], x: {} }\nc:\n- p\n- q: r\n  s: ~\nd: {}\ne: []\n",
            "---\n# comment\nkey: value # trailing\n\"quoted key\": \"\\u00e9\\t\\x41\\U0001F600\"\n'single': 'it''s'\n",
            "list:\n  -   a: 1\n      b:\n        - x\n  -\n    c: 2\n  - - nested\n",
            "k: a#b\nm: a, b [c] {d}\nn: true\no: 0x1F\np: 0o17\nq: .5\nr: -\n",
            "200: ok\ntrue: yes\nnull: nothing\n",
        ];
        for text in cases {
            agrees(text).unwrap();
        }
        assert_eq!(
            read(cases[0]),
            Some(
                json!({"a": 1, "b": ["x", "y", "z's", -2, 1500.0], "f": {"type": "string", "enum": ["a", "b"], "x": {}}, "c": ["p", {"q": "r", "s": null}], "d": {}, "e": []})
            )
        );
        // Declined: left to saphyr.
        for text in [
            "a: &x 1\nb: *x\n",
            "a: |\n  text\n",
            "a: b\n  c\n",
            "a: 1\na: 2\n",
            "\tk: v\n",
            "a: 1\n---\nb: 2\n",
            "- - x\n",
            "a: b: c\n",
            "  a: 1\n",
            "k: \"open\n  close\"\n",
        ] {
            assert_eq!(read(text), None, "{text}");
        }
    }

    /// Every YAML file of the project (fixtures, examples, templates): read as saphyr reads
    /// it, or declined.
    #[test]
    fn the_projects_yaml_files_read_as_saphyr_reads_them() {
        fn visit(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if path.is_dir() && !matches!(name, "node_modules" | "target" | ".git") {
                    visit(&path, out);
                } else if name.ends_with(".yaml") || name.ends_with(".yml") {
                    out.push(path);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["fixtures", "examples", "templates"] {
            visit(&root.join(dir), &mut files);
        }
        assert!(files.len() > 20);
        let read_directly = files
            .iter()
            .filter(|f| agrees(&std::fs::read_to_string(f).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", f.display())))
            .count();
        assert!(read_directly > 0);
    }

    /// Keys near YAML's limit of 1,024 characters, plain, quoted and in flow mappings.
    #[test]
    fn long_keys_are_left_to_saphyr() {
        for n in [10, 990, 1000, 1020, 1024, 1025, 1100, 3000] {
            let key = "k".repeat(n);
            let texts = [
                format!("{key}: 1\n"),
                format!("\"{key}\": 1\n"),
                format!("- {key}: 1\n"),
                format!("a: {{{key}: 1}}\n"),
            ];
            for text in texts {
                agrees(&text).unwrap();
            }
        }
        assert!(agrees(&format!("{}: 1\n", "k".repeat(990))).unwrap());
    }

    proptest::proptest! {
        /// Any text of YAML's punctuation, letters, digits, spaces and line breaks.
        #[test]
        fn any_text_reads_as_saphyr_reads_it(text in "(key|- |: |[a-z0-9 ]|[\\[\\]{},:#&*!|>'\"\\-?~.]|\n  |\n|\t){0,80}") {
            proptest::prop_assert!(agrees(&text).is_ok(), "{}", agrees(&text).unwrap_err());
        }
    }

    /// Generated documents, in every style this reader takes and some it declines, and
    /// broken copies of them: whatever it returns equals saphyr's reading (and saphyr's
    /// events, read as `plain` reads them).
    #[test]
    fn generated_documents_read_as_saphyr_reads_them() {
        let mut rng = crate::sample::Rng::new(0x853c_49e6_748f_ea9bu64);
        let mut next = move |n: usize| rng.below(n);
        const WORDS: &[&str] = &[
            "a",
            "$ref",
            "with space",
            "true",
            "False",
            "null",
            "~",
            "1",
            "-7",
            "0x1F",
            "0o17",
            "1.5",
            "1e3",
            ".inf",
            ".NaN",
            "-x",
            "a:b",
            "a: b",
            "a #b",
            "a#b",
            "#c",
            "",
            " lead",
            "trail ",
            "<<",
            "é ✓",
            "ключ",
            "a'b",
            "a\"b",
            "tab\there",
            "- x",
            "? q",
            "[x]",
            "{y}",
            "a, b",
            "\\",
            "line\nbreak",
            "&a",
            "*b",
            "!t",
            "|",
            ">",
            "--- x",
            "...",
            "%d",
            "@",
            "`",
            "\u{85}",
            "\u{1}",
            "\u{7f}",
            "\u{feff}",
            "x:",
            "12:30",
            "0.0",
            "-0.0",
        ];
        let (mut accepted, mut total) = (0, 0);
        for _ in 0..20_000 {
            let value = Value::Object((0..1 + next(4)).map(|i| (format!("top{i}"), gen_value(&mut next, 1))).collect());
            let mut text = String::new();
            if next(4) == 0 {
                text.push_str("---\n");
            }
            write_block(&mut next, &value, 0, &mut text, WORDS);
            if next(8) == 0 {
                text = text.replace('\n', "\r\n");
            }
            let broken = next(4) == 0;
            if broken {
                for _ in 0..1 + next(3) {
                    let at =
                        (0..=text.len()).filter(|&i| text.is_char_boundary(i)).nth(next(text.len() + 1)).unwrap_or(0);
                    let bits = [" ", ":", "-", "#", "\t", "\"", "'", "\n", "[", "]", "&", "|", "  ", "\n  ", "- "];
                    if next(2) == 0 {
                        text.insert_str(at, bits[next(bits.len())]);
                    } else if let Some(c) = text[at..].chars().next() {
                        text.replace_range(at..at + c.len_utf8(), "");
                    }
                }
            }
            total += usize::from(!broken);
            if agrees(&text).unwrap_or_else(|e| panic!("{e}")) {
                accepted += usize::from(!broken);
                let e = events(&text);
                let text_of = |v: Option<Value>| v.as_ref().map(as_text);
                assert!(e.is_none() || text_of(e) == text_of(read(&text)), "events differ:\n{text}");
            }
        }
        // Many of the unbroken documents are ones the reader takes (the others reach saphyr).
        assert!(accepted * 3 > total, "only {accepted} of {total} unbroken generated documents read");

        fn gen_value(next: &mut dyn FnMut(usize) -> usize, depth: usize) -> Value {
            match next(if depth >= 4 { 4 } else { 7 }) {
                0 if next(3) == 0 => Value::from(WORDS_VALUES[next(WORDS_VALUES.len())]),
                1 => json!(next(1000) as i64 - 500),
                2 => [json!(true), json!(false), Value::Null, json!(2.5)][next(4)].clone(),
                3 => Value::from(["plain", "x y", "ok"][next(3)]),
                4 | 5 => Value::Object((0..next(4)).map(|i| (format!("k{i}"), gen_value(next, depth + 1))).collect()),
                _ => Value::Array((0..next(4)).map(|_| gen_value(next, depth + 1)).collect()),
            }
        }
        const WORDS_VALUES: &[&str] = WORDS;
    }

    /// A key or scalar, written plain (as is, even where YAML reads it otherwise), double
    /// quoted (escaped, some characters as `\u`), or single quoted.
    fn scalar(next: &mut dyn FnMut(usize) -> usize, v: &Value, words: &[&str]) -> String {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Null => return ["null", "~", ""][next(3)].to_string(),
            other => return other.to_string(),
        };
        let s = if next(12) == 0 { words[next(words.len())].to_string() } else { s.to_string() };
        match next(3) {
            0 => s,
            1 => {
                let mut out = String::from("\"");
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\t' if next(2) == 0 => out.push_str("\\t"),
                        c if !c.is_ascii() && next(2) == 0 => out.push_str(&format!("\\u{:04x}", c as u32 & 0xffff)),
                        c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
                        c => out.push(c),
                    }
                }
                out.push('"');
                out
            }
            _ => format!("'{}'", s.replace('\'', "''")),
        }
    }

    fn comment(next: &mut dyn FnMut(usize) -> usize) -> &'static str {
        ["", "", "", " # note", "  #x", " ", "#tight"][next(7)]
    }

    fn write_block(next: &mut dyn FnMut(usize) -> usize, v: &Value, indent: usize, out: &mut String, words: &[&str]) {
        let pad = " ".repeat(indent);
        let step = [2, 2, 4, 1, 3][next(5)];
        match v {
            Value::Object(map) if !map.is_empty() => {
                for (k, child) in map {
                    if next(10) == 0 {
                        out.push_str(&format!("{pad}# between\n\n"));
                    }
                    let key = scalar(next, &Value::String(k.clone()), words);
                    out.push_str(&format!("{pad}{key}:"));
                    write_value(next, child, indent, step, out, words, true);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for item in items {
                    out.push_str(&format!("{pad}-"));
                    match item {
                        Value::Object(m) if !m.is_empty() && next(2) == 0 => {
                            // Compact: `- key: value`, the other keys at the key's column.
                            let mut first = String::new();
                            write_block(next, item, indent + 2, &mut first, words);
                            out.push(' ');
                            out.push_str(&first[indent + 2..]);
                        }
                        _ => write_value(next, item, indent, step, out, words, false),
                    }
                }
            }
            other => {
                let text = inline_text(next, other, words);
                out.push_str(&format!("{pad}{text}\n"));
            }
        }
    }

    /// The value after `key:` or `-` at `indent`: inline, or as a block below.
    fn write_value(
        next: &mut dyn FnMut(usize) -> usize,
        v: &Value,
        indent: usize,
        step: usize,
        out: &mut String,
        words: &[&str],
        in_map: bool,
    ) {
        let nested = matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty());
        if nested && next(3) != 0 {
            out.push_str(comment(next));
            out.push('\n');
            // A mapping's sequence may sit at the key's own column.
            let at = if in_map && v.is_array() && next(3) == 0 { indent } else { indent + step };
            write_block(next, v, at, out, words);
        } else {
            out.push(' ');
            out.push_str(&inline_text(next, v, words));
            out.push_str(comment(next));
            out.push('\n');
        }
    }

    /// A value on one line: a scalar, or a flow collection (nested ones too).
    fn inline_text(next: &mut dyn FnMut(usize) -> usize, v: &Value, words: &[&str]) -> String {
        let sep = [", ", ",", " , "][next(3)];
        match v {
            Value::Array(items) => {
                let parts: Vec<String> = items.iter().map(|i| inline_text(next, i, words)).collect();
                format!("[{}]", parts.join(sep))
            }
            Value::Object(map) => {
                let parts: Vec<String> = map
                    .iter()
                    .map(|(k, v)| {
                        let key = scalar(next, &Value::String(k.clone()), words);
                        format!("{key}{}{}", [": ", ":", " : ", ":  "][next(4)], inline_text(next, v, words))
                    })
                    .collect();
                let pad = [" ", ""][next(2)];
                format!("{{{pad}{}{pad}}}", parts.join(sep))
            }
            other => scalar(next, other, words),
        }
    }
}
