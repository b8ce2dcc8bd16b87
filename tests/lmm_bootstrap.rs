//! Simulation from a fitted linear mixed model, refits, and the parametric bootstrap.
//!
//! Independent checks: the moments of simulated responses against their closed forms (mean
//! Xβ̂, variance zᵢ'Σ̂zᵢ + σ̂², covariance within a subject zᵢ'Σ̂zⱼ); a refit against a fresh
//! fit of the same data with the response replaced; identical replicates for one and two
//! threads; and the coverage of bootstrap ICC intervals in a seeded simulation with a known
//! ICC, within Monte Carlo error.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::fixture;
use securebase::data::Column;
use securebase::rng::Rng;
use securebase::{Criterion, Data, Error, LmmSpec};

fn sleep() -> Data {
    Data::from_csv_path(fixture("sleepstudy.csv")).unwrap()
}

#[test]
fn simulated_moments_match_the_fitted_model() {
    let d = sleep();
    let fit = LmmSpec::new(&d, "Reaction ~ Days + (Days | Subject)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    let nsim = 4000;
    let ys = fit.simulate(nsim, 2026).unwrap();
    let beta = fit.beta();
    let cov = &fit.varcorr()[0].covariance;
    let s2 = fit.sigma().powi(2);
    let days = d.numeric("Days").unwrap();
    // Rows 0 and 9 are the first subject's days 0 and 9.
    let var_at = |a: f64, b: f64| cov[0][0] + (a + b) * cov[0][1] + a * b * cov[1][1];
    for &(i, j) in &[(0usize, 9usize), (3, 5), (100, 101)] {
        let (xi, xj) = (days.get(i).unwrap(), days.get(j).unwrap());
        let (mi, mj) = (beta[0] + beta[1] * xi, beta[0] + beta[1] * xj);
        let yi: Vec<f64> = ys.iter().map(|y| y[i]).collect();
        let yj: Vec<f64> = ys.iter().map(|y| y[j]).collect();
        let mean_i = yi.iter().sum::<f64>() / nsim as f64;
        let vi = yi.iter().map(|v| (v - mean_i).powi(2)).sum::<f64>() / (nsim - 1) as f64;
        let mean_j = yj.iter().sum::<f64>() / nsim as f64;
        let cij = yi
            .iter()
            .zip(&yj)
            .map(|(a, b)| (a - mean_i) * (b - mean_j))
            .sum::<f64>()
            / (nsim - 1) as f64;
        let v_true = var_at(xi, xi) + s2;
        // Mean within 4 Monte Carlo SEs; variance within 4 SEs (√(2/n) relative).
        let se_mean = (v_true / nsim as f64).sqrt();
        assert!(
            (mean_i - mi).abs() < 4.0 * se_mean,
            "row {i}: mean {mean_i} vs {mi}"
        );
        let tol_v = 4.0 * v_true * (2.0 / nsim as f64).sqrt();
        assert!((vi - v_true).abs() < tol_v, "row {i}: var {vi} vs {v_true}");
        // Same subject: covariance z_i'Σz_j; another subject: zero.
        let c_true = if i / 10 == j / 10 {
            var_at(xi, xj)
        } else {
            0.0
        };
        let vj = var_at(xj, xj) + s2;
        let tol_c = 4.0 * ((v_true * vj + c_true * c_true) / nsim as f64).sqrt();
        assert!(
            (cij - c_true).abs() < tol_c,
            "rows {i},{j}: cov {cij} vs {c_true}"
        );
        assert!((mean_j - mj).abs() < 4.0 * (vj / nsim as f64).sqrt());
    }
}

#[test]
fn a_refit_equals_a_fresh_fit_of_the_new_response() {
    let d = sleep();
    let formula = "Reaction ~ Days + (Days | Subject)";
    let fit = LmmSpec::new(&d, formula)
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    // Its own response: the same fit.
    let own: Vec<f64> = (0..d.nrows())
        .map(|r| d.numeric("Reaction").unwrap().get(r).unwrap())
        .collect();
    let same = fit.refit(&own).unwrap();
    for (a, b) in same.theta().iter().zip(fit.theta()) {
        assert!((a - b).abs() < 1e-6, "θ {a} vs {b}");
    }
    assert!((same.objective() - fit.objective()).abs() < 1e-9);
    // A simulated response: the refit against fitting data with that column.
    let y = fit.simulate(1, 9).unwrap().remove(0);
    let refit = fit.refit(&y).unwrap();
    let mut d2 = d.clone();
    d2.replace_column(
        "Reaction",
        Column::Numeric(y.iter().map(|v| Some(*v)).collect()),
    )
    .unwrap();
    let fresh = LmmSpec::new(&d2, formula)
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    assert!((refit.objective() - fresh.objective()).abs() < 1e-8);
    for (a, b) in refit.coefficients().iter().zip(fresh.coefficients()) {
        assert!((a.estimate - b.estimate).abs() < 1e-6 * b.estimate.abs().max(1.0));
        assert!((a.std_error - b.std_error).abs() < 1e-6 * b.std_error);
        assert!((a.df - b.df).abs() < 1e-4 * b.df);
    }
    // A refit serializes with its own response and rebuilds.
    let json = serde_json::to_string(&refit).unwrap();
    let back: securebase::LmmFit = serde_json::from_str(&json).unwrap();
    assert!((back.objective() - refit.objective()).abs() < 1e-8);
}

#[test]
fn a_bad_response_is_an_error_naming_it() {
    let d = sleep();
    let fit = LmmSpec::new(&d, "Reaction ~ Days + (1 | Subject)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    let e = fit.refit(&[1.0, 2.0]).unwrap_err();
    assert!(matches!(e, Error::Argument { .. }));
    assert!(e.to_string().contains("180 rows"), "{e}");
    let mut y = fit.fitted().to_vec();
    y[4] = f64::NAN;
    let e = fit.refit(&y).unwrap_err().to_string();
    assert!(e.contains("row 5"), "{e}");
    assert!(fit.simulate(20_000_000, 1).is_err());
    let e = fit.bootstrap(10, 1, |_| vec![f64::NAN]).unwrap_err();
    assert!(e.to_string().contains("finite"));
    let e = fit
        .bootstrap_named(vec!["a".into()], 10, 1, |f| vec![f.sigma(), 1.0])
        .unwrap_err();
    assert!(e.to_string().contains("1 names"));
}

#[test]
fn replicates_are_the_same_for_any_thread_count() {
    let d = sleep();
    let fit = LmmSpec::new(&d, "Reaction ~ Days + (Days | Subject)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                (
                    fit.simulate(8, 3).unwrap(),
                    fit.bootstrap_variance(16, 3).unwrap(),
                )
            })
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
    assert_eq!(a.1.replicates.len() + a.1.failed, 16);
    let ci = a.1.intervals(0.9).unwrap();
    assert_eq!(ci[0].name, "ICC (adjusted)");
    assert!(ci.iter().any(|c| c.name == "SD Subject Days"));
    for c in &ci {
        assert!(c.percentile[0] <= c.percentile[1] && c.basic[0] <= c.basic[1]);
        // Basic is the percentile interval reflected about the estimate.
        assert!((c.basic[0] + c.percentile[1] - 2.0 * c.estimate).abs() < 1e-12);
    }
}

