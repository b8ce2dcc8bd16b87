//! The study pipeline: the embedded cohort is the simulator's output, the analysis agrees with
//! R on it (tests/reference/study.R), and bad files get errors naming the problem.

mod common;
use common::*;
use securebase::simulate::{CohortParams, example_keys, simulate_cohort};
use securebase::study::{StudyOptions, run};
use securebase::{Data, Error};
use std::path::PathBuf;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `SECUREBASE_REGENERATE=1 cargo test --test study` rewrites the files from the simulator.
#[test]
fn embedded_cohort_and_keys_are_the_simulators_output() {
    let cohort = simulate_cohort(&CohortParams::default()).unwrap();
    let mut csv = Vec::new();
    cohort.write_csv(&mut csv).unwrap();
    let keys = example_keys();
    if std::env::var("SECUREBASE_REGENERATE").is_ok() {
        std::fs::write(repo("data/study_cohort.csv"), &csv).unwrap();
        for k in &keys {
            std::fs::write(
                repo(&format!("data/example_keys/{}.json", k.name)),
                k.to_json(),
            )
            .unwrap();
        }
    }
    assert_eq!(
        std::fs::read(repo("data/study_cohort.csv")).unwrap(),
        csv,
        "data/study_cohort.csv is stale"
    );
    let shipped = Data::from_csv_path(repo("data/study_cohort.csv")).unwrap();
    assert_eq!(shipped, cohort);
    for k in &keys {
        let text =
            std::fs::read_to_string(repo(&format!("data/example_keys/{}.json", k.name))).unwrap();
        assert_eq!(&securebase::scoring::ScaleKey::from_json(&text).unwrap(), k);
    }
}

fn cohort() -> Data {
    Data::from_csv_path(repo("data/study_cohort.csv")).unwrap()
}

fn quick() -> StudyOptions {
    let mut o = StudyOptions::default();
    o.bootstrap_replicates = 200;
    o
}

#[test]
fn analysis_agrees_with_r_on_the_embedded_cohort() {
    let r = load_json("study_reference.json");
    let report = run(&cohort(), &quick()).unwrap();
    // Reliability of every scale (α from psych::alpha, complete cases).
    for rel in &report.reliability {
        close(
            &format!("alpha {}", rel.subscale),
            rel.alpha,
            r["alpha"][&rel.subscale].as_f64().unwrap(),
            1e-6,
        );
    }
    // ESAT equations.
    close(
        "esat_anx slope",
        report.esat_anx.slopes[0],
        r["esat_anx_slope"].as_f64().unwrap(),
        1e-8,
    );
    close(
        "esat_avoid slope",
        report.esat_avoid.slopes[0],
        r["esat_avoid_slope"].as_f64().unwrap(),
        1e-8,
    );
    // Mixed models (lmerTest).
    for (fit, key) in [
        (&report.outcome, "outcome"),
        (&report.moderator, "moderator"),
    ] {
        let m = &r[key];
        assert_eq!(fit.nobs() as f64, m["nobs"].as_f64().unwrap(), "{key} nobs");
        close(
            &format!("{key} REML"),
            fit.objective(),
            m["reml"].as_f64().unwrap(),
            1e-6,
        );
        for c in fit.coefficients() {
            close(
                &format!("{key} {} estimate", c.term),
                c.estimate,
                m["estimate"][&c.term].as_f64().unwrap(),
                1e-4,
            );
            close(
                &format!("{key} {} se", c.term),
                c.std_error,
                m["se"][&c.term].as_f64().unwrap(),
                1e-4,
            );
            close(
                &format!("{key} {} df", c.term),
                c.df,
                m["df"][&c.term].as_f64().unwrap(),
                1e-3,
            );
        }
        close(
            &format!("{key} sigma"),
            fit.sigma(),
            m["sigma"].as_f64().unwrap(),
            1e-4,
        );
    }
    // Simple slopes (lmerTest refits with the moderator re-centred).
    for (s, w) in report
        .probe
        .simple_slopes
        .iter()
        .zip(r["slopes"].as_array().unwrap())
    {
        close("slope at", s.at, w["at"].as_f64().unwrap(), 1e-10);
        close("slope", s.slope, w["slope"].as_f64().unwrap(), 1e-4);
        close("slope se", s.std_error, w["se"].as_f64().unwrap(), 1e-4);
        close("slope df", s.df, w["df"].as_f64().unwrap(), 1e-3);
    }
    // Mediation paths (lm).
    for name in ["a", "b", "c_prime", "c", "indirect"] {
        close(
            &format!("mediation {name}"),
            report.mediation.effect(name).unwrap(),
            r["mediation"][name].as_f64().unwrap(),
            1e-8,
        );
    }
    for name in ["a1", "a2", "d21", "b1", "b2", "c_prime", "c", "ind12"] {
        close(
            &format!("chain {name}"),
            report.chain.effect(name).unwrap(),
            r["chain"][name].as_f64().unwrap(),
            1e-8,
        );
    }
    let md = report.to_markdown();
    for section in [
        "## 1. Scales",
        "## 3. Outcome model",
        "Johnson–Neyman",
        "## 5. Mediation",
    ] {
        assert!(md.contains(section), "{section}");
    }
    assert!(
        serde_json::to_string(&report)
            .unwrap()
            .contains("\"mediation_bootstrap\"")
    );
}

#[test]
fn a_file_that_does_not_fit_gets_a_clear_error() {
    let d = cohort();
    let keep: Vec<&str> = d
        .names()
        .iter()
        .map(String::as_str)
        .filter(|n| *n != "cats_preocc_3" && *n != "therapist")
        .collect();
    let mut missing = Data::new();
    for n in &keep {
        missing.add_column(n, d.column(n).unwrap().clone()).unwrap();
    }
    match run(&missing, &quick()) {
        Err(Error::MissingColumns { missing, .. }) => {
            assert_eq!(missing, ["therapist", "cats_preocc_3"])
        }
        other => panic!("{other:?}"),
    }
    let mut bad = Data::new();
    for n in d.names() {
        let mut col = d.column(n).unwrap().clone();
        if n == "ecr_anx_2" {
            if let securebase::Column::Numeric(v) = &mut col {
                v[9] = Some(9.0);
            }
        }
        bad.add_column(n, col).unwrap();
    }
    match run(&bad, &quick()) {
        Err(Error::InvalidValue { column, row, .. }) => {
            assert_eq!((column.as_str(), row), ("ecr_anx_2", 10))
        }
        other => panic!("{other:?}"),
    }
}
