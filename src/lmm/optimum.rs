//! Minimizing the profiled criterion over θ, and making sure the minimum is one.
//!
//! One θ: Brent's bracketed search. One random term with a vector of effects (q ≥ 2): BFGS
//! with finite-difference gradients, unconstrained by the sign symmetry of the factor's
//! columns, handing over to BOBYQA when it fails or ends near the boundary. Otherwise BOBYQA
//! (Powell 2009; the `bobyqa` crate's PRIMA port) minimizes the criterion under lme4's
//! bounds (diagonal elements of each relative factor ≥ 0). With vector-valued random effects the
//! criterion can have several local minima on different faces of the boundary (a factor's first
//! diagonal element at 0 removes that effect's whole variance, where the better optimum may lose
//! a later one instead), and a search can stop at a saddle. So for models with a random term of
//! two or more effects, the optimum is checked as lme4's `checkConv` checks it — the gradient
//! scaled by the Cholesky factor of the Hessian (finite differences, on the parameters not at
//! their bound) below 0.002, the Hessian positive definite — and when the check fails, or the
//! fit is on the boundary, the search is restarted from two other starts (the boundary
//! elements released to 1, and lme4's start scaled by ½). The best optimum is kept, and the
//! fit's diagnostics say what was done.

use super::structure::Structure;
use super::{Criterion, FitOptions, Optimization, Optimizer};
use crate::error::{Error, Result};

/// lme4's tolerance for the scaled gradient (`check.conv.grad`).
const GRADIENT_TOL: f64 = 0.002;
/// A diagonal θ element below this is on the boundary (lme4's `isSingular` tolerance).
const BOUNDARY_TOL: f64 = 1e-4;
/// Finite-difference step in θ (lme4's `deriv12` uses 1e-4).
const STEP: f64 = 1e-4;

/// One BOBYQA run.
struct Run {
    theta: Vec<f64>,
    objective: f64,
    evaluations: usize,
    converged: bool,
    message: String,
}

fn bobyqa(
    s: &Structure,
    criterion: Criterion,
    start: Vec<f64>,
    options: &FitOptions,
) -> Result<Run> {
    let n = s.ntheta();
    let lower = s.lower_bounds();
    let upper = vec![f64::INFINITY; n];
    let mut theta = start;
    let mut config = bobyqa::Config::new(n);
    config.rho_begin = options.rho_begin.max(options.rho_end);
    config.rho_end = options.rho_end;
    config.max_fun = options.max_evaluations.unwrap_or(20_000.max(1000 * n));
    config.ftol_abs = options.ftol_abs;
    let mut solver = bobyqa::Bobyqa::new(n, config)
        .map_err(|e| Error::Numerical(format!("optimizer set-up failed: {e}")))?;
    let mut ws = super::objective::Workspace::new(s);
    let progress = crate::progress::Progress::new("fitting the mixed model", "evaluations", None);
    let outcome = solver.minimize(
        |t| {
            progress.tick();
            s.objective_with(t, criterion, &mut ws)
        },
        &mut theta,
        &lower,
        &upper,
    );
    if !outcome.found_finite() {
        return Err(Error::Numerical(
            "the optimizer found no θ with a finite objective".into(),
        ));
    }
    let objective = s.objective_with(&theta, criterion, &mut ws);
    Ok(Run {
        theta,
        objective,
        evaluations: outcome.n_eval,
        converged: matches!(
            outcome.status,
            bobyqa::Status::Converged | bobyqa::Status::FtolReached
        ),
        message: outcome.status.to_string(),
    })
}

/// Relative tolerance in θ of the one-dimensional search (√ε: below it the criterion is flat
/// to rounding).
const BRENT_RTOL: f64 = 1e-7;
/// Absolute part of that tolerance.
const BRENT_ATOL: f64 = 1e-9;
/// The one-dimensional search also ends on a parabolic step that changes the criterion by
/// less than this (lme4's NLopt BOBYQA stops at changes below 1e-8).
const BRENT_FTOL: f64 = 1e-10;
/// Below this θ the search stops at the bound 0 (a hundredth of lme4's singularity tolerance).
const BRENT_BOUNDARY: f64 = 1e-6;
/// The bracket search gives up beyond this θ (σ_b / σ of 10⁸: the residual variance is gone).
const BRENT_MAX_THETA: f64 = 1e8;

