//! The profiled objective: θ ↦ REML criterion or ML deviance (Bates et al. 2015, eqs. 34, 41).
//!
//! With relative covariance factor Λ_θ, the blocked Cholesky factor L of
//!
//! ```text
//! [ Λ'Z'ZΛ + I   Λ'Z'X   Λ'Z'y ]
//! [ X'ZΛ         X'X     X'y   ]  =  L L'
//! [ y'ZΛ         y'X     y'y   ]
//! ```
//!
//! gives log|L_Z|², log|L_X|² and the penalized residual sum of squares r² = L_yy², so that
//! `-2 log L_ML = log|L_Z|² + n (1 + log(2π r²/n))` and
//! `REML = log|L_Z|² + log|L_X|² + (n−p)(1 + log(2π r²/(n−p)))`.
//! The first term's part of L is block-diagonal (one q₁ × q₁ block per level); its coupling to
//! the rest is folded into the small dense block by a Schur complement, level by level.

use super::Criterion;
use super::structure::Structure;
use nalgebra::DMatrix;

/// The blocked Cholesky factor at one θ.
#[derive(Debug, Clone)]
pub(crate) struct Factorization {
    /// L₁₁ per level of the first term (lower, q₁ × q₁).
    pub l11: Vec<DMatrix<f64>>,
    /// L₂₁ per level of the first term (m_j × q₁), rows as in the level's `rows`.
    pub l21: Vec<DMatrix<f64>>,
    /// The dense lower factor of the rest (random rows, X, y).
    pub l22: DMatrix<f64>,
    /// log|L_Z|².
    pub logdet_z: f64,
    /// log|L_X|² (REML's extra term).
    pub logdet_x: f64,
    /// Penalized residual sum of squares r².
    pub pwrss: f64,
}

/// Left-multiply the rows of `m` in `group` by T'.
fn rows_times_t_transpose(m: &mut DMatrix<f64>, start: usize, t: &DMatrix<f64>) {
    let q = t.nrows();
    let ncols = m.ncols();
    let mut tmp = vec![0.0; q];
    for col in 0..ncols {
        for (a, v) in tmp.iter_mut().enumerate() {
            // (T' m)[a] = Σ_b T[b, a] m[b]
            *v = (a..q).map(|b| t[(b, a)] * m[(start + b, col)]).sum();
        }
        for (a, v) in tmp.iter().enumerate() {
            m[(start + a, col)] = *v;
        }
    }
}

/// Right-multiply the columns of `m` in `group` by T.
fn cols_times_t(m: &mut DMatrix<f64>, start: usize, t: &DMatrix<f64>) {
    let q = t.nrows();
    let nrows = m.nrows();
    let mut tmp = vec![0.0; q];
    for row in 0..nrows {
        for (b, v) in tmp.iter_mut().enumerate() {
            // (m T)[b] = Σ_a m[a] T[a, b]
            *v = (b..q).map(|a| m[(row, start + a)] * t[(a, b)]).sum();
        }
        for (b, v) in tmp.iter().enumerate() {
            m[(row, start + b)] = *v;
        }
    }
}

/// In-place lower Cholesky of a symmetric matrix (lower triangle read); false if not PD.
pub(crate) fn cholesky_in_place(a: &mut DMatrix<f64>) -> bool {
    let n = a.nrows();
    for j in 0..n {
        let mut d = a[(j, j)];
        for k in 0..j {
            d -= a[(j, k)] * a[(j, k)];
        }
        if d <= 0.0 || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        a[(j, j)] = d;
        for i in j + 1..n {
            let mut s = a[(i, j)];
            for k in 0..j {
                s -= a[(i, k)] * a[(j, k)];
            }
            a[(i, j)] = s / d;
        }
        for k in j + 1..n {
            a[(j, k)] = 0.0;
        }
    }
    true
}

