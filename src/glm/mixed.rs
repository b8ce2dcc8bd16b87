//! Generalized linear mixed models (R's `lme4::glmer`): the Laplace approximation (Bates et
//! al. 2015; Pinheiro & Bates 1995) for any number of random-effect terms (slopes, nested and
//! crossed factors) and, for a single scalar random effect, adaptive Gauss–Hermite quadrature.
//!
//! With spherical random effects u ~ N(0, I), b = Λ_θ u, and one grouping factor the marginal
//! likelihood factors over its levels; with several factors the modes are found jointly (H is
//! then the Σ levels × effects square matrix I + ΛᵀZᵀWZΛ). For each level the conditional
//! mode u* minimizes
//! h(u) = −2 log p(y | u) + ‖u‖² (penalized IRLS: Fisher-scoring steps with step halving), and
//! the Laplace approximation is −2 log L ≈ h(u*) + log |H|, H = I + Σ Wᵢ (Tᵀzᵢ)(Tᵀzᵢ)ᵀ with the
//! working weights at u*. With K > 1 quadrature points (q = 1 only) the integral
//! ∫ exp(−h(u)/2) du / √(2π) is evaluated on the Gauss–Hermite nodes centred at u* and scaled
//! by H^(−1/2). The criterion is minimized jointly over θ and β by BOBYQA (β scaled by its GLM
//! standard errors), and the covariance of β̂ is the β block of 2 H⁻¹ for the finite-difference
//! Hessian H of the criterion over (θ, β), as lme4's default `vcov` (`use.hessian = TRUE`).

use super::family::Family;
use super::fit::{Model, Prepared, prepare};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::formula::Missingness;
use crate::lmm::RandomEffects;
use crate::stats::Coefficient;
use nalgebra::{DMatrix, DVector};
use std::cell::RefCell;

/// A fitted generalized linear mixed model.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "GlmmFitRepr"))]
#[non_exhaustive]
pub struct GlmmFit {
    /// The formula as given.
    pub formula: String,
    /// Family and link.
    pub family: Family,
    /// Quadrature points: 1 is the Laplace approximation.
    pub nagq: usize,
    /// Fixed effects with Wald z tests (lme4's `summary`).
    pub coefficients: Vec<Coefficient>,
    /// Covariance of the fixed effects.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub vcov: Vec<Vec<f64>>,
    /// lme4's θ: the lower triangles of the terms' relative covariance factors, column by
    /// column, terms in the order of [`GlmmFit::ranef`].
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub theta: Vec<f64>,
    /// Per random-effect term (ordered by decreasing number of levels, as lme4 orders them):
    /// grouping factor, effect names, levels, conditional modes b = Λu* (lme4's `ranef`) and
    /// their conditional variances Λ H⁻¹ Λᵀ (`ranef(condVar = TRUE)`).
    pub ranef: Vec<RandomEffects>,
    /// Covariance matrix of each term's random effects (Λ Λᵀ; the dispersion is 1), in the
    /// order of `ranef` (lme4's `VarCorr`).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub ranef_covariance: Vec<Vec<Vec<f64>>>,
    /// −2 log L (the full likelihood, binomial coefficients and factorials included).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub minus2loglik: f64,
    /// AIC = −2 log L + 2 (p + length of θ).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub aic: f64,
    /// BIC = −2 log L + log(n) (p + length of θ).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub bic: f64,
    /// Rows used.
    pub nobs: usize,
    /// A diagonal θ element below 1e-4 (lme4's `isSingular`).
    pub singular: bool,
    /// The optimizer reached its final trust radius.
    pub converged: bool,
    /// Criterion evaluations.
    pub evaluations: usize,
    /// Rows used and dropped for missing values.
    pub missing: Missingness,
    /// What the fit noticed (singular fit, convergence, a Hessian that is not positive
    /// definite).
    pub diagnostics: Vec<String>,
    /// The fixed-effects model matrix, offsets, design and data, for probing (not
    /// serialized: a fit read back from JSON cannot be probed).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub(crate) model: Option<Model>,
}

