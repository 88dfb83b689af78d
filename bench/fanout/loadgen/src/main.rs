//! Fan-out load generator: N subscribers (NATS over WebSocket, NATS over TCP,
//! or Redis pub/sub over TCP) on one subject, one publisher over TCP.
//! All loops are bounded: M messages, a grace period after publishing, and a
//! hard wall-clock limit after which the process exits by itself.
//!
//! Copied from shared/bench/fanout and taught chanspec's protocol (modes `chanspec-ws` and
//! `idle-chanspec`: subscribers on `/v1/ws` with a token, the publisher on `POST /v1/publish`
//! over one keep-alive HTTP/1.1 connection), so the hub and nats-server are measured by the
//! same harness. Payloads travel as `data: {"token": "<seq>:<ns>:xxx…"}`.
//!
//! Usage: loadgen <mode> [key=value ...]
//!   modes: nats-ws | nats-tcp | redis | idle-ws | chanspec-ws | idle-chanspec
//!   chanspec keys: hub=127.0.0.1:8090 token=<jwt> channel=<name> key=<publish key>
//!          batch=1 (offer the `chanspec.v1.batch` subprotocol: frames joined by newlines)
//!          compact=1 (offer `chanspec.v1.compact`: batched, each message an array)
//!   keys : subs=1000 msgs=2000 rate=0 (msg/s, 0 = as fast as possible)
//!          size=100 server_pid=PID grace_s=15 limit_s=120 hold_s=5
//!          ws=127.0.0.1:9222 nats=127.0.0.1:4222 redis=127.0.0.1:6390
//!          conc=200 (concurrent connection set-ups)

use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

static START: OnceLock<Instant> = OnceLock::new();
fn now_ns() -> u64 {
    START.get().unwrap().elapsed().as_nanos() as u64
}

const SUBJECT: &str = "bench.fanout";

#[derive(Clone)]
struct Cfg {
    mode: String,
    subs: usize,
    msgs: usize,
    rate: f64,
    size: usize,
    server_pid: u32,
    grace_s: u64,
    limit_s: u64,
    hold_s: u64,
    ws: String,
    nats: String,
    redis: String,
    conc: usize,
    hub: String,
    token: String,
    channel: String,
    key: String,
    batch: bool,
    compact: bool,
}

fn parse_cfg() -> Cfg {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().cloned().unwrap_or_else(|| {
        eprintln!("usage: loadgen <nats-ws|nats-tcp|redis|idle-ws> key=value ...");
        std::process::exit(2)
    });
    let mut kv = HashMap::new();
    for a in &args[1..] {
        let (k, v) = a.split_once('=').expect("key=value");
        kv.insert(k.to_string(), v.to_string());
    }
    let g = |k: &str, d: &str| kv.get(k).cloned().unwrap_or_else(|| d.to_string());
    Cfg {
        mode,
        subs: g("subs", "1000").parse().unwrap(),
        msgs: g("msgs", "2000").parse().unwrap(),
        rate: g("rate", "0").parse().unwrap(),
        size: g("size", "100").parse().unwrap(),
        server_pid: g("server_pid", "0").parse().unwrap(),
        grace_s: g("grace_s", "15").parse().unwrap(),
        limit_s: g("limit_s", "120").parse().unwrap(),
        hold_s: g("hold_s", "5").parse().unwrap(),
        ws: g("ws", "127.0.0.1:9222"),
        nats: g("nats", "127.0.0.1:4222"),
        redis: g("redis", "127.0.0.1:6390"),
        conc: g("conc", "200").parse().unwrap(),
        hub: g("hub", "127.0.0.1:8090"),
        token: g("token", ""),
        channel: g("channel", ""),
        key: g("key", ""),
        batch: g("batch", "0") == "1",
        compact: g("compact", "0") == "1",
    }
}

