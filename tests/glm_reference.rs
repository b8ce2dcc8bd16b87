//! GLMs against R's `glm()` (tests/reference/glm.R → tests/fixtures/glm/): logit, probit and
//! cloglog on mtcars, Poisson with and without an offset on MASS's Insurance, and a binomial
//! with trials (`cbind`) on MASS's menarche; plus the errors and diagnostics for bad input.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::{close, f64s, fixture, load_json, strs};
use securebase::glm::{Family, Glm, Link};
use securebase::{Data, Error};

fn family(name: &str, link: &str) -> Family {
    let f = match name {
        "binomial" => Family::binomial(),
        "poisson" => Family::poisson(),
        other => panic!("family {other}"),
    };
    let link = match link {
        "logit" => Link::Logit,
        "probit" => Link::Probit,
        "cloglog" => Link::Cloglog,
        "log" => Link::Log,
        other => panic!("link {other}"),
    };
    f.with_link(link).unwrap()
}

#[test]
fn glm_equals_r_on_six_models() {
    let r = load_json("glm/reference.json");
    for case in r.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let d = Data::from_csv_path(fixture(&format!("glm/{}", case["file"].as_str().unwrap())))
            .unwrap();
        let fam = family(
            case["family"].as_str().unwrap(),
            case["link"].as_str().unwrap(),
        );
        let fit = Glm::fit(&d, case["formula"].as_str().unwrap(), fam).unwrap();
        assert!(fit.converged, "{name}");
        assert!(fit.diagnostics.is_empty(), "{name}: {:?}", fit.diagnostics);
        let terms = strs(&case["terms"]);
        let got: Vec<&str> = fit.coefficients.iter().map(|c| c.term.as_str()).collect();
        assert_eq!(got, terms, "{name}");
        let (est, se, z, p) = (
            f64s(&case["estimate"]),
            f64s(&case["se"]),
            f64s(&case["z"]),
            f64s(&case["p"]),
        );
        let ci = case["wald_ci"].as_array().unwrap();
        for (j, c) in fit.coefficients.iter().enumerate() {
            close(
                &format!("{name} {}: estimate", c.term),
                c.estimate,
                est[j],
                1e-8,
            );
            close(&format!("{name} {}: se", c.term), c.std_error, se[j], 1e-8);
            close(&format!("{name} {}: z", c.term), c.t, z[j], 1e-8);
            close(&format!("{name} {}: p", c.term), c.p, p[j], 1e-7);
            let lohi = f64s(&ci[j]);
            close(&format!("{name} {}: ci lo", c.term), c.ci[0], lohi[0], 1e-8);
            close(&format!("{name} {}: ci hi", c.term), c.ci[1], lohi[1], 1e-8);
        }
        for (what, got, key) in [
            ("deviance", fit.deviance, "deviance"),
            ("null deviance", fit.null_deviance, "null_deviance"),
            ("AIC", fit.aic, "aic"),
            ("BIC", fit.bic, "bic"),
            ("logLik", fit.loglik, "loglik"),
        ] {
            close(
                &format!("{name}: {what}"),
                got,
                case[key].as_f64().unwrap(),
                1e-8,
            );
        }
        assert_eq!(
            fit.df_residual as u64,
            case["df_residual"].as_u64().unwrap()
        );
        assert_eq!(fit.df_null as u64, case["df_null"].as_u64().unwrap());
        assert_eq!(
            fit.iterations as u64,
            case["iterations"].as_u64().unwrap(),
            "{name}"
        );
        for (j, (m, e)) in f64s(&case["fitted_head"])
            .iter()
            .zip(f64s(&case["linear_predictor_head"]))
            .enumerate()
        {
            close(&format!("{name}: fitted {j}"), fit.fitted[j], *m, 1e-8);
            close(
                &format!("{name}: eta {j}"),
                fit.linear_predictor[j],
                e,
                1e-8,
            );
        }
        let dr = fit.deviance_residuals();
        for (j, v) in f64s(&case["deviance_residuals_head"]).iter().enumerate() {
            close(&format!("{name}: deviance residual {j}"), dr[j], *v, 1e-7);
        }
        // The summary prints like R's summary(glm).
        let text = fit.to_string();
        assert!(
            text.contains("Pr(>|z|)") && text.contains("Residual deviance:"),
            "{text}"
        );
        // Profile intervals: the exact roots (R, uniroot to 1e-13) to 1e-6, and MASS's
        // spline-interpolated confint() to 2e-3.
        let prof = fit.confint_profile(0.95).unwrap();
        for (j, (term, [lo, hi])) in prof.iter().enumerate() {
            let exact = f64s(&case["profile_ci"][j]);
            let mass = f64s(&case["profile_ci_mass"][j]);
            close(&format!("{name} {term}: profile lo"), *lo, exact[0], 1e-6);
            close(&format!("{name} {term}: profile hi"), *hi, exact[1], 1e-6);
            close(&format!("{name} {term}: MASS lo"), *lo, mass[0], 2e-3);
            close(&format!("{name} {term}: MASS hi"), *hi, mass[1], 2e-3);
        }
        // Odds / rate ratios are exp of the estimate and of the Wald interval.
        let ratios = fit.exponentiated(0.95).unwrap();
        for (rt, c) in ratios.iter().zip(&fit.coefficients) {
            close(&format!("{name}: ratio"), rt.ratio, c.estimate.exp(), 1e-14);
            close(&format!("{name}: ratio ci"), rt.ci[1], c.ci[1].exp(), 1e-12);
        }
    }
}

