//! Multilevel mediation with the within/between split (Zhang, Zyphur & Preacher 2009;
//! Preacher, Zyphur & Zhang 2010): sessions (level 1) in clients (level 2), optionally in
//! therapists (level 3).
//!
//! A variable constant within every client is a level-2 variable; one that varies is level 1
//! and is split into its within part (value − client mean) and its between part (client mean −
//! grand mean), both over the rows the model uses. A level-2 X can only act through the between
//! part of a mediator, so the indirect effect of a level-2 X is `a · b_between`; blending the
//! within and between b paths into one coefficient (as a single-level decomposition does)
//! can give an indirect effect of the wrong sign.
//!
//! | design | paths (each a mixed model with a client intercept, and a therapist intercept when a third level is given) | effects |
//! |---|---|---|
//! | 2-1-1 | M ~ X; Y ~ M_within + M_between + X | `a`, `b_within`, `b_between`, `c_prime`, `indirect_between` = a·b_between |
//! | 1-1-1 | M ~ X_within + X_between; Y ~ M_within + M_between + X_within + X_between | `a_within`, `a_between`, `b_within`, `b_between`, `c_prime_within`, `c_prime_between`, `indirect_within` = a_within·b_within, `indirect_between` = a_between·b_between |
//! | 2-2-1 | M ~ X (one row per client); Y ~ M + X | `a`, `b_between`, `c_prime`, `indirect_between` |
//! | 2-1-2 | M ~ X; Y ~ M_between + X (one row per client) | `a`, `b_between`, `c_prime`, `indirect_between` |
//! | 2-1-1-2 | M1 ~ X; M2 ~ M1_within + M1_between + X; Y ~ M1_between + M2_between + X (one row per client) | `a1`, `a2`, `d21_within`, `d21_between`, `b1_between`, `b2_between`, `c_prime`, `ind1_between` = a1·b1, `ind2_between` = a2·b2, `ind12_between` = a1·d21·b2, `total_indirect_between` |
//!
//! Client-level paths use one row per client: with a third level they are mixed models with a
//! therapist intercept, otherwise OLS; level-1 covariates enter them as their client means
//! (`{covariate}_mean`). Covariates enter every path as given otherwise. Intervals: a cluster
//! bootstrap resampling whole top-level units (therapists when given, else clients; percentile
//! and BCa) and Monte Carlo draws of the path coefficients, both seeded and identical for any
//! number of threads.

use super::Effect;
use super::bootstrap::{
    Bootstrap, BootstrapOptions, MonteCarlo, Resampling, summarize_draws, summarize_monte_carlo,
};
use crate::controls::q;
use crate::data::{Column, Data, NumericColumn};
use crate::error::{Error, Result};
use crate::formula::Missingness;
use crate::formula::design::complete_rows;
use crate::lmm::{Criterion, Ddf, FitOptions, LmmSpec};
use crate::regression::Ols;
use crate::rng::Rng;
use nalgebra::{DMatrix, DVector};
use std::collections::HashMap;

/// A multilevel mediation model: X → M (→ M2) → Y with sessions in clients (in therapists).
///
/// # Examples
///
/// ```
/// use securebase::Data;
/// use securebase::mediation::MultilevelMediation;
/// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mlmed/sessions.csv"))?;
/// // Client-level anxiety → session-level Secure → session-level engagement: design 2-1-1.
/// let fit = MultilevelMediation::new("anx", &["secure"], "engage", "client").fit(&data)?;
/// assert_eq!(fit.design.name(), "2-1-1");
/// let (bw, bb) = (fit.effect("b_within").unwrap(), fit.effect("b_between").unwrap());
/// assert!(bw > 0.0 && bb < 0.0); // opposite signs, which one blended b would hide
/// let ind = fit.effect("indirect_between").unwrap();
/// assert!((ind - fit.effect("a").unwrap() * bb).abs() < 1e-12);
/// # Ok::<(), securebase::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MultilevelMediation {
    x: String,
    mediators: Vec<String>,
    y: String,
    covariates: Vec<String>,
    cluster: String,
    cluster2: Option<String>,
    random_slopes: bool,
}

/// The level structure of a multilevel mediation (levels of X, the mediators and Y).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum MlDesign {
    /// X client-level, M and Y session-level.
    D211,
    /// X, M and Y session-level.
    D111,
    /// X and M client-level, Y session-level.
    D221,
    /// X client-level, M session-level, Y client-level.
    D212,
    /// X client-level, M1 and M2 session-level, Y client-level (the serial chain).
    D2112,
}

impl MlDesign {
    /// The usual label: `"2-1-1"`, `"1-1-1"`, `"2-2-1"`, `"2-1-2"`, `"2-1-1-2"`.
    pub fn name(self) -> &'static str {
        match self {
            MlDesign::D211 => "2-1-1",
            MlDesign::D111 => "1-1-1",
            MlDesign::D221 => "2-2-1",
            MlDesign::D212 => "2-1-2",
            MlDesign::D2112 => "2-1-1-2",
        }
    }
}

/// One path model of a multilevel mediation, as fitted.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PathFit {
    /// The formula.
    pub formula: String,
    /// Whether it was fitted to one row per client.
    pub client_level: bool,
    /// Coefficient names.
    pub terms: Vec<String>,
    /// Estimates.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub estimates: Vec<f64>,
    /// Standard errors.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub std_errors: Vec<f64>,
}