// ---------- /proc helpers ----------
fn clk_tck() -> f64 {
    100.0 // Linux USER_HZ
}
/// utime+stime in seconds of a pid ("self" allowed).
fn cpu_secs(pid: &str) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = match s.rfind(')') {
        Some(i) => &s[i + 2..],
        None => return 0.0,
    };
    let f: Vec<&str> = after.split_whitespace().collect();
    // fields after ")" start at field 3 (state); utime=14, stime=15 -> idx 11,12
    let ut: f64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0.0);
    let st: f64 = f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0.0);
    (ut + st) / clk_tck()
}
/// machine-wide busy CPU seconds (all cores) from /proc/stat: user..steal minus idle/iowait
fn sys_busy_secs() -> f64 {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<f64> = s.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    if f.len() < 8 {
        return 0.0;
    }
    (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / clk_tck()
}
fn rss_kb(pid: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    for l in s.lines() {
        if let Some(r) = l.strip_prefix("VmRSS:") {
            return r.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
        }
    }
    0
}

// ---------- payload ----------
fn make_payload(seq: usize, size: usize) -> Vec<u8> {
    let mut p = format!("{:010}:{:020}:", seq, now_ns()).into_bytes();
    p.resize(size.max(32), b'x');
    p
}
fn parse_u64(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |a, &c| a * 10 + (c.wrapping_sub(b'0') as u64))
}

struct Rec {
    m: usize,
    seen: Vec<u8>,
    received: u64,
    dups: u64,
    lats_us: Vec<u32>,
    last_ns: u64,
}
impl Rec {
    fn new(m: usize) -> Self {
        Rec { m, seen: vec![0; m], received: 0, dups: 0, lats_us: Vec::with_capacity(m), last_ns: 0 }
    }
    fn on_payload(&mut self, p: &[u8]) {
        let now = now_ns();
        if p.len() < 31 {
            return;
        }
        let seq = parse_u64(&p[0..10]) as usize;
        let ts = parse_u64(&p[11..31]);
        if seq < self.m {
            if self.seen[seq] != 0 {
                self.dups += 1;
                return;
            }
            self.seen[seq] = 1;
        }
        self.received += 1;
        self.lats_us.push((now.saturating_sub(ts) / 1000) as u32);
        self.last_ns = now;
    }
    fn done(&self) -> bool {
        self.received as usize >= self.m
    }
}

// ---------- NATS protocol parser (incremental) ----------
#[derive(Default)]
struct NatsParser {
    buf: Vec<u8>,
    pos: usize,
}
#[derive(Default)]
struct NatsOut {
    pings: usize,
    pongs: usize,
    err: Option<String>,
}
/// memchr's search, as the chanspec receive loop uses: both protocols parsed with the same
/// primitives.
fn find_crlf(b: &[u8]) -> Option<usize> {
    memchr::memmem::find(b, b"\r\n")
}
impl NatsParser {
    fn feed(&mut self, data: &[u8], mut on_msg: impl FnMut(&[u8])) -> NatsOut {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
        let mut out = NatsOut::default();
        loop {
            let rest = &self.buf[self.pos..];
            let Some(eol) = find_crlf(rest) else { break };
            let line = &rest[..eol];
            if line.starts_with(b"MSG ") || line.starts_with(b"msg ") {
                let n: usize = line
                    .rsplit(|&c| c == b' ')
                    .next()
                    .and_then(|t| std::str::from_utf8(t).ok())
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                let need = eol + 2 + n + 2;
                if rest.len() < need {
                    break;
                }
                on_msg(&rest[eol + 2..eol + 2 + n]);
                self.pos += need;
            } else {
                if line == b"PING" {
                    out.pings += 1;
                } else if line == b"PONG" {
                    out.pongs += 1;
                } else if line.starts_with(b"-ERR") {
                    out.err = Some(String::from_utf8_lossy(line).into_owned());
                } // INFO / +OK ignored
                self.pos += eol + 2;
            }
        }
        if self.pos > 1 << 16 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        out
    }
}

