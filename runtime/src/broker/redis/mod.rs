//! The Redis broker: several hubs share channels through one Redis or a Redis Cluster.
//!
//! Per channel, keys hash-tagged by the channel name (`chanspec:{<channel>}:…`, one cluster
//! slot): an epoch, a head offset, a stream of recent messages (bounded `XADD … MAXLEN`,
//! entry id `<offset>-0`), the latest status, idempotency keys with a TTL, and the channel's
//! own pub/sub channel `chanspec:{<channel>}:live`. Publishing is one Lua script:
//! idempotency check, `INCR`, `XADD`, then `SPUBLISH` (a cluster of Redis 7 or later: the
//! message stays on its shard) or `PUBLISH` to that pub/sub channel.
//!
//! Routing is per channel: a hub subscribes (`SSUBSCRIBE`, or `SUBSCRIBE`) to a channel's
//! pub/sub channel when its first local subscriber arrives and unsubscribes after the last,
//! so a hub receives only the messages of the channels it serves. Each hub keeps, per
//! channel it serves, the last offset it delivered (and when it was published); a gap
//! (missed pub/sub messages, the window before a subscription is confirmed, a reconnect) is
//! filled from the stream, and a changed epoch (Redis lost its data) or a changed history (a
//! failover lost the last writes) is reported as a reset, never a silent gap.

mod subscriber;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{FromRedisValue, PushKind, RedisResult, ScriptInvocation};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use subscriber::{Push, Subscriber};

use super::{Broker, BrokerConfig, BrokerError, Event, Message, Publication, Published, Replay, Sink, new_epoch};
use crate::protocol::{Position, now_millis};

/// KEYS: epoch, head, stream, idempotency key, status, the channel's pub/sub channel.
/// ARGV: new epoch, has key, dedup ms, history count, ttl ms, topic, data, published at,
/// channel, publish command, is status.
const PUBLISH: &str = r#"
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[5])
end
if ARGV[2] == '1' then
  local seen = redis.call('GET', KEYS[4])
  if seen then return {tonumber(seen), 1, epoch, ''} end
end
local last = redis.call('GET', KEYS[5])
if last then
  local s = cjson.decode(cjson.decode(last).d).status
  if s == 'completed' or s == 'failed' or s == 'cancelled' then return {0, 2, epoch, s} end
end
local offset = redis.call('INCR', KEYS[2])
if ARGV[2] == '1' then redis.call('SET', KEYS[4], offset, 'PX', ARGV[3]) end
if tonumber(ARGV[4]) > 0 then
  redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[4], offset .. '-0', 't', ARGV[6], 'd', ARGV[7], 'p', ARGV[8])
end
local record = cjson.encode({c = ARGV[9], e = epoch, o = offset, t = ARGV[6], d = ARGV[7], p = ARGV[8]})
if ARGV[11] == '1' then redis.call('SET', KEYS[5], record) end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[5]) end
if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('PEXPIRE', KEYS[5], ARGV[5]) end
redis.call(ARGV[10], KEYS[6], record)
return {offset, 0, epoch, ''}
"#;

/// KEYS: epoch, head, stream, status. ARGV: new epoch, since epoch, since offset, ttl ms.
/// The entries from `since` on, `since` itself included (the caller checks it is the
/// message it delivered).
const READ: &str = r#"
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch, 'PX', ARGV[4])
  redis.call('DEL', KEYS[2], KEYS[3])
end
local head = tonumber(redis.call('GET', KEYS[2]) or '0')
local status = redis.call('GET', KEYS[4]) or ''
local since = tonumber(ARGV[3])
if ARGV[2] ~= epoch or since > head or (since == head and since == 0) then return {epoch, head, {}, status} end
return {epoch, head, redis.call('XRANGE', KEYS[3], math.max(since, 1) .. '-0', '+'), status}
"#;

/// Where the Redis is: one server, or a cluster known by some of its nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisTarget {
    Single(String),
    Cluster(Vec<String>),
}

