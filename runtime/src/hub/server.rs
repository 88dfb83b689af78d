//! Serving the hub's router on a TCP listener with the limits a public server needs, which
//! `axum::serve` does not set: a deadline for each request head (a silent, stalled or
//! dribbling connection is closed; an idle keep-alive connection too, since waiting for the
//! next request is waiting for a head), and a cap on open connections, overall and per
//! client IP, over which a new connection gets `503` with `Retry-After` and nothing else is
//! disturbed. WebSocket and SSE connections, once their request is read, are not timed.
//! Behind a reverse proxy (`trusted_proxies`), the per-IP limit counts the client address the
//! proxy gives in `X-Forwarded-For`, per WebSocket or SSE connection, instead of the proxy's.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// Connection limits and timeouts of [`serve`] (in `HubConfig`).
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionLimits {
    /// Time to read a request head, counted from when the server starts waiting for it
    /// (so also how long an idle keep-alive connection stays open). Default 10 s.
    pub head_timeout: Duration,
    /// Open connections at most; over it a new one gets 503. Default 10,000.
    pub max_connections: usize,
    /// Open connections per client IP at most (`None`: no per-IP limit, the default: many
    /// users share an IP behind a NAT or proxy).
    pub max_connections_per_ip: Option<usize>,
    /// Reverse proxies whose `X-Forwarded-For` is believed: their own connections are not
    /// counted per IP; each WebSocket or SSE request through them counts for the client
    /// address they forward (the rightmost one that is not itself a trusted proxy). Empty by
    /// default: the header is ignored, since any client can send it.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            head_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_connections_per_ip: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Open connections, overall and per IP.
#[derive(Default)]
struct Open {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// A slot in [`Open`], given back when the connection ends: one of the total (`total`), and
/// one of its IP's (`ip`), each when taken.
struct Slot {
    open: Arc<Mutex<Open>>,
    total: bool,
    ip: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if self.total {
            open.total -= 1;
        }
        let Some(ip) = self.ip else { return };
        if let Some(n) = open.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                open.per_ip.remove(&ip);
            }
        }
    }
}

/// Ends a connection from outside its task: an SSE response whose reader stopped reading is
/// never polled again (the socket is full), so the hub cuts it here, at the socket. Handlers
/// find it in the request's extensions (with `Hub::serve` only).
#[derive(Default)]
pub struct KillSwitch {
    killed: std::sync::atomic::AtomicBool,
    waker: Mutex<Option<std::task::Waker>>,
}

impl KillSwitch {
    /// Fail the connection's socket: its next read or write is an error, and the task
    /// waiting on it is woken to see it.
    pub fn kill(&self) {
        self.killed.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(w) = self.waker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            w.wake();
        }
    }

    fn check(&self) -> std::io::Result<()> {
        if self.killed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "cut by the hub"));
        }
        Ok(())
    }

    /// `poll` on the socket, failing once killed; a poll that waits leaves its waker here, so
    /// a kill wakes it (the fast path, a ready socket, only reads a flag).
    fn poll<T>(
        &self,
        cx: &mut std::task::Context<'_>,
        poll: impl FnOnce(&mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<T>>,
    ) -> std::task::Poll<std::io::Result<T>> {
        self.check()?;
        let result = poll(cx);
        if result.is_pending() {
            *self.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
            // Killed between the check and the registration: do not sleep through it.
            self.check()?;
        }
        result
    }
}

/// A connection's socket holding its slot and its kill switch: the slot is given back when
/// the socket is dropped, which for a WebSocket is when the upgraded connection ends, not
/// when its HTTP request does.
struct Counted {
    tcp: tokio::net::TcpStream,
    switch: Arc<KillSwitch>,
    _slot: Slot,
    /// Per-IP slots of clients behind a trusted proxy, taken by the requests.
    _forwarded: Arc<Mutex<Vec<Slot>>>,
}

impl tokio::io::AsyncRead for Counted {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let Counted { tcp, switch, .. } = &mut *self;
        switch.poll(cx, |cx| std::pin::Pin::new(tcp).poll_read(cx, buf))
    }
}