// ---------- RESP parser (pub/sub pushes only: arrays of bulk strings / ints) ----------
#[derive(Default)]
struct RespParser {
    buf: Vec<u8>,
    pos: usize,
}
impl RespParser {
    /// Calls on_push(kind, payload) for each complete top-level array.
    fn feed(&mut self, data: &[u8], mut on_push: impl FnMut(&[u8], &[u8])) {
        self.buf.extend_from_slice(data);
        loop {
            match parse_resp_array(&self.buf[self.pos..]) {
                Some((used, kind_rng, last_rng)) => {
                    let base = self.pos;
                    let b = &self.buf;
                    on_push(&b[base + kind_rng.0..base + kind_rng.1], &b[base + last_rng.0..base + last_rng.1]);
                    self.pos += used;
                }
                None => break,
            }
        }
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 1 << 16 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }
}
/// Returns (bytes used, range of first element, range of last element).
fn parse_resp_array(b: &[u8]) -> Option<(usize, (usize, usize), (usize, usize))> {
    if b.is_empty() {
        return None;
    }
    let e = find_crlf(b)?;
    if b[0] != b'*' {
        // skip unexpected simple line
        return Some((e + 2, (0, 0), (0, 0)));
    }
    let n: usize = std::str::from_utf8(&b[1..e]).ok()?.parse().ok()?;
    let mut p = e + 2;
    let mut first = (0, 0);
    let mut last = (0, 0);
    for i in 0..n {
        let r = &b[p..];
        let e2 = find_crlf(r)?;
        let rng;
        match r.first()? {
            b'$' => {
                let len: usize = std::str::from_utf8(&r[1..e2]).ok()?.parse().ok()?;
                if r.len() < e2 + 2 + len + 2 {
                    return None;
                }
                rng = (p + e2 + 2, p + e2 + 2 + len);
                p += e2 + 2 + len + 2;
            }
            _ => {
                rng = (p + 1, p + e2);
                p += e2 + 2;
            }
        }
        if i == 0 {
            first = rng;
        }
        last = rng;
    }
    Some((p, first, last))
}

// ---------- subscribers ----------
type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn ws_connect(addr: &str) -> Ws {
    let tcp = TcpStream::connect(addr).await.expect("tcp connect ws");
    tcp.set_nodelay(true).ok();
    let cfg = WebSocketConfig::default().read_buffer_size(16 * 1024).write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::client_async_with_config(format!("ws://{addr}/"), tcp, Some(cfg))
        .await
        .expect("ws handshake");
    ws
}

/// Subscribe over WS, wait for PONG (=> SUB processed), signal ready, receive.
async fn nats_ws_sub(
    cfg: Arc<Cfg>,
    subject: String,
    sem: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<()>,
    mut stop: watch::Receiver<bool>,
) -> Rec {
    let mut rec = Rec::new(cfg.msgs);
    let mut parser = NatsParser::default();
    let permit = sem.acquire().await.unwrap();
    let mut ws = ws_connect(&cfg.ws).await;
    let hello = format!(
        "CONNECT {{\"verbose\":false,\"pedantic\":false,\"name\":\"sub\"}}\r\nSUB {subject} 1\r\nPING\r\n"
    );
    ws.send(Message::binary(hello.into_bytes())).await.expect("send sub");
    // wait for PONG
    let mut subscribed = false;
    while !subscribed {
        let m = ws.next().await.expect("closed before PONG").expect("ws err");
        let data = match m { Message::Binary(b) => b, Message::Text(t) => t.into(), _ => continue };
        let out = parser.feed(&data, |p| rec.on_payload(p));
        if let Some(e) = out.err {
            panic!("server error: {e}");
        }
        if out.pings > 0 {
            ws.send(Message::binary(b"PONG\r\n".to_vec())).await.ok();
        }
        subscribed = out.pongs > 0;
    }
    drop(permit);
    let _ = ready.send(());
    // One `changed()` for the whole loop, not one per frame (the same for every mode).
    let mut stopped = std::pin::pin!(stop.changed());
    // idle mode (msgs == 0): just hold, answering PINGs, until told to stop
    loop {
        if cfg.msgs > 0 && rec.done() {
            break;
        }
        tokio::select! {
            m = ws.next() => {
                let Some(Ok(m)) = m else { break };
                let data = match m { Message::Binary(b) => b, Message::Text(t) => t.into(), _ => continue };
                let out = parser.feed(&data, |p| rec.on_payload(p));
                if out.pings > 0 {
                    for _ in 0..out.pings { ws.send(Message::binary(b"PONG\r\n".to_vec())).await.ok(); }
                }
                if let Some(e) = out.err { eprintln!("sub err: {e}"); }
            }
            _ = &mut stopped => break,
        }
    }
    let _ = ws.close(None).await;
    rec
}

