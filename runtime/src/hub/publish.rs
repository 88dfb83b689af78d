//! `POST /v1/publish`: publish key, size limit (413, never truncated), JSON body, channel and
//! topic (404), payload schema (400).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Hub, HubError};
use crate::protocol::{ErrorCode, HttpError, PublishRequest};

pub(super) async fn handler(State(hub): State<Hub>, headers: HeaderMap, body: Body) -> Response {
    match publish(&hub, &headers, body).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => error_response(e),
    }
}

async fn publish(hub: &Hub, headers: &HeaderMap, body: Body) -> Result<crate::protocol::PublishResponse, HubError> {
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
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, max).await.map_err(|_| too_large())?;
    let request: PublishRequest = serde_json::from_slice(&bytes)
        .map_err(|e| HubError::new(ErrorCode::InvalidFrame, format!("the body is not a publish request: {e}")))?;
    hub.publish_checked(request).await
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
    };
    (status, Json(HttpError { code: e.code, message: e.message })).into_response()
}
