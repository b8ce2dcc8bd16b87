//! Mediation against R's lm/lmer paths (tests/reference/probe_mediation.R), exact identities,
//! determinism across thread counts, and bootstrap coverage.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::*;
use proptest::prelude::*;
use securebase::mediation::{BootstrapOptions, Mediation, Resampling};
use securebase::rng::Rng;
use securebase::{Data, Error};

fn mtcars() -> Data {
    Data::from_csv_path(fixture("mtcars.csv")).unwrap()
}

#[test]
fn simple_and_serial_paths_match_r_lm() {
    let r = load_json("probe_mediation.json");
    let d = mtcars();
    let fit = Mediation::new("hp", &["wt"], "mpg")
        .covariates(&["cyl"])
        .fit(&d)
        .unwrap();
    let s = &r["simple"];
    for (name, key) in [
        ("a", "a"),
        ("b", "b"),
        ("c_prime", "c_prime"),
        ("c", "c"),
        ("indirect", "indirect"),
    ] {
        close(
            name,
            fit.effect(name).unwrap(),
            s[key].as_f64().unwrap(),
            1e-8,
        );
    }
    close(
        "a se",
        fit.effects[0].std_error.unwrap(),
        s["a_se"].as_f64().unwrap(),
        1e-8,
    );
    close(
        "b se",
        fit.effects[1].std_error.unwrap(),
        s["b_se"].as_f64().unwrap(),
        1e-8,
    );
    let serial = Mediation::new("hp", &["wt", "qsec"], "mpg")
        .covariates(&["cyl"])
        .fit(&d)
        .unwrap();
    let s = &r["serial"];
    for name in [
        "a1", "a2", "d21", "b1", "b2", "c_prime", "c", "ind1", "ind2", "ind12",
    ] {
        close(
            name,
            serial.effect(name).unwrap(),
            s[name].as_f64().unwrap(),
            1e-8,
        );
    }
    let total = serial.effect("c_prime").unwrap() + serial.effect("total_indirect").unwrap();
    close(
        "c = c' + total indirect (serial)",
        serial.effect("c").unwrap(),
        total,
        1e-10,
    );
    println!("{serial}");
}

#[test]
fn multilevel_paths_match_lmer() {
    let r = &load_json("probe_mediation.json")["multilevel"];
    let d = Data::from_csv_path(fixture("orthodont_stress.csv")).unwrap();
    let fit = Mediation::new("age", &["stress"], "distance")
        .cluster("Subject")
        .multilevel(true)
        .fit(&d)
        .unwrap();
    for name in ["a", "b", "c_prime", "c"] {
        close(
            name,
            fit.effect(name).unwrap(),
            r[name].as_f64().unwrap(),
            1e-4,
        );
    }
    let boot = Mediation::new("age", &["stress"], "distance")
        .cluster("Subject")
        .multilevel(true)
        .bootstrap(
            &d,
            &BootstrapOptions::new(40, 5).resampling(Resampling::Cluster),
        )
        .unwrap();
    assert_eq!(boot.failed, 0);
    let ind = boot.effect("indirect").unwrap();
    assert!(ind.percentile[0] <= ind.percentile[1] && ind.boot_se > 0.0);
}

#[test]
fn bootstrap_is_identical_for_any_thread_count() {
    let d = mtcars();
    let m = Mediation::new("hp", &["wt"], "mpg")
        .covariates(&["cyl"])
        .cluster("gear");
    let opts = BootstrapOptions::new(300, 2024).resampling(Resampling::Cluster);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| m.bootstrap(&d, &opts).unwrap());
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| m.bootstrap(&d, &opts).unwrap());
    assert_eq!(one, two);
    let case = BootstrapOptions::new(300, 2024);
    let a = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| m.bootstrap(&d, &case).unwrap());
    let b = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| m.bootstrap(&d, &case).unwrap());
    assert_eq!(a, b);
    assert_ne!(a, one);
    println!("{a}");
}

#[test]
fn monte_carlo_spread_matches_the_product_of_normals() {
    // For independent a ~ N(â, sa²), b ~ N(b̂, sb²): Var(ab) = â²sb² + b̂²sa² + sa²sb².
    let d = mtcars();
    let m = Mediation::new("hp", &["wt"], "mpg");
    let fit = m.fit(&d).unwrap();
    let (a, sa) = (fit.effects[0].estimate, fit.effects[0].std_error.unwrap());
    let (b, sb) = (fit.effects[1].estimate, fit.effects[1].std_error.unwrap());
    let sd = (a * a * sb * sb + b * b * sa * sa + sa * sa * sb * sb).sqrt();
    let mc = m.monte_carlo(&d, 200_000, 9, 0.95).unwrap();
    let e = &mc.effects[4];
    assert_eq!(e.name, "indirect");
    close("estimate", e.estimate, a * b, 1e-12);
    // E(ab) = âb̂; MC error of the mean ≈ sd/√200000 ≈ 0.2% of sd.
    assert!(
        (e.mean - a * b).abs() < 0.01 * sd,
        "{} vs {}",
        e.mean,
        a * b
    );
    // SD of the product: MC relative error ≈ 1/√(2·200000) ≈ 0.16%.
    close("MC sd", e.sd, sd, 0.01);
    assert!(e.ci[0] < e.estimate && e.estimate < e.ci[1]);
}