/// One scalar θ ≥ 0: bracket the minimum from the start, then Brent's (1973, ch. 5) search —
/// golden-section steps with parabolic interpolation — to a relative width of √ε. The bound
/// θ = 0 is evaluated first and kept when nothing above it is lower (a singular fit).
fn brent(s: &Structure, criterion: Criterion, start: f64, options: &FitOptions) -> Result<Run> {
    let mut ws = super::objective::Workspace::new(s);
    let budget = options.max_evaluations.unwrap_or(1000);
    let mut evaluations = 0;
    let mut f = |t: f64| {
        evaluations += 1;
        s.objective_with(&[t], criterion, &mut ws)
    };
    let f0 = f(0.0);
    let mut b = if start > 0.0 && start.is_finite() {
        start
    } else {
        1.0
    };
    let mut fb = f(b);
    if !f0.is_finite() && !fb.is_finite() {
        return Err(Error::Numerical(
            "the optimizer found no θ with a finite objective".into(),
        ));
    }
    // Bracket: a < b < c with f(b) below both ends (or the lower end at the bound 0).
    let (mut a, mut fa, mut c, mut fc) = (0.0, f0, b, fb);
    let mut bracketed = true;
    let mut at_bound = false;
    if fb < f0 {
        loop {
            c = b * 2.0;
            fc = f(c);
            if fc >= fb || !fc.is_finite() {
                break;
            }
            (a, fa) = (b, fb);
            (b, fb) = (c, fc);
            if b > BRENT_MAX_THETA {
                bracketed = false;
                break;
            }
        }
    } else {
        // The minimum lies in [0, c]: step down by tenths until a point falls below f(0),
        // which brackets it; none above BRENT_BOUNDARY means the optimum is at the bound.
        loop {
            let x = 0.1 * c;
            if x < BRENT_BOUNDARY {
                at_bound = true;
                break;
            }
            let fx = f(x);
            if fx < f0 {
                (b, fb) = (x, fx);
                break;
            }
            (c, fc) = (x, fx);
        }
    }
    let (theta, objective, converged, message) = if at_bound {
        (
            0.0,
            f0,
            true,
            format!(
                "converged at the bound θ = 0: nothing above it down to {BRENT_BOUNDARY:e} is lower"
            ),
        )
    } else if !bracketed {
        (
            b,
            fb,
            false,
            format!("no minimum below θ = {BRENT_MAX_THETA:e}: the criterion still decreases"),
        )
    } else {
        let tol = crate::brent::Tolerance {
            rtol: BRENT_RTOL,
            atol: BRENT_ATOL,
            ftol: Some(BRENT_FTOL),
            budget,
        };
        let (x, fx, converged) =
            crate::brent::minimize_bracketed(&mut f, [(a, fa), (b, fb), (c, fc)], tol);
        let message = if converged {
            "converged: the bracket is narrower than its tolerance".to_string()
        } else {
            format!("stopped after {budget} evaluations")
        };
        if f0 <= fx {
            (0.0, f0, converged, message)
        } else {
            (x, fx, converged, message)
        }
    };
    Ok(Run {
        theta: vec![theta],
        objective,
        evaluations,
        converged,
        message,
    })
}

/// Most iterations of the quasi-Newton search.
const QN_MAX_ITER: usize = 200;
/// Relative finite-difference step for its gradient (central differences: truncation error
/// ~1e-10, rounding ~ε|f|/h).
const QN_STEP: f64 = 1e-5;
/// A diagonal θ element closer to 0 than this at the quasi-Newton optimum hands the fit to
/// BOBYQA, which handles the bound (a singular or nearly singular fit).
const QN_BOUNDARY: f64 = 1e-3;

