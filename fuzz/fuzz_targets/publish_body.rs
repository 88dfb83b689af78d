//! `cargo fuzz run publish_body`: arbitrary bytes as a `POST /v1/publish` body, parsed as the
//! hub parses one, its channel matched and its payload checked against the example's
//! definitions as the hub does. Any panic is a bug; a payload the check passes still passes
//! after a round trip through its JSON text (what subscribers receive).
#![no_main]

use std::sync::OnceLock;

use chanspec_runtime::Definitions;
use chanspec_runtime::check::Schemas;
use chanspec_runtime::protocol::PublishRequest;
use libfuzzer_sys::fuzz_target;

fn definitions() -> &'static (Definitions, Schemas) {
    static DEFINITIONS: OnceLock<(Definitions, Schemas)> = OnceLock::new();
    DEFINITIONS.get_or_init(|| {
        let definitions = chanspec::definitions::from_files(&["../examples/pipeline/chanspec.yaml".into()])
            .expect("the example's definitions load");
        let schemas = Schemas::from_map(definitions.schemas.clone());
        (definitions, schemas)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(request) = serde_json::from_slice::<PublishRequest>(data) else { return };
    let (definitions, schemas) = definitions();
    let Some(channel) = definitions.find(&request.channel) else {
        let _ = definitions.no_channel(&request.channel);
        return;
    };
    let Some(topic) = channel.topic(&request.topic) else { return };
    if schemas.check(&topic.payload, &request.data).is_ok() {
        let text = serde_json::to_string(&request.data).expect("a value serializes");
        let received: serde_json::Value = serde_json::from_str(&text).expect("its text parses");
        assert!(schemas.check(&topic.payload, &received).is_ok(), "{text}");
    }
});
