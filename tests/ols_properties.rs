//! OLS invariants and bad-input behaviour.
#![cfg(all(feature = "serde", feature = "csv"))]

use proptest::prelude::*;
use securebase::{Data, Error, Ols};

fn small() -> Data {
    Data::new()
        .with_numeric_opt(
            "y",
            vec![
                Some(1.0),
                Some(2.5),
                Some(2.9),
                None,
                Some(5.2),
                Some(6.1),
                Some(6.8),
            ],
        )
        .unwrap()
        .with_numeric("x", vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
        .unwrap()
        .with_categorical("g", vec!["a", "b", "a", "b", "a", "b", "b"])
        .unwrap()
        .with_categorical("one", vec!["k"; 7])
        .unwrap()
}

#[test]
fn bad_input_gives_clear_errors() {
    let d = small();
    match Ols::fit(&d, "y ~ x + one") {
        Err(Error::Term { term, message }) => {
            assert_eq!(term, "one");
            assert!(message.contains("1 level"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match Ols::fit(&d, "g ~ x") {
        Err(Error::ColumnType { name, .. }) => assert_eq!(name, "g"),
        other => panic!("{other:?}"),
    }
    let constant = d.clone().with_numeric("c", vec![3.0; 7]).unwrap();
    assert!(matches!(Ols::fit(&constant, "c ~ x"), Err(Error::Model(m)) if m.contains("constant")));
    let two = d.select_rows(&[0, 1]).unwrap();
    assert!(
        matches!(Ols::fit(&two, "y ~ x + g"), Err(Error::Model(m)) if m.contains("n must exceed p"))
    );
    let aliased = d
        .clone()
        .with_numeric("x2", vec![2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0])
        .unwrap();
    assert!(
        matches!(Ols::fit(&aliased, "y ~ x + x2"), Err(Error::Term { term, .. }) if term == "x2")
    );
    let empty = Data::new()
        .with_numeric_opt("y", vec![None, None, None])
        .unwrap()
        .with_numeric("x", vec![1.0, 2.0, 3.0])
        .unwrap();
    assert!(matches!(Ols::fit(&empty, "y ~ x"), Err(Error::Model(m)) if m.contains("all 3 rows")));
    assert!(matches!(
        Ols::fit(&d, "y ~ x + (1 | g)"),
        Err(Error::Model(_))
    ));
    assert!(matches!(
        Ols::fit(&d, "y ~ x + nope"),
        Err(Error::UnknownColumn {
            position: Some(8),
            ..
        })
    ));
    // a level unseen at fit time, and a missing predictor, when predicting
    let fit = Ols::fit(&d, "y ~ x + g").unwrap();
    assert_eq!(fit.missing().dropped_rows, [4]);
    let new = Data::new()
        .with_numeric("x", vec![1.0])
        .unwrap()
        .with_categorical("g", vec!["z"])
        .unwrap();
    assert!(matches!(
        fit.predict(&new, 0.95),
        Err(Error::InvalidValue { row: 1, .. })
    ));
    let new = Data::new()
        .with_numeric_opt("x", vec![Some(1.0), None])
        .unwrap()
        .with_categorical("g", vec!["a", "b"])
        .unwrap();
    assert!(matches!(
        fit.predict(&new, 0.95),
        Err(Error::InvalidValue { row: 2, .. })
    ));
}

#[test]
fn display_is_stable() {
    let fit = Ols::fit(&small(), "y ~ x + g").unwrap();
    let text = fit.to_string();
    let expected = include_str!("fixtures/ols_display.txt");
    assert_eq!(text, expected, "\n{text}");
}

fn dataset(n: usize, seed: u64) -> Data {
    // A deterministic design with a factor and an interaction.
    let mut s = seed | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 10_000) as f64 / 1000.0
    };
    let x: Vec<f64> = (0..n).map(|_| next()).collect();
    let z: Vec<f64> = (0..n).map(|_| next()).collect();
    let g: Vec<&str> = (0..n).map(|i| ["p", "q", "r"][i % 3]).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| 1.0 + 0.5 * x[i] - 0.2 * z[i] + 0.1 * x[i] * z[i] + next())
        .collect();
    Data::new()
        .with_numeric("y", y)
        .unwrap()
        .with_numeric("x", x)
        .unwrap()
        .with_numeric("z", z)
        .unwrap()
        .with_categorical("g", g)
        .unwrap()
}

proptest! {
    #[test]
    fn row_order_does_not_change_the_fit(seed in 1u64..10_000, rot in 0usize..40, swap in 0usize..40) {
        let d = dataset(40, seed);
        let mut order: Vec<usize> = (0..40).collect();
        order.rotate_left(rot);
        order.swap(0, swap);
        order.reverse();
        let p = d.select_rows(&order).unwrap();
        let a = Ols::fit(&d, "y ~ x * z + g").unwrap();
        let b = Ols::fit(&p, "y ~ x * z + g").unwrap();
        for (ca, cb) in a.coefficients().iter().zip(b.coefficients()) {
            prop_assert!((ca.estimate - cb.estimate).abs() <= 1e-9 * ca.estimate.abs().max(1.0));
            prop_assert!((ca.std_error - cb.std_error).abs() <= 1e-9 * ca.std_error.abs().max(1.0));
        }
        prop_assert!((a.sigma() - b.sigma()).abs() < 1e-10);
        // residuals follow their rows
        for (i, &r) in order.iter().enumerate() {
            prop_assert!((b.residuals()[i] - a.residuals()[r]).abs() < 1e-9);
        }
    }

    #[test]
    fn residuals_are_orthogonal_to_the_design(seed in 1u64..10_000) {
        let d = dataset(30, seed);
        let fit = Ols::fit(&d, "y ~ x * z + g").unwrap();
        let x = fit.model_matrix(&d).unwrap();
        for j in 0..x.ncols() {
            let dot: f64 = x.column(j).iter().zip(fit.residuals()).map(|(a, b)| a * b).sum();
            prop_assert!(dot.abs() < 1e-8);
        }
    }
}
