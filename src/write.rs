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

/// `None` when `path` holds exactly `content`; otherwise a description of the difference
/// (a missing file, or a unified diff from the file to what generation would write).
pub fn stale(path: &Path, content: &str) -> Option<String> {
    let old = match std::fs::read_to_string(path) {
        Ok(old) => old,
        Err(_) => return Some(format!("{} does not exist", path.display())),
    };
    if old == content {
        return None;
    }
    let shown = path.display().to_string();
    Some(format!("{shown} is stale:\n{}", unified_diff(&old, content, &shown, DIFF_LINES)))
}

/// How many lines of diff `--check` shows before counting the rest.
pub const DIFF_LINES: usize = 40;

/// A unified diff (3 lines of context) from `old` (the file) to `new` (what generation
/// writes), headed `NAME (committed)` and `NAME (generated)`,
/// cut after `limit` lines with a count of the lines left out.
pub fn unified_diff(old: &str, new: &str, name: &str, limit: usize) -> String {
    let diff = similar::TextDiff::from_lines(old, new);
    let full = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} (committed)"), &format!("{name} (generated)"))
        .to_string();
    let lines: Vec<&str> = full.lines().collect();
    let mut out: String = lines.iter().take(limit).flat_map(|l| [*l, "\n"]).collect();
    if lines.len() > limit {
        out.push_str(&format!("... {} more lines of diff\n", lines.len() - limit));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_is_unified_with_context() {
        let old: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let new = old.replace("line 10\n", "line 10\nadded\n");
        let d = unified_diff(&old, &new, "x.rs", 40);
        assert_eq!(
            d,
            "--- x.rs (committed)\n+++ x.rs (generated)\n@@ -8,6 +8,7 @@\n line 8\n line 9\n line 10\n+added\n line 11\n line 12\n line 13\n"
        );
    }

    #[test]
    fn a_long_diff_is_cut_with_a_count() {
        let old: String = (0..100).map(|i| format!("{i}\n")).collect();
        let new: String = (0..100).map(|i| format!("{}\n", i * 7)).collect();
        let d = unified_diff(&old, &new, "x.rs", 40);
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(lines.len(), 41, "{d}");
        assert!(lines[40].starts_with("... ") && lines[40].ends_with(" more lines of diff"), "{d}");
    }
}
