//! JSON Schema's `pattern` dialect, ECMA-262 with the `u` flag, as JavaScript reads it: the
//! one place Rust decides what a pattern means, for payload checks, channel params and the
//! hub. The engine is `regress`, an ECMA-262 engine, so a pattern means in Rust exactly what it
//! means to the generated TypeScript guards (`\d` and `\w` ASCII, `.` stopping at line
//! terminators, lookaround, backreferences, `\p{…}` classes).
//!
//! A pattern that is not valid ECMA-262 in Unicode mode does not compile ([`compile`] gives
//! `None`); `chanspec check` refuses such patterns, so generated code never meets one.
//!
//! `regress` backtracks, as JavaScript engines do: a pattern written to backtrack badly
//! (`(a+)+$`) costs time on long crafted input, here as in every browser. Patterns come from
//! the definitions, and inputs are bounded by the hub's message size limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// A compiled pattern.
pub type Pattern = Arc<regress::Regex>;

/// Compile a pattern as ECMA-262 with the `u` flag (unanchored: a match anywhere, as JSON
/// Schema says), or `None` when it is not a valid one.
pub fn compile(pattern: &str) -> Option<Pattern> {
    regress::Regex::with_flags(pattern, "u").ok().map(Arc::new)
}

/// Why `pattern` is not a valid ECMA-262 Unicode-mode pattern, if it is not.
pub fn error(pattern: &str) -> Option<String> {
    regress::Regex::with_flags(pattern, "u").err().map(|e| e.to_string())
}

/// `compile`, once per distinct pattern for the life of the process.
pub fn cached(pattern: &str) -> Option<Pattern> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Pattern>>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(re) = cache.get(pattern) {
        return re.clone();
    }
    let re = compile(pattern);
    cache.insert(pattern.to_string(), re.clone());
    re
}

/// Does `value` match `pattern`? `None` when the pattern is not valid.
pub fn matches(pattern: &str, value: &str) -> Option<bool> {
    cached(pattern).map(|re| re.find(value).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        matches(p, s).unwrap_or_else(|| panic!("{p} compiles"))
    }

    #[test]
    fn patterns_mean_what_they_mean_in_ecma_262_unicode_mode() {
        assert!(m(r"^\d+$", "123"));
        assert!(!m(r"^\d+$", "١٢٣"), "Arabic-Indic digits are not \\d in ECMA-262");
        assert!(!m(r"^\w$", "é"));
        assert!(m(r"^[\w-]+$", "a-b_9"));
        assert!(m(r"^[^\d]$", "x"));
        assert!(!m(r"^.$", "\r"));
        assert!(m(r"^.$", "😀"), "one code point in Unicode mode");
        assert!(m("^[a-z]{3,}$", "abc"));
        assert!(!m("^[a-z]{3,}$", "ab"));
        assert!(m("b", "abc"), "unanchored");
        assert!(!m("^[]$", ""));
        assert!(m("^[^]$", "\n"));
        assert!(m(r"\bword\b", "a word here"));
        assert!(m("(?<=a)b", "ab") && !m("(?<=a)b", "cb"), "lookbehind");
        assert!(m(r"^(a)\1$", "aa"), "backreference");
        assert!(m(r"^\p{L}+$", "héllo"));
        assert!(m(r"^_.$", "_😀"));
        // Valid without the `u` flag only: refused, not read another way.
        assert!(compile(r"^\_.$").is_none());
        assert!(error(r"^\_.$").is_some());
    }
}
