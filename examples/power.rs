//! Power by simulation for the study's moderator model, as a curve over numbers of therapists.
//!
//! ```text
//! cargo run --release --example power [-- --replicates 500] [--seed 1] [--svg power.svg]
//! ```
//!
//! `autonomy ~ anxiety * esat + (1 | therapist)` with 8 clients per therapist, ICC 0.08, and
//! effects 0.3 (anxiety), 0.2 (ESAT), 0.15 (interaction); power of the interaction at α = 0.05.

use securebase::simulate::power::{PowerDesign, power_curve};
use std::io::Write;

fn main() {
    let mut replicates = 500;
    let mut seed = 1;
    let mut svg = "target/power_curve.svg".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--replicates" => {
                replicates = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(replicates)
            }
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or(seed),
            "--svg" => svg = args.next().unwrap_or(svg),
            other => {
                eprintln!("error: unknown argument '{other}'");
                std::process::exit(2);
            }
        }
    }
    let design = PowerDesign::study_like();
    let counts = [20, 30, 44, 60, 80, 100];
    let curve = match power_curve(&design, &counts, replicates, seed) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "Power of the anxiety × ESAT interaction (b = {}, ICC {}, {} clients per therapist, α = {})",
        design.b_xz, design.icc, design.clients_per_therapist, design.alpha
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
    if let Some(dir) = std::path::Path::new(&svg).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if std::fs::write(
        &svg,
        securebase::plot::power_curve_svg(&curve, "anxiety × ESAT"),
    )
    .is_ok()
    {
        let _ = writeln!(out, "\nPower curve: {svg}");
    }
}
