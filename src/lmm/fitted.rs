//! A fit's fitted values, and its residuals y − fitted made only when asked for.
//!
//! A fit keeps its response (in the specification) and its fitted values; a third n-vector of
//! their differences would add 8 bytes a row (40 MB at 5M rows) that the printed summary does
//! not need: its five residual quantiles are selected from the differences as they are
//! computed ([`quantiles5_scaled_by`]).

use crate::report::{quantiles5_scaled, quantiles5_scaled_by};
use nalgebra::DVector;
use std::sync::{Arc, OnceLock};

/// Fitted values (offsets included) and the residuals y − fitted, made on the first request.
#[derive(Clone)]
pub(crate) struct FittedValues {
    /// The response less the offsets (the specification's, shared).
    y: Arc<DVector<f64>>,
    /// The offsets' sum per row, if any (shared).
    offset: Option<Arc<DVector<f64>>>,
    /// Fitted values, offsets included.
    fitted: Vec<f64>,
    /// Residuals, once asked for.
    residuals: OnceLock<Vec<f64>>,
}

impl FittedValues {
    /// `fitted` are the fitted values less the offsets; they are kept with the offsets added.
    /// `y` and `offset` as the specification holds them.
    pub(crate) fn new(
        y: Arc<DVector<f64>>,
        offset: Option<Arc<DVector<f64>>>,
        mut fitted: Vec<f64>,
    ) -> FittedValues {
        debug_assert_eq!(y.len(), fitted.len());
        // The response was fitted less its offsets; fitted values carry them again, as lme4's.
        if let Some(o) = &offset {
            for (f, o) in fitted.iter_mut().zip(o.iter()) {
                *f += o;
            }
        }
        FittedValues {
            y,
            offset,
            fitted,
            residuals: OnceLock::new(),
        }
    }

    /// The fitted values, offsets included.
    pub(crate) fn fitted(&self) -> &[f64] {
        &self.fitted
    }

    /// Residual `i`: the response less the offsets, less the fitted values less the offsets
    /// (without offsets, exactly y − fitted).
    fn residual(&self, i: usize) -> f64 {
        match &self.offset {
            None => self.y[i] - self.fitted[i],
            Some(o) => self.y[i] - (self.fitted[i] - o[i]),
        }
    }

    /// The residuals y − fitted (made on the first call and kept).
    pub(crate) fn residuals(&self) -> &[f64] {
        self.residual_vec()
    }

    fn residual_vec(&self) -> &Vec<f64> {
        self.residuals
            .get_or_init(|| (0..self.fitted.len()).map(|i| self.residual(i)).collect())
    }

    /// R's five-number summary of the residuals divided by `scale`, without keeping them.
    pub(crate) fn residual_quantiles(&self, scale: f64) -> [f64; 5] {
        match self.residuals.get() {
            Some(r) => quantiles5_scaled(r, scale),
            None => quantiles5_scaled_by(self.fitted.len(), |i| self.residual(i), scale),
        }
    }
}

impl std::fmt::Debug for FittedValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FittedValues")
            .field("fitted", &self.fitted)
            .field("residuals", &self.residuals())
            .finish()
    }
}

/// Serialized as two arrays, `fitted` and `residuals` (flattened into the fit's JSON).
#[cfg(feature = "serde")]
impl serde::Serialize for FittedValues {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Floats<'a>(&'a Vec<f64>);
        impl serde::Serialize for Floats<'_> {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                crate::serde_float::serialize(self.0, s)
            }
        }
        let mut st = s.serialize_struct("FittedValues", 2)?;
        st.serialize_field("fitted", &Floats(&self.fitted))?;
        st.serialize_field("residuals", &Floats(self.residual_vec()))?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::FittedValues;
    use nalgebra::DVector;
    use std::sync::Arc;

    #[test]
    fn residuals_are_y_less_fitted_and_their_quantiles_need_no_copy() {
        // 70,000 values: the binned selection path (not the copy) for the quantiles.
        let n = 70_000;
        let y: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 / 7.0).collect();
        let f: Vec<f64> = (0..n).map(|i| (i % 13) as f64 * 0.5).collect();
        let o: Vec<f64> = (0..n).map(|i| (i % 3) as f64).collect();
        let plain = FittedValues::new(Arc::new(DVector::from_vec(y.clone())), None, f.clone());
        let want: Vec<f64> = y.iter().zip(&f).map(|(y, f)| y - f).collect();
        let q = plain.residual_quantiles(2.0);
        assert!(
            plain.residuals.get().is_none(),
            "quantiles made the residuals"
        );
        assert_eq!(plain.residuals(), want.as_slice());
        assert_eq!(q, crate::report::quantiles5_scaled(&want, 2.0));
        assert_eq!(plain.residual_quantiles(2.0), q);
        // With offsets: fitted values carry them, residuals are (y − o) − (fitted − o).
        let with = FittedValues::new(
            Arc::new(DVector::from_vec(y.clone())),
            Some(Arc::new(DVector::from_vec(o.clone()))),
            f.clone(),
        );
        for i in [0, 1, 2, n - 1] {
            assert_eq!(with.fitted()[i], f[i] + o[i]);
            assert!((with.residuals()[i] - want[i]).abs() <= 1e-12);
        }
    }
}
