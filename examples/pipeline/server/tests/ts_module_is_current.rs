//! The web page's TypeScript module is committed (`examples/pipeline/web/src/channels.ts`):
//! it must be what the definitions generate today. Equivalent to
//! `chanspec generate --check --ts examples/pipeline/web/src/channels.ts examples/pipeline/chanspec.yaml`.

#[test]
fn committed_ts_module_is_current() {
    let root = env!("CARGO_MANIFEST_DIR");
    let result = chanspec::Builder::new()
        .file(format!("{root}/../chanspec.yaml"))
        .ts_out(format!("{root}/../web/src/channels.ts"))
        .check_only(true)
        .cargo_output(false)
        .generate();
    if let Err(e) = result {
        panic!(
            "{e}\nregenerate with: cargo run -- generate --ts examples/pipeline/web/src/channels.ts examples/pipeline/chanspec.yaml"
        );
    }
}
