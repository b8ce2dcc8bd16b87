//! Type III F tests of each term of the fixed part, as lmerTest's `anova(fit)` (and SAS's
//! type III for full-rank designs).
//!
//! A term's type III hypothesis is that its coefficients vanish when every factor is coded by
//! sum-to-zero contrasts (R's `contr.sum`): a main effect then is an effect averaged with equal
//! weights over the factors it interacts with (numeric variables at zero). The fit's own
//! coding (treatment contrasts) spans the same columns, X_treat = X_sum C, so the hypothesis
//! in the fit's coefficients is L = S C with S selecting the term's sum-coded columns. C is
//! solved from both codings evaluated on a grid that spans the design (every factor
//! combination, with varied numeric values).
//!
//! F = (Lβ̂)ᵀ(LVLᵀ)⁻¹(Lβ̂)/q with q the rank of L. Its denominator df: Satterthwaite's by the
//! method of Fai & Cornelius (1996) as lmerTest applies it — LVLᵀ = PDPᵀ splits the test into
//! q one-df contrasts with df νᵢ, E = Σ νᵢ/(νᵢ − 2), ddf = 2E/(E − q) (2 if some νᵢ ≤ 2); or
//! Kenward–Roger's scaled F with its df m (Kenward & Roger 1997); residual df for OLS; ∞ (a
//! Wald test) for asymptotic df and GLM(M)s. lmerTest's mean square is F σ² (the unscaled F
//! under Kenward–Roger), its sum of squares q times that.

use super::{DfMethod, LinearInference, Probeable};
use crate::data::{Column, Data};
use crate::error::{Error, Result};
use crate::formula::design::Reference;
use nalgebra::DMatrix;

/// One term's test.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Type3Row {
    /// The term (`condition:phase`).
    pub term: String,
    /// q times the mean square (NaN without a residual variance).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub sum_sq: f64,
    /// F σ², with F before Kenward–Roger's scaling.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub mean_sq: f64,
    /// Numerator df: the rank of the hypothesis.
    pub num_df: usize,
    /// Denominator df.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub den_df: f64,
    /// The F statistic (Kenward–Roger's scaled F under that method).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub f: f64,
    /// Its upper-tail p-value.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub p: f64,
}

/// The type III table.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Type3 {
    /// One row per term of the fixed part, in the formula's order.
    pub rows: Vec<Type3Row>,
    /// The df method.
    pub df_method: DfMethod,
}

impl std::fmt::Display for Type3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let method = match self.df_method {
            DfMethod::Model => "the model's df (Satterthwaite for a mixed model)",
            DfMethod::KenwardRoger => "Kenward-Roger's method",
            DfMethod::Asymptotic => "asymptotic (Wald) tests",
            #[allow(unreachable_patterns)]
            _ => "",
        };
        writeln!(f, "Type III Analysis of Variance Table with {method}")?;
        let w = self
            .rows
            .iter()
            .map(|r| r.term.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        writeln!(
            f,
            "{:w$} {:>10} {:>10} {:>5} {:>9} {:>9} {:>10}",
            "", "Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:w$} {:>10.4} {:>10.4} {:>5} {:>9.3} {:>9.4} {:>10} {}",
                r.term,
                r.sum_sq,
                r.mean_sq,
                r.num_df,
                r.den_df,
                r.f,
                crate::stats::format_p(r.p),
                crate::stats::stars(r.p)
            )?;
        }
        Ok(())
    }
}

/// The most model rows the spanning grid may take.
const MAX_ROWS: usize = 500_000;

/// Type III F tests of every term of a fitted model's fixed part (see the module docs).
///
/// # Examples
/// ```
/// use securebase::{Criterion, Data, LmmSpec};
/// use securebase::probe::{anova_type3, DfMethod};
/// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/orthodont.csv"))?;
/// let fit = LmmSpec::new(&data, "distance ~ age * Sex + (age | Subject)")?.fit(Criterion::Reml)?;
/// let table = anova_type3(&fit, DfMethod::Model)?;
/// assert_eq!(table.rows[2].term, "age:Sex");
/// assert!((table.rows[2].f - 5.1186).abs() < 1e-3); // lmerTest: 5.1186 on 1 and 25 df
/// # Ok::<(), securebase::Error>(())
/// ```
///
/// # Errors
/// [`Error::Argument`] when the design has too many factor combinations to span, and
/// [`Error::Numerical`] if the sum-to-zero coding does not span the fit's columns (a
/// rank-deficient design) or a term's hypothesis is empty.
pub fn anova_type3<M: Probeable + ?Sized>(model: &M, method: DfMethod) -> Result<Type3> {
    let inf = model.inference(method)?;
    let c = coding_change(&inf)?;
    let design = inf.design;
    let col_terms = design.column_terms();
    let mut rows = Vec::new();
    for t in design.terms() {
        let cols: Vec<usize> = col_terms
            .iter()
            .enumerate()
            .filter(|(_, ct)| **ct == Some(t.label.as_str()))
            .map(|(j, _)| j)
            .collect();
        let l: Vec<Vec<f64>> = cols
            .iter()
            .map(|&j| c.row(j).iter().copied().collect())
            .collect();
        rows.push(test(&inf, &t.label, &l)?);
    }
    Ok(Type3 {
        rows,
        df_method: method,
    })
}

