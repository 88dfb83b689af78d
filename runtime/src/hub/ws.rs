//! `GET /v1/ws`: one task per connection. It reads client frames, writes queued messages
//! (dropping what a subscription already has), expires tokens, closes the connection with
//! 4008 when fan-out finds its queue full, and pings the client every `ping_interval`,
//! dropping a connection that stays silent (no pong, no frame) for a whole interval after a
//! ping: a peer that vanished without closing would otherwise hold its subscriptions forever.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;

use super::{Conn, Hub, HubError, Out, Sub, frame, until};
use crate::protocol::{
    BATCH_PROTOCOL, COMPACT_PROTOCOL, ClientFrame, ErrorCode, FrameFormat, ServerFrame, UnsubscribeReason,
};

pub const SLOW_CONSUMER: u16 = 4008;

pub(super) async fn handler(State(hub): State<Hub>, upgrade: WebSocketUpgrade) -> Response {
    let hard = hub.config().hard_frame_bytes;
    // A small read buffer (it grows for a large frame): idle connections stay small.
    // Writes are batched up to 64 KiB before a flush.
    // A client offering the compact or the batch subprotocol gets it (compact first): queued
    // frames then share messages.
    upgrade
        .protocols([COMPACT_PROTOCOL, BATCH_PROTOCOL])
        .max_message_size(hard)
        .max_frame_size(hard)
        .read_buffer_size(1024)
        .write_buffer_size(64 * 1024)
        .on_upgrade(move |socket| run(hub, socket))
}

/// Why the connection loop ended.
enum End {
    /// The client went away or the socket failed.
    Gone,
    /// A frame over `hard_frame_bytes`: closed with 1009, saying so.
    TooLarge,
    Killed,
    Shutdown,
}

/// A connection's subscriptions, by id: a few at most, so a list, grown one at a time (a
/// map's smallest table would hold four, for the one most connections have).
#[derive(Default)]
struct Subs(Vec<Sub>);