/// Point estimates of a multilevel mediation.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct MultilevelFit {
    /// The model.
    pub model: MultilevelMediation,
    /// The design found from the variables' levels.
    pub design: MlDesign,
    /// Effects in the design's order (see the module docs for the names).
    pub effects: Vec<Effect>,
    /// The path models.
    pub paths: Vec<PathFit>,
    /// Session rows used (complete on every variable).
    pub nobs: usize,
    /// Clients in them.
    pub n_clusters: usize,
    /// Therapists in them, with a third level.
    pub n_clusters2: Option<usize>,
    /// Rows dropped for missing values.
    pub missing: Missingness,
    /// Notes on the path fits (singular fits, non-convergence).
    pub notes: Vec<String>,
    /// With random slopes: the stacked model's residual variance ratio σ²_Y/σ²_M and its REML
    /// criterion.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub stacked: Option<(f64, f64)>,
}

impl MultilevelFit {
    /// The estimate of the effect called `name`.
    ///
    /// # Errors
    /// [`Error::Argument`] if the model has no such effect (naming its effects and the closest).
    pub fn effect<K: super::EffectKey>(&self, key: K) -> Result<f64> {
        super::effects::find(&self.effects, key, |e| &e.name).map(|e| e.estimate)
    }
}

/// A path model to fit: formula, whether on client rows, and the coefficients it supplies.
struct PathSpec {
    formula: String,
    client_level: bool,
}

/// The path models as fitted: their tables, notes, and covariances of the fixed effects.
struct Fitted {
    paths: Vec<PathFit>,
    notes: Vec<String>,
    vcovs: Vec<DMatrix<f64>>,
}

/// What [`MultilevelMediation::prepare`] builds: the session rows (with the split columns and
/// numeric cluster codes), which design, and the path models.
struct Prepared {
    data: Data,
    design: MlDesign,
    paths: Vec<PathSpec>,
    missing: Missingness,
    /// Per row: the client's code and the top-level unit's code (therapist, or client).
    client: Vec<usize>,
    top: Vec<usize>,
    n_clients: usize,
    n_top: usize,
}

/// Internal names of the cluster codes in the data the paths are fitted to.
pub(crate) const CLIENT: &str = ".client";
const TOP: &str = ".therapist";

impl MultilevelMediation {
    /// X → mediator(s) → Y with sessions in clients (`cluster`, e.g. `"client"`). One mediator,
    /// or two in a serial chain.
    pub fn new(
        x: &str,
        mediators: &[impl AsRef<str>],
        y: &str,
        cluster: &str,
    ) -> MultilevelMediation {
        MultilevelMediation {
            x: x.into(),
            mediators: crate::data::owned_names(mediators),
            y: y.into(),
            covariates: Vec::new(),
            cluster: cluster.into(),
            cluster2: None,
            random_slopes: false,
        }
    }

    /// Random a and b slopes (1-1-1 only): the within-client slopes of X on M and of M on Y
    /// vary over clients, both paths are fitted as one stacked model with outcome-specific
    /// residual variances (Bauer, Preacher & Gil 2006), and `indirect_within` = a·b + σ_ab,
    /// with σ_ab (`cov_ab`) the covariance of the two slopes (Kenny, Korchmaros & Bolger
    /// 2003). The Monte Carlo interval draws σ_ab from its asymptotic normal distribution (delta
    /// method on the variance parameters); the bootstrap refits the stacked model in every
    /// replicate (slow: about a second each at the reference study's size) and gives
    /// percentile intervals only (BCa's jackknife would refit once per client).
    pub fn random_slopes(mut self, yes: bool) -> MultilevelMediation {
        self.random_slopes = yes;
        self
    }

    /// Covariates in every path.
    pub fn covariates(mut self, covariates: &[impl AsRef<str>]) -> MultilevelMediation {
        self.covariates = crate::data::owned_names(covariates);
        self
    }

    /// A third level (therapists): a random intercept in every path, and the unit the cluster
    /// bootstrap resamples.
    pub fn cluster2(mut self, cluster2: &str) -> MultilevelMediation {
        self.cluster2 = Some(cluster2.into());
        self
    }

