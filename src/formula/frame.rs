//! The model frame: which rows a model uses, its response, and its fixed-effects matrix.

use super::Formula;
use super::design::{Design, complete_rows};
use crate::data::Data;
use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};
use serde::Serialize;

/// Rows dropped listwise because a variable the model uses is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missingness {
    /// Rows in the data given.
    pub n_input: usize,
    /// Rows the model used.
    pub n_used: usize,
    /// Origins (1-based, see [`Data::row_ids`]) of the rows dropped.
    pub dropped_rows: Vec<usize>,
}

impl Missingness {
    /// Number of rows dropped.
    pub fn n_dropped(&self) -> usize {
        self.dropped_rows.len()
    }
}

/// Response, fixed-effects matrix and row bookkeeping for one formula on one data set.
#[derive(Debug, Clone)]
pub struct ModelFrame {
    /// Positions (0-based) of the rows used, in `data`.
    pub rows: Vec<usize>,
    /// The response.
    pub y: DVector<f64>,
    /// The fixed-effects model matrix.
    pub x: DMatrix<f64>,
    /// How `x` was coded.
    pub design: Design,
    /// What was dropped.
    pub missing: Missingness,
}

impl ModelFrame {
    /// Build the frame: check columns, drop incomplete rows (on every variable of the formula,
    /// random parts included), check the response is numeric, and code the fixed effects.
    ///
    /// # Errors
    /// [`Error::Formula`] for an unknown column, [`Error::ColumnType`] for a categorical
    /// response, [`Error::Model`] when every row is dropped, [`Error::Term`] from the design.
    pub fn new(formula: &Formula, data: &Data) -> Result<ModelFrame> {
        formula.check_columns(data)?;
        let vars = formula.variables();
        if let crate::data::Column::Categorical(_) = data.column(formula.response())? {
            return Err(Error::ColumnType {
                name: formula.response().to_string(),
                expected: "numeric".into(),
                found: "categorical".into(),
                context: Some("the response of a linear model".into()),
            });
        }
        let (rows, dropped) = complete_rows(data, &vars)?;
        if rows.is_empty() {
            return Err(Error::Model(format!(
                "all {} rows have a missing value in at least one of: {}",
                data.nrows(),
                vars.join(", ")
            )));
        }
        let design = Design::new(formula.fixed(), data, &rows)?;
        let x = design.matrix(data, &rows)?;
        let yv = data.numeric(formula.response())?;
        let y = DVector::from_iterator(rows.len(), rows.iter().map(|&r| yv[r].unwrap_or(f64::NAN)));
        Ok(ModelFrame {
            missing: Missingness {
                n_input: data.nrows(),
                n_used: rows.len(),
                dropped_rows: dropped,
            },
            rows,
            y,
            x,
            design,
        })
    }
}
