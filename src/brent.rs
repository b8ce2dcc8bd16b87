//! Brent's (1973, ch. 5) one-dimensional minimization: golden-section steps with parabolic
//! interpolation, written from the algorithm's description. One implementation serves the
//! mixed models' single-θ search and the random-slopes mediation's variance-ratio profile.

const GOLDEN: f64 = 0.381_966_011_250_105_1;

/// When the search stops.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tolerance {
    /// Relative width in x.
    pub(crate) rtol: f64,
    /// Absolute width in x.
    pub(crate) atol: f64,
    /// Also stop on a parabolic step that moved x by less than a millionth and f by less than
    /// this.
    pub(crate) ftol: Option<f64>,
    /// At most this many steps.
    pub(crate) budget: usize,
}

/// The search state: the bracket [a, c], the best point x, the second and third best w, v.
struct State {
    a: f64,
    c: f64,
    x: (f64, f64),
    w: (f64, f64),
    v: (f64, f64),
    /// The step before last (a large value lets the first parabola be tried).
    e: f64,
}

/// Minimize `f` on [a, c] from its golden point; returns (x, f(x)).
pub(crate) fn minimize(
    f: &mut dyn FnMut(f64) -> f64,
    a: f64,
    c: f64,
    tol: Tolerance,
) -> (f64, f64) {
    let x = a + GOLDEN * (c - a);
    let fx = f(x);
    let (x, fx, _) = search(
        f,
        State {
            a,
            c,
            x: (x, fx),
            w: (x, fx),
            v: (x, fx),
            e: 0.0,
        },
        tol,
    );
    (x, fx)
}

/// Minimize `f` on a bracket a < b < c whose three values are known (f(b) below both ends):
/// the ends seed the first parabola. Returns (x, f(x), whether the tolerance was reached).
pub(crate) fn minimize_bracketed(
    f: &mut dyn FnMut(f64) -> f64,
    bracket: [(f64, f64); 3],
    tol: Tolerance,
) -> (f64, f64, bool) {
    let [(a, fa), (b, fb), (c, fc)] = bracket;
    let (w, v) = if fa <= fc {
        ((a, fa), (c, fc))
    } else {
        ((c, fc), (a, fa))
    };
    search(
        f,
        State {
            a,
            c,
            x: (b, fb),
            w,
            v,
            e: c - a,
        },
        tol,
    )
}

fn search(f: &mut dyn FnMut(f64) -> f64, s: State, tol: Tolerance) -> (f64, f64, bool) {
    let State { mut a, mut c, .. } = s;
    let ((mut x, mut fx), (mut w, mut fw), (mut v, mut fv)) = (s.x, s.w, s.v);
    let (mut d, mut e) = (0.0_f64, s.e);
    for _ in 0..tol.budget {
        let mid = 0.5 * (a + c);
        let tol1 = tol.rtol * x.abs() + tol.atol;
        let tol2 = 2.0 * tol1;
        if (x - mid).abs() <= tol2 - 0.5 * (c - a) {
            return (x, fx, true);
        }
        let mut golden = true;
        if e.abs() > tol1 {
            // The parabola through x, w, v.
            let r = (x - w) * (fx - fv);
            let mut q = (x - v) * (fx - fw);
            let mut p = (x - v) * q - (x - w) * r;
            q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            }
            q = q.abs();
            if p.abs() < (0.5 * q * e).abs() && p > q * (a - x) && p < q * (c - x) {
                e = d;
                d = p / q;
                let u = x + d;
                if u - a < tol2 || c - u < tol2 {
                    d = if x < mid { tol1 } else { -tol1 };
                }
                golden = false;
            }
        }
        if golden {
            e = if x < mid { c - x } else { a - x };
            d = GOLDEN * e;
        }
        let u = if d.abs() >= tol1 {
            x + d
        } else if d > 0.0 {
            x + tol1
        } else {
            x - tol1
        };
        let fu = f(u);
        let settled = tol.ftol.is_some_and(|ftol| {
            !golden && (u - x).abs() <= 1e-6 * x.abs() + tol.atol && (fx - fu).abs() <= ftol
        });
        if fu <= fx {
            if u < x {
                c = x;
            } else {
                a = x;
            }
            (v, fv, w, fw, x, fx) = (w, fw, x, fx, u, fu);
        } else {
            if u < x {
                a = u;
            } else {
                c = u;
            }
            if fu <= fw || w == x {
                (v, fv, w, fw) = (w, fw, u, fu);
            } else if fu <= fv || v == x || v == w {
                (v, fv) = (u, fu);
            }
        }
        if settled {
            return (x, fx, true);
        }
    }
    (x, fx, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: Tolerance = Tolerance {
        rtol: 1e-10,
        atol: 1e-10,
        ftol: None,
        budget: 200,
    };

    #[test]
    fn finds_minima_of_smooth_and_kinked_functions() {
        let (x, fx) = minimize(&mut |x| (x - 1.3) * (x - 1.3) + 2.0, -5.0, 5.0, TOL);
        assert!((x - 1.3).abs() < 1e-8 && (fx - 2.0).abs() < 1e-14);
        let (x, _) = minimize(&mut |x: f64| (x - 0.2).abs().sqrt(), -1.0, 3.0, TOL);
        assert!((x - 0.2).abs() < 1e-8);
        let f = |x: f64| (x - 2.0).powi(4) + x;
        let (x, _, ok) = minimize_bracketed(
            &mut |x| f(x),
            [(0.0, f(0.0)), (1.5, f(1.5)), (4.0, f(4.0))],
            Tolerance {
                ftol: Some(1e-14),
                ..TOL
            },
        );
        // f'(x) = 4 (x − 2)³ + 1 = 0.
        assert!(ok && (x - (2.0 - 0.25_f64.cbrt())).abs() < 1e-5, "{x}");
    }
}
