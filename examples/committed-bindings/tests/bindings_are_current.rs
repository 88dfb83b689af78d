//! CI's guard: the committed bindings are what the definitions generate today.
//! Equivalent to `chanspec generate --check --rust src/channels.rs ../pipeline/chanspec.yaml`.

#[test]
fn committed_bindings_are_current() {
    let root = env!("CARGO_MANIFEST_DIR");
    let result = chanspec::Builder::new()
        .file(format!("{root}/../pipeline/chanspec.yaml"))
        .rust_out(format!("{root}/src/channels.rs"))
        .check_only(true)
        .cargo_output(false)
        .generate();
    if let Err(e) = result {
        panic!(
            "{e}\nregenerate with: cargo run -- generate --rust examples/committed-bindings/src/channels.rs examples/pipeline/chanspec.yaml"
        );
    }
}

#[test]
fn committed_bindings_are_usable() {
    use example_committed_bindings::channels;
    let ch = channels::pipeline("6f1c1a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6").unwrap();
    assert_eq!(ch.status().channel(), "pipeline:6f1c1a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6");
}
