//! Power by simulation for the study's moderator model, as a curve over numbers of therapists.
//!
//! ```text
//! cargo run --release --example power -- [--therapists 20,30,44,60,80,100] [--clients-per-therapist 8]
//!     [--icc 0.08] [--b-x 0.3] [--b-z 0.2] [--b-xz 0.15] [--target interaction] [--alpha 0.05]
//!     [--single-level] [--replicates 500] [--seed 2024] [--svg target/power_curve.svg]
//! ```
//!
//! `y ~ x * z + (1 | therapist)` (or OLS with `--single-level`), residual SD 1, x and z
//! standard normal; the power of the target coefficient at α.
//!
//! The session-level design — sessions in clients in therapists, with drop-out — takes
//! `--sessions N` (or a design file `--design FILE.json`, format `securebase-power/1`) with
//! `--icc-client`, `--slope-sd`, `--dropout`, `--b-session`, `--b-cross` and `--effect
//! cross-level|growth|client-level`; it fits `y ~ session * z + (session | client) +
//! (1 | therapist)`. A binary outcome (`--outcome binary`: drop-out by anxiety, with
//! `--baseline`, `--odds-ratio` and `--icc` on the latent logistic scale) fits
//! `dropout ~ anxiety + (1 | therapist)` by Laplace (or a GLM with `--single-level`).
//! `--help` lists every flag.

mod support;

