//! Group-wise aggregation to one row per group (dplyr's `group_by() |> summarise()`).

use super::keys::{KeySpace, RowKeys};
use super::{Column, Data, SortKey};
use crate::error::Result;

/// A summary statistic of one column within each group.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Stat {
    /// Mean of the non-missing values (missing if there are none).
    Mean,
    /// Sample standard deviation (n − 1) of the non-missing values (missing if fewer than 2).
    Sd,
    /// Smallest non-missing value.
    Min,
    /// Largest non-missing value.
    Max,
    /// Number of non-missing values.
    Count,
    /// First non-missing value in row order (numeric or categorical).
    First,
    /// Last non-missing value in row order (numeric or categorical).
    Last,
    /// The OLS slope of the column on a time column within the group, over the rows where both
    /// are present (missing if fewer than two distinct times): a client's rate of change.
    Slope {
        /// The time column (e.g. `session`).
        time: String,
    },
    /// Number of rows in the group, missing values included (dplyr's `n()`).
    Rows,
}

/// One output column of [`Data::aggregate`]: a statistic of a column, and its name.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Agg {
    /// The input column (empty for [`Stat::Rows`]).
    pub column: String,
    /// The statistic.
    pub stat: Stat,
    /// The output column's name.
    pub name: String,
}

impl Agg {
    fn new(column: &str, stat: Stat, suffix: &str) -> Agg {
        Agg {
            column: column.to_string(),
            stat,
            name: format!("{column}_{suffix}"),
        }
    }

    /// Mean, named `{column}_mean`.
    pub fn mean(column: &str) -> Agg {
        Agg::new(column, Stat::Mean, "mean")
    }

    /// Standard deviation, named `{column}_sd`.
    pub fn sd(column: &str) -> Agg {
        Agg::new(column, Stat::Sd, "sd")
    }

    /// Minimum, named `{column}_min`.
    pub fn min(column: &str) -> Agg {
        Agg::new(column, Stat::Min, "min")
    }

    /// Maximum, named `{column}_max`.
    pub fn max(column: &str) -> Agg {
        Agg::new(column, Stat::Max, "max")
    }

    /// Count of non-missing values, named `{column}_n`.
    pub fn count(column: &str) -> Agg {
        Agg::new(column, Stat::Count, "n")
    }

    /// First non-missing value, named `{column}_first`.
    pub fn first(column: &str) -> Agg {
        Agg::new(column, Stat::First, "first")
    }

    /// Last non-missing value, named `{column}_last`.
    pub fn last(column: &str) -> Agg {
        Agg::new(column, Stat::Last, "last")
    }

    /// OLS slope on `time` within the group, named `{column}_slope`.
    pub fn slope(column: &str, time: &str) -> Agg {
        Agg::new(
            column,
            Stat::Slope {
                time: time.to_string(),
            },
            "slope",
        )
    }

    /// Rows per group, named `n`.
    pub fn rows() -> Agg {
        Agg {
            column: String::new(),
            stat: Stat::Rows,
            name: "n".into(),
        }
    }

    /// The same statistic under another output name.
    pub fn named(mut self, name: &str) -> Agg {
        self.name = name.to_string();
        self
    }
}

/// The result of [`Data::aggregate`]: one row per group, and what was skipped.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Aggregated {
    /// The key columns, then one column per [`Agg`]. Rows are groups sorted by their keys
    /// (missing key values form their own group, last); each row's origin is the origin of
    /// its group's first row.
    pub data: Data,
    /// Per output column (by name): the missing input values skipped (for a slope, the rows
    /// lacking the column or the time).
    pub skipped: Vec<(String, usize)>,
}

/// Rows grouped contiguously: `rows[start[g]..start[g + 1]]` are group g's rows in row order.
struct GroupRows {
    start: Vec<usize>,
    rows: Vec<usize>,
}

impl GroupRows {
    fn of(&self, g: usize) -> &[usize] {
        &self.rows[self.start[g]..self.start[g + 1]]
    }
}

