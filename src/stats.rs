//! Distribution helpers and the coefficient row shared by every model's summary.
//!
//! Tail probabilities are computed from the regularized incomplete beta function directly (not
//! as `1 - cdf`), so p-values keep their relative accuracy down to 1e-300.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use statrs::function::beta::beta_reg;

/// Whether `x` is a number greater than zero (false for NaN).
fn positive(x: f64) -> bool {
    x > 0.0
}

/// Two-sided p-value of a t statistic on `df` degrees of freedom.
///
/// p = I_{df/(df+t²)}(df/2, 1/2); for infinite `df`, the normal tail.
pub fn t_two_sided(t: f64, df: f64) -> f64 {
    if !t.is_finite() || !positive(df) {
        return f64::NAN;
    }
    if df.is_infinite() {
        return normal_two_sided(t);
    }
    beta_reg(df / 2.0, 0.5, df / (df + t * t))
}

/// P(Q > q) for the studentized range of `k` means on `df` degrees of freedom (infinite for
/// normal means): Tukey's p-value for a pairwise t of |t| = q/√2. R's
/// `ptukey(q, k, df, lower.tail = FALSE)`.
///
/// ```
/// let p = securebase::stats::tukey_upper(3.5, 3.0, 20.0);
/// assert!((p - 0.05589185).abs() < 1e-7); // R: 0.05589185
/// ```
pub fn tukey_upper(q: f64, k: f64, df: f64) -> f64 {
    crate::studentized::ptukey_upper(q, k, df)
}

/// The `p` quantile of the studentized range of `k` means on `df` degrees of freedom, R's
/// `qtukey(p, k, df)`.
pub fn tukey_quantile(p: f64, k: f64, df: f64) -> f64 {
    crate::studentized::qtukey(p, k, df)
}

/// Two-sided p-value of a standard normal statistic.
pub fn normal_two_sided(z: f64) -> f64 {
    statrs::function::erf::erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// Upper-tail p-value of an F statistic with (`d1`, `d2`) degrees of freedom.
pub fn f_upper(f: f64, d1: f64, d2: f64) -> f64 {
    if f.is_nan() || f < 0.0 || !positive(d1) || !positive(d2) {
        return f64::NAN;
    }
    beta_reg(d2 / 2.0, d1 / 2.0, d2 / (d2 + d1 * f))
}

/// Upper-tail p-value of a chi-square statistic with `df` degrees of freedom.
pub fn chisq_upper(x: f64, df: f64) -> f64 {
    if x.is_nan() || x < 0.0 || !positive(df) {
        return f64::NAN;
    }
    statrs::function::gamma::gamma_ur(df / 2.0, x / 2.0)
}

/// The `p` quantile of Student's t on `df` degrees of freedom (normal for infinite `df`).
/// `NaN` for `p` outside [0, 1] or `df` not positive, as R's `qt()` gives.
///
/// Newton's method on the log of the exact upper tail (the regularized incomplete beta
/// function) in log x, from the Cornish–Fisher expansion (or, for heavy tails, the tail's
/// power law): in the tails log P(T > x) is nearly linear in log x, so a few steps reach full
/// precision. statrs' generic inverse is the fallback if the iteration fails.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) || !positive(df) {
        return f64::NAN;
    }
    if df.is_infinite() {
        return normal_quantile(p);
    }
    if p == 0.5 {
        return 0.0;
    }
    if p == 0.0 || p == 1.0 {
        return if p == 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let tail = p.min(1.0 - p);
    let sign = if p < 0.5 { -1.0 } else { 1.0 };
    match t_upper_quantile(tail, df) {
        Some(x) => sign * x,
        None => t_quantile_fallback(p, df),
    }
}

