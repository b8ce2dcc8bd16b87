//! Linear mixed models against lme4 1.1-31 / lmerTest 3.1-3 (R 4.2.2).
//! Fixtures: tests/fixtures/lme4/*.json from tests/reference/lme4_shared.R (the project's shared
//! reference set) and tests/reference/lmm_more.R (models made for this crate).
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::*;
use securebase::{Criterion, Data, LmmSpec};
use serde_json::Value;

fn named(v: &Value, names: &[&str]) -> Vec<f64> {
    names
        .iter()
        .map(|n| v[*n].as_f64().unwrap_or_else(|| panic!("no {n} in {v}")))
        .collect()
}

/// |a − b| ≤ tol · max(|b|, floor)
#[track_caller]
fn near(what: &str, a: f64, b: f64, tol: f64, floor: f64) {
    let scale = b.abs().max(floor);
    assert!(
        (a - b).abs() <= tol * scale,
        "{what}: got {a:.12e}, lme4 says {b:.12e} (tolerance {tol:.0e} × {scale:.3e})"
    );
}

fn data_for(name: &str) -> Data {
    let file = name.split('_').next().unwrap();
    Data::from_csv_path(fixture(&format!("{file}.csv"))).unwrap()
}

fn check(file: &str) {
    let r = load_json(&format!("lme4/{file}"));
    let name = r["name"].as_str().unwrap();
    let formula = r["formula"].as_str().unwrap();
    let reml = r["REML"].as_bool().unwrap();
    let crit = if reml { Criterion::Reml } else { Criterion::Ml };
    let data = data_for(name);
    let spec = LmmSpec::new(&data, formula).unwrap_or_else(|e| panic!("{formula}: {e}"));
    let tag = format!("{file} {formula}");
    // 1. The objective at lme4's θ, tightly.
    let theta_ref = f64s(&r["theta"]);
    let at_ref = spec.deviance(crit).eval(&theta_ref).unwrap();
    let objective_ref = r["deviance_or_reml"].as_f64().unwrap();
    near(
        &format!("{tag}: objective at lme4's θ"),
        at_ref,
        objective_ref,
        1e-8,
        1.0,
    );
    // 2. The optimum.
    let fit = spec.fit(crit).unwrap();
    assert!(fit.converged(), "{tag}: {:?}", fit.optimization());
    near(
        &format!("{tag}: objective"),
        fit.objective(),
        objective_ref,
        1e-6,
        1.0,
    );
    assert!(
        fit.objective() <= objective_ref + 1e-7 * objective_ref.abs(),
        "{tag}: worse optimum than lme4"
    );
    for (i, (a, b)) in fit.theta().iter().zip(&theta_ref).enumerate() {
        near(&format!("{tag}: theta[{i}]"), *a, *b, 1e-4, 1.0);
    }
    let terms: Vec<&str> = fit.terms();
    near(
        &format!("{tag}: sigma"),
        fit.sigma(),
        r["sigma"].as_f64().unwrap(),
        1e-4,
        0.0,
    );
    let beta_ref = named(&r["fixef"], &terms);
    let se_ref = named(&r["se"], &terms);
    let df_ref = named(&r["satterthwaite_df"], &terms);
    let p_ref = named(&r["p"], &terms);
    for (j, c) in fit.coefficients().iter().enumerate() {
        near(
            &format!("{tag}: beta {}", c.term),
            c.estimate,
            beta_ref[j],
            1e-4,
            0.0,
        );
        near(
            &format!("{tag}: se {}", c.term),
            c.std_error,
            se_ref[j],
            1e-4,
            0.0,
        );
        near(
            &format!("{tag}: Satterthwaite df {}", c.term),
            c.df,
            df_ref[j],
            1e-3,
            0.0,
        );
        // p = f(t, df): f is checked on lme4's own t and df; t and df are checked above and
        // here (p at t ≈ 30 magnifies the 1e-5 differences between optima ~100-fold).
        let t_ref = r["t"][&c.term].as_f64().unwrap();
        near(&format!("{tag}: t {}", c.term), c.t, t_ref, 1e-4, 0.0);
        near(
            &format!("{tag}: p(t, df of lme4) {}", c.term),
            securebase::stats::t_two_sided(t_ref, df_ref[j]),
            p_ref[j],
            1e-6,
            0.0,
        );
        assert_eq!(c.p, securebase::stats::t_two_sided(c.t, c.df));
    }
    near(
        &format!("{tag}: logLik"),
        fit.loglik(),
        r["logLik"].as_f64().unwrap(),
        1e-6,
        1.0,
    );
    near(
        &format!("{tag}: AIC"),
        fit.aic(),
        r["AIC"].as_f64().unwrap(),
        1e-6,
        1.0,
    );
    near(
        &format!("{tag}: BIC"),
        fit.bic(),
        r["BIC"].as_f64().unwrap(),
        1e-6,
        1.0,
    );
    assert_eq!(
        fit.is_singular(),
        r["singular"].as_bool().unwrap(),
        "{tag}: singular flag"
    );
    assert_eq!(fit.nobs() as f64, r["nobs"].as_f64().unwrap());
    // Variance components: lme4's as.data.frame(VarCorr) rows, in order.
    let mut rows: Vec<(String, f64)> = Vec::new();
    for vc in fit.varcorr() {
        for i in 0..vc.effects.len() {
            rows.push((
                format!("{} var {}", vc.group, vc.effects[i]),
                vc.variance[i],
            ));
        }
        for i in 0..vc.effects.len() {
            for j in 0..i {
                rows.push((
                    format!("{} cov {}:{}", vc.group, vc.effects[j], vc.effects[i]),
                    vc.covariance[i][j],
                ));
            }
        }
    }
    rows.push(("Residual".into(), fit.sigma().powi(2)));
    let vref = r["varcorr"].as_array().unwrap();
    assert_eq!(rows.len(), vref.len(), "{tag}: variance components");
    let floor = fit.sigma().powi(2) * 1e-3;
    for ((what, v), rv) in rows.iter().zip(vref) {
        near(
            &format!("{tag}: {what}"),
            *v,
            rv["vcov"].as_f64().unwrap(),
            1e-4,
            floor,
        );
    }
    extras(&tag, &r, &fit);
    // Kenward–Roger df (pbkrtest 0.5.2), REML fits only.
    if !reml {
        assert!(fit.kenward_roger().is_err(), "{tag}: KR is for REML fits");
    }
    if let Some(kr_ref) = r
        .get("kenward_roger_df")
        .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
    {
        let kr = fit.kenward_roger().unwrap();
        for c in &kr.coefficients {
            near(
                &format!("{tag}: KR df {}", c.term),
                c.df,
                kr_ref[&c.term].as_f64().unwrap(),
                1e-3,
                0.0,
            );
        }
    }
    // Conditional modes (first five levels of each factor).
    for re in fit.ranef() {
        let rg = &r["ranef"][re.group()];
        assert!(rg.is_object(), "{tag}: no ranef for {}", re.group());
        for (c, e) in re.effects().iter().enumerate() {
            let want = f64s(&rg[e]);
            let sd = fit
                .varcorr()
                .iter()
                .find(|v| v.group == re.group())
                .unwrap()
                .sd[c];
            for (l, w) in want.iter().enumerate() {
                near(
                    &format!("{tag}: ranef {} {} level {}", re.group(), e, re.levels()[l]),
                    re.mode(l)[c],
                    *w,
                    1e-4,
                    sd.max(1e-3),
                );
            }
        }
    }
}

