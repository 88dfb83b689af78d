//! A run's lifecycle on a channel that declares one: [`LifecycleChannel`] (implemented by
//! generated channels with a `lifecycle`, and only by them, so `publisher.complete(&channel,
//! …)` does not compile for a channel without one) and the status change it publishes.

use serde::Serialize;

use crate::protocol::{RunStatus, STATUS_TOPIC, StatusData};
use crate::{Outgoing, PayloadCheck, PublishError};

/// A generated channel with a run lifecycle: its result and error types (`()` when the
/// definition declares none) and their schema checks.
pub trait LifecycleChannel {
    /// A completed run's result.
    type Result: Serialize + Sync;
    /// A failed run's error.
    type Error: Serialize + Sync;

    /// The runtime channel name, e.g. `pipeline:7`.
    fn channel_name(&self) -> &str;

    /// The result's schema check, when the lifecycle declares a result.
    fn result_check(&self) -> Option<PayloadCheck>;

    /// The error's schema check, when the lifecycle declares an error.
    fn error_check(&self) -> Option<PayloadCheck>;
}

/// The message that changes `channel`'s status to `status`, with its value (a result or an
/// error) encoded and checked against its schema; nothing is built when the check fails.
pub(crate) fn status_change<C: LifecycleChannel + ?Sized, V: Serialize, E>(
    channel: &C,
    status: RunStatus,
    value: Option<(&V, Option<PayloadCheck>, &'static str)>,
    idempotency_key: Option<String>,
) -> Result<Outgoing, PublishError<E>> {
    let mut data = StatusData { status, result: None, error: None };
    // A lifecycle without a schema for the value takes none (its type is `()`).
    if let Some((value, Some(check), what)) = value {
        let encoded = serde_json::to_value(value).map_err(PublishError::Encode)?;
        check(&encoded).map_err(|reason| PublishError::Invalid {
            channel: channel.channel_name().to_string(),
            topic: STATUS_TOPIC,
            reason: format!("the {what}: {reason}"),
        })?;
        match what {
            "result" => data.result = Some(encoded),
            _ => data.error = Some(encoded),
        }
    }
    Ok(Outgoing {
        channel: channel.channel_name().to_string(),
        topic: STATUS_TOPIC.to_string(),
        data: serde_json::to_value(&data).map_err(PublishError::Encode)?,
        idempotency_key,
    })
}