/// The x > 0 with P(T > x) = `tail` (0 < tail < 1/2), or `None` if Newton's method fails.
fn t_upper_quantile(tail: f64, df: f64) -> Option<f64> {
    use statrs::function::gamma::ln_gamma;
    let ln_c =
        ln_gamma((df + 1.0) / 2.0) - ln_gamma(df / 2.0) - 0.5 * (df * std::f64::consts::PI).ln();
    let ln_tail = |x: f64| (0.5 * beta_reg(df / 2.0, 0.5, df / (df + x * x))).ln();
    let ln_pdf = |x: f64| ln_c - (df + 1.0) / 2.0 * (x * x / df).ln_1p();
    let target = tail.ln();
    // Cornish–Fisher from the normal quantile; the power law P(T > x) ≈ c ν^((ν−1)/2) x^(−ν)
    // for heavy tails. Start from whichever is closer in log tail.
    let z = -normal_quantile(tail);
    let (z2, n) = (z * z, df);
    let cf = z
        + z * (z2 + 1.0) / (4.0 * n)
        + z * ((5.0 * z2 + 16.0) * z2 + 3.0) / (96.0 * n * n)
        + z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / (384.0 * n * n * n);
    if df >= 1e5 {
        // The expansion's next term is O(z⁹/ν⁴) < 1e-12 relative here, while the incomplete
        // beta function loses digits at such df.
        return Some(cf);
    }
    // The expansion is usually within 1e-4 of the root; only when it is far off (heavy tails,
    // small ν) is the power law tried too (each try costs an incomplete beta function).
    let consider = |best: &mut Option<(f64, f64, f64)>, x: f64| {
        if x.is_finite() && x > 0.0 {
            let lt = ln_tail(x);
            let err = (lt - target).abs();
            if err.is_finite() && best.is_none_or(|(_, _, e)| err < e) {
                *best = Some((x, lt, err));
            }
        }
    };
    let mut best = None;
    consider(&mut best, cf);
    if best.is_none_or(|(_, _, e)| e > 0.05) {
        let power = ((ln_c + (df - 1.0) / 2.0 * df.ln() - target) / df).exp();
        consider(&mut best, power);
    }
    let (mut x, mut lt, _) = best?;
    for _ in 0..60 {
        // g(u) = log P(T > e^u) − log tail; g'(u) = −x f(x) / P(T > x).
        let slope = -(x.ln() + ln_pdf(x) - lt).exp();
        let step = (lt - target) / slope;
        if !step.is_finite() {
            return None;
        }
        // Damped in log x so an early step cannot leave the domain.
        let step = step.clamp(-2.0, 2.0);
        x *= (-step).exp();
        // Quadratic convergence: a step of 1e-7 leaves an error of order 1e-14 in log x, far
        // below the precision of the tail itself.
        if step.abs() < 1e-7 {
            return x.is_finite().then_some(x);
        }
        lt = ln_tail(x);
    }
    None
}

/// statrs' inverse cdf refined by Newton steps on the exact cdf.
fn t_quantile_fallback(p: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => {
            let mut x = d.inverse_cdf(p);
            for _ in 0..4 {
                let dens = statrs::distribution::Continuous::pdf(&d, x);
                if dens <= 0.0 || !x.is_finite() {
                    break;
                }
                let target = if x < 0.0 { p } else { 1.0 - p };
                let tail = 0.5 * t_two_sided(x, df);
                let step = if x < 0.0 {
                    (tail - target) / dens
                } else {
                    (target - tail) / dens
                };
                x -= step;
                if step.abs() < 1e-15 * x.abs().max(1.0) {
                    break;
                }
            }
            x
        }
        Err(_) => f64::NAN,
    }
}

/// The `p` quantile of the standard normal; `NaN` for `p` outside [0, 1], as R's `qnorm()`.
pub fn normal_quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    Normal::standard().inverse_cdf(p)
}

/// Check contrast weights: one finite weight per fixed effect, not all zero.
pub(crate) fn check_weights(l: &[f64], p: usize) -> crate::Result<()> {
    if l.len() != p || l.iter().any(|w| !w.is_finite()) || l.iter().all(|&w| w == 0.0) {
        return Err(crate::Error::Argument {
            name: "l".into(),
            message: format!(
                "needs {p} finite weights (one per fixed effect), not all zero; got {:?}",
                l
            ),
        });
    }
    Ok(())
}

