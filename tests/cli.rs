//! The `chanspec` binary: exit codes, output formats, and no panics on any input.

use std::process::{Command, Output};

fn chanspec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chanspec")).args(args).output().expect("the binary runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

#[test]
fn clean_definitions_exit_zero() {
    let o = chanspec(&["check", "fixtures/valid/chat.yaml"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ok:"));
}

#[test]
fn errors_exit_one_with_rustc_style_output() {
    let o = chanspec(&["check", "--color", "never", "fixtures/invalid/undeclared-param.yaml"]);
    assert_eq!(code(&o), 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("error: `{runId}`"), "{err}");
    assert!(err.contains("--> fixtures/invalid/undeclared-param.yaml:7:11"), "{err}");
    assert!(err.contains("[undeclared-param]"), "{err}");
    assert!(err.contains("help: "), "{err}");
}

#[test]
fn missing_file_is_a_diagnostic_not_a_usage_error() {
    let o = chanspec(&["check", "does/not/exist.yaml"]);
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read `does/not/exist.yaml`"));
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(code(&chanspec(&["check"])), 2);
    assert_eq!(code(&chanspec(&["check", "--format", "xml", "fixtures/valid/chat.yaml"])), 2);
    assert_eq!(code(&chanspec(&["frobnicate"])), 2);
}

#[test]
fn json_format_prints_one_object_per_diagnostic() {
    let o =
        chanspec(&["check", "--format", "json", "fixtures/invalid/unused-param.yaml", "fixtures/valid/narrowing.yaml"]);
    assert_eq!(code(&o), 1);
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() > 1);
    for l in &lines {
        for key in ["file", "line", "column", "pointer", "code", "severity", "message"] {
            assert!(l.get(key).is_some(), "{key} in {l}");
        }
    }
    let e = lines.iter().find(|l| l["severity"] == "error").unwrap();
    assert_eq!(e["code"], "unused-param");
    assert_eq!((e["line"].as_u64(), e["column"].as_u64()), (Some(9), Some(7)));
    assert_eq!(e["pointer"], "/channels/pipeline/params/attempt");
}

#[test]
fn github_format_prints_workflow_commands() {
    let o = chanspec(&["check", "--format", "github", "fixtures/invalid/unused-param.yaml"]);
    assert_eq!(code(&o), 1);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("::error file=fixtures/invalid/unused-param.yaml,line=9,col=7,endLine=9,endColumn=14,title=chanspec unused-param::param `attempt`"),
        "{out}"
    );
}

#[test]
fn deny_warnings_turns_warnings_into_failure() {
    assert_eq!(code(&chanspec(&["check", "fixtures/valid/narrowing.yaml"])), 0);
    assert_eq!(code(&chanspec(&["check", "--deny-warnings", "fixtures/valid/narrowing.yaml"])), 1);
    assert_eq!(code(&chanspec(&["check", "--deny", "warnings", "fixtures/valid/narrowing.yaml"])), 1);
}

