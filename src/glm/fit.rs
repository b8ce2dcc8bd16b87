//! Iteratively reweighted least squares, with R's `glm.fit` start, step halving and
//! convergence rule, and the fitted model's summaries.

use super::family::{Distribution, Family};
use crate::data::{Column, Data};
use crate::error::{Error, Result};
use crate::formula::design::Design;
use crate::formula::{Formula, Missingness, ModelFrame};
use crate::linalg::{Qr, upper_inverse};
use crate::stats::{Coefficient, normal_quantile};
use nalgebra::{DMatrix, DVector};

/// R's `glm.control()`: ε = 1e-8, at most 25 iterations.
const EPSILON: f64 = 1e-8;
const MAX_ITER: usize = 25;

/// Generalized linear models, as R's `glm()`.
#[derive(Debug, Clone, Copy)]
pub struct Glm;

/// A fitted generalized linear model.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "GlmFitRepr"))]
#[non_exhaustive]
pub struct GlmFit {
    /// The formula as given.
    pub formula: String,
    /// Family and link.
    pub family: Family,
    /// Coefficient table: estimates, SEs, z (in `t`), p from the normal, Wald 95% CIs
    /// (R's `summary.glm` and `confint.default`); `df` is infinite.
    pub coefficients: Vec<Coefficient>,
    /// Covariance of the estimates (dispersion 1).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub vcov: Vec<Vec<f64>>,
    /// Residual deviance.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub deviance: f64,
    /// Null deviance (intercept and offsets only; the offsets alone without an intercept).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub null_deviance: f64,
    /// Residual degrees of freedom.
    pub df_residual: usize,
    /// Null-model degrees of freedom.
    pub df_null: usize,
    /// Log-likelihood.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub loglik: f64,
    /// AIC = −2 log L + 2 p.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub aic: f64,
    /// BIC = −2 log L + log(n) p, with n every row used, zero-trial binomial rows included (as
    /// R's `BIC`, which takes n from `logLik`'s `nobs` attribute); [`GlmFit::nobs`] leaves those
    /// rows out, as R's `nobs()` does.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub bic: f64,
    /// IRLS iterations (R's `iter`).
    pub iterations: usize,
    /// Whether R's rule |D − D_old| / (|D| + 0.1) < 1e-8 was met within 25 iterations.
    pub converged: bool,
    /// Fitted means μ (probabilities or rates), one per row used.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub fitted: Vec<f64>,
    /// Linear predictors η (offsets included).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub linear_predictor: Vec<f64>,
    /// Prior weights (the trials for `cbind(successes, failures)`, else 1).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub prior_weights: Vec<f64>,
    /// The response as fitted (proportions for the binomial).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub y: Vec<f64>,
    /// Data row ids of the rows used.
    pub row_ids: Vec<usize>,
    /// Rows used and dropped for missing values.
    pub missing: Missingness,
    /// What the fit noticed: non-convergence, fitted probabilities of 0 or 1 (separation),
    /// non-integer counts.
    pub diagnostics: Vec<String>,
    /// The model matrix, offsets, design and data, for profiling, probing and marginal
    /// effects (not serialized: a fit read back from JSON offers none of them).
    #[cfg_attr(feature = "serde", serde(skip))]
    model: Option<Model>,
}

/// GlmFit as read from JSON, checked before it becomes one.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct GlmFitRepr {
    formula: String,
    family: Family,
    coefficients: Vec<Coefficient>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    vcov: Vec<Vec<f64>>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    deviance: f64,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    null_deviance: f64,
    df_residual: usize,
    df_null: usize,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    loglik: f64,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    aic: f64,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    bic: f64,
    iterations: usize,
    converged: bool,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    fitted: Vec<f64>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    linear_predictor: Vec<f64>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    prior_weights: Vec<f64>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    y: Vec<f64>,
    row_ids: Vec<usize>,
    missing: Missingness,
    diagnostics: Vec<String>,
}

#[cfg(feature = "serde")]
impl TryFrom<GlmFitRepr> for GlmFit {
    type Error = Error;

