//! Predictions, fitted values and residuals against R (tests/reference/predict.R →
//! tests/fixtures/predict/reference.json): lme4 1.1-31 `predict.merMod` with `re.form = NA`,
//! all random effects and `allow.new.levels = TRUE`, some random effects (`re.form =
//! ~ (1 | therapist)`), `fitted` and `residuals` under `na.exclude`; `predict.glm` with
//! `se.fit`. R's mixed models there are fitted to convergence (lme4's defaults stop ~1e-6 short
//! of the optimum); the fixed part's standard error is the closed form √(x′V̂x) computed in R.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::{at_r_theta, close, close_all, f64s, fixture, load_json};
use securebase::glm::{Family, Glm};
use securebase::predict::{PredictOptions, RandomPart, ResidualKind, Scale};
use securebase::{Data, Error};
use serde_json::Value;

fn data(name: &str) -> Data {
    Data::from_csv_path(fixture(name)).unwrap()
}

fn with_na(v: &Value) -> Vec<Option<f64>> {
    v.as_array().unwrap().iter().map(|x| x.as_f64()).collect()
}

fn all() -> PredictOptions {
    PredictOptions::new().new_levels(true)
}

fn population() -> PredictOptions {
    PredictOptions::new().random(RandomPart::Population)
}

#[test]
fn lmer_predictions_population_conditional_and_new_levels_equal_lme4() {
    let r = &load_json("predict/reference.json")["sleep"];
    let d = data("sleepstudy.csv");
    let fit = at_r_theta(&d, "Reaction ~ Days + (Days | Subject)", r, 1e-5);
    let new = data("predict/sleep_new.csv");
    let pop = fit.predict(&new, &population()).unwrap();
    close_all("re.form = NA", &pop.fit, &f64s(&r["population"]), 1e-8);
    close_all(
        "se of the fixed part",
        &pop.se_fit,
        &f64s(&r["se_fixed"]),
        1e-6,
    );
    assert!(pop.groups.is_empty() && pop.new_levels.is_empty());
    let cond = fit.predict(&new, &all()).unwrap();
    close_all(
        "all random effects",
        &cond.fit,
        &f64s(&r["conditional"]),
        1e-8,
    );
    assert_eq!(cond.groups, ["Subject"]);
    assert_eq!(
        (
            cond.new_levels[0].group.as_str(),
            cond.new_levels[0].levels,
            cond.new_levels[0].rows
        ),
        ("Subject", 1, 2)
    );
    // The confidence interval is the fixed part's with Satterthwaite's df of x′β.
    for i in 0..new.nrows() {
        let l: Vec<f64> = vec![1.0, new.numeric("Days").unwrap().get(i).unwrap()];
        let c = fit.contrast(&l).unwrap();
        close("df", cond.df[i], c.df, 1e-12);
        let q = securebase::stats::t_quantile(0.975, c.df);
        close(
            "lower",
            cond.confidence[i][0],
            cond.fit[i] - q * c.std_error,
            1e-12,
        );
    }
    // Prediction intervals: σ² + x′V̂x + conditional variance of a known subject's effects, the
    // full random-effect variance z′Σz for the new one.
    let pi = cond.prediction.as_ref().unwrap();
    let s2 = fit.sigma().powi(2);
    let vc = &fit.varcorr()[0].covariance;
    for (i, pi_i) in pi.iter().enumerate() {
        let days = new.numeric("Days").unwrap().get(i).unwrap();
        let z = [1.0, days];
        let subject = &format!("{}", new.numeric("Subject").unwrap().get(i).unwrap());
        let re = &fit.ranef()[0];
        let m: Vec<f64> = match re.level(subject) {
            Some(l) => re.cond_var(l).to_vec(),
            None => vec![vc[0][0], vc[0][1], vc[1][0], vc[1][1]],
        };
        let vr = z[0] * z[0] * m[0] + 2.0 * z[0] * z[1] * m[1] + z[1] * z[1] * m[3];
        let half = 1.959963984540054 * (cond.se_fit[i].powi(2) + vr + s2).sqrt();
        close("PI upper", pi_i[1], cond.fit[i] + half, 1e-12);
    }
    // Refused: a new level unless allowed, names the row, column and level.
    match fit.predict(&new, &PredictOptions::new()) {
        Err(Error::InvalidValue {
            column,
            row,
            value,
            reason,
        }) => {
            assert_eq!(
                (column.as_str(), row, value.as_str()),
                ("Subject", 4, "999")
            );
            assert!(reason.contains("new_levels(true)"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn lmer_residuals_of_every_kind_equal_lme4() {
    let r = &load_json("predict/reference.json")["sleep"];
    let d = data("sleepstudy.csv");
    let fit = at_r_theta(&d, "Reaction ~ Days + (Days | Subject)", r, 1e-5);
    close_all("fitted", fit.fitted(), &f64s(&r["fitted"]), 1e-8);
    for (kind, key) in [
        (ResidualKind::Response, "resid_response"),
        (ResidualKind::Pearson, "resid_pearson"),
        (ResidualKind::Scaled, "resid_scaled"),
        (ResidualKind::Marginal, "resid_marginal"),
    ] {
        // Residuals are differences of numbers near 300: compared absolutely (1e-8 ms).
        let got = fit.residuals_of(kind);
        for (i, (g, w)) in got.iter().zip(f64s(&r[key])).enumerate() {
            assert!((g - w).abs() < 1e-8, "{key}[{i}]: {g} vs {w}");
        }
    }
}

#[test]
fn lmer_with_a_factor_predicts_new_rows_coded_as_the_fit() {
    let r = &load_json("predict/reference.json")["orth"];
    let fit = at_r_theta(
        &data("orthodont.csv"),
        "distance ~ age * Sex + (age | Subject)",
        r,
        1e-5,
    );
    let new = data("predict/orth_new.csv");
    let pop = fit.predict(&new, &population()).unwrap();
    close_all("re.form = NA", &pop.fit, &f64s(&r["population"]), 1e-8);
    close_all("se", &pop.se_fit, &f64s(&r["se_fixed"]), 1e-6);
    let cond = fit.predict(&new, &all()).unwrap();
    close_all("conditional", &cond.fit, &f64s(&r["conditional"]), 1e-8);
    // A level of the fixed factor the fit never saw is an error naming it.
    let bad = Data::new()
        .with_numeric("age", vec![8.0])
        .unwrap()
        .with_categorical("Sex", vec!["Other".to_string()])
        .unwrap()
        .with_categorical("Subject", vec!["M01".to_string()])
        .unwrap();
    match fit.predict(&bad, &all()) {
        Err(Error::InvalidValue { column, value, .. }) => {
            assert_eq!((column.as_str(), value.as_str()), ("Sex", "Other"))
        }
        other => panic!("{other:?}"),
    }
    // New data without a column the model needs.
    let short = Data::new().with_numeric("age", vec![8.0]).unwrap();
    match fit.predict(&short, &population()) {
        Err(Error::UnknownColumn { name, .. }) => assert_eq!(name, "Sex"),
        other => panic!("{other:?}"),
    }
    // Only the grouping column is missing: fine at the population level, an error otherwise.
    let no_group = Data::new()
        .with_numeric("age", vec![8.0])
        .unwrap()
        .with_categorical("Sex", vec!["Male".to_string()])
        .unwrap();
    assert!(fit.predict(&no_group, &population()).is_ok());
    match fit.predict(&no_group, &all()) {
        Err(Error::UnknownColumn { name, .. }) => assert_eq!(name, "Subject"),
        other => panic!("{other:?}"),
    }
    // A grouping factor not in the model.
    match fit.predict(
        &new,
        &PredictOptions::new().random(RandomPart::Groups(vec!["therapist".into()])),
    ) {
        Err(Error::Argument { message, .. }) => {
            assert!(
                message.contains("'therapist'") && message.contains("Subject"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn three_level_predictions_with_some_random_effects_and_aligned_fitted_values_equal_lme4() {
    let r = &load_json("predict/reference.json")["sessions"];
    let d = data("levels/sessions.csv");
    let fit = at_r_theta(
        &d,
        "autonomy ~ session + ecr_anx + (1 | therapist) + (1 | client)",
        r,
        1e-5,
    );
    let new = data("predict/sessions_new.csv");
    let pick = |groups: &[&str]| {
        fit.predict(
            &new,
            &all().random(RandomPart::Groups(
                groups.iter().map(|g| g.to_string()).collect(),
            )),
        )
        .unwrap()
    };
    close_all(
        "re.form = NA",
        &fit.predict(&new, &population()).unwrap().fit,
        &f64s(&r["population"]),
        1e-8,
    );
    close_all(
        "all",
        &fit.predict(&new, &all()).unwrap().fit,
        &f64s(&r["conditional"]),
        1e-8,
    );
    let th = pick(&["therapist"]);
    close_all(
        "~ (1 | therapist)",
        &th.fit,
        &f64s(&r["therapist_only"]),
        1e-8,
    );
    assert_eq!(th.groups, ["therapist"]);
    assert_eq!(th.new_levels.len(), 1);
    assert_eq!((th.new_levels[0].levels, th.new_levels[0].rows), (1, 1));
    close_all(
        "~ (1 | client)",
        &pick(&["client"]).fit,
        &f64s(&r["client_only"]),
        1e-8,
    );
    close_all("se", &th.se_fit, &f64s(&r["se_fixed"]), 1e-6);
    // Fitted values and residuals aligned to the data's 1,032 rows, None where autonomy is
    // missing (R: na.exclude).
    let want_f = with_na(&r["fitted"]);
    let want_r = with_na(&r["resid_response"]);
    let got_f = fit.fitted_for(&d).unwrap();
    let got_r = fit.residuals_for(ResidualKind::Response, &d).unwrap();
    assert_eq!(got_f.len(), 1032);
    assert_eq!(got_f.iter().filter(|v| v.is_none()).count(), 20);
    for i in 0..1032 {
        match (got_f[i], want_f[i], got_r[i], want_r[i]) {
            (Some(a), Some(b), Some(c), Some(e)) => {
                close(&format!("fitted[{i}]"), a, b, 1e-8);
                assert!((c - e).abs() < 1e-8, "resid[{i}]: {c} vs {e}");
            }
            (None, None, None, None) => {}
            other => panic!("row {i}: {other:?}"),
        }
    }
    // Rows of other data cannot be aligned.
    let other = d.select_rows(&(0..100).collect::<Vec<_>>()).unwrap();
    assert!(matches!(
        fit.fitted_for(&other),
        Err(Error::Argument { .. })
    ));
}

#[test]
fn glm_predictions_on_both_scales_equal_predict_glm() {
    let r = &load_json("predict/reference.json")["glm"];
    let fit = Glm::fit(
        &data("glmm/dropout.csv"),
        "dropout ~ anxiety",
        Family::binomial(),
    )
    .unwrap();
    let new = data("predict/dropout_new.csv");
    let link = fit.predict(&new, &PredictOptions::new()).unwrap();
    close_all("link", &link.fit, &f64s(&r["link"]), 1e-8);
    close_all("se link", &link.se_fit, &f64s(&r["se_link"]), 1e-6);
    let resp = fit
        .predict(&new, &PredictOptions::new().scale(Scale::Response))
        .unwrap();
    close_all("response", &resp.fit, &f64s(&r["response"]), 1e-8);
    close_all("se response", &resp.se_fit, &f64s(&r["se_response"]), 1e-6);
    assert!(resp.prediction.is_none());
    // The response-scale interval is the link-scale one through the inverse logit.
    for i in 0..new.nrows() {
        let inv = |e: f64| 1.0 / (1.0 + (-e).exp());
        close(
            "lower",
            resp.confidence[i][0],
            inv(link.confidence[i][0]),
            1e-12,
        );
        close(
            "upper",
            resp.confidence[i][1],
            inv(link.confidence[i][1]),
            1e-12,
        );
    }
    assert!(matches!(
        fit.predict(
            &new,
            &PredictOptions::new().random(RandomPart::Groups(vec!["therapist".into()]))
        ),
        Err(Error::Argument { .. })
    ));
}

#[test]
fn glmm_predictions_fitted_values_and_residuals_equal_glmer() {
    let all_r = load_json("predict/reference.json");
    let r = &all_r["cbpp"];
    let d = data("glmm/cbpp.csv");
    let fit = Glm::fit_mixed(
        &d,
        "cbind(incidence, rest) ~ period + (1 | herd)",
        Family::binomial(),
        1,
    )
    .unwrap();
    close_all("theta", &fit.theta, &f64s(&r["theta"]), 1e-5);
    let new = data("predict/cbpp_new.csv");
    let pop = |s| fit.predict(&new, &population().scale(s)).unwrap();
    let cond = |s| fit.predict(&new, &all().scale(s)).unwrap();
    // θ agrees with the converged glmer to ~1e-6; predictions to 1e-6.
    close_all(
        "link, re.form = NA",
        &pop(Scale::Link).fit,
        &f64s(&r["link_population"]),
        1e-6,
    );
    close_all(
        "response, re.form = NA",
        &pop(Scale::Response).fit,
        &f64s(&r["response_population"]),
        1e-6,
    );
    close_all("link", &cond(Scale::Link).fit, &f64s(&r["link"]), 1e-6);
    close_all(
        "response",
        &cond(Scale::Response).fit,
        &f64s(&r["response"]),
        1e-6,
    );
    close_all("se", &pop(Scale::Link).se_fit, &f64s(&r["se_fixed"]), 1e-4);
    close_all("fitted", &fit.fitted().unwrap(), &f64s(&r["fitted"]), 1e-6);
    for (kind, key) in [
        (ResidualKind::Response, "resid_response"),
        (ResidualKind::Pearson, "resid_pearson"),
        (ResidualKind::Deviance, "resid_deviance"),
    ] {
        let got = fit.residuals_of(kind).unwrap();
        for (i, (g, w)) in got.iter().zip(f64s(&r[key])).enumerate() {
            assert!((g - w).abs() < 1e-6, "{key}[{i}]: {g} vs {w}");
        }
    }
    let aligned = fit.fitted_for(&d).unwrap();
    assert!(aligned.iter().all(Option::is_some));
    // A random slope: drop-out by anxiety within therapists.
    let r = &all_r["dropout"];
    let fit = Glm::fit_mixed(
        &data("glmm/dropout.csv"),
        "dropout ~ anxiety + (anxiety | therapist)",
        Family::binomial(),
        1,
    )
    .unwrap();
    close_all("theta", &fit.theta, &f64s(&r["theta"]), 1e-4);
    let new = data("predict/dropout_new.csv");
    let p = fit.predict(&new, &all()).unwrap();
    close_all("link", &p.fit, &f64s(&r["link"]), 1e-5);
    let p = fit.predict(&new, &all().scale(Scale::Response)).unwrap();
    close_all("response", &p.fit, &f64s(&r["response"]), 1e-5);
    assert_eq!(p.new_levels[0].levels, 1);
    let p = fit
        .predict(&new, &population().scale(Scale::Response))
        .unwrap();
    close_all(
        "response, re.form = NA",
        &p.fit,
        &f64s(&r["response_population"]),
        1e-5,
    );
}
