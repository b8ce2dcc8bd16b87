//! The session-level study: the embedded cohort is the simulator's output, the plan's analysis
//! agrees with R on it (tests/reference/study_sessions.R), the simulated cohort shows the
//! published pattern over seeds, and plans that do not fit give every problem at once.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::*;
use securebase::simulate::example_keys;
use securebase::simulate::sessions::{SessionParams, simulate_sessions};
use securebase::study::{Plan, StudyOptions, StudyReport, run};
use securebase::{Data, Error};
use serde_json::Value;
use std::path::PathBuf;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `SECUREBASE_REGENERATE=1 cargo test --test study` rewrites the files from the simulator.
#[test]
fn embedded_cohort_and_keys_are_the_simulators_output() {
    let cohort = simulate_sessions(&SessionParams::default()).unwrap();
    let mut csv = Vec::new();
    cohort.write_csv(&mut csv).unwrap();
    let keys = example_keys();
    if std::env::var("SECUREBASE_REGENERATE").is_ok() {
        std::fs::write(repo("data/study_sessions.csv"), &csv).unwrap();
        for k in &keys {
            std::fs::write(
                repo(&format!("data/example_keys/{}.json", k.name)),
                k.to_json(),
            )
            .unwrap();
        }
    }
    assert_eq!(
        std::fs::read(repo("data/study_sessions.csv")).unwrap(),
        csv,
        "data/study_sessions.csv is stale"
    );
    for k in &keys {
        let text =
            std::fs::read_to_string(repo(&format!("data/example_keys/{}.json", k.name))).unwrap();
        assert_eq!(&securebase::scoring::ScaleKey::from_json(&text).unwrap(), k);
    }
}

fn cohort() -> Data {
    Data::from_csv_path(repo("data/study_sessions.csv")).unwrap()
}

fn quick(plan: &mut Plan) {
    plan.bootstrap = 50;
    plan.draws = 500;
}

fn report() -> StudyReport {
    let mut plan = Plan::reference();
    quick(&mut plan);
    run(
        &cohort(),
        &plan,
        &StudyOptions::simulated(SessionParams::default().seed),
    )
    .unwrap()
}

