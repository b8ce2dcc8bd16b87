//! What a crate depending on securebase does, through the public API only: build `Data` from
//! vectors (no files), fit OLS and a mixed model, probe the interaction, bootstrap a mediation
//! with a generator it passes in, and round-trip every result through serde_json.
#![cfg(all(feature = "serde", feature = "csv"))]

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use securebase::mediation::{BootstrapOptions, Mediation, Path, Resampling};
use securebase::probe::{DfMethod, ModeratorValues, ProbeSpec};
use securebase::{Criterion, Data, LmmFit, LmmSpec, Ols, OlsFit};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Round trip: written, read back, written again to the same JSON.
fn round_trip<T: Serialize + DeserializeOwned>(x: &T) -> T {
    let a = serde_json::to_string(x).unwrap();
    let back: T = serde_json::from_str(&a).unwrap();
    assert_eq!(a, serde_json::to_string(&back).unwrap());
    back
}

/// 40 therapists × 6 clients: y = 0.5 + 0.4 x + 0.3 z + 0.25 x·z + u_therapist + e, and a
/// mediator m = 0.6 x + e on the way from x to y.
fn data(rng: &mut StdRng) -> Data {
    let normal = |rng: &mut StdRng| {
        let (u, v): (f64, f64) = (rng.random(), rng.random());
        (-2.0 * (1.0 - u).ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    };
    let (mut x, mut z, mut m, mut y, mut t) = (vec![], vec![], vec![], vec![], vec![]);
    for therapist in 0..40 {
        let u = 0.3 * normal(rng);
        for _ in 0..6 {
            let (xi, zi) = (normal(rng), normal(rng));
            let mi = 0.6 * xi + normal(rng);
            x.push(xi);
            z.push(zi);
            m.push(mi);
            y.push(0.5 + 0.4 * xi + 0.3 * zi + 0.25 * xi * zi + 0.3 * mi + u + normal(rng));
            t.push(format!("t{therapist:02}"));
        }
    }
    Data::new()
        .with_numeric("x", x)
        .and_then(|d| d.with_numeric("z", z))
        .and_then(|d| d.with_numeric("m", m))
        .and_then(|d| d.with_numeric("y", y))
        .and_then(|d| d.with_categorical("therapist", t))
        .unwrap()
}

#[test]
fn a_dependent_crate_fits_probes_bootstraps_and_serializes() {
    let mut rng = StdRng::seed_from_u64(2024);
    let d = round_trip(&data(&mut rng));
    assert_eq!(d.nrows(), 240);

    let ols: OlsFit = round_trip(&Ols::fit(&d, "y ~ x * z").unwrap());
    assert!(ols.coefficient("x:z").unwrap().estimate > 0.0);
    let lmm_fit = LmmSpec::new(&d, "y ~ x * z + (1 | therapist)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    let lmm: LmmFit = round_trip(&lmm_fit);
    assert_eq!(lmm.coefficients(), lmm_fit.coefficients());
    // The interaction recovered within its CI.
    let xz = lmm.coefficient("x:z").unwrap();
    assert!(xz.ci[0] < 0.25 && 0.25 < xz.ci[1], "{xz:?}");

    let probe = ProbeSpec::new("x", "z")
        .values(ModeratorValues::MeanSd)
        .df(DfMethod::Model)
        .run(&lmm)
        .unwrap();
    let probe = round_trip(&probe);
    assert_eq!(probe.simple_slopes.len(), 3);
    assert!(probe.simple_slopes[0].slope < probe.simple_slopes[2].slope);

    let med = round_trip(&Mediation::new("x", &["m"], "y").cluster("therapist"));
    let fit = round_trip(&med.fit(&d).unwrap());
    // The caller's generator seeds the bootstrap; the same state gives the same intervals.
    let mut mine = StdRng::seed_from_u64(99);
    let options =
        round_trip(&BootstrapOptions::from_rng(300, &mut mine).resampling(Resampling::Cluster));
    let boot = round_trip(&med.bootstrap(&d, &options).unwrap());
    let again = med
        .bootstrap(
            &d,
            &BootstrapOptions::from_rng(300, &mut StdRng::seed_from_u64(99))
                .resampling(Resampling::Cluster),
        )
        .unwrap();
    assert_eq!(boot.effects, again.effects);
    let ind = boot.effect(Path::Indirect).unwrap();
    assert_eq!(ind.estimate, fit.effect(Path::Indirect).unwrap());
    assert!(ind.percentile[0] > 0.0, "{ind:?}"); // a·b = 0.18 > 0
    let names: Vec<String> = vec!["m".into()];
    assert_eq!(
        Mediation::new("x", &names, "y")
            .fit(&d)
            .unwrap()
            .effects
            .len(),
        5
    );
}
