//! The Rust bindings, generated into $OUT_DIR on every build where the definitions changed.
//! The page's TypeScript module is committed instead (`../web/src/channels.ts`, checked by
//! `tests/ts_module_is_current.rs`): a build script writes only under OUT_DIR, and the page
//! then builds with npm alone, before or without any cargo build.
fn main() {
    if let Err(e) = chanspec::Builder::new().file("../chanspec.yaml").generate() {
        panic!("{e}");
    }
}