impl tokio::io::AsyncWrite for Counted {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let Counted { tcp, switch, .. } = &mut *self;
        switch.poll(cx, |cx| std::pin::Pin::new(tcp).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let Counted { tcp, switch, .. } = &mut *self;
        switch.poll(cx, |cx| std::pin::Pin::new(tcp).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// A slot of the total and (`ip`: unless the peer is a trusted proxy) of its IP.
fn take_slot(open: &Arc<Mutex<Open>>, limits: &ConnectionLimits, ip: Option<IpAddr>) -> Option<Slot> {
    let mut o = open.lock().unwrap_or_else(|e| e.into_inner());
    let here = ip.map(|ip| o.per_ip.get(&ip).copied().unwrap_or(0)).unwrap_or(0);
    if o.total >= limits.max_connections || (ip.is_some() && limits.max_connections_per_ip.is_some_and(|m| here >= m)) {
        return None;
    }
    o.total += 1;
    if let Some(ip) = ip {
        *o.per_ip.entry(ip).or_insert(0) += 1;
    }
    Some(Slot { open: open.clone(), total: true, ip })
}

/// A per-IP slot only, for a client behind a trusted proxy.
fn take_ip_slot(open: &Arc<Mutex<Open>>, max: usize, ip: IpAddr) -> Option<Slot> {
    let mut o = open.lock().unwrap_or_else(|e| e.into_inner());
    let here = o.per_ip.entry(ip).or_insert(0);
    if *here >= max {
        return None;
    }
    *here += 1;
    Some(Slot { open: open.clone(), total: false, ip: Some(ip) })
}

/// The client address a trusted proxy forwards: the rightmost `X-Forwarded-For` entry that is
/// not itself a trusted proxy.
fn forwarded_client(headers: &hyper::HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let list: Vec<&str> =
        headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).collect();
    list.iter().rev().filter_map(|s| s.trim().parse::<IpAddr>().ok()).find(|ip| !trusted.contains(ip))
}

/// Whether a request opens a long-lived connection (a WebSocket upgrade or an SSE stream).
fn long_lived<B>(request: &hyper::Request<B>) -> bool {
    let upgrade =
        request.headers().get(hyper::header::UPGRADE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    upgrade || request.uri().path() == "/v1/sse"
}

fn busy_response() -> axum::response::Response {
    let body = "{\"code\":\"unavailable\",\"message\":\"too many connections; retry shortly\"}";
    axum::response::Response::builder()
        .status(503)
        .header("retry-after", "5")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .expect("a static response")
}

const BUSY: &str = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 71\r\n\r\n{\"code\":\"unavailable\",\"message\":\"too many connections; retry shortly\"}";

/// Serve `router` on `listener` until `signal`, then stop accepting, let `on_shutdown` close
/// the long-lived connections, and wait (at most 10 s) for the rest to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    signal: impl Future<Output = ()> + Send + 'static,
    on_shutdown: impl FnOnce() + Send + 'static,
) -> std::io::Result<()> {
    let open = Arc::new(Mutex::new(Open::default()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let (tcp, peer): (tokio::net::TcpStream, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: wait a little rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        // Reap finished connections as we go, so the set does not grow with the uptime.
        while tasks.try_join_next().is_some() {}
        let proxied = limits.trusted_proxies.contains(&peer.ip());
        let Some(slot) = take_slot(&open, &limits, (!proxied).then_some(peer.ip())) else {
            tasks.spawn(async move {
                let mut tcp = tcp;
                let _ = tokio::time::timeout(Duration::from_secs(2), tcp.write_all(BUSY.as_bytes())).await;
                let _ = tcp.shutdown().await;
            });
            continue;
        };
        // Frames go out as soon as they are written, as in nats-server (Go's default).
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let mut stopped = stopped.clone();
        let head_timeout = limits.head_timeout;
        let (open, trusted, per_ip) = (open.clone(), limits.trusted_proxies.clone(), limits.max_connections_per_ip);
        tasks.spawn(async move {
            let switch = Arc::new(KillSwitch::default());
            let forwarded = Arc::new(Mutex::new(Vec::new()));
            let io = TokioIo::new(Counted { tcp, switch: switch.clone(), _slot: slot, _forwarded: forwarded.clone() });
            let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                // Behind a trusted proxy, a long-lived request counts for the forwarded client;
                // its slot lives as long as the connection (the upgraded one included).
                if let (true, Some(max)) = (proxied, per_ip)
                    && long_lived(&request)
                    && let Some(client) = forwarded_client(request.headers(), &trusted)
                {
                    match take_ip_slot(&open, max, client) {
                        Some(s) => forwarded.lock().unwrap_or_else(|e| e.into_inner()).push(s),
                        None => return futures_util::future::Either::Left(std::future::ready(Ok(busy_response()))),
                    }
                }
                request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                request.extensions_mut().insert(switch.clone());
                let router = router.clone();
                futures_util::future::Either::Right(async move {
                    tower::ServiceExt::oneshot(router, request.map(axum::body::Body::new)).await
                })
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(head_timeout).keep_alive(true);
            let connection = builder.serve_connection(io, service).with_upgrades();
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopped.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    on_shutdown();
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), async { while tasks.join_next().await.is_some() {} }).await;
    Ok(())
}
