//! OLS against R's `lm()` and `sandwich::vcovHC()` on real data sets.
//! Fixtures: tests/reference/ols.R → tests/fixtures/ols_reference.json.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::*;
use securebase::{Data, Error, HcType, Ols};

#[test]
fn ols_matches_r_lm() {
    let refs = load_json("ols_reference.json");
    let mut checked = 0;
    for m in refs.as_array().unwrap() {
        let formula = m["formula"].as_str().unwrap();
        let data =
            Data::from_csv_path(fixture(&format!("{}.csv", m["data"].as_str().unwrap()))).unwrap();
        let aliased = strs(&m["aliased"]);
        if !aliased.is_empty() {
            match Ols::fit(&data, formula) {
                Err(Error::Term { term, .. }) => assert_eq!(term, aliased[0], "{formula}"),
                other => panic!("{formula}: expected an aliasing error, got {other:?}"),
            }
            checked += 1;
            continue;
        }
        let fit = Ols::fit(&data, formula).unwrap_or_else(|e| panic!("{formula}: {e}"));
        let what = |s: &str| format!("{formula}: {s}");
        assert_eq!(fit.terms(), strs(&m["terms"]), "{formula}");
        let est: Vec<f64> = fit.coefficients().iter().map(|c| c.estimate).collect();
        let se: Vec<f64> = fit.coefficients().iter().map(|c| c.std_error).collect();
        let t: Vec<f64> = fit.coefficients().iter().map(|c| c.t).collect();
        let p: Vec<f64> = fit.coefficients().iter().map(|c| c.p).collect();
        let lo: Vec<f64> = fit.coefficients().iter().map(|c| c.ci[0]).collect();
        let hi: Vec<f64> = fit.coefficients().iter().map(|c| c.ci[1]).collect();
        close_all(&what("estimate"), &est, &f64s(&m["estimate"]), 1e-8);
        close_all(&what("se"), &se, &f64s(&m["se"]), 1e-8);
        close_all(&what("t"), &t, &f64s(&m["t"]), 1e-8);
        close_all(&what("p"), &p, &f64s(&m["p"]), 1e-6);
        close_all(&what("ci lower"), &lo, &f64s(&m["ci_lower"]), 1e-8);
        close_all(&what("ci upper"), &hi, &f64s(&m["ci_upper"]), 1e-8);
        close(
            &what("sigma"),
            fit.sigma(),
            m["sigma"].as_f64().unwrap(),
            1e-10,
        );
        close(
            &what("df"),
            fit.df_residual(),
            m["df"].as_f64().unwrap(),
            0.0,
        );
        close(
            &what("r2"),
            fit.r_squared(),
            m["r2"].as_f64().unwrap(),
            1e-10,
        );
        close(
            &what("adj r2"),
            fit.adj_r_squared(),
            m["adj_r2"].as_f64().unwrap(),
            1e-10,
        );
        let ft = fit.f_test().unwrap();
        close(&what("F"), ft.statistic, m["fstat"].as_f64().unwrap(), 1e-8);
        close(&what("F df1"), ft.df1, m["fdf1"].as_f64().unwrap(), 0.0);
        close(&what("F p"), ft.p, m["fp"].as_f64().unwrap(), 1e-6);
        assert_eq!(fit.nobs() as f64, m["nobs"].as_f64().unwrap());
        let dropped: Vec<f64> = fit
            .missing()
            .dropped_rows
            .iter()
            .map(|&r| r as f64)
            .collect();
        assert_eq!(dropped, f64s(&m["dropped"]), "{formula}: dropped rows");
        close(
            &what("logLik"),
            fit.loglik(),
            m["loglik"].as_f64().unwrap(),
            1e-10,
        );
        close(&what("AIC"), fit.aic(), m["aic"].as_f64().unwrap(), 1e-10);
        close(&what("BIC"), fit.bic(), m["bic"].as_f64().unwrap(), 1e-10);
        let hc3: Vec<f64> = fit
            .robust_vcov(HcType::Hc3)
            .iter()
            .enumerate()
            .map(|(j, r)| r[j].sqrt())
            .collect();
        let hc0: Vec<f64> = fit
            .robust_coefficients(HcType::Hc0)
            .iter()
            .map(|c| c.std_error)
            .collect();
        close_all(&what("HC3 se"), &hc3, &f64s(&m["hc3_se"]), 1e-8);
        close_all(&what("HC0 se"), &hc0, &f64s(&m["hc0_se"]), 1e-8);
        close_all(
            &what("leverage"),
            &fit.leverage()[..5],
            &f64s(&m["leverage_head"]),
            1e-8,
        );
        let pred = fit
            .predict(&data.select_rows(&[0, 1, 2]).unwrap(), 0.95)
            .unwrap();
        close_all(&what("predict fit"), &pred.fit, &f64s(&m["pred_fit"]), 1e-8);
        close_all(
            &what("predict se"),
            &pred.se_fit,
            &f64s(&m["pred_se"]),
            1e-8,
        );
        let pl: Vec<f64> = pred.prediction.iter().map(|i| i[0]).collect();
        let pu: Vec<f64> = pred.prediction.iter().map(|i| i[1]).collect();
        let cl: Vec<f64> = pred.confidence.iter().map(|i| i[0]).collect();
        let cu: Vec<f64> = pred.confidence.iter().map(|i| i[1]).collect();
        close_all(&what("prediction lwr"), &pl, &f64s(&m["pred_lwr"]), 1e-8);
        close_all(&what("prediction upr"), &pu, &f64s(&m["pred_upr"]), 1e-8);
        close_all(&what("confidence lwr"), &cl, &f64s(&m["conf_lwr"]), 1e-8);
        close_all(&what("confidence upr"), &cu, &f64s(&m["conf_upr"]), 1e-8);
        checked += 1;
    }
    assert_eq!(checked, 9);
}
