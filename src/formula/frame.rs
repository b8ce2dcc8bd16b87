//! The model frame: which rows a model uses, its response, and its fixed-effects matrix.

use super::Formula;
use super::columns::ModelColumns;
use super::design::{Design, complete_rows};
use super::functions::{self, Bound};
use crate::data::Data;
use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};
use std::borrow::Cow;

/// Rows dropped listwise because a variable the model uses is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Missingness {
    /// Rows in the data given.
    pub n_input: usize,
    /// Rows the model used.
    pub n_used: usize,
    /// Origins (1-based, see [`Data::row_ids`]) of the rows dropped.
    pub dropped_rows: Vec<usize>,
    /// When the data have declared levels and every variable of the model is at a level above
    /// the rows (a client-level model on a session file): the units the model was fitted to,
    /// one row each, and the rows they came from. `n_input` then counts the units.
    #[cfg_attr(feature = "serde", serde(default))]
    pub unit: Option<crate::data::ModelUnit>,
    /// What a reader of the fit should know about its rows: over which rows `scale()`
    /// standardized, a single-level model of nested rows.
    #[cfg_attr(feature = "serde", serde(default))]
    pub notes: Vec<String>,
}

impl Missingness {
    /// Number of rows dropped.
    pub fn n_dropped(&self) -> usize {
        self.dropped_rows.len()
    }
}

/// Response, fixed-effects matrix and row bookkeeping for one formula on one data set.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ModelFrame {
    /// Positions (0-based) of the rows used, in `data`.
    pub rows: Vec<usize>,
    /// The response, less the offsets if the formula has any.
    pub y: DVector<f64>,
    /// The fixed-effects model matrix.
    pub x: DMatrix<f64>,
    /// How `x` was coded.
    pub design: Design,
    /// What was dropped.
    pub missing: Missingness,
    /// The sum of the formula's offsets in the rows used, if it has any.
    pub offset: Option<DVector<f64>>,
}

/// Values whose squares overflow (about 1e154) or underflow (about 1e-154) make least squares
/// meaningless; refuse well before either, with a message that says what to do.
const MAX_MAGNITUDE: f64 = 1e100;
const MIN_MAGNITUDE: f64 = 1e-100;

/// The refusal of a variable whose largest |value| is `m`, outside 1e-100 … 1e100.
fn magnitude_error(term: &str, m: f64, what: &str) -> Option<Error> {
    let (how, by) = if m > MAX_MAGNITUDE {
        ("as large as", "divide it by")
    } else if m > 0.0 && m < MIN_MAGNITUDE {
        ("no larger than", "multiply it by")
    } else {
        return None;
    };
    let factor = 10f64.powi(m.log10().round() as i32);
    Some(Error::Term {
        term: term.to_string(),
        message: format!(
            "values {how} {m:e} are outside the magnitudes 1e-100 … 1e100 that least squares keeps accurate (their squares and sums of squares lose all precision or overflow); rescale the {what} ({by} {:e})",
            if m > MAX_MAGNITUDE {
                factor
            } else {
                1.0 / factor
            }
        ),
    })
}

/// The largest |xᵢ| (0 for none), in four lanes of comparisons that compile to vector maxima
/// (`f64::max`'s NaN rule does not); a NaN is skipped, as `f64::max` skips it.
fn max_abs(x: &[f64]) -> f64 {
    let mut m = [0.0f64; 4];
    let chunks = x.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        for k in 0..4 {
            let a = c[k].abs();
            m[k] = if a > m[k] { a } else { m[k] };
        }
    }
    tail.iter()
        .map(|v| v.abs())
        .chain(m)
        .fold(0.0, |acc, a| if a > acc { a } else { acc })
}

/// Check the formula's columns and evaluate its functions of variables: the data the model is
/// coded from (the data itself when the formula has no functions), and the bound functions.
pub(crate) fn prepare<'d>(
    formula: &Formula,
    data: &'d Data,
) -> Result<(Cow<'d, Data>, Vec<Bound>)> {
    formula.check_columns(data)?;
    functions::model_data(data, formula.derived(), &formula.columns())
}

/// A response with no variation (or variation below 1e-10 of its size, which is rounding noise)
/// has nothing to explain: lme4 stops on it, and least squares would report σ ≈ 0 and huge t.
fn check_response_varies(name: &str, y: &DVector<f64>, offset: bool) -> Result<()> {
    // Comparisons rather than f64::min/max, so that the pass vectorizes (y is finite here).
    let (lo, hi) = y
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (if v < a { v } else { a }, if v > b { v } else { b })
        });
    let scale = lo.abs().max(hi.abs());
    if hi - lo <= 1e-10 * scale {
        let what = if offset { " less its offsets" } else { "" };
        let how = if hi == lo {
            format!("constant ({lo})")
        } else {
            format!("nearly constant (range {:e} around {lo})", hi - lo)
        };
        return Err(Error::Model(format!(
            "the response '{name}'{what} is {how} in all {} rows used: there is no variation to model",
            y.len()
        )));
    }
    Ok(())
}

