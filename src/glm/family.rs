//! Families and links as R's `binomial()` and `poisson()` define them: link, inverse link,
//! dμ/dη, variance, deviance residuals and the log-likelihood behind the AIC.

use statrs::distribution::{Continuous, ContinuousCDF, Normal};
use statrs::function::gamma::ln_gamma;

/// The link function g(μ) = η.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum Link {
    /// log(μ / (1 − μ)) (binomial default).
    Logit,
    /// Φ⁻¹(μ).
    Probit,
    /// log(−log(1 − μ)).
    Cloglog,
    /// log(μ) (Poisson default).
    Log,
}

impl Link {
    /// R's name of the link.
    pub fn name(self) -> &'static str {
        match self {
            Link::Logit => "logit",
            Link::Probit => "probit",
            Link::Cloglog => "cloglog",
            Link::Log => "log",
        }
    }
}

/// The response distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum Distribution {
    /// Binomial: 0/1 responses, or successes out of trials (`cbind(successes, failures)`).
    Binomial,
    /// Poisson counts.
    Poisson,
}

/// A family with its link, as R's `binomial(link = "probit")`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Family {
    /// The distribution.
    pub distribution: Distribution,
    /// The link.
    pub link: Link,
}

const EPS: f64 = f64::EPSILON;

impl Family {
    /// `binomial()`: logit link.
    pub fn binomial() -> Family {
        Family {
            distribution: Distribution::Binomial,
            link: Link::Logit,
        }
    }

    /// `poisson()`: log link.
    pub fn poisson() -> Family {
        Family {
            distribution: Distribution::Poisson,
            link: Link::Log,
        }
    }

    /// This family with another link.
    ///
    /// # Errors
    /// [`crate::Error::Model`] for a link the family does not take here (binomial: logit,
    /// probit, cloglog; Poisson: log).
    pub fn with_link(self, link: Link) -> crate::Result<Family> {
        let ok = match self.distribution {
            Distribution::Binomial => matches!(link, Link::Logit | Link::Probit | Link::Cloglog),
            Distribution::Poisson => link == Link::Log,
        };
        if !ok {
            return Err(crate::Error::Model(format!(
                "the {} family takes the {} link{}, not '{}'",
                self.name(),
                match self.distribution {
                    Distribution::Binomial => "logit, probit or cloglog",
                    Distribution::Poisson => "log",
                },
                if self.distribution == Distribution::Binomial {
                    "s"
                } else {
                    ""
                },
                link.name()
            )));
        }
        Ok(Family { link, ..self })
    }

