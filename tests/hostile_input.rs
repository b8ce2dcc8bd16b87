//! Real files and hostile input: every case the reliability review reproduced, each showing the
//! error (or the corrected result) that replaces the silent coercion, abort or panic.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::fixture;
use securebase::data::{ColumnKind, CsvOptions};
use securebase::mediation::{BootstrapOptions, Mediation, Resampling};
use securebase::scoring::{InvalidResponses, ScaleKey, score};
use securebase::simulate::power::{PowerDesign, power, power_range};
use securebase::stats::{Coefficient, t_quantile};
use securebase::{Criterion, Data, Error, LmmSpec, Ols};

fn csv(text: &str) -> securebase::Result<Data> {
    Data::from_csv_reader(text.as_bytes())
}

// --- Silent type coercion ---------------------------------------------------------------

#[test]
fn a_stray_token_in_a_numeric_column_is_an_error_not_a_factor() {
    for tok in ["na", "N/A", ".", "\"1,000\""] {
        let text = format!("y,item\n1.5,1\n2.5,5\n3.1,{tok}\n2.2,3\n4.0,2\n");
        let e = csv(&text).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(&e, Error::InvalidValue { column, row: 3, .. } if column == "item"),
            "{tok}: {msg}"
        );
        // The two ways out are named; a number written with a comma is never proposed as a
        // missing-value token.
        if tok.contains(',') {
            assert!(
                msg.contains("--decimal-comma")
                    && msg.contains("thousands")
                    && !msg.contains("--na"),
                "{msg}"
            );
        } else {
            assert!(
                msg.contains("--na") && msg.contains("--categorical item"),
                "{msg}"
            );
        }
    }
    // Declared missing, the item is numeric and the row is reported dropped.
    let (d, _) = CsvOptions::new()
        .na_list("NA,na,N/A,.")
        .read("y,item\n1.5,1\n2.5,5\n3.1,na\n2.2,3\n4.0,2\n".as_bytes())
        .unwrap();
    let fit = Ols::fit(&d, "y ~ item").unwrap();
    assert_eq!(fit.terms(), ["(Intercept)", "item"]);
    assert_eq!(fit.missing().dropped_rows, [3]);
}

// --- Grouping IDs read as numbers ----------------------------------------------------------

fn grouped_ids(ids: &[&str]) -> Data {
    let mut text = String::from("id,y,x\n");
    for (i, id) in ids.iter().enumerate() {
        for k in 0..4 {
            let y = (i * 7 + k * 3) % 11;
            text.push_str(&format!("{id},{y},{k}\n"));
        }
    }
    csv(&text).unwrap()
}

