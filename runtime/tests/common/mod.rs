//! Helpers for the hub's integration tests: a real hub on 127.0.0.1:0, raw WebSocket and SSE
//! clients, a real `redis-server` on a free port, and the example's generated bindings.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chanspec_runtime::broker::Broker;
use chanspec_runtime::hub::{Hub, HubConfig};
use chanspec_runtime::token::TokenIssuer;
use futures_util::{SinkExt, StreamExt};
use redis::RedisResult;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The example app's bindings, as `chanspec generate` committed them.
pub mod channels {
    include!("../../../examples/committed-bindings/src/channels.rs");
}

pub const SECRET: &str = "test-secret-of-at-least-32-bytes-0123456789";
pub const PUBLISH_KEY: &str = "test-publish-key";
pub const RUN: &str = "6f1c1a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6";

pub fn run_channel() -> String {
    format!("pipeline:{RUN}")
}

/// Every wait in these tests is bounded, so a bug fails the test instead of hanging it.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub fn issuer() -> TokenIssuer {
    TokenIssuer::new(SECRET.as_bytes())
}

pub fn token(channel: &str, topics: &[&str]) -> String {
    issuer().mint(channel, topics, Duration::from_secs(600))
}

pub struct Running {
    pub hub: Hub,
    pub addr: SocketAddr,
}

impl Running {
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A hub serving on a free port, with the example's definitions.
pub async fn start(config: HubConfig, broker: Option<Arc<dyn Broker>>) -> Running {
    start_with(config, broker, None, |b| b).await
}

/// A hub serving until `stop` completes (then it shuts down: `closing`, then 1001).
pub async fn start_until(
    config: HubConfig,
    broker: Option<Arc<dyn Broker>>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Running {
    let mut builder =
        Hub::builder(channels::chanspec_definitions()).secret(SECRET).publish_key(PUBLISH_KEY).config(config);
    if let Some(b) = broker {
        builder = builder.broker(b);
    }
    let hub = builder.build().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let h = hub.clone();
    tokio::spawn(async move { h.serve(listener, stop).await });
    Running { hub, addr }
}

/// A hub whose accepted sockets have a small send buffer (`send_buffer`), so a subscriber
/// that does not read fills the hub's queue instead of the kernel's.
pub async fn start_with(
    config: HubConfig,
    broker: Option<Arc<dyn Broker>>,
    send_buffer: Option<u32>,
    customize: impl FnOnce(chanspec_runtime::hub::HubBuilder) -> chanspec_runtime::hub::HubBuilder,
) -> Running {
    let mut builder =
        Hub::builder(channels::chanspec_definitions()).secret(SECRET).publish_key(PUBLISH_KEY).config(config);
    if let Some(b) = broker {
        builder = builder.broker(b);
    }
    let hub = customize(builder).build().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(size) = send_buffer {
        socket.set_send_buffer_size(size).unwrap();
    }
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1024).unwrap();
    let addr = listener.local_addr().unwrap();
    let h = hub.clone();
    tokio::spawn(async move { h.serve(listener, std::future::pending()).await });
    Running { hub, addr }
}

/// A raw WebSocket client speaking JSON frames.
pub struct Ws {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What a raw client reads next.
#[derive(Debug)]
pub enum Got {
    Frame(Value),
    Closed(Option<u16>),
}

impl Ws {
    pub async fn connect(base: &str) -> Ws {
        let (socket, _) = tokio_tungstenite::connect_async(format!("{base}/v1/ws")).await.unwrap();
        Ws { socket }
    }

    /// Connect with a small receive buffer, for clients that stop reading.
    pub async fn connect_small(addr: SocketAddr) -> Ws {
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        tcp.set_recv_buffer_size(4096).unwrap();
        let stream = tcp.connect(addr).await.unwrap();
        let (socket, _) =
            tokio_tungstenite::client_async(format!("ws://{addr}/v1/ws"), MaybeTlsStream::Plain(stream)).await.unwrap();
        Ws { socket }
    }

    pub async fn send(&mut self, frame: Value) {
        self.socket.send(Message::Text(frame.to_string().into())).await.unwrap();
    }

    pub async fn send_text(&mut self, text: String) {
        self.socket.send(Message::Text(text.into())).await.unwrap();
    }

    pub async fn next(&mut self) -> Got {
        loop {
            let m = tokio::time::timeout(PATIENCE, self.socket.next()).await.expect("the hub answers");
            match m {
                Some(Ok(Message::Text(t))) => return Got::Frame(serde_json::from_str(t.as_str()).unwrap()),
                Some(Ok(Message::Close(c))) => return Got::Closed(c.map(|c| u16::from(c.code))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Got::Closed(None),
            }
        }
    }

    /// The next frame; panics when the connection closes.
    pub async fn frame(&mut self) -> Value {
        match self.next().await {
            Got::Frame(f) => f,
            Got::Closed(c) => panic!("closed ({c:?}) while a frame was expected"),
        }
    }

    pub async fn subscribe(&mut self, id: u64, token: &str, since: Option<Value>) -> Value {
        let mut f = json!({"type":"subscribe","id":id,"token":token});
        if let Some(s) = since {
            f["since"] = s;
        }
        self.send(f).await;
        self.frame().await
    }

    /// Ping and expect pong (skipping message frames): the connection still works.
    pub async fn alive(&mut self) {
        self.send(json!({"type":"ping"})).await;
        loop {
            let f = self.frame().await;
            if f["type"] == "pong" {
                return;
            }
            assert_eq!(f["type"], "message", "unexpected {f}");
        }
    }
}

/// A Server-Sent Events reader over a real HTTP response.
pub struct Sse {
    response: reqwest::Response,
    buffer: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub data: Value,
}

impl Sse {
    /// Open `/v1/sse`; returns the status and body when the hub refuses.
    pub async fn open(base: &str, token: &str, last_event_id: Option<&str>) -> Result<Sse, (u16, Value)> {
        let mut req = reqwest::Client::new().get(format!("{base}/v1/sse")).query(&[("token", token)]);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let response = req.send().await.unwrap();
        if !response.status().is_success() {
            let status = response.status().as_u16();
            return Err((status, response.json().await.unwrap()));
        }
        Ok(Sse { response, buffer: String::new() })
    }

