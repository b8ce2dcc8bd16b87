//! The reference study's analysis end to end (Jacobsen et al. 2024), on any item-level file
//! shaped like it: scoring with reliability and a missing-item report, individuated-secure
//! attachment (ESAT), the baseline-adjusted outcome model, the moderator model with simple
//! slopes and Johnson–Neyman, and the mediation chain with cluster-bootstrap intervals.
//!
//! The instruments are scored with keys given to [`StudyOptions`]; by default the synthetic
//! example keys of [`crate::simulate::example_keys`], which score the embedded simulated cohort.

use crate::controls::Residualizer;
use crate::data::{Column, Data};
use crate::error::{Error, Result};
use crate::lmm::{Criterion, LmmFit, LmmSpec};
use crate::mediation::{Bootstrap, BootstrapOptions, Mediation, MediationFit, Resampling};
use crate::probe::{DfMethod, ModeratorValues, Probe, SimpleSlope, probe, slope_curve};
use crate::scoring::{InvalidResponses, MissingItems, Reliability, ScaleKey, reliability, score};
use serde::Serialize;
use std::fmt::Write as _;

/// The outcome model of the study.
pub const OUTCOME_MODEL: &str = "iip_post ~ iip_pre + engagement + esat_anx + (1 | therapist)";
/// The moderator model of the study.
pub const MODERATOR_MODEL: &str = "autonomy ~ ecr_anx * esat_anx + (1 | therapist)";

/// Settings of a study run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StudyOptions {
    /// Keys for the ECR, CATS, TDS and IIP (pre, post) instruments, in that order.
    pub keys: Vec<ScaleKey>,
    /// Bootstrap resamples for the mediation intervals.
    pub bootstrap_replicates: usize,
    /// Bootstrap seed.
    pub seed: u64,
}

impl Default for StudyOptions {
    fn default() -> Self {
        StudyOptions {
            keys: crate::simulate::example_keys(),
            bootstrap_replicates: 2000,
            seed: 2024,
        }
    }
}

/// Missing responses and scores of one instrument.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingReport {
    /// Instrument.
    pub instrument: String,
    /// Missing item responses.
    pub missing_responses: usize,
    /// Responses in all.
    pub responses: usize,
    /// Per subscale score column: respondents without a score.
    pub missing_scores: Vec<(String, usize)>,
}

/// Every result of the study.
#[derive(Debug, Clone, Serialize)]
pub struct StudyReport {
    /// Clients in the file.
    pub clients: usize,
    /// Therapists.
    pub therapists: usize,
    /// Reliability of every subscale (complete cases).
    pub reliability: Vec<Reliability>,
    /// Missing items and scores.
    pub missing: Vec<MissingReport>,
    /// ESAT_anx: CATS Secure net of Preoccupied-Merger (standardized).
    pub esat_anx: Residualizer,
    /// ESAT_avoid: CATS Secure net of Avoidant-Fearful (standardized).
    pub esat_avoid: Residualizer,
    /// `iip_post ~ iip_pre + engagement + esat_anx + (1 | therapist)`.
    pub outcome: LmmFit,
    /// `autonomy ~ ecr_anx * esat_anx + (1 | therapist)`.
    pub moderator: LmmFit,
    /// ESAT's slope on autonomy along pretreatment anxiety.
    pub probe: Probe,
    /// The slope curve (for the Johnson–Neyman plot).
    pub slope_curve: Vec<SimpleSlope>,
    /// ecr_anx → esat_anx → autonomy.
    pub mediation: MediationFit,
    /// Its cluster bootstrap (whole therapists).
    pub mediation_bootstrap: Bootstrap,
    /// ecr_anx → esat_anx → engagement → iip_post, adjusting for iip_pre.
    pub chain: MediationFit,
    /// Its cluster bootstrap.
    pub chain_bootstrap: Bootstrap,
}

/// Column names the study creates from subscale `sub` of instrument key `k`.
fn score_column(key_index: usize, sub: &str) -> String {
    match key_index {
        0 => format!("ecr_{sub}"),
        1 => format!("cats_{sub}"),
        2 => sub.to_string(),
        3 => "iip_pre".to_string(),
        _ => "iip_post".to_string(),
    }
}

/// Check that `data` has every column the study needs: `therapist` and every item of every key.
///
/// # Errors
/// [`Error::MissingColumns`] listing every absent column.
pub fn check_columns(data: &Data, keys: &[ScaleKey]) -> Result<()> {
    let mut missing: Vec<String> = Vec::new();
    if !data.has_column("therapist") {
        missing.push("therapist".into());
    }
    for k in keys {
        missing.extend(k.items.iter().filter(|i| !data.has_column(i)).cloned());
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::MissingColumns {
            context: "the study".into(),
            missing,
        })
    }
}

