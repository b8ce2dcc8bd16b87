//! Shared text layout for result tables (coefficients, variance components).
//!
//! Results compute numbers; this module only formats them. Every result type also serializes
//! with serde for machine-readable reports.

use crate::stats::{Coefficient, format_p, stars};

/// Min, 1st quartile, median, 3rd quartile, max (R's type-7 quantiles).
pub(crate) fn quantiles5(x: &[f64]) -> [f64; 5] {
    quantiles5_scaled(x, 1.0)
}

/// [`quantiles5`] of `x / scale` (`scale` > 0), without forming `x / scale`: division by a
/// positive number keeps the order, so the order statistics of `x` divided by `scale` are
/// exactly those of the divided values.
pub(crate) fn quantiles5_scaled(x: &[f64], scale: f64) -> [f64; 5] {
    quantiles5_scaled_by(x.len(), |i| x[i], scale)
}

/// [`quantiles5_scaled`] of the `n` values `value(0)`, …, `value(n − 1)`, computed as they are
/// read (a fit's residuals, without keeping them).
pub(crate) fn quantiles5_scaled_by<F: Fn(usize) -> f64>(
    n: usize,
    value: F,
    scale: f64,
) -> [f64; 5] {
    if n == 0 {
        return [f64::NAN; 5];
    }
    let last = (n - 1) as f64;
    let probs = [0.0, 0.25, 0.5, 0.75, 1.0];
    let mut ranks: Vec<usize> = probs
        .iter()
        .flat_map(|p| [(last * p).floor() as usize, (last * p).ceil() as usize])
        .collect();
    ranks.dedup();
    let stats = order_statistics(n, value, &ranks);
    let at = |k: usize| stats[ranks.binary_search(&k).expect("rank asked for")] / scale;
    probs.map(|p| {
        let h = last * p;
        let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
        at(lo) + (h - lo as f64) * (at(hi) - at(lo))
    })
}

/// The values of ranks `ranks` (increasing, 0-based) among `value(0)`, …, `value(n − 1)`
/// ordered by `total_cmp`.
///
/// Large inputs are not copied: one pass finds the range, a second counts the values in 4,096
/// equal-width bins (the bin of a value never decreases as the value grows, so a rank falls in
/// a known bin), a third gathers only the bins that hold a rank asked for, and selection
/// finishes within them. Small inputs, and inputs whose values crowd into the bins asked for
/// (ties, or NaN), are selected in a copy.
fn order_statistics<F: Fn(usize) -> f64>(n: usize, value: F, ranks: &[usize]) -> Vec<f64> {
    const BINS: usize = 4096;
    let values = || (0..n).map(&value);
    let select_in_copy = || {
        let mut v: Vec<f64> = values().collect();
        select_ranks(&mut v, ranks)
    };
    if n < 16 * BINS {
        return select_in_copy();
    }
    let (lo, hi) = values().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (if v < a { v } else { a }, if v > b { v } else { b })
    });
    let width = hi - lo;
    if values().any(|v| v.is_nan()) || !(width.is_finite() && width > 0.0) {
        return select_in_copy();
    }
    let per = BINS as f64 / width;
    let bin = |v: f64| (((v - lo) * per) as usize).min(BINS - 1);
    let mut count = vec![0usize; BINS];
    for v in values() {
        count[bin(v)] += 1;
    }
    // For each rank: its bin and the number of values in earlier bins.
    let mut first = vec![0usize; BINS + 1];
    for b in 0..BINS {
        first[b + 1] = first[b] + count[b];
    }
    let place: Vec<(usize, usize)> = ranks
        .iter()
        .map(|&k| {
            let b = first.partition_point(|&f| f <= k) - 1;
            (b, first[b])
        })
        .collect();
    let mut wanted: Vec<usize> = place.iter().map(|&(b, _)| b).collect();
    wanted.dedup();
    let total: usize = wanted.iter().map(|&b| count[b]).sum();
    if total > n / 4 {
        return select_in_copy();
    }
    let mut gathered: Vec<Vec<f64>> = wanted
        .iter()
        .map(|&b| Vec::with_capacity(count[b]))
        .collect();
    for v in values() {
        if let Ok(i) = wanted.binary_search(&bin(v)) {
            gathered[i].push(v);
        }
    }
    ranks
        .iter()
        .zip(&place)
        .map(|(&k, &(b, before))| {
            let g = &mut gathered[wanted.binary_search(&b).expect("gathered")];
            let r = k - before;
            *g.select_nth_unstable_by(r, f64::total_cmp).1
        })
        .collect()
}

/// The values of `ranks` (increasing) of the ordered `v`, selected in place in
/// increasing order (each selection leaves only larger values after it): linear time, not a
/// sort of a million residuals.
fn select_ranks(v: &mut [f64], ranks: &[usize]) -> Vec<f64> {
    let mut start = 0;
    ranks
        .iter()
        .map(|&k| {
            if k >= start {
                v[start..].select_nth_unstable_by(k - start, f64::total_cmp);
                start = k + 1;
            }
            v[k]
        })
        .collect()
}

/// R's "(n observations deleted due to missingness)" line, when any were.
pub(crate) fn dropped_line(
    f: &mut std::fmt::Formatter<'_>,
    m: &crate::formula::Missingness,
) -> std::fmt::Result {
    if let Some(u) = &m.unit {
        writeln!(f, "Rows: {u}")?;
    }
    match m.n_dropped() {
        0 => {}
        1 => writeln!(f, "(1 observation deleted due to missingness)")?,
        n => writeln!(f, "({n} observations deleted due to missingness)")?,
    }
    for note in &m.notes {
        writeln!(f, "Note: {note}")?;
    }
    Ok(())
}

