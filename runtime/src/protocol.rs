//! The wire protocol: WebSocket frames (both directions), the HTTP publish body and answer,
//! HTTP error bodies, and token claims. `docs/protocol.md` explains them; the committed
//! `schemas/protocol.schema.json` is derived from these types (feature `schema`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg(feature = "schema")]
use schemars::JsonSchema;

/// A position in a channel: its epoch and an offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// Changes when the channel's history is lost (a memory hub restarted, Redis flushed).
    pub epoch: String,
    /// The last offset the client has seen.
    pub offset: u64,
}

/// A frame the client sends on the WebSocket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ClientFrame {
    /// Start a subscription to the channel and topics named by the token.
    Subscribe {
        /// Chosen by the client, unique among its live subscriptions on this connection.
        id: u64,
        token: String,
        /// Resume after this position: every later message is replayed, in order, once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<Position>,
    },
    /// End a subscription.
    Unsubscribe { id: u64 },
    /// Replace a subscription's token before it expires (same channel).
    Refresh { id: u64, token: String },
    /// Answered with `pong`. (A struct variant, so unknown fields are refused as on the others.)
    Ping {},
}

/// A frame the hub sends on the WebSocket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerFrame {
    /// The subscription is live. Messages with offsets greater than `offset` follow.
    Subscribed {
        id: u64,
        channel: String,
        topics: Vec<String>,
        epoch: String,
        /// The last offset the client already has: `since.offset` when recovered, the
        /// channel's latest offset otherwise. The next message has a greater offset.
        offset: u64,
        /// `true` when every message after `since` follows; `false` when there was no `since`
        /// or the gap is older than the history (or from another epoch).
        recovered: bool,
        /// On a channel with a lifecycle: the run's status now (`pending` before anything
        /// was published), with the result or error when it has ended.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<RunStatus>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<Value>,
    },
    /// The run's status changed (a lifecycle channel). Ordered with the messages by its
    /// offset, and replayed like one; sent to every subscription of the channel.
    Status {
        id: u64,
        channel: String,
        status: RunStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<Value>,
        offset: u64,
        /// RFC 3339, UTC, milliseconds.
        #[serde(rename = "publishedAt")]
        published_at: String,
    },
    /// One message of the subscription.
    Message {
        id: u64,
        channel: String,
        topic: String,
        offset: u64,
        data: Value,
        /// RFC 3339, UTC, milliseconds.
        #[serde(rename = "publishedAt")]
        published_at: String,
    },
    /// The subscription ended.
    Unsubscribed { id: u64, reason: UnsubscribeReason },
    /// A frame was refused. `id` names the subscription when the frame had one.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        code: ErrorCode,
        message: String,
    },
    /// The answer to `ping`.
    Pong,
    /// The hub is shutting down; the connection closes next (code 1001).
    Closing,
}

/// Why a subscription ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum UnsubscribeReason {
    /// The client asked (`unsubscribe`).
    Requested,
    /// The token expired and no `refresh` came in time.
    TokenExpired,
}

/// Error codes, on the WebSocket (`error` frames) and in HTTP error bodies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, not a known frame, a duplicate or unknown subscription id.
    InvalidFrame,
    /// The token's signature, algorithm or claims are not acceptable.
    InvalidToken,
    /// The token has expired.
    TokenExpired,
    /// The token does not allow this channel, or the publish key is wrong.
    Forbidden,
    /// The frame or message is over the size limit.
    TooLarge,
    /// The connection already has the maximum number of subscriptions.
    TooManySubscriptions,
    /// No channel definition matches the name, or the channel has no such topic.
    NotFound,
    /// The payload does not match its topic's schema.
    InvalidPayload,
    /// A missing publish key.
    Unauthorized,
    /// The broker is unavailable (Redis down); retry.
    Unavailable,
    /// The channel's run has ended (`completed`, `failed` or `cancelled`): nothing more is
    /// published on it, and its status does not change again.
    ChannelClosed,
    /// A publish body did not arrive within the body timeout.
    Timeout,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidFrame => "invalid_frame",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::TooManySubscriptions => "too_many_subscriptions",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidPayload => "invalid_payload",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::ChannelClosed => "channel_closed",
            ErrorCode::Timeout => "timeout",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of `POST /v1/publish`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    pub channel: String,
    pub topic: String,
    pub data: Value,
    /// A retry with the same key (per channel) within the dedup window returns the first
    /// publish's offset and delivers nothing new.
    #[serde(default, rename = "idempotencyKey", skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// The WebSocket subprotocol a client offers to receive several frames per WebSocket message,
/// joined by `\n` (JSON text never holds a raw newline): split each message on `\n`.
pub const BATCH_PROTOCOL: &str = "chanspec.v1.batch";

/// The WebSocket subprotocol of compact message frames: batched as [`BATCH_PROTOCOL`], and
/// each `message` frame sent as a [`CompactMessage`] array instead of an object. Every other
/// frame is the same object. A hub offered both picks this one.
pub const COMPACT_PROTOCOL: &str = "chanspec.v1.compact";

/// How a connection's `message` frames are written: objects ([`ServerFrame::Message`]; SSE,
/// and WebSocket clients that did not offer [`COMPACT_PROTOCOL`]) or [`CompactMessage`]
/// arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameFormat {
    Objects,
    Compact,
}

/// A `message` frame in the compact subprotocol: `[id, topic, offset, publishedAt, data]`,
/// `publishedAt` in milliseconds since the Unix epoch. The channel is the subscription's
/// (`id` names it). A line that starts with `[` is one of these; every other line an object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub struct CompactMessage(pub u64, pub String, pub u64, pub u64, pub Value);

