//! The in-process broker: per channel an epoch (random, per process), a gap-free offset,
//! a history bounded by count and age, and an idempotency window.
//!
//! History across channels is bounded in bytes too (`history_bytes`): over it, the oldest
//! history of the least recently touched channels goes first.
//!
//! A channel nobody watches, untouched (no publish, no replay) for longer than the history
//! age and the dedup window, so that its history and idempotency keys have expired, is
//! forgotten: apps that make a channel per run or per user do not grow without bound. Each
//! channel waits in one queue, oldest first, and every access looks at a few of the oldest, so
//! forgetting costs a little per call, never a pause over every channel. Publishing to it again starts a new epoch, so a subscriber
//! resuming from the old one is told `recovered: false`, never given a silent gap. A watched
//! channel is never forgotten: its subscribers hold offsets of its epoch.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use futures_util::future::BoxFuture;

use super::{Broker, BrokerConfig, BrokerError, Event, Message, Publication, Published, Replay, Sink, new_epoch};
use crate::protocol::{Position, RunStatus, now_millis};

/// Keeps everything in this process. History is lost on restart: the epoch changes.
pub struct MemoryBroker {
    config: BrokerConfig,
    channels: Mutex<Channels>,
    /// Channels with subscribers on the hub. Its own lock, never held while taking another:
    /// the hub reports watches under its registry lock, which publishing takes under
    /// `channels`.
    watched: Mutex<HashSet<String>>,
    sink: OnceLock<Sink>,
    /// The cost of every channel's history ([`Message::cost`]).
    history_bytes: AtomicUsize,
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
    /// The latest status change, with its status.
    status: Option<(RunStatus, Arc<Message>)>,
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
            status: None,
        }
    }

    /// Drop history over the count and age limits and keys out of the dedup window; `total`
    /// is the history cost of every channel.
    fn trim(&mut self, config: &BrokerConfig, now_ms: u64, total: &AtomicUsize) {
        while self.history.len() > config.history_count {
            self.drop_oldest(total);
        }
        let oldest = now_ms.saturating_sub(config.history_age.as_millis() as u64);
        while self.history.front().is_some_and(|m| m.published_at < oldest) {
            self.drop_oldest(total);
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

    fn drop_oldest(&mut self, total: &AtomicUsize) {
        if let Some(m) = self.history.pop_front() {
            total.fetch_sub(m.cost(), Relaxed);
        }
    }

    /// Nothing left to replay or deduplicate (after [`ChannelState::trim`]). A status is not
    /// a reason to stay: an idle channel is forgotten after the history age, as its
    /// history would be.
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
            history_bytes: AtomicUsize::new(0),
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
            state.trim(&self.config, now_ms, &self.history_bytes);
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
        state.trim(&self.config, now_ms, &self.history_bytes);
        if let Some(key) = &p.idempotency_key
            && let Some(offset) = state.keys.get(key)
        {
            return Published { offset: *offset, duplicate: true, closed: None };
        }
        if let Some((status, _)) = &state.status
            && status.is_terminal()
        {
            return Published { offset: 0, duplicate: false, closed: Some(*status) };
        }
        state.head += 1;
        let offset = state.head;
        if let Some(key) = p.idempotency_key {
            state.keys.insert(key.clone(), offset);
            state.key_order.push_back((Instant::now(), key));
        }
        let message = Message::new(p.channel, p.topic, offset, p.data, now_ms);
        if let Some(s) = message.status() {
            state.status = Some((s.status, message.clone()));
        }
        if self.config.history_count > 0 {
            self.history_bytes.fetch_add(message.cost(), Relaxed);
            state.history.push_back(message.clone());
            state.trim(&self.config, now_ms, &self.history_bytes);
            if self.history_bytes.load(Relaxed) > self.config.history_bytes {
                self.over_budget(&mut channels);
            }
        }
        // Reported under the lock, so every hub sees a channel's messages in offset order.
        if let Some(sink) = self.sink.get() {
            sink(Event::Message(message));
        }
        Published { offset, duplicate: false, closed: None }
    }

    fn replay_now(&self, channel: &str, since: Option<&Position>) -> Replay {
        let mut channels = self.lock();
        let state = Self::state(&mut channels, channel);
        state.trim(&self.config, now_millis(), &self.history_bytes);
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
        let status = state.status.as_ref().map(|(_, m)| m.clone());
        Replay { position, messages, status }
    }

    /// History is over its byte budget: drop the oldest messages of the least recently
    /// touched channels first, down to 7/8 of the budget (so this runs once per eighth of
    /// the budget published, not on every publish).
    fn over_budget(&self, channels: &mut Channels) {
        let target = self.config.history_bytes / 8 * 7;
        let mut order: Vec<(Instant, &String)> =
            channels.states.iter().filter(|(_, s)| !s.history.is_empty()).map(|(n, s)| (s.touched, n)).collect();
        order.sort_unstable();
        let order: Vec<String> = order.into_iter().map(|(_, n)| n.clone()).collect();
        for name in order {
            let Some(state) = channels.states.get_mut(&name) else { continue };
            while self.history_bytes.load(Relaxed) > target && !state.history.is_empty() {
                state.drop_oldest(&self.history_bytes);
            }
            if self.history_bytes.load(Relaxed) <= target {
                break;
            }
        }
    }

    /// The cost of the history held across every channel, in bytes ([`Message::cost`]).
    pub fn history_bytes(&self) -> usize {
        self.history_bytes.load(Relaxed)
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
        assert_eq!(b.publish_now(publication(Some("k"))), Published { offset: 2, duplicate: false, closed: None });
        assert_eq!(b.publish_now(publication(Some("k"))), Published { offset: 2, duplicate: true, closed: None });
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
    fn history_over_its_byte_budget_loses_the_least_recently_used_first() {
        let one = Message::new("a".into(), "t".into(), 1, "x".repeat(1000), 0).cost();
        // Room for 40 messages (a message's cost varies by a byte or two with its offset).
        let budget = 40 * one + 80;
        let b = MemoryBroker::new(BrokerConfig { history_bytes: budget, ..BrokerConfig::default() });
        let publish = |channel: &str| {
            b.publish_now(Publication {
                data: format!("\"{}\"", "x".repeat(998)),
                channel: channel.into(),
                ..publication(None)
            })
        };
        for _ in 0..20 {
            publish("a");
        }
        let a = b.replay_now("a", None).position;
        std::thread::sleep(std::time::Duration::from_millis(2));
        for _ in 0..20 {
            publish("b");
        }
        assert_eq!(b.held(), 40, "at the budget, nothing is dropped");
        std::thread::sleep(std::time::Duration::from_millis(2));
        publish("b");
        // Over: down to 7/8 of the budget, from `a`, the least recently used.
        assert!(b.history_bytes() <= budget / 8 * 7, "{} over 7/8 of the budget", b.history_bytes());
        let b_head = b.replay_now("b", None).position;
        let since_b = Position { epoch: b_head.epoch.clone(), offset: 0 };
        assert_eq!(b.replay_now("b", Some(&since_b)).messages.unwrap().len(), 21, "b kept everything");
        // Resuming `a` from its start is no longer recovered; from its last message it is.
        let since_a = |offset| Position { epoch: a.epoch.clone(), offset };
        assert!(b.replay_now("a", Some(&since_a(0))).messages.is_none());
        assert_eq!(b.replay_now("a", Some(&since_a(19))).messages.unwrap().len(), 1);
        assert!((34..=36).contains(&b.held()), "{} held", b.held());
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
