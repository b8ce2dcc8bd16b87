//! Bootstrap mediation and probing benchmarks at the reference study's size
//! (330 clients of 44 therapists).

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use securebase::mediation::{BootstrapOptions, Mediation, MultilevelMediation, Resampling};
use securebase::probe::{DfMethod, ModeratorValues, probe, slope_curve};
use securebase::{Criterion as Crit, LmmSpec, Ols};
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let data = support::study_sized(1);
    let m = Mediation::new("ecr_anx", &["esat_anx"], "y")
        .covariates(&["iip_pre"])
        .cluster("therapist");
    let mut g = c.benchmark_group("mediation");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("5000 case bootstrap resamples, 330 clients", |b| {
        b.iter(|| {
            m.bootstrap(black_box(&data), &BootstrapOptions::new(5000, 1))
                .unwrap()
        })
    });
    g.bench_function("5000 cluster bootstrap resamples, 44 therapists", |b| {
        b.iter(|| {
            m.bootstrap(
                black_box(&data),
                &BootstrapOptions::new(5000, 1).resampling(Resampling::Cluster),
            )
            .unwrap()
        })
    });
    let sessions = support::sessions_sized(330, 12, 2);
    let ml = MultilevelMediation::new("anx", &["secure"], "engage", "client");
    g.bench_function(
        "2000 cluster resamples, 2-1-1, 330 clients x 12 sessions",
        |b| {
            b.iter(|| {
                ml.bootstrap(
                    black_box(&sessions),
                    &BootstrapOptions::new(2000, 1).resampling(Resampling::Cluster),
                )
                .unwrap()
            })
        },
    );
    g.finish();
    let ols = Ols::fit(&data, "y ~ ecr_anx * esat_anx").unwrap();
    c.bench_function("probe OLS: simple slopes + Johnson-Neyman", |b| {
        b.iter(|| {
            probe(
                black_box(&ols),
                "ecr_anx",
                "esat_anx",
                &ModeratorValues::MeanSd,
                DfMethod::Model,
                0.95,
            )
            .unwrap()
        })
    });
    c.bench_function("probe OLS: 200-point slope curve", |b| {
        b.iter(|| {
            slope_curve(
                black_box(&ols),
                "ecr_anx",
                "esat_anx",
                200,
                DfMethod::Model,
                0.95,
            )
            .unwrap()
        })
    });
    let lmm = LmmSpec::new(&data, "y ~ ecr_anx * esat_anx + (1 | therapist)")
        .unwrap()
        .fit(Crit::Reml)
        .unwrap();
    c.bench_function("probe LMM (Satterthwaite): 200-point slope curve", |b| {
        b.iter(|| {
            slope_curve(
                black_box(&lmm),
                "ecr_anx",
                "esat_anx",
                200,
                DfMethod::Model,
                0.95,
            )
            .unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
