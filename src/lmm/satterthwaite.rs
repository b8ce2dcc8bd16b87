//! Satterthwaite degrees of freedom for fixed-effect contrasts (as lmerTest defines them;
//! Kuznetsova, Brockhoff & Christensen 2017).
//!
//! With variance parameters φ = (θ, σ) and the deviance with β profiled out,
//! `D(θ, σ) = ld(θ) + r²(θ)/σ² + c·log(2πσ²)` (ld = log|L_Z|² [+ log|L_X|² for REML],
//! c = n − p for REML, n for ML), the asymptotic covariance of φ̂ is A = 2 H⁻¹ with H the
//! Hessian of D. For a contrast l, with C(φ) = σ² U(θ) the covariance of β̂ and
//! g = ∂(lᵀCl)/∂φ, the df are ν = 2 (lᵀCl)² / (gᵀ A g).
//!
//! ν does not depend on how φ is parametrized, but a pseudo-inverse's cut-off does: in (θ, σ)
//! the σ entries of H scale as 1/σ² while the θ entries have no units, so lmerTest's absolute
//! eigenvalue cut-off drops directions when y is rescaled (its df change with the units of y).
//! Here H is formed in (θ, log σ), where no entry depends on the units of y, scaled to unit
//! diagonal before the pseudo-inverse, and ν is computed as 2 / (ĝᵀ A ĝ) with ĝ = g / (lᵀCl),
//! which neither underflows nor overflows at any scale of y.
//!
//! The σ-derivatives are exact (D is explicit in σ). The θ-derivatives of ld, r² and U are
//! central differences refined by Richardson extrapolation over three step sizes (relative step
//! 0.1, halved each time; error of order h⁶, about 1e-6 relative in the df, far below the
//! error of lmerTest's own numerical derivatives, where a fourth level bought nothing visible
//! for a third more evaluations). Mixed
//! second derivatives reuse the single-axis points: only θ ± (hᵢeᵢ + hⱼeⱼ) are new.

use super::Criterion;
use super::fit::unscaled_vcov_from;
use super::objective::Workspace;
use super::structure::Structure;
use nalgebra::{DMatrix, SymmetricEigen};

#[derive(Debug, Clone)]
pub(crate) struct Satterthwaite {
    /// 2 H⁻¹ with H the deviance's Hessian in (θ, log σ): the asymptotic covariance of
    /// (θ̂, log σ̂).
    vcov_log: DMatrix<f64>,
    /// σ̂, to move between log σ and σ.
    sigma: f64,
    /// ∂U/∂θ_i for each θ_i.
    jac_u: Vec<DMatrix<f64>>,
}

/// [ld, r², U entries…] at θ, U = (L_X L_Xᵀ)⁻¹ from the X block of the dense factor.
fn evaluate(
    s: &Structure,
    theta: &[f64],
    criterion: Criterion,
    ws: &mut Workspace,
) -> Option<Vec<f64>> {
    let (logdet_z, logdet_x, pwrss) = s.factorize_dense(theta, ws)?;
    let u = unscaled_vcov_from(ws.dense(), s.q_rest, s.p);
    Some(values(logdet_z, logdet_x, pwrss, &u, criterion))
}

/// [ld, r², U entries…] from the parts of a factorization.
pub(crate) fn values(
    logdet_z: f64,
    logdet_x: f64,
    pwrss: f64,
    u: &DMatrix<f64>,
    criterion: Criterion,
) -> Vec<f64> {
    let ld = match criterion {
        Criterion::Reml => logdet_z + logdet_x,
        Criterion::Ml => logdet_z,
    };
    let mut out = Vec::with_capacity(2 + u.len());
    out.push(ld);
    out.push(pwrss);
    out.extend(u.iter().copied());
    out
}

/// Richardson extrapolation of estimates at h, h/2, h/4, … with error in even powers of h.
fn richardson(mut a: Vec<Vec<f64>>) -> Vec<f64> {
    let mut m = 1;
    while a.len() > 1 {
        let f = 4f64.powi(m);
        a = a
            .windows(2)
            .map(|w| {
                w[1].iter()
                    .zip(&w[0])
                    .map(|(fine, coarse)| (f * fine - coarse) / (f - 1.0))
                    .collect()
            })
            .collect();
        m += 1;
    }
    a.pop().unwrap_or_default()
}

const LEVELS: usize = 3;

/// Observations × θ length above which the perturbed evaluations run in parallel.
const PARALLEL_WORK: usize = 20_000;

