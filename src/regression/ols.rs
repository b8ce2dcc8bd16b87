//! The OLS fit and its inference.

use crate::data::Data;
use crate::error::{Error, Result};
use crate::formula::design::Design;
use crate::formula::{Formula, Missingness, ModelFrame};
use crate::linalg::{Qr, upper_inverse};
use crate::stats::{Coefficient, f_upper, t_quantile};
use nalgebra::{DMatrix, DVector};

/// Entry point for ordinary least squares.
///
/// # Examples
///
/// ```
/// use securebase::{Data, Ols};
/// let data = Data::new()
///     .with_numeric("y", vec![1.0, 3.1, 4.9, 7.2, 8.8])?
///     .with_numeric("x", vec![0.0, 1.0, 2.0, 3.0, 4.0])?;
/// let fit = Ols::fit(&data, "y ~ x")?;
/// let slope = &fit.coefficients()[1];
/// assert_eq!(slope.term, "x");
/// // closed form: Sxy / Sxx = 19.7 / 10
/// assert!((slope.estimate - 1.97).abs() < 1e-12);
/// println!("{fit}"); // a table like R's summary(lm)
/// # Ok::<(), securebase::Error>(())
/// ```
pub struct Ols;

impl Ols {
    /// Fit `formula` (no random-effect terms) to `data` by least squares.
    ///
    /// Rows with a missing value in any variable of the formula are dropped listwise and
    /// reported in [`OlsFit::missing`].
    ///
    /// # Errors
    /// Parse errors ([`Error::Formula`]), unknown columns, a categorical response, a formula with
    /// random-effect terms, n ≤ p, a constant response, or an aliased term ([`Error::Term`]).
    pub fn fit(data: &Data, formula: &str) -> Result<OlsFit> {
        Self::fit_formula(data, &Formula::parse(formula)?)
    }

    /// [`Ols::fit`] for a parsed formula.
    ///
    /// # Errors
    /// As [`Ols::fit`].
    pub fn fit_formula(data: &Data, formula: &Formula) -> Result<OlsFit> {
        if formula.is_mixed() {
            return Err(Error::Model(format!(
                "'{}' has random-effect terms; fit it as a linear mixed model",
                formula.text()
            )));
        }
        let (frame, data) = ModelFrame::at_level(formula, data, "least-squares fit")?;
        OlsFit::from_frame(formula, frame, &data)
    }
}

/// Heteroskedasticity-consistent covariance estimators (White 1980; MacKinnon & White 1985).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum HcType {
    /// White's estimator: (X'X)⁻¹ X' diag(eᵢ²) X (X'X)⁻¹.
    Hc0,
    /// HC0 with eᵢ² / (1 − hᵢ)², the jackknife-like choice recommended for small samples.
    Hc3,
}

/// The overall F test of all non-intercept coefficients.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct FTest {
    /// F statistic.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub statistic: f64,
    /// Numerator df.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub df1: f64,
    /// Denominator df.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub df2: f64,
    /// Upper-tail p-value.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub p: f64,
}

/// A fitted OLS model. Immutable; every number R's `summary(lm)` reports, and more.
///
/// ```
/// use securebase::{Data, HcType, Ols};
/// let mtcars = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mtcars.csv"))?;
/// let fit = Ols::fit(&mtcars, "mpg ~ wt")?;
/// // R: lm(mpg ~ wt, mtcars): 37.2851, -5.3445; R² 0.7528
/// assert!((fit.beta()[0] - 37.285126).abs() < 1e-6 && (fit.beta()[1] + 5.344472).abs() < 1e-6);
/// assert!((fit.r_squared() - 0.752833).abs() < 1e-6);
/// let robust = fit.robust_coefficients(HcType::Hc3); // sandwich::vcovHC(type = "HC3")
/// assert!(robust[1].std_error > 0.0);
/// let p = fit.predict(&mtcars, 0.95)?;
/// assert_eq!(p.fit.len(), 32);
/// println!("{fit}"); // prints like summary(lm)
/// # Ok::<(), securebase::Error>(())
/// ```
///
/// With the `serde` feature it serializes with every number it reports and the data columns
/// its formula reads (`data`); deserializing refits on those columns and checks the result
/// against the stored estimates, so a fit read back is whole (predictions, robust SEs) and a
/// file whose numbers do not belong to its data is an error.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "OlsFitRepr"))]
pub struct OlsFit {
    formula: String,
    response: String,
    coefficients: Vec<Coefficient>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    vcov: Vec<Vec<f64>>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    sigma: f64,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    df_residual: f64,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    r_squared: f64,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    adj_r_squared: f64,
    f_test: Option<FTest>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    fitted: Vec<f64>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    residuals: Vec<f64>,
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    leverage: Vec<f64>,
    row_ids: Vec<usize>,
    missing: Missingness,
    offsets: Vec<String>,
    design: Design,
    #[cfg(feature = "serde")]
    data: Data,
    #[cfg_attr(feature = "serde", serde(skip))]
    x: DMatrix<f64>,
    #[cfg_attr(feature = "serde", serde(skip))]
    xtx_inv: DMatrix<f64>,
}

