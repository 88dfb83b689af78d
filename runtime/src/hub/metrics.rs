//! Counters and gauges, rendered in the Prometheus text format at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

#[derive(Debug, Default)]
pub struct Metrics {
    pub connections: AtomicI64,
    pub subscriptions: AtomicI64,
    pub messages_in: AtomicU64,
    /// Messages the broker handed this hub (with Redis: those of the channels it serves).
    pub broker_messages: AtomicU64,
    pub messages_out: AtomicU64,
    pub drops: AtomicU64,
    pub slow_consumer_disconnects: AtomicU64,
    /// Frames waiting in connection queues, all connections together.
    pub queued_frames: AtomicI64,
    /// Bytes of message frames waiting in connection queues (shared payloads counted once
    /// per subscriber), all connections together.
    pub queued_bytes: AtomicI64,
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut line = |name: &str, kind: &str, help: &str, value: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        };
        line("chanspec_connections", "gauge", "Open WebSocket and SSE connections.", self.connections.load(Relaxed));
        line("chanspec_subscriptions", "gauge", "Live subscriptions.", self.subscriptions.load(Relaxed));
        line(
            "chanspec_messages_in_total",
            "counter",
            "Messages published through this hub.",
            self.messages_in.load(Relaxed) as i64,
        );
        line(
            "chanspec_broker_messages_total",
            "counter",
            "Messages the broker handed this hub (with Redis: those of the channels it has subscribers on).",
            self.broker_messages.load(Relaxed) as i64,
        );
        line(
            "chanspec_messages_out_total",
            "counter",
            "Message frames written to subscribers.",
            self.messages_out.load(Relaxed) as i64,
        );
        line(
            "chanspec_drops_total",
            "counter",
            "Message frames dropped because a subscriber's queue was full.",
            self.drops.load(Relaxed) as i64,
        );
        line(
            "chanspec_slow_consumer_disconnects_total",
            "counter",
            "Connections closed with 4008 because they did not keep up.",
            self.slow_consumer_disconnects.load(Relaxed) as i64,
        );
        line(
            "chanspec_queued_frames",
            "gauge",
            "Frames waiting in connection queues.",
            self.queued_frames.load(Relaxed),
        );
        line(
            "chanspec_queued_bytes",
            "gauge",
            "Bytes of frames waiting in connection queues.",
            self.queued_bytes.load(Relaxed),
        );
        out
    }
}
