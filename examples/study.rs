//! The reference study end to end — the README's main job.
//!
//! ```text
//! cargo run --release --example study [-- --data FILE.csv] [--out results.json] [--replicates 2000]
//! ```
//!
//! Without `--data` it analyses the embedded cohort (330 simulated clients of 44 therapists,
//! `data/study_cohort.csv`, scored with the synthetic example keys). It prints a Markdown report
//! on stdout and writes every result as JSON (default `target/study_results.json`). A file that
//! does not fit gets a one-line error naming the missing columns or the bad response (exit 2).

use securebase::Data;
use securebase::study::{StudyOptions, run};
use std::io::Write;
use std::process::ExitCode;

const EMBEDDED: &str = include_str!("../data/study_cohort.csv");

fn main() -> ExitCode {
    let mut data_path = None;
    let mut out = "target/study_results.json".to_string();
    let mut options = StudyOptions::default();
    let mut args = std::env::args().skip(1);
    let fail = |msg: String| {
        eprintln!("error: {msg}");
        ExitCode::from(2)
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data_path = args.next(),
            "--out" => out = args.next().unwrap_or(out),
            "--replicates" => match args.next().and_then(|r| r.parse().ok()) {
                Some(r) => options.bootstrap_replicates = r,
                None => return fail("--replicates needs a whole number".into()),
            },
            other => return fail(format!("unknown argument '{other}'")),
        }
    }
    let data = match &data_path {
        Some(p) => Data::from_csv_path(p),
        None => Data::from_csv_reader(EMBEDDED.as_bytes()),
    };
    let one = |e: securebase::Error| e.to_string().lines().next().unwrap_or_default().to_string();
    let data = match data {
        Ok(d) => d,
        Err(e) => return fail(one(e)),
    };
    let report = match run(&data, &options) {
        Ok(r) => r,
        Err(e) => return fail(one(e)),
    };
    let _ = write!(std::io::stdout(), "{}", report.to_markdown());
    if let Some(dir) = std::path::Path::new(&out).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let svg = out.trim_end_matches(".json").to_string() + "_johnson_neyman.svg";
    let plot = securebase::plot::johnson_neyman_svg(
        &report.slope_curve,
        &report.probe.johnson_neyman,
        "ESAT_anx",
        "pretreatment anxiety (ECR)",
    );
    if std::fs::write(&svg, plot).is_ok() {
        let _ = writeln!(std::io::stdout(), "\nJohnson–Neyman plot: {svg}");
    }
    match serde_json::to_string_pretty(&report)
        .map_err(|e| e.to_string())
        .and_then(|j| std::fs::write(&out, j).map_err(|e| e.to_string()))
    {
        Ok(()) => {
            let _ = writeln!(std::io::stdout(), "\nEvery result: {out}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("cannot write {out}: {e}")),
    }
}
