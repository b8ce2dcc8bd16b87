//! Fitting: BOBYQA over θ, then everything a summary reports, computed once at θ̂.

use super::objective::Factorization;
use super::satterthwaite;
use super::structure::Structure;
use super::{Criterion, LmmSpec};
#[cfg(feature = "serde")]
use crate::Data;
use crate::error::{Error, Result};
use crate::formula::Missingness;
use crate::stats::Coefficient;
use nalgebra::{DMatrix, DVector};

/// How the optimization went: the optimizer, its end, and the check of the optimum.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Optimization {
    /// The optimizer ("Brent" for one θ, "BFGS" for one vector-valued term, "BOBYQA"
    /// otherwise; see [`Optimizer`]).
    pub optimizer: String,
    /// Objective evaluations used, restarts included.
    pub evaluations: usize,
    /// Whether the optimizer reached its final trust radius (converged) on the kept run.
    pub converged: bool,
    /// The optimizer's termination message for the kept run.
    pub message: String,
    /// Restarts from other starts after the first optimum failed its check or lay on the
    /// boundary (models with vector-valued random effects only).
    pub restarts: usize,
    /// At the kept optimum, the largest gradient component scaled by the Hessian's Cholesky
    /// factor (lme4's convergence measure), over the parameters not at their bound; `None` when
    /// not checked or when the Hessian is not positive definite.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub max_scaled_gradient: Option<f64>,
    /// At the kept optimum, the largest absolute gradient component (same parameters).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub max_gradient: Option<f64>,
    /// What the check of the optimum found and did, in words (also among the fit's
    /// diagnostics).
    pub checks: Vec<String>,
}

impl Optimization {
    /// A record for a fit at a θ found elsewhere (e.g. by [`LmmSpec::fit_at`] callers).
    pub fn external(message: &str) -> Optimization {
        Optimization {
            optimizer: "none".into(),
            evaluations: 0,
            converged: true,
            message: message.to_string(),
            restarts: 0,
            max_scaled_gradient: None,
            max_gradient: None,
            checks: Vec::new(),
        }
    }
}

/// Variance components of one grouping factor: σ² T Tᵀ as variances, SDs and correlations.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct VarCorr {
    /// Grouping factor (`Subject`, `cask:batch`).
    pub group: String,
    /// Effect names (`(Intercept)`, `Days`).
    pub effects: Vec<String>,
    /// Variances of the effects.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub variance: Vec<f64>,
    /// Standard deviations.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub sd: Vec<f64>,
    /// Correlation matrix (rows).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub correlation: Vec<Vec<f64>>,
    /// Covariance matrix (rows).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub covariance: Vec<Vec<f64>>,
}

/// Conditional modes (BLUPs) of one random-effect term with their conditional variances, as
/// lme4's `ranef(fit, condVar = TRUE)` gives them.
///
/// Stored flat, level by level: level `l`'s modes are [`RandomEffects::mode`]`(l)` (one value
/// per effect), its conditional covariance matrix [`RandomEffects::cond_var`]`(l)` (q × q,
/// row-major, symmetric). The level labels are shared with the model, not copied.
///
/// # Examples
///
/// ```
/// use securebase::{Criterion, Data, LmmSpec};
/// let data = Data::new()
///     .with_numeric("y", vec![1.0, 1.4, 2.9, 3.2, 5.1, 4.8, 2.2, 2.0, 3.9])?
///     .with_categorical("g", vec!["a", "a", "a", "b", "b", "b", "c", "c", "c"])?;
/// let fit = LmmSpec::new(&data, "y ~ 1 + (1 | g)")?.fit(Criterion::Reml)?;
/// let re = &fit.ranef()[0];
/// assert_eq!((re.group(), re.q(), re.nlevels()), ("g", 1, 3));
/// let b = re.level("b").unwrap();
/// assert!(re.mode(b)[0] > 0.0 && re.cond_var(b)[0] > 0.0);
/// for (label, mode, var) in re.iter() {
///     println!("{label}: {:.3} (SD {:.3})", mode[0], var[0].sqrt());
/// }
/// # Ok::<(), securebase::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RandomEffectsParts"))]
pub struct RandomEffects {
    group: String,
    effects: Vec<String>,
    levels: std::sync::Arc<Vec<String>>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    modes: Vec<f64>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    cond_var: Vec<f64>,
}

/// A [`RandomEffects`] as serialized, its lengths checked before it becomes one.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RandomEffectsParts {
    group: String,
    effects: Vec<String>,
    levels: Vec<String>,
    #[serde(with = "crate::serde_float")]
    modes: Vec<f64>,
    #[serde(with = "crate::serde_float")]
    cond_var: Vec<f64>,
}

#[cfg(feature = "serde")]
impl TryFrom<RandomEffectsParts> for RandomEffects {
    type Error = Error;
    fn try_from(p: RandomEffectsParts) -> Result<RandomEffects> {
        let (q, nl) = (p.effects.len(), p.levels.len());
        if p.modes.len() != nl * q || p.cond_var.len() != nl * q * q {
            return Err(Error::Argument {
                name: "ranef".into(),
                message: format!(
                    "{} modes and {} conditional variances for {nl} levels × {q} effects (want {} and {})",
                    p.modes.len(),
                    p.cond_var.len(),
                    nl * q,
                    nl * q * q
                ),
            });
        }
        Ok(RandomEffects::new(
            p.group,
            p.effects,
            std::sync::Arc::new(p.levels),
            p.modes,
            p.cond_var,
        ))
    }
}

