//! Generalized linear models (R's `glm`): binomial (logit, probit, cloglog; 0/1 responses,
//! two-level factors and `cbind(successes, failures)`) and Poisson (log link, `offset()`),
//! fitted by iteratively reweighted least squares with R's start, step halving and
//! convergence rule (McCullagh & Nelder 1989, ch. 2). The coefficient table is `summary.glm`'s
//! (z tests, dispersion 1) with Wald intervals ([`GlmFit::confint_wald`], R's
//! `confint.default`) and profile-likelihood intervals ([`GlmFit::confint_profile`], R's
//! `confint`); [`GlmFit::exponentiated`] gives odds or rate ratios. Separation is detected and
//! reported, never returned as a silent huge estimate.
//!
//! Fits can be probed on the link scale ([`crate::probe::probe`]: simple slopes and
//! Johnson–Neyman regions with z tests), and [`GlmFit::average_marginal_effect`] gives average
//! marginal effects on the response scale.
//!
//! Generalized linear mixed models ([`Glm::fit_mixed`], lme4's `glmer`): Laplace for any
//! random-effect terms (slopes, nested and crossed factors), adaptive Gauss–Hermite
//! quadrature for one scalar effect. Nested models are compared by likelihood-ratio tests
//! ([`anova`] for GLMs, [`anova_mixed`] for GLMMs).
//!
//! Not yet here: prior weights other than the binomial trials.

mod display;
mod family;
mod fit;
mod lrt;
mod mixed;
mod predict;
mod simulate;

pub use family::{Distribution, Family, Link};
pub(crate) use fit::Model;
pub use fit::{Glm, GlmFit, MarginalEffect, Ratio};
pub use lrt::{anova, anova_mixed};
pub use mixed::GlmmFit;
