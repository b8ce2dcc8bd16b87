//! Group-wise values on the rows: a group's mean, SD, first or last value, and group-mean
//! centring ([`Data::by_group`]); standardization at a variable's own level
//! ([`Data::standardize`]). These are dplyr's `group_by() |> mutate()` idioms, the ways out
//! when a session-level variable is wanted in a client-level model.

use super::Data;
use super::keys::{KeySpace, RowKeys};
use crate::error::{Error, Result};

/// A group-wise statistic broadcast to every row of the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ByGroup {
    /// The group's mean over its non-missing values (`mean_by(x, client)`).
    Mean,
    /// The row's value minus its group's mean (`center(x, client)`: group-mean centring).
    Center,
    /// The group's SD (n − 1) over its non-missing values; missing with fewer than two.
    Sd,
    /// The group's first non-missing value, in time order when the data declare a time
    /// column and in row order otherwise.
    First,
    /// The group's last non-missing value, in the same order.
    Last,
}

impl ByGroup {
    /// The function's name in plan expressions (`mean_by`, `center`, `sd_by`, `first_by`,
    /// `last_by`).
    pub fn name(self) -> &'static str {
        match self {
            ByGroup::Mean => "mean_by",
            ByGroup::Center => "center",
            ByGroup::Sd => "sd_by",
            ByGroup::First => "first_by",
            ByGroup::Last => "last_by",
        }
    }

    /// The statistic of a plan function name.
    pub fn from_name(name: &str) -> Option<ByGroup> {
        [
            ByGroup::Mean,
            ByGroup::Center,
            ByGroup::Sd,
            ByGroup::First,
            ByGroup::Last,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }
}

/// Where a variable was standardized ([`Data::standardize`]).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Standardized {
    /// The z-scores, one per row (missing where the value is).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub values: Vec<Option<f64>>,
    /// The level whose units the mean and SD are over (`"client"`, or the rows' level).
    pub level: String,
    /// How many units (or rows) with a value entered the mean and SD.
    pub units: usize,
    /// The mean used.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub mean: f64,
    /// The SD used (n − 1).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub sd: f64,
}

impl Data {
    /// The group-wise statistic `f` of the numeric `column` within the groups of `group`,
    /// one value per row (rows with a missing group get a missing value).
    ///
    /// ```
    /// use securebase::Data;
    /// use securebase::data::ByGroup;
    /// let d = Data::new()
    ///     .with_categorical("client", vec!["a", "a", "b", "b"])?
    ///     .with_numeric_opt("engagement", vec![Some(2.0), Some(4.0), Some(5.0), None])?;
    /// assert_eq!(d.by_group("engagement", "client", ByGroup::Mean)?, [Some(3.0), Some(3.0), Some(5.0), Some(5.0)]);
    /// assert_eq!(d.by_group("engagement", "client", ByGroup::Center)?, [Some(-1.0), Some(1.0), Some(0.0), None]);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownColumn`]; [`Error::ColumnType`] when `column` is not numeric.
    pub fn by_group(&self, column: &str, group: &str, f: ByGroup) -> Result<Vec<Option<f64>>> {
        let x: Vec<Option<f64>> = self.numeric(column)?.iter().collect();
        // The group means are the centring module's (one definition of a cluster mean).
        let mean = || crate::center::cluster_means(self, column, group);
        if f == ByGroup::Mean {
            return mean();
        }
        if f == ByGroup::Center {
            return Ok(x
                .iter()
                .zip(mean()?)
                .map(|(v, m)| Some(v.as_ref()? - m?))
                .collect());
        }
        let (codes, k) = crate::center::cluster_codes(self, group)?;
        let stat: Vec<Option<f64>> = if f == ByGroup::Sd {
            let means = mean()?;
            let (mut ss, mut count) = (vec![0.0; k], vec![0usize; k]);
            for ((c, v), m) in codes.iter().zip(&x).zip(&means) {
                if let (Some(c), Some(v), Some(m)) = (c, v, m) {
                    ss[*c as usize] += (v - m).powi(2);
                    count[*c as usize] += 1;
                }
            }
            (0..k)
                .map(|i| (count[i] > 1).then(|| (ss[i] / (count[i] - 1) as f64).sqrt()))
                .collect()
        } else {
            // First or last non-missing value, in time order (row order without a time).
            let order = self.time_order()?;
            let mut best: Vec<Option<(f64, f64)>> = vec![None; k];
            for (r, (c, v)) in codes.iter().zip(&x).enumerate() {
                let (Some(c), Some(v)) = (c, v) else {
                    continue;
                };
                let t = order.as_ref().map_or(r as f64, |o| o[r]);
                let b = &mut best[*c as usize];
                let better = match (f, *b) {
                    (_, None) => true,
                    (ByGroup::First, Some((bt, _))) => t < bt,
                    (_, Some((bt, _))) => t >= bt,
                };
                if better {
                    *b = Some((t, *v));
                }
            }
            best.into_iter().map(|b| b.map(|p| p.1)).collect()
        };
        Ok(codes.iter().map(|c| stat[(*c)? as usize]).collect())
    }

