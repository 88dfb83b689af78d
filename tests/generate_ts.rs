//! TypeScript generation: snapshots of every valid fixture's output, determinism, and every
//! output (and the type-level tests in `tests/ts/`, which use generated modules and mark
//! what must not compile with `@ts-expect-error`) passing `tsc --strict`.

mod common;

use std::path::PathBuf;

fn valid_fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("fixtures/valid").unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn emit(files: &[PathBuf]) -> String {
    let checked = chanspec::check_files(files);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let spec = chanspec::lower::lower(&checked).unwrap_or_else(|d| panic!("{d:?}"));
    chanspec::emit::ts::emit(&spec).unwrap()
}

#[test]
fn generated_typescript_matches_snapshots() {
    insta::glob!("../fixtures/valid", "*.{yaml,json}", |path| {
        let rel = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().to_path_buf();
        insta::assert_snapshot!(emit(&[rel]));
    });
}

#[test]
fn typescript_generation_is_deterministic() {
    let files = valid_fixtures();
    assert_eq!(emit(&files), emit(&files));
}

/// Every fixture's module, all fixtures merged, and the type-level tests, under
/// `tsc --strict`. A type-level test whose `@ts-expect-error` line compiles fails tsc
/// ("unused '@ts-expect-error' directive"), so the wrong uses are proven rejected.
#[test]
fn generated_typescript_passes_tsc_strict() {
    let dir = common::ts_project("ts-check", &["gen/*.ts", "../../tests/ts/*.ts"]);
    let mut modules: Vec<(String, Vec<PathBuf>)> =
        valid_fixtures().into_iter().map(|f| (f.file_stem().unwrap().to_string_lossy().to_string(), vec![f])).collect();
    modules.push(("all-merged".into(), valid_fixtures()));
    modules.push(("pipeline".into(), vec![PathBuf::from("examples/pipeline/chanspec.yaml")]));
    for (name, files) in &modules {
        let out = dir.join("gen").join(format!("{name}.ts"));
        chanspec::Builder::new().files(files).ts_out(&out).cargo_output(false).generate().unwrap();
    }
    let out = common::tsc(&dir);
    assert!(
        out.status.success(),
        "tsc --strict failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
