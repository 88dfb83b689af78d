//! The in-process broker: per channel an epoch (random, per process), a gap-free offset,
//! a history bounded by count and age, and an idempotency window.
//!
//! A channel nobody watches, untouched (no publish, no replay) for longer than the history
//! age and the dedup window, so that its history and idempotency keys have expired, is
//! forgotten: apps that make a channel per run or per user do not grow without bound. Each
//! channel waits in one queue, oldest first, and every access looks at a few of the oldest, so
//! forgetting costs a little per call, never a pause over every channel. Publishing to it again starts a new epoch, so a subscriber
//! resuming from the old one is told `recovered: false`, never given a silent gap. A watched
//! channel is never forgotten: its subscribers hold offsets of its epoch.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use futures_util::future::BoxFuture;

use super::{Broker, BrokerConfig, BrokerError, Event, Message, Publication, Published, Replay, Sink, new_epoch};
use crate::protocol::{Position, now_millis};

/// Keeps everything in this process. History is lost on restart: the epoch changes.
pub struct MemoryBroker {
    config: BrokerConfig,
    channels: Mutex<Channels>,
    /// Channels with subscribers on the hub. Its own lock, never held while taking another:
    /// the hub reports watches under its registry lock, which publishing takes under
    /// `channels`.
    watched: Mutex<HashSet<String>>,
    sink: OnceLock<Sink>,
}

/// Queued channels looked at per access, at most.
const SWEEP_STEP: usize = 64;

struct Channels {
    states: HashMap<String, ChannelState>,
    /// Every channel once, with the time it was queued, oldest first (roughly: a channel
    /// touched since it was queued goes to the back with its latest time).
    queue: VecDeque<(Instant, String)>,
}

struct ChannelState {
    /// The last publish or replay.
    touched: Instant,
    epoch: String,
    head: u64,
    history: VecDeque<Arc<Message>>,
    keys: HashMap<String, u64>,
    key_order: VecDeque<(Instant, String)>,
}

impl ChannelState {
    fn new() -> Self {
        ChannelState {
            touched: Instant::now(),
            epoch: new_epoch(),
            head: 0,
            history: VecDeque::new(),
            keys: HashMap::new(),
            key_order: VecDeque::new(),
        }
    }

    fn trim(&mut self, config: &BrokerConfig, now_ms: u64) {
        while self.history.len() > config.history_count {
            self.history.pop_front();
        }
        let oldest = now_ms.saturating_sub(config.history_age.as_millis() as u64);
        while self.history.front().is_some_and(|m| m.published_at < oldest) {
            self.history.pop_front();
        }
        let now = Instant::now();
        while let Some((at, _)) = self.key_order.front() {
            if now.duration_since(*at) < config.dedup_window {
                break;
            }
            if let Some((_, key)) = self.key_order.pop_front() {
                self.keys.remove(&key);
            }
        }
    }

    /// Nothing left to replay or deduplicate (after [`ChannelState::trim`]).
    fn idle(&self) -> bool {
        self.history.is_empty() && self.keys.is_empty()
    }
}

impl MemoryBroker {
    pub fn new(config: BrokerConfig) -> Self {
        MemoryBroker {
            config,
            channels: Mutex::new(Channels { states: HashMap::new(), queue: VecDeque::new() }),
            watched: Mutex::new(HashSet::new()),
            sink: OnceLock::new(),
        }
    }

    /// The channels, after a look at a few of the longest untouched.
    fn lock(&self) -> std::sync::MutexGuard<'_, Channels> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        self.sweep(&mut channels, SWEEP_STEP);
        channels
    }

    /// Look at up to `step` queued channels untouched for longer than history and dedup
    /// last: forget the idle, unwatched ones; queue the others again.
    fn sweep(&self, channels: &mut Channels, step: usize) {
        let quiet = self.config.history_age.max(self.config.dedup_window);
        let now = Instant::now();
        let due = |c: &Channels| c.queue.front().is_some_and(|(at, _)| now.duration_since(*at) > quiet);
        if !due(channels) {
            return;
        }
        let now_ms = now_millis();
        let watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..step {
            if !due(channels) {
                break;
            }
            let Some((at, name)) = channels.queue.pop_front() else { break };
            let Some(state) = channels.states.get_mut(&name) else { continue };
            if state.touched > at {
                channels.queue.push_back((state.touched, name));
                continue;
            }
            state.trim(&self.config, now_ms);
            if state.idle() && !watched.contains(&name) {
                channels.states.remove(&name);
            } else {
                state.touched = now;
                channels.queue.push_back((now, name));
            }
        }
    }

    /// Forget every idle channel that is due now (otherwise a few are looked at per access).
    pub fn forget_idle(&self) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        // Ends: a channel is queued again either once with its last touch, or as not due.
        self.sweep(&mut channels, usize::MAX);
    }

    /// The state of `channel`, created (and queued) on first use, marked touched.
    fn state<'c>(channels: &'c mut Channels, channel: &str) -> &'c mut ChannelState {
        let Channels { states, queue } = channels;
        // Looked up by `&str` first: a publish to a known channel allocates no key.
        if !states.contains_key(channel) {
            let state = ChannelState::new();
            queue.push_back((state.touched, channel.to_string()));
            states.insert(channel.to_string(), state);
        }
        let state = states.get_mut(channel).expect("inserted above");
        state.touched = Instant::now();
        state
    }

    /// Channels whose epoch and offsets are kept (for tests and metrics).
    pub fn channels(&self) -> usize {
        self.channels.lock().unwrap_or_else(|e| e.into_inner()).states.len()
    }

    fn publish_now(&self, p: Publication) -> Published {
        let now_ms = now_millis();
        let mut channels = self.lock();
        let state = Self::state(&mut channels, &p.channel);
        state.trim(&self.config, now_ms);
        if let Some(key) = &p.idempotency_key
            && let Some(offset) = state.keys.get(key)
        {
            return Published { offset: *offset, duplicate: true };
        }
        state.head += 1;
        let offset = state.head;
        if let Some(key) = p.idempotency_key {
            state.keys.insert(key.clone(), offset);
            state.key_order.push_back((Instant::now(), key));
        }
        let message = Message::new(p.channel, p.topic, offset, p.data, now_ms);
        if self.config.history_count > 0 {
            state.history.push_back(message.clone());
            state.trim(&self.config, now_ms);
        }
        // Reported under the lock, so every hub sees a channel's messages in offset order.
        if let Some(sink) = self.sink.get() {
            sink(Event::Message(message));
        }
        Published { offset, duplicate: false }
    }

    fn replay_now(&self, channel: &str, since: Option<&Position>) -> Replay {
        let mut channels = self.lock();
        let state = Self::state(&mut channels, channel);
        state.trim(&self.config, now_millis());
        let position = Position { epoch: state.epoch.clone(), offset: state.head };
        let messages = since.and_then(|since| {
            if since.epoch != state.epoch || since.offset > state.head {
                return None;
            }
            if since.offset == state.head {
                return Some(Vec::new());
            }
            let first = state.history.front()?.offset;
            if first > since.offset + 1 {
                return None;
            }
            let skip = (since.offset + 1 - first) as usize;
            Some(state.history.iter().skip(skip).cloned().collect())
        });
        Replay { position, messages }
    }

    /// Messages held in history across every channel (for tests and metrics).
    pub fn held(&self) -> usize {
        self.lock().states.values().map(|c| c.history.len()).sum()
    }
}

