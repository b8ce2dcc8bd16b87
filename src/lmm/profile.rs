//! Profile-likelihood confidence intervals for every parameter of a linear mixed model: each
//! random-effect SD and correlation, σ and each fixed effect (lme4's
//! `confint(method = "profile")`).
//!
//! As lme4 does, the profile is of the ML deviance (a REML fit is refitted by ML first),
//! −2 log L(ψ) = log|L_θ|² + n log(2πσ²) + r²(θ)/σ², with the variance parameters ψ on the
//! scale of SDs, correlations and σ (θ = chol(Σ)/σ) and β profiled out. For a parameter φ the
//! signed root ζ(φ) = sign(φ − φ̂) √(d(φ) − d(φ̂)), with d(φ) the deviance minimized over every
//! other parameter at that φ, is solved for ζ = ±z_{(1+level)/2} by secant steps safeguarded
//! by bisection (lme4 interpolates ζ by splines through a grid instead, which is off the exact
//! roots by up to 5e-5). A fixed effect's profile minimizes over θ the deviance with that
//! coefficient held, the other coefficients and σ profiled out in closed form; a variance
//! parameter's minimizes over the others by BOBYQA on a scaled copy. An SD whose profile stays below the cut-off down to 0 gets the lower limit 0,
//! a correlation ±1 likewise.

use super::structure::Structure;
use super::{Criterion, Ddf, FitOptions, LmmFit};
use crate::error::Result;
use nalgebra::{DMatrix, DVector};

/// One parameter's interval.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ProfileInterval {
    /// lme4's name: `.sig01`, `.sig02`, …, `.sigma`, then the fixed effects' names.
    pub name: String,
    /// What it is: `sd (Intercept) | Subject`, `cor Days, (Intercept) | Subject`, `sigma`, or
    /// the coefficient's name.
    pub label: String,
    /// The ML estimate the profile is centred on.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub estimate: f64,
    /// Lower limit.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub lower: f64,
    /// Upper limit.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub upper: f64,
}

/// Profile intervals of a fit.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Profile {
    /// The intervals, in lme4's order.
    pub intervals: Vec<ProfileInterval>,
    /// The confidence level.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub level: f64,
    /// The ML deviance at the optimum.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub ml_deviance: f64,
    /// Deviance evaluations spent.
    pub evaluations: usize,
}

/// What one variance parameter is.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Sd,
    Cor,
    Sigma,
}

/// The ML deviance as a function of the natural variance parameters.
struct Natural<'a> {
    s: &'a Structure,
    kinds: Vec<Kind>,
    /// Per term: (first index into ψ, q).
    terms: Vec<(usize, usize)>,
    evaluations: std::sync::atomic::AtomicUsize,
}

impl Natural<'_> {
    /// θ from ψ, or `None` where Σ is not positive semi-definite.
    fn theta(&self, psi: &[f64]) -> Option<Vec<f64>> {
        let sigma = *psi.last()?;
        if sigma <= 0.0 {
            return None;
        }
        let mut theta = Vec::new();
        for &(start, q) in &self.terms {
            // SDs and correlations of this term, column-major lower triangle.
            let mut sd = vec![0.0; q];
            let mut cor = DMatrix::<f64>::identity(q, q);
            let mut at = start;
            for c in 0..q {
                for r in c..q {
                    if r == c {
                        sd[r] = psi[at];
                    } else {
                        cor[(r, c)] = psi[at];
                        cor[(c, r)] = psi[at];
                    }
                    at += 1;
                }
            }
            if sd.iter().any(|v| *v < 0.0) || cor.iter().any(|v| v.abs() > 1.0) {
                return None;
            }
            // Cholesky of Σ = D R D allowing zero pivots (an SD of 0).
            let mut l = DMatrix::<f64>::zeros(q, q);
            for j in 0..q {
                let mut d = sd[j] * sd[j];
                for k in 0..j {
                    d -= l[(j, k)] * l[(j, k)];
                }
                let scale = sd[j] * sd[j];
                if d < -1e-12 * scale.max(f64::MIN_POSITIVE) {
                    return None;
                }
                let ljj = d.max(0.0).sqrt();
                l[(j, j)] = ljj;
                for i in j + 1..q {
                    let mut v = cor[(i, j)] * sd[i] * sd[j];
                    for k in 0..j {
                        v -= l[(i, k)] * l[(j, k)];
                    }
                    l[(i, j)] = if ljj > 0.0 { v / ljj } else { 0.0 };
                }
            }
            for c in 0..q {
                for r in c..q {
                    theta.push(l[(r, c)] / sigma);
                }
            }
        }
        Some(theta)
    }

    fn count(&self) {
        self.evaluations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn deviance(&self, psi: &[f64]) -> f64 {
        self.count();
        let Some(theta) = self.theta(psi) else {
            return f64::INFINITY;
        };
        let Some(f) = self.s.factorize(&theta) else {
            return f64::INFINITY;
        };
        let sigma = psi[psi.len() - 1];
        let n = self.s.n as f64;
        f.logdet_z
            + n * (2.0 * std::f64::consts::PI * sigma * sigma).ln()
            + f.pwrss / (sigma * sigma)
    }

    /// Bounds of parameter j.
    fn bounds(&self, j: usize) -> (f64, f64) {
        match self.kinds[j] {
            Kind::Sd => (0.0, f64::INFINITY),
            Kind::Cor => (-1.0, 1.0),
            Kind::Sigma => (0.0, f64::INFINITY),
        }
    }
}

