//! Wide ↔ long (tidyr's `pivot_longer` and `pivot_wider`): `secure_s1 … secure_s12` as one row
//! per session, and back.

use super::factor::format_number;
use super::keys::{KeySpace, RowKeys, describe_key};
use super::{Column, Data, Factor, NumericColumn};
use crate::error::{Error, Result};

/// Which columns of a wide data set become one long column each: [`Data::pivot_longer`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Longer {
    time: String,
    stems: Vec<(String, String)>,
}

impl Longer {
    /// A wide → long reshape whose time labels go into a new column `time`.
    pub fn new(time: &str) -> Longer {
        Longer {
            time: time.to_string(),
            stems: Vec::new(),
        }
    }

    /// Gather the columns matching `pattern` (with one `{}` where the time label stands, e.g.
    /// `secure_s{}`) into the long column `name`.
    pub fn stem(mut self, name: &str, pattern: &str) -> Longer {
        self.stems.push((name.to_string(), pattern.to_string()));
        self
    }
}

/// How a long data set spreads into columns: [`Data::pivot_wider`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Wider {
    id: Vec<String>,
    time: String,
    values: Vec<String>,
    names: String,
}

impl Wider {
    /// One row per value of the `id` columns, one column per value column and time; names
    /// default to `{value}_{}` (e.g. `secure_3`).
    pub fn new<S: AsRef<str>>(id: &[S], time: &str, values: &[S]) -> Wider {
        Wider {
            id: id.iter().map(|s| s.as_ref().to_string()).collect(),
            time: time.to_string(),
            values: values.iter().map(|s| s.as_ref().to_string()).collect(),
            names: "{value}_{}".into(),
        }
    }

    /// The new columns' names: `{value}` stands for the value column, `{}` for the time label
    /// (`"{value}_s{}"` gives `secure_s1`).
    pub fn names(mut self, pattern: &str) -> Wider {
        self.names = pattern.to_string();
        self
    }
}

/// A time label: a number (sorted numerically) or text.
#[derive(Debug, Clone, PartialEq)]
enum TimeLabels {
    Numbers(Vec<f64>),
    Text(Vec<String>),
}

fn split_pattern(pattern: &str) -> Result<(&str, &str)> {
    match pattern.split_once("{}") {
        Some((pre, post)) if !post.contains("{}") => Ok((pre, post)),
        _ => Err(Error::Argument {
            name: "pattern".into(),
            message: format!(
                "'{pattern}' must contain '{{}}' exactly once, where the time label stands"
            ),
        }),
    }
}

