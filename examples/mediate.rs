//! Mediation from the command line: single-level, or multilevel with the within/between split.
//!
//! ```text
//! cargo run --release --example mediate -- --data F.csv --x X --m M [--m M2] --y Y
//!     [--covariates A,B] [--cluster client] [--cluster2 therapist] [--within-between] [--random-slopes]
//!     [--bootstrap N] [--draws N] [--seed S] [--level 0.95] [--blended] [--json]
//!     [--na TOKENS] [--delimiter D] [--decimal-comma] [--categorical COLS] [--numeric COLS]
//!     [--levels therapist/client[/session]] [--partially-crossed] [--fill COLS] [--client-mean COLS]
//! ```
//!
//! With `--levels`, a single-level mediation over session rows nested in clients is refused
//! unless `--cluster`, `--within-between` (its cluster then defaults to the innermost id) or
//! `--blended` is given.
//!
//! Without `--within-between` the paths are OLS regressions (Hayes' models 4 and 6); with
//! `--cluster` the bootstrap resamples whole clusters. With `--within-between` (which needs
//! `--cluster`) the paths are mixed models with a random intercept per cluster (and per
//! `--cluster2`), level-1 variables are split into within and between parts, and the design
//! (2-1-1, 1-1-1, 2-2-1, 2-1-2, 2-1-1-2) follows from which variables vary within clusters.
//! Intervals: percentile and BCa bootstrap, and Monte Carlo. `--json` prints one object with
//! `design`, `nobs`, `n_clusters`, `dropped_rows`, `resamples`, `seed` and `effects` (each
//! `{name, estimate, std_error, ci_percentile, ci_bca, ci_monte_carlo}`). Bad input is one line
//! on stderr and exit status 2.

mod support;

use clap::Parser;
use securebase::mediation::{
    Bootstrap, BootstrapOptions, Effect, Mediation, MonteCarlo, MultilevelMediation, Resampling,
};
use serde_json::{Value, json};
use std::io::Write;
use std::process::ExitCode;
use support::{CsvArgs, LevelArgs, one_line};

/// Mediation X → M (→ M2) → Y with bootstrap and Monte Carlo intervals.
#[derive(Parser, Debug)]
#[command(name = "mediate", allow_negative_numbers = true)]
struct Args {
    /// No progress lines on stderr (long bootstraps, power runs and fits print one after 2 s)
    #[arg(long)]
    quiet: bool,
    /// The data file (CSV with a header row)
    #[arg(long, value_name = "FILE.csv")]
    data: String,
    /// The predictor
    #[arg(long, value_name = "X")]
    x: String,
    /// The mediator; give it twice for a serial chain M1 → M2
    #[arg(long = "m", value_name = "M", required = true)]
    mediators: Vec<String>,
    /// The outcome
    #[arg(long, value_name = "Y")]
    y: String,
    /// Covariates in every path, comma-separated
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    covariates: Vec<String>,
    /// The cluster (e.g. client): resampled whole; with --within-between, the level-2 unit
    #[arg(long, value_name = "COL")]
    cluster: Option<String>,
    /// A third level (e.g. therapist), with --within-between
    #[arg(long, value_name = "COL")]
    cluster2: Option<String>,
    /// Split level-1 variables into within- and between-cluster parts (multilevel paths)
    #[arg(long)]
    within_between: bool,
    /// With --within-between and a 1-1-1 design: random a and b slopes over clusters, whose
    /// covariance enters the within indirect effect (the bootstrap then refits a stacked model
    /// per resample: slow)
    #[arg(long)]
    random_slopes: bool,
    /// Allow the blended single-level decomposition (a cluster-constant X with a mediator that
    /// varies within clusters); refused otherwise
    #[arg(long)]
    blended: bool,
    /// Bootstrap resamples
    #[arg(
        long,
        value_name = "N",
        default_value_t = 2000,
        allow_negative_numbers = true
    )]
    bootstrap: usize,
    /// Monte Carlo draws
    #[arg(
        long,
        value_name = "N",
        default_value_t = 20000,
        allow_negative_numbers = true
    )]
    draws: usize,
    /// Seed of the bootstrap and Monte Carlo draws (2024 in every example and plan)
    #[arg(
        long,
        value_name = "S",
        default_value_t = support::DEFAULT_SEED,
        allow_negative_numbers = true
    )]
    seed: u64,
    /// Confidence level of the intervals
    #[arg(long, value_name = "L", default_value_t = 0.95)]
    level: f64,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    csv: CsvArgs,
    #[command(flatten)]
    levels: LevelArgs,
}

/// What either kind of mediation gives the report.
struct Results {
    design: String,
    nobs: usize,
    n_clusters: Option<usize>,
    dropped_rows: Vec<usize>,
    effects: Vec<Effect>,
    boot: Bootstrap,
    mc: MonteCarlo,
    notes: Vec<String>,
}

