//! Score item responses with a built-in key or a key file, with a reliability table.
//!
//! ```text
//! cargo run --release --example score -- --data ITEMS.csv --key KEY [--columns COLS] [--json]
//!     [--out scores.csv] [--id client,...] [--cluster client] [--bootstrap 2000] [--seed 2024]
//!     [--levels therapist/client[/session]] [--partially-crossed] [--fill COLS] [--describe]
//!     [--na TOKENS] [--delimiter D] [--decimal-comma] [--categorical COLS] [--numeric COLS]
//! ```
//!
//! `KEY` is a built-in key's name (`ders-16`, `ecr`, `ecr-r`, `ecr-rs`, `iip-32`, `ipip-bfi-25`,
//! `wai-sr`) or the
//! path of a key file (JSON). `COLS` maps the key's items to the data's columns by position:
//! a comma-separated list, or one pattern such as `ECR_{}` for `ECR_1`, `ECR_2`, ….
//! stdout has, for each subscale, α (raw, complete cases) with its interval, ω total, per-item
//! r.drop and α if deleted (or the same as one JSON object with `--json`); no per-respondent
//! rows. `--out FILE.csv` writes the scores and items answered, with the `--id` columns kept
//! (the levels' ids by default). With `--levels`, an instrument answered once per client is
//! analysed, and written, one row per client; for an instrument repeated over sessions the
//! intervals of α and ω come from a cluster bootstrap over clients (percentile and BCa;
//! `--cluster` names another cluster), since Feldt's interval treats every session row as an
//! independent respondent. Out-of-range responses are an error naming row and column (exit
//! status 2).

mod support;

use clap::Parser;
use securebase::mediation::BootstrapOptions;
use securebase::scoring::{
    InvalidResponses, MissingItems, load_key, reliability, reliability_clustered, score,
};
use securebase::{Column, Data};
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;
use support::{CsvArgs, LevelArgs, one_line};

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
    /// Write the scores (and items answered) to this CSV file, with the --id columns
    #[arg(long, value_name = "FILE.csv")]
    out: Option<String>,
    /// Columns kept beside the scores in --out, comma-separated (default: the --levels ids)
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    id: Vec<String>,
    /// Cluster-bootstrap α and ω over the units of this column (default with --levels: the
    /// innermost id, for an instrument repeated within it)
    #[arg(long, value_name = "COL")]
    cluster: Option<String>,
    /// Cluster-bootstrap resamples
    #[arg(long, value_name = "N", default_value_t = 2000)]
    bootstrap: usize,
    /// Seed of the cluster bootstrap (2024 in every example and plan)
    #[arg(long, value_name = "S", default_value_t = support::DEFAULT_SEED)]
    seed: u64,
    #[command(flatten)]
    csv: CsvArgs,
    #[command(flatten)]
    levels: LevelArgs,
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
    let data = args.levels.apply(data)?;
    if let Some(out) = &args.out {
        support::check_writable(out)?;
    }
    let mut key = load_key(&args.key).map_err(one)?;
    if let Some(cols) = &args.columns {
        let cols: Vec<&str> = cols.split(',').map(str::trim).collect();
        key = key.with_columns(&cols).map_err(one)?;
    }
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
    let mut rel = reliability(&data, &key, MissingItems::CompleteCases).map_err(one)?;
    // Repeated over sessions (or a cluster named): intervals from whole clusters.
    let cluster = args.cluster.clone().or_else(|| {
        rel.iter()
            .find_map(|r| r.nested.as_ref().map(|n| n.level.clone()))
    });
    if let Some(c) = &cluster {
        rel = reliability_clustered(
            &data,
            &key,
            MissingItems::CompleteCases,
            c,
            &BootstrapOptions::new(args.bootstrap, args.seed),
        )
        .map_err(one)?;
    }
    let respondents = rel.iter().find_map(|r| r.unit.as_ref()).map_or_else(
        || match rel.iter().find_map(|r| r.nested.as_ref()) {
            Some(n) => format!(
                "{} {} rows of {} {}s",
                n.rows, n.rows_level, n.units, n.level
            ),
            None => format!("{} respondents", data.nrows()),
        },
        |u| {
            format!(
                "{} {}s (one row each from {} {} rows)",
                u.units, u.level, u.from_rows, u.from_level
            )
        },
    );
    if let Some(out) = &args.out {
        let written = write_scores(&data, &scores, &rel, &args.id, out)?;
        eprintln!("note: wrote {written} rows of scores to {out}");
    }
    if args.json {
        let subscales: Vec<_> = rel
            .iter()
            .zip(&scores.subscales)
            .map(|(r, s)| {
                json!({"name": r.subscale, "n_items": r.n_items, "alpha": r.alpha, "std_alpha": r.std_alpha,
                    "feldt_ci": if r.nested.is_some() { None } else { Some(r.feldt) },
                    "duhachek_ci": if r.nested.is_some() { None } else { Some(r.duhachek) },
                    "omega_total": r.omega_total, "omega_note": r.omega_note, "n_complete": r.n_complete,
                    "unit": r.unit, "nested": r.nested, "cluster_bootstrap": r.cluster_bootstrap,
                    "n_scored": s.scores.iter().filter(|v| v.is_some()).count(),
                    "items": r.items})
            })
            .collect();
        return Ok(
            json!({"instrument": key.name, "source": key.source, "licence": key.licence, "verification": key.verification,
            "rows": data.nrows(), "subscales": subscales, "out": args.out})
            .to_string(),
        );
    }
    let form = if key.form.is_empty() {
        String::new()
    } else {
        format!(" ({})", key.form)
    };
    let mut out = format!(
        "{}{form}, {respondents}\nSource: {}\nLicence: {}\n",
        key.name, key.source, key.licence
    );
    if !key.verification.is_empty() {
        out.push_str(&format!("Verified: {}\n", key.verification));
    }
    out.push('\n');
    for r in &rel {
        out.push_str(&r.to_string());
        out.push('\n');
    }
    if args.out.is_none() {
        out.push_str("(Per-respondent scores are not printed: write them with --out scores.csv --id client.)\n");
    }
    Ok(out)
}

