//! Multilevel mediation with the within/between split against lmer fits of the same
//! decomposition and a two-level lavaan SEM (tests/reference/multilevel_mediation.R →
//! tests/fixtures/mlmed/), plus the blended-case guard, determinism and coverage.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::{close, fixture, load_json};
use securebase::mediation::{BootstrapOptions, Mediation, MultilevelMediation, Resampling};
use securebase::rng::Rng;
use securebase::{Data, Error};
use serde_json::Value;

fn sessions() -> Data {
    Data::from_csv_path(fixture("mlmed/sessions.csv")).unwrap()
}

fn check(what: &str, fit: &securebase::mediation::MultilevelFit, r: &Value, names: &[&str]) {
    for name in names {
        close(
            &format!("{what}: {name}"),
            fit.effect(name).unwrap_or_else(|e| panic!("{what}: {e}")),
            r[*name].as_f64().unwrap(),
            1e-4,
        );
    }
}

#[test]
fn design_2_1_1_matches_lmer_two_and_three_levels() {
    let r = load_json("mlmed/reference.json");
    let d = sessions();
    let two = MultilevelMediation::new("anx", &["secure"], "engage", "client")
        .fit(&d)
        .unwrap();
    assert_eq!(two.design.name(), "2-1-1");
    assert_eq!(two.nobs as u64, r["two"]["nobs"].as_u64().unwrap());
    assert_eq!(two.n_clusters, 330);
    check(
        "2-1-1",
        &two,
        &r["two"],
        &["a", "b_within", "b_between", "c_prime", "indirect_between"],
    );
    for (name, key) in [
        ("a", "a_se"),
        ("b_within", "b_within_se"),
        ("b_between", "b_between_se"),
    ] {
        let e = two.effects.iter().find(|e| e.name == name).unwrap();
        close(
            &format!("{name} SE"),
            e.std_error.unwrap(),
            r["two"][key].as_f64().unwrap(),
            1e-4,
        );
    }
    // The split recovers both b paths, of opposite signs (simulated +0.20 and −0.14).
    let (bw, bb) = (
        two.effect("b_within").unwrap(),
        two.effect("b_between").unwrap(),
    );
    assert!(
        (bw - 0.20).abs() < 0.05 && (bb + 0.14).abs() < 0.1 && bb < 0.0,
        "{bw} {bb}"
    );
    let three = MultilevelMediation::new("anx", &["secure"], "engage", "client")
        .cluster2("therapist")
        .fit(&d)
        .unwrap();
    assert_eq!(three.n_clusters2, Some(44));
    check(
        "2-1-1, three levels",
        &three,
        &r["three"],
        &["a", "b_within", "b_between", "c_prime", "indirect_between"],
    );
    // lavaan's two-level SEM (latent client means) agrees on the b paths within its 95%
    // interval: the manifest means used here are slightly attenuated towards b_within.
    let lav = &r["lavaan"];
    for (name, key) in [("b_within", "b_within"), ("b_between", "b_between")] {
        let (est, se) = (
            lav[key].as_f64().unwrap(),
            lav[format!("{key}_se")].as_f64().unwrap(),
        );
        let ours = two.effect(name).unwrap();
        assert!(
            (ours - est).abs() < 1.96 * se,
            "{name}: {ours} vs lavaan {est} ± {se}"
        );
    }
}

#[test]
fn designs_1_1_1_2_2_1_and_the_serial_chain_match_lmer() {
    let r = load_json("mlmed/reference.json");
    let d = sessions();
    let f = MultilevelMediation::new("stress", &["mood"], "engage2", "client")
        .covariates(&["session"])
        .fit(&d)
        .unwrap();
    assert_eq!(f.design.name(), "1-1-1");
    check(
        "1-1-1",
        &f,
        &r["m111"],
        &[
            "a_within",
            "a_between",
            "b_within",
            "b_between",
            "c_prime_within",
            "c_prime_between",
            "indirect_within",
            "indirect_between",
        ],
    );
    let f = MultilevelMediation::new("anx", &["alliance"], "engage", "client")
        .cluster2("therapist")
        .fit(&d)
        .unwrap();
    assert_eq!(f.design.name(), "2-2-1");
    check(
        "2-2-1",
        &f,
        &r["m221"],
        &["a", "b_between", "c_prime", "indirect_between"],
    );
    let f = MultilevelMediation::new("anx", &["secure", "engage"], "iip_change", "client")
        .cluster2("therapist")
        .fit(&d)
        .unwrap();
    assert_eq!(f.design.name(), "2-1-1-2");
    let s = &r["serial"];
    for (ours, theirs) in [
        ("a1", "a1"),
        ("a2", "a2"),
        ("d21_within", "d21_within"),
        ("d21_between", "d21"),
        ("b1_between", "b1"),
        ("b2_between", "b2"),
        ("c_prime", "c_prime"),
        ("ind1_between", "ind1"),
        ("ind2_between", "ind2"),
        ("ind12_between", "ind12"),
        ("total_indirect_between", "total_indirect"),
    ] {
        close(
            &format!("serial {ours}"),
            f.effect(ours).unwrap(),
            s[theirs].as_f64().unwrap(),
            1e-4,
        );
    }
}

