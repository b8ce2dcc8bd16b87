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
    #[error("cannot read '{}': {}", clip(.path), clip_long(.message))]
    Io {
        /// The path as given.
        path: String,
        /// What went wrong (the operating system's message, or e.g. "is a directory").
        message: String,
        /// The underlying [`std::io::Error`], when there is one; also [`std::error::Error::source`].
        #[source]
        source: Option<Cause>,
    },
    /// A CSV file is malformed (ragged rows, bad quoting, no header).
    #[error("CSV error{}: {}", .row.map(|r| format!(" at data row {r}")).unwrap_or_default(), clip_long(.message))]
    Csv {
        /// 1-based data row, where known.
        row: Option<usize>,
        /// What is wrong.
        message: String,
        /// The underlying `csv::Error` or [`std::io::Error`], when there is one; also
        /// [`std::error::Error::source`].
        #[source]
        source: Option<Cause>,
    },
    /// A column name was used that the data do not have (in a formula: with its position).
    #[error("{}", unknown_column(&clip(.name), .available, .formula.as_deref(), *.position))]
    UnknownColumn {
        /// The name asked for.
        name: String,
        /// The columns the data do have.
        available: Vec<String>,
        /// The formula that used the name, if it came from one.
        formula: Option<String>,
        /// 0-based character position of the name in `formula`.
        position: Option<usize>,
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
    #[error("duplicate column name '{}'", clip(.name))]
    DuplicateColumn {
        /// The repeated name.
        name: String,
    },
    /// A column has the wrong length for the data it is added to.
    #[error("column '{}' has {found} values but the data have {expected} rows", clip(.name))]
    LengthMismatch {
        /// Column name.
        name: String,
        /// Rows in the data.
        expected: usize,
        /// Values supplied.
        found: usize,
    },
    /// A column is of the wrong kind for its use (e.g. a categorical response).
    #[error("column '{}' is {found} but {expected} is needed{}", clip(.name), .context.as_ref().map(|c| format!(" ({})", clip_long(c))).unwrap_or_default())]
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
    #[error("invalid value {} in column '{}' at row {row}: {}", clip(.value), clip(.column), clip_long(.reason))]
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
    #[error("term '{}': {}", clip(.term), clip_long(.message))]
    Term {
        /// The term's name as R would print it.
        term: String,
        /// What is wrong.
        message: String,
    },
    /// The data cannot support the model (too few rows, constant response, one-level factor).
    #[error("{}", clip_long(.0))]
    Model(String),
    /// An argument given to a function is outside its domain.
    #[error("invalid argument '{}': {}", clip(.name), clip_long(.message))]
    Argument {
        /// The argument's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A numerical routine failed (e.g. a matrix that should be positive definite is not).
    #[error("numerical failure: {}", clip_long(.0))]
    Numerical(String),
    /// An analysis does not fit the data's levels: a client-level outcome with a session-level
    /// predictor, a single-level analysis of nested rows, a client under two therapists, a
    /// baseline stored on some rows only. `kind` says which and `names` the variables or
    /// levels involved, so a program (or a command line) can word its own way out.
    #[error("{}", clip_long(.message))]
    Level {
        /// Which problem.
        kind: LevelProblem,
        /// The variables, columns or levels it concerns, the offending one first.
        names: Vec<String>,
        /// What is wrong and what to do, in the library's terms.
        message: String,
    },
    /// An analysis plan does not fit itself or the data: every problem, listed at once.
    #[error("the analysis plan has {} problem{}: {}", .problems.len(), if .problems.len() == 1 { "" } else { "s" }, numbered(.problems))]
    Plan {
        /// What is wrong, one entry per problem.
        problems: Vec<String>,
    },
}

/// The kinds of [`Error::Level`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LevelProblem {
    /// The analysis needs declared levels and the data have none.
    NotDeclared,
    /// An inner unit appears under two outer units (a client under two therapists).
    Crossed,
    /// The time column repeats a value within a unit.
    TimeRepeated,
    /// A variable varies within the units it was taken to describe.
    VariesWithin,
    /// The response is at a higher level than a predictor (a client-level outcome with a
    /// session-level predictor).
    ResponseAbovePredictor,
    /// A higher-level variable is stored on some rows of its units only.
    PartlyFilled,
    /// A single-level analysis of nested rows (mediation without a cluster).
    NestedRows,
    /// In a plan, a session-varying variable in a client-level model.
    SessionVarying,
    /// A single-level mediation whose predictor is constant within clusters while a mediator
    /// varies within them (the within- and between-cluster b paths blended).
    Blended,
}

