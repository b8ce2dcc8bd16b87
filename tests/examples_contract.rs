//! The command-line contracts of DESIGN.md, checked on the example binaries that `cargo test`
//! builds: the JSON fields of `fit` (OLS and LMM, with `--probe`) and `score`, and one-line
//! errors with exit status 2 for bad input.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::*;
use serde_json::Value;
use std::process::{Command, Output};

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
fn fit_family_gives_rs_glm() {
    let r = load_json("glm/reference.json");
    for case in r.as_array().unwrap() {
        let data = fixture(&format!("glm/{}", case["file"].as_str().unwrap()));
        let out = run(
            "fit",
            &[
                "--data",
                data.to_str().unwrap(),
                "--formula",
                case["formula"].as_str().unwrap(),
                "--family",
                case["family"].as_str().unwrap(),
                "--link",
                case["link"].as_str().unwrap(),
                "--json",
            ],
        );
        let v = json(&out);
        assert_eq!(v["model"], "glm");
        assert_eq!(v["family"], case["family"]);
        assert_eq!(v["link"], case["link"]);
        close(
            "-2 logLik from the CLI",
            v["objective"].as_f64().unwrap(),
            -2.0 * case["loglik"].as_f64().unwrap(),
            1e-8,
        );
        close(
            "first estimate from the CLI",
            v["fixef"][0]["estimate"].as_f64().unwrap(),
            case["estimate"][0].as_f64().unwrap(),
            1e-8,
        );
    }
    // A GLMM through the CLI: cbpp with 10 quadrature points, as glmer(nAGQ = 10).
    let r = load_json("glmm/reference.json");
    let agq = &r[1];
    let data = fixture("glmm/cbpp.csv");
    let out = run(
        "fit",
        &[
            "--data",
            data.to_str().unwrap(),
            "--formula",
            agq["formula"].as_str().unwrap(),
            "--family",
            "binomial",
            "--nagq",
            "10",
            "--json",
        ],
    );
    let v = json(&out);
    assert_eq!(v["model"], "glmm");
    assert_eq!(v["nagq"], 10);
    close(
        "glmer estimate from the CLI",
        v["fixef"][1]["estimate"].as_f64().unwrap(),
        agq["estimate"][1].as_f64().unwrap(),
        1e-4,
    );
    close(
        "glmer -2 log L from the CLI (lme4 + saturated)",
        v["objective"].as_f64().unwrap() + 2.0 * agq["saturated_loglik"].as_f64().unwrap(),
        agq["minus2loglik"].as_f64().unwrap(),
        1e-6,
    );
    // Crossed Poisson GLMM through the CLI: both grouping factors in the JSON.
    let multi = load_json("glmm/multi.json");
    let crossed = &multi["cases"][0];
    let data = fixture("glmm/crossed.csv");
    let out = run(
        "fit",
        &[
            "--data",
            data.to_str().unwrap(),
            "--formula",
            crossed["formula"].as_str().unwrap(),
            "--family",
            "poisson",
            "--json",
        ],
    );
    let v = json(&out);
    assert_eq!(v["family"], "poisson");
    assert_eq!(v["link"], "log");
    assert_eq!(v["ngroups"][0][0], "therapist");
    assert_eq!(v["ngroups"][1][1], 8);
    assert_eq!(v["varcorr"].as_array().unwrap().len(), 2);
    close(
        "crossed GLMM -2 log L from the CLI (textbook Laplace)",
        v["objective"].as_f64().unwrap(),
        crossed["textbook"]["minus2loglik"].as_f64().unwrap(),
        1e-8,
    );
    // A link the family does not take: one line, exit 2.
    let data = fixture("glm/mtcars.csv");
    let out = run(
        "fit",
        &[
            "--data",
            data.to_str().unwrap(),
            "--formula",
            "vs ~ mpg",
            "--family",
            "poisson",
            "--link",
            "logit",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim().lines().count(),
        1
    );
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
        // Scores go to --out, never to stdout (clinical rows stay in files the user names).
        assert!(got.get("scores").is_none() && got.get("answered").is_none());
        assert!(got["n_scored"].as_u64().unwrap() <= 2800);
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
    let out_csv = dir.join("scores.csv");
    let v = json(&run(
        "score",
        &[
            "--data",
            path.to_str().unwrap(),
            "--key",
            "ecr-rs",
            "--columns",
            "mother_{}",
            "--out",
            out_csv.to_str().unwrap(),
            "--json",
        ],
    ));
    assert!(v["verification"].as_str().unwrap().contains("Georgetown"));
    let scores = securebase::Data::from_csv_path(&out_csv).unwrap();
    let want = load_json("builtin/scores.json");
    for want in want["ecr-rs"].as_array().unwrap() {
        let name = want["name"].as_str().unwrap();
        let answered: Vec<Option<f64>> = scores
            .numeric(&format!("{name}_answered"))
            .unwrap()
            .iter()
            .collect();
        let want_answered: Vec<Option<f64>> = want["answered"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::as_f64)
            .collect();
        assert_eq!(answered, want_answered, "{name} answered");
        for (a, b) in scores
            .numeric(name)
            .unwrap()
            .iter()
            .zip(want["scores"].as_array().unwrap())
        {
            match (a, b.as_f64()) {
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

const MTCARS: &str = "<mtcars.csv>";

#[test]
fn every_example_answers_help_and_rejects_bad_flag_values() {
    for name in ["fit", "score", "study", "power", "mediate"] {
        let out = run(name, &["--help"]);
        assert!(out.status.success(), "{name} --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Usage:") && text.contains("--"),
            "{name}: {text}"
        );
    }
    let bad: Vec<(&str, Vec<&str>, &str)> = vec![
        ("power", vec!["--replicates", "abc"], "invalid value 'abc'"),
        ("power", vec!["--seed", "-1"], "invalid value '-1'"),
        ("power", vec!["--replicates", "0"], "at least 1"),
        ("power", vec!["--b-xz", "NaN", "--replicates", "2"], "b_xz"),
        (
            "power",
            vec!["--sessions", "2", "--replicates", "2"],
            "sessions",
        ),
        (
            "power",
            vec![
                "--sessions",
                "8",
                "--icc-client",
                "0.99",
                "--replicates",
                "2",
            ],
            "ICCs",
        ),
        ("study", vec!["--plan", "/no/such/plan.json"], "cannot read"),
        (
            "study",
            vec!["--plan", "Cargo.toml"],
            "not a valid plan file",
        ),
        (
            "power",
            vec![
                "--svg",
                "/proc/no/such/dir/x.svg",
                "--replicates",
                "2",
                "--therapists",
                "10",
            ],
            "cannot",
        ),
        ("study", vec!["--replicates", "xyz"], "invalid value"),
        (
            "study",
            vec!["--data", MTCARS, "--replicates", "20"],
            "this is the reference plan, used because no --plan was given",
        ),
        (
            "study",
            vec!["--out", "/proc/no/such/dir/r.json", "--replicates", "100"],
            "cannot",
        ),
        ("fit", vec!["--data", "x.csv"], "--formula"),
        (
            "fit",
            vec!["--data", "x.csv", "--formula", "y ~ x", "--delimiter", "#"],
            "not one of",
        ),
        (
            "score",
            vec!["--data", MTCARS, "--key", "."],
            "is a directory",
        ),
    ];
    for (name, args, needle) in bad {
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                if *a == MTCARS {
                    fixture("mtcars.csv").display().to_string()
                } else {
                    a.to_string()
                }
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(name, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name} {args:?}: {err}");
        // One error line (after any `note:` lines the reader or the example gave).
        let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("note: ")).collect();
        assert_eq!(lines.len(), 1, "{name} {args:?}: {err}");
        assert!(lines[0].starts_with("error: "), "{name} {args:?}: {err}");
        assert!(err.contains(needle), "{name} {args:?}: {err}");
    }
}

#[test]
fn messy_files_through_fit() {
    let dir = std::env::temp_dir().join(format!("securebase-messy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("spss.csv");
    // An SPSS-style export: semicolons, decimal commas, "." for missing, IDs with zeros.
    let mut text = String::from("client;session;score;anx\n");
    for c in 0..8 {
        for s in 1..=4 {
            let score = if (c + s) % 7 == 0 {
                ".".to_string()
            } else {
                format!("{},{}", 2 + (c * s) % 4, (c + 3 * s) % 10)
            };
            text.push_str(&format!("{:03};{s};{score};{},5\n", c + 1, 1 + c % 3));
        }
    }
    std::fs::write(&path, &text).unwrap();
    let p = path.to_str().unwrap();
    // Without options: the column with '.' tokens is an error naming the way out.
    let out = run(
        "fit",
        &["--data", p, "--formula", "score ~ session + (1 | client)"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--na") || err.contains("--decimal-comma"),
        "{err}"
    );
    // With them: a fit, 8 client groups ("001" … "008"), dropped rows reported.
    let v = json(&run(
        "fit",
        &[
            "--data",
            p,
            "--formula",
            "score ~ session + anx + (1 | client)",
            "--json",
            "--na",
            "NA,.",
            "--decimal-comma",
        ],
    ));
    assert_eq!(v["ngroups"][0][1], 8);
    assert!(v["n_dropped"].as_u64().unwrap() > 0);
    assert!(v["icc"]["adjusted"].is_f64() && v["icc"]["by_group"][0]["group"] == "client");
    assert!(
        v["read_notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("semicolon")),
        "{}",
        v["read_notes"]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn no_formula_up_to_64_kb_aborts_or_hangs_the_fit_example() {
    // Each is answered with exit status 2 and one line. The wall-clock bound is a hang guard
    // far above the measured times (milliseconds), not a speed test.
    let f = fixture("mtcars.csv");
    let vars: Vec<String> = (1..=16).map(|i| format!("x{i}")).collect();
    let n = 64 * 1024;
    let many: Vec<String> = (0..40).map(|i| format!("x{i}")).collect();
    // The same variable crossed with itself is just that variable: a fit, quickly.
    let same = format!("mpg ~ {}", vec!["hp"; n / 5 - 4].join(" * "));
    let out = run("fit", &["--data", f.to_str().unwrap(), "--formula", &same]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let formulas = vec![
        format!(
            "mpg ~ {}hp{}",
            "(".repeat(n / 2 - 10),
            ")".repeat(n / 2 - 10)
        ),
        format!("mpg ~ {}", many.join(" * ")),
        format!("mpg ~ ({})^16", vars.join(" + ")),
        format!(
            "mpg ~ {}",
            (0..n / 8)
                .map(|i| format!("v{i}"))
                .collect::<Vec<_>>()
                .join(":")
        ),
        format!("mpg ~ hp{}", "/wt".repeat(n / 3 - 10)),
        format!("mpg ~ I({}hp)", "-".repeat(n - 20)),
        format!(
            "mpg ~ {}",
            (0..n / 8 - 10)
                .map(|i| format!("v{i}"))
                .collect::<Vec<_>>()
                .join("+")
        ),
        format!("mpg ~ {}", "log(".repeat(n / 6) + "hp" + &")".repeat(n / 6)),
    ];
    for formula in formulas {
        assert!(formula.len() <= n, "{}", formula.len());
        let t = std::time::Instant::now();
        let out = run(
            "fit",
            &["--data", f.to_str().unwrap(), "--formula", &formula],
        );
        let secs = t.elapsed().as_secs_f64();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}…: {err}", &formula[..40]);
        assert_eq!(err.trim_end().lines().count(), 1);
        assert!(secs < 10.0, "{}… took {secs} s", &formula[..40]);
    }
}

#[test]
fn formula_functions_work_through_fit_with_rs_names() {
    // tests/reference/formula_functions.R: lm() on the same file.
    let r = load_json("functions/reference.json");
    let f = fixture("functions/functions.csv");
    for m in r["ols"].as_array().unwrap() {
        let formula = m["formula"].as_str().unwrap();
        let v = json(&run(
            "fit",
            &[
                "--data",
                f.to_str().unwrap(),
                "--formula",
                formula,
                "--json",
            ],
        ));
        let terms: Vec<String> = v["fixef"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["term"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(terms, strs(&m["terms"]), "{formula}");
        let est: Vec<f64> = v["fixef"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["estimate"].as_f64().unwrap())
            .collect();
        close_all(formula, &est, &f64s(&m["estimate"]), 1e-8);
    }
}

#[test]
fn mediate_json_contract_and_errors() {
    let f = fixture("mlmed/sessions.csv");
    let p = f.to_str().unwrap();
    let v = json(&run(
        "mediate",
        &[
            "--data",
            p,
            "--x",
            "anx",
            "--m",
            "secure",
            "--y",
            "engage",
            "--cluster",
            "client",
            "--cluster2",
            "therapist",
            "--within-between",
            "--bootstrap",
            "200",
            "--draws",
            "2000",
            "--seed",
            "7",
            "--json",
        ],
    ));
    for key in [
        "design",
        "nobs",
        "n_clusters",
        "dropped_rows",
        "resamples",
        "seed",
        "effects",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["design"], "2-1-1");
    assert_eq!(v["resamples"], 200);
    assert_eq!(v["seed"], 7);
    let r = load_json("mlmed/reference.json");
    let effects = v["effects"].as_array().unwrap();
    let names: Vec<&str> = effects
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["a", "b_within", "b_between", "c_prime", "indirect_between"]
    );
    for e in effects {
        let name = e["name"].as_str().unwrap();
        close(
            name,
            e["estimate"].as_f64().unwrap(),
            r["three"][name].as_f64().unwrap(),
            1e-4,
        );
        for key in ["ci_percentile", "ci_bca", "ci_monte_carlo"] {
            let ci = f64s(&e[key]);
            assert!(ci[0] < ci[1], "{name} {key}");
        }
    }
    // Errors: one line, exit 2.
    for (args, needle) in [
        (vec!["--within-between"], "needs --cluster"),
        (vec!["--cluster", "client"], "varies within"),
        (vec!["--bootstrap", "1"], "at least 2"),
    ] {
        let mut all = vec!["--data", p, "--x", "anx", "--m", "secure", "--y", "engage"];
        all.extend(args.iter().copied());
        let out = run("mediate", &all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{all:?}: {err}");
    }
}

#[test]
fn power_takes_the_session_level_design() {
    let out = run("power", &["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--sessions",
        "--icc-client",
        "--dropout",
        "--effect",
        "--design",
        "--therapists",
        "--clients-per-therapist",
        "--shard",
        "--out",
        "--merge",
        "--json",
        "--seed",
        "--replicates",
        "--target",
        "--icc",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    let dir = std::env::temp_dir().join(format!("securebase-power-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("p.svg");
    let out = run(
        "power",
        &[
            "--sessions",
            "6",
            "--therapists",
            "10",
            "--clients-per-therapist",
            "4",
            "--replicates",
            "20",
            "--effect",
            "growth",
            "--svg",
            svg.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Power of Growth") && text.contains("(session | client)"),
        "{text}"
    );
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    // The same design from a file.
    let design = dir.join("design.json");
    std::fs::write(&design, r#"{"format": "securebase-power/1", "therapists": 10, "clients_per_therapist": 4, "sessions": 6, "target": "growth"}"#).unwrap();
    let out = run(
        "power",
        &[
            "--design",
            design.to_str().unwrap(),
            "--therapists",
            "10",
            "--replicates",
            "20",
            "--svg",
            svg.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn as_refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn power_shards_merge_to_the_single_machine_result() {
    let dir = std::env::temp_dir().join(format!("securebase-shards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let design = [
        "--therapists",
        "10,16",
        "--clients-per-therapist",
        "5",
        "--replicates",
        "9",
        "--seed",
        "11",
    ];
    let with = |extra: &[&str]| {
        let mut a: Vec<&str> = design.to_vec();
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<String>>()
    };
    let (single_json, single_svg) = (p("single.json"), p("single.svg"));
    let single = run(
        "power",
        &as_refs(&with(&["--json", &single_json, "--svg", &single_svg])),
    );
    assert!(
        single.status.success(),
        "{}",
        String::from_utf8_lossy(&single.stderr)
    );
    let mut files = Vec::new();
    for k in 1..=4 {
        let out = p(&format!("shard{k}.json"));
        let shard = format!("{k}/4");
        let r = run(
            "power",
            &as_refs(&with(&["--shard", &shard, "--out", &out])),
        );
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        assert!(String::from_utf8_lossy(&r.stdout).contains(&format!("shard {k}/4")));
        files.push(out);
    }
    let (merged_json, merged_svg) = (p("merged.json"), p("merged.svg"));
    // Shards in any order; the design comes from the files.
    let mut args = vec!["--merge".to_string()];
    args.extend(files.iter().rev().cloned());
    args.extend([
        "--json".into(),
        merged_json.clone(),
        "--svg".into(),
        merged_svg.clone(),
    ]);
    let merged = run("power", &as_refs(&args));
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&single_json).unwrap(),
        std::fs::read_to_string(&merged_json).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(&single_svg).unwrap(),
        std::fs::read_to_string(&merged_svg).unwrap()
    );
    let table = |o: &std::process::Output| {
        let t = String::from_utf8_lossy(&o.stdout).to_string();
        t.lines()
            .filter(|l| !l.starts_with("Power curve:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(table(&single), table(&merged));
    // A missing shard, a bad shard number, a shard without --out: one line, status 2.
    for (a, needle) in [
        (
            vec!["--merge".to_string(), files[0].clone(), files[1].clone()],
            "missing shards 3, 4 of 4",
        ),
        (
            with(&["--shard", "0/4", "--out", &p("x.json")]),
            "I runs from 1 to N",
        ),
        (
            with(&["--shard", "5/4", "--out", &p("x.json")]),
            "I runs from 1 to N",
        ),
        (with(&["--shard", "2/4"]), "--out"),
        (
            vec!["--merge".to_string(), single_json.clone()],
            "not a shard file",
        ),
    ] {
        let r = run("power", &as_refs(&a));
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{a:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{a:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The binary-outcome power curve through the CLI equals the library's result, point by point.
#[test]
fn power_binary_outcome_from_the_cli() {
    use securebase::simulate::binary_power::{BinaryDesign, binary_power};
    use securebase::simulate::grid::{GridDesign, PowerGrid};
    let dir = std::env::temp_dir().join(format!("securebase-binpow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json_path = dir.join("curve.json");
    let svg_path = dir.join("curve.svg");
    let out = run(
        "power",
        &[
            "--outcome",
            "binary",
            "--therapists",
            "8",
            "--clients-per-therapist",
            "10",
            "--icc",
            "0.1",
            "--odds-ratio",
            "2",
            "--replicates",
            "12",
            "--seed",
            "5",
            "--json",
            json_path.to_str().unwrap(),
            "--svg",
            svg_path.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("dropout ~ anxiety + (1 | therapist)") && text.contains("SIMULATED"));
    // The library, the same design and seed stream as the grid's point for 8 therapists.
    let mut d = BinaryDesign::dropout(8, 10);
    d.icc = 0.1;
    d.odds_ratio = 2.0;
    let grid = PowerGrid::new(GridDesign::Binary(d.clone()), &[8], 12, 5);
    let curve = grid.run().unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    // [[therapists, result], …]
    assert_eq!(written[0][0], 8);
    let point = &written[0][1];
    assert_eq!(point["replicates"], 12);
    assert_eq!(point["significant"], curve[0].1.significant as u64);
    assert_eq!(point["failed"], curve[0].1.failed as u64);
    assert!(binary_power(&d, 3, 1).is_ok());
    // A binary outcome with a session design is refused, not silently dropped.
    let out = run("power", &["--outcome", "binary", "--sessions", "8"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--outcome binary"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every command of the hostile-input review under an 8 GB address-space limit: each answers
/// within seconds with a one-line error and exit status 2 (none aborts, is killed or hangs).
#[cfg(unix)]
#[test]
fn hostile_commands_answer_within_bounds_under_a_memory_limit() {
    let dir = std::env::temp_dir().join(format!("securebase-bounds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // 100,000 rows: a crossed (1 | a) + (1 | b) with 50,000 levels each, and a fixed factor of
    // 100,000 levels.
    let big = dir.join("big.csv");
    let mut text = String::from("y,a,b,g\n");
    for i in 0..100_000u64 {
        text.push_str(&format!(
            "{},a{},b{},g{i}\n",
            (i * 37) % 101,
            i % 50_000,
            (i.wrapping_mul(7919) / 3) % 50_000
        ));
    }
    std::fs::write(&big, text).unwrap();
    let mt = fixture("mtcars.csv");
    let (big, mt) = (big.to_str().unwrap(), mt.to_str().unwrap());
    let unwritable = "/proc/securebase-no-such-dir/results.json";
    let med = |extra: [&'static str; 2]| -> Vec<&str> {
        let mut v = vec!["--data", mt, "--x", "wt", "--m", "hp", "--y", "mpg"];
        v.extend(extra);
        v
    };
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        ("mediate", med(["--bootstrap", "1000000000"]), "--bootstrap"),
        (
            "mediate",
            med(["--bootstrap", "18446744073709551615"]),
            "--bootstrap",
        ),
        (
            "mediate",
            med(["--draws", "18446744073709551615"]),
            "--draws",
        ),
        ("study", vec!["--replicates", "1000000000"], "--replicates"),
        ("study", vec!["--out", unwritable], "cannot"),
        (
            "study",
            vec!["--plan", "/dev/zero", "--data", mt],
            "is a device",
        ),
        (
            "fit",
            vec!["--data", "/dev/zero", "--formula", "y ~ x"],
            "is a device",
        ),
        (
            "fit",
            vec!["--data", big, "--formula", "y ~ 1 + (1 | a) + (1 | b)"],
            "dense block",
        ),
        ("fit", vec!["--data", big, "--formula", "y ~ g"], "(1 | g)"),
        ("power", vec!["--icc", "-0.1", "--replicates", "2"], "icc"),
        (
            "power",
            vec!["--design", "/dev/zero", "--replicates", "2"],
            "is a device",
        ),
        ("power", vec!["--merge", "/dev/zero"], "is a device"),
    ];
    for (name, args, says) in cases {
        let exe = example(name);
        let mut script = format!("ulimit -v 8000000; exec timeout 60 '{}'", exe.display());
        for a in &args {
            script.push_str(&format!(" '{a}'"));
        }
        let start = std::time::Instant::now();
        let out = Command::new("sh").args(["-c", &script]).output().unwrap();
        let secs = start.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let what = format!("{name} {}", args.join(" "));
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("note:")).collect();
        assert_eq!(lines.len(), 1, "{what}: {stderr}");
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(says),
            "{what}: {stderr}"
        );
        assert!(secs < 20.0, "{what}: {secs:.1} s");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Items under another, zero-padded prefix: `score` names `--columns` with the pattern that maps
/// them, and the pattern works.
#[test]
fn score_suggests_a_columns_pattern_with_zero_padding() {
    let dir = std::env::temp_dir().join(format!("securebase-pad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ecr.csv");
    let header: Vec<String> = (1..=36).map(|i| format!("ecr{i:02}")).collect();
    let mut text = format!("id,{}\n", header.join(","));
    for r in 0..12 {
        let row: Vec<String> = (1..=36)
            .map(|i| (1 + (r * 5 + i * 3) % 7).to_string())
            .collect();
        text.push_str(&format!("c{r},{}\n", row.join(",")));
    }
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap();
    let out = run("score", &["--data", p, "--key", "ecr-r"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--columns \"ecr{:02}\""), "{err}");
    let out = run(
        "score",
        &[
            "--data",
            p,
            "--key",
            "ecr-r",
            "--columns",
            "ecr{:02}",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `fit --emmeans --contrasts --adjust --anova --profile --boot --predict`: the answers in the
/// JSON equal R's (tests/reference/emmeans.R and profile.R) at 1e-4, our own optimum being
/// within ~1e-6 of R's converged one.
#[test]
fn fit_answers_marginal_means_tests_and_intervals() {
    let trial = fixture("emmeans/trial.csv");
    let trial = trial.to_str().unwrap();
    let r = common::load_json("emmeans/reference.json");
    let out = run(
        "fit",
        &[
            "--data",
            trial,
            "--formula",
            "y ~ condition * phase + baseline + (1 | therapist) + (1 | client)",
            "--emmeans",
            "condition",
            "--contrasts",
            "pairwise",
            "--adjust",
            "tukey",
            "--anova",
            "--json",
            "--quiet",
        ],
    );
    let v = json(&out);
    let means: Vec<f64> = v["emmeans"]["means"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["estimate"].as_f64().unwrap())
        .collect();
    common::close_all(
        "emmeans",
        &means,
        &common::f64s(&r["m1"]["emm_sat"]["estimate"]),
        1e-4,
    );
    let p: Vec<f64> = v["contrasts"]["contrasts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["p_adjusted"].as_f64().unwrap())
        .collect();
    common::close_all(
        "Tukey p",
        &p,
        &common::f64s(&r["m1"]["pairs_tukey"]["p"]),
        1e-4,
    );
    assert_eq!(v["contrasts"]["adjust"], "tukey");
    let f: Vec<f64> = v["anova"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["f"].as_f64().unwrap())
        .collect();
    common::close_all(
        "type III F",
        &f,
        &common::f64s(&r["m1"]["anova_sat"]["f"]),
        1e-4,
    );
    // Profile, bootstrap and predictions of the profile reference's model.
    let rp = common::load_json("profile/reference.json");
    let out = run(
        "fit",
        &[
            "--data",
            trial,
            "--formula",
            "y ~ condition + phase + baseline + (1 | therapist) + (1 | client)",
            "--profile",
            "--boot",
            "20",
            "--seed",
            "5",
            "--predict",
            trial,
            "--json",
            "--quiet",
        ],
    );
    let v = json(&out);
    let lower: Vec<f64> = v["profile"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["ci"][0].as_f64().unwrap())
        .collect();
    common::close_all(
        "profile lower",
        &lower,
        &common::f64s(&rp["trial"]["lower"]),
        1e-4,
    );
    assert_eq!(v["bootstrap"]["nsim"], 20);
    assert_eq!(v["bootstrap"]["intervals"][0]["name"], "ICC (adjusted)");
    let pred = v["predictions"]["conditional"].as_array().unwrap();
    let fitted = v["nobs"].as_u64().unwrap() as usize;
    assert_eq!(pred.len(), fitted);
    // Bad requests: one-line errors naming what is wrong.
    let out = run(
        "fit",
        &[
            "--data",
            trial,
            "--formula",
            "y ~ condition",
            "--emmeans",
            "dose",
            "--quiet",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'dose'"));
    let out = run(
        "fit",
        &[
            "--data",
            trial,
            "--formula",
            "y ~ condition",
            "--boot",
            "10",
            "--quiet",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mixed model"));
}
