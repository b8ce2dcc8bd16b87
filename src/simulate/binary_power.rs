//! Simulation and power for a binary outcome with a therapist random intercept: drop-out by
//! attachment anxiety,
//!
//! logit P(dropoutᵢⱼ = 1) = logit(baseline) + log(odds ratio) · anxietyᵢⱼ + uⱼ,
//! uⱼ ~ N(0, τ²), anxiety ~ N(0, 1),
//!
//! with τ² set from the ICC on the latent (logistic) scale, ICC = τ² / (τ² + π²/3) (Snijders
//! & Bosker 2012, §17.4). Each replicate is fitted by `glmer(dropout ~ anxiety +
//! (1 | therapist), binomial)` (Laplace, [`crate::glm::Glm::fit_mixed`]) or, single-level, by
//! `glm` ([`crate::glm::Glm::fit`]); the power is the share of fitted replicates whose Wald z
//! test of anxiety has p < α. Replicate i uses `Rng::stream(seed, i)`, so runs split across
//! machines merge ([`PowerResult::merge`]) to the single-machine answer, whatever the thread
//! count. Replicates whose fit fails (e.g. complete separation in a tiny design) are counted
//! as failed and left out of the power, as the linear simulation does.

use super::power::{Outcome, PowerResult, run_replicates};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::glm::{Family, Glm};
use crate::rng::Rng;

/// A binary-outcome design to simulate.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct BinaryDesign {
    /// Number of therapists.
    pub therapists: usize,
    /// Clients per therapist.
    pub clients_per_therapist: usize,
    /// P(drop-out) for a client of average anxiety with an average therapist (u = 0).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub baseline: f64,
    /// Odds ratio of drop-out per SD of anxiety.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub odds_ratio: f64,
    /// ICC of the therapist intercept on the latent logistic scale (0 for none).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub icc: f64,
    /// Significance level of the two-sided Wald z test.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub alpha: f64,
    /// Fit `(1 | therapist)` by Laplace (true) or a single-level GLM (false).
    pub multilevel: bool,
}

impl BinaryDesign {
    /// A drop-out design: `therapists` × `clients_per_therapist` clients, drop-out 25% at
    /// average anxiety, odds ratio 1.5 per SD, latent ICC 0.10, α = 0.05, multilevel.
    pub fn dropout(therapists: usize, clients_per_therapist: usize) -> BinaryDesign {
        BinaryDesign {
            therapists,
            clients_per_therapist,
            baseline: 0.25,
            odds_ratio: 1.5,
            icc: 0.10,
            alpha: 0.05,
            multilevel: true,
        }
    }

    /// The therapist intercept's SD τ on the logit scale from the latent ICC.
    pub fn tau(&self) -> f64 {
        let resid = std::f64::consts::PI.powi(2) / 3.0;
        (self.icc / (1.0 - self.icc) * resid).sqrt()
    }

    /// Check the design: at least 2 therapists and 6 clients, at most 10 million clients, a
    /// baseline in (0, 1), a finite positive odds ratio, an ICC in [0, 1), α in (0, 1).
    ///
    /// # Errors
    /// [`Error::Argument`] saying which rule is broken.
    pub fn validate(&self) -> Result<()> {
        let arg = |name: &str, message: String| {
            Err(Error::Argument {
                name: name.into(),
                message,
            })
        };
        match self.therapists.checked_mul(self.clients_per_therapist) {
            Some(n) if (6..=10_000_000).contains(&n) && self.therapists >= 2 => {}
            _ => {
                return arg(
                    "design",
                    format!(
                        "{} therapists × {} clients: need at least 2 therapists and 6 clients, at most 10 million",
                        self.therapists, self.clients_per_therapist
                    ),
                );
            }
        }
        if !(self.baseline > 0.0 && self.baseline < 1.0) {
            return arg(
                "baseline",
                format!(
                    "{} is not a probability strictly between 0 and 1",
                    self.baseline
                ),
            );
        }
        if !(self.odds_ratio.is_finite() && self.odds_ratio > 0.0) {
            return arg(
                "odds_ratio",
                format!("{} is not a finite positive odds ratio", self.odds_ratio),
            );
        }
        if !((0.0..1.0).contains(&self.icc) && self.alpha > 0.0 && self.alpha < 1.0) {
            return arg("design", "icc must be in [0, 1) and alpha in (0, 1)".into());
        }
        Ok(())
    }

