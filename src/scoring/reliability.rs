//! Reliability of a subscale: Cronbach's α (raw and standardized) with Feldt (1965) and
//! Duhachek & Iacobucci (2004) intervals, item statistics, and McDonald's ω total from a
//! one-factor model, on complete cases or pairwise-complete covariances (stated on the result).
//!
//! With item covariance matrix C (k × k): α = k/(k−1) · (1 − tr C / 1'C1); standardized α uses
//! the correlation matrix. Feldt: (1 − α)/(1 − α̂) ~ F(n−1, (n−1)(k−1)). Duhachek: α̂ ± z·ASE with
//! ASE² = Q/n, Q = 2k²/((k−1)²(1'C1)³) · [1'C1 (tr C² + (tr C)²) − 2 tr C · 1'C²1].
//! ω total = 1 − Σ(1 − h²ᵢ)/1'R1 with communalities h² of the one-factor unweighted least
//! squares (minres) solution, found by principal-axis iteration to convergence. When that
//! solution is improper — the iteration does not converge, or a communality exceeds 1 (an
//! ultra-Heywood case, common when items barely correlate) — ω is not reported and
//! [`Reliability::omega_note`] says why (R's `psych` prints a warning and an ω that can exceed 1).

use super::key::ScaleKey;
use super::score::{InvalidResponses, keyed_items};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::stats::normal_quantile;
use nalgebra::{DMatrix, SymmetricEigen};

/// How missing responses enter the covariance matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum MissingItems {
    /// Only respondents who answered every item of the subscale.
    CompleteCases,
    /// Each covariance from the respondents who answered both items (psych's default).
    Pairwise,
}

/// Statistics of one item within its subscale (after reverse keying).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ItemStats {
    /// Item column.
    pub item: String,
    /// Mean response.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub mean: f64,
    /// SD of the responses.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub sd: f64,
    /// Corrected item–total correlation (with the sum of the other items).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub r_drop: f64,
    /// α of the subscale without this item.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub alpha_if_deleted: f64,
}

/// Reliability of one subscale.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Reliability {
    /// Subscale.
    pub subscale: String,
    /// Number of items.
    pub n_items: usize,
    /// Respondents with every item answered.
    pub n_complete: usize,
    /// How missing responses were handled.
    pub missing: MissingItems,
    /// Cronbach's α from covariances.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub alpha: f64,
    /// Standardized α (from correlations).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub std_alpha: f64,
    /// Feldt 95% interval (n = complete cases).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub feldt: [f64; 2],
    /// Asymptotic standard error of α (Duhachek & Iacobucci).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub ase: f64,
    /// Duhachek 95% interval, α ± 1.96 ASE.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub duhachek: [f64; 2],
    /// McDonald's ω total (one-factor model); `None` when the one-factor solution is improper
    /// or cannot be estimated ([`Reliability::omega_note`] says why).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub omega_total: Option<f64>,
    /// Why ω total is missing, if it is.
    pub omega_note: Option<String>,
    /// Per item.
    pub items: Vec<ItemStats>,
    /// With declared levels, an instrument answered once per client: the one row per client
    /// the statistics are over (not the session rows its answers repeat on).
    #[cfg_attr(feature = "serde", serde(default))]
    pub unit: Option<crate::data::ModelUnit>,
    /// With declared levels, an instrument repeated over sessions: the nesting that
    /// [`Reliability::feldt`] and [`Reliability::duhachek`] ignore (they treat every row as an
    /// independent respondent and are too narrow); [`super::reliability_clustered`] gives
    /// intervals that account for it.
    #[cfg_attr(feature = "serde", serde(default))]
    pub nested: Option<super::NestedRows>,
    /// Cluster-bootstrap intervals of α and ω ([`super::reliability_clustered`]).
    #[cfg_attr(feature = "serde", serde(default))]
    pub cluster_bootstrap: Option<super::ClusterBootstrap>,
}

