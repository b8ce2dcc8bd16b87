//! Fit a model to a CSV file from the command line.
//!
//! ```text
//! cargo run --release --example fit -- --data FILE.csv --formula "FORMULA" [--ml] [--probe FOCAL:MODERATOR] [--json]
//!     [--family binomial|poisson] [--link LINK] [--nagq K]
//!     [--emmeans TERM [--contrasts pairwise|trt.vs.ctrl [--adjust tukey|holm|bonferroni|none]]] [--anova]
//!     [--profile] [--boot N [--seed S]] [--predict NEWDATA.csv]
//!     [--na TOKENS] [--delimiter D] [--decimal-comma] [--categorical COLS] [--numeric COLS]
//!     [--levels therapist/client[/session]] [--partially-crossed] [--fill COLS] [--client-mean COLS] [--describe]
//! ```
//!
//! With `--levels` the model runs at its variables' level: a formula whose variables are all
//! client-level (or therapist-level) is fitted on one row per client, and says so; a
//! client-level outcome with a session-level predictor is refused, naming `--client-mean`.
//!
//! A formula with random-effect terms fits a linear mixed model (REML unless `--ml`), one
//! without them OLS; `--family` fits a generalized linear model (R's `glm`) instead, or with a
//! random-effect term a generalized linear mixed model (`glmer`, `--nagq` points). `--json` prints one JSON object (see
//! DESIGN.md's contract); otherwise a table like R's `summary()`. Bad input prints a one-line
//! error on stderr and exits with status 2.

mod support;

use clap::Parser;
use securebase::glm::{Family, Glm, GlmFit, GlmmFit, Link};
use securebase::predict::{PredictOptions, RandomPart};
use securebase::probe::{
    Adjust, Contrast, DfMethod, Grid, ModeratorValues, Probe, Probeable, anova_type3, emmeans,
    probe,
};
use securebase::{Criterion, Formula, LmmFit, LmmSpec, Ols};
use serde_json::{Value, json};
use std::io::Write;
use std::process::ExitCode;
use support::{CsvArgs, LevelArgs, one_line};

/// Fit a model to a CSV file: OLS, or a linear mixed model when the formula has random-effect
/// terms such as (1 | therapist).
#[derive(Parser, Debug)]
#[command(name = "fit", allow_negative_numbers = true)]
struct Args {
    /// No progress lines on stderr (long bootstraps, power runs and fits print one after 2 s)
    #[arg(long)]
    quiet: bool,
    /// The data file (CSV with a header row)
    #[arg(long, value_name = "FILE.csv")]
    data: String,
    /// The model, in R's syntax: "y ~ x * z + log(w) + (session | client)"
    #[arg(long, value_name = "FORMULA")]
    formula: String,
    /// Fit a mixed model by maximum likelihood (default: REML)
    #[arg(long)]
    ml: bool,
    /// Simple slopes and Johnson–Neyman regions of FOCAL at values of MODERATOR
    #[arg(long, value_name = "FOCAL:MODERATOR", value_parser = parse_probe)]
    probe: Option<(String, String)>,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
    /// Fit a generalized linear model (R's glm) of this family: binomial (0/1, a two-level
    /// factor or cbind(successes, failures)) or poisson (counts, offset())
    #[arg(long, value_parser = ["binomial", "poisson"])]
    family: Option<String>,
    /// The link (binomial: logit, probit, cloglog; poisson: log); default the family's own
    #[arg(long, value_parser = ["logit", "probit", "cloglog", "log"], requires = "family")]
    link: Option<String>,
    /// With --family and a random-effect term: quadrature points (1 = Laplace, as glmer's
    /// nAGQ; more need a scalar random effect such as (1 | g))
    #[arg(long, value_name = "K", default_value_t = 1, requires = "family")]
    nagq: usize,
    /// Predictions for the rows of this file (linear models; a mixed model's with all random
    /// effects, levels it never saw at zero, and at the population level)
    #[arg(long, value_name = "NEWDATA.csv")]
    predict: Option<String>,
    /// Estimated marginal means of these variables, as emmeans: "condition", "condition*phase"
    /// or "condition|phase" (within each phase)
    #[arg(long, value_name = "TERM")]
    emmeans: Option<String>,
    /// Contrasts of the marginal means
    #[arg(long, value_parser = ["pairwise", "trt.vs.ctrl"], requires = "emmeans")]
    contrasts: Option<String>,
    /// Multiplicity adjustment of the contrasts (default: tukey for pairwise, holm otherwise)
    #[arg(long, value_parser = ["tukey", "holm", "bonferroni", "none"], requires = "contrasts")]
    adjust: Option<String>,
    /// Type III F tests of every term, as lmerTest's anova()
    #[arg(long)]
    anova: bool,
    /// Profile-likelihood intervals of every parameter of a mixed model (confint(method = "profile"))
    #[arg(long)]
    profile: bool,
    /// A parametric bootstrap of a mixed model's variance part with N replicates (ICCs,
    /// variance shares, R², SDs: percentile and basic 95% intervals)
    #[arg(long, value_name = "N")]
    boot: Option<usize>,
    /// Seed of --boot
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    csv: CsvArgs,
    #[command(flatten)]
    levels: LevelArgs,
}