    fn try_from(r: GlmFitRepr) -> Result<GlmFit> {
        let p = r.coefficients.len();
        let n = r.fitted.len();
        let bad = |what: String| Error::Argument {
            name: "GlmFit".into(),
            message: format!("not a valid fit: {what}"),
        };
        if r.vcov.len() != p || r.vcov.iter().any(|row| row.len() != p) {
            return Err(bad(format!("vcov is not {p} × {p}")));
        }
        for (what, len) in [
            ("linear_predictor", r.linear_predictor.len()),
            ("prior_weights", r.prior_weights.len()),
            ("y", r.y.len()),
            ("row_ids", r.row_ids.len()),
        ] {
            if len != n {
                return Err(bad(format!(
                    "{what} has {len} values for {n} fitted values"
                )));
            }
        }
        if r.missing.n_used != n || r.missing.n_used > r.missing.n_input {
            return Err(bad(format!(
                "{n} fitted values for {} rows used of {}",
                r.missing.n_used, r.missing.n_input
            )));
        }
        if r.df_residual > n || r.df_null > n {
            return Err(bad("residual or null df above the rows used".into()));
        }
        Ok(GlmFit {
            formula: r.formula,
            family: r.family,
            coefficients: r.coefficients,
            vcov: r.vcov,
            deviance: r.deviance,
            null_deviance: r.null_deviance,
            df_residual: r.df_residual,
            df_null: r.df_null,
            loglik: r.loglik,
            aic: r.aic,
            bic: r.bic,
            iterations: r.iterations,
            converged: r.converged,
            fitted: r.fitted,
            linear_predictor: r.linear_predictor,
            prior_weights: r.prior_weights,
            y: r.y,
            row_ids: r.row_ids,
            missing: r.missing,
            diagnostics: r.diagnostics,
            model: None,
        })
    }
}

/// What a fit keeps to be profiled, probed and differentiated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Model {
    pub(crate) x: DMatrix<f64>,
    pub(crate) offset: DVector<f64>,
    pub(crate) design: Design,
    /// The formula's columns, rows as used.
    pub(crate) data: Data,
    /// The formula's offset terms (`offset(log(n))`), for new data.
    pub(crate) offsets: Vec<String>,
    /// A GLMM's random terms as new data are coded for them (empty for a GLM).
    pub(crate) random: Vec<std::sync::Arc<crate::predict::ReCoder>>,
    /// A GLMM's response (proportions for cbind responses) and prior weights, rows as used
    /// (a GLM keeps them on the fit).
    pub(crate) response: Option<(Vec<f64>, Vec<f64>)>,
}

impl Model {
    pub(crate) fn new(
        x: DMatrix<f64>,
        offset: DVector<f64>,
        design: Design,
        data: Data,
        offsets: Vec<String>,
    ) -> Model {
        Model {
            x,
            offset,
            design,
            data,
            offsets,
            random: Vec::new(),
            response: None,
        }
    }
}

/// An average marginal effect on the response scale (probabilities or rates), with a
/// delta-method standard error, as R's `margins` reports it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct MarginalEffect {
    /// The numeric predictor.
    pub variable: String,
    /// Mean over the rows used of dμ/dx (x moved in every term it enters).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub effect: f64,
    /// Delta-method standard error.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub std_error: f64,
    /// effect / SE.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub z: f64,
    /// Two-sided normal p.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub p: f64,
    /// Wald interval at the level asked for.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub ci: [f64; 2],
}

/// An exponentiated coefficient: an odds ratio (logit link) or a rate ratio (log link).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Ratio {
    /// The term.
    pub term: String,
    /// exp(estimate).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub ratio: f64,
    /// exp of the Wald CI's ends.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub ci: [f64; 2],
}

/// `cbind(successes, failures)` on the left of `~`: the two column names.
fn cbind_response(formula: &str) -> Option<(String, String, String)> {
    let tilde = formula.find('~')?;
    let lhs = formula[..tilde].trim();
    let inner = lhs.strip_prefix("cbind")?.trim_start();
    let inner = inner.strip_prefix('(')?.strip_suffix(')')?;
    let mut depth = 0;
    let comma = inner.char_indices().find_map(|(i, c)| {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => return Some(i),
            _ => {}
        }
        None
    })?;
    let unquote = |s: &str| s.trim().trim_matches('`').to_string();
    Some((
        unquote(&inner[..comma]),
        unquote(&inner[comma + 1..]),
        formula[tilde + 1..].to_string(),
    ))
}