impl Data {
    /// One row per group of `by`, with the statistics `aggs`; missing values are skipped and
    /// counted. With no `by` columns the whole data set is one group (see [`Data::summarize`]).
    /// Column names may be given as any string type (`&["client"]`, `&names` for a
    /// `Vec<String>`).
    ///
    /// # Examples
    ///
    /// ```
    /// use securebase::Data;
    /// use securebase::data::Agg;
    /// let sessions = Data::new()
    ///     .with_categorical("client", vec!["a", "a", "a", "b", "b"])?
    ///     .with_numeric("session", vec![1.0, 2.0, 3.0, 1.0, 2.0])?
    ///     .with_numeric_opt("secure", vec![Some(3.0), None, Some(4.0), Some(5.0), Some(4.0)])?;
    /// let per_client = sessions.aggregate(
    ///     &["client"],
    ///     &[Agg::mean("secure").named("secure_pm"), Agg::count("secure"), Agg::slope("secure", "session")],
    /// )?;
    /// assert_eq!(per_client.data.numeric("secure_pm")?, [Some(3.5), Some(4.5)]);
    /// assert_eq!(per_client.data.numeric("secure_n")?, [Some(2.0), Some(2.0)]);
    /// assert_eq!(per_client.data.numeric("secure_slope")?, [Some(0.5), Some(-1.0)]);
    /// assert_eq!(per_client.skipped[0], ("secure_pm".to_string(), 1));
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownColumn`](crate::Error::UnknownColumn); [`Error::ColumnType`](crate::Error::ColumnType) for a numeric statistic of a categorical
    /// column or a categorical time; [`Error::DuplicateColumn`](crate::Error::DuplicateColumn) if output names collide.
    pub fn aggregate(&self, by: &[impl AsRef<str>], aggs: &[Agg]) -> Result<Aggregated> {
        self.aggregate_by(&super::borrowed_names(by), aggs)
    }

    /// The statistics `aggs` over the whole data set, as one row (dplyr's `summarise` without
    /// `group_by`).
    ///
    /// ```
    /// use securebase::Data;
    /// use securebase::data::Agg;
    /// let d = Data::new().with_numeric_opt("x", vec![Some(1.0), None, Some(3.0)])?;
    /// let s = d.summarize(&[Agg::mean("x"), Agg::rows()])?;
    /// assert_eq!(s.data.numeric("x_mean")?, [Some(2.0)]);
    /// assert_eq!(s.data.numeric("n")?, [Some(3.0)]);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Data::aggregate`].
    pub fn summarize(&self, aggs: &[Agg]) -> Result<Aggregated> {
        self.aggregate_by(&[], aggs)
    }

