//! The reference study end to end — the README's main job.
//!
//! ```text
//! cargo run --release --example study [-- --data FILE.csv] [--out results.json] [--replicates 2000]
//!     [--na TOKENS] [--delimiter D] [--decimal-comma] [--categorical COLS] [--numeric COLS]
//! ```
//!
//! Without `--data` it analyses the embedded cohort (330 simulated clients of 44 therapists,
//! `data/study_cohort.csv`, scored with the synthetic example keys). It prints a Markdown report
//! on stdout and writes every result as JSON (default `target/study_results.json`). A file that
//! does not fit gets a one-line error naming the missing columns or the bad response (exit 2).

mod support;

use clap::Parser;
use securebase::data::CsvOptions;
use securebase::study::{StudyOptions, run};
use std::io::Write;
use std::process::ExitCode;
use support::{CsvArgs, one_line, write_file};

const EMBEDDED: &str = include_str!("../data/study_cohort.csv");

/// The reference study's whole analysis: a Markdown report on stdout, every result as JSON.
#[derive(Parser, Debug)]
#[command(name = "study")]
struct Args {
    /// Your own item-level file (default: the embedded simulated cohort)
    #[arg(long, value_name = "FILE.csv")]
    data: Option<String>,
    /// Where to write every result as JSON (the Johnson–Neyman SVG goes beside it)
    #[arg(
        long,
        value_name = "FILE.json",
        default_value = "target/study_results.json"
    )]
    out: String,
    /// Bootstrap resamples for the mediation intervals
    #[arg(long, value_name = "N", default_value_t = StudyOptions::default().bootstrap_replicates,
          value_parser = clap::value_parser!(usize))]
    replicates: usize,
    #[command(flatten)]
    csv: CsvArgs,
}

fn main() -> ExitCode {
    let args = match support::parse::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    if args.replicates < 100 {
        return support::fail("--replicates must be at least 100 for bootstrap intervals");
    }
    let mut options = StudyOptions::default();
    options.bootstrap_replicates = args.replicates;
    let data = match &args.data {
        Some(p) => args.csv.read(p).map(|(d, _)| d),
        None => CsvOptions::new()
            .read(EMBEDDED.as_bytes())
            .map(|(d, _)| d)
            .map_err(|e| one_line(&e)),
    };
    let data = match data {
        Ok(d) => d,
        Err(e) => return support::fail(&e),
    };
    let report = match run(&data, &options) {
        Ok(r) => r,
        Err(e) => return support::fail(&one_line(&e)),
    };
    let svg = args.out.trim_end_matches(".json").to_string() + "_johnson_neyman.svg";
    let plot = securebase::plot::johnson_neyman_svg(
        &report.slope_curve,
        &report.probe.johnson_neyman,
        "ESAT_anx",
        "pretreatment anxiety (ECR)",
    );
    let json = match serde_json::to_string_pretty(&report) {
        Ok(j) => j,
        Err(e) => return support::fail(&format!("cannot serialize the results: {e}")),
    };
    if let Err(e) = write_file(&svg, &plot).and_then(|()| write_file(&args.out, &json)) {
        return support::fail(&e);
    }
    let mut out = std::io::stdout();
    let _ = write!(out, "{}", report.to_markdown());
    let _ = writeln!(out, "\nJohnson–Neyman plot: {svg}");
    let _ = writeln!(out, "\nEvery result: {}", args.out);
    ExitCode::SUCCESS
}
