//! The crate's one error type.
//!
//! Every message says what is wrong and where (column, row, term, or position in a formula), and
//! where possible what to do about it. Rows are reported 1-based, as a spreadsheet or R's
//! `read.csv` numbers data rows (the header is not counted).

use thiserror::Error;

/// Everything that can go wrong in `securebase`.
///
/// The enum is `#[non_exhaustive]`: new variants may appear in minor releases, so match with a
/// wildcard arm.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read.
    #[error("cannot read '{path}': {message}")]
    Io {
        /// The path as given.
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// A CSV file is malformed (ragged rows, bad quoting, no header).
    #[error("CSV error{}: {message}", .row.map(|r| format!(" at data row {r}")).unwrap_or_default())]
    Csv {
        /// 1-based data row, where known.
        row: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A column name was used that the data do not have.
    #[error("unknown column '{name}'{}", suggestion(.available))]
    UnknownColumn {
        /// The name asked for.
        name: String,
        /// The columns the data do have.
        available: Vec<String>,
    },
    /// Columns a key or analysis needs are absent from the data (all of them are listed).
    #[error("{context}: the data lack {} column{}: {}", .missing.len(), if .missing.len() == 1 { "" } else { "s" }, .missing.join(", "))]
    MissingColumns {
        /// What needed them (e.g. "key 'ECR-R'").
        context: String,
        /// The absent column names.
        missing: Vec<String>,
    },
    /// Two columns share a name.
    #[error("duplicate column name '{name}'")]
    DuplicateColumn {
        /// The repeated name.
        name: String,
    },
    /// A column has the wrong length for the data it is added to.
    #[error("column '{name}' has {found} values but the data have {expected} rows")]
    LengthMismatch {
        /// Column name.
        name: String,
        /// Rows in the data.
        expected: usize,
        /// Values supplied.
        found: usize,
    },
    /// A column is of the wrong kind for its use (e.g. a categorical response).
    #[error("column '{name}' is {found} but {expected} is needed{}", .context.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    ColumnType {
        /// Column name.
        name: String,
        /// What the use requires ("numeric", "categorical").
        expected: String,
        /// What the column is.
        found: String,
        /// Where it was used.
        context: Option<String>,
    },
    /// A value is not usable: NaN, infinite, out of range, not an integer.
    #[error("invalid value {value} in column '{column}' at row {row}: {reason}")]
    InvalidValue {
        /// Column name.
        column: String,
        /// 1-based data row.
        row: usize,
        /// The value as text.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A formula could not be parsed.
    #[error("malformed formula at position {position}: {message}\n  {formula}\n  {}^", " ".repeat(*.position))]
    Formula {
        /// The formula text.
        formula: String,
        /// 0-based character position of the problem.
        position: usize,
        /// What is wrong.
        message: String,
    },
    /// A model term cannot be estimated: aliased with earlier terms, or otherwise degenerate.
    #[error("term '{term}': {message}")]
    Term {
        /// The term's name as R would print it.
        term: String,
        /// What is wrong.
        message: String,
    },
    /// The data cannot support the model (too few rows, constant response, one-level factor).
    #[error("{0}")]
    Model(String),
    /// An argument given to a function is outside its domain.
    #[error("invalid argument '{name}': {message}")]
    Argument {
        /// The argument's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A numerical routine failed (e.g. a matrix that should be positive definite is not).
    #[error("numerical failure: {0}")]
    Numerical(String),
}

fn suggestion(available: &[String]) -> String {
    if available.is_empty() {
        String::new()
    } else if available.len() <= 12 {
        format!("; the data have: {}", available.join(", "))
    } else {
        format!(
            "; the data have {} columns, e.g. {}",
            available.len(),
            available[..12].join(", ")
        )
    }
}

/// `Result` with the crate's [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;
