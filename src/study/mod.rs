//! A session-level study run from an analysis plan ([`Plan`]): the reference study (Jacobsen
//! et al. 2024) by default, or any study shaped like it.
//!
//! The steps, each a crate facility: scoring every instrument with its reliability (client-level
//! instruments over one row per client; session-level ones pooled over all session rows and
//! per occasion); derived columns; the ESAT residualizations (pooled or within-client); the
//! within/between split of repeated variables; the plan's models (growth models with random
//! session slopes over clients and a therapist level, client-level outcome models) with
//! standardized effects; probes at the moderator's level; multilevel mediations with the
//! within/between split and cluster-bootstrap and Monte Carlo intervals; a two- against
//! three-level comparison with the therapist share of variance. [`StudyReport::to_markdown`]
//! writes the report; [`StudyReport::plots`] the SVGs.
//!
//! ```
//! use securebase::simulate::sessions::{simulate_sessions, SessionParams};
//! use securebase::study::{run, Plan, StudyOptions};
//! let mut p = SessionParams::default();
//! p.therapists = 10;
//! p.clients = 60;
//! let data = simulate_sessions(&p)?;
//! let mut plan = Plan::reference();
//! plan.bootstrap = 20;
//! plan.draws = 200;
//! let report = run(&data, &plan, &StudyOptions::simulated(p.seed))?;
//! assert!(report.to_markdown().starts_with("# "));
//! # Ok::<(), securebase::Error>(())
//! ```

mod derive;
mod plan;
mod report;

pub use plan::{
    Columns, DerivedPlan, EsatPlan, EsatVariant, Ids, InstrumentLevel, InstrumentPlan,
    LevelComparison, MediationPlan, ModelLevel, ModelPlan, PLAN_FORMAT, Plan, ProbePlan,
    TrajectoryPlan,
};

use crate::controls::Residualizer;
use crate::data::{Column, Data};
use crate::error::{Error, Result};
use crate::formula::Formula;
use crate::lmm::{Anova, Criterion, LmmFit, LmmSpec};
use crate::mediation::{
    Bootstrap, BootstrapOptions, MonteCarlo, MultilevelFit, MultilevelMediation, Resampling,
};
use crate::probe::{Probe, ProbeSpec, SimpleSlope};
use crate::regression::{Ols, OlsFit};
use crate::scoring::{InvalidResponses, MissingItems, Reliability, ScaleKey, reliability, score};
use std::collections::HashMap;

/// What the data are and where relative key files live.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct StudyOptions {
    /// One sentence on the data, for the report's first lines (e.g. that they are simulated).
    pub data_note: String,
    /// Whether the data are simulated (the report says so first).
    pub simulated: bool,
    /// The folder relative key paths are read from (the plan file's).
    pub key_base: Option<std::path::PathBuf>,
}

impl StudyOptions {
    /// Simulated data (by [`crate::simulate::sessions`] with `seed`).
    pub fn simulated(seed: u64) -> StudyOptions {
        StudyOptions {
            data_note: format!(
                "a cohort simulated by securebase::simulate::sessions (seed {seed}): 330 clients of 44 therapists, sessions in clients in therapists"
            ),
            simulated: true,
            key_base: None,
        }
    }

    /// A user's file.
    pub fn file(path: &str, key_base: Option<std::path::PathBuf>) -> StudyOptions {
        StudyOptions {
            data_note: format!("the file {path}"),
            simulated: false,
            key_base,
        }
    }
}

/// How one instrument was scored.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct InstrumentReport {
    /// The key's name.
    pub key: String,
    /// Its source, licence and whether it is synthetic.
    pub source: String,
    /// Licence status.
    pub licence: String,
    /// Whether the key is a synthetic example key (not a published instrument's).
    pub synthetic: bool,
    /// Client- or session-level.
    pub level: InstrumentLevel,
    /// Missing item responses and responses in all (over the rows it was scored on).
    pub missing_responses: (usize, usize),
    /// Per score column: rows (or clients) without a score.
    pub missing_scores: Vec<(String, usize)>,
    /// Per score column: the lowest and highest possible score.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub ranges: Vec<(String, f64, f64)>,
}

/// Reliability of one subscale on one set of rows.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ScaleReliability {
    /// The score column.
    pub scale: String,
    /// `"clients"` (one row per client), `"sessions pooled"`, or `"session N"`.
    pub rows: String,
    /// The reliability (α with its intervals, ω, items).
    pub reliability: Reliability,
}

/// A fitted model of the plan.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ModelResult {
    /// The plan's entry.
    pub plan: ModelPlan,
    /// The mixed model, if it has random terms.
    pub lmm: Option<LmmFit>,
    /// The OLS fit otherwise.
    pub ols: Option<OlsFit>,
    /// Standardized coefficients (β · SD(x) / SD(y) over the rows used) of numeric terms.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub standardized: Vec<(String, f64)>,
    /// A mixed model's unconditional ICCs: the empty model's on the same rows, with intervals.
    #[cfg_attr(feature = "serde", serde(default))]
    pub unconditional: Option<UnconditionalIcc>,
}

