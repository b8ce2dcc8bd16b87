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
    /// L₁₁ per level of the first term (lower, q₁ × q₁ column-major), level j at `j q₁²`.
    pub l11: Vec<f64>,
    /// L₂₁ per level of the first term (m_j × q₁ row-major, rows as in the level's `rows`),
    /// level j at `q₁ · levels1.row_start(j)`.
    pub l21: Vec<f64>,
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

/// Buffers an evaluation reuses, so that the optimizer's inner loop allocates nothing: the
/// factors of θ, the dense block, and per-level scratch.
pub(crate) struct Workspace {
    t: Vec<DMatrix<f64>>,
    m: DMatrix<f64>,
    at: Vec<f64>,
    b: Vec<f64>,
    w: Vec<f64>,
    tmp: Vec<f64>,
    flat: Vec<f64>,
    scale: Vec<f64>,
    chol: super::kernels::Scratch,
    /// One level's weights of [`super::structure::Outer`]'s pairs (for q₁ > 2).
    acc: Vec<f64>,
    /// Every level's weights, pair-major: pair k, level j at `k · levels + j`.
    weights: Vec<f64>,
}

impl Workspace {
    pub(crate) fn new(s: &Structure) -> Workspace {
        let q1 = s.terms[0].q();
        let qmax = s.terms.iter().map(|t| t.q()).max().unwrap_or(1);
        let max_rows = s.levels1.max_rows();
        let flat = s
            .scatter
            .as_ref()
            .map_or(0, |sc| sc.level_start[sc.level_start.len() - 1] * q1);
        Workspace {
            t: s.terms
                .iter()
                .map(|t| DMatrix::zeros(t.q(), t.q()))
                .collect(),
            m: DMatrix::zeros(s.a_rr.nrows(), s.a_rr.ncols()),
            at: vec![0.0; q1 * q1],
            b: vec![0.0; q1 * q1],
            w: vec![0.0; max_rows * q1],
            tmp: vec![0.0; qmax.max(q1)],
            flat: vec![0.0; flat],
            scale: Vec::with_capacity(s.a_rr.nrows()),
            chol: super::kernels::Scratch::default(),
            acc: vec![0.0; s.outer.as_ref().map_or(0, |o| o.pairs.len())],
            weights: vec![
                0.0;
                s.outer
                    .as_ref()
                    .map_or(0, |o| o.pairs.len() * s.levels1.len())
            ],
        }
    }
}

impl Workspace {
    /// The dense lower factor of the last factorization (random rows of terms ≥ 1, X, y).
    pub(crate) fn dense(&self) -> &DMatrix<f64> {
        &self.m
    }
}

/// Σ log xᵢ for many positive xᵢ with one logarithm per ~100 factors instead of one each.
struct LogSum {
    log: f64,
    prod: f64,
}

impl LogSum {
    fn new() -> LogSum {
        LogSum {
            log: 0.0,
            prod: 1.0,
        }
    }
    fn add(&mut self, x: f64) {
        self.prod *= x;
        if !(1e-150..=1e150).contains(&self.prod) {
            self.log += self.prod.ln();
            self.prod = 1.0;
        }
    }
    fn value(&self) -> f64 {
        self.log + self.prod.ln()
    }
}

/// What an evaluation yields besides the factor itself.
struct Summary {
    logdet_z: f64,
    logdet_x: f64,
    pwrss: f64,
}

/// Per-level blocks kept for the summaries after the optimum.
struct Kept {
    l11: Vec<f64>,
    l21: Vec<f64>,
}