/// The base step of each θ entry: a tenth of its size, or 1e-4 of its row's size when it is
/// smaller than that (as numDeriv's zero tolerance; a row of a factor carries the units of its
/// random effect, so a slope's predictor in minutes instead of days moves its whole row and the
/// steps with it), or 1e-4 when the whole row is zero.
fn steps(s: &Structure, theta: &[f64]) -> Vec<f64> {
    let mut row_scale = vec![0.0f64; theta.len()];
    let mut rows = Vec::with_capacity(theta.len());
    let mut at = 0;
    for t in &s.terms {
        let q = t.q();
        let mut scale = vec![0.0f64; q];
        let start = at;
        for c in 0..q {
            for (r, sc) in scale.iter_mut().enumerate().skip(c) {
                *sc = sc.max(theta[at].abs());
                rows.push(r);
                at += 1;
            }
        }
        for (i, &r) in rows[start..at].iter().enumerate() {
            row_scale[start + i] = scale[r];
        }
    }
    theta
        .iter()
        .zip(&row_scale)
        .map(|(&x, &scale)| {
            let floor = if scale > 0.0 { 1e-4 * scale } else { 1e-4 };
            if x.abs() < floor {
                floor
            } else {
                0.1 * x.abs()
            }
        })
        .collect()
}

impl Satterthwaite {
    /// `f0` is [`values`] at θ itself, which the caller's own factorization already gives.
    pub(crate) fn new(
        s: &Structure,
        theta: &[f64],
        sigma: f64,
        criterion: Criterion,
        f0: Vec<f64>,
    ) -> Option<Satterthwaite> {
        let k = theta.len();
        let c = match criterion {
            Criterion::Reml => (s.n - s.p) as f64,
            Criterion::Ml => s.n as f64,
        };
        let len = f0.len();
        let base = steps(s, theta);
        let step = |i: usize| base[i];
        // Every perturbed θ the Richardson tables need, evaluated in one batch (in parallel for
        // large models, where one evaluation costs milliseconds).
        let mut points: Vec<Vec<(usize, f64)>> = Vec::new();
        for i in 0..k {
            for lvl in 0..LEVELS {
                let h = step(i) / 2f64.powi(lvl as i32);
                points.push(vec![(i, h)]);
                points.push(vec![(i, -h)]);
            }
        }
        for i in 0..k {
            for j in 0..i {
                for lvl in 0..LEVELS {
                    let d = 2f64.powi(lvl as i32);
                    let (hi, hj) = (step(i) / d, step(j) / d);
                    for (si, sj) in [(1.0, 1.0), (-1.0, -1.0)] {
                        points.push(vec![(i, si * hi), (j, sj * hj)]);
                    }
                }
            }
        }
        let at = |ws: &mut Workspace, delta: &Vec<(usize, f64)>| -> Option<Vec<f64>> {
            let mut t = theta.to_vec();
            for &(i, d) in delta {
                t[i] += d;
            }
            evaluate(s, &t, criterion, ws)
        };
        let values: Vec<Vec<f64>> = if s.n * s.ntheta() >= PARALLEL_WORK {
            crate::par::map_items_with(&points, || Workspace::new(s), at)
                .into_iter()
                .collect::<Option<_>>()?
        } else {
            let mut ws = Workspace::new(s);
            points
                .iter()
                .map(|d| at(&mut ws, d))
                .collect::<Option<_>>()?
        };
        let mut next = values.into_iter();
        let mut grad = vec![vec![0.0; len]; k];
        let mut hess = vec![vec![0.0; k]; k]; // of ld + r²/σ²
        let combo = |v: &[f64]| v[0] + v[1] / sigma / sigma;
        // combo at θ ± hᵢeᵢ per level, reused by the mixed partials
        let mut axis = vec![Vec::with_capacity(LEVELS); k];
        for i in 0..k {
            let h0 = step(i);
            let mut firsts = Vec::with_capacity(LEVELS);
            let mut seconds = Vec::with_capacity(LEVELS);
            for lvl in 0..LEVELS {
                let h = h0 / 2f64.powi(lvl as i32);
                let plus = next.next()?;
                let minus = next.next()?;
                firsts.push(
                    plus.iter()
                        .zip(&minus)
                        .map(|(a, b)| (a - b) / (2.0 * h))
                        .collect::<Vec<_>>(),
                );
                seconds.push(vec![
                    (combo(&plus) - 2.0 * combo(&f0) + combo(&minus)) / (h * h),
                ]);
                axis[i].push((combo(&plus), combo(&minus)));
            }
            grad[i] = richardson(firsts);
            hess[i][i] = richardson(seconds)[0];
        }
        for i in 0..k {
            for j in 0..i {
                let (hi0, hj0) = (step(i), step(j));
                let mut est = Vec::with_capacity(LEVELS);
                for (lvl, (&(pi, mi), &(pj, mj))) in axis[i].iter().zip(&axis[j]).enumerate() {
                    let d = 2f64.powi(lvl as i32);
                    let (hi, hj) = (hi0 / d, hj0 / d);
                    // f(+,+) + f(−,−) − f(±hᵢ) − f(±hⱼ) + 2f = 2hᵢhⱼ fᵢⱼ + O(h⁴), even in h
                    let pp = combo(&next.next()?);
                    let mm = combo(&next.next()?);
                    let num = pp + mm - pi - mi - pj - mj + 2.0 * combo(&f0);
                    est.push(vec![num / (2.0 * hi * hj)]);
                }
                let v = richardson(est)[0];
                hess[i][j] = v;
                hess[j][i] = v;
            }
        }
        // The Hessian in (θ, τ = log σ): the deviance's curvature in σ scales as 1/σ², so in σ
        // itself the θ and σ parts have different units and any cut-off on its eigenvalues
        // depends on the units of y. With τ every entry is free of them (r²/σ² = c at the
        // optimum). The chain rule adds σ ∂D/∂σ to the ττ entry, which is zero at the optimum
        // (σ̂² = r²/c) and left out, so 2 H⁻¹ here is exactly J A Jᵀ of lmerTest's A in (θ, σ)
        // with J = diag(1, …, 1, 1/σ).
        let r2_over_s2 = f0[1] / sigma / sigma;
        let mut h = DMatrix::<f64>::zeros(k + 1, k + 1);
        for i in 0..k {
            for j in 0..k {
                h[(i, j)] = hess[i][j];
            }
            let d = -2.0 * grad[i][1] / sigma / sigma;
            h[(i, k)] = d;
            h[(k, i)] = d;
        }
        h[(k, k)] = 6.0 * r2_over_s2 - 2.0 * c;
        let inv = pseudo_inverse_equilibrated(h)?;
        let p = s.p;
        let jac_u = grad
            .iter()
            .map(|g| DMatrix::from_column_slice(p, p, &g[2..]))
            .collect();
        Some(Satterthwaite {
            vcov_log: inv * 2.0,
            sigma,
            jac_u,
        })
    }