fn binary(y: &[f64], x: &[f64]) -> Data {
    Data::new()
        .with_numeric("y", y.to_vec())
        .unwrap()
        .with_numeric("x", x.to_vec())
        .unwrap()
}

#[test]
fn separation_and_bad_responses_are_errors_or_diagnostics() {
    // Complete separation: x < 3.5 ⇔ y = 0.
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let d = binary(&[0.0, 0.0, 0.0, 1.0, 1.0, 1.0], &x);
    let e = Glm::fit(&d, "y ~ x", Family::binomial()).unwrap_err();
    assert!(e.to_string().contains("complete separation"), "{e}");
    // Quasi-complete separation: the overlap is one tied x.
    let d = binary(
        &[0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0],
        &[1.0, 2.0, 3.0, 4.0, 4.0, 5.0, 6.0, 7.0],
    );
    let fit = Glm::fit(&d, "y ~ x", Family::binomial()).unwrap();
    assert!(
        fit.diagnostics.iter().any(|m| m.contains("separation")),
        "{:?}",
        fit.diagnostics
    );
    // A response of 2 under the binomial: an error naming the row.
    let d = binary(&[0.0, 1.0, 2.0, 1.0, 0.0, 1.0], &x);
    match Glm::fit(&d, "y ~ x", Family::binomial()).unwrap_err() {
        Error::InvalidValue { column, row, .. } => {
            assert_eq!(column, "y");
            assert_eq!(row, 3);
        }
        other => panic!("{other}"),
    }
    // A negative count under Poisson.
    let d = binary(&[0.0, 1.0, 2.0, -1.0, 0.0, 1.0], &x);
    match Glm::fit(&d, "y ~ x", Family::poisson()).unwrap_err() {
        Error::InvalidValue { row, reason, .. } => {
            assert_eq!(row, 4);
            assert!(reason.contains("count"));
        }
        other => panic!("{other}"),
    }
    // Links a family does not take, random effects, cbind under Poisson.
    assert!(Family::poisson().with_link(Link::Logit).is_err());
    assert!(Glm::fit(&d, "y ~ x + (1 | x)", Family::poisson()).is_err());
    let d = binary(&[0.0, 1.0, 2.0, 1.0, 0.0, 1.0], &x);
    assert!(Glm::fit(&d, "cbind(y, x) ~ 1", Family::poisson()).is_err());
}