impl Glm {
    /// Fit `formula` to `data` by IRLS, as `glm(formula, family, data)`. The binomial takes a
    /// 0/1 response (or a two-level factor: its second level is 1, as R's) or
    /// `cbind(successes, failures)`; Poisson takes counts and `offset()` terms.
    ///
    /// ```
    /// use securebase::{Data, glm::{Family, Glm}};
    /// let d = Data::new()
    ///     .with_numeric("dropout", vec![0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0])?
    ///     .with_numeric("anxiety", vec![1.2, 2.0, 3.1, 1.8, 2.9, 4.0, 2.2, 2.4, 3.3, 3.5])?;
    /// let fit = Glm::fit(&d, "dropout ~ anxiety", Family::binomial())?;
    /// let or = &fit.exponentiated(0.95)?[1];
    /// assert!(or.ratio > 1.0 && fit.converged);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`crate::Ols::fit`] for the formula and data (unknown columns, aliasing, too few
    /// rows); [`Error::InvalidValue`] for a binomial response outside [0, 1] or a negative
    /// count, with its row; [`Error::Model`] for random-effect terms, for complete separation
    /// (every fitted probability 0 or 1: the estimates are infinite) and for a fit whose
    /// deviance is not finite.
    pub fn fit(data: &Data, formula: &str, family: Family) -> Result<GlmFit> {
        let Prepared {
            data,
            parsed,
            rows,
            x,
            y,
            weights,
            offset,
            design,
            missing,
        } = prepare(data, formula, family, false)?;
        let n = rows.len();
        let names = design.column_names().to_vec();
        let fitted = irls(&x, &y, &weights, &offset, family, &names, None)?;
        let p = x.ncols();
        if n <= p {
            return Err(Error::Model(format!(
                "{n} complete rows cannot estimate {p} coefficients (n must exceed p)"
            )));
        }
        let mut diagnostics = Vec::new();
        if !fitted.converged {
            diagnostics.push(format!(
                "the IRLS algorithm did not converge in {MAX_ITER} iterations (R: 'glm.fit: algorithm did not converge')"
            ));
        }
        let tiny = 10.0 * f64::EPSILON;
        match family.distribution {
            Distribution::Binomial => {
                if let Some(note) = separation(&y, &fitted.mu, formula)? {
                    diagnostics.push(note);
                }
            }
            Distribution::Poisson => {
                if fitted.mu.iter().any(|&m| m < tiny) {
                    diagnostics.push("fitted rates numerically 0 occurred".into());
                }
                if y.iter().any(|v| v.fract() != 0.0) {
                    diagnostics.push(
                        "the response has non-integer values: the Poisson likelihood (and AIC) treats them as counts"
                            .into(),
                    );
                }
            }
        }
        let intercept = design.has_intercept();
        let null_deviance = if intercept && offset.iter().any(|&o| o != 0.0) {
            let ones = DMatrix::from_element(n, 1, 1.0);
            irls(
                &ones,
                &y,
                &weights,
                &offset,
                family,
                &["(Intercept)".into()],
                None,
            )?
            .deviance
        } else {
            let mu0 = if intercept {
                let sw: f64 = weights.iter().sum();
                weights
                    .iter()
                    .zip(y.iter())
                    .map(|(w, y)| w * y)
                    .sum::<f64>()
                    / sw
            } else {
                f64::NAN
            };
            (0..n)
                .map(|i| {
                    let m = if intercept {
                        mu0
                    } else {
                        family.link_inv(offset[i])
                    };
                    family.deviance_residual(y[i], m, weights[i])
                })
                .sum()
        };
        let used = weights.iter().filter(|&&w| w > 0.0).count();
        let loglik: f64 = (0..n)
            .map(|i| family.loglik(y[i], fitted.mu[i], weights[i]))
            .sum();
        let aic = -2.0 * loglik + 2.0 * p as f64;
        let bic = -2.0 * loglik + (n as f64).ln() * p as f64;
        let coefficients = names
            .iter()
            .enumerate()
            .map(|(j, name)| {
                Coefficient::at(
                    name,
                    fitted.beta[j],
                    fitted.vcov[(j, j)].sqrt(),
                    f64::INFINITY,
                    0.95,
                )
            })
            .collect();
        Ok(GlmFit {
            formula: formula.to_string(),
            family,
            coefficients,
            vcov: fitted
                .vcov
                .row_iter()
                .map(|r| r.iter().copied().collect())
                .collect(),
            deviance: fitted.deviance,
            null_deviance,
            df_residual: used - p,
            df_null: used - usize::from(intercept),
            loglik,
            aic,
            bic,
            iterations: fitted.iterations,
            converged: fitted.converged,
            fitted: fitted.mu,
            linear_predictor: fitted.eta,
            prior_weights: weights,
            y: y.iter().copied().collect(),
            row_ids: rows.iter().map(|&r| data.row_id(r)).collect(),
            missing,
            diagnostics,
            model: Some(Model::new(
                x,
                offset,
                design,
                data.select_columns(&parsed.columns())?.select_rows(&rows)?,
                parsed.offsets().to_vec(),
            )),
        })
    }
}

/// The data, formula and model frame of a GLM (or of the fixed part of a GLMM): `cbind`
/// responses become proportions with their trials as prior weights, a two-level factor
/// response becomes 0/1, the response is checked against the family.
pub(crate) struct Prepared {
    pub(crate) data: Data,
    pub(crate) parsed: Formula,
    pub(crate) rows: Vec<usize>,
    pub(crate) x: DMatrix<f64>,
    pub(crate) y: DVector<f64>,
    pub(crate) weights: Vec<f64>,
    pub(crate) offset: DVector<f64>,
    pub(crate) design: Design,
    pub(crate) missing: Missingness,
}

