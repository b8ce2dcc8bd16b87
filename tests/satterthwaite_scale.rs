//! Inference that does not depend on the units of y (or of a predictor).
//!
//! Reference: lmerTest 3.1-3 (R 4.2.2), tests/reference/satterthwaite_scale.R, on y × 10^k for
//! k = −100 … 100. lmerTest's df are free of the units of y in exact arithmetic, but its
//! pseudo-inverse of the (θ, σ) Hessian drops eigenvalues below an absolute 1e-8, so its own df
//! change with the scale: on sleepstudy they are 17.0 for k = −6 … 60 and 3e-24 at k = −20; on
//! the three-level data 172.6 / 260.2 / 275.1 for k = −4 … 4 and 294 / 65,886 / 9,402 above.
//! The test takes lmerTest's df at k = 0 as the reference at every scale, and also compares with
//! lmerTest's df at each k where they agree with its k = 0 values (to 1e-4).
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::*;
use securebase::glm::{Family, Glm};
use securebase::probe::{DfMethod, ProbeSpec};
use securebase::{Column, Criterion, Data, LmmSpec};

fn scaled(data: &Data, y: &str, factor: f64) -> Data {
    let mut d = data.clone();
    let v: Vec<Option<f64>> = d
        .numeric(y)
        .unwrap()
        .iter()
        .map(|v| v.map(|x| x * factor))
        .collect();
    d.replace_column(y, Column::Numeric(v.into())).unwrap();
    d
}

#[track_caller]
fn rel(what: &str, a: f64, b: f64, tol: f64) {
    assert!(
        (a - b).abs() <= tol * b.abs(),
        "{what}: got {a:.10e}, reference {b:.10e} (relative tolerance {tol:.0e})"
    );
}

#[test]
fn satterthwaite_df_equal_lmertest_at_every_scale_of_y() {
    let r = load_json("scale/satterthwaite_scale.json");
    for case in ["sleepstudy", "threelevel"] {
        let c = &r[case];
        let data = Data::from_csv_path(fixture(c["file"].as_str().unwrap())).unwrap();
        let y = c["y"].as_str().unwrap();
        let formula = c["formula"].as_str().unwrap();
        let fits = c["fits"].as_array().unwrap();
        let at0 = fits.iter().find(|f| f["k"] == 0).unwrap();
        let df0 = f64s(&at0["df"]);
        let mut compared_at_k = 0;
        for f in fits {
            let k = f["k"].as_i64().unwrap() as i32;
            let d = scaled(&data, y, 10f64.powi(k));
            let lmertest_finite = f["df"]
                .as_array()
                .is_some_and(|a| a.iter().all(|v| v.is_number()));
            let fit = match LmmSpec::new(&d, formula).and_then(|s| s.fit(Criterion::Reml)) {
                Ok(fit) => fit,
                Err(e) => {
                    // Only beyond the magnitudes the crate estimates with (|y| above 1e100),
                    // with a message that says to rescale, and only where lmerTest fails too.
                    assert!(
                        !lmertest_finite && e.to_string().contains("rescale"),
                        "{case} k = {k}: {e}"
                    );
                    continue;
                }
            };
            let ours: Vec<f64> = fit.coefficients().iter().map(|c| c.df).collect();
            for (j, (&a, &b)) in ours.iter().zip(&df0).enumerate() {
                rel(&format!("{case} k = {k}, coefficient {j}"), a, b, 1e-4);
            }
            // t values do not move either.
            let t0 = f64s(&at0["t"]);
            for (j, c) in fit.coefficients().iter().enumerate() {
                rel(&format!("{case} k = {k}, t {j}"), c.t, t0[j], 1e-5);
            }
            if let Some(dfk) = f["df"]
                .as_array()
                .filter(|a| a.iter().all(|v| v.is_number()))
            {
                let dfk: Vec<f64> = dfk.iter().map(|v| v.as_f64().unwrap()).collect();
                let consistent = dfk
                    .iter()
                    .zip(&df0)
                    .all(|(a, b)| (a - b).abs() <= 1e-4 * b.abs());
                if consistent {
                    compared_at_k += 1;
                    for (j, (&a, &b)) in ours.iter().zip(&dfk).enumerate() {
                        rel(&format!("{case} k = {k} vs lmerTest at k, {j}"), a, b, 1e-4);
                    }
                }
            }
        }
        assert!(
            compared_at_k >= 5,
            "{case}: only {compared_at_k} scales compared"
        );
    }
}

