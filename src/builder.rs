//! Generation as a library call, for build.rs and the CLI alike.
//!
//! ```no_run
//! // In build.rs's `main`:
//! chanspec::Builder::new().file("chanspec.yaml").generate().expect("chanspec bindings");
//! // In src/main.rs: mod channels { include!(concat!(env!("OUT_DIR"), "/chanspec.rs")); }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use crate::load;
use crate::report::{self, Format};
use crate::validate::Checked;
use crate::write::{self, Outcome};

/// Configures and runs generation.
#[derive(Clone, Debug)]
pub struct Builder {
    files: Vec<PathBuf>,
    rust_out: Option<PathBuf>,
    ts_out: Option<PathBuf>,
    check_only: bool,
    cargo: Option<bool>,
    rustfmt: Rustfmt,
    exiting: bool,
}

/// Whether the Rust output goes through `rustfmt` after prettyplease has printed it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rustfmt {
    /// When the project configures rustfmt: a `rustfmt.toml` or `.rustfmt.toml` in the
    /// output's directory or one above it (that style is what `cargo fmt --check` holds the
    /// file to), unless the output is a build script's (under `$OUT_DIR`, which nobody
    /// formats). Otherwise prettyplease's formatting alone.
    #[default]
    Auto,
    /// Always (when rustfmt is installed).
    Always,
    /// Never: prettyplease's formatting only.
    Never,
}

impl Rustfmt {
    /// Whether rustfmt runs on an output written to `out`, `out_dir` being cargo's `OUT_DIR`
    /// when run as a build script.
    pub fn applies_to(self, out: &Path, out_dir: Option<&std::ffi::OsStr>) -> bool {
        match self {
            Rustfmt::Always => true,
            Rustfmt::Never => false,
            Rustfmt::Auto => {
                let abs = |p: &Path| std::path::absolute(p).map(|p| crate::workspace::normalize(&p)).ok();
                let out = abs(out);
                let in_out_dir =
                    out_dir.and_then(|d| abs(Path::new(d))).zip(out.as_ref()).is_some_and(|(d, o)| o.starts_with(d));
                !in_out_dir && out.as_deref().and_then(Path::parent).is_some_and(|d| rustfmt_config(d).is_some())
            }
        }
    }
}

/// The rustfmt configuration file that applies to files in `dir`, if any: rustfmt's own
/// lookup, from `dir` up to the root.
pub fn rustfmt_config(dir: &Path) -> Option<PathBuf> {
    let dir = std::path::absolute(dir).ok()?;
    dir.ancestors().flat_map(|d| ["rustfmt.toml", ".rustfmt.toml"].map(|name| d.join(name))).find(|f| f.is_file())
}

/// Why generation failed: the diagnostics rendered as `check` prints them, or the stale
/// outputs of a check-only run with their diffs and the command that regenerates them.
///
/// `Debug` prints the same text as `Display` (as `anyhow` does), so `generate().unwrap()`,
/// `.expect(…)` and `?` from build.rs's `main` show the report once, as it reads.
pub struct Error {
    pub report: String,
    /// Stale outputs found by a check-only run.
    pub stale: Vec<String>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.stale.is_empty() {
            return write!(f, "{}", self.stale.join("\n"));
        }
        write!(f, "chanspec could not generate bindings:\n{}", self.report)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {}

/// What a run wrote.
#[derive(Debug, Default)]
pub struct Generated {
    /// Output files and whether each was written or left as it was.
    pub outputs: Vec<(PathBuf, Outcome)>,
    /// Every file read (inputs and referenced schemas).
    pub inputs: Vec<PathBuf>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            files: Vec::new(),
            rust_out: None,
            ts_out: None,
            check_only: false,
            cargo: None,
            rustfmt: Rustfmt::Auto,
            exiting: false,
        }
    }
}