/// Minimize `f` over x with bounds, by BOBYQA on x / scale; returns (x, f(x)).
fn minimize_scaled(
    f: &dyn Fn(&[f64]) -> f64,
    start: &[f64],
    scale: &[f64],
    bounds: &[(f64, f64)],
) -> (Vec<f64>, f64) {
    let n = start.len();
    if n == 0 {
        return (Vec::new(), f(&[]));
    }
    let mut z: Vec<f64> = start.iter().zip(scale).map(|(x, s)| x / s).collect();
    let lower: Vec<f64> = bounds.iter().zip(scale).map(|(b, s)| b.0 / s).collect();
    let upper: Vec<f64> = bounds
        .iter()
        .zip(scale)
        .map(|(b, s)| if b.1.is_finite() { b.1 / s } else { 1e6 })
        .collect();
    // Keep the start strictly inside for BOBYQA's initial steps.
    let rho = 0.01f64;
    for ((zi, lo), hi) in z.iter_mut().zip(&lower).zip(&upper) {
        *zi = zi.clamp(*lo, *hi);
    }
    let mut config = bobyqa::Config::new(n);
    let width = lower
        .iter()
        .zip(&upper)
        .map(|(l, u)| u - l)
        .fold(f64::INFINITY, f64::min);
    config.rho_begin = rho.min(0.25 * width);
    config.rho_end = 1e-7;
    config.max_fun = 5000.max(500 * n);
    let eval = |zz: &[f64]| {
        let x: Vec<f64> = zz.iter().zip(scale).map(|(a, s)| a * s).collect();
        f(&x)
    };
    let Ok(mut solver) = bobyqa::Bobyqa::new(n, config) else {
        return (start.to_vec(), f(start));
    };
    // Whatever the status, the point reached is the best found; its value is taken below.
    let _ = solver.minimize(eval, &mut z, &lower, &upper);
    let x: Vec<f64> = z.iter().zip(scale).map(|(a, s)| a * s).collect();
    let fx = f(&x);
    (x, fx)
}

