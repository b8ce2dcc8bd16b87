//! GLM and GLMM benchmarks on the reference fixtures (formula → fitted model, with the
//! Hessian-based standard errors every GLMM fit carries). lme4's times for the same fits are
//! measured by benches/glmm_lme4.R (run it the same day on the same machine).

use criterion::{Criterion, criterion_group, criterion_main};
use securebase::Data;
use securebase::glm::{Family, Glm};
use std::hint::black_box;
use std::time::Duration;

fn fixture(name: &str) -> Data {
    Data::from_csv_path(format!(
        "{}/tests/fixtures/glmm/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let cbpp = fixture("cbpp.csv");
    let dropout = fixture("dropout.csv");
    let crossed = fixture("crossed.csv");
    let nested = fixture("nested.csv");
    let b = Family::binomial();
    let mut g = c.benchmark_group("glmm");
    g.measurement_time(Duration::from_secs(4));
    let cases: [(&str, &Data, &str, Family, usize); 6] = [
        (
            "cbpp cbind(incidence, rest) ~ period + (1 | herd), Laplace",
            &cbpp,
            "cbind(incidence, rest) ~ period + (1 | herd)",
            b,
            1,
        ),
        (
            "cbpp, nAGQ = 10",
            &cbpp,
            "cbind(incidence, rest) ~ period + (1 | herd)",
            b,
            10,
        ),
        (
            "dropout ~ anxiety + (1 | therapist), 480 rows",
            &dropout,
            "dropout ~ anxiety + (1 | therapist)",
            b,
            1,
        ),
        (
            "dropout ~ anxiety + (anxiety | therapist), 480 rows",
            &dropout,
            "dropout ~ anxiety + (anxiety | therapist)",
            b,
            1,
        ),
        (
            "Poisson crossed (1 | therapist) + (1 | site), 600 rows",
            &crossed,
            "missed ~ anxiety + offset(log(booked)) + (1 | therapist) + (1 | site)",
            Family::poisson(),
            1,
        ),
        (
            "Bernoulli nested (1 | site/therapist), 480 rows",
            &nested,
            "dropout ~ anxiety + (1 | site/therapist)",
            b,
            1,
        ),
    ];
    for (name, data, formula, family, nagq) in cases {
        g.bench_function(name, |bn| {
            bn.iter(|| Glm::fit_mixed(black_box(data), formula, family, nagq).unwrap())
        });
    }
    g.finish();
    c.bench_function("glm dropout ~ anxiety (binomial), 480 rows", |bn| {
        bn.iter(|| Glm::fit(black_box(&dropout), "dropout ~ anxiety", b).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
