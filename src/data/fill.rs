//! Filling missing values within groups from the neighbouring rows (tidyr's `fill`).

use super::keys::{KeySpace, RowKeys};
use super::{Column, Data};
use crate::error::{Error, Result};

/// Which way [`Data::fill`] carries values within a group (tidyr's `.direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum FillDirection {
    /// A missing value takes the last non-missing value above it in the group.
    Down,
    /// A missing value takes the next non-missing value below it in the group.
    Up,
    /// Down first, then up (rows before the group's first value take it too).
    DownUp,
    /// Up first, then down.
    UpDown,
}

impl FillDirection {
    /// The direction named as tidyr names it: `down`, `up`, `downup`, `updown`.
    ///
    /// # Errors
    /// [`Error::Argument`] for another name.
    pub fn parse(name: &str) -> Result<FillDirection> {
        match name {
            "down" => Ok(FillDirection::Down),
            "up" => Ok(FillDirection::Up),
            "downup" => Ok(FillDirection::DownUp),
            "updown" => Ok(FillDirection::UpDown),
            other => Err(Error::Argument {
                name: "direction".into(),
                message: format!(
                    "'{}' is not one of down, up, downup, updown",
                    crate::error::clip(other)
                ),
            }),
        }
    }
}

impl Data {
    /// Fill the missing values of `columns` within each group of `by` from the neighbouring
    /// rows, in row order, as tidyr's `group_by(by) |> fill(columns, .direction)`; rows with
    /// a missing group key form a group of their own. Returns the number of values filled per
    /// column. With no `by`, the whole data set is one group.
    ///
    /// The common export layout that stores a client's baseline on the client's first session
    /// row only becomes one value on every row of the client with [`FillDirection::Down`]
    /// (sort by client and session first, [`Data::sort_by`]).
    ///
    /// ```
    /// use securebase::Data;
    /// use securebase::data::FillDirection;
    /// let mut data = Data::new()
    ///     .with_categorical("client", vec!["a", "a", "a", "b", "b"])?
    ///     .with_numeric_opt("iip_pre", vec![Some(2.0), None, None, None, Some(1.0)])?;
    /// let filled = data.fill(&["iip_pre"], &["client"], FillDirection::Down)?;
    /// assert_eq!(filled, [("iip_pre".to_string(), 2)]);
    /// assert_eq!(data.numeric("iip_pre")?, [Some(2.0), Some(2.0), Some(2.0), None, Some(1.0)]);
    /// data.fill(&["iip_pre"], &["client"], FillDirection::Up)?;
    /// assert_eq!(data.numeric("iip_pre")?.get(3), Some(1.0));
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownColumn`]; [`Error::Argument`] if a column to fill is a grouping column.
    pub fn fill(
        &mut self,
        columns: &[impl AsRef<str>],
        by: &[impl AsRef<str>],
        direction: FillDirection,
    ) -> Result<Vec<(String, usize)>> {
        let by = super::borrowed_names(by);
        let n = self.nrows();
        // Rows of each group, in row order.
        let groups: Vec<Vec<usize>> = if by.is_empty() {
            vec![(0..n).collect()]
        } else {
            let mut space = KeySpace::default();
            let g = RowKeys::build(&mut space, self, &by, true)?.groups();
            let mut rows = vec![Vec::new(); g.len()];
            for (r, k) in g.of_row.iter().enumerate() {
                rows[k.unwrap_or_else(|| unreachable!("missing is a value")) as usize].push(r);
            }
            rows
        };
        let mut out = Vec::with_capacity(columns.len());
        for c in columns {
            let c = c.as_ref();
            if by.contains(&c) {
                return Err(Error::Argument {
                    name: "columns".into(),
                    message: format!(
                        "'{}' groups the rows, so it cannot be filled",
                        crate::error::clip(c)
                    ),
                });
            }
            let col = self.column(c)?;
            // For each row, the row whose value it takes.
            let mut source: Vec<usize> = (0..n).collect();
            let pass = |source: &mut Vec<usize>, rows: &mut dyn Iterator<Item = &usize>| {
                let mut last: Option<usize> = None;
                for &r in rows {
                    if col.is_missing(source[r]) {
                        if let Some(l) = last {
                            source[r] = l;
                        }
                    } else {
                        last = Some(source[r]);
                    }
                }
            };
            for rows in &groups {
                match direction {
                    FillDirection::Down => pass(&mut source, &mut rows.iter()),
                    FillDirection::Up => pass(&mut source, &mut rows.iter().rev()),
                    FillDirection::DownUp => {
                        pass(&mut source, &mut rows.iter());
                        pass(&mut source, &mut rows.iter().rev());
                    }
                    FillDirection::UpDown => {
                        pass(&mut source, &mut rows.iter().rev());
                        pass(&mut source, &mut rows.iter());
                    }
                }
            }
            let filled = (0..n)
                .filter(|&r| col.is_missing(r) && !col.is_missing(source[r]))
                .count();
            let rows: Vec<Option<usize>> = source.into_iter().map(Some).collect();
            let new: Column = col.gather(&rows);
            self.replace_column(c, new)?;
            out.push((c.to_string(), filled));
        }
        Ok(out)
    }
}
