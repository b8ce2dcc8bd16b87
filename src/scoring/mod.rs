//! Psychometric scoring: keys as data, scoring with prorating, reliability, reliable change.
//!
//! A [`ScaleKey`] (JSON, see [`key`]) names an instrument's item columns, subscales, reverse
//! keys, response range, aggregation and minimum-answered rule, and optional norms. [`score`]
//! turns item responses into subscale scores with the number of items answered; [`reliability`]
//! gives α, its intervals, item statistics and ω total; [`change`] gives Jacobson–Truax reliable
//! and clinically significant change.

mod builtin;
pub mod change;
pub mod key;
mod reliability;
mod score;

pub use builtin::{builtin, builtin_names, load_key};
pub use key::{Aggregation, KEY_FORMAT, MinAnswered, Norms, ScaleKey, Subscale};
pub use reliability::{ItemStats, MissingItems, Reliability, alpha_bootstrap, reliability};
pub use score::{InvalidResponse, InvalidResponses, ScaleScores, SubscaleScores, reverse, score};