/// What rebuilding a serialized [`OlsFit`] needs, and the estimates it is checked against.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct OlsFitRepr {
    formula: String,
    coefficients: Vec<Coefficient>,
    data: Data,
}

#[cfg(feature = "serde")]
impl TryFrom<OlsFitRepr> for OlsFit {
    type Error = Error;

    fn try_from(r: OlsFitRepr) -> Result<OlsFit> {
        let fit = Ols::fit(&r.data, &r.formula)?;
        if !crate::stats::same_estimates(&fit.coefficients, &r.coefficients) {
            return Err(Error::Argument {
                name: "fit".into(),
                message: format!(
                    "the serialized fit of '{}' does not match its data: refitted, the estimates differ from the stored ones",
                    r.formula
                ),
            });
        }
        Ok(fit)
    }
}

/// Predictions for new data.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Prediction {
    /// Predicted mean.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub fit: Vec<f64>,
    /// Standard error of the predicted mean.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub se_fit: Vec<f64>,
    /// Confidence interval for the mean, at `level`.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub confidence: Vec<[f64; 2]>,
    /// Prediction interval for a new observation, at `level`.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub prediction: Vec<[f64; 2]>,
    /// The interval level.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub level: f64,
}

impl OlsFit {
    pub(crate) fn from_frame(formula: &Formula, frame: ModelFrame, data: &Data) -> Result<OlsFit> {
        let ModelFrame {
            rows,
            y,
            x,
            design,
            missing,
            offset,
        } = frame;
        let (n, p) = x.shape();
        if n <= p {
            return Err(Error::Model(format!(
                "{n} complete rows cannot estimate {p} coefficients (n must exceed p)"
            )));
        }
        let qr = Qr::new(&x).map_err(|j| Error::Term {
            term: design.column_names()[j].clone(),
            message: "aliased: this column is a linear combination of earlier columns (rank-deficient design); drop it or one of the terms it depends on".into(),
        })?;
        let qty = qr.qt_mul(&y);
        let r = qr.r();
        let rinv = upper_inverse(&r);
        let beta = &rinv * qty.rows(0, p);
        let fitted = &x * &beta;
        let resid = &y - &fitted;
        // R reports fitted values with the offset added back; R² and F use them without it.
        let fitted = match &offset {
            Some(o) => fitted + o,
            None => fitted,
        };
        let rss = resid.norm_squared();
        let df = (n - p) as f64;
        let sigma2 = rss / df;
        let xtx_inv = &rinv * rinv.transpose();
        let vcov = &xtx_inv * sigma2;
        let coefficients: Vec<Coefficient> = design
            .column_names()
            .iter()
            .enumerate()
            .map(|(j, name)| Coefficient::at(name, beta[j], vcov[(j, j)].sqrt(), df, 0.95))
            .collect();
        let intercept = design.has_intercept();
        let tss = if intercept {
            let m = y.mean();
            y.iter().map(|v| (v - m).powi(2)).sum::<f64>()
        } else {
            y.norm_squared()
        };
        let r2 = 1.0 - rss / tss;
        let df_int = if intercept { 1.0 } else { 0.0 };
        let adj = 1.0 - (1.0 - r2) * (n as f64 - df_int) / df;
        let df1 = p as f64 - df_int;
        let f_test = (df1 > 0.0).then(|| {
            let statistic = ((tss - rss) / df1) / sigma2;
            FTest {
                statistic,
                df1,
                df2: df,
                p: f_upper(statistic, df1, df),
            }
        });
        let q = qr.thin_q();
        let leverage = q.row_iter().map(|r| r.norm_squared()).collect();
        Ok(OlsFit {
            formula: formula.text().to_string(),
            response: formula.response().to_string(),
            coefficients,
            vcov: to_rows(&vcov),
            sigma: sigma2.sqrt(),
            df_residual: df,
            r_squared: r2,
            adj_r_squared: adj,
            f_test,
            fitted: fitted.iter().copied().collect(),
            residuals: resid.iter().copied().collect(),
            leverage,
            row_ids: rows.iter().map(|&r| data.row_id(r)).collect(),
            missing,
            offsets: formula.offsets().to_vec(),
            design,
            #[cfg(feature = "serde")]
            data: data.select_columns(&formula.columns())?,
            x,
            xtx_inv,
        })
    }

