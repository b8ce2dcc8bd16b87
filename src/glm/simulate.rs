//! Simulating responses from a fitted GLMM, refitting it to a new response, and its
//! parametric bootstrap (lme4's `simulate`, `refit` and `bootMer` for `glmer` fits).
//!
//! A simulated response draws new random effects b* ~ N(0, Σ̂_k) for every level, forms
//! μ* = g⁻¹(Xβ̂ + offset + Zb*) and draws each response from the family: binomial successes
//! out of the row's trials (Bernoulli draws up to 50 trials, inversion from the mode beyond) (returned as proportions, as the fit holds its response; 0/1 for a
//! binary response), Poisson counts (Knuth's product method below a mean of 30, Hörmann's
//! PTRS transformed rejection above). Replicate r draws from its own stream, so results do not
//! depend on the thread count.

use super::family::Distribution;
use super::mixed::GlmmFit;
use crate::error::{Error, Result};
use crate::lmm::ParametricBootstrap;
use crate::rng::Rng;

/// A binomial variate: successes in `n` trials of probability `p`. Up to 50 trials one
/// Bernoulli draw each; beyond, inversion of one uniform over the outcomes enumerated outward
/// from the mode (any fixed order inverts exactly; this one takes O(√(np(1−p))) steps).
fn binomial(rng: &mut Rng, n: u64, p: f64) -> f64 {
    if p.is_nan() || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return n as f64;
    }
    if n <= 50 {
        return (0..n).filter(|_| rng.uniform() < p).count() as f64;
    }
    use statrs::function::gamma::ln_gamma;
    let nf = n as f64;
    let mode = ((nf + 1.0) * p).floor().min(nf);
    let ln_pmf = |k: f64| {
        ln_gamma(nf + 1.0) - ln_gamma(k + 1.0) - ln_gamma(nf - k + 1.0)
            + k * p.ln()
            + (nf - k) * (1.0 - p).ln()
    };
    let odds = p / (1.0 - p);
    let mut u = rng.uniform();
    let at_mode = ln_pmf(mode).exp();
    u -= at_mode;
    if u <= 0.0 {
        return mode;
    }
    let (mut up, mut pu) = (mode, at_mode);
    let (mut down, mut pd) = (mode, at_mode);
    loop {
        let mut moved = false;
        if up < nf {
            pu *= (nf - up) / (up + 1.0) * odds;
            up += 1.0;
            u -= pu;
            moved = true;
            if u <= 0.0 {
                return up;
            }
        }
        if down > 0.0 {
            pd *= down / (nf - down + 1.0) / odds;
            down -= 1.0;
            u -= pd;
            moved = true;
            if u <= 0.0 {
                return down;
            }
        }
        if !moved {
            // Rounding left a sliver of mass: the mode is the likeliest outcome.
            return mode;
        }
    }
}

/// A Poisson variate with mean `lambda` (NaN for a mean that is not finite).
fn poisson(rng: &mut Rng, lambda: f64) -> f64 {
    if lambda.is_nan() || lambda.is_infinite() {
        return f64::NAN;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    if lambda < 30.0 {
        let limit = (-lambda).exp();
        let (mut k, mut p) = (0.0, 1.0);
        loop {
            p *= rng.uniform();
            if p <= limit {
                return k;
            }
            k += 1.0;
        }
    }
    // PTRS (Hörmann 1993, "The transformed rejection method for generating Poisson random
    // variables").
    let slam = lambda.sqrt();
    let loglam = lambda.ln();
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = rng.uniform() - 0.5;
        let v = rng.uniform();
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + lambda + 0.43).floor();
        if us >= 0.07 && v <= vr {
            return k;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        let lhs = v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln();
        let rhs = -lambda + k * loglam - statrs::function::gamma::ln_gamma(k + 1.0);
        if lhs <= rhs {
            return k;
        }
    }
}