/// GlmmFit as read from JSON, checked before it becomes one.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct GlmmFitRepr {
    formula: String,
    family: Family,
    nagq: usize,
    coefficients: Vec<Coefficient>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    vcov: Vec<Vec<f64>>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    theta: Vec<f64>,
    ranef: Vec<RandomEffects>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    ranef_covariance: Vec<Vec<Vec<f64>>>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    minus2loglik: f64,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    aic: f64,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    bic: f64,
    nobs: usize,
    singular: bool,
    converged: bool,
    evaluations: usize,
    missing: Missingness,
    diagnostics: Vec<String>,
}

#[cfg(feature = "serde")]
impl TryFrom<GlmmFitRepr> for GlmmFit {
    type Error = Error;

    fn try_from(r: GlmmFitRepr) -> Result<GlmmFit> {
        let p = r.coefficients.len();
        let bad = |what: String| Error::Argument {
            name: "GlmmFit".into(),
            message: format!("not a valid fit: {what}"),
        };
        if r.vcov.len() != p || r.vcov.iter().any(|row| row.len() != p) {
            return Err(bad(format!("vcov is not {p} × {p}")));
        }
        if r.ranef_covariance.len() != r.ranef.len() {
            return Err(bad(format!(
                "{} random-effect covariances for {} terms",
                r.ranef_covariance.len(),
                r.ranef.len()
            )));
        }
        let mut ntheta = 0;
        for (re, cov) in r.ranef.iter().zip(&r.ranef_covariance) {
            let q = re.q();
            if q == 0 || cov.len() != q || cov.iter().any(|row| row.len() != q) {
                return Err(bad(format!(
                    "the covariance of '{}' is not {q} × {q}",
                    re.group()
                )));
            }
            ntheta += q * (q + 1) / 2;
        }
        if r.theta.len() < r.ranef.len() || r.theta.len() > ntheta {
            return Err(bad(format!(
                "{} θ values for random terms with at most {ntheta}",
                r.theta.len()
            )));
        }
        if r.nagq == 0 || r.nobs != r.missing.n_used || r.missing.n_used > r.missing.n_input {
            return Err(bad(
                "quadrature points or row counts are inconsistent".into()
            ));
        }
        Ok(GlmmFit {
            formula: r.formula,
            family: r.family,
            nagq: r.nagq,
            coefficients: r.coefficients,
            vcov: r.vcov,
            theta: r.theta,
            ranef: r.ranef,
            ranef_covariance: r.ranef_covariance,
            minus2loglik: r.minus2loglik,
            aic: r.aic,
            bic: r.bic,
            nobs: r.nobs,
            singular: r.singular,
            converged: r.converged,
            evaluations: r.evaluations,
            missing: r.missing,
            diagnostics: r.diagnostics,
            model: None,
        })
    }
}

/// Most random effects (Σ levels × effects) solved jointly when there are several terms.
const MAX_JOINT: usize = 10_000;

/// One random-effect term's data on the rows used.
struct TermData {
    q: usize,
    /// Position of the term's first mode in the stacked u.
    start: usize,
    /// Position of the term's first θ entry.
    theta_at: usize,
    nlevels: usize,
    codes: Vec<u32>,
    z: crate::lmm::Zmat,
}

/// The data of a GLMM: fixed part, response, and the random-effect terms.
struct Problem {
    family: Family,
    x: DMatrix<f64>,
    y: DVector<f64>,
    w: Vec<f64>,
    offset: DVector<f64>,
    terms: Vec<TermData>,
    /// With one term: the rows of each level (the likelihood factors over levels).
    by_level: Vec<Vec<usize>>,
    /// Length of the stacked u (Σ levels × q over terms).
    nu: usize,
    /// −2 Σ of the log-likelihood's terms that do not depend on μ (binomial coefficients,
    /// log y!), added once per evaluation.
    m2ll_constant: f64,
    nagq: usize,
    /// Gauss–Hermite nodes and weights (physicists' convention, weight e^(−x²)).
    nodes: Vec<(f64, f64)>,
}

