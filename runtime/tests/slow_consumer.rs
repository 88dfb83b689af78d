//! Slow consumers: 200 subscribers that never read while 10,000 messages are published are
//! closed with 4008, and what the hub holds for them stays bounded by the queue limit.

mod common;

use std::sync::atomic::Ordering::Relaxed;

use chanspec_runtime::Publish;
use chanspec_runtime::hub::HubConfig;
use common::channels::{self, Token};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_that_never_read_are_cut_and_memory_stays_bounded() {
    const SUBSCRIBERS: usize = 200;
    const MESSAGES: usize = 10_000;
    const QUEUE: usize = 64;
    let config = HubConfig { queue_capacity: QUEUE, ..HubConfig::default() };
    // Small kernel buffers on both sides, so the hub's queue is what fills.
    let hub = start_with(config, None, Some(16 * 1024), |b| b).await;
    let pipeline = channels::pipeline(RUN).unwrap();
    let token = token(pipeline.name(), &["tokens"]);
    let mut clients = Vec::new();
    for _ in 0..SUBSCRIBERS {
        let mut ws = Ws::connect_small(hub.addr).await;
        assert_eq!(ws.subscribe(1, &token, None).await["type"], "subscribed");
        clients.push(ws); // and never read again (until the end)
    }
    let metrics = hub.hub.metrics();
    let payload = "x".repeat(200);
    let (mut max_frames, mut max_bytes) = (0i64, 0i64);
    for i in 0..MESSAGES {
        hub.hub.publish(&pipeline.tokens(), &Token { token: format!("{i} {payload}") }).await.unwrap();
        max_frames = max_frames.max(metrics.queued_frames.load(Relaxed));
        max_bytes = max_bytes.max(metrics.queued_bytes.load(Relaxed));
        if i % 16 == 0 {
            tokio::task::yield_now().await;
        }
    }
    // Everyone was cut: queues are gone.
    eventually("every slow subscriber is cut", || {
        metrics.slow_consumer_disconnects.load(Relaxed) == SUBSCRIBERS as u64
    })
    .await;
    eventually("the queues are empty", || metrics.queued_frames.load(Relaxed) == 0).await;
    let frame_bytes = 512i64; // a message frame here is under 512 bytes
    println!(
        "max queued: {max_frames} frames, {max_bytes} bytes (bound {} frames); drops {}",
        SUBSCRIBERS * QUEUE,
        metrics.drops.load(Relaxed)
    );
    assert!(max_frames <= (SUBSCRIBERS * QUEUE) as i64, "queued frames {max_frames} over the bound");
    assert!(max_bytes <= (SUBSCRIBERS * QUEUE) as i64 * frame_bytes, "queued bytes {max_bytes} over the bound");
    // Each client reads what reached it, then the close frame: 4008. Nothing after a gap.
    for mut ws in clients {
        let mut last = 0;
        loop {
            match ws.next().await {
                Got::Frame(m) => {
                    let offset = m["offset"].as_u64().unwrap();
                    assert_eq!(offset, last + 1, "frames before the cut are contiguous");
                    last = offset;
                }
                Got::Closed(code) => {
                    assert_eq!(code, Some(4008));
                    break;
                }
            }
        }
        assert!(last < MESSAGES as u64, "a subscriber that never read cannot have everything");
    }
    eventually("every connection is closed", || metrics.connections.load(Relaxed) == 0).await;
    assert_eq!(metrics.subscriptions.load(Relaxed), 0);
    // The hub is fine: a new subscriber gets new messages.
    let mut ws = Ws::connect(&hub.ws_url()).await;
    ws.subscribe(1, &token, None).await;
    hub.hub.publish(&pipeline.tokens(), &Token { token: "after".into() }).await.unwrap();
    assert_eq!(ws.frame().await["offset"], MESSAGES as u64 + 1);
}
