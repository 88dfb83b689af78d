//! Channel name templates: `pipeline:{runId}` parsed into literal text and placeholders, and
//! the question whether two templates can produce the same runtime name.
//!
//! A parameter's value is described by a character class: an integer is `-?[0-9]+`; a string
//! with `enum` is one of its values; a `uuid` is 8-4-4-4-12 hex digits; any other string is one
//! or more characters other than `:` (the separator of name parts, which the generated
//! builders refuse inside a value). Two templates overlap when some string matches both: this
//! is decided exactly by walking the product of the two automata. `pattern`, `minimum`,
//! `maximum` and other formats narrow values further than these classes; when they are
//! involved an overlap is only possible, and reported as a warning.

use indexmap::IndexMap;

use crate::model::{Param, ParamType};

/// The character that separates the parts of a channel name; never inside a string param.
pub const SEPARATOR: char = ':';

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Param(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pub segments: Vec<Segment>,
}

impl Template {
    /// The placeholders, in order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(p) => Some(p.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// The literal text before the first placeholder.
    pub fn prefix(&self) -> &str {
        match self.segments.first() {
            Some(Segment::Literal(l)) => l,
            _ => "",
        }
    }

    /// The literal text after the last placeholder.
    pub fn suffix(&self) -> &str {
        match self.segments.last() {
            Some(Segment::Literal(l)) if self.segments.len() > 1 => l,
            Some(Segment::Literal(_)) => "",
            _ => "",
        }
    }
}

/// Parse `pipeline:{runId}`. Errors say what is wrong and at which character (0-based).
pub fn parse(raw: &str) -> Result<Template, (usize, String)> {
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut chars = raw.char_indices().enumerate().peekable();
    while let Some((n, (_, c))) = chars.next() {
        match c {
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for (_, (_, c)) in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    name.push(c);
                }
                if !closed {
                    return Err((n, format!("`{{` at character {} is never closed", n + 1)));
                }
                if name.is_empty() {
                    return Err((n, "empty placeholder `{}`: write the param's name inside the braces".into()));
                }
                if !is_param_name(&name) {
                    return Err((
                        n,
                        format!(
                            "`{{{name}}}` is not a param name (letters, digits and `_`, not starting with a digit)"
                        ),
                    ));
                }
                if literal.is_empty() && matches!(segments.last(), Some(Segment::Param(_))) {
                    return Err((
                        n,
                        format!(
                            "`{{{name}}}` follows another placeholder directly: separate them with literal text, e.g. `:`"
                        ),
                    ));
                }
                if !literal.is_empty() {
                    segments.push(Segment::Literal(std::mem::take(&mut literal)));
                }
                segments.push(Segment::Param(name));
            }
            '}' => {
                return Err((n, format!("`}}` at character {} has no matching `{{`", n + 1)));
            }
            c if c.is_whitespace() || c.is_control() => {
                return Err((
                    n,
                    format!("channel names cannot contain whitespace or control characters (character {})", n + 1),
                ));
            }
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        segments.push(Segment::Literal(literal));
    }
    if segments.is_empty() {
        return Err((0, "the channel name is empty".into()));
    }
    Ok(Template { segments })
}

fn is_param_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What one character of a runtime name may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Char(char),
    /// Any character but the separator.
    Any,
    Digit,
    Hex,
}

impl Class {
    fn contains(self, c: char) -> bool {
        match self {
            Class::Char(x) => x == c,
            Class::Any => c != SEPARATOR,
            Class::Digit => c.is_ascii_digit(),
            Class::Hex => c.is_ascii_hexdigit(),
        }
    }

    /// A character in both classes, if there is one.
    fn meet(self, other: Class) -> Option<char> {
        match (self, other) {
            (Class::Char(c), o) | (o, Class::Char(c)) => o.contains(c).then_some(c),
            (Class::Digit, _) | (_, Class::Digit) => Some('0'),
            (Class::Hex, _) | (_, Class::Hex) => Some('a'),
            (Class::Any, Class::Any) => Some('x'),
        }
    }
}