impl RandomEffects {
    /// From flat level-major modes (levels × q) and conditional covariances (levels × q × q).
    pub(crate) fn new(
        group: String,
        effects: Vec<String>,
        levels: std::sync::Arc<Vec<String>>,
        modes: Vec<f64>,
        cond_var: Vec<f64>,
    ) -> Self {
        let q = effects.len();
        debug_assert_eq!(modes.len(), levels.len() * q);
        debug_assert_eq!(cond_var.len(), levels.len() * q * q);
        RandomEffects {
            group,
            effects,
            levels,
            modes,
            cond_var,
        }
    }

    /// The grouping factor (`Subject`, `cask:batch`).
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The effect names (`(Intercept)`, `Days`).
    pub fn effects(&self) -> &[String] {
        &self.effects
    }

    /// Number of effects, q.
    pub fn q(&self) -> usize {
        self.effects.len()
    }

    /// The level labels, in the order of the modes.
    pub fn levels(&self) -> &[String] {
        &self.levels
    }

    /// Number of levels.
    pub fn nlevels(&self) -> usize {
        self.levels.len()
    }

    /// The position of the level labelled `label`.
    pub fn level(&self, label: &str) -> Option<usize> {
        self.levels.iter().position(|l| l == label)
    }

    /// The conditional modes of level `l`, one per effect.
    ///
    /// # Panics
    /// If `l` is not below [`RandomEffects::nlevels`].
    pub fn mode(&self, l: usize) -> &[f64] {
        let q = self.q();
        &self.modes[l * q..(l + 1) * q]
    }

    /// All modes, level by level (levels × q values).
    pub fn modes(&self) -> &[f64] {
        &self.modes
    }

    /// The conditional covariance matrix of level `l`'s modes (q × q, row-major):
    /// σ² Λ (L_Z L_Zᵀ)⁻¹ Λᵀ for a linear model, Λ H⁻¹ Λᵀ for a generalized one.
    ///
    /// # Panics
    /// If `l` is not below [`RandomEffects::nlevels`].
    pub fn cond_var(&self, l: usize) -> &[f64] {
        let qq = self.q() * self.q();
        &self.cond_var[l * qq..(l + 1) * qq]
    }

    /// All conditional covariance matrices, level by level (levels × q × q values).
    pub fn cond_vars(&self) -> &[f64] {
        &self.cond_var
    }

    /// Each level's label, modes and conditional covariance matrix.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &[f64], &[f64])> + '_ {
        (0..self.nlevels()).map(|l| (self.levels[l].as_str(), self.mode(l), self.cond_var(l)))
    }
}

/// Intraclass correlations of a mixed model (Nakagawa, Johnson & Schielzeth 2017), as R's
/// `performance::icc` computes them. σ²_random is the variance of the random effects at the
/// data's values (for a random slope, zᵢ'Σzᵢ averaged over the rows, Johnson 2014, as the R²
/// uses), σ²_fixed the variance of the fixed part Xβ̂, σ² the residual variance.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Icc {
    /// σ²_random / (σ²_random + σ²): the share of the variance not explained by the fixed
    /// effects that lies between groups.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub adjusted: f64,
    /// σ²_random / (σ²_fixed + σ²_random + σ²): the same share of all variance.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub conditional: f64,
    /// Per grouping factor with a random intercept: its intercept variance over
    /// (σ²_random + σ²), so that in a three-level model the therapist and client shares each have
    /// every variance component in the denominator (with random slopes the intercept variance is
    /// at 0 of the slope variable, as `performance::icc(by_group = TRUE)` takes it).
    pub by_group: Vec<GroupIcc>,
}

/// One grouping factor's ICC; see [`Icc::by_group`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct GroupIcc {
    /// The grouping factor, as lme4 names it.
    pub group: String,
    /// Its intercept variance over all random variance plus the residual variance.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub icc: f64,
}

impl Icc {
    /// The ICC of grouping factor `group`.
    pub fn group(&self, group: &str) -> Option<f64> {
        self.by_group
            .iter()
            .find(|g| g.group == group)
            .map(|g| g.icc)
    }
}

/// A fitted linear mixed model. Immutable; see [`LmmSpec::fit`].
///
/// ```
/// use securebase::{Criterion, Data, LmmSpec};
/// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sleepstudy.csv"))?;
/// let fit = LmmSpec::new(&data, "Reaction ~ Days + (Days | Subject)")?.fit(Criterion::Reml)?;
/// assert!((fit.sigma() - 25.59180).abs() < 1e-4); // lme4's sigma()
/// assert!(fit.converged() && !fit.is_singular());
/// let subject = &fit.varcorr()[0]; // VarCorr(): SDs and the correlation
/// println!("{subject:?}");
/// // A contrast with Satterthwaite df: the expected reaction time on day 5.
/// let day5 = fit.contrast(&[1.0, 5.0])?;
/// assert!((day5.estimate - (251.405105 + 5.0 * 10.467286)).abs() < 1e-4);
/// let ci = fit.confint_wald(0.95)?;
/// assert_eq!(ci[1].0, "Days");
/// assert_eq!(fit.missing().dropped_rows.len(), 0);
/// println!("{fit}"); // prints like summary(lmer)
/// # Ok::<(), securebase::Error>(())
/// ```
///
/// With the `serde` feature it serializes with every number it reports, the df method, and
/// the data columns its formula reads (`data`); deserializing rebuilds the specification from
/// those columns, recomputes the fit at the stored θ, and checks the result against the stored
/// estimates, so a fit read back is whole again (refits, predictions, contrasts, anova and
/// Kenward–Roger work) and a file whose numbers do not belong to its data is an error.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "LmmFitRepr"))]
pub struct LmmFit {
    formula: String,
    criterion: Criterion,
    ddf: Ddf,
    nobs: usize,
    ngroups: Vec<(String, usize)>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    theta: Vec<f64>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    sigma: f64,
    coefficients: Vec<Coefficient>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    vcov: Vec<Vec<f64>>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    objective: f64,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    loglik: f64,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    aic: f64,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    bic: f64,
    varcorr: Vec<VarCorr>,
    ranef: Vec<RandomEffects>,
    /// Fitted values; residuals made when asked for.
    #[cfg_attr(feature = "serde", serde(flatten))]
    fitted: super::fitted::FittedValues,
    icc: Icc,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    r2_marginal: f64,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    r2_conditional: f64,
    singular: bool,
    optimization: Optimization,
    diagnostics: Vec<String>,
    missing: Missingness,
    row_ids: crate::data::RowIds,
    #[cfg_attr(
        feature = "serde",
        serde(rename = "data", serialize_with = "serialize_source")
    )]
    pub(crate) spec: LmmSpec,
    #[cfg_attr(feature = "serde", serde(skip))]
    satterthwaite: Option<satterthwaite::Satterthwaite>,
    #[cfg_attr(feature = "serde", serde(skip))]
    unscaled_vcov: DMatrix<f64>,
}