#[test]
fn x_chanspec_allow_acknowledges_warnings_where_it_stands() {
    let dir = std::env::temp_dir().join(format!("chanspec-allow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let def = dir.join("allow.yaml");
    let text = |top: &str, channel: &str, schema: &str| {
        format!(
            "chanspec: 1\n{top}channels:\n  meters:\n{channel}    topics:\n      reading:\n        schema:\n          type: object\n{schema}          properties:\n            watts: {{ type: number, minimum: 0, nullable: false }}\n"
        )
    };
    let run = |t: String| {
        std::fs::write(&def, t).unwrap();
        chanspec(&["check", "--deny", "warnings", "--format", "json", def.to_str().unwrap()])
    };
    let codes = |o: &Output| {
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        out.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["code"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    // Nothing acknowledged: two warnings, and --deny warnings fails.
    let o = run(text("", "", ""));
    assert_eq!((code(&o), codes(&o)), (1, vec!["narrowing-keyword".to_string(), "unknown-keyword".to_string()]));
    // At the top, on the channel, on the schema: each silences its codes there and below.
    let o = run(text("x-chanspec-allow: [narrowing-keyword, unknown-keyword]\n", "", ""));
    assert_eq!((code(&o), codes(&o)), (0, vec![]));
    let o = run(text("", "    x-chanspec-allow: [narrowing-keyword]\n", ""));
    assert_eq!((code(&o), codes(&o)), (1, vec!["unknown-keyword".to_string()]));
    let o = run(text("", "", "          x-chanspec-allow: [unknown-keyword, narrowing-keyword]\n"));
    assert_eq!((code(&o), codes(&o)), (0, vec![]));
    // An unknown code is an error, wherever it is.
    let o = run(text("x-chanspec-allow: [narowing-keyword]\n", "", ""));
    assert_eq!(code(&o), 1);
    assert!(codes(&o).contains(&"invalid-allow".to_string()), "{:?}", codes(&o));
    let o = run(text("", "", "          x-chanspec-allow: [nope]\n"));
    assert!(codes(&o).contains(&"invalid-allow".to_string()), "{:?}", codes(&o));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let o = chanspec(&["schema"]);
    assert_eq!(code(&o), 0);
    let printed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/chanspec.schema.json").unwrap()).unwrap();
    assert_eq!(printed, committed);
}

#[test]
fn hostile_inputs_never_crash_the_binary() {
    let dir = std::env::temp_dir().join(format!("chanspec-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("deep.yaml", "[".repeat(100_000).into_bytes()),
        ("deep.json", "[".repeat(100_000).into_bytes()),
        ("deepmap.yaml", (0..5000).map(|i| format!("{}a:\n", " ".repeat(i))).collect::<String>().into_bytes()),
        ("bomb.yaml", b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n".to_vec()),
        ("binary.yaml", vec![0xff, 0xfe, 0x00, 0x01]),
        ("empty.yaml", vec![]),
        ("nan.yaml", b"chanspec: .nan\nchannels: {}\n".to_vec()),
        ("twodocs.yaml", b"a: 1\n---\nb: 2\n".to_vec()),
        ("complexkey.yaml", b"? [a]\n: b\n".to_vec()),
    ];
    for (name, bytes) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let o = chanspec(&["check", path.to_str().unwrap()]);
        assert_eq!(code(&o), 1, "{name}: {}", String::from_utf8_lossy(&o.stderr));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn generate_writes_then_leaves_unchanged_and_check_detects_staleness() {
    let dir = std::env::temp_dir().join(format!("chanspec-gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("channels.rs");
    let out_s = out.to_str().unwrap();
    let def = "examples/pipeline/chanspec.yaml";

    // Missing output: --check fails and says so.
    let o = chanspec(&["generate", "--check", "--rust", out_s, def]);
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"));

    let o = chanspec(&["generate", "--rust", out_s, def]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrote:"));
    let modified = std::fs::metadata(&out).unwrap().modified().unwrap();

    // Same input: nothing written.
    let o = chanspec(&["generate", "--rust", out_s, def]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("unchanged:"));
    assert_eq!(std::fs::metadata(&out).unwrap().modified().unwrap(), modified);
    assert_eq!(code(&chanspec(&["generate", "--check", "--rust", out_s, def])), 0);

    // A hand edit makes it stale: --check exits 1, names the file and shows a diff.
    let text = std::fs::read_to_string(&out).unwrap().replace("pub step:", "pub stepp:");
    std::fs::write(&out, text).unwrap();
    let o = chanspec(&["generate", "--check", "--rust", out_s, def]);
    assert_eq!(code(&o), 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("is stale") && err.contains("-    pub stepp:") && err.contains("+    pub step:"), "{err}");
    // A unified diff with context, and the command that regenerates the file.
    assert!(err.contains(" (committed)\n+++ ") && err.contains("\n@@ -"), "{err}");
    assert!(err.trim_end().ends_with(&format!("to regenerate: chanspec generate --rust {out_s} {def}")), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// prettyplease alone by default; rustfmt with `--rustfmt` or where a rustfmt.toml applies,
/// in its style; `--no-rustfmt` never. `--check` compares with what the same flags write.
#[test]
fn generate_runs_rustfmt_when_asked_or_configured() {
    let dir = std::env::temp_dir().join(format!("chanspec-fmt-{}", std::process::id()));
    let (plain, styled) = (dir.join("plain"), dir.join("styled/src"));
    std::fs::create_dir_all(&plain).unwrap();
    std::fs::create_dir_all(&styled).unwrap();
    std::fs::write(dir.join("styled/rustfmt.toml"), "max_width = 70\n").unwrap();
    let def = std::path::absolute("examples/pipeline/chanspec.yaml").unwrap();
    let def = def.to_str().unwrap();
    let generate = |out: &std::path::Path, flags: &[&str]| {
        let out_s = out.to_str().unwrap();
        let o = chanspec(&[&["generate", "--rust", out_s][..], flags, &[def]].concat());
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read_to_string(out).unwrap()
    };
    let rustfmt_check = |file: &std::path::Path| {
        let o = Command::new("rustfmt")
            .args(["--edition", "2024", "--check"])
            .arg(file)
            .current_dir(file.parent().unwrap())
            .output()
            .unwrap();
        o.status.success()
    };
    let rustfmt_default = |code: &str| chanspec::builder::rustfmt(code, Some(&plain)).unwrap();
    let prettyplease = generate(&plain.join("default.rs"), &[]);
    assert_eq!(prettyplease, generate(&plain.join("never.rs"), &["--no-rustfmt"]));
    let asked = generate(&plain.join("asked.rs"), &["--rustfmt"]);
    let configured = generate(&styled.join("channels.rs"), &[]);
    let refused = generate(&styled.join("never.rs"), &["--no-rustfmt"]);
    if Command::new("rustfmt").arg("--version").output().is_ok_and(|o| o.status.success()) {
        assert_ne!(asked, prettyplease, "rustfmt's layout is not prettyplease's");
        assert!(rustfmt_check(&plain.join("asked.rs")), "--rustfmt: rustfmt's default style");
        assert!(rustfmt_check(&styled.join("channels.rs")), "a rustfmt.toml above: its style");
        // Past the header (which names the definition relative to each output).
        let body = |code: &str| code.split_once("\n\n").map(|(_, b)| b.to_string()).unwrap();
        assert_ne!(body(&configured), body(&asked), "max_width = 70 is not the default style");
        assert_eq!(
            body(&asked),
            body(&rustfmt_default(&prettyplease)),
            "--rustfmt is rustfmt on prettyplease's output"
        );
        assert!(!rustfmt_check(&styled.join("never.rs")), "--no-rustfmt ignores the configuration");
    }
    // `--check` with the flags that wrote the file passes.
    let styled_s = styled.join("channels.rs");
    assert_eq!(code(&chanspec(&["generate", "--check", "--rust", styled_s.to_str().unwrap(), def])), 0);
    let asked_s = plain.join("asked.rs");
    assert_eq!(code(&chanspec(&["generate", "--check", "--rustfmt", "--rust", asked_s.to_str().unwrap(), def])), 0);
    let o = chanspec(&["generate", "--check", "--rust", asked_s.to_str().unwrap(), def]);
    assert_eq!(code(&o), 1, "written with rustfmt, checked without");
    drop(refused);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn generate_writes_rust_and_typescript_from_one_call_and_check_covers_both() {
    let dir = std::env::temp_dir().join(format!("chanspec-gen-both-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (rs, ts) = (dir.join("channels.rs"), dir.join("channels.ts"));
    let (rs_s, ts_s) = (rs.to_str().unwrap(), ts.to_str().unwrap());
    let def = "examples/pipeline/chanspec.yaml";
    let o = chanspec(&["generate", "--rust", rs_s, "--ts", ts_s, def]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_to_string(&ts).unwrap().contains("export const pipeline = {"));
    assert_eq!(code(&chanspec(&["generate", "--check", "--rust", rs_s, "--ts", ts_s, def])), 0);
    // A stale TypeScript file alone fails the check, named with a diff.
    let text = std::fs::read_to_string(&ts).unwrap().replace("  step: string;", "  stepp: string;");
    std::fs::write(&ts, text).unwrap();
    let o = chanspec(&["generate", "--check", "--rust", rs_s, "--ts", ts_s, def]);
    assert_eq!(code(&o), 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("channels.ts") && err.contains("is stale") && err.contains("-  stepp: string;"), "{err}");
    assert!(!err.contains("channels.rs is stale"), "{err}");
    // TypeScript alone is fine too; no output at all is a usage error.
    assert_eq!(code(&chanspec(&["generate", "--ts", ts_s, def])), 0);
    assert_eq!(code(&chanspec(&["generate", def])), 2);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn generate_refuses_invalid_definitions_with_diagnostics() {
    let o = chanspec(&["generate", "--rust", "/tmp/never-written.rs", "fixtures/invalid/undeclared-param.yaml"]);
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains("[undeclared-param]"));
    assert!(!std::path::Path::new("/tmp/never-written.rs").exists());
}

#[test]
fn generate_refuses_a_file_type_named_like_a_channel_item() {
    let dir = std::env::temp_dir().join(format!("chanspec-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("a.yaml"),
        "chanspec: 1\nchannels:\n  pipeline:\n    topics:\n      status: { schema: { $ref: \"pipeline-params.json\" } }\n",
    )
    .unwrap();
    std::fs::write(dir.join("pipeline-params.json"), "{\"type\": \"object\"}").unwrap();
    let out = dir.join("out.ts");
    let o = chanspec(&["generate", "--ts", out.to_str().unwrap(), dir.join("a.yaml").to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("`PipelineParams`") && err.contains("[name-collision]"), "{err}");
    assert!(!out.exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn generate_warns_when_a_rust_type_must_be_any_json_value() {
    let dir = std::env::temp_dir().join(format!("chanspec-degrade-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let def = dir.join("a.yaml");
    std::fs::write(
        &def,
        "chanspec: 1\nchannels:\n  g:\n    topics:\n      t: { schema: { enum: [6, foo, [], true, { foo: 12 }] } }\n",
    )
    .unwrap();
    let out = dir.join("out.rs");
    let o = chanspec(&["generate", "--rust", out.to_str().unwrap(), def.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning: the Rust type `Gt` is any JSON value"), "{err}");
    assert!(std::fs::read_to_string(&out).unwrap().contains("pub struct Gt(pub ::serde_json::Value);"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn init_writes_a_starter_that_checks_clean_and_never_overwrites() {
    let dir = std::env::temp_dir().join(format!("chanspec-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let o = chanspec(&["init", d]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let next = String::from_utf8_lossy(&o.stdout);
    assert!(next.contains("build.rs") && next.contains("cargo add") && next.contains("generate --ts"), "{next}");
    let def = dir.join("chanspec.yaml");
    assert!(std::fs::read_to_string(&def).unwrap().starts_with("# yaml-language-server: $schema=chanspec.schema.json"));
    // Clean: no error and no warning.
    let checked = chanspec::check_files(std::slice::from_ref(&def));
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
    // Run again: refused, exit 1, and the file is untouched.
    std::fs::write(&def, "mine").unwrap();
    let again = chanspec(&["init", d]);
    assert_eq!(code(&again), 1);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exist"));
    assert_eq!(std::fs::read_to_string(&def).unwrap(), "mine");
    std::fs::remove_dir_all(&dir).ok();
}
