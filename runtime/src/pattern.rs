//! JSON Schema's `pattern` dialect, ECMA-262 with the `u` flag, on the `regex` crate: the one
//! place Rust decides what a pattern means, for payload checks, channel params and the hub.
//!
//! The classes that differ between the two engines are rewritten to ECMA's meaning: `\d` and
//! `\w` (and `\D`, `\W`, `\b`, `\B`) are ASCII-only in ECMA-262, Unicode in `regex`; `.`
//! stops at `\r`, `\u2028` and `\u2029` as well as `\n`. Patterns `regex` cannot run
//! (lookaround, backreferences) do not compile: [`compile`] gives `None`, and `chanspec
//! check` warns about them.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

pub use regex::Regex;

/// Compile a pattern with ECMA-262's meaning (unanchored: a match anywhere, as JSON Schema
/// says), or `None` when the `regex` crate cannot run it.
pub fn compile(pattern: &str) -> Option<Regex> {
    Regex::new(&translate(pattern)).ok()
}

/// `compile`, once per distinct pattern for the life of the process.
pub fn cached(pattern: &str) -> Option<Regex> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Regex>>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(re) = cache.get(pattern) {
        return re.clone();
    }
    let re = compile(pattern);
    cache.insert(pattern.to_string(), re.clone());
    re
}

/// Does `value` match `pattern`? `None` when the pattern cannot be compiled.
pub fn matches(pattern: &str, value: &str) -> Option<bool> {
    cached(pattern).map(|re| re.is_match(value))
}

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";

/// The ECMA-262 pattern as a `regex` pattern with the same meaning.
pub fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push('\\');
                    break;
                };
                match (e, in_class) {
                    ('d', false) => out.push_str("[0-9]"),
                    ('D', false) => out.push_str("[^0-9]"),
                    ('w', false) => out.push_str("[0-9A-Za-z_]"),
                    ('W', false) => out.push_str("[^0-9A-Za-z_]"),
                    ('b', false) => out.push_str("(?-u:\\b)"),
                    ('B', false) => out.push_str("(?-u:\\B)"),
                    ('d', true) => out.push_str(DIGIT),
                    ('w', true) => out.push_str(WORD),
                    ('D', true) => out.push_str("[^0-9]"),
                    ('W', true) => out.push_str("[^0-9A-Za-z_]"),
                    _ => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A `]` or `^]` right after `[` closes nothing in `regex` but an empty class
                // in ECMA-262; `[]` matches nothing and `[^]` anything.
                let rest = chars.as_str();
                if let Some(after) = rest.strip_prefix(']') {
                    out.pop();
                    out.push_str("[^\\s\\S]");
                    in_class = false;
                    chars = after.chars();
                } else if let Some(after) = rest.strip_prefix("^]") {
                    out.pop();
                    out.push_str("[\\s\\S]");
                    in_class = false;
                    chars = after.chars();
                }
            }
            '[' => out.push_str("\\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '.' if !in_class => out.push_str("[^\\n\\r\\u{2028}\\u{2029}]"),
            '&' | '~' | '-' if in_class => {
                // `regex` reads `&&`, `~~` and `--` in a class as set operations.
                if c == '-' && !out.ends_with(['-', '&', '~']) {
                    out.push('-');
                } else {
                    out.push('\\');
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        compile(p).unwrap_or_else(|| panic!("{p} compiles")).is_match(s)
    }

    #[test]
    fn classes_mean_what_they_mean_in_ecma_262() {
        assert!(m(r"^\d+$", "123"));
        assert!(!m(r"^\d+$", "١٢٣")); // Arabic-Indic digits are not \d in ECMA-262
        assert!(!m(r"^\w$", "é"));
        assert!(m(r"^[\w-]+$", "a-b_9"));
        assert!(!m(r"^[\w]+$", "é"));
        assert!(m(r"^[^\d]$", "x"));
        assert!(m(r"^[\D]$", "x"));
        assert!(!m(r"^.$", "\r"));
        assert!(m(r"^.$", "😀"));
        assert!(m("^[a-z]{3,}$", "abc"));
        assert!(!m("^[a-z]{3,}$", "ab"));
        assert!(m("b", "abc"), "unanchored");
        assert!(!m("^[]$", ""));
        assert!(m("^[^]$", "\n"));
        assert!(m("^[a&&b]$", "&"));
        assert!(m(r"\bword\b", "a word here"));
        assert!(compile("(?<=a)b").is_none(), "lookbehind is refused, not misread");
        assert!(compile(r"(a)\1").is_none());
    }
}