impl Subs {
    fn values(&self) -> impl Iterator<Item = &Sub> {
        self.0.iter()
    }
    fn values_mut(&mut self) -> impl Iterator<Item = &mut Sub> {
        self.0.iter_mut()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn contains_key(&self, id: &u64) -> bool {
        self.0.iter().any(|s| s.id == *id)
    }
    fn get_mut(&mut self, id: &u64) -> Option<&mut Sub> {
        self.0.iter_mut().find(|s| s.id == *id)
    }
    fn remove(&mut self, id: &u64) -> Option<Sub> {
        let i = self.0.iter().position(|s| s.id == *id)?;
        Some(self.0.swap_remove(i))
    }
    /// Add a subscription whose id is not in use.
    fn insert(&mut self, sub: Sub) -> &mut Sub {
        self.0.reserve_exact(1);
        self.0.push(sub);
        self.0.last_mut().expect("just pushed")
    }
}

/// Items written per batch (then one flush).
const BATCH: usize = 256;

struct Connection {
    hub: Hub,
    conn: Arc<Conn>,
    /// Not split: reads and writes take turns in this one task.
    socket: WebSocket,
    subs: Subs,
    /// Items taken off the queue, being written.
    batch: Vec<Out>,
    /// The client speaks `chanspec.v1.batch` or `chanspec.v1.compact`: frames are joined by
    /// `\n`.
    joined: bool,
}

async fn run(hub: Hub, socket: WebSocket) {
    let protocol = socket.protocol().map(|p| p.as_bytes());
    let compact = protocol == Some(COMPACT_PROTOCOL.as_bytes());
    let joined = compact || protocol == Some(BATCH_PROTOCOL.as_bytes());
    let conn = hub.connect(if compact { FrameFormat::Compact } else { FrameFormat::Objects });
    let mut shutdown = hub.shutdown_signal();
    let mut c = Connection { hub: hub.clone(), conn, socket, subs: Subs::default(), batch: Vec::new(), joined };
    let end = c.serve(&mut shutdown).await;
    let close = match end {
        End::Gone => None,
        End::Killed => Some((SLOW_CONSUMER, "slow consumer: the outgoing queue is full")),
        End::TooLarge => Some((1009, "frame too large: over the hub's hard limit per frame")),
        End::Shutdown => {
            let closing = c.socket.send(text(frame(&ServerFrame::Closing)));
            let _ = tokio::time::timeout(Duration::from_secs(5), closing).await;
            Some((1001, "the hub is shutting down"))
        }
    };
    for sub in c.subs.values() {
        hub.unsubscribe(sub);
    }
    hub.drain(&c.conn);
    if let Some((code, reason)) = close {
        let close = WsMessage::Close(Some(CloseFrame { code, reason: reason.into() }));
        // A client that does not read may never take the close frame: give up after a while.
        let _ = tokio::time::timeout(Duration::from_secs(10), c.socket.send(close)).await;
    }
    hub.disconnect();
}

fn text(s: String) -> WsMessage {
    WsMessage::Text(s.into())
}

/// Frames joined by `\n` into WebSocket messages of at most `count` frames and (unless one
/// frame alone is larger) `bytes` bytes.
fn join(frames: Vec<axum::extract::ws::Utf8Bytes>, count: usize, bytes: usize) -> Vec<WsMessage> {
    let mut out = Vec::new();
    let mut group: Vec<axum::extract::ws::Utf8Bytes> = Vec::new();
    let mut size = 0;
    let flush = |group: &mut Vec<axum::extract::ws::Utf8Bytes>, out: &mut Vec<WsMessage>| match group.len() {
        0 => {}
        1 => out.extend(group.drain(..).map(WsMessage::Text)),
        _ => {
            let mut text = String::with_capacity(group.iter().map(|f| f.len() + 1).sum());
            for (i, f) in group.drain(..).enumerate() {
                if i > 0 {
                    text.push('\n');
                }
                text.push_str(f.as_str());
            }
            out.push(WsMessage::Text(text.into()));
        }
    };
    for frame in frames {
        if !group.is_empty() && (group.len() == count || size + frame.len() + 1 > bytes) {
            flush(&mut group, &mut out);
            size = 0;
        }
        size += frame.len() + 1;
        group.push(frame);
    }
    flush(&mut group, &mut out);
    out
}

impl Connection {
    async fn serve(&mut self, shutdown: &mut tokio::sync::watch::Receiver<bool>) -> End {
        // Made once and kept across iterations: a wake-up costs no new registrations.
        let conn = self.conn.clone();
        let mut killed = pin!(conn.killed());
        let mut shutdown = pin!(shutdown.changed());
        let mut expiry = pin!(tokio::time::sleep(Duration::ZERO));
        let mut armed = None;
        let ping_every = self.hub.config().ping_interval;
        let mut heartbeat = pin!(tokio::time::sleep(ping_every));
        // Anything heard from the client since the last ping.
        let mut heard = true;
        loop {
            let next_exp = self.subs.values().map(|s| s.exp).min();
            if next_exp != armed {
                if let Some(exp) = next_exp {
                    expiry.as_mut().reset(Instant::now() + until(exp));
                }
                armed = next_exp;
            }
            let result = tokio::select! {
                biased;
                _ = &mut killed => return End::Killed,
                _ = &mut shutdown => return End::Shutdown,
                incoming = self.socket.next() => match incoming {
                    Some(Ok(message)) => {
                        heard = true;
                        // Boxed: a subscribe's state (token, replay) is large and rare; inline,
                        // it would make every connection's task that large for its whole life.
                        Box::pin(self.incoming(message)).await
                    }
                    // The socket refuses a frame over the hard limit before it is read whole.
                    Some(Err(e)) if e.to_string().contains("Message too long") || e.to_string().contains("Space limit") => {
                        return End::TooLarge
                    }
                    _ => return End::Gone,
                },
                // Timers before the queue: on a busy channel the queue is always ready, and
                // expiry and pings must still happen.
                _ = &mut expiry, if armed.is_some() => {
                    armed = None;
                    Box::pin(self.expire()).await
                }
                () = &mut heartbeat, if !ping_every.is_zero() => {
                    if !heard {
                        return End::Gone;
                    }
                    heard = false;
                    let sent = self.write([WsMessage::Ping(Default::default())]).await;
                    // Silence is counted from when the ping left, not from when it was due.
                    heartbeat.as_mut().reset(Instant::now() + ping_every);
                    sent
                }
                () = self.hub.take(&self.conn, BATCH, &mut self.batch) => self.outgoing().await,
            };
            if let Err(end) = result {
                return end;
            }
        }
    }

    /// Write frames, then flush once, unless the connection is cut meanwhile (a client that
    /// does not read blocks the writes).
    async fn write(&mut self, frames: impl IntoIterator<Item = WsMessage>) -> Result<(), End> {
        let socket = &mut self.socket;
        let write = async move {
            for frame in frames {
                socket.feed(frame).await?;
            }
            socket.flush().await
        };
        // The write first: the kill switch is only watched when the write has to wait.
        tokio::select! {
            biased;
            r = write => r.map_err(|_| End::Gone),
            _ = self.conn.killed() => Err(End::Killed),
        }
    }

    async fn send(&mut self, frame: String) -> Result<(), End> {
        self.write([text(frame)]).await
    }

    async fn error(&mut self, id: Option<u64>, e: HubError) -> Result<(), End> {
        self.send(frame(&ServerFrame::Error { id, code: e.code, message: e.message })).await
    }

    /// Write the batch taken off the queue (dropping what a subscription already has), then
    /// flush once. A client speaking `chanspec.v1.batch` (or `.compact`) gets the frames joined
    /// by `\n`, up to `batch_frames` frames and `batch_bytes` bytes per WebSocket message.
    async fn outgoing(&mut self) -> Result<(), End> {
        let mut frames = Vec::with_capacity(self.batch.len());
        let mut written = 0u64;
        for out in self.batch.drain(..) {
            let key = out.key();
            if let Some(sub) = self.subs.values_mut().find(|s| s.key == key)
                && let Some((frame, offset)) = sub.accept(out)
            {
                frames.push(frame);
                written += u64::from(offset.is_some());
            }
        }
        let messages: Vec<WsMessage> = if self.joined && frames.len() > 1 {
            let config = self.hub.config();
            join(frames, config.batch_frames.max(1), config.batch_bytes)
        } else {
            frames.into_iter().map(WsMessage::Text).collect()
        };
        self.write(messages).await?;
        self.hub.sent(written);
        Ok(())
    }