impl Structure {
    /// Factorize at θ. `None` if a block is not positive definite (only possible for a
    /// rank-deficient X, which model building rules out).
    pub(crate) fn factorize(&self, theta: &[f64]) -> Option<Factorization> {
        let t = self.factors(theta);
        let q_rest = self.q_rest;
        let mut m = self.a_rr.clone();
        for (k, term) in self.terms.iter().enumerate().skip(1) {
            let q = term.q();
            for l in 0..term.nlevels() {
                let start = self.offsets[k] + l * q;
                if q == 1 {
                    let s = t[k][(0, 0)];
                    m.row_mut(start).scale_mut(s);
                    m.column_mut(start).scale_mut(s);
                } else {
                    rows_times_t_transpose(&mut m, start, &t[k]);
                    cols_times_t(&mut m, start, &t[k]);
                }
            }
        }
        for i in 0..q_rest {
            m[(i, i)] += 1.0;
        }
        let t1 = &t[0];
        let q1 = t1.nrows();
        let mut l11s = Vec::with_capacity(self.levels1.len());
        let mut l21s = Vec::with_capacity(self.levels1.len());
        let mut logdet_z = 0.0;
        for lev in &self.levels1 {
            let mut b = t1.transpose() * &lev.a11 * t1;
            for i in 0..q1 {
                b[(i, i)] += 1.0;
            }
            if !cholesky_in_place(&mut b) {
                return None;
            }
            for i in 0..q1 {
                logdet_z += 2.0 * b[(i, i)].ln();
            }
            // W = Λ_r' A_j Λ_1 L11^{-T}
            let mut w = lev.a21.clone();
            let mut r = 0;
            while r < lev.rows.len() && lev.rows[r] < q_rest {
                let idx = lev.rows[r];
                let k = self.term_of_row(idx);
                let q = self.terms[k].q();
                if q == 1 {
                    w.row_mut(r).scale_mut(t[k][(0, 0)]);
                } else {
                    rows_times_t_transpose(&mut w, r, &t[k]);
                }
                r += q;
            }
            let mut w = w * t1;
            // Solve X L11' = W row by row (forward substitution on L11).
            for row in 0..w.nrows() {
                for c in 0..q1 {
                    let mut s = w[(row, c)];
                    for k in 0..c {
                        s -= w[(row, k)] * b[(c, k)];
                    }
                    w[(row, c)] = s / b[(c, c)];
                }
            }
            // Schur update of the dense block (lower triangle).
            for (a, &ra) in lev.rows.iter().enumerate() {
                for (bb, &rb) in lev.rows.iter().enumerate().take(a + 1) {
                    let mut s = 0.0;
                    for c in 0..q1 {
                        s += w[(a, c)] * w[(bb, c)];
                    }
                    m[(ra, rb)] -= s;
                }
            }
            l11s.push(b);
            l21s.push(w);
        }
        if !cholesky_in_place(&mut m) {
            return None;
        }
        let dim = m.nrows();
        for i in 0..q_rest {
            logdet_z += 2.0 * m[(i, i)].ln();
        }
        let logdet_x: f64 = (q_rest..q_rest + self.p)
            .map(|i| 2.0 * m[(i, i)].ln())
            .sum();
        let pwrss = m[(dim - 1, dim - 1)].powi(2);
        Some(Factorization {
            l11: l11s,
            l21: l21s,
            l22: m,
            logdet_z,
            logdet_x,
            pwrss,
        })
    }

    /// Which term (≥ 1) a random row of the dense block belongs to.
    pub(crate) fn term_of_row(&self, idx: usize) -> usize {
        let mut k = 1;
        while k + 1 < self.terms.len() && self.offsets[k + 1] <= idx {
            k += 1;
        }
        k
    }

    /// The profiled objective at θ from a factorization.
    pub(crate) fn objective_from(&self, f: &Factorization, criterion: Criterion) -> f64 {
        let n = self.n as f64;
        let p = self.p as f64;
        let two_pi = 2.0 * std::f64::consts::PI;
        match criterion {
            Criterion::Reml => {
                let nr = n - p;
                f.logdet_z + f.logdet_x + nr * (1.0 + (two_pi * f.pwrss / nr).ln())
            }
            Criterion::Ml => f.logdet_z + n * (1.0 + (two_pi * f.pwrss / n).ln()),
        }
    }

    /// The objective at θ (+∞ where the factorization fails).
    pub(crate) fn objective(&self, theta: &[f64], criterion: Criterion) -> f64 {
        match self.factorize(theta) {
            Some(f) => self.objective_from(&f, criterion),
            None => f64::INFINITY,
        }
    }
}
