//! Predictions on new data for GLMs and GLMMs (R's `predict.glm`, lme4's `predict.merMod`), and a
//! GLMM's fitted values and residuals.

use super::{Family, GlmFit, GlmmFit};
use crate::data::Data;
use crate::error::Result;
use crate::predict::{
    FixedPart, ModelPrediction, PredictOptions, RandomTerms, ResidualKind, align, finish, linear,
};

fn inverse(family: Family) -> impl Fn(f64) -> (f64, f64) {
    move |eta| (family.link_inv(eta), family.mu_eta(eta))
}

impl GlmFit {
    /// Predict each row of `newdata` on the link or response scale, with the standard error
    /// (delta method on the response scale) and a Wald confidence interval (the normal
    /// quantile: the dispersion is fixed), mapped through the inverse link on the response
    /// scale. A GLM has no random part: [`crate::predict::RandomPart::Groups`] is an error.
    ///
    /// ```
    /// use securebase::glm::{Family, Glm};
    /// use securebase::predict::{PredictOptions, Scale};
    /// use securebase::Data;
    /// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/glmm/dropout.csv"))?;
    /// let fit = Glm::fit(&data, "dropout ~ anxiety", Family::binomial())?;
    /// let new = Data::new().with_numeric("anxiety", vec![0.0])?;
    /// let p = fit.predict(&new, &PredictOptions::new().scale(Scale::Response))?;
    /// let [lo, hi] = p.confidence[0];
    /// assert!(0.0 < lo && lo < p.fit[0] && p.fit[0] < hi && hi < 1.0);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`crate::LmmFit::predict`]; [`crate::Error::Model`] for a fit read back from JSON.
    pub fn predict(&self, newdata: &Data, options: &PredictOptions) -> Result<ModelPrediction> {
        let model = self.model()?;
        let beta: Vec<f64> = self.coefficients.iter().map(|c| c.estimate).collect();
        let fixed = FixedPart {
            design: &model.design,
            offsets: &model.offsets,
            beta: &beta,
            vcov: &self.vcov,
        };
        let lin = linear(newdata, &fixed, None, options)?;
        let df = vec![f64::INFINITY; lin.eta.len()];
        let inv = inverse(self.family);
        Ok(finish(lin, df, Some(&inv), None, options))
    }
}

impl GlmmFit {
    pub(crate) fn fixed_beta(&self) -> Vec<f64> {
        self.coefficients.iter().map(|c| c.estimate).collect()
    }