impl RedisTarget {
    /// `redis://host:port` is one server. A cluster is `redis+cluster://host:port,host:port`
    /// (any of its nodes; the others are found from them) or several `redis://` URLs
    /// separated by commas.
    pub fn parse(url: &str) -> Result<Self, BrokerError> {
        let bad = |why: &str| BrokerError(format!("{why}: `{url}`"));
        if let Some(nodes) = url.strip_prefix("redis+cluster://") {
            let nodes: Vec<String> =
                nodes.split(',').map(str::trim).filter(|n| !n.is_empty()).map(|n| format!("redis://{n}")).collect();
            if nodes.is_empty() {
                return Err(bad("a cluster URL names at least one node"));
            }
            return Ok(RedisTarget::Cluster(nodes));
        }
        let urls: Vec<String> = url.split(',').map(str::trim).filter(|u| !u.is_empty()).map(String::from).collect();
        for u in &urls {
            if !u.starts_with("redis://") {
                return Err(bad(
                    "expected redis://host:port, several of them separated by commas, or redis+cluster://host:port,host:port",
                ));
            }
        }
        match urls.len() {
            0 => Err(bad("no Redis URL")),
            1 => Ok(RedisTarget::Single(urls.into_iter().next().expect("one"))),
            _ => Ok(RedisTarget::Cluster(urls)),
        }
    }
}

/// A connection to one server or to a cluster (routing each command by its keys' slot).
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Conn {
    async fn invoke<T: FromRedisValue>(&self, invocation: &ScriptInvocation<'_>) -> RedisResult<T> {
        match self {
            Conn::Single(c) => invocation.invoke_async(&mut c.clone()).await,
            Conn::Cluster(c) => invocation.invoke_async(&mut c.clone()).await,
        }
    }

    async fn ping(&self) -> RedisResult<String> {
        let cmd = redis::cmd("PING");
        match self {
            Conn::Single(c) => cmd.query_async(&mut c.clone()).await,
            Conn::Cluster(c) => cmd.query_async(&mut c.clone()).await,
        }
    }
}

pub struct RedisBroker {
    inner: Arc<Shared>,
}

/// The last message a hub delivered on a channel: its epoch and offset, and when it was
/// published (0 when not known), by which a changed history is noticed.
#[derive(Clone, Debug)]
struct Tip {
    epoch: String,
    offset: u64,
    at: u64,
}

/// What to do with a message from pub/sub.
enum Step {
    Deliver,
    Drop,
    Fill(Option<Tip>),
}

/// A channel whose gap is being filled: the messages that arrived meanwhile, and whether
/// another fill was asked for.
#[derive(Default)]
struct Filling {
    pending: std::collections::VecDeque<Live>,
    again: bool,
}

/// What the subscription task is asked to do.
enum Request {
    /// Make the subscription of this channel match whether it is watched.
    Reconcile(String),
    /// Redis dropped this subscription (or confirmed our unsubscribe): subscribe again if
    /// it is still watched.
    Lost(String),
    /// The connection to this node dropped, and the subscriptions on it.
    NodeLost(String),
    /// Time to try again what failed.
    Retry,
}

struct Shared {
    config: BrokerConfig,
    commands: Conn,
    target: RedisTarget,
    /// `SPUBLISH` (cluster) or `PUBLISH`.
    publish_command: &'static str,
    publish: redis::Script,
    read: redis::Script,
    /// Channels with local subscribers → the last message delivered, once known.
    watched: Mutex<HashMap<String, Option<Tip>>>,
    sink: OnceLock<Sink>,
    /// Channels being filled from their streams.
    filling: Mutex<HashMap<String, Filling>>,
    requests: UnboundedSender<Request>,
    /// The pushes from Redis and the subscription requests, until `start` takes them.
    #[allow(clippy::type_complexity)]
    receivers: Mutex<Option<(UnboundedSender<Push>, UnboundedReceiver<Push>, UnboundedReceiver<Request>)>>,
}

#[derive(serde::Deserialize)]
struct Live {
    c: String,
    e: String,
    o: u64,
    t: String,
    d: String,
    p: String,
}

fn key(channel: &str, what: &str) -> String {
    format!("chanspec:{{{channel}}}:{what}")
}

/// The channel's own pub/sub channel, in the slot of its keys.
fn live_name(channel: &str) -> String {
    key(channel, "live")
}

/// The channel whose pub/sub channel this is.
fn channel_of(live: &str) -> Option<&str> {
    live.strip_prefix("chanspec:{")?.strip_suffix("}:live")
}

/// How soon a failed subscription is tried again.
const RETRY: Duration = Duration::from_millis(100);

