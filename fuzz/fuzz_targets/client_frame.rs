//! `cargo fuzz run client_frame`: arbitrary bytes as a WebSocket client frame, parsed as the
//! hub parses one. Any panic is a bug; a frame that parses must serialize back to one that
//! parses to the same value. (`runtime/tests/fuzz.rs` runs generated frames against a live
//! hub in the test suite.)
#![no_main]

use chanspec_runtime::protocol::ClientFrame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = serde_json::from_slice::<ClientFrame>(data) {
        let text = serde_json::to_string(&frame).expect("a parsed frame serializes");
        let again: ClientFrame = serde_json::from_str(&text).expect("a serialized frame parses");
        assert_eq!(again, frame);
    }
});
