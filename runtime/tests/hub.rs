//! The hub end to end: typed publishers (in process and over HTTP) → hub → WebSocket and SSE
//! subscribers decoding the generated message enum; publish refusals; frame refusals that
//! keep the connection working; limits; token expiry and refresh; shutdown.

mod common;

use std::time::Duration;

use chanspec_runtime::client::{ClientError, HttpPublisher, Subscription};
use chanspec_runtime::hub::HubConfig;
use chanspec_runtime::protocol::ErrorCode;
use chanspec_runtime::{ChannelMessage, Publish};
use common::channels::{self, AnnouncementsPosted, PipelineMessage, PipelineStatus, PipelineStatusState, Token};
use common::*;
use futures_util::SinkExt;
use serde_json::json;

fn status(step: &str) -> PipelineStatus {
    PipelineStatus { step: step.into(), state: PipelineStatusState::Running, message: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_publishers_reach_websocket_and_sse_subscribers() {
    let hub = start(HubConfig::default(), None).await;
    let pipeline = channels::pipeline(RUN).unwrap();
    let token = token(pipeline.name(), &["status", "tokens"]);
    let mut ws = Subscription::<PipelineMessage>::connect(&hub.ws_url(), &token, None).await.unwrap();
    assert!(!ws.recovered());
    let mut sse = Sse::open(&hub.http_url(), &token, None).await.unwrap();
    assert_eq!(sse.next().await.unwrap().data["type"], "subscribed");

    // In process: the hub is a typed publisher; over HTTP: the client's publisher.
    hub.hub.publish(&pipeline.status(), &status("build")).await.unwrap();
    let http = HttpPublisher::new(&hub.http_url(), PUBLISH_KEY);
    http.publish(&pipeline.tokens(), &Token { token: "ok".into() }).await.unwrap();
    let first = http.publish_durable("final", &pipeline.status(), &status("done")).await.unwrap();
    let again = http.publish_durable("final", &pipeline.status(), &status("done")).await.unwrap();
    assert_eq!(first, again, "a retried durable publish returns the first offset");
    hub.hub.publish(&pipeline.tokens(), &Token { token: "end".into() }).await.unwrap();

    let expected = [
        PipelineMessage::Status(status("build")),
        PipelineMessage::Tokens(Token { token: "ok".into() }),
        PipelineMessage::Status(status("done")),
        PipelineMessage::Tokens(Token { token: "end".into() }),
    ];
    for (i, want) in expected.iter().enumerate() {
        let got = ws.next().await.unwrap();
        assert_eq!((&got.message, got.offset), (want, i as u64 + 1));
        let event = sse.next().await.unwrap();
        let data = &event.data;
        assert_eq!(event.id, Some(format!("{}:{}", ws.position().epoch, i + 1)));
        assert_eq!(&PipelineMessage::decode(data["topic"].as_str().unwrap(), data["data"].clone()).unwrap(), want);
        assert!(data["publishedAt"].as_str().unwrap().ends_with('Z'));
    }
    // Another channel's messages are not delivered here.
    hub.hub
        .publish(&channels::announcements().posted(), &AnnouncementsPosted { text: "hi".into(), posted_at: None })
        .await
        .unwrap();
    hub.hub.publish(&pipeline.status(), &status("after")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().message, PipelineMessage::Status(status("after")));

    let metrics = reqwest::get(format!("{}/metrics", hub.http_url())).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("chanspec_messages_in_total 6"), "{metrics}");
    assert!(metrics.contains("chanspec_subscriptions 2"), "{metrics}");
    assert_eq!(reqwest::get(format!("{}/healthz", hub.http_url())).await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_filter_delivers_only_the_tokens_topics() {
    let hub = start(HubConfig::default(), None).await;
    let pipeline = channels::pipeline(RUN).unwrap();
    let mut ws = Ws::connect(&hub.ws_url()).await;
    let sub = ws.subscribe(1, &token(pipeline.name(), &["tokens"]), None).await;
    assert_eq!(sub["topics"], json!(["tokens"]));
    hub.hub.publish(&pipeline.status(), &status("a")).await.unwrap();
    hub.hub.publish(&pipeline.tokens(), &Token { token: "t".into() }).await.unwrap();
    let m = ws.frame().await;
    assert_eq!((m["topic"].as_str(), m["offset"].as_u64()), (Some("tokens"), Some(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_are_refused_with_their_code_and_the_server_keeps_working() {
    let config = HubConfig { max_message_bytes: 4096, ..HubConfig::default() };
    let hub = start(config, None).await;
    let base = hub.http_url();
    let ch = run_channel();
    let ok = json!({"channel": ch, "topic": "status", "data": {"step": "a", "state": "running"}}).to_string();
    let cases = [
        (None, ok.clone(), 401, "unauthorized"),
        (Some("wrong"), ok.clone(), 403, "forbidden"),
        (Some(PUBLISH_KEY), "{not json".to_string(), 400, "invalid_frame"),
        (Some(PUBLISH_KEY), json!({"channel": ch, "topic": "status"}).to_string(), 400, "invalid_frame"),
        (
            Some(PUBLISH_KEY),
            json!({"channel": ch, "topic": "status", "data": {"step": "a", "state": "exploded"}}).to_string(),
            400,
            "invalid_payload",
        ),
        (
            Some(PUBLISH_KEY),
            json!({"channel": "pipeline:7", "topic": "status", "data": {}}).to_string(),
            404,
            "not_found",
        ),
        (Some(PUBLISH_KEY), json!({"channel": "nope", "topic": "status", "data": {}}).to_string(), 404, "not_found"),
        (Some(PUBLISH_KEY), json!({"channel": ch, "topic": "nope", "data": {}}).to_string(), 404, "not_found"),
        (
            Some(PUBLISH_KEY),
            json!({"channel": ch, "topic": "tokens", "data": {"token": "x".repeat(5000)}}).to_string(),
            413,
            "too_large",
        ),
    ];
    for (key, body, status, code) in cases {
        let (got, answer) = http_publish(&base, key, body.clone()).await;
        assert_eq!((got, answer["code"].as_str()), (status, Some(code)), "{body}: {answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // The payload error says where.
    let bad = json!({"channel": ch, "topic": "status", "data": {"step": 1, "state": "running"}}).to_string();
    assert!(http_publish(&base, Some(PUBLISH_KEY), bad).await.1["message"].as_str().unwrap().contains("/step"));
    // In process, too large is refused too (never truncated).
    let pipeline = channels::pipeline(RUN).unwrap();
    let e = hub.hub.publish(&pipeline.tokens(), &Token { token: "x".repeat(5000) }).await.unwrap_err();
    assert!(matches!(e, chanspec_runtime::PublishError::Publish(e) if e.code == ErrorCode::TooLarge));
    // Still serving: a valid publish gets offset 1 (nothing above was published).
    let (status, answer) = http_publish(&base, Some(PUBLISH_KEY), ok).await;
    assert_eq!((status, answer), (200, json!({"offset": 1, "duplicate": false})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_their_code_and_the_connection_keeps_working() {
    let config = HubConfig { max_frame_bytes: 1024, max_subscriptions: 2, ..HubConfig::default() };
    let hub = start(config, None).await;
    let mut ws = Ws::connect(&hub.ws_url()).await;
    let tok = token(&run_channel(), &["status"]);
    let code = |f: serde_json::Value| {
        (f["type"].as_str().map(String::from), f["code"].as_str().map(String::from), f["id"].as_u64())
    };
    let err = |c: &str, id: Option<u64>| (Some("error".to_string()), Some(c.to_string()), id);

    ws.send_text("not json".into()).await;
    assert_eq!(code(ws.frame().await), err("invalid_frame", None));
    ws.send(json!({"type": "dance", "id": 4})).await;
    assert_eq!(code(ws.frame().await), err("invalid_frame", Some(4)));
    ws.send(json!({"type": "subscribe", "id": 5})).await;
    assert_eq!(code(ws.frame().await), err("invalid_frame", Some(5)));
    ws.socket.send(tokio_tungstenite::tungstenite::Message::Binary(vec![1, 2, 3].into())).await.unwrap();
    assert_eq!(code(ws.frame().await), err("invalid_frame", None));
    // Unknown fields are refused on every frame, `ping` included.
    ws.send(json!({"type": "ping", "x": 1})).await;
    assert_eq!(code(ws.frame().await), err("invalid_frame", None));
    ws.send_text(json!({"type": "ping", "pad": "x".repeat(2000)}).to_string()).await;
    assert_eq!(code(ws.frame().await), err("too_large", None));
    ws.send(json!({"type": "unsubscribe", "id": 9})).await;
    assert_eq!(code(ws.frame().await), err("invalid_frame", Some(9)));
    ws.send(json!({"type": "refresh", "id": 9, "token": tok})).await;
    assert_eq!(code(ws.frame().await), err("invalid_frame", Some(9)));
    ws.alive().await;

    assert_eq!(ws.subscribe(1, &tok, None).await["type"], "subscribed");
    assert_eq!(code(ws.subscribe(1, &tok, None).await), err("invalid_frame", Some(1)), "id in use");
    assert_eq!(ws.subscribe(2, &tok, None).await["type"], "subscribed");
    assert_eq!(code(ws.subscribe(3, &tok, None).await), err("too_many_subscriptions", Some(3)));
    ws.send(json!({"type": "unsubscribe", "id": 2})).await;
    assert_eq!(ws.frame().await, json!({"type": "unsubscribed", "id": 2, "reason": "requested"}));
    assert_eq!(ws.subscribe(3, &tok, None).await["type"], "subscribed");
    ws.alive().await;
    // Still delivering.
    let pipeline = channels::pipeline(RUN).unwrap();
    hub.hub.publish(&pipeline.status(), &status("x")).await.unwrap();
    let a = ws.frame().await;
    let b = ws.frame().await;
    let mut ids = [a["id"].as_u64().unwrap(), b["id"].as_u64().unwrap()];
    ids.sort();
    assert_eq!(ids, [1, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_is_enforced_during_the_subscription_and_refresh_extends_it() {
    let hub = start(HubConfig::default(), None).await;
    let ch = run_channel();
    let short = |secs| issuer().mint(&ch, &["status"], Duration::from_secs(secs));
    let mut ws = Ws::connect(&hub.ws_url()).await;
    assert_eq!(ws.subscribe(1, &short(1), None).await["type"], "subscribed");
    assert_eq!(ws.subscribe(2, &short(1), None).await["type"], "subscribed");
    // Refresh subscription 2 only; a token for another channel is refused.
    let other = issuer().mint("announcements", &["posted"], Duration::from_secs(600));
    ws.send(json!({"type": "refresh", "id": 2, "token": other})).await;
    assert_eq!(ws.frame().await["code"], "forbidden");
    ws.send(json!({"type": "refresh", "id": 2, "token": short(600)})).await;
    // At expiry, subscription 1 ends; 2 lives on.
    assert_eq!(ws.frame().await, json!({"type": "unsubscribed", "id": 1, "reason": "token_expired"}));
    let pipeline = channels::pipeline(RUN).unwrap();
    hub.hub.publish(&pipeline.status(), &status("x")).await.unwrap();
    assert_eq!(ws.frame().await["id"], 2);

    // SSE ends with `unsubscribed` at expiry.
    let mut sse = Sse::open(&hub.http_url(), &short(1), None).await.unwrap();
    assert_eq!(sse.next().await.unwrap().data["type"], "subscribed");
    let end = sse.next().await.unwrap();
    assert_eq!(end.data, json!({"type": "unsubscribed", "id": 0, "reason": "token_expired"}));
    assert!(sse.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_closing_then_1001() {
    let hub = start(HubConfig::default(), None).await;
    let mut ws = Ws::connect(&hub.ws_url()).await;
    assert_eq!(ws.subscribe(1, &token(&run_channel(), &["status"]), None).await["type"], "subscribed");
    hub.hub.shutdown();
    assert_eq!(ws.frame().await, json!({"type": "closing"}));
    assert!(matches!(ws.next().await, Got::Closed(Some(1001))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_subscriber_reports_refusals() {
    let hub = start(HubConfig::default(), None).await;
    let forged =
        chanspec_runtime::token::TokenIssuer::new(b"other").mint(&run_channel(), &["status"], Duration::from_secs(60));
    match Subscription::<PipelineMessage>::connect(&hub.ws_url(), &forged, None).await {
        Err(ClientError::Refused { code, .. }) => assert_eq!(code, ErrorCode::InvalidToken),
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_dropped_and_reading_ones_answer_pings() {
    let config = HubConfig { ping_interval: Duration::from_millis(100), ..HubConfig::default() };
    let hub = start(config, None).await;
    let pipeline = channels::pipeline(RUN).unwrap();
    let token = token(pipeline.name(), &["status"]);
    let mut live = Ws::connect(&hub.ws_url()).await;
    live.subscribe(1, &token, None).await;
    let mut silent = Ws::connect(&hub.ws_url()).await;
    silent.subscribe(1, &token, None).await;
    // The reading client answers pings as it reads (tungstenite sends the pongs itself); the
    // other reads nothing for six intervals.
    let reader = tokio::spawn(async move { (live.frame().await, live) });
    tokio::time::sleep(Duration::from_millis(600)).await;
    hub.hub.publish(&pipeline.status(), &status("still here")).await.unwrap();
    let (got, _live) = reader.await.unwrap();
    assert_eq!(got["data"]["step"], "still here");
    assert!(matches!(silent.next().await, Got::Closed(_)), "the silent connection was dropped");
    let metrics = reqwest::get(format!("{}/metrics", hub.http_url())).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("chanspec_subscriptions 1"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_is_enforced_while_messages_keep_coming() {
    // A queue that never fills (in frames or bytes), holding far more than the socket buffers: the connection
    // always has something to write when it looks.
    let hub = start(HubConfig { queue_capacity: 1 << 22, queue_bytes: 1 << 40, ..HubConfig::default() }, None).await;
    let pipeline = channels::pipeline(RUN).unwrap();
    let mut ws = Ws::connect(&hub.ws_url()).await;
    let token = issuer().mint(pipeline.name(), &["status"], Duration::from_secs(1));
    assert_eq!(ws.subscribe(1, &token, None).await["type"], "subscribed");
    let published = 200_000;
    for _ in 0..published {
        hub.hub.publish(&pipeline.status(), &status("busy")).await.unwrap();
    }
    // The token has expired before the client reads anything.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut before = 0;
    let ended = loop {
        let f = ws.frame().await;
        if f["type"] != "message" {
            break f;
        }
        before += 1;
    };
    assert_eq!(ended["reason"], "token_expired");
    assert!(before < published / 2, "{before} of {published} messages were delivered before the expiry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_the_hard_limit_is_closed_with_1009() {
    let config = HubConfig { max_frame_bytes: 1000, hard_frame_bytes: 10_000, ..HubConfig::default() };
    let hub = start(config, None).await;
    let mut ws = Ws::connect(&hub.ws_url()).await;
    // Over the soft limit: an error frame, the connection kept.
    ws.send_text(json!({"type": "ping", "pad": "x".repeat(2000)}).to_string()).await;
    assert_eq!(ws.frame().await["code"], "too_large");
    // Over the hard limit: a close frame with 1009, not a reset.
    ws.send_text("x".repeat(20_000)).await;
    match ws.next().await {
        common::Got::Closed(code) => assert_eq!(code, Some(1009)),
        other => panic!("expected a 1009 close, got {other:?}"),
    }
    // The hub serves the next connection as before.
    let mut again = Ws::connect(&hub.ws_url()).await;
    again.alive().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_publish_gets_413_while_the_client_is_still_sending() {
    let hub = start(HubConfig::default(), None).await;
    let client = reqwest::Client::new();
    let body = format!(
        "{{\"channel\":\"{}\",\"topic\":\"tokens\",\"data\":{{\"token\":\"{}\"}}}}",
        run_channel(),
        "x".repeat(3 * 1024 * 1024)
    );
    for _ in 0..5 {
        let response = client
            .post(format!("{}/v1/publish", hub.http_url()))
            .bearer_auth(PUBLISH_KEY)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("a response, not a reset connection");
        assert_eq!(response.status(), 413);
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer["code"], "too_large");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_offering_the_batch_subprotocol_gets_queued_frames_joined() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    const MESSAGES: u64 = 800; // under the queue limits (1,024 frames, 1 MiB): queued, not cut
    // Small socket buffers on both sides, so frames queue up at the hub while the client
    // does not read, and go out batched when it does.
    let hub = start_with(HubConfig::default(), None, Some(16 * 1024), |b| b).await;
    let pipeline = channels::pipeline(RUN).unwrap();
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let stream = tcp.connect(hub.addr).await.unwrap();
    let mut request = format!("{}/v1/ws", hub.ws_url()).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "chanspec.v1.batch".parse().unwrap());
    let (mut socket, response) =
        tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(stream)).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "chanspec.v1.batch");
    let subscribe = json!({"type": "subscribe", "id": 1, "token": token(pipeline.name(), &["tokens"])});
    socket.send(Message::Text(subscribe.to_string().into())).await.unwrap();
    // An old-style client beside it, on the same channel.
    let mut plain = Ws::connect(&hub.ws_url()).await;
    plain.subscribe(1, &token(pipeline.name(), &["tokens"]), None).await;
    let payload = "x".repeat(200);
    for i in 0..MESSAGES {
        hub.hub.publish(&pipeline.tokens(), &Token { token: format!("{i} {payload}") }).await.unwrap();
    }
    let (mut frames, mut messages) = (Vec::new(), 0u64);
    while (frames.len() as u64) < MESSAGES + 1 {
        let Some(Ok(Message::Text(text))) = socket.next().await else { panic!("the connection ended") };
        messages += 1;
        for line in text.as_str().split('\n') {
            frames.push(serde_json::from_str::<serde_json::Value>(line).unwrap());
        }
    }
    assert_eq!(frames[0]["type"], "subscribed");
    let offsets: Vec<u64> = frames[1..].iter().map(|f| f["offset"].as_u64().unwrap()).collect();
    assert_eq!(offsets, (1..=MESSAGES).collect::<Vec<_>>(), "every frame once, in order");
    assert!(messages < MESSAGES / 2, "{messages} WebSocket messages for {} frames: batched", MESSAGES + 1);
    // The plain client got one frame per message, as before.
    for i in 1..=MESSAGES {
        assert_eq!(plain.frame().await["offset"], i);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_offering_the_compact_subprotocol_gets_the_same_messages_as_arrays() {
    use chanspec_runtime::protocol::{CompactMessage, ServerFrame};
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let hub = start(HubConfig::default(), None).await;
    let pipeline = channels::pipeline(RUN).unwrap();
    let tokens = token(pipeline.name(), &["tokens", "status"]);
    // An old-style client, subscribed before anything is published: the reference.
    let mut plain = Ws::connect(&hub.ws_url()).await;
    let subscribed = plain.subscribe(1, &tokens, None).await;
    let publish = |i: u64| {
        let (hub, pipeline) = (hub.hub.clone(), pipeline.clone());
        async move {
            if i.is_multiple_of(3) {
                hub.publish(&pipeline.status(), &status(&format!("stage \"{i}\"\n"))).await.unwrap();
            } else {
                hub.publish(&pipeline.tokens(), &Token { token: format!("{i} ✓") }).await.unwrap();
            }
        }
    };
    for i in 1..=5 {
        publish(i).await;
    }
    // The compact client offers both subprotocols and resumes after offset 2: offsets 3..5
    // come from history (replay), 6..10 live.
    let mut request = format!("{}/v1/ws", hub.ws_url()).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "chanspec.v1.compact, chanspec.v1.batch".parse().unwrap());
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "chanspec.v1.compact");
    let since = json!({"epoch": subscribed["epoch"], "offset": 2});
    let subscribe = json!({"type": "subscribe", "id": 7, "token": tokens, "since": since});
    socket.send(Message::Text(subscribe.to_string().into())).await.unwrap();
    for i in 6..=10 {
        publish(i).await;
    }
    let mut lines = Vec::new();
    while lines.len() < 9 {
        let Some(Ok(Message::Text(text))) = socket.next().await else { panic!("the connection ended") };
        lines.extend(text.as_str().split('\n').map(str::to_string));
    }
    let mut reference = Vec::new();
    for _ in 1..=10 {
        reference.push(serde_json::from_value::<ServerFrame>(plain.frame().await).unwrap());
    }
    let first: ServerFrame = serde_json::from_str(&lines[0]).unwrap();
    assert!(matches!(first, ServerFrame::Subscribed { id: 7, recovered: true, offset: 2, .. }), "{first:?}");
    for (line, offset) in lines[1..].iter().zip(3u64..) {
        assert!(line.starts_with('['), "a message is an array in compact: {line}");
        let compact: CompactMessage = serde_json::from_str(line).unwrap();
        let got = compact.into_frame(pipeline.name().to_string());
        // The same message as the plain client's object frame, but for the subscription id.
        let mut want = reference[offset as usize - 1].clone();
        if let ServerFrame::Message { id, .. } = &mut want {
            *id = 7;
        }
        assert_eq!(got, want, "offset {offset}");
    }
}
