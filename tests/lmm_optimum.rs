//! The check of the optimum and the restarts (tests/reference/local_optima.R →
//! tests/fixtures/local_optima/): a factor random slope whose first BOBYQA run stops on a worse
//! face of the boundary than lme4's optimum.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::{close, fixture, load_json};
use securebase::{Criterion, Data, FitOptions, LmmSpec, Optimizer};

#[test]
fn factor_slope_fits_reach_lme4s_optimum_or_lower() {
    let r = load_json("local_optima/reference.json");
    for case in r.as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        let d = Data::from_csv_path(fixture(&format!("local_optima/{file}"))).unwrap();
        let spec = LmmSpec::new(&d, "y ~ f + (f | g)").unwrap();
        let lme4 = case["reml"].as_f64().unwrap();
        // The objective at lme4's θ is lme4's (the definitions agree).
        let theta: Vec<f64> = common::f64s(&case["theta"]);
        close(
            &format!("{file}: REML at lme4's theta"),
            spec.deviance(Criterion::Reml).eval(&theta).unwrap(),
            lme4,
            1e-8,
        );
        // Without the check, one BOBYQA run from lme4's start stops higher...
        let mut plain = FitOptions::default();
        plain.check_optimum = false;
        let first = spec.fit_with(Criterion::Reml, &plain).unwrap();
        assert!(
            first.objective() > lme4 + 0.1,
            "{file}: {}",
            first.objective()
        );
        // ...the checked fit restarts and reaches lme4's optimum (or lower), and says so.
        let fit = spec.fit(Criterion::Reml).unwrap();
        assert!(
            fit.objective() <= lme4 + 1e-6 * lme4.abs(),
            "{file}: {} vs lme4 {lme4}",
            fit.objective()
        );
        let opt = fit.optimization();
        assert!(opt.restarts >= 1);
        assert!(
            fit.diagnostics()
                .iter()
                .any(|d| d.contains("restarts") && d.contains("which is kept")),
            "{:?}",
            fit.diagnostics()
        );
        assert!(fit.is_singular() && case["singular"].as_bool().unwrap());
    }
}

#[test]
fn an_interior_optimum_passes_its_check_without_restarts() {
    let d = Data::from_csv_path(fixture("sleepstudy.csv")).unwrap();
    let fit = LmmSpec::new(&d, "Reaction ~ Days + (Days | Subject)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    let opt = fit.optimization();
    assert_eq!(opt.restarts, 0);
    // One vector-valued term: the quasi-Newton search.
    assert_eq!(opt.optimizer, "BFGS");
    assert!(opt.max_scaled_gradient.unwrap() < 0.002, "{opt:?}");
    assert!(fit.diagnostics().is_empty(), "{:?}", fit.diagnostics());
}

/// One θ: Brent's search (the default) reaches the optimum BOBYQA reaches, or lower, in fewer
/// evaluations; lme4's singular case ends singular, as lme4's (θ = 6e-8 there).
#[test]
fn one_theta_uses_brent_and_matches_bobyqa_and_lme4() {
    let cases = [
        (
            "dyestuff.csv",
            "Yield ~ 1 + (1 | Batch)",
            "dyestuff_reml.json",
        ),
        ("singular.csv", "y ~ x + (1 | g)", "singular_reml.json"),
        (
            "sleepstudy.csv",
            "Reaction ~ Days + (1 | Subject)",
            "sleepstudy_int_reml.json",
        ),
    ];
    for (file, formula, reference) in cases {
        let d = Data::from_csv_path(fixture(file)).unwrap();
        let spec = LmmSpec::new(&d, formula).unwrap();
        let brent = spec.fit(Criterion::Reml).unwrap();
        let mut options = FitOptions::default();
        options.optimizer = Optimizer::Bobyqa;
        let bobyqa = spec.fit_with(Criterion::Reml, &options).unwrap();
        assert_eq!(brent.optimization().optimizer, "Brent");
        assert_eq!(bobyqa.optimization().optimizer, "BOBYQA");
        assert!(brent.converged(), "{file}: {:?}", brent.optimization());
        let (fb, fo) = (brent.objective(), bobyqa.objective());
        assert!(
            fb <= fo + 1e-10 * fo.abs(),
            "{file}: Brent {fb} vs BOBYQA {fo}"
        );
        let r = load_json(&format!("lme4/{reference}"));
        let lme4 = r["deviance_or_reml"].as_f64().unwrap();
        assert!(
            fb <= lme4 + 1e-8 * lme4.abs(),
            "{file}: {fb} vs lme4 {lme4}"
        );
        close(&format!("{file}: REML"), fb, lme4, 1e-8);
        let theta_ref = r["theta"].as_f64().unwrap();
        if r["singular"].as_bool().unwrap() {
            assert!(brent.theta()[0] < 1e-4, "{file}: {:?}", brent.theta());
            assert!(brent.is_singular());
        } else {
            close(&format!("{file}: theta"), brent.theta()[0], theta_ref, 1e-5);
        }
        assert!(
            brent.optimization().evaluations < bobyqa.optimization().evaluations,
            "{file}: {} vs {}",
            brent.optimization().evaluations,
            bobyqa.optimization().evaluations
        );
    }
}

/// One random term with a vector of effects: BFGS (the default) reaches the optimum BOBYQA
/// reaches, or lower, with θ within 1e-4, on sleepstudy and Orthodont, REML and ML (their lme4
/// references are checked in lmm_reference.rs); uncorrelated slopes (two terms) stay with
/// BOBYQA.
#[test]
fn one_vector_term_uses_bfgs_and_matches_bobyqa() {
    use securebase::{FitOptions, Optimizer};
    let cases = [
        ("sleepstudy.csv", "Reaction ~ Days + (Days | Subject)"),
        ("sleepstudy.csv", "Reaction ~ Days + (Days || Subject)"),
        ("orthodont.csv", "distance ~ age + Sex + (age | Subject)"),
    ];
    for (file, formula) in cases {
        let d = Data::from_csv_path(fixture(file)).unwrap();
        let spec = LmmSpec::new(&d, formula).unwrap();
        for criterion in [Criterion::Reml, Criterion::Ml] {
            let auto = spec.fit(criterion).unwrap();
            let mut options = FitOptions::default();
            options.optimizer = Optimizer::Bobyqa;
            let bob = spec.fit_with(criterion, &options).unwrap();
            let (a, b) = (auto.optimization(), bob.optimization());
            // `||` makes two scalar terms: several terms keep BOBYQA.
            let expect = if formula.contains("||") {
                "BOBYQA"
            } else {
                "BFGS"
            };
            assert_eq!(a.optimizer, expect, "{formula}");
            assert_eq!(b.optimizer, "BOBYQA");
            assert!(
                auto.objective() <= bob.objective() * (1.0 + 1e-10),
                "{formula}: BFGS {} vs BOBYQA {}",
                auto.objective(),
                bob.objective()
            );
            for (x, y) in auto.theta().iter().zip(bob.theta()) {
                assert!(
                    (x - y).abs() < 1e-4 * y.abs().max(1.0),
                    "{formula}: θ {x} vs {y}"
                );
            }
            assert!(auto.diagnostics().is_empty(), "{:?}", auto.diagnostics());
        }
    }
}
