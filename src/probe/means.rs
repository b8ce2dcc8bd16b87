//! Estimated marginal means over a reference grid, their contrasts with multiplicity
//! adjustment, and slopes (trends) on the same grid: R's `emmeans`, `pairs`, `contrast` and
//! `emtrends`.
//!
//! The reference grid crosses the levels of every categorical variable of the fixed part with
//! one value of every numeric variable (its mean over the rows used, or values given with
//! [`Grid::at`]). A marginal mean of the grid's `specs` (within `by`) is the prediction at each
//! grid point averaged over the other variables' combinations — with equal weights, or with
//! weights proportional to how often each combination of the averaged factors occurs in the
//! data ([`Weights::Proportional`], emmeans' `weights = "proportional"`). Each mean is a linear
//! combination lᵀβ, so its SE is √(lᵀVl) and its df the model's for that contrast
//! (Satterthwaite or Kenward–Roger for a mixed model, with Kenward–Roger's adjusted V).
//!
//! With [`Grid::trend`] the means are of the derivative of the prediction with respect to a
//! numeric variable instead (a central difference of model rows, exact for terms linear or
//! quadratic in it): `emtrends`.
//!
//! Contrasts (differences of means, within each `by` group) carry unadjusted and adjusted
//! p-values and intervals: Tukey's studentized range for pairwise families (intervals by
//! `qtukey`), Holm's step-down (intervals by Bonferroni, which Holm has none of), Bonferroni.

use super::{DfMethod, LinearInference, Probeable};
use crate::data::{Column, Data};
use crate::error::{Error, Result};
use crate::formula::design::Reference;
use crate::probe::At;
use crate::stats::Coefficient;

/// How the combinations of averaged-over factors are weighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Weights {
    /// Every combination alike (emmeans' default, `"equal"`).
    Equal,
    /// In proportion to the combinations' frequencies in the rows the model used (emmeans'
    /// `"proportional"`).
    Proportional,
}

/// What to estimate: the reference grid's variables and how the rest is averaged.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Grid {
    specs: Vec<String>,
    by: Vec<String>,
    at: Vec<(String, At)>,
    weights: Weights,
    df_method: DfMethod,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    level: f64,
    trend: Option<String>,
}

impl Grid {
    /// Means for each combination of the `specs` variables (emmeans' `~ a` or `~ a * b`),
    /// with equal weights, the model's df and 95% intervals.
    pub fn new(specs: &[&str]) -> Grid {
        Grid {
            specs: specs.iter().map(|s| s.to_string()).collect(),
            by: Vec::new(),
            at: Vec::new(),
            weights: Weights::Equal,
            df_method: DfMethod::Model,
            level: 0.95,
            trend: None,
        }
    }

    /// Means within each combination of these variables (emmeans' `~ a | b`); contrasts and
    /// their adjustment stay within a group.
    pub fn by(mut self, vars: &[&str]) -> Grid {
        self.by = vars.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Values of one variable: numbers for a numeric one (instead of its mean), levels for a
    /// categorical one (instead of all). A variable given here that is neither a spec nor a
    /// `by` variable is averaged over the values given (emmeans' `at`).
    pub fn at(mut self, name: &str, values: At) -> Grid {
        self.at.retain(|(n, _)| n != name);
        self.at.push((name.to_string(), values));
        self
    }

    /// How the averaged-over factors are weighted.
    pub fn weights(mut self, weights: Weights) -> Grid {
        self.weights = weights;
        self
    }

    /// The df method (Satterthwaite by default for a mixed model, Kenward–Roger, asymptotic).
    pub fn df(mut self, method: DfMethod) -> Grid {
        self.df_method = method;
        self
    }

    /// The confidence level (0.95 by default).
    pub fn level(mut self, level: f64) -> Grid {
        self.level = level;
        self
    }

    /// Estimate slopes of this numeric variable instead of means (`emtrends(var = …)`).
    pub fn trend(mut self, var: &str) -> Grid {
        self.trend = Some(var.to_string());
        self
    }
}

/// One marginal mean (or slope).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct MarginalMean {
    /// The grid point: each spec and `by` variable with its value (as text).
    pub at: Vec<(String, String)>,
    /// The mean with its SE, df, t, p (against zero) and CI; `term` names the point.
    pub estimate: Coefficient,
}

