//! The committed `schemas/protocol.schema.json` is the one derived from the frame types, and
//! the documented example frames validate against it.

use serde_json::json;

const COMMITTED: &str = include_str!("../../schemas/protocol.schema.json");

#[test]
fn committed_protocol_schema_is_current() {
    let derived = chanspec_runtime::protocol::protocol_schema();
    if std::env::var_os("UPDATE_PROTOCOL_SCHEMA").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/protocol.schema.json");
        std::fs::write(path, serde_json::to_string_pretty(&derived).unwrap() + "\n").unwrap();
        return;
    }
    let committed: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    assert!(
        derived == committed,
        "schemas/protocol.schema.json is stale: run `UPDATE_PROTOCOL_SCHEMA=1 cargo test -p chanspec-runtime --test protocol_schema`"
    );
}

#[test]
fn documented_frames_validate() {
    let schema: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let good = [
        json!({"type":"subscribe","id":1,"token":"t","since":{"epoch":"e","offset":41}}),
        json!({"type":"unsubscribe","id":1}),
        json!({"type":"refresh","id":1,"token":"t"}),
        json!({"type":"ping"}),
        json!({"type":"subscribed","id":1,"channel":"pipeline:7","topics":["status"],"epoch":"e","offset":41,"recovered":true}),
        json!({"type":"message","id":1,"channel":"pipeline:7","topic":"status","offset":42,"data":{"a":1},"publishedAt":"2026-01-02T03:04:05.678Z"}),
        json!([1, "status", 42, 1767323045678u64, {"a": 1}]),
        json!({"type":"unsubscribed","id":1,"reason":"token_expired"}),
        json!({"type":"error","id":1,"code":"forbidden","message":"m"}),
        json!({"type":"pong"}),
        json!({"type":"closing"}),
    ];
    for frame in &good {
        assert!(validator.is_valid(frame), "{frame} should be valid");
    }
    let bad = [
        json!({"type":"subscribe","id":-1,"token":"t"}),
        json!({"type":"nope"}),
        json!([1, "status", 42, "2026-01-02T03:04:05.678Z", {"a": 1}]),
        json!([1, "status", 42, 1767323045678u64]),
        json!({"type":"error","code":"weird","message":"m"}),
    ];
    for frame in &bad {
        assert!(!validator.is_valid(frame), "{frame} should be refused");
    }
}