#[test]
fn the_blended_single_level_decomposition_is_refused_unless_asked_for() {
    let d = sessions();
    let e = Mediation::new("anx", &["secure"], "engage")
        .cluster("client")
        .multilevel(true)
        .fit(&d)
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("'secure' varies within") && msg.contains("MultilevelMediation"),
        "{msg}"
    );
    let fit = Mediation::new("anx", &["secure"], "engage")
        .cluster("client")
        .multilevel(true)
        .blended(true)
        .fit(&d)
        .unwrap();
    assert!(
        fit.warnings.iter().any(|w| w.contains("blends")),
        "{:?}",
        fit.warnings
    );
}

#[test]
fn bad_specifications_are_clear_errors() {
    let d = sessions();
    // Y client-level with a client-level mediator: 2-2-2 is a single-level model.
    let e = MultilevelMediation::new("anx", &["alliance"], "iip_change", "client")
        .fit(&d)
        .unwrap_err();
    assert!(e.to_string().contains("design 2-2-2"), "{e}");
    let e = MultilevelMediation::new("anx", &["nope"], "engage", "client")
        .fit(&d)
        .unwrap_err();
    assert!(matches!(e, Error::UnknownColumn { .. }), "{e}");
    let e = MultilevelMediation::new("anx", &["anx"], "engage", "client")
        .fit(&d)
        .unwrap_err();
    assert!(e.to_string().contains("more than one role"), "{e}");
    let m = MultilevelMediation::new("anx", &["secure"], "engage", "client");
    assert!(m.bootstrap(&d, &BootstrapOptions::new(10, 1)).is_err()); // case resampling
}

/// A small 2-1-1 study: `clients` clients of 5 sessions, a = 0.5, b_within = 0.3,
/// b_between = 0.4 (indirect 0.2).
fn small_211(clients: usize, seed: u64) -> Data {
    let mut r = Rng::new(seed);
    let (mut x, mut m, mut y, mut c) = (vec![], vec![], vec![], vec![]);
    for j in 0..clients {
        let xj = r.normal();
        let mu = 0.5 * xj + 0.6 * r.normal();
        let u = 0.5 * r.normal();
        for _ in 0..5 {
            let mij = mu + 0.8 * r.normal();
            x.push(xj);
            m.push(mij);
            y.push(0.3 * (mij - mu) + 0.4 * mu + 0.1 * xj + u + 0.6 * r.normal());
            c.push(format!("c{j}"));
        }
    }
    Data::new()
        .with_numeric("x", x)
        .unwrap()
        .with_numeric("m", m)
        .unwrap()
        .with_numeric("y", y)
        .unwrap()
        .with_categorical("client", c)
        .unwrap()
}

#[test]
fn intervals_are_seeded_and_identical_for_any_thread_count() {
    let d = small_211(30, 5);
    let m = MultilevelMediation::new("x", &["m"], "y", "client");
    let opts = BootstrapOptions::new(60, 9).resampling(Resampling::Cluster);
    let a = m.bootstrap(&d, &opts).unwrap();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b = one.install(|| m.bootstrap(&d, &opts).unwrap());
    assert_eq!(a, b);
    let mc1 = m.monte_carlo(&d, 2000, 3, 0.95).unwrap();
    let mc2 = one.install(|| m.monte_carlo(&d, 2000, 3, 0.95).unwrap());
    assert_eq!(mc1, mc2);
    let e = a.effect("indirect_between").unwrap();
    assert!(e.percentile[0] < e.estimate && e.estimate < e.percentile[1]);
}

