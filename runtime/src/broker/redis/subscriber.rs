//! One hub's Redis subscriptions: a RESP3 connection per node, each channel's pub/sub
//! channel subscribed on the node that serves it. On a cluster that is the master of its
//! slot (`SSUBSCRIBE`, sharded pub/sub), found from `CLUSTER SLOTS` and looked up again when
//! a node is lost or answers `MOVED`; on one server, that server (`SUBSCRIBE`).
//!
//! The connections are made and replaced here, never behind our back, so which node holds
//! which subscription is always known: when a node's connection drops, exactly its
//! channels are subscribed again, on whichever node serves them then.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, IntoConnectionInfo, ProtocolVersion, PushInfo, RedisResult};
use tokio::sync::mpsc::UnboundedSender;

use super::{RedisTarget, live_name};

/// A push from Redis, with the node it came from.
pub(super) type Push = (String, PushInfo);

/// How long connecting to a node, or one request, may take.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Subscriptions asked of Redis at once, at most.
const AT_ONCE: usize = 256;

pub(super) struct Subscriber {
    target: RedisTarget,
    /// Cluster: slot ranges and the address (`host:port`) of their master.
    slots: Vec<(u16, u16, String)>,
    /// The map of slots is known to be out of date.
    stale: bool,
    nodes: HashMap<String, MultiplexedConnection>,
    /// Channel → the node its subscription is on.
    subscribed: HashMap<String, String>,
    pushes: UnboundedSender<Push>,
}

impl Subscriber {
    pub(super) fn new(target: RedisTarget, pushes: UnboundedSender<Push>) -> Self {
        Subscriber { target, slots: Vec::new(), stale: true, nodes: HashMap::new(), subscribed: HashMap::new(), pushes }
    }

    pub(super) fn is_subscribed(&self, channel: &str) -> bool {
        self.subscribed.contains_key(channel)
    }

    /// Redis ended this channel's subscription (its slot moved, or we unsubscribed).
    pub(super) fn lost(&mut self, channel: &str) {
        if self.subscribed.remove(channel).is_some() && matches!(self.target, RedisTarget::Cluster(_)) {
            self.stale = true;
        }
    }

    /// A node's connection dropped: the channels subscribed on it.
    pub(super) fn node_lost(&mut self, node: &str) -> Vec<String> {
        self.nodes.remove(node);
        self.stale = true;
        let lost: Vec<String> = self.subscribed.iter().filter(|(_, n)| *n == node).map(|(c, _)| c.clone()).collect();
        for c in &lost {
            self.subscribed.remove(c);
        }
        lost
    }

