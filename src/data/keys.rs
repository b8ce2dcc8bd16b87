//! Row keys over one or more columns: the grouping behind aggregation, joins, lags and
//! reshaping.
//!
//! A key column is coded per row as a `u64` in a space shared by every data set taking part
//! (numbers by their bits, with `-0` as `0`; labels interned by text), so keys compare across
//! data sets even when their factors have different levels. A row with a missing key value has
//! no key.

use super::{Column, Data};
use crate::error::{Error, Result};
use std::collections::HashMap;

/// Interns labels across data sets, so that the same text gets the same code.
#[derive(Default)]
pub(crate) struct KeySpace<'a> {
    labels: HashMap<&'a str, u64>,
}

impl<'a> KeySpace<'a> {
    /// Per-row codes of column `name` of `data` (`None` where missing).
    pub(crate) fn codes(&mut self, data: &'a Data, name: &str) -> Result<Vec<Option<u64>>> {
        Ok(match data.column(name)? {
            Column::Numeric(v) => v
                .iter()
                .map(|x| x.map(|x| if x == 0.0 { 0 } else { x.to_bits() }))
                .collect(),
            Column::Categorical(f) => {
                let next = self.labels.len() as u64;
                let map: Vec<u64> = f
                    .levels()
                    .iter()
                    .enumerate()
                    .map(|(i, l)| *self.labels.entry(l.as_str()).or_insert(next + i as u64))
                    .collect();
                f.codes()
                    .iter()
                    .map(|c| c.map(|c| map[c as usize]))
                    .collect()
            }
        })
    }
}

/// The grouping of a data set's rows by key columns.
pub(crate) struct Groups {
    /// Per row: its group, or `None` if a key value is missing.
    pub(crate) of_row: Vec<Option<u32>>,
    /// Per group: its first row (0-based position).
    pub(crate) first_row: Vec<usize>,
}

impl Groups {
    pub(crate) fn len(&self) -> usize {
        self.first_row.len()
    }
}

/// Combined per-row keys of several columns, as one `u64` (one column) or a boxed slice.
pub(crate) enum RowKeys {
    One(Vec<Option<u64>>),
    Many(Vec<Option<Box<[u64]>>>),
}

impl RowKeys {
    /// Keys of `by` in `data`. With `missing_is_value`, a missing key value is a value of its
    /// own (dplyr's grouping); otherwise a row with one has no key (joins never match it).
    pub(crate) fn build<'a>(
        space: &mut KeySpace<'a>,
        data: &'a Data,
        by: &[&str],
        missing_is_value: bool,
    ) -> Result<RowKeys> {
        if by.is_empty() {
            return Err(Error::Argument {
                name: "by".into(),
                message: "at least one key column is needed".into(),
            });
        }
        let mut cols: Vec<Vec<Option<u64>>> = by
            .iter()
            .map(|b| space.codes(data, b))
            .collect::<Result<_>>()?;
        if missing_is_value {
            // No stored number has the bits of u64::MAX (a NaN), and labels are numbered from 0.
            for c in &mut cols {
                for k in c.iter_mut() {
                    k.get_or_insert(u64::MAX);
                }
            }
        }
        if cols.len() == 1 {
            return Ok(RowKeys::One(cols.into_iter().next().unwrap_or_default()));
        }
        let n = data.nrows();
        Ok(RowKeys::Many(
            (0..n)
                .map(|r| {
                    cols.iter()
                        .map(|c| c[r])
                        .collect::<Option<Vec<u64>>>()
                        .map(Vec::into_boxed_slice)
                })
                .collect(),
        ))
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            RowKeys::One(v) => v.len(),
            RowKeys::Many(v) => v.len(),
        }
    }

    /// Group the rows by key, groups numbered in order of first appearance.
    pub(crate) fn groups(&self) -> Groups {
        let n = self.len();
        let mut of_row = Vec::with_capacity(n);
        let mut first_row = Vec::new();
        match self {
            RowKeys::One(keys) => {
                let mut index: HashMap<u64, u32> = HashMap::new();
                for (r, k) in keys.iter().enumerate() {
                    of_row.push(k.map(|k| {
                        *index.entry(k).or_insert_with(|| {
                            first_row.push(r);
                            (first_row.len() - 1) as u32
                        })
                    }));
                }
            }
            RowKeys::Many(keys) => {
                let mut index: HashMap<&[u64], u32> = HashMap::new();
                for (r, k) in keys.iter().enumerate() {
                    of_row.push(k.as_deref().map(|k| {
                        *index.entry(k).or_insert_with(|| {
                            first_row.push(r);
                            (first_row.len() - 1) as u32
                        })
                    }));
                }
            }
        }
        Groups { of_row, first_row }
    }
}

/// A key value of row `r` for messages: `client = 101, session = 3`.
pub(crate) fn describe_key(data: &Data, by: &[&str], r: usize) -> String {
    by.iter()
        .map(|b| format!("{b} = {}", data.value_text(b, r)))
        .collect::<Vec<_>>()
        .join(", ")
}