impl Default for MemoryBroker {
    fn default() -> Self {
        MemoryBroker::new(BrokerConfig::default())
    }
}

impl Broker for MemoryBroker {
    fn start(&self, sink: Sink) {
        let _ = self.sink.set(sink);
    }

    fn publish(&self, publication: Publication) -> BoxFuture<'_, Result<Published, BrokerError>> {
        let published = self.publish_now(publication);
        Box::pin(async move { Ok(published) })
    }

    fn replay<'a>(
        &'a self,
        channel: &'a str,
        since: Option<&'a Position>,
    ) -> BoxFuture<'a, Result<Replay, BrokerError>> {
        let replay = self.replay_now(channel, since);
        Box::pin(async move { Ok(replay) })
    }

    fn watch(&self, channel: &str, on: bool) {
        let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        if on {
            watched.insert(channel.to_string());
        } else {
            watched.remove(channel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn publication(key: Option<&str>) -> Publication {
        Publication { channel: "c".into(), topic: "t".into(), data: "1".into(), idempotency_key: key.map(Into::into) }
    }

    #[test]
    fn offsets_history_and_keys() {
        let b = MemoryBroker::new(BrokerConfig { history_count: 3, ..BrokerConfig::default() });
        assert_eq!(b.publish_now(publication(None)).offset, 1);
        assert_eq!(b.publish_now(publication(Some("k"))), Published { offset: 2, duplicate: false });
        assert_eq!(b.publish_now(publication(Some("k"))), Published { offset: 2, duplicate: true });
        for _ in 0..3 {
            b.publish_now(publication(None));
        }
        let head = b.replay_now("c", None).position;
        assert_eq!(head.offset, 5);
        let since = |o| Position { epoch: head.epoch.clone(), offset: o };
        let got: Vec<u64> = b.replay_now("c", Some(&since(2))).messages.unwrap().iter().map(|m| m.offset).collect();
        assert_eq!(got, [3, 4, 5]);
        assert!(b.replay_now("c", Some(&since(1))).messages.is_none(), "past the history");
        assert!(b.replay_now("c", Some(&since(5))).messages.unwrap().is_empty());
        let other = Position { epoch: "other".into(), offset: 4 };
        assert!(b.replay_now("c", Some(&other)).messages.is_none());
        assert_eq!(b.held(), 3);
    }

    #[test]
    fn idle_channels_are_forgotten_watched_ones_kept() {
        let config = BrokerConfig {
            history_age: Duration::from_millis(30),
            dedup_window: Duration::from_millis(30),
            ..BrokerConfig::default()
        };
        let b = MemoryBroker::new(config);
        let publish = |channel: &str, key: Option<&str>| {
            b.publish_now(Publication { channel: channel.into(), ..publication(key) });
        };
        publish("gone", None);
        let gone = b.replay_now("gone", None).position;
        publish("keyed", Some("k"));
        publish("watched", None);
        b.watch("watched", true);
        b.forget_idle();
        assert_eq!(b.channels(), 3, "history and keys are still live");
        let epoch = b.replay_now("watched", None).position.epoch;
        std::thread::sleep(Duration::from_millis(40));
        b.forget_idle();
        assert_eq!(b.channels(), 1, "only the watched channel is left");
        let after = b.replay_now("watched", None).position;
        assert_eq!((after.epoch, after.offset), (epoch, 1), "a watched channel keeps its epoch and offset");
        // Published again, a forgotten channel starts a new epoch: resuming from the old one
        // is not recovered.
        let resumed = b.replay_now("gone", Some(&gone));
        assert!(resumed.messages.is_none(), "resuming from a forgotten epoch is not recovered");
        assert_ne!(resumed.position.epoch, gone.epoch);
        b.watch("watched", false);
        std::thread::sleep(Duration::from_millis(40));
        b.forget_idle();
        assert_eq!(b.channels(), 0);
    }
}