impl LmmFit {
    /// Profile-likelihood intervals at `level` for every SD, correlation, σ and fixed effect
    /// (see the module docs).
    ///
    /// ```
    /// use securebase::{Criterion, Data, LmmSpec};
    /// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sleepstudy.csv"))?;
    /// let fit = LmmSpec::new(&data, "Reaction ~ Days + (1 | Subject)")?.fit(Criterion::Reml)?;
    /// let p = fit.confint_profile(0.95)?;
    /// assert_eq!(p.intervals[0].name, ".sig01");
    /// let sd = &p.intervals[0];
    /// assert!(sd.lower < sd.estimate && sd.estimate < sd.upper);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`crate::Error::Argument`] for a level not strictly between 0 and 1; [`crate::Error::Numerical`] if
    /// the ML refit fails.
    pub fn confint_profile(&self, level: f64) -> Result<Profile> {
        crate::stats::check_level(level)?;
        let z = crate::stats::normal_quantile(0.5 + level / 2.0);
        let ml = if self.criterion() == Criterion::Ml {
            self.clone()
        } else {
            let options = FitOptions {
                start: Some(self.theta().to_vec()),
                ..FitOptions::with_ddf(Ddf::Asymptotic)
            };
            self.spec.fit_with(Criterion::Ml, &options)?
        };
        let s = &*ml.spec.structure;
        // ψ̂ and its description.
        let mut psi = Vec::new();
        let mut kinds = Vec::new();
        let mut labels = Vec::new();
        let mut terms = Vec::new();
        for (term, vc) in s.terms.iter().zip(ml.varcorr()) {
            let q = term.q();
            terms.push((psi.len(), q));
            for c in 0..q {
                for r in c..q {
                    if r == c {
                        psi.push(vc.sd[r]);
                        kinds.push(Kind::Sd);
                        labels.push(format!("sd {} | {}", vc.effects[r], vc.group));
                    } else {
                        psi.push(vc.correlation[r][c]);
                        kinds.push(Kind::Cor);
                        labels.push(format!(
                            "cor {}, {} | {}",
                            vc.effects[r], vc.effects[c], vc.group
                        ));
                    }
                }
            }
        }
        psi.push(ml.sigma());
        kinds.push(Kind::Sigma);
        labels.push("sigma".into());
        let nat = Natural {
            s,
            kinds: kinds.clone(),
            terms,
            evaluations: std::sync::atomic::AtomicUsize::new(0),
        };
        let scale: Vec<f64> = psi
            .iter()
            .zip(&kinds)
            .map(|(v, k)| match k {
                Kind::Cor => 1.0,
                _ => v.abs().max(1e-3 * ml.sigma()),
            })
            .collect();
        let d0 = nat.deviance(&psi);
        let nv = psi.len();
        // Fixed effects: hold β_j at b. At θ the penalized residual sum of squares is
        // r²(θ) + ‖L_Xᵀ(β − β̂(θ))‖², so with β_j = b and the other β at their optimum it is
        // r²(θ) + (b − β̂_j(θ))² / (L_X L_Xᵀ)⁻¹_jj: the ML deviance profiled over σ and the other
        // β in closed form, minimized over θ.
        let p = s.p;
        let beta = ml.beta();
        let names: Vec<String> = ml.terms().iter().map(|t| t.to_string()).collect();
        let se: Vec<f64> = ml.coefficients().iter().map(|c| c.std_error).collect();
        let theta_bounds: Vec<(f64, f64)> = s
            .lower_bounds()
            .iter()
            .map(|&l| (l, f64::INFINITY))
            .collect();
        let theta_scale: Vec<f64> = ml.theta().iter().map(|t| t.abs().max(0.1)).collect();
        let n = s.n as f64;
        let fixed_dev = |theta: &[f64], j: usize, b: f64| -> f64 {
            nat.count();
            let Some(f) = s.factorize(theta) else {
                return f64::INFINITY;
            };
            let (qr, dim) = (s.q_rest, f.l22.nrows());
            let lx = f.l22.view((qr, qr), (p, p)).clone_owned();
            let cx = DVector::from_iterator(p, (0..p).map(|k| f.l22[(dim - 1, qr + k)]));
            let bhat = super::fit::solve_lower_transpose(&lx, &cx);
            let mut e = DVector::<f64>::zeros(p);
            e[j] = 1.0;
            let Some(w) = lx.solve_lower_triangular(&e) else {
                return f64::INFINITY;
            };
            let r2 = f.pwrss + (b - bhat[j]).powi(2) / w.norm_squared();
            f.logdet_z + n * (1.0 + (2.0 * std::f64::consts::PI * r2 / n).ln())
        };
        // One endpoint of one parameter: independent tasks, run in parallel (each with its own
        // warm start), so the result does not depend on the thread count.
        let endpoint_of = |task: usize| -> f64 {
            let (i, side) = (task / 2, if task.is_multiple_of(2) { -z } else { z });
            if i < nv {
                let others: Vec<usize> = (0..nv).filter(|&j| j != i).collect();
                let sc: Vec<f64> = others.iter().map(|&j| scale[j]).collect();
                let b: Vec<(f64, f64)> = others.iter().map(|&j| nat.bounds(j)).collect();
                let warm = std::cell::RefCell::new(psi.clone());
                let zeta = |v: f64| -> f64 {
                    let start: Vec<f64> = others.iter().map(|&j| warm.borrow()[j]).collect();
                    let f = |x: &[f64]| {
                        let mut full = vec![0.0; nv];
                        full[i] = v;
                        for (k, &j) in others.iter().enumerate() {
                            full[j] = x[k];
                        }
                        nat.deviance(&full)
                    };
                    let (x, d) = minimize_scaled(&f, &start, &sc, &b);
                    let mut w = warm.borrow_mut();
                    for (k, &j) in others.iter().enumerate() {
                        w[j] = x[k];
                    }
                    (v - psi[i]).signum() * (d - d0).max(0.0).sqrt()
                };
                let (lo_b, hi_b) = nat.bounds(i);
                let bound = if side < 0.0 { lo_b } else { hi_b };
                endpoint(&zeta, psi[i], side, scale[i], bound)
            } else {
                let j = i - nv;
                let warm = std::cell::RefCell::new(ml.theta().to_vec());
                let zeta = |b: f64| -> f64 {
                    let start = warm.borrow().clone();
                    let f = |t: &[f64]| fixed_dev(t, j, b);
                    let (theta, d) = minimize_scaled(&f, &start, &theta_scale, &theta_bounds);
                    *warm.borrow_mut() = theta;
                    (b - beta[j]).signum() * (d - d0).max(0.0).sqrt()
                };
                let bound = if side < 0.0 {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                };
                endpoint(&zeta, beta[j], side, se[j], bound)
            }
        };
        let ends = crate::par::map(2 * (nv + p), endpoint_of);
        let mut intervals = Vec::with_capacity(nv + p);
        for i in 0..nv + p {
            let (name, label, estimate) = if i < nv {
                let name = if kinds[i] == Kind::Sigma {
                    ".sigma".to_string()
                } else {
                    format!(".sig{:02}", i + 1)
                };
                (name, labels[i].clone(), psi[i])
            } else {
                (names[i - nv].clone(), names[i - nv].clone(), beta[i - nv])
            };
            intervals.push(ProfileInterval {
                name,
                label,
                estimate,
                lower: ends[2 * i],
                upper: ends[2 * i + 1],
            });
        }
        Ok(Profile {
            intervals,
            level,
            ml_deviance: d0,
            evaluations: nat.evaluations.load(std::sync::atomic::Ordering::Relaxed),
        })
    }
}

