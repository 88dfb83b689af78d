//! YAML → JSON value with positions, through saphyr's `MarkedYaml`; plain documents, when no
//! positions are wanted, straight from saphyr's events.

use crate::value::{Map, Number, Str, Value};
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use saphyr_parser::Event;

use super::{MAX_DEPTH, Members, SyntaxError};
use crate::source::{NodeSpan, PosMap, SourceFile, Span, pointer_push};

/// Parse to a value; with `track`, also record every node's position.
pub(super) fn parse(file: &SourceFile, track: bool) -> Result<(Value, PosMap), SyntaxError> {
    // Block-style documents are read straight from the text (its depth bounded there).
    if !track && let Some(value) = super::block::read(file.text()) {
        return Ok((value, PosMap::default()));
    }
    if let Some(offset) = too_deep(file.text()) {
        return Err(SyntaxError::new(offset, format!("nesting deeper than {MAX_DEPTH} levels")));
    }
    if !track && let Some(value) = plain(file.text()) {
        return Ok((value, PosMap::default()));
    }
    tree(file, track)
}

/// saphyr's reading of `text` (its node tree), `None` where it finds an error: what the
/// direct readers are held to.
#[cfg(test)]
pub(super) fn saphyr(text: &str) -> Option<Value> {
    let file = SourceFile::new("t.yaml".into(), "t.yaml".into(), text.to_string());
    tree(&file, false).ok().map(|(v, _)| v)
}

/// saphyr's events read as `plain` does, for comparison.
#[cfg(test)]
pub(super) fn events(text: &str) -> Option<Value> {
    plain(text)
}

/// Through saphyr's node tree, which knows every node's span and reads all of YAML.
fn tree(file: &SourceFile, track: bool) -> Result<(Value, PosMap), SyntaxError> {
    let text = file.text();
    // saphyr counts in characters; spans are kept in bytes.
    let offsets = if text.is_ascii() { None } else { Some(file.char_to_byte()) };
    let byte = |index: usize| match &offsets {
        None => index.min(text.len()),
        Some(o) => o.get(index).copied().unwrap_or(text.len()),
    };
    let docs = MarkedYaml::load_from_str(text).map_err(|e| {
        let offset = byte(e.marker().index());
        match e.info() {
            i if i.starts_with("duplicated key") => {
                SyntaxError { code: "duplicate-key", ..SyntaxError::new(offset, "duplicated key in mapping") }
            }
            i => SyntaxError::new(offset, i),
        }
    })?;
    let mut conv = Converter { byte: &byte, positions: PosMap::default(), track };
    let value = match docs.as_slice() {
        [] => {
            conv.positions.insert(String::new(), NodeSpan::default());
            Value::Null
        }
        [doc] => conv.node(doc, String::new(), None, 0)?,
        [_, second, ..] => {
            return Err(SyntaxError::new(
                byte(second.span.start.index()),
                "expected one YAML document, found several (`---`)",
            ));
        }
    };
    Ok((value, conv.positions))
}

struct Converter<'a> {
    byte: &'a dyn Fn(usize) -> usize,
    positions: PosMap,
    track: bool,
}

impl Converter<'_> {
    fn child(&self, pointer: &str, token: &str) -> String {
        if self.track { pointer_push(pointer, token) } else { String::new() }
    }

    fn span(&self, node: &MarkedYaml) -> Span {
        Span::new((self.byte)(node.span.start.index()), (self.byte)(node.span.end.index()))
    }

    fn error(&self, node: &MarkedYaml, message: impl Into<String>) -> SyntaxError {
        SyntaxError::new(self.span(node).start, message)
    }

    fn node(
        &mut self,
        node: &MarkedYaml,
        pointer: String,
        key: Option<Span>,
        depth: usize,
    ) -> Result<Value, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error(node, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let span = self.span(node);
        let value = match &node.data {
            YamlData::Value(s) => self.scalar(node, s)?,
            YamlData::Sequence(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let p = self.child(&pointer, &i.to_string());
                    out.push(self.node(item, p, None, depth + 1)?);
                }
                Value::Array(out)
            }
            YamlData::Mapping(map) => {
                let mut out = Map::with_capacity(map.len());
                for (k, v) in map.iter() {
                    let name = self.key(k)?;
                    let p = self.child(&pointer, &name);
                    let value = self.node(v, p, Some(self.span(k)), depth + 1)?;
                    if out.insert(name.clone().into(), value).is_some() {
                        return Err(SyntaxError::duplicate_key(self.span(k).start, &name));
                    }
                }
                Value::Object(out)
            }
            YamlData::Tagged(_, inner) => return self.node(inner, pointer, key, depth + 1),
            YamlData::Representation(raw, _, _) => Value::String(raw.to_string().into()),
            YamlData::Alias(_) => return Err(self.error(node, "unresolved YAML alias")),
            YamlData::BadValue => {
                return Err(self.error(node, "this scalar does not match its tag"));
            }
        };
        if self.track {
            self.positions.insert(pointer, NodeSpan { key, value: span });
        }
        Ok(value)
    }

    fn scalar(&self, node: &MarkedYaml, s: &Scalar) -> Result<Value, SyntaxError> {
        scalar_value(s).ok_or_else(|| self.error(node, "`.nan` and `.inf` cannot be represented in JSON"))
    }

    fn key(&self, k: &MarkedYaml) -> Result<String, SyntaxError> {
        match &k.data {
            YamlData::Value(s) => Ok(key_text(s).into()),
            YamlData::Representation(raw, _, _) => Ok(raw.to_string()),
            YamlData::Tagged(_, inner) => self.key(inner),
            _ => Err(self.error(k, "only scalar mapping keys are supported")),
        }
    }
}

