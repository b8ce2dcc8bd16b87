//! Kenward–Roger small-sample inference for REML fits (Kenward & Roger 1997, with the
//! covariance-parameter choice of Halekoh & Højsgaard 2014, pbkrtest).
//!
//! Variance parameters φ are the distinct entries of each random-effect covariance matrix Σ_k
//! and the residual variance σ². With V = Σ_k Z_k(I ⊗ Σ_k)Z_k' + σ²I, Gᵣ = ∂V/∂φᵣ,
//! Φ = (X'V⁻¹X)⁻¹ and P = V⁻¹ − V⁻¹XΦX'V⁻¹:
//!
//! * W = I(φ)⁻¹ with the REML information I_rs = ½ tr(P Gᵣ P Gₛ);
//! * Pᵣ = −X'V⁻¹GᵣV⁻¹X, Q_rs = X'V⁻¹GᵣV⁻¹GₛV⁻¹X (second derivatives of V vanish);
//! * the adjusted covariance Φ_A = Φ + 2Φ{Σ W_rs (Q_rs − PᵣΦPₛ)}Φ;
//! * for a hypothesis Lβ = 0 of rank ℓ, A₁, A₂ and the moment matching of KR's eqs. (4)–(7)
//!   give the denominator df m and the scaling λ of F = (Lβ)ᵀ(LΦ_A Lᵀ)⁻¹(Lβ)/ℓ.
//!
//! Everything is dense n × n, so it is offered for n ≤ [`MAX_N`] only.

use super::{Criterion, LmmFit};
use crate::error::{Error, Result};
use crate::stats::Coefficient;
use nalgebra::{DMatrix, DVector};

/// Largest number of observations for which Kenward–Roger is computed.
pub const MAX_N: usize = 2000;

/// Kenward–Roger adjusted inference for the fixed effects of a REML fit.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct KenwardRoger {
    /// Coefficients with the adjusted SEs, KR df, t, p and 95% CIs.
    pub coefficients: Vec<Coefficient>,
    /// The adjusted covariance Φ_A of β̂ (rows).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub vcov_adjusted: Vec<Vec<f64>>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    phi: DMatrix<f64>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    phi_a: DMatrix<f64>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    w: DMatrix<f64>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    p_r: Vec<DMatrix<f64>>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    beta: DVector<f64>,
    names: Vec<String>,
}

impl KenwardRoger {
    /// KR df, adjusted SE, t, p and CI for the contrast lᵀβ.
    ///
    /// # Errors
    /// [`Error::Argument`] if `l` does not have one weight per fixed effect or is all zero.
    pub fn contrast(&self, l: &[f64]) -> Result<Coefficient> {
        crate::stats::check_weights(l, self.beta.len())?;
        let lv = DVector::from_column_slice(l);
        let df = self.df(&lv);
        let est = lv.dot(&self.beta);
        let se = (lv.transpose() * &self.phi_a * &lv)[(0, 0)].sqrt();
        let label = l
            .iter()
            .zip(&self.names)
            .filter(|(w, _)| **w != 0.0)
            .map(|(w, n)| format!("{w}*{n}"))
            .collect::<Vec<_>>()
            .join(" + ");
        Ok(Coefficient::at(&label, est, se, df, 0.95))
    }

    fn df(&self, l: &DVector<f64>) -> f64 {
        let lm = DMatrix::from_row_slice(1, l.len(), l.as_slice());
        self.scaling(&lm).map_or(f64::NAN, |(_, m)| m)
    }

    /// The joint test of the rows of L (ℓ = its rank, taken as its number of rows): the F
    /// scaling λ and the denominator df m of KR's eqs. (4)–(7); `None` if L has the wrong
    /// width or LΦLᵀ is singular.
    pub(crate) fn joint(&self, rows: &[Vec<f64>]) -> Option<(f64, f64)> {
        let p = self.beta.len();
        if rows.is_empty() || rows.iter().any(|r| r.len() != p) {
            return None;
        }
        let l = DMatrix::from_fn(rows.len(), p, |i, j| rows[i][j]);
        self.scaling(&l)
    }

    fn scaling(&self, l: &DMatrix<f64>) -> Option<(f64, f64)> {
        // Θ = Lᵀ(LΦLᵀ)⁻¹L.
        let ell = l.nrows() as f64;
        let lpl = (l * &self.phi * l.transpose()).try_inverse()?;
        let theta = l.transpose() * lpl * l;
        let tpr: Vec<DMatrix<f64>> = self
            .p_r
            .iter()
            .map(|pr| &theta * &self.phi * pr * &self.phi)
            .collect();
        let k = tpr.len();
        let (mut a1, mut a2) = (0.0, 0.0);
        for r in 0..k {
            for s in 0..k {
                let w = self.w[(r, s)];
                a1 += w * tpr[r].trace() * tpr[s].trace();
                a2 += w * (&tpr[r] * &tpr[s]).trace();
            }
        }
        let b = (a1 + 6.0 * a2) / (2.0 * ell);
        let g = ((ell + 1.0) * a1 - (ell + 4.0) * a2) / ((ell + 2.0) * a2);
        let d = 3.0 * ell + 2.0 * (1.0 - g);
        let (c1, c2, c3) = (g / d, (ell - g) / d, (ell + 2.0 - g) / d);
        let e_star = 1.0 / (1.0 - a2 / ell);
        let v_star = (2.0 / ell) * (1.0 + c1 * b) / ((1.0 - c2 * b).powi(2) * (1.0 - c3 * b));
        let rho = v_star / (2.0 * e_star * e_star);
        let m = 4.0 + (ell + 2.0) / (ell * rho - 1.0);
        Some((m / (e_star * (m - 2.0)), m))
    }
}

