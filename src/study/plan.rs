//! The analysis plan as data (`securebase-plan/1`); see [`Plan`].

use crate::error::{Error, Result};
use crate::scoring::ScaleKey;
use std::collections::BTreeMap;

/// The format tag of plan files.
pub const PLAN_FORMAT: &str = "securebase-plan/1";

/// The analysis plan as data: a versioned JSON file (`securebase-plan/1`) saying which
/// instruments and keys, which columns identify therapist, client and session, which ESAT
/// variants, derived variables, within/between splits, models, probes, mediations and level
/// comparison a study runs. The embedded default plan ([`Plan::reference`]) is the reference
/// study's; a user's own plan runs their session-level study without writing Rust.
///
/// ```json
/// {
///   "format": "securebase-plan/1",
///   "name": "My study",
///   "ids": {"therapist": "therapist", "client": "client", "session": "session"},
///   "instruments": [
///     {"key": "ecr-r", "level": "client", "columns": "ECR_{}", "names": {"anxiety": "ecr_anx", "avoidance": "ecr_avoid"}},
///     {"key": "keys/cats.json", "level": "session", "prefix": "cats_"}
///   ],
///   "derived": [{"name": "iip_change", "expr": "iip_post - iip_pre"}],
///   "esat": [{"name": "esat_anx", "secure": "cats_secure", "controls": ["cats_preocc"], "variant": "pooled"}],
///   "split": ["esat_anx"],
///   "models": [{"name": "growth", "formula": "engagement ~ session + esat_anx_wc + esat_anx_cm + (session | client) + (1 | therapist)"}],
///   "probes": [{"model": "growth", "focal": "esat_anx_cm", "moderator": "ecr_anx"}],
///   "mediations": [{"name": "chain", "x": "ecr_anx", "m": ["esat_anx", "engagement"], "y": "iip_change"}],
///   "level_comparison": {"model": "growth"},
///   "labels": {"ecr_anx": "attachment anxiety (ECR)"}
/// }
/// ```
///
/// Fields (required unless a default is given):
///
/// - `format`: `"securebase-plan/1"`. `name`; `description` (default empty).
/// - `ids`: `client` and `session` columns (required), `therapist` (optional: a third level).
/// - `instruments`: each `key` (a built-in key's name, an example key `example-…`, or a key file
///   path, relative to the plan file); `level` `"client"` (answered once; reliability over one
///   row per client) or `"session"`; `columns` (optional, as `score --columns`: a list or one
///   pattern); `prefix` for the score columns (default empty) or `names` mapping subscales to
///   score columns.
/// - `client_file` (optional): a CSV file with one row per client, joined many-to-one on the
///   client id (as dplyr's `left_join`); session rows without a client row and client rows
///   without sessions are counted in the report, a client id twice in the file is an error.
/// - `fill` (default none): columns stored on a client's first row only, filled down and up
///   within each client in session order (tidyr's `fill(.direction = "downup")`).
/// - `derived` (default none): new columns from arithmetic on existing ones, in formula syntax
///   (`iip_post - iip_pre`), with group-wise functions: `mean_by(x, client)`,
///   `center(x, client)` (group-mean centring), `sd_by(x, client)`, `first_by(x, client)`,
///   `last_by(x, client)` (first and last non-missing value in session order), and `scale(x)`
///   at x's own level (a client-level variable standardized over clients, not session rows).
///   The data carry the plan's levels (therapist, client, session), so each variable's level
///   is known.
/// - `esat` (default none): residualized scores — `name`, `secure`, `controls`, `variant`
///   `"pooled"` (one equation over all session rows) or `"within_client"` (centred within
///   clients first), `standardize` (default true).
/// - `split` (default none): session-level variables split into `{v}_cm` (client mean) and
///   `{v}_wc` (session value − client mean).
/// - `models` (default none): `name`, `formula` (R's syntax; random terms make it a mixed model),
///   `level` `"session"` (default) or `"client"` (one row per client: every variable must be
///   constant within clients; a session-varying one is an error naming it and the ways out,
///   `mean_by`, `first_by`, `last_by`), `label` (optional).
/// - `probes` (default none): `model`, `focal`, `moderator` (summarized over clients when it is
///   a client-level variable).
/// - `mediations` (default none): `name`, `x`, `m` (one or two), `y`, `covariates` (default
///   none), `third_level` (default true when `ids.therapist` is given); the within/between
///   design follows from the variables' levels.
/// - `level_comparison` (optional): `model`, a mixed model with a therapist term, compared with
///   the same model without it (likelihood-ratio test after ML refits).
/// - `trajectories` (optional): `variable` and `model` for the growth plot.
/// - `labels` (default none): human labels for columns, used in the report.
/// - `bootstrap` (default 2000), `draws` (Monte Carlo, default 20000), `seed` (default 2024).
///
/// Unknown fields are errors naming the closest known one; [`check`](crate::study::check) lists every problem
/// with the data at once.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct Plan {
    /// Must be [`PLAN_FORMAT`].
    pub format: String,
    /// The study's name.
    pub name: String,
    /// A description (e.g. the reference).
    #[cfg_attr(feature = "serde", serde(default))]
    pub description: String,
    /// Identifier columns.
    pub ids: Ids,
    /// Instruments to score.
    pub instruments: Vec<InstrumentPlan>,
    /// A client-level CSV file (one row per client), joined many-to-one on the client id
    /// before anything else; a path relative to the plan file.
    #[cfg_attr(feature = "serde", serde(default))]
    pub client_file: Option<String>,
    /// Columns stored on some rows of a client only (a baseline on the first session row),
    /// filled down and up within each client in session order, as tidyr's `fill`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub fill: Vec<String>,
    /// Derived columns.
    #[cfg_attr(feature = "serde", serde(default))]
    pub derived: Vec<DerivedPlan>,
    /// Residualized (ESAT) scores.
    #[cfg_attr(feature = "serde", serde(default))]
    pub esat: Vec<EsatPlan>,
    /// Variables split into client mean and within-client parts.
    #[cfg_attr(feature = "serde", serde(default))]
    pub split: Vec<String>,
    /// Models to fit.
    #[cfg_attr(feature = "serde", serde(default))]
    pub models: Vec<ModelPlan>,
    /// Interactions to probe.
    #[cfg_attr(feature = "serde", serde(default))]
    pub probes: Vec<ProbePlan>,
    /// Mediations to estimate.
    #[cfg_attr(feature = "serde", serde(default))]
    pub mediations: Vec<MediationPlan>,
    /// Two- against three-level comparison.
    #[cfg_attr(feature = "serde", serde(default))]
    pub level_comparison: Option<LevelComparison>,
    /// The growth plot.
    #[cfg_attr(feature = "serde", serde(default))]
    pub trajectories: Option<TrajectoryPlan>,
    /// Human labels of columns.
    #[cfg_attr(feature = "serde", serde(default))]
    pub labels: BTreeMap<String, String>,
    /// Bootstrap resamples.
    #[cfg_attr(feature = "serde", serde(default = "default_bootstrap"))]
    pub bootstrap: usize,
    /// Monte Carlo draws.
    #[cfg_attr(feature = "serde", serde(default = "default_draws"))]
    pub draws: usize,
    /// Seed of the bootstrap and Monte Carlo draws.
    #[cfg_attr(feature = "serde", serde(default = "default_seed"))]
    pub seed: u64,
}