/// C with X_treat = X_sum C, from both codings on a grid spanning the design.
fn coding_change(inf: &LinearInference<'_>) -> Result<DMatrix<f64>> {
    let design = inf.design;
    let p = inf.beta.len();
    let reference = design.reference();
    let combos: usize = reference
        .iter()
        .map(|(_, r)| match r {
            Reference::Levels(l) => l.len().max(1),
            Reference::Mean(_) => 1,
        })
        .product();
    let reps = p + 1;
    let n = combos.saturating_mul(reps);
    if n > MAX_ROWS {
        return Err(Error::Argument {
            name: "terms".into(),
            message: format!(
                "the fixed part's factors have {combos} level combinations: too many to form type III hypotheses"
            ),
        });
    }
    let mut data = Data::new();
    let mut stride = 1;
    // A small deterministic sequence in (−1, 1) (Weyl sequence; any distinct values do).
    let mut k = 0usize;
    let mut next = || {
        k += 1;
        let v = (k as f64 * 0.618_033_988_749_894_9).fract();
        2.0 * v - 1.0
    };
    for (name, r) in reference {
        match r {
            Reference::Levels(levels) => {
                let s = stride;
                let vals: Vec<&str> = (0..n)
                    .map(|i| levels[(i / reps / s) % levels.len()].as_str())
                    .collect();
                data = data.with_categorical(name, vals)?;
                stride *= levels.len().max(1);
            }
            Reference::Mean(m) => {
                let col: Vec<Option<f64>> = (0..n)
                    .map(|_| {
                        let u = next();
                        Some(if *m != 0.0 { m * (1.0 + 0.5 * u) } else { u })
                    })
                    .collect();
                data.add_column(name, Column::Numeric(col.into()))?;
            }
        }
    }
    let rows: Vec<usize> = (0..n).collect();
    let x_treat = design.matrix(&data, &rows)?;
    let x_sum = design.sum_coded().matrix(&data, &rows)?;
    let svd = x_sum.clone().svd(true, true);
    let smax = svd.singular_values.max();
    let rank = svd
        .singular_values
        .iter()
        .filter(|s| **s > 1e-10 * smax)
        .count();
    if rank < p {
        return Err(Error::Numerical(format!(
            "the fixed part's {p} columns have rank {rank} on its reference grid: type III hypotheses need a full-rank design"
        )));
    }
    let c = svd
        .solve(&x_treat, 1e-12 * smax)
        .map_err(|e| Error::Numerical(format!("type III coding change: {e}")))?;
    let resid = (&x_sum * &c - &x_treat).abs().max();
    if resid > 1e-8 * x_treat.abs().max().max(1.0) {
        return Err(Error::Numerical(
            "the sum-to-zero coding does not span the fit's columns".into(),
        ));
    }
    Ok(c)
}

/// The F test of Lβ = 0.
fn test(inf: &LinearInference<'_>, term: &str, l: &[Vec<f64>]) -> Result<Type3Row> {
    let p = inf.beta.len();
    let q0 = l.len();
    if q0 == 0 {
        return Err(Error::Numerical(format!("term '{term}' has no columns")));
    }
    let lm = DMatrix::from_fn(q0, p, |i, j| l[i][j]);
    let v = DMatrix::from_fn(p, p, |i, j| inf.vcov[i][j]);
    let lvl = &lm * &v * lm.transpose();
    let eig = nalgebra::SymmetricEigen::new(lvl);
    let dmax = eig.eigenvalues.max();
    let keep: Vec<usize> = (0..q0)
        .filter(|&i| eig.eigenvalues[i] > 1e-8 * dmax.max(0.0))
        .collect();
    if keep.is_empty() {
        return Err(Error::Numerical(format!(
            "term '{term}': its hypothesis has no estimable direction"
        )));
    }
    let q = keep.len();
    let beta = nalgebra::DVector::from_column_slice(&inf.beta);
    // The eigen-directions: rows of PᵀL.
    let dirs: Vec<Vec<f64>> = keep
        .iter()
        .map(|&i| {
            (eig.eigenvectors.column(i).transpose() * &lm)
                .iter()
                .copied()
                .collect()
        })
        .collect();
    let f: f64 = keep
        .iter()
        .zip(&dirs)
        .map(|(&i, d)| {
            let est: f64 = d.iter().zip(beta.iter()).map(|(a, b)| a * b).sum();
            est * est / eig.eigenvalues[i]
        })
        .sum::<f64>()
        / q as f64;
    // The mean square is the unscaled F times σ² (as lmerTest reports it under either method).
    let mean_sq = f * inf.scale;
    let (f, den_df) = match &inf.joint {
        Some(rule) => {
            let (lambda, m) = rule(&dirs).ok_or_else(|| {
                Error::Numerical(format!("term '{term}': Kenward–Roger's scaling failed"))
            })?;
            (lambda * f, m)
        }
        None => {
            let nu: Vec<f64> = dirs.iter().map(|d| (inf.df)(d)).collect();
            (f, combined_df(&nu))
        }
    };
    Ok(Type3Row {
        term: term.to_string(),
        sum_sq: mean_sq * q as f64,
        mean_sq,
        num_df: q,
        den_df,
        f,
        p: if den_df.is_infinite() {
            crate::stats::chisq_upper(f * q as f64, q as f64)
        } else {
            crate::stats::f_upper(f, q as f64, den_df)
        },
    })
}

/// The df of an F test from the df of its q one-df directions (Fai & Cornelius 1996).
fn combined_df(nu: &[f64]) -> f64 {
    if nu.len() == 1 {
        return nu[0];
    }
    if nu.iter().all(|v| v.is_infinite()) {
        return f64::INFINITY;
    }
    if nu.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    if nu.iter().any(|&v| v <= 2.0) {
        return 2.0;
    }
    let e: f64 = nu
        .iter()
        .map(|&v| if v.is_infinite() { 1.0 } else { v / (v - 2.0) })
        .sum();
    2.0 * e / (e - nu.len() as f64)
}