impl LmmFit {
    /// Kenward–Roger adjusted covariance and df for every fixed effect (pbkrtest's
    /// `vcovAdj` and `KRmodcomp`; lmerTest's `ddf = "Kenward-Roger"`).
    ///
    /// # Errors
    /// [`Error::Model`] for ML fits (KR is defined for REML) or more than [`MAX_N`]
    /// observations; [`Error::Numerical`] if V or the information matrix is singular.
    ///
    /// ```
    /// use securebase::{Criterion, Data, LmmSpec};
    /// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sleepstudy.csv"))?;
    /// let fit = LmmSpec::new(&data, "Reaction ~ Days + (Days | Subject)")?.fit(Criterion::Reml)?;
    /// let kr = fit.kenward_roger()?;
    /// assert!((kr.coefficients[1].df - 17.0).abs() < 1e-6); // pbkrtest: 17
    /// # Ok::<(), securebase::Error>(())
    /// ```
    pub fn kenward_roger(&self) -> Result<KenwardRoger> {
        if self.criterion() != Criterion::Reml {
            return Err(Error::Model("Kenward–Roger needs a REML fit".into()));
        }
        let s = &self.spec().structure;
        let n = s.n;
        if n > MAX_N {
            return Err(Error::Model(format!(
                "Kenward–Roger works with dense {n} × {n} matrices; it is offered up to n = {MAX_N} (use the Satterthwaite df)"
            )));
        }
        let x: &DMatrix<f64> = &self.spec().x.to_dense();
        let p = x.ncols();
        let sigma2 = self.sigma().powi(2);
        // V and its derivatives.
        let mut v = DMatrix::<f64>::identity(n, n) * sigma2;
        let mut g: Vec<DMatrix<f64>> = Vec::new();
        for (term, vc) in s.terms.iter().zip(self.varcorr()) {
            let q = term.q();
            let mut by_level: Vec<Vec<usize>> = vec![Vec::new(); term.nlevels()];
            for (i, &c) in term.codes.iter().enumerate() {
                by_level[c as usize].push(i);
            }
            for a in 0..q {
                for b in a..q {
                    let mut gr = DMatrix::<f64>::zeros(n, n);
                    for obs in &by_level {
                        for &i in obs {
                            for &j in obs {
                                let val = if a == b {
                                    term.z.at(i, a) * term.z.at(j, a)
                                } else {
                                    term.z.at(i, a) * term.z.at(j, b)
                                        + term.z.at(i, b) * term.z.at(j, a)
                                };
                                gr[(i, j)] += val;
                                v[(i, j)] += vc.covariance[b][a] * val;
                            }
                        }
                    }
                    g.push(gr);
                }
            }
        }
        g.push(DMatrix::<f64>::identity(n, n));
        let vinv = v
            .cholesky()
            .ok_or_else(|| {
                Error::Numerical("the marginal covariance V is not positive definite".into())
            })?
            .inverse();
        let sx = &vinv * x; // V⁻¹X
        let phi = (x.transpose() * &sx)
            .try_inverse()
            .ok_or_else(|| Error::Numerical("X'V⁻¹X is singular".into()))?;
        let pmat = &vinv - &sx * &phi * sx.transpose();
        let k = g.len();
        let pg: Vec<DMatrix<f64>> = g.iter().map(|gr| &pmat * gr).collect();
        let mut info = DMatrix::<f64>::zeros(k, k);
        for r in 0..k {
            for t in 0..=r {
                // tr(A B) = Σ_ij A_ij B_ji
                let tr = pg[r].component_mul(&pg[t].transpose()).sum();
                info[(r, t)] = 0.5 * tr;
                info[(t, r)] = 0.5 * tr;
            }
        }
        let w = info.try_inverse().ok_or_else(|| {
            Error::Numerical(
                "the information matrix of the variance parameters is singular (a boundary fit?)"
                    .into(),
            )
        })?;
        let gs: Vec<DMatrix<f64>> = g.iter().map(|gr| gr * &sx).collect(); // Gᵣ V⁻¹X
        let p_r: Vec<DMatrix<f64>> = gs.iter().map(|m| -(sx.transpose() * m)).collect();
        let mut inner = DMatrix::<f64>::zeros(p, p);
        for r in 0..k {
            let vgr = &vinv * &gs[r];
            for t in 0..k {
                let q_rt = gs[t].transpose() * &vgr; // X'V⁻¹GₜV⁻¹GᵣV⁻¹X (symmetric pair summed over r,t)
                inner += (q_rt.transpose() - &p_r[r] * &phi * &p_r[t]) * w[(r, t)];
            }
        }
        let phi_a = &phi + (&phi * inner * &phi) * 2.0;
        let beta = DVector::from_vec(self.beta());
        let names: Vec<String> = self.terms().iter().map(|t| t.to_string()).collect();
        let mut kr = KenwardRoger {
            coefficients: Vec::new(),
            vcov_adjusted: phi_a
                .row_iter()
                .map(|r| r.iter().copied().collect())
                .collect(),
            phi,
            phi_a,
            w,
            p_r,
            beta,
            names,
        };
        kr.coefficients = (0..p)
            .map(|j| {
                let mut l = vec![0.0; p];
                l[j] = 1.0;
                let mut c = kr.contrast(&l)?;
                c.term = kr.names[j].clone();
                Ok(c)
            })
            .collect::<Result<_>>()?;
        Ok(kr)
    }
}