#[test]
fn the_plans_analysis_agrees_with_r_on_the_embedded_cohort() {
    let r = load_json("study_sessions_reference.json");
    let rep = report();
    assert_eq!(rep.sessions as u64, r["sessions"].as_u64().unwrap());
    assert_eq!(rep.clients as u64, r["clients"].as_u64().unwrap());
    // α of every scale (client-level over clients, session-level pooled), psych::alpha.
    for x in &rep.reliability {
        close(
            &format!("alpha {}", x.scale),
            x.reliability.alpha,
            r["alpha"][&x.scale].as_f64().unwrap(),
            1e-8,
        );
    }
    // Per occasion.
    let mut checked = 0;
    for x in &rep.reliability_by_session {
        let session = x.rows.trim_start_matches("session ");
        let want = r["alpha_by_session"][&x.scale][session]
            .as_f64()
            .unwrap_or_else(|| panic!("{} {session}", x.scale));
        close(
            &format!("alpha {} {}", x.scale, x.rows),
            x.reliability.alpha,
            want,
            1e-8,
        );
        checked += 1;
    }
    let want_n: usize = r["alpha_by_session"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_object().unwrap().len())
        .sum();
    assert_eq!(checked, want_n);
    // ESAT equations, pooled and within-client, and Secure's correlations with its controls.
    for (name, key) in [
        ("esat_anx", "anx"),
        ("esat_avoid", "avoid"),
        ("esat_anx_within", "anx_within"),
        ("esat_avoid_within", "avoid_within"),
    ] {
        let (_, e) = rep.esat.iter().find(|(n, _)| n == name).unwrap();
        let coef = f64s(&r["esat"][key]["coef"]);
        let mine: Vec<f64> = if e.cluster.is_some() {
            e.slopes.clone()
        } else {
            std::iter::once(e.intercept)
                .chain(e.slopes.iter().copied())
                .collect()
        };
        close_all(&format!("{name} equation"), &mine, &coef, 1e-10);
        close(
            &format!("{name} R2"),
            e.r_squared,
            r["esat"][key]["r2"].as_f64().unwrap(),
            1e-10,
        );
    }
    for (_, c, v) in &rep.esat_correlations {
        let key = c.trim_start_matches("cats_");
        close(
            &format!("r with {c}"),
            *v,
            r["correlations"][key].as_f64().unwrap(),
            1e-10,
        );
    }
    // Every model: the REML criterion (never above lme4's), estimates, SEs, Satterthwaite df,
    // and the ICCs of performance::icc.
    for m in &rep.models {
        let want = &r["models"][&m.plan.name];
        let f = m.lmm.as_ref().unwrap();
        let name = &m.plan.name;
        let lme4 = want["reml"].as_f64().unwrap();
        assert!(
            f.objective() <= lme4 + 1e-6 * lme4,
            "{name}: REML {} above lme4's {lme4}",
            f.objective()
        );
        close(&format!("{name} REML"), f.objective(), lme4, 1e-6);
        assert_eq!(f.terms(), strs(&want["terms"]), "{name}");
        let est: Vec<f64> = f.coefficients().iter().map(|c| c.estimate).collect();
        let se: Vec<f64> = f.coefficients().iter().map(|c| c.std_error).collect();
        let df: Vec<f64> = f.coefficients().iter().map(|c| c.df).collect();
        close_all(
            &format!("{name} estimates"),
            &est,
            &f64s(&want["estimate"]),
            1e-4,
        );
        close_all(&format!("{name} SEs"), &se, &f64s(&want["se"]), 1e-4);
        close_all(&format!("{name} df"), &df, &f64s(&want["df"]), 1e-3);
        let icc = f.icc();
        close(
            &format!("{name} ICC adjusted"),
            icc.adjusted,
            want["icc"]["adjusted"].as_f64().unwrap(),
            1e-4,
        );
        close(
            &format!("{name} ICC conditional"),
            icc.conditional,
            want["icc"]["conditional"].as_f64().unwrap(),
            1e-4,
        );
        for g in &icc.by_group {
            close(
                &format!("{name} ICC {}", g.group),
                g.icc,
                want["icc"]["group"][&g.group].as_f64().unwrap(),
                1e-4,
            );
        }
        // The unconditional ICCs: the empty model on the same rows (performance::icc), each
        // inside its bootstrap interval.
        let u = m
            .unconditional
            .as_ref()
            .expect("a mixed model has unconditional ICCs");
        let wu = &want["unconditional"];
        assert_eq!(u.formula, wu["formula"].as_str().unwrap());
        close(
            &format!("{name} unconditional ICC"),
            u.total.0,
            wu["adjusted"].as_f64().unwrap(),
            1e-4,
        );
        for (g, v, ci) in &u.by_group {
            close(
                &format!("{name} unconditional ICC {g}"),
                *v,
                wu["group"][g].as_f64().unwrap(),
                1e-4,
            );
            assert!(ci[0] < *v && *v < ci[1], "{name} {g}: {v} outside {ci:?}");
        }
        assert_eq!(u.replicates, 200);
    }
    // The growth model's average curve lies inside its confidence band.
    let t = rep.trajectories.as_ref().unwrap();
    assert_eq!(t.band.len(), t.average.len());
    for ((s, m), (s2, lo, hi)) in t.average.iter().zip(&t.band) {
        assert!(
            s == s2 && lo < m && m < hi,
            "session {s}: {m} outside [{lo}, {hi}]"
        );
    }
    // The probe at the client level.
    let p = &rep.probes[0].probe;
    assert_eq!(p.moderator_level, "client");
    assert_eq!(p.n_units as u64, r["probe"]["n_clients"].as_u64().unwrap());
    for (s, want) in p
        .simple_slopes
        .iter()
        .zip(r["probe"]["slopes"].as_array().unwrap())
    {
        close("probe at", s.at, want["at"].as_f64().unwrap(), 1e-10);
        close(
            "probe slope",
            s.slope,
            want["slope"].as_f64().unwrap(),
            1e-4,
        );
        close("probe SE", s.std_error, want["se"].as_f64().unwrap(), 1e-4);
        close("probe df", s.df, want["df"].as_f64().unwrap(), 1e-3);
    }
    // The mediations: path estimates of the within/between decomposition.
    for (m, key) in rep.mediations.iter().zip(["mediation", "chain"]) {
        let want = &r[key];
        assert_eq!(m.fit.nobs as u64, want["nobs"].as_u64().unwrap());
        for e in &m.fit.effects {
            close(
                &format!("{key} {}", e.name),
                e.estimate,
                want[&e.name].as_f64().unwrap(),
                1e-4,
            );
        }
    }
    // Two against three levels.
    let l = rep.level_comparison.as_ref().unwrap();
    let row = &l.anova.rows[1];
    close(
        "LRT chisq",
        row.chisq.unwrap(),
        r["lrt"]["chisq"].as_f64().unwrap(),
        1e-4,
    );
    assert_eq!(row.df.unwrap() as u64, r["lrt"]["df"].as_u64().unwrap());
}

