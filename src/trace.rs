//! Phase tracing for performance work: with `CHANSPEC_TRACE=1` in the environment, each
//! phase of a run prints, to stderr, when it ended (ms since the first mark), the process's
//! user and system CPU time so far, and its resident and peak resident memory (from
//! `/proc/self/status`, on Linux). Without it, a mark costs one load.

use std::sync::OnceLock;
use std::time::Instant;

/// Mark the end of phase `label`.
pub fn phase(label: &str) {
    static ON: OnceLock<Option<Instant>> = OnceLock::new();
    let Some(start) = ON.get_or_init(|| std::env::var_os("CHANSPEC_TRACE").map(|_| Instant::now())) else {
        return;
    };
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        let line = status.lines().find(|l| l.starts_with(key));
        line.and_then(|l| l[key.len()..].trim().trim_end_matches(" kB").parse::<u64>().ok()).unwrap_or(0)
    };
    // User and system time, fields 14 and 15 of /proc/self/stat, in clock ticks (100 a
    // second on Linux); the command name before them is in parentheses and may hold spaces.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0) * 10.0;
    eprintln!(
        "chanspec-trace {label:<10} {:>7.1} ms  user {:>4} ms  sys {:>4} ms  rss {:>4} MiB  peak {:>4} MiB",
        start.elapsed().as_secs_f64() * 1e3,
        ticks(11),
        ticks(12),
        kib("VmRSS:") / 1024,
        kib("VmHWM:") / 1024,
    );
}