impl RedisBroker {
    /// Connect to Redis ([`RedisTarget::parse`]: one server, or a cluster by its nodes);
    /// fails when it cannot be reached now. Later outages are survived: commands reconnect,
    /// subscriptions are made again and their gaps filled from the streams.
    ///
    /// Needs Redis 6 or later (subscriptions use RESP3), and for a cluster Redis 7 or later
    /// (sharded pub/sub).
    pub async fn connect(url: &str, config: BrokerConfig) -> Result<Self, BrokerError> {
        let err = |e: redis::RedisError| BrokerError(e.to_string());
        let target = RedisTarget::parse(url)?;
        let (commands, publish_command) = match &target {
            RedisTarget::Single(url) => {
                let config = ConnectionManagerConfig::new()
                    .set_number_of_retries(1)
                    .set_connection_timeout(Duration::from_secs(1))
                    .set_response_timeout(Duration::from_secs(2));
                let client = redis::Client::open(url.as_str()).map_err(err)?;
                (Conn::Single(ConnectionManager::new_with_config(client, config).await.map_err(err)?), "PUBLISH")
            }
            RedisTarget::Cluster(nodes) => {
                let client = ClusterClientBuilder::new(nodes.clone())
                    .connection_timeout(Duration::from_secs(1))
                    .response_timeout(Duration::from_secs(2))
                    .retries(2)
                    .min_retry_wait(50)
                    .max_retry_wait(500)
                    .build()
                    .map_err(err)?;
                (Conn::Cluster(client.get_async_connection().await.map_err(err)?), "SPUBLISH")
            }
        };
        let (push_sender, pushes) = unbounded_channel();
        let (requests, requests_rx) = unbounded_channel();
        Ok(RedisBroker {
            inner: Arc::new(Shared {
                config,
                commands,
                target,
                publish_command,
                publish: redis::Script::new(PUBLISH),
                read: redis::Script::new(READ),
                watched: Mutex::new(HashMap::new()),
                sink: OnceLock::new(),
                filling: Mutex::new(HashMap::new()),
                requests,
                receivers: Mutex::new(Some((push_sender, pushes, requests_rx))),
            }),
        })
    }
}