/// The intraclass correlations of the empty model (the response's random intercepts alone,
/// on the rows a model used), with 95% percentile intervals from a parametric bootstrap.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct UnconditionalIcc {
    /// The empty model's formula.
    pub formula: String,
    /// Per grouping factor: its intercept variance over all variance, with the interval.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub by_group: Vec<(String, f64, [f64; 2])>,
    /// All random variance over all variance, with the interval.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub total: (f64, [f64; 2]),
    /// Bootstrap replicates asked for.
    pub replicates: usize,
    /// Replicates whose refit failed (left out).
    pub failed: usize,
}

/// Replicates of the bootstrap behind [`UnconditionalIcc`].
const ICC_REPLICATES: usize = 200;

/// The empty model of `fit` on the rows it used, and the bootstrap intervals of its ICCs.
fn unconditional_icc(rows: &Data, fit: &LmmFit, seed: u64) -> Result<UnconditionalIcc> {
    let response = Formula::parse(fit.formula())?.response().to_string();
    let mut groups: Vec<&str> = Vec::new();
    for vc in fit.varcorr() {
        if !groups.contains(&vc.group.as_str()) {
            groups.push(&vc.group);
        }
    }
    let formula = format!(
        "{response} ~ 1 + {}",
        groups
            .iter()
            .map(|g| format!("(1 | {g})"))
            .collect::<Vec<_>>()
            .join(" + ")
    );
    let used: std::collections::HashSet<usize> = fit.row_ids().iter().copied().collect();
    let same = rows.filter(|r| used.contains(&rows.row_id(r)));
    let empty = LmmSpec::new(&same, &formula)?.fit(Criterion::Reml)?;
    let names: Vec<String> = empty
        .icc()
        .by_group
        .iter()
        .map(|g| g.group.clone())
        .collect();
    let boot = empty.bootstrap(ICC_REPLICATES, seed, |f| {
        let mut v: Vec<f64> = f.icc().by_group.iter().map(|g| g.icc).collect();
        v.push(f.icc().adjusted);
        v
    })?;
    let ci = boot.intervals(0.95)?;
    let by_group = names
        .iter()
        .zip(&ci)
        .map(|(n, c)| (n.clone(), c.estimate, c.percentile))
        .collect();
    let last = &ci[ci.len() - 1];
    Ok(UnconditionalIcc {
        formula,
        by_group,
        total: (last.estimate, last.percentile),
        replicates: boot.nsim,
        failed: boot.failed,
    })
}

impl ModelResult {
    fn coefficients(&self) -> &[crate::stats::Coefficient] {
        match (&self.lmm, &self.ols) {
            (Some(f), _) => f.coefficients(),
            (_, Some(f)) => f.coefficients(),
            _ => &[],
        }
    }
}

/// A probe of the plan.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ProbeResult {
    /// The model probed.
    pub model: String,
    /// Simple slopes and Johnson–Neyman regions.
    pub probe: Probe,
    /// The slope along the moderator (for the plot).
    pub curve: Vec<SimpleSlope>,
}

/// A mediation of the plan with its intervals.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct MediationResult {
    /// The plan's entry.
    pub plan: MediationPlan,
    /// Point estimates.
    pub fit: MultilevelFit,
    /// Cluster bootstrap.
    pub bootstrap: Bootstrap,
    /// Monte Carlo.
    pub monte_carlo: MonteCarlo,
}

/// The two- against three-level comparison.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct LevelResult {
    /// The model compared.
    pub model: String,
    /// Its two-level version's formula.
    pub two_level: String,
    /// The likelihood-ratio test (ML refits), smaller model first.
    pub anova: Anova,
    /// The therapist share of variance (its ICC) in the three-level REML fit.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub therapist_icc: Option<f64>,
}

/// Individual trajectories and the model's average curve.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Trajectories {
    /// The variable.
    pub variable: String,
    /// Per client drawn: (session, value) points.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub clients: Vec<Vec<(f64, f64)>>,
    /// The fixed part of the growth model along sessions, other variables at their means.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub average: Vec<(f64, f64)>,
    /// Its pointwise 95% confidence band: (session, lower, upper), Satterthwaite df.
    #[cfg_attr(feature = "serde", serde(default, with = "crate::serde_float"))]
    pub band: Vec<(f64, f64, f64)>,
}

