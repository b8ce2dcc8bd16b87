//! Power analysis benchmark: 1,000 replicate fits of the study-sized moderator model
//! (44 therapists × 8 clients, `y ~ x * z + (1 | therapist)`, REML + Satterthwaite).

use criterion::{Criterion, criterion_group, criterion_main};
use securebase::simulate::power::{PowerDesign, power};
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let design = PowerDesign::study_like();
    let mut g = c.benchmark_group("power");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function(
        "1000 replicate fits of the study-sized moderator model",
        |b| b.iter(|| power(black_box(&design), 1000, 1).unwrap()),
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
