//! Declared levels on a long session file (tests/reference/levels.R → tests/fixtures/levels/):
//! every trap of a long file either gets the analysis at the right level — equal to R on one
//! row per client — or a refusal that names the variable and the way out.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::*;
use securebase::data::{ByGroup, FillDirection, Levels};
use securebase::error::LevelProblem;
use securebase::mediation::{BootstrapOptions, Mediation};
use securebase::scoring::{MissingItems, load_key, reliability, reliability_clustered};
use securebase::{Criterion, Data, Error, LmmSpec, Ols};
use serde_json::Value;

fn raw() -> Data {
    Data::from_csv_path(fixture("levels/sessions.csv")).unwrap()
}

fn sessions() -> Data {
    raw()
        .with_levels(Levels::new(&["therapist", "client"]).time("session"))
        .unwrap()
}

fn reference() -> Value {
    load_json("levels/reference.json")
}

#[track_caller]
fn same_lm(what: &str, fit: &securebase::OlsFit, r: &Value) {
    assert_eq!(fit.terms(), strs(&r["terms"]), "{what}: terms");
    let est: Vec<f64> = fit.coefficients().iter().map(|c| c.estimate).collect();
    let se: Vec<f64> = fit.coefficients().iter().map(|c| c.std_error).collect();
    close_all(
        &format!("{what}: estimates"),
        &est,
        &f64s(&r["estimate"]),
        1e-9,
    );
    close_all(&format!("{what}: SEs"), &se, &f64s(&r["se"]), 1e-9);
    assert_eq!(fit.nobs() as u64, r["n"].as_u64().unwrap(), "{what}: n");
    close(
        &format!("{what}: df"),
        fit.df_residual(),
        r["df"].as_f64().unwrap(),
        1e-12,
    );
    close(
        &format!("{what}: sigma"),
        fit.sigma(),
        r["sigma"].as_f64().unwrap(),
        1e-9,
    );
}

/// The fit equals lmer/lmerTest: n, the REML criterion, fixed effects, SEs, Satterthwaite df.
#[track_caller]
fn same_lmer(what: &str, fit: &securebase::LmmFit, r: &Value) {
    assert_eq!(fit.nobs() as u64, r["n"].as_u64().unwrap(), "{what}: n");
    let c = fit.coefficients();
    let col = |f: fn(&securebase::Coefficient) -> f64| c.iter().map(f).collect::<Vec<f64>>();
    close(
        &format!("{what}: REML criterion"),
        fit.objective(),
        r["deviance_reml"].as_f64().unwrap(),
        1e-7,
    );
    close_all(
        &format!("{what}: fixed effects"),
        &col(|c| c.estimate),
        &f64s(&r["estimate"]),
        1e-5,
    );
    close_all(
        &format!("{what}: SEs"),
        &col(|c| c.std_error),
        &f64s(&r["se"]),
        1e-5,
    );
    close_all(
        &format!("{what}: Satterthwaite df"),
        &col(|c| c.df),
        &f64s(&r["df"]),
        1e-4,
    );
}

#[test]
fn describe_gives_each_variable_its_level() {
    let d = sessions();
    let r = reference();
    let t = d.describe().unwrap();
    assert_eq!(t.rows as u64, r["n_rows"].as_u64().unwrap());
    let units: Vec<usize> = t.units.iter().map(|u| u.1).collect();
    assert_eq!(
        units,
        [
            r["n_therapists"].as_u64().unwrap() as usize,
            r["n_clients"].as_u64().unwrap() as usize
        ]
    );
    let level = |v: &str| d.level_of(v).unwrap();
    assert_eq!(level("th_years").level, "therapist");
    assert_eq!(level("ecr_anx").level, "client");
    assert_eq!(level("e1").level, "client");
    assert_eq!(level("engagement").level, "session");
    assert_eq!(level("s1").level, "session");
    // Stored on each client's first row only: client-level, partly filled in every client.
    let pre = level("iip_pre");
    assert_eq!(pre.level, "client");
    assert_eq!(pre.partly_filled, 147);
    let text = t.to_string();
    assert!(
        text.contains("iip_pre") && text.contains("therapist"),
        "{text}"
    );
}

