//! The parametric bootstrap of a linear mixed model (lme4's `bootMer`): simulate a response
//! from the fit, refit, compute a statistic; percentile and basic intervals from the
//! replicates.
//!
//! Replicate r simulates from its own random stream and refits from the original θ̂, so the
//! replicates are identical for any number of threads (and with the `parallel` feature off).
//! Refits that fail, and replicates whose statistic is not finite, are counted and left out.
//!
//! Intervals at level 1 − α: percentile [q(α/2), q(1 − α/2)] and basic
//! [2t̂ − q(1 − α/2), 2t̂ − q(α/2)], with q R's type-7 quantiles of the replicates and t̂ the
//! statistic of the original fit (Davison & Hinkley 1997, §5.2–5.3).

use super::{Ddf, FitOptions, LmmFit};
use crate::error::{Error, Result};

/// The replicates of a parametric bootstrap and their intervals.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ParametricBootstrap {
    /// What each statistic is (empty when the caller gave none).
    pub names: Vec<String>,
    /// The statistic of the original fit.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub original: Vec<f64>,
    /// The statistic of each successful replicate, in replicate order.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub replicates: Vec<Vec<f64>>,
    /// Replicates asked for.
    pub nsim: usize,
    /// Replicates whose refit failed or whose statistic was not finite (left out).
    pub failed: usize,
    /// The seed.
    pub seed: u64,
}

/// One statistic's bootstrap summary.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct BootInterval {
    /// What the statistic is.
    pub name: String,
    /// Its value in the original fit.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub estimate: f64,
    /// The SD of the replicates (the bootstrap standard error).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub std_error: f64,
    /// The percentile interval.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub percentile: [f64; 2],
    /// The basic (reverse-percentile) interval.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub basic: [f64; 2],
    /// The level.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub level: f64,
}

/// The most replicates a simulation or bootstrap takes.
const MAX_NSIM: usize = 10_000_000;

/// Refuse more than [`MAX_NSIM`] replicates.
pub(crate) fn check_nsim(nsim: usize) -> Result<()> {
    if nsim > MAX_NSIM {
        return Err(Error::Argument {
            name: "nsim".into(),
            message: format!("{nsim} replicates is more than the 10,000,000 allowed"),
        });
    }
    Ok(())
}

/// The statistic of the original fit, checked: non-empty and finite.
pub(crate) fn check_original(original: &[f64]) -> Result<()> {
    if original.is_empty() || original.iter().any(|v| !v.is_finite()) {
        return Err(Error::Argument {
            name: "statistic".into(),
            message: format!(
                "the statistic of the original fit must be finite numbers (got {original:?})"
            ),
        });
    }
    Ok(())
}

/// Run `nsim` replicates in parallel, replicate r on its own stream `Rng::stream(seed, r)`;
/// a replicate that gives `None` or a statistic of another length or not finite is counted as
/// failed and left out.
pub(crate) fn run_replicates<F>(
    names: Vec<String>,
    original: Vec<f64>,
    nsim: usize,
    seed: u64,
    replicate: F,
) -> ParametricBootstrap
where
    F: Fn(&mut crate::rng::Rng) -> Option<Vec<f64>> + Sync + Send,
{
    let k = original.len();
    let results: Vec<Option<Vec<f64>>> = crate::par::map(nsim, |r| {
        let t = replicate(&mut crate::rng::Rng::stream(seed, r as u64))?;
        (t.len() == k && t.iter().all(|v| v.is_finite())).then_some(t)
    });
    let failed = results.iter().filter(|r| r.is_none()).count();
    ParametricBootstrap {
        names,
        original,
        replicates: results.into_iter().flatten().collect(),
        nsim,
        failed,
        seed,
    }
}

