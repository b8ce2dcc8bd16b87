//! Dense kernels of the mixed-model core on faer: the Cholesky factor of the dense block and
//! the inverse of a lower-triangular factor.
//!
//! faer's blocked, SIMD kernels run the dense Cholesky at about twice the rate of a blocked
//! loop over nalgebra's matrix product on this crate's target machines, and its recursive
//! triangular inverse replaces an O(n³) scalar loop. The matrices stay nalgebra's (column-major,
//! contiguous); faer works on views of the same storage, so nothing is copied.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{LltRegularization, cholesky_in_place_scratch};
use faer::{MatMut, MatRef, Par};
use nalgebra::DMatrix;

/// Dimension from which the kernels use all threads (with the `parallel` feature).
#[cfg(feature = "parallel")]
const PARALLEL_FROM: usize = 384;

fn par(n: usize) -> Par {
    #[cfg(feature = "parallel")]
    if n >= PARALLEL_FROM {
        return Par::rayon(0);
    }
    let _ = n;
    Par::Seq
}

fn view_mut(a: &mut DMatrix<f64>) -> MatMut<'_, f64> {
    let (r, c) = a.shape();
    MatMut::from_column_major_slice_mut(a.as_mut_slice(), r, c)
}

fn view(a: &DMatrix<f64>) -> MatRef<'_, f64> {
    let (r, c) = a.shape();
    MatRef::from_column_major_slice(a.as_slice(), r, c)
}

/// Reusable scratch for [`cholesky_in_place`] (faer's kernels need a small work buffer).
#[derive(Default)]
pub(crate) struct Scratch {
    buffer: Option<(usize, MemBuffer)>,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").finish_non_exhaustive()
    }
}

/// Below this dimension a plain column loop beats faer's blocked kernels (whose dispatch and
/// scratch handling cost more than a 6 × 6 factorization or inverse itself).
const SMALL_CHOLESKY: usize = 24;

/// In-place Cholesky of a small q × q column-major block (lower read and written, upper
/// zeroed). False if a pivot is not positive (or not finite).
pub(crate) fn small_cholesky(b: &mut [f64], q: usize) -> bool {
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

/// In-place lower Cholesky factor of a symmetric positive definite matrix (its lower triangle
/// is read; the upper triangle is zeroed). False if a pivot is not positive (or not finite).
pub(crate) fn cholesky_in_place(a: &mut DMatrix<f64>, scratch: &mut Scratch) -> bool {
    let n = a.nrows();
    if n == 0 {
        return true;
    }
    if n < SMALL_CHOLESKY {
        return small_cholesky(a.as_mut_slice(), n);
    }
    let par = par(n);
    let buffer = match &mut scratch.buffer {
        Some((dim, b)) if *dim == n => b,
        slot => {
            let req = cholesky_in_place_scratch::<f64>(n, par, Default::default());
            &mut slot.insert((n, MemBuffer::new(req))).1
        }
    };
    let ok = faer::linalg::cholesky::llt::factor::cholesky_in_place(
        view_mut(a),
        LltRegularization::default(),
        par,
        MemStack::new(buffer),
        Default::default(),
    )
    .is_ok();
    if !ok {
        return false;
    }
    let data = a.as_mut_slice();
    for c in 1..n {
        data[c * n..c * n + c].fill(0.0);
    }
    (0..n).all(|i| {
        let d = data[i + i * n];
        d > 0.0 && d.is_finite()
    })
}

/// The inverse of a small lower-triangular L (q × q, column-major) into `out` (lower, column-
/// major; the upper triangle zero).
pub(crate) fn small_lower_inverse(l: &[f64], q: usize, out: &mut [f64]) {
    out.fill(0.0);
    for c in 0..q {
        out[c + c * q] = 1.0 / l[c + c * q];
        for r in c + 1..q {
            let mut s = 0.0;
            for k in c..r {
                s -= l[r + k * q] * out[k + c * q];
            }
            out[r + c * q] = s / l[r + r * q];
        }
    }
}

/// Inverse of a lower-triangular matrix (its upper triangle is ignored; the result's is zero).
pub(crate) fn lower_inverse(l: &DMatrix<f64>) -> DMatrix<f64> {
    let n = l.nrows();
    let mut inv = DMatrix::<f64>::zeros(n, n);
    if n < SMALL_CHOLESKY {
        small_lower_inverse(l.as_slice(), n, inv.as_mut_slice());
    } else {
        faer::linalg::triangular_inverse::invert_lower_triangular(
            view_mut(&mut inv),
            view(l),
            par(n),
        );
        let data = inv.as_mut_slice();
        for c in 1..n {
            data[c * n..c * n + c].fill(0.0);
        }
    }
    inv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spd(n: usize, seed: u64) -> DMatrix<f64> {
        let mut s = seed;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 1000) as f64 / 1000.0 - 0.5
        };
        let b = DMatrix::from_fn(n, n, |_, _| next());
        &b * b.transpose() + DMatrix::identity(n, n) * n as f64 * 0.1
    }

    #[test]
    fn cholesky_reconstructs_and_rejects_indefinite() {
        let mut scratch = Scratch::default();
        // 60: faer's serial path; 500: past the threshold of the threaded path.
        for n in [1, 2, 7, 60, 500] {
            let a = spd(n, 7 + n as u64);
            let mut l = a.clone();
            assert!(cholesky_in_place(&mut l, &mut scratch));
            for c in 1..n {
                for r in 0..c {
                    assert_eq!(l[(r, c)], 0.0);
                }
            }
            let err = (&l * l.transpose() - &a).abs().max();
            assert!(err < 1e-10 * a.abs().max(), "n = {n}: {err}");
        }
        let mut bad = spd(5, 3);
        bad[(3, 3)] = -100.0;
        assert!(!cholesky_in_place(&mut bad, &mut scratch));
        let mut nan = spd(4, 5);
        nan[(2, 2)] = f64::NAN;
        assert!(!cholesky_in_place(&mut nan, &mut scratch));
    }

    #[test]
    fn lower_inverse_is_the_inverse() {
        for n in [1, 3, 40, 450] {
            let mut l = spd(n, 11 + n as u64);
            assert!(cholesky_in_place(&mut l, &mut Scratch::default()));
            let inv = lower_inverse(&l);
            let err = (&l * &inv - DMatrix::<f64>::identity(n, n)).abs().max();
            assert!(err < 1e-10, "n = {n}: {err}");
            for c in 1..n {
                for r in 0..c {
                    assert_eq!(inv[(r, c)], 0.0);
                }
            }
        }
    }
}
