//! Power by simulation for the moderator model `y ~ x * z (+ (1 | therapist))`.
//!
//! Each replicate simulates a design (therapists × clients, an ICC, effects of x, z and x·z),
//! fits the model, and records whether the target coefficient is significant. Replicate i uses
//! `Rng::stream(seed, i)`, so runs split across machines merge to the same answer and results
//! do not depend on the number of threads. The Monte Carlo interval is Wilson's.
//! [`exact_ols_power`] gives the closed form (noncentral t) for single-level designs with fixed
//! predictors, which the simulation must reproduce within Monte Carlo error.

use crate::data::Data;
use crate::error::{Error, Result};
use crate::lmm::{Criterion, Ddf, FitOptions, LmmSpec};
use crate::regression::Ols;
use crate::rng::Rng;
use crate::stats::{normal_quantile, t_quantile};
use statrs::distribution::{ContinuousCDF, Normal};

/// Which coefficient's power is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Target {
    /// The focal predictor x.
    X,
    /// The moderator z.
    Z,
    /// The interaction x:z.
    Interaction,
}

impl Target {
    fn term(self) -> &'static str {
        match self {
            Target::X => "x",
            Target::Z => "z",
            Target::Interaction => "x:z",
        }
    }
}

/// A design to simulate.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PowerDesign {
    /// Number of therapists.
    pub therapists: usize,
    /// Clients per therapist.
    pub clients_per_therapist: usize,
    /// Intraclass correlation of the therapist random intercept (0 for none).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub icc: f64,
    /// Effect of x (residual SD is 1).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub b_x: f64,
    /// Effect of z.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub b_z: f64,
    /// Effect of x·z.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub b_xz: f64,
    /// The coefficient whose power is estimated.
    pub target: Target,
    /// Significance level.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub alpha: f64,
    /// Fit `(1 | therapist)` by REML with Satterthwaite df (true) or OLS (false).
    pub multilevel: bool,
    /// Keep x and z the same in every replicate (normal quantiles); only errors and therapist
    /// effects are redrawn. Makes the single-level power exactly computable.
    pub fixed_predictors: bool,
}

impl PowerDesign {
    /// The reference study's moderator model: 44 therapists × 7–8 clients (here 7.5 → 8),
    /// ICC 0.08, multilevel.
    pub fn study_like() -> PowerDesign {
        PowerDesign {
            therapists: 44,
            clients_per_therapist: 8,
            icc: 0.08,
            b_x: 0.3,
            b_z: 0.2,
            b_xz: 0.15,
            target: Target::Interaction,
            alpha: 0.05,
            multilevel: true,
            fixed_predictors: false,
        }
    }

    fn n(&self) -> usize {
        self.therapists.saturating_mul(self.clients_per_therapist)
    }