impl Structure {
    /// Factorize at θ, keeping every block (for β̂, the modes and their variances). `None` if a
    /// block is not positive definite (only possible for a rank-deficient X, which model
    /// building rules out).
    pub(crate) fn factorize(&self, theta: &[f64]) -> Option<Factorization> {
        let mut ws = Workspace::new(self);
        let mut kept = Kept {
            l11: Vec::with_capacity(self.levels1.len() * self.terms[0].q().pow(2)),
            l21: Vec::with_capacity(self.levels1.total_rows() * self.terms[0].q()),
        };
        let sm = self.factorize_core(theta, &mut ws, Some(&mut kept))?;
        Some(Factorization {
            l11: kept.l11,
            l21: kept.l21,
            l22: ws.m,
            logdet_z: sm.logdet_z,
            logdet_x: sm.logdet_x,
            pwrss: sm.pwrss,
        })
    }

    /// log|L_Z|², log|L_X|² and r² at θ, with the dense factor left in `ws` (see
    /// [`Workspace::dense`]); no per-level blocks are kept.
    pub(crate) fn factorize_dense(
        &self,
        theta: &[f64],
        ws: &mut Workspace,
    ) -> Option<(f64, f64, f64)> {
        let sm = self.factorize_core(theta, ws, None)?;
        Some((sm.logdet_z, sm.logdet_x, sm.pwrss))
    }

    /// Rows of W for the random rows of a level: the rows of term k ≥ 1 are left-multiplied by
    /// Tₖᵀ (Λ_r' A_j). `w` is row-major, q1 per row.
    fn transform_random_rows(
        &self,
        lev: super::structure::LevelBlock<'_>,
        t: &[DMatrix<f64>],
        w: &mut [f64],
        tmp: &mut [f64],
        q1: usize,
    ) {
        let mrows = lev.rows.len();
        let mut r = 0;
        while r < mrows && lev.rows[r] < self.q_rest {
            let k = self.term_of_row(lev.rows[r]);
            let tk = &t[k];
            let q = tk.nrows();
            if q == 1 {
                let s = tk[(0, 0)];
                for v in &mut w[r * q1..(r + 1) * q1] {
                    *v *= s;
                }
            } else {
                // rows r..r+q ← Tₖᵀ rows
                for c in 0..q1 {
                    for a in 0..q {
                        let mut acc = 0.0;
                        for bb in a..q {
                            acc += tk[(bb, a)] * w[(r + bb) * q1 + c];
                        }
                        tmp[a] = acc;
                    }
                    for a in 0..q {
                        w[(r + a) * q1 + c] = tmp[a];
                    }
                }
            }
            r += q;
        }
    }