use clap::{Parser, ValueEnum};
use securebase::simulate::binary_power::BinaryDesign;
use securebase::simulate::grid::{GridDesign, PowerGrid, PowerShard, merge_shards};
use securebase::simulate::power::{PowerDesign, PowerResult, Target};
use securebase::simulate::session_power::{SESSION_POWER_MODEL, SessionPowerDesign, SessionTarget};
use std::io::Write;
use std::process::ExitCode;
use support::{one_line, write_file};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TargetArg {
    X,
    Z,
    Interaction,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum OutcomeArg {
    Continuous,
    Binary,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum EffectArg {
    CrossLevel,
    Growth,
    ClientLevel,
}

/// Power by simulation for y ~ x * z + (1 | therapist), as a curve over numbers of therapists.
#[derive(Parser, Debug)]
#[command(name = "power", allow_negative_numbers = true)]
struct Args {
    /// No progress lines on stderr (long bootstraps, power runs and fits print one after 2 s)
    #[arg(long)]
    quiet: bool,
    /// Numbers of therapists, one point of the curve each, comma-separated
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "20,30,44,60,80,100"
    )]
    therapists: Vec<usize>,
    /// Clients per therapist
    #[arg(long, value_name = "N", default_value_t = 8)]
    clients_per_therapist: usize,
    /// Intraclass correlation of the therapist intercept, in [0, 1)
    #[arg(long, value_name = "ICC", default_value_t = 0.08)]
    icc: f64,
    /// Effect of x (residual SD 1)
    #[arg(
        long,
        value_name = "B",
        default_value_t = 0.3,
        allow_negative_numbers = true
    )]
    b_x: f64,
    /// Effect of z
    #[arg(
        long,
        value_name = "B",
        default_value_t = 0.2,
        allow_negative_numbers = true
    )]
    b_z: f64,
    /// Effect of the interaction x·z
    #[arg(
        long,
        value_name = "B",
        default_value_t = 0.15,
        allow_negative_numbers = true
    )]
    b_xz: f64,
    /// The coefficient whose power is estimated
    #[arg(long, value_enum, default_value = "interaction")]
    target: TargetArg,
    /// Significance level
    #[arg(long, value_name = "A", default_value_t = 0.05)]
    alpha: f64,
    /// Fit OLS without the therapist intercept
    #[arg(long)]
    single_level: bool,
    /// Replicates per point of the curve
    #[arg(
        long,
        value_name = "N",
        default_value_t = 500,
        allow_negative_numbers = true
    )]
    replicates: usize,
    /// Master seed (replicate i of a run uses stream i of it; 2024 in every example and plan)
    #[arg(
        long,
        value_name = "S",
        default_value_t = support::DEFAULT_SEED,
        allow_negative_numbers = true
    )]
    seed: u64,
    /// Where to draw the curve (SVG)
    #[arg(
        long,
        value_name = "FILE.svg",
        default_value = "target/power_curve.svg"
    )]
    svg: String,
    /// Session-level design: planned sessions per client (switches to y ~ session * z +
    /// (session | client) + (1 | therapist))
    #[arg(long, value_name = "N")]
    sessions: Option<usize>,
    /// Session-level design from a file (securebase-power/1 JSON)
    #[arg(long, value_name = "FILE.json")]
    design: Option<String>,
    /// Session-level: the coefficient tested
    #[arg(long, value_enum, default_value = "cross-level")]
    effect: EffectArg,
    /// Session-level: intraclass correlation of the client intercept
    #[arg(long, value_name = "ICC", default_value_t = 0.4)]
    icc_client: f64,
    /// Session-level: SD of the clients' growth slopes
    #[arg(long, value_name = "SD", default_value_t = 0.05)]
    slope_sd: f64,
    /// Session-level: share of clients who drop out
    #[arg(long, value_name = "RATE", default_value_t = 0.15)]
    dropout: f64,
    /// Run only shard I of N of the grid (1-based; e.g. $SLURM_ARRAY_TASK_ID/N) and write it
    /// to --out, for --merge
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// Where --shard writes its part (JSON)
    #[arg(long, value_name = "FILE.json", requires = "shard")]
    out: Option<String>,
    /// Merge shard files (all N of one grid) into the curve; the design comes from them
    #[arg(long, value_name = "FILE.json", num_args = 1.., conflicts_with = "shard")]
    merge: Vec<String>,
    /// Also write the curve as JSON (per number of therapists, its power result)
    #[arg(long, value_name = "FILE.json")]
    json: Option<String>,
    /// Session-level: average growth per session
    #[arg(
        long,
        value_name = "B",
        default_value_t = 0.05,
        allow_negative_numbers = true
    )]
    b_session: f64,
    /// Session-level: the cross-level interaction session × z
    #[arg(
        long,
        value_name = "B",
        default_value_t = 0.02,
        allow_negative_numbers = true
    )]
    b_cross: f64,
    /// The outcome: continuous (the moderator model) or binary (drop-out by anxiety)
    #[arg(long, value_enum, default_value = "continuous")]
    outcome: OutcomeArg,
    /// Binary: P(drop-out) at average anxiety with an average therapist
    #[arg(long, value_name = "P", default_value_t = 0.25)]
    baseline: f64,
    /// Binary: odds ratio of drop-out per SD of anxiety
    #[arg(long, value_name = "OR", default_value_t = 1.5)]
    odds_ratio: f64,
}

/// The session-level design from a file or the flags.
fn session_design(args: &Args) -> Result<Option<SessionPowerDesign>, String> {
    if let Some(path) = &args.design {
        let text = securebase::data::read_text_file(path, securebase::data::MAX_TEXT_FILE)
            .map_err(|e| one_line(&e))?;
        return SessionPowerDesign::from_json(&text)
            .map(Some)
            .map_err(|e| one_line(&e));
    }
    let Some(sessions) = args.sessions else {
        return Ok(None);
    };
    let mut d = SessionPowerDesign::default();
    d.sessions = sessions;
    d.clients_per_therapist = args.clients_per_therapist;
    d.icc_therapist = args.icc;
    d.icc_client = args.icc_client;
    d.slope_sd = args.slope_sd;
    d.dropout = args.dropout;
    d.b_session = args.b_session;
    d.b_z = args.b_z;
    d.b_cross = args.b_cross;
    d.alpha = args.alpha;
    d.target = match args.effect {
        EffectArg::CrossLevel => SessionTarget::CrossLevel,
        EffectArg::Growth => SessionTarget::Growth,
        EffectArg::ClientLevel => SessionTarget::ClientLevel,
    };
    d.validate().map_err(|e| one_line(&e))?;
    Ok(Some(d))
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("'{s}' is not I/N (e.g. 3/20)"))?;
    let (i, n): (usize, usize) = (
        i.trim()
            .parse()
            .map_err(|_| format!("'{i}' in '{s}' is not a number"))?,
        n.trim()
            .parse()
            .map_err(|_| format!("'{n}' in '{s}' is not a number"))?,
    );
    if i == 0 || i > n {
        return Err(format!("shard {i}/{n}: I runs from 1 to N"));
    }
    Ok((i, n))
}