async fn nats_tcp_sub(
    cfg: Arc<Cfg>,
    subject: String,
    sem: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<()>,
    mut stop: watch::Receiver<bool>,
) -> Rec {
    let mut rec = Rec::new(cfg.msgs);
    let mut parser = NatsParser::default();
    let permit = sem.acquire().await.unwrap();
    let mut s = TcpStream::connect(&cfg.nats).await.expect("tcp connect nats");
    s.set_nodelay(true).ok();
    let hello = format!("CONNECT {{\"verbose\":false,\"pedantic\":false,\"name\":\"sub\"}}\r\nSUB {subject} 1\r\nPING\r\n");
    s.write_all(hello.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before PONG");
        let out = parser.feed(&buf[..n], |p| rec.on_payload(p));
        if let Some(e) = out.err {
            panic!("server error: {e}");
        }
        if out.pongs > 0 {
            break;
        }
    }
    drop(permit);
    let _ = ready.send(());
    // One `changed()` for the whole loop, not one per frame (the same for every mode).
    let mut stopped = std::pin::pin!(stop.changed());
    loop {
        if rec.done() {
            break;
        }
        tokio::select! {
            r = s.read(&mut buf) => {
                let n = match r { Ok(0) | Err(_) => break, Ok(n) => n };
                let out = parser.feed(&buf[..n], |p| rec.on_payload(p));
                for _ in 0..out.pings { s.write_all(b"PONG\r\n").await.ok(); }
            }
            _ = &mut stopped => break,
        }
    }
    rec
}

async fn redis_sub(
    cfg: Arc<Cfg>,
    sem: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<()>,
    mut stop: watch::Receiver<bool>,
) -> Rec {
    let mut rec = Rec::new(cfg.msgs);
    let mut parser = RespParser::default();
    let permit = sem.acquire().await.unwrap();
    let mut s = TcpStream::connect(&cfg.redis).await.expect("tcp connect redis");
    s.set_nodelay(true).ok();
    let cmd = format!("*2\r\n$9\r\nSUBSCRIBE\r\n${}\r\n{}\r\n", SUBJECT.len(), SUBJECT);
    s.write_all(cmd.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let mut subscribed = false;
    while !subscribed {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before subscribe ack");
        parser.feed(&buf[..n], |kind, last| {
            if kind == b"subscribe" {
                subscribed = true;
            } else if kind == b"message" {
                rec.on_payload(last);
            }
        });
    }
    drop(permit);
    let _ = ready.send(());
    // One `changed()` for the whole loop, not one per frame (the same for every mode).
    let mut stopped = std::pin::pin!(stop.changed());
    loop {
        if rec.done() {
            break;
        }
        tokio::select! {
            r = s.read(&mut buf) => {
                let n = match r { Ok(0) | Err(_) => break, Ok(n) => n };
                parser.feed(&buf[..n], |kind, last| if kind == b"message" { rec.on_payload(last) });
            }
            _ = &mut stopped => break,
        }
    }
    rec
}

/// A chanspec hub subscriber: `subscribe` with the token, wait for `subscribed`, then read
/// `message` frames and time the payload carried in `data.token`.
async fn chanspec_ws_sub(
    cfg: Arc<Cfg>,
    sem: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<()>,
    mut stop: watch::Receiver<bool>,
) -> Rec {
    let mut rec = Rec::new(cfg.msgs);
    let permit = sem.acquire().await.unwrap();
    let tcp = TcpStream::connect(&cfg.hub).await.expect("tcp connect hub");
    tcp.set_nodelay(true).ok();
    let wcfg = WebSocketConfig::default().read_buffer_size(16 * 1024).write_buffer_size(0);
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!("ws://{}/v1/ws", cfg.hub))
            .expect("request");
    if cfg.compact {
        request.headers_mut().insert("Sec-WebSocket-Protocol", "chanspec.v1.compact".parse().unwrap());
    } else if cfg.batch {
        request.headers_mut().insert("Sec-WebSocket-Protocol", "chanspec.v1.batch".parse().unwrap());
    }
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(request, tcp, Some(wcfg)).await.expect("ws handshake");
    let sub = format!("{{\"type\":\"subscribe\",\"id\":1,\"token\":\"{}\"}}", cfg.token);
    ws.send(Message::text(sub)).await.expect("send subscribe");
    loop {
        let m = ws.next().await.expect("closed before subscribed").expect("ws err");
        if let Message::Text(t) = m {
            assert!(t.as_str().contains("\"subscribed\""), "hub refused: {t}");
            break;
        }
    }
    drop(permit);
    let _ = ready.send(());
    // One `changed()` for the whole loop, not one per frame (the same for every mode).
    let mut stopped = std::pin::pin!(stop.changed());
    // The needle's searcher is built once; the payload's closing quote is found with memchr,
    // as a JSON tokenizer scans a string (the payload has no escapes).
    let needle = memchr::memmem::Finder::new(b"\"token\":\"");
    loop {
        if cfg.msgs > 0 && rec.done() {
            break;
        }
        tokio::select! {
            m = ws.next() => {
                let Some(Ok(m)) = m else { break };
                let Message::Text(t) = m else { continue };
                // A batched message holds several frames: one payload per frame.
                let bytes = t.as_bytes();
                let mut at = 0;
                while let Some(i) = needle.find(&bytes[at..]) {
                    let start = at + i + needle.needle().len();
                    let rest = &bytes[start..];
                    let end = memchr::memchr(b'"', rest).unwrap_or(rest.len());
                    rec.on_payload(&rest[..end]);
                    at = start + end;
                }
            }
            _ = &mut stopped => break,
        }
    }
    let _ = ws.close(None).await;
    rec
}

