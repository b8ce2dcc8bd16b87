//! Probing interactions: simple slopes and Johnson–Neyman regions for any fitted linear model.
//!
//! For a model with focal predictor X, moderator W and their product, the slope of X at W = w is
//! `β_X + β_XW w`, with variance `V_XX + 2w V_X,XW + w² V_XW,XW` (Aiken & West 1991). The
//! Johnson–Neyman boundaries are the w where |slope / SE| equals the critical t, the roots of a
//! quadratic (Bauer & Curran 2005). For mixed models the df of each slope is the Satterthwaite
//! (or Kenward–Roger) df of that contrast, and the boundaries are found with the df at the
//! boundary itself (a fixed-point iteration), not a single df for all w.

mod means;
mod trends;
mod type3;
pub use means::{
    Adjust, Contrast, ContrastEstimate, Contrasts, Grid, MarginalMean, MarginalMeans, Weights,
    emmeans,
};
pub use trends::{At, Trend, Trends, trends};
pub use type3::{Type3, Type3Row, anova_type3};

use crate::error::{Error, Result};
use crate::lmm::LmmFit;
use crate::regression::OlsFit;
use crate::report::quantiles5;
use crate::stats::{Coefficient, t_quantile};

/// Which degrees of freedom the slope tests use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum DfMethod {
    /// The model's own: residual df (OLS), Satterthwaite (LMM).
    Model,
    /// Kenward–Roger df and adjusted covariance (LMM, REML, n ≤ 2000); residual df for OLS.
    KenwardRoger,
    /// Normal reference (z tests).
    Asymptotic,
}

/// Where along the moderator to evaluate simple slopes.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ModeratorValues {
    /// Mean − 1 SD, mean, mean + 1 SD (sample SD, n − 1), as R's `interactions::sim_slopes`.
    MeanSd,
    /// The 16th, 50th and 84th percentiles (R's type-7 quantiles).
    Percentiles,
    /// Values the user gives.
    Values(Vec<f64>),
}

/// The df of a contrast lᵀβ.
type DfRule<'a> = Box<dyn Fn(&[f64]) -> f64 + 'a>;
/// Kenward–Roger's joint test of the rows of L: the F scaling λ and the denominator df.
type JointRule<'a> = Box<dyn Fn(&[Vec<f64>]) -> Option<(f64, f64)> + 'a>;
/// The values of a model-matrix column in the rows used.
type ColumnLookup<'a> = Box<dyn Fn(&str) -> Option<Vec<f64>> + 'a>;

/// Linear inference on a fitted model's coefficients: what probing needs.
pub struct LinearInference<'a> {
    names: Vec<String>,
    beta: Vec<f64>,
    vcov: Vec<Vec<f64>>,
    df: DfRule<'a>,
    /// A joint (multi-df) rule of its own (Kenward–Roger); otherwise the F test's df come from
    /// the df of its eigen-directions (Satterthwaite, as lmerTest).
    joint: Option<JointRule<'a>>,
    /// The residual variance σ² where the model has one (F × σ² is lmerTest's mean square).
    scale: f64,
    columns: ColumnLookup<'a>,
    /// The grouping factors of a mixed model: name and level code per row used.
    groups: Vec<(String, &'a [u32])>,
    /// The fixed-effects design (to build model-matrix rows at chosen values).
    design: &'a crate::formula::design::Design,
}

/// A fitted model that can be probed.
pub trait Probeable {
    /// Coefficients, their covariance and a df rule for contrasts under `method`.
    ///
    /// # Errors
    /// When `method` is not available for the model (e.g. Kenward–Roger for an ML fit).
    fn inference(&self, method: DfMethod) -> Result<LinearInference<'_>>;
}

impl Probeable for OlsFit {
    fn inference(&self, method: DfMethod) -> Result<LinearInference<'_>> {
        let df = match method {
            DfMethod::Asymptotic => f64::INFINITY,
            _ => self.df_residual(),
        };
        Ok(LinearInference {
            names: self.terms().iter().map(|s| s.to_string()).collect(),
            beta: self.beta(),
            vcov: self.vcov().to_vec(),
            df: Box::new(move |_| df),
            joint: None,
            scale: self.sigma().powi(2),
            columns: Box::new(move |name| self.column_values(name)),
            groups: Vec::new(),
            design: self.design(),
        })
    }
}

