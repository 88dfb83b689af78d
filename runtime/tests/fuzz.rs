//! Generated hostile input against a real hub (proptest; `CHANSPEC_FUZZ_CASES` cases per
//! property, 256 by default). The cargo-fuzz targets in `fuzz/` run the same inputs without
//! a bound:
//! - client frames (arbitrary text, and valid frames with fields replaced, added or dropped,
//!   tokens among them mutated): every answer is a documented frame, and the connection
//!   still answers a ping;
//! - tokens (arbitrary text, and one-character mutations of a valid token): refused unless
//!   unchanged, never a panic;
//! - publish bodies (arbitrary text, and valid bodies with fields replaced or dropped): a
//!   documented status with a JSON error body, never a 5xx; a body the hub accepts carries a
//!   payload the generated Rust decoder accepts too. `/healthz` answers at the end;
//! - messages (generated channel, topic, offset, time and payload): the compact frame reads
//!   back to exactly the object frame.

mod common;

use std::sync::Mutex;

use chanspec_runtime::ChannelMessage;
use chanspec_runtime::hub::HubConfig;
use chanspec_runtime::protocol::ServerFrame;
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

/// A message's compact frame (`chanspec.v1.compact`) says exactly what its object frame says:
/// generated channels, topics (any text, escapes and non-ASCII included), offsets, publication
/// times and payloads; read back through `CompactMessage::into_frame`, as the Rust client does.
#[test]
fn compact_frames_carry_exactly_the_object_frames_message() {
    use chanspec_runtime::broker::Message;
    use chanspec_runtime::protocol::{CompactMessage, FrameFormat};
    let mut runner = TestRunner::new(Config { cases: cases() * 4, ..Config::default() });
    let strategy = (".{1,24}", ".{1,16}", any::<u64>(), 0u64..=253_402_300_799_999, any_json(), any::<u64>());
    runner
        .run(&strategy, |(channel, topic, offset, at, data, id)| {
            let message = Message::new(channel.clone(), topic, offset, data.to_string(), at);
            let object: ServerFrame = serde_json::from_str(&message.frame(id)).unwrap();
            let text = message.frame_in(id, FrameFormat::Compact);
            prop_assert!(text.starts_with('[') && !text.contains('\n'), "{}", text);
            let compact: CompactMessage = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(compact.into_frame(channel), object);
            prop_assert_eq!(message.frame_in(id, FrameFormat::Objects), message.frame(id));
            Ok(())
        })
        .unwrap();
}

fn cases() -> u32 {
    std::env::var("CHANSPEC_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Any JSON value, small.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `base` with one field replaced by any value, one field dropped, or one field added.
fn mutated(base: Value) -> impl Strategy<Value = Value> {
    let keys: Vec<String> = base.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    let n = keys.len().max(1);
    (0..3usize, 0..n, any_json(), "[a-zA-Z]{1,8}").prop_map(move |(how, i, value, extra)| {
        let mut v = base.clone();
        let obj = v.as_object_mut().unwrap();
        match (how, keys.get(i)) {
            (0, Some(k)) => {
                obj.insert(k.clone(), value);
            }
            (1, Some(k)) => {
                obj.remove(k);
            }
            _ => {
                obj.insert(extra, value);
            }
        }
        v
    })
}

/// A token with one character changed, inserted or removed.
fn token_mutation(token: String) -> impl Strategy<Value = String> {
    let len = token.len();
    (0..len, 0..3usize, prop::char::range('!', '~')).prop_map(move |(at, how, c)| {
        let mut t: Vec<char> = token.chars().collect();
        match how {
            0 => t[at] = c,
            1 => t.insert(at, c),
            _ => {
                t.remove(at);
            }
        }
        t.into_iter().collect()
    })
}

fn valid_token() -> String {
    token(channels::pipeline(RUN).unwrap().name(), &["status", "tokens"])
}

#[test]
fn client_frames_never_break_a_connection() {
    let rt = runtime();
    let hub = rt.block_on(start(HubConfig::default(), None));
    let ws = Mutex::new(rt.block_on(Ws::connect(&hub.ws_url())));
    let token = valid_token();
    let frames = prop_oneof![
        ".{0,64}",
        any_json().prop_map(|v| v.to_string()),
        mutated(json!({"type": "subscribe", "id": 7, "token": token.clone()})).prop_map(|v| v.to_string()),
        mutated(json!({"type": "subscribe", "id": 8, "token": token.clone(), "since": {"epoch": "e", "offset": 1}}))
            .prop_map(|v| v.to_string()),
        mutated(json!({"type": "unsubscribe", "id": 7})).prop_map(|v| v.to_string()),
        mutated(json!({"type": "refresh", "id": 7, "token": token.clone()})).prop_map(|v| v.to_string()),
        mutated(json!({"type": "ping"})).prop_map(|v| v.to_string()),
        token_mutation(token.clone()).prop_map(|t| json!({"type": "subscribe", "id": 9, "token": t}).to_string()),
    ];
    let mut runner = TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() });
    runner
        .run(&frames, |text| {
            let mut ws = ws.lock().unwrap();
            rt.block_on(async {
                ws.send_text(text.clone()).await;
                ws.send(json!({"type": "ping", })).await;
                // Every answer up to the pong is a documented frame.
                loop {
                    let frame = match ws.next().await {
                        Got::Frame(f) => f,
                        Got::Closed(code) => panic!("the connection closed ({code:?}) after {text}"),
                    };
                    let parsed: Result<ServerFrame, _> = serde_json::from_value(frame.clone());
                    assert!(parsed.is_ok(), "undocumented frame {frame} after {text}");
                    if frame["type"] == "pong" {
                        break;
                    }
                }
            });
            Ok(())
        })
        .unwrap();
}