/// Fields only the crate's own fixtures (tests/reference/lmm_more.R) carry.
fn extras(tag: &str, r: &Value, fit: &securebase::LmmFit) {
    if r.get("cond_var").is_none() {
        return;
    }
    for re in fit.ranef() {
        let levels = strs(&r["ranef_levels"][re.group()]);
        assert_eq!(
            &re.levels()[..levels.len()],
            &levels[..],
            "{tag}: level order of {}",
            re.group()
        );
        let cv = &r["cond_var"][re.group()];
        for (l, want) in cv.as_array().unwrap().iter().enumerate() {
            let want: Vec<f64> = match want {
                Value::Array(rows) if rows.first().is_some_and(Value::is_array) => {
                    rows.iter().flat_map(f64s).collect()
                }
                other => f64s(other),
            };
            let got = re.cond_var(l);
            assert_eq!(got.len(), want.len(), "{tag}: cond var size");
            // On the σ² scale: at a boundary fit both values are ~0 and depend on where each
            // optimizer stops near θ = 0.
            let floor = want
                .iter()
                .fold(1e-3 * fit.sigma().powi(2), |m, v| m.max(v.abs()));
            for (g, w) in got.iter().zip(&want) {
                near(
                    &format!("{tag}: cond var {} level {}", re.group(), re.levels()[l]),
                    *g,
                    *w,
                    1e-4,
                    floor,
                );
            }
        }
    }
    let fitted_ref = f64s(&r["fitted_head"]);
    let resid_ref = f64s(&r["resid_head"]);
    for i in 0..fitted_ref.len() {
        near(
            &format!("{tag}: fitted[{i}]"),
            fit.fitted()[i],
            fitted_ref[i],
            1e-6,
            1.0,
        );
        near(
            &format!("{tag}: residual[{i}]"),
            fit.residuals()[i],
            resid_ref[i],
            1e-4,
            fit.sigma(),
        );
    }
    near(
        &format!("{tag}: marginal R2"),
        fit.r2_marginal(),
        r["r2"]["marginal"].as_f64().unwrap(),
        1e-4,
        1e-3,
    );
    near(
        &format!("{tag}: conditional R2"),
        fit.r2_conditional(),
        r["r2"]["conditional"].as_f64().unwrap(),
        1e-4,
        1e-3,
    );
    if fit.varcorr().iter().all(|v| v.effects == ["(Intercept)"]) {
        for g in &fit.icc().by_group {
            near(
                &format!("{tag}: ICC {}", g.group),
                g.icc,
                r["icc"][&g.group].as_f64().unwrap(),
                1e-4,
                1e-3,
            );
        }
    }
    let dropped: Vec<f64> = fit
        .missing()
        .dropped_rows
        .iter()
        .map(|&x| x as f64)
        .collect();
    assert_eq!(dropped, f64s(&r["dropped"]), "{tag}: dropped rows");
    for (g, n) in fit.ngroups() {
        assert_eq!(
            *n as f64,
            r["ngroups"][g].as_f64().unwrap(),
            "{tag}: levels of {g}"
        );
    }
    if let Some(c) = r.get("contrast") {
        let got = fit.contrast(&f64s(&c["L"])).unwrap();
        near(
            &format!("{tag}: contrast estimate"),
            got.estimate,
            c["estimate"].as_f64().unwrap(),
            1e-4,
            1e-3,
        );
        near(
            &format!("{tag}: contrast se"),
            got.std_error,
            c["se"].as_f64().unwrap(),
            1e-4,
            0.0,
        );
        near(
            &format!("{tag}: contrast df"),
            got.df,
            c["df"].as_f64().unwrap(),
            1e-3,
            0.0,
        );
        near(
            &format!("{tag}: contrast t"),
            got.t,
            c["t"].as_f64().unwrap(),
            1e-4,
            0.0,
        );
    }
}