/// Check a confidence level: a number strictly between 0 and 1.
///
/// # Errors
/// [`crate::Error::Argument`] naming the argument otherwise (NaN, 0, 1, 95, …).
pub fn check_level(level: f64) -> crate::Result<()> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(crate::Error::Argument {
            name: "level".into(),
            message: format!(
                "a confidence level must be strictly between 0 and 1 (e.g. 0.95), not {level}"
            ),
        })
    }
}

/// One row of a coefficient table: estimate, standard error, df, t (or z), p, and a confidence
/// interval.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Coefficient {
    /// Term name as R prints it (`(Intercept)`, `SexMale`, `age:SexMale`).
    pub term: String,
    /// Point estimate.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub estimate: f64,
    /// Standard error.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub std_error: f64,
    /// Degrees of freedom of the t reference distribution (infinite for a z test).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub df: f64,
    /// Estimate / standard error.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub t: f64,
    /// Two-sided p-value.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub p: f64,
    /// Confidence interval (lower, upper) at the level the table was made for.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub ci: [f64; 2],
}

impl Coefficient {
    /// A row from an estimate, its standard error and df, with a `level` CI (e.g. 0.95).
    ///
    /// # Errors
    /// [`crate::Error::Argument`] for a level not strictly between 0 and 1, a negative or NaN
    /// standard error, or a df that is not positive.
    pub fn new(
        term: &str,
        estimate: f64,
        std_error: f64,
        df: f64,
        level: f64,
    ) -> crate::Result<Coefficient> {
        check_level(level)?;
        let valid = std_error >= 0.0 && df > 0.0; // false for NaN
        if !valid {
            return Err(crate::Error::Argument {
                name: "std_error".into(),
                message: format!(
                    "a coefficient needs a standard error ≥ 0 and df > 0 (got {std_error} and {df})"
                ),
            });
        }
        Ok(Self::at(term, estimate, std_error, df, level))
    }

    /// [`Coefficient::new`] for arguments the crate has checked (a valid level); a NaN df (no
    /// df available) gives NaN p and CI.
    pub(crate) fn at(
        term: &str,
        estimate: f64,
        std_error: f64,
        df: f64,
        level: f64,
    ) -> Coefficient {
        let t = estimate / std_error;
        let q = t_quantile(0.5 + level / 2.0, df);
        Coefficient {
            term: term.to_string(),
            estimate,
            std_error,
            df,
            t,
            p: t_two_sided(t, df),
            ci: [estimate - q * std_error, estimate + q * std_error],
        }
    }
}

/// R's significance stars for a p-value.
pub(crate) fn stars(p: f64) -> &'static str {
    if p < 0.001 {
        "***"
    } else if p < 0.01 {
        "**"
    } else if p < 0.05 {
        "*"
    } else if p < 0.1 {
        "."
    } else {
        ""
    }
}

/// Format a p-value as R's `format.pval` does at 3 significant digits.
pub(crate) fn format_p(p: f64) -> String {
    if p.is_nan() {
        "NA".into()
    } else if p < 2e-16 {
        "< 2e-16".into()
    } else if p < 1e-4 {
        format!("{p:.2e}")
    } else {
        let decimals = (2 - p.log10().floor() as i32).max(0) as usize;
        format!("{p:.decimals$}")
    }
}