/// A nondeterministic automaton without empty moves: state 0 starts, `accept` ends.
struct Nfa {
    moves: Vec<Vec<(Class, usize)>>,
    accept: usize,
}

impl Nfa {
    fn state(&mut self) -> usize {
        self.moves.push(Vec::new());
        self.moves.len() - 1
    }

    fn chain(&mut self, from: usize, classes: impl IntoIterator<Item = Class>, to: Option<usize>) -> usize {
        let classes: Vec<Class> = classes.into_iter().collect();
        let mut at = from;
        for (i, c) in classes.iter().enumerate() {
            let next = match to {
                Some(t) if i + 1 == classes.len() => t,
                _ => self.state(),
            };
            self.moves[at].push((*c, next));
            at = next;
        }
        at
    }

    fn build(t: &Template, params: &IndexMap<String, Param>) -> (Nfa, bool) {
        let mut nfa = Nfa { moves: vec![Vec::new()], accept: 0 };
        let mut exact = true;
        let mut at = 0;
        for seg in &t.segments {
            at = match seg {
                Segment::Literal(l) => nfa.chain(at, l.chars().map(Class::Char), None),
                Segment::Param(name) => match params.get(name) {
                    Some(p) => {
                        exact &= p.pattern.is_none() && p.minimum.is_none() && p.maximum.is_none();
                        nfa.param(at, p, &mut exact)
                    }
                    None => nfa.plus(at, Class::Any),
                },
            };
        }
        nfa.accept = at;
        (nfa, exact)
    }

    /// One or more characters of `class`.
    fn plus(&mut self, from: usize, class: Class) -> usize {
        let end = self.state();
        self.moves[from].push((class, end));
        self.moves[end].push((class, end));
        end
    }

    fn param(&mut self, from: usize, p: &Param, exact: &mut bool) -> usize {
        match (p.ty, &p.values, p.format.as_deref()) {
            (ParamType::Integer, _, _) => {
                let sign = self.state();
                self.moves[from].push((Class::Char('-'), sign));
                let digits = self.plus(from, Class::Digit);
                self.moves[sign].push((Class::Digit, digits));
                digits
            }
            (ParamType::String, Some(values), _) => {
                let end = self.state();
                for v in values.iter().filter(|v| !v.is_empty()) {
                    self.chain(from, v.chars().map(Class::Char), Some(end));
                }
                end
            }
            (ParamType::String, None, Some("uuid")) => {
                let mut classes = Vec::with_capacity(36);
                for (i, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
                    if i > 0 {
                        classes.push(Class::Char('-'));
                    }
                    classes.extend(std::iter::repeat_n(Class::Hex, n));
                }
                self.chain(from, classes, None)
            }
            (ParamType::String, None, format) => {
                *exact &= format.is_none();
                self.plus(from, Class::Any)
            }
        }
    }
}

/// How two templates relate.
#[derive(Debug, PartialEq, Eq)]
pub enum Overlap {
    /// No runtime name matches both.
    None,
    /// `example` matches both.
    Certain { example: String },
    /// `example` matches both classes, but patterns or bounds may keep them apart.
    Possible { example: String },
}

/// Whether some runtime name can be produced by both templates.
pub fn overlap(
    a: &Template,
    a_params: &IndexMap<String, Param>,
    b: &Template,
    b_params: &IndexMap<String, Param>,
) -> Overlap {
    // Cheap test first: the literal prefixes (and suffixes) must agree.
    let (pa, pb) = (a.prefix(), b.prefix());
    let (sa, sb) = (a.suffix(), b.suffix());
    if !(pa.starts_with(pb) || pb.starts_with(pa)) || !(sa.ends_with(sb) || sb.ends_with(sa)) {
        return Overlap::None;
    }
    let (na, ea) = Nfa::build(a, a_params);
    let (nb, eb) = Nfa::build(b, b_params);
    match product_path(&na, &nb) {
        None => Overlap::None,
        Some(example) if ea && eb => Overlap::Certain { example },
        Some(example) => Overlap::Possible { example },
    }
}

