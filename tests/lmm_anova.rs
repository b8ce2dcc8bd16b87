//! Likelihood-ratio tests against R's anova(m0, m1) (tests/reference/lmm_more.R).
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::*;
use securebase::lmm::anova;
use securebase::{Criterion, Data, Error, LmmSpec};

#[test]
fn lrt_matches_r_anova() {
    let refs = load_json("lme4/anova_lrt.json");
    for r in refs.as_array().unwrap() {
        let name = r["data"].as_str().unwrap();
        let data = Data::from_csv_path(fixture(&format!("{name}.csv"))).unwrap();
        // R compared the models on the complete cases of the larger one.
        let large = r["large"].as_str().unwrap();
        let rows: Vec<usize> = (0..data.nrows())
            .filter(|&i| {
                data.names()
                    .iter()
                    .all(|c| !data.column(c).unwrap().is_missing(i))
            })
            .collect();
        let data = data.select_rows(&rows).unwrap();
        let m1 = LmmSpec::new(&data, large)
            .unwrap()
            .fit(Criterion::Reml)
            .unwrap();
        let m0 = LmmSpec::new(&data, r["small"].as_str().unwrap())
            .unwrap()
            .fit(Criterion::Reml)
            .unwrap();
        let a = anova(&[&m1, &m0]).unwrap();
        assert_eq!(a.rows[1].formula, large);
        close(
            "chisq",
            a.rows[1].chisq.unwrap(),
            r["chisq"].as_f64().unwrap(),
            1e-5,
        );
        assert_eq!(a.rows[1].df.unwrap() as f64, r["df"].as_f64().unwrap());
        close("p", a.rows[1].p.unwrap(), r["p"].as_f64().unwrap(), 1e-4);
        let dev = f64s(&r["deviance"]);
        let aic = f64s(&r["aic"]);
        let npar = f64s(&r["npar"]);
        for i in 0..2 {
            close("deviance", a.rows[i].deviance, dev[i], 1e-7);
            close("AIC", a.rows[i].aic, aic[i], 1e-7);
            assert_eq!(a.rows[i].npar as f64, npar[i]);
        }
    }
}

#[test]
fn lrt_refuses_models_on_different_rows() {
    let data = Data::from_csv_path(fixture("threelevel.csv")).unwrap();
    let m1 = LmmSpec::new(&data, "symptoms ~ session + alliance + (1 | client)")
        .unwrap()
        .fit(Criterion::Ml)
        .unwrap();
    let m0 = LmmSpec::new(&data, "symptoms ~ session + (1 | client)")
        .unwrap()
        .fit(Criterion::Ml)
        .unwrap();
    assert!(
        matches!(anova(&[&m0, &m1]), Err(Error::Argument { message, .. }) if message.contains("same rows"))
    );
    assert!(anova(&[&m0]).is_err());
}

#[test]
fn wald_intervals_match_lme4_confint() {
    let r = load_json("lme4/wald_sleepstudy.json");
    let data = Data::from_csv_path(fixture("sleepstudy.csv")).unwrap();
    let fit = LmmSpec::new(&data, "Reaction ~ Days + (Days | Subject)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    let ci = fit.confint_wald(0.9).unwrap();
    for bad in [f64::NAN, 1.0, -1.0, 95.0] {
        assert!(fit.confint_wald(bad).is_err(), "{bad}");
    }
    let (lo, hi) = (f64s(&r["lower"]), f64s(&r["upper"]));
    for (j, (_, [a, b])) in ci.iter().enumerate() {
        close("Wald lower", *a, lo[j], 1e-5);
        close("Wald upper", *b, hi[j], 1e-5);
    }
}
