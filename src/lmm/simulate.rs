//! Simulating responses from a fitted linear mixed model and refitting the model to a new
//! response (lme4's `simulate.merMod` and `refit`).
//!
//! A simulated response is y* = Xβ̂ + offset + Zb* + ε*, with b* = σ̂ Λ_θ̂ u*, u* and ε*/σ̂
//! standard normal: new random effects for every level and new residuals, as `simulate()` with
//! its default `use.u = FALSE`. Replicate r draws from its own stream (`Rng::stream(seed, r)`),
//! so the result does not depend on how replicates are spread over threads.
//!
//! A refit keeps everything about the model but the response: the rows used, the codings,
//! the random-effects structure; only the cross-products involving y are formed again, and the
//! optimizer starts at the original θ̂ (a warm start: a bootstrap replicate's optimum is near).

use super::structure::Structure;
use super::{Ddf, FitOptions, LmmFit, LmmSpec};
use crate::error::{Error, Result};
use crate::rng::Rng;
use nalgebra::DVector;
use std::sync::Arc;

impl LmmSpec {
    /// The same specification with another response (one value per row used, offsets
    /// included).
    ///
    /// # Errors
    /// [`Error::Argument`] for the wrong length or a value that is not finite.
    pub fn with_response(&self, y: &[f64]) -> Result<LmmSpec> {
        let n = self.structure.n;
        if y.len() != n {
            return Err(Error::Argument {
                name: "y".into(),
                message: format!(
                    "{} values given; the model uses {n} rows (one value per row used, in their order)",
                    y.len()
                ),
            });
        }
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            return Err(Error::Argument {
                name: "y".into(),
                message: format!(
                    "value {} (row {} of the data) is {}: a response must be finite",
                    i + 1,
                    self.row_ids.get(i),
                    y[i]
                ),
            });
        }
        let y_model: DVector<f64> = match &self.offset {
            Some(o) => DVector::from_iterator(n, y.iter().zip(o.iter()).map(|(a, b)| a - b)),
            None => DVector::from_column_slice(y),
        };
        let structure = Structure::from_parts(self.structure.terms.clone(), &self.x, &y_model);
        let mut spec = self.clone();
        spec.structure = Arc::new(structure);
        spec.y = Arc::new(y_model);
        #[cfg(feature = "serde")]
        {
            spec.source = Arc::new(self.source_with_response(y)?);
        }
        Ok(spec)
    }

    /// The source columns with the response replaced at the rows used (a plain column only;
    /// a function of the response such as `log(y)` keeps its original data, and a serialized
    /// refit of it does not rebuild). Offsets are columns of their own and stay.
    #[cfg(feature = "serde")]
    fn source_with_response(&self, y: &[f64]) -> Result<crate::data::Data> {
        let name = self.formula.response();
        let mut source = (*self.source).clone();
        if !source.has_column(name) {
            return Ok(source);
        }
        let mut position = std::collections::HashMap::with_capacity(source.nrows());
        for r in 0..source.nrows() {
            position.insert(source.row_id(r), r);
        }
        let mut values: Vec<Option<f64>> = (0..source.nrows()).map(|_| None).collect();
        for (i, &v) in y.iter().enumerate() {
            if let Some(&r) = position.get(&self.row_ids.get(i)) {
                values[r] = Some(v);
            }
        }
        source.replace_column(name, crate::data::Column::Numeric(values.into()))?;
        Ok(source)
    }
}

