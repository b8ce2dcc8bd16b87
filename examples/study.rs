//! A session-level study from an analysis plan — the README's main job.
//!
//! ```text
//! cargo run --release --example study [-- --plan PLAN.json --data SESSIONS.csv]
//!     [--out target/study_results.json] [--replicates N] [--draws N]
//!     [--na TOKENS] [--delimiter D] [--decimal-comma] [--categorical COLS] [--numeric COLS]
//! ```
//!
//! Without `--data` it runs the embedded reference plan on the embedded cohort
//! (`data/study_sessions.csv`: sessions of 330 clients of 44 therapists, **simulated** by
//! `securebase::simulate::sessions` and scored with **synthetic** example keys). With `--data`
//! (and `--plan`, default the reference plan) it runs on your session-level file. It prints a
//! Markdown report on stdout, writes every result as JSON (`--out`) and the plots as SVG beside
//! it. A plan that does not fit the data is one line listing every problem (exit 2).

mod support;

use clap::Parser;
use securebase::data::CsvOptions;
use securebase::simulate::sessions::SessionParams;
use securebase::study::{Plan, StudyOptions, run};
use std::io::Write;
use std::process::ExitCode;
use support::{CsvArgs, one_line, write_file};

const EMBEDDED: &str = include_str!("../data/study_sessions.csv");

/// A session-level study from an analysis plan: Markdown report, JSON results, SVG plots.
#[derive(Parser, Debug)]
#[command(name = "study", allow_negative_numbers = true)]
struct Args {
    /// No progress lines on stderr (long bootstraps, power runs and fits print one after 2 s)
    #[arg(long)]
    quiet: bool,
    /// The analysis plan (JSON, securebase-plan/1; default: the reference study's)
    #[arg(long, value_name = "PLAN.json")]
    plan: Option<String>,
    /// Your session-level file (default: the embedded simulated cohort)
    #[arg(long, value_name = "SESSIONS.csv")]
    data: Option<String>,
    /// Where to write every result as JSON (the SVG plots go beside it)
    #[arg(
        long,
        value_name = "FILE.json",
        default_value = "target/study_results.json"
    )]
    out: String,
    /// Bootstrap resamples (default: the plan's)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    replicates: Option<usize>,
    /// Monte Carlo draws (default: the plan's)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    draws: Option<usize>,
    #[command(flatten)]
    csv: CsvArgs,
}

fn main() -> ExitCode {
    let args = match support::parse::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    securebase::progress::enable(!args.quiet);
    let (mut plan, key_base) = match &args.plan {
        Some(p) => match Plan::from_path(p) {
            Ok(plan) => (
                plan,
                std::path::Path::new(p).parent().map(|d| d.to_path_buf()),
            ),
            Err(e) => return support::fail(&one_line(&e)),
        },
        None => (Plan::reference(), None),
    };
    if let Some(r) = args.replicates {
        plan.bootstrap = r;
    }
    if let Some(d) = args.draws {
        plan.draws = d;
    }
    if plan.bootstrap < 2 || plan.draws < 2 {
        return support::fail("--replicates and --draws must be at least 2");
    }
    if plan.bootstrap > securebase::limits::MAX_REPLICATES
        || plan.draws > securebase::limits::MAX_DRAWS
    {
        return support::fail(&format!(
            "--replicates may be at most {} and --draws at most {} (got {} and {}): every resample is kept for the intervals",
            securebase::limits::MAX_REPLICATES,
            securebase::limits::MAX_DRAWS,
            plan.bootstrap,
            plan.draws
        ));
    }
    if let Err(e) = support::check_writable(&args.out) {
        return support::fail(&e);
    }
    let (data, options) = match &args.data {
        Some(path) => match args.csv.read(path) {
            Ok((d, _)) => (d, StudyOptions::file(path, key_base)),
            Err(e) => return support::fail(&e),
        },
        None if args.plan.is_some() => {
            return support::fail("a plan of your own needs your data: give --data SESSIONS.csv");
        }
        None => match CsvOptions::new().read(EMBEDDED.as_bytes()) {
            Ok((d, _)) => (d, StudyOptions::simulated(SessionParams::default().seed)),
            Err(e) => return support::fail(&one_line(&e)),
        },
    };
    // A file of one's own without a plan of one's own is analysed with the reference plan:
    // say so, so that its problems are not taken for the file's.
    let reference_on_own_data = args.plan.is_none() && args.data.is_some();
    if reference_on_own_data {
        eprintln!(
            "note: no --plan given: your file is analysed with the reference study's plan (its column names and models); write a plan of your own (the format is documented in securebase::study; start from src/study/reference_plan.json) and pass it with --plan"
        );
    }
    let report = match run(&data, &plan, &options) {
        Ok(r) => r,
        Err(e) if reference_on_own_data => {
            return support::fail(&format!(
                "{} (this is the reference plan, used because no --plan was given: write your own plan and pass --plan my_plan.json)",
                one_line(&e)
            ));
        }
        Err(e) => return support::fail(&one_line(&e)),
    };
    let json = match serde_json::to_string_pretty(&report) {
        Ok(j) => j,
        Err(e) => return support::fail(&format!("cannot serialize the results: {e}")),
    };
    if let Err(e) = write_file(&args.out, &json) {
        return support::fail(&e);
    }
    let stem = args.out.trim_end_matches(".json").to_string();
    let mut plots = Vec::new();
    for (suffix, svg) in report.plots() {
        let path = format!("{stem}_{suffix}.svg");
        if let Err(e) = write_file(&path, &svg) {
            return support::fail(&e);
        }
        plots.push(path);
    }
    let mut out = std::io::stdout();
    let _ = write!(out, "{}", report.to_markdown());
    let _ = writeln!(out, "## Files\n\n- every result: {}", args.out);
    for p in plots {
        let _ = writeln!(out, "- plot: {p}");
    }
    ExitCode::SUCCESS
}