/// Every result of a study run.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct StudyReport {
    /// The plan run.
    pub plan: Plan,
    /// What the data are.
    pub options: StudyOptions,
    /// Session rows, clients and therapists.
    pub sessions: usize,
    /// Clients.
    pub clients: usize,
    /// Therapists, with a third level.
    pub therapists: Option<usize>,
    /// What the plan's data steps did (the client file joined, columns filled).
    #[cfg_attr(feature = "serde", serde(default))]
    pub data_notes: Vec<String>,
    /// Sessions per client: fewest, mean, most.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub sessions_per_client: (usize, f64, usize),
    /// Per instrument.
    pub instruments: Vec<InstrumentReport>,
    /// Reliability: client-level scales over clients, session-level ones pooled.
    pub reliability: Vec<ScaleReliability>,
    /// Session-level scales per occasion (sessions with at least 20 complete rows).
    pub reliability_by_session: Vec<ScaleReliability>,
    /// Correlations of the Secure score with its controls over all session rows, per ESAT.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub esat_correlations: Vec<(String, String, f64)>,
    /// The ESAT equations, by name.
    pub esat: Vec<(String, Residualizer)>,
    /// The models.
    pub models: Vec<ModelResult>,
    /// The probes.
    pub probes: Vec<ProbeResult>,
    /// The mediations.
    pub mediations: Vec<MediationResult>,
    /// The level comparison.
    pub level_comparison: Option<LevelResult>,
    /// The growth plot's data.
    pub trajectories: Option<Trajectories>,
}

/// A key with its plan entry's column mapping applied.
fn instrument_key(i: &InstrumentPlan, base: Option<&std::path::Path>) -> Result<ScaleKey> {
    let key = plan::load_key(&i.key, base)?;
    match &i.columns {
        None => Ok(key),
        Some(Columns::Pattern(p)) => key.with_columns(&[p.as_str()]),
        Some(Columns::List(l)) => key.with_columns(l),
    }
}

/// The score column of subscale `sub` of an instrument.
fn score_name(i: &InstrumentPlan, sub: &str) -> String {
    i.names
        .get(sub)
        .cloned()
        .unwrap_or_else(|| format!("{}{sub}", i.prefix))
}

/// Check a plan against the data's columns; every problem at once.
///
/// # Errors
/// [`Error::Plan`] listing each missing column, unloadable key, unparsable formula or
/// expression, and each name a model, probe or mediation uses that neither the data nor an
/// earlier step provides.
pub fn check(plan: &Plan, data: &Data, options: &StudyOptions) -> Result<()> {
    check_prepared(plan, data, options, &prepared(plan, data, options))
}

/// The data after the plan's data steps, with their notes; `None` when the ids to declare
/// the levels are missing (the check then names them).
type Steps = Option<Result<(Data, Vec<String>)>>;

/// The plan's data steps run on `data` when its ids are there to declare the levels.
fn prepared(plan: &Plan, data: &Data, options: &StudyOptions) -> Steps {
    plan.ids_present(data).then(|| prepare(data, plan, options))
}