/// The grid the flags describe.
fn grid(args: &Args) -> Result<PowerGrid, String> {
    let sessions = session_design(args)?;
    if sessions.is_some() && args.outcome == OutcomeArg::Binary {
        return Err(
            "--outcome binary is the drop-out model of clients in therapists; it does not take --sessions or --design"
                .into(),
        );
    }
    let design = match sessions {
        Some(d) => GridDesign::Sessions(d),
        None if args.outcome == OutcomeArg::Binary => {
            let mut d = BinaryDesign::dropout(2, args.clients_per_therapist);
            d.baseline = args.baseline;
            d.odds_ratio = args.odds_ratio;
            d.icc = args.icc;
            d.alpha = args.alpha;
            d.multilevel = !args.single_level;
            GridDesign::Binary(d)
        }
        None => {
            let mut design = PowerDesign::study_like();
            design.clients_per_therapist = args.clients_per_therapist;
            design.icc = args.icc;
            design.b_x = args.b_x;
            design.b_z = args.b_z;
            design.b_xz = args.b_xz;
            design.alpha = args.alpha;
            design.multilevel = !args.single_level;
            design.target = match args.target {
                TargetArg::X => Target::X,
                TargetArg::Z => Target::Z,
                TargetArg::Interaction => Target::Interaction,
            };
            GridDesign::Moderator(design)
        }
    };
    let g = PowerGrid::new(design, &args.therapists, args.replicates, args.seed);
    g.validate().map_err(|e| one_line(&e))?;
    Ok(g)
}

/// The first line of the report and the plot's title.
fn describe(g: &PowerGrid) -> (String, String, usize) {
    match &g.design {
        GridDesign::Sessions(d) => (
            format!(
                "Power of {:?} in {SESSION_POWER_MODEL} (b_session = {}, b_z = {}, b_cross = {}, ICC therapist {}, client {}, slope SD {}, {} sessions, {} drop-out, {} clients per therapist, α = {}, {} replicates, seed {})",
                d.target,
                d.b_session,
                d.b_z,
                d.b_cross,
                d.icc_therapist,
                d.icc_client,
                d.slope_sd,
                d.sessions,
                d.dropout,
                d.clients_per_therapist,
                d.alpha,
                g.replicates,
                g.seed
            ),
            format!("{:?}", d.target),
            d.clients_per_therapist,
        ),
        GridDesign::Moderator(d) => (
            format!(
                "Power of {:?} (b_x = {}, b_z = {}, b_xz = {}, ICC {}, {} clients per therapist, α = {}, {} replicates, seed {})",
                d.target,
                d.b_x,
                d.b_z,
                d.b_xz,
                d.icc,
                d.clients_per_therapist,
                d.alpha,
                g.replicates,
                g.seed
            ),
            "anxiety × ESAT".to_string(),
            d.clients_per_therapist,
        ),
        GridDesign::Binary(d) => (
            format!(
                "Power of anxiety in dropout ~ anxiety{} (logistic; baseline P = {}, odds ratio {} per SD, latent ICC {}, {} clients per therapist, α = {}, {} replicates, seed {}; SIMULATED DATA)",
                if d.multilevel {
                    " + (1 | therapist)"
                } else {
                    ""
                },
                d.baseline,
                d.odds_ratio,
                d.icc,
                d.clients_per_therapist,
                d.alpha,
                g.replicates,
                g.seed
            ),
            "drop-out by anxiety".to_string(),
            d.clients_per_therapist,
        ),
        _ => ("Power".into(), "power".into(), 0),
    }
}