    fn prepare(&self, data: &Data) -> Result<Prepared> {
        if self.mediators.is_empty() || self.mediators.len() > 2 {
            return Err(Error::Argument {
                name: "mediators".into(),
                message: format!(
                    "give one mediator or two (a serial chain), not {}",
                    self.mediators.len()
                ),
            });
        }
        let mut vars = vec![self.x.clone()];
        vars.extend(self.mediators.iter().cloned());
        vars.push(self.y.clone());
        vars.extend(self.covariates.iter().cloned());
        super::check_roles(data, &vars)?;
        let mut need = vars.clone();
        need.push(self.cluster.clone());
        if let Some(c2) = &self.cluster2 {
            need.push(c2.clone());
        }
        let (rows, dropped) = complete_rows(data, &need)?;
        let mut d = data.select_columns(&need)?.select_rows(&rows)?;
        // Clients are (therapist, client) pairs, so client IDs may repeat across therapists.
        let mut space = crate::data::keys::KeySpace::default();
        let by: Vec<&str> = match &self.cluster2 {
            Some(c2) => vec![c2.as_str(), self.cluster.as_str()],
            None => vec![self.cluster.as_str()],
        };
        let client_groups = crate::data::keys::RowKeys::build(&mut space, &d, &by, false)?.groups();
        let client: Vec<usize> = client_groups
            .of_row
            .iter()
            .map(|g| g.map_or(0, |g| g as usize))
            .collect();
        let n_clients = client_groups.len();
        let (top, n_top) = match &self.cluster2 {
            Some(c2) => {
                let g = crate::data::keys::RowKeys::build(&mut space, &d, &[c2.as_str()], false)?
                    .groups();
                (
                    g.of_row
                        .iter()
                        .map(|g| g.map_or(0, |g| g as usize))
                        .collect(),
                    g.len(),
                )
            }
            None => (client.clone(), n_clients),
        };
        if n_clients < 3 || n_top < 2 {
            return Err(Error::Model(format!(
                "{} complete rows in {n_clients} clients ({n_top} top-level units) are too few for a multilevel mediation",
                rows.len()
            )));
        }
        // Levels: constant within every client → level 2.
        let level2 = |v: &str| is_level2(&d, v, &client, n_clients);
        let (lx, ly) = (level2(&self.x)?, level2(&self.y)?);
        let cov_level2: Vec<bool> = self
            .covariates
            .iter()
            .map(|c| level2(c))
            .collect::<Result<_>>()?;
        let lm: Vec<bool> = self
            .mediators
            .iter()
            .map(|m| level2(m))
            .collect::<Result<_>>()?;
        let design = match (lx, lm.as_slice(), ly) {
            (true, [false], false) => MlDesign::D211,
            (false, [false], false) => MlDesign::D111,
            (true, [true], false) => MlDesign::D221,
            (true, [false], true) => MlDesign::D212,
            (true, [false, false], true) => MlDesign::D2112,
            _ => {
                let lv = |b: bool| if b { "2" } else { "1" };
                let found: Vec<&str> = std::iter::once(lv(lx))
                    .chain(lm.iter().map(|&b| lv(b)))
                    .chain(std::iter::once(lv(ly)))
                    .collect();
                return Err(Error::Model(format!(
                    "the variables' levels give design {} (1 = varies within '{}', 2 = constant within it), which is not supported; supported: 2-1-1, 1-1-1, 2-2-1, 2-1-2 and the serial 2-1-1-2",
                    found.join("-"),
                    self.cluster
                )));
            }
        };
        d.add_column(
            CLIENT,
            Column::Numeric(client.iter().map(|&c| Some(c as f64)).collect()),
        )?;
        if self.cluster2.is_some() {
            d.add_column(
                TOP,
                Column::Numeric(top.iter().map(|&c| Some(c as f64)).collect()),
            )?;
        }
        // Within/between parts of the level-1 variables the design splits.
        let split: Vec<&String> = match design {
            MlDesign::D211 | MlDesign::D212 => vec![&self.mediators[0]],
            MlDesign::D111 => vec![&self.x, &self.mediators[0]],
            MlDesign::D221 => vec![],
            MlDesign::D2112 => vec![&self.mediators[0], &self.mediators[1]],
        };
        for v in &split {
            let (w, b) = within_between(d.numeric(v)?, &client, n_clients);
            d.add_column(&format!("{v}_within"), Column::Numeric(w))?;
            d.add_column(&format!("{v}_between"), Column::Numeric(b))?;
        }
        // Level-1 covariates enter client-level paths as their client means.
        let mut cov_client: Vec<String> = Vec::new();
        for (c, &is2) in self.covariates.iter().zip(&cov_level2) {
            if is2 {
                cov_client.push(c.clone());
            } else {
                let (w, _) = within_between(d.numeric(c)?, &client, n_clients);
                let x = d.numeric(c)?;
                let mean: NumericColumn = x
                    .iter()
                    .zip(&w)
                    .map(|(v, w)| Some(v.unwrap_or(0.0) - w.unwrap_or(0.0)))
                    .collect();
                let name = format!("{c}_mean");
                d.add_column(&name, Column::Numeric(mean))?;
                cov_client.push(name);
            }
        }
        let paths = self.paths(design, &cov_client);
        Ok(Prepared {
            data: d,
            design,
            paths,
            missing: Missingness {
                n_input: data.nrows(),
                n_used: rows.len(),
                dropped_rows: dropped,
                unit: None,
                notes: vec![],
            },
            client,
            top,
            n_clients,
            n_top,
        })
    }

