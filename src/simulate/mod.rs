//! A cohort simulator shaped like the reference study: clients nested in therapists with
//! unequal caseloads, item-level responses for attachment (ECR-like), attachment to the
//! therapist (CATS-like), therapeutic distance (TDS-like) and interpersonal problems
//! (IIP-like, pre and post), from stated parameters, seeded and reproducible.
//!
//! The instruments are **synthetic stand-ins** scored with the example keys of
//! [`example_keys`]: their item counts, subscales and reverse keys are made up for simulation
//! and are *not* the published instruments' keys (see [`crate::scoring`] for those).
//!
//! Latent model (standardized scores; u_t a therapist effect):
//! ecr_anx, ecr_avoid ~ N(0, 1) with correlation 0.3; cats_preocc = 0.5·ecr_anx + e;
//! cats_avoidfear = 0.5·ecr_avoid + e; esat = `anx_to_esat`·ecr_anx − 0.2·ecr_avoid + u_t + e;
//! cats_secure = `pseudosecurity`·cats_preocc + esat (so Secure carries anxious idealization);
//! engagement = 0.4·esat + e; autonomy = `esat_to_autonomy`·esat +
//! `interaction`·ecr_anx·esat + u_t + e; iip_pre = 0.4·ecr_anx + 0.3·ecr_avoid + e;
//! iip_post = 0.6·iip_pre − `engagement_to_iip`·engagement − 0.2·esat + u_t + e.
//!
//! Therapist effects have the variance that gives intraclass correlation `icc`. Each
//! subscale's items load 0.7 on its latent score and are rounded to the response scale;
//! reverse-keyed items are generated reversed.

pub mod binary_power;
pub mod grid;
pub mod power;
pub mod session_power;
pub mod sessions;

use crate::data::{Column, Data};
use crate::rng::Rng;
use crate::scoring::{MinAnswered, ScaleKey, Subscale};

/// Parameters of a simulated cohort.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct CohortParams {
    /// Number of therapists.
    pub therapists: usize,
    /// Number of clients (allocated to therapists unequally).
    pub clients: usize,
    /// Intraclass correlation of therapist effects on ESAT, autonomy and outcome.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub icc: f64,
    /// Effect of attachment anxiety on individuated-secure attachment.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub anx_to_esat: f64,
    /// Effect of ESAT on growing autonomy.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub esat_to_autonomy: f64,
    /// Anxiety × ESAT interaction on growing autonomy.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub interaction: f64,
    /// Effect of growing engagement on post-treatment problems (a reduction).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub engagement_to_iip: f64,
    /// Loading of CATS Preoccupied-Merger in CATS Secure (pseudosecurity).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub pseudosecurity: f64,
    /// Probability that any one item response is missing.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub missing_item_rate: f64,
    /// Probability that a client has no post-treatment questionnaires.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub dropout: f64,
    /// Master seed.
    pub seed: u64,
}

impl CohortParams {
    /// The default cohort with its master seed drawn from a caller's `rand` generator
    /// (see [`crate::rng`] for the reproducibility guarantee).
    pub fn from_rng<R: rand_core::Rng + ?Sized>(rng: &mut R) -> CohortParams {
        CohortParams {
            seed: crate::rng::seed_from(rng),
            ..CohortParams::default()
        }
    }
}

impl Default for CohortParams {
    /// The reference study's shape: 330 clients of 44 therapists.
    fn default() -> Self {
        CohortParams {
            therapists: 44,
            clients: 330,
            icc: 0.08,
            anx_to_esat: -0.3,
            esat_to_autonomy: 0.35,
            interaction: 0.15,
            engagement_to_iip: 0.25,
            pseudosecurity: 0.5,
            missing_item_rate: 0.01,
            dropout: 0.08,
            seed: 20240710,
        }
    }
}

/// A synthetic instrument: prefix, subscales (name, items), reverse every n-th item (0 = none),
/// response min and max.
type Instrument = (
    &'static str,
    &'static [(&'static str, usize)],
    usize,
    i64,
    i64,
);

const INSTRUMENTS: &[Instrument] = &[
    ("ecr", &[("avoid", 18), ("anx", 18)], 4, 1, 7),
    (
        "cats",
        &[("secure", 12), ("avoidfear", 12), ("preocc", 12)],
        5,
        1,
        6,
    ),
    ("tds", &[("engagement", 8), ("autonomy", 8)], 4, 1, 6),
    ("iip_pre", &[("total", 32)], 0, 0, 4),
    ("iip_post", &[("total", 32)], 0, 0, 4),
];

