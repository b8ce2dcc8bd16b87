//! Coverage of α and ω intervals for a scale repeated over sessions, in a seeded simulation
//! with a closed-form truth. Items y_itj = λ_j (b_i + w_it) + e_itj with a client part b_i,
//! a session part w_it and item noise e_itj: the rows' population covariance is
//! Σ = λλ'(σ²_b + σ²_w) + diag(ψ), so the population α = k/(k−1)·(1 − tr Σ / 1'Σ1) and the
//! (correlation-metric) ω total = (Σλ*)² / ((Σλ*)² + Σ(1 − λ*²)) with standardized loadings
//! λ*_j. The rows of a client share b_i, so they are not independent respondents: the cluster
//! bootstrap over clients reaches the nominal 95% and the row-level Feldt interval does not.
#![cfg(feature = "csv")]

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use securebase::Data;
use securebase::data::Levels;
use securebase::mediation::BootstrapOptions;
use securebase::scoring::{MissingItems, ScaleKey, Subscale, reliability_clustered};

const LAMBDA: [f64; 5] = [0.6, 0.7, 0.8, 0.9, 1.0];
const VAR_B: f64 = 1.0;
const VAR_W: f64 = 0.1;
const PSI: f64 = 0.5;
const CLIENTS: usize = 100;
const SESSIONS: usize = 6;

fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn truth() -> (f64, f64) {
    let k = LAMBDA.len() as f64;
    let phi = VAR_B + VAR_W;
    let total: f64 = LAMBDA.iter().sum::<f64>().powi(2) * phi + k * PSI;
    let trace: f64 = LAMBDA.iter().map(|l| l * l * phi + PSI).sum();
    let alpha = k / (k - 1.0) * (1.0 - trace / total);
    let std: Vec<f64> = LAMBDA
        .iter()
        .map(|l| l * phi.sqrt() / (l * l * phi + PSI).sqrt())
        .collect();
    let s: f64 = std.iter().sum();
    let omega = s * s / (s * s + std.iter().map(|l| 1.0 - l * l).sum::<f64>());
    (alpha, omega)
}

fn simulate(seed: u64) -> Data {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let n = CLIENTS * SESSIONS;
    let mut items = vec![Vec::with_capacity(n); LAMBDA.len()];
    let mut client = Vec::with_capacity(n);
    for i in 0..CLIENTS {
        let b = VAR_B.sqrt() * normal(&mut rng);
        for _ in 0..SESSIONS {
            let w = VAR_W.sqrt() * normal(&mut rng);
            for (j, l) in LAMBDA.iter().enumerate() {
                // In thousandths, as whole numbers (the rounding adds a variance of 1/12·10⁻⁶).
                items[j].push((1000.0 * (l * (b + w) + PSI.sqrt() * normal(&mut rng))).round());
            }
            client.push(format!("c{i}"));
        }
    }
    let mut d = Data::new().with_categorical("client", client).unwrap();
    for (j, v) in items.into_iter().enumerate() {
        d = d.with_numeric(&format!("s{j}"), v).unwrap();
    }
    d.with_levels(Levels::new(&["client"])).unwrap()
}

#[test]
fn cluster_bootstrap_intervals_cover_95_percent_where_feldt_undercovers() {
    let (alpha, omega) = truth();
    let names: Vec<String> = (0..LAMBDA.len()).map(|j| format!("s{j}")).collect();
    // A continuous scale in thousandths: the response range only bounds the check of the values.
    let key =
        ScaleKey::new("simulated", -100_000, 100_000).with_subscale(Subscale::mean("s", &names));
    let reps = 200;
    let (mut feldt, mut pct, mut bca, mut o_pct, mut o_bca) = (0, 0, 0, 0, 0);
    let covers = |ci: [f64; 2], t: f64| ci[0] <= t && t <= ci[1];
    for rep in 0..reps {
        let d = simulate(1000 + rep as u64);
        let r = &reliability_clustered(
            &d,
            &key,
            MissingItems::CompleteCases,
            "client",
            &BootstrapOptions::new(299, 2024 + rep as u64),
        )
        .unwrap()[0];
        let b = r.cluster_bootstrap.as_ref().unwrap();
        feldt += covers(r.feldt, alpha) as usize;
        pct += covers(b.alpha.percentile, alpha) as usize;
        bca += covers(b.alpha.bca.unwrap(), alpha) as usize;
        let o = b.omega_total.as_ref().unwrap();
        o_pct += covers(o.percentile, omega) as usize;
        o_bca += covers(o.bca.unwrap(), omega) as usize;
    }
    let rate = |c: usize| c as f64 / reps as f64;
    // Monte Carlo SE of a 95% coverage over 200 data sets: 0.0154; allow 2.6 SE either side.
    let (lo, hi) = (0.95 - 0.04, 0.95 + 0.04);
    let report = format!(
        "true α {alpha:.4}, ω {omega:.4}; coverage over {reps} data sets: Feldt {:.3}, cluster bootstrap α percentile {:.3} BCa {:.3}, ω percentile {:.3} BCa {:.3}",
        rate(feldt),
        rate(pct),
        rate(bca),
        rate(o_pct),
        rate(o_bca)
    );
    println!("{report}");
    for c in [pct, bca, o_pct, o_bca] {
        assert!((lo..=hi).contains(&rate(c)), "{report}");
    }
    assert!(rate(feldt) < 0.80, "Feldt should undercover here: {report}");
}
