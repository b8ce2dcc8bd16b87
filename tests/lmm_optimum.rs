//! The check of the optimum and the restarts (tests/reference/local_optima.R →
//! tests/fixtures/local_optima/): a factor random slope whose first BOBYQA run stops on a worse
//! face of the boundary than lme4's optimum.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::{close, fixture, load_json};
use securebase::{Criterion, Data, FitOptions, LmmSpec};

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
    assert_eq!(opt.optimizer, "BOBYQA");
    assert!(opt.max_scaled_gradient.unwrap() < 0.002, "{opt:?}");
    assert!(fit.diagnostics().is_empty(), "{:?}", fit.diagnostics());
}
