//! Reading CSV into [`Data`]: options, type inference that never coerces silently, and a report
//! of every choice made.
//!
//! The reader streams the file once, cell by cell, as bytes. Each column starts out numeric and
//! stays numeric while its cells are numbers or missing-value tokens. The rules:
//!
//! - a column whose every non-missing cell is a number is numeric;
//! - a column whose every non-missing cell is text is categorical;
//! - a column that mixes numbers and text is an **error** naming the column, the first rows and
//!   tokens, and the two ways out (declare the tokens missing, or declare the column
//!   categorical) — a stray `na`, `N/A` or `.` never turns a 1–5 item into a factor;
//! - a column of whole numbers written with a leading zero (`007`) or with more than 15 digits
//!   (18-digit client IDs, beyond the 2⁵³ an `f64` holds exactly) is read as categorical with
//!   its text as written, so `007` and `7` stay two groups and long IDs stay distinct; the
//!   report says so, and [`CsvOptions::column_kind`] overrides it;
//! - `NaN` and `Inf` in a numeric column are errors naming row and column.

use super::{Column, Data, Factor, NumericColumn};
use crate::error::{Cause, Error, Result};
use std::collections::HashMap;
use std::io::BufRead;

/// The kind a column is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ColumnKind {
    /// Numbers (with missing values).
    Numeric,
    /// Text labels (R's factor).
    Categorical,
}

impl ColumnKind {
    /// "numeric" or "categorical".
    pub fn name(self) -> &'static str {
        match self {
            ColumnKind::Numeric => "numeric",
            ColumnKind::Categorical => "categorical",
        }
    }
}

/// How to read a CSV file: missing-value tokens, delimiter, decimal comma, column types.
///
/// The defaults read what R's `read.csv` writes: `NA` and empty cells are missing, the delimiter
/// is detected (`,` `;` tab or `|`), the decimal mark is a point, and every column's kind is
/// inferred. The reader streams the file once, cell by cell, as bytes; the rules:
///
/// - a column whose every non-missing cell is a number is numeric;
/// - a column whose every non-missing cell is text is categorical;
/// - a column that mixes numbers and text is an **error** naming the column, the first rows and
///   tokens, and the two ways out (declare the tokens missing, or declare the column
///   categorical) — a stray `na`, `N/A` or `.` never turns a 1–5 item into a factor; so is a
///   column whose every value is a number written with a comma (`3,5`, `1,000`);
/// - a column of whole numbers written with a leading zero (`007`) or with more than 15 digits
///   (18-digit client IDs, beyond the 2⁵³ an `f64` holds exactly) is read as categorical with
///   its text as written, so `007` and `7` stay two groups and long IDs stay distinct; the
///   report says so, and [`CsvOptions::column_kind`] overrides it;
/// - `NaN` and `Inf` in a numeric column are errors naming row and column;
/// - a UTF-8 byte-order mark is dropped; R's empty first header (row names) is named `X`.
///
/// # Examples
///
/// ```
/// use securebase::data::{ColumnKind, CsvOptions};
/// // An SPSS export: semicolons, decimal commas, "." and -999 for missing values.
/// let text = "client;score;group\n007;3,5;1\n7;.;2\n012;-999;1\n";
/// let (data, report) = CsvOptions::new()
///     .na_tokens(["NA", ".", "-999"])
///     .decimal_comma(true)
///     .column_kind("group", ColumnKind::Categorical)
///     .read(text.as_bytes())?;
/// assert_eq!(report.delimiter, ';');
/// assert_eq!(data.numeric("score")?, [Some(3.5), None, None]);
/// // Client IDs keep their text: 007 and 7 are two clients.
/// assert_eq!(data.factor("client")?.levels(), ["007", "012", "7"]);
/// assert_eq!(report.column("client").unwrap().kind, ColumnKind::Categorical);
/// # Ok::<(), securebase::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct CsvOptions {
    na: Vec<String>,
    delimiter: Option<u8>,
    decimal_comma: bool,
    kinds: Vec<(String, ColumnKind)>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            na: vec!["NA".into()],
            delimiter: None,
            decimal_comma: false,
            kinds: Vec::new(),
        }
    }
}

/// What the reader decided about one column.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ColumnRead {
    /// Column name.
    pub name: String,
    /// The kind it was read as.
    pub kind: ColumnKind,
    /// Missing cells (missing-value tokens and empty cells).
    pub n_missing: usize,
    /// Whether the kind was declared ([`CsvOptions::column_kind`]) rather than inferred.
    pub declared: bool,
    /// Why an inferred kind is not the obvious one (e.g. IDs with leading zeros), if it is not.
    pub note: Option<String>,
}

/// What the reader did: the delimiter it used and how it read each column.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct CsvReport {
    /// The delimiter used.
    pub delimiter: char,
    /// Whether it was detected (rather than given).
    pub delimiter_detected: bool,
    /// Whether decimal commas were read.
    pub decimal_comma: bool,
    /// The missing-value tokens (besides empty cells).
    pub na_tokens: Vec<String>,
    /// Data rows read.
    pub nrows: usize,
    /// One entry per column, in file order.
    pub columns: Vec<ColumnRead>,
}

impl CsvReport {
    /// The entry for column `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnRead> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The choices worth telling a user, one line each: a detected delimiter other than a comma,
    /// and every column whose kind carries a note.
    pub fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.delimiter_detected && self.delimiter != ',' {
            out.push(format!(
                "delimiter detected: {}",
                delimiter_name(self.delimiter)
            ));
        }
        for c in &self.columns {
            if let Some(n) = &c.note {
                out.push(format!("column '{}': {n}", c.name));
            }
        }
        out
    }
}

fn delimiter_name(d: char) -> String {
    match d {
        '\t' => "tab".into(),
        ',' => "',' (comma)".into(),
        ';' => "';' (semicolon)".into(),
        other => format!("'{other}'"),
    }
}

