//! The hub: fans published messages out to WebSocket and SSE subscribers, accepts HTTP and
//! in-process publishes, checks tokens, and enforces every limit. [`Hub::router`] is an axum
//! `Router` to mount in your server; `chanspec serve` runs it standalone.
//!
//! - `catalog.rs`: definitions compiled (name matching, payload validators);
//! - `ws.rs`, `sse.rs`: one connection each, subscriptions and their tokens;
//! - `publish.rs`: `POST /v1/publish`;
//! - `metrics.rs`: `/metrics`.
//!
//! Every subscription is registered before its history is read, and drops whatever it
//! already has (by offset), so replay and live delivery meet without a gap or a duplicate.

mod catalog;
mod metrics;
mod publish;
mod queue;
pub mod server;
mod sse;
mod ws;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::Utf8Bytes;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::{Notify, watch};

pub use catalog::Catalog;
pub use metrics::Metrics;

use crate::broker::memory::MemoryBroker;
use crate::broker::{Broker, BrokerConfig, Event, Message, Publication};
use crate::definitions::Definitions;
use crate::protocol::{
    Claims, ErrorCode, FrameFormat, Position, PublishRequest, PublishResponse, RunStatus, STATUS_TOPIC, ServerFrame,
    StatusData, StatusRequest,
};
use crate::token::TokenVerifier;
use crate::{Outgoing, Publish};
use queue::{Pushed, Queue};

/// Limits and timings. Every limit is enforced with an error code (see docs/protocol.md).
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// Largest publish (HTTP body, or encoded payload in process). Default 512 KiB.
    pub max_message_bytes: usize,
    /// Largest client frame answered with `too_large` (connection kept). Default 64 KiB.
    pub max_frame_bytes: usize,
    /// Client frames over this close the connection (1009). Default 1 MiB.
    pub hard_frame_bytes: usize,
    /// Frames queued per connection before it is closed as a slow consumer (4008).
    pub queue_capacity: usize,
    /// Bytes queued per connection before it is closed as a slow consumer (4008): a frame
    /// that would take the queue over this is not queued. A message larger than this still
    /// goes out alone, when the queue is empty. Default 1 MiB.
    pub queue_bytes: usize,
    /// Subscriptions per WebSocket connection.
    pub max_subscriptions: usize,
    /// For a client that offered the WebSocket subprotocol `chanspec.v1.batch`: at most this
    /// many hub frames (already queued; never waited for) in one WebSocket message, joined
    /// by `\n`. Default 32.
    pub batch_frames: usize,
    /// The most bytes of frames joined into one WebSocket message. Default 64 KiB.
    pub batch_bytes: usize,
    /// SSE keepalive comment interval.
    pub sse_keepalive: Duration,
    /// WebSocket ping interval. A connection that sends nothing (not even the pong every
    /// client sends by itself) for an interval after a ping is dropped. Default 30 s; zero
    /// sends no pings and drops nothing.
    pub ping_interval: Duration,
    /// The time a publish (or status) body has to arrive once its head has: a body that
    /// dribbles in slower gets 408. Default 10 s.
    pub body_timeout: Duration,
    /// Request-head timeout and open-connection limits of [`Hub::serve`] (a router mounted in
    /// your own server has your server's).
    pub connections: server::ConnectionLimits,
    /// The longest a subscribe token may stay valid from when it is presented; a token whose
    /// `exp` is further ahead is refused. Default 24 h.
    pub max_token_ttl: Duration,
    /// History and dedup, for the memory broker the hub creates when given none.
    pub broker: BrokerConfig,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            max_message_bytes: 512 * 1024,
            max_frame_bytes: 64 * 1024,
            hard_frame_bytes: 1024 * 1024,
            queue_capacity: 1024,
            queue_bytes: 1024 * 1024,
            max_subscriptions: 100,
            batch_frames: 32,
            batch_bytes: 64 * 1024,
            sse_keepalive: Duration::from_secs(15),
            ping_interval: Duration::from_secs(30),
            max_token_ttl: Duration::from_secs(24 * 3600),
            body_timeout: Duration::from_secs(10),
            connections: server::ConnectionLimits::default(),
            broker: BrokerConfig::default(),
        }
    }
}

/// A refusal: protocol code and explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubError {
    pub code: ErrorCode,
    pub message: String,
}

impl HubError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        HubError { code, message: message.into() }
    }
}

impl std::fmt::Display for HubError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for HubError {}

