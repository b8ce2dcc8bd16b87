//! Power by simulation for the session-level design: sessions in clients in therapists, with
//! drop-out, for a cross-level interaction (a client-level moderator of growth) or a growth
//! effect.
//!
//! Each replicate draws a study — `therapists` × `clients_per_therapist` clients with
//! `sessions` planned sessions each, a share `dropout` of them stopping at a random session
//! after the second — from
//!
//! y_js = b_session·s + b_z·z_j + b_cross·z_j·s + u_t + v_j + w_j·s + e_js,
//!
//! with z_j a standard-normal client-level variable, therapist and client intercepts u, v of
//! variances that give the intraclass correlations `icc_therapist` and `icc_client` (of the
//! intercept variance to the total at session 1, residual variance 1), and client slopes w of SD
//! `slope_sd`. It fits `y ~ session * z + (session | client) + (1 | therapist)` by REML with
//! Satterthwaite df and counts p < α for the target. Replicate i draws from
//! `Rng::stream(seed, i)`, so results do not depend on the number of threads, and parts of a
//! run merge exactly ([`crate::simulate::power::PowerResult::merge`]).

use super::power::{Outcome, PowerResult, run_replicates};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::lmm::{Criterion, Ddf, FitOptions, LmmSpec};
use crate::rng::Rng;

/// The coefficient whose power is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum SessionTarget {
    /// The cross-level interaction `session:z` (a client-level moderator of growth).
    CrossLevel,
    /// The average growth per session.
    Growth,
    /// The client-level effect of z (at session 0).
    ClientLevel,
}

/// A session-level design to simulate; also readable from JSON (`securebase-power/1`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
#[non_exhaustive]
pub struct SessionPowerDesign {
    /// Format tag when read from a file (`securebase-power/1`).
    pub format: String,
    /// Therapists.
    pub therapists: usize,
    /// Clients per therapist.
    pub clients_per_therapist: usize,
    /// Planned sessions per client.
    pub sessions: usize,
    /// Share of clients who drop out (at a random session after the second).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub dropout: f64,
    /// Intraclass correlation of the therapist intercept.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub icc_therapist: f64,
    /// Intraclass correlation of the client intercept.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub icc_client: f64,
    /// SD of the clients' growth slopes.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub slope_sd: f64,
    /// Average growth per session (residual SD 1).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub b_session: f64,
    /// Effect of the client-level variable z.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub b_z: f64,
    /// The cross-level interaction session × z.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub b_cross: f64,
    /// The coefficient tested.
    pub target: SessionTarget,
    /// Significance level.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub alpha: f64,
}

/// The format tag of power-design files.
pub const POWER_FORMAT: &str = "securebase-power/1";

impl Default for SessionPowerDesign {
    /// The reference study's shape: 44 therapists × 7.5 → 8 clients × 12 sessions, 15%
    /// drop-out, therapist ICC 0.05, client ICC 0.4, a cross-level interaction of 0.02 per
    /// session and SD of z.
    fn default() -> Self {
        SessionPowerDesign {
            format: POWER_FORMAT.into(),
            therapists: 44,
            clients_per_therapist: 8,
            sessions: 12,
            dropout: 0.15,
            icc_therapist: 0.05,
            icc_client: 0.4,
            slope_sd: 0.05,
            b_session: 0.05,
            b_z: 0.2,
            b_cross: 0.02,
            target: SessionTarget::CrossLevel,
            alpha: 0.05,
        }
    }
}

impl SessionPowerDesign {
    /// Read a design from JSON (strict: unknown fields are errors naming the closest known).
    ///
    /// # Errors
    /// [`Error::Argument`] for malformed JSON, an unknown field, a wrong format, or an
    /// impossible design ([`SessionPowerDesign::validate`]).
    #[cfg(feature = "serde")]
    pub fn from_json(text: &str) -> Result<SessionPowerDesign> {
        let d: SessionPowerDesign = crate::error::from_json_strict(text, "power design")?;
        if d.format != POWER_FORMAT {
            return Err(Error::Argument {
                name: "format".into(),
                message: format!("'{}' is not '{POWER_FORMAT}'", d.format),
            });
        }
        d.validate()?;
        Ok(d)
    }

