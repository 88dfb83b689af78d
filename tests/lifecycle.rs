//! Lifecycle definitions in the compiler: checked like topic schemas, lowered to named types,
//! and generated only where declared: `complete`/`fail`/`cancel` compile for a lifecycle
//! channel and not for one without (a compile-fail check on a real crate), and the
//! TypeScript descriptor carries the lifecycle's guards.

mod common;

use std::path::Path;

fn spec_of(yaml: &str) -> chanspec::ir::Spec {
    let dir = std::env::temp_dir().join(format!("chanspec-lifecycle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("chanspec.yaml");
    std::fs::write(&file, yaml).unwrap();
    let checked = chanspec::check_files(&[file]);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    chanspec::lower::lower(&checked).unwrap()
}

#[test]
fn lifecycle_schemas_become_named_types() {
    let spec = spec_of(
        "chanspec: 1\nchannels:\n  job:\n    name: \"job:{id}\"\n    params: { id: { type: string } }\n    topics:\n      \
         progress: { schema: { type: integer } }\n    lifecycle:\n      result: { type: object, properties: { url: { type: string } } }\n  \
         plain:\n    topics:\n      t: { schema: { type: string } }\n",
    );
    let job = spec.channels.iter().find(|c| c.id == "job").unwrap();
    let lifecycle = job.lifecycle.as_ref().unwrap();
    assert_eq!((lifecycle.result.as_deref(), lifecycle.error.as_deref()), (Some("JobResult"), None));
    assert!(spec.types.iter().any(|t| t.name == "JobResult"));
    assert!(spec.channels.iter().find(|c| c.id == "plain").unwrap().lifecycle.is_none());
    let ts = chanspec::emit::ts::emit(&spec).unwrap();
    assert!(
        ts.contains(
            "lifecycle: {\n    result: isJobResult,\n    error: (x: unknown): x is undefined => x === undefined,"
        ),
        "{ts}"
    );
}

/// The example's bindings in a crate, and `main` calling `body`.
fn build_with(name: &str, body: &str) -> std::process::Output {
    let dir = common::generated_crate(name);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pipeline/chanspec.yaml");
    let checked = chanspec::check_files(&[example]);
    let spec = chanspec::lower::lower(&checked).unwrap();
    std::fs::write(dir.join("src/channels.rs"), chanspec::emit::rust::emit(&spec).unwrap()).unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        format!(
            "#[allow(dead_code)]\nmod channels;\nuse chanspec_runtime::Publish;\n\n\
             fn main() {{\n    let publisher = chanspec_runtime::MemoryPublisher::new();\n    {body}\n}}\n"
        ),
    )
    .unwrap();
    common::cargo(&dir, &["build", "--quiet", "--message-format", "short"])
}

#[test]
fn lifecycle_methods_exist_only_on_lifecycle_channels() {
    let ok = build_with(
        "lifecycle-compiles",
        "let run = channels::pipeline(\"6f1c1a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6\").unwrap();\n    \
         let summary = channels::RunSummary::new(4, 10, \"done\".into());\n    \
         let _ = publisher.complete(&run, &summary);\n    \
         let _ = publisher.fail_durable(\"k\", &run, &channels::RunError { step: \"s\".into(), message: \"m\".into() });\n    \
         let _ = publisher.cancel(&run);",
    );
    common::assert_success(&ok, "cargo build (lifecycle channel)");
    let refused = build_with("lifecycle-refused", "let _ = publisher.cancel(&channels::announcements());");
    assert!(!refused.status.success(), "a channel without a lifecycle must have no `cancel`");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("LifecycleChannel"), "{stderr}");
}