fn default_bootstrap() -> usize {
    2000
}
fn default_draws() -> usize {
    20000
}
fn default_seed() -> u64 {
    2024
}
fn yes() -> bool {
    true
}

/// The identifier columns.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct Ids {
    /// The therapist (a third level), if any.
    #[cfg_attr(feature = "serde", serde(default))]
    pub therapist: Option<String>,
    /// The client.
    pub client: String,
    /// The session number.
    pub session: String,
}

/// When an instrument is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum InstrumentLevel {
    /// Once per client (its items repeat on the client's rows).
    Client,
    /// After sessions.
    Session,
}

/// Item columns for a key: a list, or one pattern with `{}`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(untagged))]
#[non_exhaustive]
pub enum Columns {
    /// A pattern (`ECR_{}`).
    Pattern(String),
    /// The columns in item order.
    List(Vec<String>),
}

/// One instrument to score.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct InstrumentPlan {
    /// A built-in key, an example key (`example-…`), or a key file.
    pub key: String,
    /// Client- or session-level.
    pub level: InstrumentLevel,
    /// The data's columns for the key's items (optional).
    #[cfg_attr(feature = "serde", serde(default))]
    pub columns: Option<Columns>,
    /// Prefix of the score columns.
    #[cfg_attr(feature = "serde", serde(default))]
    pub prefix: String,
    /// Score column per subscale (overrides the prefix).
    #[cfg_attr(feature = "serde", serde(default))]
    pub names: BTreeMap<String, String>,
}

