//! Psychometric scoring: keys as data, scoring with prorating, reliability, reliable change.
//!
//! A [`ScaleKey`] (JSON, see [`key`]) names an instrument's item columns, subscales, reverse
//! keys, response range, aggregation and minimum-answered rule, and optional norms. [`score`]
//! turns item responses into subscale scores with the number of items answered; [`reliability`]
//! gives α, its intervals, item statistics and ω total; [`change`] gives Jacobson–Truax reliable
//! and clinically significant change.
//!
//! # Built-in keys
//!
//! A key ships here only when its published source could be checked; each names that source,
//! the instrument's licence status and how it was verified ([`ScaleKey::verification`]), and
//! none contains item wording.
//!
//! | name | instrument | subscales | range |
//! |---|---|---|---|
//! | `ders-16` | DERS-16 (Bjureberg et al. 2016) | clarity, goals, impulse, strategies, nonacceptance, total (sums) | 1–5 |
//! | `ecr` | ECR, 36 items (Brennan, Clark & Shaver 1998) | avoidance (odd items), anxiety (even) | 1–7 |
//! | `ecr-r` | ECR-R, 36 items (Fraley, Waller & Brennan 2000) | anxiety (1–18), avoidance (19–36) | 1–7 |
//! | `ecr-rs` | ECR-RS, 9 items per relationship target (Fraley et al. 2011) | avoidance (1–6), anxiety (7–9) | 1–7 |
//! | `iip-32` | IIP-32 circumplex short form (Horowitz et al. 2000) | eight octants of four items | 0–4 |
//! | `ipip-bfi-25` | the 25 IPIP items of R's `psych::bfi` (Goldberg 1999) | five factors | 1–6 |
//! | `wai-sr` | WAI-SR, 12 items, client version (Hatcher & Gillaspy 2006) | task, bond, goal (sums), total | 1–5 |
//!
//! The built-in keys name their items `ecr1`…`ecr36`, `ecrr1`…, `ecrrs1`…, `iip1`…,
//! `waisr1`…, `ders1`…, numbered as in the source; map them to your data's columns with
//! [`ScaleKey::with_columns`] (e.g. `key.with_columns(&["ECR_{}"])`), once per
//! administration when an instrument was given several times. Subscale scores are item means
//! (WAI-SR and DERS-16: sums, prorated to all items when some are missing, as their sources
//! report them); a
//! score is missing when fewer than 80% of its items are answered (this crate's default:
//! the sources state no rule; change `min_answered` on the loaded key). Every built-in key is
//! checked by tests/scoring_reference.rs against scores computed in R from the rule as the
//! source states it (tests/reference/builtin_keys.R, scoring.R).
//!
//! Not built in, because their scoring keys could not be verified against a published source
//! from this project's machines: CATS (Mallinckrodt, Gantt & Coble 1995),
//! TDS (Mallinckrodt, Choi & Daly 2015) and the IIP-32 of Barkham, Hardy & Startup (1996).
//! Supply them as key files (format in [`key`]):
//!
//! 1. Take the scoring key from the instrument's publication or manual: which item numbers
//!    form each subscale, which are reverse keyed, the response range, mean or sum.
//! 2. Write the JSON: `items` lists every item column as named in your data (in item-number
//!    order), each subscale lists its items and `reverse` items, `response_min` and
//!    `response_max` are the printed scale ends (reverse keying is max + min − x), and
//!    `min_answered` states your missing-data rule; put the citation in `source`, the
//!    licence in `licence`, and how you checked the key in `verification`.
//! 3. Load it with [`ScaleKey::from_path`] (or `--key FILE` in `examples/score.rs`): an item in
//!    two subscales, an item in none, a reverse item outside its subscale, min ≥ max and
//!    unknown formats are errors; a key item missing from the data is an error when scoring.
//!
//! Our reference study scores CATS as three subscales (secure, avoidant-fearful,
//! preoccupied-merger) and TDS as two (growing engagement, growing autonomy).
//! `data/example_keys/` holds keys of that shape for the crate's *simulated* cohort; their item
//! assignments are synthetic and are not the published instruments' keys.

#[cfg(feature = "serde")]
mod builtin;
pub mod change;
mod clustered;
pub mod key;
mod reliability;
mod score;

#[cfg(feature = "serde")]
pub use builtin::{builtin, builtin_names, load_key};
pub use clustered::{ClusterBootstrap, NestedRows, reliability_clustered};
pub use key::{Aggregation, KEY_FORMAT, MinAnswered, Norms, ScaleKey, Subscale};
pub use reliability::{ItemStats, MissingItems, Reliability, alpha_bootstrap, reliability};
pub use score::{InvalidResponse, InvalidResponses, ScaleScores, SubscaleScores, reverse, score};