/// R's type-7 quantile of sorted values.
fn quantile7(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

impl ParametricBootstrap {
    /// Percentile and basic intervals and the bootstrap SE of every statistic.
    ///
    /// # Errors
    /// [`Error::Argument`] for a level not strictly between 0 and 1, or fewer than two
    /// successful replicates.
    pub fn intervals(&self, level: f64) -> Result<Vec<BootInterval>> {
        crate::stats::check_level(level)?;
        if self.replicates.len() < 2 {
            return Err(Error::Argument {
                name: "nsim".into(),
                message: format!(
                    "{} successful replicates ({} failed): too few for an interval",
                    self.replicates.len(),
                    self.failed
                ),
            });
        }
        let a = (1.0 - level) / 2.0;
        Ok(self
            .original
            .iter()
            .enumerate()
            .map(|(k, &t)| {
                let mut v: Vec<f64> = self.replicates.iter().map(|r| r[k]).collect();
                v.sort_by(f64::total_cmp);
                let (lo, hi) = (quantile7(&v, a), quantile7(&v, 1.0 - a));
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
                BootInterval {
                    name: self
                        .names
                        .get(k)
                        .cloned()
                        .unwrap_or_else(|| format!("t{}", k + 1)),
                    estimate: t,
                    std_error: var.sqrt(),
                    percentile: [lo, hi],
                    basic: [2.0 * t - hi, 2.0 * t - lo],
                    level,
                }
            })
            .collect())
    }
}

impl LmmFit {
    /// A parametric bootstrap of `statistic` (see the module docs): `nsim` responses simulated
    /// from this fit, each refitted from this fit's θ to within 1e-6 in θ, without df (the
    /// statistic sees a fit with asymptotic df) and without the optimum check, in parallel and
    /// identical for any thread count.
    ///
    /// ```
    /// use securebase::{Criterion, Data, LmmSpec};
    /// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sleepstudy.csv"))?;
    /// let fit = LmmSpec::new(&data, "Reaction ~ Days + (1 | Subject)")?.fit(Criterion::Reml)?;
    /// let boot = fit.bootstrap(50, 7, |f| vec![f.icc().adjusted, f.sigma()])?;
    /// let ci = boot.intervals(0.95)?;
    /// assert!(ci[0].percentile[0] < ci[0].estimate && ci[0].estimate < ci[0].percentile[1]);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Argument`] for more than 10⁷ replicates or a statistic of the original fit that
    /// is empty or not finite.
    pub fn bootstrap<F>(&self, nsim: usize, seed: u64, statistic: F) -> Result<ParametricBootstrap>
    where
        F: Fn(&LmmFit) -> Vec<f64> + Sync + Send,
    {
        self.bootstrap_named(Vec::new(), nsim, seed, statistic)
    }

    /// [`LmmFit::bootstrap`] with names for the statistic's values.
    ///
    /// # Errors
    /// As [`LmmFit::bootstrap`], and [`Error::Argument`] if `names` is not empty and does not
    /// name every value.
    pub fn bootstrap_named<F>(
        &self,
        names: Vec<String>,
        nsim: usize,
        seed: u64,
        statistic: F,
    ) -> Result<ParametricBootstrap>
    where
        F: Fn(&LmmFit) -> Vec<f64> + Sync + Send,
    {
        check_nsim(nsim)?;
        let original = statistic(self);
        check_original(&original)?;
        if !names.is_empty() && names.len() != original.len() {
            return Err(Error::Argument {
                name: "names".into(),
                message: format!(
                    "{} names for a statistic of {} values",
                    names.len(),
                    original.len()
                ),
            });
        }
        let mean = self.population_mean();
        // Refits from θ̂ (a trust region of 0.05 to start: the replicate's optimum is near),
        // without df and without the optimum check, to θ within 1e-6: the bootstrap's Monte
        // Carlo error is far larger.
        let options = FitOptions {
            start: Some(self.theta().to_vec()),
            rho_end: 1e-6,
            rho_begin: 0.05,
            check_optimum: false,
            ..FitOptions::with_ddf(Ddf::Asymptotic)
        };
        Ok(run_replicates(names, original, nsim, seed, |rng| {
            let y = self.simulate_one(rng, &mean);
            let fit = self.refit_options(&y, &options).ok()?;
            Some(statistic(&fit))
        }))
    }

    /// A parametric bootstrap of the variance part: the adjusted and conditional ICC, each
    /// grouping factor's ICC (its intercept variance's share), the residual share, the
    /// marginal and conditional R², σ and every random-effect SD, named.
    ///
    /// # Errors
    /// As [`LmmFit::bootstrap`].
    pub fn bootstrap_variance(&self, nsim: usize, seed: u64) -> Result<ParametricBootstrap> {
        let mut names = vec![
            "ICC (adjusted)".to_string(),
            "ICC (conditional)".to_string(),
        ];
        for g in &self.icc().by_group {
            names.push(format!("ICC {}", g.group));
        }
        names.push("residual share".into());
        names.push("R2 (marginal)".into());
        names.push("R2 (conditional)".into());
        names.push("sigma".into());
        for vc in self.varcorr() {
            for e in &vc.effects {
                names.push(format!("SD {} {e}", vc.group));
            }
        }
        self.bootstrap_named(names, nsim, seed, variance_statistic)
    }
}

/// The statistic of [`LmmFit::bootstrap_variance`].
fn variance_statistic(f: &LmmFit) -> Vec<f64> {
    let icc = f.icc();
    let mut v = vec![icc.adjusted, icc.conditional];
    v.extend(icc.by_group.iter().map(|g| g.icc));
    let s2 = f.sigma().powi(2);
    let random: f64 = f
        .varcorr()
        .iter()
        .map(|vc| vc.variance.first().copied().unwrap_or(0.0))
        .sum();
    v.push(s2 / (s2 + random));
    v.push(f.r2_marginal());
    v.push(f.r2_conditional());
    v.push(f.sigma());
    for vc in f.varcorr() {
        v.extend(vc.sd.iter().copied());
    }
    v
}