fn item_name(prefix: &str, sub: &str, j: usize) -> String {
    format!("{prefix}_{sub}_{j}")
}

/// The example keys of the synthetic instruments (ECR-like, CATS-like, TDS-like, IIP-like
/// pre and post), in that order. They are documented as synthetic and score only simulated
/// data.
pub fn example_keys() -> Vec<ScaleKey> {
    INSTRUMENTS
        .iter()
        .map(|(prefix, subs, every, lo, hi)| {
            let mut key = ScaleKey::new(&format!("example-{prefix}"), *lo, *hi).cited(
                "securebase::simulate example key: a synthetic stand-in, NOT the published instrument's scoring key",
                "MIT OR Apache-2.0 (synthetic; no published items)",
            );
            key.form = "synthetic".into();
            key.version = "1".into();
            for (sub, k) in subs.iter() {
                let names: Vec<String> = (1..=*k).map(|j| item_name(prefix, sub, j)).collect();
                let reverse: Vec<String> = if *every == 0 {
                    vec![]
                } else {
                    names.iter().skip(every - 1).step_by(*every).cloned().collect()
                };
                key = key.with_subscale(
                    Subscale::mean(sub, &names)
                        .reversed(&reverse)
                        .min_answered(MinAnswered::Proportion(0.75)),
                );
            }
            key
        })
        .collect()
}