    /// The blocked factorization into `ws.m` (the dense factor). With `kept` the per-level
    /// blocks are stored; without, nothing is allocated: this is the optimizer's inner loop.
    fn factorize_core(
        &self,
        theta: &[f64],
        ws: &mut Workspace,
        mut kept: Option<&mut Kept>,
    ) -> Option<Summary> {
        self.factors_into(theta, &mut ws.t);
        let q_rest = self.q_rest;
        // Λ_r' A_rr Λ_r. When every other term is scalar (q = 1), rows and columns are scaled
        // in the copy itself: one sequential pass over the lower triangle, which is all the
        // later steps read. Otherwise the full block is copied and transformed term by term.
        let dim = ws.m.nrows();
        if self.terms.iter().skip(1).all(|t| t.q() == 1) {
            ws.scale.clear();
            for (k, term) in self.terms.iter().enumerate().skip(1) {
                ws.scale
                    .extend(std::iter::repeat_n(ws.t[k][(0, 0)], term.nlevels()));
            }
            ws.scale.resize(dim, 1.0);
            let src = self.a_rr.as_slice();
            let scale = &ws.scale;
            let column = |j: usize, dst: &mut [f64]| {
                let sj = scale[j];
                let src = &src[j * dim + j..(j + 1) * dim];
                for ((d, a), si) in dst[j..].iter_mut().zip(src).zip(&scale[j..]) {
                    *d = a * si * sj;
                }
            };
            if self.scatter.is_some() {
                // Large blocks (megabytes): columns in parallel with the `parallel` feature.
                crate::par::for_each_chunk_mut(ws.m.as_mut_slice(), dim, column);
            } else {
                for (j, dst) in ws.m.as_mut_slice().chunks_mut(dim).enumerate() {
                    column(j, dst);
                }
            }
        } else {
            ws.m.copy_from(&self.a_rr);
            for (k, term) in self.terms.iter().enumerate().skip(1) {
                let q = term.q();
                for l in 0..term.nlevels() {
                    let start = self.offsets[k] + l * q;
                    if q == 1 {
                        let s = ws.t[k][(0, 0)];
                        ws.m.row_mut(start).scale_mut(s);
                        ws.m.column_mut(start).scale_mut(s);
                    } else {
                        rows_times_t_transpose(&mut ws.m, start, &ws.t[k]);
                        cols_times_t(&mut ws.m, start, &ws.t[k]);
                    }
                }
            }
        }
        for i in 0..q_rest {
            ws.m[(i, i)] += 1.0;
        }
        let q1 = ws.t[0].nrows();
        let t1 = ws.t[0].as_slice();
        let mut logdet_z = LogSum::new();
        let scatter = self.scatter.as_ref();
        let outer = self.outer.as_ref();
        // With the outer products, W itself is needed only for the kept blocks.
        let need_w = outer.is_none() || kept.is_some();
        for (j, lev) in self.levels1.iter().enumerate() {
            let mrows = lev.rows.len();
            let a21 = lev.a21;
            let w = &mut ws.w[..if need_w { mrows * q1 } else { 0 }];
            if need_w {
                // W = Λ_r' A_j Λ_1 L11^{-T}, row-major m × q1.
                for r in 0..mrows {
                    for c in 0..q1 {
                        w[r * q1 + c] = a21[r + c * mrows];
                    }
                }
                self.transform_random_rows(lev, &ws.t, w, &mut ws.tmp, q1);
            }
            match q1 {
                1 => {
                    let tt = t1[0] * t1[0];
                    let b = tt * lev.a11[0] + 1.0;
                    if !(b > 0.0 && b.is_finite()) {
                        return None;
                    }
                    logdet_z.add(b);
                    if outer.is_some() {
                        // M = T² / B: no square root in the optimizer's loop.
                        ws.weights[j] = tt / b;
                    }
                    if need_w {
                        let l = b.sqrt();
                        ws.b[0] = l;
                        let f = t1[0] / l;
                        for v in w.iter_mut() {
                            *v *= f;
                        }
                    }
                }
                2 => {
                    // B = Tᵀ A T + I for lower T = [t00 0; t10 t11] and symmetric A, written out.
                    let a = lev.a11;
                    let (t00, t10, t11) = (t1[0], t1[1], t1[3]);
                    let at00 = a[0] * t00 + a[2] * t10;
                    let at10 = a[1] * t00 + a[3] * t10;
                    let b00 = t00 * at00 + t10 * at10 + 1.0;
                    let b10 = t11 * at10;
                    let b11 = t11 * a[3] * t11 + 1.0;
                    let det = b00 * b11 - b10 * b10;
                    if !(b00 > 0.0 && det > 0.0 && det.is_finite()) {
                        return None;
                    }
                    logdet_z.add(det);
                    if outer.is_some() {
                        // M = T B⁻¹ Tᵀ with B⁻¹ = adj(B) / det: one division, no square roots.
                        let r = 1.0 / det;
                        let (c00, c01, c11) = (b11 * r, -b10 * r, b00 * r);
                        let tc10 = t10 * c00 + t11 * c01;
                        let tc11 = t10 * c01 + t11 * c11;
                        let nl = self.levels1.len();
                        ws.weights[j] = t00 * t00 * c00;
                        ws.weights[nl + j] = t00 * (c00 * t10 + c01 * t11);
                        ws.weights[2 * nl + j] = tc10 * t10 + tc11 * t11;
                    }
                    if need_w {
                        let l00 = b00.sqrt();
                        let l10 = b10 / l00;
                        let l11 = (b11 - l10 * l10).sqrt();
                        ws.b.copy_from_slice(&[l00, l10, 0.0, l11]);
                        for row in w.chunks_exact_mut(2) {
                            // row ← row T1, then forward-solve row L11ᵀ = row.
                            let y0 = row[0] * t00 + row[1] * t10;
                            let y1 = row[1] * t11;
                            let x0 = y0 / l00;
                            row[0] = x0;
                            row[1] = (y1 - x0 * l10) / l11;
                        }
                    }
                }
                _ => {
                    penalized_block(lev.a11, t1, q1, &mut ws.at, &mut ws.b);
                    if !super::kernels::small_cholesky(&mut ws.b, q1) {
                        return None;
                    }
                    for i in 0..q1 {
                        let d = ws.b[i + i * q1];
                        logdet_z.add(d * d);
                    }
                    let tmp = &mut ws.tmp;
                    for row in w.chunks_exact_mut(q1) {
                        for c in 0..q1 {
                            let mut acc = 0.0;
                            for k in c..q1 {
                                acc += row[k] * t1[k + c * q1];
                            }
                            tmp[c] = acc;
                        }
                        for c in 0..q1 {
                            let mut acc = tmp[c];
                            for (k, rk) in row[..c].iter().enumerate() {
                                acc -= rk * ws.b[c + k * q1];
                            }
                            row[c] = acc / ws.b[c + c * q1];
                        }
                    }
                }
            }
            if let Some(o) = outer {
                // Mⱼ = T L₁₁⁻ᵀ L₁₁⁻¹ Tᵀ on the pairs (written out above for q₁ ≤ 2); the
                // products are summed over the levels after this loop.
                if q1 > 2 {
                    Self::outer_weights(&o.pairs, t1, &ws.b, q1, &mut ws.at, &mut ws.acc);
                    let nl = self.levels1.len();
                    for (k, &m) in ws.acc.iter().enumerate() {
                        ws.weights[k * nl + j] = m;
                    }
                }
            } else if let Some(sc) = scatter {
                let base = sc.level_start[j] * q1;
                ws.flat[base..base + mrows * q1].copy_from_slice(w);
            } else {
                // Schur update of the dense block (lower triangle).
                let data = ws.m.as_mut_slice();
                let rows = lev.rows;
                match q1 {
                    1 => {
                        for (a, (&ra, &wa)) in rows.iter().zip(w.iter()).enumerate() {
                            for (&rb, &wb) in rows[..=a].iter().zip(&w[..=a]) {
                                data[ra + rb * dim] -= wa * wb;
                            }
                        }
                    }
                    2 => {
                        let pairs = w.chunks_exact(2);
                        for (a, (&ra, wa)) in rows.iter().zip(pairs).enumerate() {
                            for (&rb, wb) in rows[..=a].iter().zip(w.chunks_exact(2)) {
                                data[ra + rb * dim] -= wa[0] * wb[0] + wa[1] * wb[1];
                            }
                        }
                    }
                    _ => {
                        for (a, &ra) in rows.iter().enumerate() {
                            let wa = &w[a * q1..(a + 1) * q1];
                            for (bb, &rb) in rows.iter().enumerate().take(a + 1) {
                                let wb = &w[bb * q1..(bb + 1) * q1];
                                let mut acc = 0.0;
                                for c in 0..q1 {
                                    acc += wa[c] * wb[c];
                                }
                                data[ra + rb * dim] -= acc;
                            }
                        }
                    }
                }
            }
            if let Some(kept) = kept.as_deref_mut() {
                kept.l21.extend_from_slice(w);
                kept.l11.extend_from_slice(&ws.b);
            }
        }
        if let Some(o) = outer {
            // Each entry of the update is Σ_k Σ_j M_jk P_jk: dot products over the levels,
            // contiguous in both the weights and the products.
            let nl = self.levels1.len();
            let data = ws.m.as_mut_slice();
            let mut idx = 0;
            for c in 0..dim {
                for d in &mut data[c * dim + c..(c + 1) * dim] {
                    let mut v = 0.0;
                    for k in 0..o.pairs.len() {
                        let p = &o.products[(k * o.len + idx) * nl..][..nl];
                        v += super::structure::dot(&ws.weights[k * nl..(k + 1) * nl], p);
                    }
                    *d -= v;
                    idx += 1;
                }
            }
        }
        if let Some(sc) = scatter {
            // Column by column: column rb gets Σ_j w_{j,rb} w_j over the levels touching rb,
            // from rb's position on (lower triangle; each level's rows ascend).
            // Columns are independent: in parallel (with the `parallel` feature).
            let flat = &ws.flat;
            crate::par::for_each_chunk_mut(ws.m.as_mut_slice(), dim, |rb, col| {
                for &(j, pos) in &sc.by_col[sc.col_start[rb]..sc.col_start[rb + 1]] {
                    let (j, pos) = (j as usize, pos as usize);
                    let rows = &sc.rows[sc.level_start[j]..sc.level_start[j + 1]];
                    let base = sc.level_start[j] * q1;
                    let w = &flat[base..base + rows.len() * q1];
                    let wb = &w[pos * q1..(pos + 1) * q1];
                    if q1 == 1 {
                        let wb = wb[0];
                        for (&ra, wa) in rows[pos..].iter().zip(&w[pos..]) {
                            col[ra as usize] -= wa * wb;
                        }
                    } else {
                        for (a, &ra) in rows.iter().enumerate().skip(pos) {
                            let wa = &w[a * q1..(a + 1) * q1];
                            let mut acc = 0.0;
                            for c in 0..q1 {
                                acc += wa[c] * wb[c];
                            }
                            col[ra as usize] -= acc;
                        }
                    }
                }
            });
        }
        if !super::kernels::cholesky_in_place(&mut ws.m, &mut ws.chol) {
            return None;
        }
        for i in 0..q_rest {
            let d = ws.m[(i, i)];
            logdet_z.add(d * d);
        }
        let mut logdet_x = LogSum::new();
        for i in q_rest..q_rest + self.p {
            let d = ws.m[(i, i)];
            logdet_x.add(d * d);
        }
        let pwrss = ws.m[(dim - 1, dim - 1)].powi(2);
        Some(Summary {
            logdet_z: logdet_z.value(),
            logdet_x: logdet_x.value(),
            pwrss,
        })
    }