impl Shared {
    fn watched(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<Tip>>> {
        self.watched.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, event: Event) {
        if let Some(sink) = self.sink.get() {
            sink(event);
        }
    }

    fn ttl_ms(&self) -> u64 {
        self.config.history_age.max(self.config.dedup_window).as_millis() as u64
    }

    async fn publish(&self, p: Publication) -> Result<Published, BrokerError> {
        let has_key = p.idempotency_key.is_some();
        let idem = key(&p.channel, &format!("key:{}", p.idempotency_key.as_deref().unwrap_or("")));
        let mut invocation = self.publish.prepare_invoke();
        invocation
            .key(key(&p.channel, "epoch"))
            .key(key(&p.channel, "head"))
            .key(key(&p.channel, "stream"))
            .key(idem)
            .key(key(&p.channel, "status"))
            .key(live_name(&p.channel))
            .arg(new_epoch())
            .arg(if has_key { "1" } else { "0" })
            .arg(self.config.dedup_window.as_millis() as u64)
            .arg(self.config.history_count)
            .arg(self.ttl_ms())
            .arg(&p.topic)
            .arg(&p.data)
            .arg(now_millis())
            .arg(&p.channel)
            .arg(self.publish_command)
            .arg(if p.topic == crate::protocol::STATUS_TOPIC { "1" } else { "0" });
        let (offset, outcome, _epoch, closed): (u64, u8, String, String) =
            self.commands.invoke(&invocation).await.map_err(|e| BrokerError(e.to_string()))?;
        let closed = (outcome == 2).then(|| serde_json::from_value(serde_json::Value::String(closed)).ok()).flatten();
        Ok(Published { offset, duplicate: outcome == 1, closed })
    }

    /// The channel's position and the messages after `since`; with them, when was the
    /// message at `since` itself published, if the stream still holds it.
    async fn read(&self, channel: &str, since: Option<&Position>) -> Result<(Replay, Option<u64>), BrokerError> {
        type Entries = Vec<(String, Vec<String>)>;
        let mut invocation = self.read.prepare_invoke();
        invocation
            .key(key(channel, "epoch"))
            .key(key(channel, "head"))
            .key(key(channel, "stream"))
            .key(key(channel, "status"))
            .arg(new_epoch())
            .arg(since.map(|s| s.epoch.as_str()).unwrap_or(""))
            .arg(since.map(|s| s.offset).unwrap_or(0))
            .arg(self.ttl_ms());
        let (epoch, head, entries, status): (String, u64, Entries, String) =
            self.commands.invoke(&invocation).await.map_err(|e| BrokerError(e.to_string()))?;
        let position = Position { epoch: epoch.clone(), offset: head };
        // The first position of a newly watched channel, unless the listener saw one first.
        if let Some(state @ None) = self.watched().get_mut(channel) {
            *state = Some(Tip { epoch: epoch.clone(), offset: head, at: 0 });
        }
        let mut anchor = None;
        let messages = since.and_then(|since| {
            if since.epoch != epoch || since.offset > head {
                return None;
            }
            let mut messages: Vec<Arc<Message>> =
                entries.into_iter().filter_map(|(id, fields)| entry(channel, &id, fields)).collect();
            if messages.first().is_some_and(|m| m.offset == since.offset) {
                anchor = Some(messages.remove(0).published_at);
            }
            let oldest = now_millis().saturating_sub(self.config.history_age.as_millis() as u64);
            let complete = messages.len() as u64 == head - since.offset
                && messages.first().is_none_or(|m| m.offset == since.offset + 1 && m.published_at >= oldest);
            complete.then_some(messages)
        });
        let status = serde_json::from_str::<Live>(&status).ok().filter(|l| l.e == position.epoch).map(|l| {
            let at = l.p.parse().unwrap_or(0);
            Message::new(channel.to_string(), l.t, l.o, l.d, at)
        });
        Ok((Replay { position, messages, status }, anchor))
    }

    /// What to do with a message from the channel's pub/sub channel: deliver it (the next
    /// offset, or the first seen), drop it (delivered already), or fill the gap before it
    /// (or the new epoch it starts) from the stream.
    fn step(&self, live: &Live) -> Step {
        match self.watched().get_mut(&live.c) {
            None => Step::Drop,
            Some(Some(tip)) if tip.epoch == live.e && live.o <= tip.offset => Step::Drop,
            Some(Some(tip)) if tip.epoch == live.e && live.o > tip.offset + 1 => Step::Fill(Some(tip.clone())),
            // Redis lost the channel: start the new epoch from its beginning.
            Some(Some(tip)) if tip.epoch != live.e => Step::Fill(Some(Tip { epoch: live.e.clone(), offset: 0, at: 0 })),
            Some(state) => {
                let at = live.p.parse().unwrap_or(0);
                *state = Some(Tip { epoch: live.e.clone(), offset: live.o, at });
                Step::Deliver
            }
        }
    }

    /// A message from a pub/sub channel, in the order Redis sent it. While the channel's
    /// gap is being filled, it waits for the fill; no channel waits for another's.
    fn live(self: &Arc<Self>, live: Live) {
        if let Some(filling) = self.filling().get_mut(&live.c) {
            filling.pending.push_back(live);
            return;
        }
        match self.step(&live) {
            Step::Deliver => self.deliver(live),
            Step::Drop => {}
            Step::Fill(tip) => self.start_fill(live.c.clone(), tip, Some(live)),
        }
    }

    fn deliver(&self, live: Live) {
        let at = live.p.parse().unwrap_or(0);
        self.emit(Event::Message(Message::new(live.c, live.t, live.o, live.d, at)));
    }

    fn filling(&self) -> std::sync::MutexGuard<'_, HashMap<String, Filling>> {
        self.filling.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fill `channel`'s gap after `tip` (after the last message delivered when `None`) on
    /// a task of its own, then deliver what arrived meanwhile (`first` first). A fill asked
    /// for while one runs makes that one go round again.
    fn start_fill(self: &Arc<Self>, channel: String, tip: Option<Tip>, first: Option<Live>) {
        {
            let mut filling = self.filling();
            if let Some(f) = filling.get_mut(&channel) {
                f.again = true;
                f.pending.extend(first);
                return;
            }
            filling.insert(channel.clone(), Filling { pending: first.into_iter().collect(), again: false });
        }
        let this = self.clone();
        tokio::spawn(async move {
            let (mut tip, mut fill) = (tip, true);
            loop {
                if fill {
                    let known = this.watched().get(&channel).cloned().flatten();
                    if let Some(from) = tip.take().or(known) {
                        this.fill(&channel, from).await;
                    }
                }
                let mut pending = {
                    let mut filling = this.filling();
                    let Some(f) = filling.get_mut(&channel) else { return };
                    if f.pending.is_empty() && !f.again {
                        filling.remove(&channel);
                        return;
                    }
                    fill = std::mem::take(&mut f.again);
                    std::mem::take(&mut f.pending)
                };
                while let Some(live) = pending.pop_front() {
                    match this.step(&live) {
                        Step::Deliver => this.deliver(live),
                        Step::Drop => {}
                        Step::Fill(from) => {
                            // Another gap: fill it, then go on with the rest.
                            (tip, fill) = (from, true);
                            pending.push_front(live);
                            if let Some(f) = this.filling().get_mut(&channel) {
                                pending.append(&mut f.pending);
                                f.pending = pending;
                            }
                            break;
                        }
                    }
                }
            }
        });
    }

    /// Deliver what was missed after `last` from the stream, or reset when it is gone or
    /// is not what was delivered. Retries a few times: right after Redis comes back (or a
    /// replica takes over), the first commands may still fail. When it cannot, the
    /// subscription is made again, and its confirmation fills the gap later.
    async fn fill(&self, channel: &str, last: Tip) {
        let since = Position { epoch: last.epoch.clone(), offset: last.offset };
        let mut attempt = 0;
        let (replay, anchor) = loop {
            match self.read(channel, Some(&since)).await {
                Ok(r) => break r,
                Err(_) if attempt < 20 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(_) => {
                    let _ = self.requests.send(Request::Lost(channel.to_string()));
                    return;
                }
            }
        };
        // The message at `last` is not the one delivered: a failover lost writes, and the
        // offsets after them were given again.
        let diverged = last.at != 0 && anchor.is_some_and(|at| at != last.at);
        let head = replay.position.clone();
        let known = self.watched().get(channel).cloned().flatten();
        let messages = match replay.messages.filter(|_| !diverged) {
            Some(messages) if known.as_ref().is_some_and(|t| t.epoch == head.epoch) => messages,
            Some(messages) => {
                // The epoch `last` names is not the one the subscribers know: reset them to
                // its beginning, then deliver it.
                let position = Position { epoch: head.epoch.clone(), offset: last.offset };
                self.emit(Event::Reset { channel: channel.to_string(), position });
                messages
            }
            None => {
                // The history changed under the subscribers: when the current history is
                // complete, reset them to its start and deliver it; else to its head.
                let start = Position { epoch: head.epoch.clone(), offset: 0 };
                match self.read(channel, Some(&start)).await.ok().and_then(|(r, _)| r.messages) {
                    Some(messages) => {
                        self.emit(Event::Reset { channel: channel.to_string(), position: start });
                        messages
                    }
                    None => {
                        self.emit(Event::Reset { channel: channel.to_string(), position: head.clone() });
                        Vec::new()
                    }
                }
            }
        };
        let mut tip = Tip { epoch: head.epoch, offset: head.offset, at: 0 };
        for m in messages {
            if m.offset >= tip.offset {
                tip.offset = m.offset;
                tip.at = m.published_at;
            }
            self.emit(Event::Message(m));
        }
        if tip.at == 0 && tip.offset == last.offset && tip.epoch == last.epoch {
            tip.at = last.at;
        }
        if let Some(state) = self.watched().get_mut(channel) {
            *state = Some(tip);
        }
    }

    /// Pushes from Redis, in order: messages, subscription confirmations and losses.
    async fn listen(self: Arc<Self>, mut pushes: UnboundedReceiver<Push>) {
        while let Some((node, push)) = pushes.recv().await {
            let name = push.data.first().and_then(|v| String::from_redis_value(v).ok());
            let channel = name.as_deref().and_then(channel_of).map(str::to_string);
            match push.kind {
                PushKind::Message | PushKind::SMessage => {
                    let payload = push.data.get(1).and_then(|v| String::from_redis_value(v).ok());
                    if let Some(live) = payload.and_then(|p| serde_json::from_str::<Live>(&p).ok()) {
                        self.live(live);
                    }
                }
                // A subscription is confirmed (first made, or made again after a reconnect or
                // a failover): deliver what was published since the last message delivered.
                PushKind::Subscribe | PushKind::SSubscribe => {
                    if let Some(channel) = channel.filter(|c| self.watched().contains_key(c)) {
                        self.start_fill(channel, None, None);
                    }
                }
                PushKind::Unsubscribe | PushKind::SUnsubscribe => {
                    if let Some(channel) = channel {
                        let _ = self.requests.send(Request::Lost(channel));
                    }
                }
                PushKind::Disconnection => {
                    let _ = self.requests.send(Request::NodeLost(node));
                }
                _ => {}
            }
        }
    }

    /// Keeps Redis subscriptions equal to the watched channels: subscribes on a channel's
    /// first local subscriber, unsubscribes after its last, subscribes again what Redis
    /// dropped (on the node that serves it now), and retries what failed.
    async fn subscriptions(self: Arc<Self>, mut subscriber: Subscriber, mut requests: UnboundedReceiver<Request>) {
        let mut retry: Vec<String> = Vec::new();
        loop {
            let first = if retry.is_empty() {
                requests.recv().await
            } else {
                match tokio::time::timeout(RETRY, requests.recv()).await {
                    Ok(r) => r,
                    Err(_) => Some(Request::Retry),
                }
            };
            let Some(first) = first else { return };
            let mut todo: Vec<String> = std::mem::take(&mut retry);
            let mut request = Some(first);
            while let Some(r) = request.take().or_else(|| requests.try_recv().ok()) {
                match r {
                    Request::Reconcile(c) => todo.push(c),
                    Request::Lost(c) => {
                        subscriber.lost(&c);
                        todo.push(c);
                    }
                    Request::NodeLost(node) => todo.extend(subscriber.node_lost(&node)),
                    Request::Retry => {}
                }
            }
            todo.sort_unstable();
            todo.dedup();
            let changes: Vec<(String, bool)> = {
                let watched = self.watched();
                todo.into_iter()
                    .filter_map(|c| {
                        let want = watched.contains_key(&c);
                        (want != subscriber.is_subscribed(&c)).then_some((c, want))
                    })
                    .collect()
            };
            retry = subscriber.apply(changes).await;
        }
    }
}

/// A stream entry (`<offset>-0`, fields t, d, p) as a message.
fn entry(channel: &str, id: &str, fields: Vec<String>) -> Option<Arc<Message>> {
    let offset = id.split('-').next()?.parse().ok()?;
    let (mut topic, mut data, mut at) = (None, None, 0);
    let mut it = fields.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        match k.as_str() {
            "t" => topic = Some(v),
            "d" => data = Some(v),
            "p" => at = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    Some(Message::new(channel.to_string(), topic?, offset, data?, at))
}

impl Broker for RedisBroker {
    fn start(&self, sink: Sink) {
        if self.inner.sink.set(sink).is_ok()
            && let Some((push_sender, pushes, requests)) =
                self.inner.receivers.lock().unwrap_or_else(|e| e.into_inner()).take()
        {
            let subscriber = Subscriber::new(self.inner.target.clone(), push_sender);
            tokio::spawn(self.inner.clone().listen(pushes));
            tokio::spawn(self.inner.clone().subscriptions(subscriber, requests));
        }
    }

    fn publish(&self, publication: Publication) -> BoxFuture<'_, Result<Published, BrokerError>> {
        Box::pin(self.inner.publish(publication))
    }

    fn replay<'a>(
        &'a self,
        channel: &'a str,
        since: Option<&'a Position>,
    ) -> BoxFuture<'a, Result<Replay, BrokerError>> {
        Box::pin(async move { self.inner.read(channel, since).await.map(|(replay, _)| replay) })
    }

    fn watch(&self, channel: &str, on: bool) {
        let mut watched = self.inner.watched();
        if on {
            watched.entry(channel.to_string()).or_insert(None);
        } else {
            watched.remove(channel);
        }
        let _ = self.inner.requests.send(Request::Reconcile(channel.to_string()));
    }

    fn healthy(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            matches!(tokio::time::timeout(Duration::from_secs(2), self.inner.commands.ping()).await, Ok(Ok(_)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            RedisTarget::parse("redis://127.0.0.1:6379").unwrap(),
            RedisTarget::Single("redis://127.0.0.1:6379".into())
        );
        assert_eq!(
            RedisTarget::parse("redis+cluster://127.0.0.1:7000,127.0.0.1:7001").unwrap(),
            RedisTarget::Cluster(vec!["redis://127.0.0.1:7000".into(), "redis://127.0.0.1:7001".into()])
        );
        assert_eq!(
            RedisTarget::parse("redis://a:1, redis://b:2").unwrap(),
            RedisTarget::Cluster(vec!["redis://a:1".into(), "redis://b:2".into()])
        );
        assert!(RedisTarget::parse("").is_err());
        assert!(RedisTarget::parse("redis+cluster://").is_err());
        assert!(RedisTarget::parse("http://x").is_err());
    }

    #[test]
    fn pub_sub_names_map_back_to_channels() {
        for channel in ["announcements", "pipeline:7", "odd}:live", "{x}"] {
            assert_eq!(channel_of(&live_name(channel)), Some(channel));
        }
        assert_eq!(channel_of("chanspec:live"), None);
    }
}