/// Estimated marginal means (or trends) over a reference grid.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct MarginalMeans {
    /// The grid's variables.
    pub specs: Vec<String>,
    /// The grouping variables.
    pub by: Vec<String>,
    /// The means, the first spec variable varying fastest and the `by` variables slowest.
    pub means: Vec<MarginalMean>,
    /// The variable whose slopes these are, if trends.
    pub trend: Option<String>,
    /// Variables averaged over, each with the values used.
    pub averaged_over: Vec<(String, Vec<String>)>,
    /// Numeric variables held at their means (over the rows used).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub at_means: Vec<(String, f64)>,
    /// How the averaged-over factors were weighted.
    pub weights: Weights,
    /// The df method.
    pub df_method: DfMethod,
    /// The confidence level.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub level: f64,
    /// The linear combination of the coefficients behind each mean (rows).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub linfct: Vec<Vec<f64>>,
    /// The coefficients' names (the columns of `linfct`).
    pub coefficients: Vec<String>,
}

/// Which differences of means to estimate, within each `by` group.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Contrast {
    /// Every pair, earlier minus later (`pairs()`, `"a - b"`).
    Pairwise,
    /// Each mean minus the one at this position (0 = the first), emmeans' `"trt.vs.ctrl"`.
    TrtVsCtrl(usize),
    /// Named weight vectors over the means of a group.
    Custom(Vec<(String, Vec<f64>)>),
}

/// A multiplicity adjustment within each family (a `by` group's contrasts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Adjust {
    /// Tukey's studentized range (pairwise comparisons only).
    Tukey,
    /// Holm's step-down; its intervals are Bonferroni's.
    Holm,
    /// Bonferroni.
    Bonferroni,
    /// None.
    None,
}

/// One contrast.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ContrastEstimate {
    /// The `by` group.
    pub by: Vec<(String, String)>,
    /// The contrast with its own df, unadjusted p and interval; `term` is its label (`a - b`).
    pub estimate: Coefficient,
    /// The adjusted p-value.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub p_adjusted: f64,
    /// The simultaneous interval under the adjustment (Bonferroni's for Holm).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub ci_adjusted: [f64; 2],
}

/// Contrasts of marginal means.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Contrasts {
    /// The contrasts, group by group.
    pub contrasts: Vec<ContrastEstimate>,
    /// The p-value adjustment.
    pub adjust: Adjust,
    /// Number of contrasts in each family.
    pub family_size: usize,
    /// The confidence level.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub level: f64,
    /// The df method.
    pub df_method: DfMethod,
}

/// The values of one grid variable, as text and as data.
#[derive(Clone)]
enum Values {
    Numbers(Vec<f64>),
    Levels(Vec<String>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Numbers(x) => x.len(),
            Values::Levels(l) => l.len(),
        }
    }
    fn label(&self, i: usize) -> String {
        match self {
            Values::Numbers(x) => crate::formula::functions::r_number(x[i]),
            Values::Levels(l) => l[i].clone(),
        }
    }
}

/// Split `k` into indices for `sizes`, the first varying fastest.
fn decompose(mut k: usize, sizes: &[usize]) -> Vec<usize> {
    sizes
        .iter()
        .map(|&s| {
            let i = k % s;
            k /= s;
            i
        })
        .collect()
}

/// A data set with one row per combination of `vars` (the first varying fastest), each row
/// repeated `reps` times consecutively.
fn grid_data(vars: &[(String, Values)], reps: usize) -> Result<Data> {
    let sizes: Vec<usize> = vars.iter().map(|(_, v)| v.len()).collect();
    let n: usize = sizes.iter().product::<usize>() * reps;
    let mut data = Data::new();
    for (g, (name, values)) in vars.iter().enumerate() {
        let idx = |r: usize| decompose(r / reps, &sizes)[g];
        match values {
            Values::Numbers(x) => {
                let col: Vec<Option<f64>> = (0..n).map(|r| Some(x[idx(r)])).collect();
                data.add_column(name, Column::Numeric(col.into()))?;
            }
            Values::Levels(l) => {
                data = data.with_categorical(name, (0..n).map(|r| l[idx(r)].clone()).collect())?;
            }
        }
    }
    Ok(data)
}

