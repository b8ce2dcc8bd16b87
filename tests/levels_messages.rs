//! Each example run into each level trap of a long session file: the corrected analysis or a
//! one-line refusal (exit status 2) that names the command-line flag to use, never a Rust type
//! or method. Data: tests/fixtures/levels (tests/reference/levels.R).
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::*;
use serde_json::Value;
use std::process::{Command, Output};

fn run(name: &str, args: &[&str]) -> Output {
    Command::new(example(name))
        .args(args)
        .arg("--quiet")
        .output()
        .unwrap()
}

fn sessions() -> String {
    fixture("levels/sessions.csv").to_str().unwrap().to_string()
}

const LEVELS: &[&str] = &["--levels", "therapist/client/session"];

/// The refusal: exit status 2, one line on stderr, naming `flags`, and no Rust paths.
#[track_caller]
fn refused(out: &Output, flags: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    let line = err.lines().find(|l| l.starts_with("error:")).unwrap_or("");
    for f in flags {
        assert!(line.contains(f), "the message should name {f}: {line}");
    }
    for rust in [
        "::",
        "Mediation",
        "Levels",
        "Data.",
        "random_slopes",
        "(true)",
    ] {
        assert!(!line.contains(rust), "Rust wording '{rust}' in: {line}");
    }
    line.to_string()
}

fn args<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

