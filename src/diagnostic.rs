//! Diagnostics: what is wrong, where, which rule, and how to fix it.

use crate::source::{FileId, Location, Span, Target};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// Where a diagnostic points: a node (resolved through the file's positions) or a raw span
/// (syntax errors, which have no node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anchor {
    Node {
        location: Location,
        target: Target,
    },
    Span {
        file: FileId,
        span: Span,
    },
    /// No file: a file that could not be read, or a problem with the command itself.
    None,
}

/// The codes of every warning, each of which `x-chanspec-allow: [code, …]` can acknowledge
/// (on the definition, a channel, a topic or a schema: there and below) and `--deny
/// warnings` makes an error.
/// (`breaking-change` is `chanspec diff`'s: a topic's intended breaking change.)
pub const WARNING_CODES: &[&str] = &[
    "narrowing-keyword",
    "unknown-keyword",
    "untagged-union",
    "possibly-overlapping-channels",
    "schema-dialect",
    "breaking-change",
];

/// One problem found in the definitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The rule broken, e.g. `undeclared-param`. Stable: tools may match on it.
    pub code: &'static str,
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub hint: Option<String>,
    pub anchor: Anchor,
    /// A second place the problem involves (e.g. the first of two duplicates).
    pub related: Option<Box<(Location, Target, String)>>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            hint: None,
            anchor: Anchor::None,
            related: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    /// Point at the value of the node at `location`.
    pub fn at(mut self, location: &Location) -> Self {
        self.anchor = Anchor::Node { location: location.clone(), target: Target::Value };
        self
    }

    /// Point at the key of the object member at `location`.
    pub fn at_key(mut self, location: &Location) -> Self {
        self.anchor = Anchor::Node { location: location.clone(), target: Target::Key };
        self
    }

    pub fn at_span(mut self, file: FileId, span: Span) -> Self {
        self.anchor = Anchor::Span { file, span };
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn related(mut self, location: &Location, target: Target, label: impl Into<String>) -> Self {
        self.related = Some(Box::new((location.clone(), target, label.into())));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The diagnostics of one run, in the order found.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(other);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// The closest of `candidates` to `word`, if close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(cur).min(row[j]) };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(did_you_mean("topcis", ["topics", "params", "name"]), Some("topics"));
        assert_eq!(did_you_mean("zzz", ["topics", "params"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
