//! JSDoc comments from schema annotations: the description (or title), then `@format`,
//! `@default`, `@example` and `@deprecated` tags.

use crate::value::Value;

/// The JSDoc block for `schema`, each line prefixed by `pad`; empty when there is nothing to
/// say.
pub fn comment(schema: &Value, pad: &str) -> String {
    comment_with(schema, pad, None)
}

/// [`comment`], with a last paragraph of `extra` text.
pub fn comment_with(schema: &Value, pad: &str, extra: Option<&str>) -> String {
    let Some(obj) = schema.as_object() else { return String::new() };
    let text = obj.get("description").or_else(|| obj.get("title")).and_then(Value::as_str);
    let joined;
    let text = match (text, extra) {
        (Some(t), Some(e)) => {
            joined = format!("{}\n\n{e}", t.trim());
            Some(joined.as_str())
        }
        (t, e) => t.or(e),
    };
    let mut tags = Vec::new();
    if let Some(f) = obj.get("format").and_then(Value::as_str) {
        tags.push(format!("@format {f}"));
    }
    if let Some(d) = obj.get("default") {
        tags.push(format!("@default {d}"));
    }
    if let Some(examples) = obj.get("examples").and_then(Value::as_array) {
        tags.extend(examples.iter().map(|e| format!("@example {e}")));
    }
    if obj.get("deprecated") == Some(&Value::Bool(true)) {
        tags.push("@deprecated".into());
    }
    block(text, &tags, pad)
}

/// A JSDoc block of `text` (may be several lines) and `tags`.
pub fn block(text: Option<&str>, tags: &[String], pad: &str) -> String {
    let mut lines: Vec<String> =
        text.map(|t| t.trim().lines().map(|l| l.trim_end().to_string()).collect()).unwrap_or_default();
    if !lines.is_empty() && !tags.is_empty() {
        lines.push(String::new());
    }
    lines.extend(tags.iter().cloned());
    match lines.len() {
        0 => String::new(),
        1 => format!("{pad}/** {} */\n", escape(&lines[0])),
        _ => {
            let body: String = lines
                .iter()
                .map(|l| if l.is_empty() { format!("{pad} *\n") } else { format!("{pad} * {}\n", escape(l)) })
                .collect();
            format!("{pad}/**\n{body}{pad} */\n")
        }
    }
}

/// Text that cannot end the comment early.
fn escape(line: &str) -> String {
    line.replace("*/", "*\\/")
}
