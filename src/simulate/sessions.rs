//! A session-level cohort shaped like the reference study as it was run: sessions in clients in
//! therapists, one row per attended session, with the client-level questionnaires (ECR before
//! therapy, IIP before and after) repeated on every row of the client, as a merged long file
//! holds them, and CATS and TDS answered after every session.
//!
//! The instruments are the **synthetic stand-ins** of [`super::example_keys`]; every number is
//! simulated. The design: therapists with unequal caseloads; clients with a varying number of
//! planned sessions (`sessions_mean` ± 4), missed sessions (`missed_rate`), and drop-out (the
//! later sessions and the IIP after therapy missing) whose log-odds rise with attachment
//! anxiety and avoidance (`dropout_attachment` per SD), as the literature reports.
//!
//! Latent model (client j of therapist t, session s; u a therapist effect with intraclass
//! correlation `icc`, e independent noise):
//!
//! - ECR: anx_j, avoid_j standard normal, correlation 0.3.
//! - CATS, client means: preocc_j = 0.5 anx_j + 0.75 e; avoidfear_j = 0.5 avoid_j + 0.75 e;
//!   esat_j = `anx_to_esat` anx_j + u_t + 0.8 e (the individuated-secure part). Each session
//!   adds 0.6 e to each; Secure_js = esat_js + `pseudosecurity` preocc_js +
//!   `secure_avoidfear` avoidfear_js, so Secure carries anxious idealization (pseudosecurity)
//!   and is strongly negative with Avoidant-Fearful.
//! - TDS: engagement_js = (`engagement_growth` + g_j)(s − 1) + `esat_to_engagement` esat_j +
//!   0.1 (esat_js − esat_j) + u_t + c_j + 0.6 e; autonomy_js = (`autonomy_growth` + h_j)(s − 1) +
//!   `preocc_to_autonomy` preocc_j + `interaction` anx_j·esat_anx_j + u_t + d_j + 0.6 e, with
//!   client growth deviations g_j, h_j of SD `growth_sd`. Because ESAT_avoid (Secure net of
//!   Avoidant-Fearful) keeps the preoccupied part, higher ESAT_avoid goes with lower autonomy.
//! - IIP: pre_j = 0.4 anx_j + 0.3 avoid_j + 0.85 e; post_j = 0.6 pre_j +
//!   `engagement_to_iip` mean engagement_j + `esat_anx_to_iip` esat_anx_j + u_t + 0.7 e, with
//!   esat_anx_j = esat_j + `secure_avoidfear` avoidfear_j (Secure net of Preoccupied-Merger).
//!
//! The defaults reproduce the published pattern: ESAT_avoid → lower autonomy; engagement and
//! ESAT_anx → a larger decrease in interpersonal problems; no anxiety × ESAT interaction; and no
//! full ET-GRAF chain: anxiety does not move ESAT_anx (`anx_to_esat` = 0.15 offsets the
//! −0.15 that anxiety carries into ESAT_anx through avoidance and Avoidant-Fearful, so that the
//! chain's first path is zero). Each subscale's items
//! load 0.7 on its standardized latent score and are whole numbers in range.

use super::{INSTRUMENTS, item_name};
use crate::data::{Column, Data};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// Parameters of a simulated session-level study (see the module docs for the model).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
#[non_exhaustive]
pub struct SessionParams {
    /// Therapists.
    pub therapists: usize,
    /// Clients (every therapist gets at least one; the rest by a skewed draw).
    pub clients: usize,
    /// Mean planned sessions per client (each client plans `sessions_mean` ± 4, at least 3).
    pub sessions_mean: usize,
    /// Probability that a planned session (after the first) is missed.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub missed_rate: f64,
    /// Share of clients who drop out (average probability).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub dropout: f64,
    /// Log-odds of drop-out per SD of attachment anxiety and of avoidance.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub dropout_attachment: f64,
    /// Intraclass correlation of the therapist effects.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub icc: f64,
    /// Effect of attachment anxiety on the individuated-secure part of CATS Secure.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub anx_to_esat: f64,
    /// Loading of Preoccupied-Merger in CATS Secure (pseudosecurity).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub pseudosecurity: f64,
    /// Loading of Avoidant-Fearful in CATS Secure (negative).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub secure_avoidfear: f64,
    /// Average growth of engagement per session.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub engagement_growth: f64,
    /// Average growth of autonomy per session.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub autonomy_growth: f64,
    /// SD of the clients' growth deviations.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub growth_sd: f64,
    /// Effect of the client's individuated-secure attachment on engagement.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub esat_to_engagement: f64,
    /// Effect of the client's preoccupation on autonomy (negative: merger).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub preocc_to_autonomy: f64,
    /// Anxiety × ESAT_anx interaction on autonomy.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub interaction: f64,
    /// Effect of mean engagement on problems after therapy (negative: a decrease).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub engagement_to_iip: f64,
    /// Effect of ESAT_anx on problems after therapy (negative: a decrease).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub esat_anx_to_iip: f64,
    /// Probability that any one item response is missing.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub missing_item_rate: f64,
    /// Master seed.
    pub seed: u64,
}

