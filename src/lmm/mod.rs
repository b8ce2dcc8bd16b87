//! Linear mixed models, fitted by REML or ML, as lme4 fits them.
//!
//! The model is y = Xβ + Zb + ε with b ~ N(0, σ² Λ_θ Λ_θ') and ε ~ N(0, σ² I), following
//! Bates, Mächler, Bolker & Walker (2015, *J. Stat. Softw.* 67(1)). The stages have names, as in
//! lme4:
//!
//! 1. [`LmmSpec::new`] parses the formula, drops incomplete rows, builds the fixed and random
//!    designs and makes one pass over the data for the cross-products of `[Z X y]` (`lFormula`).
//! 2. [`LmmSpec::deviance`] is the objective as a function of θ alone (`devFunOnly = TRUE`).
//! 3. [`LmmSpec::fit`] minimizes it with BOBYQA under lme4's bounds and returns an immutable
//!    [`LmmFit`] (`optimizeLmer` + `mkMerMod`).
//!
//! ```
//! use securebase::{Criterion, Data, LmmSpec};
//! // A tiny balanced data set: 4 groups of 3.
//! let y = vec![9.8, 10.4, 10.1, 12.2, 11.9, 12.5, 8.1, 8.4, 7.7, 10.9, 11.6, 11.2];
//! let g: Vec<String> = (0..12).map(|i| format!("g{}", i / 3)).collect();
//! let data = Data::new().with_numeric("y", y)?.with_categorical("g", g)?;
//! let spec = LmmSpec::new(&data, "y ~ 1 + (1 | g)")?;
//! let reml_at_1 = spec.deviance(Criterion::Reml).eval(&[1.0])?;
//! let fit = spec.fit(Criterion::Reml)?;
//! assert!(fit.objective() <= reml_at_1);
//! assert!(fit.icc().group("g").unwrap() > 0.8); // most variance is between groups
//! # Ok::<(), securebase::Error>(())
//! ```

pub(crate) mod anova;
pub(crate) mod bootstrap;
mod display;
mod fit;
mod fitted;
pub mod kenward_roger;
mod kernels;
mod objective;
mod optimum;
mod predict;
mod profile;
mod satterthwaite;
mod simulate;
mod structure;
pub(crate) use structure::{Zmat, build_term};

pub use anova::{Anova, AnovaRow, anova};
pub use bootstrap::{BootInterval, ParametricBootstrap};
pub use fit::{
    Ddf, FitOptions, GroupIcc, Icc, LmmFit, Optimization, Optimizer, RandomEffects, VarCorr,
};
pub use kenward_roger::KenwardRoger;
pub use profile::{Profile, ProfileInterval};

use crate::data::Data;
use crate::error::{Error, Result};
use crate::formula::{Formula, Missingness, SharedFrame};
use crate::linalg::Qr;
use std::sync::Arc;
use structure::Structure;

/// The criterion a mixed model is fitted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Criterion {
    /// Restricted maximum likelihood (lme4's default).
    Reml,
    /// Maximum likelihood (for likelihood-ratio tests of fixed effects).
    Ml,
}

impl Criterion {
    /// "REML" or "ML".
    pub fn name(self) -> &'static str {
        match self {
            Criterion::Reml => "REML",
            Criterion::Ml => "ML",
        }
    }
}

/// A mixed model ready to fit: formula, data checked and coded, cross-products computed.
///
/// ```
/// use securebase::{Criterion, Data, LmmSpec};
/// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sleepstudy.csv"))?;
/// let spec = LmmSpec::new(&data, "Reaction ~ Days + (Days | Subject)")?;
/// assert_eq!((spec.nobs(), spec.groups()), (180, vec![("Subject", 18)]));
/// let fit = spec.fit(Criterion::Reml)?;
/// // lme4 1.1-31 and lmerTest 3.1-3 on the same data:
/// let days = fit.coefficient("Days").unwrap();
/// assert!((days.estimate - 10.467286).abs() < 1e-5 && (days.std_error - 1.545790).abs() < 1e-5);
/// assert!((days.df - 17.0).abs() < 1e-3); // Satterthwaite
/// assert!((fit.objective() - 1743.6283).abs() < 1e-3); // REML criterion
/// # Ok::<(), securebase::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LmmSpec {
    pub(crate) formula: Formula,
    // The n-sized parts are shared, so that a fit can keep its spec (for refits) cheaply.
    pub(crate) structure: Arc<Structure>,
    pub(crate) fixed_names: Vec<String>,
    /// How the fixed effects were coded (to code new values the same way).
    pub(crate) design: Arc<crate::formula::design::Design>,
    pub(crate) missing: Missingness,
    pub(crate) row_ids: crate::data::RowIds,
    /// The fixed-effects model matrix; numeric main effects used whole are the data's own
    /// columns (shared, not copied).
    pub(crate) x: Arc<crate::formula::columns::ModelColumns>,
    /// The response less the offsets.
    pub(crate) y: Arc<nalgebra::DVector<f64>>,
    /// The offsets' sum per row used, if the formula has offsets.
    pub(crate) offset: Option<Arc<nalgebra::DVector<f64>>>,
    /// The data columns the formula reads, every row: what a serialized fit carries to rebuild
    /// its specification.
    #[cfg(feature = "serde")]
    pub(crate) source: Arc<Data>,
}