pub(super) fn cov_matrix(
    cols: &[Vec<Option<f64>>],
    missing: MissingItems,
) -> (DMatrix<f64>, Vec<f64>, usize) {
    let k = cols.len();
    let n = cols[0].len();
    let complete: Vec<usize> = (0..n)
        .filter(|&r| cols.iter().all(|c| c[r].is_some()))
        .collect();
    let rows_for = |a: usize, b: usize| -> Vec<usize> {
        match missing {
            MissingItems::CompleteCases => complete.clone(),
            MissingItems::Pairwise => (0..n)
                .filter(|&r| cols[a][r].is_some() && cols[b][r].is_some())
                .collect(),
        }
    };
    let mut c = DMatrix::<f64>::zeros(k, k);
    if missing == MissingItems::CompleteCases {
        // One pass over the complete rows; each sum in row order, as the pairwise path.
        let m = complete.len() as f64;
        let means: Vec<f64> = cols
            .iter()
            .map(|col| complete.iter().map(|&r| col[r].unwrap_or(0.0)).sum::<f64>() / m)
            .collect();
        let mut dev = vec![0.0; k];
        for &r in &complete {
            for (a, col) in cols.iter().enumerate() {
                dev[a] = col[r].unwrap_or(0.0) - means[a];
            }
            for a in 0..k {
                for b in 0..=a {
                    c[(a, b)] += dev[a] * dev[b];
                }
            }
        }
        for a in 0..k {
            for b in 0..=a {
                c[(a, b)] /= m - 1.0;
                c[(b, a)] = c[(a, b)];
            }
        }
        return (c, means, complete.len());
    }
    for a in 0..k {
        for b in 0..=a {
            let rows = rows_for(a, b);
            let m = rows.len() as f64;
            let (ma, mb) = rows.iter().fold((0.0, 0.0), |(x, y), &r| {
                (x + cols[a][r].unwrap_or(0.0), y + cols[b][r].unwrap_or(0.0))
            });
            let (ma, mb) = (ma / m, mb / m);
            let s: f64 = rows
                .iter()
                .map(|&r| (cols[a][r].unwrap_or(0.0) - ma) * (cols[b][r].unwrap_or(0.0) - mb))
                .sum();
            c[(a, b)] = s / (m - 1.0);
            c[(b, a)] = c[(a, b)];
        }
    }
    let means = (0..k)
        .map(|a| {
            let rows: Vec<usize> = match missing {
                MissingItems::CompleteCases => complete.clone(),
                MissingItems::Pairwise => (0..n).filter(|&r| cols[a][r].is_some()).collect(),
            };
            rows.iter().map(|&r| cols[a][r].unwrap_or(0.0)).sum::<f64>() / rows.len() as f64
        })
        .collect();
    (c, means, complete.len())
}

/// The most items for which ω's one-factor solution is computed.
const MAX_OMEGA_ITEMS: usize = 500;

pub(super) fn alpha_of(c: &DMatrix<f64>) -> f64 {
    let k = c.nrows() as f64;
    k / (k - 1.0) * (1.0 - c.trace() / c.sum())
}

fn correlation(c: &DMatrix<f64>) -> DMatrix<f64> {
    let d: Vec<f64> = (0..c.nrows()).map(|i| c[(i, i)].sqrt()).collect();
    DMatrix::from_fn(c.nrows(), c.ncols(), |i, j| c[(i, j)] / (d[i] * d[j]))
}