    /// The path formulas of a design.
    fn paths(&self, design: MlDesign, cov_client: &[String]) -> Vec<PathSpec> {
        let session = |lhs: &str, rhs: &[String]| {
            let mut terms: Vec<String> = rhs.iter().map(|r| q(r)).collect();
            terms.extend(self.covariates.iter().map(|c| q(c)));
            let mut f = format!("{} ~ {}", q(lhs), terms.join(" + "));
            if self.cluster2.is_some() {
                f.push_str(&format!(" + (1 | {})", q(TOP)));
            }
            f.push_str(&format!(" + (1 | {})", q(CLIENT)));
            PathSpec {
                formula: f,
                client_level: false,
            }
        };
        let client = |lhs: &str, rhs: &[String]| {
            let mut terms: Vec<String> = rhs.iter().map(|r| q(r)).collect();
            terms.extend(cov_client.iter().map(|c| q(c)));
            let mut f = format!("{} ~ {}", q(lhs), terms.join(" + "));
            if self.cluster2.is_some() {
                f.push_str(&format!(" + (1 | {})", q(TOP)));
            }
            PathSpec {
                formula: f,
                client_level: true,
            }
        };
        let (x, y) = (self.x.clone(), &self.y);
        let w = |v: &str| format!("{v}_within");
        let b = |v: &str| format!("{v}_between");
        let m = &self.mediators[0];
        match design {
            MlDesign::D211 => vec![
                session(m, std::slice::from_ref(&x)),
                session(y, &[w(m), b(m), x]),
            ],
            MlDesign::D111 => vec![
                session(m, &[w(&x), b(&x)]),
                session(y, &[w(m), b(m), w(&x), b(&x)]),
            ],
            MlDesign::D221 => vec![
                client(m, std::slice::from_ref(&x)),
                session(y, &[m.clone(), x]),
            ],
            MlDesign::D212 => vec![session(m, std::slice::from_ref(&x)), client(y, &[b(m), x])],
            MlDesign::D2112 => {
                let m2 = &self.mediators[1];
                vec![
                    session(m, std::slice::from_ref(&x)),
                    session(m2, &[w(m), b(m), x.clone()]),
                    client(y, &[b(m), b(m2), x]),
                ]
            }
        }
    }

