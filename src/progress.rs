//! A progress line on stderr for long operations: bootstrap and Monte Carlo resamples, power
//! replicates, and mixed-model fits whose optimizer runs for more than a few seconds.
//!
//! Off by default, so a library never writes to a terminal it does not own; the command-line
//! examples switch it on (and off with `--quiet`). When on, nothing is printed for operations
//! that finish within two seconds; after that one line, rewritten at most once a second
//! (`bootstrap: 1200/2000 resamples, 14 s`), and a line break when the operation ends.
//!
//! ```
//! securebase::progress::enable(false); // the default
//! assert!(!securebase::progress::enabled());
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Print progress lines on stderr for operations that run over two seconds (`true`), or never
/// (`false`, the default).
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether progress lines are printed.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Seconds of silence before the first line.
const QUIET_FOR_MS: u64 = 2000;

/// One operation's progress: `tick` from any thread.
pub(crate) struct Progress {
    label: String,
    unit: &'static str,
    total: Option<usize>,
    start: Instant,
    done: AtomicUsize,
    /// Milliseconds since `start` of the last line printed (0: none yet).
    printed_at: AtomicU64,
}

impl Progress {
    /// `total` units of `unit` ("resamples"), or an open count (`None`: "evaluations").
    pub(crate) fn new(label: impl Into<String>, unit: &'static str, total: Option<usize>) -> Self {
        Progress {
            label: label.into(),
            unit,
            total,
            start: Instant::now(),
            done: AtomicUsize::new(0),
            printed_at: AtomicU64::new(0),
        }
    }

    /// One more unit done.
    pub(crate) fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if !enabled() {
            return;
        }
        let ms = self.start.elapsed().as_millis() as u64;
        if ms < QUIET_FOR_MS {
            return;
        }
        let last = self.printed_at.load(Ordering::Relaxed);
        if last != 0 && ms < last + 1000 {
            return;
        }
        if self
            .printed_at
            .compare_exchange(last, ms, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let count = match self.total {
            Some(t) => format!("{done}/{t}"),
            None => done.to_string(),
        };
        eprint!("\r{}: {count} {}, {} s ", self.label, self.unit, ms / 1000);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.printed_at.load(Ordering::Relaxed) != 0 {
            eprintln!();
        }
    }
}

/// `f(0), …, f(n − 1)` through [`crate::par::map`], each counted as one `unit` of `label`.
pub(crate) fn map<T, F>(n: usize, label: &str, unit: &'static str, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize) -> T + Sync + Send,
{
    let p = Progress::new(label, unit, Some(n));
    crate::par::map(n, |i| {
        let out = f(i);
        p.tick();
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_tick_and_keeps_order() {
        let v = map(100, "test", "items", |i| i * 2);
        assert_eq!(v, (0..100).map(|i| i * 2).collect::<Vec<_>>());
        let p = Progress::new("x", "evaluations", None);
        for _ in 0..10 {
            p.tick();
        }
        assert_eq!(p.done.load(Ordering::Relaxed), 10);
    }

    /// Silent while disabled or within the first two seconds; once enabled and past them, a
    /// line is printed at most once a second.
    #[test]
    fn prints_only_when_enabled_and_past_two_seconds() {
        let mut p = Progress::new("test", "items", Some(10));
        p.tick();
        assert_eq!(p.printed_at.load(Ordering::Relaxed), 0, "disabled: nothing");
        enable(true);
        p.tick();
        assert_eq!(
            p.printed_at.load(Ordering::Relaxed),
            0,
            "within 2 s: nothing"
        );
        p.start = Instant::now() - std::time::Duration::from_millis(3000);
        p.tick();
        let first = p.printed_at.load(Ordering::Relaxed);
        assert!(first >= 3000, "{first}");
        p.tick();
        assert_eq!(
            p.printed_at.load(Ordering::Relaxed),
            first,
            "not again within 1 s"
        );
        enable(false);
    }
}