#[test]
fn the_report_tells_the_truth_first() {
    let rep = report();
    let md = rep.to_markdown();
    let head: String = md.lines().take(4).collect::<Vec<_>>().join("\n");
    assert!(head.contains("Simulated data, synthetic keys"), "{head}");
    assert!(
        head.contains("--plan my_plan.json --data my_sessions.csv"),
        "{head}"
    );
    for section in [
        "## 1. Scales",
        "## 2. Individuated-secure",
        "## 3. Models",
        "## 4. Moderation",
        "## 5. Mediation",
        "## 6. Two levels",
    ] {
        assert!(md.contains(section), "{section}");
    }
    // Labels, signed J–N verdicts with the possible range, one p format, standardized effects.
    assert!(md.contains("| `ecr_anx` | attachment anxiety (ECR) |"));
    assert!(md.contains("possible scores 1.000 to 7.000"));
    assert!(md.contains("| β |"));
    // The plots: trajectories, J–N, two path diagrams, each a complete SVG.
    let plots = rep.plots();
    let names: Vec<&str> = plots.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "trajectories",
            "johnson_neyman_moderation",
            "paths_anxiety_esat_autonomy",
            "paths_et_graf"
        ]
    );
    for (n, svg) in &plots {
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{n}"
        );
    }
    assert!(plots[0].1.matches("<polyline").count() >= 20);
    // Every result serializes.
    let json: Value = serde_json::to_value(&rep).unwrap();
    assert!(json["models"].as_array().unwrap().len() == 4);
}

#[test]
fn the_simulated_cohort_shows_the_published_pattern_over_seeds() {
    // The default seed and five others: ESAT_avoid → lower autonomy; engagement and ESAT_anx →
    // larger decreases in interpersonal problems; the anxiety × ESAT interaction mostly not
    // significant; the ET-GRAF chain's indirect effect not supported.
    let mut plan = Plan::reference();
    quick(&mut plan);
    plan.probes.clear();
    plan.level_comparison = None;
    plan.trajectories = None;
    plan.esat.truncate(2);
    plan.mediations.retain(|m| m.name == "et_graf");
    plan.draws = 2000;
    let mut interaction_ns = 0;
    let seeds = [SessionParams::default().seed, 1, 2, 3, 4, 5];
    for seed in seeds {
        let mut p = SessionParams::default();
        p.seed = seed;
        let d = simulate_sessions(&p).unwrap();
        let rep = run(&d, &plan, &StudyOptions::simulated(seed)).unwrap();
        let coef = |model: &str, term: &str| {
            let m = rep.models.iter().find(|m| m.plan.name == model).unwrap();
            m.lmm.as_ref().unwrap().coefficient(term).unwrap().clone()
        };
        let avoid = coef("autonomy_growth", "esat_avoid_cm");
        assert!(
            avoid.estimate < 0.0 && avoid.ci[1] < 0.0,
            "seed {seed}: ESAT_avoid {avoid:?}"
        );
        for term in ["engagement_cm", "esat_anx_cm"] {
            let c = coef("outcome", term);
            assert!(c.estimate < 0.0 && c.p < 0.05, "seed {seed}: {term} {c:?}");
        }
        interaction_ns += usize::from(coef("moderation", "ecr_anx:esat_anx_cm").p > 0.05);
        let chain = &rep.mediations[0];
        let ci = chain
            .monte_carlo
            .effects
            .iter()
            .find(|e| e.name == "ind12_between")
            .unwrap()
            .ci;
        assert!(
            ci[0] < 0.0 && 0.0 < ci[1],
            "seed {seed}: the full chain {ci:?}"
        );
    }
    assert!(
        interaction_ns >= 4,
        "the interaction was not significant in only {interaction_ns} of 6 seeds"
    );
}

