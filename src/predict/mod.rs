//! Predictions from a fitted model on new data, and fitted values and residuals aligned to the
//! data's rows.
//!
//! [`LmmFit::predict`](crate::LmmFit::predict), [`GlmFit::predict`](crate::glm::GlmFit::predict)
//! and [`GlmmFit::predict`](crate::glm::GlmmFit::predict) take the same [`PredictOptions`] and
//! return the same [`ModelPrediction`], as lme4's `predict.merMod` and R's `predict.glm` do:
//!
//! - which random effects enter: none (`re.form = NA`), all (`re.form = NULL`, the default) or
//!   those of some grouping factors ([`RandomPart`]);
//! - whether a level the fit never saw is an error (lme4's default) or gets random effects of
//!   zero (`allow.new.levels = TRUE`), counted on the result;
//! - the link or the response scale ([`Scale`]).
//!
//! The standard error is that of the fixed part, √(x′V̂x) with V̂ the fixed effects' covariance
//! (the delta method on the response scale); its confidence interval uses the fit's df
//! (Satterthwaite's for a mixed model fitted with them, else the normal quantile) and, on the
//! response scale, is the link-scale interval mapped through the inverse link. A linear mixed
//! model's prediction interval for a new observation adds the residual variance σ̂², the
//! conditional variances of the random effects it conditions on and the full variance of those
//! it does not (excluded grouping factors and new levels), with the normal quantile.

mod random;

pub use random::NewLevels;
pub(crate) use random::ReCoder;

use crate::data::Data;
use crate::error::{Error, Result};
use crate::formula::design::Design;
use nalgebra::DMatrix;

/// Which random effects a prediction conditions on (lme4's `re.form`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum RandomPart {
    /// The population level: fixed effects only (`re.form = NA`).
    Population,
    /// Every random effect (`re.form = NULL`, R's default).
    #[default]
    All,
    /// The random effects of these grouping factors only (`re.form = ~ (1 | therapist)`), named
    /// as the fit names them (`therapist`, `cask:batch`).
    Groups(Vec<String>),
}

/// The scale of a prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum Scale {
    /// The linear predictor η (R's `type = "link"`, its default).
    #[default]
    Link,
    /// The mean μ = g⁻¹(η) (`type = "response"`); the same as the link scale for a linear model.
    Response,
}

/// How to predict: random part, new levels, scale and interval level.
///
/// ```
/// use securebase::predict::{PredictOptions, RandomPart, Scale};
/// let o = PredictOptions::new()
///     .random(RandomPart::Population)
///     .scale(Scale::Response)
///     .level(0.9);
/// assert_eq!(o, PredictOptions::new().random(RandomPart::Population).scale(Scale::Response).level(0.9));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PredictOptions {
    /// Which random effects enter.
    pub random: RandomPart,
    /// Whether a level the fit never saw gets random effects of zero (else it is an error).
    pub new_levels: bool,
    /// Link or response scale.
    pub scale: Scale,
    /// Level of the confidence and prediction intervals.
    pub level: f64,
}

impl Default for PredictOptions {
    fn default() -> Self {
        PredictOptions {
            random: RandomPart::All,
            new_levels: false,
            scale: Scale::Link,
            level: 0.95,
        }
    }
}

impl PredictOptions {
    /// R's defaults: all random effects, new levels an error, link scale, 95% intervals.
    pub fn new() -> PredictOptions {
        PredictOptions::default()
    }
    /// Which random effects enter.
    pub fn random(mut self, random: RandomPart) -> PredictOptions {
        self.random = random;
        self
    }
    /// Allow levels the fit never saw (their random effects are zero; lme4's
    /// `allow.new.levels = TRUE`).
    pub fn new_levels(mut self, allow: bool) -> PredictOptions {
        self.new_levels = allow;
        self
    }
    /// Link or response scale.
    pub fn scale(mut self, scale: Scale) -> PredictOptions {
        self.scale = scale;
        self
    }
    /// Interval level in (0, 1).
    pub fn level(mut self, level: f64) -> PredictOptions {
        self.level = level;
        self
    }
}

/// Predictions for the rows of new data, in their order.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ModelPrediction {
    /// The prediction on [`ModelPrediction::scale`], random effects included as asked.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub fit: Vec<f64>,
    /// Standard error of the fixed part √(x′V̂x) on that scale (delta method on the response
    /// scale); the random effects' uncertainty is not in it.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub se_fit: Vec<f64>,
    /// The df of the confidence interval (infinite: the normal quantile).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub df: Vec<f64>,
    /// Confidence interval of the fixed part, shifted by the random effects included.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub confidence: Vec<[f64; 2]>,
    /// Prediction interval for a new observation (linear mixed models only; `None` where it is
    /// not defined by a normal error, as for binomial and Poisson models).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub prediction: Option<Vec<[f64; 2]>>,
    /// The scale of `fit`, `se_fit` and the intervals.
    pub scale: Scale,
    /// The interval level.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub level: f64,
    /// The grouping factors whose random effects were included.
    pub groups: Vec<String>,
    /// Per included grouping factor with levels the fit never saw: how many, on how many rows
    /// (their random effects are zero).
    pub new_levels: Vec<NewLevels>,
}