impl Data {
    /// Wide → long: each row becomes one row per time label found in the stems' column names,
    /// with the other columns repeated, a `time` column, and one column per stem (missing where
    /// a stem lacks that time). Time labels that are all numbers give a numeric time column,
    /// sorted numerically. Every row keeps its wide row's origin.
    ///
    /// # Examples
    ///
    /// ```
    /// use securebase::Data;
    /// use securebase::data::Longer;
    /// let wide = Data::new()
    ///     .with_categorical("client", vec!["a", "b"])?
    ///     .with_numeric("secure_s1", vec![3.0, 4.0])?
    ///     .with_numeric("secure_s2", vec![3.5, 4.5])?;
    /// let long = wide.pivot_longer(&Longer::new("session").stem("secure", "secure_s{}"))?;
    /// assert_eq!(long.names(), ["client", "session", "secure"]);
    /// assert_eq!(long.numeric("session")?, [Some(1.0), Some(2.0), Some(1.0), Some(2.0)]);
    /// assert_eq!(long.numeric("secure")?, [Some(3.0), Some(3.5), Some(4.0), Some(4.5)]);
    /// assert_eq!(long.row_ids(), [1, 1, 2, 2]);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Argument`] for a pattern without one `{}`, a stem that matches no column, or a
    /// column matched by two stems; [`Error::ColumnType`] for a stem mixing numeric and
    /// categorical columns; [`Error::DuplicateColumn`] if the new names are taken.
    pub fn pivot_longer(&self, spec: &Longer) -> Result<Data> {
        if spec.stems.is_empty() {
            return Err(Error::Argument {
                name: "stems".into(),
                message: "name at least one stem (Longer::stem)".into(),
            });
        }
        // Per stem: (label, column index) of every matching column.
        let mut claimed = vec![false; self.ncols()];
        let mut stems: Vec<Vec<(String, usize)>> = Vec::new();
        for (name, pattern) in &spec.stems {
            let (pre, post) = split_pattern(pattern)?;
            let mut found = Vec::new();
            for (j, col) in self.names.iter().enumerate() {
                if col.len() > pre.len() + post.len() && col.starts_with(pre) && col.ends_with(post)
                {
                    if claimed[j] {
                        return Err(Error::Argument {
                            name: "pattern".into(),
                            message: format!("column '{col}' matches two stems' patterns"),
                        });
                    }
                    claimed[j] = true;
                    found.push((col[pre.len()..col.len() - post.len()].to_string(), j));
                }
            }
            if found.is_empty() {
                return Err(Error::Argument {
                    name: "pattern".into(),
                    message: format!("stem '{name}': no column matches '{pattern}'"),
                });
            }
            stems.push(found);
        }
        // The time labels: numbers if every one is a number.
        let mut all: Vec<&str> = stems.iter().flatten().map(|(l, _)| l.as_str()).collect();
        let numbers: Option<Vec<f64>> = all
            .iter()
            .map(|l| l.parse::<f64>().ok().filter(|x| x.is_finite()))
            .collect();
        let times = match numbers {
            Some(mut v) => {
                v.sort_by(f64::total_cmp);
                v.dedup();
                TimeLabels::Numbers(v)
            }
            None => {
                all.sort_by(|a, b| super::r_level_order(a, b));
                all.dedup();
                TimeLabels::Text(all.iter().map(|s| s.to_string()).collect())
            }
        };
        let label_index = |l: &str| -> usize {
            match &times {
                TimeLabels::Numbers(v) => {
                    let x: f64 = l.parse().unwrap_or(f64::NAN);
                    v.iter().position(|t| *t == x).unwrap_or(0)
                }
                TimeLabels::Text(v) => v.iter().position(|t| t == l).unwrap_or(0),
            }
        };
        let nt = match &times {
            TimeLabels::Numbers(v) => v.len(),
            TimeLabels::Text(v) => v.len(),
        };
        for (s, found) in stems.iter().enumerate() {
            let mut seen = vec![None; nt];
            for (l, j) in found {
                let i = label_index(l);
                if let Some(prev) = seen[i].replace(*j) {
                    return Err(Error::Argument {
                        name: "pattern".into(),
                        message: format!(
                            "stem '{}': columns '{}' and '{}' give the same time",
                            spec.stems[s].0, self.names[prev], self.names[*j]
                        ),
                    });
                }
            }
        }
        let n = self.nrows();
        let long_rows: Vec<usize> = (0..n).flat_map(|r| std::iter::repeat_n(r, nt)).collect();
        let mut out = Data::new();
        for (j, (name, col)) in self.names.iter().zip(&self.columns).enumerate() {
            if !claimed[j] {
                out.add_column(name, col.select(&long_rows))?;
            }
        }
        let time_col = match &times {
            TimeLabels::Numbers(v) => {
                Column::Numeric((0..n * nt).map(|i| Some(v[i % nt])).collect())
            }
            TimeLabels::Text(v) => Column::Categorical(Factor::from_codes(
                (0..n * nt).map(|i| Some((i % nt) as u32)).collect(),
                v.clone(),
            )?),
        };
        out.add_column(&spec.time, time_col)?;
        for ((name, _), found) in spec.stems.iter().zip(&stems) {
            let mut by_time: Vec<Option<usize>> = vec![None; nt];
            for (l, j) in found {
                by_time[label_index(l)] = Some(*j);
            }
            out.add_column(name, self.stack(name, &by_time, n)?)?;
        }
        out.row_ids = self.row_ids.select(&long_rows);
        Ok(out)
    }

    /// The long column of one stem: for row r and time i, column `by_time[i]` at row r.
    fn stack(&self, stem: &str, by_time: &[Option<usize>], n: usize) -> Result<Column> {
        let cols: Vec<Option<&Column>> = by_time
            .iter()
            .map(|j| j.map(|j| &*self.columns[j]))
            .collect();
        let nt = by_time.len();
        let kinds: Vec<&str> = cols.iter().flatten().map(|c| c.kind()).collect();
        if kinds.iter().any(|k| *k != kinds[0]) {
            return Err(Error::ColumnType {
                name: stem.to_string(),
                expected: kinds[0].into(),
                found: "a mix of numeric and categorical columns".into(),
                context: Some("a stem of pivot_longer".into()),
            });
        }
        if kinds[0] == "numeric" {
            let nums: Vec<Option<&NumericColumn>> = cols
                .iter()
                .map(|c| match c {
                    Some(Column::Numeric(v)) => Some(v),
                    _ => None,
                })
                .collect();
            return Ok(Column::Numeric(
                (0..n * nt)
                    .map(|i| nums[i % nt].and_then(|v| v.get(i / nt)))
                    .collect(),
            ));
        }
        let labels: Vec<Option<&str>> = (0..n * nt)
            .map(|i| match cols[i % nt] {
                Some(Column::Categorical(f)) => f.label(i / nt),
                _ => None,
            })
            .collect();
        Ok(Column::Categorical(Factor::from_strings(&labels)))
    }

