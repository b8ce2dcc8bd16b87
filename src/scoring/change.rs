//! Reliable and clinically significant change (Jacobson & Truax 1991).
//!
//! SE of a difference: S_diff = SD·√(2(1 − r)); RCI = (post − pre)/S_diff, reliable when
//! |RCI| > 1.96. Cut-offs for a measure where higher is worse: a = M_dys − 2 SD_dys,
//! b = M_func + 2 SD_func, c = (SD_func·M_dys + SD_dys·M_func)/(SD_func + SD_dys) (mirrored
//! when higher is better). A client is *recovered* after a reliable improvement that ends past
//! the cut-off, *improved* after a reliable improvement that does not, *deteriorated* after a
//! reliable worsening, and *unchanged* otherwise.

use super::key::Norms;
use crate::error::{Error, Result};

/// A client's change category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ChangeCategory {
    /// Reliable improvement ending past the cut-off.
    Recovered,
    /// Reliable improvement, not past the cut-off.
    Improved,
    /// No reliable change.
    Unchanged,
    /// Reliable worsening.
    Deteriorated,
}

/// Which cut-off defines the end state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Cutoff {
    /// Two SD beyond the dysfunctional mean.
    A,
    /// Within two SD of the functional mean.
    B,
    /// Between the two populations (needs both).
    C,
}

/// The three cut-offs (where the norms allow them).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Cutoffs {
    /// Cut-off a.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub a: Option<f64>,
    /// Cut-off b.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub b: Option<f64>,
    /// Cut-off c.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub c: Option<f64>,
}

/// Reliable change for a set of clients.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ReliableChange {
    /// Standard error of a difference.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub se_diff: f64,
    /// The cut-offs.
    pub cutoffs: Cutoffs,
    /// The cut-off used.
    pub cutoff: Cutoff,
    /// RCI per client (`None` if pre or post is missing).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub rci: Vec<Option<f64>>,
    /// Category per client.
    pub category: Vec<Option<ChangeCategory>>,
}

/// The cut-offs a, b, c from norms.
pub fn cutoffs(n: &Norms) -> Cutoffs {
    let s = if n.higher_is_worse { 1.0 } else { -1.0 };
    let a = match (n.dysfunctional_mean, n.dysfunctional_sd) {
        (Some(m), Some(sd)) => Some(m - s * 2.0 * sd),
        _ => None,
    };
    let b = match (n.functional_mean, n.functional_sd) {
        (Some(m), Some(sd)) => Some(m + s * 2.0 * sd),
        _ => None,
    };
    let c = match (
        n.functional_mean,
        n.functional_sd,
        n.dysfunctional_mean,
        n.dysfunctional_sd,
    ) {
        (Some(mf), Some(sf), Some(md), Some(sd)) => Some((sf * md + sd * mf) / (sf + sd)),
        _ => None,
    };
    Cutoffs { a, b, c }
}

/// Classify each client's change from `pre` to `post`.
///
/// # Errors
/// [`Error::Argument`] for vectors of different lengths or a cut-off the norms cannot give.
///
/// ```
/// use securebase::scoring::change::{reliable_change, ChangeCategory, Cutoff};
/// use securebase::scoring::Norms;
/// // Jacobson & Truax: SD 7.5, r = .88 → S_diff = 3.674; cut-off c between a clinical
/// // (M 28, SD 7.5) and a functional population (M 12, SD 6) = 19.11.
/// let norms = Norms::new(28.0, 7.5, 0.88)
///     .functional(12.0, 6.0)
///     .dysfunctional(28.0, 7.5)
///     .higher_is_worse(true);
/// let rc = reliable_change(&[Some(30.0), Some(30.0)], &[Some(15.0), Some(28.0)], &norms, Cutoff::C)?;
/// assert!((rc.se_diff - 7.5 * (2.0f64 * 0.12).sqrt()).abs() < 1e-12);
/// assert!((rc.cutoffs.c.unwrap() - 258.0 / 13.5).abs() < 1e-12);
/// assert!((rc.rci[0].unwrap() + 15.0 / rc.se_diff).abs() < 1e-12);
/// assert_eq!(rc.category, [Some(ChangeCategory::Recovered), Some(ChangeCategory::Unchanged)]);
/// # Ok::<(), securebase::Error>(())
/// ```
pub fn reliable_change(
    pre: &[Option<f64>],
    post: &[Option<f64>],
    norms: &Norms,
    cutoff: Cutoff,
) -> Result<ReliableChange> {
    if pre.len() != post.len() {
        return Err(Error::Argument {
            name: "post".into(),
            message: format!("{} pre scores but {} post scores", pre.len(), post.len()),
        });
    }
    let cuts = cutoffs(norms);
    let cut = match cutoff {
        Cutoff::A => cuts.a,
        Cutoff::B => cuts.b,
        Cutoff::C => cuts.c,
    }
    .ok_or_else(|| Error::Argument {
        name: "cutoff".into(),
        message: format!("the norms do not define cut-off {cutoff:?}"),
    })?;
    let se_diff = norms.sd * (2.0 * (1.0 - norms.reliability)).sqrt();
    let worse = if norms.higher_is_worse { 1.0 } else { -1.0 };
    let rci: Vec<Option<f64>> = pre
        .iter()
        .zip(post)
        .map(|(a, b)| Some((b.as_ref()? - a.as_ref()?) / se_diff))
        .collect();
    let category = rci
        .iter()
        .zip(post)
        .map(|(r, p)| {
            let (r, p) = (r.as_ref()?, p.as_ref()?);
            let toward_worse = r * worse;
            Some(if toward_worse < -1.96 {
                if (p - cut) * worse < 0.0 {
                    ChangeCategory::Recovered
                } else {
                    ChangeCategory::Improved
                }
            } else if toward_worse > 1.96 {
                ChangeCategory::Deteriorated
            } else {
                ChangeCategory::Unchanged
            })
        })
        .collect();
    Ok(ReliableChange {
        se_diff,
        cutoffs: cuts,
        cutoff,
        rci,
        category,
    })
}
