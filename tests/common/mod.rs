//! Helpers shared by the tests that compile generated code.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Lay out a crate at `target/<name>` whose only dependencies are serde, serde_json and
/// chanspec-runtime (what generated code may use). Returns its directory.
pub fn generated_crate(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target").join(name);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nserde = {{ version = \"1\", features = [\"derive\"] }}\nserde_json = \"1\"\n\
             chanspec-runtime = {{ path = {:?} }}\n\n[workspace]\n",
            root.join("runtime").display().to_string()
        ),
    )
    .unwrap();
    dir
}

/// `cargo <args>` in `dir`, sharing one target directory between the generated crates.
pub fn cargo(dir: &Path, args: &[&str]) -> std::process::Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo).args(args).current_dir(dir).env("CARGO_TARGET_DIR", target_dir()).output().unwrap()
}

pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/generated-check-target")
}

/// A TypeScript project at `target/<name>`: `gen/` for generated modules, compiled by
/// `tsc --strict` to `out/` as ES modules Node runs. Returns its directory.
pub fn ts_project(name: &str, include: &[&str]) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("gen")).unwrap();
    let include: Vec<String> = include.iter().map(|i| format!("{i:?}")).collect();
    std::fs::write(
        dir.join("tsconfig.json"),
        format!(
            "{{\n  \"compilerOptions\": {{\n    \"strict\": true,\n    \"target\": \"es2022\",\n    \"module\": \"nodenext\",\n    \
             \"moduleResolution\": \"nodenext\",\n    \"outDir\": \"out\",\n    \"rootDir\": {:?},\n    \"skipLibCheck\": true,\n    \
             \"types\": []\n  }},\n  \"include\": [{}]\n}}\n",
            root.display().to_string(),
            include.join(", ")
        ),
    )
    .unwrap();
    std::fs::write(dir.join("package.json"), "{ \"type\": \"module\", \"private\": true }\n").unwrap();
    dir
}

/// `tsc -p dir` with the TypeScript pinned in the repository's package.json.
pub fn tsc(dir: &Path) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tsc = root.join("node_modules/typescript/bin/tsc");
    assert!(tsc.exists(), "TypeScript is not installed: run `npm ci` at the repository's root (scripts/test does)");
    Command::new("node").arg(tsc).arg("-p").arg(dir).output().expect("node runs")
}