    /// Long → wide: one row per value of the `id` columns (in order of first appearance,
    /// keeping that row's origin), and one column per value column and time label (times
    /// sorted: numerically, or in level order), named by the spec's pattern. Columns that are
    /// neither id, time nor values are not carried (list constant-within-id columns as ids).
    ///
    /// # Examples
    ///
    /// ```
    /// use securebase::Data;
    /// use securebase::data::Wider;
    /// let long = Data::new()
    ///     .with_categorical("client", vec!["a", "a", "b"])?
    ///     .with_numeric("session", vec![1.0, 2.0, 2.0])?
    ///     .with_numeric("secure", vec![3.0, 3.5, 4.5])?;
    /// let wide = long.pivot_wider(&Wider::new(&["client"], "session", &["secure"]).names("{value}_s{}"))?;
    /// assert_eq!(wide.names(), ["client", "secure_s1", "secure_s2"]);
    /// assert_eq!(wide.numeric("secure_s1")?, [Some(3.0), None]);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownColumn`]; [`Error::InvalidValue`] for a missing time or an id with a
    /// time twice (naming both rows); [`Error::DuplicateColumn`] if a new name is taken.
    pub fn pivot_wider(&self, spec: &Wider) -> Result<Data> {
        let id: Vec<&str> = spec.id.iter().map(String::as_str).collect();
        let tcol = self.column(&spec.time)?;
        for v in &spec.values {
            self.column(v)?;
        }
        let mut space = KeySpace::default();
        let groups = RowKeys::build(&mut space, self, &id, true)?.groups();
        // The time labels, sorted, and each row's time index.
        let (labels, tindex): (Vec<String>, Vec<Option<usize>>) = match tcol {
            Column::Numeric(v) => {
                let mut d: Vec<f64> = v.iter().flatten().collect();
                d.sort_by(f64::total_cmp);
                d.dedup();
                let idx = v
                    .iter()
                    .map(|x| x.and_then(|x| d.binary_search_by(|y| y.total_cmp(&x)).ok()))
                    .collect();
                (d.iter().map(|x| format_number(*x)).collect(), idx)
            }
            Column::Categorical(f) => {
                let mut used = vec![false; f.levels().len()];
                for c in f.codes().iter().flatten() {
                    used[*c as usize] = true;
                }
                let mut map = vec![0usize; used.len()];
                let mut labels = Vec::new();
                for (i, l) in f.levels().iter().enumerate() {
                    if used[i] {
                        map[i] = labels.len();
                        labels.push(l.clone());
                    }
                }
                (
                    labels,
                    f.codes()
                        .iter()
                        .map(|c| c.map(|c| map[c as usize]))
                        .collect(),
                )
            }
        };
        let nt = labels.len();
        let ng = groups.len();
        let mut cell: Vec<Option<usize>> = vec![None; ng * nt];
        for (r, (g, t)) in groups.of_row.iter().zip(&tindex).enumerate() {
            let g = g.unwrap_or_else(|| unreachable!("missing ids are values")) as usize;
            let Some(t) = *t else {
                return Err(Error::InvalidValue {
                    column: spec.time.clone(),
                    row: self.row_ids.get(r),
                    value: "NA".into(),
                    reason: "a row with a missing time has no column to go to".into(),
                });
            };
            if let Some(prev) = cell[g * nt + t].replace(r) {
                return Err(Error::InvalidValue {
                    column: spec.time.clone(),
                    row: self.row_ids.get(r),
                    value: labels[t].clone(),
                    reason: format!(
                        "{} has {} {} twice (rows {} and {})",
                        describe_key(self, &id, r),
                        spec.time,
                        labels[t],
                        self.row_ids.get(prev),
                        self.row_ids.get(r)
                    ),
                });
            }
        }
        let mut out = self.select_columns(&id)?.select_rows(&groups.first_row)?;
        for v in &spec.values {
            let col = self.column(v)?;
            for (t, label) in labels.iter().enumerate() {
                let name = spec.names.replace("{value}", v).replace("{}", label);
                let source: Vec<Option<usize>> = (0..ng).map(|g| cell[g * nt + t]).collect();
                out.add_column(&name, col.gather(&source))?;
            }
        }
        Ok(out)
    }
}