    /// The weights of [`super::structure::Outer`]'s pairs for one level with q₁ > 2 (smaller
    /// blocks have closed forms): M = G Gᵀ with G = T L⁻ᵀ (T the first term's factor, L the
    /// level's L₁₁, both lower, column-major); `g` is q₁ × q₁ scratch.
    fn outer_weights(
        pairs: &[(usize, usize)],
        t: &[f64],
        l: &[f64],
        q1: usize,
        g: &mut [f64],
        out: &mut [f64],
    ) {
        // Row a of G solves L gₐ = (row a of T)ᵀ: forward substitution.
        for a in 0..q1 {
            for c in 0..q1 {
                let mut acc = if c <= a { t[a + c * q1] } else { 0.0 };
                for k in 0..c {
                    acc -= l[c + k * q1] * g[a + k * q1];
                }
                g[a + c * q1] = acc / l[c + c * q1];
            }
        }
        for (o, &(a, b)) in out.iter_mut().zip(pairs) {
            *o = (0..q1).map(|c| g[a + c * q1] * g[b + c * q1]).sum();
        }
    }

    /// Which term (≥ 1) a random row of the dense block belongs to.
    pub(crate) fn term_of_row(&self, idx: usize) -> usize {
        let mut k = 1;
        while k + 1 < self.terms.len() && self.offsets[k + 1] <= idx {
            k += 1;
        }
        k
    }

