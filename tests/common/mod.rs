//! Helpers shared by the tests that compile generated code.
#![allow(dead_code)] // each test binary uses some of these helpers

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

/// Assert that a tool (`what`: cargo, tsc, rustfmt) succeeded, showing all it printed if not.
pub fn assert_success(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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

/// Runs cases through generated TypeScript decoders in Node: `project` is a [`ts_project`]
/// whose `gen/<module>.ts` files `tsc` has compiled; each case is (module, decoder export,
/// topic, data). Returns, per case, whether the decoder accepted the data.
pub fn run_ts_decoders(project: &Path, cases: &[(String, String, String, serde_json::Value)]) -> Vec<bool> {
    use std::io::Write;
    use std::process::Stdio;
    let name = project.file_name().unwrap().to_string_lossy();
    let out = project.join("out/target").join(&*name).join("gen");
    let runner = project.join("run.mjs");
    std::fs::write(
        &runner,
        format!(
            "import {{ createInterface }} from \"node:readline\";\n\
             import {{ pathToFileURL }} from \"node:url\";\n\
             const modules = new Map();\n\
             const lines = [];\n\
             for await (const line of createInterface({{ input: process.stdin }})) {{\n\
             \x20 const [module, decoder, topic, data] = JSON.parse(line);\n\
             \x20 if (!modules.has(module)) modules.set(module, await import(pathToFileURL({:?} + \"/\" + module + \".js\").href));\n\
             \x20 lines.push(modules.get(module)[decoder](topic, data) !== undefined ? \"1\" : \"0\");\n\
             }}\n\
             process.stdout.write(lines.join(\"\\n\") + \"\\n\");\n",
            out.display().to_string()
        ),
    )
    .unwrap();
    let mut child =
        Command::new("node").arg(&runner).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("node runs");
    let input: String = cases.iter().map(|c| format!("{}\n", serde_json::json!([c.0, c.1, c.2, c.3]))).collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "the Node runner failed");
    let verdicts: Vec<bool> = String::from_utf8(output.stdout).unwrap().lines().map(|l| l == "1").collect();
    assert_eq!(verdicts.len(), cases.len(), "one verdict per case");
    verdicts
}

/// Runs `command` with `input` on stdin; the lines it prints.
pub fn piped_lines(mut command: Command, input: &str) -> Vec<String> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("the program runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "{command:?} failed");
    String::from_utf8(output.stdout).unwrap().lines().map(String::from).collect()
}

/// Runs a Node script with `input` on stdin; the lines it prints.
pub fn node_lines(script: &Path, input: &str) -> Vec<String> {
    let mut node = Command::new("node");
    node.arg(script);
    piped_lines(node, input)
}

/// Runs `program` with `input` on stdin; one verdict (`1` or `0`) per output line.
pub fn run_lines(program: &Path, input: &str) -> Vec<bool> {
    piped_lines(Command::new(program), input).iter().map(|l| l == "1").collect()
}

/// The TypeScript module generated from `definition` in a new [`ts_project`] `name`, compiled
/// by `tsc --strict`: the path of its JavaScript, for a Node script to import.
pub fn ts_module(name: &str, definition: &Path) -> PathBuf {
    let ts = ts_project(name, &["gen/*.ts"]);
    chanspec::Builder::new()
        .file(definition)
        .ts_out(ts.join("gen/channels.ts"))
        .cargo_output(false)
        .generate()
        .unwrap();
    assert_success(&tsc(&ts), "tsc");
    ts.join(format!("out/target/{name}/gen/channels.js"))
}

/// The valid fixtures, sorted.
pub fn valid_fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("fixtures/valid").unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

/// The IR of `files`, which must check clean.
pub fn spec(files: &[PathBuf]) -> chanspec::ir::Spec {
    let checked = chanspec::check_files(files);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    chanspec::lower::lower(&checked).unwrap_or_else(|d| panic!("{d:?}"))
}
