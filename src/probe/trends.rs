//! The slope of a focal predictor at chosen values of other variables, for any fixed-effects
//! design: categorical moderators (a slope per level, with pairwise contrasts), three-way
//! interactions (slopes at combinations of two moderators), growth (the slope at given
//! sessions, with `I(session^2)` terms evaluated at them). R's `emmeans::emtrends`.
//!
//! Each slope is a linear combination lᵀβ: l is the derivative of a model-matrix row with
//! respect to the focal variable, by a central difference of rows built at the grid point
//! (exact for terms linear or quadratic in the focal variable). As in emmeans' reference grid,
//! the focal variable sits at its mean, numeric variables not given sit at their means over the
//! rows used, and categorical ones not given are averaged over with equal weights. Its SE is
//! √(lᵀVl) and its df the model's for that contrast (Satterthwaite or Kenward–Roger for mixed
//! models, residual df for OLS).

use super::{DfMethod, Probeable};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::formula::design::Reference;
use crate::stats::Coefficient;

/// Values of one variable of the grid.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum At {
    /// Numbers, for a numeric variable.
    Values(Vec<f64>),
    /// Levels of a categorical variable; empty for all its levels.
    Levels(Vec<String>),
}

/// One slope of the grid.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Trend {
    /// The grid point: each variable with its value (as text).
    pub at: Vec<(String, String)>,
    /// The slope with its SE, df, t, p and CI (its `term` names the point).
    pub slope: Coefficient,
}

/// The slopes of a focal predictor over a grid, with pairwise contrasts between the levels of
/// the grid's first categorical variable.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Trends {
    /// The focal predictor.
    pub focal: String,
    /// One slope per grid point; the first variable varies fastest, as in emmeans.
    pub trends: Vec<Trend>,
    /// Differences of slopes between levels of the first categorical grid variable (`B - A`),
    /// within each combination of the other grid variables; unadjusted for multiplicity.
    pub contrasts: Vec<Coefficient>,
    /// Categorical variables not in the grid, averaged over.
    pub averaged_over: Vec<String>,
    /// Numeric variables not in the grid, at their means.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub at_means: Vec<(String, f64)>,
    /// The df method.
    pub df_method: DfMethod,
    /// The confidence level.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub level: f64,
}

fn label(v: &At, i: usize) -> String {
    match v {
        At::Values(x) => crate::formula::functions::r_number(x[i]),
        At::Levels(l) => l[i].clone(),
    }
}

fn len(v: &At) -> usize {
    match v {
        At::Values(x) => x.len(),
        At::Levels(l) => l.len(),
    }
}