fn simulated(n: usize, a: f64, b: f64, seed: u64) -> Data {
    let mut r = Rng::new(seed);
    let x: Vec<f64> = (0..n).map(|_| r.normal()).collect();
    let m: Vec<f64> = x.iter().map(|x| a * x + r.normal()).collect();
    let y: Vec<f64> = x
        .iter()
        .zip(&m)
        .map(|(x, m)| 0.2 * x + b * m + r.normal())
        .collect();
    Data::new()
        .with_numeric("x", x)
        .unwrap()
        .with_numeric("m", m)
        .unwrap()
        .with_numeric("y", y)
        .unwrap()
}

#[test]
fn percentile_bootstrap_covers_a_known_indirect_effect() {
    // 150 simulated studies of n = 100 with a·b = 0.4 · 0.4; 400 resamples each.
    let (a, b) = (0.4, 0.4);
    let studies = 150;
    let mut covered = 0;
    for s in 0..studies {
        let d = simulated(100, a, b, 1000 + s);
        let boot = Mediation::new("x", &["m"], "y")
            .bootstrap(&d, &BootstrapOptions::new(400, s))
            .unwrap();
        let ci = boot.effect("indirect").unwrap().percentile;
        if ci[0] <= a * b && a * b <= ci[1] {
            covered += 1;
        }
    }
    let rate = covered as f64 / studies as f64;
    // Nominal 0.95; Monte Carlo SE over 150 studies ≈ 0.018.
    assert!((0.89..=0.99).contains(&rate), "coverage {rate}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let d = mtcars().with_numeric_opt("empty", vec![None; 32]).unwrap();
    assert!(
        matches!(Mediation::new("hp", &["empty"], "mpg").fit(&d), Err(Error::Model(m)) if m.contains("empty"))
    );
    assert!(matches!(
        Mediation::new("hp", &["nope"], "mpg").fit(&d),
        Err(Error::UnknownColumn { .. })
    ));
    assert!(Mediation::new("hp", &["hp"], "mpg").fit(&d).is_err());
    assert!(Mediation::new("hp", &[] as &[&str], "mpg").fit(&d).is_err());
    assert!(
        Mediation::new("hp", &["wt"], "mpg")
            .multilevel(true)
            .fit(&d)
            .is_err()
    );
    let m = Mediation::new("hp", &["wt"], "mpg");
    assert!(
        m.bootstrap(
            &d,
            &BootstrapOptions::new(100, 1).resampling(Resampling::Cluster)
        )
        .is_err()
    );
    assert!(m.bootstrap(&d, &BootstrapOptions::new(1, 1)).is_err());
    let g = d
        .with_categorical(
            "g",
            (0..32)
                .map(|i| if i % 2 == 0 { "a" } else { "b" })
                .collect(),
        )
        .unwrap();
    assert!(matches!(
        Mediation::new("hp", &["g"], "mpg").fit(&g),
        Err(Error::ColumnType { .. })
    ));
}

proptest! {
    #[test]
    fn total_equals_direct_plus_indirect(seed in 0u64..5000, a in -1.0f64..1.0, b in -1.0f64..1.0) {
        let d = simulated(40, a, b, seed);
        let fit = Mediation::new("x", &["m"], "y").fit(&d).unwrap();
        let (c, cp, ab) = (fit.effect("c").unwrap(), fit.effect("c_prime").unwrap(), fit.effect("indirect").unwrap());
        prop_assert!((c - (cp + ab)).abs() <= 1e-10 * (1.0 + c.abs()));
    }
}

#[test]
fn effects_by_typed_id_or_name_and_typos_are_errors() {
    use securebase::mediation::{EffectId, Path};
    let d = mtcars();
    let med = Mediation::new("hp", &["wt"], "mpg");
    let fit = med.fit(&d).unwrap();
    assert_eq!(
        fit.effect(Path::Indirect).unwrap(),
        fit.effect("indirect").unwrap()
    );
    let named = String::from("c_prime");
    assert_eq!(
        fit.effect(&named).unwrap(),
        fit.effect(EffectId::from(Path::CPrime)).unwrap()
    );
    // c = c' + ab exactly with OLS on the same rows (a closed-form identity).
    let (c, cp, ab) = (
        fit.effect(Path::C).unwrap(),
        fit.effect(Path::CPrime).unwrap(),
        fit.effect(Path::Indirect).unwrap(),
    );
    assert!((c - cp - ab).abs() < 1e-12);
    let boot = med.bootstrap(&d, &BootstrapOptions::new(50, 1)).unwrap();
    let e = boot.effect("indrect").unwrap_err();
    assert!(
        e.to_string().contains("did you mean 'indirect'?")
            && e.to_string().contains("a, b, c_prime, c, indirect"),
        "{e}"
    );
    // A path the model does not have is an error too, not a silent None.
    let e = fit.effect(Path::Ind12).unwrap_err();
    assert!(e.to_string().contains("'ind12'"), "{e}");
    let mc = med.monte_carlo(&d, 500, 3, 0.95).unwrap();
    assert_eq!(mc.effect(Path::Indirect).unwrap().name, "indirect");
    assert!(mc.effect(Path::B.between()).is_err());
}

/// A binary outcome (tests/reference/mediation_binary.R, PROCESS's set-up with a dichotomous
/// Y): the a path by OLS and the b, c′, c paths by logistic regression equal R's lm/glm; the
/// Monte Carlo interval equals R's (its own random numbers) within Monte Carlo error; the case
/// bootstrap's SD and percentile interval agree with R's bootstrap within resampling error.
#[test]
fn binary_outcome_mediation_equals_r() {
    use securebase::mediation::Path;
    let d = Data::from_csv_path(fixture("mediation_binary/data.csv")).unwrap();
    let r = load_json("mediation_binary/reference.json");
    let g = |k: &str| r[k].as_f64().unwrap();
    let med = Mediation::new("x", &["m"], "y")
        .covariates(&["c"])
        .binary_outcome(true);
    let fit = med.fit(&d).unwrap();
    assert_eq!(fit.n, r["n"].as_u64().unwrap() as usize);
    assert_eq!(fit.missing.dropped_rows, vec![7, 111]);
    for (path, key) in [
        (Path::A, "a"),
        (Path::B, "b"),
        (Path::CPrime, "c_prime"),
        (Path::C, "c"),
        (Path::Indirect, "indirect"),
    ] {
        close(key, fit.effect(path).unwrap(), g(key), 1e-8);
    }
    for e in &fit.effects {
        if let Some(se) = e.std_error {
            close(
                &format!("{} se", e.name),
                se,
                g(&format!("{}_se", e.name)),
                1e-7,
            );
        }
    }
    let mc = med.monte_carlo(&d, 200_000, 5, 0.95).unwrap();
    let ind = mc.effect(Path::Indirect).unwrap();
    let r_ci = f64s(&r["mc_ci"]);
    for (ours, theirs) in ind.ci.iter().zip(&r_ci) {
        // The 2.5% quantile of 200,000 draws: SE ≈ 0.0006 here.
        assert!(
            (ours - theirs).abs() < 0.003,
            "MC bound: {ours} vs R {theirs}"
        );
    }
    let boot = med.bootstrap(&d, &BootstrapOptions::new(2000, 11)).unwrap();
    assert_eq!(boot.failed, 0);
    let b = boot.effect(Path::Indirect).unwrap();
    // SD of 2,000 bootstrap values: relative SE ≈ 1/√(2·2000) ≈ 1.6% per run.
    close("bootstrap SD", b.boot_se, g("boot_sd"), 0.08);
    let r_boot = f64s(&r["boot_ci"]);
    for (ours, theirs) in b.percentile.iter().zip(&r_boot) {
        assert!(
            (ours - theirs).abs() < 0.02,
            "bootstrap bound: {ours} vs R {theirs}"
        );
    }
    // Multilevel with a binary outcome is refused, not fitted wrongly.
    let e = Mediation::new("x", &["m"], "y")
        .binary_outcome(true)
        .cluster("c")
        .multilevel(true)
        .fit(&d)
        .unwrap_err();
    assert!(e.to_string().contains("binary outcome"), "{e}");
}

#[test]
fn binary_outcome_mediation_says_its_metric() {
    let d = Data::from_csv_path(fixture("mediation_binary/data.csv")).unwrap();
    let fit = Mediation::new("x", &["m"], "y")
        .binary_outcome(true)
        .fit(&d)
        .unwrap();
    assert!(fit.to_string().contains("log-odds of y"), "{fit}");
}
