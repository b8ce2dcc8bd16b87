//! # securebase
//!
//! Psychotherapy-process research in one typed pipeline: item responses → scale scores →
//! pseudosecurity controls → multilevel regression → moderation and mediation → reports.
//! Numbers agree with R (lm, lme4, lmerTest, pbkrtest, psych) to many digits; every test fixture
//! ships with the R script that made it.
//!
//! The whole pipeline on a simulated cohort shaped like the reference study (Jacobsen et al.
//! 2024; 330 clients of 44 therapists):
//!
//! ```
//! use securebase::controls::Residualizer;
//! use securebase::mediation::{BootstrapOptions, Mediation, Resampling};
//! use securebase::probe::{probe, DfMethod, ModeratorValues};
//! use securebase::scoring::{reliability, score, InvalidResponses, MissingItems};
//! use securebase::simulate::{example_keys, simulate_cohort, CohortParams};
//! use securebase::{Criterion, LmmSpec};
//!
//! // 1. Item responses (simulated; the keys are synthetic stand-ins for ECR, CATS, TDS, IIP).
//! let mut data = simulate_cohort(&CohortParams::default())?;
//! let keys = example_keys();
//! let (ecr, cats, tds) = (&keys[0], &keys[1], &keys[2]);
//! // 2. Scale scores with reliability.
//! let alpha = reliability(&data, ecr, MissingItems::CompleteCases)?;
//! assert!(alpha.iter().all(|r| r.alpha > 0.8));
//! for (key, prefix) in [(ecr, "ecr_"), (cats, "cats_"), (tds, "")] {
//!     score(&data, key, InvalidResponses::Error)?.add_to(&mut data, prefix)?;
//! }
//! // 3. Individuated-secure attachment: CATS Secure net of Preoccupied-Merger.
//! Residualizer::fit(&data, "cats_secure", &["cats_preocc"], true)?.add_to(&mut data, "esat_anx")?;
//! // 4. A multilevel moderator model, REML with Satterthwaite df.
//! let fit = LmmSpec::new(&data, "autonomy ~ ecr_anx * esat_anx + (1 | therapist)")?.fit(Criterion::Reml)?;
//! // 5. Simple slopes and Johnson–Neyman regions.
//! let p = probe(&fit, "esat_anx", "ecr_anx", &ModeratorValues::MeanSd, DfMethod::Model, 0.95)?;
//! assert_eq!(p.simple_slopes.len(), 3);
//! // 6. Mediation with a cluster bootstrap (whole therapists).
//! let med = Mediation::new("ecr_anx", &["esat_anx"], "autonomy").cluster("therapist");
//! let boot = med.bootstrap(&data, &BootstrapOptions::new(200, 7).resampling(Resampling::Cluster))?;
//! let indirect = boot.effect("indirect").unwrap();
//! assert!(indirect.percentile[0] < indirect.percentile[1]);
//! // 7. Reports: every result prints like R and serializes with serde.
//! println!("{fit}\n{p}\n{boot}");
//! # Ok::<(), securebase::Error>(())
//! ```
//!
//! The foundation is a [`Data`] set of named columns, lme4-style [`Formula`]s, and [`Ols`]:
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
//!
//! # Features
//!
//! All on by default; turn them off with `default-features = false`:
//!
//! | feature | what it adds | without it |
//! |---|---|---|
//! | `parallel` | replicates of bootstraps, Monte Carlo intervals and power simulations, and large factorizations, on all cores (rayon) | serial, with identical results |
//! | `serde` | `Serialize`/`Deserialize` for every result and input type; JSON key files and built-in keys, analysis plans and the [`study`] engine, power design and shard files | keys are built in code ([`scoring::ScaleKey::new`]) |
//! | `csv` | reading and writing CSV ([`data::CsvOptions`], [`Data::from_csv_path`]) | build [`Data`] from vectors |
//!
//! # Guarantees
//!
//! - No public function panics on any input: bad input is an [`Error`] that says what is wrong
//!   and where (tested by a fuzz harness over formulas, CSV, keys and data operations).
//! - Random procedures are reproducible across thread counts, machines (runs split and
//!   merged) and versions of third-party crates; see [`rng`].
//! - Serialized results read back to the same values, NaN and ±∞ included; fits read back are
//!   rebuilt from the data they carry and checked.
//!
//! Modules: [`data`], [`formula`], [`regression`] (OLS), [`lmm`] (mixed models), [`scoring`],
//! [`controls`] and [`center`], [`probe`], [`mediation`], [`simulate`] (cohorts and power),
//! [`study`] (the whole analysis), [`plot`] (SVG), [`stats`], [`rng`].
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![deny(clippy::missing_panics_doc)]

mod brent;
pub mod center;
pub mod controls;
pub mod data;
pub mod error;
pub mod formula;
pub mod glm;
pub mod limits;
mod linalg;
pub mod lmm;
pub mod mediation;
mod par;
pub mod plot;
pub mod predict;
pub mod probe;
pub mod progress;
pub mod regression;
mod report;
pub mod rng;
pub mod scoring;
#[cfg(feature = "serde")]
mod serde_float;
pub mod simulate;
pub mod stats;
mod studentized;
#[cfg(feature = "serde")]
pub mod study;

/// The `nalgebra` whose matrices appear in public signatures ([`OlsFit::model_matrix`],
/// [`formula::design::Design::matrix`], [`formula::ModelFrame`]): use it to name those types
/// without depending on a matching version yourself.
pub use nalgebra;

pub use data::{Column, Data, Factor, NumericColumn};
pub use error::{Error, Result};
pub use formula::Formula;
pub use lmm::{Criterion, Ddf, Deviance, FitOptions, LmmFit, LmmSpec, Optimizer};
pub use regression::{HcType, Ols, OlsFit};
pub use stats::Coefficient;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
