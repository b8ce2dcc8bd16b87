//! Lags and leads within groups by a time column: the previous session's value, where "previous"
//! means session t − k, not the previous row.

use super::keys::{KeySpace, RowKeys, describe_key};
use super::{Column, Data};
use crate::error::{Error, Result};

impl Data {
    /// The value of `column` at time `t − k` in the same group (`by`), for each row at time `t`
    /// of `time`: a missed session gives a missing value, not the previous available row. Rows
    /// with a missing key or time get a missing value. Numeric or categorical columns.
    ///
    /// Within each group the rows must be in increasing time order (sort first with
    /// [`Data::sort_by`]) with no time twice: both are errors naming the group and rows, since
    /// either usually means the file is not what it seems.
    ///
    /// # Examples
    ///
    /// ```
    /// use securebase::Data;
    /// let data = Data::new()
    ///     .with_categorical("client", vec!["a", "a", "a", "b", "b"])?
    ///     .with_numeric("session", vec![1.0, 2.0, 4.0, 1.0, 2.0])?
    ///     .with_numeric("secure", vec![3.0, 3.5, 4.0, 5.0, 4.5])?;
    /// let previous = data.lag("secure", &["client"], "session", 1)?;
    /// // session 4 of client a follows a missed session 3: no previous value.
    /// assert_eq!(previous, securebase::Column::Numeric(vec![None, Some(3.0), None, None, Some(5.0)].into()));
    /// let mut data = data;
    /// data.add_column("secure_lag1", previous)?;
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownColumn`]; [`Error::ColumnType`] for a categorical time;
    /// [`Error::Argument`] for `k = 0`; [`Error::InvalidValue`] for a time repeated or out of
    /// order within a group.
    pub fn lag(&self, column: &str, by: &[impl AsRef<str>], time: &str, k: u32) -> Result<Column> {
        self.shift(column, &super::borrowed_names(by), time, k, -1.0)
    }

    /// The value of `column` at time `t + k` in the same group; see [`Data::lag`].
    ///
    /// ```
    /// use securebase::{Column, Data};
    /// let data = Data::new()
    ///     .with_categorical("client", vec!["a", "a", "a"])?
    ///     .with_numeric("session", vec![1.0, 2.0, 4.0])?
    ///     .with_numeric("secure", vec![3.0, 3.5, 4.0])?;
    /// let next = data.lead("secure", &["client"], "session", 1)?;
    /// assert_eq!(next, Column::Numeric(vec![Some(3.5), None, None].into()));
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Data::lag`].
    pub fn lead(&self, column: &str, by: &[impl AsRef<str>], time: &str, k: u32) -> Result<Column> {
        self.shift(column, &super::borrowed_names(by), time, k, 1.0)
    }

    fn shift(&self, column: &str, by: &[&str], time: &str, k: u32, sign: f64) -> Result<Column> {
        if k == 0 {
            return Err(Error::Argument {
                name: "k".into(),
                message: "a lag or lead of 0 is the column itself; use k >= 1".into(),
            });
        }
        let col = self.column(column)?;
        let t = self
            .numeric(time)
            .map_err(|e| e.in_context("the time of a lag or lead"))?;
        let mut space = KeySpace::default();
        let groups = RowKeys::build(&mut space, self, by, false)?.groups();
        // Per group, its (time, row) in row order, checked increasing.
        let mut members: Vec<Vec<(f64, usize)>> = vec![Vec::new(); groups.len()];
        for (r, g) in groups.of_row.iter().enumerate() {
            let (Some(g), Some(tr)) = (g, t.get(r)) else {
                continue;
            };
            let list = &mut members[*g as usize];
            if let Some(&(prev, pr)) = list.last()
                && tr <= prev
            {
                let what = if tr == prev {
                    format!(
                        "{time} {} appears twice for {} (rows {} and {})",
                        super::factor::format_number(tr),
                        describe_key(self, by, r),
                        self.row_ids.get(pr),
                        self.row_ids.get(r)
                    )
                } else {
                    format!(
                        "the rows of {} are not in {time} order ({time} {} at row {} comes after {} at row {}); sort first with Data::sort_by",
                        describe_key(self, by, r),
                        super::factor::format_number(tr),
                        self.row_ids.get(r),
                        super::factor::format_number(prev),
                        self.row_ids.get(pr)
                    )
                };
                return Err(Error::InvalidValue {
                    column: time.to_string(),
                    row: self.row_ids.get(r),
                    value: super::factor::format_number(tr),
                    reason: what,
                });
            }
            list.push((tr, r));
        }
        let step = sign * f64::from(k);
        let source: Vec<Option<usize>> = (0..self.nrows())
            .map(|r| {
                let (g, tr) = (groups.of_row[r]?, t.get(r)?);
                let list = &members[g as usize];
                let target = tr + step;
                list.binary_search_by(|(x, _)| x.total_cmp(&target))
                    .ok()
                    .map(|i| list[i].1)
            })
            .collect();
        Ok(col.gather(&source))
    }
}
