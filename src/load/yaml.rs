//! YAML → JSON value with positions, through saphyr's `MarkedYaml`.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use serde_json::{Map, Number, Value};

use super::{MAX_DEPTH, SyntaxError};
use crate::source::{NodeSpan, PosMap, SourceFile, Span, pointer_push};

/// Parse to a value; with `track`, also record every node's position.
pub(super) fn parse(file: &SourceFile, track: bool) -> Result<(Value, PosMap), SyntaxError> {
    let text = &file.text;
    // saphyr counts in characters; spans are kept in bytes.
    let offsets = if text.is_ascii() { None } else { Some(file.char_to_byte()) };
    let byte = |index: usize| match &offsets {
        None => index.min(text.len()),
        Some(o) => o.get(index).copied().unwrap_or(text.len()),
    };
    if let Some(offset) = too_deep(text) {
        return Err(SyntaxError::new(offset, format!("nesting deeper than {MAX_DEPTH} levels")));
    }
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
                    if out.insert(name.clone(), value).is_some() {
                        return Err(SyntaxError::duplicate_key(self.span(k).start, &name));
                    }
                }
                Value::Object(out)
            }
            YamlData::Tagged(_, inner) => return self.node(inner, pointer, key, depth + 1),
            YamlData::Representation(raw, _, _) => Value::String(raw.to_string()),
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
        Ok(match s {
            Scalar::Null => Value::Null,
            Scalar::Boolean(b) => Value::Bool(*b),
            Scalar::Integer(i) => Value::Number((*i).into()),
            Scalar::FloatingPoint(f) => match Number::from_f64(f.into_inner()) {
                Some(n) => Value::Number(n),
                None => {
                    return Err(self.error(node, "`.nan` and `.inf` cannot be represented in JSON"));
                }
            },
            Scalar::String(s) => Value::String(s.to_string()),
        })
    }

    /// Mapping keys become strings; scalar keys that YAML reads as numbers or booleans keep
    /// their text (`200:` is the key "200"), as JSON has only string keys.
    fn key(&self, k: &MarkedYaml) -> Result<String, SyntaxError> {
        match &k.data {
            YamlData::Value(Scalar::String(s)) => Ok(s.to_string()),
            YamlData::Value(Scalar::Integer(i)) => Ok(i.to_string()),
            YamlData::Value(Scalar::Boolean(b)) => Ok(b.to_string()),
            YamlData::Value(Scalar::FloatingPoint(f)) => Ok(f.to_string()),
            YamlData::Value(Scalar::Null) => Ok("null".into()),
            YamlData::Representation(raw, _, _) => Ok(raw.to_string()),
            YamlData::Tagged(_, inner) => self.key(inner),
            _ => Err(self.error(k, "only scalar mapping keys are supported")),
        }
    }
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
            let dashes = body.split("- ").take_while(|s| s.is_empty()).count();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_absurd_nesting_before_parsing() {
        assert!(too_deep(&"[".repeat(1000)).is_some());
        let block: String = (0..1000).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
        assert!(too_deep(&block).is_some());
        assert!(too_deep("a:\n  b: [1, {c: d}]\n  e:\n    - - f\n").is_none());
    }
}
