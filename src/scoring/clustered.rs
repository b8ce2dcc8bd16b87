//! Reliability on nested data: an instrument answered once per client is analysed on one row
//! per client, and the intervals of α and ω for an instrument repeated over sessions come from a
//! cluster bootstrap (whole clients resampled; percentile and BCa), since Feldt's and
//! Duhachek's intervals treat every row as an independent respondent.

use super::key::ScaleKey;
use super::reliability::{MissingItems, Reliability, alpha_of, cov_matrix, omega_of};
use crate::data::{Column, Data, Factor, ModelUnit};
use crate::error::{Error, Result};
use crate::mediation::{BootEffect, BootstrapOptions, Resampling};
use crate::rng::Rng;

/// Rows nested in units the row-level intervals ignore.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct NestedRows {
    /// The rows' level (`session`).
    pub rows_level: String,
    /// The level they are nested in (`client`).
    pub level: String,
    /// Its units (147 clients).
    pub units: usize,
    /// The rows (1,032 session rows).
    pub rows: usize,
}

impl std::fmt::Display for NestedRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the {} {} rows are nested in {} {} units",
            self.rows, self.rows_level, self.units, self.level
        )
    }
}

/// Cluster-bootstrap intervals of α and ω total ([`reliability_clustered`]).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ClusterBootstrap {
    /// The column whose units were resampled (`client`).
    pub cluster: String,
    /// Its units in the rows analysed.
    pub clusters: usize,
    /// Resamples drawn.
    pub replicates: usize,
    /// Master seed.
    pub seed: u64,
    /// Confidence level.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub level: f64,
    /// α: bootstrap SE, percentile and BCa intervals.
    pub alpha: BootEffect,
    /// Resamples where α could not be computed (an item without variance), left out.
    pub alpha_failed: usize,
    /// ω total, when it is estimated on the data.
    pub omega_total: Option<BootEffect>,
    /// Resamples where the one-factor solution was improper, left out of ω's interval.
    pub omega_failed: usize,
}

impl std::fmt::Display for ClusterBootstrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = (self.level * 100.0).round();
        let one = |e: &BootEffect| {
            format!(
                "percentile {pct}% [{:.4}, {:.4}], BCa {}",
                e.percentile[0],
                e.percentile[1],
                e.bca
                    .map_or("—".into(), |b| format!("[{:.4}, {:.4}]", b[0], b[1]))
            )
        };
        write!(
            f,
            "cluster bootstrap over {} {} units ({} resamples, seed {}): α {}",
            self.clusters,
            self.cluster,
            self.replicates,
            self.seed,
            one(&self.alpha)
        )?;
        if let Some(o) = &self.omega_total {
            write!(f, "; ω total {}", one(o))?;
            if self.omega_failed > 0 {
                write!(
                    f,
                    " ({} resamples with an improper one-factor solution left out)",
                    self.omega_failed
                )?;
            }
        }
        Ok(())
    }
}

/// A subscale's item columns at the level they were answered.
pub(crate) struct AtLevel {
    pub(crate) cols: Vec<Vec<Option<f64>>>,
    pub(crate) unit: Option<ModelUnit>,
    pub(crate) nested: Option<NestedRows>,
    /// The row (position in the data) each of `cols`' rows stands for.
    pub(crate) rows: Vec<usize>,
    /// When collapsed: the unit (position in `cols`) of each data row.
    pub(crate) unit_of_row: Option<Vec<u32>>,
}

/// With declared levels: items all constant within the units of an id level become one row per
/// unit (each item's non-missing value in the unit); items that vary within the innermost units
/// stay on the rows, which are then marked nested.
pub(crate) fn at_level(
    data: &Data,
    items: &[String],
    cols: Vec<Vec<Option<f64>>>,
) -> Result<AtLevel> {
    // The rows as they are (no levels, row-level items, or one row per unit already).
    let as_is = |cols, nested| AtLevel {
        cols,
        unit: None,
        nested,
        rows: (0..data.nrows()).collect(),
        unit_of_row: None,
    };
    let Some(l) = data.levels() else {
        return Ok(as_is(cols, None));
    };
    let g = data.groups_for(l)?;
    let rows_level = l.ids().len();
    let mut depth = 0;
    for item in items {
        depth = depth.max(data.level_with(l, &g, item)?.depth);
    }
    let n = data.nrows();
    if depth == rows_level {
        let (_, units) = &g.of_row[rows_level - 1];
        let nested = (*units < n).then(|| NestedRows {
            rows_level: l.name(rows_level).to_string(),
            level: l.ids()[rows_level - 1].clone(),
            units: *units,
            rows: n,
        });
        return Ok(as_is(cols, nested));
    }
    let (of_row, units) = &g.of_row[depth];
    if *units == n {
        return Ok(as_is(cols, None));
    }
    let mut first = vec![usize::MAX; *units];
    for (r, &k) in of_row.iter().enumerate() {
        if first[k as usize] == usize::MAX {
            first[k as usize] = r;
        }
    }
    let collapsed = cols
        .iter()
        .map(|c| {
            let mut v: Vec<Option<f64>> = vec![None; *units];
            for (r, &k) in of_row.iter().enumerate() {
                if v[k as usize].is_none() {
                    v[k as usize] = c[r];
                }
            }
            v
        })
        .collect();
    Ok(AtLevel {
        cols: collapsed,
        unit: Some(ModelUnit {
            level: l.ids()[depth].clone(),
            units: *units,
            from_rows: n,
            from_level: l.name(rows_level).to_string(),
        }),
        nested: None,
        rows: first,
        unit_of_row: Some(of_row.clone()),
    })
}