/// Data from y = 1 + u_g + e with σ²_u = 0.5, σ² = 1 (ICC 1/3), `groups` groups of `m`.
fn random_intercepts(rng: &mut Rng, groups: usize, m: usize) -> Data {
    let mut y = Vec::new();
    let mut g = Vec::new();
    for j in 0..groups {
        let u = 0.5f64.sqrt() * rng.normal();
        for _ in 0..m {
            y.push(1.0 + u + rng.normal());
            g.push(format!("g{j:02}"));
        }
    }
    Data::new()
        .with_numeric("y", y)
        .unwrap()
        .with_categorical("g", g)
        .unwrap()
}

/// Percentile intervals of the ICC from a parametric bootstrap reach their nominal 90% in 1000
/// seeded data sets (Monte Carlo SE of a coverage of 0.9: 0.0095; the test allows 3 SEs). The
/// basic interval, reflected about an estimate whose sampling distribution is skewed and
/// bounded at 0, undercovers (0.874 here): reported, and bounded here, but the
/// percentile interval is the one to use for an ICC.
#[test]
fn bootstrap_icc_intervals_reach_nominal_coverage() {
    let truth = 0.5 / 1.5;
    let datasets = 1000;
    let mut covered = 0;
    let mut basic_covered = 0;
    for k in 0..datasets {
        let mut rng = Rng::stream(20261208, k);
        let d = random_intercepts(&mut rng, 40, 6);
        let fit = LmmSpec::new(&d, "y ~ 1 + (1 | g)")
            .unwrap()
            .fit(Criterion::Reml)
            .unwrap();
        let boot = fit
            .bootstrap(199, 1000 + k, |f| vec![f.icc().adjusted])
            .unwrap();
        let ci = &boot.intervals(0.9).unwrap()[0];
        covered += usize::from(ci.percentile[0] <= truth && truth <= ci.percentile[1]);
        basic_covered += usize::from(ci.basic[0] <= truth && truth <= ci.basic[1]);
    }
    let cov = covered as f64 / datasets as f64;
    let basic = basic_covered as f64 / datasets as f64;
    let se = (0.9f64 * 0.1 / datasets as f64).sqrt();
    eprintln!("coverage of 90% intervals: percentile {cov:.3}, basic {basic:.3} (MC SE {se:.3})");
    assert!((cov - 0.9).abs() < 3.0 * se, "percentile coverage {cov}");
    assert!(basic > 0.8 && basic < cov, "basic coverage {basic}");
}