/// The φ on the side of `target`'s sign where ζ(φ) = target, starting at the estimate `x0`
/// (ζ = 0) with a first step of `step`, not past `bound` (returned when ζ does not reach the
/// target before it). Secant steps throughout, bisection when a step would leave the bracket.
fn endpoint(zeta: &dyn Fn(f64) -> f64, x0: f64, target: f64, step: f64, bound: f64) -> f64 {
    let dir = target.signum();
    let g = |x: f64| zeta(x) - target;
    // A first point: a quarter of the way by the local scale, clipped to the bound.
    let clip = |x: f64| {
        if dir < 0.0 {
            x.max(bound)
        } else {
            x.min(bound)
        }
    };
    let (mut a, mut ga) = (x0, -target); // ζ(x0) = 0
    let mut b = clip(x0 + dir * 0.5 * step.abs().max(1e-8));
    let mut gb = g(b);
    // Walk out until the target is passed (or the bound reached).
    let mut tries = 0;
    while gb.signum() == ga.signum() && tries < 60 {
        if b == bound {
            return bound;
        }
        // Secant extrapolation, at least doubling the distance.
        let slope = (gb - ga) / (b - a);
        let mut next = if slope.is_finite() && slope != 0.0 {
            b - gb / slope
        } else {
            b + 2.0 * (b - a)
        };
        let far = b + 2.0 * (b - a);
        if dir * (next - far) > 0.0 || !next.is_finite() {
            next = far;
        }
        if dir * (next - b) <= 0.0 {
            next = b + (b - a);
        }
        a = b;
        ga = gb;
        b = clip(next);
        gb = g(b);
        tries += 1;
    }
    if gb.signum() == ga.signum() {
        return f64::NAN;
    }
    // Bracketed in [a, b]: secant steps through the latest two points while they stay in the
    // bracket, bisection otherwise; done when ζ is within 1e-9 of the target (the inner
    // minimizations are accurate to about that).
    let (mut lo, mut glo, mut hi) = (a, ga, b);
    let (mut x1, mut g1, mut x2, mut g2) = (a, ga, b, gb);
    for _ in 0..100 {
        let secant = x2 - g2 * (x2 - x1) / (g2 - g1);
        let inside = |x: f64| x.is_finite() && (x - lo) * (x - hi) < 0.0;
        let x = if inside(secant) {
            secant
        } else {
            0.5 * (lo + hi)
        };
        let gx = g(x);
        if gx.abs() < 1e-9 || (hi - lo).abs() < 1e-12 * x.abs().max(1e-12) {
            return x;
        }
        if gx.signum() == glo.signum() {
            lo = x;
            glo = gx;
        } else {
            hi = x;
        }
        x1 = x2;
        g1 = g2;
        x2 = x;
        g2 = gx;
    }
    0.5 * (lo + hi)
}