    /// The formula as given.
    pub fn formula(&self) -> &str {
        &self.formula
    }

    /// The response variable's name.
    pub fn response(&self) -> &str {
        &self.response
    }

    /// Coefficient table (estimate, SE, residual df, t, p, 95% CI).
    pub fn coefficients(&self) -> &[Coefficient] {
        &self.coefficients
    }

    /// The coefficient for `term`, if the model has it.
    pub fn coefficient(&self, term: &str) -> Option<&Coefficient> {
        self.coefficients.iter().find(|c| c.term == term)
    }

    /// Point estimates β̂, in column order.
    pub fn beta(&self) -> Vec<f64> {
        self.coefficients.iter().map(|c| c.estimate).collect()
    }

    /// Column (term) names, in order.
    pub fn terms(&self) -> Vec<&str> {
        self.coefficients.iter().map(|c| c.term.as_str()).collect()
    }

    /// The coefficient table with CIs at `level` (e.g. 0.90), as R's `confint(fit, level=)`.
    ///
    /// # Errors
    /// [`Error::Argument`] for a level not strictly between 0 and 1.
    pub fn coefficients_at(&self, level: f64) -> Result<Vec<Coefficient>> {
        crate::stats::check_level(level)?;
        Ok(self
            .coefficients
            .iter()
            .map(|c| Coefficient::at(&c.term, c.estimate, c.std_error, c.df, level))
            .collect())
    }

    /// Covariance matrix of β̂, σ̂² (X'X)⁻¹, as rows.
    pub fn vcov(&self) -> &[Vec<f64>] {
        &self.vcov
    }

    /// Residual standard error σ̂.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// Residual degrees of freedom n − p.
    pub fn df_residual(&self) -> f64 {
        self.df_residual
    }

    /// Number of observations used.
    pub fn nobs(&self) -> usize {
        self.fitted.len()
    }

    /// R² (uncentred when the model has no intercept, as in R).
    pub fn r_squared(&self) -> f64 {
        self.r_squared
    }

    /// Adjusted R².
    pub fn adj_r_squared(&self) -> f64 {
        self.adj_r_squared
    }

    /// The overall F test (`None` for an intercept-only model).
    pub fn f_test(&self) -> Option<FTest> {
        self.f_test
    }

    /// Fitted values, one per row used.
    pub fn fitted(&self) -> &[f64] {
        &self.fitted
    }

    /// Residuals y − ŷ, one per row used.
    pub fn residuals(&self) -> &[f64] {
        &self.residuals
    }

    /// Leverages hᵢ (diagonal of the hat matrix).
    pub fn leverage(&self) -> &[f64] {
        &self.leverage
    }

    /// Origins of the rows used (see [`Data::row_ids`]), aligned with fitted values.
    pub fn row_ids(&self) -> &[usize] {
        &self.row_ids
    }

    /// Rows dropped for missing values.
    pub fn missing(&self) -> &Missingness {
        &self.missing
    }

    /// The fixed-effects design (coding of every column).
    pub fn design(&self) -> &Design {
        &self.design
    }

    /// Log-likelihood at the ML estimate of σ² (as R's `logLik(lm)`).
    pub fn loglik(&self) -> f64 {
        let n = self.nobs() as f64;
        let rss: f64 = self.residuals.iter().map(|e| e * e).sum();
        -0.5 * n * ((2.0 * std::f64::consts::PI * rss / n).ln() + 1.0)
    }

