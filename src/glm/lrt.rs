//! Likelihood-ratio tests between nested GLMs and between nested GLMMs, as R's
//! `anova(m0, m1, test = "Chisq")` and lme4's `anova(m0, m1)`: models ordered by their number
//! of parameters, each tested against the one before it with χ² = Δ(−2 log L) on Δnpar df.

use super::{Family, GlmFit, GlmmFit};
use crate::error::{Error, Result};
use crate::lmm::Anova;
use crate::lmm::anova::{LrtModel, lrt_table};

fn at_least_two(n: usize) -> Result<()> {
    if n < 2 {
        return Err(Error::Argument {
            name: "models".into(),
            message: "need at least two models to compare".into(),
        });
    }
    Ok(())
}

fn differ(what: &str, a: &str, b: &str) -> Error {
    Error::Argument {
        name: "models".into(),
        message: format!(
            "'{a}' and '{b}' {what}; a likelihood-ratio test needs nested models of the same kind on the same rows"
        ),
    }
}

/// Compare nested generalized linear models by likelihood-ratio tests (R's
/// `anova(m0, m1, test = "Chisq")`; the χ² is the difference in residual deviance).
///
/// ```
/// use securebase::Data;
/// use securebase::glm::{Family, Glm, anova};
/// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/glmm/dropout.csv"))?;
/// let small = Glm::fit(&data, "dropout ~ 1", Family::binomial())?;
/// let large = Glm::fit(&data, "dropout ~ anxiety", Family::binomial())?;
/// let table = anova(&[&small, &large])?;
/// let lrt = &table.rows[1];
/// assert_eq!(lrt.df, Some(1));
/// assert!((lrt.chisq.unwrap() - (small.deviance - large.deviance)).abs() < 1e-9);
/// # Ok::<(), securebase::Error>(())
/// ```
///
/// # Errors
/// [`Error::Argument`] for fewer than two models, or models of different families or fitted
/// to different rows.
pub fn anova(models: &[&GlmFit]) -> Result<Anova> {
    compare(
        models,
        "generalized linear models, maximum likelihood",
        |m| {
            (
                m.family,
                LrtModel {
                    formula: m.formula.clone(),
                    npar: m.coefficients.len(),
                    deviance: -2.0 * m.loglik,
                    aic: m.aic,
                    bic: m.bic,
                },
            )
        },
        |a, b| {
            (a.row_ids != b.row_ids).then(|| {
                format!(
                    "use different rows ({} and {})",
                    a.row_ids.len(),
                    b.row_ids.len()
                )
            })
        },
    )
}

/// Compare nested generalized linear mixed models by likelihood-ratio tests (lme4's
/// `anova(m0, m1)`): the χ² is the difference in −2 log L, the df the difference in the number
/// of parameters (β and θ). A test of a variance component this way is conservative (the null
/// value lies on the boundary; Self & Liang 1987), as in R.
///
/// # Errors
/// [`Error::Argument`] for fewer than two models, or models of different families, different
/// quadrature (`nagq`) or fitted to different rows.
pub fn anova_mixed(models: &[&GlmmFit]) -> Result<Anova> {
    compare(
        models,
        "generalized linear mixed models, maximum likelihood",
        |m| {
            (
                m.family,
                LrtModel {
                    formula: m.formula.clone(),
                    npar: m.coefficients.len() + m.theta.len(),
                    deviance: m.minus2loglik,
                    aic: m.aic,
                    bic: m.bic,
                },
            )
        },
        |a, b| {
            if a.nagq != b.nagq {
                Some(format!(
                    "use different quadrature (nagq {} and {})",
                    a.nagq, b.nagq
                ))
            } else if a.nobs != b.nobs || a.missing != b.missing {
                Some(format!("use different rows ({} and {})", a.nobs, b.nobs))
            } else {
                None
            }
        },
    )
}

/// The checks and the table both tests share: at least two models, one family, and nothing
/// that makes a pair incomparable (`differ_why`).
fn compare<T>(
    models: &[&T],
    method: &str,
    entry: impl Fn(&T) -> (Family, LrtModel),
    differ_why: impl Fn(&T, &T) -> Option<String>,
) -> Result<Anova> {
    at_least_two(models.len())?;
    let entries: Vec<(Family, LrtModel)> = models.iter().map(|m| entry(m)).collect();
    let (family, first) = (&entries[0].0, &entries[0].1.formula);
    for (m, (f, e)) in models.iter().zip(&entries).skip(1) {
        if f != family {
            return Err(differ("have different families", first, &e.formula));
        }
        if let Some(why) = differ_why(models[0], m) {
            return Err(differ(&why, first, &e.formula));
        }
    }
    Ok(lrt_table(
        method,
        entries.into_iter().map(|(_, e)| e).collect(),
    ))
}
