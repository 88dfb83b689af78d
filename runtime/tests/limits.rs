//! The hub's own server (`Hub::serve`) against stalled and greedy clients: connections that
//! never finish a request head are closed by the head timeout while `/healthz` keeps
//! answering, and over the connection limits a new connection gets 503 with `Retry-After`.

mod common;

use std::time::Duration;

use chanspec_runtime::hub::HubConfig;
use chanspec_runtime::hub::server::ConnectionLimits;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn healthz(addr: std::net::SocketAddr) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_string(&mut answer))
        .await
        .expect("healthz answers")
        .unwrap();
    answer
}

/// Whether the server has closed `tcp` (a read returns end of file or an error).
async fn closed(tcp: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 256];
    matches!(tokio::time::timeout(within, tcp.read(&mut buf)).await, Ok(Ok(0) | Err(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_connections_are_closed_by_the_head_timeout_while_healthz_answers() {
    let limits = ConnectionLimits { head_timeout: Duration::from_millis(500), ..ConnectionLimits::default() };
    let hub = start(HubConfig { connections: limits, ..HubConfig::default() }, None).await;
    let mut stalled = Vec::new();
    for i in 0..1000 {
        let mut tcp = TcpStream::connect(hub.addr).await.unwrap();
        // Silent, stalled mid-headers, and stalled after the request line.
        match i % 3 {
            0 => {}
            1 => tcp.write_all(b"GET /healthz HTTP/1.1\r\nHos").await.unwrap(),
            _ => tcp.write_all(b"POST /v1/publish HTTP/1.1\r\n").await.unwrap(),
        }
        stalled.push(tcp);
    }
    assert!(healthz(hub.addr).await.starts_with("HTTP/1.1 200"), "healthz answers beside 1,000 stalled connections");
    // A client dribbling a byte every 200 ms never completes its head in time either.
    let mut dribbler = TcpStream::connect(hub.addr).await.unwrap();
    let dribble = tokio::spawn(async move {
        for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\n" {
            if dribbler.write_all(&[*b]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut still_open = 0;
    for tcp in &mut stalled {
        if !closed(tcp, Duration::from_millis(20)).await {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "every stalled connection is closed after the head timeout");
    assert!(dribble.await.unwrap(), "the dribbling client was cut off");
    assert!(healthz(hub.addr).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_connection_limits_a_new_connection_gets_503_and_others_carry_on() {
    let limits =
        ConnectionLimits { max_connections: 20, max_connections_per_ip: Some(10), ..ConnectionLimits::default() };
    let hub = start(HubConfig { connections: limits, ..HubConfig::default() }, None).await;
    // Ten subscribers from 127.0.0.1: the per-IP limit.
    let token = token(&run_channel(), &["status"]);
    let mut subscribers = Vec::new();
    for i in 0..10 {
        let mut ws = Ws::connect(&hub.ws_url()).await;
        assert_eq!(ws.subscribe(i, &token, None).await["type"], "subscribed");
        subscribers.push(ws);
    }
    let answer = healthz(hub.addr).await;
    assert!(answer.starts_with("HTTP/1.1 503") && answer.contains("Retry-After: 5"), "{answer}");
    assert!(answer.contains("\"code\":\"unavailable\""), "{answer}");
    // The connections already open are not disturbed, and a slot freed is a slot taken.
    for ws in &mut subscribers {
        ws.alive().await;
    }
    drop(subscribers.pop());
    let mut answer = String::new();
    for _ in 0..50 {
        answer = healthz(hub.addr).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// A WebSocket through a proxy at 127.0.0.1, forwarding `client`: the upgrade's status, and
/// the socket when it was accepted.
async fn through_proxy(
    hub: &Running,
    client: &str,
) -> (u16, Option<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>>) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("{}/v1/ws", hub.ws_url()).into_client_request().unwrap();
    request.headers_mut().insert("X-Forwarded-For", format!("203.0.113.9, {client}").parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, response)) => (response.status().as_u16(), Some(socket)),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => (response.status().as_u16(), None),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_per_ip_limit_counts_forwarded_clients() {
    let limits = ConnectionLimits {
        max_connections_per_ip: Some(2),
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..ConnectionLimits::default()
    };
    let hub = start(HubConfig { connections: limits, ..HubConfig::default() }, None).await;
    // Two WebSockets for client 10.0.0.1 (the rightmost untrusted address), then a refusal.
    let mut held = Vec::new();
    for _ in 0..2 {
        let (status, socket) = through_proxy(&hub, "10.0.0.1").await;
        assert_eq!(status, 101);
        held.push(socket);
    }
    let (status, _) = through_proxy(&hub, "10.0.0.1").await;
    assert_eq!(status, 503, "a third connection for the same forwarded client");
    // Another client through the same proxy is not affected, nor is the proxy's own traffic.
    let (status, socket) = through_proxy(&hub, "10.0.0.2").await;
    assert_eq!(status, 101);
    held.push(socket);
    for _ in 0..5 {
        assert!(healthz(hub.addr).await.starts_with("HTTP/1.1 200"));
    }
    // A closed connection gives its forwarded client's slot back.
    drop(held.remove(0));
    let mut status = 0;
    for _ in 0..50 {
        status = through_proxy(&hub, "10.0.0.1").await.0;
        if status == 101 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 101);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_trusted_proxy_x_forwarded_for_is_ignored() {
    let limits = ConnectionLimits { max_connections_per_ip: Some(2), ..ConnectionLimits::default() };
    let hub = start(HubConfig { connections: limits, ..HubConfig::default() }, None).await;
    // Claiming to be different clients does not get past the per-IP limit of 127.0.0.1.
    let (a, sa) = through_proxy(&hub, "10.0.0.1").await;
    let (b, sb) = through_proxy(&hub, "10.0.0.2").await;
    let (c, _) = through_proxy(&hub, "10.0.0.3").await;
    assert_eq!((a, b, c), (101, 101, 503));
    drop((sa, sb));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_body_that_dribbles_gets_408() {
    let config = HubConfig { body_timeout: Duration::from_millis(300), ..HubConfig::default() };
    let hub = start(config, None).await;
    let mut tcp = TcpStream::connect(hub.addr).await.unwrap();
    let head = format!(
        "POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {PUBLISH_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    // Nothing more: the rest of the body never comes.
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut answer)).await.expect("an answer").unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"timeout\""), "{answer}");
    assert!(healthz(hub.addr).await.starts_with("HTTP/1.1 200"));
}