impl CsvOptions {
    /// The defaults: `NA` and empty cells missing, delimiter detected, decimal point, kinds
    /// inferred.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tokens that mean a missing value (empty cells are always missing). Replaces the
    /// default `NA`; include it if the file uses it too. Tokens are compared after trimming
    /// spaces, case-sensitively.
    pub fn na_tokens<I, S>(mut self, tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.na = tokens
            .into_iter()
            .map(|t| t.as_ref().trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        self
    }

    /// Parse a comma-separated list of missing-value tokens, as the examples' `--na` flag takes
    /// it (`"NA,na,N/A,.,-999"`).
    pub fn na_list(self, list: &str) -> Self {
        self.na_tokens(list.split(','))
    }

    /// The delimiter (`b','`, `b';'`, `b'\t'`, …) instead of detecting it.
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = Some(delimiter);
        self
    }

    /// Read numbers written with a decimal comma (`3,5`), as European spreadsheets export them
    /// (with `;` as the delimiter). Cells with a point are then not numbers.
    pub fn decimal_comma(mut self, yes: bool) -> Self {
        self.decimal_comma = yes;
        self
    }

    /// Declare the kind of column `name` instead of inferring it.
    pub fn column_kind(mut self, name: &str, kind: ColumnKind) -> Self {
        self.kinds.retain(|(n, _)| n != name);
        self.kinds.push((name.to_string(), kind));
        self
    }

    /// Read a file.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be opened or read (a directory, a missing file); otherwise as
    /// [`CsvOptions::read`].
    pub fn read_path<P: AsRef<std::path::Path>>(&self, path: P) -> Result<(Data, CsvReport)> {
        let p = path.as_ref();
        let (file, len) = super::open_input(p)?;
        self.read_sized(file, len)
    }

    /// Read CSV text from any reader.
    ///
    /// # Errors
    /// [`Error::Csv`] for a file without a header or rows, ragged rows, a delimiter given as a
    /// multi-byte character, or text that is not UTF-8; [`Error::DuplicateColumn`];
    /// [`Error::UnknownColumn`] for a declared kind of a column the file lacks;
    /// [`Error::InvalidValue`] for `NaN`/`Inf`, and for a column that mixes numbers and text
    /// (naming rows and tokens and the two ways out).
    pub fn read<R: std::io::Read>(&self, reader: R) -> Result<(Data, CsvReport)> {
        self.read_sized(reader, None)
    }

    /// [`CsvOptions::read`] knowing the input's length in bytes (a file's): after the first
    /// rows the columns are sized for the rows the rest of the input will hold, instead of
    /// doubling as they grow (which leaves up to twice the memory allocated, and at the last
    /// doubling holds both copies).
    fn read_sized<R: std::io::Read>(
        &self,
        reader: R,
        len_hint: Option<u64>,
    ) -> Result<(Data, CsvReport)> {
        if self.decimal_comma && self.delimiter == Some(b',') {
            return Err(Error::Argument {
                name: "decimal_comma".into(),
                message: "a decimal comma needs another delimiter than ',' (e.g. ';')".into(),
            });
        }
        let reader = super::LineBound::new(reader, super::MAX_CSV_LINE);
        let mut buf = std::io::BufReader::with_capacity(1 << 16, reader);
        let (delimiter, detected) = match self.delimiter {
            Some(d) => (d, false),
            None => {
                let sample = buf.fill_buf().map_err(|e| Error::Csv {
                    row: None,
                    message: e.to_string(),
                    source: Some(Cause::new(e)),
                })?;
                (detect_delimiter(sample), true)
            }
        };
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .delimiter(delimiter)
            .from_reader(buf);
        let headers = read_header(&mut rdr)?;
        for (name, _) in &self.kinds {
            if !headers.contains(name) {
                return Err(Error::unknown_column(name.clone(), &headers));
            }
        }
        let mut builders: Vec<ColumnBuilder> = headers
            .iter()
            .map(|h| {
                let declared = self.kinds.iter().find(|(n, _)| n == h).map(|(_, k)| *k);
                ColumnBuilder::new(declared)
            })
            .collect();
        let na: Vec<&[u8]> = self.na.iter().map(|s| s.as_bytes()).collect();
        let mut record = csv::ByteRecord::new();
        let mut row = 0usize;
        let mut scratch = Vec::new();
        loop {
            match rdr.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    return Err(Error::Csv {
                        row: Some(row + 1),
                        message: csv_message(&e, delimiter),
                        source: Some(Cause::new(e)),
                    });
                }
            }
            row += 1;
            if row == SIZE_AFTER_ROWS
                && let Some(len) = len_hint
            {
                let read = rdr.position().byte().max(1);
                // Rows estimated from the bytes per row so far, 5% over; a wrong guess only
                // means the vectors grow (or keep some slack) as they would have anyway.
                let est = (len as f64 / read as f64 * row as f64 * 1.05) as usize + 16;
                let est = est.min(len as usize);
                for b in &mut builders {
                    b.reserve_total(est);
                }
            }
            for (j, (b, cell)) in builders.iter_mut().zip(record.iter()).enumerate() {
                // Surrounding ASCII whitespace is not part of a value (csv's `Trim::All`, here
                // only on the cells: trimming whole records measured 4% of a large read).
                let cell = cell.trim_ascii();
                let missing = cell.is_empty() || na.contains(&cell);
                b.push(
                    cell,
                    missing,
                    row,
                    &headers[j],
                    self.decimal_comma,
                    &mut scratch,
                )?;
            }
        }
        if let Some(len) = len_hint {
            let read = rdr.position().byte();
            if read < len {
                return Err(Error::csv(
                    Some(row),
                    format!(
                        "the file was {len} bytes when opened but ended after {read}: it shrank while it was read (truncated or rewritten by another program); read it again once it is complete"
                    ),
                ));
            }
        }
        if row == 0 {
            return Err(Error::csv(None, "the file has a header but no data rows"));
        }
        let mut data = Data::new();
        let mut columns = Vec::with_capacity(headers.len());
        for (name, b) in headers.iter().zip(builders) {
            let (column, read) = b.finish(name, self)?;
            data.push_column(name, column)?;
            columns.push(read);
        }
        Ok((
            data,
            CsvReport {
                delimiter: delimiter as char,
                delimiter_detected: detected,
                decimal_comma: self.decimal_comma,
                na_tokens: self.na.clone(),
                nrows: row,
                columns,
            },
        ))
    }
}