#[cfg(feature = "serde")]
fn serialize_source<S: serde::Serializer>(
    spec: &LmmSpec,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&*spec.source, s)
}

/// What rebuilding a serialized [`LmmFit`] needs, and the estimates it is checked against.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct LmmFitRepr {
    formula: String,
    criterion: Criterion,
    ddf: Ddf,
    #[serde(with = "crate::serde_float")]
    theta: Vec<f64>,
    optimization: Optimization,
    diagnostics: Vec<String>,
    coefficients: Vec<Coefficient>,
    #[serde(with = "crate::serde_float")]
    objective: f64,
    data: Data,
}

#[cfg(feature = "serde")]
impl TryFrom<LmmFitRepr> for LmmFit {
    type Error = Error;

    fn try_from(r: LmmFitRepr) -> Result<LmmFit> {
        let formula = crate::Formula::parse(&r.formula)?;
        let spec = LmmSpec::from_formula(&r.data, &formula)?;
        let mut fit = spec.fit_at(&r.theta, r.criterion, r.optimization, r.ddf)?;
        let same_objective =
            (fit.objective - r.objective).abs() <= 1e-9 * fit.objective.abs().max(1.0);
        if !crate::stats::same_estimates(&fit.coefficients, &r.coefficients) || !same_objective {
            return Err(Error::Argument {
                name: "fit".into(),
                message: format!(
                    "the serialized fit of '{}' does not match its data: refitted at its θ, the estimates differ from the stored ones",
                    r.formula
                ),
            });
        }
        // The diagnostics as they were (they include the optimizer's, which a refit at θ
        // cannot see).
        fit.diagnostics = r.diagnostics;
        Ok(fit)
    }
}

/// x ← L⁻ᵀ x for a lower-triangular L (q × q, column-major).
fn solve_small_lower_transpose(l: &[f64], q: usize, x: &mut [f64]) {
    for i in (0..q).rev() {
        let mut s = x[i];
        for k in i + 1..q {
            s -= l[k + i * q] * x[k];
        }
        x[i] = s / l[i + i * q];
    }
}

/// Solve Lᵀ x = b for lower-triangular L.
pub(crate) fn solve_lower_transpose(l: &DMatrix<f64>, b: &DVector<f64>) -> DVector<f64> {
    let mut x = b.clone();
    solve_small_lower_transpose(l.as_slice(), b.len(), x.as_mut_slice());
    x
}

/// (L_X L_Xᵀ)⁻¹ from a factorization: the unscaled covariance of β̂.
pub(crate) fn unscaled_vcov(s: &Structure, f: &Factorization) -> DMatrix<f64> {
    unscaled_vcov_from(&f.l22, s.q_rest, s.p)
}

/// (L_X L_Xᵀ)⁻¹ from the X block (rows and columns `q_rest..q_rest + p`) of a dense factor.
pub(crate) fn unscaled_vcov_from(l22: &DMatrix<f64>, q_rest: usize, p: usize) -> DMatrix<f64> {
    let lx = l22.view((q_rest, q_rest), (p, p)).clone_owned();
    let inv = super::kernels::lower_inverse(&lx);
    inv.transpose() * inv
}

/// Denominator degrees of freedom for the fixed-effect t tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Ddf {
    /// Satterthwaite's approximation, as lmerTest (the default).
    Satterthwaite,
    /// None: Wald z tests (infinite df), as lme4's own `summary()` shows t without p. Cheapest;
    /// use it in simulations that only need estimates.
    Asymptotic,
}

