//! Predictions, fitted values and residuals of a linear mixed model (lme4's `predict.merMod`,
//! `fitted` and `residuals` with `na.action = na.exclude`).

use super::LmmFit;
use crate::data::Data;
use crate::error::Result;
use crate::predict::{
    FixedPart, ModelPrediction, PredictOptions, RandomTerms, ResidualKind, align, finish, linear,
};

impl LmmFit {
    /// Predict each row of `newdata`: population level, with all or some random effects, new
    /// levels allowed or refused, with the fixed part's standard error, its confidence interval
    /// (the fit's df: Satterthwaite's unless it was fitted with [`super::Ddf::Asymptotic`]) and
    /// a prediction interval for a new observation (see [`crate::predict`]).
    ///
    /// ```
    /// use securebase::predict::{PredictOptions, RandomPart};
    /// use securebase::{Criterion, Data, LmmSpec};
    /// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sleepstudy.csv"))?;
    /// let fit = LmmSpec::new(&data, "Reaction ~ Days + (Days | Subject)")?.fit(Criterion::Reml)?;
    /// let new = Data::new()
    ///     .with_numeric("Days", vec![5.0, 5.0])?
    ///     .with_categorical("Subject", vec!["308".to_string(), "999".to_string()])?;
    /// let p = fit.predict(&new, &PredictOptions::new().new_levels(true))?;
    /// let pop = fit.predict(&new, &PredictOptions::new().random(RandomPart::Population))?;
    /// assert!(p.fit[0] > pop.fit[0]); // subject 308 reacts more slowly than the average
    /// assert_eq!(p.fit[1], pop.fit[1]); // a new subject: random effects of zero
    /// assert_eq!(p.new_levels[0].rows, 1);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// A column the model needs missing from `newdata` ([`crate::Error::UnknownColumn`]), a
    /// missing value or a factor level the fit never saw ([`crate::Error::InvalidValue`], by
    /// row and column), a new level of a grouping factor unless allowed, a grouping factor
    /// not in the model ([`crate::Error::Argument`]), a level outside (0, 1).
    pub fn predict(&self, newdata: &Data, options: &PredictOptions) -> Result<ModelPrediction> {
        let beta = self.beta();
        let fixed = FixedPart {
            design: &self.spec.design,
            offsets: self.spec.formula.offsets(),
            beta: &beta,
            vcov: self.vcov(),
        };
        let random = RandomTerms {
            coders: self
                .spec
                .structure
                .terms
                .iter()
                .map(|t| &*t.coder)
                .collect(),
            ranef: self.ranef(),
            covariance: self
                .varcorr()
                .iter()
                .map(|v| v.covariance.as_slice())
                .collect(),
        };
        let lin = linear(newdata, &fixed, Some(&random), options)?;
        let df = (0..lin.x.nrows())
            .map(|i| {
                let l: Vec<f64> = lin.x.row(i).iter().copied().collect();
                self.df_of(&l)
            })
            .collect();
        let s2 = self.sigma() * self.sigma();
        Ok(finish(lin, df, None, Some(s2), options))
    }

    /// Residuals of one kind, one per row used (see [`ResidualKind`]).
    ///
    /// ```
    /// use securebase::predict::ResidualKind;
    /// use securebase::{Criterion, Data, LmmSpec};
    /// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sleepstudy.csv"))?;
    /// let fit = LmmSpec::new(&data, "Reaction ~ Days + (Days | Subject)")?.fit(Criterion::Reml)?;
    /// let scaled = fit.residuals_of(ResidualKind::Scaled);
    /// assert!((scaled[0] * fit.sigma() - fit.residuals()[0]).abs() < 1e-9);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    pub fn residuals_of(&self, kind: ResidualKind) -> Vec<f64> {
        match kind {
            ResidualKind::Response | ResidualKind::Pearson | ResidualKind::Deviance => {
                self.residuals().to_vec()
            }
            ResidualKind::Scaled => {
                let s = self.sigma();
                self.residuals().iter().map(|r| r / s).collect()
            }
            ResidualKind::Marginal => {
                // The response less the offsets, less Xβ̂.
                let mut r: Vec<f64> = self.spec.y.iter().copied().collect();
                for (j, b) in self.beta().iter().enumerate() {
                    for (ri, x) in r.iter_mut().zip(self.spec.x.col(j)) {
                        *ri -= b * x;
                    }
                }
                r
            }
        }
    }

    /// Fitted values aligned to the rows of `data`, `None` where a row was not used (R's
    /// `fitted(fit)` under `na.action = na.exclude`).
    ///
    /// # Errors
    /// [`crate::Error::Argument`] if `data` lacks rows the fit used (rows are matched by
    /// origin, [`Data::row_ids`]) or the model was fitted to one row per unit of a level.
    pub fn fitted_for(&self, data: &Data) -> Result<Vec<Option<f64>>> {
        align(
            self.fitted(),
            self.row_ids(),
            self.missing().unit.as_ref(),
            data,
        )
    }

    /// Residuals of one kind aligned to the rows of `data` (see [`LmmFit::fitted_for`]).
    ///
    /// # Errors
    /// As [`LmmFit::fitted_for`].
    pub fn residuals_for(&self, kind: ResidualKind, data: &Data) -> Result<Vec<Option<f64>>> {
        align(
            &self.residuals_of(kind),
            self.row_ids(),
            self.missing().unit.as_ref(),
            data,
        )
    }
}
