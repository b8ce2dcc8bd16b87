//! Random a and b slopes in a 1-1-1 mediation (Kenny, Korchmaros & Bolger 2003; Bauer,
//! Preacher & Gil 2006): when the within-client effect of X on M (a_j) and of M on Y (b_j) vary
//! over clients, the average within-client indirect effect is E(a_j b_j) = a·b + σ_ab, which
//! needs the covariance of the two slopes, so both paths are fitted as one model.
//!
//! Bauer et al.'s stacking: each session row appears twice, once with M and once with Y as the
//! outcome `z`, with indicators `dm` and `dy` and their products with the predictors as the
//! fixed effects, and `(0 + dm + dm·X_within + dy + dy·M_within | client)` as the random
//! effects (an unstructured 4 × 4 covariance, so σ_ab is one of its entries). M and Y have
//! their own residual variances (nlme's `varIdent`): the M rows get weight ρ = σ²_Y / σ²_M,
//! fitted by scaling them by √ρ and adding −n_M·log ρ to the REML criterion, with ρ profiled
//! by Brent's method (a one-dimensional search around the ratio of the separate fits'
//! residual variances).

use crate::data::{Column, Data};
use crate::error::{Error, Result};
use crate::lmm::{Criterion, Ddf, FitOptions, LmmFit, LmmSpec};

/// The stacked fit: the fixed effects (named as in [`COLUMNS`]), their covariance, the slopes'
/// covariance σ_ab with its asymptotic SE, and the variance ratio.
pub(crate) struct Stacked {
    pub(crate) names: Vec<String>,
    pub(crate) beta: Vec<f64>,
    pub(crate) vcov: Vec<Vec<f64>>,
    pub(crate) cov_ab: f64,
    pub(crate) cov_ab_se: Option<f64>,
    pub(crate) rho: f64,
    pub(crate) reml: f64,
    pub(crate) notes: Vec<String>,
}

/// The fixed effects of the stacked model: M's intercept and X parts, Y's intercept, M parts,
/// X parts (covariates are added per outcome as `m.{c}` and `y.{c}`).
const COLUMNS: [&str; 8] = ["m.int", "a_w", "a_b", "y.int", "b_w", "b_b", "cp_w", "cp_b"];

/// Session rows with the split columns → the stacked rows, M rows scaled by √ρ.
fn stack(d: &Data, m: &str, y: &str, x: &str, covariates: &[String], rho: f64) -> Result<Data> {
    let n = d.nrows();
    let col = |c: &str| -> Result<Vec<f64>> {
        Ok(d.numeric(c)?
            .iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect())
    };
    let (xw, xb) = (col(&format!("{x}_within"))?, col(&format!("{x}_between"))?);
    let (mw, mb) = (col(&format!("{m}_within"))?, col(&format!("{m}_between"))?);
    let (mv, yv) = (col(m)?, col(y)?);
    let s = rho.sqrt();
    let both = |m_part: &dyn Fn(usize) -> f64, y_part: &dyn Fn(usize) -> f64| -> Column {
        Column::Numeric(
            (0..n)
                .map(|i| Some(s * m_part(i)))
                .chain((0..n).map(|i| Some(y_part(i))))
                .collect(),
        )
    };
    let zero = |_: usize| 0.0;
    let one = |_: usize| 1.0;
    let mut out = Data::new()
        .with_column("z", both(&|i| mv[i], &|i| yv[i]))?
        .with_column("m.int", both(&one, &zero))?
        .with_column("a_w", both(&|i| xw[i], &zero))?
        .with_column("a_b", both(&|i| xb[i], &zero))?
        .with_column("y.int", both(&zero, &one))?
        .with_column("b_w", both(&zero, &|i| mw[i]))?
        .with_column("b_b", both(&zero, &|i| mb[i]))?
        .with_column("cp_w", both(&zero, &|i| xw[i]))?
        .with_column("cp_b", both(&zero, &|i| xb[i]))?;
    for c in covariates {
        let v = col(c)?;
        out.add_column(&format!("m.{c}"), both(&|i| v[i], &zero))?;
        out.add_column(&format!("y.{c}"), both(&zero, &|i| v[i]))?;
    }
    let client = d.numeric(super::multilevel::CLIENT)?;
    out.add_column(
        "client",
        Column::Numeric(client.iter().chain(client.iter()).collect()),
    )?;
    Ok(out)
}

fn formula(covariates: &[String]) -> String {
    let mut fixed: Vec<String> = COLUMNS.iter().map(|c| format!("`{c}`")).collect();
    for c in covariates {
        fixed.push(format!("`m.{c}`"));
        fixed.push(format!("`y.{c}`"));
    }
    format!(
        "z ~ 0 + {} + (0 + `m.int` + a_w + `y.int` + b_w | client)",
        fixed.join(" + ")
    )
}

/// The REML fit of the stacked model at variance ratio ρ, and its criterion corrected for the
/// weights (the REML criterion of the unscaled data).
fn fit_at_rho(
    d: &Data,
    (m, y, x): (&str, &str, &str),
    covariates: &[String],
    rho: f64,
    start: Option<Vec<f64>>,
    ddf: Ddf,
) -> Result<(LmmFit, f64)> {
    let st = stack(d, m, y, x, covariates, rho)?;
    let spec = LmmSpec::new(&st, &formula(covariates))?;
    let mut options = FitOptions::with_ddf(ddf);
    options.start = start;
    // Restarts on a boundary would multiply the profile's cost; the final fit is checked.
    options.check_optimum = false;
    let fit = spec.fit_with(Criterion::Reml, &options)?;
    let correction = d.nrows() as f64 * rho.ln();
    let reml = fit.objective() - correction;
    Ok((fit, reml))
}

