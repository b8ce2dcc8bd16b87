//! Helpers shared by the reference tests.
#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn load_json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn f64s(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().map(|x| x.as_f64().unwrap()).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        _ => panic!("not numbers: {v}"),
    }
}

pub fn strs(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        Value::String(s) => vec![s.clone()],
        _ => vec![],
    }
}

/// Assert |a - b| <= tol * max(|b|, floor), with a message naming what is compared.
#[track_caller]
pub fn close(what: &str, a: f64, b: f64, tol: f64) {
    let scale = b.abs().max(1e-300);
    let rel = (a - b).abs() / scale;
    assert!(
        rel <= tol || (a - b).abs() <= tol * 1e-3,
        "{what}: got {a:.15e}, R says {b:.15e} (relative difference {rel:.2e} > {tol:.0e})"
    );
}

#[track_caller]
pub fn close_all(what: &str, a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        close(&format!("{what}[{i}]"), *x, *y, tol);
    }
}

/// The path of an example binary that `cargo test` built beside this test:
/// target/<profile>/deps/<test> → target/<profile>/examples/<name>.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo test` (it builds the examples)",
        path.display()
    );
    path
}

/// The fit at R's converged θ (every prediction is a function of θ: compared there to 1e-8),
/// after checking that this crate's own optimum is R's to `tol` in θ and 1e-8 in the criterion.
pub fn at_r_theta(d: &securebase::Data, formula: &str, r: &Value, tol: f64) -> securebase::LmmFit {
    let spec = securebase::LmmSpec::new(d, formula).unwrap();
    let ours = spec.fit(securebase::Criterion::Reml).unwrap();
    let theta = f64s(&r["theta"]);
    close_all("theta", ours.theta(), &theta, tol);
    let there = spec
        .fit_at(
            &theta,
            securebase::Criterion::Reml,
            securebase::lmm::Optimization::external("R's converged theta"),
            securebase::Ddf::Satterthwaite,
        )
        .unwrap();
    assert!(
        (ours.objective() - there.objective()).abs() < 1e-8,
        "REML criterion {} here, {} at R's theta",
        ours.objective(),
        there.objective()
    );
    there
}
