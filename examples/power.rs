//! Power by simulation for the study's moderator model, as a curve over numbers of therapists.
//!
//! ```text
//! cargo run --release --example power -- [--therapists 20,30,44,60,80,100] [--clients-per-therapist 8]
//!     [--icc 0.08] [--b-x 0.3] [--b-z 0.2] [--b-xz 0.15] [--target interaction] [--alpha 0.05]
//!     [--single-level] [--replicates 500] [--seed 1] [--svg target/power_curve.svg]
//! ```
//!
//! `y ~ x * z + (1 | therapist)` (or OLS with `--single-level`), residual SD 1, x and z
//! standard normal; the power of the target coefficient at α. `--help` lists every flag.

mod support;

use clap::{Parser, ValueEnum};
use securebase::simulate::power::{PowerDesign, Target, power_curve};
use std::io::Write;
use std::process::ExitCode;
use support::{one_line, write_file};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TargetArg {
    X,
    Z,
    Interaction,
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
}

fn main() -> ExitCode {
    let args = match support::parse::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    if args.replicates == 0 {
        return support::fail("--replicates must be at least 1");
    }
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
    let curve = match power_curve(&design, &args.therapists, args.replicates, args.seed) {
        Ok(c) => c,
        Err(e) => return support::fail(&one_line(&e)),
    };
    if let Err(e) = write_file(
        &args.svg,
        &securebase::plot::power_curve_svg(&curve, "anxiety × ESAT"),
    ) {
        return support::fail(&e);
    }
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
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
    );
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
            t * design.clients_per_therapist,
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
