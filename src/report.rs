//! Shared text layout for result tables (coefficients, variance components).
//!
//! Results compute numbers; this module only formats them. Every result type also serializes
//! with serde for machine-readable reports.

use crate::stats::{Coefficient, format_p, stars};

/// Min, 1st quartile, median, 3rd quartile, max (R's type-7 quantiles).
pub(crate) fn quantiles5(x: &[f64]) -> [f64; 5] {
    quantiles5_in_place(&mut x.to_vec())
}

/// [`quantiles5`] reordering `v` instead of a copy of it.
pub(crate) fn quantiles5_in_place(v: &mut [f64]) -> [f64; 5] {
    // The order statistics the quantiles read, selected in increasing order (each selection
    // leaves only larger values after it): linear time, not a sort of a million residuals.
    let last = v.len().saturating_sub(1) as f64;
    let mut needed: Vec<usize> = [0.0, 0.25, 0.5, 0.75, 1.0]
        .iter()
        .flat_map(|p| [(last * p).floor() as usize, (last * p).ceil() as usize])
        .collect();
    needed.dedup();
    let mut start = 0;
    for &k in &needed {
        if k < v.len() && k >= start {
            v[start..].select_nth_unstable_by(k - start, f64::total_cmp);
            start = k + 1;
        }
    }
    let q = |p: f64| {
        if v.is_empty() {
            return f64::NAN;
        }
        let h = (v.len() - 1) as f64 * p;
        let lo = h.floor() as usize;
        let hi = h.ceil() as usize;
        v[lo] + (h - lo as f64) * (v[hi] - v[lo])
    };
    [q(0.0), q(0.25), q(0.5), q(0.75), q(1.0)]
}

/// R's "(n observations deleted due to missingness)" line, when any were.
pub(crate) fn dropped_line(
    f: &mut std::fmt::Formatter<'_>,
    m: &crate::formula::Missingness,
) -> std::fmt::Result {
    match m.n_dropped() {
        0 => Ok(()),
        1 => writeln!(f, "(1 observation deleted due to missingness)"),
        n => writeln!(f, "({n} observations deleted due to missingness)"),
    }
}

/// The five-number summary of residuals, as R's `summary()` prints it, with a heading.
pub(crate) fn residual_summary(
    f: &mut std::fmt::Formatter<'_>,
    heading: &str,
    mut residuals: Vec<f64>,
) -> std::fmt::Result {
    let q = quantiles5_in_place(&mut residuals);
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
            let mut v = x.clone();
            v.sort_by(f64::total_cmp);
            let want = [0.0, 0.25, 0.5, 0.75, 1.0].map(|p: f64| {
                if v.is_empty() {
                    return f64::NAN;
                }
                let h = (v.len() - 1) as f64 * p;
                let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
                v[lo] + (h - lo as f64) * (v[hi] - v[lo])
            });
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