/// Probes read the model's df: simple slopes of an interaction are the same at every scale of y
/// (their slopes scale with y, t, df and p do not).
#[test]
fn probe_df_do_not_depend_on_the_units_of_y() {
    let data = Data::from_csv_path(fixture("threelevel.csv")).unwrap();
    let formula = "symptoms ~ session * alliance + (1 | therapist) + (1 | client)";
    let base = {
        let fit = LmmSpec::new(&data, formula)
            .unwrap()
            .fit(Criterion::Reml)
            .unwrap();
        ProbeSpec::new("session", "alliance")
            .df(DfMethod::Model)
            .run(&fit)
            .unwrap()
    };
    for k in [-90, -40, -8, 8, 40, 90] {
        let f = 10f64.powi(k);
        let d = scaled(&data, "symptoms", f);
        let fit = LmmSpec::new(&d, formula)
            .unwrap()
            .fit(Criterion::Reml)
            .unwrap();
        let p = ProbeSpec::new("session", "alliance")
            .df(DfMethod::Model)
            .run(&fit)
            .unwrap();
        for (a, b) in p.simple_slopes.iter().zip(&base.simple_slopes) {
            rel(&format!("k = {k}: slope"), a.slope, b.slope * f, 1e-6);
            rel(&format!("k = {k}: df"), a.df, b.df, 1e-4);
            rel(&format!("k = {k}: t"), a.t, b.t, 1e-6);
        }
        let (a, b) = (&p.johnson_neyman, &base.johnson_neyman);
        assert_eq!(a.regions.len(), b.regions.len(), "k = {k}");
        match (a.bounds, b.bounds) {
            (Some(x), Some(y)) => {
                for (u, v) in x.iter().zip(&y) {
                    assert!(
                        (u - v).abs() <= 1e-5 * v.abs().max(1.0),
                        "k = {k}: {x:?} {y:?}"
                    );
                }
            }
            (None, None) => {}
            other => panic!("k = {k}: {other:?}"),
        }
    }
}

/// Rescaling a random slope's predictor (days in hours, minutes or weeks) changes nothing but
/// the slope's units: the Satterthwaite df stay. (θ entries below 1e-4 are differentiated with an
/// absolute step, as lmerTest's numDeriv does below 1.8e-5, so a predictor rescaled until its
/// θ falls below that changes the derivative's step, not the cut-off. Beyond × 100 the
/// optimizer's own stopping rule, absolute in θ, stops short of the optimum: a matter of the fit,
/// not of the df.)
#[test]
fn satterthwaite_df_do_not_depend_on_the_units_of_a_slope_predictor() {
    let data = Data::from_csv_path(fixture("sleepstudy.csv")).unwrap();
    let base = LmmSpec::new(&data, "Reaction ~ Days + (Days | Subject)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    for f in [1.0 / 7.0, 1e-2, 24.0, 60.0] {
        let d = scaled(&data, "Days", f);
        let fit = LmmSpec::new(&d, "Reaction ~ Days + (Days | Subject)")
            .unwrap()
            .fit(Criterion::Reml)
            .unwrap();
        for (a, b) in fit.coefficients().iter().zip(base.coefficients()) {
            rel(&format!("Days × {f}: df of {}", a.term), a.df, b.df, 1e-4);
            rel(&format!("Days × {f}: t of {}", a.term), a.t, b.t, 1e-5);
        }
    }
}

/// A GLMM's Wald tests do not depend on the units of a predictor.
#[test]
fn glmm_z_do_not_depend_on_the_units_of_a_predictor() {
    let data = Data::from_csv_path(fixture("glmm/cbpp.csv")).unwrap();
    // A numeric predictor (a fixed pattern over the rows), rescaled.
    let mut base_data = data.clone();
    let n = base_data.nrows();
    let x: Vec<Option<f64>> = (0..n).map(|i| Some(((i * 7) % 5) as f64 + 0.5)).collect();
    base_data
        .add_column("x", Column::Numeric(x.clone().into()))
        .unwrap();
    let f = "cbind(incidence, rest) ~ x + (1 | herd)";
    let fit_with = |d: &Data| Glm::fit_mixed(d, f, Family::binomial(), 1);
    let base = match fit_with(&base_data) {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    };
    for s in [1e-6, 1e-3, 1e3, 1e6] {
        let mut d = base_data.clone();
        let xs: Vec<Option<f64>> = x.iter().map(|v| v.map(|v| v * s)).collect();
        d.replace_column("x", Column::Numeric(xs.into())).unwrap();
        let fit = fit_with(&d).unwrap();
        for (a, b) in fit.coefficients.iter().zip(&base.coefficients) {
            rel(&format!("x × {s}: z of {}", a.term), a.t, b.t, 1e-4);
        }
    }
}