/// The slopes of `focal` at every combination of the `at` values (see the module docs).
///
/// # Examples
/// ```
/// use securebase::{Data, Ols};
/// use securebase::probe::{trends, At, DfMethod};
/// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/iris.csv"))?;
/// let fit = Ols::fit(&data, "Sepal.Length ~ Petal.Length * Species")?;
/// // The slope of petal length in each species, and their differences.
/// let t = trends(&fit, "Petal.Length", &[("Species", At::Levels(vec![]))], DfMethod::Model, 0.95)?;
/// assert_eq!(t.trends.len(), 3);
/// assert_eq!(t.contrasts[0].term, "setosa - versicolor");
/// # Ok::<(), securebase::Error>(())
/// ```
///
/// # Errors
/// [`Error::Term`] if `focal` is not a numeric variable of the fixed part, or a grid variable is
/// not a variable of it (or of the wrong kind: numbers for a categorical one, or levels it does
/// not have); [`Error::Argument`] for an empty grid variable or a bad level.
pub fn trends<M: Probeable + ?Sized>(
    model: &M,
    focal: &str,
    at: &[(&str, At)],
    df_method: DfMethod,
    level: f64,
) -> Result<Trends> {
    crate::stats::check_level(level)?;
    let inf = model.inference(df_method)?;
    let reference = inf.design.reference();
    let known = || {
        reference
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let x0 = match reference.iter().find(|(n, _)| n == focal) {
        Some((_, Reference::Mean(m))) => *m,
        _ => {
            return Err(Error::Term {
                term: focal.to_string(),
                message: format!(
                    "not a numeric variable of the fixed effects (variables: {})",
                    known()
                ),
            });
        }
    };
    // The grid variables, checked, with all levels filled in.
    let mut grid: Vec<(String, At)> = Vec::new();
    for (name, values) in at {
        let r = reference
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r)
            .ok_or_else(|| Error::Term {
                term: name.to_string(),
                message: format!(
                    "not a variable of the fixed effects (variables: {})",
                    known()
                ),
            })?;
        let v = match (r, values) {
            (Reference::Mean(_), At::Values(x))
                if !x.is_empty() && x.iter().all(|v| v.is_finite()) =>
            {
                At::Values(x.clone())
            }
            (Reference::Levels(all), At::Levels(l)) => {
                if let Some(bad) = l.iter().find(|l| !all.contains(l)) {
                    return Err(Error::Term {
                        term: name.to_string(),
                        message: format!("has no level '{bad}' (levels: {})", all.join(", ")),
                    });
                }
                At::Levels(if l.is_empty() { all.clone() } else { l.clone() })
            }
            (Reference::Mean(_), At::Values(_)) => {
                return Err(Error::Argument {
                    name: name.to_string(),
                    message: "give at least one finite value".into(),
                });
            }
            (Reference::Mean(_), At::Levels(_)) => {
                return Err(Error::Term {
                    term: name.to_string(),
                    message: "is numeric: give values (At::Values), not levels".into(),
                });
            }
            (Reference::Levels(_), At::Values(_)) => {
                return Err(Error::Term {
                    term: name.to_string(),
                    message: "is categorical: give levels (At::Levels), not values".into(),
                });
            }
        };
        grid.push((name.to_string(), v));
    }
    // Everything else: numeric at its mean, categorical averaged over.
    let in_grid = |n: &str| n == focal || grid.iter().any(|(g, _)| g == n);
    let at_means: Vec<(String, f64)> = reference
        .iter()
        .filter(|(n, _)| !in_grid(n))
        .filter_map(|(n, r)| match r {
            Reference::Mean(m) => Some((n.clone(), *m)),
            Reference::Levels(_) => None,
        })
        .collect();
    let averaged: Vec<(String, Vec<String>)> = reference
        .iter()
        .filter(|(n, _)| !in_grid(n))
        .filter_map(|(n, r)| match r {
            Reference::Levels(l) => Some((n.clone(), l.clone())),
            Reference::Mean(_) => None,
        })
        .collect();
    let n_points: usize = grid.iter().map(|(_, v)| len(v)).product();
    let n_avg: usize = averaged.iter().map(|(_, l)| l.len()).product();
    if n_points.saturating_mul(n_avg) > 100_000 {
        return Err(Error::Argument {
            name: "at".into(),
            message: format!(
                "the grid has {n_points} points averaged over {n_avg} level combinations: too many"
            ),
        });
    }
    // Rows: for each point, each averaging combination, focal at x0 + h then x0 − h.
    let h = 1e-3 * x0.abs().max(1.0);
    let rows = n_points * n_avg * 2;
    let decompose = |mut k: usize, sizes: &[usize]| -> Vec<usize> {
        sizes
            .iter()
            .map(|&s| {
                let i = k % s;
                k /= s;
                i
            })
            .collect()
    };
    let grid_sizes: Vec<usize> = grid.iter().map(|(_, v)| len(v)).collect();
    let avg_sizes: Vec<usize> = averaged.iter().map(|(_, l)| l.len()).collect();
    let mut data = Data::new();
    let focal_col: Vec<f64> = (0..rows)
        .map(|r| if r % 2 == 0 { x0 + h } else { x0 - h })
        .collect();
    data.add_column(
        focal,
        crate::data::Column::Numeric(focal_col.into_iter().map(Some).collect()),
    )?;
    for (g, (name, values)) in grid.iter().enumerate() {
        let idx = |r: usize| decompose(r / 2 / n_avg, &grid_sizes)[g];
        match values {
            At::Values(x) => data.add_column(
                name,
                crate::data::Column::Numeric((0..rows).map(|r| Some(x[idx(r)])).collect()),
            )?,
            At::Levels(l) => {
                data =
                    data.with_categorical(name, (0..rows).map(|r| l[idx(r)].clone()).collect())?
            }
        }
    }
    for (a, (name, levels)) in averaged.iter().enumerate() {
        let idx = |r: usize| decompose((r / 2) % n_avg, &avg_sizes)[a];
        data = data.with_categorical(name, (0..rows).map(|r| levels[idx(r)].clone()).collect())?;
    }
    for (name, m) in &at_means {
        data = data.with_numeric(name, vec![*m; rows])?;
    }
    let x = inf.design.matrix(&data, &(0..rows).collect::<Vec<_>>())?;
    let p = inf.beta.len();
    let ls: Vec<Vec<f64>> = (0..n_points)
        .map(|i| {
            let mut l = vec![0.0; p];
            for c in 0..n_avg {
                let r = 2 * (i * n_avg + c);
                for (j, lj) in l.iter_mut().enumerate() {
                    *lj += (x[(r, j)] - x[(r + 1, j)]) / (2.0 * h) / n_avg as f64;
                }
            }
            l
        })
        .collect();
    let combine = |l: &[f64], term: String| -> Coefficient {
        let est: f64 = l.iter().zip(&inf.beta).map(|(a, b)| a * b).sum();
        let mut var = 0.0;
        for a in 0..p {
            for b in 0..p {
                var += l[a] * inf.vcov[a][b] * l[b];
            }
        }
        let df = if l.iter().all(|&w| w == 0.0) {
            f64::NAN
        } else {
            (inf.df)(l)
        };
        Coefficient::at(&term, est, var.max(0.0).sqrt(), df, level)
    };
    let trends: Vec<Trend> = ls
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let idx = decompose(i, &grid_sizes);
            let at: Vec<(String, String)> = grid
                .iter()
                .zip(&idx)
                .map(|((n, v), &k)| (n.clone(), label(v, k)))
                .collect();
            let term = if at.is_empty() {
                focal.to_string()
            } else {
                at.iter()
                    .map(|(n, v)| format!("{n} = {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            Trend {
                slope: combine(l, term),
                at,
            }
        })
        .collect();
    // Pairwise contrasts over the first categorical grid variable, within the others.
    let mut contrasts = Vec::new();
    if let Some(g) = grid.iter().position(|(_, v)| matches!(v, At::Levels(_))) {
        let k = grid_sizes[g];
        for (i, ti) in trends.iter().enumerate() {
            let idx = decompose(i, &grid_sizes);
            if idx[g] != 0 {
                continue;
            }
            // All points sharing the other coordinates: i + a·stride for level a.
            let stride: usize = grid_sizes[..g].iter().product();
            for a in 0..k {
                for b in a + 1..k {
                    let (ia, ib) = (i + a * stride, i + b * stride);
                    let l: Vec<f64> = ls[ia].iter().zip(&ls[ib]).map(|(x, y)| x - y).collect();
                    let others: Vec<String> = ti
                        .at
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != g)
                        .map(|(_, (n, v))| format!("{n} = {v}"))
                        .collect();
                    let mut term = format!("{} - {}", trends[ia].at[g].1, trends[ib].at[g].1);
                    if !others.is_empty() {
                        term.push_str(&format!(" ({})", others.join(", ")));
                    }
                    contrasts.push(combine(&l, term));
                }
            }
        }
    }
    Ok(Trends {
        focal: focal.to_string(),
        trends,
        contrasts,
        averaged_over: averaged.into_iter().map(|(n, _)| n).collect(),
        at_means,
        df_method,
        level,
    })
}

impl std::fmt::Display for Trends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Slopes of {} ({:.0}% CI){}",
            self.focal,
            self.level * 100.0,
            if self.averaged_over.is_empty() {
                String::new()
            } else {
                format!("; averaged over {}", self.averaged_over.join(", "))
            }
        )?;
        let table: Vec<Coefficient> = self.trends.iter().map(|t| t.slope.clone()).collect();
        f.write_str(&crate::report::coefficient_table(&table, "t value", true))?;
        if !self.contrasts.is_empty() {
            writeln!(f, "Differences of slopes (unadjusted):")?;
            f.write_str(&crate::report::coefficient_table(
                &self.contrasts,
                "t value",
                true,
            ))?;
        }
        Ok(())
    }
}
