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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_readers_that_stop_reading_are_cut_like_websockets() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const READERS: usize = 5;
    const QUEUE: usize = 64;
    let config = HubConfig { queue_capacity: QUEUE, ..HubConfig::default() };
    let hub = start_with(config, None, Some(16 * 1024), |b| b).await;
    let pipeline = channels::pipeline(RUN).unwrap();
    let token = token(pipeline.name(), &["tokens"]);
    // Raw SSE requests with small receive buffers, read up to the first event, then never again.
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        tcp.set_recv_buffer_size(4096).unwrap();
        let mut stream = tcp.connect(hub.addr).await.unwrap();
        let request = format!("GET /v1/sse?token={token} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut first = [0u8; 512];
        let n = stream.read(&mut first).await.unwrap();
        assert!(String::from_utf8_lossy(&first[..n]).contains("subscribed"));
        readers.push(stream);
    }
    let metrics = hub.hub.metrics();
    let payload = "x".repeat(10 * 1024);
    for i in 0..1500 {
        hub.hub.publish(&pipeline.tokens(), &Token { token: format!("{i} {payload}") }).await.unwrap();
        if i % 16 == 0 {
            tokio::task::yield_now().await;
        }
    }
    eventually("every non-reading SSE reader is cut", || {
        metrics.slow_consumer_disconnects.load(Relaxed) == READERS as u64
    })
    .await;
    // The responses end: the connections close, the subscriptions and queues are gone.
    eventually("the SSE connections are closed", || metrics.connections.load(Relaxed) == 0).await;
    assert_eq!(metrics.subscriptions.load(Relaxed), 0);
    eventually("the queues are empty", || metrics.queued_frames.load(Relaxed) == 0).await;
    for mut stream in readers {
        // Whatever was buffered, then the end of the stream.
        let mut rest = Vec::new();
        let ended = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest)).await;
        assert!(ended.is_ok(), "the response ended");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_are_bounded_in_bytes_not_only_frames() {
    const SUBSCRIBERS: usize = 10;
    const BUDGET: usize = 256 * 1024;
    // Frames alone would allow 1,024 × 10 KB per connection; the byte budget cuts far sooner.
    let config = HubConfig { queue_bytes: BUDGET, ..HubConfig::default() };
    let hub = start_with(config, None, Some(16 * 1024), |b| b).await;
    let pipeline = channels::pipeline(RUN).unwrap();
    let token = token(pipeline.name(), &["tokens"]);
    let mut clients = Vec::new();
    for _ in 0..SUBSCRIBERS {
        let mut ws = Ws::connect_small(hub.addr).await;
        assert_eq!(ws.subscribe(1, &token, None).await["type"], "subscribed");
        clients.push(ws);
    }
    let metrics = hub.hub.metrics();
    let payload = "x".repeat(10 * 1024);
    let mut max_bytes = 0i64;
    for i in 0..1500 {
        hub.hub.publish(&pipeline.tokens(), &Token { token: format!("{i} {payload}") }).await.unwrap();
        max_bytes = max_bytes.max(metrics.queued_bytes.load(Relaxed));
        if i % 16 == 0 {
            tokio::task::yield_now().await;
        }
    }
    eventually("every non-reading subscriber is cut", || {
        metrics.slow_consumer_disconnects.load(Relaxed) == SUBSCRIBERS as u64
    })
    .await;
    println!("max queued bytes {max_bytes} for {SUBSCRIBERS} subscribers with a budget of {BUDGET} each");
    assert!(max_bytes <= (SUBSCRIBERS * BUDGET) as i64, "queued bytes {max_bytes} over the byte budgets");
    for mut ws in clients {
        loop {
            if let Got::Closed(code) = ws.next().await {
                assert_eq!(code, Some(4008));
                break;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_larger_than_the_byte_budget_still_goes_out_alone() {
    let config = HubConfig { queue_bytes: 16 * 1024, ..HubConfig::default() };
    let hub = start_with(config, None, None, |b| b).await;
    let pipeline = channels::pipeline(RUN).unwrap();
    let mut ws = Ws::connect(&hub.ws_url()).await;
    ws.subscribe(1, &token(pipeline.name(), &["tokens"]), None).await;
    let big = "y".repeat(100 * 1024);
    hub.hub.publish(&pipeline.tokens(), &Token { token: big.clone() }).await.unwrap();
    let frame = ws.frame().await;
    assert_eq!(frame["data"]["token"], big.as_str());
    assert_eq!(hub.hub.metrics().slow_consumer_disconnects.load(Relaxed), 0);
}
