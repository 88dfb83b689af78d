//! Brokers: where offsets are assigned, history is kept and duplicates are caught, and how
//! published messages reach every hub. [`memory`] for one process, `redis` for several.
//!
//! A broker reports every message published on any hub, in offset order per channel, to the
//! sink its hub gives it ([`Event`]); the hub fans them out to its local subscribers.

pub mod memory;
#[cfg(feature = "redis")]
pub mod redis;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::protocol::{Position, rfc3339_millis};

/// History and dedup limits.
#[derive(Clone, Debug)]
pub struct BrokerConfig {
    /// Messages kept per channel for replay.
    pub history_count: usize,
    /// Messages older than this are not replayed.
    pub history_age: Duration,
    /// How long an idempotency key is remembered: as long as the history by default, so a
    /// durable publish retried at any time a subscriber could still replay it is delivered
    /// once.
    pub dedup_window: Duration,
    /// History across every channel, in bytes ([`Message::cost`]), for the memory broker:
    /// over it, the oldest history of the least recently used channels is dropped first
    /// (down to 7/8 of it). A subscriber resuming into dropped history gets
    /// `recovered: false`. (Redis keeps history in Redis: bounded per channel by
    /// `history_count`, and overall by Redis's own `maxmemory`.)
    pub history_bytes: usize,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            history_count: 1000,
            history_age: Duration::from_secs(3600),
            dedup_window: Duration::from_secs(3600),
            history_bytes: 256 * 1024 * 1024,
        }
    }
}

/// A message with its place in its channel.
#[derive(Debug)]
pub struct Message {
    pub channel: String,
    pub topic: String,
    pub offset: u64,
    /// Milliseconds since the Unix epoch.
    pub published_at: u64,
    /// The `message` frame after its `id`: `,"channel":…,"publishedAt":"…"}`, built once and
    /// shared by every subscriber and by history. The payload is stored here only
    /// ([`Message::data`]).
    pub tail: String,
    /// Where the payload's JSON text is in `tail`.
    data: std::ops::Range<usize>,
}

impl Message {
    pub fn new(channel: String, topic: String, offset: u64, data: String, published_at: u64) -> Arc<Self> {
        let head = format!(
            ",\"channel\":{},\"topic\":{},\"offset\":{offset},\"data\":",
            serde_json::Value::from(channel.as_str()),
            serde_json::Value::from(topic.as_str()),
        );
        let at = rfc3339_millis(published_at);
        let mut tail = String::with_capacity(head.len() + data.len() + at.len() + 18);
        tail.push_str(&head);
        tail.push_str(&data);
        let range = head.len()..head.len() + data.len();
        drop(data);
        tail.push_str(",\"publishedAt\":\"");
        tail.push_str(&at);
        tail.push_str("\"}");
        Arc::new(Message { channel, topic, offset, published_at, tail, data: range })
    }

    /// The payload as JSON text.
    pub fn data(&self) -> &str {
        &self.tail[self.data.clone()]
    }

    /// What the message costs history: its text and bookkeeping.
    pub fn cost(&self) -> usize {
        self.tail.len() + self.channel.len() + self.topic.len() + std::mem::size_of::<Message>() + 16
    }

    /// Whether this is a status change (a lifecycle channel's run status).
    pub fn is_status(&self) -> bool {
        self.topic == crate::protocol::STATUS_TOPIC
    }

    /// The status change this message carries, if it is one.
    pub fn status(&self) -> Option<crate::protocol::StatusData> {
        if !self.is_status() {
            return None;
        }
        serde_json::from_str(self.data()).ok()
    }

    /// The `message` frame for subscription `id` (a `status` frame for a status change).
    pub fn frame(&self, id: u64) -> String {
        if let Some(s) = self.status() {
            return serde_json::to_string(&crate::protocol::ServerFrame::Status {
                id,
                channel: self.channel.clone(),
                status: s.status,
                result: s.result,
                error: s.error,
                offset: self.offset,
                published_at: rfc3339_millis(self.published_at),
            })
            .expect("frames serialize");
        }
        let mut s = String::with_capacity(self.tail.len() + 32);
        s.push_str("{\"type\":\"message\",\"id\":");
        s.push_str(&id.to_string());
        s.push_str(&self.tail);
        s
    }