/// Fit the stacked model of a 1-1-1 mediation on session rows `d` (with the split columns and
/// the client codes), profiling the variance ratio.
pub(crate) fn fit(
    d: &Data,
    vars: (&str, &str, &str),
    covariates: &[String],
    ddf: Ddf,
) -> Result<Stacked> {
    let (m, y, x) = vars;
    // The separate fits' residual variances give the search's centre.
    let sep = |target: &str, rhs: &str| -> Result<f64> {
        let f = LmmSpec::new(
            d,
            &format!("`{target}` ~ {rhs} + (1 | `{}`)", super::multilevel::CLIENT),
        )?
        .fit_with(Criterion::Reml, &FitOptions::with_ddf(Ddf::Asymptotic))?;
        Ok(f.sigma().powi(2))
    };
    let vm = sep(m, &format!("`{x}_within` + `{x}_between`"))?;
    let vy = sep(
        y,
        &format!("`{m}_within` + `{m}_between` + `{x}_within` + `{x}_between`"),
    )?;
    let centre = (vy / vm).ln();
    let mut warm: Option<Vec<f64>> = None;
    let mut failure: Option<Error> = None;
    let mut profile = |log_rho: f64| -> f64 {
        match fit_at_rho(
            d,
            vars,
            covariates,
            log_rho.exp(),
            warm.clone(),
            Ddf::Asymptotic,
        ) {
            Ok((fit, reml)) => {
                warm = Some(fit.theta().to_vec());
                reml
            }
            Err(e) => {
                failure.get_or_insert(e);
                f64::INFINITY
            }
        }
    };
    let tol = crate::brent::Tolerance {
        rtol: 1e-7,
        atol: 1e-10,
        ftol: None,
        budget: 100,
    };
    let (log_rho, _) = crate::brent::minimize(&mut profile, centre - 3.0, centre + 3.0, tol);
    let rho = log_rho.exp();
    let (first, _) = fit_at_rho(d, vars, covariates, rho, warm.clone(), Ddf::Asymptotic)
        .map_err(|e| failure.take().unwrap_or(e))?;
    // The final fit at ρ̂, with its optimum checked and the variance parameters' covariance.
    let st = stack(d, m, y, x, covariates, rho)?;
    let spec = LmmSpec::new(&st, &formula(covariates))?;
    let mut options = FitOptions::with_ddf(Ddf::Satterthwaite);
    options.start = Some(first.theta().to_vec());
    let fit = spec.fit_with(Criterion::Reml, &options)?;
    let _ = ddf;
    let reml = fit.objective() - d.nrows() as f64 * rho.ln();
    // σ_ab = σ² (TTᵀ)[a_w, b_w] with T the 4 × 4 factor (effects m.int, a_w, y.int, b_w).
    let vc = fit
        .varcorr()
        .iter()
        .find(|v| v.effects.len() == 4)
        .ok_or_else(|| Error::Numerical("the stacked model lost its random slopes".into()))?;
    let cov_ab = vc.covariance[3][1];
    let cov_ab_se = fit.vcov_varpar().and_then(|v| {
        // Delta method in (θ, σ): σ_ab(θ, σ) = σ² Σ_k T[3][k] T[1][k].
        let theta = fit.theta().to_vec();
        let sigma = fit.sigma();
        let f = |t: &[f64], s: f64| {
            let tm = lower(t);
            s * s * (0..4).map(|k| tm[3][k] * tm[1][k]).sum::<f64>()
        };
        let mut g = vec![0.0; theta.len() + 1];
        let h = 1e-6;
        for i in 0..theta.len() {
            let (mut tp, mut tm) = (theta.clone(), theta.clone());
            tp[i] += h;
            tm[i] -= h;
            g[i] = (f(&tp, sigma) - f(&tm, sigma)) / (2.0 * h);
        }
        g[theta.len()] = 2.0 * cov_ab / sigma;
        let var: f64 = (0..g.len())
            .flat_map(|a| (0..g.len()).map(move |b| (a, b)))
            .map(|(a, b)| g[a] * v[a][b] * g[b])
            .sum();
        (var > 0.0).then(|| var.sqrt())
    });
    Ok(Stacked {
        names: fit.terms().iter().map(|t| t.to_string()).collect(),
        beta: fit.beta(),
        vcov: fit.vcov().to_vec(),
        cov_ab,
        cov_ab_se,
        rho,
        reml,
        notes: fit.diagnostics().to_vec(),
    })
}

/// The lower-triangular 4 × 4 factor from θ (column by column, lme4's order).
fn lower(theta: &[f64]) -> [[f64; 4]; 4] {
    let mut t = [[0.0; 4]; 4];
    let mut at = 0;
    for c in 0..4 {
        for row in t.iter_mut().skip(c) {
            row[c] = theta[at];
            at += 1;
        }
    }
    t
}

impl Stacked {
    /// The estimate of a fixed effect by its column name.
    pub(crate) fn coef(&self, name: &str) -> f64 {
        self.names
            .iter()
            .position(|n| n == name)
            .map_or(f64::NAN, |i| self.beta[i])
    }

    /// Its standard error.
    pub(crate) fn se(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.vcov[i][i].sqrt())
    }
}
