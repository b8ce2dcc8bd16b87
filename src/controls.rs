//! Residualized controls for pseudosecurity, partial correlations and suppression checks.
//!
//! Jacobsen et al. (2024) separate "individuated" secure attachment to the therapist from
//! anxious idealization by regressing CATS Secure on CATS Preoccupied-Merger (ESAT_anx;
//! Mallinckrodt et al. 2017) or Avoidant-Fearful (ESAT_avoid; Petrowski et al. 2018) and keeping
//! the residual. By the Frisch–Waugh–Lovell theorem the residual's coefficient on an outcome
//! equals the target's coefficient in the regression of the outcome on target and controls
//! together; [`suppression_check`] reports both and the raw coefficient.

use crate::data::{Column, Data, NumericColumn};
use crate::error::{Error, Result};
use crate::formula::design::complete_rows;
use crate::regression::Ols;

/// Backtick-quote a column name for a formula.
pub(crate) fn q(name: &str) -> String {
    format!("`{name}`")
}

/// The formula `lhs ~ [0 +] rhs1 + rhs2 …` with every name quoted.
fn regression_formula<S: AsRef<str>>(lhs: &str, rhs: &[S], intercept: bool) -> String {
    let terms: Vec<String> = rhs.iter().map(|c| q(c.as_ref())).collect();
    format!(
        "{} ~ {}{}",
        q(lhs),
        if intercept { "" } else { "0 + " },
        terms.join(" + ")
    )
}

fn require_controls(controls: &[&str]) -> Result<()> {
    if controls.is_empty() {
        return Err(Error::Argument {
            name: "controls".into(),
            message: "give at least one control".into(),
        });
    }
    Ok(())
}

/// A fitted residualization equation `target = b0 + Σ b_k control_k + residual`, kept so that
/// new data are scored with the same coefficients.
///
/// # Examples
/// ```
/// use securebase::Data;
/// use securebase::controls::Residualizer;
/// let data = Data::new()
///     .with_numeric("secure", vec![4.0, 5.0, 3.5, 6.0, 4.5, 5.5])?
///     .with_numeric("preocc", vec![2.0, 3.5, 1.5, 4.0, 3.0, 2.5])?;
/// let esat = Residualizer::fit(&data, "secure", &["preocc"], false)?;
/// let scores = esat.apply(&data)?;
/// // residuals of an OLS fit sum to zero
/// assert!(scores.iter().flatten().sum::<f64>().abs() < 1e-12);
/// # Ok::<(), securebase::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Residualizer {
    /// The residualized score.
    pub target: String,
    /// The controls partialled out.
    pub controls: Vec<String>,
    /// Intercept b0 (0 for the within-cluster variant).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub intercept: f64,
    /// Coefficients of the controls.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub slopes: Vec<f64>,
    /// R² of the target on the controls.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub r_squared: f64,
    /// Rows used to fit the equation.
    pub n: usize,
    /// Mean and SD of the fitted residuals, when scores are standardized.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub standardize: Option<(f64, f64)>,
    /// The clustering variable of the within-cluster variant.
    pub cluster: Option<String>,
}

impl Residualizer {
    /// Fit `target ~ controls` by OLS on the complete rows. With `standardize`, scores are
    /// z-scores of the residual (mean and SD of the fitting sample).
    ///
    /// # Errors
    /// Unknown or categorical columns, no controls, and every OLS error (aliased controls,
    /// too few rows).
    pub fn fit(
        data: &Data,
        target: &str,
        controls: &[impl AsRef<str>],
        standardize: bool,
    ) -> Result<Residualizer> {
        let controls = &crate::data::borrowed_names(controls)[..];
        require_controls(controls)?;
        let formula = regression_formula(target, controls, true);
        let fit = Ols::fit(data, &formula)?;
        let beta = fit.beta();
        let res = fit.residuals();
        Ok(Residualizer {
            target: target.into(),
            controls: controls.iter().map(|c| c.to_string()).collect(),
            intercept: beta[0],
            slopes: beta[1..].to_vec(),
            r_squared: fit.r_squared(),
            n: fit.nobs(),
            standardize: standardize.then(|| mean_sd(res)),
            cluster: None,
        })
    }

