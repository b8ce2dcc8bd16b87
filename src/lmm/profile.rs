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
//! roots by up to 5e-5). A fixed effect's profile refits the variance parameters with that coefficient held
//! (its column moved into the response); a variance parameter's, the others by BOBYQA on a
//! scaled copy. An SD whose profile stays below the cut-off down to 0 gets the lower limit 0,
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
    evaluations: std::cell::Cell<usize>,
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

    fn deviance(&self, psi: &[f64]) -> f64 {
        self.evaluations.set(self.evaluations.get() + 1);
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
    let rho = 0.05f64;
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
    config.rho_end = 1e-10;
    config.max_fun = 5000.max(500 * n);
    let eval = |zz: &[f64]| {
        let x: Vec<f64> = zz.iter().zip(scale).map(|(a, s)| a * s).collect();
        f(&x)
    };
    let Ok(mut solver) = bobyqa::Bobyqa::new(n, config) else {
        return (start.to_vec(), f(start));
    };
    let outcome = solver.minimize(eval, &mut z, &lower, &upper);
    let _ = outcome;
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
            evaluations: std::cell::Cell::new(0),
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
        let mut intervals = Vec::new();
        let nv = psi.len();
        for i in 0..nv {
            let others: Vec<usize> = (0..nv).filter(|&j| j != i).collect();
            let warm = std::cell::RefCell::new(psi.clone());
            let profile = |v: f64| -> f64 {
                let start: Vec<f64> = others.iter().map(|&j| warm.borrow()[j]).collect();
                let sc: Vec<f64> = others.iter().map(|&j| scale[j]).collect();
                let b: Vec<(f64, f64)> = others.iter().map(|&j| nat.bounds(j)).collect();
                let f = |x: &[f64]| {
                    let mut full = vec![0.0; nv];
                    full[i] = v;
                    for (k, &j) in others.iter().enumerate() {
                        full[j] = x[k];
                    }
                    nat.deviance(&full)
                };
                let (x, fx) = minimize_scaled(&f, &start, &sc, &b);
                let mut w = warm.borrow_mut();
                w[i] = v;
                for (k, &j) in others.iter().enumerate() {
                    w[j] = x[k];
                }
                fx
            };
            let (lo_b, hi_b) = nat.bounds(i);
            let zeta = |v: f64| -> f64 {
                let d = profile(v);
                (v - psi[i]).signum() * (d - d0).max(0.0).sqrt()
            };
            let lower = endpoint(&zeta, psi[i], -z, scale[i], lo_b, &|| {
                *warm.borrow_mut() = psi.clone()
            });
            let upper = endpoint(&zeta, psi[i], z, scale[i], hi_b, &|| {
                *warm.borrow_mut() = psi.clone()
            });
            intervals.push(ProfileInterval {
                name: if kinds[i] == Kind::Sigma {
                    ".sigma".into()
                } else {
                    format!(".sig{:02}", i + 1)
                },
                label: labels[i].clone(),
                estimate: psi[i],
                lower,
                upper,
            });
        }
        // Fixed effects: hold β_j at b, refit θ by ML with x_j b moved into the response.
        let x = ml.spec.x.to_dense();
        let y = &*ml.spec.y;
        let p = x.ncols();
        let beta = ml.beta();
        let names: Vec<String> = ml.terms().iter().map(|t| t.to_string()).collect();
        let se: Vec<f64> = ml.coefficients().iter().map(|c| c.std_error).collect();
        let evaluations = std::cell::Cell::new(0usize);
        for j in 0..p {
            let keep: Vec<usize> = (0..p).filter(|&k| k != j).collect();
            let xj = x.select_columns(&keep);
            let cols = crate::formula::columns::ModelColumns::from_dense(&xj);
            let warm = std::cell::RefCell::new(ml.theta().to_vec());
            let deviance = |b: f64| -> f64 {
                let yb = DVector::from_iterator(
                    y.len(),
                    y.iter().zip(x.column(j).iter()).map(|(a, xv)| a - b * xv),
                );
                let st = Structure::from_parts(s.terms.clone(), &cols, &yb);
                let options = FitOptions {
                    start: Some(warm.borrow().clone()),
                    ..FitOptions::with_ddf(Ddf::Asymptotic)
                };
                match super::optimum::optimize(&st, Criterion::Ml, &options) {
                    Ok((theta, opt)) => {
                        evaluations.set(evaluations.get() + opt.evaluations);
                        let d = st.objective(&theta, Criterion::Ml);
                        *warm.borrow_mut() = theta;
                        d
                    }
                    Err(_) => f64::INFINITY,
                }
            };
            let zeta = |b: f64| (b - beta[j]).signum() * (deviance(b) - d0).max(0.0).sqrt();
            let reset = || *warm.borrow_mut() = ml.theta().to_vec();
            let lower = endpoint(&zeta, beta[j], -z, se[j], f64::NEG_INFINITY, &reset);
            let upper = endpoint(&zeta, beta[j], z, se[j], f64::INFINITY, &reset);
            intervals.push(ProfileInterval {
                name: names[j].clone(),
                label: names[j].clone(),
                estimate: beta[j],
                lower,
                upper,
            });
        }
        Ok(Profile {
            intervals,
            level,
            ml_deviance: d0,
            evaluations: nat.evaluations.get() + evaluations.get(),
        })
    }
}

/// The φ on the side of `target`'s sign where ζ(φ) = target, starting at the estimate `x0`
/// (ζ = 0) with a first step of `step`, not past `bound` (returned when ζ does not reach the
/// target before it). Secant steps, bisection once bracketed when a step leaves the bracket.
fn endpoint(
    zeta: &dyn Fn(f64) -> f64,
    x0: f64,
    target: f64,
    step: f64,
    bound: f64,
    reset: &dyn Fn(),
) -> f64 {
    reset();
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
    // Bracketed in [a, b]: regula falsi (Illinois) to full precision.
    let (mut lo, mut glo, mut hi, mut ghi) = (a, ga, b, gb);
    let mut side = 0;
    for _ in 0..100 {
        let x = hi - ghi * (hi - lo) / (ghi - glo);
        let x = if x.is_finite() && (x - lo) * (x - hi) < 0.0 {
            x
        } else {
            0.5 * (lo + hi)
        };
        let gx = g(x);
        if gx == 0.0 || (hi - lo).abs() < 1e-11 * x.abs().max(1e-11) {
            return x;
        }
        if gx.signum() == ghi.signum() {
            hi = x;
            ghi = gx;
            if side == -1 {
                glo *= 0.5;
            }
            side = -1;
        } else {
            lo = x;
            glo = gx;
            if side == 1 {
                ghi *= 0.5;
            }
            side = 1;
        }
        if gx.abs() < 1e-10 {
            return x;
        }
    }
    0.5 * (lo + hi)
}
