//! Linear mixed model benchmarks, named after DESIGN.md's performance table.
//! Each measures formula → fitted model (REML), including the Satterthwaite df that every fit
//! carries, unless the name says otherwise.

mod support;

use criterion::{Criterion as Bench, criterion_group, criterion_main};
use securebase::{Criterion, Data, Ddf, FitOptions, LmmSpec};
use std::hint::black_box;
use std::time::Duration;

fn fit(data: &Data, formula: &str) -> securebase::LmmFit {
    LmmSpec::new(data, formula)
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap()
}

/// Estimation only (no df), which is what lme4's `lmer()` itself does.
fn fit_lme4_like(data: &Data, formula: &str) -> securebase::LmmFit {
    let options = FitOptions::with_ddf(Ddf::Asymptotic);
    LmmSpec::new(data, formula)
        .unwrap()
        .fit_with(Criterion::Reml, &options)
        .unwrap()
}

fn small(c: &mut Bench) {
    let sleep = Data::from_csv_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sleepstudy.csv"
    ))
    .unwrap();
    c.bench_function("sleepstudy Reaction ~ Days + (Days | Subject)", |b| {
        b.iter(|| fit(black_box(&sleep), "Reaction ~ Days + (Days | Subject)"))
    });
    c.bench_function(
        "sleepstudy Reaction ~ Days + (Days | Subject), no df",
        |b| b.iter(|| fit_lme4_like(black_box(&sleep), "Reaction ~ Days + (Days | Subject)")),
    );
    let study = support::study_sized(1);
    c.bench_function(
        "study 330 clients / 44 therapists (1 | therapist) 4 covariates",
        |b| {
            b.iter(|| {
                fit(
                    black_box(&study),
                    "y ~ iip_pre + engagement + esat_anx + ecr_anx + (1 | therapist)",
                )
            })
        },
    );
    c.bench_function(
        "study 330 clients / 44 therapists (1 | therapist) 4 covariates, no df",
        |b| {
            b.iter(|| {
                fit_lme4_like(
                    black_box(&study),
                    "y ~ iip_pre + engagement + esat_anx + ecr_anx + (1 | therapist)",
                )
            })
        },
    );
}

fn large(c: &mut Bench) {
    let mut group = c.benchmark_group("large");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let big = support::grouped(100_000, 1_000, 2);
    group.bench_function("100k rows 1000 groups (1 | g) 4 covariates", |b| {
        b.iter(|| fit(black_box(&big), "y ~ x1 + x2 + x3 + x4 + (1 | g)"))
    });
    group.bench_function("100k rows 1000 groups (x1 | g) 4 covariates", |b| {
        b.iter(|| fit(black_box(&big), "y ~ x1 + x2 + x3 + x4 + (x1 | g)"))
    });
    group.bench_function("100k rows 1000 groups (1 | g) 4 covariates, no df", |b| {
        b.iter(|| fit_lme4_like(black_box(&big), "y ~ x1 + x2 + x3 + x4 + (1 | g)"))
    });
    group.bench_function("100k rows 1000 groups (x1 | g) 4 covariates, no df", |b| {
        b.iter(|| fit_lme4_like(black_box(&big), "y ~ x1 + x2 + x3 + x4 + (x1 | g)"))
    });
    let inst = support::insteval_like(3);
    group.bench_function(
        "InstEval-shaped y ~ 1 + service + (1|s) + (1|d) + (1|dept)",
        |b| {
            b.iter(|| {
                fit(
                    black_box(&inst),
                    "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)",
                )
            })
        },
    );
    group.bench_function("InstEval-shaped, no df", |b| {
        b.iter(|| {
            fit_lme4_like(
                black_box(&inst),
                "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)",
            )
        })
    });
    group.finish();
}

/// The largest cases: the `fit` example's work on a 1M- and a 5M-row CSV (read, build, fit with
/// df; the process start and printing are not included), and a crossed design with 500,000 rows
/// and 5,000 × 4,000 levels. Each takes seconds; criterion's minimum of 10 samples.
fn huge(c: &mut Bench) {
    let mut group = c.benchmark_group("huge");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    for n in [1_000_000, 5_000_000] {
        let path = support::csv_7_columns(n, 10_000, 5);
        group.bench_function(
            format!("fit example: {n}-row CSV, 7 columns, 10k groups, (1 | g)"),
            |b| {
                b.iter(|| {
                    let data = Data::from_csv_path(black_box(&path)).unwrap();
                    fit(&data, "y ~ x1 + x2 + x3 + x4 + x5 + (1 | g)")
                })
            },
        );
    }
    let crossed = support::crossed(500_000, 5_000, 4_000, 9);
    group.bench_function(
        "crossed 500k rows, 5,000 x 4,000 levels, (1|a) + (1|b), no df",
        |b| b.iter(|| fit_lme4_like(black_box(&crossed), "y ~ x + (1 | a) + (1 | b)")),
    );
    group.finish();
}

criterion_group!(benches, small, large, huge);
criterion_main!(benches);
