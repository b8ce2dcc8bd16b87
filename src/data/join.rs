//! Many-to-one joins on key columns (dplyr's `left_join` and `inner_join`): client-level
//! variables merged into session rows.

use super::Data;
use super::keys::{KeySpace, RowKeys, describe_key};
use crate::error::{Error, Result};
use std::collections::HashMap;

/// The result of a join: the joined data and what did not match.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Joined {
    /// The left rows (all of them for a left join, the matched ones for an inner join), in
    /// their order and with their origins, with the right side's columns added.
    pub data: Data,
    /// Left rows whose key matched no right row (a missing key value never matches).
    pub unmatched_left: usize,
    /// Right rows whose key matched no left row.
    pub unmatched_right: usize,
    /// Origins ([`Data::row_ids`]) of the left rows an inner join dropped (empty for a left join).
    pub dropped_rows: Vec<usize>,
}

impl Data {
    /// Add `right`'s columns to every row of `self` by the key columns `by` (many-to-one: the
    /// right side has at most one row per key). Unmatched rows get missing values and are
    /// counted. A non-key column in both gets the suffixes `.x` and `.y`, as in dplyr.
    ///
    /// # Examples
    ///
    /// ```
    /// use securebase::Data;
    /// let sessions = Data::new()
    ///     .with_categorical("client", vec!["a", "a", "b", "c"])?
    ///     .with_numeric("secure", vec![3.0, 4.0, 5.0, 2.0])?;
    /// let clients = Data::new()
    ///     .with_categorical("client", vec!["a", "b", "d"])?
    ///     .with_numeric("ecr_anx", vec![2.5, 4.0, 3.0])?;
    /// let joined = sessions.left_join(&clients, &["client"])?;
    /// assert_eq!(joined.data.numeric("ecr_anx")?, [Some(2.5), Some(2.5), Some(4.0), None]);
    /// assert_eq!((joined.unmatched_left, joined.unmatched_right), (1, 1));
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownColumn`] for a key either side lacks; [`Error::ColumnType`] for a key
    /// numeric on one side and categorical on the other; [`Error::InvalidValue`] naming the key
    /// when the right side has a key twice.
    pub fn left_join(&self, right: &Data, by: &[impl AsRef<str>]) -> Result<Joined> {
        self.join(right, &super::borrowed_names(by), false)
    }

    /// As [`Data::left_join`], keeping only the left rows that match; the dropped rows are
    /// counted and named on the result.
    ///
    /// ```
    /// use securebase::Data;
    /// let sessions = Data::new()
    ///     .with_categorical("client", vec!["a", "a", "b", "c"])?
    ///     .with_numeric("secure", vec![3.0, 4.0, 5.0, 2.0])?;
    /// let clients = Data::new()
    ///     .with_categorical("client", vec!["a", "b"])?
    ///     .with_numeric("ecr_anx", vec![2.5, 4.0])?;
    /// let joined = sessions.inner_join(&clients, &["client"])?;
    /// assert_eq!(joined.data.nrows(), 3);
    /// assert_eq!(joined.dropped_rows, [4]); // client c's session, named by its origin
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Data::left_join`].
    pub fn inner_join(&self, right: &Data, by: &[impl AsRef<str>]) -> Result<Joined> {
        self.join(right, &super::borrowed_names(by), true)
    }

    fn join(&self, right: &Data, by: &[&str], inner: bool) -> Result<Joined> {
        for &b in by {
            let (l, r) = (self.column(b)?, right.column(b)?);
            if l.kind() != r.kind() {
                return Err(Error::ColumnType {
                    name: b.to_string(),
                    expected: l.kind().into(),
                    found: r.kind().into(),
                    context: Some(format!(
                        "join key: {} on the left, {} on the right; convert one side with to_categorical or to_numeric",
                        l.kind(),
                        r.kind()
                    )),
                });
            }
        }
        let mut space = KeySpace::default();
        let lkeys = RowKeys::build(&mut space, self, by, false)?;
        let rkeys = RowKeys::build(&mut space, right, by, false)?;
        // Right row per key; a repeated key is an error.
        let duplicate = |first: usize, second: usize| Error::InvalidValue {
            column: by.join(", "),
            row: right.row_id(second),
            value: describe_key(right, by, second),
            reason: format!(
                "the right-hand data have this key twice (rows {} and {}); a many-to-one join needs one row per key",
                right.row_id(first),
                right.row_id(second)
            ),
        };
        let matches: Vec<Option<usize>> = match (&lkeys, &rkeys) {
            (RowKeys::One(l), RowKeys::One(r)) => {
                let mut index: HashMap<u64, usize> = HashMap::with_capacity(r.len());
                for (i, k) in r.iter().enumerate() {
                    if let Some(k) = k {
                        if let Some(&first) = index.get(k) {
                            return Err(duplicate(first, i));
                        }
                        index.insert(*k, i);
                    }
                }
                l.iter()
                    .map(|k| k.and_then(|k| index.get(&k).copied()))
                    .collect()
            }
            (RowKeys::Many(l), RowKeys::Many(r)) => {
                let mut index: HashMap<&[u64], usize> = HashMap::with_capacity(r.len());
                for (i, k) in r.iter().enumerate() {
                    if let Some(k) = k.as_deref() {
                        if let Some(&first) = index.get(k) {
                            return Err(duplicate(first, i));
                        }
                        index.insert(k, i);
                    }
                }
                l.iter()
                    .map(|k| k.as_deref().and_then(|k| index.get(k).copied()))
                    .collect()
            }
            _ => unreachable!("both sides have the same number of keys"),
        };
        let mut used = vec![false; right.nrows()];
        for &m in matches.iter().flatten() {
            used[m] = true;
        }
        let unmatched_left = matches.iter().filter(|m| m.is_none()).count();
        let unmatched_right = used.iter().filter(|u| !**u).count();
        let (left_rows, right_rows, dropped_rows): (Vec<usize>, Vec<Option<usize>>, Vec<usize>) =
            if inner {
                let keep: Vec<usize> = (0..self.nrows())
                    .filter(|&r| matches[r].is_some())
                    .collect();
                let dropped = (0..self.nrows())
                    .filter(|&r| matches[r].is_none())
                    .map(|r| self.row_ids.get(r))
                    .collect();
                let rr = keep.iter().map(|&r| matches[r]).collect();
                (keep, rr, dropped)
            } else {
                ((0..self.nrows()).collect(), matches, Vec::new())
            };
        let right_cols: Vec<&String> = right
            .names
            .iter()
            .filter(|n| !by.contains(&n.as_str()))
            .collect();
        let clash = |n: &str| !by.contains(&n) && self.has_column(n) && right.has_column(n);
        let mut out = Data::new();
        for (n, c) in self.names.iter().zip(&self.columns) {
            let name = if clash(n) {
                format!("{n}.x")
            } else {
                n.clone()
            };
            out.add_column(&name, c.select(&left_rows))?;
        }
        out.row_ids = self.row_ids.select(&left_rows);
        for n in right_cols {
            let name = if clash(n) {
                format!("{n}.y")
            } else {
                n.clone()
            };
            out.add_column(&name, right.column(n)?.gather(&right_rows))?;
        }
        // The left side's levels carry over when its level columns keep their names.
        if let Some(l) = self.levels()
            && l.ids()
                .iter()
                .chain(l.time_column().map(|t| t.to_string()).iter())
                .all(|c| !clash(c))
        {
            out.set_levels(Some(l.clone()))?;
        }
        Ok(Joined {
            data: out,
            unmatched_left,
            unmatched_right,
            dropped_rows,
        })
    }
}