/// Options for [`LmmSpec::fit_with`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
#[non_exhaustive]
pub struct FitOptions {
    /// Which df the coefficient table uses.
    pub ddf: Ddf,
    /// Starting θ (lme4's default when `None`: identity factors).
    pub start: Option<Vec<f64>>,
    /// Final trust-region radius of BOBYQA (default 1e-8).
    pub rho_end: f64,
    /// Initial trust-region radius of BOBYQA (default 0.2, lme4's; smaller for a start known to
    /// be near the optimum, as in a bootstrap refit).
    pub rho_begin: f64,
    /// Evaluation budget per optimizer run (default max(20000, 1000 · length of θ)).
    pub max_evaluations: Option<usize>,
    /// Check the optimum of models with vector-valued random effects and restart from other
    /// starts where it fails or lies on the boundary (default true; see [`Optimization`]).
    pub check_optimum: bool,
    /// Which optimizer minimizes the criterion (default [`Optimizer::Auto`]).
    pub optimizer: Optimizer,
    /// BOBYQA also stops when a whole trust-radius stage improves the criterion by less than
    /// this (default `None`: only `rho_end` ends the search). The `bobyqa` crate applies it per
    /// stage, not per step as NLopt does for lme4, and at 1e-8 it moved sleepstudy's
    /// uncorrelated-slopes SEs by 1.7e-4 relative from lme4's, so it stays off unless asked.
    pub ftol_abs: Option<f64>,
}

/// The optimizer of the profiled criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Optimizer {
    /// Brent's one-dimensional search when θ has one element (a single scalar random term);
    /// BFGS with finite-difference gradients for one random term with several effects
    /// (falling back to BOBYQA when it fails or ends near the boundary); BOBYQA otherwise.
    #[default]
    Auto,
    /// BOBYQA (Powell 2009) always, as lme4's default `lmerControl()`.
    Bobyqa,
}

impl FitOptions {
    /// The default options with another df method.
    pub fn with_ddf(ddf: Ddf) -> FitOptions {
        FitOptions {
            ddf,
            ..FitOptions::default()
        }
    }
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            ddf: Ddf::Satterthwaite,
            start: None,
            rho_end: 1e-8,
            rho_begin: 0.2,
            max_evaluations: None,
            check_optimum: true,
            optimizer: Optimizer::Auto,
            ftol_abs: None,
        }
    }
}

impl LmmSpec {
    /// Fit by `criterion` with the default options (Satterthwaite df).
    ///
    /// # Errors
    /// [`Error::Numerical`] if no θ gives a finite objective (never for a valid spec).
    pub fn fit(&self, criterion: Criterion) -> Result<LmmFit> {
        self.fit_with(criterion, &FitOptions::default())
    }