    /// Check the design: at least 2 therapists and 6 clients, at most 10 million clients, an
    /// ICC in [0, 1), α in (0, 1), finite effects no larger than 1,000 residual SDs.
    ///
    /// # Errors
    /// [`Error::Argument`] saying which rule is broken.
    pub fn validate(&self) -> Result<()> {
        let n = self
            .therapists
            .checked_mul(self.clients_per_therapist)
            .filter(|&n| n <= 10_000_000);
        let Some(n) = n else {
            return Err(Error::Argument {
                name: "design".into(),
                message: format!(
                    "{} therapists × {} clients is more than the 10 million clients a simulation takes",
                    self.therapists, self.clients_per_therapist
                ),
            });
        };
        if self.therapists < 2 || self.clients_per_therapist < 1 || n < 6 {
            return Err(Error::Argument {
                name: "design".into(),
                message: "need at least 2 therapists and 6 clients".into(),
            });
        }
        for (name, b) in [("b_x", self.b_x), ("b_z", self.b_z), ("b_xz", self.b_xz)] {
            if !(b.is_finite() && b.abs() <= 1000.0) {
                return Err(Error::Argument {
                    name: name.into(),
                    message: format!(
                        "{b} is not an effect a simulation can use: give a finite number of residual SDs, at most 1000 in size"
                    ),
                });
            }
        }
        if !((0.0..1.0).contains(&self.icc) && self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::Argument {
                name: "design".into(),
                message: "icc must be in [0, 1) and alpha in (0, 1)".into(),
            });
        }
        Ok(())
    }

    fn predictors(&self, rng: &mut Rng) -> (Vec<f64>, Vec<f64>) {
        let n = self.n();
        if self.fixed_predictors {
            // Normal quantiles, z in a scrambled order so that x and z are nearly uncorrelated.
            let q: Vec<f64> = (0..n)
                .map(|i| normal_quantile((i as f64 + 0.5) / n as f64))
                .collect();
            let z = (0..n).map(|i| q[(i * 7919 + 13) % n]).collect();
            (q, z)
        } else {
            (
                (0..n).map(|_| rng.normal()).collect(),
                (0..n).map(|_| rng.normal()).collect(),
            )
        }
    }

    /// Simulate one data set (replicate `index` of a run seeded with `seed`).
    ///
    /// # Errors
    /// As [`PowerDesign::validate`].
    pub fn simulate(&self, seed: u64, index: u64) -> Result<Data> {
        self.validate()?;
        let mut fixed = Rng::new(0);
        let mut rng = Rng::stream(seed, index);
        // Fixed predictors come from their own generator, so the replicate's stream is the
        // same either way.
        let (x, z) = if self.fixed_predictors {
            self.predictors(&mut fixed)
        } else {
            self.predictors(&mut rng)
        };
        let tau = (self.icc / (1.0 - self.icc)).sqrt();
        let u: Vec<f64> = (0..self.therapists).map(|_| tau * rng.normal()).collect();
        let g = therapist_factor(self.n(), self.therapists, self.clients_per_therapist);
        let y: Vec<f64> = (0..self.n())
            .map(|i| {
                self.b_x * x[i]
                    + self.b_z * z[i]
                    + self.b_xz * x[i] * z[i]
                    + u[i / self.clients_per_therapist]
                    + rng.normal()
            })
            .collect();
        Data::new()
            .with_numeric("y", y)
            .and_then(|d| d.with_numeric("x", x))
            .and_then(|d| d.with_numeric("z", z))
            .and_then(|d| d.with_column("therapist", crate::data::Column::Categorical(g)))
    }
}

/// The therapist factor of a simulated design: labels `t0`, `t1`, … (R's order), client i in
/// therapist i / clients per therapist; built from codes, not from a string per client.
pub(crate) fn therapist_factor(
    n: usize,
    therapists: usize,
    clients_per_therapist: usize,
) -> crate::data::Factor {
    crate::data::Factor::from_labels(
        (0..n)
            .map(|i| Some((i / clients_per_therapist) as u32))
            .collect(),
        (0..therapists).map(|t| format!("t{t}")).collect(),
    )
}

/// The outcome of a power simulation.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PowerResult {
    /// Estimated power: share of fitted replicates with p < α.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub power: f64,
    /// Wilson 95% interval for the power.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub ci: [f64; 2],
    /// Replicates run.
    pub replicates: usize,
    /// Replicates with p < α.
    pub significant: usize,
    /// Replicates whose mixed model was singular (still counted).
    pub singular: usize,
    /// Replicates whose fit failed (left out of the power).
    pub failed: usize,
    /// Master seed.
    pub seed: u64,
}

/// One replicate's outcome: `Fit { significant, singular }`, or `Failed`.
pub(crate) enum Outcome {
    Fit { significant: bool, singular: bool },
    Failed,
}

/// Replicates `start .. start + count` of a run seeded with `seed`, each `replicate(i)` in
/// parallel (collected in order, so the counts do not depend on the thread count), counted
/// into a [`PowerResult`].
pub(crate) fn run_replicates<F>(
    start: usize,
    count: usize,
    seed: u64,
    replicate: F,
) -> Result<PowerResult>
where
    F: Fn(u64) -> Outcome + Sync,
{
    if count == 0 {
        return Err(Error::Argument {
            name: "replicates".into(),
            message: "need at least one".into(),
        });
    }
    crate::limits::check_count(
        "replicates",
        count,
        crate::limits::MAX_POWER_REPLICATES,
        std::mem::size_of::<Outcome>(),
    )?;
    start.checked_add(count).ok_or_else(|| Error::Argument {
        name: "start".into(),
        message: format!("replicates {start} + {count} overflow"),
    })?;
    let outcomes: Vec<Outcome> = crate::progress::map(count, "power", "replicates", |i| {
        replicate((start + i) as u64)
    });
    let (mut sig, mut singular, mut failed) = (0, 0, 0);
    for o in &outcomes {
        match o {
            Outcome::Fit {
                significant,
                singular: s,
            } => {
                sig += usize::from(*significant);
                singular += usize::from(*s);
            }
            Outcome::Failed => failed += 1,
        }
    }
    Ok(PowerResult::from_counts(count, sig, singular, failed, seed))
}

