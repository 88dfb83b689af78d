//! JSON read straight into values, a large document in two halves at once.
//!
//! Building the tree (a vector of members per object, a key each) is most of loading JSON,
//! and it is the same work in either half of a document. So while this thread reads the
//! document from the start, a second one reads the members of an object from a point near the
//! middle: the start of a member after a comma, on the least indented such line nearby (in
//! pretty-printed JSON, a member of an outer object). When this thread reaches exactly that
//! point, in an object after a comma, it takes the second thread's members and goes on after
//! them: reading from the same point in the same state gives the same members. If it never
//! does (the point was inside a string, say), the second thread's work is dropped.
//!
//! Anything unusual is declined (`None`) and serde_json reads the document, as before, and
//! reports what is wrong: an error of any kind, a duplicated key, nesting deeper than
//! [`MAX_DEPTH`]. Strings with escapes and numbers are read by serde_json itself, so they come
//! out exactly as serde_json reads them; a test holds the two readers equal on generated
//! documents.

use crate::value::{Str, Value};

use super::{MAX_DEPTH, Members};

/// The document's value, or `None` to leave it to serde_json.
pub(super) fn read(text: &str) -> Option<Value> {
    read_split(text, super::split_size())
}

/// [`read`], splitting documents of `split_at` bytes or more.
fn read_split(text: &str, split_at: usize) -> Option<Value> {
    let point = (text.len() >= split_at).then(|| split_point(text)).flatten();
    let Some(point) = point else { return Reader::new(text).document(None) };
    std::thread::scope(|s| {
        let second = s.spawn(move || {
            let mut r = Reader::new(text);
            r.pos = point;
            r.members_to_end().map(|members| Taken { members, end: r.pos, depth: r.deepest })
        });
        let handoff = Handoff { at: point, second: Some(second) };
        Reader::new(text).document(Some(handoff))
    })
}

/// Where a member of an object seems to start, after the middle of `text`: the first
/// character of the least indented line that starts with `"` after a line ending in `,`.
fn split_point(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mid = text.len() / 2;
    let end = (mid + super::SPLIT_WINDOW).min(text.len());
    let mut best: Option<(usize, usize)> = None;
    let mut line = mid + bytes[mid..end].iter().position(|&b| b == b'\n')? + 1;
    while line < end {
        let indent = bytes[line..end].iter().take_while(|&&b| b == b' ').count();
        let start = line + indent;
        let before = bytes[..line].iter().rev().find(|b| !b" \t\r\n".contains(b));
        if bytes.get(start) == Some(&b'"') && before == Some(&b',') && best.is_none_or(|(i, _)| indent < i) {
            best = Some((indent, start));
        }
        line = match bytes[line..end].iter().position(|&b| b == b'\n') {
            Some(i) => line + i + 1,
            None => break,
        };
    }
    best.map(|(_, start)| start)
}

/// The second thread's members, read from the split point to the end of their object.
struct Taken {
    members: Vec<(Str, Value)>,
    /// Just past the object's closing brace.
    end: usize,
    /// The deepest nesting below the object.
    depth: usize,
}

/// Where the second thread started, and its work until taken.
struct Handoff<'s> {
    at: usize,
    second: Option<std::thread::ScopedJoinHandle<'s, Option<Taken>>>,
}

struct Reader<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    members: Members,
    depth: usize,
    deepest: usize,
}

impl<'t> Reader<'t> {
    fn new(text: &'t str) -> Self {
        Reader { text, bytes: text.as_bytes(), pos: 0, members: Members::default(), depth: 0, deepest: 0 }
    }

    fn document(mut self, mut handoff: Option<Handoff>) -> Option<Value> {
        let value = self.value(&mut handoff)?;
        self.ws();
        (self.pos == self.bytes.len()).then_some(value)
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        self.ws();
        (self.bytes.get(self.pos) == Some(&b)).then(|| self.pos += 1)
    }

