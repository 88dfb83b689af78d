//! Reporting diagnostics: human (in the style of rustc), JSON lines, GitHub Actions.

use annotate_snippets::renderer::DecorStyle;
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

use crate::diagnostic::{Anchor, Diagnostic, Severity};
use crate::source::{Sources, Span, Target};

/// How to print diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// rustc-style: position, source line with a marker, rule, hint.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
    /// GitHub Actions workflow commands (`::error file=…::…`).
    Github,
}

/// A diagnostic with its position worked out.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Located {
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    pub pointer: Option<String>,
    pub code: &'static str,
    pub severity: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The file and span of an anchor; `None` also when the file's text is no longer available
/// (changed since it was checked, see `SourceFile::available`): no place can be shown then.
fn span_of(sources: &Sources, anchor: &Anchor) -> Option<(crate::source::FileId, Span)> {
    if anchor_file(anchor).is_some_and(|id| !sources.get(id).available()) {
        return None;
    }
    match anchor {
        Anchor::Node { location, target } => {
            let file = sources.get(location.file);
            Some((location.file, crate::load::positions(file).find(&location.pointer, *target)))
        }
        Anchor::Span { file, span } => Some((*file, *span)),
        Anchor::None => None,
    }
}

fn anchor_file(anchor: &Anchor) -> Option<crate::source::FileId> {
    match anchor {
        Anchor::Node { location, .. } => Some(location.file),
        Anchor::Span { file, .. } => Some(*file),
        Anchor::None => None,
    }
}

/// Work out file, line and column.
pub fn locate(d: &Diagnostic, sources: &Sources) -> Located {
    let mut out = Located {
        file: None,
        line: None,
        column: None,
        end_line: None,
        end_column: None,
        pointer: None,
        code: d.code,
        severity: d.severity.as_str(),
        message: d.message.clone(),
        hint: d.hint.clone(),
    };
    if let Some((id, span)) = span_of(sources, &d.anchor) {
        let f = sources.get(id);
        let (line, col) = f.line_col(span.start);
        let (end_line, end_col) = f.line_col(span.end.max(span.start));
        out.file = Some(f.display.clone());
        (out.line, out.column, out.end_line, out.end_column) = (Some(line), Some(col), Some(end_line), Some(end_col));
    } else if let Some(id) = anchor_file(&d.anchor) {
        out.file = Some(sources.get(id).display.clone());
    }
    if let Anchor::Node { location, .. } = &d.anchor {
        out.pointer = Some(location.pointer.clone());
    }
    out
}

/// One line: `file:line:col: warning[code]: message (hint)`, for cargo's `cargo:warning=`.
pub fn one_line(l: &Located) -> String {
    let mut out = String::new();
    if let Some(file) = &l.file {
        out.push_str(file);
        for n in [l.line, l.column].into_iter().flatten() {
            out.push_str(&format!(":{n}"));
        }
        out.push_str(": ");
    }
    out.push_str(&format!("{}[{}]: {}", l.severity, l.code, l.message));
    if let Some(hint) = &l.hint {
        out.push_str(&format!(" ({hint})"));
    }
    out.replace(['\n', '\r'], " ")
}

/// Render every diagnostic, followed (in human form) by a summary line.
pub fn render(diags: &[Diagnostic], sources: &Sources, format: Format, color: bool) -> String {
    let mut out = String::new();
    for d in diags {
        match format {
            Format::Human => {
                out.push_str(&human(d, sources, color));
                out.push_str("\n\n");
            }
            Format::Json => {
                out.push_str(&serde_json::to_string(&locate(d, sources)).expect("diagnostics serialize"));
                out.push('\n');
            }
            Format::Github => {
                out.push_str(&github(&locate(d, sources)));
                out.push('\n');
            }
        }
    }
    if format == Format::Human {
        out.push_str(&summary(diags));
    }
    out
}

/// `2 errors, 1 warning` (or nothing when clean).
pub fn summary(diags: &[Diagnostic]) -> String {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, 0) => String::new(),
        (e, 0) => format!("{}\n", plural(e, "error")),
        (0, w) => format!("{}\n", plural(w, "warning")),
        (e, w) => format!("{}, {}\n", plural(e, "error"), plural(w, "warning")),
    }
}

/// One diagnostic in the style of rustc.
pub fn human(d: &Diagnostic, sources: &Sources, color: bool) -> String {
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let title = format!("{} [{}]", d.message, d.code);
    let mut group = Group::with_title(level.primary_title(title.as_str()));
    if let Some((id, span)) = span_of(sources, &d.anchor) {
        let f = sources.get(id);
        let label = match &d.anchor {
            Anchor::Node { target: Target::Key, .. } => "this key",
            _ => "here",
        };
        group = group.element(
            Snippet::source(f.text())
                .path(f.display.as_str())
                .annotation(AnnotationKind::Primary.span(clamp(span, f.text())).label(label)),
        );
    }
    if let Some(id) = anchor_file(&d.anchor).filter(|&id| !sources.get(id).available()) {
        let note =
            format!("in {}, which changed since it was checked: the place is not shown", sources.get(id).display);
        group = group.element(Level::NOTE.message(note));
    }
    let related =
        d.related.as_deref().filter(|(loc, ..)| sources.get(loc.file).available()).map(|(loc, target, label)| {
            let f = sources.get(loc.file);
            (f, crate::load::positions(f).find(&loc.pointer, *target), label)
        });
    if let Some((f, span, label)) = &related {
        group = group.element(
            Snippet::source(f.text())
                .path(f.display.as_str())
                .annotation(AnnotationKind::Context.span(clamp(*span, f.text())).label(label.as_str())),
        );
    }
    let mut report: Vec<Group> = vec![group];
    if let Some(hint) = &d.hint {
        report.push(Group::with_title(Level::HELP.secondary_title(hint.as_str())));
    }
    let renderer = if color { Renderer::styled() } else { Renderer::plain() }.decor_style(DecorStyle::Ascii);
    renderer.render(&report).to_string()
}

/// A span the renderer accepts: inside the text, on character boundaries, not empty.
fn clamp(span: Span, text: &str) -> std::ops::Range<usize> {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(span.start);
    let mut end = floor(span.end.max(start));
    // Mark the first line of multi-line nodes only.
    if let Some(nl) = text[start..end].find('\n') {
        end = start + nl;
    }
    if end == start && start < text.len() {
        end = start + text[start..].chars().next().map_or(1, char::len_utf8);
    }
    start..end
}

fn github(l: &Located) -> String {
    let kind = if l.severity == "error" { "error" } else { "warning" };
    let mut props = Vec::new();
    if let Some(f) = &l.file {
        props.push(format!("file={}", escape_property(f)));
    }
    for (k, v) in [("line", l.line), ("col", l.column), ("endLine", l.end_line), ("endColumn", l.end_column)] {
        if let Some(v) = v {
            props.push(format!("{k}={v}"));
        }
    }
    props.push(format!("title={}", escape_property(&format!("chanspec {}", l.code))));
    let mut message = l.message.clone();
    if let Some(h) = &l.hint {
        message.push_str("\nhelp: ");
        message.push_str(h);
    }
    format!("::{kind} {}::{}", props.join(","), escape_data(&message))
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
