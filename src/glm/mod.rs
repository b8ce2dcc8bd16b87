//! Generalized linear models (R's `glm`): binomial (logit, probit, cloglog; 0/1 responses,
//! two-level factors and `cbind(successes, failures)`) and Poisson (log link, `offset()`),
//! fitted by iteratively reweighted least squares with R's start, step halving and
//! convergence rule (McCullagh & Nelder 1989, ch. 2). The coefficient table is `summary.glm`'s
//! (z tests, dispersion 1) with Wald intervals; [`GlmFit::exponentiated`] gives odds or rate
//! ratios. Separation is detected and reported, never returned as a silent huge estimate.
//!
//! Not yet here (see the project's issue on binary and count outcomes): profile-likelihood
//! intervals, prior weights other than the binomial trials, generalized linear mixed models.

mod display;
mod family;
mod fit;

pub use family::{Distribution, Family, Link};
pub use fit::{Glm, GlmFit, Ratio};