pub(crate) fn prepare(data: &Data, formula: &str, family: Family, mixed: bool) -> Result<Prepared> {
    let (data, formula_text, trials) = match cbind_response(formula) {
        Some((s, f, rhs)) => {
            if family.distribution != Distribution::Binomial {
                return Err(Error::Model(format!(
                    "cbind(successes, failures) is a binomial response; the {} family needs counts",
                    family.name()
                )));
            }
            // Each side a column or an expression of columns (`cbind(k, n - k)`, as R).
            let side = |text: &str| -> Result<crate::data::NumericColumn> {
                if data.has_column(text) {
                    return Ok(data.numeric(text)?.clone());
                }
                match crate::formula::evaluate(data, text) {
                    Ok(Column::Numeric(v)) => Ok(v),
                    Ok(_) => Err(Error::Term {
                        term: text.to_string(),
                        message: "a side of cbind() must be numeric".into(),
                    }),
                    Err(e @ Error::UnknownColumn { .. }) => Err(e),
                    Err(_) => Err(Error::unknown_column(text, data.names())),
                }
            };
            let succ = side(&s)?;
            let fail = side(&f)?;
            let (succ, fail) = (&succ, &fail);
            let mut y = Vec::with_capacity(succ.len());
            let mut n = Vec::with_capacity(succ.len());
            for (i, (a, b)) in succ.iter().zip(fail).enumerate() {
                for (name, v) in [(&s, a), (&f, b)] {
                    if let Some(v) = v
                        && (v < 0.0 || !v.is_finite())
                    {
                        return Err(Error::InvalidValue {
                            column: name.clone(),
                            row: data.row_id(i),
                            value: v.to_string(),
                            reason: "successes and failures must be counts ≥ 0".into(),
                        });
                    }
                }
                match (a, b) {
                    (Some(a), Some(b)) => {
                        let t = a + b;
                        y.push(Some(if t > 0.0 { a / t } else { 0.0 }));
                        n.push(Some(t));
                    }
                    _ => {
                        y.push(None);
                        n.push(None);
                    }
                }
            }
            let name = format!("cbind({s}, {f})");
            let mut d = data.clone();
            d.add_column(&name, Column::Numeric(y.into()))?;
            (d, format!("`{name}` ~{rhs}"), Some(n))
        }
        None => (data.clone(), formula.to_string(), None),
    };
    let parsed = Formula::parse(&formula_text)?;
    if parsed.is_mixed() && !mixed {
        return Err(Error::Model(format!(
            "'{formula}' has random-effect terms; fit it with Glm::fit_mixed (a generalized linear mixed model)"
        )));
    }
    let data = binary_factor_response(data, &parsed, family)?;
    let (frame, data) = ModelFrame::at_level(
        &parsed,
        &data,
        if mixed {
            "mixed model"
        } else {
            "generalized linear model"
        },
    )?;
    let data = data.into_owned();
    let ModelFrame {
        rows,
        y,
        x,
        design,
        missing,
        offset,
        ..
    } = frame;
    let n = rows.len();
    let offset = offset.unwrap_or_else(|| DVector::zeros(n));
    // ModelFrame subtracts offsets from the response; the GLM needs the response itself.
    let y: DVector<f64> = &y + &offset;
    let weights: Vec<f64> = match &trials {
        Some(t) => rows.iter().map(|&r| t[r].unwrap_or(0.0)).collect(),
        None => vec![1.0; n],
    };
    let response = parsed.response().to_string();
    check_response(
        &y,
        &weights,
        &rows,
        &data,
        &response,
        family,
        trials.is_some(),
    )?;
    Ok(Prepared {
        data,
        parsed,
        rows,
        x,
        y,
        weights,
        offset,
        design,
        missing,
    })
}

/// A two-level categorical response of a binomial model becomes 0/1 (its second level is 1).
fn binary_factor_response(data: Data, formula: &Formula, family: Family) -> Result<Data> {
    let name = formula.response();
    let Ok(Column::Categorical(f)) = data.column(name) else {
        return Ok(data);
    };
    if family.distribution != Distribution::Binomial || f.levels().len() != 2 {
        return Err(Error::ColumnType {
            name: name.to_string(),
            expected: "numeric".into(),
            found: format!("categorical with {} levels", f.levels().len()),
            context: Some(format!(
                "the response of a {} model (a binomial response may be a two-level factor)",
                family.name()
            )),
        });
    }
    let values = f.codes().iter().map(|c| c.map(f64::from)).collect();
    let mut d = data;
    d.replace_column(name, Column::Numeric(values))?;
    Ok(d)
}