/// Publish over one keep-alive HTTP/1.1 connection, requests pipelined (written without
/// waiting for answers, as the NATS and Redis publishers do); a reader counts the answers.
async fn chanspec_pub(cfg: &Cfg) -> (u64, u64) {
    let s = TcpStream::connect(&cfg.hub).await.expect("pub connect");
    s.set_nodelay(true).ok();
    let (r, w) = s.into_split();
    let m = cfg.msgs;
    let reader = tokio::spawn(async move {
        let mut r = BufReader::new(r);
        let mut line = String::new();
        for _ in 0..m {
            let mut len = 0usize;
            line.clear();
            if r.read_line(&mut line).await.unwrap() == 0 {
                break;
            }
            assert!(line.starts_with("HTTP/1.1 200"), "publish refused: {line}");
            loop {
                line.clear();
                r.read_line(&mut line).await.unwrap();
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0u8; len];
            r.read_exact(&mut body).await.unwrap();
        }
    });
    let mut w = BufWriter::with_capacity(64 * 1024, w);
    let t0 = now_ns();
    let mut tick = (cfg.rate > 0.0).then(|| {
        let mut i = tokio::time::interval(Duration::from_secs_f64(1.0 / cfg.rate));
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        i
    });
    for seq in 0..cfg.msgs {
        if let Some(t) = tick.as_mut() {
            t.tick().await;
        }
        let payload = String::from_utf8(make_payload(seq, cfg.size)).unwrap();
        let body = format!("{{\"channel\":\"{}\",\"topic\":\"tokens\",\"data\":{{\"token\":\"{payload}\"}}}}", cfg.channel);
        let req = format!(
            "POST /v1/publish HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            cfg.key,
            body.len()
        );
        w.write_all(req.as_bytes()).await.unwrap();
        if tick.is_some() {
            w.flush().await.unwrap();
        }
    }
    w.flush().await.unwrap();
    reader.await.unwrap();
    (t0, now_ns())
}

// ---------- publishers ----------
/// Returns (first publish ns, last publish acknowledged ns).
async fn nats_pub(cfg: &Cfg) -> (u64, u64) {
    let s = TcpStream::connect(&cfg.nats).await.expect("pub connect");
    s.set_nodelay(true).ok();
    let (r, w) = s.into_split();
    let mut r = BufReader::new(r);
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap(); // INFO
    let mut w = BufWriter::with_capacity(64 * 1024, w);
    w.write_all(b"CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"pub\"}\r\nPING\r\n").await.unwrap();
    w.flush().await.unwrap();
    line.clear();
    r.read_line(&mut line).await.unwrap(); // PONG
    let hdr = format!("PUB {SUBJECT} {}\r\n", cfg.size.max(32));
    let t0 = now_ns();
    let mut tick = (cfg.rate > 0.0).then(|| {
        let mut i = tokio::time::interval(Duration::from_secs_f64(1.0 / cfg.rate));
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        i
    });
    for seq in 0..cfg.msgs {
        if let Some(t) = tick.as_mut() {
            t.tick().await;
        }
        w.write_all(hdr.as_bytes()).await.unwrap();
        w.write_all(&make_payload(seq, cfg.size)).await.unwrap();
        w.write_all(b"\r\n").await.unwrap();
        if tick.is_some() {
            w.flush().await.unwrap();
        }
    }
    w.write_all(b"PING\r\n").await.unwrap();
    w.flush().await.unwrap();
    loop {
        line.clear();
        if r.read_line(&mut line).await.unwrap() == 0 || line.starts_with("PONG") {
            break;
        }
        if line.starts_with("PING") {
            w.write_all(b"PONG\r\n").await.unwrap();
            w.flush().await.unwrap();
        }
    }
    (t0, now_ns())
}