/// Write the scores with the id columns; an instrument answered once per client gets one row
/// per client. Returns the rows written.
fn write_scores(
    data: &Data,
    scores: &securebase::scoring::ScaleScores,
    rel: &[securebase::scoring::Reliability],
    ids: &[String],
    path: &str,
) -> Result<usize, String> {
    let one = |e: securebase::Error| one_line(&e);
    // The levels' ids (and session column) always, then the --id columns.
    let mut cols: Vec<String> = data
        .levels()
        .map(|l| {
            let mut v = l.ids().to_vec();
            v.extend(l.time_column().map(str::to_string));
            v
        })
        .unwrap_or_default();
    for i in ids {
        if !cols.contains(i) {
            cols.push(i.clone());
        }
    }
    let ids = cols;
    let mut out = data.select_columns(&ids).map_err(one)?;
    for s in &scores.subscales {
        out.add_column(&s.name, Column::Numeric(s.scores.iter().copied().collect()))
            .map_err(one)?;
        out.add_column(
            &format!("{}_answered", s.name),
            Column::Numeric(s.answered.iter().map(|&a| Some(a as f64)).collect()),
        )
        .map_err(one)?;
    }
    // Once per client (every subscale): one row per client, without the session column.
    if let Some(u) = rel
        .iter()
        .map(|r| r.unit.as_ref())
        .collect::<Option<Vec<_>>>()
        && let Some(u) = u.first()
        && out.levels().is_some()
    {
        let cols: Vec<String> = out
            .names()
            .iter()
            .filter(|n| data.levels().is_some_and(|l| !l.contains(n)))
            .cloned()
            .collect();
        out = out.one_row_per(&u.level, &cols).map_err(one)?;
    }
    let mut buf = Vec::new();
    out.write_csv(&mut buf).map_err(one)?;
    support::write_file(path, &String::from_utf8_lossy(&buf))?;
    Ok(out.nrows())
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