fn csv_message(e: &csv::Error, delimiter: u8) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "this row has {len} fields but the header has {expected_len} (delimiter {})",
            delimiter_name(delimiter as char)
        ),
        csv::ErrorKind::Utf8 { .. } => {
            "the text is not valid UTF-8 (save the file as UTF-8)".into()
        }
        _ => e.to_string(),
    }
}

fn read_header<R: std::io::Read>(rdr: &mut csv::Reader<R>) -> Result<Vec<String>> {
    let raw = rdr
        .byte_headers()
        .map_err(|e| Error::Csv {
            row: None,
            message: e.to_string(),
            source: Some(Cause::new(e)),
        })?
        .clone();
    let mut headers = Vec::with_capacity(raw.len());
    for (j, h) in raw.iter().enumerate() {
        let mut h = std::str::from_utf8(h).map_err(|e| Error::Csv {
            row: None,
            message: format!(
                "header field {} is not valid UTF-8 (save the file as UTF-8)",
                j + 1
            ),
            source: Some(Cause::new(e)),
        })?;
        if j == 0 {
            h = h.trim_start_matches('\u{feff}').trim();
        }
        h = h.trim_ascii();
        headers.push(h.to_string());
    }
    if headers.is_empty() || headers.iter().all(String::is_empty) {
        return Err(Error::csv(None, "the file has no header row"));
    }
    // R's write.csv writes an empty first header above the row names; read.csv calls it "X".
    if headers[0].is_empty() && !headers[1..].iter().any(|h| h == "X") {
        headers[0] = "X".into();
    }
    if let Some(j) = headers.iter().position(String::is_empty) {
        return Err(Error::csv(
            None,
            format!("header field {} is empty: every column needs a name", j + 1),
        ));
    }
    // Duplicates by a hash set: a linear check per column made 100,000 columns take 17 s.
    let mut seen = std::collections::HashSet::with_capacity(headers.len());
    for h in &headers {
        if !seen.insert(h.as_str()) {
            return Err(Error::DuplicateColumn { name: h.clone() });
        }
    }
    Ok(headers)
}

/// Pick the delimiter whose count per line is the same, and largest, over the sampled lines.
fn detect_delimiter(sample: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    let mut lines: Vec<&[u8]> = sample.split(|&b| b == b'\n').collect();
    if lines.len() > 1 {
        lines.pop(); // possibly cut short by the sample's end
    }
    lines.retain(|l| !l.iter().all(u8::is_ascii_whitespace));
    lines.truncate(50);
    let count = |line: &[u8], d: u8| -> usize {
        let mut quoted = false;
        line.iter()
            .filter(|&&b| {
                if b == b'"' {
                    quoted = !quoted;
                }
                !quoted && b == d
            })
            .count()
    };
    let mut best = (b',', 0usize, false);
    for d in CANDIDATES {
        let counts: Vec<usize> = lines.iter().map(|l| count(l, d)).collect();
        let Some(&head) = counts.first() else {
            continue;
        };
        let consistent = counts.iter().all(|&c| c == head);
        let better = match (consistent, best.2) {
            (true, false) => head > 0,
            (false, true) => false,
            _ => head > best.1,
        };
        if better {
            best = (d, head, consistent);
        }
    }
    best.0
}

/// Whether a cell is a number, and if so its value.
enum Cell {
    Number { value: f64, int_id: bool, int: bool },
    NonFinite,
    Text,
}

/// Classify a trimmed cell. Numbers are `[+-]digits[.digits][e[+-]digits]` (or `.5`); `NaN`,
/// `Inf`, `Infinity` (any case, signed) are numbers that are not finite.
fn classify(cell: &[u8], decimal_comma: bool, scratch: &mut Vec<u8>) -> Cell {
    let bytes: &[u8] = if decimal_comma {
        if cell.contains(&b'.') {
            return Cell::Text;
        }
        scratch.clear();
        scratch.extend(cell.iter().map(|&b| if b == b',' { b'.' } else { b }));
        scratch
    } else {
        cell
    };
    let (sign, body) = match bytes.first() {
        Some(b'+' | b'-') => (1, &bytes[1..]),
        _ => (0, bytes),
    };
    let lower = |s: &[u8], word: &str| s.eq_ignore_ascii_case(word.as_bytes());
    if lower(body, "nan") || lower(body, "inf") || lower(body, "infinity") {
        return Cell::NonFinite;
    }
    let mut i = 0;
    // The digits as an integer mantissa (exact while it stays below 2^53).
    let mut mantissa: u64 = 0;
    let mut digits = |i: &mut usize| {
        let s = *i;
        while *i < body.len() && body[*i].is_ascii_digit() {
            mantissa = mantissa
                .saturating_mul(10)
                .saturating_add(u64::from(body[*i] - b'0'));
            *i += 1;
        }
        *i - s
    };
    let int_digits = digits(&mut i);
    let mut frac_digits = 0;
    let mut int = true;
    if i < body.len() && body[i] == b'.' {
        i += 1;
        int = false;
        frac_digits = digits(&mut i);
    }
    if int_digits + frac_digits == 0 {
        return Cell::Text;
    }
    if i < body.len() && (body[i] == b'e' || body[i] == b'E') {
        int = false;
        i += 1;
        if i < body.len() && (body[i] == b'+' || body[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return Cell::Text;
        }
    }
    if i != body.len() {
        return Cell::Text;
    }
    // Clinger's fast path: a mantissa below 2^53 and at most 22 decimals (no exponent) is
    // m / 10^k with both operands exact, so one IEEE division gives the correctly rounded
    // value — the same number `str::parse` returns, without re-reading the text.
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    if i == int_digits + usize::from(!int) + frac_digits
        && mantissa < (1u64 << 53)
        && frac_digits <= 22
        && int_digits <= 19
    {
        let magnitude = mantissa as f64 / POW10[frac_digits];
        let value = if bytes[0] == b'-' {
            -magnitude
        } else {
            magnitude
        };
        return Cell::Number {
            value,
            int_id: int && ((int_digits > 1 && body[0] == b'0') || int_digits > 15) && sign <= 1,
            int,
        };
    }
    let text = std::str::from_utf8(bytes).unwrap_or_default();
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Cell::Number {
            value,
            // An ID, not a quantity: a leading zero (007) or more digits than f64 holds exactly.
            int_id: int && ((int_digits > 1 && body[0] == b'0') || int_digits > 15) && sign <= 1,
            int,
        },
        _ => Cell::NonFinite,
    }
}