impl Builder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Pass the Rust output through `rustfmt` (run from the output's directory, so the
    /// project's rustfmt.toml applies) when it is installed: `true` always, `false` never.
    /// Default: [`Rustfmt::Auto`], only when the project configures rustfmt. Without rustfmt,
    /// the output is prettyplease's formatting, which is deterministic but not rustfmt's: a
    /// project that runs `cargo fmt --check` over committed bindings either configures
    /// rustfmt, asks for it here, or declares the module `#[rustfmt::skip] mod channels;`.
    pub fn rustfmt(mut self, yes: bool) -> Self {
        self.rustfmt = if yes { Rustfmt::Always } else { Rustfmt::Never };
        self
    }

    /// When to run rustfmt, [`Rustfmt::Auto`] by default.
    pub fn rustfmt_when(mut self, when: Rustfmt) -> Self {
        self.rustfmt = when;
        self
    }

    /// A definition file (YAML or JSON). Several are merged.
    pub fn file(mut self, path: impl AsRef<Path>) -> Self {
        self.files.push(path.as_ref().to_path_buf());
        self
    }

    pub fn files(mut self, paths: impl IntoIterator<Item = impl AsRef<Path>>) -> Self {
        self.files.extend(paths.into_iter().map(|p| p.as_ref().to_path_buf()));
        self
    }

    /// Where to write the Rust module. Default (under build.rs): `$OUT_DIR/chanspec.rs`.
    pub fn rust_out(mut self, path: impl AsRef<Path>) -> Self {
        self.rust_out = Some(path.as_ref().to_path_buf());
        self
    }

    /// Also write the TypeScript module here (no default), so a Rust build keeps the front
    /// end's types fresh.
    pub fn ts_out(mut self, path: impl AsRef<Path>) -> Self {
        self.ts_out = Some(path.as_ref().to_path_buf());
        self
    }

    /// Compare instead of writing: fail when an output is missing or differs.
    pub fn check_only(mut self, yes: bool) -> Self {
        self.check_only = yes;
        self
    }

    /// Print `cargo:rerun-if-changed` lines and diagnostics for cargo (default: when run by
    /// cargo as a build script, i.e. when `OUT_DIR` is set).
    pub fn cargo_output(mut self, yes: bool) -> Self {
        self.cargo = Some(yes);
        self
    }

    /// The process exits right after generating (the command line): the IR is left to the
    /// system instead of being freed node by node, which took 4% of `generate --ts` on the
    /// benchmark definition. Default: freed.
    pub fn process_exits_after(mut self, yes: bool) -> Self {
        self.exiting = yes;
        self
    }

    pub fn generate(self) -> Result<Generated, Error> {
        let cargo = self.cargo.unwrap_or_else(|| std::env::var_os("OUT_DIR").is_some());
        let checked = crate::check_files(&self.files);
        let mut generated = Generated {
            inputs: checked.workspace.sources.iter().map(|(_, f)| f.path.clone()).collect(),
            ..Generated::default()
        };
        if cargo {
            for f in self.files.iter().chain(&generated.inputs) {
                println!("cargo:rerun-if-changed={}", f.display());
            }
        }
        // The report travels in the error alone: printed by whoever handles it (`unwrap`, `?`).
        let fail = |checked: &Checked, diags: Vec<crate::Diagnostic>| Error {
            report: report::render(&diags, &checked.workspace.sources, Format::Human, false),
            stale: Vec::new(),
        };
        if checked.has_errors() {
            return Err(fail(&checked, checked.diagnostics.iter().cloned().collect()));
        }
        // Warnings do not fail the build: cargo shows each as one line, with its place.
        if cargo {
            for d in checked.diagnostics.iter() {
                let line = report::one_line(&report::locate(d, &checked.workspace.sources));
                println!("cargo:warning=chanspec: {line}");
            }
        }
        let mut checked = checked;
        // Checked and reported: the files' texts are needed again only for a report from
        // lowering, and are then read again.
        checked.workspace.sources.release_texts();
        let mut spec = crate::lower::lower_taking(&mut checked).map_err(|d| fail(&checked, d.into_vec()))?;
        // Lowering moved the schemas out of the documents into the IR; the rest of `checked`
        // goes back to the allocator for the emitters to reuse.
        crate::trace::phase("lowered");
        drop(checked);
        release_freed_memory();
        let rust_out = match (&self.rust_out, std::env::var_os("OUT_DIR")) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(dir)) => Some(PathBuf::from(dir).join("chanspec.rs")),
            (None, None) => None,
        };
        let mut stale = Vec::new();
        // The output in consecutive parts, written part by part.
        let mut put = |path: PathBuf, parts: Vec<String>| -> Result<(), Error> {
            if self.check_only {
                stale.extend(write::stale(&path, &parts.concat()));
            } else {
                let outcome = write::write_parts_if_changed(&path, &parts).map_err(|e| Error {
                    report: format!("cannot write {}: {e}", path.display()),
                    stale: Vec::new(),
                })?;
                generated.outputs.push((path, outcome));
            }
            Ok(())
        };
        let rust_cmd = rust_out.clone();
        if let Some(path) = rust_out {
            // Name the sources relative to the output, so the header does not depend on the
            // directory generation ran from.
            spec.sources = self.files.iter().map(|f| relative_to(f, &path)).collect();
            let dir = path.parent().filter(|d| d.is_dir());
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            let run_rustfmt = self.rustfmt.applies_to(&path, std::env::var_os("OUT_DIR").as_deref());
            let format = |part: &str| if run_rustfmt { rustfmt(part, dir) } else { None };
            // Many small parts, worked through one per core at a time: the typify instances
            // and syntax trees of only a few parts are in memory at once. At least about 16
            // types a part: each part is a rustfmt process, when it runs. (On the benchmark
            // corpus, 256 parts instead of 32: peak RSS 450 -> 360 MiB, and less time.)
            let parts = (cores * 128).min(spec.types.len() / 16 + 1);
            let emitted = crate::emit::rust::emit_finished(&spec, parts, &format)
                .map_err(|e| Error { report: e, stale: Vec::new() })?;
            for note in &emitted.notes {
                if cargo {
                    println!("cargo:warning=chanspec: {note}");
                } else {
                    eprintln!("warning: {note}");
                }
            }
            // rustfmt missing or failing on any part: prettyplease's output, all of it.
            crate::trace::phase("rust-emitted");
            put(path, emitted.finished.unwrap_or(emitted.printed))?;
            crate::trace::phase("written");
        }
        if let Some(path) = &self.ts_out {
            spec.sources = self.files.iter().map(|f| relative_to(f, path)).collect();
            let failed = |report: String| Error { report, stale: Vec::new() };
            if self.check_only {
                let parts = crate::emit::ts::emit_parts(&spec).map_err(failed)?;
                put(path.clone(), parts)?;
            } else {
                // Each part written (or compared with the file) as soon as it is rendered.
                let mut out = write::PartWriter::new(path);
                let cannot_write = |e: std::io::Error| failed(format!("cannot write {}: {e}", path.display()));
                // A write error is reported as itself, not as the template's failure it causes.
                let mut write_error = None;
                let emitted = crate::emit::ts::emit_into(&spec, &mut |part| {
                    out.part(&part).inspect_err(|e| write_error = Some(std::io::Error::new(e.kind(), e.to_string())))
                });
                if let Some(e) = write_error {
                    return Err(cannot_write(e));
                }
                emitted.map_err(|e| failed(format!("generating {}: {e}", path.display())))?;
                let outcome = out.finish().map_err(cannot_write)?;
                generated.outputs.push((path.clone(), outcome));
            }
            crate::trace::phase("written");
        }
        if !stale.is_empty() {
            stale.push(format!("to regenerate: {}", self.command(rust_cmd.as_deref())));
            return Err(Error { report: String::new(), stale });
        }
        if self.exiting {
            std::mem::forget(spec);
        }
        Ok(generated)
    }
}

