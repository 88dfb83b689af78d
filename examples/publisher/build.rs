fn main() {
    // Writes $OUT_DIR/chanspec.rs and tells cargo to rerun only when a definition changes.
    if let Err(e) = chanspec::Builder::new().file("../pipeline/chanspec.yaml").generate() {
        panic!("{e}");
    }
}