    /// Predict each row of `newdata`: population level, with all or some random effects, new
    /// levels allowed or refused, on the link or response scale, with the fixed part's standard
    /// error and Wald interval (see [`crate::predict`]).
    ///
    /// ```
    /// use securebase::glm::{Family, Glm};
    /// use securebase::predict::{PredictOptions, RandomPart, Scale};
    /// use securebase::Data;
    /// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/glmm/cbpp.csv"))?;
    /// let fit = Glm::fit_mixed(&data, "cbind(incidence, rest) ~ period + (1 | herd)", Family::binomial(), 1)?;
    /// let new = Data::new()
    ///     .with_categorical("period", vec!["p1".to_string()])?
    ///     .with_categorical("herd", vec!["h1".to_string()])?;
    /// let herd = fit.predict(&new, &PredictOptions::new().scale(Scale::Response))?;
    /// let pop = fit.predict(&new, &PredictOptions::new().random(RandomPart::Population).scale(Scale::Response))?;
    /// assert!(herd.fit[0] > pop.fit[0]); // herd 1 has more incidence than a typical herd
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`crate::LmmFit::predict`]; [`crate::Error::Model`] for a fit read back from JSON.
    pub fn predict(&self, newdata: &Data, options: &PredictOptions) -> Result<ModelPrediction> {
        let model = self.model()?;
        let beta = self.fixed_beta();
        let fixed = FixedPart {
            design: &model.design,
            offsets: &model.offsets,
            beta: &beta,
            vcov: &self.vcov,
        };
        let random = RandomTerms {
            coders: model.random.iter().map(|c| &**c).collect(),
            ranef: &self.ranef,
            covariance: self.ranef_covariance.iter().map(Vec::as_slice).collect(),
        };
        let lin = linear(newdata, &fixed, Some(&random), options)?;
        let df = vec![f64::INFINITY; lin.eta.len()];
        let inv = inverse(self.family);
        Ok(finish(lin, df, Some(&inv), None, options))
    }

    /// The linear predictor on the rows used, with or without the random effects.
    fn eta(&self, with_random: bool) -> Result<Vec<f64>> {
        let model = self.model()?;
        let beta = nalgebra::DVector::from_vec(self.fixed_beta());
        let mut eta: Vec<f64> = (&model.x * beta + &model.offset).iter().copied().collect();
        if with_random {
            for (k, coder) in model.random.iter().enumerate() {
                let part = coder.contribution(
                    &model.data,
                    &self.ranef[k],
                    &self.ranef_covariance[k],
                    true,
                    false,
                )?;
                for (e, a) in eta.iter_mut().zip(part.add) {
                    *e += a;
                }
            }
        }
        Ok(eta)
    }

    /// The linear predictor Xβ̂ + Zb̂ (+ offsets) on the rows used.
    ///
    /// # Errors
    /// [`crate::Error::Model`] for a fit read back from JSON (it carries no model matrix).
    pub fn linear_predictor(&self) -> Result<Vec<f64>> {
        self.eta(true)
    }

    /// Fitted means μ̂ = g⁻¹(Xβ̂ + Zb̂) on the rows used (lme4's `fitted`; proportions for a
    /// `cbind` response).
    ///
    /// # Errors
    /// As [`GlmmFit::linear_predictor`].
    pub fn fitted(&self) -> Result<Vec<f64>> {
        Ok(self
            .eta(true)?
            .into_iter()
            .map(|e| self.family.link_inv(e))
            .collect())
    }

    /// Residuals of one kind on the rows used (lme4's `residuals(fit, type =)`; see
    /// [`ResidualKind`]). The response of a `cbind` model is the proportion of successes and
    /// its prior weight the number of trials, as in R.
    ///
    /// ```
    /// use securebase::glm::{Family, Glm};
    /// use securebase::predict::ResidualKind;
    /// use securebase::Data;
    /// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/glmm/cbpp.csv"))?;
    /// let fit = Glm::fit_mixed(&data, "cbind(incidence, rest) ~ period + (1 | herd)", Family::binomial(), 1)?;
    /// let (r, d) = (fit.residuals_of(ResidualKind::Response)?, fit.residuals_of(ResidualKind::Deviance)?);
    /// assert!(r.iter().zip(&d).all(|(r, d)| r.signum() == d.signum() || *r == 0.0));
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`GlmmFit::linear_predictor`].
    pub fn residuals_of(&self, kind: ResidualKind) -> Result<Vec<f64>> {
        let model = self.model()?;
        let Some((y, w)) = model.response.as_ref() else {
            return Err(crate::Error::Model(
                "this GLMM's model does not carry its response: refit the model".into(),
            ));
        };
        let f = self.family;
        let mu: Vec<f64> = self
            .eta(kind != ResidualKind::Marginal)?
            .into_iter()
            .map(|e| f.link_inv(e))
            .collect();
        Ok((0..y.len())
            .map(|i| {
                let r = y[i] - mu[i];
                match kind {
                    ResidualKind::Response | ResidualKind::Marginal => r,
                    ResidualKind::Pearson | ResidualKind::Scaled => {
                        r * w[i].sqrt() / f.variance(mu[i]).sqrt()
                    }
                    ResidualKind::Deviance => {
                        r.signum() * f.deviance_residual(y[i], mu[i], w[i]).max(0.0).sqrt()
                    }
                }
            })
            .collect())
    }

    /// Fitted means aligned to the rows of `data`, `None` where a row was not used (R's
    /// `na.action = na.exclude`).
    ///
    /// # Errors
    /// As [`crate::LmmFit::fitted_for`], and as [`GlmmFit::linear_predictor`].
    pub fn fitted_for(&self, data: &Data) -> Result<Vec<Option<f64>>> {
        let model = self.model()?;
        align(
            &self.fitted()?,
            model.data.row_ids(),
            self.missing.unit.as_ref(),
            data,
        )
    }

    /// Residuals of one kind aligned to the rows of `data` (see [`GlmmFit::fitted_for`]).
    ///
    /// # Errors
    /// As [`GlmmFit::fitted_for`].
    pub fn residuals_for(&self, kind: ResidualKind, data: &Data) -> Result<Vec<Option<f64>>> {
        let model = self.model()?;
        align(
            &self.residuals_of(kind)?,
            model.data.row_ids(),
            self.missing.unit.as_ref(),
            data,
        )
    }
}

impl GlmFit {
    /// Residuals of one kind on the rows used: response, Pearson (also `Scaled`: the dispersion
    /// is 1), deviance; `Marginal` is the response residual (a GLM has no random part).
    pub fn residuals_of(&self, kind: ResidualKind) -> Vec<f64> {
        match kind {
            ResidualKind::Deviance => self.deviance_residuals(),
            ResidualKind::Response | ResidualKind::Marginal => self
                .y
                .iter()
                .zip(&self.fitted)
                .map(|(y, m)| y - m)
                .collect(),
            ResidualKind::Pearson | ResidualKind::Scaled => (0..self.y.len())
                .map(|i| {
                    let mu = self.fitted[i];
                    (self.y[i] - mu) * self.prior_weights[i].sqrt()
                        / self.family.variance(mu).sqrt()
                })
                .collect(),
        }
    }

    /// Fitted means aligned to the rows of `data`, `None` where a row was not used.
    ///
    /// # Errors
    /// As [`crate::LmmFit::fitted_for`].
    pub fn fitted_for(&self, data: &Data) -> Result<Vec<Option<f64>>> {
        align(
            &self.fitted,
            &self.row_ids,
            self.missing.unit.as_ref(),
            data,
        )
    }

    /// Residuals of one kind aligned to the rows of `data`.
    ///
    /// # Errors
    /// As [`crate::LmmFit::fitted_for`].
    pub fn residuals_for(&self, kind: ResidualKind, data: &Data) -> Result<Vec<Option<f64>>> {
        align(
            &self.residuals_of(kind),
            &self.row_ids,
            self.missing.unit.as_ref(),
            data,
        )
    }
}