    /// Fit by `criterion` with explicit options.    /// Fit by `criterion` with explicit options.
    ///
    /// ```
    /// use securebase::{Criterion, Data, Ddf, FitOptions, LmmSpec};
    /// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sleepstudy.csv"))?;
    /// let spec = LmmSpec::new(&data, "Reaction ~ Days + (Days | Subject)")?;
    /// // ML without df (Wald z), as lme4's own summary() shows it: cheapest, for simulations.
    /// let ml = spec.fit_with(Criterion::Ml, &FitOptions::with_ddf(Ddf::Asymptotic))?;
    /// assert!((ml.objective() - 1751.9393).abs() < 1e-3); // lme4's ML deviance
    /// assert!(ml.coefficients()[1].df.is_nan());
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Argument`] for a start of the wrong length or outside the bounds;
    /// [`Error::Numerical`] if no θ gives a finite objective.
    pub fn fit_with(&self, criterion: Criterion, options: &FitOptions) -> Result<LmmFit> {
        let s = &self.structure;
        if let Some(start) = &options.start {
            self.deviance(criterion).eval(start)?;
        }
        let (theta, optimization) = super::optimum::optimize(s, criterion, options)?;
        self.fit_at(&theta, criterion, optimization, options.ddf)
    }

    /// The REML or ML estimate of β alone (θ optimized, nothing else summarized): for the
    /// refits of a bootstrap, which need only the fixed effects.
    pub(crate) fn fit_beta(&self, criterion: Criterion) -> Result<Vec<f64>> {
        let s = &self.structure;
        let (theta, _) = super::optimum::optimize(s, criterion, &FitOptions::default())?;
        let f = s.factorize(&theta).ok_or_else(|| {
            Error::Numerical("the penalized system is not positive definite at θ".into())
        })?;
        let (p, qr) = (s.p, s.q_rest);
        let dim = f.l22.nrows();
        let lx = f.l22.view((qr, qr), (p, p)).clone_owned();
        let cx = DVector::from_iterator(p, (0..p).map(|j| f.l22[(dim - 1, qr + j)]));
        Ok(solve_lower_transpose(&lx, &cx).iter().copied().collect())
    }

    /// Every summary quantity at a given θ (used by [`LmmSpec::fit`] at the optimum).
    ///
    /// # Errors
    /// [`Error::Numerical`] if the factorization fails at θ.
    pub fn fit_at(
        &self,
        theta: &[f64],
        criterion: Criterion,
        optimization: Optimization,
        ddf: Ddf,
    ) -> Result<LmmFit> {
        let s = &self.structure;
        if theta.len() != s.ntheta() {
            return Err(Error::Argument {
                name: "theta".into(),
                message: format!(
                    "{} values given; this model has {} variance parameters",
                    theta.len(),
                    s.ntheta()
                ),
            });
        }
        if let Some((i, t)) = theta
            .iter()
            .zip(s.lower_bounds())
            .enumerate()
            .find(|(_, (t, lb))| !t.is_finite() || **t < *lb)
            .map(|(i, (t, _))| (i, *t))
        {
            return Err(Error::Argument {
                name: "theta".into(),
                message: format!(
                    "θ[{i}] = {t} is not finite or below its lower bound (diagonal entries are ≥ 0)"
                ),
            });
        }
        let f = s.factorize(theta).ok_or_else(|| {
            Error::Numerical("the penalized system is not positive definite at θ".into())
        })?;
        let (n, p, qr) = (s.n, s.p, s.q_rest);
        let dim = f.l22.nrows();
        let objective = s.objective_from(&f, criterion);
        let sigma2 = match criterion {
            Criterion::Reml => f.pwrss / (n - p) as f64,
            Criterion::Ml => f.pwrss / n as f64,
        };
        let sigma = sigma2.sqrt();
        // β̂ = L_Xᵀ⁻¹ c_X
        let lx = f.l22.view((qr, qr), (p, p)).clone_owned();
        let cx = DVector::from_iterator(p, (0..p).map(|j| f.l22[(dim - 1, qr + j)]));
        let beta = solve_lower_transpose(&lx, &cx);
        let unscaled = unscaled_vcov(s, &f);
        let vcov = &unscaled * sigma2;
        // Conditional modes u: rest terms, then the first term level by level.
        let lrr = f.l22.view((0, 0), (qr, qr)).clone_owned();
        let mut vr = DVector::from_iterator(qr, (0..qr).map(|i| f.l22[(dim - 1, i)]));
        for i in 0..qr {
            for j in 0..p {
                vr[i] -= f.l22[(qr + j, i)] * beta[j];
            }
        }
        let ur = solve_lower_transpose(&lrr, &vr);
        let t = s.factors(theta);
        let q1 = s.terms[0].q();
        // Per term, flat: level l's q modes at l·q.
        let mut modes: Vec<Vec<f64>> = s
            .terms
            .iter()
            .map(|tm| vec![0.0; tm.q() * tm.nlevels()])
            .collect();
        let t1 = &t[0];
        let l1 = &s.levels1;
        let mut v = vec![0.0; q1];
        for (j, lev) in l1.iter().enumerate() {
            let mrows = lev.rows.len();
            let w = &f.l21[q1 * l1.row_start(j)..][..mrows * q1];
            for (c, vc) in v.iter_mut().enumerate() {
                let mut acc = w[(mrows - 1) * q1 + c];
                for (r, &idx) in lev.rows.iter().enumerate() {
                    if idx < qr {
                        acc -= w[r * q1 + c] * ur[idx];
                    } else if idx < qr + p {
                        acc -= w[r * q1 + c] * beta[idx - qr];
                    }
                }
                *vc = acc;
            }
            // u = L₁₁⁻ᵀ v in place, then b = T₁ u.
            solve_small_lower_transpose(&f.l11[j * q1 * q1..(j + 1) * q1 * q1], q1, &mut v);
            let mode = &mut modes[0][j * q1..(j + 1) * q1];
            for (a, m) in mode.iter_mut().enumerate() {
                *m = (0..=a).map(|c| t1[(a, c)] * v[c]).sum();
            }
        }
        for (k, term) in s.terms.iter().enumerate().skip(1) {
            let q = term.q();
            for (l, mode) in modes[k].chunks_exact_mut(q).enumerate() {
                let start = s.offsets[k] + l * q;
                let u = DVector::from_iterator(q, (0..q).map(|c| ur[start + c]));
                mode.copy_from_slice((&t[k] * u).as_slice());
            }
        }
        // Fitted values and residuals, column by column over contiguous storage.
        let mut xb = vec![0.0; n];
        for (j, bj) in beta.iter().enumerate() {
            let col = self.x.col(j);
            for (f, x) in xb.iter_mut().zip(col) {
                *f += x * bj;
            }
        }
        // The variance of the fixed part (for the variance explained below), before Zb is
        // added to it in place: no second n-vector.
        let var_fixed = {
            let m = xb.iter().sum::<f64>() / n as f64;
            xb.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n as f64 - 1.0)
        };
        let mut fitted = xb;
        for (k, term) in s.terms.iter().enumerate() {
            let q = term.q();
            for c in 0..q {
                let bc: Vec<f64> = modes[k].iter().skip(c).step_by(q).copied().collect();
                match term.z.col(c) {
                    Some(zc) => {
                        for ((f, z), &code) in fitted.iter_mut().zip(zc).zip(&term.codes) {
                            *f += z * bc[code as usize];
                        }
                    }
                    None => {
                        for (f, &code) in fitted.iter_mut().zip(&term.codes) {
                            *f += bc[code as usize];
                        }
                    }
                }
            }
        }
        let fitted = super::fitted::FittedValues::new(
            std::sync::Arc::clone(&self.y),
            self.offset.clone(),
            fitted,
        );
        // Conditional variances σ² T (L L')⁻¹ Tᵀ, block by block.
        let lrr_inv = super::kernels::lower_inverse(&lrr);
        // Per term, flat: level l's q × q row-major block at l·q².
        let mut cond_var: Vec<Vec<f64>> = Vec::with_capacity(s.terms.len());
        {
            let mut first = Vec::with_capacity(l1.len() * q1 * q1);
            let mut l11inv = vec![0.0; q1 * q1];
            let mut block = vec![0.0; q1 * q1];
            let mut m = Vec::new();
            let mut xj = vec![0.0; qr * q1];
            for (j, lev) in l1.iter().enumerate() {
                super::kernels::small_lower_inverse(
                    &f.l11[j * q1 * q1..(j + 1) * q1 * q1],
                    q1,
                    &mut l11inv,
                );
                // block = L₁₁⁻ᵀ L₁₁⁻¹ (column-major; L₁₁⁻¹ is lower triangular).
                for c in 0..q1 {
                    for r in 0..q1 {
                        block[r + c * q1] = (r.max(c)..q1)
                            .map(|k| l11inv[k + r * q1] * l11inv[k + c * q1])
                            .sum();
                    }
                }
                let nr = lev.rows.iter().take_while(|&&i| i < qr).count();
                if nr > 0 {
                    // X_j = L_rr⁻¹ (L_r1 L11⁻¹): L_r1 has only the few rows this level touches,
                    // so X_j is a combination of those columns of L_rr⁻¹ (not a dense product);
                    // L_rr⁻¹ is lower triangular, so X_j is zero above the level's first row.
                    let w = &f.l21[q1 * l1.row_start(j)..][..nr * q1];
                    m.clear();
                    for wr in w.chunks_exact(q1) {
                        for c in 0..q1 {
                            m.push((c..q1).map(|k| wr[k] * l11inv[k + c * q1]).sum::<f64>());
                        }
                    }
                    let lo = lev.rows[0];
                    for c in 0..q1 {
                        xj[c * qr + lo..(c + 1) * qr].fill(0.0);
                    }
                    for (r, &idx) in lev.rows[..nr].iter().enumerate() {
                        let col = &lrr_inv.as_slice()[idx * qr + idx..(idx + 1) * qr];
                        for c in 0..q1 {
                            let mrc = m[r * q1 + c];
                            for (x, l) in xj[c * qr + idx..(c + 1) * qr].iter_mut().zip(col) {
                                *x += mrc * l;
                            }
                        }
                    }
                    for c in 0..q1 {
                        for r in 0..q1 {
                            let (xr, xc) = (
                                &xj[r * qr + lo..(r + 1) * qr],
                                &xj[c * qr + lo..(c + 1) * qr],
                            );
                            block[r + c * q1] += xr.iter().zip(xc).map(|(a, b)| a * b).sum::<f64>();
                        }
                    }
                }
                // σ² T₁ block T₁ᵀ, by rows.
                for a in 0..q1 {
                    for b in 0..q1 {
                        let mut acc = 0.0;
                        for c in 0..=a {
                            for d in 0..=b {
                                acc += t1[(a, c)] * block[c + d * q1] * t1[(b, d)];
                            }
                        }
                        first.push(acc * sigma2);
                    }
                }
            }
            cond_var.push(first);
            for (k, term) in s.terms.iter().enumerate().skip(1) {
                let q = term.q();
                let mut blocks = Vec::with_capacity(term.nlevels() * q * q);
                for l in 0..term.nlevels() {
                    let start = s.offsets[k] + l * q;
                    // Diagonal block of L_rr⁻ᵀ L_rr⁻¹: inner products of columns of the lower-
                    // triangular L_rr⁻¹ (zero above row `start`), not the whole Q × Q product.
                    let cols = lrr_inv.view((start, start), (qr - start, q));
                    let blk = cols.transpose() * cols;
                    let cv = &t[k] * blk * t[k].transpose() * sigma2;
                    // Column-major storage of the transpose: the rows of cv.
                    blocks.extend(cv.transpose().iter());
                }
                cond_var.push(blocks);
            }
        }
        // Variance components.
        let varcorr: Vec<VarCorr> = s
            .terms
            .iter()
            .zip(&t)
            .map(|(term, tk)| {
                let cov = tk * tk.transpose() * sigma2;
                let q = term.q();
                let sd: Vec<f64> = (0..q).map(|i| cov[(i, i)].sqrt()).collect();
                let corr = DMatrix::from_fn(q, q, |a, b| {
                    if a == b {
                        1.0
                    } else if sd[a] > 0.0 && sd[b] > 0.0 {
                        cov[(a, b)] / (sd[a] * sd[b])
                    } else {
                        f64::NAN
                    }
                });
                VarCorr {
                    group: term.group.clone(),
                    effects: term.effects.clone(),
                    variance: (0..q).map(|i| cov[(i, i)]).collect(),
                    sd,
                    correlation: to_rows(&corr),
                    covariance: to_rows(&cov),
                }
            })
            .collect();
        let ranef = s
            .terms
            .iter()
            .zip(modes)
            .zip(cond_var)
            .map(|((term, m), cv)| {
                RandomEffects::new(
                    term.group.clone(),
                    term.effects.clone(),
                    std::sync::Arc::clone(&term.levels),
                    m,
                    cv,
                )
            })
            .collect();
        // Likelihood summaries (lme4: REML fits report the REML log-likelihood).
        let loglik = -objective / 2.0;
        let npar = (p + s.ntheta() + 1) as f64;
        let aic = -2.0 * loglik + 2.0 * npar;
        let bic = -2.0 * loglik + npar * (n as f64).ln();
        // Variance explained (Nakagawa & Schielzeth 2013; Johnson 2014 for random slopes):
        // each term contributes mean over rows of zᵢ' Σ_k zᵢ.
        // mean over rows of zᵢ' Σ zᵢ = Σ_ab Σ_ab · mean(z_a z_b)
        let var_random: f64 = s
            .terms
            .iter()
            .zip(&varcorr)
            .map(|(term, vc)| {
                let q = term.q();
                let mut acc = 0.0;
                for a in 0..q {
                    for b in 0..q {
                        let zz: f64 = match (term.z.col(a), term.z.col(b)) {
                            (Some(za), Some(zb)) => za.iter().zip(zb).map(|(x, y)| x * y).sum(),
                            // A random intercept: Σ 1 = n.
                            _ => n as f64,
                        };
                        acc += vc.covariance[a][b] * zz;
                    }
                }
                acc / n as f64
            })
            .sum();
        let total = var_fixed + var_random + sigma2;
        let r2_marginal = var_fixed / total;
        let r2_conditional = (var_fixed + var_random) / total;
        // ICCs as performance::icc computes them (Nakagawa, Johnson & Schielzeth 2017).
        let icc = Icc {
            adjusted: var_random / (var_random + sigma2),
            conditional: var_random / total,
            by_group: s
                .terms
                .iter()
                .zip(&varcorr)
                .filter(|(tm, _)| tm.effects.first().is_some_and(|e| e == "(Intercept)"))
                .map(|(_, v)| GroupIcc {
                    group: v.group.clone(),
                    icc: v.variance[0] / (var_random + sigma2),
                })
                .collect(),
        };
        let singular = theta
            .iter()
            .zip(s.lower_bounds())
            .any(|(&t, lb)| lb == 0.0 && t < 1e-4);
        let mut diagnostics = Vec::new();
        if singular {
            diagnostics.push("boundary (singular) fit: a variance component is estimated at or near zero, or a correlation at ±1".to_string());
        }
        if !optimization.converged {
            diagnostics.push(format!(
                "the optimizer did not converge: {}",
                optimization.message
            ));
        }
        diagnostics.extend(optimization.checks.iter().cloned());
        // Satterthwaite df from the Hessian of the deviance in (θ, σ).
        let sat = match ddf {
            Ddf::Satterthwaite => {
                let f0 =
                    satterthwaite::values(f.logdet_z, f.logdet_x, f.pwrss, &unscaled, criterion);
                satterthwaite::Satterthwaite::new(s, theta, sigma, criterion, f0)
            }
            Ddf::Asymptotic => None,
        };
        let coefficients = self
            .fixed_names
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let mut l = vec![0.0; p];
                l[j] = 1.0;
                let df = sat.as_ref().map_or(f64::NAN, |sat| sat.df(&l, &unscaled));
                Coefficient::at(name, beta[j], vcov[(j, j)].sqrt(), df, 0.95)
            })
            .collect();
        if sat.is_none() && ddf == Ddf::Satterthwaite {
            diagnostics.push(
                "Satterthwaite df unavailable: the Hessian of the deviance is not usable".into(),
            );
        }
        Ok(LmmFit {
            formula: self.formula.text().to_string(),
            criterion,
            ddf,
            nobs: n,
            ngroups: s
                .terms
                .iter()
                .map(|tm| (tm.group.clone(), tm.nlevels()))
                .collect(),
            theta: theta.to_vec(),
            sigma,
            coefficients,
            vcov: to_rows(&vcov),
            objective,
            loglik,
            aic,
            bic,
            varcorr,
            ranef,
            fitted,
            icc,
            r2_marginal,
            r2_conditional,
            singular,
            optimization,
            diagnostics,
            missing: self.missing.clone(),
            row_ids: self.row_ids.clone(),
            satterthwaite: sat,
            unscaled_vcov: unscaled,
            spec: self.clone(),
        })
    }
}

pub(crate) fn to_rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
    m.row_iter().map(|r| r.iter().copied().collect()).collect()
}

impl LmmFit {
    /// The formula as given.
    pub fn formula(&self) -> &str {
        &self.formula
    }
    /// REML or ML.
    pub fn criterion(&self) -> Criterion {
        self.criterion
    }
    /// Number of observations used.
    pub fn nobs(&self) -> usize {
        self.nobs
    }
    /// Grouping factors (θ order) with their numbers of levels.
    pub fn ngroups(&self) -> &[(String, usize)] {
        &self.ngroups
    }
    /// θ̂ in lme4's order.
    pub fn theta(&self) -> &[f64] {
        &self.theta
    }
    /// Residual standard deviation σ̂.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }
    /// Fixed effects with SEs, Satterthwaite df, t, p and 95% Wald CIs (t on Satterthwaite df;
    /// df is infinite, a z test, when fitted with [`Ddf::Asymptotic`] or when the Hessian of the
    /// deviance is unusable — see [`LmmFit::diagnostics`]).
    pub fn coefficients(&self) -> &[Coefficient] {
        &self.coefficients
    }
    /// Wald confidence intervals β̂ ± z SE at `level`, as lme4's `confint(fit, method = "Wald")`
    /// (normal quantiles; the coefficient table's `ci` uses t on the Satterthwaite df instead).
    ///
    /// # Errors
    /// [`Error::Argument`] for a level not strictly between 0 and 1.
    pub fn confint_wald(&self, level: f64) -> Result<Vec<(String, [f64; 2])>> {
        crate::stats::check_level(level)?;
        let z = crate::stats::normal_quantile(0.5 + level / 2.0);
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

    /// The fixed effect named `term`.
    pub fn coefficient(&self, term: &str) -> Option<&Coefficient> {
        self.coefficients.iter().find(|c| c.term == term)
    }
    /// β̂.
    pub fn beta(&self) -> Vec<f64> {
        self.coefficients.iter().map(|c| c.estimate).collect()
    }
    /// Fixed-effect names.
    pub fn terms(&self) -> Vec<&str> {
        self.coefficients.iter().map(|c| c.term.as_str()).collect()
    }
    /// Covariance of β̂ (rows).
    pub fn vcov(&self) -> &[Vec<f64>] {
        &self.vcov
    }
    /// The REML criterion (REML fits) or deviance −2 log L (ML fits), as lme4 reports them.
    pub fn objective(&self) -> f64 {
        self.objective
    }
    /// Log-likelihood (the REML log-likelihood for REML fits, as lme4).
    pub fn loglik(&self) -> f64 {
        self.loglik
    }
    /// AIC (parameters: β, θ, σ).
    pub fn aic(&self) -> f64 {
        self.aic
    }
    /// BIC.
    pub fn bic(&self) -> f64 {
        self.bic
    }
    /// Variance components per grouping factor.
    pub fn varcorr(&self) -> &[VarCorr] {
        &self.varcorr
    }
    /// Conditional modes (BLUPs) and their conditional variances.
    pub fn ranef(&self) -> &[RandomEffects] {
        &self.ranef
    }
    /// Fitted values Xβ̂ + Zb̂, one per row used.
    pub fn fitted(&self) -> &[f64] {
        self.fitted.fitted()
    }
    /// Residuals y − fitted (made on the first call and kept: a fit does not store them
    /// before).
    pub fn residuals(&self) -> &[f64] {
        self.fitted.residuals()
    }
    /// The five-number summary of the residuals divided by `scale`, without making them.
    pub(crate) fn residual_quantiles(&self, scale: f64) -> [f64; 5] {
        self.fitted.residual_quantiles(scale)
    }
    /// Intraclass correlations (Nakagawa, Johnson & Schielzeth 2017), as `performance::icc`
    /// reports them; see [`Icc`].
    pub fn icc(&self) -> &Icc {
        &self.icc
    }
    /// Marginal R² (fixed effects) of Nakagawa & Schielzeth (2013), with Johnson's (2014)
    /// random-slope variance.
    pub fn r2_marginal(&self) -> f64 {
        self.r2_marginal
    }
    /// Conditional R² (fixed + random effects).
    pub fn r2_conditional(&self) -> f64 {
        self.r2_conditional
    }
    /// Whether the fit is on the boundary (lme4's `isSingular`, tolerance 1e-4).
    pub fn is_singular(&self) -> bool {
        self.singular
    }
    /// How the optimizer ended.
    pub fn optimization(&self) -> &Optimization {
        &self.optimization
    }
    /// Whether the optimizer converged.
    pub fn converged(&self) -> bool {
        self.optimization.converged
    }
    /// Warnings as data: singular fit, non-convergence.
    pub fn diagnostics(&self) -> &[String] {
        &self.diagnostics
    }
    /// Rows dropped for missing values.
    pub fn missing(&self) -> &Missingness {
        &self.missing
    }
    /// How the fixed effects were coded (R's names, contrasts, functions of variables).
    pub fn design(&self) -> &crate::formula::design::Design {
        &self.spec.design
    }
    /// Each grouping factor (once) with the level code of every row used.
    pub(crate) fn group_codes(&self) -> Vec<(String, &[u32])> {
        let mut out: Vec<(String, &[u32])> = Vec::new();
        for t in &self.spec.structure.terms {
            if !out.iter().any(|(g, _)| *g == t.group) {
                out.push((t.group.clone(), &t.codes));
            }
        }
        out
    }
    /// Origins of the rows used, aligned with fitted values (1..=n is made on the first call
    /// when every row of data read as it came was used; see [`Data::row_ids`](crate::Data::row_ids)).
    pub fn row_ids(&self) -> &[usize] {
        self.row_ids.as_slice()
    }
    /// A linear contrast lᵀβ with its SE, Satterthwaite df, t, p and 95% CI
    /// (lmerTest's `contest1D`).
    ///
    /// # Errors
    /// [`Error::Argument`] if `l` does not have one finite weight per fixed effect or is all
    /// zero.
    pub fn contrast(&self, l: &[f64]) -> Result<Coefficient> {
        let p = self.coefficients.len();
        crate::stats::check_weights(l, p)?;
        let est: f64 = l
            .iter()
            .zip(&self.coefficients)
            .map(|(w, c)| w * c.estimate)
            .sum();
        let mut var = 0.0;
        for a in 0..p {
            for b in 0..p {
                var += l[a] * self.vcov[a][b] * l[b];
            }
        }
        let df = self
            .satterthwaite
            .as_ref()
            .map_or(f64::INFINITY, |s| s.df(l, &self.unscaled_vcov));
        let label = l
            .iter()
            .zip(&self.coefficients)
            .filter(|(w, _)| **w != 0.0)
            .map(|(w, c)| format!("{w}*{}", c.term))
            .collect::<Vec<_>>()
            .join(" + ");
        Ok(Coefficient::at(&label, est, var.sqrt(), df, 0.95))
    }

    /// The asymptotic covariance of (θ̂, σ̂), 2 H⁻¹ with H the Hessian of the deviance
    /// (lmerTest's `vcov_varpar`), if it could be computed.
    pub fn vcov_varpar(&self) -> Option<Vec<Vec<f64>>> {
        self.satterthwaite
            .as_ref()
            .map(|s| to_rows(&s.vcov_varpar()))
    }

    /// The values of one fixed-effects model-matrix column in the rows used.
    pub fn column_values(&self, name: &str) -> Option<Vec<f64>> {
        let j = self.spec.fixed_names.iter().position(|c| c == name)?;
        Some(self.spec.x.col(j).to_vec())
    }

    /// The df of the contrast lᵀβ by the fit's df method (infinite for asymptotic fits and
    /// for l = 0).
    pub(super) fn df_of(&self, l: &[f64]) -> f64 {
        if l.iter().all(|w| *w == 0.0) {
            return f64::INFINITY;
        }
        self.satterthwaite
            .as_ref()
            .map_or(f64::INFINITY, |s| s.df(l, &self.unscaled_vcov))
    }

    /// The df method of the coefficient table.
    pub fn ddf(&self) -> Ddf {
        self.ddf
    }

    /// The specification this fit came from (for refits).
    pub fn spec(&self) -> &LmmSpec {
        &self.spec
    }
}