    /// The declared time column's values (for first/last), if any.
    fn time_order(&self) -> Result<Option<Vec<f64>>> {
        let Some(t) = self.levels().and_then(|l| l.time_column()) else {
            return Ok(None);
        };
        let v = self.numeric(t)?;
        Ok(Some(v.iter().map(|x| x.unwrap_or(f64::INFINITY)).collect()))
    }

    /// z-scores of the numeric `column` standardized at its own level: with declared levels
    /// and a client-level variable, the mean and SD are over clients (one value each, as R's
    /// `scale()` on one row per client), not over session rows, where clients with more
    /// sessions would weigh more; otherwise over the rows with a value.
    ///
    /// ```
    /// use securebase::Data;
    /// use securebase::data::Levels;
    /// let d = Data::new()
    ///     .with_categorical("client", vec!["a", "a", "a", "b"])?
    ///     .with_numeric("iip_pre", vec![1.0, 1.0, 1.0, 3.0])?
    ///     .with_levels(Levels::new(&["client"]))?;
    /// let z = d.standardize("iip_pre")?;
    /// assert_eq!(z.level, "client");
    /// assert_eq!((z.mean, z.units), (2.0, 2));
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownColumn`]; [`Error::ColumnType`]; [`Error::Model`] when fewer than two
    /// units have a value or they do not vary.
    pub fn standardize(&self, column: &str) -> Result<Standardized> {
        let x: Vec<Option<f64>> = self.numeric(column)?.iter().collect();
        let (level, unit_rows): (String, Vec<usize>) = match self.levels() {
            Some(l) => {
                let v = self.level_of(column)?;
                if v.depth < l.ids().len() {
                    let id = l.ids()[v.depth].clone();
                    let mut space = KeySpace::default();
                    let g = RowKeys::build(&mut space, self, &[id.as_str()], false)?.groups();
                    // One row with a value per unit.
                    let mut seen = vec![false; g.len()];
                    let rows = (0..self.nrows())
                        .filter(|&r| {
                            let Some(gi) = g.of_row[r] else { return false };
                            if x[r].is_none() || seen[gi as usize] {
                                return false;
                            }
                            seen[gi as usize] = true;
                            true
                        })
                        .collect();
                    (id, rows)
                } else {
                    (
                        v.level,
                        (0..self.nrows()).filter(|&r| x[r].is_some()).collect(),
                    )
                }
            }
            None => (
                "row".into(),
                (0..self.nrows()).filter(|&r| x[r].is_some()).collect(),
            ),
        };
        let m = unit_rows.len();
        let mean = unit_rows.iter().map(|&r| x[r].unwrap_or(0.0)).sum::<f64>() / m as f64;
        let sd = (unit_rows
            .iter()
            .map(|&r| (x[r].unwrap_or(0.0) - mean).powi(2))
            .sum::<f64>()
            / (m as f64 - 1.0))
            .sqrt();
        if m < 2 || sd.is_nan() || sd <= 0.0 {
            return Err(Error::Model(format!(
                "standardizing '{}': {m} {level} units with a value{}; the SD needs at least two that differ",
                crate::error::clip(column),
                if m >= 2 { " that do not vary" } else { "" }
            )));
        }
        Ok(Standardized {
            values: x.iter().map(|v| v.map(|v| (v - mean) / sd)).collect(),
            level,
            units: m,
            mean,
            sd,
        })
    }
}
