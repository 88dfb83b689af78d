//! `chanspec diff --against REF`: the definition files as they were at a git commit, read
//! with `git` itself (`git archive`), so files they reference come from the same commit.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tree checked out at `rev` into a temporary folder; removed when dropped.
pub struct Snapshot {
    pub dir: PathBuf,
    root: PathBuf,
}

impl Snapshot {
    /// The repository holding the current folder, at `rev` (`main`, `origin/main`, a commit).
    pub fn at(rev: &str) -> Result<Snapshot, String> {
        let git = |args: &[&str]| -> Result<Vec<u8>, String> {
            let out = Command::new("git").args(args).output().map_err(|e| format!("cannot run git: {e}"))?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                return Err(err.lines().next().unwrap_or("git failed").trim().to_string());
            }
            Ok(out.stdout)
        };
        let root =
            git(&["rev-parse", "--show-toplevel"]).map_err(|e| format!("--against needs a git repository: {e}"))?;
        let root = PathBuf::from(String::from_utf8_lossy(&root).trim());
        git(&["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")]).map_err(|_| {
            format!(
                "`{rev}` is not a commit, branch or tag of this repository (in CI, fetch it first: `fetch-depth: 0`)"
            )
        })?;
        let dir = std::env::temp_dir().join(format!("chanspec-diff-{}-{}", std::process::id(), nanos()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let snapshot = Snapshot { dir: dir.clone(), root: root.clone() };
        let archive = Command::new("git")
            .args(["archive", "--format=tar", rev])
            .current_dir(&root)
            .output()
            .map_err(|e| format!("cannot run git archive: {e}"))?;
        if !archive.status.success() {
            return Err(format!("git archive {rev} failed: {}", String::from_utf8_lossy(&archive.stderr).trim()));
        }
        let mut tar = Command::new("tar")
            .args(["-x", "-C"])
            .arg(&dir)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run tar: {e}"))?;
        use std::io::Write;
        tar.stdin.take().expect("piped").write_all(&archive.stdout).map_err(|e| format!("tar: {e}"))?;
        if !tar.wait().map_err(|e| format!("tar: {e}"))?.success() {
            return Err("tar could not unpack the archive".into());
        }
        Ok(snapshot)
    }

    /// Where `file` (a path in the working tree) is in the snapshot, if it existed at the
    /// commit.
    pub fn path_of(&self, file: &Path) -> Option<PathBuf> {
        let absolute = std::fs::canonicalize(file).ok()?;
        let root = std::fs::canonicalize(&self.root).ok()?;
        let relative = absolute.strip_prefix(root).ok()?;
        let there = self.dir.join(relative);
        there.exists().then_some(there)
    }
}

fn nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
