//! `Data`: named columns, numeric (with missing values) or categorical, with row provenance.
//!
//! A [`Data`] is what every model in the crate is fitted to. Columns are either
//! [`Column::Numeric`] (a [`NumericColumn`]: `f64` values with a missing-value mask, read and
//! written as `Option<f64>`, `None` is missing) or [`Column::Categorical`]
//! (a [`Factor`]: integer codes into sorted string levels, the first level the baseline, as R's
//! `factor()` makes them). Every row remembers where it came from (its 1-based row in the file or
//! in the vectors it was built from), so rows dropped for missingness can be named.
//!
//! Values are checked once, when they enter: NaN and infinite numbers are errors (use `None`, or
//! `NA` / an empty cell in a CSV, for a missing value).

mod aggregate;
mod by_group;
#[cfg(feature = "csv")]
mod csv_io;
mod factor;
mod fill;
#[cfg(any(feature = "csv", feature = "serde"))]
mod input;
mod join;
pub(crate) mod keys;
mod lag;
mod levels;
mod numeric;
mod reshape;
mod row_ids;
mod sort;

pub use aggregate::{Agg, Aggregated, Stat};
pub use by_group::{ByGroup, Standardized};
#[cfg(feature = "csv")]
pub use csv_io::{ColumnKind, ColumnRead, CsvOptions, CsvReport};
pub use factor::{Factor, r_level_order};
pub use fill::FillDirection;
#[cfg(feature = "csv")]
pub(crate) use input::{LineBound, open as open_input};
#[cfg(any(feature = "csv", feature = "serde"))]
pub use input::{MAX_CSV_LINE, MAX_TEXT_FILE, read_text_file};
pub use join::Joined;
pub(crate) use levels::for_model;
pub use levels::{Describe, Levels, ModelUnit, VariableLevel};
pub use numeric::{Iter as NumericIter, NumericColumn};
pub use reshape::{Longer, Wider};
pub use sort::SortKey;

use crate::error::{Error, Result};
pub(crate) use row_ids::RowIds;
use std::sync::Arc;

/// A hint for an unknown-column message when the data look read with the wrong delimiter: one
/// column whose name holds `;`, a tab or `,`.
/// Names given as any string type, owned.
pub(crate) fn owned_names(names: &[impl AsRef<str>]) -> Vec<String> {
    names.iter().map(|n| n.as_ref().to_string()).collect()
}

/// Names given as any string type, borrowed.
pub(crate) fn borrowed_names(names: &[impl AsRef<str>]) -> Vec<&str> {
    names.iter().map(AsRef::as_ref).collect()
}

pub(crate) fn delimiter_hint(names: &[String]) -> String {
    match names {
        [one] if one.contains([';', '\t', ',', '|']) => format!(
            "; the file looks read with the wrong delimiter (its one column is '{one}'): let CsvOptions detect it, or give it (--delimiter)"
        ),
        _ => String::new(),
    }
}

/// One column of a [`Data`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Column {
    /// Numbers, some perhaps missing.
    Numeric(NumericColumn),
    /// A categorical variable (R's factor).
    Categorical(Factor),
}

impl Column {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Column::Numeric(v) => v.len(),
            Column::Categorical(f) => f.len(),
        }
    }

    /// Whether the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether value `i` is missing.
    pub fn is_missing(&self, i: usize) -> bool {
        match self {
            Column::Numeric(v) => v.is_missing(i),
            Column::Categorical(f) => f.codes()[i].is_none(),
        }
    }

    /// "numeric" or "categorical", for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Column::Numeric(_) => "numeric",
            Column::Categorical(_) => "categorical",
        }
    }

    fn select(&self, rows: &[usize]) -> Column {
        match self {
            Column::Numeric(v) => Column::Numeric(v.select(rows)),
            Column::Categorical(f) => Column::Categorical(f.select(rows)),
        }
    }

    /// The values at `rows` (positions), missing where a position is `None`.
    pub(crate) fn gather(&self, rows: &[Option<usize>]) -> Column {
        match self {
            Column::Numeric(v) => {
                Column::Numeric(rows.iter().map(|r| r.and_then(|r| v.get(r))).collect())
            }
            Column::Categorical(f) => Column::Categorical(f.gather(rows)),
        }
    }

    /// Value `i` as text: the number as R prints it, the label, or `NA`.
    pub fn value_text(&self, i: usize) -> String {
        match self {
            Column::Numeric(v) => v.get(i).map_or("NA".into(), factor::format_number),
            Column::Categorical(f) => f.label(i).unwrap_or("NA").to_string(),
        }
    }
}

