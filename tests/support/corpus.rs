//! Where test material written outside this project is found (the JSON Schema Test Suite,
//! the AsyncAPI 3 example documents). The repository holds none of it. In order:
//! 1. `CHANSPEC_TEST_CORPUS`, if set;
//! 2. `../shared/corpus` beside the checkout (this project's CI lays it out there);
//! 3. `target/test-corpus`, filled by `scripts/fetch-test-corpus` (pinned upstream commits).
//!
//! A test that finds none prints one line saying it was skipped and how to get the corpus,
//! and passes, unless `CHANSPEC_REQUIRE_CORPUS=1` (set by `.ci/run`), where it fails.
//! This is the only file that names `../shared`.

use std::path::{Path, PathBuf};

/// `sub` (e.g. `json-schema-test-suite/tests/draft2020-12`) under the first corpus root that
/// has it, or `None` after printing why the calling test is skipped.
pub fn corpus(sub: &str, test: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("CHANSPEC_TEST_CORPUS").filter(|d| !d.is_empty()) {
        roots.push(PathBuf::from(dir));
    }
    roots.push(root.join("../shared/corpus"));
    roots.push(root.join("target/test-corpus"));
    if let Some(found) = roots.iter().map(|r| r.join(sub)).find(|p| p.is_dir()) {
        return Some(found);
    }
    let required = std::env::var("CHANSPEC_REQUIRE_CORPUS").is_ok_and(|v| v == "1");
    let line = format!(
        "{test}: skipped, the test corpus ({sub}) was not found; run scripts/fetch-test-corpus or set CHANSPEC_TEST_CORPUS"
    );
    assert!(!required, "{line} (CHANSPEC_REQUIRE_CORPUS=1)");
    // Straight to stderr, past the test harness's capture, so the skip shows in a passing run.
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{line}\n").as_bytes());
    None
}
