//! Likelihood-ratio tests between nested GLMs and between nested GLMMs, as R's
//! `anova(m0, m1, test = "Chisq")` and lme4's `anova(m0, m1)`: models ordered by their number
//! of parameters, each tested against the one before it with χ² = Δ(−2 log L) on Δnpar df.

use super::{GlmFit, GlmmFit};
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
    at_least_two(models.len())?;
    let first = models[0];
    for m in &models[1..] {
        if m.family != first.family {
            return Err(differ(
                "have different families",
                &first.formula,
                &m.formula,
            ));
        }
        if m.row_ids != first.row_ids {
            return Err(differ(
                &format!(
                    "use different rows ({} and {})",
                    first.row_ids.len(),
                    m.row_ids.len()
                ),
                &first.formula,
                &m.formula,
            ));
        }
    }
    Ok(lrt_table(
        "generalized linear models, maximum likelihood",
        models
            .iter()
            .map(|m| LrtModel {
                formula: m.formula.clone(),
                npar: m.coefficients.len(),
                deviance: -2.0 * m.loglik,
                aic: m.aic,
                bic: m.bic,
            })
            .collect(),
    ))
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
    at_least_two(models.len())?;
    let first = models[0];
    for m in &models[1..] {
        if m.family != first.family {
            return Err(differ(
                "have different families",
                &first.formula,
                &m.formula,
            ));
        }
        if m.nagq != first.nagq {
            return Err(differ(
                &format!(
                    "use different quadrature (nagq {} and {})",
                    first.nagq, m.nagq
                ),
                &first.formula,
                &m.formula,
            ));
        }
        if m.nobs != first.nobs || m.missing != first.missing {
            return Err(differ(
                &format!("use different rows ({} and {})", first.nobs, m.nobs),
                &first.formula,
                &m.formula,
            ));
        }
    }
    Ok(lrt_table(
        "generalized linear mixed models, maximum likelihood",
        models
            .iter()
            .map(|m| LrtModel {
                formula: m.formula.clone(),
                npar: m.coefficients.len() + m.theta.len(),
                deviance: m.minus2loglik,
                aic: m.aic,
                bic: m.bic,
            })
            .collect(),
    ))
}
