//! A connection's bounded outgoing queue, bounded in items and in bytes (an item larger than
//! the byte budget still goes alone into an empty queue). Fan-out pushes without waiting (a short lock, and a
//! wake-up only when the queue was empty); the connection takes what is queued in batches.
//! Cheaper per item than a `tokio::sync::mpsc` channel, and nothing is allocated until the
//! first item.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use super::Out;

pub(crate) struct Queue {
    state: Mutex<State>,
    ready: Notify,
    capacity: usize,
    max_bytes: usize,
}

struct State {
    items: VecDeque<Out>,
    /// The bytes of `items` ([`Out::bytes`]).
    bytes: usize,
    closed: bool,
}

pub(crate) enum Pushed {
    Queued,
    /// The queue holds `capacity` items, or the item would take it over its byte budget: the
    /// item was dropped.
    Full,
    /// The connection is gone: the item was dropped.
    Closed,
}

impl Queue {
    pub(crate) fn new(capacity: usize, max_bytes: usize) -> Self {
        Queue {
            state: Mutex::new(State { items: VecDeque::new(), bytes: 0, closed: false }),
            ready: Notify::new(),
            capacity: capacity.max(1),
            max_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn push(&self, out: Out) -> Pushed {
        let mut state = self.lock();
        if state.closed {
            return Pushed::Closed;
        }
        let bytes = out.bytes();
        let was_empty = state.items.is_empty();
        if state.items.len() >= self.capacity || (!was_empty && state.bytes + bytes > self.max_bytes) {
            return Pushed::Full;
        }
        state.bytes += bytes;
        state.items.push_back(out);
        drop(state);
        // The connection waits only after finding the queue empty; `notify_one` keeps a
        // permit when it is not waiting yet.
        if was_empty {
            self.ready.notify_one();
        }
        Pushed::Queued
    }

    /// Wait until something is queued, then move up to `max` items into `batch`, oldest
    /// first. Cancel-safe: nothing is taken unless it returns.
    pub(crate) async fn take(&self, max: usize, batch: &mut Vec<Out>) {
        loop {
            {
                let mut state = self.lock();
                if !state.items.is_empty() {
                    let n = state.items.len().min(max);
                    let taken: usize = state.items.iter().take(n).map(Out::bytes).sum();
                    state.bytes -= taken;
                    batch.extend(state.items.drain(..n));
                    return;
                }
            }
            self.ready.notified().await;
        }
    }

    /// Refuse further items and return what was queued.
    pub(crate) fn close(&self) -> VecDeque<Out> {
        let mut state = self.lock();
        state.closed = true;
        state.bytes = 0;
        std::mem::take(&mut state.items)
    }
}
