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

/// Unblocked lower Cholesky of the square block `a[off.., off..]` of width `nb` (lower read).
fn cholesky_unblocked(a: &mut DMatrix<f64>, off: usize, nb: usize) -> bool {
    let n = a.nrows();
    for j in off..off + nb {
        let (head, tail) = a.as_mut_slice().split_at_mut(j * n);
        let colj = &mut tail[..n];
        // colj[j..] -= L[j.., off..j] L[j, off..j]'
        for k in off..j {
            let colk = &head[k * n..(k + 1) * n];
            let ljk = colk[j];
            if ljk != 0.0 {
                for (x, y) in colj[j..off + nb].iter_mut().zip(&colk[j..off + nb]) {
                    *x -= ljk * y;
                }
            }
        }
        let d = colj[j];
        if d <= 0.0 || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        colj[j] = d;
        for x in &mut colj[j + 1..off + nb] {
            *x /= d;
        }
    }
    true
}

/// In-place lower Cholesky of a symmetric matrix (lower triangle read, upper zeroed); false if
/// not positive definite. Right-looking and blocked: the panel solve and the trailing update
/// run through nalgebra's matrix multiply, which is where the flops are.
pub(crate) fn cholesky_in_place(a: &mut DMatrix<f64>) -> bool {
    const NB: usize = 48;
    let n = a.nrows();
    let mut k = 0;
    while k < n {
        let nb = NB.min(n - k);
        if !cholesky_unblocked(a, k, nb) {
            return false;
        }
        let rest = n - k - nb;
        if rest > 0 {
            // Panel: L21 = A21 L11^{-T}  (row-wise forward substitution on L11).
            let l11 = a.view((k, k), (nb, nb)).clone_owned();
            let mut panel = a.view((k + nb, k), (rest, nb)).clone_owned();
            for c in 0..nb {
                let d = l11[(c, c)];
                for cc in 0..c {
                    let l = l11[(c, cc)];
                    if l != 0.0 {
                        let (src, mut dst) = panel.columns_range_pair_mut(cc, c);
                        dst.axpy(-l, &src, 1.0);
                    }
                }
                panel.column_mut(c).scale_mut(1.0 / d);
            }
            a.view_mut((k + nb, k), (rest, nb)).copy_from(&panel);
            // Trailing update A22 -= L21 L21', block column by block column (lower part only).
            let mut j = 0;
            while j < rest {
                let w = NB.min(rest - j);
                let rows = rest - j;
                let lhs = panel.rows(j, rows);
                let rhs = panel.rows(j, w);
                let mut target = a.view_mut((k + nb + j, k + nb + j), (rows, w));
                target.gemm(-1.0, &lhs, &rhs.transpose(), 1.0);
                j += w;
            }
        }
        k += nb;
    }
    for c in 1..n {
        for r in 0..c {
            a[(r, c)] = 0.0;
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
            if self.scatter.is_none() {
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
            }
            l11s.push(b);
            l21s.push(w);
        }
        if let Some(sc) = &self.scatter {
            // Flat row store of all W_j (row-major, q1 per row), then target-sequential sums.
            let mut flat = vec![0.0; sc.level_start[sc.level_start.len() - 1] * q1];
            for (j, w) in l21s.iter().enumerate() {
                let base = sc.level_start[j];
                for r in 0..w.nrows() {
                    for c in 0..q1 {
                        flat[(base + r) * q1 + c] = w[(r, c)];
                    }
                }
            }
            let data = m.as_mut_slice();
            for (t, &target) in sc.targets.iter().enumerate() {
                let mut acc = 0.0;
                for &(a, b) in &sc.pairs[sc.pair_start[t]..sc.pair_start[t + 1]] {
                    let (a, b) = (a as usize * q1, b as usize * q1);
                    for c in 0..q1 {
                        acc += flat[a + c] * flat[b + c];
                    }
                }
                data[target] -= acc;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Data, LmmSpec};

    /// A crossed design whose dense block is wide enough for the sorted scatter.
    fn crossed() -> LmmSpec {
        let n = 3000;
        let mut s: u64 = 12345;
        let mut next = |m: u64| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % m
        };
        let a: Vec<String> = (0..n)
            .map(|i| format!("a{}", if i < 500 { i as u64 } else { next(500) }))
            .collect();
        let b: Vec<String> = (0..n)
            .map(|i| format!("b{}", if i < 300 { i as u64 } else { next(300) }))
            .collect();
        let x: Vec<f64> = (0..n).map(|_| next(1000) as f64 / 100.0).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| x[i] * 0.3 + next(1000) as f64 / 250.0)
            .collect();
        let d = Data::new()
            .with_numeric("y", y)
            .unwrap()
            .with_numeric("x", x)
            .unwrap()
            .with_categorical("a", a)
            .unwrap()
            .with_categorical("b", b)
            .unwrap();
        LmmSpec::new(&d, "y ~ x + (x | a) + (1 | b)").unwrap()
    }

    #[test]
    fn sorted_scatter_equals_direct_update() {
        let spec = crossed();
        assert!(
            spec.structure.scatter.is_some(),
            "the test design must use the scatter"
        );
        let mut direct = spec.structure.clone();
        direct.scatter = None;
        for theta in [
            [1.0, 0.0, 1.0, 1.0],
            [0.3, -0.2, 0.8, 0.5],
            [2.0, 0.5, 0.0, 0.1],
        ] {
            for c in [Criterion::Reml, Criterion::Ml] {
                let a = spec.structure.objective(&theta, c);
                let b = direct.objective(&theta, c);
                assert!((a - b).abs() <= 1e-10 * b.abs(), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn blocked_cholesky_reconstructs() {
        let n = 150;
        let a = DMatrix::<f64>::from_fn(n, n, |i, j| {
            1.0 / (1.0 + (i as f64 - j as f64).abs()) + if i == j { n as f64 } else { 0.0 }
        });
        let mut l = a.clone();
        assert!(cholesky_in_place(&mut l));
        let back = &l * l.transpose();
        assert!((back - &a).abs().max() < 1e-10);
        let mut bad = a.clone();
        bad[(100, 100)] = -1.0;
        assert!(!cholesky_in_place(&mut bad));
    }
}