/// GLMs and GLMMs are probed alike: on the link scale (log odds, log rates) with z tests from
/// the fixed effects and their covariance. `kind` names the model in the Kenward–Roger error.
fn link_scale_inference<'a>(
    kind: &str,
    method: DfMethod,
    coefficients: &[crate::stats::Coefficient],
    vcov: &[Vec<f64>],
    model: &'a crate::glm::Model,
) -> Result<LinearInference<'a>> {
    if method == DfMethod::KenwardRoger {
        return Err(crate::Error::Argument {
            name: "method".into(),
            message: format!(
                "Kenward–Roger df are for linear mixed models; a {kind} uses z tests (DfMethod::Asymptotic)"
            ),
        });
    }
    let names: Vec<String> = coefficients.iter().map(|c| c.term.clone()).collect();
    let lookup = names.clone();
    Ok(LinearInference {
        names,
        beta: coefficients.iter().map(|c| c.estimate).collect(),
        vcov: vcov.to_vec(),
        df: Box::new(|_| f64::INFINITY),
        joint: None,
        scale: f64::NAN,
        columns: Box::new(move |name| {
            let j = lookup.iter().position(|c| c == name)?;
            Some(model.x.column(j).iter().copied().collect())
        }),
        groups: Vec::new(),
        design: &model.design,
    })
}

/// A GLM is probed on the link scale (log odds, log rates) with z tests: `Model` and
/// `Asymptotic` both mean infinite df.
impl Probeable for crate::glm::GlmFit {
    fn inference(&self, method: DfMethod) -> Result<LinearInference<'_>> {
        link_scale_inference("GLM", method, &self.coefficients, &self.vcov, self.model()?)
    }
}

/// A GLMM is probed on the link scale with z tests from its fixed effects and their
/// (Hessian-based) covariance, as `emmeans`/`interactions` do for a `glmer` fit: `Model` and
/// `Asymptotic` both mean infinite df.
impl Probeable for crate::glm::GlmmFit {
    fn inference(&self, method: DfMethod) -> Result<LinearInference<'_>> {
        link_scale_inference(
            "GLMM",
            method,
            &self.coefficients,
            &self.vcov,
            self.model()?,
        )
    }
}

impl Probeable for LmmFit {
    fn inference(&self, method: DfMethod) -> Result<LinearInference<'_>> {
        let names: Vec<String> = self.terms().iter().map(|s| s.to_string()).collect();
        let columns: ColumnLookup<'_> = Box::new(move |name| self.column_values(name));
        let groups = self.group_codes();
        let design = self.design();
        let scale = self.sigma().powi(2);
        Ok(match method {
            DfMethod::Model => LinearInference {
                names,
                beta: self.beta(),
                vcov: self.vcov().to_vec(),
                df: Box::new(move |l| self.contrast(l).map_or(f64::NAN, |c| c.df)),
                joint: None,
                scale,
                columns,
                groups,
                design,
            },
            DfMethod::KenwardRoger => {
                let kr = std::sync::Arc::new(self.kenward_roger()?);
                let vcov = kr.vcov_adjusted.clone();
                let kr2 = std::sync::Arc::clone(&kr);
                LinearInference {
                    names,
                    beta: self.beta(),
                    vcov,
                    df: Box::new(move |l| kr.contrast(l).map_or(f64::NAN, |c| c.df)),
                    joint: Some(Box::new(move |rows| kr2.joint(rows))),
                    scale,
                    columns,
                    groups,
                    design,
                }
            }
            DfMethod::Asymptotic => LinearInference {
                names,
                beta: self.beta(),
                vcov: self.vcov().to_vec(),
                df: Box::new(|_| f64::INFINITY),
                joint: None,
                scale,
                columns,
                groups,
                design,
            },
        })
    }
}

/// The slope of the focal predictor at one moderator value.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SimpleSlope {
    /// Moderator value.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub at: f64,
    /// How the value was chosen (`"mean - 1 SD"`, `"p16"`, `"value"`).
    pub label: String,
    /// Slope estimate.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub slope: f64,
    /// Its standard error.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub std_error: f64,
    /// Degrees of freedom.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub df: f64,
    /// t statistic.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub t: f64,
    /// Two-sided p-value.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub p: f64,
    /// Confidence interval.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub ci: [f64; 2],
}

/// The sign of a slope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum Direction {
    /// Above zero.
    Positive,
    /// Below zero.
    Negative,
}