/// What the model answers beyond its summary: marginal means, contrasts, type III tests,
/// profile and bootstrap intervals, predictions; each as JSON and as text.
#[derive(Default)]
struct Answers {
    json: serde_json::Map<String, Value>,
    text: Vec<String>,
}

fn adjust_of(args: &Args) -> Adjust {
    match args.adjust.as_deref() {
        Some("tukey") => Adjust::Tukey,
        Some("holm") => Adjust::Holm,
        Some("bonferroni") => Adjust::Bonferroni,
        Some("none") => Adjust::None,
        _ if args.contrasts.as_deref() == Some("pairwise") => Adjust::Tukey,
        _ => Adjust::Holm,
    }
}

fn coef_json(c: &securebase::Coefficient) -> Value {
    json!({"estimate": c.estimate, "std_error": c.std_error, "df": c.df, "t": c.t, "p": c.p, "ci": c.ci})
}

/// --emmeans, --contrasts, --anova for any linear model.
fn linear_answers<M: Probeable>(fit: &M, args: &Args, out: &mut Answers) -> Result<(), String> {
    if let Some(term) = &args.emmeans {
        let (specs, by): (Vec<&str>, Vec<&str>) = match term.split_once('|') {
            Some((a, b)) => (
                a.split('*').map(str::trim).collect(),
                b.split('*').map(str::trim).collect(),
            ),
            None => (term.split('*').map(str::trim).collect(), Vec::new()),
        };
        let emm = emmeans(fit, &Grid::new(&specs).by(&by)).map_err(|e| one_line(&e))?;
        let mut text = format!(
            "Estimated marginal means of {term} (95% CI; df: the model's, Satterthwaite for a mixed model)\n"
        );
        if !emm.averaged_over.is_empty() {
            let names: Vec<&str> = emm.averaged_over.iter().map(|(n, _)| n.as_str()).collect();
            text.push_str(&format!(
                "averaged over {} with equal weights\n",
                names.join(", ")
            ));
        }
        if !emm.at_means.is_empty() {
            let at: Vec<String> = emm
                .at_means
                .iter()
                .map(|(n, m)| format!("{n} = {m:.4}"))
                .collect();
            text.push_str(&format!("at the means {}\n", at.join(", ")));
        }
        for m in &emm.means {
            let c = &m.estimate;
            text.push_str(&format!(
                "  {:<24} {:>10.4}  SE {:>8.4}  df {:>7.2}  [{:.4}, {:.4}]\n",
                c.term, c.estimate, c.std_error, c.df, c.ci[0], c.ci[1]
            ));
        }
        out.json.insert("emmeans".into(), json!({
            "specs": emm.specs, "by": emm.by, "averaged_over": emm.averaged_over, "at_means": emm.at_means,
            "means": emm.means.iter().map(|m| { let mut v = coef_json(&m.estimate); v["at"] = json!(m.at); v }).collect::<Vec<_>>(),
        }));
        if let Some(kind) = &args.contrasts {
            let contrast = if kind == "pairwise" {
                Contrast::Pairwise
            } else {
                Contrast::TrtVsCtrl(0)
            };
            let adjust = adjust_of(args);
            let c = emm
                .contrast(fit, &contrast, adjust)
                .map_err(|e| one_line(&e))?;
            text.push_str(&format!(
                "Contrasts ({kind}; p and CI adjusted: {adjust:?} over {} comparisons per family)\n",
                c.family_size
            ));
            for r in &c.contrasts {
                let e = &r.estimate;
                let by: Vec<String> = r.by.iter().map(|(n, v)| format!("{n} = {v}")).collect();
                text.push_str(&format!(
                    "  {:<24} {:>10.4}  SE {:>8.4}  df {:>7.2}  t {:>7.3}  p {:.4}  [{:.4}, {:.4}] {}\n",
                    e.term, e.estimate, e.std_error, e.df, e.t, r.p_adjusted, r.ci_adjusted[0], r.ci_adjusted[1], by.join(", ")
                ));
            }
            out.json.insert("contrasts".into(), json!({
                "kind": kind, "adjust": format!("{adjust:?}").to_lowercase(), "family_size": c.family_size,
                "contrasts": c.contrasts.iter().map(|r| { let mut v = coef_json(&r.estimate);
                    v["label"] = json!(r.estimate.term); v["by"] = json!(r.by);
                    v["p_adjusted"] = json!(r.p_adjusted); v["ci_adjusted"] = json!(r.ci_adjusted); v }).collect::<Vec<_>>(),
            }));
        }
        out.text.push(text);
    }
    if args.anova {
        let t = anova_type3(fit, DfMethod::Model).map_err(|e| one_line(&e))?;
        out.json.insert(
            "anova".into(),
            json!(
                t.rows
                    .iter()
                    .map(|r| json!({
            "term": r.term, "sum_sq": r.sum_sq, "mean_sq": r.mean_sq, "num_df": r.num_df,
            "den_df": r.den_df, "f": r.f, "p": r.p}))
                    .collect::<Vec<_>>()
            ),
        );
        out.text.push(t.to_string());
    }
    Ok(())
}

