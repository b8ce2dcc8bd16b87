//! Simulation, refits and the parametric bootstrap of GLMMs.
//!
//! Independent checks: the mean of simulated Poisson counts against its closed form
//! E[y] = exp(η + ½ Σ σ²_k) (a lognormal mean over the random intercepts); the mean of simulated
//! binomial proportions against μ integrated over the random intercept's normal (Simpson's
//! rule, computed here); a refit of the fit's own response reproduces it;
//! replicates are identical for one and two threads.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::fixture;
use securebase::Data;
use securebase::glm::{Family, Glm};

#[test]
fn poisson_counts_have_the_lognormal_mean() {
    let d = Data::from_csv_path(fixture("glmm/crossed.csv")).unwrap();
    let fit = Glm::fit_mixed(
        &d,
        "missed ~ anxiety + offset(log(booked)) + (1 | therapist) + (1 | site)",
        Family::poisson(),
        1,
    )
    .unwrap();
    let nsim = 4000;
    let ys = fit.simulate(nsim, 77).unwrap();
    let var_b: f64 = fit.ranef_covariance.iter().map(|c| c[0][0]).sum();
    let beta: Vec<f64> = fit.coefficients.iter().map(|c| c.estimate).collect();
    let anxiety = d.numeric("anxiety").unwrap();
    let booked = d.numeric("booked").unwrap();
    for i in [0usize, 7, 40] {
        let eta = beta[0] + beta[1] * anxiety.get(i).unwrap() + booked.get(i).unwrap().ln();
        let mean_true = (eta + 0.5 * var_b).exp();
        // Var y = E μ + Var μ, μ lognormal.
        let var_true = mean_true + mean_true * mean_true * (var_b.exp() - 1.0);
        let m = ys.iter().map(|y| y[i]).sum::<f64>() / nsim as f64;
        let se = (var_true / nsim as f64).sqrt();
        assert!(
            (m - mean_true).abs() < 4.0 * se,
            "row {i}: mean {m} vs {mean_true} (SE {se})"
        );
        assert!(ys.iter().all(|y| y[i] >= 0.0 && y[i].fract() == 0.0));
    }
}

#[test]
fn binomial_proportions_have_the_integrated_mean_and_refits_reproduce() {
    let d = Data::from_csv_path(fixture("glmm/cbpp.csv")).unwrap();
    let fit = Glm::fit_mixed(
        &d,
        "cbind(incidence, rest) ~ period + (1 | herd)",
        Family::binomial(),
        1,
    )
    .unwrap();
    let nsim = 4000;
    let ys = fit.simulate(nsim, 5).unwrap();
    let sd = fit.ranef_covariance[0][0][0].sqrt();
    let b0 = fit.coefficients[0].estimate;
    let size = d.numeric("size").unwrap();
    // Row 0 is period 1: μ = E logistic(β0 + b), b ~ N(0, σ²), by Simpson's rule over ±10 SD.
    let logistic = |x: f64| 1.0 / (1.0 + (-x).exp());
    let steps = 20_000;
    let (lo, hi) = (-10.0, 10.0);
    let h = (hi - lo) / steps as f64;
    let mut mean_true = 0.0;
    for k in 0..=steps {
        let z = lo + k as f64 * h;
        let w = if k == 0 || k == steps {
            1.0
        } else if k % 2 == 1 {
            4.0
        } else {
            2.0
        };
        let phi = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        mean_true += w * phi * logistic(b0 + sd * z);
    }
    mean_true *= h / 3.0;
    let n0 = size.get(0).unwrap();
    let m = ys.iter().map(|y| y[0]).sum::<f64>() / nsim as f64;
    let var = ys.iter().map(|y| (y[0] - m).powi(2)).sum::<f64>() / (nsim - 1) as f64;
    let se = (var / nsim as f64).sqrt();
    assert!(
        (m - mean_true).abs() < 4.0 * se,
        "mean {m} vs {mean_true} (SE {se})"
    );
    assert!(
        ys.iter()
            .all(|y| ((y[0] * n0).round() - y[0] * n0).abs() < 1e-9)
    );
    // The fit's own response: the same estimates.
    let own: Vec<f64> = (0..d.nrows())
        .map(|r| d.numeric("incidence").unwrap().get(r).unwrap() / size.get(r).unwrap())
        .collect();
    let again = fit.refit(&own).unwrap();
    for (a, b) in again.coefficients.iter().zip(&fit.coefficients) {
        assert!((a.estimate - b.estimate).abs() < 1e-8, "{a:?} vs {b:?}");
    }
    // Bad responses.
    assert!(fit.refit(&own[..3]).is_err());
    let mut bad = own.clone();
    bad[2] = 1.5;
    assert!(fit.refit(&bad).unwrap_err().to_string().contains("value 3"));
}

#[test]
fn glmm_bootstrap_is_thread_count_invariant() {
    let d = Data::from_csv_path(fixture("glmm/cbpp.csv")).unwrap();
    let fit = Glm::fit_mixed(
        &d,
        "cbind(incidence, rest) ~ period + (1 | herd)",
        Family::binomial(),
        1,
    )
    .unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                fit.bootstrap(12, 3, |f| vec![f.ranef_covariance[0][0][0].sqrt()])
                    .unwrap()
            })
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a, b);
    assert_eq!(a.replicates.len() + a.failed, 12);
    let ci = &a.intervals(0.9).unwrap()[0];
    assert!(ci.percentile[0] <= ci.percentile[1]);
}
