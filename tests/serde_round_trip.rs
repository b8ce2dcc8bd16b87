//! Every result and input type serializes to JSON and reads back to the same value (written
//! again, the JSON is identical; where the type has `PartialEq`, the values are equal). Non-
//! finite numbers (an infinite df, NaN) survive; fits read back are whole again (they refit
//! on their data) and refuse numbers that do not belong to their data; ragged data are refused.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::*;
use securebase::controls::{Residualizer, suppression_check};
use securebase::data::{Agg, CsvOptions, Longer, SortKey, Wider};
use securebase::lmm::anova;
use securebase::mediation::{
    BootstrapOptions, EffectId, Mediation, MultilevelMediation, Path, Resampling,
};
use securebase::probe::{At, DfMethod, ModeratorValues, ProbeSpec, trends};
use securebase::scoring::change::{Cutoff, cutoffs, reliable_change};
use securebase::scoring::{InvalidResponses, MissingItems, Norms, builtin, reliability, score};
use securebase::simulate::power::{PowerDesign, power};
use securebase::simulate::session_power::SessionPowerDesign;
use securebase::simulate::sessions::SessionParams;
use securebase::simulate::{CohortParams, example_keys, simulate_cohort};
use securebase::study::{Plan, StudyOptions, run};
use securebase::{Criterion, Data, Ddf, FitOptions, Formula, LmmFit, LmmSpec, Ols, OlsFit};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Write, read back, write again: the two JSON texts are identical.
fn round_trip<T: Serialize + DeserializeOwned>(what: &str, x: &T) -> T {
    let a = serde_json::to_string(x).unwrap_or_else(|e| panic!("{what}: {e}"));
    let back: T = serde_json::from_str(&a).unwrap_or_else(|e| panic!("{what} reads back: {e}"));
    let b = serde_json::to_string(&back).unwrap();
    assert!(a == b, "{what}: the JSON written again differs");
    back
}

/// As [`round_trip`], and the value read back equals the original.
fn round_trip_eq<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(what: &str, x: &T) {
    let back = round_trip(what, x);
    assert_eq!(&back, x, "{what}");
}

fn mtcars() -> Data {
    Data::from_csv_path(fixture("mtcars.csv")).unwrap()
}

fn sleepstudy() -> Data {
    Data::from_csv_path(fixture("sleepstudy.csv")).unwrap()
}

#[test]
fn data_and_its_operations() {
    let d = mtcars();
    round_trip_eq("Data", &d);
    round_trip_eq("Column", d.column("mpg").unwrap());
    let g = d
        .clone()
        .with_categorical_opt(
            "g",
            (0..32)
                .map(|i| (i % 3 != 0).then_some(["a", "b"][i % 2]))
                .collect(),
        )
        .unwrap();
    round_trip_eq("Factor", g.factor("g").unwrap());
    let (_, report) = CsvOptions::default()
        .decimal_comma(true)
        .read("a;b\n1,5;x\n2,5;y\n".as_bytes())
        .unwrap();
    round_trip_eq("CsvReport", &report);
    round_trip_eq("CsvOptions", &CsvOptions::default().decimal_comma(true));
    round_trip_eq("SortKey", &SortKey::desc("mpg"));
    let agg = d
        .aggregate(&["cyl"], &[Agg::mean("mpg"), Agg::slope("mpg", "wt")])
        .unwrap();
    round_trip_eq("Agg", &Agg::mean("mpg").named("m"));
    round_trip_eq("Aggregated", &agg);
    let right = agg.data.clone();
    let joined = d.left_join(&right, &["cyl"]).unwrap();
    round_trip_eq("Joined", &joined);
    round_trip_eq("Longer", &Longer::new("time").stem("x", "x_{}"));
    round_trip_eq("Wider", &Wider::new(&["id"], "time", &["x"]));
}