/// The largest number of model rows a grid may need.
const MAX_GRID_ROWS: usize = 200_000;

/// Estimated marginal means (or trends) of a fitted model over the grid `grid` describes (see
/// the module docs).
///
/// # Examples
/// ```
/// use securebase::{Criterion, Data, LmmSpec};
/// use securebase::probe::{emmeans, Adjust, Contrast, Grid};
/// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/orthodont.csv"))?;
/// let fit = LmmSpec::new(&data, "distance ~ age * Sex + (age | Subject)")?.fit(Criterion::Reml)?;
/// // The mean distance of each sex at the mean age, and their difference.
/// let emm = emmeans(&fit, &Grid::new(&["Sex"]))?;
/// assert_eq!(emm.means.len(), 2);
/// let diff = emm.contrast(&fit, &Contrast::Pairwise, Adjust::None)?;
/// assert_eq!(diff.contrasts[0].estimate.term, "Female - Male");
/// // The growth rate of each sex (emtrends).
/// let rates = emmeans(&fit, &Grid::new(&["Sex"]).trend("age"))?;
/// assert!(rates.means[1].estimate.estimate > rates.means[0].estimate.estimate);
/// # Ok::<(), securebase::Error>(())
/// ```
///
/// # Errors
/// [`Error::Term`] for a spec, `by`, `at` or trend variable that is not a variable of the fixed
/// part (naming the variables it has), of the wrong kind, or a level it does not have;
/// [`Error::Argument`] for no specs, a variable named twice, an empty or non-finite `at`, a bad
/// level, a grid above 200,000 model rows, or proportional weights where no averaged-over
/// combination occurs in the data (or the design carries no counts, after deserialization).
pub fn emmeans<M: Probeable + ?Sized>(model: &M, grid: &Grid) -> Result<MarginalMeans> {
    crate::stats::check_level(grid.level)?;
    let inf = model.inference(grid.df_method)?;
    let reference = inf.design.reference();
    let known = || {
        reference
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let find = |name: &str| -> Result<&Reference> {
        reference
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r)
            .ok_or_else(|| Error::Term {
                term: name.to_string(),
                message: format!(
                    "not a variable of the model's fixed effects (variables: {})",
                    known()
                ),
            })
    };
    if grid.specs.is_empty() {
        return Err(Error::Argument {
            name: "specs".into(),
            message: "name at least one variable to estimate marginal means of".into(),
        });
    }
    let grid_vars: Vec<&String> = grid.specs.iter().chain(&grid.by).collect();
    for (i, v) in grid_vars.iter().enumerate() {
        if grid_vars[..i].contains(v) {
            return Err(Error::Argument {
                name: v.to_string(),
                message: "named twice among the specs and by variables".into(),
            });
        }
    }
    for (name, _) in &grid.at {
        find(name)?;
    }
    let focal = match &grid.trend {
        Some(f) => match find(f)? {
            Reference::Mean(m) => Some((f.as_str(), *m)),
            Reference::Levels(_) => {
                return Err(Error::Term {
                    term: f.clone(),
                    message: "is categorical: a trend is the slope of a numeric variable".into(),
                });
            }
        },
        None => None,
    };
    // The values of every reference variable: given, or the default.
    let values_of = |name: &str, r: &Reference| -> Result<Values> {
        let given = grid.at.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        match (r, given) {
            (Reference::Mean(m), None) => Ok(Values::Numbers(vec![*m])),
            (Reference::Levels(all), None) => Ok(Values::Levels(all.clone())),
            (Reference::Mean(_), Some(At::Values(x))) => {
                if x.is_empty() || x.iter().any(|v| !v.is_finite()) {
                    Err(Error::Argument {
                        name: name.to_string(),
                        message: "give at least one value, all finite".into(),
                    })
                } else {
                    Ok(Values::Numbers(x.clone()))
                }
            }
            (Reference::Levels(all), Some(At::Levels(l))) => {
                if let Some(bad) = l.iter().find(|l| !all.contains(l)) {
                    return Err(Error::Term {
                        term: name.to_string(),
                        message: format!(
                            "has no level '{bad}' in the rows the model used (levels: {})",
                            all.join(", ")
                        ),
                    });
                }
                Ok(Values::Levels(if l.is_empty() {
                    all.clone()
                } else {
                    l.clone()
                }))
            }
            (Reference::Mean(_), Some(At::Levels(_))) => Err(Error::Term {
                term: name.to_string(),
                message: "is numeric: give values (At::Values), not levels".into(),
            }),
            (Reference::Levels(_), Some(At::Values(_))) => Err(Error::Term {
                term: name.to_string(),
                message: "is categorical: give levels (At::Levels), not values".into(),
            }),
        }
    };
    let mut point_vars: Vec<(String, Values)> = Vec::new();
    for v in &grid_vars {
        let r = find(v)?;
        point_vars.push((v.to_string(), values_of(v, r)?));
    }
    // The other variables: averaged over (factors; values given with `at`) or held fixed
    // (numeric ones at their mean or at a single given value).
    let mut avg_vars: Vec<(String, Values)> = Vec::new();
    let mut fixed: Vec<(String, f64)> = Vec::new();
    let mut at_means = Vec::new();
    for (name, r) in reference {
        if grid_vars.contains(&name) {
            continue;
        }
        let given = grid.at.iter().any(|(n, _)| n == name);
        match values_of(name, r)? {
            Values::Numbers(x) if x.len() == 1 => {
                if !given {
                    at_means.push((name.clone(), x[0]));
                }
                fixed.push((name.clone(), x[0]));
            }
            v => avg_vars.push((name.clone(), v)),
        }
    }
    let n_points: usize = point_vars.iter().map(|(_, v)| v.len()).product();
    let n_avg: usize = avg_vars.iter().map(|(_, v)| v.len()).product();
    let reps = if focal.is_some() { 2 } else { 1 };
    if n_points.saturating_mul(n_avg).saturating_mul(reps) > MAX_GRID_ROWS {
        return Err(Error::Argument {
            name: "grid".into(),
            message: format!(
                "the grid has {n_points} points averaged over {n_avg} combinations: more than {MAX_GRID_ROWS} model rows"
            ),
        });
    }
    // Weights of the averaged combinations.
    let avg_sizes: Vec<usize> = avg_vars.iter().map(|(_, v)| v.len()).collect();
    let weights = match grid.weights {
        Weights::Equal => vec![1.0 / n_avg as f64; n_avg],
        Weights::Proportional => proportional(&inf, &avg_vars, &avg_sizes)?,
    };
    // Model rows: averaged combinations fastest, then the points; trend rows in ± pairs.
    let mut all_vars: Vec<(String, Values)> = avg_vars.clone();
    all_vars.extend(point_vars.iter().cloned());
    let mut data = grid_data(&all_vars, reps)?;
    let h = focal.map(|(_, x0)| 1e-3 * x0.abs().max(1.0));
    if let (Some((f, x0)), Some(h)) = (focal, h) {
        // The focal variable at its given values (a grid variable) or its mean.
        let sizes: Vec<usize> = all_vars.iter().map(|(_, v)| v.len()).collect();
        let base: Vec<f64> = match all_vars.iter().enumerate().find(|(_, (n, _))| n == f) {
            Some((g, (_, Values::Numbers(x)))) => (0..data.nrows())
                .map(|r| x[decompose(r / 2, &sizes)[g]])
                .collect(),
            _ => {
                fixed.retain(|(n, _)| n != f);
                vec![x0; data.nrows()]
            }
        };
        let col: Vec<Option<f64>> = base
            .iter()
            .enumerate()
            .map(|(r, v)| Some(if r % 2 == 0 { v + h } else { v - h }))
            .collect();
        if data.has_column(f) {
            data.drop_columns(&[f])?;
        }
        data = data.with_numeric_opt(f, col)?;
    }
    for (name, x) in &fixed {
        let n = data.nrows();
        data = data.with_numeric(name, vec![*x; n])?;
    }
    let rows: Vec<usize> = (0..data.nrows()).collect();
    let x = inf.design.matrix(&data, &rows)?;
    let p = inf.beta.len();
    let mut linfct = Vec::with_capacity(n_points);
    let mut means = Vec::with_capacity(n_points);
    let point_sizes: Vec<usize> = point_vars.iter().map(|(_, v)| v.len()).collect();
    for pt in 0..n_points {
        let mut l = vec![0.0; p];
        for (a, w) in weights.iter().enumerate() {
            let r = (pt * n_avg + a) * reps;
            for (j, lj) in l.iter_mut().enumerate() {
                *lj += w * match h {
                    Some(h) => (x[(r, j)] - x[(r + 1, j)]) / (2.0 * h),
                    None => x[(r, j)],
                };
            }
        }
        let idx = decompose(pt, &point_sizes);
        let at: Vec<(String, String)> = point_vars
            .iter()
            .zip(&idx)
            .map(|((n, v), &i)| (n.clone(), v.label(i)))
            .collect();
        let label = at
            .iter()
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let estimate = combination(&inf, &l, &label, grid.level);
        means.push(MarginalMean { at, estimate });
        linfct.push(l);
    }
    Ok(MarginalMeans {
        specs: grid.specs.clone(),
        by: grid.by.clone(),
        means,
        trend: grid.trend.clone(),
        averaged_over: avg_vars
            .iter()
            .map(|(n, v)| (n.clone(), (0..v.len()).map(|i| v.label(i)).collect()))
            .collect(),
        at_means: at_means
            .into_iter()
            .filter(|(n, _)| grid.trend.as_deref() != Some(n))
            .collect(),
        weights: grid.weights,
        df_method: grid.df_method,
        level: grid.level,
        linfct,
        coefficients: inf.names.clone(),
    })
}