/// The fixed part of a model as a prediction needs it.
pub(crate) struct FixedPart<'a> {
    pub design: &'a Design,
    pub offsets: &'a [String],
    pub beta: &'a [f64],
    pub vcov: &'a [Vec<f64>],
}

/// The random part: one coder per term with the fit's modes, conditional variances and
/// covariance, in the fit's term order.
pub(crate) struct RandomTerms<'a> {
    pub coders: Vec<&'a ReCoder>,
    pub ranef: &'a [crate::lmm::RandomEffects],
    pub covariance: Vec<&'a [Vec<f64>]>,
}

/// The linear predictor on new data and its pieces.
pub(crate) struct Linear {
    pub eta: Vec<f64>,
    pub x: DMatrix<f64>,
    /// x′V̂x per row.
    pub var_fixed: Vec<f64>,
    /// Variance of the random effects entering each row: conditional variances of known levels
    /// plus the full variance of excluded terms and new levels.
    pub var_random: Vec<f64>,
    pub groups: Vec<String>,
    pub new_levels: Vec<NewLevels>,
}

/// The sum of the offsets on each row of `data`, if the formula has any.
pub(crate) fn offsets(data: &Data, design: &Design, labels: &[String]) -> Result<Option<Vec<f64>>> {
    if labels.is_empty() {
        return Ok(None);
    }
    let aug = crate::formula::functions::apply_bound(data, design.transforms())?;
    let mut sum = vec![0.0; data.nrows()];
    for label in labels {
        for (r, (s, v)) in sum.iter_mut().zip(aug.numeric(label)?).enumerate() {
            *s += v.ok_or_else(|| Error::InvalidValue {
                column: label.clone(),
                row: data.row_id(r),
                value: "NA".into(),
                reason: "missing value where the model needs one".into(),
            })?;
        }
    }
    Ok(Some(sum))
}

/// The groups a [`RandomPart`] includes, checked against the model's.
fn included(random: &RandomPart, model_groups: &[&str]) -> Result<Vec<String>> {
    let mut distinct: Vec<&str> = Vec::new();
    for g in model_groups {
        if !distinct.contains(g) {
            distinct.push(g);
        }
    }
    match random {
        RandomPart::Population => Ok(Vec::new()),
        RandomPart::All => Ok(distinct.iter().map(|g| g.to_string()).collect()),
        RandomPart::Groups(names) => {
            for n in names {
                if !distinct.contains(&n.as_str()) {
                    return Err(Error::Argument {
                        name: "random".into(),
                        message: format!(
                            "'{n}' is not a grouping factor of this model; its grouping factors are {}",
                            if distinct.is_empty() {
                                "none (a fixed-effects model)".to_string()
                            } else {
                                distinct.join(", ")
                            }
                        ),
                    });
                }
            }
            Ok(distinct
                .iter()
                .filter(|g| names.iter().any(|n| n == *g))
                .map(|g| g.to_string())
                .collect())
        }
    }
}

/// Xβ + offsets + Zb on `data`, with the variance pieces.
pub(crate) fn linear(
    data: &Data,
    fixed: &FixedPart<'_>,
    random: Option<&RandomTerms<'_>>,
    options: &PredictOptions,
) -> Result<Linear> {
    crate::stats::check_level(options.level)?;
    let model_groups: Vec<&str> = random
        .map(|r| r.coders.iter().map(|c| c.group.as_str()).collect())
        .unwrap_or_default();
    let groups = included(&options.random, &model_groups)?;
    let rows: Vec<usize> = (0..data.nrows()).collect();
    let x = fixed.design.matrix(data, &rows)?;
    let p = fixed.beta.len();
    let mut eta = vec![0.0; rows.len()];
    let mut var_fixed = vec![0.0; rows.len()];
    for (i, row) in x.row_iter().enumerate() {
        let mut e = 0.0;
        let mut v = 0.0;
        for a in 0..p {
            e += row[a] * fixed.beta[a];
            let mut s = 0.0;
            for b in 0..p {
                s += fixed.vcov[a][b] * row[b];
            }
            v += row[a] * s;
        }
        eta[i] = e;
        var_fixed[i] = v.max(0.0);
    }
    if let Some(o) = offsets(data, fixed.design, fixed.offsets)? {
        for (e, o) in eta.iter_mut().zip(o) {
            *e += o;
        }
    }
    let mut var_random = vec![0.0; rows.len()];
    let mut new_levels = Vec::new();
    if let Some(r) = random {
        for (k, coder) in r.coders.iter().enumerate() {
            let include = groups.contains(&coder.group);
            let part = coder.contribution(
                data,
                &r.ranef[k],
                r.covariance[k],
                include,
                options.new_levels,
            )?;
            for i in 0..rows.len() {
                eta[i] += part.add[i];
                var_random[i] += part.var[i];
            }
            if let Some(n) = part.new_levels {
                match new_levels
                    .iter_mut()
                    .find(|m: &&mut NewLevels| m.group == n.group)
                {
                    Some(m) => {
                        m.levels = m.levels.max(n.levels);
                        m.rows = m.rows.max(n.rows);
                    }
                    None => new_levels.push(n),
                }
            }
        }
    }
    Ok(Linear {
        eta,
        x,
        var_fixed,
        var_random,
        groups,
        new_levels,
    })
}