fn check_response(
    y: &DVector<f64>,
    weights: &[f64],
    rows: &[usize],
    data: &Data,
    name: &str,
    family: Family,
    trials: bool,
) -> Result<()> {
    for (i, &v) in y.iter().enumerate() {
        let bad = match family.distribution {
            Distribution::Binomial if trials => None,
            Distribution::Binomial => (!(v == 0.0 || v == 1.0)).then_some(
                "a binomial response must be 0 or 1 (or give successes and failures as cbind(successes, failures))",
            ),
            Distribution::Poisson => (v < 0.0).then_some("a Poisson response is a count ≥ 0"),
        };
        if let Some(reason) = bad {
            return Err(Error::InvalidValue {
                column: name.to_string(),
                row: data.row_id(rows[i]),
                value: v.to_string(),
                reason: reason.into(),
            });
        }
    }
    if weights.iter().all(|&w| w == 0.0) {
        return Err(Error::Model(
            "every row has zero trials: there is nothing to fit".into(),
        ));
    }
    Ok(())
}

/// β̂ and its covariance from a plain IRLS fit (the start of a GLMM).
pub(crate) fn irls_public(
    x: &DMatrix<f64>,
    y: &DVector<f64>,
    w: &[f64],
    offset: &DVector<f64>,
    family: Family,
    names: &[String],
) -> Result<(DVector<f64>, DMatrix<f64>, Vec<f64>)> {
    let f = irls(x, y, w, offset, family, names, None)?;
    Ok((f.beta, f.vcov, f.mu))
}

/// Separation in a binomial fit with fitted means `mu`: complete separation (every 0/1
/// outcome fitted to within 1e-5, so the estimates are infinite) is an error; fitted
/// probabilities numerically 0 or 1 in some rows (quasi-complete separation) a note.
pub(crate) fn separation(y: &DVector<f64>, mu: &[f64], formula: &str) -> Result<Option<String>> {
    let tiny = 10.0 * f64::EPSILON;
    let n = mu.len();
    let extreme = mu.iter().filter(|&&m| m > 1.0 - tiny || m < tiny).count();
    // The deviance goes to 0 and the estimates to ±∞ as IRLS runs on.
    let perfect = (0..n).all(|i| (y[i] == 0.0 || y[i] == 1.0) && (y[i] - mu[i]).abs() < 1e-5);
    if perfect {
        return Err(Error::Model(format!(
            "complete separation: the predictors of '{formula}' separate the outcomes perfectly, so every fitted probability is 0 or 1 and the estimates are infinite; drop or combine the separating term, or use a penalized (Firth) model"
        )));
    }
    Ok((extreme > 0).then(|| format!(
        "fitted probabilities numerically 0 or 1 occurred in {extreme} of {n} rows: quasi-complete separation; the estimates and SEs of the separating terms are not reliable"
    )))
}

struct Irls {
    beta: DVector<f64>,
    vcov: DMatrix<f64>,
    mu: Vec<f64>,
    eta: Vec<f64>,
    deviance: f64,
    iterations: usize,
    converged: bool,
}