impl LmmFit {
    /// `nsim` responses simulated from the fitted model (see the module docs): each one value
    /// per row used, in their order, offsets included.
    ///
    /// ```
    /// use securebase::{Criterion, Data, LmmSpec};
    /// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sleepstudy.csv"))?;
    /// let fit = LmmSpec::new(&data, "Reaction ~ Days + (Days | Subject)")?.fit(Criterion::Reml)?;
    /// let ys = fit.simulate(2, 42)?;
    /// assert_eq!(ys.len(), 2);
    /// assert_eq!(ys[0].len(), 180);
    /// assert_eq!(ys, fit.simulate(2, 42)?); // seeded
    /// let again = fit.refit(&ys[0])?;
    /// assert!(again.converged());
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Argument`] for more than 10⁷ replicates.
    pub fn simulate(&self, nsim: usize, seed: u64) -> Result<Vec<Vec<f64>>> {
        super::bootstrap::check_nsim(nsim)?;
        let mean = self.population_mean();
        Ok(crate::par::map(nsim, |r| {
            self.simulate_one(&mut Rng::stream(seed, r as u64), &mean)
        }))
    }

    /// Xβ̂ plus the offsets, per row used.
    pub(crate) fn population_mean(&self) -> Vec<f64> {
        let spec = &self.spec;
        let beta = self.beta();
        let mut mean = vec![0.0; spec.structure.n];
        for (j, b) in beta.iter().enumerate() {
            for (m, x) in mean.iter_mut().zip(spec.x.col(j)) {
                *m += b * x;
            }
        }
        if let Some(o) = &spec.offset {
            for (m, x) in mean.iter_mut().zip(o.iter()) {
                *m += x;
            }
        }
        mean
    }

    /// One simulated response: random effects term by term and level by level, then the
    /// residuals, all from `rng`.
    pub(crate) fn simulate_one(&self, rng: &mut Rng, mean: &[f64]) -> Vec<f64> {
        let s = &self.spec.structure;
        let sigma = self.sigma();
        let mut y = mean.to_vec();
        for (term, t) in s.terms.iter().zip(s.factors(self.theta())) {
            let q = term.q();
            let mut b = vec![0.0; term.nlevels() * q];
            let mut u = vec![0.0; q];
            for level in b.chunks_mut(q) {
                for ui in u.iter_mut() {
                    *ui = rng.normal();
                }
                for (r, br) in level.iter_mut().enumerate() {
                    *br = sigma * (0..=r).map(|c| t[(r, c)] * u[c]).sum::<f64>();
                }
            }
            for (i, (yi, &code)) in y.iter_mut().zip(&term.codes).enumerate() {
                let level = &b[code as usize * q..(code as usize + 1) * q];
                for (c, bc) in level.iter().enumerate() {
                    *yi += term.z.at(i, c) * bc;
                }
            }
        }
        for yi in y.iter_mut() {
            *yi += sigma * rng.normal();
        }
        y
    }

    /// The model refitted to a new response (one value per row used, offsets included), by the
    /// same criterion and df method, starting from this fit's θ.
    ///
    /// # Errors
    /// As [`LmmSpec::with_response`]; [`Error::Numerical`] if the refit fails.
    pub fn refit(&self, y: &[f64]) -> Result<LmmFit> {
        self.refit_with(y, self.ddf())
    }

    /// [`LmmFit::refit`] with another df method (`Ddf::Asymptotic` skips the Satterthwaite
    /// Hessian: the cheapest refit for a bootstrap of variance components).
    ///
    /// # Errors
    /// As [`LmmFit::refit`].
    pub fn refit_with(&self, y: &[f64], ddf: Ddf) -> Result<LmmFit> {
        let options = FitOptions {
            start: Some(self.theta().to_vec()),
            ..FitOptions::with_ddf(ddf)
        };
        self.refit_options(y, &options)
    }

    /// [`LmmFit::refit`] with any [`FitOptions`] (a start of `None` means this fit's θ).
    ///
    /// # Errors
    /// As [`LmmFit::refit`], and [`Error::Argument`] for a bad start.
    pub fn refit_options(&self, y: &[f64], options: &FitOptions) -> Result<LmmFit> {
        let spec = self.spec.with_response(y)?;
        let mut options = options.clone();
        if options.start.is_none() {
            options.start = Some(self.theta().to_vec());
        }
        spec.fit_with(self.criterion(), &options)
    }
}
