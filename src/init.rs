//! `chanspec init`: a commented starter definition, and the lines to wire it into a project.

use std::path::{Path, PathBuf};

/// The starter definition: a parameterized and a static channel, a `$defs` type, and the
/// comment that points yaml-language-server at the format's schema.
pub const STARTER: &str = include_str!("../templates/init/chanspec.yaml");

/// What `init` writes into the directory: the starter, the schema file it references, and the
/// format's schema for editors (the committed schema this build validates with, so the two
/// always agree).
pub fn files() -> [(&'static str, &'static str); 3] {
    [
        ("chanspec.yaml", STARTER),
        ("schemas/announcement.json", include_str!("../templates/init/schemas/announcement.json")),
        ("chanspec.schema.json", crate::model::FORMAT_SCHEMA_JSON),
    ]
}

/// Write the starter files into `dir` (created if missing). Refuses, writing nothing, when
/// any of them exists already.
pub fn init(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let files = files();
    let existing: Vec<String> =
        files.iter().map(|(name, _)| dir.join(name)).filter(|p| p.exists()).map(|p| p.display().to_string()).collect();
    if !existing.is_empty() {
        let verb = if existing.len() == 1 { "exists" } else { "exist" };
        return Err(format!("{} already {verb}; chanspec init writes only new files", existing.join(", ")));
    }
    let mut written = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// What to do next, printed after the files are written: the dependencies, build.rs and the
/// module include for the Rust crate, and the TypeScript command. `def` is the definition's
/// path as the user's crate sees it. The crates are not on crates.io yet: the dependencies
/// point at the source this CLI was built from when it is still there, at git otherwise.
pub fn next_steps(def: &str) -> String {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (runtime, generator) = if source.join("runtime/Cargo.toml").is_file() {
        (format!("--path {}", source.join("runtime").display()), format!("--path {}", source.display()))
    } else {
        let git = format!("--git {}", env!("CARGO_PKG_REPOSITORY"));
        (git.clone(), git)
    };
    format!(
        r#"Next steps:

1. Check the definition:
     chanspec check {def}

2. In your Rust crate (chanspec's crates are not on crates.io yet):
     cargo add {runtime} chanspec-runtime --features hub
     cargo add serde --features derive
     cargo add serde_json
     cargo add --build {generator} chanspec --no-default-features

3. build.rs:
     fn main() {{
         chanspec::Builder::new().file("{def}").generate().expect("chanspec bindings");
     }}

4. src/main.rs:
     mod channels {{ include!(concat!(env!("OUT_DIR"), "/chanspec.rs")); }}

5. TypeScript types, guards and channel descriptors for the front end:
     chanspec generate --ts web/src/channels.ts {def}
"#
    )
}
