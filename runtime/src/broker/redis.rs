//! The Redis broker: several hubs share channels through one Redis.
//!
//! Per channel (keys hash-tagged by the channel name): an epoch, a head offset, a stream of
//! recent messages (bounded `XADD … MAXLEN`, entry id `<offset>-0`), idempotency keys with a
//! TTL. Publishing is one Lua script: idempotency check, `INCR`, `XADD`, `PUBLISH` to one
//! pub/sub channel every hub listens on. Each hub keeps, per channel it has subscribers on,
//! the last offset it delivered; a gap (missed pub/sub messages, a reconnect) is filled from
//! the stream, and a changed epoch (Redis lost its data) is reported as a reset.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Broker, BrokerConfig, BrokerError, Event, Message, Publication, Published, Replay, Sink, new_epoch};
use crate::protocol::{Position, now_millis};

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
redis.call('PUBLISH', ARGV[10], record)
return {offset, 0, epoch, ''}
"#;

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
if ARGV[2] ~= epoch or since >= head then return {epoch, head, {}, status} end
return {epoch, head, redis.call('XRANGE', KEYS[3], (since + 1) .. '-0', '+'), status}
"#;

/// The pub/sub channel every hub listens on.
const LIVE: &str = "chanspec:live";

pub struct RedisBroker {
    inner: Arc<Shared>,
}

struct Shared {
    config: BrokerConfig,
    client: redis::Client,
    conn: ConnectionManager,
    publish: redis::Script,
    read: redis::Script,
    /// Channels with local subscribers → (epoch, last offset delivered), once known.
    watched: Mutex<HashMap<String, Option<(String, u64)>>>,
    sink: OnceLock<Sink>,
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

impl RedisBroker {
    /// Connect to Redis (`redis://host:port`); fails when it cannot be reached now. Later
    /// outages are survived: commands reconnect, the listener resubscribes and fills gaps.
    pub async fn connect(url: &str, config: BrokerConfig) -> Result<Self, BrokerError> {
        let client = redis::Client::open(url).map_err(|e| BrokerError(e.to_string()))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_connection_timeout(Duration::from_secs(1))
            .set_response_timeout(Duration::from_secs(2));
        let conn = ConnectionManager::new_with_config(client.clone(), manager_config)
            .await
            .map_err(|e| BrokerError(e.to_string()))?;
        Ok(RedisBroker {
            inner: Arc::new(Shared {
                config,
                client,
                conn,
                publish: redis::Script::new(PUBLISH),
                read: redis::Script::new(READ),
                watched: Mutex::new(HashMap::new()),
                sink: OnceLock::new(),
            }),
        })
    }
}

impl Shared {
    fn watched(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<(String, u64)>>> {
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
        let (offset, outcome, _epoch, closed): (u64, u8, String, String) = self
            .publish
            .key(key(&p.channel, "epoch"))
            .key(key(&p.channel, "head"))
            .key(key(&p.channel, "stream"))
            .key(idem)
            .key(key(&p.channel, "status"))
            .arg(new_epoch())
            .arg(if has_key { "1" } else { "0" })
            .arg(self.config.dedup_window.as_millis() as u64)
            .arg(self.config.history_count)
            .arg(self.ttl_ms())
            .arg(&p.topic)
            .arg(&p.data)
            .arg(now_millis())
            .arg(&p.channel)
            .arg(LIVE)
            .arg(if p.topic == crate::protocol::STATUS_TOPIC { "1" } else { "0" })
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| BrokerError(e.to_string()))?;
        let closed = (outcome == 2).then(|| serde_json::from_value(serde_json::Value::String(closed)).ok()).flatten();
        Ok(Published { offset, duplicate: outcome == 1, closed })
    }

    async fn replay(&self, channel: &str, since: Option<&Position>) -> Result<Replay, BrokerError> {
        type Entries = Vec<(String, Vec<String>)>;
        let (epoch, head, entries, status): (String, u64, Entries, String) = self
            .read
            .key(key(channel, "epoch"))
            .key(key(channel, "head"))
            .key(key(channel, "stream"))
            .key(key(channel, "status"))
            .arg(new_epoch())
            .arg(since.map(|s| s.epoch.as_str()).unwrap_or(""))
            .arg(since.map(|s| s.offset).unwrap_or(0))
            .arg(self.ttl_ms())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| BrokerError(e.to_string()))?;
        let position = Position { epoch: epoch.clone(), offset: head };
        // The first position of a newly watched channel, unless the listener saw one first.
        if let Some(state @ None) = self.watched().get_mut(channel) {
            *state = Some((epoch.clone(), head));
        }
        let messages = since.and_then(|since| {
            if since.epoch != epoch || since.offset > head {
                return None;
            }
            let messages: Vec<Arc<Message>> =
                entries.into_iter().filter_map(|(id, fields)| entry(channel, &id, fields)).collect();
            let oldest = now_millis().saturating_sub(self.config.history_age.as_millis() as u64);
            let complete = messages.len() as u64 == head - since.offset
                && messages.first().is_none_or(|m| m.offset == since.offset + 1 && m.published_at >= oldest);
            complete.then_some(messages)
        });
        let status = serde_json::from_str::<Live>(&status).ok().filter(|l| l.e == position.epoch).map(|l| {
            let at = l.p.parse().unwrap_or(0);
            Message::new(channel.to_string(), l.t, l.o, l.d, at)
        });
        Ok(Replay { position, messages, status })
    }