#[test]
fn tokens_are_refused_unless_unchanged() {
    let verifier = chanspec_runtime::token::TokenVerifier::new(SECRET.as_bytes(), None);
    let token = valid_token();
    assert!(verifier.verify(&token).is_ok());
    let inputs = prop_oneof![".{0,300}", token_mutation(token.clone())];
    let mut runner = TestRunner::new(Config { cases: cases() * 4, failure_persistence: None, ..Config::default() });
    runner
        .run(&inputs, |t| {
            let verdict = verifier.verify(&t);
            if t != token {
                // Base64url has spare bits: a change of the last character can decode to the
                // same bytes, and then it is the same token.
                let same = verdict.as_ref().is_ok_and(|c| verifier.verify(&token).is_ok_and(|d| &d == c));
                prop_assert!(verdict.is_err() || same, "a changed token was accepted: {t}");
            }
            if let Err(e) = verdict {
                let text = e.to_string();
                prop_assert!(!text.contains("Error(") && !text.contains("Json("), "library internals: {text}");
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn publish_bodies_get_a_documented_answer_and_only_valid_payloads_pass() {
    let rt = runtime();
    let hub = rt.block_on(start(HubConfig::default(), None));
    let url = format!("{}/v1/publish", hub.http_url());
    let client = reqwest::Client::new();
    let channel = channels::pipeline(RUN).unwrap().name().to_string();
    let status_body = json!({"channel": channel, "topic": "status", "data": {"step": "build", "state": "running"}});
    let token_body = json!({"channel": channel, "topic": "tokens", "data": {"token": "x"}, "idempotencyKey": "k"});
    let bodies = prop_oneof![
        ".{0,64}",
        any_json().prop_map(|v| v.to_string()),
        mutated(status_body.clone()).prop_map(|v| v.to_string()),
        mutated(token_body.clone()).prop_map(|v| v.to_string()),
        (mutated(status_body["data"].clone()), Just(status_body)).prop_map(|(data, mut body)| {
            body["data"] = data;
            body.to_string()
        }),
    ];
    let statuses = Mutex::new(std::collections::BTreeMap::<u16, usize>::new());
    let mut runner = TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() });
    runner
        .run(&bodies, |body| {
            rt.block_on(async {
                let response = client
                    .post(&url)
                    .bearer_auth(PUBLISH_KEY)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let answer: Value = response.json().await.expect("every answer is JSON");
                assert!([200, 400, 404, 413].contains(&status), "status {status} for {body}: {answer}");
                *statuses.lock().unwrap().entry(status).or_default() += 1;
                if status == 200 {
                    let sent: Value = serde_json::from_str(&body).unwrap();
                    let topic = sent["topic"].as_str().unwrap();
                    let decoded = channels::PipelineMessage::decode(topic, sent["data"].clone());
                    assert!(decoded.is_ok(), "the hub accepted what subscribers refuse: {body}");
                } else {
                    assert!(answer["error"].is_string() || answer["code"].is_string(), "no error code: {answer}");
                }
            });
            Ok(())
        })
        .unwrap();
    let statuses = statuses.into_inner().unwrap();
    eprintln!("publish statuses: {statuses:?}");
    assert!(statuses.contains_key(&200) && statuses.contains_key(&400), "the inputs reach both answers");
    let health =
        rt.block_on(async { client.get(format!("{}/healthz", hub.http_url())).send().await.unwrap().status() });
    assert_eq!(health.as_u16(), 200);
}
