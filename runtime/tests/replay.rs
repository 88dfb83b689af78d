//! Resuming: 1,000 cycles of cutting a subscriber mid-stream and resuming with `since` while a
//! publisher keeps publishing: every message arrives once, in order. Past the history, or
//! from another epoch, the hub says `recovered: false`. SSE resumes with `Last-Event-ID`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chanspec_runtime::Publish;
use chanspec_runtime::broker::BrokerConfig;
use chanspec_runtime::hub::HubConfig;
use common::channels::{self, Token};
use common::*;
use serde_json::{Value, json};

/// Resume `cycles` times against `publish_on` while `publisher` publishes `total` messages;
/// returns every offset received, in order. Each cycle reads a few messages, then cuts.
/// `since` starts at the channel's offset 0.
pub async fn cut_and_resume(subscribe_on: &[String], cycles: usize, total: u64, done: Arc<AtomicBool>) -> Vec<u64> {
    let token = token(&run_channel(), &["status", "tokens"]);
    let mut first = Ws::connect(&subscribe_on[0]).await;
    let epoch = first.subscribe(1, &token, None).await["epoch"].clone();
    let mut since: Option<Value> = Some(json!({"epoch": epoch, "offset": 0}));
    let mut got = Vec::new();
    let mut cycle = 0;
    while cycle < cycles || got.last().copied().unwrap_or(0) < total {
        let base = &subscribe_on[cycle % subscribe_on.len()];
        let mut ws = Ws::connect(base).await;
        let sub = ws.subscribe(1, &token, since.clone()).await;
        assert_eq!(sub["type"], "subscribed", "{sub}");
        assert_eq!(sub["recovered"], true, "cycle {cycle}: {sub}");
        assert_eq!(sub["offset"], since.as_ref().unwrap()["offset"]);
        let epoch = sub["epoch"].as_str().unwrap().to_string();
        let mut last = sub["offset"].as_u64().unwrap();
        // Read between 1 and 7 messages (fewer when the publisher is done and nothing is left).
        let want = 1 + cycle % 7;
        for _ in 0..want {
            if done.load(Ordering::SeqCst) && last >= total {
                break;
            }
            match ws.next().await {
                Got::Frame(m) => {
                    assert_eq!(m["type"], "message", "{m}");
                    let offset = m["offset"].as_u64().unwrap();
                    got.push(offset);
                    last = offset;
                }
                // Cut by the hub (a slow consumer): resume like any other cut.
                Got::Closed(code) => {
                    assert_eq!(code, Some(4008));
                    break;
                }
            }
        }
        since = Some(json!({"epoch": epoch, "offset": last}));
        drop(ws); // cut mid-stream, without unsubscribing
        cycle += 1;
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_cuts_lose_nothing_and_duplicate_nothing() {
    let config = HubConfig {
        broker: BrokerConfig { history_count: 100_000, ..BrokerConfig::default() },
        ..HubConfig::default()
    };
    let hub = start(config, None).await;
    let total = 4000u64;
    let done = Arc::new(AtomicBool::new(false));
    // The channel exists (its epoch is fixed) before anything is published.
    Ws::connect(&hub.ws_url()).await.subscribe(1, &token(&run_channel(), &["tokens"]), None).await;
    let publisher = {
        let (hub, done) = (hub.hub.clone(), done.clone());
        tokio::spawn(async move {
            let pipeline = channels::pipeline(RUN).unwrap();
            for i in 0..total {
                hub.publish(&pipeline.tokens(), &Token { token: i.to_string() }).await.unwrap();
                if i % 4 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let got = cut_and_resume(&[hub.ws_url()], 1000, total, done).await;
    publisher.await.unwrap();
    let expected: Vec<u64> = (1..=total).collect();
    assert_eq!(got.len(), expected.len(), "nothing lost, nothing duplicated");
    assert_eq!(got, expected, "in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_past_the_history_or_from_another_epoch_is_not_recovered() {
    let config =
        HubConfig { broker: BrokerConfig { history_count: 10, ..BrokerConfig::default() }, ..HubConfig::default() };
    let hub = start(config, None).await;
    let pipeline = channels::pipeline(RUN).unwrap();
    let token = token(pipeline.name(), &["tokens"]);
    let mut ws = Ws::connect(&hub.ws_url()).await;
    let first = ws.subscribe(1, &token, None).await;
    let epoch = first["epoch"].as_str().unwrap().to_string();
    for i in 0..50 {
        hub.hub.publish(&pipeline.tokens(), &Token { token: i.to_string() }).await.unwrap();
    }
    // Inside the history: recovered, messages 41..=50.
    let mut again = Ws::connect(&hub.ws_url()).await;
    let sub = again.subscribe(1, &token, Some(json!({"epoch": epoch, "offset": 40}))).await;
    assert_eq!((sub["recovered"].as_bool(), sub["offset"].as_u64()), (Some(true), Some(40)));
    for offset in 41..=50 {
        assert_eq!(again.frame().await["offset"], offset);
    }
    // Older than the history: told plainly, positioned at the latest offset.
    let mut late = Ws::connect(&hub.ws_url()).await;
    let sub = late.subscribe(1, &token, Some(json!({"epoch": epoch, "offset": 5}))).await;
    assert_eq!((sub["recovered"].as_bool(), sub["offset"].as_u64()), (Some(false), Some(50)));
    // Another epoch (say, before a restart).
    let sub = late.subscribe(2, &token, Some(json!({"epoch": "gone", "offset": 45}))).await;
    assert_eq!((sub["recovered"].as_bool(), sub["offset"].as_u64()), (Some(false), Some(50)));
    // Both continue with new messages only.
    hub.hub.publish(&pipeline.tokens(), &Token { token: "new".into() }).await.unwrap();
    let offsets = [late.frame().await["offset"].as_u64(), late.frame().await["offset"].as_u64()];
    assert_eq!(offsets, [Some(51), Some(51)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_resumes_with_last_event_id() {
    let hub = start(HubConfig::default(), None).await;
    let pipeline = channels::pipeline(RUN).unwrap();
    let token = token(pipeline.name(), &["tokens"]);
    let mut sse = Sse::open(&hub.http_url(), &token, None).await.unwrap();
    sse.next().await.unwrap();
    for i in 0..10 {
        hub.hub.publish(&pipeline.tokens(), &Token { token: i.to_string() }).await.unwrap();
    }
    let mut last = None;
    for _ in 0..4 {
        last = sse.next().await.unwrap().id;
    }
    drop(sse);
    let last = last.unwrap();
    assert!(last.ends_with(":4"));
    let mut resumed = Sse::open(&hub.http_url(), &token, Some(&last)).await.unwrap();
    let sub = resumed.next().await.unwrap().data;
    assert_eq!((sub["recovered"].as_bool(), sub["offset"].as_u64()), (Some(true), Some(4)));
    for offset in 5..=10 {
        let e = resumed.next().await.unwrap();
        assert_eq!(e.data["offset"], offset);
        assert_eq!(e.data["data"]["token"], (offset - 1).to_string());
    }
    let bad = Sse::open(&hub.http_url(), &token, Some("no-offset")).await.err().unwrap();
    assert_eq!((bad.0, bad.1["code"].as_str()), (400, Some("invalid_frame")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_over_the_hub_wide_byte_budget_drops_the_least_recently_used_channel_first() {
    // Room for about 60 messages of 10 KB across every channel.
    let config = HubConfig {
        broker: BrokerConfig { history_bytes: 600 * 1024, ..BrokerConfig::default() },
        ..HubConfig::default()
    };
    let hub = start(config, None).await;
    let (old, new) = (
        channels::pipeline("00000000-0000-4000-8000-000000000001").unwrap(),
        channels::pipeline("00000000-0000-4000-8000-000000000002").unwrap(),
    );
    let payload = "x".repeat(10 * 1024);
    let mut epochs = Vec::new();
    for run in [&old, &new] {
        let mut ws = Ws::connect(&hub.ws_url()).await;
        epochs
            .push(ws.subscribe(1, &token(run.name(), &["tokens"]), None).await["epoch"].as_str().unwrap().to_string());
        for i in 0..40 {
            hub.hub.publish(&run.tokens(), &Token { token: format!("{i} {payload}") }).await.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // 80 messages do not fit: `old`, used least recently, lost its oldest; `new` kept all 40.
    let mut ws = Ws::connect(&hub.ws_url()).await;
    let sub = ws.subscribe(1, &token(new.name(), &["tokens"]), Some(json!({"epoch": epochs[1], "offset": 0}))).await;
    assert_eq!((sub["recovered"].as_bool(), sub["offset"].as_u64()), (Some(true), Some(0)));
    for offset in 1..=40 {
        assert_eq!(ws.frame().await["offset"], offset);
    }
    let sub = ws.subscribe(2, &token(old.name(), &["tokens"]), Some(json!({"epoch": epochs[0], "offset": 0}))).await;
    assert_eq!((sub["recovered"].as_bool(), sub["offset"].as_u64()), (Some(false), Some(40)), "{sub}");
}