    /// The profiled objective from log|L_Z|², log|L_X|² and r².
    fn criterion_value(
        &self,
        logdet_z: f64,
        logdet_x: f64,
        pwrss: f64,
        criterion: Criterion,
    ) -> f64 {
        let n = self.n as f64;
        let p = self.p as f64;
        let two_pi = 2.0 * std::f64::consts::PI;
        match criterion {
            Criterion::Reml => {
                let nr = n - p;
                logdet_z + logdet_x + nr * (1.0 + (two_pi * pwrss / nr).ln())
            }
            Criterion::Ml => logdet_z + n * (1.0 + (two_pi * pwrss / n).ln()),
        }
    }

    /// The profiled objective at θ from a factorization.
    pub(crate) fn objective_from(&self, f: &Factorization, criterion: Criterion) -> f64 {
        self.criterion_value(f.logdet_z, f.logdet_x, f.pwrss, criterion)
    }

    /// The objective at θ (+∞ where the factorization fails).
    pub(crate) fn objective(&self, theta: &[f64], criterion: Criterion) -> f64 {
        self.objective_with(theta, criterion, &mut Workspace::new(self))
    }

    /// [`Structure::objective`] reusing a workspace (no allocation).
    pub(crate) fn objective_with(
        &self,
        theta: &[f64],
        criterion: Criterion,
        ws: &mut Workspace,
    ) -> f64 {
        match self.factorize_core(theta, ws, None) {
            Some(sm) => self.criterion_value(sm.logdet_z, sm.logdet_x, sm.pwrss, criterion),
            None => f64::INFINITY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Data, LmmSpec};

    /// A small xorshift generator of integers below m, for deterministic test data.
    fn xorshift(mut s: u64) -> impl FnMut(u64) -> u64 {
        move |m| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % m
        }
    }

