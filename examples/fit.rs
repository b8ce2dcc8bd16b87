//! Fit a model to a CSV file from the command line.
//!
//! ```text
//! cargo run --release --example fit -- --data FILE.csv --formula "FORMULA" [--ml] [--probe FOCAL:MODERATOR] [--json]
//! ```
//!
//! A formula with random-effect terms fits a linear mixed model (REML unless `--ml`), one
//! without them OLS. `--json` prints one JSON object (see
//! DESIGN.md's contract); otherwise a table like R's `summary()`. Bad input prints a one-line
//! error on stderr and exits with status 2.

use securebase::probe::{DfMethod, ModeratorValues, Probe, Probeable, probe};
use securebase::{Criterion, Data, Formula, LmmFit, LmmSpec, Ols};
use serde_json::{Value, json};
use std::io::Write;
use std::process::ExitCode;

struct Args {
    data: String,
    formula: String,
    json: bool,
    ml: bool,
    probe: Option<(String, String)>,
}

fn parse_args() -> Result<Args, String> {
    let mut data = None;
    let mut formula = None;
    let (mut json, mut ml) = (false, false);
    let mut probe = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--data" => data = Some(it.next().ok_or("--data needs a file name")?),
            "--formula" => formula = Some(it.next().ok_or("--formula needs a formula")?),
            "--json" => json = true,
            "--ml" => ml = true,
            "--probe" => {
                let v = it.next().ok_or("--probe needs FOCAL:MODERATOR")?;
                let (f, m) = v
                    .split_once(':')
                    .ok_or("--probe takes FOCAL:MODERATOR, e.g. --probe anxiety:esat")?;
                probe = Some((f.to_string(), m.to_string()));
            }
            "-h" | "--help" => {
                return Err(
                    "usage: fit --data FILE.csv --formula \"y ~ x\" [--ml] [--json]".into(),
                );
            }
            other => return Err(format!("unknown argument '{other}' (try --help)")),
        }
    }
    Ok(Args {
        data: data.ok_or("--data FILE.csv is required")?,
        formula: formula.ok_or("--formula \"y ~ x\" is required")?,
        json,
        ml,
        probe,
    })
}

fn one_line(e: &securebase::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

fn run(args: &Args) -> Result<String, String> {
    let data = Data::from_csv_path(&args.data).map_err(|e| one_line(&e))?;
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
        return Ok(output(args.json, lmm_json(&fit), fit.to_string(), probed));
    }
    let fit = Ols::fit_formula(&data, &formula).map_err(|e| one_line(&e))?;
    let probed = run_probe(&fit, args)?;
    let fixef = fixef_json(fit.coefficients());
    let out = json!({
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
    });
    Ok(output(args.json, out, fit.to_string(), probed))
}

fn run_probe<M: Probeable>(fit: &M, args: &Args) -> Result<Option<Probe>, String> {
    match &args.probe {
        None => Ok(None),
        Some((f, m)) => probe(fit, f, m, &ModeratorValues::MeanSd, DfMethod::Model, 0.95)
            .map(Some)
            .map_err(|e| one_line(&e)),
    }
}

fn output(json: bool, mut value: Value, text: String, probed: Option<Probe>) -> String {
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

fn main() -> ExitCode {
    let result = parse_args().and_then(|a| run(&a));
    match result {
        Ok(text) => {
            // A closed pipe (e.g. `| head`) is not an error worth a panic.
            let _ = writeln!(std::io::stdout(), "{text}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}
