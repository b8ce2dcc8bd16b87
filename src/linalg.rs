//! Small dense linear-algebra pieces the crate needs beyond nalgebra: a Householder QR that
//! reports the first column linearly dependent on earlier ones (as R's `lm` detects aliasing).

use nalgebra::{DMatrix, DVector};

/// A thin QR factorization X = QR of an n × p matrix with n ≥ p and full column rank.
pub(crate) struct Qr {
    /// Householder vectors in the lower part, R in the upper triangle.
    qr: DMatrix<f64>,
    /// Diagonal of R.
    rdiag: Vec<f64>,
}

/// Relative tolerance under which a column counts as dependent (R's `lm` uses 1e-7).
pub(crate) const RANK_TOL: f64 = 1e-7;

impl Qr {
    /// Factorize, or return the index of the first column whose part orthogonal to the earlier
    /// columns has norm below `RANK_TOL` times its own norm.
    pub(crate) fn new(x: &DMatrix<f64>) -> Result<Qr, usize> {
        let (n, p) = x.shape();
        let mut a = x.clone();
        let mut rdiag = vec![0.0; p];
        let data = a.as_mut_slice();
        for j in 0..p {
            let (done, rest) = data.split_at_mut((j + 1) * n);
            let col = &mut done[j * n..];
            let original = x.column(j).norm();
            let norm = col[j..].iter().map(|v| v * v).sum::<f64>().sqrt();
            if j >= n || norm <= RANK_TOL * original || original == 0.0 {
                return Err(j);
            }
            let alpha = if col[j] > 0.0 { -norm } else { norm };
            col[j] -= alpha;
            let v = &col[j..];
            let vnorm2: f64 = v.iter().map(|e| e * e).sum();
            for other in rest.chunks_exact_mut(n) {
                let target = &mut other[j..];
                let dot: f64 = v.iter().zip(target.iter()).map(|(a, b)| a * b).sum();
                let s = 2.0 * dot / vnorm2;
                for (t, vi) in target.iter_mut().zip(v) {
                    *t -= s * vi;
                }
            }
            rdiag[j] = alpha;
        }
        Ok(Qr { qr: a, rdiag })
    }

    fn reflect(&self, j: usize, y: &mut [f64]) {
        let n = self.qr.nrows();
        let v = &self.qr.as_slice()[j * n + j..(j + 1) * n];
        let y = &mut y[j..];
        let vnorm2: f64 = v.iter().map(|e| e * e).sum();
        let dot: f64 = v.iter().zip(y.iter()).map(|(a, b)| a * b).sum();
        let s = 2.0 * dot / vnorm2;
        for (t, vi) in y.iter_mut().zip(v) {
            *t -= s * vi;
        }
    }

    /// Q'y (all n entries).
    pub(crate) fn qt_mul(&self, y: &DVector<f64>) -> DVector<f64> {
        let mut v = y.clone();
        for j in 0..self.rdiag.len() {
            self.reflect(j, v.as_mut_slice());
        }
        v
    }

    /// The upper-triangular R (p × p).
    pub(crate) fn r(&self) -> DMatrix<f64> {
        let p = self.rdiag.len();
        DMatrix::from_fn(p, p, |i, k| match i.cmp(&k) {
            std::cmp::Ordering::Equal => self.rdiag[i],
            std::cmp::Ordering::Less => self.qr[(i, k)],
            std::cmp::Ordering::Greater => 0.0,
        })
    }

    /// The thin Q (n × p).
    pub(crate) fn thin_q(&self) -> DMatrix<f64> {
        let (n, p) = (self.qr.nrows(), self.rdiag.len());
        let mut q = DMatrix::<f64>::zeros(n, p);
        for k in 0..p {
            let mut e = vec![0.0; n];
            e[k] = 1.0;
            for j in (0..p).rev() {
                self.reflect(j, &mut e);
            }
            q.column_mut(k).copy_from_slice(&e);
        }
        q
    }
}

/// Inverse of an upper-triangular matrix with a non-zero diagonal.
pub(crate) fn upper_inverse(r: &DMatrix<f64>) -> DMatrix<f64> {
    let p = r.nrows();
    let mut inv = DMatrix::<f64>::zeros(p, p);
    for k in 0..p {
        inv[(k, k)] = 1.0 / r[(k, k)];
        for i in (0..k).rev() {
            let s: f64 = (i + 1..=k).map(|m| r[(i, m)] * inv[(m, k)]).sum();
            inv[(i, k)] = -s / r[(i, i)];
        }
    }
    inv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_reconstructs_and_detects_alias() {
        let x = DMatrix::from_row_slice(
            4,
            3,
            &[1.0, 2.0, 0.5, 1.0, 3.0, -1.0, 1.0, 5.0, 2.0, 1.0, 7.0, 0.0],
        );
        let qr = Qr::new(&x).unwrap();
        let back = qr.thin_q() * qr.r();
        assert!((back - &x).abs().max() < 1e-12);
        let mut y = x.clone();
        y.column_mut(2)
            .copy_from(&(x.column(0) * 2.0 - x.column(1)));
        assert_eq!(Qr::new(&y).err(), Some(2));
        let r = qr.r();
        let eye = &r * upper_inverse(&r);
        assert!((eye - DMatrix::<f64>::identity(3, 3)).abs().max() < 1e-12);
    }
}