/// A derived column.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct DerivedPlan {
    /// Its name.
    pub name: String,
    /// Arithmetic in formula syntax (`iip_post - iip_pre`).
    pub expr: String,
}

/// How an ESAT equation is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum EsatVariant {
    /// One equation over all session rows.
    Pooled,
    /// Centred within clients first (within-client variation only).
    WithinClient,
}

/// A residualized score.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct EsatPlan {
    /// The new column.
    pub name: String,
    /// The score residualized (CATS Secure).
    pub secure: String,
    /// The controls partialled out.
    pub controls: Vec<String>,
    /// Pooled or within-client.
    pub variant: EsatVariant,
    /// z-score the residuals.
    #[cfg_attr(feature = "serde", serde(default = "yes"))]
    pub standardize: bool,
}

/// The level of a model's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum ModelLevel {
    /// One row per session.
    #[default]
    Session,
    /// One row per client.
    Client,
}

/// A model to fit.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct ModelPlan {
    /// Its name (for probes and the report).
    pub name: String,
    /// What it tests, for the report.
    #[cfg_attr(feature = "serde", serde(default))]
    pub label: String,
    /// The formula.
    pub formula: String,
    /// Session or client rows.
    #[cfg_attr(feature = "serde", serde(default))]
    pub level: ModelLevel,
}

/// An interaction to probe.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct ProbePlan {
    /// The model (by name).
    pub model: String,
    /// The focal predictor.
    pub focal: String,
    /// The moderator.
    pub moderator: String,
}

/// A mediation.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct MediationPlan {
    /// Its name.
    pub name: String,
    /// What it tests, for the report.
    #[cfg_attr(feature = "serde", serde(default))]
    pub label: String,
    /// The predictor.
    pub x: String,
    /// One mediator or two (a serial chain).
    pub m: Vec<String>,
    /// The outcome.
    pub y: String,
    /// Covariates.
    #[cfg_attr(feature = "serde", serde(default))]
    pub covariates: Vec<String>,
    /// A therapist intercept in every path (default: when the plan has a therapist column).
    #[cfg_attr(feature = "serde", serde(default))]
    pub third_level: Option<bool>,
}

/// A two- against three-level comparison.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct LevelComparison {
    /// The model (by name), with a therapist term.
    pub model: String,
}

/// The growth plot.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct TrajectoryPlan {
    /// The variable over sessions.
    pub variable: String,
    /// The growth model whose average curve is drawn.
    pub model: String,
    /// How many clients' trajectories to draw.
    #[cfg_attr(feature = "serde", serde(default = "default_clients"))]
    pub clients: usize,
}

fn default_clients() -> usize {
    30
}

impl Plan {
    /// Whether `data` has the id columns (the session one numeric), so that the levels can be
    /// declared.
    pub(crate) fn ids_present(&self, data: &crate::Data) -> bool {
        data.has_column(&self.ids.client)
            && data.numeric(&self.ids.session).is_ok()
            && self
                .ids
                .therapist
                .as_ref()
                .is_none_or(|t| data.has_column(t))
    }

    /// The reference study's plan (embedded).
    pub fn reference() -> Plan {
        Self::from_json(include_str!("reference_plan.json"))
            .unwrap_or_else(|e| unreachable!("the embedded plan is valid: {e}"))
    }

    /// Parse a plan (strictly: unknown fields are errors) and check its own consistency.
    ///
    /// # Errors
    /// [`Error::Argument`] for malformed JSON, an unknown field (with the closest known one), a
    /// wrong format; [`Error::Plan`] listing every internal inconsistency (duplicate names,
    /// probes or comparisons naming models that do not exist, mediations with no or three
    /// mediators).
    pub fn from_json(text: &str) -> Result<Plan> {
        let plan: Plan = crate::error::from_json_strict(text, "plan")?;
        if plan.format != PLAN_FORMAT {
            return Err(Error::Argument {
                name: "plan".into(),
                message: format!("format '{}' is not '{PLAN_FORMAT}'", plan.format),
            });
        }
        let mut problems = Vec::new();
        let mut names = std::collections::HashSet::new();
        for m in &plan.models {
            if !names.insert(m.name.as_str()) {
                problems.push(format!("model '{}' is defined twice", m.name));
            }
        }
        for p in &plan.probes {
            if !names.contains(p.model.as_str()) {
                problems.push(format!("probe of '{}' names no model of the plan", p.model));
            }
        }
        if let Some(c) = &plan.level_comparison {
            if !names.contains(c.model.as_str()) {
                problems.push(format!("level_comparison names no model '{}'", c.model));
            }
            if plan.ids.therapist.is_none() {
                problems.push("level_comparison needs ids.therapist".into());
            }
        }
        if let Some(t) = &plan.trajectories
            && !names.contains(t.model.as_str())
        {
            problems.push(format!("trajectories names no model '{}'", t.model));
        }
        problems.extend(plan.name_problems());
        for m in &plan.mediations {
            if m.m.is_empty() || m.m.len() > 2 {
                problems.push(format!(
                    "mediation '{}' has {} mediators (one, or two for a serial chain)",
                    m.name,
                    m.m.len()
                ));
            }
        }
        problems.extend(plan.count_problems());
        if problems.is_empty() {
            Ok(plan)
        } else {
            Err(Error::Plan { problems })
        }
    }

