//! Rust clients of a remote hub: [`HttpPublisher`] (typed publishes over `POST /v1/publish`)
//! and [`Subscription`] (a typed WebSocket subscriber yielding a channel's generated message
//! enum). Tokens are minted with [`crate::token::TokenIssuer`].

use std::marker::PhantomData;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::protocol::{
    ClientFrame, ErrorCode, HttpError, Position, PublishRequest, PublishResponse, STATUS_TOPIC, ServerFrame,
    StatusData, StatusRequest,
};
use crate::{ChannelMessage, DecodeError, Outgoing, Publish};

/// Why a client call failed.
#[derive(Debug)]
pub enum ClientError {
    /// The hub refused, with its code.
    Refused { status: Option<u16>, code: ErrorCode, message: String },
    /// The connection failed or the hub answered something unreadable.
    Transport(String),
    /// A received payload did not decode into the channel's message type.
    Decode(DecodeError),
    /// The subscription ended (`unsubscribed`), or the connection closed (with its code).
    Ended { reason: String, close_code: Option<u16> },
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Refused { code, message, .. } => write!(f, "refused ({code}): {message}"),
            ClientError::Transport(e) => write!(f, "transport: {e}"),
            ClientError::Decode(e) => write!(f, "{e}"),
            ClientError::Ended { reason, close_code } => write!(f, "subscription ended: {reason} ({close_code:?})"),
        }
    }
}

impl std::error::Error for ClientError {}

fn transport(e: impl std::fmt::Display) -> ClientError {
    ClientError::Transport(e.to_string())
}

/// Publishes to a remote hub over HTTP with the publish key.
#[derive(Clone)]
pub struct HttpPublisher {
    url: String,
    status_url: String,
    key: String,
    http: reqwest::Client,
}

impl HttpPublisher {
    /// `base` is the hub's address, e.g. `http://127.0.0.1:8080`.
    pub fn new(base: &str, publish_key: &str) -> Self {
        HttpPublisher {
            url: format!("{}/v1/publish", base.trim_end_matches('/')),
            status_url: format!("{}/v1/status", base.trim_end_matches('/')),
            key: publish_key.to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// Publish and return the hub's answer (offset, and whether it was a duplicate).
    pub async fn send(&self, request: &PublishRequest) -> Result<PublishResponse, ClientError> {
        self.post(&self.url, request).await
    }

    /// Change a lifecycle channel's run status (`POST /v1/status`).
    pub async fn send_status(&self, request: &StatusRequest) -> Result<PublishResponse, ClientError> {
        self.post(&self.status_url, request).await
    }

    async fn post<B: serde::Serialize>(&self, url: &str, body: &B) -> Result<PublishResponse, ClientError> {
        let response = self.http.post(url).bearer_auth(&self.key).json(body).send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(transport)
        } else {
            let e: HttpError = serde_json::from_slice(&bytes).map_err(transport)?;
            Err(ClientError::Refused { status: Some(status.as_u16()), code: e.code, message: e.message })
        }
    }
}

impl Publish for HttpPublisher {
    type Error = ClientError;

    fn publish_raw(&self, m: Outgoing) -> impl Future<Output = Result<u64, ClientError>> + Send {
        let this = self.clone();
        async move {
            if m.topic == STATUS_TOPIC {
                let data: StatusData = serde_json::from_value(m.data).map_err(transport)?;
                let request = StatusRequest {
                    channel: m.channel,
                    status: data.status,
                    result: data.result,
                    error: data.error,
                    idempotency_key: m.idempotency_key,
                };
                return this.send_status(&request).await.map(|r| r.offset);
            }
            let request =
                PublishRequest { channel: m.channel, topic: m.topic, data: m.data, idempotency_key: m.idempotency_key };
            this.send(&request).await.map(|r| r.offset)
        }
    }
}

/// One message received on a subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct Received<M> {
    pub topic: String,
    pub offset: u64,
    pub published_at: String,
    pub message: M,
}

/// What a subscription yields: a message, or (on a lifecycle channel) a status change.
#[derive(Clone, Debug, PartialEq)]
pub enum Event<M> {
    Message(Received<M>),
    /// The run's status changed; `offset` orders it among the messages.
    Status {
        status: StatusData,
        offset: u64,
        published_at: String,
    },
}

/// A typed subscription over its own WebSocket connection.
pub struct Subscription<M> {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    id: u64,
    /// The channel, as `subscribed` named it (compact `message` frames do not repeat it).
    channel: String,
    position: Position,
    recovered: bool,
    status: Option<StatusData>,
    /// Frames of a batched WebSocket message not handed out yet.
    pending: std::collections::VecDeque<ServerFrame>,
    message: PhantomData<fn() -> M>,
}

