//! # securebase
//!
//! Psychotherapy-process research in one typed pipeline: item responses → scale scores →
//! pseudosecurity controls → multilevel regression → moderation and mediation → reports.
//! Numbers agree with R (lm, lme4, lmerTest) to many digits; see the crate's test fixtures.
//!
//! The foundation is a [`Data`] set of named columns, lme4-style [`Formula`]s, and
//! [`Ols`] regression:
//!
//! ```
//! use securebase::{Data, Ols};
//! let csv = "autonomy,anxiety,group\n3.1,2.0,a\n3.9,2.5,b\n2.2,4.1,a\n4.4,1.2,b\n3.0,3.3,a\n4.1,NA,b\n3.6,2.2,b\n";
//! let data = Data::from_csv_reader(csv.as_bytes())?;
//! let fit = Ols::fit(&data, "autonomy ~ anxiety + group")?;
//! assert_eq!(fit.terms(), ["(Intercept)", "anxiety", "groupb"]);
//! assert_eq!(fit.missing().dropped_rows, [6]); // row 6 has NA anxiety: dropped and reported
//! # Ok::<(), securebase::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod center;
pub mod controls;
pub mod data;
pub mod error;
pub mod formula;
mod linalg;
pub mod lmm;
pub mod mediation;
pub mod plot;
pub mod probe;
pub mod regression;
mod report;
pub mod rng;
pub mod scoring;
pub mod simulate;
pub mod stats;
pub mod study;

pub use data::{Column, Data, Factor};
pub use error::{Error, Result};
pub use formula::Formula;
pub use lmm::{Criterion, Ddf, Deviance, FitOptions, LmmFit, LmmSpec};
pub use regression::{HcType, Ols, OlsFit};
pub use stats::Coefficient;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