    /// A message from the pub/sub channel: deliver it, fill a gap before it, or reset.
    async fn live(&self, live: Live) {
        let state = match self.watched().get(&live.c) {
            None => return,
            Some(state) => state.clone(),
        };
        match state {
            Some((epoch, last)) if epoch == live.e => {
                if live.o <= last {
                    return;
                }
                if live.o > last + 1 {
                    self.fill(&live.c, Position { epoch, offset: last }).await;
                    return;
                }
            }
            Some(_) => {
                // Redis lost the channel: start the new epoch from its beginning.
                self.fill(&live.c, Position { epoch: live.e, offset: 0 }).await;
                return;
            }
            None => {}
        }
        if let Some(state) = self.watched().get_mut(&live.c) {
            *state = Some((live.e, live.o));
        }
        let published_at = live.p.parse().unwrap_or(0);
        self.emit(Event::Message(Message::new(live.c, live.t, live.o, live.d, published_at)));
    }

    /// Deliver what was missed after `last` from the stream, or reset when it is gone.
    /// Retries a few times: right after Redis comes back, the first command may still fail.
    async fn fill(&self, channel: &str, last: Position) -> bool {
        let mut attempt = 0;
        let replay = loop {
            match self.replay(channel, Some(&last)).await {
                Ok(r) => break r,
                Err(_) if attempt < 20 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(_) => return false,
            }
        };
        let head = replay.position.clone();
        let known = self.watched().get(channel).cloned().flatten();
        let messages = match replay.messages {
            Some(messages) if known.as_ref().is_some_and(|(e, _)| *e == head.epoch) => messages,
            Some(messages) => {
                // The epoch `last` names is not the one the subscribers know: reset them to
                // its beginning, then deliver it.
                let position = Position { epoch: head.epoch.clone(), offset: last.offset };
                self.emit(Event::Reset { channel: channel.to_string(), position });
                messages
            }
            None => {
                // The epoch changed under the subscribers: when the new epoch's history is
                // complete, reset them to its start and deliver it; else to its head.
                let start = Position { epoch: head.epoch.clone(), offset: 0 };
                match self.replay(channel, Some(&start)).await.ok().and_then(|r| r.messages) {
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
        let mut top = head.offset;
        for m in messages {
            top = top.max(m.offset);
            self.emit(Event::Message(m));
        }
        let head = Position { epoch: head.epoch, offset: top };
        if let Some(state) = self.watched().get_mut(channel) {
            *state = Some((head.epoch, head.offset));
        }
        true
    }

    /// After (re)subscribing: catch up every watched channel. `false` when Redis failed.
    async fn resync(&self) -> bool {
        let known: Vec<(String, Position)> = self
            .watched()
            .iter()
            .filter_map(|(c, s)| s.as_ref().map(|(e, o)| (c.clone(), Position { epoch: e.clone(), offset: *o })))
            .collect();
        for (channel, last) in known {
            if !self.fill(&channel, last).await {
                return false;
            }
        }
        true
    }

    async fn listen(self: Arc<Self>) {
        loop {
            if let Ok(mut pubsub) = self.client.get_async_pubsub().await
                && pubsub.subscribe(LIVE).await.is_ok()
            {
                if !self.resync().await {
                    continue;
                }
                let mut messages = pubsub.into_on_message();
                while let Some(message) = messages.next().await {
                    let Ok(payload) = message.get_payload::<String>() else { continue };
                    if let Ok(live) = serde_json::from_str::<Live>(&payload) {
                        self.live(live).await;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
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
        if self.inner.sink.set(sink).is_ok() {
            tokio::spawn(self.inner.clone().listen());
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
        Box::pin(self.inner.replay(channel, since))
    }

    fn watch(&self, channel: &str, on: bool) {
        let mut watched = self.inner.watched();
        if on {
            watched.entry(channel.to_string()).or_insert(None);
        } else {
            watched.remove(channel);
        }
    }

    fn healthy(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            let mut conn = self.inner.conn.clone();
            let cmd = redis::cmd("PING");
            let ping = cmd.query_async::<String>(&mut conn);
            matches!(tokio::time::timeout(Duration::from_secs(2), ping).await, Ok(Ok(_)))
        })
    }
}
