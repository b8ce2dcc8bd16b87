//! Bad input to mixed models: each a clear error, never a panic.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::*;
use securebase::{Criterion, Data, Error, LmmSpec};

fn data() -> Data {
    Data::new()
        .with_numeric_opt(
            "y",
            vec![Some(1.0), Some(2.0), Some(1.5), Some(3.0), Some(2.2), None],
        )
        .unwrap()
        .with_numeric("x", vec![0.0, 1.0, 2.0, 0.0, 1.0, 2.0])
        .unwrap()
        .with_categorical("one", vec!["a"; 6])
        .unwrap()
        .with_categorical("id", vec!["r1", "r2", "r3", "r4", "r5", "r6"])
        .unwrap()
        .with_categorical("g", vec!["a", "a", "a", "b", "b", "b"])
        .unwrap()
}

#[test]
fn grouping_factor_with_one_level() {
    match LmmSpec::new(&data(), "y ~ x + (1 | one)") {
        Err(Error::Term { term, message }) => {
            assert_eq!(term, "((Intercept) | one)");
            assert!(message.contains("1 level"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn as_many_levels_as_observations() {
    // Row 6 is dropped (missing y): 5 observations, 5 levels of id among them.
    match LmmSpec::new(&data(), "y ~ x + (1 | id)") {
        Err(Error::Term { message, .. }) => {
            assert!(message.contains("5 levels for 5 observations"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_numeric_response() {
    assert!(
        matches!(LmmSpec::new(&data(), "g ~ x + (1 | id)"), Err(Error::ColumnType { name, .. }) if name == "g")
    );
}

#[test]
fn random_slope_on_a_missing_column() {
    match LmmSpec::new(&data(), "y ~ x + (dose | g)") {
        Err(
            e @ Error::UnknownColumn {
                position: Some(9), ..
            },
        ) => {
            assert!(e.to_string().contains("unknown column 'dose'"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn all_rows_dropped() {
    let d = data().with_numeric_opt("m", vec![None; 6]).unwrap();
    assert!(
        matches!(LmmSpec::new(&d, "y ~ m + (1 | g)"), Err(Error::Model(msg)) if msg.contains("all 6 rows"))
    );
}

#[test]
fn no_random_terms_and_bad_theta() {
    assert!(
        matches!(LmmSpec::new(&data(), "y ~ x"), Err(Error::Model(msg)) if msg.contains("Ols"))
    );
    let d = Data::from_csv_path(fixture("sleepstudy.csv")).unwrap();
    let spec = LmmSpec::new(&d, "Reaction ~ Days + (Days | Subject)").unwrap();
    let dev = spec.deviance(Criterion::Reml);
    assert!(dev.eval(&[1.0]).is_err());
    assert!(dev.eval(&[-1.0, 0.0, 1.0]).is_err());
    assert!(dev.eval(&[1.0, f64::NAN, 1.0]).is_err());
    assert!(dev.eval(&[1.0, -5.0, 1.0]).unwrap().is_finite()); // off-diagonal may be negative
}

#[test]
fn fit_display_is_stable() {
    // The golden text freezes the layout. Its numbers agree with lme4's summary() of the same
    // model (tests/fixtures/lme4/sleepstudy_slopes_reml.json) within the tolerances checked in
    // tests/lmm_reference.rs. Variances print to 5 significant digits as lme4 prints them:
    // 612.09 here, 612.10 in lme4 — a 2e-5 difference between the two optima, ours with the
    // lower REML criterion. The ICC line is performance::icc()'s: adjusted 0.721660, unadjusted
    // 0.520569, by group Subject 0.260 (R 4.2.2, performance 0.10.2).
    let d = Data::from_csv_path(fixture("sleepstudy.csv")).unwrap();
    let fit = LmmSpec::new(&d, "Reaction ~ Days + (Days | Subject)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    let text = fit.to_string();
    assert_eq!(text, include_str!("fixtures/lmm_display.txt"), "\n{text}");
}

#[test]
fn relabelling_groups_leaves_the_fit_unchanged() {
    let d = Data::from_csv_path(fixture("sleepstudy.csv")).unwrap();
    let subj = d.numeric("Subject").unwrap();
    // Reverse the order of the subject labels and permute the rows.
    let relabelled: Vec<String> = subj
        .iter()
        .map(|s| format!("s{}", 1000.0 - s.unwrap()))
        .collect();
    let mut order: Vec<usize> = (0..d.nrows()).collect();
    order.reverse();
    order.rotate_left(37);
    let mut e = d.select_rows(&order).unwrap();
    let rel: Vec<String> = order.iter().map(|&i| relabelled[i].clone()).collect();
    e.add_column(
        "S2",
        securebase::Column::Categorical(securebase::Factor::from_strings(
            &rel.iter().map(|s| Some(s.as_str())).collect::<Vec<_>>(),
        )),
    )
    .unwrap();
    let a = LmmSpec::new(&d, "Reaction ~ Days + (Days | Subject)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    let b = LmmSpec::new(&e, "Reaction ~ Days + (Days | S2)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    close("objective", b.objective(), a.objective(), 1e-10);
    for (x, y) in a.coefficients().iter().zip(b.coefficients()) {
        close("beta", y.estimate, x.estimate, 1e-7);
        close("se", y.std_error, x.std_error, 1e-6);
    }
}

#[test]
fn aliased_fixed_effects_follow_rs_rule() {
    // 40 rows in 8 groups; x2 = 2x is aliased (error names it), x3 = x + 1e-6·noise is close
    // to x but independent by R's 1e-7 rule (its orthogonal part is ~1e-6 of its norm), so
    // the cheap Gram-matrix screen defers to the QR and the model is built.
    let n = 40;
    let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
    let noise: Vec<f64> = (0..n).map(|i| (i as f64 * 1.91).cos()).collect();
    let d = Data::new()
        .with_numeric("y", (0..n).map(|i| (i % 7) as f64 + x[i]).collect())
        .unwrap()
        .with_numeric("x", x.clone())
        .unwrap()
        .with_numeric("x2", x.iter().map(|v| 2.0 * v).collect())
        .unwrap()
        .with_numeric(
            "x3",
            x.iter().zip(&noise).map(|(v, e)| v + 1e-6 * e).collect(),
        )
        .unwrap()
        .with_categorical("g", (0..n).map(|i| format!("g{}", i % 8)).collect())
        .unwrap();
    match LmmSpec::new(&d, "y ~ x + x2 + (1 | g)") {
        Err(Error::Term { term, message }) => {
            assert_eq!(term, "x2");
            assert!(message.contains("aliased"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(LmmSpec::new(&d, "y ~ x + x3 + (1 | g)").is_ok());
    // OLS applies the same rule to the same columns
    assert!(securebase::Ols::fit(&d, "y ~ x + x3").is_ok());
    assert!(securebase::Ols::fit(&d, "y ~ x + x2").is_err());
}
