//! Fit a model to a CSV file from the command line.
//!
//! ```text
//! cargo run --release --example fit -- --data FILE.csv --formula "FORMULA" [--ml] [--json]
//! ```
//!
//! A formula without random-effect terms is fitted by OLS. `--json` prints one JSON object (see
//! DESIGN.md's contract); otherwise a table like R's `summary()`. Bad input prints a one-line
//! error on stderr and exits with status 2.

use securebase::{Data, Formula, Ols};
use serde_json::{Value, json};
use std::io::Write;
use std::process::ExitCode;

struct Args {
    data: String,
    formula: String,
    json: bool,
    ml: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut data = None;
    let mut formula = None;
    let (mut json, mut ml) = (false, false);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--data" => data = Some(it.next().ok_or("--data needs a file name")?),
            "--formula" => formula = Some(it.next().ok_or("--formula needs a formula")?),
            "--json" => json = true,
            "--ml" => ml = true,
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
    })
}

fn one_line(e: &securebase::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

fn run(args: &Args) -> Result<String, String> {
    let data = Data::from_csv_path(&args.data).map_err(|e| one_line(&e))?;
    let formula = Formula::parse(&args.formula).map_err(|e| one_line(&e))?;
    if formula.is_mixed() {
        return Err("mixed models are not available in this build".into());
    }
    let _ = args.ml; // ML and REML coincide for OLS estimates of beta.
    let fit = Ols::fit_formula(&data, &formula).map_err(|e| one_line(&e))?;
    if !args.json {
        return Ok(fit.to_string());
    }
    let fixef: Vec<Value> = fit
        .coefficients()
        .iter()
        .map(|c| json!({"term": c.term, "estimate": c.estimate, "std_error": c.std_error, "df": c.df, "t": c.t, "p": c.p, "ci": c.ci}))
        .collect();
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
    Ok(out.to_string())
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