    /// Effect names of a design, in order.
    fn effect_names(design: MlDesign) -> Vec<&'static str> {
        match design {
            MlDesign::D211 => vec!["a", "b_within", "b_between", "c_prime", "indirect_between"],
            MlDesign::D111 => vec![
                "a_within",
                "a_between",
                "b_within",
                "b_between",
                "c_prime_within",
                "c_prime_between",
                "indirect_within",
                "indirect_between",
            ],
            MlDesign::D221 | MlDesign::D212 => {
                vec!["a", "b_between", "c_prime", "indirect_between"]
            }
            MlDesign::D2112 => vec![
                "a1",
                "a2",
                "d21_within",
                "d21_between",
                "b1_between",
                "b2_between",
                "c_prime",
                "ind1_between",
                "ind2_between",
                "ind12_between",
                "total_indirect_between",
            ],
        }
    }

    /// Effects from the paths' coefficients, each path's as a name → (index) lookup into `beta`.
    /// Returns (estimates, the (path, coefficient) of each single-path effect).
    fn effects(&self, design: MlDesign, coef: &dyn Fn(usize, &str) -> f64) -> Vec<f64> {
        let x = &self.x;
        let m = &self.mediators[0];
        let w = |v: &str| format!("{v}_within");
        let b = |v: &str| format!("{v}_between");
        match design {
            MlDesign::D211 => {
                let a = coef(0, x);
                let bb = coef(1, &b(m));
                vec![a, coef(1, &w(m)), bb, coef(1, x), a * bb]
            }
            MlDesign::D111 => {
                let (aw, ab) = (coef(0, &w(x)), coef(0, &b(x)));
                let (bw, bb) = (coef(1, &w(m)), coef(1, &b(m)));
                vec![
                    aw,
                    ab,
                    bw,
                    bb,
                    coef(1, &w(x)),
                    coef(1, &b(x)),
                    aw * bw,
                    ab * bb,
                ]
            }
            MlDesign::D221 => {
                let (a, bb) = (coef(0, x), coef(1, m));
                vec![a, bb, coef(1, x), a * bb]
            }
            MlDesign::D212 => {
                let (a, bb) = (coef(0, x), coef(1, &b(m)));
                vec![a, bb, coef(1, x), a * bb]
            }
            MlDesign::D2112 => {
                let m2 = &self.mediators[1];
                let a1 = coef(0, x);
                let (a2, d21w, d21) = (coef(1, x), coef(1, &w(m)), coef(1, &b(m)));
                let (b1, b2, cp) = (coef(2, &b(m)), coef(2, &b(m2)), coef(2, x));
                let (i1, i2, i12) = (a1 * b1, a2 * b2, a1 * d21 * b2);
                vec![a1, a2, d21w, d21, b1, b2, cp, i1, i2, i12, i1 + i2 + i12]
            }
        }
    }

    /// The (path, coefficient) behind each single-path effect, for its model-based SE.
    fn single_paths(&self, design: MlDesign) -> Vec<Option<(usize, String)>> {
        let x = self.x.clone();
        let m = &self.mediators[0];
        let w = |v: &str| Some(format!("{v}_within"));
        let b = |v: &str| Some(format!("{v}_between"));
        let at = |p: usize, n: Option<String>| n.map(|n| (p, n));
        match design {
            MlDesign::D211 => vec![
                at(0, Some(x.clone())),
                at(1, w(m)),
                at(1, b(m)),
                at(1, Some(x)),
                None,
            ],
            MlDesign::D111 => vec![
                at(0, w(&x)),
                at(0, b(&x)),
                at(1, w(m)),
                at(1, b(m)),
                at(1, w(&x)),
                at(1, b(&x)),
                None,
                None,
            ],
            MlDesign::D221 => vec![
                at(0, Some(x.clone())),
                at(1, Some(m.clone())),
                at(1, Some(x)),
                None,
            ],
            MlDesign::D212 => vec![at(0, Some(x.clone())), at(1, b(m)), at(1, Some(x)), None],
            MlDesign::D2112 => {
                let m2 = &self.mediators[1];
                vec![
                    at(0, Some(x.clone())),
                    at(1, Some(x.clone())),
                    at(1, w(m)),
                    at(1, b(m)),
                    at(2, b(m)),
                    at(2, b(m2)),
                    at(2, Some(x)),
                    None,
                    None,
                    None,
                    None,
                ]
            }
        }
    }

    /// Fit every path on session rows `d` (client rows taken as each client's first row).
    fn fit_paths(paths: &[PathSpec], d: &Data, client: &[usize], ddf: Ddf) -> Result<Fitted> {
        let client_data = client_rows_data(paths, d, client)?;
        let mut out = Vec::with_capacity(paths.len());
        let mut notes = Vec::new();
        let mut vcovs = Vec::with_capacity(paths.len());
        for p in paths {
            let data = match (&client_data, p.client_level) {
                (Some(c), true) => c,
                _ => d,
            };
            let has_re = p.formula.contains('|');
            let (terms, est, se, vcov) = if has_re {
                let fit = LmmSpec::new(data, &p.formula)?
                    .fit_with(Criterion::Reml, &FitOptions::with_ddf(ddf))?;
                for n in fit.diagnostics() {
                    notes.push(format!("{}: {n}", p.formula));
                }
                let v = fit.vcov();
                (
                    fit.terms()
                        .iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>(),
                    fit.beta(),
                    fit.coefficients().iter().map(|c| c.std_error).collect(),
                    DMatrix::from_fn(v.len(), v.len(), |i, j| v[i][j]),
                )
            } else {
                let fit = Ols::fit(data, &p.formula)?;
                let v = fit.vcov();
                (
                    fit.terms()
                        .iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>(),
                    fit.beta(),
                    fit.coefficients().iter().map(|c| c.std_error).collect(),
                    DMatrix::from_fn(v.len(), v.len(), |i, j| v[i][j]),
                )
            };
            out.push(PathFit {
                formula: p
                    .formula
                    .replace(&q(CLIENT), "client")
                    .replace(&q(TOP), "therapist"),
                client_level: p.client_level,
                terms,
                estimates: est,
                std_errors: se,
            });
            vcovs.push(vcov);
        }
        Ok(Fitted {
            paths: out,
            notes,
            vcovs,
        })
    }

    /// The fixed effects of every path (names and estimates only): the lean refit of a
    /// bootstrap replicate.
    fn fit_path_betas(paths: &[PathSpec], d: &Data, client: &[usize]) -> Result<Vec<PathFit>> {
        let client_data = client_rows_data(paths, d, client)?;
        let mut out = Vec::with_capacity(paths.len());
        for p in paths {
            let data = match (&client_data, p.client_level) {
                (Some(c), true) => c,
                _ => d,
            };
            let (terms, estimates) = if p.formula.contains('|') {
                let spec = LmmSpec::new(data, &p.formula)?;
                let beta = spec.fit_beta(Criterion::Reml)?;
                (spec.fixed_names().to_vec(), beta)
            } else {
                let fit = Ols::fit(data, &p.formula)?;
                (
                    fit.terms().iter().map(|t| t.to_string()).collect(),
                    fit.beta(),
                )
            };
            out.push(PathFit {
                formula: p.formula.clone(),
                client_level: p.client_level,
                terms,
                estimates,
                std_errors: Vec::new(),
            });
        }
        Ok(out)
    }

    /// Point estimates, with the model-based SEs of single paths.
    ///
    /// # Errors
    /// Unknown or categorical variables, a variable in two roles, too few clients, a design
    /// other than the supported ones, and the errors of the path fits.
    pub fn fit(&self, data: &Data) -> Result<MultilevelFit> {
        let p = self.prepare(data)?;
        if self.random_slopes {
            return self.fit_random_slopes(data, p);
        }
        let Fitted { paths, notes, .. } =
            Self::fit_paths(&p.paths, &p.data, &p.client, Ddf::Satterthwaite)?;
        let coef = |i: usize, name: &str| {
            lookup(&paths[i], name).map_or(f64::NAN, |k| paths[i].estimates[k])
        };
        let values = self.effects(p.design, &coef);
        let singles = self.single_paths(p.design);
        let effects = Self::effect_names(p.design)
            .into_iter()
            .zip(values)
            .zip(singles)
            .map(|((name, estimate), single)| Effect {
                name: name.to_string(),
                estimate,
                std_error: single
                    .and_then(|(i, n)| lookup(&paths[i], &n).map(|k| paths[i].std_errors[k])),
            })
            .collect();
        Ok(MultilevelFit {
            model: self.clone(),
            design: p.design,
            effects,
            paths,
            nobs: p.data.nrows(),
            n_clusters: p.n_clients,
            n_clusters2: self.cluster2.as_ref().map(|_| p.n_top),
            missing: p.missing,
            notes,
            stacked: None,
        })
    }

    /// Cluster-bootstrap intervals (percentile and BCa) for every effect: whole top-level units
    /// (therapists with a third level, else clients) are resampled with replacement, each drawn
    /// copy a unit of its own, and every path refitted (REML). Replicate i draws from
    /// `Rng::stream(seed, i)`, so results do not depend on the number of threads.
    ///
    /// # Errors
    /// As [`MultilevelMediation::fit`]; [`Error::Argument`] for fewer than 2 replicates, a bad
    /// level, or case resampling (a multilevel model resamples whole clusters).
    ///
    /// ```
    /// use securebase::mediation::{BootstrapOptions, MultilevelMediation, Path, Resampling};
    /// use securebase::Data;
    /// let sessions = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mlmed/sessions.csv"))?;
    /// let med = MultilevelMediation::new("anx", &["secure"], "engage", "client");
    /// let opts = BootstrapOptions::new(50, 1).resampling(Resampling::Cluster);
    /// let boot = med.bootstrap(&sessions, &opts)?;
    /// let ind = boot.effect(Path::Indirect.between())?;
    /// assert!((ind.estimate + 0.0601480).abs() < 1e-5); // lmer paths: a·b_between
    /// assert!(ind.percentile[0] < ind.percentile[1]);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    pub fn bootstrap(&self, data: &Data, options: &BootstrapOptions) -> Result<Bootstrap> {
        options.check()?;
        if options.resampling == Resampling::Case {
            return Err(Error::Argument {
                name: "resampling".into(),
                message: "a multilevel mediation resamples whole clusters: use Resampling::Cluster"
                    .into(),
            });
        }
        let point = self.fit(data)?;
        let p = self.prepare(data)?;
        let mut units: Vec<Vec<usize>> = vec![Vec::new(); p.n_top];
        for (r, &t) in p.top.iter().enumerate() {
            units[t].push(r);
        }
        let estimate = |rows: &[usize], client: Vec<usize>, top: Vec<usize>| -> Option<Vec<f64>> {
            let mut d = p.data.select_rows(rows).ok()?;
            d.replace_column(
                CLIENT,
                Column::Numeric(client.iter().map(|&c| Some(c as f64)).collect()),
            )
            .ok()?;
            if self.cluster2.is_some() {
                d.replace_column(
                    TOP,
                    Column::Numeric(top.iter().map(|&c| Some(c as f64)).collect()),
                )
                .ok()?;
            }
            let v = if self.random_slopes {
                let s = super::random_slopes::fit(
                    &d,
                    (&self.mediators[0], &self.y, &self.x),
                    &self.covariates,
                    Ddf::Asymptotic,
                )
                .ok()?;
                slopes_effects(&|n| s.coef(n), s.cov_ab)
            } else {
                let paths = Self::fit_path_betas(&p.paths, &d, &client).ok()?;
                let coef = |i: usize, name: &str| {
                    lookup(&paths[i], name).map_or(f64::NAN, |k| paths[i].estimates[k])
                };
                self.effects(p.design, &coef)
            };
            v.iter().all(|x| x.is_finite()).then_some(v)
        };
        let resample = |i: usize| -> Option<Vec<f64>> {
            let mut rng = Rng::stream(options.seed, i as u64);
            let (mut rows, mut client, mut top) = (Vec::new(), Vec::new(), Vec::new());
            for copy in 0..units.len() {
                let u = &units[rng.index(units.len())];
                for &r in u {
                    rows.push(r);
                    client.push(copy * p.n_clients + p.client[r]);
                    top.push(copy);
                }
            }
            estimate(&rows, client, top)
        };
        let reps: Vec<Option<Vec<f64>>> = crate::progress::map(
            options.replicates,
            "cluster bootstrap",
            "resamples",
            resample,
        );
        // Jackknife over top-level units for the BCa acceleration (not with random slopes,
        // where it would refit the stacked model once per client).
        let jack_units = if self.random_slopes { 0 } else { units.len() };
        let jack: Vec<Option<Vec<f64>>> =
            crate::progress::map(jack_units, "jackknife (BCa)", "clusters", |leave| {
                let rows: Vec<usize> = (0..p.data.nrows()).filter(|&r| p.top[r] != leave).collect();
                let client = rows.iter().map(|&r| p.client[r]).collect();
                let top = rows.iter().map(|&r| p.top[r]).collect();
                estimate(&rows, client, top)
            });
        let names: Vec<String> = point.effects.iter().map(|e| e.name.clone()).collect();
        let estimates: Vec<f64> = point.effects.iter().map(|e| e.estimate).collect();
        summarize_draws(&names, &estimates, &reps, &jack, options)
    }

    /// Monte Carlo intervals (Preacher & Selig 2012): each path's fixed effects drawn from
    /// N(β̂, V̂) (REML, model-based V̂), effects formed from each draw.
    ///
    /// # Errors
    /// As [`MultilevelMediation::fit`]; [`Error::Argument`] for fewer than 2 draws or a bad
    /// level.
    ///
    /// ```
    /// use securebase::mediation::{MultilevelMediation, Path};
    /// use securebase::Data;
    /// let sessions = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mlmed/sessions.csv"))?;
    /// let med = MultilevelMediation::new("anx", &["secure"], "engage", "client");
    /// let mc = med.monte_carlo(&sessions, 5000, 3, 0.95)?;
    /// let ind = mc.effect(Path::Indirect.between())?;
    /// assert!(ind.ci[1] < 0.0); // the between-client indirect effect is negative
    /// # Ok::<(), securebase::Error>(())
    /// ```
    pub fn monte_carlo(
        &self,
        data: &Data,
        draws: usize,
        seed: u64,
        level: f64,
    ) -> Result<MonteCarlo> {
        if draws < 2 {
            return Err(Error::Argument {
                name: "draws".into(),
                message: "need at least 2".into(),
            });
        }
        crate::limits::check_count("draws", draws, crate::limits::MAX_DRAWS, 64)?;
        crate::stats::check_level(level)?;
        let p = self.prepare(data)?;
        if self.random_slopes {
            return self.monte_carlo_slopes(&p, draws, seed, level);
        }
        let Fitted { paths, vcovs, .. } =
            Self::fit_paths(&p.paths, &p.data, &p.client, Ddf::Asymptotic)?;
        let mut chol = Vec::with_capacity(paths.len());
        for (path, v) in paths.iter().zip(vcovs) {
            let l = v
                .cholesky()
                .ok_or_else(|| {
                    Error::Numerical(format!(
                        "the covariance of '{}' is not positive definite",
                        path.formula
                    ))
                })?
                .l();
            chol.push((DVector::from_vec(path.estimates.clone()), l));
        }
        let coef_point = |i: usize, name: &str| {
            lookup(&paths[i], name).map_or(f64::NAN, |k| paths[i].estimates[k])
        };
        let estimates = self.effects(p.design, &coef_point);
        let sims: Vec<Vec<f64>> = crate::progress::map(draws, "Monte Carlo", "draws", |i| {
            let mut rng = Rng::stream(seed, i as u64);
            let drawn: Vec<DVector<f64>> = chol
                .iter()
                .map(|(b, l)| b + l * DVector::from_fn(b.len(), |_, _| rng.normal()))
                .collect();
            let coef =
                |i: usize, name: &str| lookup(&paths[i], name).map_or(f64::NAN, |k| drawn[i][k]);
            self.effects(p.design, &coef)
        });
        let names: Vec<String> = Self::effect_names(p.design)
            .iter()
            .map(|s| s.to_string())
            .collect();
        Ok(summarize_monte_carlo(
            &names, &estimates, &sims, draws, seed, level,
        ))
    }
}

