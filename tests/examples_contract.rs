//! The command-line contracts of DESIGN.md, checked on the example binaries that `cargo test`
//! builds: the JSON fields of `fit` (OLS and LMM, with `--probe`) and `score`, and one-line
//! errors with exit status 2 for bad input.

mod common;
use common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/<this test> → target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        dir.exists(),
        "{} is not built: run `cargo test` (it builds the examples)",
        dir.display()
    );
    dir
}

fn run(name: &str, args: &[&str]) -> Output {
    Command::new(example(name)).args(args).output().unwrap()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn fit_json_contract_for_ols_and_lmm() {
    let f = fixture("mtcars.csv");
    let v = json(&run(
        "fit",
        &[
            "--data",
            f.to_str().unwrap(),
            "--formula",
            "mpg ~ hp * wt",
            "--json",
            "--probe",
            "hp:wt",
        ],
    ));
    for key in [
        "model",
        "formula",
        "criterion",
        "nobs",
        "fixef",
        "theta",
        "sigma",
        "varcorr",
        "objective",
        "loglik",
        "aic",
        "bic",
        "singular",
        "converged",
        "probe",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["model"], "ols");
    assert!(v["criterion"].is_null());
    assert_eq!(v["nobs"], 32);
    let b = f64s(&v["probe"]["johnson_neyman"]["bounds"]);
    close("J-N lower from the CLI", b[0], 3.69249158481471, 1e-8);
    assert_eq!(v["probe"]["simple_slopes"].as_array().unwrap().len(), 3);

    let s = fixture("sleepstudy.csv");
    let v = json(&run(
        "fit",
        &[
            "--data",
            s.to_str().unwrap(),
            "--formula",
            "Reaction ~ Days + (Days | Subject)",
            "--json",
            "--ml",
        ],
    ));
    let r = load_json("lme4/sleepstudy_slopes_ml.json");
    assert_eq!(v["model"], "lmm");
    assert_eq!(v["criterion"], "ML");
    assert_eq!(v["theta"].as_array().unwrap().len(), 3);
    close(
        "deviance from the CLI",
        v["objective"].as_f64().unwrap(),
        r["deviance_or_reml"].as_f64().unwrap(),
        1e-6,
    );
    let fx = &v["fixef"][1];
    assert_eq!(fx["term"], "Days");
    close(
        "Satterthwaite df from the CLI",
        fx["df"].as_f64().unwrap(),
        r["satterthwaite_df"]["Days"].as_f64().unwrap(),
        1e-3,
    );
    assert_eq!(v["varcorr"].as_array().unwrap().len(), 4); // 2 variances, 1 covariance, residual
}

#[test]
fn score_json_contract() {
    let b = fixture("bfi.csv");
    let v = json(&run(
        "score",
        &[
            "--data",
            b.to_str().unwrap(),
            "--key",
            "ipip-bfi-25",
            "--json",
        ],
    ));
    let r = load_json("psych_bfi.json");
    let subs = v["subscales"].as_array().unwrap();
    assert_eq!(subs.len(), 5);
    for (got, want) in subs.iter().zip(r.as_array().unwrap()) {
        close(
            "alpha from the CLI",
            got["alpha"].as_f64().unwrap(),
            want["complete"]["raw_alpha"].as_f64().unwrap(),
            1e-6,
        );
        assert_eq!(got["feldt_ci"].as_array().unwrap().len(), 2);
        assert!(got["omega_total"].is_number());
        assert_eq!(got["items"].as_array().unwrap().len(), 5);
        assert_eq!(got["scores"].as_array().unwrap().len(), 2800);
        assert_eq!(got["answered"].as_array().unwrap().len(), 2800);
    }
}

#[test]
fn score_builtin_key_on_renamed_columns() {
    // The ECR-RS reference data with its columns renamed to mother_1 … mother_9, scored with
    // the built-in key mapped by a --columns pattern, gives R's scores
    // (tests/reference/builtin_keys.R).
    let dir = std::env::temp_dir().join(format!("securebase-columns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mother.csv");
    let text = std::fs::read_to_string(fixture("builtin/ecr-rs.csv")).unwrap();
    std::fs::write(&path, text.replace("ecrrs", "mother_")).unwrap();
    let v = json(&run(
        "score",
        &[
            "--data",
            path.to_str().unwrap(),
            "--key",
            "ecr-rs",
            "--columns",
            "mother_{}",
            "--json",
        ],
    ));
    assert!(v["verification"].as_str().unwrap().contains("Georgetown"));
    let want = load_json("builtin/scores.json");
    for (got, want) in v["subscales"]
        .as_array()
        .unwrap()
        .iter()
        .zip(want["ecr-rs"].as_array().unwrap())
    {
        assert_eq!(got["name"], want["name"]);
        assert_eq!(got["answered"], want["answered"]);
        for (a, b) in got["scores"]
            .as_array()
            .unwrap()
            .iter()
            .zip(want["scores"].as_array().unwrap())
        {
            match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) => close("ECR-RS score via the CLI", a, b, 1e-12),
                (a, b) => assert_eq!(a, b),
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let f = fixture("mtcars.csv");
    let dir = std::env::temp_dir().join(format!("securebase-contract-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad_items = dir.join("bad.csv");
    let mut text = String::from(
        "A1,A2,A3,A4,A5,C1,C2,C3,C4,C5,E1,E2,E3,E4,E5,N1,N2,N3,N4,N5,O1,O2,O3,O4,O5\n",
    );
    text.push_str(&vec!["3"; 25].join(","));
    text.push('\n');
    text.push_str(
        &["9"]
            .iter()
            .chain(vec!["3"; 24].iter())
            .copied()
            .collect::<Vec<_>>()
            .join(","),
    );
    text.push('\n');
    std::fs::write(&bad_items, text).unwrap();
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "fit",
            vec![
                "--data".into(),
                "no/such.csv".into(),
                "--formula".into(),
                "y ~ x".into(),
            ],
            "cannot read",
        ),
        (
            "fit",
            vec![
                "--data".into(),
                f.display().to_string(),
                "--formula".into(),
                "mpg ~ nope".into(),
            ],
            "unknown column 'nope'",
        ),
        (
            "fit",
            vec![
                "--data".into(),
                f.display().to_string(),
                "--formula".into(),
                "mpg ~ (hp".into(),
            ],
            "malformed formula",
        ),
        (
            "fit",
            vec![
                "--data".into(),
                f.display().to_string(),
                "--formula".into(),
                "mpg ~ hp + wt".into(),
                "--probe".into(),
                "hp:wt".into(),
            ],
            "no interaction",
        ),
        (
            "score",
            vec![
                "--data".into(),
                bad_items.display().to_string(),
                "--key".into(),
                "ipip-bfi-25".into(),
            ],
            "column 'A1' at row 2",
        ),
        (
            "score",
            vec![
                "--data".into(),
                f.display().to_string(),
                "--key".into(),
                "ipip-bfi-25".into(),
            ],
            "lack 25 columns",
        ),
        (
            "score",
            vec![
                "--data".into(),
                f.display().to_string(),
                "--key".into(),
                "ecr-rs".into(),
                "--columns".into(),
                "a,b".into(),
            ],
            "2 columns given for the 9 items",
        ),
    ];
    for (name, args, needle) in cases {
        let out = Command::new(example(name)).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name} {args:?}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{name}: one line, got {err}"
        );
        assert!(err.contains(needle), "{name} {args:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