#[test]
fn ragged_or_inconsistent_data_are_refused() {
    let bad = r#"{"names":["a","b"],"columns":[{"Numeric":[1.0,2.0]},{"Numeric":[1.0]}],"row_ids":[1,2]}"#;
    let e = serde_json::from_str::<Data>(bad).unwrap_err();
    assert!(e.to_string().contains("'b'"), "{e}");
    let nan = r#"{"names":["a"],"columns":[{"Numeric":["NaN"]}],"row_ids":[1]}"#;
    assert!(serde_json::from_str::<Data>(nan).is_err());
    // A fit whose numbers do not belong to its data.
    let fit = Ols::fit(&mtcars(), "mpg ~ wt").unwrap();
    let mut v: serde_json::Value = serde_json::to_value(&fit).unwrap();
    v["coefficients"][1]["estimate"] = serde_json::json!(-1.0);
    let e = serde_json::from_value::<OlsFit>(v).unwrap_err();
    assert!(e.to_string().contains("does not match its data"), "{e}");
    let lmm = LmmSpec::new(&sleepstudy(), "Reaction ~ Days + (Days | Subject)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    let mut v: serde_json::Value = serde_json::to_value(&lmm).unwrap();
    v["theta"][0] = serde_json::json!(0.5);
    let e = serde_json::from_value::<LmmFit>(v).unwrap_err();
    assert!(e.to_string().contains("does not match its data"), "{e}");
}

#[test]
fn regression_and_mixed_models() {
    let d = mtcars();
    let ols = Ols::fit(&d, "mpg ~ wt * hp + factor(cyl)").unwrap();
    let back = round_trip("OlsFit", &ols);
    // Whole again: predictions and robust SEs work and agree.
    assert_eq!(
        back.predict(&d, 0.95).unwrap(),
        ols.predict(&d, 0.95).unwrap()
    );
    assert_eq!(
        back.robust_coefficients(securebase::HcType::Hc3),
        ols.robust_coefficients(securebase::HcType::Hc3)
    );
    round_trip_eq("Prediction", &ols.predict(&d, 0.9).unwrap());
    round_trip_eq("FTest", &ols.f_test().unwrap());
    round_trip_eq("Coefficient", &ols.coefficients()[1]);
    round_trip_eq("Missingness", ols.missing());
    round_trip_eq("Design", ols.design());
    round_trip_eq(
        "Formula",
        &Formula::parse("y ~ x * z + (1 + x | g) + offset(o)").unwrap(),
    );
    round_trip_eq("HcType", &securebase::HcType::Hc0);

    let s = sleepstudy();
    let spec = LmmSpec::new(&s, "Reaction ~ Days + (Days | Subject)").unwrap();
    let spec_back = round_trip("LmmSpec", &spec);
    assert_eq!(spec_back.nobs(), 180);
    let reml = spec.fit(Criterion::Reml).unwrap();
    let back = round_trip("LmmFit", &reml);
    assert_eq!(back.coefficients(), reml.coefficients());
    assert_eq!(back.theta(), reml.theta());
    assert_eq!(back.vcov_varpar(), reml.vcov_varpar());
    assert_eq!(back.diagnostics(), reml.diagnostics());
    // Whole again: contrasts with Satterthwaite df, Kenward–Roger, anova.
    assert_eq!(
        back.contrast(&[0.0, 1.0]).unwrap(),
        reml.contrast(&[0.0, 1.0]).unwrap()
    );
    let kr = reml.kenward_roger().unwrap();
    let kr_back = round_trip("KenwardRoger", &kr);
    assert_eq!(
        kr_back.contrast(&[1.0, 2.0]).unwrap(),
        kr.contrast(&[1.0, 2.0]).unwrap()
    );
    assert_eq!(back.kenward_roger().unwrap().coefficients, kr.coefficients);
    round_trip_eq("Optimization", reml.optimization());
    round_trip_eq("VarCorr", &reml.varcorr()[0]);
    round_trip_eq("RandomEffects", &reml.ranef()[0]);
    // Flat modes and covariances whose lengths disagree with levels × effects are refused.
    let mut re = serde_json::to_value(&reml.ranef()[0]).unwrap();
    re["modes"].as_array_mut().unwrap().pop();
    let err = serde_json::from_value::<securebase::lmm::RandomEffects>(re)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("35 modes") && err.contains("18 levels × 2 effects"),
        "{err}"
    );
    round_trip_eq("Icc", reml.icc());
    // Without df (Wald z): the df is NaN, written as "NaN" and read back as NaN.
    let z = spec
        .fit_with(Criterion::Ml, &FitOptions::with_ddf(Ddf::Asymptotic))
        .unwrap();
    let json = serde_json::to_string(&z).unwrap();
    assert!(json.contains("\"df\":\"NaN\""), "{}", &json[..400]);
    let zb = round_trip("LmmFit (asymptotic)", &z);
    assert!(zb.coefficients()[1].df.is_nan());
    assert_eq!(zb.coefficients()[1].t, z.coefficients()[1].t);
    let small = LmmSpec::new(&s, "Reaction ~ 1 + (1 | Subject)")
        .unwrap()
        .fit(Criterion::Ml)
        .unwrap();
    let ml = spec.fit(Criterion::Ml).unwrap();
    let a = anova(&[&small, &ml]).unwrap();
    round_trip_eq("Anova", &a);
    round_trip_eq("AnovaRow", &a.rows[0]);
    round_trip_eq("FitOptions", &FitOptions::with_ddf(Ddf::Asymptotic));
    round_trip_eq("Criterion", &Criterion::Reml);
}

