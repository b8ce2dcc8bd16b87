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

/// Binary outcome (tests/reference/binary_power.R): the simulated drop-out rate equals the
/// marginal rate by numerical integration, and the power of the anxiety effect (GLMM by
/// Laplace, and single-level GLM) equals R's own simulation of the same designs (glmer / glm
/// on data from R's random numbers) within Monte Carlo error; shards merge to the whole run.
#[test]
fn binary_power_equals_rs_simulation() {
    use securebase::simulate::binary_power::{BinaryDesign, binary_power, binary_power_range};
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/power/binary.json"
    ))
    .unwrap();
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();

    // Marginal P(drop-out): 2,000 therapists × 50 clients.
    let m = &r["marginal"];
    let mut big = BinaryDesign::dropout(2000, 50);
    big.baseline = m["baseline"].as_f64().unwrap();
    big.odds_ratio = m["odds_ratio"].as_f64().unwrap();
    big.icc = m["icc"].as_f64().unwrap();
    let data = big.simulate(11, 0).unwrap();
    let y = data.numeric("dropout").unwrap();
    let rate = y.iter().map(|v| v.unwrap()).sum::<f64>() / y.len() as f64;
    let expect = m["rate"].as_f64().unwrap();
    // Clustering inflates the SE of the rate: design effect 1 + (m − 1) ICC on the
    // probability scale is below 1 + 49 × 0.1.
    let se = (expect * (1.0 - expect) / y.len() as f64 * (1.0 + 49.0 * 0.1)).sqrt();
    assert!((rate - expect).abs() < 4.0 * se, "rate {rate} vs {expect}");

    for d in r["designs"].as_array().unwrap() {
        let mut design = BinaryDesign::dropout(
            d["therapists"].as_u64().unwrap() as usize,
            d["clients_per_therapist"].as_u64().unwrap() as usize,
        );
        design.baseline = d["baseline"].as_f64().unwrap();
        design.odds_ratio = d["odds_ratio"].as_f64().unwrap();
        design.icc = d["icc"].as_f64().unwrap();
        design.multilevel = d["multilevel"].as_bool().unwrap();
        let reps = if design.multilevel { 400 } else { 2000 };
        let ours = binary_power(&design, reps, 2026).unwrap();
        let (r_power, r_reps) = (
            d["power"].as_f64().unwrap(),
            d["replicates"].as_f64().unwrap(),
        );
        let se = (r_power * (1.0 - r_power) * (1.0 / r_reps + 1.0 / reps as f64)).sqrt();
        assert!(
            (ours.power - r_power).abs() < 4.0 * se,
            "multilevel {}: power {} vs R {r_power} (±{se})",
            design.multilevel,
            ours.power
        );
        assert_eq!(ours.failed, 0);
        assert!(ours.ci[0] < ours.power && ours.power < ours.ci[1]);
        if design.multilevel {
            let a = binary_power_range(&design, 0, 150, 2026).unwrap();
            let b = binary_power_range(&design, 150, reps - 150, 2026).unwrap();
            assert_eq!(a.merge(&b).unwrap(), ours);
        }
    }
    // Bad designs are errors.
    let mut bad = BinaryDesign::dropout(10, 10);
    bad.baseline = 1.0;
    assert!(
        binary_power(&bad, 10, 1)
            .unwrap_err()
            .to_string()
            .contains("baseline")
    );
    let mut bad = BinaryDesign::dropout(1, 10);
    bad.icc = 0.1;
    assert!(binary_power(&bad, 10, 1).is_err());
    let mut bad = BinaryDesign::dropout(10, 10);
    bad.odds_ratio = f64::NAN;
    assert!(
        binary_power(&bad, 10, 1)
            .unwrap_err()
            .to_string()
            .contains("odds")
    );
}