/// Run the whole analysis.
///
/// # Errors
/// [`Error::MissingColumns`] for absent columns; [`Error::InvalidValue`] naming row and column
/// for an out-of-range response; the errors of each model.
pub fn run(data: &Data, options: &StudyOptions) -> Result<StudyReport> {
    if options.keys.len() != 5 {
        return Err(Error::Argument {
            name: "keys".into(),
            message: "give keys for ECR, CATS, TDS, IIP pre and IIP post".into(),
        });
    }
    check_columns(data, &options.keys)?;
    let mut d = data.clone();
    let mut rel = Vec::new();
    let mut missing = Vec::new();
    for (ki, key) in options.keys.iter().enumerate() {
        let s = score(data, key, InvalidResponses::Error)?;
        let mut r = reliability(data, key, MissingItems::CompleteCases)?;
        for x in &mut r {
            x.subscale = score_column(ki, &x.subscale);
        }
        rel.extend(r);
        let responses = key.items.len() * data.nrows();
        let missing_responses = key
            .items
            .iter()
            .map(|i| {
                data.numeric(i)
                    .map_or(0, |v| v.iter().filter(|x| x.is_none()).count())
            })
            .sum();
        let mut ms = Vec::new();
        for sub in &s.subscales {
            let name = score_column(ki, &sub.name);
            ms.push((
                name.clone(),
                sub.scores.iter().filter(|v| v.is_none()).count(),
            ));
            d.add_column(&name, Column::Numeric(sub.scores.clone()))?;
        }
        missing.push(MissingReport {
            instrument: key.name.clone(),
            missing_responses,
            responses,
            missing_scores: ms,
        });
    }
    let esat_anx = Residualizer::fit(&d, "cats_secure", &["cats_preocc"], true)?;
    esat_anx.add_to(&mut d, "esat_anx")?;
    let esat_avoid = Residualizer::fit(&d, "cats_secure", &["cats_avoidfear"], true)?;
    esat_avoid.add_to(&mut d, "esat_avoid")?;
    let outcome = LmmSpec::new(&d, OUTCOME_MODEL)?.fit(Criterion::Reml)?;
    let moderator = LmmSpec::new(&d, MODERATOR_MODEL)?.fit(Criterion::Reml)?;
    let probe = probe(
        &moderator,
        "esat_anx",
        "ecr_anx",
        &ModeratorValues::MeanSd,
        DfMethod::Model,
        0.95,
    )?;
    let curve = slope_curve(&moderator, "esat_anx", "ecr_anx", 60, DfMethod::Model, 0.95)?;
    let boot = BootstrapOptions::new(options.bootstrap_replicates, options.seed)
        .resampling(Resampling::Cluster);
    let med = Mediation::new("ecr_anx", &["esat_anx"], "autonomy").cluster("therapist");
    let chain = Mediation::new("ecr_anx", &["esat_anx", "engagement"], "iip_post")
        .covariates(&["iip_pre"])
        .cluster("therapist");
    Ok(StudyReport {
        clients: data.nrows(),
        therapists: d.factor("therapist").map(|f| f.levels().len()).unwrap_or(0),
        reliability: rel,
        missing,
        esat_anx,
        esat_avoid,
        outcome,
        moderator,
        probe,
        slope_curve: curve,
        mediation: med.fit(&d)?,
        mediation_bootstrap: med.bootstrap(&d, &boot)?,
        chain: chain.fit(&d)?,
        chain_bootstrap: chain.bootstrap(&d, &boot)?,
    })
}

fn coef_table(out: &mut String, fit: &LmmFit) {
    out.push_str(
        "| term | estimate | SE | df | t | p | 95% CI |\n|---|---:|---:|---:|---:|---:|---|\n",
    );
    for c in fit.coefficients() {
        let _ = writeln!(
            out,
            "| {} | {:.4} | {:.4} | {:.1} | {:.3} | {} | [{:.4}, {:.4}] |",
            c.term,
            c.estimate,
            c.std_error,
            c.df,
            c.t,
            crate::stats::format_p(c.p),
            c.ci[0],
            c.ci[1]
        );
    }
    let vc: Vec<String> = fit
        .varcorr()
        .iter()
        .map(|v| format!("{} SD {:.4}", v.group, v.sd[0]))
        .collect();
    let icc: Vec<String> = fit
        .icc()
        .by_group
        .iter()
        .map(|g| format!("{} {:.3}", g.group, g.icc))
        .collect();
    let _ = writeln!(
        out,
        "\nRandom effects: {}; residual SD {:.4}. ICC: {}. Marginal R² {:.3}, conditional R² {:.3}. n = {} ({} dropped for missing values).{}\n",
        vc.join(", "),
        fit.sigma(),
        icc.join(", "),
        fit.r2_marginal(),
        fit.r2_conditional(),
        fit.nobs(),
        fit.missing().n_dropped(),
        if fit.diagnostics().is_empty() {
            String::new()
        } else {
            format!(" Note: {}", fit.diagnostics().join("; "))
        }
    );
}