/// Where a region lies relative to the moderator's observed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum Observed {
    /// Wholly inside the observed range.
    Within,
    /// Partly inside.
    Partly,
    /// Wholly outside: no observed moderator value falls in it, so it describes values the
    /// data do not have.
    Outside,
}

/// One stretch of the moderator's line with the slope's significance and sign.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Region {
    /// Lower end (−∞ for an open region; `null` in JSON).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub from: f64,
    /// Upper end (+∞ for an open region; `null` in JSON).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub to: f64,
    /// Whether the slope is significant at α throughout.
    pub significant: bool,
    /// The slope's sign where it is significant (constant across a significant region);
    /// `None` where it is not.
    pub direction: Option<Direction>,
    /// Where the region lies relative to the observed moderator range.
    pub observed: Observed,
    /// Share of the units (rows, or clusters for a cluster-level moderator; see
    /// [`Probe::moderator_level`]) whose moderator value falls in the region.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub share: f64,
}

impl Region {
    /// "significant, positive", "significant, negative" or "not significant", with
    /// "; outside the observed range" for a region no observed value reaches.
    pub fn verdict(&self) -> String {
        let mut v = match (self.significant, self.direction) {
            (true, Some(Direction::Positive)) => "significant, positive".to_string(),
            (true, Some(Direction::Negative)) => "significant, negative".to_string(),
            (true, None) => "significant".to_string(),
            (false, _) => "not significant".to_string(),
        };
        if self.observed == Observed::Outside {
            v.push_str("; outside the observed range");
        }
        v
    }
}

/// The Johnson–Neyman boundaries of the focal slope along the moderator.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct JohnsonNeyman {
    /// Significance level.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub alpha: f64,
    /// The boundaries (ascending), or `None` where the slope is significant everywhere or
    /// nowhere.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub bounds: Option<[f64; 2]>,
    /// The regions the boundaries cut the real line into, with the share of the units in each.
    pub regions: Vec<Region>,
    /// The observed moderator range.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub observed_range: [f64; 2],
}

/// Over which units the moderator's mean, SD, percentiles and Johnson–Neyman shares are taken.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ModeratorLevel {
    /// Over clusters when the moderator is constant within the clusters of a grouping factor of
    /// a mixed model (the coarsest such factor; one value per cluster), else over rows.
    Auto,
    /// Over the rows used, whatever the moderator's level.
    Rows,
}

/// Simple slopes and the Johnson–Neyman regions of one focal × moderator interaction.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Probe {
    /// The focal predictor.
    pub focal: String,
    /// The moderator.
    pub moderator: String,
    /// The units the moderator's summaries and shares are over: `"rows"`, or the grouping
    /// factor (e.g. `"client"`) when the moderator is constant within its clusters.
    pub moderator_level: String,
    /// How many such units.
    pub n_units: usize,
    /// The df method.
    pub df_method: DfMethod,
    /// Confidence level of the intervals.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub level: f64,
    /// Slopes at the requested moderator values.
    pub simple_slopes: Vec<SimpleSlope>,
    /// Johnson–Neyman regions at α = 1 − level.
    pub johnson_neyman: JohnsonNeyman,
}

struct Setup<'a> {
    inf: LinearInference<'a>,
    i_x: usize,
    i_xw: usize,
    /// The moderator's values over the units: rows, or one per cluster.
    w: Vec<f64>,
    /// "rows" or the grouping factor.
    level: String,
}

/// The moderator's values over the units `choice` asks for: one per cluster of the coarsest
/// grouping factor within whose clusters it is constant (under [`ModeratorLevel::Auto`]), else
/// the rows.
fn moderator_units(
    w: Vec<f64>,
    groups: &[(String, &[u32])],
    choice: &ModeratorLevel,
) -> (Vec<f64>, String) {
    if *choice == ModeratorLevel::Rows {
        return (w, "rows".into());
    }
    let mut best: Option<(usize, &str, Vec<f64>)> = None;
    for (name, codes) in groups {
        let k = codes.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
        let mut value: Vec<Option<f64>> = vec![None; k];
        let mut constant = true;
        for (&c, &v) in codes.iter().zip(&w) {
            match value[c as usize] {
                None => value[c as usize] = Some(v),
                Some(u) if u != v => {
                    constant = false;
                    break;
                }
                _ => {}
            }
        }
        let units: Vec<f64> = value.into_iter().flatten().collect();
        if constant && units.len() < w.len() && best.as_ref().is_none_or(|b| units.len() < b.0) {
            best = Some((units.len(), name, units));
        }
    }
    match best {
        Some((_, name, units)) => (units, name.to_string()),
        None => (w, "rows".into()),
    }
}