impl Builder {
    /// The `chanspec generate` command that writes these outputs (for `--check`'s message).
    fn command(&self, rust_out: Option<&Path>) -> String {
        let quote = |p: &Path| {
            let s = p.display().to_string();
            if s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c)) {
                s
            } else {
                format!("'{}'", s.replace('\'', "'\\''"))
            }
        };
        let mut cmd = String::from("chanspec generate");
        match self.rustfmt {
            Rustfmt::Auto => {}
            Rustfmt::Always => cmd.push_str(" --rustfmt"),
            Rustfmt::Never => cmd.push_str(" --no-rustfmt"),
        }
        if let Some(p) = rust_out {
            cmd.push_str(&format!(" --rust {}", quote(p)));
        }
        if let Some(p) = &self.ts_out {
            cmd.push_str(&format!(" --ts {}", quote(p)));
        }
        for f in &self.files {
            cmd.push_str(&format!(" {}", quote(f)));
        }
        cmd
    }
}

/// Give back to the system the memory checking used, before the emitters start: the run's
/// peak is then the IR and the output being made, not also what checking held. The command
/// line's allocator is mimalloc, which otherwise keeps freed pages for the thread that freed
/// them (`generate` lets it purge; `main.rs`). With the `cli` feature (on by default) this
/// also runs in a build script, where mimalloc holds nothing and the call costs nothing;
/// without it, nothing is done.
fn release_freed_memory() {
    #[cfg(feature = "cli")]
    // SAFETY: mi_collect takes no pointers; it only walks mimalloc's own free lists.
    unsafe {
        libmimalloc_sys::mi_collect(true)
    }
}