/// Quasi-Newton (BFGS, Nocedal & Wright 2006, alg. 6.1) with central-difference gradients
/// and a backtracking Armijo line search, unconstrained: the profiled criterion depends on Λ
/// only through ΛΛᵀ, so a column of a relative factor with a negative diagonal element is the
/// same model with that column negated, and the optimum is mapped back to lme4's
/// parameterization (diagonals ≥ 0) at the end. Returns `None` (the caller uses BOBYQA) when
/// the search fails or ends near the boundary, where the bound matters.
fn quasi_newton(
    s: &Structure,
    criterion: Criterion,
    start: &[f64],
    options: &FitOptions,
) -> std::result::Result<Run, usize> {
    let n = start.len();
    let budget = options.max_evaluations.unwrap_or(20_000.max(1000 * n));
    let mut ws = super::objective::Workspace::new(s);
    let evaluations = std::cell::Cell::new(0usize);
    let mut f = |t: &[f64]| {
        evaluations.set(evaluations.get() + 1);
        s.objective_with(t, criterion, &mut ws)
    };
    let fail = || evaluations.get();
    let mut x = start.to_vec();
    let mut fx = f(&x);
    if !fx.is_finite() {
        return Err(fail());
    }
    // Forward differences (n evaluations, error ~1e-5 relative to the curvature) while the
    // gradient is large; central differences (2n, error ~1e-10) near the optimum.
    let gradient =
        |x: &[f64], fx: f64, central: bool, f: &mut dyn FnMut(&[f64]) -> f64| -> Option<Vec<f64>> {
            let mut g = vec![0.0; x.len()];
            let mut p = x.to_vec();
            for i in 0..x.len() {
                let h = QN_STEP * x[i].abs().max(1.0);
                p[i] = x[i] + h;
                let fp = f(&p);
                g[i] = if central {
                    p[i] = x[i] - h;
                    (fp - f(&p)) / (2.0 * h)
                } else {
                    (fp - fx) / h
                };
                p[i] = x[i];
                if !g[i].is_finite() {
                    return None;
                }
            }
            Some(g)
        };
    let far = |g: &[f64], fx: f64| {
        g.iter().fold(0.0_f64, |m, v| m.max(v.abs())) > 1e-4 * (1.0 + fx.abs())
    };
    let mut g = gradient(&x, fx, false, &mut f).ok_or_else(fail)?;
    let mut central = !far(&g, fx);
    if central {
        g = gradient(&x, fx, true, &mut f).ok_or_else(fail)?;
    }
    // Inverse Hessian approximation, row-major n × n.
    let mut hinv = vec![0.0; n * n];
    for i in 0..n {
        hinv[i * n + i] = 1.0;
    }
    let mut first = true;
    let mut converged = false;
    for _ in 0..QN_MAX_ITER {
        let gmax = g.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        if central && gmax < 1e-8 * (1.0 + fx.abs()) {
            converged = true;
            break;
        }
        let d: Vec<f64> = (0..n)
            .map(|i| -(0..n).map(|j| hinv[i * n + j] * g[j]).sum::<f64>())
            .collect();
        let slope: f64 = d.iter().zip(&g).map(|(a, b)| a * b).sum();
        if slope.is_nan() || slope >= 0.0 {
            return Err(fail());
        }
        // The first step is scaled to move θ by at most 0.5.
        let dmax = d.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let mut alpha = if first { (0.5 / dmax).min(1.0) } else { 1.0 };
        let mut next = None;
        for _ in 0..40 {
            let xn: Vec<f64> = x.iter().zip(&d).map(|(a, b)| a + alpha * b).collect();
            let fnew = f(&xn);
            if fnew.is_finite() && fnew <= fx + 1e-4 * alpha * slope {
                next = Some((xn, fnew));
                break;
            }
            alpha *= 0.5;
        }
        let (xn, fnew) = next.ok_or_else(fail)?;
        let mut gn = gradient(&xn, fnew, central, &mut f).ok_or_else(fail)?;
        if !central && !far(&gn, fnew) {
            central = true;
            gn = gradient(&xn, fnew, true, &mut f).ok_or_else(fail)?;
        }
        let sk: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
        let yk: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy: f64 = sk.iter().zip(&yk).map(|(a, b)| a * b).sum();
        let small_step = sk
            .iter()
            .zip(&xn)
            .all(|(d, v)| d.abs() <= 1e-10 * v.abs().max(1.0));
        let small_change = fx - fnew <= 1e-14 * (1.0 + fx.abs());
        x = xn;
        fx = fnew;
        g = gn;
        if central && small_step && small_change {
            converged = true;
            break;
        }
        if sy > 1e-12 {
            if first {
                // Nocedal & Wright (6.20): scale the initial matrix before the first update.
                let yy: f64 = yk.iter().map(|v| v * v).sum();
                let scale = sy / yy;
                for v in hinv.iter_mut() {
                    *v *= scale;
                }
                first = false;
            }
            // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ.
            let rho = 1.0 / sy;
            let hy: Vec<f64> = (0..n)
                .map(|i| (0..n).map(|j| hinv[i * n + j] * yk[j]).sum())
                .collect();
            let yhy: f64 = yk.iter().zip(&hy).map(|(a, b)| a * b).sum();
            for i in 0..n {
                for j in 0..n {
                    hinv[i * n + j] += -rho * (hy[i] * sk[j] + sk[i] * hy[j])
                        + (rho * rho * yhy + rho) * sk[i] * sk[j];
                }
            }
        }
        if evaluations.get() > budget {
            return Err(fail());
        }
    }
    if !converged {
        return Err(fail());
    }
    // Back to lme4's parameterization: each factor column with a negative diagonal negated.
    let mut at = 0;
    for term in &s.terms {
        let q = term.q();
        for c in 0..q {
            let len = q - c;
            if x[at] < 0.0 {
                for v in &mut x[at..at + len] {
                    *v = -*v;
                }
            }
            if x[at] < QN_BOUNDARY {
                return Err(fail());
            }
            at += len;
        }
    }
    let objective = s.objective_with(&x, criterion, &mut super::objective::Workspace::new(s));
    Ok(Run {
        theta: x,
        objective,
        evaluations: evaluations.get(),
        converged: true,
        message: "quasi-Newton (BFGS) converged: the gradient or the step vanished".into(),
    })
}