fn setup<'a, M: Probeable + ?Sized>(
    model: &'a M,
    focal: &str,
    moderator: &str,
    method: DfMethod,
    level: &ModeratorLevel,
) -> Result<Setup<'a>> {
    let inf = model.inference(method)?;
    let terms = inf.names.join(", ");
    let i_x = inf
        .names
        .iter()
        .position(|n| n == focal)
        .ok_or_else(|| Error::Term {
            term: focal.to_string(),
            message: format!(
                "the focal predictor is not a numeric main effect of the model (terms: {terms})"
            ),
        })?;
    if !inf.names.iter().any(|n| n == moderator) {
        return Err(Error::Term {
            term: moderator.to_string(),
            message: format!(
                "the moderator is not a numeric main effect of the model (terms: {terms})"
            ),
        });
    }
    let (a, b) = (
        format!("{focal}:{moderator}"),
        format!("{moderator}:{focal}"),
    );
    let i_xw = inf
        .names
        .iter()
        .position(|n| *n == a || *n == b)
        .ok_or_else(|| Error::Term {
            term: a.clone(),
            message: format!(
                "the model has no interaction {a}; add it (e.g. {focal} * {moderator}) to probe it"
            ),
        })?;
    if let Some(other) = inf.names.iter().enumerate().find(|(i, n)| {
        *i != i_x && *i != i_xw && n.split(':').any(|part| part == focal) && n.contains(':')
    }) {
        return Err(Error::Term {
            term: other.1.clone(),
            message: format!(
                "'{focal}' also enters this interaction, so its slope depends on more than '{moderator}'"
            ),
        });
    }
    let w = (inf.columns)(moderator).ok_or_else(|| Error::Term {
        term: moderator.to_string(),
        message: "no values for the moderator in the model".into(),
    })?;
    let first = w[0];
    if w.iter().all(|&v| v == first) {
        return Err(Error::Model(format!(
            "the moderator '{moderator}' is constant ({first}) in the rows used"
        )));
    }
    let (w, level) = moderator_units(w, &inf.groups, level);
    Ok(Setup {
        inf,
        i_x,
        i_xw,
        w,
        level,
    })
}