/// Unequal caseloads: every therapist gets at least one client, the rest by a skewed draw.
fn allocate(rng: &mut Rng, therapists: usize, clients: usize) -> Vec<usize> {
    let mut therapist: Vec<usize> = (0..therapists.min(clients)).collect();
    let weights: Vec<f64> = (0..therapists)
        .map(|_| (0.5 * rng.normal()).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    while therapist.len() < clients {
        let mut u = rng.uniform() * total;
        let mut t = 0;
        while t + 1 < therapists && u > weights[t] {
            u -= weights[t];
            t += 1;
        }
        therapist.push(t);
    }
    therapist
}

fn correlated(rng: &mut Rng, r: f64) -> (f64, f64) {
    let a = rng.normal();
    (a, r * a + (1.0 - r * r).sqrt() * rng.normal())
}

/// Simulate one cohort: one row per client with `therapist`, `client` and every item column.
///
/// # Errors
/// [`crate::Error::Argument`] for no therapists, fewer clients than therapists (or more than 10
/// million), an ICC outside [0, 1), rates outside [0, 1], or effects not finite or beyond ±100.
///
/// ```
/// use securebase::simulate::{simulate_cohort, CohortParams};
/// let cohort = simulate_cohort(&CohortParams::default())?;
/// assert_eq!(cohort.nrows(), 330);
/// assert_eq!(cohort.factor("therapist")?.levels().len(), 44);
/// // Reproducible: the same parameters (seed included) give the same data.
/// assert_eq!(simulate_cohort(&CohortParams::default())?, cohort);
/// # Ok::<(), securebase::Error>(())
/// ```
pub fn simulate_cohort(p: &CohortParams) -> crate::Result<Data> {
    let rate_ok = |r: f64| (0.0..=1.0).contains(&r);
    let effects = [
        p.anx_to_esat,
        p.esat_to_autonomy,
        p.interaction,
        p.engagement_to_iip,
        p.pseudosecurity,
    ];
    if p.therapists == 0 || p.clients < p.therapists {
        return Err(crate::Error::Argument {
            name: "params".into(),
            message: format!(
                "need at least one therapist and at least as many clients ({}) as therapists ({})",
                p.clients, p.therapists
            ),
        });
    }
    if !(0.0..1.0).contains(&p.icc)
        || !rate_ok(p.missing_item_rate)
        || !rate_ok(p.dropout)
        || effects.iter().any(|e| !(e.is_finite() && e.abs() <= 100.0))
        || p.clients > 10_000_000
    {
        return Err(crate::Error::Argument {
            name: "params".into(),
            message: "icc must be in [0, 1), rates in [0, 1], effects finite and at most 100 in size, clients at most 10 million".into(),
        });
    }
    let mut rng = Rng::new(p.seed);
    let therapist = allocate(&mut rng, p.therapists, p.clients);
    let tau = (p.icc / (1.0 - p.icc)).sqrt();
    let ut: Vec<[f64; 3]> = (0..p.therapists)
        .map(|_| [tau * rng.normal(), tau * rng.normal(), tau * rng.normal()])
        .collect();
    let n = p.clients;
    let mut latent: Vec<Vec<f64>> = (0..9).map(|_| Vec::with_capacity(n)).collect();
    let mut dropped = Vec::with_capacity(n);
    for &t in therapist.iter() {
        let (anx, avoid) = correlated(&mut rng, 0.3);
        let preocc = 0.5 * anx + 0.87 * rng.normal();
        let avoidfear = 0.5 * avoid + 0.87 * rng.normal();
        let esat = p.anx_to_esat * anx - 0.2 * avoid + ut[t][0] + 0.9 * rng.normal();
        let secure = p.pseudosecurity * preocc + esat;
        let engagement = 0.4 * esat + 0.9 * rng.normal();
        let autonomy =
            p.esat_to_autonomy * esat + p.interaction * anx * esat + ut[t][1] + 0.9 * rng.normal();
        let iip_pre = 0.4 * anx + 0.3 * avoid + 0.85 * rng.normal();
        let iip_post = 0.6 * iip_pre - p.engagement_to_iip * engagement - 0.2 * esat
            + ut[t][2]
            + 0.75 * rng.normal();
        for (k, v) in [
            avoid, anx, secure, avoidfear, preocc, engagement, autonomy, iip_pre, iip_post,
        ]
        .into_iter()
        .enumerate()
        {
            latent[k].push(v);
        }
        dropped.push(rng.uniform() < p.dropout);
    }
    let mut data = Data::new();
    let tlabels: Vec<String> = therapist.iter().map(|t| format!("T{:02}", t + 1)).collect();
    data = data.with_categorical("therapist", tlabels)?;
    data = data.with_numeric("client", (1..=n).map(|c| c as f64).collect())?;
    let mut li = 0;
    for (prefix, subs, every, lo, hi) in INSTRUMENTS {
        let post = *prefix == "iip_post" || *prefix == "tds";
        for (sub, k) in subs.iter() {
            let lat = &latent[li];
            li += 1;
            for j in 1..=*k {
                let reversed = *every > 0 && j % every == 0;
                let mid = (*lo + *hi) as f64 / 2.0;
                let spread = (*hi - *lo) as f64 / 4.0;
                let col: Vec<Option<f64>> = (0..n)
                    .map(|i| {
                        let z = 0.7 * lat[i] / latent_sd(lat) + 0.714 * rng.normal();
                        let x = (mid + spread * z).round().clamp(*lo as f64, *hi as f64);
                        let x = if reversed { (*lo + *hi) as f64 - x } else { x };
                        let missing = rng.uniform() < p.missing_item_rate || (post && dropped[i]);
                        (!missing).then_some(x)
                    })
                    .collect();
                data.add_column(&item_name(prefix, sub, j), Column::Numeric(col.into()))?;
            }
        }
    }
    Ok(data)
}

fn latent_sd(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n)
        .sqrt()
        .max(1e-12)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{InvalidResponses, score};

    #[test]
    fn cohort_has_the_study_shape_and_scores() {
        let p = CohortParams::default();
        let d = simulate_cohort(&p).unwrap();
        assert_eq!(d.nrows(), 330);
        assert_eq!(d.factor("therapist").unwrap().levels().len(), 44);
        for key in example_keys() {
            let s = score(&d, &key, InvalidResponses::Error).unwrap();
            assert!(
                s.subscales
                    .iter()
                    .all(|x| x.scores.iter().filter(|v| v.is_some()).count() > 250)
            );
        }
        // same seed, same data; another seed, other data
        assert_eq!(simulate_cohort(&p).unwrap(), d);
        let mut q = p.clone();
        q.seed += 1;
        assert_ne!(simulate_cohort(&q).unwrap(), d);
        q.therapists = 0;
        assert!(simulate_cohort(&q).is_err());
        q.therapists = 400;
        assert!(simulate_cohort(&q).is_err());
        q.therapists = 44;
        q.icc = 1.0;
        assert!(simulate_cohort(&q).is_err());
    }
}