fn run(args: &Args) -> Result<String, String> {
    let e = |e: securebase::Error| one_line(&e);
    if args.bootstrap < 2 || args.draws < 2 {
        return Err("--bootstrap and --draws must be at least 2".into());
    }
    if args.bootstrap > securebase::limits::MAX_REPLICATES
        || args.draws > securebase::limits::MAX_DRAWS
    {
        return Err(format!(
            "--bootstrap may be at most {} and --draws at most {} (got {} and {}): every resample is kept for the intervals",
            securebase::limits::MAX_REPLICATES,
            securebase::limits::MAX_DRAWS,
            args.bootstrap,
            args.draws
        ));
    }
    let (data, _) = args.csv.read(&args.data)?;
    let data = args.levels.apply(data)?;
    // With --levels, the cluster defaults to the innermost id (the client).
    let declared = data.levels().and_then(|l| l.ids().last().cloned());
    let cluster_arg = args
        .cluster
        .clone()
        .or_else(|| args.within_between.then(|| declared.clone()).flatten());
    let ms: Vec<&str> = args.mediators.iter().map(String::as_str).collect();
    let covs: Vec<&str> = args.covariates.iter().map(String::as_str).collect();
    let options = BootstrapOptions::new(args.bootstrap, args.seed).level(args.level);
    let r = if args.within_between {
        let cluster = cluster_arg.as_deref().ok_or(
            "--within-between needs --cluster (the level-2 unit, e.g. client) or --levels",
        )?;
        let mut m = MultilevelMediation::new(&args.x, &ms, &args.y, cluster)
            .covariates(&covs)
            .random_slopes(args.random_slopes);
        if let Some(c2) = &args.cluster2 {
            m = m.cluster2(c2);
        }
        let fit = m.fit(&data).map_err(e)?;
        let boot = m
            .bootstrap(&data, &options.clone().resampling(Resampling::Cluster))
            .map_err(e)?;
        let mc = m
            .monte_carlo(&data, args.draws, args.seed, args.level)
            .map_err(e)?;
        Results {
            design: fit.design.name().to_string(),
            nobs: fit.nobs,
            n_clusters: Some(fit.n_clusters),
            dropped_rows: fit.missing.dropped_rows.clone(),
            effects: fit.effects.clone(),
            boot,
            mc,
            notes: fit.notes.clone(),
        }
    } else {
        if args.cluster2.is_some() || args.random_slopes {
            return Err("--cluster2 and --random-slopes need --within-between".into());
        }
        let mut m = Mediation::new(&args.x, &ms, &args.y)
            .covariates(&covs)
            .blended(args.blended);
        let mut opts = options;
        if let Some(c) = &cluster_arg {
            m = m.cluster(c);
            opts = opts.resampling(Resampling::Cluster);
        }
        let fit = m.fit(&data).map_err(e)?;
        let boot = m.bootstrap(&data, &opts).map_err(e)?;
        let mc = m
            .monte_carlo(&data, args.draws, args.seed, args.level)
            .map_err(e)?;
        let n_clusters = args
            .cluster
            .as_ref()
            .and_then(|c| data.factor(c).ok().map(|f| f.levels().len()));
        Results {
            design: "single-level".into(),
            nobs: fit.n,
            n_clusters,
            dropped_rows: fit.missing.dropped_rows.clone(),
            effects: fit.effects.clone(),
            boot,
            mc,
            notes: fit.warnings.clone(),
        }
    };
    Ok(if args.json {
        json_out(args, &r).to_string()
    } else {
        table(args, &r)
    })
}

fn json_out(args: &Args, r: &Results) -> Value {
    let effects: Vec<Value> = r
        .effects
        .iter()
        .map(|e| {
            let b = r.boot.effect(&e.name).ok();
            let mc = r.mc.effects.iter().find(|m| m.name == e.name);
            json!({
                "name": e.name,
                "estimate": e.estimate,
                "std_error": e.std_error,
                "ci_percentile": b.map(|b| b.percentile),
                "ci_bca": b.and_then(|b| b.bca),
                "ci_monte_carlo": mc.map(|m| m.ci),
            })
        })
        .collect();
    json!({
        "design": r.design,
        "x": args.x, "mediators": args.mediators, "y": args.y, "covariates": args.covariates,
        "cluster": args.cluster, "cluster2": args.cluster2,
        "nobs": r.nobs,
        "n_clusters": r.n_clusters,
        "dropped_rows": r.dropped_rows,
        "resamples": r.boot.replicates,
        "failed_resamples": r.boot.failed,
        "draws": r.mc.draws,
        "seed": args.seed,
        "level": args.level,
        "effects": effects,
        "notes": r.notes,
    })
}

fn table(args: &Args, r: &Results) -> String {
    let ci = |c: Option<[f64; 2]>| {
        c.map_or("—".to_string(), |c| format!("[{:.4}, {:.4}]", c[0], c[1]))
    };
    let mut out = format!(
        "Mediation {} → {} → {} (design {}; n = {}{}; {} rows dropped)\n{} bootstrap resamples ({} failed), {} Monte Carlo draws, seed {}, {:.0}% intervals\n\n",
        args.x,
        args.mediators.join(" → "),
        args.y,
        r.design,
        r.nobs,
        r.n_clusters
            .map(|k| format!(" in {k} clusters"))
            .unwrap_or_default(),
        r.dropped_rows.len(),
        r.boot.replicates,
        r.boot.failed,
        r.mc.draws,
        args.seed,
        args.level * 100.0
    );
    out.push_str(&format!(
        "{:<24} {:>10} {:>9}  {:<22} {:<22} {:<22}\n",
        "effect", "estimate", "SE", "percentile", "BCa", "Monte Carlo"
    ));
    for e in &r.effects {
        let b = r.boot.effect(&e.name).ok();
        let mc = r.mc.effects.iter().find(|m| m.name == e.name);
        out.push_str(&format!(
            "{:<24} {:>10.4} {:>9}  {:<22} {:<22} {:<22}\n",
            e.name,
            e.estimate,
            e.std_error.map_or("—".into(), |s| format!("{s:.4}")),
            ci(b.map(|b| b.percentile)),
            ci(b.and_then(|b| b.bca)),
            ci(mc.map(|m| m.ci)),
        ));
    }
    for n in &r.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}

fn main() -> ExitCode {
    let args = match support::parse::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    securebase::progress::enable(!args.quiet);
    match run(&args) {
        Ok(text) => {
            let _ = writeln!(std::io::stdout(), "{text}");
            ExitCode::SUCCESS
        }
        Err(msg) => support::fail(&msg),
    }
}