async fn redis_pub(cfg: &Cfg) -> (u64, u64) {
    let s = TcpStream::connect(&cfg.redis).await.expect("pub connect");
    s.set_nodelay(true).ok();
    let (r, w) = s.into_split();
    let m = cfg.msgs;
    let reader = tokio::spawn(async move {
        let mut r = BufReader::new(r);
        let mut line = String::new();
        let mut receivers = 0u64;
        for _ in 0..m {
            line.clear();
            if r.read_line(&mut line).await.unwrap() == 0 {
                break;
            }
            receivers += line.trim_start_matches(':').trim().parse::<u64>().unwrap_or(0);
        }
        receivers
    });
    let mut w = BufWriter::with_capacity(64 * 1024, w);
    let hdr = format!("*3\r\n$7\r\nPUBLISH\r\n${}\r\n{}\r\n${}\r\n", SUBJECT.len(), SUBJECT, cfg.size.max(32));
    let t0 = now_ns();
    let mut tick = (cfg.rate > 0.0).then(|| {
        let mut i = tokio::time::interval(Duration::from_secs_f64(1.0 / cfg.rate));
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        i
    });
    for seq in 0..cfg.msgs {
        if let Some(t) = tick.as_mut() {
            t.tick().await;
        }
        w.write_all(hdr.as_bytes()).await.unwrap();
        w.write_all(&make_payload(seq, cfg.size)).await.unwrap();
        w.write_all(b"\r\n").await.unwrap();
        if tick.is_some() {
            w.flush().await.unwrap();
        }
    }
    w.flush().await.unwrap();
    let receivers = reader.await.unwrap();
    eprintln!("redis PUBLISH replies summed to {receivers} receivers");
    (t0, now_ns())
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

async fn fanout(cfg: Arc<Cfg>) {
    let sem = Arc::new(Semaphore::new(cfg.conc));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut handles = Vec::with_capacity(cfg.subs);
    let t_conn = Instant::now();
    for _ in 0..cfg.subs {
        let (c, s, r, st) = (cfg.clone(), sem.clone(), ready_tx.clone(), stop_rx.clone());
        handles.push(match cfg.mode.as_str() {
            "nats-ws" => tokio::spawn(nats_ws_sub(c, SUBJECT.to_string(), s, r, st)),
            "nats-tcp" => tokio::spawn(nats_tcp_sub(c, SUBJECT.to_string(), s, r, st)),
            "redis" => tokio::spawn(redis_sub(c, s, r, st)),
            "chanspec-ws" => tokio::spawn(chanspec_ws_sub(c, s, r, st)),
            m => panic!("unknown mode {m}"),
        });
    }
    for _ in 0..cfg.subs {
        ready_rx.recv().await.expect("a subscriber died during set-up");
    }
    eprintln!("{} subscribers ready in {:.2}s", cfg.subs, t_conn.elapsed().as_secs_f64());
    tokio::time::sleep(Duration::from_millis(500)).await;

    let spid = cfg.server_pid.to_string();
    let (srv0, me0, sys0) = (cpu_secs(&spid), cpu_secs("self"), sys_busy_secs());
    let (t_pub0, t_pub1) = match cfg.mode.as_str() {
        "redis" => redis_pub(&cfg).await,
        "chanspec-ws" => chanspec_pub(&cfg).await,
        _ => nats_pub(&cfg).await,
    };
    eprintln!("published {} msgs in {:.3}s", cfg.msgs, (t_pub1 - t_pub0) as f64 / 1e9);
    // grace timer: stop stragglers after grace_s
    let grace = cfg.grace_s;
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(grace)).await;
        let _ = stop_tx.send(true);
    });
    let mut recs = Vec::with_capacity(cfg.subs);
    for h in handles {
        recs.push(h.await.expect("subscriber task"));
    }
    stopper.abort();
    let (srv1, me1, sys1) = (cpu_secs(&spid), cpu_secs("self"), sys_busy_secs());
    let other = (sys1 - sys0) - (srv1 - srv0) - (me1 - me0);

    let received: u64 = recs.iter().map(|r| r.received).sum();
    let dups: u64 = recs.iter().map(|r| r.dups).sum();
    let last = recs.iter().map(|r| r.last_ns).max().unwrap_or(t_pub1);
    let wall = (last.max(t_pub1) - t_pub0) as f64 / 1e9;
    let expected = (cfg.subs * cfg.msgs) as u64;
    let mut lats: Vec<u32> = Vec::with_capacity(received as usize);
    for r in &mut recs {
        lats.append(&mut r.lats_us);
    }
    lats.sort_unstable();
    let cpu_wall = wall.max(1e-9);
    println!(
        "RESULT mode={} subs={} msgs={} rate={} size={} expected={} received={} lost={} dups={} wall_s={:.3} deliveries_per_s={:.0} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2} server_cpu_s={:.2} server_cpu_pct={:.0} loadgen_cpu_s={:.2} loadgen_cpu_pct={:.0} other_procs_cpu_pct={:.0}",
        if cfg.compact {
            format!("{}+compact", cfg.mode)
        } else if cfg.batch {
            format!("{}+batch", cfg.mode)
        } else {
            cfg.mode.clone()
        }, cfg.subs, cfg.msgs, cfg.rate, cfg.size.max(32), expected, received,
        expected.saturating_sub(received), dups, wall, received as f64 / wall,
        pct(&lats, 0.50), pct(&lats, 0.90), pct(&lats, 0.99), pct(&lats, 1.0),
        srv1 - srv0, 100.0 * (srv1 - srv0) / cpu_wall, me1 - me0, 100.0 * (me1 - me0) / cpu_wall, 100.0 * other / cpu_wall
    );
}

