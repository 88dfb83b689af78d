//! JSON → value with positions: serde_json parses (strictly, with good errors), then a scan
//! of the already-valid text records where each node and key starts and ends.

use crate::value::Value;

use super::{MAX_DEPTH, Members, SyntaxError};
use crate::source::{NodeSpan, PosMap, Span, pointer_push};

pub(super) fn parse(text: &str) -> Result<Value, SyntaxError> {
    match serde_json::from_str::<Strict>(text) {
        Ok(Strict(v)) => Ok(v),
        // Find the exact position of the second key (serde_json reports the end of its value).
        Err(e) if e.to_string().starts_with(DUPLICATE) => Err(scan(text).err().unwrap_or_else(|| {
            SyntaxError::new(offset_of(text, e.line(), e.column()), strip_position(&e.to_string()))
        })),
        Err(e) => Err(SyntaxError::new(offset_of(text, e.line(), e.column()), strip_position(&e.to_string()))),
    }
}

/// The position of every node of valid JSON text.
pub(super) fn positions(text: &str) -> PosMap {
    scan(text).unwrap_or_default()
}

fn scan(text: &str) -> Result<PosMap, SyntaxError> {
    let mut scan = Scanner { text: text.as_bytes(), pos: 0, positions: PosMap::default() };
    scan.value(String::new(), None, 0)?;
    Ok(scan.positions)
}

const DUPLICATE: &str = "duplicated key";

/// A JSON value that refuses duplicate keys (serde_json's `Value` keeps the last silently).
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut members = Members::default();
        serde::de::DeserializeSeed::deserialize(Node(&mut members), d).map(Strict)
    }
}

/// Parses one value, its containers' members gathered on the shared [`Members`].
struct Node<'s>(&'s mut Members);

impl<'de> serde::de::DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(crate::value::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string().into()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v.into()))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let members = self.0;
        let base = members.open();
        while let Some(v) = seq.next_element_seed(Node(members))? {
            members.push(String::new(), v);
        }
        Ok(members.array(base))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let members = self.0;
        let base = members.open();
        while let Some(key) = map.next_key::<String>()? {
            let v = map.next_value_seed(Node(members))?;
            members.push(key, v);
        }
        members.object(base).map_err(|key| serde::de::Error::custom(format!("{DUPLICATE} `{key}`")))
    }
}

/// serde_json's messages end with " at line L column C"; the position is shown separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Byte offset of serde_json's 1-based line and column.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    if line == 0 {
        return 0;
    }
    let start: usize = text.split_inclusive('\n').take(line - 1).map(str::len).sum();
    (start + column.saturating_sub(1)).min(text.len())
}

struct Scanner<'a> {
    text: &'a [u8],
    pos: usize,
    positions: PosMap,
}

impl Scanner<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.text.len() && matches!(self.text[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn peek(&self) -> u8 {
        self.text.get(self.pos).copied().unwrap_or(0)
    }

    fn value(&mut self, pointer: String, key: Option<Span>, depth: usize) -> Result<(), SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(SyntaxError::new(self.pos, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            b'{' => {
                self.pos += 1;
                let mut seen = std::collections::HashSet::new();
                loop {
                    self.skip_ws();
                    if self.peek() == b'}' {
                        self.pos += 1;
                        break;
                    }
                    let kstart = self.pos;
                    let name = self.string();
                    let kspan = Span::new(kstart, self.pos);
                    if !seen.insert(name.clone()) {
                        return Err(SyntaxError::duplicate_key(kstart, &name));
                    }
                    self.skip_ws();
                    self.pos += 1; // ':'
                    self.value(pointer_push(&pointer, &name), Some(kspan), depth + 1)?;
                    self.skip_ws();
                    if self.peek() == b',' {
                        self.pos += 1;
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                let mut i = 0usize;
                loop {
                    self.skip_ws();
                    if self.peek() == b']' {
                        self.pos += 1;
                        break;
                    }
                    self.value(pointer_push(&pointer, &i.to_string()), None, depth + 1)?;
                    i += 1;
                    self.skip_ws();
                    if self.peek() == b',' {
                        self.pos += 1;
                    }
                }
            }
            b'"' => {
                self.string();
            }
            _ => {
                while self.pos < self.text.len()
                    && !matches!(self.text[self.pos], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                {
                    self.pos += 1;
                }
            }
        }
        self.positions.insert(pointer, NodeSpan { key, value: Span::new(start, self.pos) });
        Ok(())
    }

    /// A string token at the cursor, decoded (the text is known to be valid JSON).
    fn string(&mut self) -> String {
        let start = self.pos;
        self.pos += 1;
        let mut escaped = false;
        while self.pos < self.text.len() && self.text[self.pos] != b'"' {
            if self.text[self.pos] == b'\\' {
                escaped = true;
                self.pos += 1;
            }
            self.pos += 1;
        }
        self.pos = (self.pos + 1).min(self.text.len());
        let raw = std::str::from_utf8(&self.text[start..self.pos]).unwrap_or("\"\"");
        if escaped {
            serde_json::from_str(raw).unwrap_or_default()
        } else {
            raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default().to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keys_and_values() {
        let text = "{\n  \"a\": [1, {\"b/c\": \"x\\\"y\"}],\n  \"d\": null\n}";
        let v = parse(text).unwrap();
        let pos = positions(text);
        assert_eq!(v["a"][1]["b/c"], "x\"y");
        let node = pos.get("/a/1/b~1c").unwrap();
        assert_eq!(&text[node.key.unwrap().start..node.key.unwrap().end], "\"b/c\"");
        assert_eq!(&text[node.value.start..node.value.end], "\"x\\\"y\"");
        let d = pos.get("/d").unwrap();
        assert_eq!(&text[d.value.start..d.value.end], "null");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse("{\"a\": 1, \"a\": 2}").unwrap_err();
        assert_eq!((e.code, e.offset), ("duplicate-key", 9));
    }

    #[test]
    fn reports_syntax_errors_with_offset() {
        let e = parse("{\n  \"a\": 1,\n}").unwrap_err();
        assert!(e.message.contains("trailing comma"), "{}", e.message);
        assert_eq!(e.offset, 12);
    }
}
