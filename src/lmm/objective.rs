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

/// Scratch space reused across the levels of one evaluation.
struct Scratch {
    at: Vec<f64>,
    b: Vec<f64>,
    w: Vec<f64>,
    tmp: Vec<f64>,
}

/// b = Tᵀ A T + I for q × q column-major A and lower-triangular T (also column-major).
fn penalized_block(a: &[f64], t: &[f64], q: usize, at: &mut [f64], b: &mut [f64]) {
    // at = A T
    for c in 0..q {
        for r in 0..q {
            let mut s = 0.0;
            for k in c..q {
                s += a[r + k * q] * t[k + c * q];
            }
            at[r + c * q] = s;
        }
    }
    // b = Tᵀ at + I (lower triangle is enough for the Cholesky)
    for c in 0..q {
        for r in c..q {
            let mut s = 0.0;
            for k in r..q {
                s += t[k + r * q] * at[k + c * q];
            }
            b[r + c * q] = s + if r == c { 1.0 } else { 0.0 };
        }
    }
}

/// In-place Cholesky of a small q × q column-major block (lower read and written).
fn small_cholesky(b: &mut [f64], q: usize) -> bool {
    for j in 0..q {
        let mut d = b[j + j * q];
        for k in 0..j {
            d -= b[j + k * q] * b[j + k * q];
        }
        if d <= 0.0 || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        b[j + j * q] = d;
        for i in j + 1..q {
            let mut s = b[i + j * q];
            for k in 0..j {
                s -= b[i + k * q] * b[j + k * q];
            }
            b[i + j * q] = s / d;
        }
        for i in 0..j {
            b[i + j * q] = 0.0;
        }
    }
    true
}

impl Structure {
    /// Factorize at θ, keeping every block (for β̂, the modes and their variances). `None` if a
    /// block is not positive definite (only possible for a rank-deficient X, which model
    /// building rules out).
    pub(crate) fn factorize(&self, theta: &[f64]) -> Option<Factorization> {
        self.factorize_impl(theta, true)
    }

    /// The blocked factorization. With `keep = false` the per-level blocks are not stored,
    /// and nothing is allocated per level: this is the optimizer's inner loop.
    fn factorize_impl(&self, theta: &[f64], keep: bool) -> Option<Factorization> {
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
        let t1 = t[0].as_slice();
        let q1 = t[0].nrows();
        let max_rows = self.levels1.iter().map(|l| l.rows.len()).max().unwrap_or(0);
        let mut sc = Scratch {
            at: vec![0.0; q1 * q1],
            b: vec![0.0; q1 * q1],
            w: vec![0.0; max_rows * q1],
            tmp: vec![0.0; q1],
        };
        let mut l11s = Vec::with_capacity(if keep { self.levels1.len() } else { 0 });
        let mut l21s = Vec::with_capacity(if keep || self.scatter.is_some() {
            self.levels1.len()
        } else {
            0
        });
        let mut logdet_z = 0.0;
        let dim = m.nrows();
        for lev in &self.levels1 {
            penalized_block(lev.a11.as_slice(), t1, q1, &mut sc.at, &mut sc.b);
            if !small_cholesky(&mut sc.b, q1) {
                return None;
            }
            for i in 0..q1 {
                logdet_z += 2.0 * sc.b[i + i * q1].ln();
            }
            let mrows = lev.rows.len();
            // W = Λ_r' A_j Λ_1 L11^{-T}, row-major m × q1 in sc.w.
            let a21 = lev.a21.as_slice();
            for r in 0..mrows {
                for c in 0..q1 {
                    sc.w[r * q1 + c] = a21[r + c * mrows];
                }
            }
            let mut r = 0;
            while r < mrows && lev.rows[r] < q_rest {
                let k = self.term_of_row(lev.rows[r]);
                let tk = &t[k];
                let q = tk.nrows();
                if q == 1 {
                    let s = tk[(0, 0)];
                    for v in &mut sc.w[r * q1..(r + 1) * q1] {
                        *v *= s;
                    }
                } else {
                    // rows r..r+q ← Tₖᵀ rows
                    for c in 0..q1 {
                        for a in 0..q {
                            sc.tmp.resize(q.max(q1), 0.0);
                            sc.tmp[a] =
                                (a..q).map(|bb| tk[(bb, a)] * sc.w[(r + bb) * q1 + c]).sum();
                        }
                        for a in 0..q {
                            sc.w[(r + a) * q1 + c] = sc.tmp[a];
                        }
                    }
                }
                r += q;
            }
            for row in sc.w[..mrows * q1].chunks_exact_mut(q1) {
                // row ← row T1, then forward-solve row L11ᵀ = row.
                for c in 0..q1 {
                    sc.tmp[c] = (c..q1).map(|k| row[k] * t1[k + c * q1]).sum();
                }
                for c in 0..q1 {
                    let s: f64 = sc.tmp[c]
                        - row[..c]
                            .iter()
                            .enumerate()
                            .map(|(k, v)| v * sc.b[c + k * q1])
                            .sum::<f64>();
                    row[c] = s / sc.b[c + c * q1];
                }
            }
            if self.scatter.is_none() {
                // Schur update of the dense block (lower triangle).
                let data = m.as_mut_slice();
                for (a, &ra) in lev.rows.iter().enumerate() {
                    let wa = &sc.w[a * q1..(a + 1) * q1];
                    for (bb, &rb) in lev.rows.iter().enumerate().take(a + 1) {
                        let wb = &sc.w[bb * q1..(bb + 1) * q1];
                        let s: f64 = wa.iter().zip(wb).map(|(x, y)| x * y).sum();
                        data[ra + rb * dim] -= s;
                    }
                }
            }
            if keep || self.scatter.is_some() {
                l21s.push(DMatrix::from_row_slice(mrows, q1, &sc.w[..mrows * q1]));
            }
            if keep {
                l11s.push(DMatrix::from_column_slice(q1, q1, &sc.b));
            }
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
            if !keep {
                l21s.clear();
            }
        }
        if !cholesky_in_place(&mut m) {
            return None;
        }
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
        match self.factorize_impl(theta, false) {
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