    /// Subscribe (`true`) or unsubscribe each channel; returns the channels whose
    /// subscription failed, to try again.
    pub(super) async fn apply(&mut self, changes: Vec<(String, bool)>) -> Vec<String> {
        if self.stale && changes.iter().any(|(_, on)| *on) {
            self.refresh().await;
        }
        let command = match self.target {
            RedisTarget::Single(_) => ("SUBSCRIBE", "UNSUBSCRIBE"),
            RedisTarget::Cluster(_) => ("SSUBSCRIBE", "SUNSUBSCRIBE"),
        };
        let mut work = Vec::new();
        let mut failed = Vec::new();
        // Nodes that could not be reached in this round: not tried again for every channel.
        let mut unreachable: Vec<String> = Vec::new();
        for (channel, on) in changes {
            let node = if on { self.node_of(&channel) } else { self.subscribed.remove(&channel) };
            let conn = match &node {
                Some(node) if !unreachable.contains(node) => {
                    let conn = self.connect(node).await.ok();
                    if conn.is_none() {
                        unreachable.push(node.clone());
                    }
                    conn
                }
                _ => None,
            };
            match (node, conn) {
                (Some(node), Some(conn)) => work.push((channel, on, node, conn)),
                // Unsubscribing from a node that is gone: nothing is left to end.
                _ if !on => {}
                // No node for the slot, or it cannot be reached: look the slots up again.
                _ => {
                    self.stale = true;
                    failed.push(channel);
                }
            }
        }
        let results: Vec<(String, bool, String, RedisResult<()>)> = futures_util::stream::iter(work)
            .map(|(channel, on, node, mut conn)| async move {
                let mut cmd = redis::cmd(if on { command.0 } else { command.1 });
                cmd.arg(live_name(&channel));
                let result = match tokio::time::timeout(TIMEOUT, cmd.exec_async(&mut conn)).await {
                    Ok(r) => r,
                    Err(_) => Err((redis::ErrorKind::IoError, "subscription timed out").into()),
                };
                (channel, on, node, result)
            })
            .buffer_unordered(AT_ONCE)
            .collect()
            .await;
        for (channel, on, node, result) in results {
            match (on, result) {
                (true, Ok(())) => {
                    self.subscribed.insert(channel, node);
                }
                (true, Err(e)) => {
                    // MOVED, or the node is failing: look the slots up again first.
                    self.stale = true;
                    if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                        self.nodes.remove(&node);
                    }
                    failed.push(channel);
                }
                (false, _) => {}
            }
        }
        failed
    }

    /// The node that serves `channel`'s pub/sub channel.
    fn node_of(&self, channel: &str) -> Option<String> {
        match &self.target {
            RedisTarget::Single(url) => Some(url.clone()),
            RedisTarget::Cluster(_) => {
                let slot = slot(live_name(channel).as_bytes());
                self.slots.iter().find(|(from, to, _)| (*from..=*to).contains(&slot)).map(|(_, _, node)| node.clone())
            }
        }
    }

    /// The connection to `node`, made when there is none.
    async fn connect(&mut self, node: &str) -> RedisResult<MultiplexedConnection> {
        if let Some(conn) = self.nodes.get(node) {
            return Ok(conn.clone());
        }
        let url = if node.starts_with("redis://") { node.to_string() } else { format!("redis://{node}") };
        let mut info = url.as_str().into_connection_info()?;
        info.redis.protocol = ProtocolVersion::RESP3;
        let (pushes, name) = (self.pushes.clone(), node.to_string());
        let config =
            AsyncConnectionConfig::new().set_connection_timeout(TIMEOUT).set_response_timeout(TIMEOUT).set_push_sender(
                move |push: PushInfo| pushes.send((name.clone(), push)).map_err(|_| redis::aio::SendError),
            );
        let conn = redis::Client::open(info)?.get_multiplexed_async_connection_with_config(&config).await?;
        self.nodes.insert(node.to_string(), conn.clone());
        Ok(conn)
    }

    /// Read the slot map from any node that answers (the known masters, then the seeds).
    async fn refresh(&mut self) {
        let RedisTarget::Cluster(seeds) = &self.target else {
            self.stale = false;
            return;
        };
        let mut candidates: Vec<String> = Vec::new();
        for url in self.slots.iter().map(|(_, _, n)| format!("redis://{n}")).chain(seeds.iter().cloned()) {
            if !candidates.contains(&url) {
                candidates.push(url);
            }
        }
        for url in candidates {
            if let Some(slots) = cluster_slots(&url).await {
                self.slots = slots;
                self.stale = false;
                return;
            }
        }
    }
}

/// `CLUSTER SLOTS` from one node: slot ranges and their master's `host:port`.
async fn cluster_slots(url: &str) -> Option<Vec<(u16, u16, String)>> {
    let client = redis::Client::open(url).ok()?;
    let config = AsyncConnectionConfig::new().set_connection_timeout(TIMEOUT).set_response_timeout(TIMEOUT);
    let mut conn = client.get_multiplexed_async_connection_with_config(&config).await.ok()?;
    let ranges: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER").arg("SLOTS").query_async(&mut conn).await.ok()?;
    let host_of_url = url.trim_start_matches("redis://").rsplit_once(':').map(|(h, _)| h.to_string())?;
    let mut slots = Vec::new();
    for range in ranges {
        let from: u16 = redis::from_redis_value(range.first()?).ok()?;
        let to: u16 = redis::from_redis_value(range.get(1)?).ok()?;
        let master: Vec<redis::Value> = redis::from_redis_value(range.get(2)?).ok()?;
        let host: String = redis::from_redis_value(master.first()?).ok()?;
        let port: u16 = redis::from_redis_value(master.get(1)?).ok()?;
        let host = if host.is_empty() || host == "?" { host_of_url.clone() } else { host };
        slots.push((from, to, format!("{host}:{port}")));
    }
    (!slots.is_empty()).then_some(slots)
}

/// The cluster slot of a key: CRC16 (XMODEM) of its hash tag (the text between the first
/// `{` and the next `}`, when not empty) or of the whole key, modulo 16384.
pub(super) fn slot(key: &[u8]) -> u16 {
    let tagged = key.iter().position(|&b| b == b'{').and_then(|open| {
        let rest = &key[open + 1..];
        rest.iter().position(|&b| b == b'}').filter(|&close| close > 0).map(|close| &rest[..close])
    });
    crc16(tagged.unwrap_or(key)) % 16384
}

fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in bytes {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::slot;

    #[test]
    fn slots_as_redis_computes_them() {
        // Values from `CLUSTER KEYSLOT` on Redis 7.
        assert_eq!(slot(b"foo"), 12182);
        assert_eq!(slot(b"123456789"), 12739);
        assert_eq!(slot(b"{user1000}.following"), slot(b"user1000"));
        assert_eq!(slot(b"foo{}{bar}"), 8363);
        assert_eq!(slot(b"foo{{bar}}zap"), 4015);
        assert_eq!(slot(b"chanspec:{pipeline:00000000-0000-4000-8000-000000000001}:live"), 7156);
    }
}
