//! Likelihood-ratio tests between nested mixed models, as R's `anova(m0, m1)` does them:
//! REML fits are refitted by ML first, models are ordered by their number of parameters, and
//! each is tested against the one before it with χ² = Δdeviance on Δnpar df.

use super::{Criterion, LmmFit};
use crate::error::{Error, Result};
use crate::stats::chisq_upper;

/// One row of an [`Anova`] table.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct AnovaRow {
    /// The model's formula.
    pub formula: String,
    /// Number of parameters (β, θ, σ).
    pub npar: usize,
    /// AIC of the ML fit.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub aic: f64,
    /// BIC of the ML fit.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub bic: f64,
    /// Log-likelihood of the ML fit.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub loglik: f64,
    /// Deviance −2 log L of the ML fit.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub deviance: f64,
    /// χ² against the previous row (`None` for the first).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub chisq: Option<f64>,
    /// Its df.
    pub df: Option<usize>,
    /// Its upper-tail p-value.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub p: Option<f64>,
}

/// A likelihood-ratio test table for nested mixed models.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Anova {
    /// How the models were fitted ("models refitted by ML" for linear mixed models).
    #[cfg_attr(feature = "serde", serde(default))]
    pub method: String,
    /// Rows, from the smallest model to the largest.
    pub rows: Vec<AnovaRow>,
}

/// One model's part of a likelihood-ratio table.
pub(crate) struct LrtModel {
    pub formula: String,
    pub npar: usize,
    pub deviance: f64,
    pub aic: f64,
    pub bic: f64,
}

/// Order by parameter count and test each model against the one before it:
/// χ² = Δdeviance (floored at 0) on Δnpar df.
pub(crate) fn lrt_table(method: &str, mut models: Vec<LrtModel>) -> Anova {
    models.sort_by_key(|m| m.npar);
    let rows = models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (chisq, df, p) = if i == 0 {
                (None, None, None)
            } else {
                let prev = &models[i - 1];
                let chisq = (prev.deviance - m.deviance).max(0.0);
                let df = m.npar - prev.npar;
                (
                    Some(chisq),
                    Some(df),
                    (df > 0).then(|| chisq_upper(chisq, df as f64)),
                )
            };
            AnovaRow {
                formula: m.formula.clone(),
                npar: m.npar,
                aic: m.aic,
                bic: m.bic,
                loglik: -0.5 * m.deviance,
                deviance: m.deviance,
                chisq,
                df,
                p,
            }
        })
        .collect();
    Anova {
        method: method.to_string(),
        rows,
    }
}

/// Compare nested models by likelihood-ratio tests (R's `anova(m0, m1, …)`).
///
/// ```
/// use securebase::lmm::anova;
/// use securebase::{Criterion, Data, LmmSpec};
/// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/orthodont.csv"))?;
/// let fit = |f: &str| LmmSpec::new(&data, f)?.fit(Criterion::Ml);
/// let small = fit("distance ~ age + Sex + (age | Subject)")?;
/// let large = fit("distance ~ age * Sex + (age | Subject)")?;
/// let table = anova(&[&small, &large])?;
/// let lrt = &table.rows[1]; // R: Chisq 5.0292, Df 1, Pr(>Chisq) 0.02492
/// assert!((lrt.chisq.unwrap() - 5.02921).abs() < 1e-3 && (lrt.p.unwrap() - 0.024923).abs() < 1e-4);
/// # Ok::<(), securebase::Error>(())
/// ```
///
/// # Errors
/// [`Error::Argument`] for fewer than two models, or models fitted to different rows (compare
/// models on the same complete cases).
pub fn anova(models: &[&LmmFit]) -> Result<Anova> {
    if models.len() < 2 {
        return Err(Error::Argument {
            name: "models".into(),
            message: "need at least two models to compare".into(),
        });
    }
    let rows0 = models[0].row_ids();
    if let Some(m) = models.iter().find(|m| m.row_ids() != rows0) {
        return Err(Error::Argument {
            name: "models".into(),
            message: format!(
                "'{}' uses {} rows but '{}' uses {}: models must be fitted to the same rows (drop incomplete rows first)",
                m.formula(),
                m.nobs(),
                models[0].formula(),
                models[0].nobs()
            ),
        });
    }
    let mut ml: Vec<LmmFit> = Vec::with_capacity(models.len());
    for m in models {
        ml.push(match m.criterion() {
            Criterion::Ml => (*m).clone(),
            Criterion::Reml => m.spec().fit(Criterion::Ml)?,
        });
    }
    let models = ml
        .iter()
        .map(|m| LrtModel {
            formula: m.formula().to_string(),
            npar: m.coefficients().len() + m.theta().len() + 1,
            deviance: m.objective(),
            aic: m.aic(),
            bic: m.bic(),
        })
        .collect();
    Ok(lrt_table("models refitted by ML", models))
}

impl std::fmt::Display for Anova {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.method.is_empty() {
            writeln!(f, "Likelihood-ratio tests")?;
        } else {
            writeln!(f, "Likelihood-ratio tests ({})", self.method)?;
        }
        for (i, r) in self.rows.iter().enumerate() {
            writeln!(f, "m{i}: {}", r.formula)?;
        }
        writeln!(
            f,
            "{:>4} {:>5} {:>10} {:>10} {:>10} {:>10} {:>8} {:>4} {:>10}",
            "", "npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"
        )?;
        for (i, r) in self.rows.iter().enumerate() {
            let (c, d, p) = match (r.chisq, r.df, r.p) {
                (Some(c), Some(d), Some(p)) => {
                    (format!("{c:.4}"), d.to_string(), crate::stats::format_p(p))
                }
                _ => (String::new(), String::new(), String::new()),
            };
            writeln!(
                f,
                "{:>4} {:>5} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>8} {:>4} {:>10}",
                format!("m{i}"),
                r.npar,
                r.aic,
                r.bic,
                r.loglik,
                r.deviance,
                c,
                d,
                p
            )?;
        }
        Ok(())
    }
}