/// Read and merge shard files.
fn merged(files: &[String]) -> Result<(PowerGrid, Vec<(usize, PowerResult)>), String> {
    let shards = files
        .iter()
        .map(|f| {
            let text = securebase::data::read_text_file(f, securebase::data::MAX_TEXT_FILE)
                .map_err(|e| one_line(&e))?;
            serde_json::from_str::<PowerShard>(&text)
                .map_err(|e| format!("'{f}' is not a shard file: {e}"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let curve = merge_shards(&shards).map_err(|e| one_line(&e))?;
    Ok((shards[0].grid.clone(), curve))
}

fn main() -> ExitCode {
    let args = match support::parse::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    securebase::progress::enable(!args.quiet);
    if args.replicates == 0 {
        return support::fail("--replicates must be at least 1");
    }
    let (g, curve) = if args.merge.is_empty() {
        let g = match grid(&args) {
            Ok(g) => g,
            Err(e) => return support::fail(&e),
        };
        if let Some((i, n)) = args.shard {
            let Some(out) = &args.out else {
                return support::fail("--shard needs --out FILE.json for its part");
            };
            let shard = match g.run_shard(i, n) {
                Ok(s) => s,
                Err(e) => return support::fail(&one_line(&e)),
            };
            let json = serde_json::to_string_pretty(&shard).unwrap_or_default();
            if let Err(e) = write_file(out, &json) {
                return support::fail(&e);
            }
            let ranges: Vec<String> = shard
                .parts
                .iter()
                .map(|p| {
                    format!(
                        "{} therapists: replicates {}..{}",
                        p.therapists,
                        p.start,
                        p.start + p.count
                    )
                })
                .collect();
            println!("shard {i}/{n} ({}) written to {out}", ranges.join("; "));
            return ExitCode::SUCCESS;
        }
        match g.run() {
            Ok(c) => (g, c),
            Err(e) => return support::fail(&one_line(&e)),
        }
    } else {
        match merged(&args.merge) {
            Ok(x) => x,
            Err(e) => return support::fail(&e),
        }
    };
    let (what, title, clients_per) = describe(&g);
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&curve).unwrap_or_default();
        if let Err(e) = write_file(path, &json) {
            return support::fail(&e);
        }
    }
    if let Err(e) = write_file(
        &args.svg,
        &securebase::plot::power_curve_svg(&curve, &title),
    ) {
        return support::fail(&e);
    }
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{what}");
    let _ = writeln!(
        out,
        "{:>10} {:>8} {:>8} {:>18} {:>9} {:>7}",
        "therapists", "clients", "power", "95% MC interval", "singular", "failed"
    );
    for (t, r) in &curve {
        if r.is_estimable() {
            let _ = writeln!(
                out,
                "{:>10} {:>8} {:>8.3} {:>8.3} – {:<7.3} {:>9} {:>7}",
                t,
                t * clients_per,
                r.power,
                r.ci[0],
                r.ci[1],
                r.singular,
                r.failed
            );
        } else {
            let _ = writeln!(
                out,
                "{:>10} {:>8} {:>8} {:>18} {:>9} {:>7}",
                t,
                t * clients_per,
                "n/a",
                "not estimable",
                r.singular,
                r.failed
            );
        }
    }
    let failed: usize = curve.iter().map(|(_, r)| r.failed).sum();
    if failed > 0 {
        let _ = writeln!(
            out,
            "\nNote: {failed} replicates could not be fitted (e.g. complete separation of a binary outcome, or a singular design); power is the share among the fitted ones, and not estimable where fewer than half were fitted."
        );
    }
    let _ = writeln!(out, "\nPower curve: {}", args.svg);
    ExitCode::SUCCESS
}