#[test]
fn a_client_level_fit_on_the_long_file_uses_one_row_per_client_as_lm_does() {
    let r = reference();
    // Without declared levels the rows are taken as they are: with the baseline filled down,
    // lm on the 1,025 session rows (R's number too) has an SE a third of the right one.
    let filled = {
        let mut d = sessions();
        d.fill(&["iip_pre", "iip_post"], &["client"], FillDirection::DownUp)
            .unwrap();
        d
    };
    let mut naive = filled.clone();
    naive.set_levels(None).unwrap();
    same_lm(
        "session rows (the trap)",
        &Ols::fit(&naive, "iip_post ~ iip_pre").unwrap(),
        &r["lm_rows_filled"],
    );
    // Declared: one row per client, from the first-row layout and from the filled file alike.
    for (what, d) in [("first-row layout", sessions()), ("filled", filled)] {
        let fit = Ols::fit(&d, "iip_post ~ iip_pre").unwrap();
        same_lm(what, &fit, &r["lm_client"]);
        let unit = fit.missing().unit.as_ref().expect("the unit is reported");
        assert_eq!(
            (unit.level.as_str(), unit.units, unit.from_rows),
            ("client", 147, 1032)
        );
        assert_eq!(fit.missing().n_dropped(), 9, "clients without iip_post");
        let text = fit.to_string();
        assert!(
            text.contains("147 client units, one row each from 1032 session rows"),
            "{text}"
        );
    }
    same_lm(
        "client and therapist predictors",
        &Ols::fit(&sessions(), "iip_post ~ ecr_anx + th_years").unwrap(),
        &r["lm_client_th"],
    );
}

#[test]
fn a_client_level_mixed_model_uses_one_row_per_client_as_lmer_does() {
    let r = &reference()["lmer_client"];
    let spec = LmmSpec::new(&sessions(), "iip_post ~ iip_pre + (1 | therapist)").unwrap();
    let fit = spec.fit(Criterion::Reml).unwrap();
    assert_eq!(fit.nobs(), 138);
    same_lmer("client-level lmer", &fit, r);
    let vars = f64s(&r["vcov_var"]);
    close(
        "therapist variance",
        fit.varcorr()[0].variance[0],
        vars[0],
        1e-4,
    );
    close("residual variance", fit.sigma().powi(2), vars[1], 1e-5);
    assert!(fit.missing().unit.is_some());
}

#[test]
fn a_client_level_outcome_with_a_session_predictor_is_refused_with_the_ways_out() {
    let e = Ols::fit(&sessions(), "iip_post ~ iip_pre + engagement").unwrap_err();
    match &e {
        Error::Level { kind, names, .. } => {
            assert_eq!(*kind, LevelProblem::ResponseAbovePredictor);
            assert!(names.contains(&"engagement".to_string()), "{names:?}");
        }
        other => panic!("{other:?}"),
    }
    let msg = e.to_string();
    assert!(msg.contains("mean_by(engagement, client)"), "{msg}");
    // The way out: the client mean (or first, last, SD), equal to R's on one row per client.
    let r = reference();
    for (f, name, key) in [
        (ByGroup::Mean, "eng_mean", "lm_client_mean"),
        (ByGroup::First, "eng_first", "lm_client_first"),
        (ByGroup::Last, "eng_last", "lm_client_last"),
        (ByGroup::Sd, "eng_sd", "lm_client_sd"),
    ] {
        let mut d = sessions();
        let v = d.by_group("engagement", "client", f).unwrap();
        d.add_column(name, securebase::Column::Numeric(v.into_iter().collect()))
            .unwrap();
        let fit = Ols::fit(&d, &format!("iip_post ~ iip_pre + {name}")).unwrap();
        same_lm(key, &fit, &r[key]);
    }
}

