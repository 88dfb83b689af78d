//! `POST /v1/publish` and `POST /v1/status`: publish key, size limit (413, never truncated),
//! a body read within the body timeout (408), JSON body, channel and topic (404), payload
//! schema (400), a channel whose run has ended (409).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Hub, HubError};
use crate::protocol::{ErrorCode, HttpError, PublishRequest, StatusRequest};

pub(super) async fn handler(State(hub): State<Hub>, headers: HeaderMap, body: Body) -> Response {
    let published = async {
        let bytes = read_body(&hub, &headers, body).await?;
        let request: PublishRequest = serde_json::from_slice(&bytes)
            .map_err(|e| HubError::new(ErrorCode::InvalidFrame, format!("the body is not a publish request: {e}")))?;
        hub.publish_checked(request).await
    };
    match published.await {
        Ok(r) => Json(r).into_response(),
        Err(e) => error_response(e),
    }
}

/// `POST /v1/status`: a lifecycle channel's run status.
pub(super) async fn status_handler(State(hub): State<Hub>, headers: HeaderMap, body: Body) -> Response {
    let changed = async {
        let bytes = read_body(&hub, &headers, body).await?;
        let request: StatusRequest = serde_json::from_slice(&bytes)
            .map_err(|e| HubError::new(ErrorCode::InvalidFrame, format!("the body is not a status request: {e}")))?;
        hub.set_status(request).await
    };
    match changed.await {
        Ok(r) => Json(r).into_response(),
        Err(e) => error_response(e),
    }
}

/// The publish key checked, then the body, read within the size limit and the body timeout.
async fn read_body(hub: &Hub, headers: &HeaderMap, body: Body) -> Result<bytes::Bytes, HubError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            HubError::new(ErrorCode::Unauthorized, "an `Authorization: Bearer <publish key>` header is required")
        })?;
    match hub.publish_key() {
        Some(key) if constant_time_eq(key.as_bytes(), presented.as_bytes()) => {}
        _ => return Err(HubError::new(ErrorCode::Forbidden, "the publish key is not accepted")),
    }
    let max = hub.config().max_message_bytes;
    let too_large = || HubError::new(ErrorCode::TooLarge, format!("the body is over the limit of {max} bytes"));
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let timeout = hub.config().body_timeout;
    match tokio::time::timeout(timeout, read_within(body, max, declared.is_some_and(|n| n > max as u64))).await {
        Ok(read) => read.ok_or_else(too_large),
        Err(_) => {
            Err(HubError::new(ErrorCode::Timeout, format!("the body did not arrive within {} ms", timeout.as_millis())))
        }
    }
}

/// How much of a refused body is still read (and dropped) so that the client, which is
/// still sending, gets the 413 instead of a reset connection; and for how long.
const DRAIN_BYTES: usize = 16 * 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// The body, when it is at most `max` bytes (`refused`: its declared length is over already).
/// A body over the limit is read on, up to [`DRAIN_BYTES`] or [`DRAIN_TIME`], and dropped:
/// answering while the client still sends would reset the connection under it.
async fn read_within(body: Body, max: usize, refused: bool) -> Option<bytes::Bytes> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut kept = bytes::BytesMut::new();
    let mut seen = 0usize;
    let mut over = refused;
    let deadline = tokio::time::Instant::now() + DRAIN_TIME;
    loop {
        let next = if over {
            tokio::time::timeout_at(deadline, stream.next()).await.ok().flatten()
        } else {
            stream.next().await
        };
        let Some(Ok(chunk)) = next else { break };
        seen += chunk.len();
        if seen > max {
            over = true;
            kept.clear();
        }
        if over {
            if seen > DRAIN_BYTES {
                break;
            }
        } else {
            kept.extend_from_slice(&chunk);
        }
    }
    if over { None } else { Some(kept.freeze()) }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An HTTP error with its status and JSON body.
pub(super) fn error_response(e: HubError) -> Response {
    let status = match e.code {
        ErrorCode::InvalidFrame | ErrorCode::InvalidPayload => StatusCode::BAD_REQUEST,
        ErrorCode::InvalidToken | ErrorCode::TokenExpired | ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::TooManySubscriptions => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ChannelClosed => StatusCode::CONFLICT,
        ErrorCode::Timeout => StatusCode::REQUEST_TIMEOUT,
    };
    (status, Json(HttpError { code: e.code, message: e.message })).into_response()
}
