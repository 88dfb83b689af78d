//! The committed `schemas/chanspec.schema.json` is the one derived from the Rust model.

#[cfg(feature = "schema")]
#[test]
fn committed_format_schema_is_current() {
    let derived = chanspec::model::format_schema();
    let committed: serde_json::Value = serde_json::from_str(chanspec::model::FORMAT_SCHEMA_JSON).unwrap();
    assert!(
        derived.to_serde() == committed,
        "schemas/chanspec.schema.json is stale: run `cargo run -- schema > schemas/chanspec.schema.json`"
    );
}