/// --profile, --boot, --predict for a linear mixed model.
fn mixed_answers(fit: &LmmFit, args: &Args, out: &mut Answers) -> Result<(), String> {
    if args.profile {
        let p = fit.confint_profile(0.95).map_err(|e| one_line(&e))?;
        let mut text = String::from(
            "Profile-likelihood 95% intervals (ML profile, as lme4's confint(method = \"profile\"))\n",
        );
        for i in &p.intervals {
            text.push_str(&format!(
                "  {:<8} {:<36} {:>10.4}  [{:.4}, {:.4}]\n",
                i.name, i.label, i.estimate, i.lower, i.upper
            ));
        }
        out.json.insert(
            "profile".into(),
            json!(
                p.intervals
                    .iter()
                    .map(|i| json!({
            "name": i.name, "label": i.label, "ml_estimate": i.estimate, "ci": [i.lower, i.upper]}))
                    .collect::<Vec<_>>()
            ),
        );
        out.text.push(text);
    }
    if let Some(n) = args.boot {
        let b = fit
            .bootstrap_variance(n, args.seed)
            .map_err(|e| one_line(&e))?;
        let ci = b.intervals(0.95).map_err(|e| one_line(&e))?;
        let mut text = format!(
            "Parametric bootstrap of the variance part: {} replicates (seed {}), {} failed; 95% intervals\n",
            b.nsim, b.seed, b.failed
        );
        for c in &ci {
            text.push_str(&format!(
                "  {:<36} {:>8.4}  boot SE {:>7.4}  percentile [{:.4}, {:.4}]  basic [{:.4}, {:.4}]\n",
                c.name, c.estimate, c.std_error, c.percentile[0], c.percentile[1], c.basic[0], c.basic[1]
            ));
        }
        out.json.insert("bootstrap".into(), json!({
            "nsim": b.nsim, "seed": b.seed, "failed": b.failed,
            "intervals": ci.iter().map(|c| json!({"name": c.name, "estimate": c.estimate,
                "std_error": c.std_error, "percentile": c.percentile, "basic": c.basic})).collect::<Vec<_>>(),
        }));
        out.text.push(text);
    }
    if let Some(path) = &args.predict {
        let (newdata, _) = args.csv.read(path)?;
        let all = fit
            .predict(&newdata, &PredictOptions::new().new_levels(true))
            .map_err(|e| one_line(&e))?;
        let population = fit
            .predict(
                &newdata,
                &PredictOptions::new().random(RandomPart::Population),
            )
            .map_err(|e| one_line(&e))?;
        let mut text = format!(
            "Predictions for the {} rows of {path}: with all random effects (levels the fit never saw at 0), and at the population level with the fixed part's 95% CI\n",
            all.fit.len()
        );
        for i in 0..all.fit.len() {
            text.push_str(&format!(
                "  row {:>4}  {:>10.4}   population {:>10.4}  [{:.4}, {:.4}]\n",
                i + 1,
                all.fit[i],
                population.fit[i],
                population.confidence[i][0],
                population.confidence[i][1]
            ));
        }
        out.json.insert(
            "predictions".into(),
            json!({
                "conditional": all.fit, "population": population.fit, "se_fixed": population.se_fit,
                "confidence": population.confidence, "prediction_interval": population.prediction,
                "new_levels": all.new_levels.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>(),
            }),
        );
        out.text.push(text);
    }
    Ok(())
}