impl ModelFrame {
    /// Build the frame: check columns, evaluate functions of variables, drop incomplete rows (on
    /// every variable of the formula, random parts included), check the response is numeric,
    /// and code the fixed effects.
    ///
    /// # Errors
    /// [`Error::Formula`] for an unknown column, [`Error::InvalidValue`] for a value outside a
    /// function's domain, [`Error::ColumnType`] for a categorical response, [`Error::Model`]
    /// when every row is dropped, [`Error::Term`] from the design or for values too large to
    /// estimate with.
    pub fn new(formula: &Formula, data: &Data) -> Result<ModelFrame> {
        let (mdata, bound) = prepare(formula, data)?;
        let f = SharedFrame::build(formula, &mdata, bound, false)?;
        Ok(ModelFrame {
            rows: f.rows,
            y: f.y,
            x: f.x.into_dense(),
            design: f.design,
            missing: f.missing,
            offset: f.offset,
        })
    }

    /// The frame at the level of the model's variables when the data have declared levels
    /// ([`Data::with_levels`]): one row per client when every variable is client-level, an
    /// error for a client-level response with a session-level predictor; the data it was
    /// built on are returned with it (the rows index into them).
    pub(crate) fn at_level<'d>(
        formula: &Formula,
        data: &'d Data,
        model: &str,
    ) -> Result<(ModelFrame, Cow<'d, Data>)> {
        let md = crate::data::for_model(data, formula, model)?;
        let mut frame = ModelFrame::new(formula, &md.data)?;
        frame.missing.unit = md.unit;
        frame.missing.notes = md.notes;
        Ok((frame, md.data))
    }
}

/// A [`ModelFrame`] whose model matrix is held as columns, the data's own where they are used
/// whole ([`ModelColumns`]): what a mixed model keeps.
pub(crate) struct SharedFrame {
    /// Positions (0-based) of the rows used, in `data`.
    pub(crate) rows: Vec<usize>,
    /// The response, less the offsets if the formula has any.
    pub(crate) y: DVector<f64>,
    /// The fixed-effects model matrix.
    pub(crate) x: ModelColumns,
    /// How `x` was coded.
    pub(crate) design: Design,
    /// What was dropped.
    pub(crate) missing: Missingness,
    /// The sum of the formula's offsets in the rows used, if it has any.
    pub(crate) offset: Option<DVector<f64>>,
}

impl SharedFrame {
    /// The frame on data prepared by [`prepare`], sharing the data's columns.
    pub(crate) fn new(formula: &Formula, data: &Data, bound: Vec<Bound>) -> Result<SharedFrame> {
        Self::build(formula, data, bound, true)
    }

    /// The frame on data prepared by [`prepare`].
    fn build(
        formula: &Formula,
        data: &Data,
        bound: Vec<Bound>,
        share: bool,
    ) -> Result<SharedFrame> {
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
        // The design keeps the functions of predictors (and offsets) to code new data; new data
        // need no response.
        let bound = bound
            .into_iter()
            .filter(|b| b.label() != formula.response())
            .collect();
        let mut design = Design::new_with(formula.fixed(), data, &rows, bound)?;
        design.set_reference(data, &rows)?;
        let x = design.columns(data, &rows, share)?;
        let yv = data.numeric(formula.response())?;
        // NaN where missing, as `values()` stores it (the rows used are complete).
        let yv = yv.values();
        let mut y = DVector::from_iterator(rows.len(), rows.iter().map(|&r| yv[r]));
        let offset = if formula.offsets().is_empty() {
            None
        } else {
            let mut o = DVector::<f64>::zeros(rows.len());
            for label in formula.offsets() {
                let v = data.numeric(label)?.values();
                for (oi, &r) in o.iter_mut().zip(&rows) {
                    *oi += v[r];
                }
            }
            y -= &o;
            Some(o)
        };
        check_response_varies(formula.response(), &y, offset.is_some())?;
        if let Some(e) = magnitude_error(formula.response(), max_abs(y.as_slice()), "response") {
            return Err(e);
        }
        for (j, name) in design.column_names().iter().enumerate() {
            if let Some(e) = magnitude_error(name, max_abs(x.col(j)), "variable") {
                return Err(e);
            }
        }
        Ok(SharedFrame {
            missing: Missingness {
                n_input: data.nrows(),
                n_used: rows.len(),
                dropped_rows: dropped,
                unit: None,
                notes: vec![],
            },
            rows,
            y,
            x,
            design,
            offset,
        })
    }
}