/// What the check of an optimum found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Check {
    /// Some diagonal θ element is at (or within 1e-4 of) its bound 0.
    pub(crate) on_boundary: bool,
    /// Largest component of the gradient scaled by the Hessian's Cholesky factor, over the
    /// parameters not at their bound (`None` if the Hessian is not positive definite).
    pub(crate) scaled_gradient: Option<f64>,
    /// Largest absolute gradient component over those parameters.
    pub(crate) gradient: f64,
}

impl Check {
    fn passes(&self) -> bool {
        !self.on_boundary && self.scaled_gradient.is_some_and(|g| g < GRADIENT_TOL)
    }
}

/// Gradient and Hessian of the criterion at θ by central differences over the free
/// parameters (those not at their lower bound).
pub(crate) fn check(s: &Structure, criterion: Criterion, theta: &[f64]) -> Check {
    let lower = s.lower_bounds();
    let at_bound: Vec<bool> = theta
        .iter()
        .zip(&lower)
        .map(|(&t, &lb)| lb == 0.0 && t < BOUNDARY_TOL)
        .collect();
    let free: Vec<usize> = (0..theta.len()).filter(|&i| !at_bound[i]).collect();
    let mut ws = super::objective::Workspace::new(s);
    let mut f = |t: &[f64]| s.objective_with(t, criterion, &mut ws);
    let f0 = f(theta);
    let k = free.len();
    let mut grad = vec![0.0; k];
    let mut hess = nalgebra::DMatrix::<f64>::zeros(k, k);
    let mut point = theta.to_vec();
    let mut at = |moves: &[(usize, f64)], f: &mut dyn FnMut(&[f64]) -> f64| {
        for &(i, d) in moves {
            point[i] += d;
        }
        let v = f(&point);
        for &(i, d) in moves {
            point[i] -= d;
        }
        v
    };
    for (a, &i) in free.iter().enumerate() {
        let (fp, fm) = (at(&[(i, STEP)], &mut f), at(&[(i, -STEP)], &mut f));
        grad[a] = (fp - fm) / (2.0 * STEP);
        hess[(a, a)] = (fp - 2.0 * f0 + fm) / (STEP * STEP);
        for (b, &j) in free.iter().enumerate().take(a) {
            let pp = at(&[(i, STEP), (j, STEP)], &mut f);
            let pm = at(&[(i, STEP), (j, -STEP)], &mut f);
            let mp = at(&[(i, -STEP), (j, STEP)], &mut f);
            let mm = at(&[(i, -STEP), (j, -STEP)], &mut f);
            let h = (pp - pm - mp + mm) / (4.0 * STEP * STEP);
            hess[(a, b)] = h;
            hess[(b, a)] = h;
        }
    }
    let gradient = grad.iter().fold(0.0_f64, |m, g| m.max(g.abs()));
    let scaled_gradient = if k == 0 {
        Some(0.0)
    } else {
        nalgebra::Cholesky::new(hess).map(|c| {
            // lme4: solve(chol(H), g) with chol(H) upper triangular = Lᵀ.
            let g = nalgebra::DVector::from_vec(grad);
            let x = c.l().transpose().solve_upper_triangular(&g).unwrap_or(g);
            x.iter().fold(0.0_f64, |m, v| m.max(v.abs()))
        })
    };
    Check {
        on_boundary: at_bound.iter().any(|&b| b),
        scaled_gradient,
        gradient,
    }
}