    /// The frame for subscription `id` in `format`: in the compact subprotocol a `message` is
    /// the array `[id,"topic",offset,publishedAt,data]` (a status change stays an object).
    pub fn frame_in(&self, id: u64, format: crate::protocol::FrameFormat) -> String {
        if format == crate::protocol::FrameFormat::Objects || self.is_status() {
            return self.frame(id);
        }
        let topic = serde_json::Value::from(self.topic.as_str()).to_string();
        let data = self.data();
        let mut s = String::with_capacity(data.len() + topic.len() + 48);
        use std::fmt::Write;
        let _ = write!(s, "[{id},{topic},{},{},", self.offset, self.published_at);
        s.push_str(data);
        s.push(']');
        s
    }
}

/// What a broker tells its hub.
#[derive(Clone, Debug)]
pub enum Event {
    /// A message was published (on this hub or another).
    Message(Arc<Message>),
    /// The channel's history was lost: a new epoch, whose latest offset is `offset`.
    Reset { channel: String, position: Position },
}

/// Where a broker sends its events.
pub type Sink = Arc<dyn Fn(Event) + Send + Sync>;

/// A message to publish, already checked by the hub.
#[derive(Clone, Debug)]
pub struct Publication {
    pub channel: String,
    pub topic: String,
    pub data: String,
    pub idempotency_key: Option<String>,
}

/// The result of a publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    pub offset: u64,
    /// The idempotency key was seen within the window: nothing was delivered.
    pub duplicate: bool,
    /// The channel's run has ended with this status: nothing was published (`offset` 0).
    pub closed: Option<crate::protocol::RunStatus>,
}

/// What a resuming subscriber gets.
#[derive(Debug)]
pub struct Replay {
    /// The channel's current epoch and latest offset.
    pub position: Position,
    /// Every message after `since`, in order, when the history still holds them all; `None`
    /// when it does not (or `since` is from another epoch).
    pub messages: Option<Vec<Arc<Message>>>,
    /// The latest status change of the channel (kept beyond history trimming), if any.
    pub status: Option<Arc<Message>>,
}

/// The broker is unreachable or failed.
#[derive(Debug)]
pub struct BrokerError(pub String);

impl std::fmt::Display for BrokerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "broker unavailable: {}", self.0)
    }
}

impl std::error::Error for BrokerError {}

/// A broker: memory or Redis.
pub trait Broker: Send + Sync + 'static {
    /// Start reporting events to `sink`. Called once, by the hub.
    fn start(&self, sink: Sink);

    /// Assign the next offset (or return the first one for a known idempotency key), store
    /// the message in the history, and report it to every hub. A publication on
    /// [`STATUS_TOPIC`](crate::protocol::STATUS_TOPIC) also becomes the channel's status
    /// (kept beyond history trimming); once that status is terminal, every later publication
    /// is refused (`closed`), a duplicate key aside. Both checks and the offset are one
    /// atomic step.
    fn publish(&self, publication: Publication) -> BoxFuture<'_, Result<Published, BrokerError>>;

    /// The channel's epoch and latest offset, and when `since` is given, the messages after it.
    fn replay<'a>(
        &'a self,
        channel: &'a str,
        since: Option<&'a Position>,
    ) -> BoxFuture<'a, Result<Replay, BrokerError>>;

    /// This hub has (`true`) or no longer has (`false`) local subscribers on `channel`.
    fn watch(&self, _channel: &str, _on: bool) {}

    /// Is the broker reachable?
    fn healthy(&self) -> BoxFuture<'_, bool> {
        Box::pin(async { true })
    }
}

/// A fresh random epoch.
pub fn new_epoch() -> String {
    format!("{:016x}", rand::random::<u64>())
}