fn boot_table(out: &mut String, b: &Bootstrap) {
    out.push_str("| effect | estimate | boot SE | percentile 95% CI | BCa 95% CI |\n|---|---:|---:|---|---|\n");
    for e in &b.effects {
        let bca = e
            .bca
            .map_or("—".into(), |c| format!("[{:.4}, {:.4}]", c[0], c[1]));
        let _ = writeln!(
            out,
            "| {} | {:.4} | {:.4} | [{:.4}, {:.4}] | {} |",
            e.name, e.estimate, e.boot_se, e.percentile[0], e.percentile[1], bca
        );
    }
    let _ = writeln!(
        out,
        "\n{} cluster resamples of whole therapists (seed {}), {} failed.\n",
        b.replicates, b.options.seed, b.failed
    );
}

impl StudyReport {
    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Attachment to the therapist and outcome: study report\n"
        );
        let _ = writeln!(
            out,
            "{} clients of {} therapists.\n",
            self.clients, self.therapists
        );
        out.push_str("## 1. Scales: reliability (complete cases)\n\n| scale | items | α | 95% CI (Feldt) | ω total | n complete |\n|---|---:|---:|---|---:|---:|\n");
        for r in &self.reliability {
            let _ = writeln!(
                out,
                "| {} | {} | {:.3} | [{:.3}, {:.3}] | {} | {} |",
                r.subscale,
                r.n_items,
                r.alpha,
                r.feldt[0],
                r.feldt[1],
                r.omega_total.map_or("—".into(), |o| format!("{o:.3}")),
                r.n_complete
            );
        }
        out.push_str("\n**Missing items.** ");
        let parts: Vec<String> = self
            .missing
            .iter()
            .map(|m| {
                let scores: Vec<String> = m
                    .missing_scores
                    .iter()
                    .map(|(s, n)| format!("{s}: {n}"))
                    .collect();
                format!(
                    "{}: {} of {} responses missing; scores missing — {}",
                    m.instrument,
                    m.missing_responses,
                    m.responses,
                    scores.join(", ")
                )
            })
            .collect();
        let _ = writeln!(out, "{}.\n", parts.join(". "));
        out.push_str("## 2. Individuated-secure attachment (ESAT)\n\n");
        let _ = writeln!(
            out,
            "- ESAT_anx: {}",
            self.esat_anx.to_string().replace('\n', " ")
        );
        let _ = writeln!(
            out,
            "- ESAT_avoid: {}\n",
            self.esat_avoid.to_string().replace('\n', " ")
        );
        let _ = writeln!(
            out,
            "## 3. Outcome model (REML, Satterthwaite df)\n\n`{OUTCOME_MODEL}`\n"
        );
        coef_table(&mut out, &self.outcome);
        let _ = writeln!(
            out,
            "## 4. Moderation: anxiety × ESAT on growing autonomy\n\n`{MODERATOR_MODEL}`\n"
        );
        coef_table(&mut out, &self.moderator);
        out.push_str("Simple slopes of ESAT_anx on autonomy:\n\n| pretreatment anxiety | at | slope | SE | df | p | 95% CI |\n|---|---:|---:|---:|---:|---:|---|\n");
        for s in &self.probe.simple_slopes {
            let _ = writeln!(
                out,
                "| {} | {:.3} | {:.4} | {:.4} | {:.1} | {} | [{:.4}, {:.4}] |",
                s.label,
                s.at,
                s.slope,
                s.std_error,
                s.df,
                crate::stats::format_p(s.p),
                s.ci[0],
                s.ci[1]
            );
        }
        let jn = &self.probe.johnson_neyman;
        match jn.bounds {
            Some([a, b]) => {
                let _ = writeln!(
                    out,
                    "\nJohnson–Neyman (α = {}): boundaries at anxiety = {:.3} and {:.3} (observed {:.3} to {:.3}).",
                    jn.alpha, a, b, jn.observed_range[0], jn.observed_range[1]
                );
            }
            None => {
                let _ = writeln!(out, "\nJohnson–Neyman (α = {}): no boundary.", jn.alpha);
            }
        }
        for r in &jn.regions {
            let _ = writeln!(
                out,
                "- {:.3} to {:.3}: {} ({:.1}% of clients)",
                r.from,
                r.to,
                r.verdict(),
                100.0 * r.share
            );
        }
        out.push_str("\n## 5. Mediation\n\nAnxiety → ESAT_anx → growing autonomy:\n\n");
        boot_table(&mut out, &self.mediation_bootstrap);
        out.push_str("ET-GRAF chain: anxiety → ESAT_anx → growing engagement → IIP post (adjusting for IIP pre):\n\n");
        boot_table(&mut out, &self.chain_bootstrap);
        out
    }
}