fn replicate(d: &PowerDesign, seed: u64, i: u64) -> Outcome {
    let Ok(data) = d.simulate(seed, i) else {
        return Outcome::Failed;
    };
    let term = d.target.term();
    if d.multilevel {
        let fit = LmmSpec::new(&data, "y ~ x * z + (1 | therapist)")
            .and_then(|s| s.fit_with(Criterion::Reml, &FitOptions::with_ddf(Ddf::Satterthwaite)));
        match fit {
            Ok(f) => match f.coefficient(term) {
                Some(c) if c.p.is_finite() => Outcome::Fit {
                    significant: c.p < d.alpha,
                    singular: f.is_singular(),
                },
                _ => Outcome::Failed,
            },
            Err(_) => Outcome::Failed,
        }
    } else {
        match Ols::fit(&data, "y ~ x * z") {
            Ok(f) => match f.coefficient(term) {
                Some(c) => Outcome::Fit {
                    significant: c.p < d.alpha,
                    singular: false,
                },
                None => Outcome::Failed,
            },
            Err(_) => Outcome::Failed,
        }
    }
}

impl PowerResult {
    /// A result from its counts: power among the fitted replicates, with Wilson's interval;
    /// not a number (JSON `null`) when fewer than half the replicates could be fitted, since
    /// the fitted ones are then no sample of the design (a binary outcome with complete
    /// separation in 19 of 20 replicates reported power 0.000 from the one that fitted).
    pub(crate) fn from_counts(
        replicates: usize,
        significant: usize,
        singular: usize,
        failed: usize,
        seed: u64,
    ) -> PowerResult {
        let fitted = replicates - failed;
        let estimable = fitted > 0 && 2 * fitted >= replicates;
        PowerResult {
            power: if estimable {
                significant as f64 / fitted as f64
            } else {
                f64::NAN
            },
            ci: if estimable {
                wilson(significant, fitted)
            } else {
                [f64::NAN, f64::NAN]
            },
            replicates,
            significant,
            singular,
            failed,
            seed,
        }
    }

    /// Whether the power could be estimated: at least half the replicates were fitted.
    pub fn is_estimable(&self) -> bool {
        self.power.is_finite()
    }

    /// Combine two parts of one run (same design and seed, disjoint replicate ranges).
    ///
    /// # Errors
    /// [`Error::Argument`] if the seeds differ.
    pub fn merge(&self, other: &PowerResult) -> Result<PowerResult> {
        if self.seed != other.seed {
            return Err(Error::Argument {
                name: "other".into(),
                message: "parts of one run share its seed".into(),
            });
        }
        Ok(PowerResult::from_counts(
            self.replicates + other.replicates,
            self.significant + other.significant,
            self.singular + other.singular,
            self.failed + other.failed,
            self.seed,
        ))
    }
}

/// Wilson score interval for a proportion.
fn wilson(k: usize, n: usize) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    let z = normal_quantile(0.975);
    let (nf, p) = (n as f64, k as f64 / n as f64);
    let centre = (p + z * z / (2.0 * nf)) / (1.0 + z * z / nf);
    let half = z / (1.0 + z * z / nf) * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt();
    [centre - half, centre + half]
}

/// Estimate the power of `design` with `replicates` simulated data sets.
///
/// # Errors
/// [`Error::Argument`] for an impossible design or no replicates.
///
/// ```
/// use securebase::simulate::power::{exact_ols_power, power, PowerDesign};
/// let mut d = PowerDesign::study_like();
/// d.multilevel = false; // OLS, whose power has a closed form to check against
/// d.icc = 0.0;
/// d.fixed_predictors = true;
/// d.therapists = 20;
/// let exact = exact_ols_power(&d)?;
/// let sim = power(&d, 2000, 1)?;
/// let se = (exact * (1.0 - exact) / 2000.0).sqrt();
/// assert!((sim.power - exact).abs() < 4.0 * se, "{} vs {exact}", sim.power);
/// assert!(sim.ci[0] < sim.power && sim.power < sim.ci[1]);
/// # Ok::<(), securebase::Error>(())
/// ```
pub fn power(design: &PowerDesign, replicates: usize, seed: u64) -> Result<PowerResult> {
    power_range(design, 0, replicates, seed)
}