/// A specification serializes as its formula and the data columns the formula reads, and
/// deserializes by building it again from them.
#[cfg(feature = "serde")]
impl serde::Serialize for LmmSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("LmmSpec", 2)?;
        st.serialize_field("formula", self.formula.text())?;
        st.serialize_field("data", &*self.source)?;
        st.end()
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LmmSpecRepr {
    formula: String,
    data: Data,
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for LmmSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<LmmSpec, D::Error> {
        let r = LmmSpecRepr::deserialize(d)?;
        LmmSpec::new(&r.data, &r.formula).map_err(serde::de::Error::custom)
    }
}

impl LmmSpec {
    /// Parse, check and code `formula` on `data`.
    ///
    /// # Errors
    /// Formula errors; unknown columns (including a random slope on a column that does not
    /// exist); a categorical response; every row dropped by missingness; an aliased fixed
    /// term; a grouping factor with one level or with as many levels as observations; a
    /// formula without random-effect terms (fit that with [`crate::Ols`]).
    pub fn new(data: &Data, formula: &str) -> Result<LmmSpec> {
        Self::from_formula(data, &Formula::parse(formula)?)
    }

    /// [`LmmSpec::new`] for a parsed formula.
    ///
    /// # Errors
    /// As [`LmmSpec::new`].
    pub fn from_formula(data: &Data, formula: &Formula) -> Result<LmmSpec> {
        if !formula.is_mixed() {
            return Err(Error::Model(format!(
                "'{}' has no random-effect terms such as (1 | group); fit it with Ols",
                formula.text()
            )));
        }
        let leveled = crate::data::for_model(data, formula, "mixed model")?;
        let data = &*leveled.data;
        let (mdata, bound) = crate::formula::prepare(formula, data)?;
        #[cfg(feature = "serde")]
        let source = Arc::new(data.select_columns(&formula.columns())?);
        let data = &*mdata;
        let mut frame = SharedFrame::new(formula, data, bound)?;
        frame.missing.unit = leveled.unit.clone();
        frame.missing.notes = leveled.notes.clone();
        if frame.rows.len() <= frame.x.ncols() {
            return Err(Error::Model(format!(
                "{} complete rows cannot estimate {} fixed effects",
                frame.rows.len(),
                frame.x.ncols()
            )));
        }
        let structure = Structure::new(formula, &frame, data)?;
        // Aliasing: the Gram matrix X'X (already in the dense block) settles clear full rank
        // cheaply; anything near the boundary gets R's QR rule on X itself.
        if frame.x.ncols() > 0
            && !structure.x_clearly_full_rank()
            && let Err(j) = Qr::new(&frame.x.to_dense())
        {
            return Err(Error::Term {
                    term: frame.design.column_names()[j].clone(),
                    message: "aliased: this column is a linear combination of earlier columns (rank-deficient fixed effects)".into(),
                });
        }
        Ok(LmmSpec {
            formula: formula.clone(),
            fixed_names: frame.design.column_names().to_vec(),
            design: Arc::new(frame.design.clone()),
            // Every row used (complete rows keep their order): the data's origins, shared.
            row_ids: if frame.rows.len() == data.nrows() {
                data.shared_row_ids().clone()
            } else {
                data.shared_row_ids().select(&frame.rows)
            },
            missing: frame.missing,
            x: Arc::new(frame.x),
            y: Arc::new(frame.y),
            offset: frame.offset.map(Arc::new),
            structure: Arc::new(structure),
            #[cfg(feature = "serde")]
            source,
        })
    }

    /// The objective as a function of θ (lme4's `devFunOnly = TRUE`).
    pub fn deviance(&self, criterion: Criterion) -> Deviance<'_> {
        Deviance {
            spec: self,
            criterion,
        }
    }

    /// Number of observations used.
    pub fn nobs(&self) -> usize {
        self.structure.n
    }

    /// Rows dropped for missing values.
    pub fn missing(&self) -> &Missingness {
        &self.missing
    }

    /// Fixed-effect column names.
    pub fn fixed_names(&self) -> &[String] {
        &self.fixed_names
    }

    /// Grouping factors in θ order (lme4's: by decreasing number of levels), with their levels.
    pub fn groups(&self) -> Vec<(&str, usize)> {
        self.structure
            .terms
            .iter()
            .map(|t| (t.group.as_str(), t.nlevels()))
            .collect()
    }
}