impl Setup<'_> {
    fn contrast(&self, w: f64) -> Vec<f64> {
        let mut l = vec![0.0; self.inf.beta.len()];
        l[self.i_x] = 1.0;
        l[self.i_xw] = w;
        l
    }

    fn slope(&self, w: f64, label: &str, level: f64) -> SimpleSlope {
        let (x, xw) = (self.i_x, self.i_xw);
        let v = &self.inf.vcov;
        let est = self.inf.beta[x] + self.inf.beta[xw] * w;
        let se = (v[x][x] + 2.0 * w * v[x][xw] + w * w * v[xw][xw]).sqrt();
        let df = (self.inf.df)(&self.contrast(w));
        let c = Coefficient::at(label, est, se, df, level);
        SimpleSlope {
            at: w,
            label: label.to_string(),
            slope: est,
            std_error: se,
            df,
            t: c.t,
            p: c.p,
            ci: c.ci,
        }
    }

    /// Roots of (β_X + β_XW w)² = t² Var(w) for a given critical t.
    fn roots(&self, tc: f64) -> Option<(f64, f64, f64)> {
        let (x, xw) = (self.i_x, self.i_xw);
        let v = &self.inf.vcov;
        // In units of the larger SE, so that the squares neither underflow nor overflow when the
        // response is of order 1e-90 or 1e90 (the roots in w are unchanged).
        let unit = v[x][x].sqrt().max(v[xw][xw].sqrt());
        if !(unit > 0.0 && unit.is_finite()) {
            return None;
        }
        let (b1, b3) = (self.inf.beta[x] / unit, self.inf.beta[xw] / unit);
        let (vxx, vxw, vww) = (
            v[x][x] / unit / unit,
            v[x][xw] / unit / unit,
            v[xw][xw] / unit / unit,
        );
        let t2 = tc * tc;
        let a = b3 * b3 - t2 * vww;
        let b = 2.0 * (b1 * b3 - t2 * vxw);
        let c = b1 * b1 - t2 * vxx;
        let disc = b * b - 4.0 * a * c;
        if disc < 0.0 || a == 0.0 {
            return None;
        }
        let s = disc.sqrt();
        let (r1, r2) = ((-b - s) / (2.0 * a), (-b + s) / (2.0 * a));
        Some((r1.min(r2), r1.max(r2), a))
    }

    fn johnson_neyman(&self, alpha: f64) -> JohnsonNeyman {
        let q = |df: f64| t_quantile(1.0 - alpha / 2.0, df);
        let mean = self.w.iter().sum::<f64>() / self.w.len() as f64;
        let tc0 = q((self.inf.df)(&self.contrast(mean)));
        let lo = self.w.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self.w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let share = |from: f64, to: f64| {
            self.w.iter().filter(|&&v| v >= from && v <= to).count() as f64 / self.w.len() as f64
        };
        let bounds = self.roots(tc0).map(|(mut r1, mut r2, _)| {
            // Each boundary with the df of the slope at that boundary.
            for _ in 0..50 {
                let t1 = q((self.inf.df)(&self.contrast(r1)));
                let t2 = q((self.inf.df)(&self.contrast(r2)));
                let n1 = self.roots(t1).map_or(r1, |(a, b, _)| {
                    if (a - r1).abs() < (b - r1).abs() {
                        a
                    } else {
                        b
                    }
                });
                let n2 = self.roots(t2).map_or(r2, |(a, b, _)| {
                    if (a - r2).abs() < (b - r2).abs() {
                        a
                    } else {
                        b
                    }
                });
                let done = (n1 - r1).abs() <= 1e-12 * r1.abs().max(1.0)
                    && (n2 - r2).abs() <= 1e-12 * r2.abs().max(1.0);
                r1 = n1;
                r2 = n2;
                if done {
                    break;
                }
            }
            [r1.min(r2), r1.max(r2)]
        });
        // Significance and sign at a point inside a region (the slope is linear in w, so its
        // sign is constant across a region where it is significant).
        let at = |w: f64| {
            let s = self.slope(w, "", 1.0 - alpha);
            let direction = (s.p < alpha).then_some(if s.slope > 0.0 {
                Direction::Positive
            } else {
                Direction::Negative
            });
            (s.p < alpha, direction)
        };
        let region = |from: f64, to: f64, probe_at: f64| {
            let (significant, direction) = at(probe_at);
            let observed = if to < lo || from > hi {
                Observed::Outside
            } else if from >= lo && to <= hi {
                Observed::Within
            } else {
                Observed::Partly
            };
            Region {
                from,
                to,
                significant,
                direction,
                observed,
                share: share(from, to),
            }
        };
        let regions = match bounds {
            None => vec![region(f64::NEG_INFINITY, f64::INFINITY, mean)],
            Some([b1, b2]) => {
                let step = (b2 - b1).abs().max(1.0);
                vec![
                    region(f64::NEG_INFINITY, b1, b1 - step),
                    region(b1, b2, 0.5 * (b1 + b2)),
                    region(b2, f64::INFINITY, b2 + step),
                ]
            }
        };
        JohnsonNeyman {
            alpha,
            bounds,
            regions,
            observed_range: [lo, hi],
        }
    }
}

/// How to probe one focal × moderator interaction: the moderator values, the df method, the
/// confidence level and the moderator's level. Built with defaults (mean ± 1 SD,
/// the model's df, 95%, [`ModeratorLevel::Auto`]) and run on a fitted model.
///
/// # Examples
/// ```
/// use securebase::{Criterion, Data, LmmSpec};
/// use securebase::probe::{ModeratorLevel, ProbeSpec};
/// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mlmed/sessions.csv"))?;
/// let fit = LmmSpec::new(&data, "engage ~ secure * anx + (1 | client)")?.fit(Criterion::Reml)?;
/// // anx is a client-level variable: its mean, SD and shares are over the 330 clients.
/// let p = ProbeSpec::new("secure", "anx").run(&fit)?;
/// assert_eq!((p.moderator_level.as_str(), p.n_units), ("client", 330));
/// let rows = ProbeSpec::new("secure", "anx").moderator_level(ModeratorLevel::Rows).run(&fit)?;
/// assert_eq!(rows.moderator_level, "rows");
/// # Ok::<(), securebase::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ProbeSpec {
    /// The focal predictor.
    pub focal: String,
    /// The moderator.
    pub moderator: String,
    /// Where to evaluate simple slopes.
    pub values: ModeratorValues,
    /// The df of the slope tests.
    pub df_method: DfMethod,
    /// Confidence level (α = 1 − level for Johnson–Neyman).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub level: f64,
    /// Over which units the moderator is summarized.
    pub moderator_level: ModeratorLevel,
}