/// IRLS as R's `glm.fit`: start from R's μ, solve the weighted least-squares problem by a
/// Householder QR each iteration, halve the step when the deviance is not finite, stop when
/// |D − D_old| / (|D| + 0.1) < ε. The covariance is that of the last weighted fit, as R's
/// `summary.glm` takes it.
fn irls(
    x: &DMatrix<f64>,
    y: &DVector<f64>,
    w: &[f64],
    offset: &DVector<f64>,
    family: Family,
    names: &[String],
    start: Option<&DVector<f64>>,
) -> Result<Irls> {
    let (n, p) = x.shape();
    let deviance = |mu: &[f64]| -> f64 {
        (0..n)
            .map(|i| family.deviance_residual(y[i], mu[i], w[i]))
            .sum()
    };
    // R's start: from μ of the data, or (with coefficients given) η = Xβ + offset, which also
    // serves as the first fallback of the step halving.
    let mut eta: Vec<f64> = match start {
        Some(b) => (x * b + offset).iter().copied().collect(),
        None => (0..n)
            .map(|i| family.link_fun(family.mu_start(y[i], w[i])))
            .collect(),
    };
    let mut mu: Vec<f64> = eta.iter().map(|&e| family.link_inv(e)).collect();
    let mut dev_old = deviance(&mu);
    let mut beta_old: Option<DVector<f64>> = start.cloned();
    let mut converged = false;
    let mut iterations = 0;
    let mut last_r = None;
    let mut beta = DVector::zeros(p);
    for iter in 1..=MAX_ITER {
        iterations = iter;
        let good: Vec<usize> = (0..n)
            .filter(|&i| w[i] > 0.0 && family.mu_eta(eta[i]) != 0.0)
            .collect();
        let m = good.len();
        let mut xw = DMatrix::<f64>::zeros(m, p);
        let mut zw = DVector::<f64>::zeros(m);
        for (r, &i) in good.iter().enumerate() {
            let d = family.mu_eta(eta[i]);
            let z = eta[i] - offset[i] + (y[i] - mu[i]) / d;
            let wt = (w[i] * d * d / family.variance(mu[i])).sqrt();
            for c in 0..p {
                xw[(r, c)] = x[(i, c)] * wt;
            }
            zw[r] = z * wt;
        }
        if m <= p {
            return Err(Error::Model(format!(
                "{m} rows with positive weight cannot estimate {p} coefficients"
            )));
        }
        let qr = Qr::new(&xw).map_err(|j| Error::Term {
            term: names[j].clone(),
            message: "aliased: this column is a linear combination of earlier columns (rank-deficient design); drop it or one of the terms it depends on".into(),
        })?;
        let r = qr.r();
        let rinv = upper_inverse(&r);
        let qtz = qr.qt_mul(&zw);
        let mut start = &rinv * qtz.rows(0, p);
        let mut dev;
        let mut halvings = 0;
        loop {
            let e = x * &start + offset;
            eta = e.iter().copied().collect();
            mu = eta.iter().map(|&e| family.link_inv(e)).collect();
            dev = deviance(&mu);
            if dev.is_finite() {
                break;
            }
            let Some(old) = &beta_old else {
                return Err(Error::Model(
                    "no valid set of coefficients has been found: the deviance is not finite at the first step; check the response and offsets".into(),
                ));
            };
            halvings += 1;
            if halvings > MAX_ITER {
                return Err(Error::Model(
                    "the IRLS step could not be reduced to a finite deviance".into(),
                ));
            }
            start = (&start + old) * 0.5;
        }
        last_r = Some(rinv);
        beta = start.clone();
        if (dev - dev_old).abs() / (dev.abs() + 0.1) < EPSILON {
            converged = true;
            dev_old = dev;
            break;
        }
        dev_old = dev;
        beta_old = Some(start);
    }
    let rinv = last_r.unwrap_or_else(|| DMatrix::zeros(p, p));
    let vcov = &rinv * rinv.transpose();
    Ok(Irls {
        beta,
        vcov,
        mu,
        eta,
        deviance: dev_old,
        iterations,
        converged,
    })
}

/// A refit with one coefficient fixed: (deviance, the other coefficients) from a start.
type Refit<'a> = dyn Fn(f64, &DVector<f64>) -> Result<(f64, DVector<f64>)> + 'a;

/// The b in [b0, b1] where ζ(b) = q, given ζ(b0) < q ≤ ζ(b1): regula falsi safeguarded by
/// bisection (Illinois variant), every refit started from the inner end's coefficients.
fn root(
    refit: &Refit<'_>,
    zeta: &dyn Fn(f64) -> f64,
    q: f64,
    (mut a, za): (f64, f64),
    (mut b, zb): (f64, f64),
    from: &DVector<f64>,
    se: f64,
) -> Result<f64> {
    let (mut fa, mut fb) = (za - q, zb - q);
    let mut side = 0;
    for _ in 0..200 {
        if (b - a).abs() <= 1e-10 * se {
            break;
        }
        let mut m = b - fb * (b - a) / (fb - fa);
        if !(m.is_finite() && (m - a) * (m - b) < 0.0) {
            m = 0.5 * (a + b);
        }
        let fm = zeta(refit(m, from)?.0) - q;
        if fm == 0.0 {
            return Ok(m);
        }
        if (fm < 0.0) == (fa < 0.0) {
            a = m;
            fa = fm;
            if side == -1 {
                fb *= 0.5;
            }
            side = -1;
        } else {
            b = m;
            fb = fm;
            if side == 1 {
                fa *= 0.5;
            }
            side = 1;
        }
    }
    Ok(if fa.abs() < fb.abs() { a } else { b })
}

