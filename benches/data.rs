//! Data-operation benchmarks: aggregating 1,000,000 session rows into 10,000 clients, joining
//! 1,000,000 rows to a 10,000-row client table, a lag within clients, and reading a 1M-row CSV.

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use securebase::Data;
use securebase::data::{Agg, CsvOptions};
use std::hint::black_box;
use std::time::Duration;
use support::Rng;

/// `n` session rows of `clients` clients (sorted by client and session), two numeric columns.
fn sessions(n: usize, clients: usize) -> Data {
    let per = n / clients;
    let mut r = Rng::new(3);
    let client: Vec<String> = (0..n).map(|i| format!("c{:05}", i / per)).collect();
    let session: Vec<f64> = (0..n).map(|i| (i % per + 1) as f64).collect();
    let y: Vec<Option<f64>> = (0..n)
        .map(|_| (r.uniform() > 0.05).then(|| r.normal()))
        .collect();
    let x: Vec<f64> = (0..n).map(|_| r.normal()).collect();
    Data::new()
        .with_categorical("client", client)
        .unwrap()
        .with_numeric("session", session)
        .unwrap()
        .with_numeric_opt("y", y)
        .unwrap()
        .with_numeric("x", x)
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let data = sessions(1_000_000, 10_000);
    let mut r = Rng::new(9);
    let clients = Data::new()
        .with_categorical("client", (0..10_000).map(|i| format!("c{i:05}")).collect())
        .unwrap()
        .with_numeric("ecr_anx", (0..10_000).map(|_| r.normal()).collect())
        .unwrap()
        .with_numeric("iip_pre", (0..10_000).map(|_| r.normal()).collect())
        .unwrap();
    let mut g = c.benchmark_group("data");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function(
        "aggregate 1M rows into 10k groups (mean, sd, count, slope)",
        |b| {
            b.iter(|| {
                black_box(&data)
                    .aggregate(
                        &["client"],
                        &[
                            Agg::mean("y"),
                            Agg::sd("y"),
                            Agg::count("y"),
                            Agg::slope("y", "session"),
                        ],
                    )
                    .unwrap()
            })
        },
    );
    g.bench_function("left join 1M x 10k rows on client", |b| {
        b.iter(|| black_box(&data).left_join(&clients, &["client"]).unwrap())
    });
    g.bench_function("lag within 10k clients, 1M rows", |b| {
        b.iter(|| {
            black_box(&data)
                .lag("y", &["client"], "session", 1)
                .unwrap()
        })
    });
    let mut csv = Vec::new();
    data.write_csv(&mut csv).unwrap();
    g.bench_function("read a 1M-row CSV (4 columns)", |b| {
        b.iter(|| CsvOptions::new().read(black_box(csv.as_slice())).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