#[test]
fn group_mean_centring_gives_lmers_within_and_between_effects() {
    let r = &reference()["lmer_centered"];
    let mut d = sessions();
    for (name, f) in [("eng_cm", ByGroup::Mean), ("eng_cwc", ByGroup::Center)] {
        let v = d.by_group("engagement", "client", f).unwrap();
        d.add_column(name, securebase::Column::Numeric(v.into_iter().collect()))
            .unwrap();
    }
    let fit = LmmSpec::new(&d, "autonomy ~ eng_cwc + eng_cm + (1 | client)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    same_lmer("within and between", &fit, r);
}

#[test]
fn a_first_row_baseline_in_a_session_model_is_refused_until_filled_then_equals_lmer() {
    let e = LmmSpec::new(&sessions(), "engagement ~ iip_pre + session + (1 | client)").unwrap_err();
    match &e {
        Error::Level { kind, names, .. } => {
            assert_eq!(*kind, LevelProblem::PartlyFilled);
            assert_eq!(names[0], "iip_pre");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("Data::fill"), "{e}");
    let mut d = sessions();
    let filled = d
        .fill(&["iip_pre"], &["client"], FillDirection::DownUp)
        .unwrap();
    assert_eq!(filled, [("iip_pre".to_string(), 1032 - 147)]);
    let r = &reference()["lmer_filled"];
    let fit = LmmSpec::new(&d, "engagement ~ iip_pre + session + (1 | client)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    same_lmer("filled baseline", &fit, r);
}

#[test]
fn a_client_variable_is_standardized_over_clients() {
    let r = reference();
    let z = sessions().standardize("iip_pre").unwrap();
    assert_eq!((z.level.as_str(), z.units), ("client", 147));
    close(
        "SD over clients",
        z.sd,
        r["sd_iip_pre_clients"].as_f64().unwrap(),
        1e-12,
    );
    let mut d = sessions();
    d.add_column(
        "z_pre",
        securebase::Column::Numeric(z.values.into_iter().collect()),
    )
    .unwrap();
    let fit = Ols::fit(&d, "iip_post ~ z_pre").unwrap();
    let b = fit.coefficient("z_pre").unwrap().estimate;
    close(
        "slope per client SD",
        b,
        f64s(&r["lm_scale_clients"]["estimate"])[1],
        1e-9,
    );
    // scale() inside a formula on a long file says which rows it standardized over.
    let fit = Ols::fit(&sessions(), "iip_post ~ scale(iip_pre)").unwrap();
    assert!(
        fit.missing()
            .notes
            .iter()
            .any(|n| n.contains("147 client rows")),
        "{:?}",
        fit.missing().notes
    );
}

#[test]
fn the_client_file_joins_many_to_one_with_unmatched_ids_counted() {
    let r = &reference()["join"];
    let clients = Data::from_csv_path(fixture("levels/clients.csv")).unwrap();
    let j = sessions().left_join(&clients, &["client"]).unwrap();
    assert_eq!(j.data.nrows() as u64, r["rows"].as_u64().unwrap());
    assert_eq!(
        j.unmatched_left as u64,
        r["rows_unmatched"].as_u64().unwrap()
    );
    assert_eq!(
        j.unmatched_right as u64,
        r["client_rows_unused"].as_u64().unwrap()
    );
    assert!(j.data.levels().is_some(), "the join keeps the levels");
    assert_eq!(j.data.level_of("age").unwrap().level, "client");
    same_lm(
        "after the join",
        &Ols::fit(&j.data, "iip_post ~ iip_pre + age").unwrap(),
        &r["lm"],
    );
}

#[test]
fn a_once_per_client_instrument_is_reliable_over_clients_as_psych_alpha_says() {
    let r = reference();
    let key = load_key(fixture("levels/once_key.json").to_str().unwrap()).unwrap();
    let mut flat = sessions();
    flat.set_levels(None).unwrap();
    let rows = &reliability(&flat, &key, MissingItems::Pairwise).unwrap()[0];
    assert_eq!(
        rows.n_complete, 1032,
        "the trap: every session row a respondent"
    );
    close(
        "α over rows",
        rows.alpha,
        r["alpha_rows"]["raw_alpha"].as_f64().unwrap(),
        1e-9,
    );
    let rel = &reliability(&sessions(), &key, MissingItems::Pairwise).unwrap()[0];
    let a = &r["alpha_client"];
    assert_eq!(rel.n_complete as u64, a["n"].as_u64().unwrap());
    close(
        "α over clients",
        rel.alpha,
        a["raw_alpha"].as_f64().unwrap(),
        1e-9,
    );
    close(
        "std α",
        rel.std_alpha,
        a["std_alpha"].as_f64().unwrap(),
        1e-9,
    );
    close_all("Feldt over clients", &rel.feldt, &f64s(&a["feldt"]), 1e-6);
    assert_eq!(rel.unit.as_ref().unwrap().units, 147);
    assert!(rel.to_string().contains("147 client units"), "{rel}");
}

#[test]
fn a_repeated_instrument_gets_cluster_bootstrap_intervals_not_feldts() {
    let r = reference();
    let key = load_key(fixture("levels/repeated_key.json").to_str().unwrap()).unwrap();
    let rel = &reliability(&sessions(), &key, MissingItems::Pairwise).unwrap()[0];
    close(
        "α over rows",
        rel.alpha,
        r["alpha_repeated_rows"].as_f64().unwrap(),
        1e-9,
    );
    let nested = rel.nested.as_ref().expect("nested rows are flagged");
    assert_eq!((nested.units, nested.rows), (147, 1032));
    let text = rel.to_string();
    assert!(!text.contains("Feldt 95%"), "{text}");
    assert!(text.contains("no interval shown"), "{text}");
    let rel = &reliability_clustered(
        &sessions(),
        &key,
        MissingItems::Pairwise,
        "client",
        &BootstrapOptions::new(400, 2024),
    )
    .unwrap()[0];
    let b = rel.cluster_bootstrap.as_ref().unwrap();
    assert_eq!(b.clusters, 147);
    let w = |x: [f64; 2]| x[1] - x[0];
    // Wider than Feldt's row-level interval, which treats 1,032 rows as independent.
    assert!(
        w(b.alpha.percentile) > 1.5 * w(rel.feldt),
        "{b} vs {:?}",
        rel.feldt
    );
    assert!(b.alpha.percentile[0] < rel.alpha && rel.alpha < b.alpha.percentile[1]);
    let bca = b.alpha.bca.unwrap();
    assert!(bca[0] < rel.alpha && rel.alpha < bca[1]);
    let o = b.omega_total.as_ref().unwrap();
    assert!(
        o.percentile[0] < rel.omega_total.unwrap() && rel.omega_total.unwrap() < o.percentile[1]
    );
    // The same seed gives the same interval.
    let again = &reliability_clustered(
        &sessions(),
        &key,
        MissingItems::Pairwise,
        "client",
        &BootstrapOptions::new(400, 2024),
    )
    .unwrap()[0];
    assert_eq!(again.cluster_bootstrap, rel.cluster_bootstrap);
}

#[test]
fn single_level_mediation_on_nested_rows_is_refused_naming_the_ways_out() {
    let d = sessions();
    let e = Mediation::new("ecr_anx", &["engagement"], "autonomy")
        .fit(&d)
        .unwrap_err();
    match &e {
        Error::Level { kind, .. } => assert_eq!(*kind, LevelProblem::NestedRows),
        other => panic!("{other:?}"),
    }
    let msg = e.to_string();
    for way in [
        "Mediation::cluster",
        "MultilevelMediation",
        "Mediation::blended",
    ] {
        assert!(msg.contains(way), "{msg}");
    }
    // Asked for explicitly, each runs.
    Mediation::new("ecr_anx", &["engagement"], "autonomy")
        .blended(true)
        .fit(&d)
        .unwrap();
    // Without declared levels nothing is known about the nesting (the old behaviour).
    let mut flat = d.clone();
    flat.set_levels(None).unwrap();
    Mediation::new("ecr_anx", &["engagement"], "autonomy")
        .fit(&flat)
        .unwrap();
}

#[test]
fn a_client_under_two_therapists_is_an_error_unless_partial_crossing_is_declared() {
    let mut d = raw();
    // Move one session of client 1001 to another therapist.
    let mut t: Vec<String> = (0..d.nrows())
        .map(|r| d.column("therapist").unwrap().value_text(r))
        .collect();
    t[1] = "t02".into();
    let t: Vec<Option<&str>> = t.iter().map(|s| Some(s.as_str())).collect();
    d.replace_column(
        "therapist",
        securebase::Column::Categorical(securebase::data::Factor::from_strings(&t)),
    )
    .unwrap();
    let e = d
        .clone()
        .with_levels(Levels::new(&["therapist", "client"]))
        .unwrap_err();
    match &e {
        Error::Level { kind, names, .. } => {
            assert_eq!(*kind, LevelProblem::Crossed);
            assert_eq!(names, &["client", "therapist", "1001"]);
        }
        other => panic!("{other:?}"),
    }
    d.with_levels(Levels::new(&["therapist", "client"]).partially_crossed(true))
        .unwrap();
}

mod plan {
    use super::*;
    use securebase::study::{Plan, StudyOptions, run};

    fn plan(models: &str) -> Plan {
        Plan::from_json(&format!(
            r#"{{
  "format": "securebase-plan/1",
  "name": "levels fixture",
  "ids": {{"therapist": "therapist", "client": "client", "session": "session"}},
  "client_file": "clients.csv",
  "fill": ["iip_pre", "iip_post"],
  "instruments": [{{"key": "once_key.json", "level": "client", "prefix": "once_"}}],
  "derived": [
    {{"name": "eng_mean", "expr": "mean_by(engagement, client)"}},
    {{"name": "eng_cwc", "expr": "center(engagement, client)"}},
    {{"name": "z_pre", "expr": "scale(iip_pre)"}},
    {{"name": "change", "expr": "iip_post - first_by(iip_pre, client)"}}
  ],
  "models": [{models}],
  "bootstrap": 20, "draws": 200
}}"#
        ))
        .unwrap()
    }

    fn options() -> StudyOptions {
        StudyOptions::file("sessions.csv", Some(fixture("levels")))
    }

    #[test]
    fn a_plan_joins_the_client_file_fills_and_derives_at_the_clients_level() {
        let r = reference();
        let p = plan(
            r#"{"name": "mean", "formula": "iip_post ~ iip_pre + eng_mean", "level": "client"},
               {"name": "scaled", "formula": "iip_post ~ z_pre", "level": "client"},
               {"name": "joined", "formula": "iip_post ~ iip_pre + age", "level": "client"},
               {"name": "within", "formula": "autonomy ~ eng_cwc + eng_mean + (1 | client)"}"#,
        );
        let report = run(&raw(), &p, &options()).unwrap();
        let ols = |name: &str| {
            report
                .models
                .iter()
                .find(|m| m.plan.name == name)
                .and_then(|m| m.ols.clone())
                .unwrap()
        };
        same_lm("plan: client mean", &ols("mean"), &r["lm_client_mean"]);
        let z = ols("scaled");
        close(
            "plan: scale() over clients",
            z.coefficients()[1].estimate,
            f64s(&r["lm_scale_clients"]["estimate"])[1],
            1e-9,
        );
        same_lm("plan: the client file", &ols("joined"), &r["join"]["lm"]);
        let within = report
            .models
            .iter()
            .find(|m| m.plan.name == "within")
            .unwrap();
        same_lmer(
            "plan: centring within clients",
            within.lmm.as_ref().unwrap(),
            &r["lmer_centered"],
        );
        let notes = report.data_notes.join("\n");
        let j = &r["join"];
        assert!(
            notes.contains(&format!(
                "session rows without a client row: {}; client rows without sessions: {}",
                j["rows_unmatched"], j["client_rows_unused"]
            )),
            "{notes}"
        );
        assert!(
            notes.contains("fill: 885 missing values of 'iip_pre'"),
            "{notes}"
        );
        // The once-per-client instrument's reliability is over the 147 clients.
        let md = report.to_markdown();
        assert!(md.contains("Data step: client file"), "{md}");
    }

    #[test]
    fn a_session_varying_variable_in_a_client_model_is_an_error_naming_it() {
        let p = plan(
            r#"{"name": "bad", "formula": "iip_post ~ iip_pre + engagement", "level": "client"}"#,
        );
        let e = run(&raw(), &p, &options()).unwrap_err();
        match &e {
            Error::Level { kind, names, .. } => {
                assert_eq!(*kind, LevelProblem::SessionVarying);
                assert_eq!(names[0], "engagement");
            }
            other => panic!("{other:?}"),
        }
        let msg = e.to_string();
        assert!(
            msg.contains("mean_by(engagement, client)") && msg.contains("first_by"),
            "{msg}"
        );
    }
}

#[test]
fn a_client_twice_in_the_client_file_is_an_error_naming_the_key() {
    let clients = Data::from_csv_path(fixture("levels/clients.csv")).unwrap();
    let twice = clients.select_rows(&[0, 1, 1]).unwrap();
    let e = sessions().left_join(&twice, &["client"]).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("client"), "{msg}");
    assert!(matches!(e, Error::InvalidValue { .. }), "{e:?}");
}
