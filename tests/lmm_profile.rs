//! Profile-likelihood intervals against lme4's `confint(method = "profile")`
//! (tests/reference/profile.R → tests/fixtures/profile/reference.json) to 1e-4 relative, as the
//! issue asks; lme4 inverts its profile by splines through a grid (off the exact roots by up to
//! 5e-5 here), while this crate solves ζ = ±z exactly: against the exact roots, computed in R
//! from lme4's own deviance function, the intervals agree to 1e-7.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::{close, close_all, f64s, fixture, load_json, strs};
use securebase::{Criterion, Data, LmmSpec};

fn check(key: &str, data: &Data, formula: &str, criterion: Criterion) {
    check_against(key, None, data, formula, criterion);
}

/// Against lme4's confint at 1e-4 and, with `exact`, against the exact roots of ζ = ±z from
/// lme4's own deviance function (tests/reference/profile.R) at 1e-7.
fn check_against(key: &str, exact: Option<&str>, data: &Data, formula: &str, criterion: Criterion) {
    let r = &load_json("profile/reference.json")[key];
    let fit = LmmSpec::new(data, formula).unwrap().fit(criterion).unwrap();
    let level = r["level"].as_f64().unwrap();
    let p = fit.confint_profile(level).unwrap();
    let names: Vec<String> = p.intervals.iter().map(|i| i.name.clone()).collect();
    assert_eq!(names, strs(&r["names"]), "{key}: names");
    close(
        &format!("{key} ML deviance"),
        p.ml_deviance,
        r["ml_deviance"].as_f64().unwrap(),
        1e-9,
    );
    let lower: Vec<f64> = p.intervals.iter().map(|i| i.lower).collect();
    let upper: Vec<f64> = p.intervals.iter().map(|i| i.upper).collect();
    close_all(&format!("{key} lower"), &lower, &f64s(&r["lower"]), 1e-4);
    close_all(&format!("{key} upper"), &upper, &f64s(&r["upper"]), 1e-4);
    if let Some(e) = exact {
        let r = &load_json("profile/reference.json")[e];
        close_all(&format!("{e} lower"), &lower, &f64s(&r["lower"]), 1e-7);
        close_all(&format!("{e} upper"), &upper, &f64s(&r["upper"]), 1e-7);
    }
    for i in &p.intervals {
        assert!(
            i.lower < i.estimate && i.estimate < i.upper,
            "{key} {}: {i:?}",
            i.label
        );
    }
}

#[test]
fn sleepstudy_correlated_slopes_reml_and_ml() {
    let d = Data::from_csv_path(fixture("sleepstudy.csv")).unwrap();
    let f = "Reaction ~ Days + (Days | Subject)";
    check("sleep", &d, f, Criterion::Reml);
    check_against("sleep_ml", Some("sleep_exact"), &d, f, Criterion::Ml);
    check(
        "sleep_90",
        &d,
        "Reaction ~ Days + (1 | Subject)",
        Criterion::Reml,
    );
}

#[test]
fn clients_in_therapists() {
    let d = Data::from_csv_path(fixture("emmeans/trial.csv")).unwrap();
    let f = "y ~ condition + phase + baseline + (1 | therapist) + (1 | client)";
    check_against("trial", Some("trial_exact"), &d, f, Criterion::Reml);
}
