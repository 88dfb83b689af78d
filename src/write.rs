//! Writing generated files: only when the content changed, or (for `--check`) comparing and
//! describing the difference.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

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
    let mut out = PartWriter::new(path);
    for part in parts {
        out.part(part.as_ref())?;
    }
    out.finish()
}

/// Output written as it is made, part by part, with [`write_if_changed`]'s rule: while the
/// parts match the existing file they are only compared; from the first difference on, a
/// temporary file beside it gets the matching start (copied from the file) and every part
/// after, and replaces the file (by a rename) when finished. A failed or abandoned write
/// leaves the previous file whole.
pub struct PartWriter {
    path: PathBuf,
    /// The existing file, until the parts differ from it.
    old: Option<BufReader<File>>,
    /// How many bytes of the existing file the parts matched.
    matched: u64,
    tmp: Option<(PathBuf, BufWriter<File>)>,
    block: Vec<u8>,
}

impl PartWriter {
    pub fn new(path: &Path) -> Self {
        let old = File::open(path).ok().map(|f| BufReader::with_capacity(1 << 16, f));
        PartWriter { path: path.to_path_buf(), old, matched: 0, tmp: None, block: vec![0; 1 << 16] }
    }

    /// The next part of the output.
    pub fn part(&mut self, text: &str) -> std::io::Result<()> {
        if self.tmp.is_none() && self.matches(text.as_bytes()) {
            self.matched += text.len() as u64;
            return Ok(());
        }
        self.diverge()?;
        let (_, out) = self.tmp.as_mut().expect("diverged");
        out.write_all(text.as_bytes())
    }

    /// Whether the existing file goes on with exactly `bytes`.
    fn matches(&mut self, bytes: &[u8]) -> bool {
        let Some(old) = self.old.as_mut() else { return false };
        bytes.chunks(self.block.len()).all(|want| {
            let got = &mut self.block[..want.len()];
            old.read_exact(got).is_ok() && got == want
        })
    }

    /// Start the temporary file (once): the matching start of the existing file first.
    fn diverge(&mut self) -> std::io::Result<()> {
        if self.tmp.is_some() {
            return Ok(());
        }
        // The matching start is copied from the file compared, not from whatever is at the
        // path now (another build may have replaced it meanwhile).
        let old = self.old.take().map(BufReader::into_inner);
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = self.path.with_file_name(format!(".{name}.chanspec-{}.tmp", std::process::id()));
        let out = BufWriter::with_capacity(1 << 16, File::create(&tmp)?);
        // Kept from here on, so that an error below or later removes it.
        let (_, out) = self.tmp.insert((tmp, out));
        if let Some(mut old) = old.filter(|_| self.matched > 0) {
            old.seek(std::io::SeekFrom::Start(0))?;
            let copied = std::io::copy(&mut old.take(self.matched), out)?;
            if copied != self.matched {
                return Err(std::io::Error::other(format!("{} changed while being written", self.path.display())));
            }
        }
        Ok(())
    }

    /// The file holds the parts now: `Unchanged` when it held them already.
    pub fn finish(mut self) -> std::io::Result<Outcome> {
        if self.tmp.is_none() {
            // Everything matched so far: unchanged if the existing file ends here too.
            let ended = self.old.as_mut().is_some_and(|old| old.read(&mut self.block[..1]).is_ok_and(|n| n == 0));
            if ended {
                return Ok(Outcome::Unchanged);
            }
            self.diverge()?;
        }
        let (tmp, out) = self.tmp.take().expect("diverged");
        let done = out.into_inner().map_err(|e| e.into_error()).and_then(|_| std::fs::rename(&tmp, &self.path));
        if done.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        done.map(|()| Outcome::Written)
    }
}

impl Drop for PartWriter {
    fn drop(&mut self) {
        // Not finished (an error while making the parts): the previous file stays as it was.
        if let Some((tmp, _)) = self.tmp.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
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

    /// Parts that differ from the file only late (after many matching parts), and writing
    /// abandoned half way: the file is replaced whole or left as it was, with no temporary
    /// file behind.
    #[test]
    fn a_write_abandoned_half_way_leaves_the_file_as_it_was() {
        let dir = std::env::temp_dir().join(format!("chanspec-parts-{}", std::process::id()));
        let path = dir.join("out.ts");
        let text: String = (0..50_000).map(|i| format!("line {i}\n")).collect();
        write_if_changed(&path, &text).unwrap();
        let leftovers = || std::fs::read_dir(&dir).unwrap().filter(|e| e.as_ref().unwrap().path() != path).count();
        for (from, to) in [("line 49999", "line 4999X"), ("line 10\n", "line 1\n")] {
            let other = text.replacen(from, to, 1);
            let parts: Vec<&str> = other.as_bytes().chunks(4096).map(|c| std::str::from_utf8(c).unwrap()).collect();
            for stop in [0, 1, parts.len() / 2, parts.len() - 1] {
                let mut out = PartWriter::new(&path);
                for part in &parts[..stop] {
                    out.part(part).unwrap();
                }
                drop(out);
                assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "stopped after {stop} parts");
                assert_eq!(leftovers(), 0);
            }
            assert_eq!(write_parts_if_changed(&path, &parts).unwrap(), Outcome::Written);
            assert_eq!(std::fs::read_to_string(&path).unwrap(), other);
            assert_eq!(leftovers(), 0);
            write_if_changed(&path, &text).unwrap();
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    /// The matching start comes from the file that was compared, even when another file is
    /// put at the path meanwhile (another build writing the same output).
    #[test]
    fn the_matching_start_is_copied_from_the_file_compared() {
        let dir = std::env::temp_dir().join(format!("chanspec-race-{}", std::process::id()));
        let path = dir.join("out.ts");
        let first: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
        write_if_changed(&path, &first).unwrap();
        let mut out = PartWriter::new(&path);
        let (start, _) = first.split_at(first.len() / 2);
        out.part(start).unwrap();
        let other = dir.join("other");
        std::fs::write(&other, "x".repeat(first.len())).unwrap();
        std::fs::rename(&other, &path).unwrap();
        out.part("and then something else\n").unwrap();
        assert_eq!(out.finish().unwrap(), Outcome::Written);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{start}and then something else\n"));
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
