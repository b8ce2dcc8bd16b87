//! Scoring benchmark: 1,000,000 respondents × 36 items (two 18-item subscales, half the items
//! reverse-keyed, 2% of responses missing, prorated means).

use criterion::{Criterion, criterion_group, criterion_main};
use securebase::scoring::{InvalidResponses, ScaleKey, score};
use securebase::{Column, Data};
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let n = 1_000_000;
    let mut rng = securebase::rng::Rng::new(5);
    let mut data = Data::new();
    let items: Vec<String> = (1..=36).map(|i| format!("item{i}")).collect();
    for name in &items {
        let col: Vec<Option<f64>> = (0..n)
            .map(|_| {
                if rng.uniform() < 0.02 {
                    None
                } else {
                    Some(1.0 + rng.below(7).unwrap_or(0) as f64)
                }
            })
            .collect();
        data.add_column(name, Column::Numeric(col.into())).unwrap();
    }
    let odd: Vec<&String> = items.iter().step_by(2).collect();
    let even: Vec<&String> = items.iter().skip(1).step_by(2).collect();
    let key = serde_json::json!({"format": "securebase-key/1", "name": "bench", "source": "synthetic", "licence": "n/a",
    "response_min": 1, "response_max": 7, "items": items,
    "subscales": [
        {"name": "avoidance", "items": odd, "reverse": odd.iter().step_by(2).collect::<Vec<_>>(), "aggregation": "mean", "min_answered": {"proportion": 0.8}},
        {"name": "anxiety", "items": even, "reverse": even.iter().step_by(3).collect::<Vec<_>>(), "aggregation": "sum", "min_answered": {"proportion": 0.8}}
    ]});
    let key = ScaleKey::from_json(&key.to_string()).unwrap();
    let mut g = c.benchmark_group("scoring");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    g.bench_function("1,000,000 respondents x 36 items, prorated", |b| {
        b.iter(|| score(black_box(&data), &key, InvalidResponses::Error).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