/// The five-number summary of residuals `q` ([`quantiles5_scaled`]), as R's `summary()`
/// prints it, with a heading.
pub(crate) fn residual_summary(
    f: &mut std::fmt::Formatter<'_>,
    heading: &str,
    q: [f64; 5],
) -> std::fmt::Result {
    writeln!(f, "{heading}")?;
    writeln!(
        f,
        "{:>10} {:>10} {:>10} {:>10} {:>10}",
        "Min", "1Q", "Median", "3Q", "Max"
    )?;
    writeln!(
        f,
        "{:>10.4} {:>10.4} {:>10.4} {:>10.4} {:>10.4}",
        q[0], q[1], q[2], q[3], q[4]
    )?;
    writeln!(f)
}

/// `x` to `digits` significant digits, in fixed notation (R's `format(x, digits =)` for
/// numbers of ordinary size).
pub(crate) fn sig(x: f64, digits: usize) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let mag = x.abs().log10().floor() as i32;
    let decimals = (digits as i32 - 1 - mag).max(0) as usize;
    format!("{x:.decimals$}")
}

/// A coefficient table: term, estimate, SE, [df,] statistic, p, stars.
pub(crate) fn coefficient_table(rows: &[Coefficient], stat: &str, with_df: bool) -> String {
    let w = rows.iter().map(|c| c.term.len()).max().unwrap_or(0).max(11);
    let mut out = String::new();
    out.push_str(&format!(
        "{:w$} {:>12} {:>12}",
        "", "Estimate", "Std. Error"
    ));
    if with_df {
        out.push_str(&format!(" {:>9}", "df"));
    }
    let p_head = if stat.starts_with('z') {
        "Pr(>|z|)"
    } else {
        "Pr(>|t|)"
    };
    out.push_str(&format!(" {:>9} {:>10}\n", stat, p_head));
    for c in rows {
        out.push_str(&format!(
            "{:w$} {:>12} {:>12}",
            c.term,
            sig(c.estimate, 6),
            sig(c.std_error, 5)
        ));
        if with_df {
            out.push_str(&format!(" {:>9.2}", c.df));
        }
        out.push_str(&format!(
            " {:>9.3} {:>10} {}\n",
            c.t,
            format_p(c.p),
            stars(c.p)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn significant_digits() {
        assert_eq!(super::sig(612.0898, 5), "612.09");
        assert_eq!(super::sig(0.0123456, 3), "0.0123");
        assert_eq!(super::sig(25.59181, 5), "25.592");
        assert_eq!(super::sig(-8.255, 6), "-8.25500");
    }

    /// Type-7 quantiles of a sorted copy: the definition.
    fn sorted_quantiles(x: &[f64]) -> [f64; 5] {
        let mut v = x.to_vec();
        v.sort_by(f64::total_cmp);
        [0.0, 0.25, 0.5, 0.75, 1.0].map(|p: f64| {
            if v.is_empty() {
                return f64::NAN;
            }
            let h = (v.len() - 1) as f64 * p;
            let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
            v[lo] + (h - lo as f64) * (v[hi] - v[lo])
        })
    }

    /// Large inputs take the binned path (or fall back to a copy when values crowd into the
    /// bins asked for); every path equals the sorted copy exactly, and the scaled quantiles
    /// equal those of the divided values.
    #[test]
    fn binned_order_statistics_equal_a_sorted_copy() {
        let mut state = 11u64;
        let mut unif = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let normalish: Vec<f64> = (0..100_003)
            .map(|_| (0..4).map(|_| unif()).sum::<f64>() - 2.0)
            .collect();
        let ties: Vec<f64> = (0..70_000).map(|_| (unif() * 3.0).floor()).collect();
        let mut outlier: Vec<f64> = (0..80_000).map(|_| unif()).collect();
        outlier[123] = 1e9;
        let skewed: Vec<f64> = (0..65_536).map(|_| (unif() * 8.0).exp()).collect();
        for x in [&normalish, &ties, &outlier, &skewed] {
            assert_eq!(super::quantiles5(x), sorted_quantiles(x));
            let scaled: Vec<f64> = x.iter().map(|v| v / 3.7).collect();
            assert_eq!(super::quantiles5_scaled(x, 3.7), sorted_quantiles(&scaled));
            let mut v = x.to_vec();
            v.sort_by(f64::total_cmp);
            let ranks = [0, 1, 17, x.len() / 3, x.len() / 2, x.len() - 2, x.len() - 1];
            let want: Vec<f64> = ranks.iter().map(|&k| v[k]).collect();
            assert_eq!(super::order_statistics(x.len(), |i| x[i], &ranks), want);
        }
    }

    #[test]
    fn quantiles_by_selection_equal_those_of_a_sorted_copy() {
        let mut state = 7u64;
        for n in 0..60 {
            let x: Vec<f64> = (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 1000) as f64 / 7.0 - 60.0
                })
                .collect();
            let want = sorted_quantiles(&x);
            let got = super::quantiles5(&x);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    g == w || (g.is_nan() && w.is_nan()),
                    "n = {n}: {got:?} vs {want:?}"
                );
            }
        }
    }
}