/// Builds a [`Hub`].
pub struct HubBuilder {
    definitions: Definitions,
    secret: Vec<u8>,
    previous_secret: Option<Vec<u8>>,
    publish_key: Option<String>,
    broker: Option<Arc<dyn Broker>>,
    config: HubConfig,
}

impl HubBuilder {
    /// The secret subscribe tokens are signed with.
    pub fn secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secret = secret.as_ref().to_vec();
        self
    }

    /// During a rotation: tokens signed with this secret are accepted too.
    pub fn previous_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.previous_secret = Some(secret.as_ref().to_vec());
        self
    }

    /// The key HTTP publishers present (`Authorization: Bearer …`). Without one, HTTP
    /// publishing is refused (403) and only in-process publishes work.
    pub fn publish_key(mut self, key: impl Into<String>) -> Self {
        self.publish_key = Some(key.into());
        self
    }

    /// The broker; a [`MemoryBroker`] with the config's limits by default.
    pub fn broker(mut self, broker: Arc<dyn Broker>) -> Self {
        self.broker = Some(broker);
        self
    }

    pub fn config(mut self, config: HubConfig) -> Self {
        self.config = config;
        self
    }

    /// The hub, started. Fails when a payload schema does not compile or there is no secret.
    pub fn build(self) -> Result<Hub, String> {
        if self.secret.is_empty() {
            return Err("the hub needs a token secret".into());
        }
        crate::token::check_secret(&self.secret, "token secret")?;
        if let Some(previous) = &self.previous_secret {
            crate::token::check_secret(previous, "previous token secret")?;
        }
        let catalog = Catalog::new(self.definitions)?;
        let broker = self.broker.unwrap_or_else(|| Arc::new(MemoryBroker::new(self.config.broker.clone())));
        let (shutdown, _) = watch::channel(false);
        let verifier =
            TokenVerifier::new(&self.secret, self.previous_secret.as_deref()).with_max_ttl(self.config.max_token_ttl);
        let inner = Arc::new(Inner {
            config: self.config,
            catalog,
            verifier,
            publish_key: self.publish_key,
            broker,
            registry: Mutex::new(HashMap::new()),
            metrics: Metrics::default(),
            shutdown,
            next_id: AtomicU64::new(1),
        });
        let weak: Weak<Inner> = Arc::downgrade(&inner);
        inner.broker.start(Arc::new(move |event| {
            if let Some(inner) = weak.upgrade() {
                inner.deliver(event);
            }
        }));
        Ok(Hub { inner })
    }
}

/// The hub. Cheap to clone; every clone is the same hub.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    config: HubConfig,
    catalog: Catalog,
    verifier: TokenVerifier,
    publish_key: Option<String>,
    broker: Arc<dyn Broker>,
    /// Runtime channel name → local subscriptions.
    registry: Mutex<HashMap<String, Vec<Entry>>>,
    metrics: Metrics,
    shutdown: watch::Sender<bool>,
    next_id: AtomicU64,
}

/// One local subscription, as the fan-out sees it.
struct Entry {
    key: u64,
    /// The subscription's id on its connection (in its `message` frames).
    id: u64,
    topics: Vec<String>,
    conn: Arc<Conn>,
}

/// What fan-out shares with one connection: its bounded queue and its kill switch.
pub(crate) struct Conn {
    /// How its `message` frames are written.
    format: FrameFormat,
    queue: Queue,
    kill: Notify,
    killed: AtomicBool,
}

/// A queued item for one subscription (`key` identifies the subscription instance).
pub(crate) enum Out {
    /// A message's frame, encoded once for every subscription with this id (and frame
    /// format) and shared.
    Message {
        key: u64,
        offset: u64,
        frame: Utf8Bytes,
    },
    Reset {
        key: u64,
        position: Position,
    },
}

impl Out {
    /// What the item costs the queue's byte budget (and the `queued_bytes` metric).
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Out::Message { frame, .. } => frame.len(),
            Out::Reset { .. } => 64,
        }
    }
}

impl Conn {
    /// Resolves once fan-out has cut the connection (its queue was full). Any number of
    /// these may wait at once.
    pub(crate) async fn killed(&self) {
        // A `Notified` made before `notify_waiters` is woken by it, even if not yet polled.
        let notified = self.kill.notified();
        if self.killed.load(SeqCst) {
            return;
        }
        notified.await;
    }

