//! Mediation: X → M → Y and the serial chain X → M1 → M2 → Y, with covariates, as OLS paths
//! (Hayes' models 4 and 6) or as mixed models with a random intercept per cluster.
//!
//! Paths: a (X → M), b (M → Y | X), c′ (X → Y | M), c (X → Y); for the serial chain a₁, a₂, d₂₁
//! (M1 → M2), b₁, b₂. Indirect effects are products of paths (a·b; a₁b₁, a₂b₂, a₁d₂₁b₂). With OLS
//! on the same rows, c = c′ + Σ indirect holds exactly. Intervals: percentile and BCa bootstrap
//! (Efron 1987) with case or cluster resampling, and Monte Carlo (Preacher & Selig 2012).
//!
//! For sessions in clients, [`MultilevelMediation`] splits level-1 variables into their within-
//! and between-client parts (designs 2-1-1, 1-1-1, 2-2-1, 2-1-2 and the serial 2-1-1-2).
//! [`Mediation`] refuses the blended case (a cluster-constant X with a mediator that varies
//! within clusters) unless asked for with [`Mediation::blended`].

mod bootstrap;
mod effects;
mod multilevel;
mod random_slopes;

pub(crate) use bootstrap::summarize_draws;
pub use bootstrap::{BootEffect, Bootstrap, BootstrapOptions, McEffect, MonteCarlo, Resampling};
pub use effects::{EffectId, EffectKey, Part, Path};
pub use multilevel::{MlDesign, MultilevelFit, MultilevelMediation, PathFit};

use crate::controls::q;
use crate::data::{Column, Data, Factor};
use crate::error::{Error, Result};
use crate::formula::Missingness;
use crate::formula::design::complete_rows;
use crate::lmm::{Criterion, Ddf, FitOptions, LmmSpec};
use crate::regression::Ols;

/// A mediation model to estimate.
///
/// # Examples
/// ```
/// use securebase::Data;
/// use securebase::mediation::Mediation;
/// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mtcars.csv"))?;
/// let fit = Mediation::new("hp", &["wt"], "mpg").covariates(&["cyl"]).fit(&data)?;
/// let (c, c_prime, ab) = (fit.effect("c").unwrap(), fit.effect("c_prime").unwrap(), fit.effect("indirect").unwrap());
/// assert!((c - (c_prime + ab)).abs() < 1e-12); // exact for OLS
/// # Ok::<(), securebase::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Mediation {
    x: String,
    mediators: Vec<String>,
    y: String,
    covariates: Vec<String>,
    cluster: Option<String>,
    multilevel: bool,
    blended: bool,
    #[cfg_attr(feature = "serde", serde(default))]
    binary_outcome: bool,
}

/// One estimated effect.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Effect {
    /// Name (`a`, `b`, `c_prime`, `c`, `indirect`; serial: `a1`, `a2`, `d21`, `b1`, `b2`,
    /// `ind1`, `ind2`, `ind12`, `total_indirect`).
    pub name: String,
    /// Point estimate.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub estimate: f64,
    /// Model-based standard error, for single paths.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub std_error: Option<f64>,
}

/// Point estimates of a mediation model.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct MediationFit {
    /// The model.
    pub model: Mediation,
    /// Effects in a fixed order (see [`Effect::name`]).
    pub effects: Vec<Effect>,
    /// Rows used (complete on every variable).
    pub n: usize,
    /// Rows dropped for missing values.
    pub missing: Missingness,
    /// Warnings about the model (e.g. a blended within/between b path allowed with
    /// [`Mediation::blended`]).
    pub warnings: Vec<String>,
}

impl MediationFit {
    /// The estimate of the effect called `name`.
    ///
    /// # Errors
    /// [`Error::Argument`] if the model has no such effect (naming its effects and the closest).
    pub fn effect<K: EffectKey>(&self, key: K) -> Result<f64> {
        effects::find(&self.effects, key, |e| &e.name).map(|e| e.estimate)
    }
}