    /// Problems with the resample counts: at least 2, at most [`crate::limits`]' bounds.
    pub(crate) fn count_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.bootstrap < 2 || self.draws < 2 {
            problems.push("bootstrap and draws must be at least 2".into());
        }
        for e in [
            crate::limits::check_count(
                "bootstrap",
                self.bootstrap,
                crate::limits::MAX_REPLICATES,
                64,
            ),
            crate::limits::check_count("draws", self.draws, crate::limits::MAX_DRAWS, 64),
        ]
        .into_iter()
        .filter_map(|r| r.err())
        {
            problems.push(e.to_string());
        }
        problems
    }

    /// Problems with the names that become file names (a plot per probe and per mediation):
    /// each must be 1 to 64 letters, digits, `_` or `-`, so that no name can write outside the
    /// output folder (`x/../../y`), and no two files may share a name.
    pub(crate) fn name_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let safe = |n: &str| {
            !n.is_empty()
                && n.len() <= 64
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        for (what, name) in self
            .models
            .iter()
            .map(|m| ("model", &m.name))
            .chain(self.mediations.iter().map(|m| ("mediation", &m.name)))
        {
            if !safe(name) {
                problems.push(format!(
                    "{what} name '{}' may hold only letters, digits, '_' and '-' (1 to 64 of them): it names the output files",
                    crate::error::clip(name)
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for m in &self.mediations {
            if !seen.insert(m.name.as_str()) {
                problems.push(format!(
                    "mediation '{}' is defined twice (its plot files would overwrite each other)",
                    crate::error::clip(&m.name)
                ));
            }
        }
        let mut probed = std::collections::HashSet::new();
        for p in &self.probes {
            if !probed.insert(p.model.as_str()) {
                problems.push(format!(
                    "model '{}' is probed twice (one Johnson–Neyman plot per model): probe it once",
                    crate::error::clip(&p.model)
                ));
            }
        }
        problems
    }

    /// Read a plan file.
    ///
    /// # Errors
    /// [`Error::Io`] and the errors of [`Plan::from_json`].
    pub fn from_path<P: AsRef<std::path::Path>>(path: P) -> Result<Plan> {
        let p = path.as_ref();
        let text = crate::data::read_text_file(p, crate::data::MAX_TEXT_FILE)?;
        Self::from_json(&text)
    }

    /// The label of a column (its name when the plan gives none).
    pub fn label<'a>(&'a self, column: &'a str) -> &'a str {
        self.labels.get(column).map_or(column, String::as_str)
    }
}

/// Load an instrument's key: a built-in key, an example key, or a file relative to `base`.
pub(crate) fn load_key(key: &str, base: Option<&std::path::Path>) -> Result<ScaleKey> {
    if let Some(k) = crate::simulate::example_keys()
        .into_iter()
        .find(|k| k.name == key)
    {
        return Ok(k);
    }
    if crate::scoring::builtin_names()
        .iter()
        .any(|b| b.eq_ignore_ascii_case(key))
    {
        return crate::scoring::builtin(key);
    }
    let path = match base {
        Some(b) => b.join(key),
        None => std::path::PathBuf::from(key),
    };
    if path.is_file() {
        return ScaleKey::from_path(&path);
    }
    Err(Error::Argument {
        name: "key".into(),
        message: format!(
            "'{key}' is neither a built-in key ({}), an example key, nor a key file",
            crate::scoring::builtin_names().join(", ")
        ),
    })
}
