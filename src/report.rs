//! Shared text layout for result tables (coefficients, variance components).
//!
//! Results compute numbers; this module only formats them. Every result type also serializes
//! with serde for machine-readable reports.

use crate::stats::{Coefficient, format_p, stars};

/// Min, 1st quartile, median, 3rd quartile, max (R's type-7 quantiles).
pub(crate) fn quantiles5(x: &[f64]) -> [f64; 5] {
    let mut v: Vec<f64> = x.to_vec();
    v.sort_by(f64::total_cmp);
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
    out.push_str(&format!(" {:>9} {:>10}\n", stat, "Pr(>|t|)"));
    for c in rows {
        out.push_str(&format!(
            "{:w$} {:>12.5} {:>12.5}",
            c.term, c.estimate, c.std_error
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