/// Effect names of a 1-1-1 design with random slopes.
const SLOPES_NAMES: [&str; 9] = [
    "a_within",
    "a_between",
    "b_within",
    "b_between",
    "c_prime_within",
    "c_prime_between",
    "cov_ab",
    "indirect_within",
    "indirect_between",
];

/// The effects of the stacked model from its coefficients (by column name) and σ_ab.
fn slopes_effects(coef: &dyn Fn(&str) -> f64, cov_ab: f64) -> Vec<f64> {
    let (aw, ab, bw, bb) = (coef("a_w"), coef("a_b"), coef("b_w"), coef("b_b"));
    vec![
        aw,
        ab,
        bw,
        bb,
        coef("cp_w"),
        coef("cp_b"),
        cov_ab,
        aw * bw + cov_ab,
        ab * bb,
    ]
}

impl MultilevelMediation {
    fn check_slopes_design(&self, design: MlDesign) -> Result<()> {
        if design != MlDesign::D111 {
            return Err(Error::Argument {
                name: "random_slopes".into(),
                message: format!(
                    "random a and b slopes need the 1-1-1 design (X, M and Y varying within clients); this is {}",
                    design.name()
                ),
            });
        }
        if self.cluster2.is_some() {
            return Err(Error::Argument {
                name: "random_slopes".into(),
                message: "random a and b slopes are fitted with two levels (sessions in clients); drop the third level".into(),
            });
        }
        Ok(())
    }

