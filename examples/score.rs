//! Score item responses with a built-in key or a key file, with a reliability table.
//!
//! ```text
//! cargo run --release --example score -- --data ITEMS.csv --key KEY [--columns COLS] [--json]
//!     [--na TOKENS] [--delimiter D] [--decimal-comma] [--categorical COLS] [--numeric COLS]
//! ```
//!
//! `KEY` is a built-in key's name (`ders-16`, `ecr`, `ecr-r`, `ecr-rs`, `iip-32`, `ipip-bfi-25`,
//! `wai-sr`) or the
//! path of a key file (JSON). `COLS` maps the key's items to the data's columns by position:
//! a comma-separated list, or one pattern such as `ECR_{}` for `ECR_1`, `ECR_2`, …. For
//! each subscale: items, α (raw, complete cases) with its Feldt 95% CI, ω total, per-item r.drop
//! and α if deleted; then each respondent's scores with the items answered. Out-of-range
//! responses are an error naming row and column (exit status 2).

mod support;

use clap::Parser;
use securebase::scoring::{InvalidResponses, MissingItems, load_key, reliability, score};
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;
use support::{CsvArgs, one_line};

/// Score item responses with a built-in key or a key file, with a reliability table.
#[derive(Parser, Debug)]
#[command(name = "score", allow_negative_numbers = true)]
struct Args {
    /// No progress lines on stderr (long bootstraps, power runs and fits print one after 2 s)
    #[arg(long)]
    quiet: bool,
    /// The item responses (CSV with a header row)
    #[arg(long, value_name = "ITEMS.csv")]
    data: String,
    /// A built-in key (ders-16, ecr, ecr-r, ecr-rs, iip-32, ipip-bfi-25, wai-sr) or a key file
    #[arg(long, value_name = "KEY")]
    key: String,
    /// The data's columns for the key's items, in item order: a comma-separated list, or one
    /// pattern such as ECR_{} for ECR_1, ECR_2, … ({:02} pads: ecr{:02} for ecr01, ecr02, …)
    #[arg(long, value_name = "COLS")]
    columns: Option<String>,
    /// Print one JSON object instead of tables
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    csv: CsvArgs,
}

/// A `--columns` pattern for `k` items when the data have columns `PREFIX1 … PREFIXk` (or
/// zero-padded, `PREFIX01 …`) under one prefix.
fn columns_hint(names: &[String], k: usize) -> Option<String> {
    let mut by_prefix: std::collections::BTreeMap<(&str, usize), Vec<usize>> =
        std::collections::BTreeMap::new();
    for n in names {
        let digits = n.len() - n.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            continue;
        }
        let (prefix, number) = n.split_at(n.len() - digits);
        let Ok(v) = number.parse::<usize>() else {
            continue;
        };
        let width = if number.starts_with('0') && digits > 1 {
            digits
        } else {
            0
        };
        by_prefix.entry((prefix, width)).or_default().push(v);
    }
    // Unpadded numbers share the prefix with padded ones of full width (ecr10 beside ecr01).
    for ((prefix, width), mut v) in by_prefix.clone() {
        if width > 0
            && let Some(more) = by_prefix.get(&(prefix, 0))
        {
            v.extend(more.iter().filter(|x| x.to_string().len() >= width));
        }
        v.sort_unstable();
        v.dedup();
        if v.len() >= k && v[..k].iter().enumerate().all(|(i, &x)| x == i + 1) {
            return Some(if width > 0 {
                format!("{prefix}{{:0{width}}}")
            } else {
                format!("{prefix}{{}}")
            });
        }
    }
    None
}

fn run(args: &Args) -> Result<String, String> {
    let one = |e: securebase::Error| one_line(&e);
    let (data, _) = args.csv.read(&args.data)?;
    let mut key = load_key(&args.key).map_err(one)?;
    if let Some(cols) = &args.columns {
        let cols: Vec<&str> = cols.split(',').map(str::trim).collect();
        key = key.with_columns(&cols).map_err(one)?;
    }
    let as_json = args.json;
    if args.columns.is_none()
        && key.items.iter().all(|i| !data.has_column(i))
        && let Some(pattern) = columns_hint(data.names(), key.items.len())
    {
        return Err(format!(
            "the data have none of the key's {} item columns ({}, …), but {} numbered columns that could be them: map them with --columns \"{pattern}\"",
            key.items.len(),
            key.items[0],
            key.items.len()
        ));
    }
    let scores = score(&data, &key, InvalidResponses::Error).map_err(one)?;
    let rel = reliability(&data, &key, MissingItems::CompleteCases).map_err(one)?;
    if as_json {
        let subscales: Vec<_> = rel
            .iter()
            .zip(&scores.subscales)
            .map(|(r, s)| {
                json!({"name": r.subscale, "n_items": r.n_items, "alpha": r.alpha, "std_alpha": r.std_alpha,
                    "feldt_ci": r.feldt, "duhachek_ci": r.duhachek, "omega_total": r.omega_total, "omega_note": r.omega_note, "n_complete": r.n_complete,
                    "items": r.items, "scores": s.scores, "answered": s.answered})
            })
            .collect();
        return Ok(
            json!({"instrument": key.name, "source": key.source, "licence": key.licence, "verification": key.verification,
            "row_ids": scores.row_ids, "subscales": subscales})
            .to_string(),
        );
    }
    let mut out = format!(
        "{} ({}), {} respondents\nSource: {}\nLicence: {}\n",
        key.name,
        key.form,
        data.nrows(),
        key.source,
        key.licence
    );
    if !key.verification.is_empty() {
        out.push_str(&format!("Verified: {}\n", key.verification));
    }
    out.push('\n');
    for r in &rel {
        out.push_str(&r.to_string());
        out.push('\n');
    }
    out.push_str("row");
    for s in &scores.subscales {
        out.push_str(&format!(",{0},{0}_answered", s.name));
    }
    out.push('\n');
    for (i, row) in scores.row_ids.iter().enumerate() {
        out.push_str(&row.to_string());
        for s in &scores.subscales {
            let v = s.scores[i].map_or("NA".to_string(), |v| format!("{v:.4}"));
            out.push_str(&format!(",{v},{}", s.answered[i]));
        }
        out.push('\n');
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args = match support::parse::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    securebase::progress::enable(!args.quiet);
    match run(&args) {
        Ok(text) => {
            let _ = write!(std::io::stdout(), "{text}");
            ExitCode::SUCCESS
        }
        Err(msg) => support::fail(&msg),
    }
}