#[test]
fn eighteen_digit_ids_stay_distinct_groups() {
    let ids: Vec<String> = (0..10).map(|i| format!("12345678901234567{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let d = grouped_ids(&refs);
    let fit = LmmSpec::new(&d, "y ~ x + (1 | id)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    assert_eq!(fit.ngroups(), [("id".to_string(), 10)]);
}

#[test]
fn leading_zeros_keep_ids_apart() {
    let d = grouped_ids(&["007", "7", "08", "8", "009"]);
    assert_eq!(d.factor("id").unwrap().levels().len(), 5);
    let fit = LmmSpec::new(&d, "y ~ x + (1 | id)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    assert_eq!(fit.ngroups()[0].1, 5);
}

// --- A typo in a key file --------------------------------------------------------------------

const KEY: &str = r#"{"format": "securebase-key/1", "name": "t", "source": "s", "licence": "l",
 "response_min": 1, "response_max": 4, "items": ["a", "b", "c"],
 "subscales": [{"name": "s", "items": ["a", "b", "c"], "REV": ["b"], "aggregation": "mean",
   "min_answered": {"count": 2}}]}"#;

#[test]
fn an_unknown_key_field_is_an_error_suggesting_the_known_one() {
    let e = ScaleKey::from_json(&KEY.replace("REV", "reversed")).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("unknown field `reversed`"), "{msg}");
    assert!(msg.contains("did you mean 'reverse'?"), "{msg}");
    // At the top level too, and in min_answered's variants.
    let e = ScaleKey::from_json(
        &KEY.replace("REV", "reverse")
            .replace("\"licence\"", "\"license\""),
    )
    .unwrap_err();
    assert!(e.to_string().contains("did you mean 'licence'?"), "{e}");
    let e =
        ScaleKey::from_json(&KEY.replace("REV", "reverse").replace("count", "cuont")).unwrap_err();
    assert!(e.to_string().contains("did you mean 'count'?"), "{e}");
    // The correct key scores with the reverse keying: (4, 5-3=2, 2) -> 2.67.
    let key = ScaleKey::from_json(&KEY.replace("REV", "reverse")).unwrap();
    let d = csv("a,b,c\n4,3,2\n").unwrap();
    let s = score(&d, &key, InvalidResponses::Error).unwrap();
    assert!((s.subscales[0].scores[0].unwrap() - 8.0 / 3.0).abs() < 1e-12);
}

// --- Aborts and hangs on formulas ----------------------------------------------------------

#[test]
fn deep_and_explosive_formulas_are_errors_with_positions() {
    let d = csv("y,x1,x2\n1,2,3\n2,3,1\n3,1,2\n4,2,2\n").unwrap();
    let deep = format!("y ~ {}x1{}", "(".repeat(6000), ")".repeat(6000));
    let e = Ols::fit(&d, &deep).unwrap_err();
    assert!(matches!(e, Error::Formula { .. }) && e.to_string().contains("nests deeper"));
    let vars: Vec<String> = (1..=16).map(|i| format!("x{i}")).collect();
    let e = Ols::fit(&d, &format!("y ~ ({})^16", vars.join("+"))).unwrap_err();
    assert!(e.to_string().contains("more than the 5000"), "{e}");
}

// --- Models that should be refused -------------------------------------------------------------

#[test]
fn constant_responses_and_the_response_on_the_right_are_refused() {
    let d = csv("y,x,g\n5,1,a\n5,2,a\n5,3,b\n5,4,b\n5,5,c\n5,6,c\n").unwrap();
    let e = LmmSpec::new(&d, "y ~ x + (1 | g)").unwrap_err();
    assert!(e.to_string().contains("is constant (5)"), "{e}");
    let e = Ols::fit(&d, "y ~ x").unwrap_err();
    assert!(e.to_string().contains("is constant"), "{e}");
    // Nearly constant: rounding noise around 5.
    let d2 = csv("y,x,g\n5,1,a\n5.0000000000001,2,a\n5,3,b\n4.9999999999999,4,b\n5,5,c\n5,6,c\n")
        .unwrap();
    let e = LmmSpec::new(&d2, "y ~ x + (1 | g)").unwrap_err();
    assert!(e.to_string().contains("nearly constant"), "{e}");
    let d3 = csv("y,x,g\n5,1,a\n6,2,a\n4,3,b\n7,4,b\n5,5,c\n3,6,c\n").unwrap();
    for f in ["y ~ x + (y | g)", "y ~ x + (1 | y)", "y ~ I(y^2) + (1 | g)"] {
        let e = LmmSpec::new(&d3, f).unwrap_err();
        assert!(
            e.to_string().contains("the response 'y' also appears"),
            "{f}: {e}"
        );
    }
}

// --- Panics reachable from the public API --------------------------------------------------------

#[test]
fn impossible_power_designs_are_errors() {
    for (b, what) in [(f64::NAN, "NaN"), (f64::INFINITY, "inf"), (1e308, "1e308")] {
        let mut d = PowerDesign::study_like();
        d.b_xz = b;
        let e = power(&d, 10, 1).unwrap_err();
        assert!(e.to_string().contains("b_xz"), "{what}: {e}");
        assert!(d.simulate(1, 0).is_err());
    }
    let mut d = PowerDesign::study_like();
    d.therapists = usize::MAX / 2;
    d.clients_per_therapist = 3;
    assert!(
        power(&d, 10, 1)
            .unwrap_err()
            .to_string()
            .contains("10 million")
    );
    let e = power_range(&PowerDesign::study_like(), usize::MAX, 2, 1).unwrap_err();
    assert!(e.to_string().contains("overflow"), "{e}");
}

#[test]
fn keys_built_in_code_are_checked_before_use() {
    let mut key = ScaleKey::from_json(&KEY.replace("REV", "reverse")).unwrap();
    key.subscales[0].items.push("zz".into()); // not among the key's items
    let d = csv("a,b,c,zz\n1,2,3,4\n").unwrap();
    assert!(score(&d, &key, InvalidResponses::Error).is_err());
    assert!(key.with_columns(&["p", "q", "r"]).is_err());
    // A response range whose sum overflows i64.
    let mut key = ScaleKey::from_json(&KEY.replace("REV", "reverse")).unwrap();
    key.response_min = i64::MAX - 1;
    key.response_max = i64::MAX;
    assert!(score(&d, &key, InvalidResponses::Error).is_err());
    let big = KEY.replace("REV", "reverse").replace(
        "\"response_max\": 4",
        &format!("\"response_max\": {}", i64::MAX),
    );
    assert!(
        ScaleKey::from_json(&big)
            .unwrap_err()
            .to_string()
            .contains("beyond")
    );
}

#[test]
fn data_from_json_is_checked() {
    let ragged = r#"{"names": ["y", "x"], "columns": [{"Numeric": [1.0, 2.0]}, {"Numeric": [1.0]}], "row_ids": [1, 2]}"#;
    assert!(serde_json::from_str::<Data>(ragged).is_err());
    let bad_code = r#"{"names": ["g"], "columns": [{"Categorical": {"codes": [0, 7], "levels": ["a"]}}], "row_ids": [1, 2]}"#;
    assert!(serde_json::from_str::<Data>(bad_code).is_err());
    let dup = r#"{"names": ["y", "y"], "columns": [{"Numeric": [1.0]}, {"Numeric": [1.0]}], "row_ids": [1]}"#;
    assert!(serde_json::from_str::<Data>(dup).is_err());
    let good = r#"{"names": ["y"], "columns": [{"Numeric": [1.0, null]}], "row_ids": [3, 4]}"#;
    let d: Data = serde_json::from_str(good).unwrap();
    assert_eq!(d.row_ids(), [3, 4]);
}

#[test]
fn bad_levels_and_arguments_are_errors() {
    let d = Data::from_csv_path(fixture("mtcars.csv")).unwrap();
    let fit = Ols::fit(&d, "mpg ~ hp").unwrap();
    for level in [7.0, 1.0, 0.0, f64::NAN, -0.5] {
        assert!(fit.coefficients_at(level).is_err(), "{level}");
        assert!(fit.predict(&d, level).is_err(), "{level}");
    }
    assert!(Coefficient::new("x", 1.0, 0.5, 10.0, 1.5).is_err());
    assert!(Coefficient::new("x", 1.0, f64::NAN, 10.0, 0.95).is_err());
    assert!(Coefficient::new("x", 1.0, 0.5, 10.0, 0.95).is_ok());
    assert!(t_quantile(2.0, 5.0).is_nan());
    assert!(securebase::stats::normal_quantile(-1.0).is_nan());
    assert_eq!(securebase::rng::Rng::new(1).below(0), None);
    let s = Data::from_csv_path(fixture("sleepstudy.csv")).unwrap();
    let lmm = LmmSpec::new(&s, "Reaction ~ Days + (1 | Subject)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    assert!(lmm.contrast(&[f64::NAN, 1.0]).is_err());
    assert!(lmm.contrast(&[0.0, 1.0]).is_ok());
    assert!(lmm.confint_wald(-1.0).is_err());
}

// --- Silent nonsense ----------------------------------------------------------------------------

#[test]
fn a_cluster_bootstrap_needs_two_clusters() {
    let mut text = String::from("x,m,y,c\n");
    for i in 0..30 {
        let x = (i % 7) as f64;
        text.push_str(&format!(
            "{x},{},{},one\n",
            x * 0.5 + (i % 3) as f64,
            x + (i % 5) as f64
        ));
    }
    let d = csv(&text).unwrap();
    let med = Mediation::new("x", &["m"], "y").cluster("c");
    let e = med
        .bootstrap(
            &d,
            &BootstrapOptions::new(50, 1).resampling(Resampling::Cluster),
        )
        .unwrap_err();
    assert!(e.to_string().contains("at least 2 clusters"), "{e}");
    let e = Mediation::new("x", &["m"], "y")
        .bootstrap(&d, &BootstrapOptions::new(50, 1).level(f64::NAN))
        .unwrap_err();
    assert!(matches!(e, Error::Argument { .. }), "{e}");
}

// --- Misleading errors --------------------------------------------------------------------------

#[test]
fn messages_say_what_is_really_wrong() {
    // A semicolon file is read as such (detected), and named as the cause when forced wrong.
    let text = "y;x;z\n1;2;3\n2;3;1\n3;1;2\n4;2;5\n";
    let d = csv(text).unwrap();
    assert!(Ols::fit(&d, "y ~ x").is_ok());
    let (d, _) = CsvOptions::new()
        .delimiter(b',')
        .read(text.as_bytes())
        .unwrap();
    let e = Ols::fit(&d, "y ~ x").unwrap_err();
    assert!(e.to_string().contains("wrong delimiter"), "{e}");
    // Huge values are too large, not "aliased".
    let d = csv("y,x\n1,1e308\n2,2e307\n3,3e306\n5,1e300\n").unwrap();
    let e = Ols::fit(&d, "y ~ x").unwrap_err();
    assert!(
        e.to_string().contains("rescale") && !e.to_string().contains("aliased"),
        "{e}"
    );
    // A text item names its row and value.
    let key = ScaleKey::from_json(&KEY.replace("REV", "reverse")).unwrap();
    let d = csv("a,b,c\n1,2,3\n2,three,1\n").unwrap_err();
    assert!(d.to_string().contains("row 2"), "{d}");
    let (d, _) = CsvOptions::new()
        .column_kind("b", ColumnKind::Categorical)
        .read("a,b,c\n1,two,3\n2,three,1\n".as_bytes())
        .unwrap();
    let e = score(&d, &key, InvalidResponses::Error).unwrap_err();
    assert!(
        e.to_string().contains("'two'") && e.to_string().contains("row 1"),
        "{e}"
    );
    // A column named (Intercept).
    let d = csv("y,(Intercept)\n1,2\n2,3\n3,1\n4,4\n").unwrap();
    let e = Ols::fit(&d, "y ~ `(Intercept)`").unwrap_err();
    assert!(e.to_string().contains("two model-matrix columns"), "{e}");
    // A directory given as a key.
    let e = securebase::scoring::load_key(env!("CARGO_MANIFEST_DIR")).unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");
    let e = securebase::scoring::load_key("ecr_r").unwrap_err();
    assert!(e.to_string().contains("did you mean 'ecr-r'?"), "{e}");
}

#[test]
fn errors_keep_their_source_and_unknown_columns_suggest() {
    use std::error::Error as _;
    // A ragged CSV: the csv crate's error is kept as the source.
    let e = securebase::Data::from_csv_reader("a,b\n1,2\n3\n".as_bytes()).unwrap_err();
    let cause = e
        .source()
        .and_then(|s| s.downcast_ref::<securebase::error::Cause>())
        .expect("a source");
    assert!(cause.downcast_ref::<csv::Error>().is_some(), "{cause}");
    // A missing file: the io::Error is kept.
    let e = securebase::Data::from_csv_path("/definitely/not/here.csv").unwrap_err();
    let io = e
        .source()
        .and_then(|s| s.downcast_ref::<securebase::error::Cause>())
        .and_then(|c| c.downcast_ref::<std::io::Error>())
        .expect("an io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    // Errors without an underlying one have no source.
    let e = securebase::Data::from_csv_reader("a,b\n".as_bytes()).unwrap_err();
    assert!(e.source().is_none(), "{e}");
    // A typo in a formula: UnknownColumn with the formula, position and the closest name.
    let d = securebase::Data::from_csv_reader("anxiety,y\n1,2\n2,3\n3,5\n".as_bytes()).unwrap();
    let e = securebase::Ols::fit(&d, "y ~ anxeity").unwrap_err();
    match &e {
        securebase::Error::UnknownColumn {
            name,
            formula: Some(f),
            position: Some(4),
            ..
        } => assert!(name == "anxeity" && f == "y ~ anxeity"),
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("did you mean 'anxiety'?"), "{e}");
}

// --- Second round (silently wrong answers) -------------------------------------------------

/// Zero-trial binomial rows: R's `nobs()` leaves them out (48), its `BIC` counts every row (60,
/// from `logLik`'s `nobs` attribute). Reference: tests/reference/glm_zero_trials.R.
#[test]
fn zero_trial_rows_are_counted_as_r_counts_them() {
    use securebase::glm::{Family, Glm};
    let r = common::load_json("glm/zero_trials.json");
    let d = Data::from_csv_path(fixture("glm/zero_trials.csv")).unwrap();
    let fit = Glm::fit(&d, "cbind(s, f) ~ x", Family::binomial()).unwrap();
    assert_eq!(fit.nobs(), r["nobs"].as_u64().unwrap() as usize);
    assert_eq!(
        fit.missing.n_used,
        r["loglik_nobs"].as_u64().unwrap() as usize
    );
    assert_eq!(fit.df_residual, r["df_residual"].as_u64().unwrap() as usize);
    let near = |a: f64, b: f64| (a - b).abs() <= 1e-8 * b.abs();
    assert!(near(fit.bic, r["BIC"].as_f64().unwrap()), "{}", fit.bic);
    assert!(near(fit.aic, r["AIC"].as_f64().unwrap()), "{}", fit.aic);
    assert!(near(fit.loglik, r["logLik"].as_f64().unwrap()));
}

/// A data column spelled like a function term (`I(a^2)`) would silently stand in for it.
#[test]
fn a_column_named_like_a_function_term_is_an_error() {
    let d = csv("y,a,I(a^2)\n1,1,100\n2,2,-3\n4,3,7\n3,4,1\n6,5,2\n").unwrap();
    let e = Ols::fit(&d, "y ~ a + I(a^2)").unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(&e, Error::Term { term, .. } if term == "I(a^2)") && msg.contains("rename"),
        "{msg}"
    );
    // Renamed, the function is computed from a.
    let mut d = d;
    d.rename("I(a^2)", "other").unwrap();
    let fit = Ols::fit(&d, "y ~ a + I(a^2)").unwrap();
    assert_eq!(fit.terms(), ["(Intercept)", "a", "I(a^2)"]);
}

/// A response of order 1e-200 was fitted with SE 0, t ∞ and R² NaN; like the huge case it is
/// refused with what to do.
#[test]
fn responses_outside_the_estimable_magnitudes_are_refused_with_rescale() {
    for (scale, how) in [(1e-200, "multiply"), (1e200, "divide")] {
        let text: String = std::iter::once("y,x\n".to_string())
            .chain((0..20).map(|i| {
                let y = ((i * 7) % 5) as f64 + 0.1 * i as f64;
                format!("{:e},{}\n", y * scale, i)
            }))
            .collect();
        let d = csv(&text).unwrap();
        let e = Ols::fit(&d, "y ~ x").unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(&e, Error::Term { term, .. } if term == "y"),
            "{msg}"
        );
        assert!(
            msg.contains("rescale the response") && msg.contains(how),
            "{msg}"
        );
        assert!(!msg.contains("squares overflow)"), "{msg}");
        let e = LmmSpec::new(&d, "y ~ 1 + (1 | x)").unwrap_err();
        assert!(e.to_string().contains("rescale"), "{e}");
    }
    // At 1e-90 the fit is exact up to the scale.
    let text: String = std::iter::once("y,x\n".to_string())
        .chain((0..20).map(|i| {
            let y = ((i * 7) % 5) as f64 + 0.1 * i as f64;
            format!("{:e},{}\n", y * 1e-90, i)
        }))
        .collect();
    let fit = Ols::fit(&csv(&text).unwrap(), "y ~ x").unwrap();
    assert!(fit.r_squared().is_finite() && fit.coefficients()[1].t.is_finite());
}

// --- Second round (security) -----------------------------------------------------------------

const PLAN: &str = include_str!("../src/study/reference_plan.json");

/// Names that become file names cannot leave the output folder or overwrite each other.
#[test]
fn plan_names_that_become_file_names_are_checked() {
    use securebase::study::Plan;
    let first_mediation = {
        let at = PLAN.find("\"mediations\"").unwrap();
        let rest = &PLAN[at..];
        let n = rest.find("\"name\": \"").unwrap() + "\"name\": \"".len();
        let end = rest[n..].find('"').unwrap();
        rest[n..n + end].to_string()
    };
    let bad = PLAN.replacen(
        &format!("\"name\": \"{first_mediation}\""),
        "\"name\": \"x/../../../traversal_pwned\"",
        1,
    );
    let e = Plan::from_json(&bad).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("x/../../../traversal_pwned") && msg.contains("letters, digits"),
        "{msg}"
    );
    // Two mediations of one name would overwrite each other's plots.
    let mut plan = Plan::from_json(PLAN).unwrap();
    let m = plan.mediations[0].clone();
    plan.mediations.push(m);
    let json = serde_json::to_string(&plan).unwrap();
    let e = Plan::from_json(&json).unwrap_err();
    assert!(e.to_string().contains("defined twice"), "{e}");
    // A byte-order mark before the JSON is accepted (Windows editors write one).
    assert!(Plan::from_json(&format!("\u{feff}{PLAN}")).is_ok());
}

/// Plans and keys are read with a size cap; devices are refused.
#[test]
fn json_inputs_are_capped_and_devices_refused() {
    use securebase::scoring::ScaleKey;
    use securebase::study::Plan;
    let e = Plan::from_path("/dev/zero").unwrap_err();
    assert!(e.to_string().contains("is a device"), "{e}");
    let e = ScaleKey::from_path("/dev/zero").unwrap_err();
    assert!(e.to_string().contains("is a device"), "{e}");
    let e = Data::from_csv_path("/dev/zero").unwrap_err();
    assert!(e.to_string().contains("is a device"), "{e}");
    let dir = std::env::temp_dir().join(format!("securebase-cap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.json");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(securebase::data::MAX_TEXT_FILE + 1).unwrap();
    let e = Plan::from_path(&big).unwrap_err();
    assert!(e.to_string().contains("larger than"), "{e}");
    // A key with a byte-order mark reads.
    let key = dir.join("key.json");
    let name = securebase::scoring::builtin_names()[0];
    let text = securebase::scoring::builtin(name).unwrap().to_json();
    std::fs::write(&key, format!("\u{feff}{text}")).unwrap();
    assert_eq!(
        ScaleKey::from_path(&key).unwrap(),
        securebase::scoring::builtin(name).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A CSV that is one endless line (a pipe of NULs) is an error after a bounded read.
#[test]
fn an_endless_line_is_an_error_after_a_bounded_read() {
    let endless = std::io::Read::take(std::io::repeat(0), 200 << 20);
    let e = Data::from_csv_reader(endless).unwrap_err();
    assert!(e.to_string().contains("longer than"), "{e}");
}

// --- Second round (bounded resources) ----------------------------------------------------------

/// Counts that size results are checked before anything is allocated (a billion bootstrap
/// replicates aborted with a 24 GB allocation; usize::MAX panicked with "capacity overflow").
#[test]
fn resample_counts_are_bounded_before_allocation() {
    let d = csv("x,m,y\n1,2,3\n2,3,5\n3,3,4\n4,5,7\n5,4,8\n6,7,9\n7,6,9\n8,9,12\n").unwrap();
    let med = Mediation::new("x", &["m"], "y");
    for n in [1_000_000_000usize, usize::MAX] {
        let e = med.bootstrap(&d, &BootstrapOptions::new(n, 1)).unwrap_err();
        assert!(e.to_string().contains("at most 1000000"), "{e}");
        let e = med.monte_carlo(&d, n, 1, 0.95).unwrap_err();
        assert!(e.to_string().contains("at most 10000000"), "{e}");
    }
    let e = power(&PowerDesign::study_like(), usize::MAX, 1).unwrap_err();
    assert!(e.to_string().contains("at most"), "{e}");
}

/// Shard files are data from elsewhere: counts and the design are checked, power recomputed.
#[test]
fn power_shards_are_validated_before_merging() {
    use securebase::simulate::grid::{GridDesign, PowerGrid, merge_shards};
    let mut design = PowerDesign::study_like();
    design.multilevel = false;
    let g = PowerGrid::new(GridDesign::Moderator(design), &[10, 20], 6, 3);
    let shard = g.run_shard(1, 1).unwrap();
    let good = merge_shards(std::slice::from_ref(&shard)).unwrap();
    // significant above replicates (power 5000.07 was reported)
    let mut bad = shard.clone();
    bad.parts[0].result.significant = bad.parts[0].result.replicates * 5000 + 1;
    bad.parts[0].result.power = 5000.07;
    let e = merge_shards(&[bad]).unwrap_err();
    assert!(e.to_string().contains("inconsistent counts"), "{e}");
    // a forged power with consistent counts is recomputed from the counts
    let mut forged = shard.clone();
    forged.parts[0].result.power = 0.999;
    let merged = merge_shards(&[forged]).unwrap();
    assert_eq!(merged, good);
    // an impossible design (ICC 5)
    let json = serde_json::to_string(&shard).unwrap();
    let icc = serde_json::to_value(&shard).unwrap()["grid"]["design"]["moderator"]["icc"].clone();
    assert!(icc.is_number(), "{json}");
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["grid"]["design"]["moderator"]["icc"] = serde_json::json!(5.0);
    let tampered: securebase::simulate::grid::PowerShard = serde_json::from_value(v).unwrap();
    let e = merge_shards(&[tampered]).unwrap_err();
    assert!(e.to_string().to_lowercase().contains("icc"), "{e}");
}

fn codes_factor(codes: impl Iterator<Item = u32>, nlevels: u32) -> securebase::Column {
    let levels: Vec<String> = (0..nlevels).map(|l| format!("L{l}")).collect();
    securebase::Column::Categorical(
        securebase::Factor::from_codes(codes.map(Some).collect(), levels).unwrap(),
    )
}

/// A crossed design whose dense block would take 20 GB is refused before it is allocated, with
/// the memory it needs; so is a fixed factor of 100,000 levels (160 GB asked for).
#[test]
fn oversized_random_and_fixed_structures_are_refused_before_allocation() {
    use securebase::Column;
    let n = 100_000usize;
    let mut d = Data::new();
    let y: Vec<Option<f64>> = (0..n).map(|i| Some(((i * 37) % 101) as f64)).collect();
    d.add_column("y", Column::Numeric(y.into())).unwrap();
    d.add_column("a", codes_factor((0..n as u32).map(|i| i % 50_000), 50_000))
        .unwrap();
    d.add_column(
        "b",
        codes_factor(
            (0..n as u32).map(|i| (i.wrapping_mul(7919) / 3) % 50_000),
            50_000,
        ),
    )
    .unwrap();
    d.add_column("g", codes_factor(0..n as u32, n as u32))
        .unwrap();
    let start = std::time::Instant::now();
    let e = LmmSpec::new(&d, "y ~ 1 + (1 | a) + (1 | b)").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("dense block of 50002 × 50002") && msg.contains("20.0 GB"),
        "{msg}"
    );
    let e = Ols::fit(&d, "y ~ g").unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(&e, Error::Term { term, .. } if term == "g") && msg.contains("(1 | g)"),
        "{msg}"
    );
    assert!(start.elapsed().as_secs() < 30);
}

/// Sixty copies of one random term took 22 s and three hundred did not finish: a repeated term is
/// an error, and so is a random part with more parameters than can be estimated in bounded time.
#[test]
fn repeated_and_huge_random_parts_are_refused() {
    let mut text = String::from("y,x,g\n");
    for i in 0..60 {
        text.push_str(&format!("{},{},g{}\n", (i * 7) % 11, i % 5, i % 6));
    }
    let d = csv(&text).unwrap();
    let formula = format!("y ~ x + {}", vec!["(1 | g)"; 60].join(" + "));
    let start = std::time::Instant::now();
    let e = LmmSpec::new(&d, &formula).unwrap_err();
    assert!(e.to_string().contains("appears 60 times"), "{e}");
    let e = LmmSpec::new(&d, "y ~ x + (1 | g) + (1 | g)").unwrap_err();
    assert!(e.to_string().contains("appears 2 times"), "{e}");
    assert!(start.elapsed().as_secs() < 5);
}

/// Reading n columns was O(n²) (a linear duplicate check per column: 100,000 columns 17 s).
#[test]
fn many_columns_read_in_linear_time() {
    let n = 100_000;
    let header: Vec<String> = (0..n).map(|j| format!("c{j}")).collect();
    let row: Vec<String> = (0..n).map(|j| (j % 7).to_string()).collect();
    let text = format!(
        "{}\n{}\n{}\n",
        header.join(","),
        row.join(","),
        row.join(",")
    );
    let start = std::time::Instant::now();
    let d = csv(&text).unwrap();
    assert_eq!(d.ncols(), n);
    assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
    let dup = text.replacen("c99999", "c5", 1);
    let e = csv(&dup).unwrap_err();
    assert!(
        matches!(&e, Error::DuplicateColumn { name } if name == "c5"),
        "{e}"
    );
}

// --- Second round (smaller items) -------------------------------------------------------------

/// ω from more items than respondents (a singular correlation matrix) is not reported (it was
/// −0.061 after up to 100,000 eigendecompositions: 250 items × 30 rows took 15 s), and the
/// reliability of thousands of items finishes in bounded time.
#[test]
fn omega_is_refused_when_not_identified_and_bounded_in_time() {
    use securebase::scoring::{MissingItems, ScaleKey, Subscale, reliability};
    for (k, n) in [(250usize, 30usize), (5000, 30)] {
        let items: Vec<String> = (0..k).map(|j| format!("q{j}")).collect();
        let mut d = Data::new();
        for (j, name) in items.iter().enumerate() {
            let v: Vec<f64> = (0..n)
                .map(|i| {
                    let h = ((i * 2_654_435_761 + j * 40_503 + 12_345) as u64)
                        .wrapping_mul(6_364_136_223_846_793_005)
                        >> 33;
                    (1 + h % 5) as f64
                })
                .collect();
            d = d.with_numeric(name, v).unwrap();
        }
        let key = ScaleKey::new("many", 1, 5)
            .cited("none", "synthetic test key")
            .with_subscale(Subscale::mean("all", &items));
        let start = std::time::Instant::now();
        let r = reliability(&d, &key, MissingItems::CompleteCases).unwrap();
        assert!(
            start.elapsed().as_secs() < 20,
            "{k} items: {:?}",
            start.elapsed()
        );
        assert_eq!(r[0].omega_total, None);
        let note = r[0].omega_note.as_deref().unwrap_or("");
        assert!(note.contains("not identified"), "{note}");
        assert!(r[0].alpha.is_finite());
    }
}

/// Norms' population fields are optional, as the key format documents.
#[test]
fn key_norms_take_only_their_required_fields() {
    use securebase::scoring::ScaleKey;
    let name = securebase::scoring::builtin_names()[0];
    let mut v: serde_json::Value =
        serde_json::from_str(&securebase::scoring::builtin(name).unwrap().to_json()).unwrap();
    v["subscales"][0]["norms"] = serde_json::json!({
        "mean": 2.1, "sd": 0.6, "reliability": 0.85, "higher_is_worse": true
    });
    let key = ScaleKey::from_json(&v.to_string()).unwrap();
    let n = key.subscales[0].norms.as_ref().unwrap();
    assert_eq!((n.mean, n.functional_mean), (2.1, None));
}

/// A long sum inside I() is flat, not 100 levels deep; parentheses still nest boundedly.
#[test]
fn long_sums_in_functions_are_not_deep() {
    let n = 120;
    let mut text = String::new();
    let names: Vec<String> = (1..=n).map(|j| format!("x{j}")).collect();
    text.push_str("y,");
    text.push_str(&names.join(","));
    text.push('\n');
    for i in 0..30 {
        let row: Vec<String> = (1..=n).map(|j| ((i * j) % 7).to_string()).collect();
        text.push_str(&format!("{},{}\n", (i * 3) % 11, row.join(",")));
    }
    let d = csv(&text).unwrap();
    let f = format!("y ~ I({})", names.join(" + "));
    let fit = Ols::fit(&d, &f).unwrap();
    // The sum is computed: the coefficient's column equals the row sums.
    assert_eq!(fit.terms()[1], format!("I({})", names.join(" + ")));
    let e = Ols::fit(
        &d,
        &format!("y ~ I({}x1{})", "(".repeat(150), ")".repeat(150)),
    )
    .unwrap_err();
    assert!(e.to_string().contains("nests deeper"), "{e}");
}

/// `poly(x, 2, raw = TRUE, raw = FALSE)` was accepted (the last one won).
#[test]
fn repeated_poly_arguments_are_an_error() {
    for f in [
        "y ~ poly(x, 2, raw = TRUE, raw = FALSE)",
        "y ~ poly(x, 2, degree = 3)",
    ] {
        let e = securebase::Formula::parse(f).unwrap_err();
        assert!(e.to_string().contains("twice"), "{f}: {e}");
    }
    assert!(securebase::Formula::parse("y ~ poly(x, degree = 2, raw = TRUE)").is_ok());
}

/// `cbind(incidence, size - incidence)` said "unknown column 'size - incidence'": each side may
/// be an expression, as in R. Equal to the same fit with the failures as a column.
#[test]
fn cbind_sides_may_be_expressions() {
    use securebase::glm::{Family, Glm};
    let d = Data::from_csv_path(fixture("glmm/cbpp.csv")).unwrap();
    let a = Glm::fit(
        &d,
        "cbind(incidence, size - incidence) ~ period",
        Family::binomial(),
    )
    .unwrap();
    let b = Glm::fit(&d, "cbind(incidence, rest) ~ period", Family::binomial()).unwrap();
    for (x, y) in a.coefficients.iter().zip(&b.coefficients) {
        assert!(
            (x.estimate - y.estimate).abs() < 1e-12 && (x.std_error - y.std_error).abs() < 1e-12
        );
    }
    let e = Glm::fit(
        &d,
        "cbind(incidence, sizes - incidence) ~ period",
        Family::binomial(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("sizes"), "{e}");
}

/// An instrument's `names` naming no subscale and `third_level` without a therapist column were
/// ignored; both are plan problems now.
#[test]
fn plan_names_of_unknown_subscales_and_third_level_without_therapist_are_problems() {
    use securebase::simulate::sessions::SessionParams;
    use securebase::study::{Plan, StudyOptions, run};
    let data = Data::from_csv_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/study_sessions.csv"
    ))
    .unwrap();
    let text = PLAN.replace(
        "\"names\": {\"total\": \"iip_pre\"}",
        "\"names\": {\"totl\": \"iip_pre\"}",
    );
    let plan = Plan::from_json(&text).unwrap();
    let e = run(
        &data,
        &plan,
        &StudyOptions::simulated(SessionParams::default().seed),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("'totl', which is not a subscale")
            && e.to_string().contains("did you mean 'total'?"),
        "{e}"
    );
    let mut plan = Plan::from_json(PLAN).unwrap();
    plan.ids.therapist = None;
    plan.level_comparison = None;
    plan.mediations[0].third_level = Some(true);
    let e = run(
        &data,
        &plan,
        &StudyOptions::simulated(SessionParams::default().seed),
    )
    .unwrap_err();
    assert!(e.to_string().contains("needs ids.therapist"), "{e}");
}

/// Binary power where most replicates separate completely reported 0.000 from the 1 of 20 that
/// fitted; fewer than half fitted is "not estimable" now.
#[test]
fn power_from_a_minority_of_fitted_replicates_is_not_reported() {
    use securebase::simulate::binary_power::{BinaryDesign, binary_power};
    let mut d = BinaryDesign::dropout(2, 3);
    d.baseline = 0.02;
    d.multilevel = false;
    let r = binary_power(&d, 20, 1).unwrap();
    assert!(r.failed > 10, "{r:?}");
    assert!(
        !r.is_estimable() && r.power.is_nan() && r.ci[0].is_nan(),
        "{r:?}"
    );
    // A design that fits is estimable as before.
    let mut ok = BinaryDesign::dropout(20, 10);
    ok.multilevel = false;
    let r = binary_power(&ok, 20, 1).unwrap();
    assert!(r.is_estimable() && r.failed * 2 <= r.replicates, "{r:?}");
}

/// Plan labels and names reach the Markdown report escaped: a label cannot break a table row,
/// start a new line or carry raw HTML.
#[test]
fn plan_labels_are_escaped_in_the_report() {
    use securebase::simulate::sessions::SessionParams;
    use securebase::study::{Plan, StudyOptions, run};
    let data = Data::from_csv_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/study_sessions.csv"
    ))
    .unwrap();
    let mut plan = Plan::from_json(PLAN).unwrap();
    plan.bootstrap = 10;
    plan.draws = 50;
    plan.labels.insert(
        "ecr_anx".into(),
        "anxiety | <script>alert(1)</script>\n# heading".into(),
    );
    plan.models[0].label = "a label | with a bar\nand a line".into();
    let report = run(
        &data,
        &plan,
        &StudyOptions::simulated(SessionParams::default().seed),
    )
    .unwrap();
    let md = report.to_markdown();
    assert!(!md.contains("<script>"), "raw HTML in the report");
    assert!(
        md.contains("anxiety \\| &lt;script&gt;alert(1)&lt;/script&gt; # heading"),
        "{md}"
    );
    assert!(
        !md.lines()
            .any(|l| l.starts_with("# heading") || l.starts_with("and a line"))
    );
    assert!(md.contains("a label \\| with a bar and a line"));
}