/// A scalar as JSON: `None` for `.nan` and `.inf`, which JSON has no number for.
pub(super) fn scalar_value(s: &Scalar) -> Option<Value> {
    Some(match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Number((*i).into()),
        Scalar::FloatingPoint(f) => Value::Number(Number::from_f64(f.into_inner())?),
        Scalar::String(s) => Value::String(Str::from(s.as_ref())),
    })
}

/// Mapping keys become strings; scalar keys that YAML reads as numbers or booleans keep
/// their text (`200:` is the key "200"), as JSON has only string keys.
pub(super) fn key_text(s: &Scalar) -> Str {
    match s {
        Scalar::String(s) => Str::from(s.as_ref()),
        Scalar::Integer(i) => i.to_string().into(),
        Scalar::Boolean(b) => b.to_string().into(),
        Scalar::FloatingPoint(f) => f.to_string().into(),
        Scalar::Null => "null".into(),
    }
}

/// The value of a plain document, built straight from saphyr's events: one document of
/// mappings, sequences and untagged scalars, with no anchor, alias, complex or float key,
/// duplicated key, or anything that is an error. Most definitions are just that, and building the value
/// this way takes half the time and memory of building saphyr's node tree first. `None` for
/// anything else: the node tree then reads it, and reports what is wrong.
fn plain(text: &str) -> Option<Value> {
    enum Frame {
        Seq(usize),
        /// Where its members start, and the key whose value comes next.
        Map(usize, Option<Str>),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut members = Members::default();
    let mut done: Option<Value> = None;
    let mut documents = 0;
    for event in saphyr_parser::Parser::new_from_str(text) {
        let (event, _) = event.ok()?;
        let expecting_key = matches!(stack.last(), Some(Frame::Map(_, None)));
        let value = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => continue,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return None;
                }
                continue;
            }
            Event::Alias(_) => return None,
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag)
                if anchor > 0 || tag.is_some() || expecting_key || stack.len() >= MAX_DEPTH =>
            {
                return None;
            }
            Event::SequenceStart(..) => {
                stack.push(Frame::Seq(members.open()));
                continue;
            }
            Event::MappingStart(..) => {
                stack.push(Frame::Map(members.open(), None));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop()? {
                Frame::Seq(base) => members.array(base),
                Frame::Map(base, None) => members.object(base).ok()?,
                Frame::Map(_, Some(_)) => return None,
            },
            Event::Scalar(v, style, anchor, tag) => {
                if anchor > 0 || tag.is_some() {
                    return None;
                }
                let scalar = Scalar::parse_from_cow_and_metadata(v, style, None)?;
                if expecting_key {
                    // saphyr finds duplicated keys by value, and `0.0` equals `-0.0` while
                    // their texts differ: float keys are left to the node tree.
                    if matches!(scalar, Scalar::FloatingPoint(_)) {
                        return None;
                    }
                    if let Some(Frame::Map(_, key)) = stack.last_mut() {
                        *key = Some(key_text(&scalar));
                    }
                    continue;
                }
                scalar_value(&scalar)?
            }
        };
        match stack.last_mut() {
            Some(Frame::Seq(_)) => members.push(String::new(), value),
            Some(Frame::Map(_, key)) => members.push(key.take()?, value),
            None if done.is_none() => done = Some(value),
            None => return None,
        }
    }
    done
}