impl Default for SessionParams {
    /// The reference study's shape and published pattern: 330 clients of 44 therapists, about
    /// 12 sessions each.
    fn default() -> Self {
        SessionParams {
            therapists: 44,
            clients: 330,
            sessions_mean: 12,
            missed_rate: 0.08,
            dropout: 0.15,
            dropout_attachment: 0.4,
            icc: 0.08,
            anx_to_esat: 0.15,
            pseudosecurity: 0.6,
            secure_avoidfear: -1.0,
            engagement_growth: 0.06,
            autonomy_growth: 0.05,
            growth_sd: 0.03,
            esat_to_engagement: 0.3,
            preocc_to_autonomy: -0.5,
            interaction: 0.0,
            engagement_to_iip: -0.35,
            esat_anx_to_iip: -0.25,
            missing_item_rate: 0.01,
            seed: 20240710,
        }
    }
}

impl SessionParams {
    /// The default session-level cohort with its master seed drawn from a caller's `rand`
    /// generator (see [`crate::rng`] for the reproducibility guarantee).
    pub fn from_rng<R: rand_core::Rng + ?Sized>(rng: &mut R) -> SessionParams {
        SessionParams {
            seed: crate::rng::seed_from(rng),
            ..SessionParams::default()
        }
    }

    /// Check the parameters.
    ///
    /// # Errors
    /// [`Error::Argument`] naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &str, message: String| {
            Err(Error::Argument {
                name: name.into(),
                message,
            })
        };
        if self.therapists == 0 || self.clients < self.therapists || self.clients > 1_000_000 {
            return bad(
                "clients",
                format!(
                    "need at least one therapist and as many clients as therapists (at most 1,000,000); got {} therapists, {} clients",
                    self.therapists, self.clients
                ),
            );
        }
        if !(3..=200).contains(&self.sessions_mean) {
            return bad(
                "sessions_mean",
                format!("{} is not in 3..=200", self.sessions_mean),
            );
        }
        for (name, r) in [
            ("missed_rate", self.missed_rate),
            ("dropout", self.dropout),
            ("missing_item_rate", self.missing_item_rate),
        ] {
            if !(0.0..1.0).contains(&r) {
                return bad(name, format!("{r} is not a rate in [0, 1)"));
            }
        }
        if !(0.0..1.0).contains(&self.icc) {
            return bad("icc", format!("{} is not in [0, 1)", self.icc));
        }
        for (name, v) in [
            ("dropout_attachment", self.dropout_attachment),
            ("anx_to_esat", self.anx_to_esat),
            ("pseudosecurity", self.pseudosecurity),
            ("secure_avoidfear", self.secure_avoidfear),
            ("engagement_growth", self.engagement_growth),
            ("autonomy_growth", self.autonomy_growth),
            ("growth_sd", self.growth_sd),
            ("esat_to_engagement", self.esat_to_engagement),
            ("preocc_to_autonomy", self.preocc_to_autonomy),
            ("interaction", self.interaction),
            ("engagement_to_iip", self.engagement_to_iip),
            ("esat_anx_to_iip", self.esat_anx_to_iip),
        ] {
            if !(v.is_finite() && v.abs() <= 10.0) {
                return bad(
                    name,
                    format!("{v} is not a finite effect of at most 10 in size"),
                );
            }
        }
        if self.growth_sd < 0.0 {
            return bad("growth_sd", "an SD cannot be negative".into());
        }
        Ok(())
    }
}