    /// The within-cluster variant: target and controls are centred at their cluster means
    /// first, so the equation describes within-cluster (e.g. within-client over sessions)
    /// variation only, and applying it uses each cluster's own means.
    ///
    /// # Errors
    /// As [`Residualizer::fit`], and an unknown cluster column.
    pub fn fit_within(
        data: &Data,
        target: &str,
        controls: &[impl AsRef<str>],
        cluster: &str,
        standardize: bool,
    ) -> Result<Residualizer> {
        let controls = &crate::data::borrowed_names(controls)[..];
        require_controls(controls)?;
        let centred = within_centred(data, target, controls, cluster)?;
        let names: Vec<String> = std::iter::once(target)
            .chain(controls.iter().copied())
            .map(|c| format!("{c}__within"))
            .collect();
        let formula = regression_formula(&names[0], &names[1..], false);
        let fit = Ols::fit(&centred, &formula)?;
        Ok(Residualizer {
            target: target.into(),
            controls: controls.iter().map(|c| c.to_string()).collect(),
            intercept: 0.0,
            slopes: fit.beta(),
            r_squared: fit.r_squared(),
            n: fit.nobs(),
            standardize: standardize.then(|| mean_sd(fit.residuals())),
            cluster: Some(cluster.to_string()),
        })
    }

    /// Scores for every row of `data`: the residual from the stored equation (z-scored if the
    /// equation was fitted with `standardize`), `None` where an input is missing.
    ///
    /// # Errors
    /// Unknown or categorical columns.
    pub fn apply(&self, data: &Data) -> Result<Vec<Option<f64>>> {
        let controls: Vec<&str> = self.controls.iter().map(String::as_str).collect();
        let (source, suffix) = match &self.cluster {
            Some(c) => (
                within_centred(data, &self.target, &controls, c)?,
                "__within",
            ),
            None => (data.clone(), ""),
        };
        let y = source.numeric(&format!("{}{suffix}", self.target))?;
        let xs: Vec<&NumericColumn> = self
            .controls
            .iter()
            .map(|c| source.numeric(&format!("{c}{suffix}")))
            .collect::<Result<_>>()?;
        Ok((0..data.nrows())
            .map(|i| {
                let mut r = y.get(i)? - self.intercept;
                for (x, b) in xs.iter().zip(&self.slopes) {
                    r -= b * x.get(i)?;
                }
                Some(match self.standardize {
                    Some((m, s)) => (r - m) / s,
                    None => r,
                })
            })
            .collect())
    }

    /// Add the scores to `data` as a new numeric column.
    ///
    /// # Errors
    /// As [`Residualizer::apply`]; a taken column name.
    pub fn add_to(&self, data: &mut Data, name: &str) -> Result<()> {
        let scores = self.apply(data)?;
        data.add_column(name, Column::Numeric(scores.into()))
    }
}

fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let s = (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    (m, s)
}

fn within_centred(data: &Data, target: &str, controls: &[&str], cluster: &str) -> Result<Data> {
    let mut out = data.clone();
    for c in std::iter::once(target).chain(controls.iter().copied()) {
        crate::center::group_mean_center(&mut out, c, cluster, &format!("{c}__within"))?;
    }
    Ok(out)
}

/// Complete rows of numeric columns, as vectors.
fn complete_columns(data: &Data, cols: &[&str]) -> Result<Vec<Vec<f64>>> {
    let names: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
    for c in cols {
        data.numeric(c)?;
    }
    let (rows, _) = complete_rows(data, &names)?;
    cols.iter()
        .map(|c| {
            let v = data.numeric(c)?;
            Ok(rows.iter().map(|&r| v.values()[r]).collect())
        })
        .collect()
}

fn residuals_on(data: &Data, y: &str, controls: &[&str], rows_of: &[&str]) -> Result<Vec<f64>> {
    // Fit on the complete rows of all variables involved, so every residual vector aligns.
    let (keep, _) = complete_rows(
        data,
        &rows_of.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
    )?;
    let sub = data.select_rows(&keep)?;
    let formula = regression_formula(y, controls, true);
    Ok(Ols::fit(&sub, &formula)?.residuals().to_vec())
}

