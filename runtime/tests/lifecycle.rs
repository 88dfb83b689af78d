//! A run's lifecycle on the real hub, with both brokers (memory, and a real `redis-server`):
//! `pending` until the first publish, `running`, one terminal status with its typed result or
//! error, ordered with the messages by offset and replayed like one; nothing accepted after
//! the end (409 `channel_closed`), a retry with the same key a duplicate; the end outlives
//! history trimming (and a Redis restart with its append-only file), so a subscriber that
//! arrives late still learns how the run ended.

mod common;

use std::sync::Arc;

use chanspec_runtime::Publish;
use chanspec_runtime::broker::redis::RedisBroker;
use chanspec_runtime::broker::{Broker, BrokerConfig};
use chanspec_runtime::hub::{HubConfig, HubError};
use chanspec_runtime::protocol::ErrorCode;
use chanspec_runtime::{PublishError, client};
use common::channels::{self, PipelineStatus, PipelineStatusState, RunError, RunSummary, Token};
use common::*;
use serde_json::{Value, json};

const RUNS: [&str; 4] = [
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000b",
    "00000000-0000-4000-8000-00000000000c",
    "00000000-0000-4000-8000-00000000000d",
];

fn config() -> HubConfig {
    HubConfig { broker: BrokerConfig { history_count: 5, ..BrokerConfig::default() }, ..HubConfig::default() }
}

fn summary() -> RunSummary {
    RunSummary::new(3, 42, "all 3 steps passed".into())
}

fn closed<T: std::fmt::Debug>(r: Result<T, PublishError<HubError>>) -> bool {
    matches!(r, Err(PublishError::Publish(HubError { code: ErrorCode::ChannelClosed, .. })))
}