/// Minimize the criterion; for models with a vector-valued random term, check the optimum and
/// restart where it fails or lies on the boundary (see the module docs).
pub(crate) fn optimize(
    s: &Structure,
    criterion: Criterion,
    options: &FitOptions,
) -> Result<(Vec<f64>, Optimization)> {
    let first_start = options.start.clone().unwrap_or_else(|| s.initial_theta());
    let one_dimensional = first_start.len() == 1 && s.lower_bounds()[0] == 0.0;
    let use_brent = one_dimensional && options.optimizer == Optimizer::Auto;
    // One random term with a vector of effects (sleepstudy's (Days | Subject)): BFGS, whose
    // bookkeeping is negligible next to BOBYQA's for a few θ. Several terms (crossed designs,
    // where each evaluation is expensive and BOBYQA needs fewer) keep BOBYQA.
    let try_qn = !one_dimensional
        && options.optimizer == Optimizer::Auto
        && s.terms.len() == 1
        && first_start.len() <= 10;
    let mut used = if use_brent { "Brent" } else { "BOBYQA" };
    let mut spent = 0;
    let qn = if try_qn {
        quasi_newton(s, criterion, &first_start, options)
    } else {
        Err(0)
    };
    let mut best = match qn {
        Ok(run) => {
            used = "BFGS";
            run
        }
        Err(n) => {
            // The quasi-Newton search gave up (or ended near the boundary): its evaluations
            // count.
            spent = n;
            if use_brent {
                brent(s, criterion, first_start[0], options)?
            } else {
                bobyqa(s, criterion, first_start, options)?
            }
        }
    };
    let mut evaluations = best.evaluations + spent;
    let mut checks = Vec::new();
    let mut restarts = 0;
    let vector_terms = s.terms.iter().any(|t| t.q() >= 2);
    let mut final_check = None;
    if vector_terms && options.check_optimum {
        let c = check(s, criterion, &best.theta);
        if c.passes() {
            final_check = Some(c);
        } else {
            let why = if c.on_boundary {
                "is on the boundary".to_string()
            } else {
                match c.scaled_gradient {
                    Some(g) => format!("has a scaled gradient of {g:.2e} (above {GRADIENT_TOL})"),
                    None => "has a Hessian that is not positive definite".to_string(),
                }
            };
            let released: Vec<f64> = best
                .theta
                .iter()
                .zip(s.lower_bounds())
                .map(|(&t, lb)| {
                    if lb == 0.0 && t < BOUNDARY_TOL {
                        1.0
                    } else {
                        t
                    }
                })
                .collect();
            let mut starts: Vec<(&str, Vec<f64>)> = Vec::new();
            if c.on_boundary {
                starts.push(("the boundary elements released", released));
            }
            starts.push((
                "lme4's start scaled by 1/2",
                s.initial_theta().iter().map(|t| t * 0.5).collect(),
            ));
            if options.start.is_some() {
                starts.push(("lme4's start", s.initial_theta()));
            }
            let first_objective = best.objective;
            let mut won: Option<&str> = None;
            for (name, start) in starts {
                let run = bobyqa(s, criterion, start, options)?;
                restarts += 1;
                evaluations += run.evaluations;
                if run.objective < best.objective - 1e-9 * (1.0 + best.objective.abs()) {
                    best = run;
                    won = Some(name);
                }
            }
            let label = criterion.name();
            checks.push(match won {
                Some(name) => format!(
                    "the first optimum ({label} {first_objective:.4}) {why}; of {restarts} restarts, the one from {name} reached a lower {label} ({:.4}), which is kept",
                    best.objective
                ),
                None => format!(
                    "the first optimum ({label} {first_objective:.4}) {why}; {restarts} restarts from other starts found nothing lower"
                ),
            });
            final_check = Some(check(s, criterion, &best.theta));
        }
    }
    if let Some(c) = &final_check
        && !c.on_boundary
    {
        match c.scaled_gradient {
                Some(g) if g >= GRADIENT_TOL => checks.push(format!(
                    "the optimizer may not have converged: the scaled gradient is {g:.2e} (lme4 warns above {GRADIENT_TOL})"
                )),
                None => checks.push(
                    "the Hessian of the criterion is not positive definite at the optimum: the model may be nearly unidentifiable"
                        .into(),
                ),
                _ => {}
            }
    }
    let optimization = Optimization {
        optimizer: used.into(),
        evaluations,
        converged: best.converged,
        message: best.message.clone(),
        restarts,
        max_scaled_gradient: final_check.as_ref().and_then(|c| c.scaled_gradient),
        max_gradient: final_check.as_ref().map(|c| c.gradient),
        checks,
    };
    Ok((best.theta, optimization))
}