    /// A crossed design whose dense block is wide enough for the column-organized update.
    fn crossed() -> LmmSpec {
        let n = 3000;
        let mut next = xorshift(12345);
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
            "the test design must use the column-organized update"
        );
        let mut direct = (*spec.structure).clone();
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

    /// The profiled criterion from its dense definition: with V = ZΛΛ'Zᵀ + I,
    /// log|Λ'Z'ZΛ + I| = log|V|, log|L_X|² = log|XᵀV⁻¹X| and r² = min_β (y − Xβ)ᵀV⁻¹(y − Xβ).
    fn dense_objective(spec: &LmmSpec, theta: &[f64], c: Criterion) -> f64 {
        let s = &spec.structure;
        let n = s.n;
        let t = s.factors(theta);
        let q: usize = s.terms.iter().map(|tm| tm.nlevels() * tm.q()).sum();
        let mut zl = DMatrix::<f64>::zeros(n, q);
        let mut col = 0;
        for (k, tm) in s.terms.iter().enumerate() {
            for i in 0..n {
                let l = tm.codes[i] as usize;
                for a in 0..tm.q() {
                    // row i of Z_k Λ_k in level l's columns: z_i' T_k
                    let v: f64 = (0..tm.q()).map(|b| tm.z.at(i, b) * t[k][(b, a)]).sum();
                    zl[(i, col + l * tm.q() + a)] = v;
                }
            }
            col += tm.nlevels() * tm.q();
        }
        let v = &zl * zl.transpose() + DMatrix::<f64>::identity(n, n);
        let ch = v.clone().cholesky().unwrap();
        let logdet_v: f64 = ch.l().diagonal().iter().map(|d| 2.0 * d.ln()).sum();
        let (x, y): (&DMatrix<f64>, &nalgebra::DVector<f64>) = (&spec.x.to_dense(), &spec.y);
        let vinv_x = ch.solve(x);
        let vinv_y = ch.solve(y);
        let xtvx = x.transpose() * &vinv_x;
        let beta = xtvx
            .clone()
            .cholesky()
            .unwrap()
            .solve(&(x.transpose() * &vinv_y));
        let r = y - x * beta;
        let r2 = (r.transpose() * ch.solve(&r))[(0, 0)];
        let logdet_x: f64 = xtvx.determinant().ln();
        let (nf, p) = (n as f64, s.p as f64);
        let tp = 2.0 * std::f64::consts::PI;
        match c {
            Criterion::Reml => logdet_v + logdet_x + (nf - p) * (1.0 + (tp * r2 / (nf - p)).ln()),
            Criterion::Ml => logdet_v + nf * (1.0 + (tp * r2 / nf).ln()),
        }
    }

