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
    write_parts_if_changed(path, &[content])
}

/// [`write_if_changed`] for content in consecutive parts, compared and written part by part:
/// the whole text is never in memory at once.
pub fn write_parts_if_changed(path: &Path, parts: &[impl AsRef<str>]) -> std::io::Result<Outcome> {
    use std::io::Write;
    if holds(path, parts) {
        return Ok(Outcome::Unchanged);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // Write beside the target, then rename over it: a failed write (a full disk) leaves the
    // previous file whole instead of a truncated one.
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.chanspec-{}.tmp", std::process::id()));
    let written = std::fs::File::create(&tmp)
        .and_then(|file| {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
            for part in parts {
                out.write_all(part.as_ref().as_bytes())?;
            }
            out.flush()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map(|()| Outcome::Written)
}

/// Whether the file at `path` holds exactly the parts, one after another (read in blocks).
fn holds(path: &Path, parts: &[impl AsRef<str>]) -> bool {
    use std::io::Read;
    let total: usize = parts.iter().map(|p| p.as_ref().len()).sum();
    let Ok(file) = std::fs::File::open(path) else { return false };
    if file.metadata().map(|m| m.len()).ok() != Some(total as u64) {
        return false;
    }
    let mut file = std::io::BufReader::with_capacity(1 << 16, file);
    let mut block = vec![0u8; 1 << 16];
    for part in parts {
        for want in part.as_ref().as_bytes().chunks(block.len()) {
            let got = &mut block[..want.len()];
            if file.read_exact(got).is_err() || got != want {
                return false;
            }
        }
    }
    // Nothing after the parts (the file did not grow since its length was read).
    file.read(&mut block[..1]).is_ok_and(|n| n == 0)
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

    /// Parts cut anywhere (block edges included) compare as their concatenation; a file
    /// that differs anywhere, or is longer or shorter, is rewritten, whole.
    #[test]
    fn parts_are_compared_and_written_as_one_text() {
        let dir = std::env::temp_dir().join(format!("chanspec-write-{}", std::process::id()));
        let path = dir.join("out.rs");
        let text: String = (0..30_000).map(|i| format!("line {i} ✓\n")).collect();
        let cuts = |at: &[usize]| -> Vec<&str> {
            let mut parts = Vec::new();
            let mut from = 0;
            for &to in at {
                parts.push(&text[from..to]);
                from = to;
            }
            parts.push(&text[from..]);
            parts
        };
        let boundaries: Vec<usize> = (1..text.len()).filter(|&i| text.is_char_boundary(i)).step_by(65_537).collect();
        assert_eq!(write_parts_if_changed(&path, &cuts(&[])).unwrap(), Outcome::Written);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        for at in [&[][..], &[1 << 16][..], &boundaries[..], &[0, 0, 5][..]] {
            assert_eq!(write_parts_if_changed(&path, &cuts(at)).unwrap(), Outcome::Unchanged, "{at:?}");
        }
        let changed = text.replacen("line 20000", "line 2000X", 1);
        let shorter = &text[..text.len() - 1];
        let longer = format!("{text}x");
        for other in [changed.as_str(), shorter, longer.as_str(), ""] {
            assert_eq!(write_parts_if_changed(&path, &[other]).unwrap(), Outcome::Written);
            assert_eq!(std::fs::read_to_string(&path).unwrap(), other);
            assert_eq!(write_parts_if_changed(&path, &cuts(&boundaries)).unwrap(), Outcome::Written);
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }
        std::fs::remove_dir_all(&dir).ok();
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