/// A column as it streams in.
enum ColumnBuilder {
    Numeric {
        values: NumericColumn,
        declared: bool,
        /// Every non-missing cell so far was a whole number written canonically.
        all_int: bool,
        other: Tokens,
        /// How many of `other` would be numbers with a decimal comma (`5,5`).
        comma_like: usize,
    },
    Text {
        codes: Vec<Option<u32>>,
        index: HashMap<Box<[u8]>, u32>,
        labels: Vec<String>,
        declared: bool,
        /// Why whole numbers were kept as text (IDs).
        id_reason: Option<String>,
        numbers: Tokens,
        texts: Tokens,
        /// Text cells that would be numbers with a decimal comma.
        comma_numbers: Tokens,
        /// Text cells that are numbers with a decimal point (read with decimal commas).
        point_numbers: Tokens,
    },
}

/// A count of cells of one sort, with the first few (row, text) examples.
#[derive(Default)]
struct Tokens {
    count: usize,
    examples: Vec<(usize, String)>,
}

impl Tokens {
    fn add(&mut self, row: usize, cell: &[u8]) {
        self.count += 1;
        if self.examples.len() < 4 {
            // Kept clipped: a message repeats examples, and a cell may be megabytes long.
            let t = crate::error::clip(&String::from_utf8_lossy(cell));
            if !self.examples.iter().any(|(_, e)| *e == t) {
                self.examples.push((row, t));
            }
        }
    }

    fn describe(&self) -> String {
        let ex: Vec<String> = self
            .examples
            .iter()
            .map(|(r, t)| format!("'{t}' (row {r})"))
            .collect();
        format!(
            "{} row{}, e.g. {}",
            self.count,
            if self.count == 1 { "" } else { "s" },
            ex.join(", ")
        )
    }
}

/// After this many rows of a file the columns are sized for the whole file.
const SIZE_AFTER_ROWS: usize = 4096;

impl ColumnBuilder {
    /// Room for `total` values in all.
    fn reserve_total(&mut self, total: usize) {
        match self {
            // An estimate, never a requirement: if the room cannot be had (a file whose first
            // rows are much shorter than the rest), the column grows as it would anyway.
            ColumnBuilder::Numeric { values, .. } => {
                let _ = values.try_reserve_exact(total.saturating_sub(values.len()));
            }
            ColumnBuilder::Text { codes, .. } => {
                let _ = codes.try_reserve_exact(total.saturating_sub(codes.len()));
            }
        }
    }

    fn new(declared: Option<ColumnKind>) -> Self {
        match declared {
            Some(ColumnKind::Categorical) => Self::text(true),
            Some(ColumnKind::Numeric) => ColumnBuilder::Numeric {
                values: NumericColumn::new(),
                declared: true,
                all_int: true,
                other: Tokens::default(),
                comma_like: 0,
            },
            None => ColumnBuilder::Numeric {
                values: NumericColumn::new(),
                declared: false,
                all_int: true,
                other: Tokens::default(),
                comma_like: 0,
            },
        }
    }

    fn text(declared: bool) -> Self {
        ColumnBuilder::Text {
            codes: Vec::new(),
            index: HashMap::new(),
            labels: Vec::new(),
            declared,
            id_reason: None,
            numbers: Tokens::default(),
            texts: Tokens::default(),
            comma_numbers: Tokens::default(),
            point_numbers: Tokens::default(),
        }
    }

    /// Switch an undeclared numeric column to text. Its earlier cells were missing or (for
    /// IDs) whole numbers written canonically, so their text is recovered exactly.
    fn switch_to_text(&mut self, id_reason: Option<String>) {
        let ColumnBuilder::Numeric { values, .. } = self else {
            return;
        };
        let values = std::mem::take(values);
        let mut t = Self::text(false);
        if let ColumnBuilder::Text {
            codes,
            index,
            labels,
            id_reason: reason,
            ..
        } = &mut t
        {
            *reason = id_reason;
            codes.reserve(values.len());
            for v in values.iter() {
                codes.push(v.map(|x| {
                    let s = format!("{}", x as i64);
                    intern(index, labels, s.as_bytes())
                }));
            }
        }
        *self = t;
    }