fn parse_probe(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((f, m)) if !f.is_empty() && !m.is_empty() => Ok((f.to_string(), m.to_string())),
        _ => Err("takes FOCAL:MODERATOR, e.g. --probe anxiety:esat".into()),
    }
}

fn run(args: &Args) -> Result<String, String> {
    let (data, report) = args.csv.read(&args.data)?;
    let data = args.levels.apply(data)?;
    let notes = report.notes();
    if let Some(family) = &args.family {
        if args.probe.is_some() || args.ml {
            return Err("--probe and --ml apply to linear models, not to --family".into());
        }
        if args.emmeans.is_some()
            || args.anova
            || args.profile
            || args.boot.is_some()
            || args.predict.is_some()
        {
            return Err("--emmeans, --anova, --profile, --boot and --predict apply to linear models here, not to --family".into());
        }
        let mut fam = if family == "binomial" {
            Family::binomial()
        } else {
            Family::poisson()
        };
        if let Some(link) = &args.link {
            let link = match link.as_str() {
                "logit" => Link::Logit,
                "probit" => Link::Probit,
                "cloglog" => Link::Cloglog,
                _ => Link::Log,
            };
            fam = fam.with_link(link).map_err(|e| one_line(&e))?;
        }
        // The right-hand side decides (the left may be cbind(successes, failures)).
        let rhs = args.formula.split_once('~').map_or("", |(_, r)| r);
        let mixed = Formula::parse(&format!("y ~ {rhs}")).is_ok_and(|f| f.is_mixed());
        if mixed {
            let fit =
                Glm::fit_mixed(&data, &args.formula, fam, args.nagq).map_err(|e| one_line(&e))?;
            let mut value = glmm_json(&fit);
            value["read_notes"] = json!(notes);
            level_fields(&mut value, &fit.missing);
            return Ok(output(
                args.json,
                value,
                fit.to_string(),
                None,
                Answers::default(),
            ));
        }
        let fit = Glm::fit(&data, &args.formula, fam).map_err(|e| one_line(&e))?;
        let mut value = glm_json(&fit);
        value["read_notes"] = json!(notes);
        level_fields(&mut value, &fit.missing);
        return Ok(output(
            args.json,
            value,
            fit.to_string(),
            None,
            Answers::default(),
        ));
    }
    let formula = Formula::parse(&args.formula).map_err(|e| one_line(&e))?;
    if formula.is_mixed() {
        let criterion = if args.ml {
            Criterion::Ml
        } else {
            Criterion::Reml
        };
        let spec = LmmSpec::from_formula(&data, &formula).map_err(|e| one_line(&e))?;
        let fit = spec.fit(criterion).map_err(|e| one_line(&e))?;
        let probed = run_probe(&fit, args)?;
        let mut answers = Answers::default();
        linear_answers(&fit, args, &mut answers)?;
        mixed_answers(&fit, args, &mut answers)?;
        let mut value = lmm_json(&fit);
        value["read_notes"] = json!(notes);
        level_fields(&mut value, fit.missing());
        return Ok(output(args.json, value, fit.to_string(), probed, answers));
    }
    let fit = Ols::fit_formula(&data, &formula).map_err(|e| one_line(&e))?;
    let probed = run_probe(&fit, args)?;
    if args.profile || args.boot.is_some() || args.predict.is_some() {
        return Err("--profile, --boot and --predict need a mixed model (a random-effect term such as (1 | client))".into());
    }
    let mut answers = Answers::default();
    linear_answers(&fit, args, &mut answers)?;
    let fixef = fixef_json(fit.coefficients());
    let mut out = json!({
        "model": "ols",
        "formula": fit.formula(),
        "criterion": Value::Null,
        "nobs": fit.nobs(),
        "fixef": fixef,
        "theta": [],
        "sigma": fit.sigma(),
        "varcorr": [],
        "objective": -2.0 * fit.loglik(),
        "loglik": fit.loglik(),
        "aic": fit.aic(),
        "bic": fit.bic(),
        "singular": false,
        "converged": true,
        "r_squared": fit.r_squared(),
        "adj_r_squared": fit.adj_r_squared(),
        "f_test": fit.f_test(),
        "n_dropped": fit.missing().n_dropped(),
        "dropped_rows": fit.missing().dropped_rows,
        "read_notes": notes,
    });
    level_fields(&mut out, fit.missing());
    Ok(output(args.json, out, fit.to_string(), probed, answers))
}

