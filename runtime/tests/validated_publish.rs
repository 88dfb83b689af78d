//! A payload the generated types allow but the schema refuses (here an empty `Token`, whose
//! `token` has `minLength: 1`) is refused on every publish path before anything is sent or
//! stored: the memory publisher, the hub in process, the HTTP publisher, and the hub on the
//! Redis broker. The error names the topic, the JSON pointer and the keyword; no subscriber
//! receives anything, and the next valid message is the first one it sees.

mod common;

use std::sync::Arc;

use chanspec_runtime::broker::BrokerConfig;
use chanspec_runtime::broker::redis::RedisBroker;
use chanspec_runtime::client::{ClientError, HttpPublisher, Subscription};
use chanspec_runtime::hub::HubConfig;
use chanspec_runtime::protocol::ErrorCode;
use chanspec_runtime::{MemoryPublisher, Publish, PublishError};
use common::channels::{self, PipelineMessage, Token};
use common::*;

fn empty() -> Token {
    Token { token: String::new() }
}

/// The refusal every checked path gives for `empty()`.
fn assert_pointed<E: std::fmt::Debug>(e: PublishError<E>) {
    match e {
        PublishError::Invalid { channel, topic, reason } => {
            assert_eq!((channel.as_str(), topic), (run_channel().as_str(), "tokens"));
            assert_eq!(reason, "/token: has 0 characters, fewer than the minLength of 1");
        }
        other => panic!("expected a refusal naming the schema, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_publisher_stores_nothing_invalid() {
    let publisher = MemoryPublisher::new();
    let pipeline = channels::pipeline(RUN).unwrap();
    assert_pointed(publisher.publish(&pipeline.tokens(), &empty()).await.unwrap_err());
    assert_pointed(publisher.publish_durable("k", &pipeline.tokens(), &empty()).await.unwrap_err());
    assert!(publisher.messages().is_empty());
    // The documented opt-out stores it as given.
    publisher.publish_unchecked(&pipeline.tokens(), &empty()).await.unwrap();
    assert_eq!(publisher.messages().len(), 1);
}

/// Publish the invalid payload through `publish` (checked before sending) and through
/// `publish_unchecked` (the hub checks), then a valid one; the subscriber sees only that.
async fn refused_then_valid<P: Publish + Sync>(publisher: &P, ws_url: &str, hub_refusal: impl Fn(&P::Error) -> bool)
where
    P::Error: std::fmt::Debug,
{
    let pipeline = channels::pipeline(RUN).unwrap();
    let token = token(pipeline.name(), &["tokens"]);
    let mut sub = Subscription::<PipelineMessage>::connect(ws_url, &token, None).await.unwrap();
    assert_pointed(publisher.publish(&pipeline.tokens(), &empty()).await.unwrap_err());
    assert_pointed(publisher.publish_durable("key-1", &pipeline.tokens(), &empty()).await.unwrap_err());
    match publisher.publish_unchecked(&pipeline.tokens(), &empty()).await.unwrap_err() {
        PublishError::Publish(e) => assert!(hub_refusal(&e), "{e:?}"),
        other => panic!("the hub should refuse it: {other:?}"),
    }
    let offset = publisher.publish(&pipeline.tokens(), &Token { token: "ok".into() }).await.unwrap();
    assert_eq!(offset, 1, "nothing was stored before the valid message");
    let got = sub.next().await.unwrap();
    assert_eq!((got.message, got.offset), (PipelineMessage::Tokens(Token { token: "ok".into() }), 1));
}

fn http_refusal(e: &ClientError) -> bool {
    matches!(e, ClientError::Refused { status: Some(400), code: ErrorCode::InvalidPayload, message }
        if message == "/token: has 0 characters, fewer than the minLength of 1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_in_process_refuses_before_storing() {
    let hub = start(HubConfig::default(), None).await;
    refused_then_valid(&hub.hub, &hub.ws_url(), |e| {
        e.code == ErrorCode::InvalidPayload && e.message == "/token: has 0 characters, fewer than the minLength of 1"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_publisher_refuses_before_sending() {
    let hub = start(HubConfig::default(), None).await;
    let http = HttpPublisher::new(&hub.http_url(), PUBLISH_KEY);
    refused_then_valid(&http, &hub.ws_url(), http_refusal).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_on_redis_refuses_before_storing() {
    let redis = RedisServer::start(false);
    let broker = RedisBroker::connect(&redis.url(), BrokerConfig::default()).await.unwrap();
    let hub = start(HubConfig::default(), Some(Arc::new(broker))).await;
    refused_then_valid(&hub.hub, &hub.ws_url(), |e| e.code == ErrorCode::InvalidPayload).await;
}