    #[test]
    fn objective_equals_its_dense_definition() {
        // Four shapes: a 3-wide vector term; a 2-wide one; a vector term second (more levels
        // in the scalar term, so the dense block carries q = 2 blocks); two scalar crossed terms.
        let n = 240;
        let mut next = xorshift(99);
        let g1: Vec<String> = (0..n).map(|i| format!("g{}", i % 6)).collect();
        let g2: Vec<String> = (0..n)
            .map(|i| format!("h{}", (i * 7 + i / 6) % 30))
            .collect();
        let x: Vec<f64> = (0..n).map(|_| next(1000) as f64 / 300.0).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| x[i] * 0.4 + (i % 6) as f64 * 0.3 + next(1000) as f64 / 400.0)
            .collect();
        let z: Vec<f64> = (0..n).map(|_| next(1000) as f64 / 500.0).collect();
        let d = Data::new()
            .with_numeric("y", y)
            .unwrap()
            .with_numeric("x", x)
            .unwrap()
            .with_numeric("z", z)
            .unwrap()
            .with_categorical("g1", g1)
            .unwrap()
            .with_categorical("g2", g2)
            .unwrap();
        for (formula, theta) in [
            // a 3 × 3 first-term block: the general (not closed-form) path
            ("y ~ x + (x + z | g2)", vec![0.8, 0.1, -0.2, 0.5, 0.3, 0.4]),
            ("y ~ x + (x | g1)", vec![0.7, -0.3, 0.4]),
            ("y ~ x + z + (1 | g2)", vec![0.9]),
            ("y ~ x + (x | g1) + (1 | g2)", vec![0.6, 0.8, -0.2, 0.5]),
            ("y ~ x + (1 | g1) + (1 | g2)", vec![0.6, 1.3]),
        ] {
            let spec = LmmSpec::new(&d, formula).unwrap();
            assert_eq!(spec.structure.ntheta(), theta.len(), "{formula}");
            for c in [Criterion::Reml, Criterion::Ml] {
                let got = spec.structure.objective(&theta, c);
                let want = dense_objective(&spec, &theta, c);
                assert!(
                    (got - want).abs() <= 1e-9 * want.abs(),
                    "{formula} {c:?}: {got} vs {want}"
                );
            }
        }
        // the second shape really has a vector term after the first
        let spec = LmmSpec::new(&d, "y ~ x + (x | g1) + (1 | g2)").unwrap();
        assert_eq!(spec.structure.terms[1].q(), 2);
        // the single-term shapes go through the outer products, and they equal the direct
        // Schur update (W Wᵀ, level by level) to rounding
        for (formula, theta) in [
            ("y ~ x + (x + z | g2)", vec![0.8, 0.1, -0.2, 0.5, 0.3, 0.4]),
            ("y ~ x + (x | g1)", vec![0.7, -0.3, 0.4]),
            ("y ~ x + z + (1 | g2)", vec![0.9]),
        ] {
            let spec = LmmSpec::new(&d, formula).unwrap();
            assert!(spec.structure.outer.is_some(), "{formula}");
            let mut direct = (*spec.structure).clone();
            direct.outer = None;
            for c in [Criterion::Reml, Criterion::Ml] {
                let a = spec.structure.objective(&theta, c);
                let b = direct.objective(&theta, c);
                assert!((a - b).abs() <= 1e-12 * b.abs(), "{formula}: {a} vs {b}");
            }
        }
    }
}