/// Gauss–Hermite nodes and weights by the Golub–Welsch eigenvalue method.
fn gauss_hermite(k: usize) -> Vec<(f64, f64)> {
    let j = DMatrix::<f64>::from_fn(k, k, |r, c| {
        if r + 1 == c || c + 1 == r {
            (r.max(c) as f64 / 2.0).sqrt()
        } else {
            0.0
        }
    });
    let e = nalgebra::SymmetricEigen::new(j);
    let mut out: Vec<(f64, f64)> = (0..k)
        .map(|i| {
            let v0 = e.eigenvectors[(0, i)];
            (e.eigenvalues[i], std::f64::consts::PI.sqrt() * v0 * v0)
        })
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

fn lower_factor(theta: &[f64], q: usize) -> DMatrix<f64> {
    let mut t = DMatrix::zeros(q, q);
    let mut at = 0;
    for c in 0..q {
        for r in c..q {
            t[(r, c)] = theta[at];
            at += 1;
        }
    }
    t
}

/// Positions in θ of a q × q factor's diagonal (θ is its lower triangle, column by column).
fn diagonal_positions(q: usize) -> impl Iterator<Item = usize> {
    (0..q).map(move |c| (0..c).map(|cc| q - cc).sum())
}

/// Minimize h(u) = −2 log p(y | u) + ‖u‖² from `u` by Fisher scoring with step halving;
/// `terms(u)` gives (−2 log p(y | u), H, ½ × −gradient of h) or `None` where it is undefined.
fn penalized_mode(
    u: &mut DVector<f64>,
    terms: impl Fn(&DVector<f64>) -> Option<(f64, DMatrix<f64>, DVector<f64>)>,
) -> Option<(f64, DMatrix<f64>)> {
    let (mut m2ll, mut h, mut g) = terms(u)?;
    for _ in 0..100 {
        let step = h.clone().cholesky()?.solve(&g);
        let obj = m2ll + u.norm_squared();
        let mut s = 1.0;
        let mut moved = false;
        for _ in 0..30 {
            let cand = &*u + &step * s;
            if let Some((m, hh, gg)) = terms(&cand)
                && m + cand.norm_squared() <= obj + 1e-12 * obj.abs()
            {
                *u = cand;
                (m2ll, h, g) = (m, hh, gg);
                moved = true;
                break;
            }
            s *= 0.5;
        }
        if !moved || step.amax() * s < 1e-10 {
            break;
        }
    }
    Some((m2ll, h))
}

/// log |H| from a Cholesky factor, or `None` if H is not positive definite.
fn log_det(h: &DMatrix<f64>) -> Option<f64> {
    let chol = h.clone().cholesky()?;
    Some(chol.l().diagonal().iter().map(|d| 2.0 * d.ln()).sum())
}

impl Problem {
    /// The relative covariance factors T_k of the terms at θ.
    fn factors(&self, theta: &[f64]) -> Vec<DMatrix<f64>> {
        self.terms
            .iter()
            .map(|t| lower_factor(&theta[t.theta_at..], t.q))
            .collect()
    }

    /// Xβ + offset.
    fn fixed_part(&self, beta: &DVector<f64>) -> DVector<f64> {
        &self.x * beta + &self.offset
    }

    /// One row's −2 log p(yᵢ | η), working weight and score factor at η.
    fn row(&self, i: usize, eta: f64) -> (f64, f64, f64) {
        let f = self.family;
        let mu = f.link_inv(eta);
        let d = f.mu_eta(eta);
        let v = f.variance(mu);
        (
            -2.0 * f.loglik_kernel(self.y[i], mu, self.w[i]),
            self.w[i] * d * d / v,
            self.w[i] * (self.y[i] - mu) * d / v,
        )
    }

    /// One level of the single term: −2 log p(y | u) of its rows, H = I + Σ Wᵢ vᵢvᵢᵀ and the
    /// scoring direction, vᵢ = Tᵀzᵢ.
    fn level_terms(
        &self,
        rows: &[usize],
        t: &DMatrix<f64>,
        fixed: &DVector<f64>,
        u: &DVector<f64>,
    ) -> Option<(f64, DMatrix<f64>, DVector<f64>)> {
        let q = u.len();
        let z = &self.terms[0].z;
        let mut m2ll = 0.0;
        let mut h = DMatrix::<f64>::identity(q, q);
        let mut g = -u.clone();
        let mut v = [0.0f64; 8];
        let mut vv = Vec::new();
        let v: &mut [f64] = if q <= 8 {
            &mut v[..q]
        } else {
            vv.resize(q, 0.0);
            &mut vv
        };
        for &i in rows {
            // v = Tᵀ zᵢ (T lower triangular).
            for (a, va) in v.iter_mut().enumerate() {
                *va = (a..q).map(|r| t[(r, a)] * z.at(i, r)).sum();
            }
            let eta = fixed[i] + v.iter().zip(u.iter()).map(|(a, b)| a * b).sum::<f64>();
            let (m, wt, sc) = self.row(i, eta);
            m2ll += m;
            for a in 0..q {
                g[a] += v[a] * sc;
                let wa = wt * v[a];
                for b in 0..q {
                    h[(b, a)] += wa * v[b];
                }
            }
        }
        m2ll.is_finite().then_some((m2ll, h, g))
    }

    /// All terms at once: the same quantities over the stacked u (H is Q × Q).
    fn joint_terms(
        &self,
        ts: &[DMatrix<f64>],
        fixed: &DVector<f64>,
        u: &DVector<f64>,
    ) -> Option<(f64, DMatrix<f64>, DVector<f64>)> {
        let nu = self.nu;
        let mut m2ll = 0.0;
        let mut h = DMatrix::<f64>::identity(nu, nu);
        let mut g = -u.clone();
        let mut entries: Vec<(usize, f64)> = Vec::new();
        for i in 0..fixed.len() {
            entries.clear();
            for (term, t) in self.terms.iter().zip(ts) {
                let base = term.start + term.codes[i] as usize * term.q;
                for a in 0..term.q {
                    let v: f64 = (a..term.q).map(|r| t[(r, a)] * term.z.at(i, r)).sum();
                    entries.push((base + a, v));
                }
            }
            let eta = fixed[i] + entries.iter().map(|&(k, v)| v * u[k]).sum::<f64>();
            let (m, wt, sc) = self.row(i, eta);
            m2ll += m;
            for &(ka, va) in &entries {
                g[ka] += va * sc;
                for &(kb, vb) in &entries {
                    h[(ka, kb)] += wt * va * vb;
                }
            }
        }
        m2ll.is_finite().then_some((m2ll, h, g))
    }

    /// The criterion (−2 log L by Laplace or quadrature) at (θ, β), the stacked modes `u`
    /// updated in place (and used as starts).
    fn criterion(&self, theta: &[f64], beta: &DVector<f64>, u: &mut DVector<f64>) -> f64 {
        let ts = self.factors(theta);
        let fixed = self.fixed_part(beta);
        if self.terms.len() > 1 {
            let Some((m2ll, h)) = penalized_mode(u, |v| self.joint_terms(&ts, &fixed, v)) else {
                return f64::INFINITY;
            };
            return match log_det(&h) {
                Some(ld) => m2ll + u.norm_squared() + ld + self.m2ll_constant,
                None => f64::INFINITY,
            };
        }
        let t = &ts[0];
        let q = t.nrows();
        let mut total = 0.0;
        for (j, rows) in self.by_level.iter().enumerate() {
            let mut uj = DVector::from_column_slice(&u.as_slice()[j * q..(j + 1) * q]);
            let Some((m2ll, h)) = penalized_mode(&mut uj, |v| self.level_terms(rows, t, &fixed, v))
            else {
                return f64::INFINITY;
            };
            u.as_mut_slice()[j * q..(j + 1) * q].copy_from_slice(uj.as_slice());
            let Some(logdet) = log_det(&h) else {
                return f64::INFINITY;
            };
            let hstar = m2ll + uj.norm_squared();
            if self.nagq <= 1 {
                total += hstar + logdet;
            } else {
                // ∫ e^(−h(u)/2) du/√(2π) on nodes u* + √2 σ x_k, σ = H^(−1/2).
                let sigma = (-0.5 * logdet).exp();
                let mut sum = 0.0;
                for &(x, wk) in &self.nodes {
                    let uk = DVector::from_element(1, uj[0] + std::f64::consts::SQRT_2 * sigma * x);
                    let Some((m, _, _)) = self.level_terms(rows, t, &fixed, &uk) else {
                        return f64::INFINITY;
                    };
                    let hk = m + uk[0] * uk[0];
                    sum += wk * (x * x).exp() * (-0.5 * (hk - hstar)).exp();
                }
                let scale = std::f64::consts::SQRT_2 * sigma / (2.0 * std::f64::consts::PI).sqrt();
                total += hstar - 2.0 * (scale * sum).ln();
            }
        }
        total + self.m2ll_constant
    }

    /// The diagonal blocks of H⁻¹ at the modes (the conditional covariances of u), one q × q
    /// block per level, terms in order.
    fn mode_covariance(
        &self,
        theta: &[f64],
        beta: &DVector<f64>,
        u: &DVector<f64>,
    ) -> Option<Vec<DMatrix<f64>>> {
        let ts = self.factors(theta);
        let fixed = self.fixed_part(beta);
        if self.terms.len() > 1 {
            let (_, h, _) = self.joint_terms(&ts, &fixed, u)?;
            let inv = h.cholesky()?.inverse();
            let mut blocks = Vec::new();
            for t in &self.terms {
                for l in 0..t.nlevels {
                    let at = t.start + l * t.q;
                    blocks.push(inv.view((at, at), (t.q, t.q)).clone_owned());
                }
            }
            return Some(blocks);
        }
        // One term: H is block diagonal, so each level's block is inverted on its own (never
        // the Σ levels × q square matrix).
        let q = ts[0].nrows();
        self.by_level
            .iter()
            .enumerate()
            .map(|(j, rows)| {
                let uj = DVector::from_column_slice(&u.as_slice()[j * q..(j + 1) * q]);
                let (_, h, _) = self.level_terms(rows, &ts[0], &fixed, &uj)?;
                Some(h.cholesky()?.inverse())
            })
            .collect()
    }
}

impl super::Glm {
    /// Fit a generalized linear mixed model, as `glmer(formula, family, nAGQ = nagq)`:
    /// `nagq = 1` is the Laplace approximation; more points (adaptive Gauss–Hermite
    /// quadrature) need a single scalar random effect, `(1 | g)`. Any number of random-effect
    /// terms is allowed under Laplace: slopes, nested factors (`(1 | site/therapist)`) and
    /// crossed factors (`(1 | therapist) + (1 | site)`); terms are ordered by decreasing number
    /// of levels, as lme4 orders them, so θ comes in lme4's order.
    ///
    /// The reported −2 log L is the full likelihood. lme4 reports the same for `nAGQ = 1`;
    /// for `nAGQ > 1` its `logLik()` leaves out the saturated model's log-likelihood
    /// (Σ log p(yᵢ | μᵢ = yᵢ)), so it is lower by −2 times that sum; the estimates agree.
    ///
    /// With one grouping factor the modes are found level by level; with several, jointly
    /// (a dense system of Σ levels × effects unknowns, so tens of thousands of levels are
    /// beyond this method).
    ///
    /// ```
    /// use securebase::Data;
    /// use securebase::glm::{Family, Glm};
    /// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/glmm/cbpp.csv"))?;
    /// let fit = Glm::fit_mixed(&data, "cbind(incidence, rest) ~ period + (1 | herd)", Family::binomial(), 1)?;
    /// // lme4: -2 log L 184.05, period2 -0.9923 (SE 0.3031)
    /// assert!((fit.minus2loglik - 184.05).abs() < 0.01);
    /// assert!((fit.coefficients[1].estimate + 0.9923).abs() < 1e-3);
    /// assert_eq!(fit.ranef[0].group(), "herd");
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`super::Glm::fit`] for the data and formula; [`Error::Model`] for no random term or
    /// `nagq > 1` with more than one term or a vector random effect; [`Error::Term`] for a
    /// grouping factor with one level; [`Error::Argument`] for `nagq` of 0 or above 25.
    pub fn fit_mixed(data: &Data, formula: &str, family: Family, nagq: usize) -> Result<GlmmFit> {
        if nagq == 0 || nagq > 25 {
            return Err(Error::Argument {
                name: "nagq".into(),
                message: format!("takes 1 (Laplace) to 25 quadrature points, got {nagq}"),
            });
        }
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
        } = prepare(data, formula, family, true)?;
        let random = parsed.random();
        if random.is_empty() {
            return Err(Error::Model(format!(
                "'{formula}' has 0 random-effect terms; fit it with Glm::fit (a generalized linear model)"
            )));
        }
        let mut reterms = random
            .iter()
            .map(|rt| crate::lmm::build_term(rt, &data, &rows, design.transforms()))
            .collect::<Result<Vec<_>>>()?;
        reterms.sort_by_key(|t| std::cmp::Reverse(t.nlevels()));
        if nagq > 1 && (reterms.len() > 1 || reterms[0].q() > 1) {
            return Err(Error::Model(format!(
                "adaptive quadrature (nagq = {nagq}) needs a single scalar random effect such as (1 | {}); '{formula}' has {} term(s) with {} effect(s)",
                reterms[0].group,
                reterms.len(),
                reterms.iter().map(|t| t.q()).sum::<usize>()
            )));
        }
        let names = design.column_names().to_vec();
        let p = x.ncols();
        let n = rows.len();
        let glm = super::fit::irls_public(&x, &y, &weights, &offset, family, &names)?;
        // Separation by the fixed effects alone makes β infinite in the GLMM too (the modes
        // shrink towards 0): refused as for a GLM; quasi-separation is noted.
        let mut start_notes = Vec::new();
        if family.distribution == super::family::Distribution::Binomial
            && let Some(note) = super::fit::separation(&y, &glm.2, formula)?
        {
            start_notes.push(format!("in the fixed-effects-only start, {note}"));
        }
        let mut model = Model::new(
            x.clone(),
            offset.clone(),
            design.clone(),
            data.select_columns(&parsed.columns())?.select_rows(&rows)?,
            parsed.offsets().to_vec(),
        );
        model.random = reterms
            .iter()
            .map(|t| std::sync::Arc::clone(&t.coder))
            .collect();
        model.response = Some((y.iter().copied().collect(), weights.clone()));
        let (mut start, mut theta_at) = (0, 0);
        let mut terms = Vec::with_capacity(reterms.len());
        for t in &reterms {
            terms.push(TermData {
                q: t.q(),
                start,
                theta_at,
                nlevels: t.nlevels(),
                codes: t.codes.clone(),
                z: t.z.clone(),
            });
            start += t.q() * t.nlevels();
            theta_at += t.q() * (t.q() + 1) / 2;
        }
        let (nu, ntheta) = (start, theta_at);
        // Several terms are solved jointly in a dense Σ levels × effects system (8·nu² bytes
        // per PIRLS step): refuse sizes that would exhaust memory rather than abort.
        if reterms.len() > 1 && nu > MAX_JOINT {
            return Err(Error::Model(format!(
                "'{formula}' has {nu} random effects over {} terms; GLMMs with more than one grouping factor are solved jointly here, which takes at most {MAX_JOINT} (fit one grouping factor, or fewer levels)",
                reterms.len()
            )));
        }
        let by_level = if reterms.len() == 1 {
            let mut by = vec![Vec::new(); reterms[0].nlevels()];
            for (i, &c) in reterms[0].codes.iter().enumerate() {
                by[c as usize].push(i);
            }
            by
        } else {
            Vec::new()
        };
        let m2ll_constant = -2.0
            * (0..n)
                .map(|i| family.loglik_constant(y[i], weights[i]))
                .sum::<f64>();
        let problem = Problem {
            m2ll_constant,
            family,
            x,
            y,
            w: weights,
            offset,
            terms,
            by_level,
            nu,
            nagq,
            nodes: gauss_hermite(nagq),
        };
        // θ starts at the identity factor of each term; lower bound 0 on diagonals.
        let mut theta0 = vec![0.0; ntheta];
        let mut lower = vec![f64::NEG_INFINITY; ntheta + p];
        for t in &problem.terms {
            for d in diagonal_positions(t.q) {
                theta0[t.theta_at + d] = 1.0;
                lower[t.theta_at + d] = 0.0;
            }
        }
        let beta0 = glm.0.clone();
        let scale: Vec<f64> = (0..p).map(|j| glm.1[(j, j)].sqrt().max(1e-8)).collect();
        let modes = RefCell::new(DVector::<f64>::zeros(nu));
        let evaluations = RefCell::new(0usize);
        let split = |phi: &[f64]| -> (Vec<f64>, DVector<f64>) {
            let theta = phi[..ntheta].to_vec();
            let beta =
                DVector::from_iterator(p, (0..p).map(|j| beta0[j] + scale[j] * phi[ntheta + j]));
            (theta, beta)
        };
        let progress = crate::progress::Progress::new("fitting the GLMM", "evaluations", None);
        let objective = |phi: &[f64]| -> f64 {
            progress.tick();
            *evaluations.borrow_mut() += 1;
            let (theta, beta) = split(phi);
            problem.criterion(&theta, &beta, &mut modes.borrow_mut())
        };
        let upper = vec![f64::INFINITY; ntheta + p];
        let mut phi: Vec<f64> = theta0
            .iter()
            .copied()
            .chain(std::iter::repeat_n(0.0, p))
            .collect();
        let mut config = bobyqa::Config::new(ntheta + p);
        config.rho_begin = 0.2;
        config.rho_end = 1e-8;
        config.max_fun = 20_000;
        let mut solver = bobyqa::Bobyqa::new(ntheta + p, config)
            .map_err(|e| Error::Numerical(format!("optimizer set-up failed: {e}")))?;
        let outcome = solver.minimize(&objective, &mut phi, &lower, &upper);
        if !outcome.found_finite() {
            return Err(Error::Numerical(
                "the optimizer found no parameters with a finite criterion".into(),
            ));
        }
        let converged = matches!(
            outcome.status,
            bobyqa::Status::Converged | bobyqa::Status::FtolReached
        );
        let (theta, beta) = split(&phi);
        let minus2loglik = objective(&phi);
        let u = modes.borrow().clone();
        // Hessian of the criterion over (θ, β) in the natural scale, central differences.
        let k = ntheta + p;
        let point: Vec<f64> = theta.iter().copied().chain(beta.iter().copied()).collect();
        let eval = |v: &[f64]| -> f64 {
            let b = DVector::from_column_slice(&v[ntheta..]);
            let mut start = u.clone();
            problem.criterion(&v[..ntheta], &b, &mut start)
        };
        // Steps: 1e-4 for θ (lme4's `deriv12` step), and for each β a thousandth of its SE
        // from the PIRLS weights, so that the Hessian, and the SEs from it, do not depend on the
        // units of a predictor (an absolute step in β is 1e-4 of a coefficient of 1e-8 or of
        // 1e8 alike).
        let steps: Vec<f64> = (0..k)
            .map(|a| {
                if a < ntheta {
                    1e-4
                } else {
                    let se = glm.1[(a - ntheta, a - ntheta)].sqrt();
                    if se.is_finite() && se > 0.0 {
                        1e-3 * se
                    } else {
                        1e-4
                    }
                }
            })
            .collect();
        let mut hess = DMatrix::<f64>::zeros(k, k);
        let f0 = eval(&point);
        let shifted = |moves: &[(usize, f64)]| -> f64 {
            let mut v = point.clone();
            for &(i, d) in moves {
                v[i] += d;
            }
            eval(&v)
        };
        for a in 0..k {
            let ha = steps[a];
            let (fp, fm) = (shifted(&[(a, ha)]), shifted(&[(a, -ha)]));
            hess[(a, a)] = (fp - 2.0 * f0 + fm) / (ha * ha);
            for b in 0..a {
                let hb = steps[b];
                let v = (shifted(&[(a, ha), (b, hb)])
                    - shifted(&[(a, ha), (b, -hb)])
                    - shifted(&[(a, -ha), (b, hb)])
                    + shifted(&[(a, -ha), (b, -hb)]))
                    / (4.0 * ha * hb);
                hess[(a, b)] = v;
                hess[(b, a)] = v;
            }
        }
        let mut diagnostics = start_notes;
        let on_boundary = |i: usize| i < ntheta && lower[i] == 0.0 && theta[i] < 1e-4;
        let singular = (0..ntheta).any(on_boundary);
        if singular {
            diagnostics.push(
                "boundary (singular) fit: a random-effect variance is estimated at or near zero"
                    .into(),
            );
        }
        if !converged {
            diagnostics.push(format!(
                "the optimizer stopped before converging: {}",
                outcome.status
            ));
        }
        // On the boundary the θ rows are dropped before inverting (the derivatives there are
        // one-sided); the β block of 2 H⁻¹ is the covariance.
        let keep: Vec<usize> = (0..k).filter(|&i| !on_boundary(i)).collect();
        let hk = hess.select_rows(&keep).select_columns(&keep);
        let vcov_full = hk.clone().try_inverse().map(|m| m * 2.0);
        let vb = match vcov_full {
            Some(v) if (0..v.nrows()).all(|i| v[(i, i)] > 0.0) => {
                let off = keep.len() - p;
                let m = v.view((off, off), (p, p)).clone_owned();
                (&m + m.transpose()) * 0.5
            }
            _ => {
                diagnostics.push("the Hessian of the criterion is not positive definite: standard errors from the final PIRLS weights".into());
                glm.1.clone()
            }
        };
        let coefficients = names
            .iter()
            .enumerate()
            .map(|(j, name)| Coefficient::at(name, beta[j], vb[(j, j)].sqrt(), f64::INFINITY, 0.95))
            .collect();
        let hinv = problem.mode_covariance(&theta, &beta, &u);
        if hinv.is_none() {
            diagnostics.push(
                "the conditional variances of the random effects could not be computed".into(),
            );
        }
        let ts = problem.factors(&theta);
        let mut ranef = Vec::with_capacity(reterms.len());
        let mut ranef_covariance = Vec::with_capacity(reterms.len());
        let mut block_base = 0;
        for ((re, td), t) in reterms.iter().zip(&problem.terms).zip(&ts) {
            let q = td.q;
            let cov = t * t.transpose();
            ranef_covariance.push(
                cov.row_iter()
                    .map(|r| r.iter().copied().collect())
                    .collect(),
            );
            // Flat, level by level: q modes and a q × q row-major covariance per level.
            let mut modes = Vec::with_capacity(re.nlevels() * q);
            let mut cond_var = Vec::with_capacity(re.nlevels() * q * q);
            for l in 0..re.nlevels() {
                let at = td.start + l * q;
                let ul = DVector::from_column_slice(&u.as_slice()[at..at + q]);
                modes.extend((t * ul).iter());
                let cv = match &hinv {
                    Some(blocks) => t * &blocks[block_base + l] * t.transpose(),
                    None => DMatrix::from_element(q, q, f64::NAN),
                };
                cond_var.extend(cv.transpose().iter());
            }
            block_base += re.nlevels();
            ranef.push(RandomEffects::new(
                re.group.clone(),
                re.effects.clone(),
                std::sync::Arc::clone(&re.levels),
                modes,
                cond_var,
            ));
        }
        let npar = (p + ntheta) as f64;
        Ok(GlmmFit {
            formula: formula.to_string(),
            family,
            nagq,
            coefficients,
            vcov: vb.row_iter().map(|r| r.iter().copied().collect()).collect(),
            theta,
            ranef,
            ranef_covariance,
            minus2loglik,
            aic: minus2loglik + 2.0 * npar,
            bic: minus2loglik + (n as f64).ln() * npar,
            nobs: n,
            singular,
            converged,
            evaluations: *evaluations.borrow(),
            missing,
            diagnostics,
            model: Some(model),
        })
    }
}

impl GlmmFit {
    /// The model matrix and design kept for probing.
    pub(crate) fn model(&self) -> Result<&Model> {
        self.model.as_ref().ok_or_else(|| {
            Error::Model(
                "probing needs the model matrix, which a fit read back from JSON does not carry: refit the model".into(),
            )
        })
    }
}