/// The level the model ran at (`unit`: one row per client from the session rows, with
/// `--levels`) and the notes about it (`level_notes`).
fn level_fields(value: &mut Value, m: &securebase::formula::Missingness) {
    value["unit"] = json!(m.unit.as_ref().map(|u| json!({
        "level": u.level, "units": u.units, "from_rows": u.from_rows, "from_level": u.from_level,
    })));
    value["level_notes"] = json!(m.notes);
}

fn run_probe<M: Probeable>(fit: &M, args: &Args) -> Result<Option<Probe>, String> {
    match &args.probe {
        None => Ok(None),
        Some((f, m)) => probe(fit, f, m, &ModeratorValues::MeanSd, DfMethod::Model, 0.95)
            .map(Some)
            .map_err(|e| one_line(&e)),
    }
}

fn output(
    json: bool,
    mut value: Value,
    text: String,
    probed: Option<Probe>,
    answers: Answers,
) -> String {
    for (k, v) in answers.json {
        value[k] = v;
    }
    let text = if answers.text.is_empty() {
        text
    } else {
        format!("{text}\n{}", answers.text.join("\n"))
    };
    if json {
        if let Some(p) = probed {
            value["probe"] = json!({
                "focal": p.focal,
                "moderator": p.moderator,
                "simple_slopes": p.simple_slopes.iter().map(|s| json!({
                    "at": s.at, "label": s.label, "slope": s.slope, "std_error": s.std_error,
                    "df": s.df, "t": s.t, "p": s.p, "ci": s.ci})).collect::<Vec<_>>(),
                "johnson_neyman": {"alpha": p.johnson_neyman.alpha, "bounds": p.johnson_neyman.bounds,
                    "regions": p.johnson_neyman.regions},
            });
        }
        value.to_string()
    } else {
        match probed {
            Some(p) => format!("{text}\n{p}"),
            None => text,
        }
    }
}

fn fixef_json(rows: &[securebase::Coefficient]) -> Vec<Value> {
    rows.iter()
        .map(|c| json!({"term": c.term, "estimate": c.estimate, "std_error": c.std_error, "df": c.df, "t": c.t, "p": c.p, "ci": c.ci}))
        .collect()
}