    /// R's name of the family.
    pub fn name(&self) -> &'static str {
        match self.distribution {
            Distribution::Binomial => "binomial",
            Distribution::Poisson => "poisson",
        }
    }

    pub(crate) fn link_fun(&self, mu: f64) -> f64 {
        match self.link {
            Link::Logit => (mu / (1.0 - mu)).ln(),
            Link::Probit => {
                // statrs' quantile is good to about 1e-9; one Newton step on Φ(x) = μ makes
                // it exact to rounding, as R's qnorm.
                let n = Normal::standard();
                let x = n.inverse_cdf(mu);
                let d = n.pdf(x);
                if d > 0.0 { x - (n.cdf(x) - mu) / d } else { x }
            }
            Link::Cloglog => (-(-mu).ln_1p()).ln(),
            Link::Log => mu.ln(),
        }
    }

    /// μ = g⁻¹(η), kept inside (0, 1) or above 0 by machine epsilon as R's families do.
    pub(crate) fn link_inv(&self, eta: f64) -> f64 {
        match self.link {
            Link::Logit => {
                if eta < -30.0 {
                    EPS
                } else if eta > 30.0 {
                    1.0 - EPS
                } else {
                    1.0 / (1.0 + (-eta).exp())
                }
            }
            Link::Probit => {
                let thresh = -Normal::standard().inverse_cdf(EPS);
                Normal::standard().cdf(eta.clamp(-thresh, thresh))
            }
            Link::Cloglog => (-(-eta.exp()).exp_m1()).clamp(EPS, 1.0 - EPS),
            Link::Log => eta.exp().max(EPS),
        }
    }

    /// dμ/dη, bounded below by machine epsilon as R's families bound it.
    pub(crate) fn mu_eta(&self, eta: f64) -> f64 {
        match self.link {
            Link::Logit => {
                if eta.abs() > 30.0 {
                    EPS
                } else {
                    let e = eta.exp();
                    e / ((1.0 + e) * (1.0 + e))
                }
            }
            Link::Probit => Normal::standard().pdf(eta).max(EPS),
            Link::Cloglog => {
                let e = eta.min(700.0);
                (e.exp() * (-e.exp()).exp()).max(EPS)
            }
            Link::Log => eta.exp().max(EPS),
        }
    }

    pub(crate) fn variance(&self, mu: f64) -> f64 {
        match self.distribution {
            Distribution::Binomial => mu * (1.0 - mu),
            Distribution::Poisson => mu,
        }
    }

    /// The unit deviance times the prior weight.
    pub(crate) fn deviance_residual(&self, y: f64, mu: f64, w: f64) -> f64 {
        let ylog = |a: f64, b: f64| if a == 0.0 { 0.0 } else { a * (a / b).ln() };
        match self.distribution {
            Distribution::Binomial => 2.0 * w * (ylog(y, mu) + ylog(1.0 - y, 1.0 - mu)),
            Distribution::Poisson => 2.0 * w * (ylog(y, mu) - (y - mu)),
        }
    }

    /// The log-likelihood of one row: for the binomial, successes `y·m` out of `m` trials
    /// (m = the prior weight); for Poisson, the count y (times its weight).
    pub(crate) fn loglik(&self, y: f64, mu: f64, w: f64) -> f64 {
        self.loglik_kernel(y, mu, w) + self.loglik_constant(y, w)
    }

    /// The part of [`Family::loglik`] that depends on μ.
    pub(crate) fn loglik_kernel(&self, y: f64, mu: f64, w: f64) -> f64 {
        match self.distribution {
            Distribution::Binomial => {
                let m = w.round();
                if m <= 0.0 {
                    return 0.0;
                }
                let k = (m * y).round();
                let a = if k > 0.0 { k * mu.ln() } else { 0.0 };
                let b = if m - k > 0.0 {
                    (m - k) * (1.0 - mu).ln()
                } else {
                    0.0
                };
                a + b
            }
            Distribution::Poisson => {
                let a = if y > 0.0 { y * mu.ln() } else { 0.0 };
                w * (a - mu)
            }
        }
    }

    /// The part of [`Family::loglik`] that does not depend on μ (binomial coefficients,
    /// −log y!).
    pub(crate) fn loglik_constant(&self, y: f64, w: f64) -> f64 {
        match self.distribution {
            Distribution::Binomial => {
                let m = w.round();
                if m <= 0.0 {
                    return 0.0;
                }
                let k = (m * y).round();
                ln_gamma(m + 1.0) - ln_gamma(k + 1.0) - ln_gamma(m - k + 1.0)
            }
            Distribution::Poisson => -w * ln_gamma(y + 1.0),
        }
    }

    /// R's starting μ.
    pub(crate) fn mu_start(&self, y: f64, w: f64) -> f64 {
        match self.distribution {
            Distribution::Binomial => (w * y + 0.5) / (w + 1.0),
            Distribution::Poisson => y + 0.1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_invert_and_differentiate() {
        let b = Family::binomial();
        for link in [Link::Logit, Link::Probit, Link::Cloglog] {
            let f = b.with_link(link).unwrap();
            for mu in [0.01, 0.3, 0.5, 0.8, 0.99] {
                let eta = f.link_fun(mu);
                assert!((f.link_inv(eta) - mu).abs() < 1e-12, "{link:?} {mu}");
                let h = 1e-6;
                let d = (f.link_inv(eta + h) - f.link_inv(eta - h)) / (2.0 * h);
                assert!((f.mu_eta(eta) - d).abs() < 1e-8, "{link:?} {mu}");
            }
        }
        let p = Family::poisson();
        assert!((p.link_inv(p.link_fun(3.5)) - 3.5).abs() < 1e-12);
        assert!(b.with_link(Link::Log).is_err());
        assert!(p.with_link(Link::Logit).is_err());
    }

    #[test]
    fn loglik_matches_closed_forms() {
        // dbinom(3, 10, 0.4, log = TRUE) and dpois(4, 2.5, log = TRUE).
        let b = Family::binomial();
        let want = (120.0_f64).ln() + 3.0 * 0.4_f64.ln() + 7.0 * 0.6_f64.ln();
        assert!((b.loglik(0.3, 0.4, 10.0) - want).abs() < 1e-12);
        let p = Family::poisson();
        let want = 4.0 * 2.5_f64.ln() - 2.5 - (24.0_f64).ln();
        assert!((p.loglik(4.0, 2.5, 1.0) - want).abs() < 1e-12);
    }
}