    fn push(
        &mut self,
        cell: &[u8],
        missing: bool,
        row: usize,
        column: &str,
        decimal_comma: bool,
        scratch: &mut Vec<u8>,
    ) -> Result<()> {
        if let ColumnBuilder::Numeric {
            values,
            declared,
            all_int,
            other,
            comma_like,
        } = self
        {
            if missing {
                values.push(None);
                return Ok(());
            }
            match classify(cell, decimal_comma, scratch) {
                Cell::Number { value, int_id, int } => {
                    if int_id && *all_int && !*declared && other.count == 0 {
                        let text = String::from_utf8_lossy(cell);
                        let why = if text.trim_start_matches(['-', '+']).starts_with('0') {
                            "has a leading zero"
                        } else {
                            "has more digits than a number holds exactly"
                        };
                        self.switch_to_text(Some(format!(
                            "read as categorical (IDs keep their text): '{text}' at row {row} {why}; declare the column numeric to read numbers"
                        )));
                        return self.push(cell, missing, row, column, decimal_comma, scratch);
                    }
                    *all_int &= int && !int_id;
                    values.push(Some(value));
                }
                // Also in the first row: `1e309` or `NaN` there was read as the start of a text
                // column.
                Cell::NonFinite => {
                    return Err(Error::InvalidValue {
                        column: column.to_string(),
                        row,
                        value: String::from_utf8_lossy(cell).into_owned(),
                        reason: format!(
                            "not a finite number (write NA or leave the cell empty for a missing value{})",
                            if *declared {
                                String::new()
                            } else {
                                format!(
                                    ", or declare the column categorical: --categorical {column}"
                                )
                            }
                        ),
                    });
                }
                Cell::Text => {
                    if *declared || values.n_missing() < values.len() {
                        other.add(row, cell);
                        if !decimal_comma && looks_decimal_comma(cell) {
                            *comma_like += 1;
                        }
                        values.push(None);
                    } else {
                        // No number yet: the column is text.
                        self.switch_to_text(None);
                        return self.push(cell, missing, row, column, decimal_comma, scratch);
                    }
                }
            }
            return Ok(());
        }
        let ColumnBuilder::Text {
            codes,
            index,
            labels,
            numbers,
            texts,
            comma_numbers,
            point_numbers,
            ..
        } = self
        else {
            unreachable!("two variants")
        };
        if missing {
            codes.push(None);
            return Ok(());
        }
        if std::str::from_utf8(cell).is_err() {
            return Err(Error::InvalidValue {
                column: column.to_string(),
                row,
                value: String::from_utf8_lossy(cell).into_owned(),
                reason: "the text is not valid UTF-8 (save the file as UTF-8)".into(),
            });
        }
        match classify(cell, decimal_comma, scratch) {
            Cell::Number { .. } => numbers.add(row, cell),
            _ => {
                texts.add(row, cell);
                if !decimal_comma && looks_decimal_comma(cell) {
                    comma_numbers.add(row, cell);
                }
                if decimal_comma && matches!(classify(cell, false, scratch), Cell::Number { .. }) {
                    point_numbers.add(row, cell);
                }
            }
        }
        codes.push(Some(intern(index, labels, cell)));
        Ok(())
    }

    fn finish(self, name: &str, opts: &CsvOptions) -> Result<(Column, ColumnRead)> {
        let declare = |tokens: &Tokens| {
            format!(
                "declare them missing (CsvOptions::na_tokens, --na \"{}\") or declare the column categorical (CsvOptions::column_kind, --categorical {name})",
                na_suggestion(opts, tokens)
            )
        };
        match self {
            ColumnBuilder::Numeric {
                values,
                declared,
                other,
                comma_like,
                ..
            } => {
                if other.count > 0 {
                    let n_numbers = values.len() - values.n_missing();
                    let (row, value) = other.examples[0].clone();
                    // Every offending cell (not only the examples shown) a comma decimal.
                    if !opts.decimal_comma && comma_like == other.count {
                        return Err(Error::InvalidValue {
                            column: name.to_string(),
                            row,
                            value: format!("'{value}'"),
                            reason: format!(
                                "the column holds numbers in {n_numbers} rows and numbers written with a comma in {}: read decimal commas with CsvOptions::decimal_comma (--decimal-comma{}), or remove thousands separators",
                                other.describe(),
                                if opts.delimiter == Some(b',') {
                                    ", with a ';' or tab delimiter"
                                } else {
                                    ""
                                }
                            ),
                        });
                    }
                    let (declared_text, way_out) = if declared {
                        (
                            " (declared numeric)",
                            format!(
                                "declare the text missing (CsvOptions::na_tokens, --na \"{}\")",
                                na_suggestion(opts, &other)
                            ),
                        )
                    } else {
                        ("", declare(&other))
                    };
                    return Err(Error::InvalidValue {
                        column: name.to_string(),
                        row,
                        value: format!("'{value}'"),
                        reason: format!(
                            "the column{declared_text} holds numbers in {n_numbers} rows but text in {}; {way_out}",
                            other.describe(),
                        ),
                    });
                }
                let n_missing = values.n_missing();
                // The room reserved from the first rows' estimate (5% over) is given back.
                let mut values = values;
                values.shrink_to_fit();
                Ok((
                    Column::Numeric(values),
                    ColumnRead {
                        name: name.to_string(),
                        kind: ColumnKind::Numeric,
                        n_missing,
                        declared,
                        note: None,
                    },
                ))
            }
            ColumnBuilder::Text {
                codes,
                labels,
                declared,
                id_reason,
                numbers,
                texts,
                comma_numbers,
                point_numbers,
                ..
            } => {
                if !declared && id_reason.is_none() && numbers.count > 0 && texts.count > 0 {
                    let (row, value) = if numbers.count <= texts.count {
                        numbers.examples[0].clone()
                    } else {
                        texts.examples[0].clone()
                    };
                    return Err(Error::InvalidValue {
                        column: name.to_string(),
                        row,
                        value: format!("'{value}'"),
                        reason: format!(
                            "the column mixes numbers ({}) and text ({}); {}",
                            numbers.describe(),
                            texts.describe(),
                            declare(&texts)
                        ),
                    });
                }
                if !declared
                    && !opts.decimal_comma
                    && texts.count > 0
                    && comma_numbers.count == texts.count
                {
                    let (row, value) = comma_numbers.examples[0].clone();
                    return Err(Error::InvalidValue {
                        column: name.to_string(),
                        row,
                        value: format!("'{value}'"),
                        reason: format!(
                            "every value is a number written with a comma ({}): read decimal commas with CsvOptions::decimal_comma (--decimal-comma, with a ';' or tab delimiter), remove thousands separators, or declare the column categorical (--categorical {name})",
                            comma_numbers.describe()
                        ),
                    });
                }
                if !declared
                    && opts.decimal_comma
                    && texts.count > 0
                    && point_numbers.count == texts.count
                {
                    let (row, value) = point_numbers.examples[0].clone();
                    return Err(Error::InvalidValue {
                        column: name.to_string(),
                        row,
                        value: format!("'{value}'"),
                        reason: format!(
                            "every value is a number written with a decimal point ({}), but the file is read with decimal commas (CsvOptions::decimal_comma, --decimal-comma): read it without --decimal-comma, or declare the column categorical (--categorical {name})",
                            point_numbers.describe()
                        ),
                    });
                }
                let n_missing = codes.iter().filter(|c| c.is_none()).count();
                let mut codes = codes;
                codes.shrink_to_fit();
                Ok((
                    Column::Categorical(Factor::from_labels(codes, labels)),
                    ColumnRead {
                        name: name.to_string(),
                        kind: ColumnKind::Categorical,
                        n_missing,
                        declared,
                        note: id_reason,
                    },
                ))
            }
        }
    }
}