    /// Monte Carlo for random slopes: the stacked model's fixed effects drawn jointly from
    /// N(β̂, V̂), σ_ab from N(σ̂_ab, SE²) (delta method), independently.
    fn monte_carlo_slopes(
        &self,
        p: &Prepared,
        draws: usize,
        seed: u64,
        level: f64,
    ) -> Result<MonteCarlo> {
        self.check_slopes_design(p.design)?;
        let s = super::random_slopes::fit(
            &p.data,
            (&self.mediators[0], &self.y, &self.x),
            &self.covariates,
            Ddf::Satterthwaite,
        )?;
        let k = s.beta.len();
        let v = DMatrix::from_fn(k, k, |i, j| s.vcov[i][j]);
        let l = v
            .cholesky()
            .ok_or_else(|| {
                Error::Numerical("the stacked model's covariance is not positive definite".into())
            })?
            .l();
        let b = DVector::from_vec(s.beta.clone());
        let se_ab = s.cov_ab_se.ok_or_else(|| {
            Error::Numerical("no standard error for the slopes' covariance (the Hessian of the variance parameters is not usable)".into())
        })?;
        let sims: Vec<Vec<f64>> = crate::progress::map(draws, "Monte Carlo", "draws", |i| {
            let mut rng = Rng::stream(seed, i as u64);
            let drawn = &b + &l * DVector::from_fn(k, |_, _| rng.normal());
            let cov = s.cov_ab + se_ab * rng.normal();
            let coef = |n: &str| {
                s.names
                    .iter()
                    .position(|m| m == n)
                    .map_or(f64::NAN, |j| drawn[j])
            };
            slopes_effects(&coef, cov)
        });
        let estimates = slopes_effects(&|n| s.coef(n), s.cov_ab);
        let names: Vec<String> = SLOPES_NAMES.iter().map(|n| n.to_string()).collect();
        Ok(summarize_monte_carlo(
            &names, &estimates, &sims, draws, seed, level,
        ))
    }

