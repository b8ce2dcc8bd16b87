//! Generalized linear mixed models with one grouping factor (R's `lme4::glmer`): the Laplace
//! approximation (Bates et al. 2015; Pinheiro & Bates 1995) and, for a scalar random effect,
//! adaptive Gauss–Hermite quadrature.
//!
//! With spherical random effects u ~ N(0, I), b = Λ_θ u, the marginal likelihood factors over
//! the levels of the grouping factor. For each level the conditional mode u* minimizes
//! h(u) = −2 log p(y | u) + ‖u‖² (penalized IRLS: Fisher-scoring steps with step halving), and
//! the Laplace approximation is −2 log L ≈ h(u*) + log |H|, H = I + Σ Wᵢ (Tᵀzᵢ)(Tᵀzᵢ)ᵀ with the
//! working weights at u*. With K > 1 quadrature points (q = 1 only) the integral
//! ∫ exp(−h(u)/2) du / √(2π) is evaluated on the Gauss–Hermite nodes centred at u* and scaled
//! by H^(−1/2). The criterion is minimized jointly over θ and β by BOBYQA (β scaled by its GLM
//! standard errors), and the covariance of β̂ is the β block of 2 H⁻¹ for the finite-difference
//! Hessian H of the criterion over (θ, β), as lme4's default `vcov` (`use.hessian = TRUE`).

use super::family::Family;
use super::fit::{Prepared, prepare};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::formula::Missingness;
use crate::stats::Coefficient;
use nalgebra::{DMatrix, DVector};
use std::cell::RefCell;

/// A fitted generalized linear mixed model.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    /// lme4's θ: the lower triangle of the relative covariance factor, column by column.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub theta: Vec<f64>,
    /// The grouping factor.
    pub group: String,
    /// The random effects' names (`(Intercept)`, slopes).
    pub effects: Vec<String>,
    /// Covariance matrix of the random effects (Λ Λᵀ; the dispersion is 1).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub ranef_covariance: Vec<Vec<f64>>,
    /// −2 log L (the full likelihood, binomial coefficients and factorials included).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub minus2loglik: f64,
    /// AIC = −2 log L + 2 (p + length of θ).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub aic: f64,
    /// BIC = −2 log L + log(n) (p + length of θ).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub bic: f64,
    /// Conditional modes b = Λ u* per level: (level, values per effect).
    pub ranef: Vec<(String, Vec<f64>)>,
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
}

/// One grouping factor's data, rows grouped by level.
struct Problem {
    family: Family,
    x: DMatrix<f64>,
    y: DVector<f64>,
    w: Vec<f64>,
    offset: DVector<f64>,
    z: DMatrix<f64>,
    by_level: Vec<Vec<usize>>,
    q: usize,
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

impl Problem {
    /// −2 log p(y | u) of a level's rows and the rows' (Tᵀz, working weight, score) at u.
    fn level_terms(
        &self,
        rows: &[usize],
        t: &DMatrix<f64>,
        beta: &DVector<f64>,
        u: &DVector<f64>,
    ) -> Option<(f64, DMatrix<f64>, DVector<f64>)> {
        let q = self.q;
        let f = self.family;
        let mut m2ll = 0.0;
        let mut h = DMatrix::<f64>::identity(q, q);
        let mut g = -u.clone();
        for &i in rows {
            let zt = t.transpose() * self.z.row(i).transpose();
            let eta = (self.x.row(i) * beta)[(0, 0)] + self.offset[i] + zt.dot(u);
            let mu = f.link_inv(eta);
            let d = f.mu_eta(eta);
            let v = f.variance(mu);
            m2ll -= 2.0 * f.loglik(self.y[i], mu, self.w[i]);
            let wt = self.w[i] * d * d / v;
            h += &zt * zt.transpose() * wt;
            g += &zt * (self.w[i] * (self.y[i] - mu) * d / v);
        }
        m2ll.is_finite().then_some((m2ll, h, g))
    }