/// lᵀβ with its SE, df, t, p and CI.
fn combination(inf: &LinearInference<'_>, l: &[f64], label: &str, level: f64) -> Coefficient {
    let est: f64 = l.iter().zip(&inf.beta).map(|(a, b)| a * b).sum();
    let mut var = 0.0;
    for (a, la) in l.iter().enumerate() {
        if *la == 0.0 {
            continue;
        }
        for (b, lb) in l.iter().enumerate() {
            var += la * inf.vcov[a][b] * lb;
        }
    }
    let df = (inf.df)(l);
    Coefficient::at(label, est, var.max(0.0).sqrt(), df, level)
}

/// Weights of the averaged combinations in proportion to their frequencies in the data.
fn proportional(
    inf: &LinearInference<'_>,
    avg_vars: &[(String, Values)],
    sizes: &[usize],
) -> Result<Vec<f64>> {
    let n_avg: usize = sizes.iter().product();
    let cells = inf.design.cells();
    let reference = inf.design.reference();
    let cat_names: Vec<&str> = reference
        .iter()
        .filter(|(_, r)| matches!(r, Reference::Levels(_)))
        .map(|(n, _)| n.as_str())
        .collect();
    if cells.is_empty() && !cat_names.is_empty() {
        return Err(Error::Argument {
            name: "weights".into(),
            message: "the fit carries no counts of its factor combinations (deserialized?): refit, or use equal weights".into(),
        });
    }
    // For each averaged variable: its position among the categorical ones and the reference
    // index of each value used.
    type LevelMap = Option<(usize, Vec<u32>)>;
    let mut maps: Vec<LevelMap> = Vec::new();
    for (name, v) in avg_vars {
        let pos = cat_names.iter().position(|c| c == name);
        let all = reference.iter().find_map(|(n, r)| match r {
            Reference::Levels(all) if n == name => Some(all),
            _ => None,
        });
        match (v, pos, all) {
            (Values::Levels(l), Some(pos), Some(all)) => {
                let idx = l
                    .iter()
                    .map(|x| all.iter().position(|a| a == x).unwrap_or(usize::MAX) as u32)
                    .collect();
                maps.push(Some((pos, idx)));
            }
            _ => maps.push(None),
        }
    }
    let mut w = vec![0.0; n_avg];
    for (a, wa) in w.iter_mut().enumerate() {
        let idx = decompose(a, sizes);
        let mut count = 0usize;
        for (key, n) in cells {
            let hit = maps.iter().zip(&idx).all(|(m, &i)| match m {
                Some((pos, codes)) => key[*pos] == codes[i],
                None => true,
            });
            if hit {
                count += n;
            }
        }
        // Numeric values averaged over share their combination's weight equally.
        let numeric_share: usize = maps
            .iter()
            .zip(sizes)
            .filter(|(m, _)| m.is_none())
            .map(|(_, s)| *s)
            .product();
        *wa = count as f64 / numeric_share as f64;
    }
    let total: f64 = w.iter().sum();
    if total <= 0.0 {
        return Err(Error::Argument {
            name: "weights".into(),
            message: "no combination of the averaged-over factors occurs in the data".into(),
        });
    }
    Ok(w.into_iter().map(|x| x / total).collect())
}