/// `file` as a path relative to the directory of `out` (`../pipeline/chanspec.yaml`), or as
/// given when either cannot be resolved.
fn relative_to(file: &Path, out: &Path) -> String {
    let abs = |p: &Path| std::path::absolute(p).ok().map(|p| crate::workspace::normalize(&p));
    let (Some(file_abs), Some(out_abs)) = (abs(file), abs(out)) else { return load::display(file) };
    let dir = out_abs.parent().unwrap_or(Path::new("/"));
    let common = file_abs.components().zip(dir.components()).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in dir.components().skip(common) {
        rel.push("..");
    }
    for c in file_abs.components().skip(common) {
        rel.push(c);
    }
    rel.to_string_lossy().replace('\\', "/")
}

/// Format Rust source with the installed rustfmt, if any, run from `dir` so the project's
/// rustfmt.toml applies.
pub fn rustfmt(code: &str, dir: Option<&Path>) -> Option<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let program = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let mut command = Command::new(program);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command
        .args(["--edition", "2024", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let input = code.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustfmt_runs_by_default_only_where_the_project_configures_it() {
        let root = std::env::temp_dir().join(format!("chanspec-rustfmt-{}", std::process::id()));
        let (plain, configured, dotted) = (root.join("plain"), root.join("configured"), root.join("dotted"));
        for d in [&plain, &configured.join("src/deep"), &dotted] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(configured.join("rustfmt.toml"), "max_width = 80\n").unwrap();
        std::fs::write(dotted.join(".rustfmt.toml"), "").unwrap();
        let auto = Rustfmt::Auto;
        if rustfmt_config(&root).is_none() {
            assert!(!auto.applies_to(&plain.join("channels.rs"), None), "no rustfmt.toml: prettyplease only");
        }
        assert!(auto.applies_to(&configured.join("src/deep/channels.rs"), None), "a rustfmt.toml above");
        assert!(auto.applies_to(&dotted.join("channels.rs"), None), "a .rustfmt.toml beside");
        assert_eq!(rustfmt_config(&configured.join("src/deep")), Some(configured.join("rustfmt.toml")));
        // A build script's output is never formatted by default, whatever is configured above.
        let out_dir = configured.join("src");
        assert!(!auto.applies_to(&out_dir.join("deep/chanspec.rs"), Some(out_dir.as_os_str())));
        assert!(auto.applies_to(&configured.join("chanspec.rs"), Some(out_dir.as_os_str())));
        assert!(Rustfmt::Always.applies_to(&plain.join("channels.rs"), Some(plain.as_os_str())));
        assert!(!Rustfmt::Never.applies_to(&configured.join("channels.rs"), None));
        std::fs::remove_dir_all(root).ok();
    }
}