/// A data set: named columns of equal length, each row tagged with its origin.
///
/// # Examples
///
/// ```
/// use securebase::Data;
/// let data = Data::new()
///     .with_numeric("y", vec![1.0, 2.0, 4.0])?
///     .with_categorical("group", vec!["b", "a", "b"])?;
/// assert_eq!(data.nrows(), 3);
/// assert_eq!(data.factor("group")?.levels(), ["a", "b"]);
/// # Ok::<(), securebase::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "DataParts"))]
pub struct Data {
    names: Vec<String>,
    /// Shared, so selecting or cloning columns (as every fit does to keep the columns its
    /// formula reads) copies pointers, not values.
    columns: Vec<Arc<Column>>,
    /// Shared too (unstored while they are 1..=n): every selection of columns keeps the rows.
    row_ids: RowIds,
    /// The declared nesting ([`Data::with_levels`]), if any.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    levels: Option<Arc<Levels>>,
}

/// A [`Data`] as serialized, checked before it becomes one.
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
struct DataParts {
    names: Vec<String>,
    columns: Vec<Column>,
    row_ids: Vec<usize>,
    #[cfg_attr(feature = "serde", serde(default))]
    levels: Option<Levels>,
}

impl TryFrom<DataParts> for Data {
    type Error = Error;

    /// The checks of [`Data::add_column`]: names unique and non-empty, every column as long as
    /// the row origins, numbers finite.
    fn try_from(p: DataParts) -> Result<Data> {
        if p.names.len() != p.columns.len() {
            return Err(Error::Argument {
                name: "data".into(),
                message: format!(
                    "{} column names for {} columns",
                    p.names.len(),
                    p.columns.len()
                ),
            });
        }
        let mut data = Data {
            names: Vec::new(),
            columns: Vec::new(),
            row_ids: RowIds::from_vec(p.row_ids),
            levels: None,
        };
        let mut seen = std::collections::HashSet::with_capacity(p.names.len());
        for (name, column) in p.names.into_iter().zip(p.columns) {
            if !seen.insert(name.clone()) {
                return Err(Error::DuplicateColumn { name });
            }
            data.push_column(&name, column)?;
        }
        data.set_levels(p.levels)?;
        Ok(data)
    }
}

