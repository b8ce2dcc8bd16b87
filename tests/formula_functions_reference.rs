//! Functions of variables in formulas against `lm`/`lmer` on the same CSV, and the
//! session-level model with per-level ICCs against `performance::icc`
//! (tests/reference/formula_functions.R → tests/fixtures/functions/).
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::{close, close_all, f64s, fixture, load_json, strs};
use securebase::center::group_mean_center;
use securebase::data::Agg;
use securebase::{Criterion, Data, Error, LmmSpec, Ols};
use serde_json::Value;

fn reference() -> Value {
    load_json("functions/reference.json")
}

fn data(name: &str) -> Data {
    Data::from_csv_path(fixture(&format!("functions/{name}.csv"))).unwrap()
}

#[test]
fn ols_with_functions_matches_lm() {
    let r = reference();
    let d = data("functions");
    let newdata = data("newdata");
    for m in r["ols"].as_array().unwrap() {
        let f = m["formula"].as_str().unwrap();
        let fit = Ols::fit(&d, f).unwrap_or_else(|e| panic!("{f}: {e}"));
        let terms: Vec<String> = fit.terms().iter().map(|t| t.to_string()).collect();
        assert_eq!(terms, strs(&m["terms"]), "{f}");
        let est: Vec<f64> = fit.coefficients().iter().map(|c| c.estimate).collect();
        let se: Vec<f64> = fit.coefficients().iter().map(|c| c.std_error).collect();
        close_all(
            &format!("{f}: estimates"),
            &est,
            &f64s(&m["estimate"]),
            1e-8,
        );
        close_all(&format!("{f}: SEs"), &se, &f64s(&m["se"]), 1e-8);
        close(
            &format!("{f}: sigma"),
            fit.sigma(),
            m["sigma"].as_f64().unwrap(),
            1e-8,
        );
        close(
            &format!("{f}: R2"),
            fit.r_squared(),
            m["r2"].as_f64().unwrap(),
            1e-8,
        );
        close_all(
            &format!("{f}: fitted"),
            fit.fitted(),
            &f64s(&m["fitted"]),
            1e-8,
        );
        let dropped: Vec<usize> = m["dropped"]
            .as_array()
            .map(|a| a.iter().map(|x| x.as_u64().unwrap() as usize).collect())
            .unwrap_or_default();
        assert_eq!(fit.missing().dropped_rows, dropped, "{f}");
        // New data are coded with the constants fitted on the data (scale's mean and SD, the
        // orthogonal polynomial's recurrence), as R's predict() does.
        let p = fit.predict(&newdata, 0.95).unwrap();
        close_all(&format!("{f}: predict"), &p.fit, &f64s(&m["predict"]), 1e-8);
        close_all(
            &format!("{f}: predict SE"),
            &p.se_fit,
            &f64s(&m["predict_se"]),
            1e-8,
        );
    }
}