/// Replicates `start .. start + count` of a run seeded with `seed`: split a long run across
/// machines and combine the parts with [`PowerResult::merge`].
///
/// # Errors
/// As [`power`].
pub fn power_range(
    design: &PowerDesign,
    start: usize,
    count: usize,
    seed: u64,
) -> Result<PowerResult> {
    design.validate()?;
    run_replicates(start, count, seed, |i| replicate(design, seed, i))
}

/// Power over a range of numbers of therapists (the caseload held fixed). Each point uses its
/// own seed stream derived from `seed` and the number of therapists.
///
/// # Errors
/// As [`power`].
pub fn power_curve(
    design: &PowerDesign,
    therapists: &[usize],
    replicates: usize,
    seed: u64,
) -> Result<Vec<(usize, PowerResult)>> {
    therapists
        .iter()
        .map(|&t| {
            let mut d = design.clone();
            d.therapists = t;
            power(
                &d,
                replicates,
                seed ^ (t as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            )
            .map(|r| (t, r))
        })
        .collect()
}

/// Exact two-sided power of the OLS t test of the target coefficient for a single-level design
/// with fixed predictors (noncentral t with δ = b / √[(X′X)⁻¹]ₜₜ on n − 4 df), by integrating
/// over the χ² distribution of the variance estimate.
///
/// # Errors
/// [`Error::Argument`] for a multilevel design, random predictors, or an impossible design.
pub fn exact_ols_power(design: &PowerDesign) -> Result<f64> {
    design.validate()?;
    if design.multilevel || !design.fixed_predictors || design.icc != 0.0 {
        return Err(Error::Argument {
            name: "design".into(),
            message: "the closed form needs a single-level design (icc 0) with fixed predictors"
                .into(),
        });
    }
    let data = design.simulate(0, 0)?;
    let fit = Ols::fit(&data, "y ~ x * z")?;
    // (X'X)^{-1}_tt = vcov_tt / σ̂² (free of the simulated y).
    let names = fit.terms();
    let j = names
        .iter()
        .position(|t| *t == design.target.term())
        .ok_or_else(|| Error::Term {
            term: design.target.term().into(),
            message: "not in the fitted model".into(),
        })?;
    let c = fit.vcov()[j][j] / fit.sigma().powi(2);
    let b = match design.target {
        Target::X => design.b_x,
        Target::Z => design.b_z,
        Target::Interaction => design.b_xz,
    };
    let delta = b / c.sqrt();
    let nu = fit.df_residual();
    let crit = t_quantile(1.0 - design.alpha / 2.0, nu);
    let normal = Normal::standard();
    // E_V[Φ(δ − c√(V/ν)) + Φ(−δ − c√(V/ν))], V ~ χ²_ν, by Simpson's rule.
    let ln_norm = -(nu / 2.0) * 2f64.ln() - statrs::function::gamma::ln_gamma(nu / 2.0);
    let upper = nu + 40.0 * (2.0 * nu).sqrt();
    let steps = 20_000;
    let h = upper / steps as f64;
    let f = |v: f64| {
        if v <= 0.0 {
            return 0.0;
        }
        let dens = (ln_norm + (nu / 2.0 - 1.0) * v.ln() - v / 2.0).exp();
        let s = crit * (v / nu).sqrt();
        dens * (normal.cdf(delta - s) + normal.cdf(-delta - s))
    };
    let mut acc = f(0.0) + f(upper);
    for k in 1..steps {
        acc += f(k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 };
    }
    Ok(acc * h / 3.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_interval_closed_form() {
        // 50 of 100: centre 0.5, half-width z/(1+z²/n)·√(0.0025 + z²/40000)
        let [lo, hi] = wilson(50, 100);
        let z = 1.959963984540054;
        let half = z / (1.0 + z * z / 100.0) * (0.0025f64 + z * z / 40_000.0).sqrt();
        assert!((lo - (0.5 - half)).abs() < 1e-12 && (hi - (0.5 + half)).abs() < 1e-12);
    }

    #[test]
    fn exact_power_at_zero_effect_is_alpha() {
        let mut d = PowerDesign::study_like();
        d.multilevel = false;
        d.icc = 0.0;
        d.fixed_predictors = true;
        d.b_x = 0.0;
        d.target = Target::X;
        assert!((exact_ols_power(&d).unwrap() - 0.05).abs() < 1e-7);
    }
}