#[test]
fn missing_rows_are_counted_and_factor_responses_work() {
    let mtcars = Data::from_csv_path(fixture("glm/mtcars.csv")).unwrap();
    let full = Glm::fit(&mtcars, "am ~ wt", Family::binomial()).unwrap();
    // The same outcome as a two-level factor (second level = 1, as R's).
    let mut d = mtcars.clone();
    let labels: Vec<Option<&str>> = full
        .y
        .iter()
        .map(|&v| Some(if v == 1.0 { "manual" } else { "automatic" }))
        .collect();
    d.replace_column(
        "am",
        securebase::data::Column::Categorical(securebase::data::Factor::from_strings(&labels)),
    )
    .unwrap();
    let f = Glm::fit(&d, "am ~ wt", Family::binomial()).unwrap();
    close(
        "factor response",
        f.coefficients[1].estimate,
        full.coefficients[1].estimate,
        1e-12,
    );
    // A missing predictor drops its row and says so.
    let mut wt: Vec<Option<f64>> = mtcars.numeric("wt").unwrap().to_vec();
    wt[4] = None;
    let mut d = mtcars.clone();
    d.replace_column("wt", securebase::data::Column::Numeric(wt.into()))
        .unwrap();
    let m = Glm::fit(&d, "am ~ wt", Family::binomial()).unwrap();
    assert_eq!(m.missing.n_dropped(), 1);
    assert_eq!(m.fitted.len(), 31);
}

#[test]
fn glm_fit_round_trips_through_json() {
    let d = Data::from_csv_path(fixture("glm/menarche.csv")).unwrap();
    let fit = Glm::fit(&d, "cbind(Menarche, Rest) ~ Age", Family::binomial()).unwrap();
    let json = serde_json::to_string(&fit).unwrap();
    let back: securebase::glm::GlmFit = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    assert_eq!(back.coefficients, fit.coefficients);
    // The model matrix is not serialized: profiling a fit read back is an error that says why.
    let e = back.confint_profile(0.95).unwrap_err();
    assert!(e.to_string().contains("refit"), "{e}");
}

/// Probing a logistic model on the logit scale and average marginal effects on the probability
/// scale, against closed forms computed in R (tests/reference/glm_probe.R).
#[test]
fn glm_probing_and_average_marginal_effects_equal_closed_forms() {
    use securebase::probe::{DfMethod, ModeratorValues, probe};
    let r = load_json("glm/probe_ame.json");
    let d = Data::from_csv_path(fixture("glm/mtcars.csv")).unwrap();
    let pr = &r["probe"];
    let fit = Glm::fit(&d, pr["formula"].as_str().unwrap(), Family::binomial()).unwrap();
    let p = probe(
        &fit,
        "mpg",
        "wt",
        &ModeratorValues::MeanSd,
        DfMethod::Asymptotic,
        0.95,
    )
    .unwrap();
    let (at, slope, se) = (f64s(&pr["at"]), f64s(&pr["slope"]), f64s(&pr["se"]));
    for (k, s) in p.simple_slopes.iter().enumerate() {
        close("probe at", s.at, at[k], 1e-12);
        close("probe slope", s.slope, slope[k], 1e-8);
        close("probe se", s.std_error, se[k], 1e-8);
        assert!(s.df.is_infinite());
    }
    let jn = f64s(&pr["jn"]);
    let bounds = p.johnson_neyman.bounds.unwrap();
    close("J-N lower", bounds[0], jn[0], 1e-7);
    close("J-N upper", bounds[1], jn[1], 1e-7);
    // Kenward-Roger is for mixed models.
    assert!(
        probe(
            &fit,
            "mpg",
            "wt",
            &ModeratorValues::MeanSd,
            DfMethod::KenwardRoger,
            0.95
        )
        .is_err()
    );
    for case in r["ame"].as_array().unwrap() {
        let fam = family("binomial", case["link"].as_str().unwrap());
        let fit = Glm::fit(&d, case["formula"].as_str().unwrap(), fam).unwrap();
        let var = case["variable"].as_str().unwrap();
        let me = fit.average_marginal_effect(var, 0.95).unwrap();
        close("AME", me.effect, case["effect"].as_f64().unwrap(), 1e-7);
        close("AME se", me.std_error, case["se"].as_f64().unwrap(), 1e-6);
        assert!(me.ci[0] < me.effect && me.effect < me.ci[1]);
    }
    let e = fit.average_marginal_effect("mpgg", 0.95).unwrap_err();
    assert!(matches!(e, Error::UnknownColumn { .. }), "{e}");
}