fn corr(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let mut sab = 0.0;
    let (mut saa, mut sbb) = (0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    sab / (saa * sbb).sqrt()
}

/// Partial correlation of `x` and `y` controlling both for `controls` (complete rows).
///
/// # Errors
/// Unknown or categorical columns; OLS errors.
pub fn partial_correlation(
    data: &Data,
    x: &str,
    y: &str,
    controls: &[impl AsRef<str>],
) -> Result<f64> {
    let controls = &crate::data::borrowed_names(controls)[..];
    let all: Vec<&str> = [x, y].into_iter().chain(controls.iter().copied()).collect();
    let rx = residuals_on(data, x, controls, &all)?;
    let ry = residuals_on(data, y, controls, &all)?;
    Ok(corr(&rx, &ry))
}

/// Semi-partial (part) correlation of `y` with `x`, controlling `x` only for `controls`.
///
/// # Errors
/// As [`partial_correlation`].
pub fn semipartial_correlation(
    data: &Data,
    y: &str,
    x: &str,
    controls: &[impl AsRef<str>],
) -> Result<f64> {
    let controls = &crate::data::borrowed_names(controls)[..];
    let all: Vec<&str> = [x, y].into_iter().chain(controls.iter().copied()).collect();
    let rx = residuals_on(data, x, controls, &all)?;
    let yv = &complete_columns(data, &all)?[1];
    Ok(corr(yv, &rx))
}

/// Raw and residualized effects of a target score on an outcome.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SuppressionCheck {
    /// Coefficient of the raw target in `outcome ~ target`.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub raw: f64,
    /// Coefficient of the residualized target in `outcome ~ residual`.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub residualized: f64,
    /// Coefficient of the target in `outcome ~ target + controls` (equal to `residualized`
    /// by Frisch–Waugh–Lovell).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub partial: f64,
    /// Whether partialling the controls flips the sign or enlarges the effect (suppression).
    pub suppression: bool,
    /// Rows used.
    pub n: usize,
}

/// Compare the raw and residualized coefficients of `target` on `outcome`.
///
/// # Errors
/// Unknown or categorical columns; OLS errors.
pub fn suppression_check(
    data: &Data,
    outcome: &str,
    target: &str,
    controls: &[impl AsRef<str>],
) -> Result<SuppressionCheck> {
    let controls = &crate::data::borrowed_names(controls)[..];
    let all: Vec<String> = [outcome, target]
        .into_iter()
        .chain(controls.iter().copied())
        .map(String::from)
        .collect();
    let (keep, _) = complete_rows(data, &all)?;
    let sub = data.select_rows(&keep)?;
    let raw = Ols::fit(&sub, &format!("{} ~ {}", q(outcome), q(target)))?.beta()[1];
    let mut with = sub.clone();
    Residualizer::fit(&sub, target, controls, false)?.add_to(&mut with, "__residualized")?;
    let residualized = Ols::fit(&with, &format!("{} ~ __residualized", q(outcome)))?.beta()[1];
    let full = format!(
        "{} ~ {} + {}",
        q(outcome),
        q(target),
        controls
            .iter()
            .map(|c| q(c))
            .collect::<Vec<_>>()
            .join(" + ")
    );
    let partial = Ols::fit(&sub, &full)?.beta()[1];
    Ok(SuppressionCheck {
        raw,
        residualized,
        partial,
        suppression: raw * partial < 0.0 || partial.abs() > raw.abs(),
        n: keep.len(),
    })
}

impl std::fmt::Display for Residualizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let terms: Vec<String> = self
            .controls
            .iter()
            .zip(&self.slopes)
            .map(|(c, b)| format!("{b:+.6}·{c}"))
            .collect();
        writeln!(
            f,
            "{} residualized on {}{}: {} = {:.6} {} + residual",
            self.target,
            self.controls.join(", "),
            self.cluster
                .as_ref()
                .map_or(String::new(), |c| format!(" within {c}")),
            self.target,
            self.intercept,
            terms.join(" ")
        )?;
        write!(f, "R² = {:.4}, n = {}", self.r_squared, self.n)?;
        if let Some((m, s)) = self.standardize {
            write!(f, "; scores standardized (residual mean {m:.6}, SD {s:.6})")?;
        }
        writeln!(f)
    }
}

impl std::fmt::Display for SuppressionCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Raw coefficient {:.6}; residualized {:.6}; in the joint model {:.6} (n = {}){}",
            self.raw,
            self.residualized,
            self.partial,
            self.n,
            if self.suppression {
                " — suppression: partialling the controls flips or enlarges the effect"
            } else {
                ""
            }
        )
    }
}