    /// Queue `out`; its size in bytes when it was queued.
    fn push(&self, out: Out, metrics: &Metrics) -> Option<i64> {
        if self.killed.load(Relaxed) {
            return None;
        }
        let bytes = out.bytes() as i64;
        match self.queue.push(out) {
            Pushed::Queued => Some(bytes),
            Pushed::Full => {
                metrics.drops.fetch_add(1, Relaxed);
                if !self.killed.swap(true, SeqCst) {
                    metrics.slow_consumer_disconnects.fetch_add(1, Relaxed);
                    self.kill.notify_waiters();
                }
                None
            }
            Pushed::Closed => None,
        }
    }
}

/// A subscription as its connection holds it.
pub(crate) struct Sub {
    pub id: u64,
    pub key: u64,
    pub channel: String,
    pub topics: Vec<String>,
    pub epoch: String,
    /// The last offset delivered (or known to the client).
    pub last: u64,
    /// Token expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// On a lifecycle channel: the run's status when the subscription opened (or its epoch
    /// was reset), for `subscribed` frames.
    pub lifecycle: Option<Box<StatusData>>,
}

impl Sub {
    /// The frame to write for a queued item, or `None` when the client already has it.
    pub(crate) fn accept(&mut self, out: Out) -> Option<(Utf8Bytes, Option<u64>)> {
        match out {
            Out::Message { offset, frame, .. } => {
                if offset <= self.last {
                    return None;
                }
                self.last = offset;
                Some((frame, Some(offset)))
            }
            Out::Reset { position, .. } => {
                self.epoch = position.epoch;
                self.last = position.offset;
                // A new epoch: what was known of the run went with the old one.
                if let Some(l) = &mut self.lifecycle {
                    let status = if position.offset > 0 { RunStatus::Running } else { RunStatus::Pending };
                    **l = StatusData { status, result: None, error: None };
                }
                Some((self.subscribed(false).into(), None))
            }
        }
    }

    pub(crate) fn subscribed(&self, recovered: bool) -> String {
        frame(&ServerFrame::Subscribed {
            id: self.id,
            channel: self.channel.clone(),
            topics: self.topics.clone(),
            epoch: self.epoch.clone(),
            offset: self.last,
            recovered,
            status: self.lifecycle.as_ref().map(|l| l.status),
            result: self.lifecycle.as_ref().and_then(|l| l.result.clone()),
            error: self.lifecycle.as_ref().and_then(|l| l.error.clone()),
        })
    }
}

pub(crate) fn frame(f: &ServerFrame) -> String {
    serde_json::to_string(f).expect("frames serialize")
}

impl Out {
    fn key(&self) -> u64 {
        match self {
            Out::Message { key, .. } | Out::Reset { key, .. } => *key,
        }
    }
}

impl Inner {
    fn deliver(&self, event: Event) {
        if let Event::Message(_) = &event {
            self.metrics.broker_messages.fetch_add(1, Relaxed);
        }
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Message(message) => {
                let Some(entries) = registry.get(&message.channel) else { return };
                // The frame differs only by subscription id (and format), and clients mostly
                // use the same few ids: encode it once per id and format (up to 8; beyond,
                // per subscriber).
                let mut frames: Vec<((u64, FrameFormat), Utf8Bytes)> = Vec::new();
                let (mut queued, mut bytes) = (0, 0);
                // A status change goes to every subscription of the channel.
                let status = message.is_status();
                for e in entries.iter().filter(|e| status || e.topics.contains(&message.topic)) {
                    let which = (e.id, e.conn.format);
                    let frame = match frames.iter().find(|(w, _)| *w == which) {
                        Some((_, frame)) => frame.clone(),
                        None => {
                            let frame = Utf8Bytes::from(message.frame_in(e.id, e.conn.format));
                            if frames.len() < 8 {
                                frames.push((which, frame.clone()));
                            }
                            frame
                        }
                    };
                    let out = Out::Message { key: e.key, offset: message.offset, frame };
                    if let Some(n) = e.conn.push(out, &self.metrics) {
                        queued += 1;
                        bytes += n;
                    }
                }
                self.queued(queued, bytes);
            }
            Event::Reset { channel, position } => {
                let (mut queued, mut bytes) = (0, 0);
                for e in registry.get(&channel).into_iter().flatten() {
                    if let Some(n) = e.conn.push(Out::Reset { key: e.key, position: position.clone() }, &self.metrics) {
                        queued += 1;
                        bytes += n;
                    }
                }
                self.queued(queued, bytes);
            }
        }
    }

    /// Account for items queued (positive) or taken off queues (negative).
    fn queued(&self, frames: i64, bytes: i64) {
        if frames != 0 {
            self.metrics.queued_frames.fetch_add(frames, Relaxed);
            self.metrics.queued_bytes.fetch_add(bytes, Relaxed);
        }
    }
}

