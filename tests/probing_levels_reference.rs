//! Probing at the moderator's level and slopes over grids, against lmerTest::contest,
//! uniroot and emmeans::emtrends (tests/reference/probing.R → tests/fixtures/mlmed/probing.*).
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::{close, close_all, f64s, fixture, load_json, strs};
use securebase::probe::{At, DfMethod, ModeratorLevel, Observed, ProbeSpec, trends};
use securebase::{Criterion, Data, LmmSpec, Ols};

fn data() -> Data {
    Data::from_csv_path(fixture("mlmed/probing.csv")).unwrap()
}

#[test]
fn a_client_level_moderator_is_summarized_over_clients() {
    let r = &load_json("mlmed/probing.json")["level"];
    let fit = LmmSpec::new(
        &data(),
        "engage ~ secure * anx + session + (1 | client) + (1 | therapist)",
    )
    .unwrap()
    .fit(Criterion::Reml)
    .unwrap();
    let p = ProbeSpec::new("secure", "anx").run(&fit).unwrap();
    assert_eq!(p.moderator_level, "client");
    assert_eq!(p.n_units as u64, r["n_clients"].as_u64().unwrap());
    let (mean, sd) = (r["mean"].as_f64().unwrap(), r["sd"].as_f64().unwrap());
    let want_at = [mean - sd, mean, mean + sd];
    for (s, (want, at)) in p
        .simple_slopes
        .iter()
        .zip(r["slopes"].as_array().unwrap().iter().zip(want_at))
    {
        close("at (over clients)", s.at, at, 1e-12);
        close("slope", s.slope, want["slope"].as_f64().unwrap(), 1e-4);
        close("SE", s.std_error, want["se"].as_f64().unwrap(), 1e-4);
        close("Satterthwaite df", s.df, want["df"].as_f64().unwrap(), 1e-3);
        close("p", s.p, want["p"].as_f64().unwrap(), 1e-3);
    }
    let jn = &p.johnson_neyman;
    close_all("J-N bounds", &jn.bounds.unwrap(), &f64s(&r["bounds"]), 1e-4);
    let shares: Vec<f64> = jn.regions.iter().map(|g| g.share).collect();
    close_all("shares over clients", &shares, &f64s(&r["shares"]), 1e-12);
    // Both regions above the observed anxiety of every client are marked as outside it; the
    // one below is partly inside, significant, and says the slope's sign.
    assert_eq!(jn.regions[1].observed, Observed::Outside);
    assert_eq!(jn.regions[2].observed, Observed::Outside);
    assert_eq!(jn.regions[0].observed, Observed::Partly);
    let verdict = jn.regions[0].verdict();
    assert!(
        verdict.starts_with("significant, positive")
            || verdict.starts_with("significant, negative"),
        "{verdict}"
    );
    assert!(
        jn.regions[2]
            .verdict()
            .contains("outside the observed range")
    );
    assert!(p.to_string().contains("over 330 client units"), "{p}");
    // The row-level choice is kept as an option: the moments are over session rows then.
    let rows = ProbeSpec::new("secure", "anx")
        .moderator_level(ModeratorLevel::Rows)
        .run(&fit)
        .unwrap();
    assert_eq!(rows.moderator_level, "rows");
    let rmean = r["row_mean"].as_f64().unwrap();
    close("row-level mean", rows.simple_slopes[1].at, rmean, 1e-12);
}

#[test]
fn categorical_moderator_matches_emtrends_and_pairs() {
    let r = &load_json("mlmed/probing.json")["categorical"];
    let fit = LmmSpec::new(&data(), "engage ~ secure * stage + anx + (1 | client)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    let t = trends(
        &fit,
        "secure",
        &[("stage", At::Levels(vec![]))],
        DfMethod::Model,
        0.95,
    )
    .unwrap();
    let levels: Vec<String> = t.trends.iter().map(|x| x.at[0].1.clone()).collect();
    assert_eq!(levels, strs(&r["levels"]));
    let get = |f: fn(&securebase::Coefficient) -> f64| -> Vec<f64> {
        t.trends.iter().map(|x| f(&x.slope)).collect()
    };
    close_all("slopes", &get(|c| c.estimate), &f64s(&r["slope"]), 1e-4);
    close_all("SEs", &get(|c| c.std_error), &f64s(&r["se"]), 1e-4);
    close_all("df", &get(|c| c.df), &f64s(&r["df"]), 1e-3);
    let names: Vec<String> = t.contrasts.iter().map(|c| c.term.clone()).collect();
    assert_eq!(names, strs(&r["contrast"]));
    let est: Vec<f64> = t.contrasts.iter().map(|c| c.estimate).collect();
    let se: Vec<f64> = t.contrasts.iter().map(|c| c.std_error).collect();
    let df: Vec<f64> = t.contrasts.iter().map(|c| c.df).collect();
    let p: Vec<f64> = t.contrasts.iter().map(|c| c.p).collect();
    close_all("differences", &est, &f64s(&r["diff"]), 1e-4);
    close_all("difference SEs", &se, &f64s(&r["diff_se"]), 1e-4);
    close_all("difference df", &df, &f64s(&r["diff_df"]), 1e-3);
    close_all("difference p", &p, &f64s(&r["diff_p"]), 1e-3);
}