/// The missing-value tokens to suggest: those in use plus the offending ones.
fn na_suggestion(opts: &CsvOptions, tokens: &Tokens) -> String {
    let mut toks: Vec<String> = opts.na.clone();
    for (_, t) in &tokens.examples {
        if !toks.contains(t) {
            toks.push(t.clone());
        }
    }
    toks.join(",")
}

/// `3,5` or `1,000`: a number once its one comma is read as a decimal point.
fn looks_decimal_comma(cell: &[u8]) -> bool {
    cell.iter().filter(|&&b| b == b',').count() == 1
        && matches!(classify(cell, true, &mut Vec::new()), Cell::Number { .. })
}

fn intern(index: &mut HashMap<Box<[u8]>, u32>, labels: &mut Vec<String>, cell: &[u8]) -> u32 {
    if let Some(&c) = index.get(cell) {
        return c;
    }
    let c = labels.len() as u32;
    labels.push(String::from_utf8_lossy(cell).into_owned());
    index.insert(cell.into(), c);
    c
}

pub(super) fn read_csv<R: std::io::Read>(reader: R) -> Result<Data> {
    CsvOptions::default().read(reader).map(|(d, _)| d)
}

/// Write a data set as CSV: a header, numbers in their shortest round-trip form, `NA` for
/// missing values, categorical labels quoted as needed.
pub(super) fn write_csv<W: std::io::Write>(data: &Data, writer: W) -> Result<()> {
    let mut w = csv::Writer::from_writer(writer);
    let err = |e: csv::Error| Error::Csv {
        row: None,
        message: e.to_string(),
        source: Some(Cause::new(e)),
    };
    w.write_record(data.names()).map_err(err)?;
    let cols: Vec<&Column> = data
        .names()
        .iter()
        .map(|n| data.column(n))
        .collect::<Result<_>>()?;
    for r in 0..data.nrows() {
        let rec: Vec<String> = cols
            .iter()
            .map(|c| match c {
                Column::Numeric(v) => v.get(r).map_or("NA".to_string(), |x| x.to_string()),
                Column::Categorical(f) => f.label(r).map_or("NA".to_string(), str::to_string),
            })
            .collect();
        w.write_record(&rec).map_err(err)?;
    }
    w.flush().map_err(|e| Error::Csv {
        row: None,
        message: e.to_string(),
        source: Some(Cause::new(e)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Data> {
        Data::from_csv_reader(text.as_bytes())
    }

    /// Whitespace around headers and cells (quoted or not) is not part of them; inside a quoted
    /// label it is kept.
    #[test]
    fn surrounding_whitespace_is_trimmed() {
        let d = read(" y ,\tg\t, n\n 1.5 , a ,\" 3\"\n2,\" b c \",4 \n").unwrap();
        assert_eq!(d.names(), ["y", "g", "n"]);
        assert_eq!(d.numeric("y").unwrap(), [Some(1.5), Some(2.0)]);
        assert_eq!(d.numeric("n").unwrap(), [Some(3.0), Some(4.0)]);
        assert_eq!(d.factor("g").unwrap().levels(), ["a", "b c"]);
    }

    /// The fast path for short decimals gives exactly the value `str::parse` gives (bit for
    /// bit), over random mantissas, decimal places and signs, and the edge cases.
    #[test]
    fn fast_decimal_path_equals_str_parse() {
        let mut rng = crate::rng::Rng::new(42);
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "0.0",
            "-0.0",
            ".5",
            "5.",
            "-.25",
            "+3.5",
            "9007199254740991",
            "9007199254740992",
            "9007199254740993",
            "0.1",
            "0.3",
            "123456789012.3456789",
            "1.0000000000000000000001",
            "0.0000000000000000000001",
            "17.000000",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for _ in 0..20_000 {
            let m = (rng.uniform() * 2f64.powi(55)) as u64 >> rng.index(50);
            let digits = m.to_string();
            let k = rng.index(digits.len() + 3);
            let text = if k >= digits.len() {
                format!("0.{}{digits}", "0".repeat(k - digits.len()))
            } else {
                format!(
                    "{}.{}",
                    &digits[..digits.len() - k],
                    &digits[digits.len() - k..]
                )
            };
            let sign = ["", "-", "+"][rng.index(3)];
            texts.push(format!("{sign}{text}"));
        }
        let mut scratch = Vec::new();
        for t in &texts {
            let expect: f64 = t.parse().unwrap();
            match classify(t.as_bytes(), false, &mut scratch) {
                Cell::Number { value, .. } => {
                    assert_eq!(
                        value.to_bits(),
                        expect.to_bits(),
                        "{t}: {value} vs {expect}"
                    )
                }
                _ => panic!("{t} not a number"),
            }
        }
    }

    #[test]
    fn infers_types_and_missing() {
        let d = read("y,g,x\n1.5,a,NA\n2,b,3\n,a,4\n").unwrap();
        assert_eq!(d.numeric("y").unwrap(), [Some(1.5), Some(2.0), None]);
        assert_eq!(d.factor("g").unwrap().levels(), ["a", "b"]);
        assert_eq!(d.numeric("x").unwrap(), [None, Some(3.0), Some(4.0)]);
    }

    #[test]
    fn nan_is_an_error_with_row_and_column() {
        let e = read("y,x\n1,2\n2,NaN\n").unwrap_err();
        assert!(
            matches!(e, Error::InvalidValue { ref column, row: 2, .. } if column == "x"),
            "{e}"
        );
        // In the first row too (it was read as the start of a text column).
        for tok in ["1e309", "NaN", "-Inf"] {
            let e = read(&format!("y,x\n1,{tok}\n2,3\n")).unwrap_err();
            assert!(
                matches!(e, Error::InvalidValue { ref column, row: 1, .. } if column == "x"),
                "{tok}: {e}"
            );
            assert!(e.to_string().contains("not a finite number"), "{e}");
        }
    }

    #[test]
    fn duplicate_header_and_ragged_rows() {
        let e = read("y,y\n1,2\n").unwrap_err();
        assert!(matches!(e, Error::DuplicateColumn { .. }));
        let e = read("y,x\n1,2\n3\n").unwrap_err();
        assert!(matches!(e, Error::Csv { row: Some(2), .. }), "{e}");
        assert!(
            e.to_string().contains("1 fields but the header has 2"),
            "{e}"
        );
    }

    #[test]
    fn numbers_classified_by_their_text() {
        let mut s = Vec::new();
        for (t, num) in [
            ("1", true),
            ("-2.5", true),
            (".5", true),
            ("5.", true),
            ("1e-3", true),
            ("+4", true),
            ("1e", false),
            ("e5", false),
            ("1,000", false),
            ("0x1A", false),
            ("Nan", false),
            ("", false),
            ("-", false),
            (".", false),
        ] {
            let is_num = matches!(classify(t.as_bytes(), false, &mut s), Cell::Number { .. });
            assert_eq!(is_num, num, "{t}");
        }
        assert!(matches!(
            classify(b"3,25", true, &mut s),
            Cell::Number { value, .. } if value == 3.25
        ));
    }

    #[test]
    fn stray_tokens_in_a_numeric_column_are_an_error_not_a_factor() {
        for tok in ["na", "N/A", ".", "\"1,000\""] {
            let text = format!("item,g\n1,a\n5,b\n{tok},a\n3,b\n");
            let e = read(&text).unwrap_err();
            let msg = e.to_string();
            assert!(
                matches!(&e, Error::InvalidValue { column, row: 3, .. } if column == "item"),
                "{tok}: {msg}"
            );
            assert!(msg.contains("numbers in 3 rows"), "{msg}");
            // A number written with a comma is never proposed as a missing-value token.
            if tok.contains(',') {
                assert!(
                    msg.contains("--decimal-comma") && !msg.contains("--na"),
                    "{msg}"
                );
            } else {
                assert!(
                    msg.contains("--na") && msg.contains("--categorical item"),
                    "{msg}"
                );
            }
        }
        // Declared missing: read as numbers.
        let (d, rep) = CsvOptions::new()
            .na_list("NA,na,N/A,.")
            .read("item\n1\nna\n.\n4\n".as_bytes())
            .unwrap();
        assert_eq!(
            d.numeric("item").unwrap(),
            [Some(1.0), None, None, Some(4.0)]
        );
        assert_eq!(rep.column("item").unwrap().n_missing, 2);
        // Declared categorical: a factor with every label.
        let (d, _) = CsvOptions::new()
            .column_kind("item", ColumnKind::Categorical)
            .read("item\n1\nna\n".as_bytes())
            .unwrap();
        assert_eq!(d.factor("item").unwrap().levels(), ["1", "na"]);
    }

    #[test]
    fn text_first_then_numbers_is_also_an_error() {
        let e = read("x\n.\n.\n2\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("mixes numbers"), "{msg}");
        assert!(
            msg.contains("'.' (row 1)") && msg.contains("'2' (row 3)"),
            "{msg}"
        );
    }

    #[test]
    fn ids_keep_their_text() {
        let (d, rep) = CsvOptions::new()
            .read("id,y\n7,1\n007,2\n123456789012345678,3\n123456789012345679,4\n".as_bytes())
            .unwrap();
        let f = d.factor("id").unwrap();
        assert_eq!(f.levels().len(), 4);
        assert_eq!(f.label(1), Some("007"));
        assert_eq!(f.label(3), Some("123456789012345679"));
        assert!(rep.notes()[0].contains("leading zero"), "{:?}", rep.notes());
        // Declared numeric: numbers (007 is 7).
        let (d, _) = CsvOptions::new()
            .column_kind("id", ColumnKind::Numeric)
            .read("id\n7\n007\n".as_bytes())
            .unwrap();
        assert_eq!(d.numeric("id").unwrap(), [Some(7.0), Some(7.0)]);
        // Long IDs alone are distinct too.
        let d = read("id\n123456789012345678\n123456789012345679\n").unwrap();
        assert_eq!(d.factor("id").unwrap().levels().len(), 2);
        // A zero in a column of decimals is a number.
        let d = read("x\n0.5\n0\n00.5\n").unwrap();
        assert_eq!(d.numeric("x").unwrap(), [Some(0.5), Some(0.0), Some(0.5)]);
    }

    #[test]
    fn delimiters_detected_and_reported() {
        let (d, rep) = CsvOptions::new()
            .read("y;x;g\n1;2;a\n3;4;b\n".as_bytes())
            .unwrap();
        assert_eq!(d.names(), ["y", "x", "g"]);
        assert_eq!(rep.delimiter, ';');
        assert!(rep.notes()[0].contains("semicolon"));
        let (d, rep) = CsvOptions::new().read("y\tx\n1\t2\n".as_bytes()).unwrap();
        assert_eq!(d.names(), ["y", "x"]);
        assert_eq!(rep.delimiter, '\t');
        // Commas inside quotes do not count.
        let (d, rep) = CsvOptions::new()
            .read("name;y\n\"a, b\";1\n\"c, d\";2\n".as_bytes())
            .unwrap();
        assert_eq!(rep.delimiter, ';');
        assert_eq!(d.factor("name").unwrap().levels(), ["a, b", "c, d"]);
        // Given explicitly.
        let (_, rep) = CsvOptions::new()
            .delimiter(b'|')
            .read("y|x\n1|2\n".as_bytes())
            .unwrap();
        assert!(!rep.delimiter_detected);
    }

    #[test]
    fn decimal_commas_need_the_option_and_say_so() {
        let e = CsvOptions::new()
            .delimiter(b';')
            .read("y;x\n1,5;2\n2,5;3\n".as_bytes())
            .unwrap_err();
        assert!(e.to_string().contains("--decimal-comma"), "{e}");
        let (d, _) = CsvOptions::new()
            .decimal_comma(true)
            .read("y;x\n1,5;2\n2,5;3\n".as_bytes())
            .unwrap();
        assert_eq!(d.numeric("y").unwrap(), [Some(1.5), Some(2.5)]);
        // Thousands separators in a comma file (quoted) are not silently text either.
        let e = read("y\n\"1,000\"\n\"2,500\"\n").unwrap_err();
        assert!(e.to_string().contains("thousands"), "{e}");
        // A semicolon file with decimal commas in a column that starts with whole numbers: the
        // way out is --decimal-comma, never the numbers declared as missing tokens.
        let e = read("y;x\n5;2\n5,5;3\n3,66666666666667;4\n").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("--decimal-comma") && !msg.contains("--na"),
            "{msg}"
        );
        assert!(matches!(&e, Error::InvalidValue { column, row: 2, .. } if column == "y"));
        // Comma decimals in the first rows shown but real text later: not called all commas.
        let e = read("y;x\n5;2\n5,5;3\n6,5;3\n7,5;3\n8,5;3\n9,5;3\nabc;4\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("--categorical y"), "{msg}");
    }

    /// A file that ends before the length it had when opened (truncated while read) is an
    /// error, not a fit on the rows that were there.
    #[test]
    fn a_file_that_shrinks_while_read_is_an_error() {
        let text = "y,x\n1,2\n3,4\n";
        let e = CsvOptions::new()
            .read_sized(text.as_bytes(), Some(text.len() as u64 + 4096))
            .unwrap_err();
        assert!(e.to_string().contains("shrank while it was read"), "{e}");
        assert!(
            CsvOptions::new()
                .read_sized(text.as_bytes(), Some(text.len() as u64))
                .is_ok()
        );
    }

    /// The mirror case: a column written with decimal points read with decimal commas is not
    /// silently a factor (`dose1.5`, `dose2.5` … as treatment contrasts).
    #[test]
    fn decimal_points_read_with_decimal_commas_are_an_error() {
        let e = CsvOptions::new()
            .decimal_comma(true)
            .read("y;dose\n1,5;1.5\n2,5;2.5\n3;3.25\n".as_bytes())
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(&e, Error::InvalidValue { column, row: 1, .. } if column == "dose"),
            "{msg}"
        );
        assert!(
            msg.contains("decimal point") && msg.contains("--decimal-comma"),
            "{msg}"
        );
        // Declared categorical, the column is read as text on purpose.
        let (d, _) = CsvOptions::new()
            .decimal_comma(true)
            .column_kind("dose", ColumnKind::Categorical)
            .read("y;dose\n1,5;1.5\n2,5;2.5\n".as_bytes())
            .unwrap();
        assert_eq!(d.factor("dose").unwrap().levels(), ["1.5", "2.5"]);
        // Real text under decimal commas stays a factor.
        let (d, _) = CsvOptions::new()
            .decimal_comma(true)
            .read("y;arm\n1,5;a.1\n2,5;b\n".as_bytes())
            .unwrap();
        assert!(d.factor("arm").is_ok());
    }

    #[test]
    fn header_details() {
        // A byte-order mark and R's empty row-name header.
        let d = read("\u{feff}\"\",y\n\"1\",2\n\"2\",3\n").unwrap();
        assert_eq!(d.names(), ["X", "y"]);
        let e = read("y,,x\n1,2,3\n").unwrap_err();
        assert!(e.to_string().contains("header field 2 is empty"), "{e}");
        let e = read("y,x\n").unwrap_err();
        assert!(e.to_string().contains("no data rows"), "{e}");
        let e = CsvOptions::new()
            .column_kind("nope", ColumnKind::Numeric)
            .read("y\n1\n".as_bytes())
            .unwrap_err();
        assert!(matches!(e, Error::UnknownColumn { .. }));
    }

    #[test]
    fn invalid_utf8_is_an_error_naming_the_row() {
        let mut bytes = b"name,y\nabc,1\n".to_vec();
        bytes.extend_from_slice(b"\xe6bc,2\n");
        let e = Data::from_csv_reader(bytes.as_slice()).unwrap_err();
        assert!(e.to_string().contains("UTF-8"), "{e}");
    }

    #[test]
    fn write_then_read_is_identity() {
        let d = Data::new()
            .with_numeric_opt("x", vec![Some(0.1), None, Some(-3.25e-7)])
            .unwrap()
            .with_categorical("g", vec!["b, with comma", "a", "b, with comma"])
            .unwrap();
        let mut buf = Vec::new();
        d.write_csv(&mut buf).unwrap();
        assert_eq!(Data::from_csv_reader(buf.as_slice()).unwrap(), d);
    }
}