/// A cheap upper bound on nesting, checked before the parser runs: saphyr's recursion would
/// overflow the stack on pathological input (thousands of levels) before our own depth check.
/// Counts open flow brackets plus the stack of block indentation (and `- ` prefixes); only
/// absurd documents exceed twice the real limit. Returns where the limit was crossed.
fn too_deep(text: &str) -> Option<usize> {
    let limit = 2 * MAX_DEPTH;
    let mut indents: Vec<usize> = Vec::new();
    let mut flow: usize = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        if !body.trim().is_empty() && !body.starts_with('#') && flow == 0 {
            while indents.last().is_some_and(|&i| i >= indent) {
                indents.pop();
            }
            indents.push(indent);
            // The `- ` prefixes, as `split("- ")` counts its leading empty pieces.
            let rest = body.trim_start_matches("- ");
            let dashes = (body.len() - rest.len()) / 2 + usize::from(rest.is_empty() && body.len() > rest.len());
            if indents.len() + dashes > limit {
                return Some(offset + indent);
            }
        }
        for (i, b) in body.bytes().enumerate() {
            match b {
                b'[' | b'{' => {
                    flow += 1;
                    if indents.len() + flow > limit {
                        return Some(offset + indent + i);
                    }
                }
                b']' | b'}' => flow = flow.saturating_sub(1),
                _ => {}
            }
        }
        offset += line.len();
    }
    None
}

/// A plain-language hint for a YAML syntax error: what usually causes the parser's message
/// (`message`) at `offset` of `text`. The parser's own position is kept by the caller.
pub fn hint(text: &str, offset: usize, message: &str) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[line_start..line_end];
    let previous = text[..line_start.saturating_sub(1)].rsplit('\n').next().unwrap_or("");
    let indent = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    if line[..indent(line)].contains('\t') || previous[..indent(previous)].contains('\t') || message.contains("tab") {
        return Some("YAML does not allow tabs for indentation: indent with spaces".into());
    }
    let quotes = |c: char| line.matches(c).count() % 2 == 1;
    if message.contains("quoted scalar") || (message.contains("end of stream") && (quotes('"') || quotes('\''))) {
        return Some("a quoted string is not closed: add the closing quote".into());
    }
    if message.contains("flow mapping") || message.contains("flow sequence") {
        return Some("a `{ … }` or `[ … ]` is not closed, or two of its items lack a `,` between them".into());
    }
    if message.contains("mapping values are not allowed") {
        return Some(
            "a value holds `: ` (a colon and a space), which YAML reads as a new key: quote the value (\"a: b\"), or check that this key is indented under the right parent"
                .into(),
        );
    }
    if message.contains("did not find expected key")
        || message.contains("block mapping")
        || message.contains("block sequence")
    {
        let (here, before) = (indent(line), indent(previous));
        return Some(format!(
            "the keys of one mapping must start in the same column: this line is indented {here} space(s), the line above {before}; indent it like its siblings"
        ));
    }
    None
}

// Where the tests find the AsyncAPI examples (written elsewhere, not in the repository).
#[cfg(test)]
#[path = "../../tests/support/corpus.rs"]
mod corpus;

#[cfg(test)]
mod tests {
    use super::*;

    /// The node tree's reading, as JSON text: equal texts mean equal values with their keys in
    /// the same order (and `-0.0` apart from `0.0`), which comparing values would not check.
    fn by_tree(text: &str) -> Result<String, String> {
        let file = SourceFile::new("t.yaml".into(), "t.yaml".into(), text.to_string());
        tree(&file, false).map(|(v, _)| v.to_string()).map_err(|e| e.message)
    }

    fn by_plain(text: &str) -> Option<String> {
        plain(text).map(|v| v.to_string())
    }