impl Hub {
    /// A hub for these definitions (give it at least a secret).
    pub fn builder(definitions: Definitions) -> HubBuilder {
        HubBuilder {
            definitions,
            secret: Vec::new(),
            previous_secret: None,
            publish_key: None,
            broker: None,
            config: HubConfig::default(),
        }
    }

    /// `/v1/ws`, `/v1/sse`, `/v1/publish`, `/healthz`, `/metrics`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/ws", get(ws::handler))
            .route("/v1/sse", get(sse::handler))
            .route("/v1/publish", post(publish::handler))
            .route("/v1/status", post(publish::status_handler))
            .route("/healthz", get(health))
            .route("/metrics", get(metrics_text))
            .with_state(self.clone())
    }

    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// Tell every connection the hub is closing (`closing`, then close 1001 / end of stream).
    pub fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    pub(crate) fn verify(&self, token: &str) -> Result<Claims, HubError> {
        self.inner.verifier.verify(token).map_err(|e| HubError::new(e.code, e.message))
    }

    pub(crate) fn publish_key(&self) -> Option<&str> {
        self.inner.publish_key.as_deref()
    }

    /// Publish after checking size, channel, topic and (when `validate`) the payload schema.
    pub async fn publish_checked(&self, request: PublishRequest) -> Result<PublishResponse, HubError> {
        let data =
            serde_json::to_string(&request.data).map_err(|e| HubError::new(ErrorCode::InvalidFrame, e.to_string()))?;
        if data.len() > self.inner.config.max_message_bytes {
            return Err(HubError::new(
                ErrorCode::TooLarge,
                format!("the payload is {} bytes; the limit is {}", data.len(), self.inner.config.max_message_bytes),
            ));
        }
        let channel = self
            .inner
            .catalog
            .channel(&request.channel)
            .ok_or_else(|| HubError::new(ErrorCode::NotFound, self.inner.catalog.no_channel(&request.channel)))?;
        let topic = channel.topic(&request.topic).ok_or_else(|| {
            HubError::new(ErrorCode::NotFound, format!("channel `{}` has no topic `{}`", channel.id, request.topic))
        })?;
        self.inner
            .catalog
            .validate(&topic.payload, &request.data)
            .map_err(|e| HubError::new(ErrorCode::InvalidPayload, e))?;
        self.send(Publication {
            channel: request.channel,
            topic: request.topic,
            data,
            idempotency_key: request.idempotency_key,
        })
        .await
    }

    /// Change a lifecycle channel's run status (`POST /v1/status`, and the typed
    /// `complete`/`fail`/`cancel`/`running`): the channel must have a `lifecycle`, a result or
    /// error must match its schema, and a run that has ended cannot change again (409), but
    /// for a retry with the same idempotency key.
    pub async fn set_status(&self, request: StatusRequest) -> Result<PublishResponse, HubError> {
        let channel = self
            .inner
            .catalog
            .channel(&request.channel)
            .ok_or_else(|| HubError::new(ErrorCode::NotFound, self.inner.catalog.no_channel(&request.channel)))?;
        let lifecycle = channel.lifecycle.as_ref().ok_or_else(|| {
            HubError::new(
                ErrorCode::NotFound,
                format!("channel `{}` has no lifecycle: it has no run status", channel.id),
            )
        })?;
        let invalid = |m: String| HubError::new(ErrorCode::InvalidPayload, m);
        let check = |name: &str, schema: &Option<String>, value: &Option<serde_json::Value>, allowed: bool| match (
            schema, value,
        ) {
            (_, Some(_)) if !allowed => Err(invalid(format!("a `{}` status has no {name}", request.status.as_str()))),
            (None, Some(_)) => Err(invalid(format!("channel `{}` declares no lifecycle {name}", channel.id))),
            (Some(schema), Some(v)) => {
                self.inner.catalog.validate(schema, v).map_err(|e| invalid(format!("the {name}: {e}")))
            }
            (Some(_), None) if allowed => Err(invalid(format!(
                "a `{}` status needs its {name} (the lifecycle declares one)",
                request.status.as_str()
            ))),
            _ => Ok(()),
        };
        if request.status == RunStatus::Pending {
            return Err(invalid("a run cannot be set back to `pending`".into()));
        }
        check("result", &lifecycle.result, &request.result, request.status == RunStatus::Completed)?;
        check("error", &lifecycle.error, &request.error, request.status == RunStatus::Failed)?;
        let data = StatusData { status: request.status, result: request.result, error: request.error };
        let data = serde_json::to_string(&data).map_err(|e| HubError::new(ErrorCode::InvalidFrame, e.to_string()))?;
        self.send(Publication {
            channel: request.channel,
            topic: STATUS_TOPIC.to_string(),
            data,
            idempotency_key: request.idempotency_key,
        })
        .await
    }

    /// Hand a checked publication to the broker.
    async fn send(&self, publication: Publication) -> Result<PublishResponse, HubError> {
        let channel = publication.channel.clone();
        let published = self
            .inner
            .broker
            .publish(publication)
            .await
            .map_err(|e| HubError::new(ErrorCode::Unavailable, e.to_string()))?;
        if let Some(status) = published.closed {
            return Err(HubError::new(
                ErrorCode::ChannelClosed,
                format!("the run on `{channel}` has ended ({}): nothing more is published on it", status.as_str()),
            ));
        }
        if !published.duplicate {
            self.inner.metrics.messages_in.fetch_add(1, Relaxed);
        }
        Ok(PublishResponse { offset: published.offset, duplicate: published.duplicate })
    }

    /// A new connection's queue and shared half.
    /// A new connection whose `message` frames are written in `format`.
    pub(crate) fn connect(&self, format: FrameFormat) -> Arc<Conn> {
        let queue = Queue::new(self.inner.config.queue_capacity, self.inner.config.queue_bytes);
        self.inner.metrics.connections.fetch_add(1, Relaxed);
        Arc::new(Conn { format, queue, kill: Notify::new(), killed: AtomicBool::new(false) })
    }

    pub(crate) fn disconnect(&self) {
        self.inner.metrics.connections.fetch_sub(1, Relaxed);
    }

    /// Wait for queued items and take up to `max` of them (accounted for as dequeued).
    pub(crate) async fn take(&self, conn: &Conn, max: usize, batch: &mut Vec<Out>) {
        conn.queue.take(max, batch).await;
        self.dequeued(batch.iter());
    }

    fn dequeued<'a>(&self, items: impl Iterator<Item = &'a Out>) {
        let (frames, bytes) = items.fold((0, 0), |(n, b), out| (n + 1, b + out.bytes() as i64));
        self.inner.queued(-frames, -bytes);
    }

    /// Close a connection's queue, accounting for what it held.
    pub(crate) fn drain(&self, conn: &Conn) {
        self.dequeued(conn.queue.close().iter());
    }

    pub(crate) fn sent(&self, n: u64) {
        self.inner.metrics.messages_out.fetch_add(n, Relaxed);
    }

    /// Check a token's channel and topics against the definitions; the channel's definition.
    pub(crate) fn check_claims(&self, claims: &Claims) -> Result<&crate::definitions::ChannelDef, HubError> {
        let channel = self
            .inner
            .catalog
            .channel(&claims.chan)
            .ok_or_else(|| HubError::new(ErrorCode::NotFound, self.inner.catalog.no_channel(&claims.chan)))?;
        if let Some(t) = claims.topics.iter().find(|t| channel.topic(t).is_none()) {
            return Err(HubError::new(ErrorCode::NotFound, format!("channel `{}` has no topic `{t}`", channel.id)));
        }
        Ok(channel)
    }

    /// Start a subscription: register it, then read what it missed. Returns the subscription
    /// (its `last` is what the `subscribed` frame announces), whether it recovered, and the
    /// messages to send first.
    pub(crate) async fn open(
        &self,
        conn: &Arc<Conn>,
        id: u64,
        claims: Claims,
        since: Option<Position>,
    ) -> Result<(Sub, bool, Vec<Arc<Message>>), HubError> {
        let has_lifecycle = self.check_claims(&claims)?.lifecycle.is_some();
        let key = self.inner.next_id.fetch_add(1, Relaxed);
        self.register(&claims.chan, key, id, claims.topics.clone(), conn);
        let replay = match self.inner.broker.replay(&claims.chan, since.as_ref()).await {
            Ok(r) => r,
            Err(e) => {
                self.close(&claims.chan, key);
                return Err(HubError::new(ErrorCode::Unavailable, e.to_string()));
            }
        };
        let lifecycle = has_lifecycle.then(|| {
            Box::new(replay.status.as_ref().and_then(|m| m.status()).unwrap_or(StatusData {
                status: if replay.position.offset > 0 { RunStatus::Running } else { RunStatus::Pending },
                result: None,
                error: None,
            }))
        });
        let mut sub = Sub {
            id,
            key,
            channel: claims.chan,
            topics: claims.topics,
            epoch: replay.position.epoch.clone(),
            last: replay.position.offset,
            exp: claims.exp,
            lifecycle,
        };
        let (recovered, messages) = match (replay.messages, since) {
            (Some(messages), Some(since)) => {
                sub.last = since.offset;
                (true, messages)
            }
            _ => (false, Vec::new()),
        };
        self.inner.metrics.subscriptions.fetch_add(1, Relaxed);
        Ok((sub, recovered, messages))
    }

    fn register(&self, channel: &str, key: u64, id: u64, topics: Vec<String>, conn: &Arc<Conn>) {
        let mut registry = self.inner.registry.lock().unwrap_or_else(|e| e.into_inner());
        let entries = registry.entry(channel.to_string()).or_default();
        if entries.is_empty() {
            self.inner.broker.watch(channel, true);
        }
        entries.push(Entry { key, id, topics, conn: conn.clone() });
    }

    /// Change a live subscription's topics (after a refresh).
    pub(crate) fn retopic(&self, channel: &str, key: u64, topics: Vec<String>) {
        let mut registry = self.inner.registry.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = registry.get_mut(channel).and_then(|v| v.iter_mut().find(|e| e.key == key)) {
            e.topics = topics;
        }
    }

    fn close(&self, channel: &str, key: u64) {
        let mut registry = self.inner.registry.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entries) = registry.get_mut(channel) {
            entries.retain(|e| e.key != key);
            if entries.is_empty() {
                registry.remove(channel);
                self.inner.broker.watch(channel, false);
            }
        }
    }

    /// End a subscription opened with [`Hub::open`].
    pub(crate) fn unsubscribe(&self, sub: &Sub) {
        self.close(&sub.channel, sub.key);
        self.inner.metrics.subscriptions.fetch_sub(1, Relaxed);
    }
}

