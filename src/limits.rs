//! The largest counts a caller may ask for, checked before anything is allocated.
//!
//! Every count that sizes a result (bootstrap replicates, Monte Carlo draws, power replicates)
//! is kept in memory whole (percentile intervals need every value), so an unbounded count is an
//! unbounded allocation: `BootstrapOptions::new(usize::MAX, 1)` would abort the process. These
//! limits are far above what any interval needs (10,000 replicates give percentile limits to
//! about two decimals of their SE) and far below what would exhaust a machine.

use crate::error::{Error, Result};

/// The most bootstrap replicates (case, cluster or parametric) one call runs: 1,000,000.
pub const MAX_REPLICATES: usize = 1_000_000;

/// The most Monte Carlo draws one call makes: 10,000,000.
pub const MAX_DRAWS: usize = 10_000_000;

/// The most replicates of one power run: 10,000,000 (a longer run is split into ranges with
/// `power_range` and merged).
pub const MAX_POWER_REPLICATES: usize = 10_000_000;

/// `count` of `what` (an argument's name) is at most `max`; the error says what the count
/// would hold (`bytes_each` per unit) and the limit.
pub(crate) fn check_count(what: &str, count: usize, max: usize, bytes_each: usize) -> Result<()> {
    if count <= max {
        return Ok(());
    }
    let bytes = (count as f64) * (bytes_each.max(1) as f64);
    Err(Error::Argument {
        name: what.to_string(),
        message: format!(
            "{count} would keep {} of results in memory; at most {max} are allowed (10,000 give intervals to about two decimals of their standard error)",
            human_bytes(bytes)
        ),
    })
}

/// A byte count as "24.0 GB", "512 MB", "3 KB".
pub(crate) fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 6] = ["bytes", "KB", "MB", "GB", "TB", "PB"];
    let mut v = bytes;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_beyond_the_limit_say_what_they_would_hold() {
        assert!(check_count("replicates", MAX_REPLICATES, MAX_REPLICATES, 24).is_ok());
        let e = check_count("replicates", 1_000_000_000, MAX_REPLICATES, 24).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("24.0 GB") && msg.contains("at most 1000000"),
            "{msg}"
        );
        let e = check_count("draws", usize::MAX, MAX_DRAWS, 8).unwrap_err();
        assert!(e.to_string().contains("at most 10000000"), "{e}");
        assert_eq!(human_bytes(512.0), "512 bytes");
        assert_eq!(human_bytes(1.5e9), "1.5 GB");
    }
}