#[test]
fn three_way_and_growth_slopes_match_emtrends() {
    let r = load_json("mlmed/probing.json");
    let d = data();
    let fit = LmmSpec::new(&d, "engage ~ secure * anx * session + (1 | client)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    let t = trends(
        &fit,
        "secure",
        &[
            ("anx", At::Values(vec![-1.0, 0.0, 1.0])),
            ("session", At::Values(vec![2.0, 8.0, 14.0])),
        ],
        DfMethod::Model,
        0.95,
    )
    .unwrap();
    let s = &r["three"];
    let at_anx: Vec<f64> = t
        .trends
        .iter()
        .map(|x| x.at[0].1.parse().unwrap())
        .collect();
    let at_session: Vec<f64> = t
        .trends
        .iter()
        .map(|x| x.at[1].1.parse().unwrap())
        .collect();
    assert_eq!(at_anx, f64s(&s["anx"]));
    assert_eq!(at_session, f64s(&s["session"]));
    let est: Vec<f64> = t.trends.iter().map(|x| x.slope.estimate).collect();
    let se: Vec<f64> = t.trends.iter().map(|x| x.slope.std_error).collect();
    let df: Vec<f64> = t.trends.iter().map(|x| x.slope.df).collect();
    close_all("three-way slopes", &est, &f64s(&s["slope"]), 1e-4);
    close_all("three-way SEs", &se, &f64s(&s["se"]), 1e-4);
    close_all("three-way df", &df, &f64s(&s["df"]), 1e-3);
    // Growth: I(session^2) evaluated at each session.
    let fit = LmmSpec::new(
        &d,
        "engage ~ secure * (session + I(session^2)) + (1 | client)",
    )
    .unwrap()
    .fit(Criterion::Reml)
    .unwrap();
    let t = trends(
        &fit,
        "secure",
        &[("session", At::Values(vec![1.0, 6.0, 12.0]))],
        DfMethod::Model,
        0.95,
    )
    .unwrap();
    let g = &r["growth"];
    let est: Vec<f64> = t.trends.iter().map(|x| x.slope.estimate).collect();
    let se: Vec<f64> = t.trends.iter().map(|x| x.slope.std_error).collect();
    let df: Vec<f64> = t.trends.iter().map(|x| x.slope.df).collect();
    close_all("growth slopes", &est, &f64s(&g["slope"]), 1e-4);
    close_all("growth SEs", &se, &f64s(&g["se"]), 1e-4);
    close_all("growth df", &df, &f64s(&g["df"]), 1e-3);
}

#[test]
fn ols_categorical_moderator_matches_emtrends() {
    let r = &load_json("mlmed/probing.json")["ols"];
    let iris = Data::from_csv_path(fixture("iris.csv")).unwrap();
    let fit = Ols::fit(&iris, "Sepal.Length ~ Petal.Length * Species").unwrap();
    let t = trends(
        &fit,
        "Petal.Length",
        &[("Species", At::Levels(vec![]))],
        DfMethod::Model,
        0.95,
    )
    .unwrap();
    let est: Vec<f64> = t.trends.iter().map(|x| x.slope.estimate).collect();
    let se: Vec<f64> = t.trends.iter().map(|x| x.slope.std_error).collect();
    close_all("slopes", &est, &f64s(&r["slope"]), 1e-8);
    close_all("SEs", &se, &f64s(&r["se"]), 1e-8);
    assert!(t.trends.iter().all(|x| x.slope.df == 144.0));
    let names: Vec<String> = t.contrasts.iter().map(|c| c.term.clone()).collect();
    assert_eq!(names, strs(&r["contrast"]));
    let d: Vec<f64> = t.contrasts.iter().map(|c| c.estimate).collect();
    close_all("differences", &d, &f64s(&r["diff"]), 1e-8);
    // Bad grids are clear errors.
    assert!(trends(&fit, "Species", &[], DfMethod::Model, 0.95).is_err());
    assert!(
        trends(
            &fit,
            "Petal.Length",
            &[("Species", At::Levels(vec!["nope".into()]))],
            DfMethod::Model,
            0.95
        )
        .is_err()
    );
    assert!(
        trends(
            &fit,
            "Petal.Length",
            &[("Species", At::Values(vec![1.0]))],
            DfMethod::Model,
            0.95
        )
        .is_err()
    );
    assert!(
        trends(
            &fit,
            "Petal.Length",
            &[("Sepal.Width", At::Values(vec![1.0]))],
            DfMethod::Model,
            0.95
        )
        .is_err()
    );
}
