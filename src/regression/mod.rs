//! Ordinary least squares: the workhorse for residualization and single-level moderation.
//!
//! [`Ols::fit`] fits `y = Xβ + ε` by a Householder QR of the model matrix (never the normal
//! equations), with the same aliasing rule as R's `lm` (a column whose part orthogonal to the
//! earlier columns is below 1e-7 of its norm is aliased, here an error naming the term).

mod display;
mod ols;

pub use ols::{FTest, HcType, Ols, OlsFit, Prediction};