    /// Simulate one data set (replicate `index` of a run seeded with `seed`): columns
    /// `dropout` (0/1), `anxiety` (standard normal) and `therapist` (`t0`, `t1`, …).
    /// SIMULATED DATA.
    ///
    /// # Errors
    /// As [`BinaryDesign::validate`].
    pub fn simulate(&self, seed: u64, index: u64) -> Result<Data> {
        self.validate()?;
        let mut rng = Rng::stream(seed, index);
        let n = self.therapists * self.clients_per_therapist;
        let tau = self.tau();
        let u: Vec<f64> = (0..self.therapists).map(|_| tau * rng.normal()).collect();
        let b0 = (self.baseline / (1.0 - self.baseline)).ln();
        let b1 = self.odds_ratio.ln();
        let mut anxiety = Vec::with_capacity(n);
        let mut dropout = Vec::with_capacity(n);
        for i in 0..n {
            let x = rng.normal();
            let eta = b0 + b1 * x + u[i / self.clients_per_therapist];
            let p = 1.0 / (1.0 + (-eta).exp());
            anxiety.push(x);
            dropout.push(if rng.uniform() < p { 1.0 } else { 0.0 });
        }
        let g = super::power::therapist_factor(n, self.therapists, self.clients_per_therapist);
        Data::new()
            .with_numeric("dropout", dropout)
            .and_then(|d| d.with_numeric("anxiety", anxiety))
            .and_then(|d| d.with_column("therapist", crate::data::Column::Categorical(g)))
    }

    fn replicate(&self, seed: u64, i: u64) -> Outcome {
        let Ok(data) = self.simulate(seed, i) else {
            return Outcome::Failed;
        };
        let (p, singular) = if self.multilevel {
            match Glm::fit_mixed(
                &data,
                "dropout ~ anxiety + (1 | therapist)",
                Family::binomial(),
                1,
            ) {
                Ok(f) => (f.coefficients[1].p, f.singular),
                Err(_) => return Outcome::Failed,
            }
        } else {
            match Glm::fit(&data, "dropout ~ anxiety", Family::binomial()) {
                Ok(f) => (f.coefficients[1].p, false),
                Err(_) => return Outcome::Failed,
            }
        };
        if p.is_finite() {
            Outcome::Fit {
                significant: p < self.alpha,
                singular,
            }
        } else {
            Outcome::Failed
        }
    }
}

/// Estimate the power of the anxiety effect in `design` with `replicates` simulated data sets.
///
/// ```
/// use securebase::simulate::binary_power::{BinaryDesign, binary_power};
/// let mut d = BinaryDesign::dropout(20, 10);
/// d.multilevel = false;
/// d.icc = 0.0;
/// let r = binary_power(&d, 200, 7)?;
/// assert!(r.power > 0.2 && r.power < 0.8 && r.failed == 0);
/// # Ok::<(), securebase::Error>(())
/// ```
///
/// # Errors
/// [`Error::Argument`] for an impossible design or no replicates.
pub fn binary_power(design: &BinaryDesign, replicates: usize, seed: u64) -> Result<PowerResult> {
    binary_power_range(design, 0, replicates, seed)
}

/// Replicates `start .. start + count` of a run seeded with `seed` (for sharding; combine the
/// parts with [`PowerResult::merge`]).
///
/// # Errors
/// As [`binary_power`].
pub fn binary_power_range(
    design: &BinaryDesign,
    start: usize,
    count: usize,
    seed: u64,
) -> Result<PowerResult> {
    design.validate()?;
    run_replicates(start, count, seed, |i| design.replicate(seed, i))
}