impl<M: ChannelMessage> Subscription<M> {
    /// Connect to `base` (`ws://127.0.0.1:8080`), subscribe with `token`, resuming after
    /// `since` when given. Returns once the hub has answered `subscribed`.
    pub async fn connect(base: &str, token: &str, since: Option<Position>) -> Result<Self, ClientError> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}/v1/ws", base.trim_end_matches('/'));
        // Offer compact, then batched, frames (several per WebSocket message, split on `\n`
        // below; in compact, a `message` is an array).
        let mut request = url.into_client_request().map_err(transport)?;
        let offer = format!("{}, {}", crate::protocol::COMPACT_PROTOCOL, crate::protocol::BATCH_PROTOCOL);
        let protocol = offer.parse().map_err(transport)?;
        request.headers_mut().insert("Sec-WebSocket-Protocol", protocol);
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.map_err(transport)?;
        let subscribe = ClientFrame::Subscribe { id: 1, token: token.to_string(), since };
        let text = serde_json::to_string(&subscribe).map_err(transport)?;
        socket.send(WsMessage::Text(text.into())).await.map_err(transport)?;
        let mut sub = Subscription {
            socket,
            id: 1,
            channel: String::new(),
            position: Position { epoch: String::new(), offset: 0 },
            recovered: false,
            status: None,
            pending: std::collections::VecDeque::new(),
            message: PhantomData,
        };
        match sub.frame().await? {
            ServerFrame::Subscribed { channel, epoch, offset, recovered, status, result, error, .. } => {
                sub.channel = channel;
                sub.position = Position { epoch, offset };
                sub.recovered = recovered;
                sub.status = status.map(|status| StatusData { status, result, error });
                Ok(sub)
            }
            ServerFrame::Error { code, message, .. } => Err(ClientError::Refused { status: None, code, message }),
            other => Err(transport(format!("unexpected frame {other:?}"))),
        }
    }

    /// On a lifecycle channel: the run's status as last heard (when subscribing, then from
    /// each status change), with its result or error once it has ended.
    pub fn status(&self) -> Option<&StatusData> {
        self.status.as_ref()
    }

    /// Whether the hub replayed everything after `since`.
    pub fn recovered(&self) -> bool {
        self.recovered
    }

    /// Where to resume from: the epoch and the last offset received.
    pub fn position(&self) -> &Position {
        &self.position
    }

    async fn frame(&mut self) -> Result<ServerFrame, ClientError> {
        loop {
            if let Some(f) = self.pending.pop_front() {
                return Ok(f);
            }
            match self.socket.next().await {
                Some(Ok(WsMessage::Text(t))) => {
                    for line in t.as_str().split('\n') {
                        // A compact message is on the subscription's channel, known from
                        // `subscribed`, which the hub always sends first, alone.
                        let frame = if line.starts_with('[') {
                            let compact: crate::protocol::CompactMessage =
                                serde_json::from_str(line).map_err(transport)?;
                            compact.into_frame(self.channel.clone())
                        } else {
                            serde_json::from_str(line).map_err(transport)?
                        };
                        self.pending.push_back(frame);
                    }
                }
                Some(Ok(WsMessage::Close(close))) => {
                    let (code, reason) =
                        close.map(|c| (Some(u16::from(c.code)), c.reason.to_string())).unwrap_or((None, String::new()));
                    return Err(ClientError::Ended { reason, close_code: code });
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(transport(e)),
                None => return Err(ClientError::Ended { reason: "connection closed".into(), close_code: None }),
            }
        }
    }

    /// The next message, decoded into the channel's message enum. A repeated `subscribed`
    /// (the channel's history was lost) updates [`Subscription::position`] and clears
    /// [`Subscription::recovered`].
    /// Status changes are skipped here (see [`Subscription::next_event`]) but remembered in
    /// [`Subscription::status`].
    pub async fn next(&mut self) -> Result<Received<M>, ClientError> {
        loop {
            if let Event::Message(m) = self.next_event().await? {
                return Ok(m);
            }
        }
    }

    /// The next message or status change.
    pub async fn next_event(&mut self) -> Result<Event<M>, ClientError> {
        loop {
            match self.frame().await? {
                ServerFrame::Message { id, topic, offset, data, published_at, .. } if id == self.id => {
                    self.position.offset = offset;
                    // The first message of a pending run means it runs (no frame says so).
                    if let Some(s) = self.status.as_mut().filter(|s| s.status == crate::protocol::RunStatus::Pending) {
                        s.status = crate::protocol::RunStatus::Running;
                    }
                    let message = M::decode(&topic, data).map_err(ClientError::Decode)?;
                    return Ok(Event::Message(Received { topic, offset, published_at, message }));
                }
                ServerFrame::Status { id, status, result, error, offset, published_at, .. } if id == self.id => {
                    self.position.offset = offset;
                    let status = StatusData { status, result, error };
                    self.status = Some(status.clone());
                    return Ok(Event::Status { status, offset, published_at });
                }
                ServerFrame::Subscribed { epoch, offset, recovered, status, result, error, .. } => {
                    self.position = Position { epoch, offset };
                    self.recovered = recovered;
                    self.status = status.map(|status| StatusData { status, result, error });
                }
                ServerFrame::Unsubscribed { reason, .. } => {
                    let reason = serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(String::from));
                    return Err(ClientError::Ended { reason: reason.unwrap_or_default(), close_code: None });
                }
                ServerFrame::Error { code, message, .. } => {
                    return Err(ClientError::Refused { status: None, code, message });
                }
                _ => {}
            }
        }
    }

    /// Replace the token before it expires.
    pub async fn refresh(&mut self, token: &str) -> Result<(), ClientError> {
        let text = serde_json::to_string(&ClientFrame::Refresh { id: self.id, token: token.to_string() })
            .map_err(transport)?;
        self.socket.send(WsMessage::Text(text.into())).await.map_err(transport)
    }

    /// Close the connection.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}