#[test]
fn functions_outside_their_domain_are_errors_naming_row_and_column() {
    let d = Data::new()
        .with_numeric("y", vec![1.0, 2.0, 3.0, 4.0])
        .unwrap()
        .with_numeric("x", vec![1.0, 2.0, 0.0, 4.0])
        .unwrap()
        .with_numeric("z", vec![1.0, -2.0, 3.0, 4.0])
        .unwrap();
    let e = Ols::fit(&d, "y ~ log(x)").unwrap_err();
    assert!(
        matches!(&e, Error::InvalidValue { column, row: 3, .. } if column == "x"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("log(x): the logarithm needs values above 0"),
        "{e}"
    );
    let e = Ols::fit(&d, "y ~ sqrt(z)").unwrap_err();
    assert!(matches!(&e, Error::InvalidValue { row: 2, .. }), "{e}");
    let e = Ols::fit(&d, "y ~ I(z/x)").unwrap_err();
    assert!(e.to_string().contains("division by zero"), "{e}");
    assert!(e.to_string().contains("z = 3, x = 0"), "{e}");
    let e = Ols::fit(&d, "y ~ I(z^0.5)").unwrap_err();
    assert!(e.to_string().contains("fractional power"), "{e}");
    let e = Ols::fit(&d, "y ~ I(exp(x * 1000))").unwrap_err();
    assert!(e.to_string().contains("too large"), "{e}");
    let e = Ols::fit(&d, "y ~ poly(x, 4)").unwrap_err();
    assert!(
        e.to_string()
            .contains("less than the number of distinct values"),
        "{e}"
    );
    // An unknown column inside a call points at it.
    let e = Ols::fit(&d, "y ~ log(nope)").unwrap_err();
    assert!(
        matches!(&e, Error::UnknownColumn { name, position: Some(8), .. } if name == "nope"),
        "{e}"
    );
    // A categorical column inside arithmetic.
    let g = d
        .clone()
        .with_categorical("g", vec!["a", "b", "a", "b"])
        .unwrap();
    let e = Ols::fit(&g, "y ~ I(g * 2)").unwrap_err();
    assert!(matches!(&e, Error::ColumnType { .. }), "{e}");
    assert!(e.to_string().contains("in I(g * 2)"), "{e}");
    // factor() of a categorical column is the column.
    let fit = Ols::fit(&g, "y ~ factor(g)").unwrap();
    assert_eq!(fit.terms(), ["(Intercept)", "factor(g)b"]);
    // A constant variable cannot be scaled.
    let c = d.clone().with_numeric("k", vec![2.0; 4]).unwrap();
    let e = Ols::fit(&c, "y ~ scale(k)").unwrap_err();
    assert!(e.to_string().contains("no spread"), "{e}");
}

/// The session-level study file, built with Data's operations as the R script builds it with
/// dplyr: client anxiety joined in, Secure's client mean joined back, the within-client part.
fn study() -> Data {
    let sessions = data("sessions");
    let clients = data("clients");
    let pm = sessions
        .aggregate(&["client"], &[Agg::mean("secure").named("secure_pm")])
        .unwrap();
    assert_eq!(pm.skipped[0].1, 10); // the ten missing Secure values
    let joined = sessions.left_join(&clients, &["client"]).unwrap();
    assert_eq!((joined.unmatched_left, joined.unmatched_right), (0, 0));
    let mut d = joined.data.left_join(&pm.data, &["client"]).unwrap().data;
    group_mean_center(&mut d, "secure", "client", "secure_wc").unwrap();
    d
}

#[test]
fn session_level_model_matches_lmer_and_its_iccs_performance() {
    let r = &reference()["lmm"];
    let d = study();
    let spec = LmmSpec::new(&d, r["formula"].as_str().unwrap()).unwrap();
    close(
        "REML at lme4's theta",
        spec.deviance(Criterion::Reml)
            .eval(&f64s(&r["theta"]))
            .unwrap(),
        r["objective"].as_f64().unwrap(),
        1e-8,
    );
    let fit = spec.fit(Criterion::Reml).unwrap();
    assert_eq!(fit.nobs() as u64, r["nobs"].as_u64().unwrap());
    let terms: Vec<String> = fit.terms().iter().map(|t| t.to_string()).collect();
    assert_eq!(terms, strs(&r["terms"]));
    assert!(fit.objective() <= r["objective"].as_f64().unwrap() + 1e-6);
    let est: Vec<f64> = fit.coefficients().iter().map(|c| c.estimate).collect();
    let se: Vec<f64> = fit.coefficients().iter().map(|c| c.std_error).collect();
    let df: Vec<f64> = fit.coefficients().iter().map(|c| c.df).collect();
    close_all("estimates", &est, &f64s(&r["estimate"]), 1e-4);
    close_all("SEs", &se, &f64s(&r["se"]), 1e-4);
    close_all("Satterthwaite df", &df, &f64s(&r["df"]), 1e-3);
    // θ's small slope-intercept term is flat in the criterion: 1e-3 there, the optimum to 1e-6.
    close_all("theta", fit.theta(), &f64s(&r["theta"]), 1e-3);
    close(
        "REML",
        fit.objective(),
        r["objective"].as_f64().unwrap(),
        1e-6,
    );
    // The ICCs depend on that flat direction too (through the slope variance): 1e-3.
    let icc = fit.icc();
    close(
        "adjusted ICC",
        icc.adjusted,
        r["icc"]["adjusted"].as_f64().unwrap(),
        1e-3,
    );
    close(
        "conditional ICC",
        icc.conditional,
        r["icc"]["conditional"].as_f64().unwrap(),
        1e-3,
    );
    for g in ["client", "therapist"] {
        close(
            &format!("ICC {g}"),
            icc.group(g).unwrap(),
            r["icc"]["group"][g].as_f64().unwrap(),
            1e-3,
        );
    }
    // The labels say what each number is, in Display and JSON.
    let text = fit.to_string();
    assert!(
        text.contains("ICC: adjusted") && text.contains("by group client"),
        "{text}"
    );
    let json = serde_json::to_value(fit.icc()).unwrap();
    assert!(json["adjusted"].is_f64() && json["by_group"][0]["group"] == "client");
}

#[test]
fn three_level_intercept_iccs_match_performance() {
    let r = &reference()["three"];
    let fit = LmmSpec::new(&study(), r["formula"].as_str().unwrap())
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    close(
        "REML",
        fit.objective(),
        r["objective"].as_f64().unwrap(),
        1e-6,
    );
    let icc = fit.icc();
    close(
        "adjusted",
        icc.adjusted,
        r["icc"]["adjusted"].as_f64().unwrap(),
        1e-4,
    );
    close(
        "conditional",
        icc.conditional,
        r["icc"]["conditional"].as_f64().unwrap(),
        1e-4,
    );
    for g in ["client", "therapist"] {
        close(
            &format!("ICC {g}"),
            icc.group(g).unwrap(),
            r["icc"]["group"][g].as_f64().unwrap(),
            1e-4,
        );
    }
}

#[test]
fn mixed_model_with_poly_and_offset_matches_lmer() {
    let r = &reference()["fn_lmm"];
    let spec = LmmSpec::new(&study(), r["formula"].as_str().unwrap()).unwrap();
    close(
        "REML at lme4's theta",
        spec.deviance(Criterion::Reml)
            .eval(&f64s(&r["theta"]))
            .unwrap(),
        r["objective"].as_f64().unwrap(),
        1e-8,
    );
    let fit = spec.fit(Criterion::Reml).unwrap();
    let terms: Vec<String> = fit.terms().iter().map(|t| t.to_string()).collect();
    assert_eq!(terms, strs(&r["terms"]));
    let est: Vec<f64> = fit.coefficients().iter().map(|c| c.estimate).collect();
    let se: Vec<f64> = fit.coefficients().iter().map(|c| c.std_error).collect();
    close_all("estimates", &est, &f64s(&r["estimate"]), 1e-4);
    close_all("SEs", &se, &f64s(&r["se"]), 1e-4);
    close_all(
        "fitted (with the offset)",
        fit.fitted(),
        &f64s(&r["fitted"]),
        1e-4,
    );
}