    /// The asymptotic covariance of (θ̂, σ̂), lmerTest's `vcov_varpar`: the covariance in
    /// (θ, log σ) with the σ row and column multiplied by σ (dσ = σ d log σ).
    pub(crate) fn vcov_varpar(&self) -> DMatrix<f64> {
        let k = self.jac_u.len();
        let mut a = self.vcov_log.clone();
        for i in 0..=k {
            a[(i, k)] *= self.sigma;
            a[(k, i)] *= self.sigma;
        }
        a
    }

    /// Satterthwaite df of the contrast lᵀβ.
    ///
    /// ν = 2 V² / (gᵀ A g) with V = σ² lᵀUl and g = ∂V/∂(θ, log σ); computed as
    /// 2 / (ĝᵀ A ĝ) with ĝ = g / V = (lᵀ(∂U/∂θᵢ)l / lᵀUl, …, 2), which is free of the units of y
    /// (V² alone underflows when y is of order 1e-90).
    pub(crate) fn df(&self, l: &[f64], unscaled: &DMatrix<f64>) -> f64 {
        let quad = |m: &DMatrix<f64>| -> f64 {
            let mut s = 0.0;
            for a in 0..l.len() {
                for b in 0..l.len() {
                    s += l[a] * m[(a, b)] * l[b];
                }
            }
            s
        };
        let lul = quad(unscaled);
        let k = self.jac_u.len();
        let mut g = vec![0.0; k + 1];
        for (i, j) in self.jac_u.iter().enumerate() {
            g[i] = quad(j) / lul;
        }
        g[k] = 2.0;
        let mut denom = 0.0;
        for a in 0..=k {
            for b in 0..=k {
                denom += g[a] * self.vcov_log[(a, b)] * g[b];
            }
        }
        2.0 / denom
    }
}

/// The pseudo-inverse of a symmetric matrix over its positive eigenvalues, after scaling it to
/// unit diagonal (S = D H D, D = diag(1/√|hᵢᵢ|); H⁺ = D S⁺ D), so that which directions are kept
/// does not depend on the units of any parameter (a random slope's predictor in minutes or
/// hours). Eigenvalues of S below 1e-10 of the largest are dropped, as a guard at the boundary.
fn pseudo_inverse_equilibrated(h: DMatrix<f64>) -> Option<DMatrix<f64>> {
    let n = h.nrows();
    if h.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let d: Vec<f64> = (0..n)
        .map(|i| {
            let a = h[(i, i)].abs();
            if a > 0.0 { 1.0 / a.sqrt() } else { 1.0 }
        })
        .collect();
    let scaled = DMatrix::from_fn(n, n, |r, c| d[r] * h[(r, c)] * d[c]);
    let eig = SymmetricEigen::new(scaled);
    let max = eig.eigenvalues.iter().fold(0.0f64, |m, &v| m.max(v.abs()));
    if !max.is_finite() || max <= 0.0 {
        return None;
    }
    let mut inv = DMatrix::<f64>::zeros(n, n);
    for (idx, &ev) in eig.eigenvalues.iter().enumerate() {
        if ev > 1e-10 * max {
            let v = eig.eigenvectors.column(idx);
            inv += v * v.transpose() / ev;
        }
    }
    Some(DMatrix::from_fn(n, n, |r, c| d[r] * inv[(r, c)] * d[c]))
}
