//! Residualized controls, partial correlations and FWL against R (tests/reference/probe_mediation.R).
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::*;
use securebase::controls::{
    Residualizer, partial_correlation, semipartial_correlation, suppression_check,
};
use securebase::{Data, Error};

fn mtcars() -> Data {
    Data::from_csv_path(fixture("mtcars.csv")).unwrap()
}

#[test]
fn residualizer_and_correlations_match_r() {
    let r = &load_json("probe_mediation.json")["corr"];
    let d = mtcars();
    let res = Residualizer::fit(&d, "hp", &["wt"], false).unwrap();
    close(
        "intercept",
        res.intercept,
        r["resid_intercept"].as_f64().unwrap(),
        1e-10,
    );
    close(
        "slope",
        res.slopes[0],
        r["resid_slope"].as_f64().unwrap(),
        1e-10,
    );
    close(
        "partial r",
        partial_correlation(&d, "hp", "mpg", &["wt"]).unwrap(),
        r["partial"].as_f64().unwrap(),
        1e-10,
    );
    close(
        "semi-partial r",
        semipartial_correlation(&d, "mpg", "hp", &["wt"]).unwrap(),
        r["semipartial"].as_f64().unwrap(),
        1e-10,
    );
    let s = suppression_check(&d, "mpg", "hp", &["wt"]).unwrap();
    close("raw", s.raw, r["raw_coef"].as_f64().unwrap(), 1e-10);
    close(
        "residualized",
        s.residualized,
        r["resid_coef"].as_f64().unwrap(),
        1e-10,
    );
    close(
        "FWL: partial = residualized",
        s.partial,
        s.residualized,
        1e-10,
    );
    close("FWL vs R", s.partial, r["fwl"].as_f64().unwrap(), 1e-10);
    assert!(!s.suppression); // the effect shrinks but keeps its sign
    // within-cluster residualization equals the slope with cluster dummies
    let w = Residualizer::fit_within(&d, "hp", &["wt"], "cyl", false).unwrap();
    close(
        "within slope",
        w.slopes[0],
        r["within_slope"].as_f64().unwrap(),
        1e-10,
    );
    let scores = w.apply(&d).unwrap();
    let head: Vec<f64> = scores[..5].iter().map(|s| s.unwrap()).collect();
    close_all(
        "within residuals",
        &head,
        &f64s(&r["within_resid_head"]),
        1e-9,
    );
}

#[test]
fn scores_new_data_with_the_stored_equation_and_standardizes() {
    let d = mtcars();
    let res = Residualizer::fit(&d, "hp", &["wt"], true).unwrap();
    let z = res.apply(&d).unwrap();
    let v: Vec<f64> = z.iter().flatten().copied().collect();
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt();
    close("mean 0", m + 1.0, 1.0, 1e-12);
    close("sd 1", sd, 1.0, 1e-12);
    // New data: same equation, missing inputs give missing scores, never a silent zero.
    let new = Data::new()
        .with_numeric_opt("hp", vec![Some(100.0), None])
        .unwrap()
        .with_numeric("wt", vec![3.0, 3.0])
        .unwrap();
    let s = res.apply(&new).unwrap();
    let (m0, s0) = res.standardize.unwrap();
    close(
        "new score",
        s[0].unwrap(),
        ((100.0 - res.intercept - res.slopes[0] * 3.0) - m0) / s0,
        1e-12,
    );
    assert_eq!(s[1], None);
    let mut with = d.clone();
    res.add_to(&mut with, "hp_resid").unwrap();
    assert!(matches!(
        res.add_to(&mut with, "hp_resid"),
        Err(Error::DuplicateColumn { .. })
    ));
    assert!(Residualizer::fit(&d, "hp", &[] as &[&str], false).is_err());
    assert!(Residualizer::fit(&d, "hp", &["nope"], false).is_err());
}