async fn post_status(base: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/status"))
        .bearer_auth(PUBLISH_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The whole lifecycle against one hub.
async fn lifecycle(hub: &Running) {
    let run = channels::pipeline(RUNS[0]).unwrap();
    let token = token(run.name(), &["status"]);
    let mut early = Ws::connect(&hub.ws_url()).await;
    let sub = early.subscribe(1, &token, None).await;
    assert_eq!(sub["status"], "pending", "{sub}");

    // Messages make the run `running` (a subscriber arriving now is told so).
    for i in 0..8 {
        let s = PipelineStatus { step: format!("step {i}"), state: PipelineStatusState::Running, message: None };
        hub.hub.publish(&run.status(), &s).await.unwrap();
    }
    let mut middle = Ws::connect(&hub.ws_url()).await;
    assert_eq!(middle.subscribe(1, &token, None).await["status"], "running");

    // A result that breaks its schema is refused before anything is sent.
    let bad = RunSummary::new(-1, 0, "negative".into());
    match hub.hub.complete(&run, &bad).await {
        Err(PublishError::Invalid { reason, .. }) => assert!(reason.contains("/steps"), "{reason}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    // The end: ordered after every message, the same frame to every subscription.
    let offset = hub.hub.complete_durable("final", &run, &summary()).await.unwrap();
    assert_eq!(offset, 9);
    assert_eq!(hub.hub.complete_durable("final", &run, &summary()).await.unwrap(), 9, "a retry is a duplicate");
    for ws in [&mut early, &mut middle] {
        let frame = loop {
            let f = ws.frame().await;
            if f["type"] == "status" {
                break f;
            }
            assert_eq!(f["type"], "message");
        };
        assert_eq!(frame["status"], "completed");
        assert_eq!(frame["offset"], 9);
        assert_eq!(frame["result"], json!({"steps": 3, "tokens": 42, "summary": "all 3 steps passed"}));
    }
    // Nothing more: a message, another ending, or the same one without its key.
    let s = PipelineStatus { step: "late".into(), state: PipelineStatusState::Running, message: None };
    assert!(closed(hub.hub.publish(&run.status(), &s).await));
    assert!(closed(hub.hub.fail(&run, &RunError { step: "x".into(), message: "y".into() }).await));
    assert!(closed(hub.hub.complete(&run, &summary()).await));
    let body = json!({"channel": run.name(), "topic": "tokens", "data": {"token": "t"}}).to_string();
    let (status, answer) = http_publish(&hub.http_url(), Some(PUBLISH_KEY), body).await;
    assert_eq!((status, answer["code"].as_str()), (409, Some("channel_closed")), "{answer}");

    // History keeps 5 messages: the early ones are gone, the end is not. A late subscriber,
    // over WebSocket or SSE, learns it at once.
    let mut late = Ws::connect(&hub.ws_url()).await;
    let sub = late.subscribe(1, &token, None).await;
    assert_eq!((sub["status"].as_str(), sub["result"]["tokens"].as_u64()), (Some("completed"), Some(42)), "{sub}");
    let resumed = late.subscribe(2, &token, Some(json!({"epoch": sub["epoch"], "offset": 1}))).await;
    assert_eq!((resumed["recovered"].as_bool(), resumed["status"].as_str()), (Some(false), Some("completed")));
    let mut sse = Sse::open(&hub.http_url(), &token, None).await.unwrap();
    let first = sse.next().await.unwrap().data;
    assert_eq!((first["status"].as_str(), first["result"]["steps"].as_u64()), (Some("completed"), Some(3)));
    // Resuming from inside the history replays the end in its place.
    let mut back = Ws::connect(&hub.ws_url()).await;
    let sub = back.subscribe(1, &token, Some(json!({"epoch": sub["epoch"], "offset": 7}))).await;
    assert_eq!(sub["recovered"], true, "{sub}");
    assert_eq!(back.frame().await["offset"], 8);
    let end = back.frame().await;
    assert_eq!((end["type"].as_str(), end["offset"].as_u64()), (Some("status"), Some(9)));

    // A failed run, by HTTP: the error is checked, then delivered typed.
    let failing = channels::pipeline(RUNS[1]).unwrap();
    let (status, answer) =
        post_status(&hub.http_url(), json!({"channel": failing.name(), "status": "failed", "error": {"step": 1}}))
            .await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("invalid_payload")), "{answer}");
    let (status, _) = post_status(&hub.http_url(), json!({"channel": failing.name(), "status": "running"})).await;
    assert_eq!(status, 200);
    let error = json!({"step": "test", "message": "2 tests failed"});
    let (status, answer) =
        post_status(&hub.http_url(), json!({"channel": failing.name(), "status": "failed", "error": error})).await;
    assert_eq!(status, 200, "{answer}");
    let mut ws = Ws::connect(&hub.ws_url()).await;
    let sub = ws.subscribe(1, &super_token(failing.name()), None).await;
    assert_eq!((sub["status"].as_str(), &sub["error"]), (Some("failed"), &error));
    let (status, answer) =
        post_status(&hub.http_url(), json!({"channel": failing.name(), "status": "cancelled"})).await;
    assert_eq!((status, answer["code"].as_str()), (409, Some("channel_closed")));

    // Cancelled, through the Rust HTTP publisher; the typed subscriber sees the change.
    let cancelled = channels::pipeline(RUNS[2]).unwrap();
    let mut typed =
        client::Subscription::<channels::PipelineMessage>::connect(&hub.ws_url(), &super_token(cancelled.name()), None)
            .await
            .unwrap();
    assert_eq!(typed.status().map(|s| s.status), Some(chanspec_runtime::protocol::RunStatus::Pending));
    let http = client::HttpPublisher::new(&hub.http_url(), PUBLISH_KEY);
    http.publish(&cancelled.tokens(), &Token { token: "one".into() }).await.unwrap();
    http.cancel(&cancelled).await.unwrap();
    assert!(matches!(typed.next_event().await.unwrap(), client::Event::Message(_)));
    match typed.next_event().await.unwrap() {
        client::Event::Status { status, offset, .. } => {
            assert_eq!((status.status.as_str(), offset), ("cancelled", 2));
        }
        other => panic!("expected a status, got {other:?}"),
    }
    // A channel without a lifecycle has no status.
    let (status, answer) = post_status(&hub.http_url(), json!({"channel": "announcements", "status": "running"})).await;
    assert_eq!((status, answer["code"].as_str()), (404, Some("not_found")), "{answer}");
    let mut ws = Ws::connect(&hub.ws_url()).await;
    let sub = ws.subscribe(1, &common::token("announcements", &["posted"]), None).await;
    assert!(sub.get("status").is_none(), "{sub}");
}

fn super_token(channel: &str) -> String {
    common::token(channel, &["status", "tokens"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_with_the_memory_broker() {
    let hub = start(config(), None).await;
    lifecycle(&hub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_with_redis_and_the_end_survives_a_restart() {
    let mut redis = RedisServer::start(true);
    let broker = RedisBroker::connect(&redis.url(), config().broker).await.unwrap();
    let hub = start(config(), Some(Arc::new(broker) as Arc<dyn Broker>)).await;
    lifecycle(&hub).await;
    // Restarted with its append-only file: the end is still known, and still final.
    let run = channels::pipeline(RUNS[3]).unwrap();
    hub.hub.publish(&run.tokens(), &Token { token: "t".into() }).await.unwrap();
    hub.hub.complete(&run, &summary()).await.unwrap();
    redis.restart();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let sub = loop {
        let mut ws = Ws::connect(&hub.ws_url()).await;
        let f = ws.subscribe(1, &super_token(run.name()), None).await;
        if f["type"] == "subscribed" {
            break f;
        }
        assert!(tokio::time::Instant::now() < deadline, "Redis never came back: {f}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!((sub["status"].as_str(), sub["result"]["steps"].as_u64()), (Some("completed"), Some(3)), "{sub}");
    assert!(closed(hub.hub.publish(&run.tokens(), &Token { token: "after".into() }).await));
}
