//! Power by simulation: agreement with the closed form and determinism across thread counts.
#![cfg(all(feature = "serde", feature = "csv"))]

use securebase::simulate::power::{PowerDesign, Target, exact_ols_power, power, power_curve};

fn single_level() -> PowerDesign {
    let mut d = PowerDesign::study_like();
    d.therapists = 20;
    d.clients_per_therapist = 6;
    d.multilevel = false;
    d.icc = 0.0;
    d.fixed_predictors = true;
    d.b_x = 0.25;
    d.target = Target::X;
    d
}

#[test]
fn simulated_power_matches_the_noncentral_t_closed_form() {
    let d = single_level();
    let exact = exact_ols_power(&d).unwrap();
    let sim = power(&d, 4000, 77).unwrap();
    let se = (exact * (1.0 - exact) / 4000.0).sqrt();
    assert!(
        (sim.power - exact).abs() < 4.0 * se,
        "simulated {} vs exact {exact} (MC SE {se})",
        sim.power
    );
    assert!(sim.ci[0] < exact && exact < sim.ci[1] || (sim.power - exact).abs() < 4.0 * se);
    assert_eq!(sim.failed, 0);
    // Under the null the rejection rate is α.
    let mut null = d.clone();
    null.b_x = 0.0;
    let p0 = power(&null, 4000, 78).unwrap();
    assert!(
        (p0.power - 0.05).abs() < 4.0 * (0.05f64 * 0.95 / 4000.0).sqrt(),
        "{}",
        p0.power
    );
}

#[test]
fn same_seed_same_result_on_one_and_two_threads() {
    let mut d = PowerDesign::study_like();
    d.therapists = 12;
    d.clients_per_therapist = 6;
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| power(&d, 60, 5).unwrap());
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| power(&d, 60, 5).unwrap());
    assert_eq!(one, two);
    // A run split in two parts (e.g. on two machines) merges to the same answer.
    let a = securebase::simulate::power::power_range(&d, 0, 25, 5).unwrap();
    let b = securebase::simulate::power::power_range(&d, 25, 35, 5).unwrap();
    assert_eq!(a.merge(&b).unwrap(), one);
    let curve = power_curve(&d, &[8, 12], 40, 5).unwrap();
    assert_eq!(curve.len(), 2);
    assert!(curve.iter().all(|(_, r)| r.failed == 0));
}

#[test]
fn session_level_power_holds_its_level_and_grows_with_the_effect() {
    use securebase::simulate::session_power::{SessionPowerDesign, session_power};
    // With no cross-level interaction the rejection rate is the test's level (Satterthwaite df
    // on a growth model with drop-out): 300 replicates, MC SE about 0.013.
    let mut d = SessionPowerDesign::default();
    d.therapists = 20;
    d.clients_per_therapist = 6;
    d.sessions = 8;
    d.b_cross = 0.0;
    let null = session_power(&d, 0, 300, 11).unwrap();
    assert!(
        (0.02..=0.09).contains(&null.power),
        "type I error {}",
        null.power
    );
    assert_eq!(null.failed, 0);
    d.b_cross = 0.08;
    let alt = session_power(&d, 0, 100, 11).unwrap();
    assert!(alt.power > 0.5, "power {}", alt.power);
    // Shards of a run merge to the whole run exactly.
    let whole = session_power(&d, 0, 40, 5).unwrap();
    let a = session_power(&d, 0, 25, 5).unwrap();
    let b = session_power(&d, 25, 15, 5).unwrap();
    assert_eq!(a.merge(&b).unwrap(), whole);
}