#[test]
fn bootstrap_and_monte_carlo_cover_the_indirect_effect() {
    // 100 simulated studies of 40 clients × 5 sessions with a·b_between = 0.5 · 0.4 = 0.2;
    // 150 cluster resamples and 2000 Monte Carlo draws each.
    let truth = 0.2;
    let studies = 100;
    let (mut boot, mut mc) = (0, 0);
    for s in 0..studies {
        let d = small_211(40, 500 + s);
        let m = MultilevelMediation::new("x", &["m"], "y", "client");
        let b = m
            .bootstrap(
                &d,
                &BootstrapOptions::new(150, s).resampling(Resampling::Cluster),
            )
            .unwrap();
        let ci = b.effect("indirect_between").unwrap().percentile;
        boot += usize::from(ci[0] <= truth && truth <= ci[1]);
        let ci = m.monte_carlo(&d, 2000, s, 0.95).unwrap().effects[4].ci;
        mc += usize::from(ci[0] <= truth && truth <= ci[1]);
    }
    // Nominal 0.95; the Monte Carlo SE of a coverage over 100 studies is about 0.022.
    for (what, k) in [("bootstrap", boot), ("Monte Carlo", mc)] {
        let rate = k as f64 / studies as f64;
        assert!((0.88..=1.0).contains(&rate), "{what} coverage {rate}");
    }
}

#[test]
fn random_a_and_b_slopes_match_the_stacked_lme4_profile() {
    let r = &load_json("mlmed/reference.json")["slopes"];
    let d = Data::from_csv_path(fixture("mlmed/slopes.csv")).unwrap();
    let m = MultilevelMediation::new("x", &["m"], "y", "client").random_slopes(true);
    let fit = m.fit(&d).unwrap();
    assert_eq!(fit.design.name(), "1-1-1");
    for name in [
        "a_within",
        "a_between",
        "b_within",
        "b_between",
        "c_prime_within",
        "c_prime_between",
        "cov_ab",
        "indirect_within",
        "indirect_between",
    ] {
        // A singular fit (a 4 × 4 covariance on the boundary): its flat directions allow 1e-3.
        close(
            name,
            fit.effect(name).unwrap(),
            r[name].as_f64().unwrap(),
            1e-3,
        );
    }
    // indirect_within = a·b + σ_ab, the KKB/Bauer et al. correction.
    let (a, b, cov) = (
        fit.effect("a_within").unwrap(),
        fit.effect("b_within").unwrap(),
        fit.effect("cov_ab").unwrap(),
    );
    close(
        "a b + cov",
        fit.effect("indirect_within").unwrap(),
        a * b + cov,
        1e-12,
    );
    let (rho, reml) = fit.stacked.unwrap();
    close("variance ratio", rho, r["rho"].as_f64().unwrap(), 1e-4);
    let lme4 = r["reml"].as_f64().unwrap();
    assert!(
        reml <= lme4 + 1e-6 * lme4,
        "REML {reml} above lme4's {lme4}"
    );
    close("REML criterion", reml, lme4, 1e-6);
    for (name, key) in [("a_within", "a_within_se"), ("b_within", "b_within_se")] {
        let e = fit.effects.iter().find(|e| e.name == name).unwrap();
        close(
            &format!("{name} SE"),
            e.std_error.unwrap(),
            r[key].as_f64().unwrap(),
            1e-3,
        );
    }
    // Intervals: Monte Carlo with σ_ab's own uncertainty; a (short) bootstrap, percentile only.
    let mc = m.monte_carlo(&d, 4000, 2, 0.95).unwrap();
    let cov_mc = mc.effects.iter().find(|e| e.name == "cov_ab").unwrap();
    assert!(cov_mc.ci[0] < cov && cov < cov_mc.ci[1] && cov_mc.sd > 0.0);
    let boot = m
        .bootstrap(
            &d,
            &BootstrapOptions::new(8, 3).resampling(Resampling::Cluster),
        )
        .unwrap();
    assert!(boot.effects.iter().all(|e| e.bca.is_none()));
    // Only for 1-1-1.
    let e = MultilevelMediation::new("anx", &["secure"], "engage", "client")
        .random_slopes(true)
        .fit(&sessions())
        .unwrap_err();
    assert!(e.to_string().contains("1-1-1"), "{e}");
}