impl ProbeSpec {
    /// Probe `focal` along `moderator` with the defaults.
    pub fn new(focal: &str, moderator: &str) -> ProbeSpec {
        ProbeSpec {
            focal: focal.into(),
            moderator: moderator.into(),
            values: ModeratorValues::MeanSd,
            df_method: DfMethod::Model,
            level: 0.95,
            moderator_level: ModeratorLevel::Auto,
        }
    }

    /// The moderator values for the simple slopes.
    pub fn values(mut self, values: ModeratorValues) -> ProbeSpec {
        self.values = values;
        self
    }

    /// The df method.
    pub fn df(mut self, method: DfMethod) -> ProbeSpec {
        self.df_method = method;
        self
    }

    /// The confidence level.
    pub fn level(mut self, level: f64) -> ProbeSpec {
        self.level = level;
        self
    }

    /// The units the moderator is summarized over.
    pub fn moderator_level(mut self, level: ModeratorLevel) -> ProbeSpec {
        self.moderator_level = level;
        self
    }

    /// Simple slopes and Johnson–Neyman regions on `model`.
    ///
    /// # Errors
    /// As [`probe`].
    pub fn run<M: Probeable + ?Sized>(&self, model: &M) -> Result<Probe> {
        crate::stats::check_level(self.level)?;
        let s = setup(
            model,
            &self.focal,
            &self.moderator,
            self.df_method,
            &self.moderator_level,
        )?;
        let n = s.w.len() as f64;
        let mean = s.w.iter().sum::<f64>() / n;
        let sd = (s.w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let points: Vec<(f64, String)> = match &self.values {
            ModeratorValues::MeanSd => vec![
                (mean - sd, "mean - 1 SD".into()),
                (mean, "mean".into()),
                (mean + sd, "mean + 1 SD".into()),
            ],
            ModeratorValues::Percentiles => {
                let q = quantile7(&s.w, &[0.16, 0.5, 0.84]);
                vec![
                    (q[0], "p16".into()),
                    (q[1], "p50".into()),
                    (q[2], "p84".into()),
                ]
            }
            ModeratorValues::Values(v) => {
                if let Some(bad) = v.iter().find(|x| !x.is_finite()) {
                    return Err(Error::Argument {
                        name: "values".into(),
                        message: format!("{bad} is not a finite moderator value"),
                    });
                }
                v.iter().map(|&x| (x, "value".to_string())).collect()
            }
        };
        let simple_slopes = points
            .iter()
            .map(|(w, label)| s.slope(*w, label, self.level))
            .collect();
        Ok(Probe {
            focal: self.focal.clone(),
            moderator: self.moderator.clone(),
            moderator_level: s.level.clone(),
            n_units: s.w.len(),
            df_method: self.df_method,
            level: self.level,
            simple_slopes,
            // α = 1 − level, rounded so that 0.95 gives exactly 0.05.
            johnson_neyman: s.johnson_neyman(((1.0 - self.level) * 1e12).round() / 1e12),
        })
    }

    /// The slope and its CI over `points` evenly spaced moderator values spanning the observed
    /// range (for a Johnson–Neyman plot).
    ///
    /// # Errors
    /// As [`probe`]; [`Error::Argument`] for fewer than 2 points.
    pub fn curve<M: Probeable + ?Sized>(
        &self,
        model: &M,
        points: usize,
    ) -> Result<Vec<SimpleSlope>> {
        crate::stats::check_level(self.level)?;
        if points < 2 {
            return Err(Error::Argument {
                name: "points".into(),
                message: "need at least 2 grid points".into(),
            });
        }
        let s = setup(
            model,
            &self.focal,
            &self.moderator,
            self.df_method,
            &self.moderator_level,
        )?;
        let q = quantiles5(&s.w);
        let (lo, hi) = (q[0], q[4]);
        Ok((0..points)
            .map(|i| {
                let w = lo + (hi - lo) * i as f64 / (points - 1) as f64;
                s.slope(w, "grid", self.level)
            })
            .collect())
    }
}

/// Probe the interaction of `focal` and `moderator` in a fitted model: simple slopes at
/// `values` and the Johnson–Neyman regions, at confidence `level` (α = 1 − level). The
/// moderator's summaries are over clusters when it is a cluster-level variable of a mixed
/// model ([`ModeratorLevel::Auto`]); [`ProbeSpec`] sets every option.
///
/// # Errors
/// [`Error::Term`] if the focal predictor or moderator is not a numeric main effect, the
/// interaction is absent, or the focal predictor enters other interactions;
/// [`Error::Model`] if the moderator is constant; [`Error::Argument`] for a bad level.
///
/// # Examples
/// ```
/// use securebase::{Data, Ols};
/// use securebase::probe::{probe, DfMethod, ModeratorValues};
/// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mtcars.csv"))?;
/// let fit = Ols::fit(&data, "mpg ~ hp * wt")?;
/// let p = probe(&fit, "hp", "wt", &ModeratorValues::MeanSd, DfMethod::Model, 0.95)?;
/// let [lo, hi] = p.johnson_neyman.bounds.unwrap();
/// assert!((lo - 3.6925).abs() < 1e-4 && (hi - 5.9010).abs() < 1e-4);
/// # Ok::<(), securebase::Error>(())
/// ```
pub fn probe<M: Probeable + ?Sized>(
    model: &M,
    focal: &str,
    moderator: &str,
    values: &ModeratorValues,
    df_method: DfMethod,
    level: f64,
) -> Result<Probe> {
    ProbeSpec::new(focal, moderator)
        .values(values.clone())
        .df(df_method)
        .level(level)
        .run(model)
}

/// The slope and its CI over `points` evenly spaced moderator values spanning the observed
/// range (for a Johnson–Neyman plot); see [`ProbeSpec::curve`].
///
/// # Errors
/// As [`probe`]; [`Error::Argument`] for fewer than 2 points.
pub fn slope_curve<M: Probeable + ?Sized>(
    model: &M,
    focal: &str,
    moderator: &str,
    points: usize,
    df_method: DfMethod,
    level: f64,
) -> Result<Vec<SimpleSlope>> {
    ProbeSpec::new(focal, moderator)
        .df(df_method)
        .level(level)
        .curve(model, points)
}

/// R's type-7 quantiles.
pub(crate) fn quantile7(x: &[f64], probs: &[f64]) -> Vec<f64> {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    probs
        .iter()
        .map(|&p| {
            let h = (v.len() - 1) as f64 * p;
            let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
            v[lo] + (h - lo as f64) * (v[hi] - v[lo])
        })
        .collect()
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Simple slopes of {} along {} ({:.0}% CI; moderator summarized over {} {})",
            self.focal,
            self.moderator,
            self.level * 100.0,
            self.n_units,
            if self.moderator_level == "rows" {
                "rows".to_string()
            } else {
                format!("{} units", self.moderator_level)
            }
        )?;
        writeln!(
            f,
            "{:>14} {:>10} {:>10} {:>10} {:>8} {:>8} {:>10}   CI",
            "", "at", "slope", "SE", "df", "t", "p"
        )?;
        for s in &self.simple_slopes {
            writeln!(
                f,
                "{:>14} {:>10.4} {:>10.4} {:>10.4} {:>8.2} {:>8.3} {:>10}   [{:.4}, {:.4}]",
                s.label,
                s.at,
                s.slope,
                s.std_error,
                s.df,
                s.t,
                crate::stats::format_p(s.p),
                s.ci[0],
                s.ci[1]
            )?;
        }
        let jn = &self.johnson_neyman;
        match jn.bounds {
            Some([a, b]) => writeln!(
                f,
                "Johnson–Neyman (α = {}): boundaries at {:.4} and {:.4}; observed range [{:.4}, {:.4}]",
                jn.alpha, a, b, jn.observed_range[0], jn.observed_range[1]
            )?,
            None => writeln!(
                f,
                "Johnson–Neyman (α = {}): no boundary; the slope is {} significant",
                jn.alpha,
                if jn.regions[0].significant {
                    "everywhere"
                } else {
                    "nowhere"
                }
            )?,
        }
        for r in &jn.regions {
            writeln!(
                f,
                "  {:>10.4} to {:>10.4}: {} ({:.1}% of the units)",
                r.from,
                r.to,
                r.verdict(),
                100.0 * r.share
            )?;
        }
        Ok(())
    }
}
