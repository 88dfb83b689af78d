//! Writing generated files: only when the content changed, or (for `--check`) comparing and
//! describing the difference.

use std::path::Path;

/// What happened to one output file.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Unchanged,
    Written,
}

/// Write `content` to `path` unless it already holds exactly that (so a no-op build touches
/// nothing and triggers nothing downstream).
pub fn write_if_changed(path: &Path, content: &str) -> std::io::Result<Outcome> {
    if std::fs::read(path).is_ok_and(|old| old == content.as_bytes()) {
        return Ok(Outcome::Unchanged);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // Write beside the target, then rename over it: a failed write (a full disk) leaves the
    // previous file whole instead of a truncated one.
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.chanspec-{}.tmp", std::process::id()));
    let written = std::fs::write(&tmp, content).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map(|()| Outcome::Written)
}

/// `None` when `path` holds exactly `content`; otherwise a short description of the
/// difference (a missing file, or the first differing lines as a diff).
pub fn stale(path: &Path, content: &str) -> Option<String> {
    let old = match std::fs::read_to_string(path) {
        Ok(old) => old,
        Err(_) => return Some(format!("{} does not exist", path.display())),
    };
    if old == content {
        return None;
    }
    Some(format!("{} is stale:\n{}", path.display(), short_diff(&old, content, 12)))
}

/// The changed middle of two texts (after their common first and last lines), at most
/// `limit` lines each side, in unified-diff style.
pub fn short_diff(old: &str, new: &str, limit: usize) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (removed, added) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out = format!("@@ line {} @@\n", prefix + 1);
    for (sign, lines) in [('-', removed), ('+', added)] {
        for l in lines.iter().take(limit) {
            out.push_str(&format!("{sign}{l}\n"));
        }
        if lines.len() > limit {
            out.push_str(&format!("{sign}... ({} more lines)\n", lines.len() - limit));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_the_changed_middle() {
        let d = short_diff("a\nb\nc\nd\n", "a\nB\nc\nd\n", 5);
        assert_eq!(d, "@@ line 2 @@\n-b\n+B\n");
    }
}
