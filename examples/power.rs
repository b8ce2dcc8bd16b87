//! Power by simulation for the study's moderator model, as a curve over numbers of therapists.
//!
//! ```text
//! cargo run --release --example power -- [--therapists 20,30,44,60,80,100] [--clients-per-therapist 8]
//!     [--icc 0.08] [--b-x 0.3] [--b-z 0.2] [--b-xz 0.15] [--target interaction] [--alpha 0.05]
//!     [--single-level] [--replicates 500] [--seed 1] [--svg target/power_curve.svg]
//! ```
//!
//! `y ~ x * z + (1 | therapist)` (or OLS with `--single-level`), residual SD 1, x and z
//! standard normal; the power of the target coefficient at α.
//!
//! The session-level design — sessions in clients in therapists, with drop-out — takes
//! `--sessions N` (or a design file `--design FILE.json`, format `securebase-power/1`) with
//! `--icc-client`, `--slope-sd`, `--dropout`, `--b-session`, `--b-cross` and `--effect
//! cross-level|growth|client-level`; it fits `y ~ session * z + (session | client) +
//! (1 | therapist)`. `--help` lists every flag.

mod support;

use clap::{Parser, ValueEnum};
use securebase::simulate::power::{PowerDesign, PowerResult, Target, power_curve};
use securebase::simulate::session_power::{
    SESSION_POWER_MODEL, SessionPowerDesign, SessionTarget, session_power,
};
use std::io::Write;
use std::process::ExitCode;
use support::{one_line, write_file};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TargetArg {
    X,
    Z,
    Interaction,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum EffectArg {
    CrossLevel,
    Growth,
    ClientLevel,
}

/// Power by simulation for y ~ x * z + (1 | therapist), as a curve over numbers of therapists.
#[derive(Parser, Debug)]
#[command(name = "power")]
struct Args {
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
    /// Master seed (replicate i of a run uses stream i of it)
    #[arg(
        long,
        value_name = "S",
        default_value_t = 1,
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
}

/// The session-level design from a file or the flags.
fn session_design(args: &Args) -> Result<Option<SessionPowerDesign>, String> {
    if let Some(path) = &args.design {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read '{path}': {e}"))?;
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

/// Power over numbers of therapists for the session-level design.
fn session_curve(
    d: &SessionPowerDesign,
    therapists: &[usize],
    replicates: usize,
    seed: u64,
) -> Result<Vec<(usize, PowerResult)>, String> {
    therapists
        .iter()
        .map(|&t| {
            let mut x = d.clone();
            x.therapists = t;
            session_power(
                &x,
                0,
                replicates,
                seed ^ (t as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            )
            .map(|r| (t, r))
            .map_err(|e| one_line(&e))
        })
        .collect()
}

fn main() -> ExitCode {
    let args = match support::parse::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    if args.replicates == 0 {
        return support::fail("--replicates must be at least 1");
    }
    let session = match session_design(&args) {
        Ok(d) => d,
        Err(e) => return support::fail(&e),
    };
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
    let (curve, title, what) = match &session {
        Some(d) => match session_curve(d, &args.therapists, args.replicates, args.seed) {
            Ok(c) => (
                c,
                format!("{:?}", d.target),
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
                    args.replicates,
                    args.seed
                ),
            ),
            Err(e) => return support::fail(&e),
        },
        None => match power_curve(&design, &args.therapists, args.replicates, args.seed) {
            Ok(c) => (
                c,
                "anxiety × ESAT".to_string(),
                format!(
                    "Power of {:?} (b_x = {}, b_z = {}, b_xz = {}, ICC {}, {} clients per therapist, α = {}, {} replicates, seed {})",
                    design.target,
                    design.b_x,
                    design.b_z,
                    design.b_xz,
                    design.icc,
                    design.clients_per_therapist,
                    design.alpha,
                    args.replicates,
                    args.seed
                ),
            ),
            Err(e) => return support::fail(&one_line(&e)),
        },
    };
    let clients_per = session
        .as_ref()
        .map_or(design.clients_per_therapist, |d| d.clients_per_therapist);
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
    }
    let _ = writeln!(out, "\nPower curve: {}", args.svg);
    ExitCode::SUCCESS
}