#[test]
fn fit_at_the_clients_level_equals_lm_and_says_so() {
    let s = sessions();
    let out = run(
        "fit",
        &args(
            &["--data", &s, "--formula", "iip_post ~ iip_pre", "--json"],
            LEVELS,
        ),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = load_json("levels/reference.json");
    assert_eq!(v["nobs"], r["lm_client"]["n"]);
    assert_eq!(v["unit"]["level"], "client");
    assert_eq!(v["unit"]["units"], 147);
    let se = v["fixef"][1]["std_error"].as_f64().unwrap();
    close("SE of iip_pre", se, f64s(&r["lm_client"]["se"])[1], 1e-9);
    // In the table too.
    let out = run(
        "fit",
        &args(&["--data", &s, "--formula", "iip_post ~ iip_pre"], LEVELS),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("147 client units, one row each from 1032 session rows"),
        "{text}"
    );
}

#[test]
fn fit_refusals_name_the_flags() {
    let s = sessions();
    let line = refused(
        &run(
            "fit",
            &args(
                &["--data", &s, "--formula", "iip_post ~ iip_pre + engagement"],
                LEVELS,
            ),
        ),
        &["--client-mean engagement"],
    );
    assert!(line.contains("engagement_mean"), "{line}");
    // The way out it names works and equals R.
    let out = run(
        "fit",
        &args(
            &[
                "--data",
                &s,
                "--formula",
                "iip_post ~ iip_pre + engagement_mean",
                "--client-mean",
                "engagement",
                "--json",
            ],
            LEVELS,
        ),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = load_json("levels/reference.json");
    let est: Vec<f64> = v["fixef"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["estimate"].as_f64().unwrap())
        .collect();
    close_all(
        "client mean via the CLI",
        &est,
        &f64s(&r["lm_client_mean"]["estimate"]),
        1e-9,
    );
    // A first-row baseline in a session-level model: --fill.
    refused(
        &run(
            "fit",
            &args(
                &[
                    "--data",
                    &s,
                    "--formula",
                    "engagement ~ iip_pre + session + (1 | client)",
                ],
                LEVELS,
            ),
        ),
        &["--fill iip_pre"],
    );
    let out = run(
        "fit",
        &args(
            &[
                "--data",
                &s,
                "--formula",
                "engagement ~ iip_pre + session + (1 | client)",
                "--fill",
                "iip_pre",
                "--json",
            ],
            LEVELS,
        ),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["nobs"], r["lmer_filled"]["n"]);
    // --fill without --levels.
    refused(
        &run(
            "fit",
            &[
                "--data",
                &s,
                "--formula",
                "engagement ~ iip_pre",
                "--fill",
                "iip_pre",
            ],
        ),
        &["--levels"],
    );
}

#[test]
fn a_client_under_two_therapists_names_partially_crossed() {
    let dir = std::env::temp_dir().join(format!("securebase-levels-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(fixture("levels/sessions.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[2] = lines[2].replacen("\"t01\"", "\"t02\"", 1);
    let path = dir.join("crossed.csv");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let p = path.to_str().unwrap();
    let line = refused(
        &run(
            "fit",
            &args(&["--data", p, "--formula", "iip_post ~ iip_pre"], LEVELS),
        ),
        &["--partially-crossed"],
    );
    assert!(line.contains("'1001'"), "{line}");
    let out = run(
        "fit",
        &args(
            &[
                "--data",
                p,
                "--formula",
                "iip_post ~ iip_pre",
                "--partially-crossed",
            ],
            LEVELS,
        ),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn mediate_on_nested_rows_names_cluster_within_between_and_blended() {
    let s = sessions();
    let base = [
        "--data",
        &s,
        "--x",
        "ecr_anx",
        "--m",
        "engagement",
        "--y",
        "autonomy",
        "--bootstrap",
        "50",
        "--draws",
        "200",
    ];
    refused(
        &run("mediate", &args(&base, LEVELS)),
        &["--cluster", "--within-between", "--blended"],
    );
    // --within-between (its cluster from --levels) and --blended run.
    for way in [&["--within-between"][..], &["--blended"]] {
        let out = run("mediate", &args(&args(&base, LEVELS), way));
        assert!(
            out.status.success(),
            "{way:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // With the cluster named, a client-level X and a session-level M are the blended case:
    // refused, naming --within-between and --blended.
    refused(
        &run(
            "mediate",
            &args(&args(&base, LEVELS), &["--cluster", "client"]),
        ),
        &["--within-between", "--blended"],
    );
}

#[test]
fn mediate_random_slopes_without_within_between_names_the_flag() {
    let s = sessions();
    refused(
        &run(
            "mediate",
            &[
                "--data",
                &s,
                "--x",
                "ecr_anx",
                "--m",
                "engagement",
                "--y",
                "autonomy",
                "--random-slopes",
            ],
        ),
        &["--random-slopes", "--within-between"],
    );
    // The library's refusal of random slopes in a 2-1-1 design names the flag, not the field.
    let line = refused(
        &run(
            "mediate",
            &args(
                &[
                    "--data",
                    &s,
                    "--x",
                    "ecr_anx",
                    "--m",
                    "engagement",
                    "--y",
                    "autonomy",
                    "--within-between",
                    "--random-slopes",
                    "--bootstrap",
                    "20",
                    "--draws",
                    "100",
                ],
                LEVELS,
            ),
        ),
        &["--random-slopes:", "2-1-1"],
    );
    assert!(!line.contains("invalid argument"), "{line}");
}

#[test]
fn score_uses_one_row_per_client_or_the_cluster_bootstrap_and_writes_scores_with_ids() {
    let s = sessions();
    let once = fixture("levels/once_key.json");
    let dir = std::env::temp_dir().join(format!("securebase-score-{}", std::process::id()));
    let out_csv = dir.join("scores.csv");
    let out = run(
        "score",
        &args(
            &[
                "--data",
                &s,
                "--key",
                once.to_str().unwrap(),
                "--out",
                out_csv.to_str().unwrap(),
                "--json",
            ],
            LEVELS,
        ),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = load_json("levels/reference.json");
    let sub = &v["subscales"][0];
    close(
        "α over clients via the CLI",
        sub["alpha"].as_f64().unwrap(),
        r["alpha_client"]["raw_alpha"].as_f64().unwrap(),
        1e-9,
    );
    assert_eq!(sub["n_complete"], 147);
    assert!(sub.get("scores").is_none(), "no per-row scores on stdout");
    assert!(v.get("row_ids").is_none(), "no row ids on stdout");
    let written = std::fs::read_to_string(&out_csv).unwrap();
    assert!(
        written.starts_with("therapist,client,trait,trait_answered"),
        "{written}"
    );
    assert_eq!(written.lines().count(), 148);
    // The repeated instrument: a cluster bootstrap over clients, no Feldt interval.
    let rep = fixture("levels/repeated_key.json");
    let out = run(
        "score",
        &args(
            &[
                "--data",
                &s,
                "--key",
                rep.to_str().unwrap(),
                "--bootstrap",
                "200",
                "--json",
            ],
            LEVELS,
        ),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sub = &v["subscales"][0];
    assert!(sub["feldt_ci"].is_null());
    assert_eq!(sub["cluster_bootstrap"]["clusters"], 147);
    assert_eq!(sub["cluster_bootstrap"]["seed"], 2024);
    let out = run(
        "score",
        &args(
            &[
                "--data",
                &s,
                "--key",
                rep.to_str().unwrap(),
                "--bootstrap",
                "200",
            ],
            LEVELS,
        ),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("cluster bootstrap over 147 client units") && !text.contains("Feldt 95%"),
        "{text}"
    );
    assert!(!text.contains("1001"), "no ids on stdout: {text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_default_seed_is_the_same_everywhere() {
    for (name, needle) in [("mediate", "2024"), ("power", "2024"), ("score", "2024")] {
        let out = run(name, &["--help"]);
        let help = String::from_utf8_lossy(&out.stdout);
        let seed = help
            .lines()
            .skip_while(|l| !l.contains("--seed"))
            .take(4)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            seed.contains(&format!("default: {needle}")),
            "{name}: {seed}"
        );
    }
    assert_eq!(securebase::study::Plan::reference().seed, 2024);
}