/// Whether two coefficient tables have the same terms and, to 1e-9 relative, the same
/// estimates and standard errors (how a deserialized fit is checked against its refit).
#[cfg(feature = "serde")]
pub(crate) fn same_estimates(a: &[Coefficient], b: &[Coefficient]) -> bool {
    let agree = |x: f64, y: f64| {
        (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
    };
    a.len() == b.len()
        && a.iter().zip(b).all(|(a, b)| {
            a.term == b.term && agree(a.estimate, b.estimate) && agree(a.std_error, b.std_error)
        })
}

#[cfg(test)]
mod tests {

    /// R's qt() on a grid of p (1e-12 … 1 − 1e-8) and df (0.3 … 1e8), from
    /// tests/reference/qt.R.
    #[cfg(feature = "serde")]
    #[test]
    fn t_quantile_equals_r_qt() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/qt.json"
        ))
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let col = |k: &str| -> Vec<f64> {
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        let (p, df, q) = (col("p"), col("df"), col("q"));
        let mut worst: f64 = 0.0;
        for i in 0..p.len() {
            let got = t_quantile(p[i], df[i]);
            let rel = ((got - q[i]) / q[i]).abs();
            // For p near 1 the upper tail 1 − p carries a rounding error of ~1e-16 absolute,
            // which the quantile amplifies by 1/(tail · df) in relative terms.
            let tail = p[i].min(1.0 - p[i]);
            let conditioning = if p[i] > 0.5 {
                2.2e-16 / (tail * df[i])
            } else {
                0.0
            };
            if (got - q[i]).abs() >= 1e-13 {
                worst = worst.max(rel - conditioning);
            }
            assert!(
                rel < 1e-9 + conditioning || (got - q[i]).abs() < 1e-13,
                "p {} df {}: {got} vs R {}",
                p[i],
                df[i],
                q[i]
            );
        }
        assert!(worst < 1e-9, "{worst}");
        // The Newton iteration itself converged everywhere (no fallback to statrs).
        for i in 0..p.len() {
            if p[i] != 0.5 {
                let tail = p[i].min(1.0 - p[i]);
                assert!(
                    t_upper_quantile(tail, df[i]).is_some(),
                    "p {} df {}",
                    p[i],
                    df[i]
                );
            }
        }
        assert!(t_quantile(0.5, 3.0) == 0.0 && t_quantile(1.0, 3.0).is_infinite());
        assert!(t_quantile(0.3, -1.0).is_nan() && t_quantile(1.2, 3.0).is_nan());
        assert!(t_quantile(0.3, f64::NAN).is_nan());
    }

    use super::*;
    use approx::assert_relative_eq;

    // Closed forms: t on 1 df is Cauchy, P(|T| > t) = 1 - 2 atan(t)/pi; on 2 df,
    // P(|T| > t) = 1 - t / sqrt(2 + t^2).
    #[test]
    fn t_tails_match_closed_forms() {
        for &t in &[0.1, 1.0, 2.5, 30.0] {
            let cauchy = 1.0 - 2.0 * f64::atan(t) / std::f64::consts::PI;
            assert_relative_eq!(t_two_sided(t, 1.0), cauchy, max_relative = 1e-12);
            let two = 1.0 - t / (2.0 + t * t).sqrt();
            assert_relative_eq!(t_two_sided(t, 2.0), two, max_relative = 1e-10);
        }
    }

    #[test]
    fn t_quantile_inverts_closed_form() {
        // df = 2: quantile q(p) = (2p - 1) / sqrt(2 p (1 - p)).
        for &p in &[0.6f64, 0.975, 0.995] {
            let exact = (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt();
            assert_relative_eq!(t_quantile(p, 2.0), exact, max_relative = 1e-12);
        }
    }

    #[test]
    fn p_values_print_with_three_significant_digits() {
        assert_eq!(format_p(0.000459), "0.000459");
        assert_eq!(format_p(0.3921), "0.392");
        assert_eq!(format_p(1e-20), "< 2e-16");
        assert_eq!(format_p(3.2e-6), "3.20e-6");
    }

    #[test]
    fn f_and_chisq_tails() {
        // F(1, d2) = T^2 on d2 df.
        assert_relative_eq!(
            f_upper(4.0, 1.0, 7.0),
            t_two_sided(2.0, 7.0),
            max_relative = 1e-12
        );
        // chi-square on 2 df: exp(-x/2).
        assert_relative_eq!(chisq_upper(3.0, 2.0), (-1.5f64).exp(), max_relative = 1e-12);
    }
}