/// α and ω total (if estimable) of one resample.
type AlphaOmega = (f64, Option<f64>);

/// α and ω total of item columns (ω `None` when the one-factor solution is improper).
fn alpha_omega(
    cols: &[Vec<Option<f64>>],
    items: &[String],
    missing: MissingItems,
) -> Option<(f64, Option<f64>)> {
    let (c, _, n) = cov_matrix(cols, missing);
    if n < 2 || (0..c.nrows()).any(|i| c[(i, i)].is_nan() || c[(i, i)] <= 0.0) {
        return None;
    }
    let a = alpha_of(&c);
    // ω to 1e-10 per resample: far below the bootstrap's own error.
    a.is_finite()
        .then(|| (a, omega_of(&c, n, items, 1e-10).ok()))
}

/// Reliability of every subscale of `key` with cluster-bootstrap intervals for α and ω total:
/// whole units of the `cluster` column (the client) are resampled with replacement, so the
/// intervals account for several rows per client; percentile and BCa (the acceleration from
/// leaving one cluster out at a time). Replicate i uses `Rng::stream(options.seed, i)`, so
/// the intervals are identical for any thread count. With declared levels an instrument
/// answered once per client is analysed on one row per client, as by [`super::reliability`].
///
/// The result's [`Reliability::cluster_bootstrap`] holds the intervals (ω's absent when ω
/// cannot be estimated on the data).
///
/// ```
/// use securebase::scoring::{reliability_clustered, ScaleKey, Subscale, MissingItems};
/// use securebase::mediation::BootstrapOptions;
/// use securebase::Data;
/// // Three sessions of each of 8 clients, 3 items.
/// let client: Vec<String> = (0..24).map(|r| format!("c{}", r / 3)).collect();
/// let item = |j: usize| -> Vec<f64> {
///     (0..24).map(|r| (((r / 3) * 7 + r % 3 + j * (r % 2)) % 5 + 1) as f64).collect()
/// };
/// let data = Data::new()
///     .with_categorical("client", client)?
///     .with_numeric("i1", item(0))?
///     .with_numeric("i2", item(1))?
///     .with_numeric("i3", item(2))?;
/// let key = ScaleKey::new("demo", 1, 5).with_subscale(Subscale::mean("s", &["i1", "i2", "i3"]));
/// let rel = reliability_clustered(&data, &key, MissingItems::CompleteCases, "client",
///     &BootstrapOptions::new(200, 2024))?;
/// let boot = rel[0].cluster_bootstrap.as_ref().unwrap();
/// assert_eq!(boot.clusters, 8);
/// assert!(boot.alpha.percentile[0] < rel[0].alpha && rel[0].alpha < boot.alpha.percentile[1]);
/// println!("{boot}");
/// # Ok::<(), securebase::Error>(())
/// ```
///
/// # Errors
/// The errors of [`super::reliability`]; [`Error::UnknownColumn`] for `cluster`;
/// [`Error::Argument`] for fewer than 2 replicates, a level outside (0, 1), fewer than 3
/// clusters, or a cluster column that varies within the units of a collapsed instrument.
pub fn reliability_clustered(
    data: &Data,
    key: &ScaleKey,
    missing: MissingItems,
    cluster: &str,
    options: &BootstrapOptions,
) -> Result<Vec<Reliability>> {
    if options.replicates < 2 {
        return Err(Error::Argument {
            name: "replicates".into(),
            message: format!(
                "need at least 2 bootstrap resamples, got {}",
                options.replicates
            ),
        });
    }
    crate::stats::check_level(options.level)?;
    crate::limits::check_count(
        "replicates",
        options.replicates,
        crate::limits::MAX_REPLICATES,
        16,
    )?;
    let mut out = super::reliability::reliability_at(data, key, missing, options.level)?;
    let codes = match data.column(cluster)? {
        Column::Categorical(f) => f.codes().to_vec(),
        Column::Numeric(v) => Factor::from_numbers(v).codes().to_vec(),
    };
    for ((rel, at), s) in out.iter_mut().zip(&key.subscales) {
        // The cluster of each analysed row; a row without one would be in the estimate but
        // never in a resample, so it is an error.
        let mut by: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
        for (i, &r) in at.rows.iter().enumerate() {
            let k = codes[r].ok_or_else(|| Error::InvalidValue {
                column: cluster.to_string(),
                row: data.row_id(r),
                value: "NA".into(),
                reason: "a missing cluster: every row needs one for the cluster bootstrap".into(),
            })?;
            by.entry(k).or_default().push(i);
        }
        if let (Some(u), Some(units)) = (&at.unit, &at.unit_of_row)
            && let Some(r) =
                (0..data.nrows()).find(|&r| codes[r] != codes[at.rows[units[r] as usize]])
        {
            return Err(Error::Argument {
                name: "cluster".into(),
                message: format!(
                    "subscale '{}' is answered once per {} but '{}' varies within a {} (data row {}): resample {}s or a level above",
                    s.name,
                    u.level,
                    crate::error::clip(cluster),
                    u.level,
                    data.row_id(r),
                    u.level
                ),
            });
        }
        let groups: Vec<Vec<usize>> = by.into_values().collect();
        let m = groups.len();
        if m < 3 {
            return Err(Error::Argument {
                name: "cluster".into(),
                message: format!(
                    "subscale '{}': {m} clusters of '{}'; a cluster bootstrap needs at least 3",
                    s.name,
                    crate::error::clip(cluster)
                ),
            });
        }
        let take = |rows: &[usize]| -> Vec<Vec<Option<f64>>> {
            at.cols
                .iter()
                .map(|col| rows.iter().map(|&r| col[r]).collect())
                .collect()
        };
        let reps: Vec<Option<(f64, Option<f64>)>> = crate::progress::map(
            options.replicates,
            "reliability cluster bootstrap",
            "resamples",
            |i| {
                let mut rng = Rng::stream(options.seed, i as u64);
                let rows: Vec<usize> = (0..m)
                    .flat_map(|_| groups[rng.index(m)].iter().copied())
                    .collect();
                alpha_omega(&take(&rows), &s.items, missing)
            },
        );
        let jack: Vec<Option<(f64, Option<f64>)>> =
            crate::progress::map(m, "jackknife (BCa)", "clusters", |leave| {
                let rows: Vec<usize> = groups
                    .iter()
                    .enumerate()
                    .filter(|(g, _)| *g != leave)
                    .flat_map(|(_, v)| v.iter().copied())
                    .collect();
                alpha_omega(&take(&rows), &s.items, missing)
            });
        let mut opts = options.clone();
        opts.resampling = Resampling::Cluster;
        let summarize = |estimate: f64, pick: &dyn Fn(&AlphaOmega) -> Option<f64>| {
            let r: Vec<Option<Vec<f64>>> = reps
                .iter()
                .map(|x| x.as_ref().and_then(pick).map(|v| vec![v]))
                .collect();
            let j: Vec<Option<Vec<f64>>> = jack
                .iter()
                .map(|x| x.as_ref().and_then(pick).map(|v| vec![v]))
                .collect();
            crate::mediation::summarize_draws(&["".to_string()], &[estimate], &r, &j, &opts)
                .map(|b| (b.effects.into_iter().next(), b.failed))
        };
        let (alpha, alpha_failed) = summarize(rel.alpha, &|x| Some(x.0))?;
        let alpha = alpha.ok_or_else(|| Error::Numerical("no α replicates".into()))?;
        let (omega_total, omega_failed) = match rel.omega_total {
            Some(o) => match summarize(o, &|x| x.1) {
                Ok((e, failed)) => (e, failed),
                Err(_) => (None, options.replicates),
            },
            None => (None, 0),
        };
        let named = |mut e: BootEffect, name: &str| {
            e.name = name.into();
            e
        };
        rel.cluster_bootstrap = Some(ClusterBootstrap {
            cluster: cluster.to_string(),
            clusters: m,
            replicates: options.replicates,
            seed: options.seed,
            level: options.level,
            alpha: named(alpha, "alpha"),
            alpha_failed,
            omega_total: omega_total.map(|e| named(e, "omega_total")),
            omega_failed,
        });
    }
    Ok(out.into_iter().map(|(r, _)| r).collect())
}