/// [`check`] with the data steps already run (`None` when the ids are missing).
fn check_prepared(
    plan: &Plan,
    data: &Data,
    options: &StudyOptions,
    prepared: &Steps,
) -> Result<()> {
    let mut problems = plan.name_problems();
    problems.extend(plan.count_problems());
    let data = match prepared {
        Some(Ok((d, _))) => d,
        Some(Err(e)) => {
            problems.push(format!(
                "preparing the data (client file, levels, fill): {}",
                e.to_string().lines().next().unwrap_or("")
            ));
            data
        }
        None => data,
    };
    let mut have: std::collections::HashSet<String> = data.names().iter().cloned().collect();
    let ids: Vec<&String> = [
        Some(&plan.ids.client),
        Some(&plan.ids.session),
        plan.ids.therapist.as_ref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    for id in ids {
        if !have.contains(id) {
            problems.push(format!("the data lack the id column '{id}'"));
        }
    }
    if have.contains(&plan.ids.session) && data.numeric(&plan.ids.session).is_err() {
        problems.push(format!(
            "the session column '{}' must be numeric",
            plan.ids.session
        ));
    }
    for i in &plan.instruments {
        match instrument_key(i, options.key_base.as_deref()) {
            Err(e) => problems.push(format!("instrument '{}': {e}", i.key)),
            Ok(key) => {
                let missing: Vec<&String> =
                    key.items.iter().filter(|c| !have.contains(*c)).collect();
                if !missing.is_empty() {
                    let shown: Vec<&str> = missing.iter().take(8).map(|s| s.as_str()).collect();
                    problems.push(format!(
                        "instrument '{}': the data lack {} item column{}: {}{}",
                        i.key,
                        missing.len(),
                        if missing.len() == 1 { "" } else { "s" },
                        shown.join(", "),
                        if missing.len() > 8 { ", …" } else { "" }
                    ));
                }
                for n in i.names.keys() {
                    if key.subscale(n).is_none() {
                        let known: Vec<&str> =
                            key.subscales.iter().map(|s| s.name.as_str()).collect();
                        problems.push(format!(
                            "instrument '{}': 'names' maps '{n}', which is not a subscale of the key{} (its subscales: {})",
                            i.key,
                            crate::error::closest(n, known.iter().copied())
                                .map(|k| format!("; did you mean '{k}'?"))
                                .unwrap_or_default(),
                            known.join(", ")
                        ));
                    }
                }
                for s in &key.subscales {
                    have.insert(score_name(i, &s.name));
                }
            }
        }
    }
    for m in &plan.mediations {
        if m.third_level == Some(true) && plan.ids.therapist.is_none() {
            problems.push(format!(
                "mediation '{}' asks for third_level, which needs ids.therapist (the therapist column)",
                crate::error::clip(&m.name)
            ));
        }
    }
    let needs = |problems: &mut Vec<String>,
                 have: &std::collections::HashSet<String>,
                 what: &str,
                 cols: &[String]| {
        for c in cols {
            if !have.contains(c) {
                problems.push(format!(
                    "{what} uses '{c}', which neither the data nor an earlier step provides"
                ));
            }
        }
    };
    for d in &plan.derived {
        match derive::columns(&d.expr, &plan.ids, &d.name) {
            Ok(cols) => needs(
                &mut problems,
                &have,
                &format!("derived '{}'", d.name),
                &cols,
            ),
            Err(e) => problems.push(format!(
                "derived '{}': {}",
                d.name,
                e.to_string().lines().next().unwrap_or("")
            )),
        }
        have.insert(d.name.clone());
    }
    for e in &plan.esat {
        let mut cols = vec![e.secure.clone()];
        cols.extend(e.controls.iter().cloned());
        needs(&mut problems, &have, &format!("esat '{}'", e.name), &cols);
        have.insert(e.name.clone());
    }
    for v in &plan.split {
        needs(&mut problems, &have, "split", std::slice::from_ref(v));
        have.insert(format!("{v}_cm"));
        have.insert(format!("{v}_wc"));
    }
    let mut model_vars: HashMap<&str, Vec<String>> = HashMap::new();
    for m in &plan.models {
        match Formula::parse(&m.formula) {
            Ok(f) => {
                needs(
                    &mut problems,
                    &have,
                    &format!("model '{}'", m.name),
                    &f.columns(),
                );
                model_vars.insert(&m.name, f.variables());
            }
            Err(e) => problems.push(format!(
                "model '{}': {}",
                m.name,
                e.to_string().lines().next().unwrap_or("")
            )),
        }
    }
    for p in &plan.probes {
        if let Some(vars) = model_vars.get(p.model.as_str()) {
            for v in [&p.focal, &p.moderator] {
                if !vars.contains(v) {
                    problems.push(format!(
                        "probe of '{}': '{v}' is not a variable of that model",
                        p.model
                    ));
                }
            }
        }
    }
    for m in &plan.mediations {
        let mut cols = vec![m.x.clone(), m.y.clone()];
        cols.extend(m.m.iter().cloned());
        cols.extend(m.covariates.iter().cloned());
        needs(
            &mut problems,
            &have,
            &format!("mediation '{}'", m.name),
            &cols,
        );
    }
    if let Some(t) = &plan.trajectories {
        needs(
            &mut problems,
            &have,
            "trajectories",
            std::slice::from_ref(&t.variable),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Plan { problems })
    }
}

/// The data as the plan's steps before scoring make them: the client file joined, the levels
/// declared (therapist, client, session), the `fill` columns filled within clients. Returns
/// the data and notes for the report.
fn prepare(data: &Data, plan: &Plan, options: &StudyOptions) -> Result<(Data, Vec<String>)> {
    let mut notes = Vec::new();
    let mut d = match &plan.client_file {
        None => data.clone(),
        Some(file) => {
            let path = match &options.key_base {
                Some(base) if std::path::Path::new(file).is_relative() => base.join(file),
                _ => std::path::PathBuf::from(file),
            };
            let clients = read_client_file(&path)?;
            let j = data.left_join(&clients, &[plan.ids.client.as_str()])?;
            notes.push(format!(
                "client file {}: {} client rows joined on '{}'; session rows without a client row: {}; client rows without sessions: {}",
                file,
                clients.nrows(),
                plan.ids.client,
                j.unmatched_left,
                j.unmatched_right
            ));
            j.data
        }
    };
    let mut levels: Vec<&str> = plan.ids.therapist.iter().map(String::as_str).collect();
    levels.push(&plan.ids.client);
    d.set_levels(Some(
        crate::data::Levels::new(&levels).time(&plan.ids.session),
    ))?;
    if !plan.fill.is_empty() {
        let mut order: Vec<&str> = levels.clone();
        order.push(&plan.ids.session);
        let l = d.levels().cloned();
        d = d.sort_by(&order)?;
        d.set_levels(l)?;
        for (c, n) in d.fill(
            &plan.fill,
            &[plan.ids.client.as_str()],
            crate::data::FillDirection::DownUp,
        )? {
            notes.push(format!(
                "fill: {n} missing values of '{c}' filled within clients (down and up, in session order)"
            ));
        }
    }
    Ok((d, notes))
}

#[cfg(feature = "csv")]
fn read_client_file(path: &std::path::Path) -> Result<Data> {
    Data::from_csv_path(path)
}

#[cfg(not(feature = "csv"))]
fn read_client_file(path: &std::path::Path) -> Result<Data> {
    Err(Error::Argument {
        name: "client_file".into(),
        message: format!(
            "reading the client file {} needs the crate's csv feature",
            path.display()
        ),
    })
}

/// One row per client with every client-level (or therapist-level) variable at its client's
/// non-missing value, so a value stored on any one of a client's rows is kept (not only the
/// first row's); session-level columns are left out (a client-level model refuses them).
fn one_row_per_client(d: &Data, client: &str) -> Result<Data> {
    let Some(l) = d.levels() else {
        return Err(Error::Model("the study's data carry no levels".into()));
    };
    let depth = l.ids().iter().position(|i| i == client).unwrap_or(0);
    let cols: Vec<String> = d
        .describe()?
        .variables
        .into_iter()
        .filter(|v| v.depth <= depth && !l.contains(&v.variable))
        .map(|v| v.variable)
        .collect();
    d.one_row_per(client, &cols)
}

/// A session-varying variable in a client-level model: an error naming it and the ways out.
fn client_level_check(d: &Data, m: &ModelPlan, f: &Formula) -> Result<()> {
    let client_depth = d.levels().map_or(0, |l| l.ids().len() - 1);
    for c in f.columns() {
        if !d.has_column(&c) {
            continue;
        }
        let v = d.level_of(&c)?;
        if v.depth > client_depth {
            return Err(Error::Level {
                kind: crate::error::LevelProblem::SessionVarying,
                names: vec![c.clone(), m.name.clone()],
                message: format!(
                    "model '{}' is client-level (one row per client) but '{}' varies over sessions: its first row would stand for the client; use its client mean (a derived column {{\"name\": \"{c}_mean\", \"expr\": \"mean_by({c}, client)\"}}) or an explicit first_by/last_by({c}, client)",
                    crate::error::clip(&m.name),
                    crate::error::clip(&c),
                    c = crate::error::clip(&c)
                ),
            });
        }
    }
    Ok(())
}

/// The client code of every row and the first row of each client (in row order).
fn clients(data: &Data, client: &str) -> Result<(Vec<Option<usize>>, Vec<usize>)> {
    let mut space = crate::data::keys::KeySpace::default();
    let g = crate::data::keys::RowKeys::build(&mut space, data, &[client], false)?.groups();
    Ok((
        g.of_row.iter().map(|c| c.map(|c| c as usize)).collect(),
        g.first_row,
    ))
}

/// Column `v` split into client means (`v_cm`) and session deviations (`v_wc`), over the rows
/// where it is present.
fn split(data: &mut Data, v: &str, of: &[Option<usize>], k: usize) -> Result<()> {
    let x = data.numeric(v)?.to_vec();
    let (mut sum, mut n) = (vec![0.0; k], vec![0usize; k]);
    for (val, c) in x.iter().zip(of) {
        if let (Some(val), Some(c)) = (val, c) {
            sum[*c] += val;
            n[*c] += 1;
        }
    }
    let mean: Vec<Option<f64>> = sum
        .iter()
        .zip(&n)
        .map(|(s, &n)| (n > 0).then(|| s / n as f64))
        .collect();
    let cm: Vec<Option<f64>> = of.iter().map(|c| c.and_then(|c| mean[c])).collect();
    let wc: Vec<Option<f64>> = x
        .iter()
        .zip(&cm)
        .map(|(v, m)| v.zip(*m).map(|(v, m)| v - m))
        .collect();
    data.add_column(&format!("{v}_cm"), Column::Numeric(cm.into()))?;
    data.add_column(&format!("{v}_wc"), Column::Numeric(wc.into()))
}

/// Standardized coefficients of the numeric terms: β · SD(column) / SD(y), with y the fitted
/// values plus the residuals (the response in the rows used).
fn standardized(
    coefs: &[crate::stats::Coefficient],
    column: &dyn Fn(&str) -> Option<Vec<f64>>,
    fitted: &[f64],
    residuals: &[f64],
) -> Vec<(String, f64)> {
    let sd = |v: &[f64]| {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    };
    let y: Vec<f64> = fitted.iter().zip(residuals).map(|(a, b)| a + b).collect();
    let sy = sd(&y);
    coefs
        .iter()
        .filter(|c| c.term != "(Intercept)")
        .filter_map(|c| column(&c.term).map(|x| (c.term.clone(), c.estimate * sd(&x) / sy)))
        .collect()
}

/// The formula without its random terms for `group` (for the level comparison).
fn without_group(formula: &str, group: &str) -> Result<String> {
    let f = Formula::parse(formula)?;
    let mut rhs: Vec<String> = f.fixed().terms.iter().map(|t| t.label()).collect();
    if !f.fixed().intercept {
        rhs.insert(0, "0".into());
    }
    for r in f.random() {
        if r.group.len() == 1 && r.group[0] == group {
            continue;
        }
        let mut eff: Vec<String> = r.effects.terms.iter().map(|t| t.label()).collect();
        eff.insert(
            0,
            if r.effects.intercept {
                "1".into()
            } else {
                "0".into()
            },
        );
        rhs.push(format!("({} | {})", eff.join(" + "), r.group_name()));
    }
    if rhs.is_empty() {
        rhs.push("1".into());
    }
    Ok(format!("{} ~ {}", f.response(), rhs.join(" + ")))
}

/// Run the plan on session-level data.
///
/// # Errors
/// [`Error::Plan`] listing every problem of the plan with the data (see [`check`]);
/// [`Error::InvalidValue`] naming row and column for an out-of-range response; the errors of
/// each model.
///
/// ```
/// use securebase::study::{run, Plan, StudyOptions};
/// use securebase::Data;
/// let data = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/data/study_sessions.csv"))?;
/// let mut plan = Plan::reference(); // the reference study's analysis, as data
/// plan.bootstrap = 20; // quick, for the example
/// plan.draws = 200;
/// let report = run(&data, &plan, &StudyOptions::simulated(20240710))?;
/// assert_eq!((report.clients, report.therapists), (330, Some(44)));
/// let md = report.to_markdown();
/// assert!(md.contains("simulated")); // simulated data say so first
/// # Ok::<(), securebase::Error>(())
/// ```
pub fn run(data: &Data, plan: &Plan, options: &StudyOptions) -> Result<StudyReport> {
    // The data steps once, for the check and the run.
    let steps = prepared(plan, data, options);
    check_prepared(plan, data, options, &steps)?;
    let (prepared, data_notes) = match steps {
        Some(r) => r?,
        None => prepare(data, plan, options)?,
    };
    let data = &prepared;
    let ids = &plan.ids;
    let (of, first) = clients(data, &ids.client)?;
    let n_clients = first.len();
    let mut d = data.clone();
    // Sessions per client.
    let mut per = vec![0usize; n_clients];
    for c in of.iter().flatten() {
        per[*c] += 1;
    }
    let spc = (
        per.iter().copied().min().unwrap_or(0),
        per.iter().sum::<usize>() as f64 / n_clients.max(1) as f64,
        per.iter().copied().max().unwrap_or(0),
    );
    // 1. Scoring and reliability.
    let client_rows = one_row_per_client(data, &ids.client)?;
    let session = data.numeric(&ids.session)?.to_vec();
    let mut instruments = Vec::new();
    let (mut rel, mut rel_by_session) = (Vec::new(), Vec::new());
    for i in &plan.instruments {
        let key = instrument_key(i, options.key_base.as_deref())?;
        let s = score(data, &key, InvalidResponses::Error)?;
        let rows_for = match i.level {
            InstrumentLevel::Client => &client_rows,
            InstrumentLevel::Session => data,
        };
        let responses = key.items.len() * rows_for.nrows();
        let missing_responses = key
            .items
            .iter()
            .map(|it| {
                rows_for
                    .numeric(it)
                    .map_or(0, |v| v.iter().filter(|x| x.is_none()).count())
            })
            .sum();
        let mut missing_scores = Vec::new();
        for sub in &s.subscales {
            let name = score_name(i, &sub.name);
            let n_missing = match i.level {
                InstrumentLevel::Client => {
                    first.iter().filter(|&&r| sub.scores[r].is_none()).count()
                }
                InstrumentLevel::Session => sub.scores.iter().filter(|v| v.is_none()).count(),
            };
            missing_scores.push((name.clone(), n_missing));
            d.add_column(&name, Column::Numeric(sub.scores.clone().into()))?;
        }
        let label = match i.level {
            InstrumentLevel::Client => "clients",
            InstrumentLevel::Session => "sessions pooled",
        };
        // Session rows are nested in clients: α's and ω's intervals from whole clients.
        let rels = match i.level {
            InstrumentLevel::Client => reliability(rows_for, &key, MissingItems::CompleteCases)?,
            InstrumentLevel::Session => crate::scoring::reliability_clustered(
                rows_for,
                &key,
                MissingItems::CompleteCases,
                &ids.client,
                &crate::mediation::BootstrapOptions::new(plan.bootstrap, plan.seed),
            )?,
        };
        for r in rels {
            rel.push(ScaleReliability {
                scale: score_name(i, &r.subscale),
                rows: label.into(),
                reliability: r,
            });
        }
        if i.level == InstrumentLevel::Session {
            let mut occasions: Vec<f64> = session.iter().flatten().copied().collect();
            occasions.sort_by(f64::total_cmp);
            occasions.dedup();
            for s_no in occasions {
                let sub = data.filter(|r| session[r] == Some(s_no));
                if sub.nrows() < 20 {
                    continue;
                }
                if let Ok(rs) = reliability(&sub, &key, MissingItems::CompleteCases) {
                    for r in rs.into_iter().filter(|r| r.n_complete >= 20) {
                        rel_by_session.push(ScaleReliability {
                            scale: score_name(i, &r.subscale),
                            rows: format!("session {}", crate::formula::functions::r_number(s_no)),
                            reliability: r,
                        });
                    }
                }
            }
        }
        let ranges = key
            .subscales
            .iter()
            .map(|sub| {
                let k = match sub.aggregation {
                    crate::scoring::Aggregation::Mean => 1.0,
                    crate::scoring::Aggregation::Sum => sub.items.len() as f64,
                };
                (
                    score_name(i, &sub.name),
                    k * key.response_min as f64,
                    k * key.response_max as f64,
                )
            })
            .collect();
        instruments.push(InstrumentReport {
            ranges,
            key: key.name.clone(),
            source: key.source.clone(),
            licence: key.licence.clone(),
            synthetic: key.name.starts_with("example-"),
            level: i.level,
            missing_responses: (missing_responses, responses),
            missing_scores,
        });
    }
    // 2. Derived columns.
    for x in &plan.derived {
        let col = derive::evaluate(&d, &x.expr, &plan.ids, &x.name)?;
        d.add_column(&x.name, col)?;
    }
    // 3. ESAT.
    let mut esat = Vec::new();
    let mut esat_correlations = Vec::new();
    for e in &plan.esat {
        let controls: Vec<&str> = e.controls.iter().map(String::as_str).collect();
        let r = match e.variant {
            EsatVariant::Pooled => Residualizer::fit(&d, &e.secure, &controls, e.standardize)?,
            EsatVariant::WithinClient => {
                Residualizer::fit_within(&d, &e.secure, &controls, &ids.client, e.standardize)?
            }
        };
        r.add_to(&mut d, &e.name)?;
        for c in &e.controls {
            if !esat_correlations
                .iter()
                .any(|(a, b, _): &(String, String, f64)| *a == e.secure && b == c)
            {
                let fit = Ols::fit(&d, &format!("`{}` ~ `{c}`", e.secure))?;
                let r2 = fit.r_squared();
                let sign = fit.coefficients()[1].estimate.signum();
                esat_correlations.push((e.secure.clone(), c.clone(), sign * r2.sqrt()));
            }
        }
        esat.push((e.name.clone(), r));
    }
    // 4. Within/between splits.
    for v in &plan.split {
        split(&mut d, v, &of, n_clients)?;
    }
    // 5. Models.
    let client_data = one_row_per_client(&d, &ids.client)?;
    let mut models = Vec::new();
    for m in &plan.models {
        let rows = match m.level {
            ModelLevel::Session => &d,
            ModelLevel::Client => &client_data,
        };
        let f = Formula::parse(&m.formula)?;
        if m.level == ModelLevel::Client {
            client_level_check(&d, m, &f)?;
        }
        let result = if f.is_mixed() {
            let fit = LmmSpec::from_formula(rows, &f)?.fit(Criterion::Reml)?;
            let standardized = standardized(
                fit.coefficients(),
                &|t| fit.column_values(t),
                fit.fitted(),
                fit.residuals(),
            );
            let unconditional = Some(unconditional_icc(rows, &fit, plan.seed)?);
            ModelResult {
                plan: m.clone(),
                lmm: Some(fit),
                ols: None,
                standardized,
                unconditional,
            }
        } else {
            let fit = Ols::fit_formula(rows, &f)?;
            let standardized = standardized(
                fit.coefficients(),
                &|t| fit.column_values(t),
                fit.fitted(),
                fit.residuals(),
            );
            ModelResult {
                plan: m.clone(),
                lmm: None,
                ols: Some(fit),
                standardized,
                unconditional: None,
            }
        };
        models.push(result);
    }
    let model = |name: &str| models.iter().find(|m| m.plan.name == name);
    // 6. Probes.
    let mut probes = Vec::new();
    for p in &plan.probes {
        let Some(m) = model(&p.model) else { continue };
        let spec = ProbeSpec::new(&p.focal, &p.moderator);
        let (probe, curve) = match (&m.lmm, &m.ols) {
            (Some(f), _) => (spec.run(f)?, spec.curve(f, 60)?),
            (_, Some(f)) => (spec.run(f)?, spec.curve(f, 60)?),
            _ => continue,
        };
        probes.push(ProbeResult {
            model: p.model.clone(),
            probe,
            curve,
        });
    }
    // 7. Mediations.
    let mut mediations = Vec::new();
    for mp in &plan.mediations {
        let ms: Vec<&str> = mp.m.iter().map(String::as_str).collect();
        let covs: Vec<&str> = mp.covariates.iter().map(String::as_str).collect();
        let mut med = MultilevelMediation::new(&mp.x, &ms, &mp.y, &ids.client).covariates(&covs);
        if let Some(t) = ids
            .therapist
            .as_ref()
            .filter(|_| mp.third_level.unwrap_or(true))
        {
            med = med.cluster2(t);
        }
        let fit = med.fit(&d)?;
        let bootstrap = med.bootstrap(
            &d,
            &BootstrapOptions::new(plan.bootstrap, plan.seed).resampling(Resampling::Cluster),
        )?;
        let monte_carlo = med.monte_carlo(&d, plan.draws, plan.seed, 0.95)?;
        mediations.push(MediationResult {
            plan: mp.clone(),
            fit,
            bootstrap,
            monte_carlo,
        });
    }
    // 8. Two against three levels.
    let level_comparison = match (&plan.level_comparison, &ids.therapist) {
        (Some(c), Some(t)) => match model(&c.model).and_then(|m| m.lmm.as_ref()) {
            Some(three) => {
                let two_formula = without_group(three.formula(), t)?;
                let rows = match model(&c.model).map(|m| m.plan.level) {
                    Some(ModelLevel::Client) => &client_data,
                    _ => &d,
                };
                let two = LmmSpec::new(rows, &two_formula)?.fit(Criterion::Reml)?;
                Some(LevelResult {
                    model: c.model.clone(),
                    two_level: two_formula,
                    anova: crate::lmm::anova(&[&two, three])?,
                    therapist_icc: three.icc().group(t),
                })
            }
            None => None,
        },
        _ => None,
    };
    // 9. Trajectories.
    let trajectories = match &plan.trajectories {
        Some(t) => model(&t.model)
            .and_then(|m| m.lmm.as_ref())
            .map(|fit| trajectories(&d, t, &of, fit, &ids.session))
            .transpose()?,
        None => None,
    };
    Ok(StudyReport {
        data_notes,
        plan: plan.clone(),
        options: options.clone(),
        sessions: data.nrows(),
        clients: n_clients,
        therapists: ids
            .therapist
            .as_ref()
            .map(|t| data.factor(t).map(|f| f.levels().len()).unwrap_or(0)),
        sessions_per_client: spc,
        instruments,
        reliability: rel,
        reliability_by_session: rel_by_session,
        esat_correlations,
        esat,
        models,
        probes,
        mediations,
        level_comparison,
        trajectories,
    })
}

/// The first `t.clients` clients' observed values over sessions and the growth model's
/// average curve (its fixed part along sessions, every other variable at its mean).
fn trajectories(
    d: &Data,
    t: &TrajectoryPlan,
    of: &[Option<usize>],
    fit: &LmmFit,
    session: &str,
) -> Result<Trajectories> {
    let y = d.numeric(&t.variable)?;
    let s = d.numeric(session)?;
    let mut clients: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut index: HashMap<usize, usize> = HashMap::new();
    for (r, &c) in of.iter().enumerate().take(d.nrows()) {
        let (Some(c), Some(sv), Some(yv)) = (c, s.get(r), y.get(r)) else {
            continue;
        };
        let k = match index.get(&c) {
            Some(&k) => k,
            None if clients.len() < t.clients => {
                index.insert(c, clients.len());
                clients.push(Vec::new());
                clients.len() - 1
            }
            None => continue,
        };
        clients[k].push((sv, yv));
    }
    let lo = s.iter().flatten().fold(f64::INFINITY, f64::min);
    let hi = s.iter().flatten().fold(f64::NEG_INFINITY, f64::max);
    let design = fit.design();
    let grid: Vec<f64> = (0..=40).map(|i| lo + (hi - lo) * i as f64 / 40.0).collect();
    let mut g = Data::new();
    let mut names_done = vec![session.to_string()];
    g.add_column(session, Column::Numeric(grid.iter().copied().collect()))?;
    for (name, r) in design.reference() {
        if names_done.contains(name) {
            continue;
        }
        names_done.push(name.clone());
        match r {
            crate::formula::design::Reference::Mean(m) => {
                g.add_column(name, Column::Numeric(vec![*m; grid.len()].into()))?
            }
            crate::formula::design::Reference::Levels(l) => {
                g = g.with_categorical(name, vec![l[0].clone(); grid.len()])?
            }
        }
    }
    let x = design.matrix(&g, &(0..grid.len()).collect::<Vec<_>>())?;
    let mut average = Vec::with_capacity(grid.len());
    let mut band = Vec::with_capacity(grid.len());
    for (i, &sv) in grid.iter().enumerate() {
        let row: Vec<f64> = (0..x.ncols()).map(|j| x[(i, j)]).collect();
        let c = fit.contrast(&row)?;
        average.push((sv, c.estimate));
        band.push((sv, c.ci[0], c.ci[1]));
    }
    Ok(Trajectories {
        variable: t.variable.clone(),
        clients,
        average,
        band,
    })
}