/// The REML criterion or ML deviance as a function of θ, for a fixed [`LmmSpec`].
///
/// θ holds, for each random-effect term in lme4's order, the lower triangle of its relative
/// covariance factor column by column (for `(Days | Subject)`: T₁₁, T₂₁, T₂₂).
#[derive(Debug, Clone, Copy)]
pub struct Deviance<'a> {
    spec: &'a LmmSpec,
    criterion: Criterion,
}

impl Deviance<'_> {
    /// Evaluate at θ.
    ///
    /// # Errors
    /// [`Error::Argument`] for a θ of the wrong length, non-finite, or below its lower bound.
    pub fn eval(&self, theta: &[f64]) -> Result<f64> {
        let s = &self.spec.structure;
        if theta.len() != s.ntheta() {
            return Err(Error::Argument {
                name: "theta".into(),
                message: format!("has {} values; this model has {}", theta.len(), s.ntheta()),
            });
        }
        for (i, (&t, &lb)) in theta.iter().zip(&s.lower_bounds()).enumerate() {
            if !t.is_finite() || t < lb {
                return Err(Error::Argument {
                    name: "theta".into(),
                    message: format!(
                        "theta[{i}] = {t} is not finite or is below its lower bound {lb}"
                    ),
                });
            }
        }
        Ok(s.objective(theta, self.criterion))
    }

    /// Number of θ values.
    pub fn ntheta(&self) -> usize {
        self.spec.structure.ntheta()
    }

    /// lme4's lower bounds on θ (0 on diagonals of the factors, −∞ elsewhere).
    pub fn lower_bounds(&self) -> Vec<f64> {
        self.spec.structure.lower_bounds()
    }

    /// lme4's starting value of θ.
    pub fn initial_theta(&self) -> Vec<f64> {
        self.spec.structure.initial_theta()
    }

    /// The criterion evaluated.
    pub fn criterion(&self) -> Criterion {
        self.criterion
    }
}

#[cfg(test)]
mod tests {
    use crate::{Data, LmmSpec};

    /// A spec reads a numeric main effect used on every row from the data's own column (no
    /// copy), and copies it when rows are dropped.
    #[test]
    fn whole_numeric_columns_are_shared_not_copied() {
        let n = 60;
        let x: Vec<f64> = (0..n).map(|i| ((i * 37) % 11) as f64 / 3.0).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| 0.5 * x[i] + ((i * 13) % 7) as f64 + (i % 6) as f64)
            .collect();
        let g: Vec<String> = (0..n).map(|i| format!("g{}", i % 6)).collect();
        let d = Data::new()
            .with_numeric("y", y.clone())
            .unwrap()
            .with_numeric("x", x.clone())
            .unwrap()
            .with_categorical("g", g.clone())
            .unwrap();
        let spec = LmmSpec::new(&d, "y ~ x + (1 | g)").unwrap();
        let data_x = d.numeric("x").unwrap().values();
        assert_eq!(spec.x.col(1).as_ptr(), data_x.as_ptr(), "x is shared");
        assert_eq!(spec.x.col(0), vec![1.0; n].as_slice());
        // One missing response: the rows used are a subset, so x is gathered.
        let mut y_na: Vec<Option<f64>> = y.iter().map(|&v| Some(v)).collect();
        y_na[7] = None;
        let d_na = Data::new()
            .with_numeric_opt("y", y_na)
            .unwrap()
            .with_numeric("x", x.clone())
            .unwrap()
            .with_categorical("g", g)
            .unwrap();
        let sub = LmmSpec::new(&d_na, "y ~ x + (1 | g)").unwrap();
        let want: Vec<f64> = (0..n).filter(|&i| i != 7).map(|i| x[i]).collect();
        assert_eq!(sub.x.col(1), want.as_slice());
        assert_ne!(
            sub.x.col(1).as_ptr(),
            d_na.numeric("x").unwrap().values().as_ptr()
        );
        // A transformed column is computed, and equals the dense model matrix's column.
        let logx = LmmSpec::new(&d, "y ~ log(x + 1) + (1 | g)").unwrap();
        let dense = logx.design.matrix(&d, &(0..n).collect::<Vec<_>>()).unwrap();
        assert_eq!(logx.x.to_dense(), dense);
        // (The lme4 reference fits, sleepstudy's `Days` among them, run through shared columns.)
    }
}