async fn idle(cfg: Arc<Cfg>) {
    let spid = cfg.server_pid.to_string();
    let rss0 = rss_kb(&spid);
    let sem = Arc::new(Semaphore::new(cfg.conc));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut c = (*cfg).clone();
    c.msgs = 0; // never "done": hold until stop
    let c = Arc::new(c);
    let t = Instant::now();
    let ok = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::with_capacity(cfg.subs);
    for i in 0..cfg.subs {
        let (c, s, r, st, ok) = (c.clone(), sem.clone(), ready_tx.clone(), stop_rx.clone(), ok.clone());
        let chanspec = cfg.mode == "idle-chanspec";
        handles.push(tokio::spawn(async move {
            let rec = if chanspec {
                chanspec_ws_sub(c, s, r, st).await
            } else {
                nats_ws_sub(c, format!("idle.{i}"), s, r, st).await
            };
            ok.fetch_add(1, Ordering::Relaxed);
            rec.received
        }));
    }
    for _ in 0..cfg.subs {
        ready_rx.recv().await.expect("a subscriber died during set-up");
    }
    eprintln!("{} idle WS subscriptions up in {:.2}s; settling {}s", cfg.subs, t.elapsed().as_secs_f64(), cfg.hold_s);
    tokio::time::sleep(Duration::from_secs(cfg.hold_s)).await;
    let rss1 = rss_kb(&spid);
    let conns = std::fs::read_dir(format!("/proc/{spid}/fd")).map(|d| d.count()).unwrap_or(0);
    println!(
        "RESULT mode={} subs={} server_rss_before_kb={} server_rss_after_kb={} delta_kb={} per_conn_kb={:.1} server_fds={}",
        cfg.mode, cfg.subs, rss0, rss1, rss1 as i64 - rss0 as i64,
        (rss1 as f64 - rss0 as f64) / cfg.subs as f64, conns
    );
    let _ = stop_tx.send(true);
    for h in handles {
        let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
    }
}

fn main() {
    START.set(Instant::now()).unwrap();
    let cfg = Arc::new(parse_cfg());
    let limit = cfg.limit_s;
    // hard wall-clock limit: the process ends by itself whatever happens
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(limit));
        eprintln!("hard limit {limit}s reached, exiting");
        std::process::exit(3);
    });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        match cfg.mode.as_str() {
            "idle-ws" | "idle-chanspec" => idle(cfg).await,
            _ => fanout(cfg).await,
        }
    });
}