    fn aggregate_by(&self, by: &[&str], aggs: &[Agg]) -> Result<Aggregated> {
        for a in aggs {
            self.check_agg(a)?;
        }
        let n = self.nrows();
        // Group ids per row and each group's first row.
        let (of_row, first_row): (Vec<u32>, Vec<usize>) = if by.is_empty() {
            (vec![0; n], if n == 0 { vec![] } else { vec![0] })
        } else {
            let mut space = KeySpace::default();
            let g = RowKeys::build(&mut space, self, by, true)?.groups();
            let of_row = g
                .of_row
                .iter()
                .map(|x| x.unwrap_or_else(|| unreachable!("missing keys are values here")))
                .collect();
            (of_row, g.first_row)
        };
        // Groups in key order.
        let keys: Vec<SortKey> = by.iter().map(|b| SortKey::asc(b)).collect();
        let order = if by.is_empty() {
            (0..first_row.len()).collect()
        } else {
            self.select_rows(&first_row)?.order(&keys)?
        };
        let mut rank = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            rank[old] = new as u32;
        }
        let ng = order.len();
        let mut start = vec![0usize; ng + 1];
        for &g in &of_row {
            start[rank[g as usize] as usize + 1] += 1;
        }
        for g in 0..ng {
            start[g + 1] += start[g];
        }
        let mut fill = start.clone();
        let mut rows = vec![0usize; n];
        for (r, &g) in of_row.iter().enumerate() {
            let g = rank[g as usize] as usize;
            rows[fill[g]] = r;
            fill[g] += 1;
        }
        let groups = GroupRows { start, rows };
        let firsts: Vec<usize> = order.iter().map(|&g| first_row[g]).collect();
        let mut out = self.select_columns(by)?.select_rows(&firsts)?;
        let mut skipped = Vec::with_capacity(aggs.len());
        for a in aggs {
            let (column, n_skipped) = self.aggregate_one(a, &groups, ng)?;
            out.add_column(&a.name, column)?;
            skipped.push((a.name.clone(), n_skipped));
        }
        Ok(Aggregated { data: out, skipped })
    }

    fn check_agg(&self, a: &Agg) -> Result<()> {
        let need_numeric = |name: &str| -> Result<()> {
            self.numeric(name)
                .map(|_| ())
                .map_err(|e| e.in_context(format!("aggregate '{}'", a.name)))
        };
        match &a.stat {
            Stat::Rows => Ok(()),
            Stat::Count | Stat::First | Stat::Last => self.column(&a.column).map(|_| ()),
            Stat::Mean | Stat::Sd | Stat::Min | Stat::Max => need_numeric(&a.column),
            Stat::Slope { time } => {
                need_numeric(&a.column)?;
                need_numeric(time)
            }
        }
    }

    fn aggregate_one(&self, a: &Agg, groups: &GroupRows, ng: usize) -> Result<(Column, usize)> {
        if a.stat == Stat::Rows {
            let v = (0..ng).map(|g| Some(groups.of(g).len() as f64)).collect();
            return Ok((Column::Numeric(v), 0));
        }
        let col = self.column(&a.column)?;
        let n_missing = (0..self.nrows()).filter(|&r| col.is_missing(r)).count();
        let pick = |last: bool| -> Vec<Option<usize>> {
            (0..ng)
                .map(|g| {
                    let rows = groups.of(g);
                    if last {
                        rows.iter().rev().find(|&&r| !col.is_missing(r)).copied()
                    } else {
                        rows.iter().find(|&&r| !col.is_missing(r)).copied()
                    }
                })
                .collect()
        };
        let numeric = |f: &dyn Fn(&[f64]) -> Option<f64>| -> Result<Column> {
            let v = self.numeric(&a.column)?;
            let mut buf = Vec::new();
            Ok(Column::Numeric(
                (0..ng)
                    .map(|g| {
                        buf.clear();
                        buf.extend(groups.of(g).iter().filter_map(|&r| v.get(r)));
                        f(&buf)
                    })
                    .collect(),
            ))
        };
        let column = match &a.stat {
            Stat::Rows => unreachable!("handled above"),
            Stat::Count => Column::Numeric(
                (0..ng)
                    .map(|g| {
                        Some(groups.of(g).iter().filter(|&&r| !col.is_missing(r)).count() as f64)
                    })
                    .collect(),
            ),
            Stat::First => col.gather(&pick(false)),
            Stat::Last => col.gather(&pick(true)),
            Stat::Mean => numeric(&|x| (!x.is_empty()).then(|| mean(x)))?,
            Stat::Sd => numeric(&|x| {
                (x.len() >= 2).then(|| {
                    let m = mean(x);
                    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
                })
            })?,
            Stat::Min => numeric(&|x| x.iter().copied().reduce(f64::min))?,
            Stat::Max => numeric(&|x| x.iter().copied().reduce(f64::max))?,
            Stat::Slope { time } => {
                let y = self.numeric(&a.column)?;
                let t = self.numeric(time)?;
                let mut skipped = 0;
                let (mut ys, mut ts) = (Vec::new(), Vec::new());
                let v = (0..ng)
                    .map(|g| {
                        ys.clear();
                        ts.clear();
                        for &r in groups.of(g) {
                            match (y.get(r), t.get(r)) {
                                (Some(a), Some(b)) => {
                                    ys.push(a);
                                    ts.push(b);
                                }
                                _ => skipped += 1,
                            }
                        }
                        slope(&ys, &ts)
                    })
                    .collect();
                return Ok((Column::Numeric(v), skipped));
            }
        };
        Ok((column, n_missing))
    }
}

fn mean(x: &[f64]) -> f64 {
    let m = x.iter().sum::<f64>() / x.len() as f64;
    // One refinement pass, as R's mean() does.
    m + x.iter().map(|v| v - m).sum::<f64>() / x.len() as f64
}

/// OLS slope of y on t; `None` without two distinct times.
fn slope(y: &[f64], t: &[f64]) -> Option<f64> {
    if y.len() < 2 {
        return None;
    }
    let (my, mt) = (mean(y), mean(t));
    let sxx: f64 = t.iter().map(|v| (v - mt) * (v - mt)).sum();
    let sxy: f64 = t.iter().zip(y).map(|(a, b)| (a - mt) * (b - my)).sum();
    (sxx > 0.0 && t.iter().any(|&v| v != t[0])).then(|| sxy / sxx)
}