impl GlmFit {
    /// The number of observations as R's `nobs()` counts them: rows used with a non-zero prior
    /// weight (a binomial row of zero trials carries no information and is not counted; the
    /// residual df are this less the coefficients).
    ///
    /// ```
    /// use securebase::Data;
    /// use securebase::glm::{Family, Glm};
    /// let d = Data::from_csv_reader("s,f,x\n0,0,1\n1,2,2\n3,1,3\n2,2,4\n4,1,5\n".as_bytes())?;
    /// let fit = Glm::fit(&d, "cbind(s, f) ~ x", Family::binomial())?;
    /// assert_eq!(fit.nobs(), 4);
    /// assert_eq!(fit.missing.n_used, 5);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    pub fn nobs(&self) -> usize {
        self.prior_weights.iter().filter(|&&w| w > 0.0).count()
    }

    /// The kept model (None for a fit read back from JSON).
    pub(crate) fn model(&self) -> Result<&Model> {
        self.model.as_ref().ok_or_else(|| {
            Error::Model(
                "this needs the model matrix, which a fit read back from JSON does not carry: refit the model".into(),
            )
        })
    }

    /// Average marginal effect of a numeric predictor on the response scale (R's
    /// `margins::margins(fit)`): the mean over the rows used of dμᵢ/dx, x moved in every term
    /// it enters (interactions, `I(x^2)`, …), by a central difference of the model matrix; the
    /// SE by the delta method with the exact gradient in β of that same difference.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`] if `variable` is not a numeric column of the model;
    /// [`Error::Argument`] for a level outside (0, 1); [`Error::Model`] for a fit read back from
    /// JSON.
    pub fn average_marginal_effect(&self, variable: &str, level: f64) -> Result<MarginalEffect> {
        if !(level > 0.0 && level < 1.0) {
            return Err(Error::Argument {
                name: "level".into(),
                message: format!("must be in (0, 1), got {level}"),
            });
        }
        let m = self.model()?;
        let values: Vec<f64> = match m.data.column(variable) {
            Ok(Column::Numeric(v)) => v.iter().map(|x| x.unwrap_or(f64::NAN)).collect(),
            Ok(_) => {
                return Err(Error::ColumnType {
                    name: variable.to_string(),
                    expected: "numeric".into(),
                    found: "categorical".into(),
                    context: Some("an average marginal effect (use contrasts of levels)".into()),
                });
            }
            Err(_) => {
                return Err(Error::UnknownColumn {
                    name: variable.to_string(),
                    available: m.data.names().to_vec(),
                    formula: Some(self.formula.clone()),
                    position: None,
                });
            }
        };
        let scale = values.iter().fold(0.0_f64, |a, v| a.max(v.abs())).max(1.0);
        let h = 1e-5 * scale;
        let shifted = |d: f64| -> Result<DMatrix<f64>> {
            let mut data = m.data.clone();
            let moved: Vec<f64> = values.iter().map(|v| v + d).collect();
            data.replace_column(
                variable,
                Column::Numeric(moved.into_iter().map(Some).collect()),
            )?;
            let rows: Vec<usize> = (0..data.nrows()).collect();
            m.design.matrix(&data, &rows)
        };
        let (xp, xm) = (shifted(h)?, shifted(-h)?);
        let beta = DVector::from_iterator(
            self.coefficients.len(),
            self.coefficients.iter().map(|c| c.estimate),
        );
        let (ep, em) = (&xp * &beta + &m.offset, &xm * &beta + &m.offset);
        let n = xp.nrows();
        let p = beta.len();
        let mut effect = 0.0;
        let mut grad = DVector::<f64>::zeros(p);
        for i in 0..n {
            let f = self.family;
            effect += (f.link_inv(ep[i]) - f.link_inv(em[i])) / (2.0 * h);
            let (dp, dm) = (f.mu_eta(ep[i]), f.mu_eta(em[i]));
            for j in 0..p {
                grad[j] += (dp * xp[(i, j)] - dm * xm[(i, j)]) / (2.0 * h);
            }
        }
        effect /= n as f64;
        grad /= n as f64;
        let v = DMatrix::from_fn(p, p, |a, b| self.vcov[a][b]);
        let se = (grad.transpose() * v * &grad)[(0, 0)].max(0.0).sqrt();
        let z = effect / se;
        let q = normal_quantile(0.5 + level / 2.0);
        Ok(MarginalEffect {
            variable: variable.to_string(),
            effect,
            std_error: se,
            z,
            p: crate::stats::t_two_sided(z, f64::INFINITY),
            ci: [effect - q * se, effect + q * se],
        })
    }

    /// Deviance residuals: sign(y − μ) √(unit deviance), as R's `residuals(fit)`.
    pub fn deviance_residuals(&self) -> Vec<f64> {
        (0..self.y.len())
            .map(|i| {
                let (y, mu) = (self.y[i], self.fitted[i]);
                let d = self
                    .family
                    .deviance_residual(y, mu, self.prior_weights[i])
                    .max(0.0);
                (y - mu).signum() * d.sqrt()
            })
            .collect()
    }

    /// The coefficient of a term.
    pub fn coefficient(&self, term: &str) -> Option<&Coefficient> {
        self.coefficients.iter().find(|c| c.term == term)
    }

    /// Wald confidence intervals at `level` (R's `confint.default`).
    ///
    /// # Errors
    /// [`Error::Argument`] for a level outside (0, 1).
    pub fn confint_wald(&self, level: f64) -> Result<Vec<(String, [f64; 2])>> {
        if !(level > 0.0 && level < 1.0) {
            return Err(Error::Argument {
                name: "level".into(),
                message: format!("must be in (0, 1), got {level}"),
            });
        }
        let z = normal_quantile(0.5 + level / 2.0);
        Ok(self
            .coefficients
            .iter()
            .map(|c| {
                (
                    c.term.clone(),
                    [c.estimate - z * c.std_error, c.estimate + z * c.std_error],
                )
            })
            .collect())
    }

    /// Profile-likelihood confidence intervals at `level` (R's `confint()` of a glm, which
    /// interpolates the same profile on a grid): for each coefficient the values b where the
    /// signed root deviance sign(b − β̂) √(D_j(b) − D̂) equals ∓ z_{(1+level)/2}, D_j(b) being
    /// the deviance refitted with the coefficient fixed at b. Each end is found by walking out
    /// from β̂ in quarter-SE steps, every refit started from the last (a cold start far from β̂
    /// can fail), then by bisection with secant steps to 1e-10 · SE. An end the walk does not
    /// reach within 200 steps (50 SE; separation) is infinite.
    ///
    /// # Errors
    /// [`Error::Argument`] for a level outside (0, 1); [`Error::Model`] for a fit read back
    /// from JSON (its model matrix is not serialized) or a refit that fails.
    pub fn confint_profile(&self, level: f64) -> Result<Vec<(String, [f64; 2])>> {
        if !(level > 0.0 && level < 1.0) {
            return Err(Error::Argument {
                name: "level".into(),
                message: format!("must be in (0, 1), got {level}"),
            });
        }
        let Some(Model { x, offset, .. }) = &self.model else {
            return Err(Error::Model(
                "profile intervals need the model matrix, which a fit read back from JSON does not carry: refit the model".into(),
            ));
        };
        let q = normal_quantile(0.5 + level / 2.0);
        let y = DVector::from_column_slice(&self.y);
        let (n, p) = x.shape();
        let mut out = Vec::with_capacity(p);
        for (j, c) in self.coefficients.iter().enumerate() {
            let others: Vec<usize> = (0..p).filter(|&k| k != j).collect();
            let xr = x.select_columns(&others);
            let names: Vec<String> = others
                .iter()
                .map(|&k| self.coefficients[k].term.clone())
                .collect();
            let start: DVector<f64> = DVector::from_iterator(
                p - 1,
                others.iter().map(|&k| self.coefficients[k].estimate),
            );
            // Deviance and coefficients with coefficient j fixed at b.
            let refit = |b: f64, from: &DVector<f64>| -> Result<(f64, DVector<f64>)> {
                let o = offset + x.column(j) * b;
                if p == 1 {
                    let d = (0..n)
                        .map(|i| {
                            self.family.deviance_residual(
                                y[i],
                                self.family.link_inv(o[i]),
                                self.prior_weights[i],
                            )
                        })
                        .sum();
                    return Ok((d, DVector::zeros(0)));
                }
                let f = irls(
                    &xr,
                    &y,
                    &self.prior_weights,
                    &o,
                    self.family,
                    &names,
                    Some(from),
                )?;
                Ok((f.deviance, f.beta))
            };
            let zeta = |d: f64| (d - self.deviance).max(0.0).sqrt();
            let mut ends = [f64::NEG_INFINITY, f64::INFINITY];
            for (e, dir) in [-1.0, 1.0].into_iter().enumerate() {
                let step = dir * c.std_error / 4.0;
                let (mut b0, mut z0, mut from) = (c.estimate, 0.0, start.clone());
                for _ in 0..200 {
                    let b1 = b0 + step;
                    let (d1, beta1) = refit(b1, &from)?;
                    let z1 = zeta(d1);
                    if z1 >= q {
                        ends[e] = root(&refit, &zeta, q, (b0, z0), (b1, z1), &from, c.std_error)?;
                        break;
                    }
                    (b0, z0, from) = (b1, z1, beta1);
                }
            }
            out.push((c.term.clone(), ends));
        }
        Ok(out)
    }

    /// exp(β) with exp of the Wald CI at `level`: odds ratios for the logit link, rate ratios
    /// for the log link (for probit and cloglog the ratio has no such reading).
    ///
    /// # Errors
    /// As [`GlmFit::confint_wald`].
    pub fn exponentiated(&self, level: f64) -> Result<Vec<Ratio>> {
        Ok(self
            .confint_wald(level)?
            .into_iter()
            .zip(&self.coefficients)
            .map(|((term, [lo, hi]), c)| Ratio {
                term,
                ratio: c.estimate.exp(),
                ci: [lo.exp(), hi.exp()],
            })
            .collect())
    }
}