impl CompactMessage {
    /// The `message` frame it stands for, on `channel` (the subscription's).
    pub fn into_frame(self, channel: String) -> ServerFrame {
        let CompactMessage(id, topic, offset, published_at, data) = self;
        ServerFrame::Message { id, channel, topic, offset, data, published_at: rfc3339_millis(published_at) }
    }
}

/// A run's status on a channel with a lifecycle: `pending` until the first publish (or an
/// explicit `running`), then `running`, then one terminal status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl RunStatus {
    /// `completed`, `failed` or `cancelled`: the run has ended.
    pub fn is_terminal(self) -> bool {
        matches!(self, RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "pending",
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

/// A status change as the brokers store it: the data of a message on the reserved topic
/// [`STATUS_TOPIC`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StatusData {
    pub status: RunStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

/// The topic status changes travel on inside the brokers (never a topic name of a
/// definition: those are identifiers).
pub const STATUS_TOPIC: &str = "$status";

/// The body of `POST /v1/status` (channels with a `lifecycle`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub channel: String,
    /// `running`, `completed`, `failed` or `cancelled`.
    pub status: RunStatus,
    /// With `completed`: the run's result, checked against the lifecycle's `result` schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// With `failed`: the run's error, checked against the lifecycle's `error` schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    /// As for a publish: a retry with the same key returns the first offset, nothing new.
    #[serde(default, rename = "idempotencyKey", skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// The answer to a successful publish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub struct PublishResponse {
    pub offset: u64,
    /// `true` when the idempotency key was seen before and nothing new was delivered.
    #[serde(default)]
    pub duplicate: bool,
}

/// The body of every HTTP error (publish, SSE refusals).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub struct HttpError {
    pub code: ErrorCode,
    pub message: String,
}

/// The claims of a subscribe token (JWT, HS256).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub struct Claims {
    /// One runtime channel name, e.g. `pipeline:7`.
    pub chan: String,
    /// The topics the bearer may read.
    pub topics: Vec<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// A unique token id.
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Not valid before, seconds since the Unix epoch: refused until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

/// Milliseconds since the Unix epoch as RFC 3339 UTC (`2026-01-02T03:04:05.678Z`).
pub fn rfc3339_millis(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, ms % 1000)
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The JSON Schema of the protocol: every frame and body, under `definitions`.
#[cfg(feature = "schema")]
pub fn protocol_schema() -> Value {
    let mut generator = schemars::r#gen::SchemaSettings::draft2019_09().into_generator();
    generator.subschema_for::<ClientFrame>();
    generator.subschema_for::<ServerFrame>();
    generator.subschema_for::<CompactMessage>();
    generator.subschema_for::<PublishRequest>();
    generator.subschema_for::<PublishResponse>();
    generator.subschema_for::<StatusRequest>();
    generator.subschema_for::<HttpError>();
    generator.subschema_for::<Claims>();
    let definitions = generator.take_definitions();
    let mut root = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://chanspec.dev/schemas/protocol.schema.json",
        "title": "chanspec wire protocol",
        "description": "Frames on GET /v1/ws (ClientFrame from the client, ServerFrame from the hub, and CompactMessage for a `message` in the chanspec.v1.compact subprotocol; the same ServerFrame objects as SSE `data:` on GET /v1/sse), the body and answer of POST /v1/publish, the body of POST /v1/status, HTTP error bodies, and subscribe token claims. See docs/protocol.md.",
        "oneOf": [
            { "$ref": "#/$defs/ClientFrame" },
            { "$ref": "#/$defs/ServerFrame" },
            { "$ref": "#/$defs/CompactMessage" }
        ],
    });
    let defs = serde_json::to_value(definitions).unwrap_or_default();
    let text = serde_json::to_string(&defs).unwrap_or_default().replace("#/definitions/", "#/$defs/");
    root["$defs"] = serde_json::from_str(&text).unwrap_or_default();
    // schemars writes a tuple as draft 7 does (`items` as an array); 2020-12 says `prefixItems`.
    if let Some(compact) = root["$defs"].get_mut("CompactMessage").and_then(Value::as_object_mut)
        && let Some(items) = compact.remove("items")
    {
        compact.insert("prefixItems".into(), items);
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_as_documented() {
        let f: ClientFrame =
            serde_json::from_str(r#"{"type":"subscribe","id":1,"token":"t","since":{"epoch":"e","offset":41}}"#)
                .unwrap();
        assert_eq!(
            f,
            ClientFrame::Subscribe {
                id: 1,
                token: "t".into(),
                since: Some(Position { epoch: "e".into(), offset: 41 })
            }
        );
        assert_eq!(serde_json::from_str::<ClientFrame>(r#"{"type":"ping"}"#).unwrap(), ClientFrame::Ping {});
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"ping","x":1}"#).is_err(), "unknown fields are refused");
        let e = ServerFrame::Error { id: Some(1), code: ErrorCode::TooLarge, message: "m".into() };
        assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"type":"error","id":1,"code":"too_large","message":"m"}"#);
        let u = ServerFrame::Unsubscribed { id: 2, reason: UnsubscribeReason::TokenExpired };
        assert_eq!(serde_json::to_string(&u).unwrap(), r#"{"type":"unsubscribed","id":2,"reason":"token_expired"}"#);
    }

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_millis(1_709_251_199_123), "2024-02-29T23:59:59.123Z");
    }
}