    /// Texts `plain` builds (they read alike both ways), and texts it must leave to the tree.
    #[test]
    fn plain_takes_plain_documents_and_leaves_the_rest() {
        for text in [
            "a: 1\nb: [x, 'y', \"z\"]\nc: {d: ~, e: true, f: -1.5e3}\n",
            "200: ok\n\"201\": created\ntrue: yes\n~: nothing\n",
            "z: 1\na: 2\nm: 3\n",
            "k: -0.0\nl: 0.0\n",
            "---\nlong_key_beyond_sixteen_characters: a plain scalar that runs on\n  over two lines\n",
            "block: |\n              deep\n              indent\nfolded: >-\n  x\n  y\n",
            "\u{feff}a: b\r\nc: d\r\n",
            "é: ü\n",
            "just a scalar\n",
            "---\n",
            "[a: b, c]\n",
        ] {
            let built = by_plain(text);
            assert!(built.is_some(), "{text:?} is plain");
            assert_eq!(built.ok_or_else(String::new), by_tree(text), "{text:?}");
        }
        for text in [
            "0.0: a\n-0.0: b\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: 1\na: 2\n",
            "? [a]\n: b\n",
            "a: .nan\n",
            "a: 1\n---\nb: 2\n",
            "a: 1\n...\nb: 2\n",
            "%YAML 1.2\n---\na: [\n",
            "",
            "# only a comment\n",
        ] {
            assert_eq!(by_plain(text), None, "{text:?}");
        }
    }

    /// What `plain` builds is what the node tree reads, for every YAML file of the project's
    /// fixtures and of the AsyncAPI examples; and it does build the valid fixtures.
    #[test]
    fn plain_documents_read_as_the_node_tree_reads_them() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        let mut dirs = vec![root.join("fixtures"), root.join("examples")];
        dirs.extend(super::corpus::corpus("asyncapi-examples", "plain_documents_read_as_the_node_tree_reads_them"));
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() && !path.ends_with("node_modules") {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    files.push(path);
                }
            }
        }
        assert!(files.len() > 50, "{} YAML files", files.len());
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            match by_plain(&text) {
                Some(value) => assert_eq!(Ok(value), by_tree(&text), "{}", path.display()),
                None => assert!(!path.starts_with(root.join("fixtures/valid")), "{} not plain", path.display()),
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// Never a value the node tree would not read the same: made-up documents with
        /// anchors, aliases, tags, quoting, special numbers, duplicated and complex keys,
        /// several documents.
        #[test]
        fn plain_builds_only_what_the_node_tree_reads_alike(lines in proptest::collection::vec(line(), 0..12)) {
            let text = lines.concat();
            if let Some(value) = by_plain(&text) {
                proptest::prop_assert_eq!(Ok(value), by_tree(&text), "{:?}", text);
            }
        }
    }

    fn line() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let indent = prop::sample::select(vec!["", "  ", "    ", "- ", "  - "]);
        // Different spellings of one key (`31`, `0x1F`, `+31`; `0.0`, `-0.0`; `true`, `True`)
        // as well as odd ones.
        let key = prop::sample::select(vec![
            "a", "b", "200", "\"200\"", "true", "True", "null", "~", "1.5", "1.50", "0.0", "-0.0", "1e3", "1000", "31",
            "0x1F", "+31", "\"q\"", "'s'", "? x", "[k]", "{k: v}", "a b", "-1", "é", "a\tb",
        ]);
        let value = prop::sample::select(vec![
            "",
            " 1",
            " -2",
            " 0o17",
            " 1e3",
            " .inf",
            " .nan",
            " ~",
            " null",
            " true",
            " False",
            " yes",
            " 'x'",
            " \"y\"",
            " &a 1",
            " *a",
            " !!str 5",
            " !t v",
            " [1, 2]",
            " {c: d}",
            " |\n  text",
            " >-\n  folded",
            " # comment",
            " x # c",
            " 1:2",
            " @",
            " `",
            " \"\\u00e9\"",
            " é",
        ]);
        let sep = prop::sample::select(vec![":", ""]);
        prop_oneof![
            (indent, key, sep, value).prop_map(|(i, k, s, v)| format!("{i}{k}{s}{v}\n")),
            prop::sample::select(vec![
                "---\n",
                "...\n",
                "\n",
                "\r\n",
                "# only a comment\n",
                "- x\n",
                "[a, b]\n",
                "[a: b]\n",
                "--- x\n",
                "%YAML 1.2\n",
                "\u{feff}",
                "\t",
                "  continued plain text\n",
            ])
            .prop_map(String::from),
        ]
    }

    #[test]
    fn refuses_absurd_nesting_before_parsing() {
        assert!(too_deep(&"[".repeat(1000)).is_some());
        let block: String = (0..1000).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
        assert!(too_deep(&block).is_some());
        assert!(too_deep("a:\n  b: [1, {c: d}]\n  e:\n    - - f\n").is_none());
    }
}