    /// The next event (comments skipped); `None` when the stream ends.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut data) = (None, None);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ").or_else(|| line.strip_prefix("id:")) {
                        id = Some(v.to_string());
                    } else if let Some(v) = line.strip_prefix("data: ").or_else(|| line.strip_prefix("data:")) {
                        data = Some(serde_json::from_str(v).unwrap());
                    }
                }
                match data {
                    Some(data) => return Some(SseEvent { id, data }),
                    None => continue,
                }
            }
            let chunk =
                tokio::time::timeout(PATIENCE, self.response.chunk()).await.expect("the hub answers").ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// Publish over HTTP, returning status and body.
pub async fn http_publish(base: &str, key: Option<&str>, body: String) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(format!("{base}/v1/publish")).body(body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A real `redis-server` on a free port, stopped on drop.
pub struct RedisServer {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
    persistent: bool,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl RedisServer {
    /// Start one; `persistent` turns the append-only file on (fsync always), so a restart
    /// keeps every acknowledged write.
    pub fn start(persistent: bool) -> RedisServer {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("chanspec-redis-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut r = RedisServer { port, dir, child: None, persistent };
        r.spawn();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""]);
        cmd.arg("--dir").arg(&self.dir);
        if self.persistent {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/install-deps installs it: apt-get install redis-server)");
        self.child = Some(child);
        // Wait until it accepts connections.
        for _ in 0..500 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM: Redis closes its clients and exits.
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    /// Send a signal (`STOP`, `CONT`, `KILL`) to the server process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        assert!(Command::new("kill").arg(format!("-{signal}")).arg(pid).status().unwrap().success());
    }

    /// Kill it without warning (SIGKILL), as a crash would; `start_again` brings it back
    /// (with its append-only file, when persistent).
    pub fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn start_again(&mut self) {
        self.spawn();
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A real Redis Cluster on loopback (3 masters, 3 replicas, `scripts/redis-cluster`),
/// stopped on drop.
pub struct RedisCluster {
    dir: PathBuf,
    pub nodes: Vec<String>,
}

impl RedisCluster {
    fn script() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/redis-cluster")
    }

    pub fn start() -> RedisCluster {
        let dir = std::env::temp_dir().join(format!("chanspec-cluster-{}-{}", std::process::id(), free_port()));
        let out = Command::new(Self::script())
            .arg("start")
            .arg(&dir)
            .stderr(Stdio::inherit())
            .output()
            .expect("scripts/redis-cluster runs (redis-server and redis-cli: scripts/install-deps)");
        assert!(out.status.success(), "scripts/redis-cluster start failed");
        let nodes = String::from_utf8(out.stdout).unwrap().trim().split(',').map(String::from).collect();
        RedisCluster { dir, nodes }
    }

    /// The `--redis` form of the cluster.
    pub fn url(&self) -> String {
        format!("redis+cluster://{}", self.nodes.join(","))
    }

    /// The port of the master that holds `channel`'s keys now.
    pub fn master_of(&self, channel: &str) -> u16 {
        let key = format!("chanspec:{{{channel}}}:head");
        for node in &self.nodes {
            let Ok(client) = redis::Client::open(format!("redis://{node}")) else { continue };
            let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(1)) else { continue };
            let slot: RedisResult<u16> = redis::cmd("CLUSTER").arg("KEYSLOT").arg(&key).query(&mut conn);
            let slots: RedisResult<Vec<Vec<redis::Value>>> = redis::cmd("CLUSTER").arg("SLOTS").query(&mut conn);
            let (Ok(slot), Ok(slots)) = (slot, slots) else { continue };
            for range in slots {
                let int = |v: &redis::Value| redis::from_redis_value::<u16>(v).ok();
                let (Some(from), Some(to)) = (range.first().and_then(int), range.get(1).and_then(int)) else {
                    continue;
                };
                if (from..=to).contains(&slot) {
                    let master: Vec<redis::Value> = redis::from_redis_value(&range[2]).unwrap();
                    return redis::from_redis_value(&master[1]).unwrap();
                }
            }
        }
        panic!("no node knows the master of {channel}");
    }

    /// Kill one node without warning (SIGKILL).
    pub fn kill(&self, port: u16) {
        let status = Command::new(Self::script()).arg("kill").arg(&self.dir).arg(port.to_string()).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        let _ = Command::new(Self::script()).arg("stop").arg(&self.dir).status();
    }
}

/// A counter or gauge of the hub's `/metrics`.
pub async fn metric(base: &str, name: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no metric {name}"))
        .trim()
        .parse()
        .unwrap()
}

/// A run channel's name for run `i` (a UUID made of `i`).
pub fn run_id(i: u64) -> String {
    format!("00000000-0000-4000-8000-{i:012x}")
}

/// Wait until the future `f` makes holds, checking every few milliseconds.
pub async fn eventually_async<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !f().await {
        assert!(tokio::time::Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Wait until `f` holds, checking every few milliseconds (never a fixed sleep).
pub async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