/// The shortest string accepted by both automata, if any (breadth-first search of the
/// product automaton).
fn product_path(a: &Nfa, b: &Nfa) -> Option<String> {
    let width = b.moves.len();
    let mut parent: Vec<Option<(usize, char)>> = vec![None; a.moves.len() * width];
    let mut seen = vec![false; a.moves.len() * width];
    let mut queue = std::collections::VecDeque::from([(0usize, 0usize)]);
    seen[0] = true;
    while let Some((x, y)) = queue.pop_front() {
        if x == a.accept && y == b.accept {
            let mut out = Vec::new();
            let mut at = x * width + y;
            while let Some((prev, c)) = parent[at] {
                out.push(c);
                at = prev;
            }
            return Some(out.into_iter().rev().collect());
        }
        for &(ca, nx) in &a.moves[x] {
            for &(cb, ny) in &b.moves[y] {
                let Some(c) = ca.meet(cb) else { continue };
                let id = nx * width + ny;
                if !seen[id] {
                    seen[id] = true;
                    parent[id] = Some((x * width + y, c));
                    queue.push_back((nx, ny));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(spec: &[(&str, &str)]) -> IndexMap<String, Param> {
        spec.iter()
            .map(|(name, kind)| {
                let p: Param = match *kind {
                    "int" => serde_json::from_str(r#"{"type":"integer"}"#).unwrap(),
                    "uuid" => serde_json::from_str(r#"{"type":"string","format":"uuid"}"#).unwrap(),
                    "enum" => serde_json::from_str(r#"{"type":"string","enum":["a","b"]}"#).unwrap(),
                    "pattern" => serde_json::from_str(r#"{"type":"string","pattern":"^[a-z]+$"}"#).unwrap(),
                    _ => serde_json::from_str(r#"{"type":"string"}"#).unwrap(),
                };
                (name.to_string(), p)
            })
            .collect()
    }

    fn ov(a: &str, ap: &[(&str, &str)], b: &str, bp: &[(&str, &str)]) -> Overlap {
        overlap(&parse(a).unwrap(), &params(ap), &parse(b).unwrap(), &params(bp))
    }

    #[test]
    fn parses_templates() {
        let t = parse("org:{orgId}:repo:{repoId}").unwrap();
        assert_eq!(t.params().collect::<Vec<_>>(), ["orgId", "repoId"]);
        assert_eq!(t.prefix(), "org:");
        assert!(parse("a:{b").is_err());
        assert!(parse("a:{}").is_err());
        assert!(parse("a}").is_err());
        assert!(parse("{a}{b}").is_err());
        assert!(parse("a b").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn finds_overlaps_with_an_example() {
        assert_eq!(ov("user:{id}", &[("id", "s")], "user:me", &[]), Overlap::Certain { example: "user:me".into() });
        assert_eq!(ov("user:{id}", &[("id", "int")], "user:me", &[]), Overlap::None);
        assert_eq!(ov("user:{id}", &[("id", "int")], "user:7", &[]), Overlap::Certain { example: "user:7".into() });
        assert_eq!(ov("a", &[], "a", &[]), Overlap::Certain { example: "a".into() });
        assert_eq!(ov("a:{x}", &[("x", "s")], "a:{y}:b", &[("y", "s")]), Overlap::None);
        assert_eq!(ov("run:{id}", &[("id", "uuid")], "run:latest", &[]), Overlap::None);
        assert_eq!(ov("m:{v}", &[("v", "enum")], "m:c", &[]), Overlap::None);
        assert_eq!(ov("m:{v}", &[("v", "enum")], "m:b", &[]), Overlap::Certain { example: "m:b".into() });
        assert_eq!(ov("p:{v}", &[("v", "pattern")], "p:1", &[]), Overlap::Possible { example: "p:1".into() });
        assert_eq!(ov("{a}-x", &[("a", "s")], "{b}-y", &[("b", "s")]), Overlap::None);
        assert_eq!(ov("{a}-x", &[("a", "s")], "q-{b}", &[("b", "s")]), Overlap::Certain { example: "q-x".into() });
    }
}