#[test]
fn probing_controls_and_mediation() {
    let d = mtcars();
    let fit = Ols::fit(&d, "mpg ~ hp * wt").unwrap();
    let spec = ProbeSpec::new("hp", "wt")
        .values(ModeratorValues::Percentiles)
        .df(DfMethod::Model);
    round_trip_eq("ProbeSpec", &spec);
    let p = spec.run(&fit).unwrap();
    round_trip_eq("Probe", &p);
    round_trip_eq("SimpleSlope", &p.simple_slopes[0]);
    round_trip_eq("JohnsonNeyman", &p.johnson_neyman);
    // Asymptotic df are infinite and Johnson–Neyman regions run to ±∞: written as "Infinity"
    // and "-Infinity", read back as such.
    let z = ProbeSpec::new("hp", "wt")
        .df(DfMethod::Asymptotic)
        .run(&fit)
        .unwrap();
    let json = serde_json::to_string(&z).unwrap();
    assert!(
        json.contains("\"df\":\"Infinity\"") && json.contains("\"-Infinity\""),
        "{json}"
    );
    let zb = round_trip("Probe (asymptotic)", &z);
    assert_eq!(zb.simple_slopes[0].df, f64::INFINITY);
    assert_eq!(zb, z);
    let t = trends(
        &fit,
        "hp",
        &[("wt", At::Values(vec![2.0, 3.0]))],
        DfMethod::Model,
        0.95,
    )
    .unwrap();
    round_trip_eq("Trends", &t);
    round_trip_eq("At", &At::Levels(vec!["a".into()]));
    let r = Residualizer::fit(&d, "hp", &["wt"], true).unwrap();
    round_trip_eq("Residualizer", &r);
    round_trip_eq(
        "SuppressionCheck",
        &suppression_check(&d, "mpg", "hp", &["wt"]).unwrap(),
    );

    let med = Mediation::new("hp", &["wt"], "mpg").cluster("cyl");
    round_trip_eq("Mediation", &med);
    round_trip_eq("MediationFit", &med.fit(&d).unwrap());
    let opts = BootstrapOptions::new(100, 3).resampling(Resampling::Case);
    round_trip_eq("BootstrapOptions", &opts);
    let boot = med.bootstrap(&d, &opts).unwrap();
    round_trip_eq("Bootstrap", &boot);
    round_trip_eq("BootEffect", &boot.effects[0]);
    let mc = med.monte_carlo(&d, 1000, 3, 0.95).unwrap();
    round_trip_eq("MonteCarlo", &mc);

    let sessions = Data::from_csv_path(fixture("mlmed/sessions.csv")).unwrap();
    let ml = MultilevelMediation::new("anx", &["secure"], "engage", "client");
    round_trip_eq("MultilevelMediation", &ml);
    for id in [Path::Indirect.between(), EffectId::from(Path::CPrime)] {
        round_trip_eq("EffectId", &id);
    }
    assert_eq!(
        serde_json::to_string(&Path::Ind12.within()).unwrap(),
        "\"ind12_within\""
    );
    round_trip_eq(
        "PathArrow",
        &securebase::plot::PathArrow::new(0, 1, "a = 0.3"),
    );
    let mf = ml.fit(&sessions).unwrap();
    round_trip_eq("MultilevelFit", &mf);
    round_trip_eq("PathFit", &mf.paths[0]);
}

#[test]
fn scoring_simulation_power_and_the_study() {
    let cohort = simulate_cohort(&CohortParams::default()).unwrap();
    let keys = example_keys();
    round_trip_eq("ScaleKey", &keys[0]);
    round_trip_eq("ScaleKey (built-in)", &builtin("ecr-r").unwrap());
    let sc = score(&cohort, &keys[0], InvalidResponses::Error).unwrap();
    round_trip_eq("ScaleScores", &sc);
    let rel = reliability(&cohort, &keys[0], MissingItems::Pairwise).unwrap();
    round_trip_eq("Reliability", &rel[0]);
    let norms = Norms::new(2.0, 0.6, 0.9)
        .functional(1.2, 0.5)
        .dysfunctional(2.0, 0.6)
        .higher_is_worse(true);
    round_trip_eq("Norms", &norms);
    round_trip_eq("Cutoffs", &cutoffs(&norms));
    let pre = vec![Some(2.5), Some(2.0), None, Some(3.0)];
    let post = vec![Some(1.0), Some(2.1), Some(1.0), Some(3.6)];
    round_trip_eq(
        "ReliableChange",
        &reliable_change(&pre, &post, &norms, Cutoff::C).unwrap(),
    );
    round_trip_eq("CohortParams", &CohortParams::default());
    round_trip_eq("SessionParams", &SessionParams::default());
    round_trip_eq("SessionPowerDesign", &SessionPowerDesign::default());
    let design = PowerDesign::study_like();
    round_trip_eq("PowerDesign", &design);
    let pw = power(&design, 20, 1).unwrap();
    round_trip_eq("PowerResult", &pw);

    let mut plan = Plan::reference();
    plan.bootstrap = 20;
    plan.draws = 200;
    round_trip_eq("Plan", &plan);
    let data = Data::from_csv_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/study_sessions.csv"
    ))
    .unwrap();
    let options = StudyOptions::simulated(1);
    round_trip_eq("StudyOptions", &options);
    let rep = run(&data, &plan, &options).unwrap();
    let back = round_trip("StudyReport", &rep);
    assert_eq!(back.to_markdown(), rep.to_markdown());
}