#[test]
fn a_bad_plan_gives_every_problem_at_once() {
    let text = include_str!("../src/study/reference_plan.json")
        .replace(
            "esat_avoid_cm + ecr_anx",
            "esat_avoid_cm + nope_column + ecr_anx",
        )
        .replace("\"key\": \"example-tds\"", "\"key\": \"no-such-key\"")
        .replace("\"iip_post - iip_pre\"", "\"iip_post - iip_pree\"");
    let plan = Plan::from_json(&text).unwrap();
    let e = run(&cohort(), &plan, &StudyOptions::simulated(1)).unwrap_err();
    let Error::Plan { problems } = &e else {
        panic!("{e}")
    };
    let all = problems.join("\n");
    assert!(all.contains("no-such-key"), "{all}");
    assert!(all.contains("iip_pree"), "{all}");
    assert!(all.contains("nope_column"), "{all}");
    // Without TDS scored, engagement and autonomy are unknown too — all listed, not just the first.
    assert!(
        all.contains("'engagement'") && all.contains("'autonomy'"),
        "{all}"
    );
    assert!(problems.len() >= 5, "{all}");
    // Unknown fields and internal inconsistencies.
    let e = Plan::from_json(
        &include_str!("../src/study/reference_plan.json").replace("\"probes\"", "\"probe\""),
    )
    .unwrap_err();
    assert!(e.to_string().contains("did you mean 'probes'?"), "{e}");
    let e = Plan::from_json(
        &include_str!("../src/study/reference_plan.json")
            .replace("\"model\": \"moderation\"", "\"model\": \"nope\""),
    )
    .unwrap_err();
    assert!(e.to_string().contains("names no model"), "{e}");
}

#[test]
fn a_users_plan_runs_on_a_users_file() {
    // A small study of its own: different column names, one instrument from a key file.
    let dir = std::env::temp_dir().join(format!("securebase-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut p = SessionParams::default();
    p.clients = 80;
    p.therapists = 12;
    let mut d = simulate_sessions(&p).unwrap();
    d.rename("client", "patient").unwrap();
    d.rename("session", "visit").unwrap();
    let mut csv = Vec::new();
    d.write_csv(&mut csv).unwrap();
    std::fs::write(dir.join("visits.csv"), csv).unwrap();
    let tds = example_keys()
        .into_iter()
        .find(|k| k.name == "example-tds")
        .unwrap();
    std::fs::write(dir.join("tds.json"), tds.to_json()).unwrap();
    let plan = serde_json::json!({
        "format": "securebase-plan/1",
        "name": "A plan of one's own",
        "ids": {"client": "patient", "session": "visit"},
        "instruments": [{"key": "tds.json", "level": "session"}, {"key": "example-ecr", "level": "client", "prefix": "ecr_"}],
        "split": ["engagement"],
        "models": [{"name": "growth", "formula": "autonomy ~ visit + engagement_wc + engagement_cm + ecr_anx + (visit | patient)"}],
        "mediations": [{"name": "m", "x": "ecr_anx", "m": ["engagement"], "y": "autonomy"}],
        "bootstrap": 20, "draws": 200
    });
    std::fs::write(dir.join("plan.json"), plan.to_string()).unwrap();
    let plan = Plan::from_path(dir.join("plan.json")).unwrap();
    let data = Data::from_csv_path(dir.join("visits.csv")).unwrap();
    let rep = run(
        &data,
        &plan,
        &StudyOptions::file("visits.csv", Some(dir.clone())),
    )
    .unwrap();
    assert_eq!(rep.clients, 80);
    assert!(rep.therapists.is_none());
    assert_eq!(rep.mediations[0].fit.design.name(), "2-1-1");
    let md = rep.to_markdown();
    assert!(
        md.contains("This report analyses the file visits.csv"),
        "{md}"
    );
    assert!(md.contains("**Synthetic keys**"), "{md}");
    std::fs::remove_dir_all(&dir).ok();
}