/// Every variable of a mediation: in one role only, numeric, and not all missing.
pub(crate) fn check_roles(data: &Data, vars: &[String]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for v in vars {
        if !seen.insert(v) {
            return Err(Error::Argument {
                name: "variables".into(),
                message: format!("'{v}' has more than one role"),
            });
        }
        let col = data
            .numeric(v)
            .map_err(|e| e.in_context("mediation variables must be numeric"))?;
        if col.n_missing() == col.len() {
            return Err(Error::Model(format!("'{v}' has no non-missing values")));
        }
    }
    Ok(())
}

/// Effect names for one or two (serial) mediators.
pub(crate) fn effect_names(serial: bool) -> Vec<&'static str> {
    if serial {
        vec![
            "a1",
            "a2",
            "d21",
            "b1",
            "b2",
            "c_prime",
            "c",
            "ind1",
            "ind2",
            "ind12",
            "total_indirect",
        ]
    } else {
        vec!["a", "b", "c_prime", "c", "indirect"]
    }
}

/// Coefficients of each path regression → all effects, in [`effect_names`] order.
/// `m1`: a (X coefficient); `m2`: (X, M1); `y`: (X, M1[, M2]); `total`: X.
pub(crate) fn effects_from(
    serial: bool,
    m1_x: f64,
    m2: (f64, f64),
    y: &[f64],
    total_x: f64,
) -> Vec<f64> {
    if serial {
        let (a1, (a2, d21)) = (m1_x, m2);
        let (cp, b1, b2) = (y[0], y[1], y[2]);
        let (i1, i2, i12) = (a1 * b1, a2 * b2, a1 * d21 * b2);
        vec![a1, a2, d21, b1, b2, cp, total_x, i1, i2, i12, i1 + i2 + i12]
    } else {
        let (a, cp, b) = (m1_x, y[0], y[1]);
        vec![a, b, cp, total_x, a * b]
    }
}

impl Mediation {
    /// X → mediators → Y. One mediator, or two in a serial chain (M1 → M2).
    pub fn new(x: &str, mediators: &[impl AsRef<str>], y: &str) -> Mediation {
        Mediation {
            x: x.into(),
            mediators: crate::data::owned_names(mediators),
            y: y.into(),
            covariates: Vec::new(),
            cluster: None,
            multilevel: false,
            blended: false,
            binary_outcome: false,
        }
    }

    /// Allow the blended case: X constant within clusters while a mediator varies within
    /// them, where this single-level decomposition mixes the within- and between-cluster b
    /// paths into one coefficient (the indirect effect can then have the wrong sign). Refused
    /// by default; allowed, the fit carries a warning. Use
    /// [`MultilevelMediation`] for the split.
    pub fn blended(mut self, allow: bool) -> Mediation {
        self.blended = allow;
        self
    }

    /// Covariates entered in every path.
    pub fn covariates(mut self, covariates: &[impl AsRef<str>]) -> Mediation {
        self.covariates = crate::data::owned_names(covariates);
        self
    }

    /// The clustering variable (therapist): used by cluster resampling and by the multilevel
    /// variant.
    pub fn cluster(mut self, cluster: &str) -> Mediation {
        self.cluster = Some(cluster.into());
        self
    }

    /// Fit every path as a mixed model with a random intercept per cluster (REML).
    pub fn multilevel(mut self, yes: bool) -> Mediation {
        self.multilevel = yes;
        self
    }