macro_rules! reference {
    ($($name:ident => $file:expr),* $(,)?) => { $( #[test] fn $name() { check($file); } )* };
}

reference! {
    sleepstudy_slopes_reml => "sleepstudy_slopes_reml.json",
    sleepstudy_slopes_ml => "sleepstudy_slopes_ml.json",
    sleepstudy_uncorr_reml => "sleepstudy_uncorr_reml.json",
    sleepstudy_uncorr_ml => "sleepstudy_uncorr_ml.json",
    sleepstudy_int_reml => "sleepstudy_int_reml.json",
    sleepstudy_int_ml => "sleepstudy_int_ml.json",
    dyestuff_reml => "dyestuff_reml.json",
    dyestuff_ml => "dyestuff_ml.json",
    penicillin_reml => "penicillin_reml.json",
    penicillin_ml => "penicillin_ml.json",
    pastes_reml => "pastes_reml.json",
    pastes_ml => "pastes_ml.json",
    threelevel_reml => "threelevel_reml.json",
    threelevel_ml => "threelevel_ml.json",
    threelevel_nested_reml => "threelevel_nested_reml.json",
    threelevel_nested_ml => "threelevel_nested_ml.json",
    orthodont_reml => "orthodont_reml.json",
    orthodont_ml => "orthodont_ml.json",
    machines_reml => "machines_reml.json",
    machines_ml => "machines_ml.json",
    singular_reml => "singular_reml.json",
    singular_ml => "singular_ml.json",
}