    async fn incoming(&mut self, message: WsMessage) -> Result<(), End> {
        let text = match message {
            WsMessage::Text(t) => t,
            WsMessage::Binary(_) => {
                return self.error(None, HubError::new(ErrorCode::InvalidFrame, "frames are JSON text")).await;
            }
            WsMessage::Close(_) => return Err(End::Gone),
            _ => return Ok(()),
        };
        let max = self.hub.config().max_frame_bytes;
        if text.len() > max {
            let message = format!("the frame is {} bytes; the limit is {max}", text.len());
            return self.error(None, HubError::new(ErrorCode::TooLarge, message)).await;
        }
        let parsed: ClientFrame = match serde_json::from_str(text.as_str()) {
            Ok(f) => f,
            Err(e) => {
                let id = serde_json::from_str::<serde_json::Value>(text.as_str())
                    .ok()
                    .and_then(|v| v.get("id").and_then(serde_json::Value::as_u64));
                return self.error(id, HubError::new(ErrorCode::InvalidFrame, format!("unreadable frame: {e}"))).await;
            }
        };
        match parsed {
            ClientFrame::Ping {} => self.send(frame(&ServerFrame::Pong)).await,
            ClientFrame::Subscribe { id, token, since } => {
                if let Err(e) = self.subscribe(id, &token, since).await {
                    return match e {
                        Ok(refusal) => self.error(Some(id), refusal).await,
                        Err(end) => Err(end),
                    };
                }
                Ok(())
            }
            ClientFrame::Unsubscribe { id } => match self.subs.remove(&id) {
                Some(sub) => {
                    self.hub.unsubscribe(&sub);
                    self.send(frame(&ServerFrame::Unsubscribed { id, reason: UnsubscribeReason::Requested })).await
                }
                None => self.error(Some(id), unknown(id)).await,
            },
            ClientFrame::Refresh { id, token } => match self.refresh(id, &token) {
                Ok(()) => Ok(()),
                Err(e) => self.error(Some(id), e).await,
            },
        }
    }

    /// `Err(Ok(refusal))` is answered with an error frame; `Err(Err(end))` ends the connection.
    async fn subscribe(
        &mut self,
        id: u64,
        token: &str,
        since: Option<crate::protocol::Position>,
    ) -> Result<(), Result<HubError, End>> {
        if self.subs.contains_key(&id) {
            return Err(Ok(HubError::new(ErrorCode::InvalidFrame, format!("subscription id {id} is in use"))));
        }
        let max = self.hub.config().max_subscriptions;
        if self.subs.len() >= max {
            let message = format!("this connection already has {max} subscriptions");
            return Err(Ok(HubError::new(ErrorCode::TooManySubscriptions, message)));
        }
        let claims = self.hub.verify(token).map_err(Ok)?;
        let (sub, recovered, missed) = self.hub.open(&self.conn, id, claims, since).await.map_err(Ok)?;
        let subscribed = sub.subscribed(recovered);
        let sub = self.subs.insert(sub);
        let mut frames = vec![text(subscribed)];
        for m in missed {
            if m.is_status() || sub.topics.contains(&m.topic) {
                frames.push(text(m.frame_in(id, self.conn.format)));
            }
            sub.last = sub.last.max(m.offset);
        }
        let replayed = frames.len() as u64 - 1;
        self.write(frames).await.map_err(Err)?;
        self.hub.sent(replayed);
        Ok(())
    }

    fn refresh(&mut self, id: u64, token: &str) -> Result<(), HubError> {
        let claims = self.hub.verify(token)?;
        let sub = self.subs.get_mut(&id).ok_or_else(|| unknown(id))?;
        if claims.chan != sub.channel {
            return Err(HubError::new(
                ErrorCode::Forbidden,
                format!("the token is for `{}`, the subscription is on `{}`", claims.chan, sub.channel),
            ));
        }
        self.hub.check_claims(&claims)?;
        sub.exp = claims.exp;
        if sub.topics != claims.topics {
            sub.topics = claims.topics.clone();
            self.hub.retopic(&sub.channel, sub.key, claims.topics);
        }
        Ok(())
    }

    async fn expire(&mut self) -> Result<(), End> {
        let now = crate::protocol::now_millis() / 1000;
        let expired: Vec<u64> = self.subs.values().filter(|s| s.exp <= now).map(|s| s.id).collect();
        for id in expired {
            if let Some(sub) = self.subs.remove(&id) {
                self.hub.unsubscribe(&sub);
                self.send(frame(&ServerFrame::Unsubscribed { id, reason: UnsubscribeReason::TokenExpired })).await?;
            }
        }
        Ok(())
    }
}

fn unknown(id: u64) -> HubError {
    HubError::new(ErrorCode::InvalidFrame, format!("no subscription with id {id}"))
}