    fn fit_random_slopes(&self, _data: &Data, p: Prepared) -> Result<MultilevelFit> {
        self.check_slopes_design(p.design)?;
        let s = super::random_slopes::fit(
            &p.data,
            (&self.mediators[0], &self.y, &self.x),
            &self.covariates,
            Ddf::Satterthwaite,
        )?;
        let values = slopes_effects(&|n| s.coef(n), s.cov_ab);
        let ses = [
            s.se("a_w"),
            s.se("a_b"),
            s.se("b_w"),
            s.se("b_b"),
            s.se("cp_w"),
            s.se("cp_b"),
            s.cov_ab_se,
            None,
            None,
        ];
        let effects = SLOPES_NAMES
            .iter()
            .zip(values)
            .zip(ses)
            .map(|((name, estimate), std_error)| Effect {
                name: name.to_string(),
                estimate,
                std_error,
            })
            .collect();
        let mut notes: Vec<String> = s
            .notes
            .iter()
            .map(|n| format!("stacked model: {n}"))
            .collect();
        notes.push(format!(
            "random a and b slopes: one stacked model, residual variance ratio σ²_Y/σ²_M = {:.4}, REML criterion {:.4}",
            s.rho, s.reml
        ));
        Ok(MultilevelFit {
            model: self.clone(),
            design: p.design,
            effects,
            paths: vec![PathFit {
                formula: "stacked M and Y with (0 + dm + dm:X_within + dy + dy:M_within | client)"
                    .into(),
                client_level: false,
                terms: s.names.clone(),
                estimates: s.beta.clone(),
                std_errors: (0..s.beta.len()).map(|i| s.vcov[i][i].sqrt()).collect(),
            }],
            nobs: p.data.nrows(),
            n_clusters: p.n_clients,
            n_clusters2: None,
            missing: p.missing,
            notes,
            stacked: Some((s.rho, s.reml)),
        })
    }
}

/// Whether `v` is constant within every client (a level-2 variable).
fn is_level2(d: &Data, v: &str, client: &[usize], n_clients: usize) -> Result<bool> {
    let x = d.numeric(v)?;
    let mut first: Vec<Option<f64>> = vec![None; n_clients];
    for (r, &c) in client.iter().enumerate() {
        let val = x.values()[r];
        match first[c] {
            None => first[c] = Some(val),
            Some(f) if f != val => return Ok(false),
            _ => {}
        }
    }
    Ok(true)
}

/// One row per client (each client's first, in row order), if any path is client-level.
fn client_rows_data(paths: &[PathSpec], d: &Data, client: &[usize]) -> Result<Option<Data>> {
    if !paths.iter().any(|p| p.client_level) {
        return Ok(None);
    }
    let mut first = HashMap::new();
    for (r, &c) in client.iter().enumerate() {
        first.entry(c).or_insert(r);
    }
    let mut rows: Vec<usize> = first.into_values().collect();
    rows.sort_unstable();
    d.select_rows(&rows).map(Some)
}

fn lookup(path: &PathFit, name: &str) -> Option<usize> {
    path.terms.iter().position(|t| t == name)
}

/// Within part (value − client mean) and between part (client mean − grand mean of the rows).
fn within_between(
    x: &NumericColumn,
    client: &[usize],
    n_clients: usize,
) -> (NumericColumn, NumericColumn) {
    let mut sum = vec![0.0; n_clients];
    let mut cnt = vec![0usize; n_clients];
    for (v, &c) in x.iter().zip(client) {
        if let Some(v) = v {
            sum[c] += v;
            cnt[c] += 1;
        }
    }
    let vals: Vec<f64> = x.iter().flatten().collect();
    let grand = vals.iter().sum::<f64>() / vals.len().max(1) as f64;
    let mean: Vec<f64> = sum
        .iter()
        .zip(&cnt)
        .map(|(s, &n)| s / n.max(1) as f64)
        .collect();
    let within = x
        .iter()
        .zip(client)
        .map(|(v, &c)| v.map(|v| v - mean[c]))
        .collect();
    let between = x
        .iter()
        .zip(client)
        .map(|(v, &c)| v.map(|_| mean[c] - grand))
        .collect();
    (within, between)
}

impl std::fmt::Display for MultilevelFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = &self.model;
        writeln!(
            f,
            "Multilevel mediation {} → {} → {} (design {}; {} sessions in {} clients{})",
            m.x,
            m.mediators.join(" → "),
            m.y,
            self.design.name(),
            self.nobs,
            self.n_clusters,
            self.n_clusters2
                .map(|n| format!(" in {n} therapists"))
                .unwrap_or_default()
        )?;
        if self.missing.n_dropped() > 0 {
            writeln!(
                f,
                "{} rows dropped for missing values",
                self.missing.n_dropped()
            )?;
        }
        for e in &self.effects {
            match e.std_error {
                Some(se) => writeln!(f, "  {:<24} {:>12.6}  (SE {:.6})", e.name, e.estimate, se)?,
                None => writeln!(f, "  {:<24} {:>12.6}", e.name, e.estimate)?,
            }
        }
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        Ok(())
    }
}