impl Publish for Hub {
    type Error = HubError;

    /// In-process publish: size, channel, topic and the payload's schema are checked, as for
    /// an HTTP publish (the generated types allow values the schema refuses, such as a
    /// `minimum`, so a typed payload is not valid by construction).
    fn publish_raw(&self, message: Outgoing) -> impl Future<Output = Result<u64, HubError>> + Send {
        let hub = self.clone();
        async move {
            if message.topic == STATUS_TOPIC {
                let data: StatusData = serde_json::from_value(message.data)
                    .map_err(|e| HubError::new(ErrorCode::InvalidFrame, format!("not a status change: {e}")))?;
                let request = StatusRequest {
                    channel: message.channel,
                    status: data.status,
                    result: data.result,
                    error: data.error,
                    idempotency_key: message.idempotency_key,
                };
                return hub.set_status(request).await.map(|r| r.offset);
            }
            let request = PublishRequest {
                channel: message.channel,
                topic: message.topic,
                data: message.data,
                idempotency_key: message.idempotency_key,
            };
            hub.publish_checked(request).await.map(|r| r.offset)
        }
    }
}

async fn health(State(hub): State<Hub>) -> impl IntoResponse {
    if hub.inner.broker.healthy().await {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "broker unavailable")
    }
}

async fn metrics_text(State(hub): State<Hub>) -> impl IntoResponse {
    ([("content-type", "text/plain; version=0.0.4")], hub.inner.metrics.render())
}

/// Milliseconds until `exp` (seconds since the Unix epoch), from now.
pub(crate) fn until(exp: u64) -> Duration {
    Duration::from_millis(exp.saturating_mul(1000).saturating_sub(crate::protocol::now_millis()))
}

impl Hub {
    /// Serve the hub's router on `listener` until `signal` completes, then tell every
    /// connection (`closing`, close 1001) and wait for them to finish.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let hub = self.clone();
        let limits = self.inner.config.connections.clone();
        server::serve(listener, self.router(), limits, signal, move || hub.shutdown()).await
    }
}