    /// Y is binary (a numeric 0/1 column): the paths to Y (b, c′) and the total
    /// effect c are logistic regressions, as PROCESS does with a dichotomous outcome. Then b,
    /// c′, c and the indirect effects a·b are in the log-odds metric of Y (a stays in M's
    /// units), and c ≠ c′ + a·b in general (the logistic scale changes with the predictors in
    /// the model), so c is reported but not decomposed. Single-level only (with
    /// [`Mediation::multilevel`] the fit is an error); bootstrap replicates refit each path,
    /// and a replicate with complete separation counts as failed.
    ///
    /// ```
    /// use securebase::Data;
    /// use securebase::mediation::{Mediation, Path};
    /// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mediation_binary/data.csv"))?;
    /// let fit = Mediation::new("x", &["m"], "y").binary_outcome(true).fit(&data)?;
    /// let (a, b) = (fit.effect(Path::A)?, fit.effect(Path::B)?);
    /// assert!((fit.effect(Path::Indirect)? - a * b).abs() < 1e-15);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    pub fn binary_outcome(mut self, yes: bool) -> Mediation {
        self.binary_outcome = yes;
        self
    }

    pub(crate) fn is_serial(&self) -> bool {
        self.mediators.len() == 2
    }

    fn variables(&self) -> Vec<String> {
        let mut v = vec![self.x.clone()];
        v.extend(self.mediators.iter().cloned());
        v.extend(self.covariates.iter().cloned());
        v.push(self.y.clone());
        v
    }

    /// Check the specification and find the complete rows.
    pub(crate) fn prepare(&self, data: &Data) -> Result<(Vec<usize>, Missingness)> {
        if self.mediators.is_empty() || self.mediators.len() > 2 {
            return Err(Error::Argument {
                name: "mediators".into(),
                message: format!(
                    "give one mediator or two (a serial chain), not {}",
                    self.mediators.len()
                ),
            });
        }
        if self.multilevel && self.binary_outcome {
            return Err(Error::Argument {
                name: "binary_outcome".into(),
                message: "a binary outcome is fitted by single-level logistic paths; a multilevel mediation with a binary outcome is not available".into(),
            });
        }
        if self.multilevel && self.cluster.is_none() {
            return Err(Error::Argument {
                name: "cluster".into(),
                message: "the multilevel variant needs a cluster variable".into(),
            });
        }
        let vars = self.variables();
        check_roles(data, &vars)?;
        let mut need = vars.clone();
        if let Some(c) = &self.cluster {
            data.column(c)?;
            need.push(c.clone());
        }
        let (rows, dropped) = complete_rows(data, &need)?;
        self.nested_check(data, &rows)?;
        if rows.len() < vars.len() + 2 {
            return Err(Error::Model(format!(
                "{} complete rows are too few for this mediation model",
                rows.len()
            )));
        }
        let missing = Missingness {
            n_input: data.nrows(),
            n_used: rows.len(),
            dropped_rows: dropped,
            unit: None,
            notes: vec![],
        };
        Ok((rows, missing))
    }

    /// With declared levels, single-level paths over rows nested in clients (no cluster, no
    /// blended estimate asked for) are refused: they treat a client's sessions as independent
    /// observations, so the SEs and intervals are too narrow.
    fn nested_check(&self, data: &Data, rows: &[usize]) -> Result<()> {
        let Some(l) = data.levels() else {
            return Ok(());
        };
        if self.cluster.is_some() || self.blended || self.multilevel || l.ids().is_empty() {
            return Ok(());
        }
        let g = data.groups_for(l)?;
        let depth = l.ids().len() - 1;
        let (of_row, _) = &g.of_row[depth];
        let mut units: Vec<u32> = rows.iter().map(|&r| of_row[r]).collect();
        units.sort_unstable();
        units.dedup();
        if units.len() == rows.len() {
            return Ok(());
        }
        let inner = &l.ids()[depth];
        let mut all_above = true;
        for v in self.variables() {
            all_above &= data.level_with(l, &g, &v)?.depth <= depth;
        }
        let way = if all_above {
            format!(
                "; every variable is {inner}-level, so one row per {inner} (Data::one_row_per) is the single-level analysis"
            )
        } else {
            String::new()
        };
        Err(Error::Level {
            kind: crate::error::LevelProblem::NestedRows,
            names: vec![inner.clone()],
            message: format!(
                "the {} complete rows are nested in {} {inner} units and single-level mediation would treat them as independent (SEs and intervals too narrow): name the cluster (Mediation::cluster, with cluster resampling), use the within/between design (MultilevelMediation), or ask for the blended estimate (Mediation::blended){way}",
                rows.len(),
                units.len()
            ),
        })
    }

    /// The blended case (see [`Mediation::blended`]): an error naming the mediator unless
    /// allowed, else the warnings to carry.
    fn blended_check(&self, data: &Data, rows: &[usize]) -> Result<Vec<String>> {
        let Some(cluster) = &self.cluster else {
            return Ok(Vec::new());
        };
        let codes = match data.column(cluster)? {
            Column::Categorical(f) => f
                .codes()
                .iter()
                .map(|c| c.map(u64::from))
                .collect::<Vec<_>>(),
            Column::Numeric(v) => v.iter().map(|x| x.map(f64::to_bits)).collect(),
        };
        let constant_within = |v: &str| -> Result<bool> {
            let x = data.numeric(v)?;
            let mut first: std::collections::HashMap<u64, f64> = std::collections::HashMap::new();
            for &r in rows {
                let (Some(c), Some(val)) = (codes[r], x.get(r)) else {
                    continue;
                };
                if *first.entry(c).or_insert(val) != val {
                    return Ok(false);
                }
            }
            Ok(true)
        };
        if !constant_within(&self.x)? {
            return Ok(Vec::new());
        }
        let mut warnings = Vec::new();
        for m in &self.mediators {
            if !constant_within(m)? {
                let text = format!(
                    "'{m}' varies within '{cluster}' while '{}' is constant within it: this single-level decomposition blends the within- and between-{cluster} effects of '{m}' into one b path, and the indirect effect can have the wrong sign; use MultilevelMediation for the within/between split",
                    self.x
                );
                if !self.blended {
                    return Err(Error::Level {
                        kind: crate::error::LevelProblem::Blended,
                        names: vec![m.clone(), self.x.clone(), cluster.clone()],
                        message: format!(
                            "{text} (or allow the blended estimate with Mediation::blended(true))"
                        ),
                    });
                }
                warnings.push(text);
            }
        }
        Ok(warnings)
    }

    fn formula(&self, target: &str, predictors: &[&String]) -> String {
        let mut rhs: Vec<String> = predictors.iter().map(|p| q(p)).collect();
        rhs.extend(self.covariates.iter().map(|c| q(c)));
        let mut f = format!("{} ~ {}", q(target), rhs.join(" + "));
        if self.multilevel {
            f.push_str(&format!(
                " + (1 | {})",
                q(self.cluster.as_deref().unwrap_or_default())
            ));
        }
        f
    }

    /// The path formulas: (M1, M2 if serial, Y, total).
    pub(crate) fn formulas(&self) -> Vec<String> {
        let x = &self.x;
        let mut out = vec![self.formula(&self.mediators[0], &[x])];
        if self.is_serial() {
            out.push(self.formula(&self.mediators[1], &[x, &self.mediators[0]]));
        }
        let mut ypred = vec![x];
        ypred.extend(self.mediators.iter());
        out.push(self.formula(&self.y, &ypred));
        out.push(self.formula(&self.y, &[x]));
        out
    }

    /// Point estimates (and SEs of single paths) on complete rows of `data`.
    ///
    /// # Errors
    /// Unknown or non-numeric columns, a variable with every value missing, a variable in two
    /// roles, too few rows, and the errors of the path fits.
    ///
    /// ```
    /// use securebase::mediation::{Mediation, Path};
    /// use securebase::Data;
    /// let mtcars = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mtcars.csv"))?;
    /// let fit = Mediation::new("hp", &["wt"], "mpg").covariates(&["cyl"]).fit(&mtcars)?;
    /// // R's lm paths: b = -3.166973, indirect a·b = -0.001083594.
    /// assert!((fit.effect(Path::B)? + 3.166973).abs() < 1e-6);
    /// assert!((fit.effect(Path::Indirect)? + 0.001083594).abs() < 1e-9);
    /// assert!(fit.effect("indrect").is_err()); // a typo is an error, not a silent None
    /// # Ok::<(), securebase::Error>(())
    /// ```
    pub fn fit(&self, data: &Data) -> Result<MediationFit> {
        let (rows, missing) = self.prepare(data)?;
        let warnings = self.blended_check(data, &rows)?;
        let sub = data.select_rows(&rows)?;
        let (values, ses) = self.fit_paths(&sub, Ddf::Satterthwaite)?;
        let names = effect_names(self.is_serial());
        let effects = names
            .iter()
            .zip(values)
            .zip(ses)
            .map(|((n, v), se)| Effect {
                name: n.to_string(),
                estimate: v,
                std_error: se,
            })
            .collect();
        Ok(MediationFit {
            model: self.clone(),
            effects,
            n: rows.len(),
            missing,
            warnings,
        })
    }

    /// Fit the path models on complete data; effects and SEs of single paths.
    pub(crate) fn fit_paths(&self, data: &Data, ddf: Ddf) -> Result<(Vec<f64>, Vec<Option<f64>>)> {
        let formulas = self.formulas();
        let mut coefs: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
        let to_y = formulas.len() - 2;
        for (k, f) in formulas.iter().enumerate() {
            if self.binary_outcome && k >= to_y {
                let fit = crate::glm::Glm::fit(data, f, crate::glm::Family::binomial())?;
                coefs.push((
                    fit.coefficients.iter().map(|c| c.estimate).collect(),
                    fit.coefficients.iter().map(|c| c.std_error).collect(),
                ));
            } else if self.multilevel {
                let options = FitOptions::with_ddf(ddf);
                let fit = LmmSpec::new(data, f)?.fit_with(Criterion::Reml, &options)?;
                coefs.push((
                    fit.beta(),
                    fit.coefficients().iter().map(|c| c.std_error).collect(),
                ));
            } else {
                let fit = Ols::fit(data, f)?;
                coefs.push((
                    fit.beta(),
                    fit.coefficients().iter().map(|c| c.std_error).collect(),
                ));
            }
        }
        // Coefficient 0 is the intercept; X is 1, then the mediators in order.
        let serial = self.is_serial();
        let (m1, rest) = (&coefs[0], &coefs[1..]);
        let (m2, y, total) = if serial {
            (Some(&rest[0]), &rest[1], &rest[2])
        } else {
            (None, &rest[0], &rest[1])
        };
        let ny = if serial { 3 } else { 2 };
        let values = effects_from(
            serial,
            m1.0[1],
            m2.map_or((0.0, 0.0), |m| (m.0[1], m.0[2])),
            &y.0[1..=ny],
            total.0[1],
        );
        let ses = if serial {
            let m2 = m2.expect("serial");
            vec![
                Some(m1.1[1]),
                Some(m2.1[1]),
                Some(m2.1[2]),
                Some(y.1[2]),
                Some(y.1[3]),
                Some(y.1[1]),
                Some(total.1[1]),
                None,
                None,
                None,
                None,
            ]
        } else {
            vec![
                Some(m1.1[1]),
                Some(y.1[2]),
                Some(y.1[1]),
                Some(total.1[1]),
                None,
            ]
        };
        Ok((values, ses))
    }

    /// The cluster codes of complete rows (for cluster resampling).
    pub(crate) fn cluster_codes(&self, sub: &Data) -> Result<Option<(Vec<u32>, usize)>> {
        let Some(c) = &self.cluster else {
            return Ok(None);
        };
        let f = match sub.column(c)? {
            Column::Categorical(f) => f.clone(),
            Column::Numeric(v) => Factor::from_numbers(v),
        };
        Ok(Some((
            f.codes().iter().map(|c| c.unwrap_or(0)).collect(),
            f.levels().len(),
        )))
    }
}

impl std::fmt::Display for MediationFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = &self.model;
        writeln!(
            f,
            "Mediation {} → {} → {}{}{} (n = {}, {} dropped)",
            m.x,
            m.mediators.join(" → "),
            m.y,
            if m.covariates.is_empty() {
                String::new()
            } else {
                format!(", covariates: {}", m.covariates.join(", "))
            },
            if m.multilevel {
                format!(
                    ", random intercept per {}",
                    m.cluster.as_deref().unwrap_or("")
                )
            } else {
                String::new()
            },
            self.n,
            self.missing.n_dropped()
        )?;
        if m.binary_outcome {
            writeln!(
                f,
                "  {} is binary (logistic paths): b, c_prime, c and the indirect effects are in log-odds of {}; a is in {}'s units; c is not c_prime + indirect",
                m.y,
                m.y,
                m.mediators.join("/")
            )?;
        }
        for e in &self.effects {
            match e.std_error {
                Some(se) => writeln!(f, "  {:<16} {:>12.6}  (SE {:.6})", e.name, e.estimate, se)?,
                None => writeln!(f, "  {:<16} {:>12.6}", e.name, e.estimate)?,
            }
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}