impl GlmmFit {
    /// `nsim` responses simulated from the fit (see the module docs), one value per row used.
    ///
    /// ```
    /// use securebase::glm::{Family, Glm};
    /// use securebase::Data;
    /// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/glmm/cbpp.csv"))?;
    /// let fit = Glm::fit_mixed(&data, "cbind(incidence, rest) ~ period + (1 | herd)", Family::binomial(), 1)?;
    /// let ys = fit.simulate(3, 11)?;
    /// assert_eq!(ys[0].len(), fit.nobs);
    /// assert!(ys[0].iter().all(|p| (0.0..=1.0).contains(p)));
    /// let again = fit.refit(&ys[0])?;
    /// assert_eq!(again.coefficients.len(), fit.coefficients.len());
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Model`] for a fit read back from JSON; [`Error::Argument`] for more than 10⁷
    /// replicates.
    pub fn simulate(&self, nsim: usize, seed: u64) -> Result<Vec<Vec<f64>>> {
        crate::lmm::bootstrap::check_nsim(nsim)?;
        let eta = self.population_eta()?;
        crate::par::map(nsim, |r| {
            self.simulate_one(&mut Rng::stream(seed, r as u64), &eta)
        })
        .into_iter()
        .collect()
    }

    fn population_eta(&self) -> Result<Vec<f64>> {
        let model = self.model()?;
        let beta = nalgebra::DVector::from_vec(self.fixed_beta());
        Ok((&model.x * beta + &model.offset).iter().copied().collect())
    }

    fn simulate_one(&self, rng: &mut Rng, eta0: &[f64]) -> Result<Vec<f64>> {
        let model = self.model()?;
        let mut eta = eta0.to_vec();
        for (k, coder) in model.random.iter().enumerate() {
            let re = &self.ranef[k];
            let cov = &self.ranef_covariance[k];
            let q = re.q();
            // Cholesky of Σ̂ (positive semi-definite: zero pivots allowed).
            let mut l = vec![vec![0.0; q]; q];
            for j in 0..q {
                let d = cov[j][j] - (0..j).map(|m| l[j][m] * l[j][m]).sum::<f64>();
                l[j][j] = d.max(0.0).sqrt();
                for i in j + 1..q {
                    let v = cov[i][j] - (0..j).map(|m| l[i][m] * l[j][m]).sum::<f64>();
                    l[i][j] = if l[j][j] > 0.0 { v / l[j][j] } else { 0.0 };
                }
            }
            let mut modes = vec![0.0; re.nlevels() * q];
            let mut u = vec![0.0; q];
            for level in modes.chunks_mut(q) {
                for x in u.iter_mut() {
                    *x = rng.normal();
                }
                for (i, b) in level.iter_mut().enumerate() {
                    *b = (0..=i).map(|c| l[i][c] * u[c]).sum();
                }
            }
            let sim = crate::lmm::RandomEffects::new(
                re.group().to_string(),
                re.effects().to_vec(),
                std::sync::Arc::new(re.levels().to_vec()),
                modes,
                vec![0.0; re.nlevels() * q * q],
            );
            let part = coder.contribution(&model.data, &sim, cov, true, false)?;
            for (e, a) in eta.iter_mut().zip(part.add) {
                *e += a;
            }
        }
        let weights = model
            .response
            .as_ref()
            .map(|(_, w)| w.clone())
            .unwrap_or_else(|| vec![1.0; eta.len()]);
        Ok(eta
            .iter()
            .zip(&weights)
            .map(|(&e, &w)| {
                let mu = self.family.link_inv(e);
                match self.family.distribution {
                    Distribution::Binomial => {
                        let trials = w.round().max(1.0) as u64;
                        binomial(rng, trials, mu) / trials as f64
                    }
                    Distribution::Poisson => poisson(rng, mu),
                }
            })
            .collect())
    }

    /// The model refitted to a new response (one value per row used, on the scale the fit
    /// holds it: proportions of successes for a `cbind(successes, failures)` response with the
    /// same trials, 0/1 for a binary one, counts for Poisson), by the same family and
    /// quadrature, on the same rows.
    ///
    /// # Errors
    /// [`Error::Argument`] for the wrong length, a value outside the family's range, or a
    /// response that is neither a data column nor `cbind` of two columns; as
    /// [`super::Glm::fit_mixed`] if the refit fails.
    pub fn refit(&self, y: &[f64]) -> Result<GlmmFit> {
        let model = self.model()?;
        let n = model.data.nrows();
        if y.len() != n {
            return Err(Error::Argument {
                name: "y".into(),
                message: format!(
                    "{} values given; the model uses {n} rows (one value per row used, in their order)",
                    y.len()
                ),
            });
        }
        // The left-hand side as written (a GLM's may be cbind(successes, failures)).
        let response = self
            .formula
            .split_once('~')
            .map_or("", |(l, _)| l)
            .replace(' ', "");
        let mut data = model.data.clone();
        let bad = |i: usize| Error::Argument {
            name: "y".into(),
            message: format!(
                "value {} ({}) is outside the {} family's range",
                i + 1,
                y[i],
                self.family.name()
            ),
        };
        if let Some(inner) = response
            .strip_prefix("cbind(")
            .and_then(|r| r.strip_suffix(')'))
        {
            let (s, f) = inner.split_once(',').ok_or_else(|| bad(0))?;
            let trials = model
                .response
                .as_ref()
                .map(|(_, w)| w.clone())
                .unwrap_or_else(|| vec![1.0; n]);
            let mut succ = Vec::with_capacity(n);
            let mut fail = Vec::with_capacity(n);
            for (i, (&p, &t)) in y.iter().zip(&trials).enumerate() {
                if !(0.0..=1.0).contains(&p) {
                    return Err(bad(i));
                }
                let k = (p * t).round();
                succ.push(k);
                fail.push(t - k);
            }
            // The fit keeps the response as one column named as written; the refit reads the
            // two counts.
            let written: Vec<String> = data
                .names()
                .iter()
                .filter(|c| c.replace(' ', "") == response)
                .cloned()
                .collect();
            data.drop_columns(&written)?;
            for (name, values) in [(s, succ), (f, fail)] {
                let col = crate::data::Column::Numeric(values.into());
                if data.has_column(name) {
                    data.replace_column(name, col)?;
                } else {
                    data.add_column(name, col)?;
                }
            }
        } else if data.has_column(&response) && data.numeric(&response).is_ok() {
            if let Some(i) = y.iter().position(|v| !v.is_finite() || *v < 0.0) {
                return Err(bad(i));
            }
            data.replace_column(&response, crate::data::Column::Numeric(y.to_vec().into()))?;
        } else {
            return Err(Error::Argument {
                name: "y".into(),
                message: format!(
                    "refits need the response as a numeric column or cbind(successes, failures); '{response}' is neither"
                ),
            });
        }
        super::Glm::fit_mixed(&data, &self.formula, self.family, self.nagq)
    }

    /// A parametric bootstrap of `statistic` (as [`crate::LmmFit::bootstrap`]): `nsim`
    /// responses simulated from this fit and refitted, in parallel, identical for any thread
    /// count; failed refits are counted and left out.
    ///
    /// # Errors
    /// As [`GlmmFit::simulate`], and [`Error::Argument`] for a statistic of the original fit
    /// that is empty or not finite.
    pub fn bootstrap<F>(&self, nsim: usize, seed: u64, statistic: F) -> Result<ParametricBootstrap>
    where
        F: Fn(&GlmmFit) -> Vec<f64> + Sync + Send,
    {
        crate::lmm::bootstrap::check_nsim(nsim)?;
        let original = statistic(self);
        crate::lmm::bootstrap::check_original(&original)?;
        let eta = self.population_eta()?;
        Ok(crate::lmm::bootstrap::run_replicates(
            Vec::new(),
            original,
            nsim,
            seed,
            |rng| {
                let y = self.simulate_one(rng, &eta).ok()?;
                let fit = self.refit(&y).ok()?;
                Some(statistic(&fit))
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_binomials_have_the_binomial_moments() {
        // n = 10⁶ trials would take 10⁶ draws each by Bernoulli sums; inversion from the mode
        // gives mean np and variance np(1 − p) (closed forms) within Monte Carlo error.
        let (n, p, reps) = (1_000_000u64, 0.3, 4000);
        let mut rng = Rng::new(9);
        let x: Vec<f64> = (0..reps).map(|_| binomial(&mut rng, n, p)).collect();
        let mean = x.iter().sum::<f64>() / reps as f64;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (reps - 1) as f64;
        let (m0, v0) = (n as f64 * p, n as f64 * p * (1.0 - p));
        assert!(
            (mean - m0).abs() < 4.0 * (v0 / reps as f64).sqrt(),
            "{mean} vs {m0}"
        );
        assert!(
            (var - v0).abs() < 4.0 * v0 * (2.0 / reps as f64).sqrt(),
            "{var} vs {v0}"
        );
        assert!(
            x.iter()
                .all(|k| k.fract() == 0.0 && *k >= 0.0 && *k <= n as f64)
        );
        // Small n and the edges.
        assert_eq!(binomial(&mut rng, 80, 0.0), 0.0);
        assert_eq!(binomial(&mut rng, 80, 1.0), 80.0);
        let y: Vec<f64> = (0..reps).map(|_| binomial(&mut rng, 80, 0.05)).collect();
        let m = y.iter().sum::<f64>() / reps as f64;
        assert!((m - 4.0).abs() < 4.0 * (3.8f64 / reps as f64).sqrt(), "{m}");
        assert!(poisson(&mut rng, f64::INFINITY).is_nan());
    }
}
