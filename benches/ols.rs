//! OLS benchmarks: formula to fitted model on R's iris data and on a 100,000-row design.

use criterion::{Criterion, criterion_group, criterion_main};
use securebase::{Data, Ols};
use std::hint::black_box;

fn large(n: usize) -> Data {
    let mut s: u64 = 42;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let cols: Vec<Vec<f64>> = (0..4).map(|_| (0..n).map(|_| next()).collect()).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| cols[0][i] + 0.5 * cols[1][i] - cols[2][i] * cols[3][i] + next())
        .collect();
    let mut d = Data::new().with_numeric("y", y).unwrap();
    for (k, c) in cols.into_iter().enumerate() {
        d = d.with_numeric(&format!("x{}", k + 1), c).unwrap();
    }
    d
}

fn bench(c: &mut Criterion) {
    let iris = Data::from_csv_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/iris.csv"
    ))
    .unwrap();
    c.bench_function(
        "ols iris Sepal.Length ~ Petal.Length * Species + Sepal.Width",
        |b| {
            b.iter(|| {
                Ols::fit(
                    black_box(&iris),
                    "Sepal.Length ~ Petal.Length * Species + Sepal.Width",
                )
                .unwrap()
            })
        },
    );
    let big = large(100_000);
    c.bench_function("ols 100k rows y ~ x1 + x2 + x3 * x4", |b| {
        b.iter(|| Ols::fit(black_box(&big), "y ~ x1 + x2 + x3 * x4").unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
