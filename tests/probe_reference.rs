//! Simple slopes and Johnson–Neyman against R (tests/reference/probe_mediation.R): lm and
//! lmerTest refits with the moderator re-centred at each value.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::*;
use securebase::probe::{DfMethod, ModeratorValues, probe, slope_curve};
use securebase::{Criterion, Data, Error, LmmSpec, Ols};

#[test]
fn ols_slopes_and_johnson_neyman_match_r() {
    let r = &load_json("probe_mediation.json")["ols"];
    let data = Data::from_csv_path(fixture("mtcars.csv")).unwrap();
    let fit = Ols::fit(&data, "mpg ~ hp * wt").unwrap();
    let refs = r["slopes"].as_array().unwrap();
    let mut got = probe(
        &fit,
        "hp",
        "wt",
        &ModeratorValues::MeanSd,
        DfMethod::Model,
        0.95,
    )
    .unwrap()
    .simple_slopes;
    got.extend(
        probe(
            &fit,
            "hp",
            "wt",
            &ModeratorValues::Percentiles,
            DfMethod::Model,
            0.95,
        )
        .unwrap()
        .simple_slopes,
    );
    got.extend(
        probe(
            &fit,
            "hp",
            "wt",
            &ModeratorValues::Values(vec![2.5]),
            DfMethod::Model,
            0.95,
        )
        .unwrap()
        .simple_slopes,
    );
    assert_eq!(got.len(), refs.len());
    for (g, w) in got.iter().zip(refs) {
        close("at", g.at, w["at"].as_f64().unwrap(), 1e-12);
        close("slope", g.slope, w["slope"].as_f64().unwrap(), 1e-8);
        close("se", g.std_error, w["se"].as_f64().unwrap(), 1e-8);
        close("t", g.t, w["t"].as_f64().unwrap(), 1e-8);
        close("p", g.p, w["p"].as_f64().unwrap(), 1e-8);
        close("ci lower", g.ci[0], w["lower"].as_f64().unwrap(), 1e-8);
        close("ci upper", g.ci[1], w["upper"].as_f64().unwrap(), 1e-8);
        assert_eq!(g.df, r["df"].as_f64().unwrap());
    }
    let p = probe(
        &fit,
        "hp",
        "wt",
        &ModeratorValues::MeanSd,
        DfMethod::Model,
        0.95,
    )
    .unwrap();
    let jn = f64s(&r["jn"]);
    let b = p.johnson_neyman.bounds.unwrap();
    close("J-N lower", b[0], jn[0], 1e-8);
    close("J-N upper", b[1], jn[1], 1e-8);
    // The slope is significant below 3.69 (the inner region is not), and the shares add to 1.
    let regions = &p.johnson_neyman.regions;
    assert!(regions[0].significant && !regions[1].significant && regions[2].significant);
    let shares: f64 = regions.iter().map(|r| r.share).sum();
    close("shares", shares, 1.0, 1e-12);
    let below = data
        .numeric("wt")
        .unwrap()
        .iter()
        .filter(|w| w.unwrap() < b[0])
        .count() as f64
        / 32.0;
    close("share below", regions[0].share, below, 1e-12);
    // At a boundary the slope's p equals alpha.
    let at_b = probe(
        &fit,
        "hp",
        "wt",
        &ModeratorValues::Values(vec![b[0]]),
        DfMethod::Model,
        0.95,
    )
    .unwrap();
    close("p at J-N bound", at_b.simple_slopes[0].p, 0.05, 1e-8);
    let curve = slope_curve(&fit, "hp", "wt", 50, DfMethod::Model, 0.95).unwrap();
    assert_eq!(curve.len(), 50);
    close("curve starts at min", curve[0].at, 1.513, 1e-12);
    close("curve ends at max", curve[49].at, 5.424, 1e-12);
    println!("{p}");
}

#[test]
fn lmm_slopes_match_lmertest() {
    let r = &load_json("probe_mediation.json")["lmm"];
    let data = Data::from_csv_path(fixture("orthodont_stress.csv")).unwrap();
    let fit = LmmSpec::new(&data, r["formula"].as_str().unwrap())
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    let p = probe(
        &fit,
        "age",
        "stress",
        &ModeratorValues::MeanSd,
        DfMethod::Model,
        0.95,
    )
    .unwrap();
    for (g, w) in p.simple_slopes.iter().zip(r["slopes"].as_array().unwrap()) {
        close("at", g.at, w["at"].as_f64().unwrap(), 1e-12);
        close("slope", g.slope, w["slope"].as_f64().unwrap(), 1e-5);
        close("se", g.std_error, w["se"].as_f64().unwrap(), 1e-4);
        close("df", g.df, w["df"].as_f64().unwrap(), 1e-3);
        close("t", g.t, w["t"].as_f64().unwrap(), 1e-4);
    }
    // At each J-N boundary the slope's p (with its own Satterthwaite df) equals alpha.
    if let Some(b) = p.johnson_neyman.bounds {
        for x in b {
            let s = probe(
                &fit,
                "age",
                "stress",
                &ModeratorValues::Values(vec![x]),
                DfMethod::Model,
                0.95,
            )
            .unwrap();
            close("p at boundary", s.simple_slopes[0].p, 0.05, 1e-6);
        }
    }
    let kr = probe(
        &fit,
        "age",
        "stress",
        &ModeratorValues::MeanSd,
        DfMethod::KenwardRoger,
        0.95,
    )
    .unwrap();
    assert!(
        kr.simple_slopes
            .iter()
            .all(|s| s.df.is_finite() && s.df > 0.0)
    );
}

#[test]
fn bad_probes_are_clear_errors() {
    let data = Data::from_csv_path(fixture("mtcars.csv")).unwrap();
    let fit = Ols::fit(&data, "mpg ~ hp * wt").unwrap();
    let mv = ModeratorValues::MeanSd;
    assert!(
        matches!(probe(&fit, "disp", "wt", &mv, DfMethod::Model, 0.95), Err(Error::Term { term, .. }) if term == "disp")
    );
    let main = Ols::fit(&data, "mpg ~ hp + wt").unwrap();
    assert!(
        matches!(probe(&main, "hp", "wt", &mv, DfMethod::Model, 0.95), Err(Error::Term { term, .. }) if term == "hp:wt")
    );
    let constant = data.clone().with_numeric("k", vec![1.0; 32]).unwrap();
    let fit_k = Ols::fit(
        &constant.with_numeric("hk", vec![0.0; 32]).unwrap(),
        "mpg ~ hp + k + hp:k",
    );
    // A constant moderator is aliased with the intercept: the fit itself names it.
    assert!(matches!(fit_k, Err(Error::Term { term, .. }) if term == "k"));
    let three = Ols::fit(&data, "mpg ~ hp * wt * qsec").unwrap();
    assert!(matches!(
        probe(&three, "hp", "wt", &mv, DfMethod::Model, 0.95),
        Err(Error::Term { .. })
    ));
    assert!(probe(&fit, "hp", "wt", &mv, DfMethod::Model, 1.5).is_err());
    assert!(
        probe(
            &fit,
            "hp",
            "wt",
            &ModeratorValues::Values(vec![f64::NAN]),
            DfMethod::Model,
            0.95
        )
        .is_err()
    );
}