    /// AIC, counting σ as a parameter (as R).
    pub fn aic(&self) -> f64 {
        -2.0 * self.loglik() + 2.0 * (self.coefficients.len() as f64 + 1.0)
    }

    /// BIC, counting σ as a parameter (as R).
    pub fn bic(&self) -> f64 {
        -2.0 * self.loglik() + (self.nobs() as f64).ln() * (self.coefficients.len() as f64 + 1.0)
    }

    /// Heteroskedasticity-consistent covariance of β̂ (as `sandwich::vcovHC(fit, type=)`).
    pub fn robust_vcov(&self, kind: HcType) -> Vec<Vec<f64>> {
        let (n, p) = self.x.shape();
        let mut meat = DMatrix::<f64>::zeros(p, p);
        for i in 0..n {
            let e2 = self.residuals[i].powi(2);
            let w = match kind {
                HcType::Hc0 => e2,
                HcType::Hc3 => e2 / (1.0 - self.leverage[i]).powi(2),
            };
            let xi = self.x.row(i);
            meat.ger(w, &xi.transpose(), &xi.transpose(), 1.0);
        }
        to_rows(&(&self.xtx_inv * meat * &self.xtx_inv))
    }

    /// The coefficient table with robust standard errors (t on the residual df, as
    /// `lmtest::coeftest(fit, vcov = vcovHC(fit, type =))`).
    pub fn robust_coefficients(&self, kind: HcType) -> Vec<Coefficient> {
        let v = self.robust_vcov(kind);
        self.coefficients
            .iter()
            .enumerate()
            .map(|(j, c)| Coefficient::at(&c.term, c.estimate, v[j][j].sqrt(), c.df, 0.95))
            .collect()
    }

    /// The values of one model-matrix column in the rows used (e.g. a numeric predictor).
    pub fn column_values(&self, name: &str) -> Option<Vec<f64>> {
        let j = self.design.column_names().iter().position(|c| c == name)?;
        Some(self.x.column(j).iter().copied().collect())
    }

    /// The model matrix of new data, coded as the fit's.
    ///
    /// # Errors
    /// Unknown columns, missing values (named by row and column), unseen factor levels.
    pub fn model_matrix(&self, newdata: &Data) -> Result<DMatrix<f64>> {
        let rows: Vec<usize> = (0..newdata.nrows()).collect();
        self.design.matrix(newdata, &rows)
    }

    /// Predict the mean for each row of `newdata`, with its standard error and confidence and
    /// prediction intervals at `level` (R's `predict(fit, newdata, se.fit = TRUE, interval =)`).
    ///
    /// # Errors
    /// As [`OlsFit::model_matrix`]; [`Error::Argument`] for a level outside (0, 1).
    pub fn predict(&self, newdata: &Data, level: f64) -> Result<Prediction> {
        crate::stats::check_level(level)?;
        let x0 = self.model_matrix(newdata)?;
        let beta = DVector::from_vec(self.beta());
        let mut fit = &x0 * beta;
        if let Some(o) = crate::predict::offsets(newdata, &self.design, &self.offsets)? {
            for (f, o) in fit.iter_mut().zip(o) {
                *f += o;
            }
        }
        let s2 = self.sigma * self.sigma;
        let q = t_quantile(0.5 + level / 2.0, self.df_residual);
        let mut se_fit = Vec::with_capacity(x0.nrows());
        let (mut confidence, mut prediction) = (Vec::new(), Vec::new());
        for (i, row) in x0.row_iter().enumerate() {
            let v = (row * &self.xtx_inv * row.transpose())[(0, 0)] * s2;
            let se = v.sqrt();
            let pse = (v + s2).sqrt();
            se_fit.push(se);
            confidence.push([fit[i] - q * se, fit[i] + q * se]);
            prediction.push([fit[i] - q * pse, fit[i] + q * pse]);
        }
        Ok(Prediction {
            fit: fit.iter().copied().collect(),
            se_fit,
            confidence,
            prediction,
            level,
        })
    }
}

pub(crate) fn to_rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
    m.row_iter().map(|r| r.iter().copied().collect()).collect()
}