fn lmm_json(fit: &LmmFit) -> Value {
    let mut varcorr: Vec<Value> = Vec::new();
    for vc in fit.varcorr() {
        for (i, e) in vc.effects.iter().enumerate() {
            varcorr.push(
                json!({"group": vc.group, "term": e, "variance": vc.variance[i], "sd": vc.sd[i]}),
            );
        }
        for i in 0..vc.effects.len() {
            for j in 0..i {
                varcorr.push(
                    json!({"group": vc.group, "term": vc.effects[j], "term2": vc.effects[i],
                    "covariance": vc.covariance[i][j], "correlation": vc.correlation[i][j]}),
                );
            }
        }
    }
    varcorr.push(json!({"group": "Residual", "term": null, "variance": fit.sigma().powi(2), "sd": fit.sigma()}));
    json!({
        "model": "lmm",
        "formula": fit.formula(),
        "criterion": fit.criterion().name(),
        "nobs": fit.nobs(),
        "fixef": fixef_json(fit.coefficients()),
        "theta": fit.theta(),
        "sigma": fit.sigma(),
        "varcorr": varcorr,
        "objective": fit.objective(),
        "loglik": fit.loglik(),
        "aic": fit.aic(),
        "bic": fit.bic(),
        "singular": fit.is_singular(),
        "converged": fit.converged(),
        "ngroups": fit.ngroups(),
        "icc": fit.icc(),
        "r2_marginal": fit.r2_marginal(),
        "r2_conditional": fit.r2_conditional(),
        "diagnostics": fit.diagnostics(),
        "optimizer_evaluations": fit.optimization().evaluations,
        "n_dropped": fit.missing().n_dropped(),
        "dropped_rows": fit.missing().dropped_rows,
    })
}

/// The same fields as the linear models' JSON; `objective` is −2 log L as R's
/// `-2 * logLik()`, with `family` and `link` added.
fn glm_json(fit: &GlmFit) -> Value {
    json!({
        "model": "glm",
        "formula": fit.formula,
        "family": fit.family.name(),
        "link": fit.family.link.name(),
        "criterion": "ML",
        "nobs": fit.fitted.len(),
        "fixef": fixef_json(&fit.coefficients),
        "theta": [],
        "sigma": Value::Null,
        "varcorr": [],
        "objective": -2.0 * fit.loglik,
        "loglik": fit.loglik,
        "aic": fit.aic,
        "bic": fit.bic,
        "deviance": fit.deviance,
        "null_deviance": fit.null_deviance,
        "df_residual": fit.df_residual,
        "iterations": fit.iterations,
        "singular": false,
        "converged": fit.converged,
        "diagnostics": fit.diagnostics,
        "n_dropped": fit.missing.n_dropped(),
        "dropped_rows": fit.missing.dropped_rows,
    })
}

/// The GLMM's JSON: the linear mixed model's fields, `objective` = −2 log L.
fn glmm_json(fit: &GlmmFit) -> Value {
    let mut varcorr = Vec::new();
    for (re, cov) in fit.ranef.iter().zip(&fit.ranef_covariance) {
        for (i, e) in re.effects().iter().enumerate() {
            let v = cov[i][i];
            varcorr.push(json!({"group": re.group(), "term": e, "variance": v, "sd": v.sqrt()}));
        }
    }
    let ngroups: Vec<Value> = fit
        .ranef
        .iter()
        .map(|re| json!([re.group(), re.nlevels()]))
        .collect();
    json!({
        "model": "glmm",
        "formula": fit.formula,
        "family": fit.family.name(),
        "link": fit.family.link.name(),
        "nagq": fit.nagq,
        "criterion": "ML",
        "nobs": fit.nobs,
        "fixef": fixef_json(&fit.coefficients),
        "theta": fit.theta,
        "sigma": Value::Null,
        "varcorr": varcorr,
        "objective": fit.minus2loglik,
        "loglik": -0.5 * fit.minus2loglik,
        "aic": fit.aic,
        "bic": fit.bic,
        "singular": fit.singular,
        "converged": fit.converged,
        "ngroups": ngroups,
        "diagnostics": fit.diagnostics,
        "optimizer_evaluations": fit.evaluations,
        "n_dropped": fit.missing.n_dropped(),
        "dropped_rows": fit.missing.dropped_rows,
    })
}

fn main() -> ExitCode {
    let args = match support::parse::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    securebase::progress::enable(!args.quiet);
    match run(&args) {
        Ok(text) => {
            // A closed pipe (e.g. `| head`) is not an error worth a panic.
            let _ = writeln!(std::io::stdout(), "{text}");
            ExitCode::SUCCESS
        }
        Err(msg) => support::fail(&msg),
    }
}