/// The latent scores of one row: ECR (avoid, anx), CATS (secure, avoidfear, preocc), TDS
/// (engagement, autonomy), IIP (pre, post) — the order of [`INSTRUMENTS`]' subscales.
type Latent = [f64; 9];

/// Simulate a session-level study: one row per attended session with `therapist`, `client`,
/// `session` and every item column (client-level items repeated on the client's rows).
///
/// # Examples
/// ```
/// use securebase::simulate::sessions::{simulate_sessions, SessionParams};
/// let mut p = SessionParams::default();
/// p.clients = 60;
/// p.therapists = 8;
/// let d = simulate_sessions(&p)?;
/// assert!(d.nrows() > 400); // about 12 sessions each, less missed and dropped ones
/// assert_eq!(d.factor("client")?.levels().len(), 60);
/// # Ok::<(), securebase::Error>(())
/// ```
///
/// # Errors
/// As [`SessionParams::validate`].
pub fn simulate_sessions(p: &SessionParams) -> Result<Data> {
    p.validate()?;
    let mut rng = Rng::new(p.seed);
    let therapist = super::allocate(&mut rng, p.therapists, p.clients);
    let tau = (p.icc / (1.0 - p.icc)).sqrt();
    let ut: Vec<[f64; 4]> = (0..p.therapists)
        .map(|_| {
            [
                tau * rng.normal(),
                tau * rng.normal(),
                tau * rng.normal(),
                tau * rng.normal(),
            ]
        })
        .collect();
    // Drop-out: the intercept that gives the stated average share at zero attachment.
    let base = (p.dropout / (1.0 - p.dropout)).ln();
    let mut rows: Vec<(usize, usize, Latent)> = Vec::new();
    let mut client_post_missing = Vec::with_capacity(p.clients);
    for (j, &t) in therapist.iter().enumerate() {
        let (anx, avoid) = super::correlated(&mut rng, 0.3);
        let preocc = 0.5 * anx + 0.75 * rng.normal();
        let avoidfear = 0.5 * avoid + 0.75 * rng.normal();
        let esat = p.anx_to_esat * anx + ut[t][0] + 0.8 * rng.normal();
        let esat_anx = esat + p.secure_avoidfear * avoidfear;
        let (g, h) = (p.growth_sd * rng.normal(), p.growth_sd * rng.normal());
        let (c, d) = (0.5 * rng.normal(), 0.5 * rng.normal());
        let planned = (p.sessions_mean as i64 - 4 + rng.index(9) as i64).max(3) as usize;
        let logit = base + p.dropout_attachment * (anx + avoid);
        let drops = rng.uniform() < 1.0 / (1.0 + (-logit).exp());
        let last = if drops {
            2 + rng.index(planned.saturating_sub(3).max(1))
        } else {
            planned
        };
        let iip_pre = 0.4 * anx + 0.3 * avoid + 0.85 * rng.normal();
        let mut eng_sum = 0.0;
        let first_row = rows.len();
        for s in 1..=last {
            let attended = s == 1 || rng.uniform() >= p.missed_rate;
            let pj = preocc + 0.6 * rng.normal();
            let fj = avoidfear + 0.6 * rng.normal();
            let ej = esat + 0.6 * rng.normal();
            let secure = ej + p.pseudosecurity * pj + p.secure_avoidfear * fj;
            let time = (s - 1) as f64;
            let engagement = (p.engagement_growth + g) * time
                + p.esat_to_engagement * esat
                + 0.1 * (ej - esat)
                + ut[t][1]
                + c
                + 0.6 * rng.normal();
            let autonomy = (p.autonomy_growth + h) * time
                + p.preocc_to_autonomy * preocc
                + p.interaction * anx * esat_anx
                + ut[t][2]
                + d
                + 0.6 * rng.normal();
            eng_sum += engagement;
            if attended {
                rows.push((
                    j,
                    s,
                    [
                        avoid, anx, secure, fj, pj, engagement, autonomy, iip_pre, 0.0,
                    ],
                ));
            }
        }
        let eng_mean = eng_sum / last as f64;
        let iip_post = 0.6 * iip_pre
            + p.engagement_to_iip * eng_mean
            + p.esat_anx_to_iip * esat_anx
            + ut[t][3]
            + 0.7 * rng.normal();
        for r in &mut rows[first_row..] {
            r.2[8] = iip_post;
        }
        client_post_missing.push(drops);
    }
    let n = rows.len();
    let mut data = Data::new()
        .with_categorical(
            "therapist",
            rows.iter()
                .map(|r| format!("T{:02}", therapist[r.0] + 1))
                .collect(),
        )?
        .with_categorical(
            "client",
            rows.iter().map(|r| format!("C{:04}", r.0 + 1)).collect(),
        )?
        .with_numeric("session", rows.iter().map(|r| r.1 as f64).collect())?;
    // Items: client-level instruments (ECR, IIP) once per client, repeated on its rows;
    // session-level ones (CATS, TDS) per row.
    let client_level = |prefix: &str| matches!(prefix, "ecr" | "iip_pre" | "iip_post");
    let first_of: Vec<bool> = (0..n)
        .map(|i| i == 0 || rows[i].0 != rows[i - 1].0)
        .collect();
    let mut li = 0;
    for (prefix, subs, every, lo, hi) in INSTRUMENTS {
        for (sub, k) in subs.iter() {
            let lat: Vec<f64> = rows.iter().map(|r| r.2[li]).collect();
            li += 1;
            let sd = if client_level(prefix) {
                let v: Vec<f64> = lat
                    .iter()
                    .zip(&first_of)
                    .filter(|(_, f)| **f)
                    .map(|(x, _)| *x)
                    .collect();
                super::latent_sd(&v)
            } else {
                super::latent_sd(&lat)
            };
            for j in 1..=*k {
                let reversed = *every > 0 && j % every == 0;
                let mid = (*lo + *hi) as f64 / 2.0;
                let spread = (*hi - *lo) as f64 / 4.0;
                let mut col: Vec<Option<f64>> = Vec::with_capacity(n);
                for i in 0..n {
                    if client_level(prefix) && !first_of[i] {
                        let prev = col[i - 1];
                        col.push(prev);
                        continue;
                    }
                    let z = 0.7 * lat[i] / sd + 0.714 * rng.normal();
                    let x = ((mid + spread * z).round() as i64).clamp(*lo, *hi);
                    let x = if reversed { lo + hi - x } else { x };
                    let dropped_post = *prefix == "iip_post" && client_post_missing[rows[i].0];
                    let missing = dropped_post || rng.uniform() < p.missing_item_rate;
                    col.push((!missing).then_some(x as f64));
                }
                data.add_column(&item_name(prefix, sub, j), Column::Numeric(col.into()))?;
            }
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{InvalidResponses, score};

    #[test]
    fn the_study_shape_with_whole_responses_in_range() {
        let d = simulate_sessions(&SessionParams::default()).unwrap();
        assert_eq!(d.factor("client").unwrap().levels().len(), 330);
        assert_eq!(d.factor("therapist").unwrap().levels().len(), 44);
        let per_client = d.nrows() as f64 / 330.0;
        assert!((9.0..13.0).contains(&per_client), "{per_client}");
        for key in super::super::example_keys() {
            // Every response is a whole number in range (score() checks both) and not −0.
            score(&d, &key, InvalidResponses::Error).unwrap();
            for item in &key.items {
                assert!(
                    d.numeric(item)
                        .unwrap()
                        .iter()
                        .flatten()
                        .all(|x| x.to_bits() != (-0.0f64).to_bits())
                );
            }
        }
        // Client-level items are constant within a client.
        let c = d.factor("client").unwrap().codes().to_vec();
        let e = d.numeric("ecr_anx_1").unwrap();
        assert!((1..d.nrows()).all(|i| c[i] != c[i - 1] || e.get(i) == e.get(i - 1)));
        // Same seed, same data.
        assert_eq!(simulate_sessions(&SessionParams::default()).unwrap(), d);
        let mut q = SessionParams {
            icc: 1.0,
            ..SessionParams::default()
        };
        assert!(simulate_sessions(&q).is_err());
        q.icc = 0.1;
        q.interaction = f64::NAN;
        assert!(simulate_sessions(&q).is_err());
    }
}