/// The inverse link and its derivative, or `None` for the identity.
pub(crate) type InverseLink<'a> = Option<&'a dyn Fn(f64) -> (f64, f64)>;

/// Put a [`Linear`] on the asked scale with intervals. `df` per row; `sigma2` the residual
/// variance of a linear mixed model (for prediction intervals).
pub(crate) fn finish(
    lin: Linear,
    df: Vec<f64>,
    inverse: InverseLink<'_>,
    sigma2: Option<f64>,
    options: &PredictOptions,
) -> ModelPrediction {
    let n = lin.eta.len();
    let mut fit = Vec::with_capacity(n);
    let mut se_fit = Vec::with_capacity(n);
    let mut confidence = Vec::with_capacity(n);
    let upper = 0.5 + options.level / 2.0;
    let z = crate::stats::normal_quantile(upper);
    for (i, &dfi) in df.iter().enumerate() {
        let se = lin.var_fixed[i].sqrt();
        let q = if dfi.is_finite() {
            crate::stats::t_quantile(upper, dfi)
        } else {
            z
        };
        let (lo, hi) = (lin.eta[i] - q * se, lin.eta[i] + q * se);
        match (options.scale, inverse) {
            (Scale::Response, Some(inv)) => {
                let (mu, d) = inv(lin.eta[i]);
                let (a, b) = (inv(lo).0, inv(hi).0);
                fit.push(mu);
                se_fit.push(se * d.abs());
                confidence.push([a.min(b), a.max(b)]);
            }
            _ => {
                fit.push(lin.eta[i]);
                se_fit.push(se);
                confidence.push([lo, hi]);
            }
        }
    }
    let prediction = sigma2.map(|s2| {
        (0..n)
            .map(|i| {
                let s = (lin.var_fixed[i] + lin.var_random[i] + s2).sqrt();
                [lin.eta[i] - z * s, lin.eta[i] + z * s]
            })
            .collect()
    });
    ModelPrediction {
        fit,
        se_fit,
        df,
        confidence,
        prediction,
        scale: options.scale,
        level: options.level,
        groups: lin.groups,
        new_levels: lin.new_levels,
    }
}

/// The kind of residual (R's `residuals(fit, type =)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum ResidualKind {
    /// y − μ̂, the random effects included (`type = "response"`).
    Response,
    /// (y − μ̂) √w / √V(μ̂) (`type = "pearson"`; for a linear mixed model without weights the
    /// same as the response residual, as lme4 gives it).
    Pearson,
    /// The response residual divided by σ̂ (lme4's `residuals(fit, scaled = TRUE)`); for a GLMM
    /// the Pearson residual (the dispersion is 1).
    Scaled,
    /// sign(y − μ̂) √(unit deviance) (`type = "deviance"`); for a linear mixed model the response
    /// residual.
    Deviance,
    /// y − g⁻¹(x′β̂): the residual from the population-level prediction, no random effects.
    Marginal,
}

/// Values on the rows a fit used, aligned to the rows of `data` (`None` where `data` has a row
/// the fit did not use): R's `na.action = na.exclude`. The rows are matched by origin
/// ([`Data::row_ids`]), so `data` must be the data the model was fitted to, or rows of it.
pub(crate) fn align(
    values: &[f64],
    fit_rows: &[usize],
    unit: Option<&crate::data::ModelUnit>,
    data: &Data,
) -> Result<Vec<Option<f64>>> {
    if let Some(u) = unit {
        return Err(Error::Argument {
            name: "data".into(),
            message: format!(
                "the model was fitted to {u}, not to the rows of the data; align its values with data.one_row_per(..) of the same level"
            ),
        });
    }
    debug_assert_eq!(values.len(), fit_rows.len());
    let mut by_origin: std::collections::HashMap<usize, usize> =
        std::collections::HashMap::with_capacity(fit_rows.len());
    for (i, &r) in fit_rows.iter().enumerate() {
        by_origin.insert(r, i);
    }
    let mut out = Vec::with_capacity(data.nrows());
    let mut found = 0;
    for r in 0..data.nrows() {
        match by_origin.get(&data.row_id(r)) {
            Some(&i) => {
                found += 1;
                out.push(Some(values[i]));
            }
            None => out.push(None),
        }
    }
    if found != fit_rows.len() {
        return Err(Error::Argument {
            name: "data".into(),
            message: format!(
                "{} of the {} rows the model used are not in these data (matched by row origin): align with the data the model was fitted to",
                fit_rows.len() - found,
                fit_rows.len()
            ),
        });
    }
    Ok(out)
}