impl Data {
    /// An empty data set (no rows, no columns). Add columns with the `with_*` builders.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.row_ids.len()
    }

    /// Number of columns.
    pub fn ncols(&self) -> usize {
        self.columns.len()
    }

    /// Column names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The origin of each row: its 1-based position in the file or vectors the data came from.
    ///
    /// Data read from a file or built from vectors have origins 1..=n and store none; the
    /// first call makes that list (8 bytes a row) and keeps it.
    pub fn row_ids(&self) -> &[usize] {
        self.row_ids.as_slice()
    }

    /// The origin of the row at position `i` (0-based), without making the list.
    ///
    /// # Panics
    /// If `i` is out of range, as indexing [`Data::row_ids`] would.
    pub fn row_id(&self, i: usize) -> usize {
        self.row_ids.get(i)
    }

    /// The row origins, shared (for results that keep them).
    pub(crate) fn shared_row_ids(&self) -> &RowIds {
        &self.row_ids
    }

    /// Whether a column of that name exists.
    pub fn has_column(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    fn index_of(&self, name: &str) -> Result<usize> {
        self.names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| Error::unknown_column(name, &self.names))
    }

    /// The column called `name`.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`] if there is none.
    pub fn column(&self, name: &str) -> Result<&Column> {
        Ok(&self.columns[self.index_of(name)?])
    }

    /// The column called `name`, shared (for results that keep it without a copy).
    pub(crate) fn shared_column(&self, name: &str) -> Result<&Arc<Column>> {
        Ok(&self.columns[self.index_of(name)?])
    }

    /// The numeric column called `name`.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`], or [`Error::ColumnType`] if the column is categorical.
    pub fn numeric(&self, name: &str) -> Result<&NumericColumn> {
        match self.column(name)? {
            Column::Numeric(v) => Ok(v),
            Column::Categorical(_) => Err(Error::ColumnType {
                name: name.to_string(),
                expected: "numeric".into(),
                found: "categorical".into(),
                context: None,
            }),
        }
    }

    /// The categorical column called `name`.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`], or [`Error::ColumnType`] if the column is numeric (convert it
    /// with [`Data::to_categorical`]).
    pub fn factor(&self, name: &str) -> Result<&Factor> {
        match self.column(name)? {
            Column::Categorical(f) => Ok(f),
            Column::Numeric(_) => Err(Error::ColumnType {
                name: name.to_string(),
                expected: "categorical".into(),
                found: "numeric".into(),
                context: Some("convert it with Data::to_categorical".into()),
            }),
        }
    }

    /// Add a column (consuming builder form of [`Data::add_column`]).
    ///
    /// # Errors
    /// See [`Data::add_column`].
    pub fn with_column(mut self, name: &str, column: Column) -> Result<Self> {
        self.add_column(name, column)?;
        Ok(self)
    }

    /// Add a complete numeric column. NaN or infinite values are an error.
    ///
    /// # Errors
    /// See [`Data::add_column`].
    pub fn with_numeric(self, name: &str, values: Vec<f64>) -> Result<Self> {
        self.with_column(name, Column::Numeric(NumericColumn::from(values)))
    }

    /// Add a numeric column with missing values (`None`).
    ///
    /// # Errors
    /// See [`Data::add_column`].
    pub fn with_numeric_opt(self, name: &str, values: Vec<Option<f64>>) -> Result<Self> {
        self.with_column(name, Column::Numeric(NumericColumn::from(values)))
    }

    /// Add a categorical column with missing values (`None`); levels are sorted as R sorts them.
    ///
    /// ```
    /// use securebase::Data;
    /// let data = Data::new().with_categorical_opt("phase", vec![Some("late"), None, Some("early")])?;
    /// assert_eq!(data.factor("phase")?.levels(), ["early", "late"]);
    /// assert!(data.column("phase")?.is_missing(1));
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// See [`Data::add_column`].
    pub fn with_categorical_opt<S: AsRef<str>>(
        self,
        name: &str,
        values: Vec<Option<S>>,
    ) -> Result<Self> {
        let vals: Vec<Option<&str>> = values
            .iter()
            .map(|s| s.as_ref().map(AsRef::as_ref))
            .collect();
        self.with_column(name, Column::Categorical(Factor::from_strings(&vals)))
    }

    /// Add a categorical column from strings; levels are sorted as R sorts them.
    ///
    /// # Errors
    /// See [`Data::add_column`].
    pub fn with_categorical<S: AsRef<str>>(self, name: &str, values: Vec<S>) -> Result<Self> {
        let vals: Vec<Option<&str>> = values.iter().map(|s| Some(s.as_ref())).collect();
        self.with_column(name, Column::Categorical(Factor::from_strings(&vals)))
    }

    /// Add a column, e.g. a derived score.
    ///
    /// The first column added fixes the number of rows (row origins 1..=n).
    ///
    /// # Errors
    /// [`Error::DuplicateColumn`] if the name is taken, [`Error::LengthMismatch`] if the length
    /// differs from the data's rows, [`Error::InvalidValue`] for NaN or infinite numbers, and
    /// [`Error::Argument`] for an empty name.
    pub fn add_column(&mut self, name: &str, column: Column) -> Result<()> {
        if self.has_column(name) {
            return Err(Error::DuplicateColumn { name: name.into() });
        }
        self.push_column(name, column)
    }

    /// [`Data::add_column`] for a name the caller knows is new (a file's header, checked once
    /// with a hash set), so that adding n columns is O(n), not O(n²).
    pub(crate) fn push_column(&mut self, name: &str, column: Column) -> Result<()> {
        if name.is_empty() {
            return Err(Error::Argument {
                name: "name".into(),
                message: "column names must not be empty".into(),
            });
        }
        if let Column::Numeric(v) = &column {
            for (i, x) in v.iter().enumerate() {
                if let Some(x) = x
                    && !x.is_finite()
                {
                    let row = if i < self.row_ids.len() {
                        self.row_ids.get(i)
                    } else {
                        i + 1
                    };
                    return Err(Error::InvalidValue {
                        column: name.into(),
                        row,
                        value: x.to_string(),
                        reason: "not a finite number (use None for a missing value)".into(),
                    });
                }
            }
        }
        if self.columns.is_empty() && self.row_ids.is_empty() {
            self.row_ids = RowIds::sequential(column.len());
        } else if column.len() != self.nrows() {
            return Err(Error::LengthMismatch {
                name: name.into(),
                expected: self.nrows(),
                found: column.len(),
            });
        }
        self.names.push(name.to_string());
        self.columns.push(Arc::new(column));
        Ok(())
    }

    /// Replace a numeric column by a categorical one with the same values as levels
    /// (R's `factor(x)`): levels are the distinct numbers, sorted numerically, printed as R
    /// prints them (`1`, `2.5`).
    ///
    /// ```
    /// use securebase::Data;
    /// let mut data = Data::new().with_numeric("wave", vec![10.0, 2.0, 2.5])?;
    /// data.to_categorical("wave")?;
    /// assert_eq!(data.factor("wave")?.levels(), ["2", "2.5", "10"]);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownColumn`]; a column already categorical is left as it is.
    pub fn to_categorical(&mut self, name: &str) -> Result<()> {
        let i = self.index_of(name)?;
        if let Column::Numeric(v) = &*self.columns[i] {
            self.columns[i] = Arc::new(Column::Categorical(Factor::from_numbers(v)));
        }
        Ok(())
    }

    /// Value `i` of column `name` as text, for messages (`NA` if missing).
    pub(crate) fn value_text(&self, name: &str, i: usize) -> String {
        self.column(name)
            .map_or_else(|_| "?".into(), |c| c.value_text(i))
    }

    /// Replace the values of an existing column (same length; checked as
    /// [`Data::add_column`] checks them). The column keeps its place.
    ///
    /// ```
    /// use securebase::{Column, Data};
    /// let mut data = Data::new().with_numeric("x", vec![1.0, 2.0])?.with_numeric("y", vec![0.0, 1.0])?;
    /// data.replace_column("x", Column::Numeric(vec![Some(10.0), None].into()))?;
    /// assert_eq!(data.names(), ["x", "y"]);
    /// assert_eq!(data.numeric("x")?, [Some(10.0), None]);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownColumn`], [`Error::LengthMismatch`], [`Error::InvalidValue`].
    pub fn replace_column(&mut self, name: &str, column: Column) -> Result<()> {
        let i = self.index_of(name)?;
        let mut check = Data {
            names: vec![],
            columns: vec![],
            row_ids: self.row_ids.clone(),
            levels: None,
        };
        check.add_column(name, column)?;
        let old = std::mem::replace(
            &mut self.columns[i],
            check.columns.pop().unwrap_or_else(|| unreachable!("added")),
        );
        // A level column's new values must still nest the rows.
        if let Some(l) = self.levels.clone()
            && l.contains(name)
            && let Err(e) = self.check_levels(&l)
        {
            self.columns[i] = old;
            return Err(e);
        }
        Ok(())
    }

    /// Rename column `from` to `to`.
    ///
    /// ```
    /// use securebase::Data;
    /// let mut data = Data::new().with_numeric("x", vec![1.0])?.with_numeric("y", vec![2.0])?;
    /// data.rename("x", "anxiety")?;
    /// data.drop_columns(&["y"])?;
    /// assert_eq!(data.names(), ["anxiety"]);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownColumn`]; [`Error::DuplicateColumn`] if `to` is taken by another column;
    /// [`Error::Argument`] for an empty name.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        let i = self.index_of(from)?;
        if to.is_empty() {
            return Err(Error::Argument {
                name: "to".into(),
                message: "column names must not be empty".into(),
            });
        }
        if from != to && self.has_column(to) {
            return Err(Error::DuplicateColumn { name: to.into() });
        }
        self.names[i] = to.to_string();
        if let Some(l) = &mut self.levels {
            Arc::make_mut(l).rename(from, to);
        }
        Ok(())
    }

    /// Remove the named columns.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`] (nothing is removed then).
    pub fn drop_columns<S: AsRef<str>>(&mut self, names: &[S]) -> Result<()> {
        let idx: Vec<usize> = names
            .iter()
            .map(|n| self.index_of(n.as_ref()))
            .collect::<Result<_>>()?;
        if let Some(l) = self.levels()
            && let Some(&i) = idx.iter().find(|&&i| l.contains(&self.names[i]))
        {
            return Err(Error::Argument {
                name: "names".into(),
                message: format!(
                    "'{}' is a declared level column ({l}); remove the levels first (Data::set_levels(None))",
                    crate::error::clip(&self.names[i])
                ),
            });
        }
        let mut j = 0;
        let keep: Vec<bool> = (0..self.ncols()).map(|i| !idx.contains(&i)).collect();
        self.names.retain(|_| {
            j += 1;
            keep[j - 1]
        });
        j = 0;
        self.columns.retain(|_| {
            j += 1;
            keep[j - 1]
        });
        Ok(())
    }

    /// A data set of the named columns only, in that order, with the same rows and origins.
    ///
    /// ```
    /// use securebase::Data;
    /// let data = Data::new().with_numeric("x", vec![1.0])?.with_numeric("y", vec![2.0])?;
    /// assert_eq!(data.select_columns(&["y"])?.names(), ["y"]);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownColumn`]; [`Error::DuplicateColumn`] if a name is listed twice.
    pub fn select_columns<S: AsRef<str>>(&self, names: &[S]) -> Result<Data> {
        let mut out = Data {
            names: Vec::with_capacity(names.len()),
            columns: Vec::with_capacity(names.len()),
            row_ids: self.row_ids.clone(),
            levels: None,
        };
        for n in names {
            let n = n.as_ref();
            if out.has_column(n) {
                return Err(Error::DuplicateColumn { name: n.into() });
            }
            out.names.push(n.to_string());
            out.columns
                .push(Arc::clone(&self.columns[self.index_of(n)?]));
        }
        // The levels stay when their columns do.
        if let Some(l) = &self.levels
            && l.ids().iter().all(|i| out.has_column(i))
            && l.time_column().is_none_or(|t| out.has_column(t))
        {
            out.levels = Some(Arc::clone(l));
        }
        Ok(out)
    }

    /// Replace a categorical column by the numbers its labels spell (R's
    /// `as.numeric(as.character(f))`); a numeric column is left as it is.
    ///
    /// ```
    /// use securebase::Data;
    /// let mut data = Data::new().with_categorical("session", vec!["1", "10", "2"])?;
    /// data.to_numeric("session")?;
    /// assert_eq!(data.numeric("session")?, [Some(1.0), Some(10.0), Some(2.0)]);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownColumn`]; [`Error::InvalidValue`] naming the first row whose label is not
    /// a finite number.
    pub fn to_numeric(&mut self, name: &str) -> Result<()> {
        let i = self.index_of(name)?;
        if let Column::Categorical(f) = &*self.columns[i] {
            let parsed: Vec<Option<f64>> = f
                .levels()
                .iter()
                .map(|l| l.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
                .collect();
            let mut values = Vec::with_capacity(f.len());
            for (r, c) in f.codes().iter().enumerate() {
                values.push(match c {
                    None => None,
                    Some(c) => Some(parsed[*c as usize].ok_or_else(|| Error::InvalidValue {
                        column: name.into(),
                        row: self.row_ids.get(r),
                        value: f.levels()[*c as usize].clone(),
                        reason: "not a number, so the column cannot be made numeric".into(),
                    })?),
                });
            }
            self.columns[i] = Arc::new(Column::Numeric(values.into()));
        }
        Ok(())
    }

    /// The rows at `rows` (0-based positions in this data), in that order, keeping their origins.
    ///
    /// # Errors
    /// [`Error::Argument`] if a position is out of range.
    pub fn select_rows(&self, rows: &[usize]) -> Result<Data> {
        if let Some(&bad) = rows.iter().find(|&&r| r >= self.nrows()) {
            return Err(Error::Argument {
                name: "rows".into(),
                message: format!(
                    "row position {bad} is out of range (the data have {} rows)",
                    self.nrows()
                ),
            });
        }
        Ok(Data {
            names: self.names.clone(),
            columns: self
                .columns
                .iter()
                .map(|c| Arc::new(c.select(rows)))
                .collect(),
            row_ids: self.row_ids.select(rows),
            levels: self.levels.clone(),
        })
    }

    /// The rows for which `keep(position)` is true.
    pub fn filter<F: FnMut(usize) -> bool>(&self, mut keep: F) -> Data {
        let rows: Vec<usize> = (0..self.nrows()).filter(|&r| keep(r)).collect();
        Data {
            names: self.names.clone(),
            columns: self
                .columns
                .iter()
                .map(|c| Arc::new(c.select(&rows)))
                .collect(),
            row_ids: self.row_ids.select(&rows),
            levels: self.levels.clone(),
        }
    }

    /// Read a CSV file with a header row, with the default [`CsvOptions`]: the delimiter
    /// detected, `NA` and empty cells missing, each column's kind inferred. Columns whose every
    /// non-missing cell is a number are numeric, columns of text categorical; a column mixing
    /// the two is an error naming its rows and tokens (never a silent factor); whole numbers
    /// with leading zeros or more than 15 digits (IDs) keep their text. `NaN` and `Inf` are
    /// errors naming row and column. Use [`CsvOptions::read_path`] for other missing-value
    /// tokens, a decimal comma or declared column kinds, and for the report of what was chosen.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Csv`], [`Error::DuplicateColumn`], [`Error::InvalidValue`].
    #[cfg(feature = "csv")]
    pub fn from_csv_path<P: AsRef<std::path::Path>>(path: P) -> Result<Data> {
        CsvOptions::default().read_path(path).map(|(d, _)| d)
    }

    /// Write the data as CSV (header, `NA` for missing values); [`Data::from_csv_reader`]
    /// reads it back to an equal data set.
    ///
    /// # Errors
    /// [`Error::Csv`] if writing fails.
    #[cfg(feature = "csv")]
    pub fn write_csv<W: std::io::Write>(&self, writer: W) -> Result<()> {
        csv_io::write_csv(self, writer)
    }

    /// Read CSV text from any reader; see [`Data::from_csv_path`].
    ///
    /// # Errors
    /// As [`Data::from_csv_path`].
    #[cfg(feature = "csv")]
    pub fn from_csv_reader<R: std::io::Read>(reader: R) -> Result<Data> {
        csv_io::read_csv(reader)
    }
}
