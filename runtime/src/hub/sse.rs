//! `GET /v1/sse?token=…`: one subscription per request. Frames are the WebSocket's (id 0);
//! message events carry `id: <epoch>:<offset>`, so `Last-Event-ID` resumes.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::watch;

use super::{Conn, Hub, HubError, Out, Sub, frame, until};
use crate::protocol::{ErrorCode, Position, ServerFrame, UnsubscribeReason};

#[derive(Deserialize)]
pub(super) struct Params {
    token: Option<String>,
    #[serde(rename = "lastEventId")]
    last_event_id: Option<String>,
}

pub(super) async fn handler(
    State(hub): State<Hub>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
) -> Response {
    let switch = extensions.get::<Arc<super::server::KillSwitch>>().cloned();
    match start(&hub, params, &headers, switch).await {
        Ok(stream) => Sse::new(stream)
            .keep_alive(KeepAlive::new().interval(hub.config().sse_keepalive).text("keepalive"))
            .into_response(),
        Err(e) => super::publish::error_response(e),
    }
}

/// Parse `<epoch>:<offset>`.
fn position(id: &str) -> Result<Position, HubError> {
    let bad = || {
        HubError::new(ErrorCode::InvalidFrame, format!("`{id}` is not a Last-Event-ID of the form <epoch>:<offset>"))
    };
    let (epoch, offset) = id.rsplit_once(':').ok_or_else(bad)?;
    Ok(Position { epoch: epoch.to_string(), offset: offset.parse().map_err(|_| bad())? })
}

async fn start(
    hub: &Hub,
    params: Params,
    headers: &HeaderMap,
    switch: Option<Arc<super::server::KillSwitch>>,
) -> Result<impl Stream<Item = Result<SseEvent, Infallible>> + use<>, HubError> {
    let token =
        params.token.ok_or_else(|| HubError::new(ErrorCode::InvalidToken, "the `token` query parameter is missing"))?;
    let claims = hub.verify(&token)?;
    let last = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_string).or(params.last_event_id);
    let since = last.as_deref().filter(|s| !s.is_empty()).map(position).transpose()?;
    let conn = hub.connect(crate::protocol::FrameFormat::Objects);
    let opened = hub.open(&conn, 0, claims, since).await;
    let (sub, recovered, missed) = match opened {
        Ok(o) => o,
        Err(e) => {
            hub.disconnect();
            return Err(e);
        }
    };
    let mut pending = VecDeque::from([SseEvent::default().data(sub.subscribed(recovered))]);
    let mut sub = sub;
    for m in missed {
        if m.is_status() || sub.topics.contains(&m.topic) {
            pending.push_back(SseEvent::default().data(m.frame(0)).id(format!("{}:{}", sub.epoch, m.offset)));
        }
        sub.last = sub.last.max(m.offset);
    }
    hub.sent(pending.len() as u64 - 1);
    // A reader that stops reading is never polled again, so the stream cannot see the cut
    // itself: the cut fails the socket (under `Hub::serve`), which ends the response.
    let (ended, end) = tokio::sync::oneshot::channel::<()>();
    if let Some(switch) = switch {
        let cut = conn.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = cut.killed() => switch.kill(),
                // The response ended first (the stream holding `ended` was dropped).
                _ = end => {}
            }
        });
    }
    let state = Stream_ {
        guard: Guard { hub: hub.clone(), sub },
        conn,
        batch: Vec::with_capacity(1),
        pending,
        done: false,
        shutdown: hub.shutdown_signal(),
        _ended: ended,
    };
    Ok(stream::unfold(state, next))
}

/// Unregisters the subscription when the response is dropped (the client went away).
struct Guard {
    hub: Hub,
    sub: Sub,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.hub.unsubscribe(&self.sub);
        self.hub.disconnect();
    }
}

impl Drop for Stream_ {
    fn drop(&mut self) {
        self.guard.hub.drain(&self.conn);
    }
}

struct Stream_ {
    guard: Guard,
    conn: Arc<Conn>,
    /// The item taken off the queue.
    batch: Vec<Out>,
    pending: VecDeque<SseEvent>,
    done: bool,
    shutdown: watch::Receiver<bool>,
    /// Dropped with the stream: ends the task that cuts the socket on a kill.
    _ended: tokio::sync::oneshot::Sender<()>,
}

async fn next(mut s: Stream_) -> Option<(Result<SseEvent, Infallible>, Stream_)> {
    if let Some(event) = s.pending.pop_front() {
        return Some((Ok(event), s));
    }
    if s.done {
        return None;
    }
    loop {
        let expiry = tokio::time::sleep(until(s.guard.sub.exp));
        tokio::select! {
            biased;
            _ = s.conn.killed() => return None,
            _ = s.shutdown.changed() => return None,
            _ = expiry => {
                s.done = true;
                let id = s.guard.sub.id;
                let f = frame(&ServerFrame::Unsubscribed { id, reason: UnsubscribeReason::TokenExpired });
                return Some((Ok(SseEvent::default().data(f)), s));
            }
            () = s.guard.hub.take(&s.conn, 1, &mut s.batch) => {
                let out = s.batch.pop()?;
                if let Some((f, offset)) = s.guard.sub.accept(out) {
                    let mut event = SseEvent::default().data(f.as_str());
                    if let Some(offset) = offset {
                        event = event.id(format!("{}:{offset}", s.guard.sub.epoch));
                        s.guard.hub.sent(1);
                    }
                    return Some((Ok(event), s));
                }
            }
        }
    }
}