/// Upper-tail F quantile by bisection on the exact tail.
fn f_quantile(p: f64, d1: f64, d2: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 1.0);
    while crate::stats::f_upper(hi, d1, d2) > 1.0 - p {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if crate::stats::f_upper(mid, d1, d2) > 1.0 - p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// One-factor ULS communalities by principal-axis iteration from squared multiple correlations;
/// an error names an improper or unestimable solution.
fn one_factor_communalities(
    r: &DMatrix<f64>,
    items: &[String],
    tolerance: f64,
) -> std::result::Result<Vec<f64>, String> {
    let k = r.nrows();
    let inv = r
        .clone()
        .try_inverse()
        .ok_or("the item correlation matrix is singular")?;
    if (0..k).any(|i| !(inv[(i, i)].is_finite() && inv[(i, i)] >= 1.0 - 1e-9)) {
        return Err("the item correlation matrix is singular or not positive definite".into());
    }
    let mut h2: Vec<f64> = (0..k).map(|i| 1.0 - 1.0 / inv[(i, i)]).collect();
    let mut converged = false;
    // Each iteration is an eigendecomposition (k³): at most about 2·10¹⁰ operations in all.
    let max_iterations = (2e10 / (k as f64).powi(3)).clamp(200.0, 100_000.0) as usize;
    for _ in 0..max_iterations {
        let mut m = r.clone();
        for (i, h) in h2.iter().enumerate() {
            m[(i, i)] = *h;
        }
        let eig = SymmetricEigen::new(m);
        let (idx, &val) = eig
            .eigenvalues
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .ok_or("no eigenvalues")?;
        let v = eig.eigenvectors.column(idx);
        let next: Vec<f64> = v.iter().map(|x| x * x * val).collect();
        let change = next
            .iter()
            .zip(&h2)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        h2 = next;
        if !h2.iter().all(|h| h.is_finite()) {
            return Err("the one-factor solution is not finite".into());
        }
        if change < tolerance {
            converged = true;
            break;
        }
    }
    if let Some((i, h)) = h2
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .filter(|(_, h)| **h > 1.0 + 1e-9)
    {
        return Err(format!(
            "ultra-Heywood case: the one-factor communality of '{}' is {h:.3} (> 1), so the one-factor model does not describe these items",
            items[i]
        ));
    }
    if !converged {
        return Err("the principal-axis iteration did not converge".into());
    }
    Ok(h2)
}

/// McDonald's ω total of the covariance matrix `c` of `items` from `n` respondents, or why
/// it is not reported.
///
/// The principal-axis iteration stops when no communality changes by more than `tolerance`
/// (1e-15 for the reported ω; a bootstrap replicate needs far less).
pub(super) fn omega_of(
    c: &DMatrix<f64>,
    n: usize,
    items: &[String],
    tolerance: f64,
) -> std::result::Result<f64, String> {
    let k = c.nrows();
    if n <= k {
        return Err(format!(
            "{k} items and {n} complete respondents: the item correlation matrix is singular (rank at most {}), so the one-factor model is not identified; ω needs more respondents than items",
            n.saturating_sub(1)
        ));
    }
    if k > MAX_OMEGA_ITEMS {
        return Err(format!(
            "{k} items, more than the {MAX_OMEGA_ITEMS} for which the one-factor solution is computed"
        ));
    }
    let r = correlation(c);
    let h2 = one_factor_communalities(&r, items, tolerance)?;
    Ok(1.0 - h2.iter().map(|h| 1.0 - h).sum::<f64>() / r.sum())
}

fn reliability_from(
    name: &str,
    items: &[String],
    cols: &[Vec<Option<f64>>],
    missing: MissingItems,
    level: f64,
) -> Result<Reliability> {
    let k = cols.len();
    if k < 2 {
        return Err(Error::Model(format!(
            "subscale '{name}' has {k} item; reliability needs at least two"
        )));
    }
    let (c, means, n_complete) = cov_matrix(cols, missing);
    if n_complete < 2 && missing == MissingItems::CompleteCases {
        return Err(Error::Model(format!(
            "subscale '{name}': fewer than 2 respondents answered every item"
        )));
    }
    if (0..k).any(|i| c[(i, i)].is_nan() || c[(i, i)] <= 0.0) {
        return Err(Error::Model(format!(
            "subscale '{name}': an item has no variance in the responses used"
        )));
    }
    let alpha = alpha_of(&c);
    let r = correlation(&c);
    let std_alpha = alpha_of(&r);
    let n = n_complete as f64;
    let (d1, d2) = (n - 1.0, (n - 1.0) * (k as f64 - 1.0));
    let g = 1.0 - level;
    let feldt = [
        1.0 - (1.0 - alpha) * f_quantile(1.0 - g / 2.0, d1, d2),
        1.0 - (1.0 - alpha) * f_quantile(g / 2.0, d1, d2),
    ];
    let (kf, total, tr) = (k as f64, c.sum(), c.trace());
    let c2 = &c * &c;
    let q = 2.0 * kf * kf / ((kf - 1.0).powi(2) * total.powi(3))
        * (total * (c2.trace() + tr * tr) - 2.0 * tr * c2.sum());
    let ase = (q / n).sqrt();
    let z = normal_quantile(0.5 + level / 2.0);
    let (omega_total, omega_note) = match omega_of(&c, n_complete, items, 1e-15) {
        Ok(o) => (Some(o), None),
        Err(why) => (None, Some(format!("ω total not reported: {why}"))),
    };
    // Each item's rest from the row sums (O(k²) in all, not a (k − 1)² copy per item).
    let item_stats = (0..k)
        .map(|i| {
            let row: f64 = c.row(i).sum();
            let cii = c[(i, i)];
            let cov_rest = row - cii;
            let sub_sum = total - 2.0 * row + cii;
            let sub_trace = tr - cii;
            let km1 = kf - 1.0;
            ItemStats {
                item: items[i].clone(),
                mean: means[i],
                sd: cii.sqrt(),
                r_drop: cov_rest / (cii * sub_sum).sqrt(),
                alpha_if_deleted: if k > 2 {
                    km1 / (km1 - 1.0) * (1.0 - sub_trace / sub_sum)
                } else {
                    f64::NAN
                },
            }
        })
        .collect();
    Ok(Reliability {
        subscale: name.to_string(),
        n_items: k,
        n_complete,
        missing,
        alpha,
        std_alpha,
        feldt,
        ase,
        duhachek: [alpha - z * ase, alpha + z * ase],
        omega_total,
        omega_note,
        items: item_stats,
        unit: None,
        nested: None,
        cluster_bootstrap: None,
    })
}

/// Reliability of every subscale of `key` (95% intervals).
///
/// With declared levels ([`Data::with_levels`]) each subscale is analysed at the level its
/// items are answered: items constant within clients (an intake questionnaire repeated on
/// every session row, or stored on the first row only) give one row per client
/// ([`Reliability::unit`]); items that vary over sessions stay on the session rows and the
/// result says they are nested ([`Reliability::nested`]), since the Feldt and Duhachek
/// intervals then treat dependent rows as independent respondents; use
/// [`super::reliability_clustered`] for intervals that account for the clustering.
///
/// # Errors
/// The errors of [`super::score`]; [`Error::Model`] for a subscale with one item, no complete
/// respondents, or an item without variance.
///
/// ```
/// use securebase::scoring::{builtin, reliability, MissingItems};
/// use securebase::Data;
/// let bfi = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bfi.csv"))?;
/// let rel = reliability(&bfi, &builtin("ipip-bfi-25")?, MissingItems::Pairwise)?;
/// let agree = &rel[0];
/// // psych::alpha: raw_alpha 0.7030, std.alpha 0.7130.
/// assert!((agree.alpha - 0.703018).abs() < 1e-6 && (agree.std_alpha - 0.713029).abs() < 1e-6);
/// println!("{agree}");
/// # Ok::<(), securebase::Error>(())
/// ```
pub fn reliability(data: &Data, key: &ScaleKey, missing: MissingItems) -> Result<Vec<Reliability>> {
    Ok(reliability_at(data, key, missing, 0.95)?
        .into_iter()
        .map(|(r, _)| r)
        .collect())
}

/// [`reliability`] at a confidence level, each subscale at the level of its items, with the
/// item columns it was computed on.
pub(super) fn reliability_at(
    data: &Data,
    key: &ScaleKey,
    missing: MissingItems,
    level: f64,
) -> Result<Vec<(Reliability, super::clustered::AtLevel)>> {
    let (cols, _) = keyed_items(data, key, InvalidResponses::Error)?;
    key.subscales
        .iter()
        .zip(cols)
        .map(|(s, c)| {
            let at = super::clustered::at_level(data, &s.items, c)?;
            let mut r = reliability_from(&s.name, &s.items, &at.cols, missing, level)?;
            r.unit = at.unit.clone();
            r.nested = at.nested.clone();
            Ok((r, at))
        })
        .collect()
}

/// Percentile bootstrap interval for α of one subscale (complete cases, resampling
/// respondents), seeded; replicate i uses `Rng::stream(seed, i)`.
///
/// # Errors
/// Unknown subscale; the errors of [`reliability`]; fewer than 2 replicates.
pub fn alpha_bootstrap(
    data: &Data,
    key: &ScaleKey,
    subscale: &str,
    replicates: usize,
    seed: u64,
    level: f64,
) -> Result<[f64; 2]> {
    let idx = key
        .subscales
        .iter()
        .position(|s| s.name == subscale)
        .ok_or_else(|| Error::Argument {
            name: "subscale".into(),
            message: format!("key '{}' has no subscale '{subscale}'", key.name),
        })?;
    if replicates < 2 {
        return Err(Error::Argument {
            name: "replicates".into(),
            message: "need at least 2".into(),
        });
    }
    crate::limits::check_count("replicates", replicates, crate::limits::MAX_REPLICATES, 16)?;
    let (cols, _) = keyed_items(data, key, InvalidResponses::Error)?;
    let cols = &cols[idx];
    let complete: Vec<usize> = (0..data.nrows())
        .filter(|&r| cols.iter().all(|c| c[r].is_some()))
        .collect();
    let mut alphas: Vec<f64> =
        crate::progress::map(replicates, "reliability bootstrap", "resamples", |i| {
            let mut rng = Rng::stream(seed, i as u64);
            let rows: Vec<usize> = (0..complete.len())
                .map(|_| complete[rng.index(complete.len())])
                .collect();
            let sub: Vec<Vec<Option<f64>>> = cols
                .iter()
                .map(|c| rows.iter().map(|&r| c[r]).collect())
                .collect();
            let (c, _, _) = cov_matrix(&sub, MissingItems::CompleteCases);
            let a = alpha_of(&c);
            a.is_finite().then_some(a)
        })
        .into_iter()
        .flatten()
        .collect();
    alphas.sort_by(f64::total_cmp);
    let q = crate::probe::quantile7(&alphas, &[(1.0 - level) / 2.0, 1.0 - (1.0 - level) / 2.0]);
    Ok([q[0], q[1]])
}

impl std::fmt::Display for Reliability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let omega = self.omega_total.map_or("—".into(), |o| format!("{o:.4}"));
        if self.nested.is_some() {
            // Feldt's and Duhachek's intervals would treat dependent rows as independent.
            writeln!(
                f,
                "{}: {} items, α = {:.4} (standardized {:.4}), ω total = {omega}, {:?}, n complete rows = {}",
                self.subscale,
                self.n_items,
                self.alpha,
                self.std_alpha,
                self.missing,
                self.n_complete
            )?;
        } else {
            writeln!(
                f,
                "{}: {} items, α = {:.4} (standardized {:.4}; Feldt 95% [{:.4}, {:.4}]; Duhachek [{:.4}, {:.4}]), ω total = {omega}, {:?}, n complete = {}",
                self.subscale,
                self.n_items,
                self.alpha,
                self.std_alpha,
                self.feldt[0],
                self.feldt[1],
                self.duhachek[0],
                self.duhachek[1],
                self.missing,
                self.n_complete
            )?;
        }
        if let Some(u) = &self.unit {
            writeln!(f, "  over {u}")?;
        }
        match (&self.nested, &self.cluster_bootstrap) {
            (_, Some(b)) => writeln!(f, "  {b}")?,
            (Some(n), None) => writeln!(
                f,
                "  {n}: no interval shown, as Feldt's and Duhachek's treat the rows as independent respondents and are too narrow; a cluster bootstrap over {} units gives intervals that account for it",
                n.level
            )?,
            (None, None) => {}
        }
        if let Some(note) = &self.omega_note {
            writeln!(f, "  {note}")?;
        }
        writeln!(
            f,
            "  {:<12} {:>8} {:>8} {:>8} {:>10}",
            "item", "mean", "sd", "r.drop", "α if del."
        )?;
        for i in &self.items {
            writeln!(
                f,
                "  {:<12} {:>8.3} {:>8.3} {:>8.3} {:>10.4}",
                i.item, i.mean, i.sd, i.r_drop, i.alpha_if_deleted
            )?;
        }
        Ok(())
    }
}