/// The error underneath another (an I/O or CSV library error), shared so that [`enum@Error`] stays
/// `Clone`. Compare causes by their message; get the original with [`Cause::downcast_ref`].
#[derive(Debug, Clone)]
pub struct Cause(std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>);

impl Cause {
    /// Wrap an error.
    pub fn new<E: std::error::Error + Send + Sync + 'static>(error: E) -> Cause {
        Cause(std::sync::Arc::new(error))
    }

    /// The original error, if it is a `T`.
    ///
    /// ```
    /// use securebase::Data;
    /// let e = Data::from_csv_path("/no/such/file.csv").unwrap_err();
    /// let io = std::error::Error::source(&e)
    ///     .and_then(|s| s.downcast_ref::<securebase::error::Cause>())
    ///     .and_then(|c| c.downcast_ref::<std::io::Error>())
    ///     .unwrap();
    /// assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn downcast_ref<T: std::error::Error + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Cause {
    /// Equal when the messages are.
    fn eq(&self, other: &Cause) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Error {
    /// [`Error::Io`] for `path` from an I/O error, keeping it as the source.
    #[cfg(any(feature = "csv", feature = "serde"))]
    pub(crate) fn io(path: &std::path::Path, e: std::io::Error) -> Error {
        Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
            source: Some(Cause::new(e)),
        }
    }

    /// [`Error::Io`] without an underlying error (e.g. "is a directory").
    #[cfg(any(feature = "csv", feature = "serde"))]
    pub(crate) fn io_message(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Io {
            path: path.into(),
            message: message.into(),
            source: None,
        }
    }

    /// [`Error::Csv`] without an underlying error.
    #[cfg(feature = "csv")]
    pub(crate) fn csv(row: Option<usize>, message: impl Into<String>) -> Error {
        Error::Csv {
            row,
            message: message.into(),
            source: None,
        }
    }

    /// [`Error::UnknownColumn`] outside a formula.
    pub(crate) fn unknown_column(name: impl Into<String>, available: &[String]) -> Error {
        Error::UnknownColumn {
            name: name.into(),
            available: available.to_vec(),
            formula: None,
            position: None,
        }
    }

    /// A column-type error with where the column was used (e.g. "in term 'a:b'"); other
    /// errors as they are.
    pub(crate) fn in_context(self, context: impl Into<String>) -> Error {
        match self {
            Error::ColumnType {
                name,
                expected,
                found,
                ..
            } => Error::ColumnType {
                name,
                expected,
                found,
                context: Some(context.into()),
            },
            other => other,
        }
    }
}

/// Longest piece of user-supplied text (a cell, a name) a message repeats, in characters.
const CLIP_CHARS: usize = 80;

/// A user-supplied token as a message shows it: control characters escaped (`\u{1b}`), so a
/// cell cannot retitle or clear the terminal that prints the message, and text past
/// 80 characters cut, with the whole length said (`'xxxx…' (52428800 characters)`), so a
/// 50 MB cell does not become a 100 MB message.
pub fn clip(token: &str) -> String {
    clip_to(token, CLIP_CHARS)
}

/// [`clip`] for a whole message part that may quote several tokens: control characters escaped
/// (newlines kept, as messages use them for a formula's caret line) and the text cut at 2,000
/// characters.
pub(crate) fn clip_long(text: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&clip_to(line, 2000));
    }
    out
}