    fn value(&mut self, handoff: &mut Option<Handoff>) -> Option<Value> {
        self.ws();
        match *self.bytes.get(self.pos)? {
            b'{' => self.object(handoff),
            b'[' => self.array(handoff),
            b'"' => self.string().map(Value::String),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Option<Value> {
        self.text[self.pos..].starts_with(word).then(|| {
            self.pos += word.len();
            value
        })
    }

    /// A number, as serde_json reads it.
    fn number(&mut self) -> Option<Value> {
        let start = self.pos;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
        serde_json::from_str::<serde_json::Number>(&self.text[start..self.pos]).ok().map(Value::Number)
    }

    /// A string: copied when it has no escapes, else read by serde_json.
    fn string(&mut self) -> Option<Str> {
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            match *self.bytes.get(i)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    i += 2;
                }
                0..=0x1f => return None,
                _ => i += 1,
            }
        }
        self.pos = i + 1;
        if escaped {
            serde_json::from_str::<String>(&self.text[start - 1..=i]).ok().map(Str::from)
        } else {
            Some(Str::from(&self.text[start..i]))
        }
    }

    fn enter(&mut self) -> Option<()> {
        self.pos += 1;
        self.depth += 1;
        self.deepest = self.deepest.max(self.depth);
        // serde_json refuses the 128th container nested inside the others.
        (self.depth < MAX_DEPTH).then_some(())
    }

    fn array(&mut self, handoff: &mut Option<Handoff>) -> Option<Value> {
        let base = self.container(b']', false, handoff)?;
        Some(self.members.array(base))
    }

    fn object(&mut self, handoff: &mut Option<Handoff>) -> Option<Value> {
        let base = self.container(b'}', true, handoff)?;
        self.members.object(base).ok()
    }

    /// The items of an array or the members of an object (`keyed`) up to `close`, pushed as
    /// members from the position returned. A value may hold the split point; the point itself
    /// may be a member of this object.
    fn container(&mut self, close: u8, keyed: bool, handoff: &mut Option<Handoff>) -> Option<usize> {
        self.enter()?;
        let base = self.members.open();
        self.ws();
        if self.bytes.get(self.pos) == Some(&close) {
            self.pos += 1;
        } else {
            loop {
                let key = if keyed { self.key()? } else { Str::default() };
                let v = self.value(handoff)?;
                self.members.push(key, v);
                self.ws();
                match *self.bytes.get(self.pos)? {
                    b',' => self.pos += 1,
                    c if c == close => {
                        self.pos += 1;
                        break;
                    }
                    _ => return None,
                }
                if keyed && self.taken(handoff)? {
                    break;
                }
            }
        }
        self.depth -= 1;
        Some(base)
    }

    /// At the split point, as a member of an object: the second thread's members pushed (they
    /// end the object) and `true`.
    fn taken(&mut self, handoff: &mut Option<Handoff>) -> Option<bool> {
        self.ws();
        let Some(h) = handoff.as_mut().filter(|h| h.at == self.pos) else { return Some(false) };
        let taken = h.second.take().and_then(|t| t.join().ok()).flatten()?;
        if self.depth + taken.depth >= MAX_DEPTH {
            return None;
        }
        for (k, v) in taken.members {
            self.members.push(k, v);
        }
        self.pos = taken.end;
        Some(true)
    }

    /// A member's key, and its colon.
    fn key(&mut self) -> Option<Str> {
        self.ws();
        if self.bytes.get(self.pos) != Some(&b'"') {
            return None;
        }
        let key = self.string()?;
        self.eat(b':')?;
        Some(key)
    }

    /// The members from here to the end of their object (for the second thread).
    fn members_to_end(&mut self) -> Option<Vec<(Str, Value)>> {
        let mut none = None;
        loop {
            let key = self.key()?;
            let v = self.value(&mut none)?;
            self.members.push(key, v);
            self.ws();
            match self.bytes.get(self.pos)? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(std::mem::take(&mut self.members.0));
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::read_split;
    use crate::json;
    use crate::value::Value;

    /// serde_json's reading (duplicate keys refused), `None` where it finds an error.
    fn serde(text: &str) -> Option<Value> {
        super::super::json::parse(text).ok()
    }

    /// The same values, keys in the same order (`==` on maps ignores their order, and takes
    /// `-0.0` for `0.0`).
    fn same(a: &Option<Value>, b: &Option<Value>) -> bool {
        a.as_ref().map(Value::to_string) == b.as_ref().map(Value::to_string)
    }

    /// Nesting as deep as serde_json takes is read; one level deeper is left to it.
    #[test]
    fn nesting_is_limited_where_serde_json_limits_it() {
        for depth in [1, 100, 126, 127, 128, 129, 300] {
            for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
                let mut text = open.repeat(depth);
                text.push('1');
                text.push_str(&close.repeat(depth));
                let got = read_split(&text, usize::MAX);
                assert!(got.is_none() || same(&got, &serde(&text)), "{depth} {open}");
                assert_eq!(got.is_some(), serde(&text).is_some(), "{depth} {open}");
            }
        }
    }

    /// Generated documents, pretty and compact, with escapes, numbers of every kind, keys
    /// repeated, and broken copies; read whole and split at every size: what the reader
    /// returns is what serde_json reads.
    #[test]
    fn generated_documents_read_as_serde_json_reads_them() {
        let mut rng = crate::sample::Rng::new(0x2545_f491_4f6c_dd1du64);
        let mut next = move |n: usize| rng.below(n);
        fn gen_value(next: &mut dyn FnMut(usize) -> usize, depth: usize) -> Value {
            const STRINGS: &[&str] = &[
                "a",
                "",
                "with \"quotes\"",
                "back\\slash",
                "line\nbreak",
                "tab\t",
                "é ✓ 😀",
                "\u{1}",
                ",\n  \"x\": 1",
                "}",
            ];
            match next(if depth >= 5 { 4 } else { 7 }) {
                0 => Value::from(STRINGS[next(STRINGS.len())]),
                1 => [json!(0), json!(-7), json!(u64::MAX), json!(i64::MIN), json!(1.5), json!(-2.5e-7), json!(1e300)]
                    [next(7)]
                .clone(),
                2 => [json!(true), json!(false), Value::Null][next(3)].clone(),
                3 => Value::from(format!("s{}", next(100))),
                4 | 5 => Value::Object((0..next(6)).map(|i| (format!("k{i}"), gen_value(next, depth + 1))).collect()),
                _ => Value::Array((0..next(5)).map(|_| gen_value(next, depth + 1)).collect()),
            }
        }
        let (mut read, mut split) = (0, 0);
        for round in 0..3000 {
            let value =
                Value::Object((0..1 + next(30)).map(|i| (format!("top{i}"), gen_value(&mut next, 1))).collect());
            let mut text = if next(4) == 0 {
                serde_json::to_string(&value).unwrap()
            } else {
                serde_json::to_string_pretty(&value).unwrap()
            };
            if next(6) == 0 {
                // A key repeated.
                text = text.replacen("\"k1\"", "\"k0\"", 1);
            }
            if next(4) == 0 {
                for _ in 0..1 + next(3) {
                    let at =
                        (0..=text.len()).filter(|&i| text.is_char_boundary(i)).nth(next(text.len() + 1)).unwrap_or(0);
                    let bits = [
                        ",", "}", "]", "\"", "\\", " ", "\n", "1", "-", "e", "\u{1}", "{", ":", "-0", "1e400", "01",
                        "\\u12",
                    ];
                    if next(2) == 0 {
                        text.insert_str(at, bits[next(bits.len())]);
                    } else if let Some(c) = text[at..].chars().next() {
                        text.replace_range(at..at + c.len_utf8(), "");
                    }
                }
            }
            let expected = serde(&text);
            for split_at in [usize::MAX, 0, text.len() / 2] {
                let got = read_split(&text, split_at);
                assert!(
                    got.is_none() || same(&got, &expected),
                    "round {round}, split at {split_at}: {got:?} against {expected:?}\n{text}"
                );
                read += usize::from(got.is_some());
            }
            split += usize::from(super::split_point(&text).is_some() && expected.is_some());
        }
        assert!(read > 3000, "only {read} readings");
        assert!(split > 1000, "only {split} documents with a split point");
    }

    proptest::proptest! {
        /// Any text of JSON's punctuation, literals, digits and escapes, read whole and split.
        #[test]
        fn any_text_reads_as_serde_json_reads_it(text in "([\\[\\]{}\",: \n]|true|null|-?[0-9]|\\.|e|\\\\u00|\\\\|k){0,80}") {
            let expected = serde(&text);
            for split_at in [usize::MAX, 0] {
                let got = read_split(&text, split_at);
                proptest::prop_assert!(got.is_none() || same(&got, &expected), "{got:?} against {expected:?}");
            }
        }
    }

    /// A split point inside a string (the text looks like a member there) is passed by; one
    /// at a member is taken.
    #[test]
    fn a_split_point_inside_a_string_is_passed_by() {
        let inner = "a\",\n  \"fake\": 1,\n  \"b";
        let value = json!({"one": {"x": 1}, "two": inner, "three": [1, 2], "four": {"y": "z"}});
        let text = serde_json::to_string_pretty(&value).unwrap();
        assert_eq!(read_split(&text, 0), Some(value.clone()));
        let long = json!({"items": (0..2000).map(|i| json!({"n": i, "s": inner})).collect::<Vec<_>>(), "last": {"k": [inner]}});
        let text = serde_json::to_string_pretty(&long).unwrap();
        assert_eq!(read_split(&text, 0), Some(long));
    }
}
