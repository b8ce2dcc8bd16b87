//! Sorting rows by one or more columns, as R's `order()` sorts them.

use super::{Column, Data};
use crate::error::Result;
use std::cmp::Ordering;

/// One column to sort by, and its direction.
///
/// Numbers sort numerically, categorical columns by their level order (as R's `order()` sorts a
/// factor); missing values sort last in either direction (R's `na.last = TRUE`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SortKey {
    /// Column name.
    pub column: String,
    /// Largest first.
    pub descending: bool,
}

impl SortKey {
    /// Ascending by `column`.
    pub fn asc(column: &str) -> SortKey {
        SortKey {
            column: column.to_string(),
            descending: false,
        }
    }

    /// Descending by `column` (missing values still last).
    pub fn desc(column: &str) -> SortKey {
        SortKey {
            column: column.to_string(),
            descending: true,
        }
    }
}

impl From<&str> for SortKey {
    fn from(column: &str) -> SortKey {
        SortKey::asc(column)
    }
}

/// Compare rows `a` and `b` of one column: missing last, then by value.
fn compare(col: &Column, a: usize, b: usize, descending: bool) -> Ordering {
    let by_value = |x: Ordering| if descending { x.reverse() } else { x };
    match col {
        Column::Numeric(v) => match (v.get(a), v.get(b)) {
            (Some(x), Some(y)) => by_value(x.total_cmp(&y)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        },
        Column::Categorical(f) => match (f.codes()[a], f.codes()[b]) {
            (Some(x), Some(y)) => by_value(x.cmp(&y)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        },
    }
}

impl Data {
    /// The positions (0-based) of the rows in sorted order: R's `order()`, stable.
    ///
    /// # Errors
    /// [`crate::Error::UnknownColumn`] for a key column the data lack.
    pub fn order(&self, keys: &[SortKey]) -> Result<Vec<usize>> {
        let cols: Vec<(&Column, bool)> = keys
            .iter()
            .map(|k| Ok((self.column(&k.column)?, k.descending)))
            .collect::<Result<_>>()?;
        let mut idx: Vec<usize> = (0..self.nrows()).collect();
        idx.sort_by(|&a, &b| {
            cols.iter()
                .map(|(c, d)| compare(c, a, b, *d))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        Ok(idx)
    }

    /// The rows sorted by `columns`, ascending, each row keeping its origin
    /// ([`Data::row_ids`]). Ties keep their order (stable); missing values come last.
    ///
    /// # Examples
    ///
    /// ```
    /// use securebase::Data;
    /// let data = Data::new()
    ///     .with_categorical("client", vec!["b", "a", "b", "a"])?
    ///     .with_numeric_opt("session", vec![Some(2.0), Some(2.0), Some(1.0), None])?;
    /// let sorted = data.sort_by(&["client", "session"])?;
    /// assert_eq!(sorted.row_ids(), [2, 4, 3, 1]); // a:2, a:NA, b:1, b:2
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`crate::Error::UnknownColumn`].
    pub fn sort_by<S: AsRef<str>>(&self, columns: &[S]) -> Result<Data> {
        let keys: Vec<SortKey> = columns.iter().map(|c| SortKey::asc(c.as_ref())).collect();
        self.sort_by_keys(&keys)
    }

    /// The rows sorted by `keys`, each ascending or descending.
    ///
    /// ```
    /// use securebase::Data;
    /// use securebase::data::SortKey;
    /// let data = Data::new().with_numeric("x", vec![1.0, 3.0, 2.0])?;
    /// let sorted = data.sort_by_keys(&[SortKey::desc("x")])?;
    /// assert_eq!(sorted.numeric("x")?, [Some(3.0), Some(2.0), Some(1.0)]);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`crate::Error::UnknownColumn`].
    pub fn sort_by_keys(&self, keys: &[SortKey]) -> Result<Data> {
        let order = self.order(keys)?;
        self.select_rows(&order)
    }
}