impl MarginalMeans {
    /// Contrasts of the means within each `by` group, with an adjustment for multiplicity
    /// (`pairs()` and `contrast()` of emmeans). `model` must be the model the means came from.
    ///
    /// # Examples
    /// ```
    /// use securebase::{Data, Ols};
    /// use securebase::probe::{emmeans, Adjust, Contrast, Grid};
    /// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/iris.csv"))?;
    /// let fit = Ols::fit(&data, "Sepal.Length ~ Species + Petal.Width")?;
    /// let emm = emmeans(&fit, &Grid::new(&["Species"]))?;
    /// let tukey = emm.contrast(&fit, &Contrast::Pairwise, Adjust::Tukey)?;
    /// assert_eq!(tukey.family_size, 3);
    /// assert!(tukey.contrasts[0].p_adjusted >= tukey.contrasts[0].estimate.p);
    /// // Each species against the first.
    /// let trt = emm.contrast(&fit, &Contrast::TrtVsCtrl(0), Adjust::Holm)?;
    /// assert_eq!(trt.contrasts[1].estimate.term, "virginica - setosa");
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Argument`] if `model` is not the one the means came from, for Tukey with
    /// contrasts that are not all pairs, a reference position or custom weights that do not fit
    /// the groups' means, or a group with fewer than two means.
    pub fn contrast<M: Probeable + ?Sized>(
        &self,
        model: &M,
        contrast: &Contrast,
        adjust: Adjust,
    ) -> Result<Contrasts> {
        let inf = model.inference(self.df_method)?;
        if inf.names != self.coefficients {
            return Err(Error::Argument {
                name: "model".into(),
                message: "not the model these marginal means were estimated from (its coefficients differ)".into(),
            });
        }
        if adjust == Adjust::Tukey && !matches!(contrast, Contrast::Pairwise) {
            return Err(Error::Argument {
                name: "adjust".into(),
                message: "Tukey's adjustment is for pairwise comparisons; use Holm or Bonferroni for other families".into(),
            });
        }
        // Groups: consecutive means sharing their by values.
        let nspec = self.specs.len();
        // (the group's by values, the positions of its means)
        type Group = (Vec<(String, String)>, Vec<usize>);
        let mut groups: Vec<Group> = Vec::new();
        for (i, m) in self.means.iter().enumerate() {
            let key: Vec<(String, String)> = m.at[nspec..].to_vec();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        let label_of = |i: usize| {
            self.means[i].at[..nspec]
                .iter()
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut out = Vec::new();
        let mut family_size = 0;
        for (key, members) in &groups {
            let k = members.len();
            if k < 2 {
                return Err(Error::Argument {
                    name: "contrast".into(),
                    message: "a group has a single mean: nothing to contrast".into(),
                });
            }
            // (label, weights over the group's means)
            let family: Vec<(String, Vec<f64>)> = match contrast {
                Contrast::Pairwise => {
                    let mut f = Vec::new();
                    for a in 0..k {
                        for b in a + 1..k {
                            let mut w = vec![0.0; k];
                            w[a] = 1.0;
                            w[b] = -1.0;
                            f.push((
                                format!("{} - {}", label_of(members[a]), label_of(members[b])),
                                w,
                            ));
                        }
                    }
                    f
                }
                Contrast::TrtVsCtrl(r) => {
                    if *r >= k {
                        return Err(Error::Argument {
                            name: "reference".into(),
                            message: format!("position {r} is past the {k} means of a group"),
                        });
                    }
                    (0..k)
                        .filter(|a| a != r)
                        .map(|a| {
                            let mut w = vec![0.0; k];
                            w[a] = 1.0;
                            w[*r] = -1.0;
                            (
                                format!("{} - {}", label_of(members[a]), label_of(members[*r])),
                                w,
                            )
                        })
                        .collect()
                }
                Contrast::Custom(list) => {
                    if list.is_empty() {
                        return Err(Error::Argument {
                            name: "contrast".into(),
                            message: "give at least one weight vector".into(),
                        });
                    }
                    for (name, w) in list {
                        if w.len() != k || w.iter().any(|x| !x.is_finite()) {
                            return Err(Error::Argument {
                                name: name.clone(),
                                message: format!(
                                    "needs {k} finite weights, one per mean of a group ({} given)",
                                    w.len()
                                ),
                            });
                        }
                    }
                    list.clone()
                }
            };
            family_size = family.len();
            let mut rows: Vec<ContrastEstimate> = family
                .iter()
                .map(|(label, w)| {
                    let mut l = vec![0.0; self.coefficients.len()];
                    for (wi, &m) in w.iter().zip(members) {
                        for (lj, x) in l.iter_mut().zip(&self.linfct[m]) {
                            *lj += wi * x;
                        }
                    }
                    let estimate = combination(&inf, &l, label, self.level);
                    ContrastEstimate {
                        by: key.clone(),
                        p_adjusted: f64::NAN,
                        ci_adjusted: estimate.ci,
                        estimate,
                    }
                })
                .collect();
            adjust_family(&mut rows, adjust, k, self.level);
            out.extend(rows);
        }
        Ok(Contrasts {
            contrasts: out,
            adjust,
            family_size,
            level: self.level,
            df_method: self.df_method,
        })
    }
}

/// Adjusted p-values and simultaneous intervals for one family of `k` means.
fn adjust_family(rows: &mut [ContrastEstimate], adjust: Adjust, k: usize, level: f64) {
    let m = rows.len() as f64;
    match adjust {
        Adjust::None => {
            for r in rows.iter_mut() {
                r.p_adjusted = r.estimate.p;
            }
        }
        Adjust::Bonferroni | Adjust::Holm => {
            if adjust == Adjust::Bonferroni {
                for r in rows.iter_mut() {
                    r.p_adjusted = (r.estimate.p * m).min(1.0);
                }
            } else {
                let mut order: Vec<usize> = (0..rows.len()).collect();
                order.sort_by(|&a, &b| rows[a].estimate.p.total_cmp(&rows[b].estimate.p));
                let mut running: f64 = 0.0;
                for (rank, &i) in order.iter().enumerate() {
                    let adj = ((m - rank as f64) * rows[i].estimate.p).min(1.0);
                    running = running.max(adj);
                    rows[i].p_adjusted = running;
                }
            }
            for r in rows.iter_mut() {
                let q = crate::stats::t_quantile(1.0 - (1.0 - level) / (2.0 * m), r.estimate.df);
                let c = &r.estimate;
                r.ci_adjusted = [c.estimate - q * c.std_error, c.estimate + q * c.std_error];
            }
        }
        Adjust::Tukey => {
            let kf = k as f64;
            for r in rows.iter_mut() {
                let c = &r.estimate;
                r.p_adjusted = crate::studentized::ptukey_upper(
                    c.t.abs() * std::f64::consts::SQRT_2,
                    kf,
                    c.df,
                );
                let q = crate::studentized::qtukey(level, kf, c.df) / std::f64::consts::SQRT_2;
                r.ci_adjusted = [c.estimate - q * c.std_error, c.estimate + q * c.std_error];
            }
        }
    }
}