    /// Check the design.
    ///
    /// # Errors
    /// [`Error::Argument`] naming the first impossible value.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &str, message: String| {
            Err(Error::Argument {
                name: name.into(),
                message,
            })
        };
        let clients = self.therapists.checked_mul(self.clients_per_therapist);
        match clients {
            Some(c) if self.therapists >= 2 && (6..=1_000_000).contains(&c) => {}
            _ => {
                return bad(
                    "therapists",
                    format!(
                        "{} therapists × {} clients: need at least 2 therapists and 6 clients, at most 1,000,000 clients",
                        self.therapists, self.clients_per_therapist
                    ),
                );
            }
        }
        if !(3..=200).contains(&self.sessions) {
            return bad("sessions", format!("{} is not in 3..=200", self.sessions));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(
                "dropout",
                format!("{} is not a rate in [0, 1)", self.dropout),
            );
        }
        if !(self.icc_therapist >= 0.0
            && self.icc_client >= 0.0
            && self.icc_therapist + self.icc_client < 1.0)
        {
            return bad(
                "icc_client",
                format!(
                    "the ICCs ({} and {}) must be ≥ 0 and sum below 1",
                    self.icc_therapist, self.icc_client
                ),
            );
        }
        for (name, v) in [
            ("slope_sd", self.slope_sd),
            ("b_session", self.b_session),
            ("b_z", self.b_z),
            ("b_cross", self.b_cross),
        ] {
            if !(v.is_finite() && v.abs() <= 100.0) {
                return bad(
                    name,
                    format!("{v} is not a finite effect of at most 100 in size"),
                );
            }
        }
        if self.slope_sd < 0.0 {
            return bad("slope_sd", "an SD cannot be negative".into());
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return bad("alpha", format!("{} is not in (0, 1)", self.alpha));
        }
        Ok(())
    }

    /// Simulate replicate `index` of a run seeded with `seed`: columns `therapist`, `client`,
    /// `session`, `z`, `y`.
    ///
    /// # Errors
    /// As [`SessionPowerDesign::validate`].
    pub fn simulate(&self, seed: u64, index: u64) -> Result<Data> {
        self.validate()?;
        let mut rng = Rng::stream(seed, index);
        let resid = 1.0 - self.icc_therapist - self.icc_client;
        let (sd_t, sd_c) = (
            (self.icc_therapist / resid).sqrt(),
            (self.icc_client / resid).sqrt(),
        );
        let ut: Vec<f64> = (0..self.therapists).map(|_| sd_t * rng.normal()).collect();
        let (mut t, mut c, mut s, mut z, mut y) = (vec![], vec![], vec![], vec![], vec![]);
        for j in 0..self.therapists * self.clients_per_therapist {
            let tj = j / self.clients_per_therapist;
            let zj = rng.normal();
            let (vj, wj) = (sd_c * rng.normal(), self.slope_sd * rng.normal());
            let last = if rng.uniform() < self.dropout {
                2 + rng.index(self.sessions - 2)
            } else {
                self.sessions
            };
            for sess in 1..=last {
                let sf = sess as f64;
                t.push(tj as f64);
                c.push(j as f64);
                s.push(sf);
                z.push(zj);
                y.push(
                    self.b_session * sf
                        + self.b_z * zj
                        + self.b_cross * zj * sf
                        + ut[tj]
                        + vj
                        + wj * sf
                        + rng.normal(),
                );
            }
        }
        Data::new()
            .with_numeric("therapist", t)?
            .with_numeric("client", c)?
            .with_numeric("session", s)?
            .with_numeric("z", z)?
            .with_numeric("y", y)
    }

    fn term(&self) -> &'static str {
        match self.target {
            SessionTarget::CrossLevel => "session:z",
            SessionTarget::Growth => "session",
            SessionTarget::ClientLevel => "z",
        }
    }
}

/// The model every replicate fits.
pub const SESSION_POWER_MODEL: &str = "y ~ session * z + (session | client) + (1 | therapist)";

/// Power of replicates `start .. start + count` of a run seeded with `seed` (a shard of a
/// larger run; [`PowerResult::merge`] combines shards exactly).
///
/// # Errors
/// As [`SessionPowerDesign::validate`]; [`Error::Argument`] for no replicates.
///
/// ```
/// use securebase::simulate::session_power::{session_power, SessionPowerDesign};
/// let mut d = SessionPowerDesign::default();
/// d.therapists = 8;
/// d.clients_per_therapist = 4;
/// let whole = session_power(&d, 0, 6, 5)?;
/// // Shards of one run merge to exactly the whole.
/// let parts = session_power(&d, 0, 2, 5)?.merge(&session_power(&d, 2, 4, 5)?)?;
/// assert_eq!(parts, whole);
/// # Ok::<(), securebase::Error>(())
/// ```
pub fn session_power(
    design: &SessionPowerDesign,
    start: usize,
    count: usize,
    seed: u64,
) -> Result<PowerResult> {
    design.validate()?;
    let term = design.term();
    run_replicates(start, count, seed, |i| {
        let fitted = (|| {
            let data = design.simulate(seed, i).ok()?;
            let mut options = FitOptions::with_ddf(Ddf::Satterthwaite);
            // Restarts would multiply the cost of a run; a singular fit is counted as such.
            options.check_optimum = false;
            let fit = LmmSpec::new(&data, SESSION_POWER_MODEL)
                .ok()?
                .fit_with(Criterion::Reml, &options)
                .ok()?;
            let c = fit.coefficient(term)?;
            c.p.is_finite().then_some(Outcome::Fit {
                significant: c.p < design.alpha,
                singular: fit.is_singular(),
            })
        })();
        fitted.unwrap_or(Outcome::Failed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "serde")]
    #[test]
    fn designs_validate_and_read_from_json() {
        let d = SessionPowerDesign::default();
        assert!(d.validate().is_ok());
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(SessionPowerDesign::from_json(&json).unwrap(), d);
        let e = SessionPowerDesign::from_json(&json.replace("\"dropout\"", "\"drop_out\""))
            .unwrap_err();
        assert!(e.to_string().contains("did you mean 'dropout'?"), "{e}");
        let mut bad = d.clone();
        bad.icc_client = 0.99;
        assert!(bad.validate().is_err());
        bad = d.clone();
        bad.b_cross = f64::NAN;
        assert!(bad.validate().is_err());
        bad = d;
        bad.therapists = usize::MAX;
        assert!(bad.validate().is_err());
    }

    #[test]
    fn simulated_studies_have_the_design() {
        let mut d = SessionPowerDesign {
            dropout: 0.0,
            ..SessionPowerDesign::default()
        };
        let data = d.simulate(1, 0).unwrap();
        assert_eq!(data.nrows(), 44 * 8 * 12);
        d.dropout = 0.5;
        let fewer = d.simulate(1, 0).unwrap().nrows();
        assert!(fewer < 44 * 8 * 12 * 9 / 10, "{fewer}");
    }
}
