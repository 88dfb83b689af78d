//! Hubs on a real Redis Cluster (3 masters, 3 replicas, `scripts/redis-cluster`): channels
//! spread over the slots of every master, subscribers spread over two and four hubs, each
//! hub handed only the channels it serves; a master killed while publishing goes on; a hub
//! stopped and its subscribers resuming on another.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chanspec_runtime::Publish;
use chanspec_runtime::broker::BrokerConfig;
use chanspec_runtime::broker::redis::RedisBroker;
use chanspec_runtime::hub::{Hub, HubConfig};
use common::channels::{self, Token};
use common::*;
use serde_json::{Value, json};

async fn cluster_hub(cluster: &RedisCluster) -> Running {
    let broker = RedisBroker::connect(&cluster.url(), BrokerConfig::default()).await.unwrap();
    start(HubConfig::default(), Some(Arc::new(broker))).await
}

fn tok(i: u64) -> Token {
    Token { token: i.to_string() }
}

/// Publish with an idempotency key, retrying on failure (a 503 during a failover) with the
/// same key, as a durable publisher does.
/// Returns the offset and how many attempts failed.
async fn publish_retrying(hub: &Hub, channel: &channels::PipelineChannel, i: u64) -> (u64, u32) {
    let key = format!("{}-{i}", channel.name());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut failed = 0;
    loop {
        match hub.publish_durable(&key, &channel.tokens(), &tok(i)).await {
            Ok(offset) => return (offset, failed),
            Err(e) => {
                failed += 1;
                assert!(tokio::time::Instant::now() < deadline, "the cluster never took publishes again: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// What a subscriber saw: message offsets and tokens, and every `subscribed` after the
/// first as a reset (`recovered: false`) or a recovery.
#[derive(Debug, Default)]
struct Seen {
    messages: Vec<(u64, String)>,
    resets: usize,
}

/// Read until the message with token `last` arrived.
async fn read_to_token(ws: &mut Ws, last: u64) -> Seen {
    let mut seen = Seen::default();
    loop {
        let f = ws.frame().await;
        match f["type"].as_str() {
            Some("message") => {
                let token = f["data"]["token"].as_str().unwrap().to_string();
                seen.messages.push((f["offset"].as_u64().unwrap(), token.clone()));
                if token == last.to_string() {
                    return seen;
                }
            }
            Some("subscribed") => {
                assert_eq!(f["recovered"], false, "a second subscribed is a reset: {f}");
                seen.resets += 1;
            }
            _ => panic!("unexpected {f}"),
        }
    }
}

fn channel(i: u64) -> channels::PipelineChannel {
    channels::pipeline(&run_id(i)).unwrap()
}

async fn subscribe(hub: &Running, channel: &channels::PipelineChannel) -> Ws {
    let mut ws = Ws::connect(&hub.ws_url()).await;
    ws.subscribe(1, &token(channel.name(), &["tokens"]), None).await;
    ws
}

/// Channels `0..n` whose keys lie on every master of the cluster.
fn spread_channels(cluster: &RedisCluster, n: u64) -> Vec<channels::PipelineChannel> {
    let chans: Vec<_> = (0..n).map(channel).collect();
    let masters: std::collections::HashSet<u16> = chans.iter().map(|c| cluster.master_of(c.name())).collect();
    assert_eq!(masters.len(), 3, "{n} channels spread over every master");
    chans
}

async fn hubs_deliver_every_channel_once_and_in_order(hubs: usize) {
    const CHANNELS: u64 = 24;
    const MESSAGES: u64 = 30;
    let cluster = RedisCluster::start();
    let mut running = Vec::new();
    for _ in 0..hubs {
        running.push(cluster_hub(&cluster).await);
    }
    let chans = spread_channels(&cluster, CHANNELS);
    // Channel i has a subscriber on hub i and one on hub i + 1 (of `hubs`).
    let mut subscribers = Vec::new();
    for (i, c) in chans.iter().enumerate() {
        for h in [i % hubs, (i + 1) % hubs] {
            subscribers.push((i, h, subscribe(&running[h], c).await));
        }
    }
    // Every channel's messages, published through the hubs in turn, channels in parallel.
    let mut publishers = Vec::new();
    for (i, c) in chans.iter().enumerate() {
        let (c, hubs) = (c.clone(), running.iter().map(|r| r.hub.clone()).collect::<Vec<_>>());
        publishers.push(tokio::spawn(async move {
            for m in 1..=MESSAGES {
                let hub = &hubs[(i + m as usize) % hubs.len()];
                assert_eq!(hub.publish(&c.tokens(), &tok(m)).await.unwrap(), m);
            }
        }));
    }
    for p in publishers {
        p.await.unwrap();
    }
    for (i, h, ws) in &mut subscribers {
        let seen = read_to_token(ws, MESSAGES).await;
        let expected: Vec<(u64, String)> = (1..=MESSAGES).map(|m| (m, m.to_string())).collect();
        assert_eq!((seen.messages, seen.resets), (expected, 0), "channel {i} on hub {h}");
    }
    // Each hub was handed the messages of the channels it serves, and no others.
    for (h, hub) in running.iter().enumerate() {
        let served = (0..CHANNELS as usize).filter(|i| i % hubs == h || (i + 1) % hubs == h).count() as u64;
        assert_eq!(metric(&hub.http_url(), "chanspec_broker_messages_total").await, served * MESSAGES, "hub {h}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hubs_on_a_cluster_deliver_every_channel_once_and_in_order() {
    hubs_deliver_every_channel_once_and_in_order(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_hubs_on_a_cluster_deliver_every_channel_once_and_in_order() {
    hubs_deliver_every_channel_once_and_in_order(4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_killed_while_publishing_loses_nothing_silently() {
    const CHANNELS: u64 = 12;
    const MESSAGES: u64 = 120;
    let cluster = RedisCluster::start();
    let (a, b) = (cluster_hub(&cluster).await, cluster_hub(&cluster).await);
    let chans = spread_channels(&cluster, CHANNELS);
    let victim = cluster.master_of(chans[0].name());
    let mut subscribers = Vec::new();
    for c in &chans {
        subscribers.push(subscribe(&b, c).await);
    }
    let mut publishers = Vec::new();
    for c in &chans {
        let (c, hub) = (c.clone(), a.hub.clone());
        publishers.push(tokio::spawn(async move {
            let (mut offsets, mut failed) = (Vec::new(), 0);
            for m in 1..=MESSAGES {
                let (offset, f) = publish_retrying(&hub, &c, m).await;
                offsets.push(offset);
                failed += f;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (offsets, failed)
        }));
    }
    let before: Vec<u16> = chans.iter().map(|c| cluster.master_of(c.name())).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.kill(victim);
    let mut retried = 0;
    for (i, (p, ws)) in publishers.into_iter().zip(&mut subscribers).enumerate() {
        let (offsets, failed) = p.await.unwrap();
        retried += failed;
        let seen = read_to_token(ws, MESSAGES).await;
        // No message arrives twice.
        let mut tokens: Vec<u64> = seen.messages.iter().map(|(_, t)| t.parse().unwrap()).collect();
        let n = tokens.len();
        tokens.sort_unstable();
        tokens.dedup();
        assert_eq!(tokens.len(), n, "channel {i}: a message twice: {seen:?}");
        if seen.resets == 0 {
            // Without a reset, the subscriber has every message, in the order of offsets.
            assert_eq!(tokens, (1..=MESSAGES).collect::<Vec<_>>(), "channel {i}: a silent gap: {seen:?}");
            let got: Vec<u64> = seen.messages.iter().map(|m| m.0).collect();
            assert_eq!(got, offsets, "channel {i}: offsets as the publishes were answered");
        }
        if before[i] == victim {
            assert_ne!(cluster.master_of(chans[i].name()), victim, "channel {i} moved to the replica");
        }
    }
    // Publishing went on through the failover: some attempts failed and were retried.
    assert!(retried > 0, "no publish met the failover");
    assert_eq!(reqwest::get(format!("{}/healthz", a.http_url())).await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_stopped_its_subscribers_resume_on_another() {
    let cluster = RedisCluster::start();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let broker = RedisBroker::connect(&cluster.url(), BrokerConfig::default()).await.unwrap();
    let doomed = start_until(HubConfig::default(), Some(Arc::new(broker)), async move {
        let _ = rx.await;
    })
    .await;
    let (other, publisher) = (cluster_hub(&cluster).await, cluster_hub(&cluster).await);
    let chans = spread_channels(&cluster, 12);
    let mut resumed = Vec::new();
    for c in &chans {
        let token = token(c.name(), &["tokens"]);
        let mut ws = Ws::connect(&doomed.ws_url()).await;
        let epoch = ws.subscribe(1, &token, None).await["epoch"].as_str().unwrap().to_string();
        for m in 1..=10 {
            publisher.hub.publish(&c.tokens(), &tok(m)).await.unwrap();
        }
        let seen = read_to_token(&mut ws, 10).await;
        assert_eq!(seen.messages.last().unwrap().0, 10);
        resumed.push((ws, token, epoch));
    }
    let _ = tx.send(());
    // Publishing goes on while the subscribers find another hub.
    for c in &chans {
        for m in 11..=20 {
            publisher.hub.publish(&c.tokens(), &tok(m)).await.unwrap();
        }
    }
    for (i, (old, token, epoch)) in resumed.into_iter().enumerate() {
        drop(old);
        let mut ws = Ws::connect(&other.ws_url()).await;
        let sub = ws.subscribe(1, &token, Some(json!({"epoch": epoch, "offset": 10}))).await;
        assert_eq!(sub["recovered"], Value::Bool(true), "channel {i}: {sub}");
        let seen = read_to_token(&mut ws, 20).await;
        let expected: Vec<(u64, String)> = (11..=20).map(|m| (m, m.to_string())).collect();
        assert_eq!(seen.messages, expected, "channel {i}");
    }
}