    /// The conditional mode of one level from `u`, by Fisher scoring with step halving.
    fn mode(
        &self,
        rows: &[usize],
        t: &DMatrix<f64>,
        beta: &DVector<f64>,
        u: &mut DVector<f64>,
    ) -> Option<()> {
        let (mut m2ll, mut h, mut g) = self.level_terms(rows, t, beta, u)?;
        for _ in 0..100 {
            let step = h.clone().cholesky()?.solve(&g);
            let obj = m2ll + u.norm_squared();
            let mut s = 1.0;
            let mut moved = false;
            for _ in 0..30 {
                let cand = &*u + &step * s;
                if let Some((m, hh, gg)) = self.level_terms(rows, t, beta, &cand)
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
                return Some(());
            }
        }
        Some(())
    }

    /// The criterion at (θ, β), the modes `u` updated in place (and used as starts).
    fn criterion(&self, theta: &[f64], beta: &DVector<f64>, u: &mut [DVector<f64>]) -> f64 {
        let t = lower_factor(theta, self.q);
        let mut total = 0.0;
        for (rows, uj) in self.by_level.iter().zip(u.iter_mut()) {
            if self.mode(rows, &t, beta, uj).is_none() {
                return f64::INFINITY;
            }
            let Some((m2ll, h, _)) = self.level_terms(rows, &t, beta, uj) else {
                return f64::INFINITY;
            };
            let Some(chol) = h.clone().cholesky() else {
                return f64::INFINITY;
            };
            let logdet: f64 = chol.l().diagonal().iter().map(|d| 2.0 * d.ln()).sum();
            let hstar = m2ll + uj.norm_squared();
            if self.nagq <= 1 {
                total += hstar + logdet;
            } else {
                // ∫ e^(−h(u)/2) du/√(2π) on nodes u* + √2 σ x_k, σ = H^(−1/2).
                let sigma = (-0.5 * logdet).exp();
                let mut sum = 0.0;
                for &(x, wk) in &self.nodes {
                    let uk = DVector::from_element(1, uj[0] + std::f64::consts::SQRT_2 * sigma * x);
                    let Some((m, _, _)) = self.level_terms(rows, &t, beta, &uk) else {
                        return f64::INFINITY;
                    };
                    let hk = m + uk[0] * uk[0];
                    sum += wk * (x * x).exp() * (-0.5 * (hk - hstar)).exp();
                }
                let scale = std::f64::consts::SQRT_2 * sigma / (2.0 * std::f64::consts::PI).sqrt();
                total += hstar - 2.0 * (scale * sum).ln();
            }
        }
        total
    }
}

impl super::Glm {
    /// Fit a generalized linear mixed model with one grouping factor, as
    /// `glmer(formula, family, nAGQ = nagq)`: `nagq = 1` is the Laplace approximation; more
    /// points (adaptive Gauss–Hermite quadrature) need a scalar random effect, `(1 | g)`.
    ///
    /// The reported −2 log L is the full likelihood. lme4 reports the same for `nAGQ = 1`;
    /// for `nAGQ > 1` its `logLik()` leaves out the saturated model's log-likelihood
    /// (Σ log p(yᵢ | μᵢ = yᵢ)), so it is lower by −2 times that sum; the estimates agree.
    ///
    /// # Errors
    /// As [`super::Glm::fit`] for the data and formula; [`Error::Model`] for no random term,
    /// more than one, or `nagq > 1` with a vector random effect; [`Error::Argument`] for
    /// `nagq` of 0 or above 25.
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
        if random.len() != 1 {
            return Err(Error::Model(format!(
                "'{formula}' has {} random-effect terms; generalized linear mixed models take one grouping factor here",
                random.len()
            )));
        }
        let term = crate::lmm::build_term(&random[0], &data, &rows, design.transforms())?;
        let q = term.q();
        if nagq > 1 && q > 1 {
            return Err(Error::Model(format!(
                "adaptive quadrature (nagq = {nagq}) needs a scalar random effect such as (1 | {}); this term has {q}",
                term.group
            )));
        }
        let mut by_level = vec![Vec::new(); term.nlevels()];
        for (i, &c) in term.codes.iter().enumerate() {
            by_level[c as usize].push(i);
        }
        let names = design.column_names().to_vec();
        let p = x.ncols();
        let n = rows.len();
        let glm = super::fit::irls_public(&x, &y, &weights, &offset, family, &names)?;
        let problem = Problem {
            family,
            x,
            y,
            w: weights,
            offset,
            z: term.z.clone(),
            by_level,
            q,
            nagq,
            nodes: gauss_hermite(nagq),
        };
        let ntheta = q * (q + 1) / 2;
        let theta0: Vec<f64> = (0..q)
            .flat_map(|c| (c..q).map(move |r| if r == c { 1.0 } else { 0.0 }))
            .collect();
        let beta0 = glm.0.clone();
        let scale: Vec<f64> = (0..p).map(|j| glm.1[(j, j)].sqrt().max(1e-8)).collect();
        let nl = problem.by_level.len();
        let modes = RefCell::new(vec![DVector::<f64>::zeros(q); nl]);
        let evaluations = RefCell::new(0usize);
        let split = |phi: &[f64]| -> (Vec<f64>, DVector<f64>) {
            let theta = phi[..ntheta].to_vec();
            let beta =
                DVector::from_iterator(p, (0..p).map(|j| beta0[j] + scale[j] * phi[ntheta + j]));
            (theta, beta)
        };
        let objective = |phi: &[f64]| -> f64 {
            *evaluations.borrow_mut() += 1;
            let (theta, beta) = split(phi);
            problem.criterion(&theta, &beta, &mut modes.borrow_mut())
        };
        let mut lower = vec![f64::NEG_INFINITY; ntheta + p];
        let mut at = 0;
        for c in 0..q {
            for r in c..q {
                if r == c {
                    lower[at] = 0.0;
                }
                at += 1;
            }
        }
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
        // Hessian of the criterion over (θ, β) in the natural scale, central differences.
        let k = ntheta + p;
        let point: Vec<f64> = theta.iter().copied().chain(beta.iter().copied()).collect();
        let eval = |v: &[f64]| -> f64 {
            let b = DVector::from_column_slice(&v[ntheta..]);
            let mut u = modes.borrow().clone();
            problem.criterion(&v[..ntheta], &b, &mut u)
        };
        let hstep = 1e-4;
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
            let (fp, fm) = (shifted(&[(a, hstep)]), shifted(&[(a, -hstep)]));
            hess[(a, a)] = (fp - 2.0 * f0 + fm) / (hstep * hstep);
            for b in 0..a {
                let v = (shifted(&[(a, hstep), (b, hstep)])
                    - shifted(&[(a, hstep), (b, -hstep)])
                    - shifted(&[(a, -hstep), (b, hstep)])
                    + shifted(&[(a, -hstep), (b, -hstep)]))
                    / (4.0 * hstep * hstep);
                hess[(a, b)] = v;
                hess[(b, a)] = v;
            }
        }
        let mut diagnostics = Vec::new();
        let singular = (0..q).any(|c| {
            let idx: usize = (0..c).map(|cc| q - cc).sum();
            theta[idx] < 1e-4
        });
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
        let keep: Vec<usize> = (0..k)
            .filter(|&i| !(i < ntheta && lower[i] == 0.0 && theta[i] < 1e-4))
            .collect();
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
        let t = lower_factor(&theta, q);
        let cov = &t * t.transpose();
        let u = modes.borrow().clone();
        let ranef = term
            .levels
            .iter()
            .zip(&u)
            .map(|(l, uj)| (l.clone(), (&t * uj).iter().copied().collect()))
            .collect();
        let npar = (p + ntheta) as f64;
        Ok(GlmmFit {
            formula: formula.to_string(),
            family,
            nagq,
            coefficients,
            vcov: vb.row_iter().map(|r| r.iter().copied().collect()).collect(),
            theta,
            group: term.group.clone(),
            effects: term.effects.clone(),
            ranef_covariance: cov
                .row_iter()
                .map(|r| r.iter().copied().collect())
                .collect(),
            minus2loglik,
            aic: minus2loglik + 2.0 * npar,
            bic: minus2loglik + (n as f64).ln() * npar,
            ranef,
            nobs: n,
            singular,
            converged,
            evaluations: *evaluations.borrow(),
            missing,
            diagnostics,
        })
    }
}