fn clip_to(token: &str, max: usize) -> String {
    let n = token.chars().count();
    if n <= max && !token.chars().any(char::is_control) {
        return token.to_string();
    }
    let mut out = String::new();
    for c in token.chars().take(max) {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    if n > max {
        out.push_str(&format!("… ({n} characters)"));
    }
    out
}

fn numbered(problems: &[String]) -> String {
    problems
        .iter()
        .enumerate()
        .map(|(i, p)| format!("({}) {}", i + 1, clip_long(p)))
        .collect::<Vec<_>>()
        .join("; ")
}

fn unknown_column(
    name: &str,
    available: &[String],
    formula: Option<&str>,
    position: Option<usize>,
) -> String {
    let mut s = format!("unknown column '{name}'");
    if let Some(f) = formula {
        s.push_str(&format!(" in formula '{f}'"));
    }
    if let Some(k) = closest(name, available.iter().map(String::as_str)) {
        s.push_str(&format!("; did you mean '{k}'?"));
    }
    s.push_str(&suggestion(available));
    s.push_str(&crate::data::delimiter_hint(available));
    if let (Some(f), Some(p)) = (formula, position) {
        s.push_str(&format!("\n  {f}\n  {}^", " ".repeat(p)));
    }
    s
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

/// Levenshtein distance between two short strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The known name closest to `name`, if it is close enough to be a likely typo.
pub(crate) fn closest<'a, I: IntoIterator<Item = &'a str>>(
    name: &str,
    known: I,
) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (edit_distance(&name.to_lowercase(), &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= (k.chars().count() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Parse JSON strictly (the types deny unknown fields), turning serde's message about an
/// unknown field or variant into one that names it and suggests the known one closest to it.
#[cfg(feature = "serde")]
pub(crate) fn from_json_strict<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &str,
) -> Result<T> {
    // A byte-order mark (Windows editors write one) is not part of the JSON.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_json::from_str(text).map_err(|e| {
        let msg = e.to_string();
        let hint = unknown_name_hint(&msg).unwrap_or_default();
        Error::Argument {
            name: what.to_string(),
            message: format!("not a valid {what} file: {msg}{hint}"),
        }
    })
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown variant"), a
/// "; did you mean 'a'?" suggestion.
#[cfg(feature = "serde")]
fn unknown_name_hint(msg: &str) -> Option<String> {
    let rest = msg
        .strip_prefix("unknown field `")
        .or_else(|| msg.strip_prefix("unknown variant `"))?;
    let (name, rest) = rest.split_once('`')?;
    let known: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    closest(name, known.iter().copied()).map(|k| format!("; did you mean '{k}'?"))
}

/// `Result` with the crate's [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_messages_are_clipped_and_escaped() {
        // A terminal escape (retitle, clear screen) is shown, not executed.
        let e = Error::InvalidValue {
            column: "x".into(),
            row: 2,
            value: "\u{1b}]0;pwned\u{7}\u{1b}[2J".into(),
            reason: "not a number".into(),
        };
        let msg = e.to_string();
        assert!(!msg.chars().any(|c| c.is_control()), "{msg:?}");
        assert!(msg.contains("\\u{1b}]0;pwned\\u{7}\\u{1b}[2J"), "{msg}");
        // A 50 MB cell: 80 characters and its length.
        let big = "a".repeat(50 << 20);
        let e = Error::DuplicateColumn { name: big.clone() };
        let msg = e.to_string();
        assert!(msg.len() < 200, "{}", msg.len());
        assert!(msg.contains("(52428800 characters)"), "{msg}");
        let e = Error::unknown_column(big, &["y".to_string()]);
        assert!(e.to_string().len() < 300);
        assert_eq!(clip("ecr01"), "ecr01");
        // Multi-line messages (a formula's caret) keep their lines.
        assert_eq!(clip_long("a\n  ^"), "a\n  ^");
    }

    #[test]
    fn typos_get_the_closest_known_name() {
        assert_eq!(
            closest("reversed", ["name", "items", "reverse"]),
            Some("reverse")
        );
        assert_eq!(
            closest("min_answerd", ["min_answered", "norms"]),
            Some("min_answered")
        );
        assert_eq!(closest("zzzzzz", ["name", "items"]), None);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_messages_get_the_closest_known_name() {
        let hint = unknown_name_hint(
            "unknown field `reversed`, expected one of `name`, `items`, `reverse` at line 3 column 20",
        );
        assert_eq!(hint.as_deref(), Some("; did you mean 'reverse'?"));
    }
}
