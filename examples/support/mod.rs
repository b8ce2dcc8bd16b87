//! What the examples share: CSV-reading flags, one-line errors with exit status 2, and
//! checked output files. (A folder without `main.rs`, so Cargo does not build it as an example.)
#![allow(dead_code)]

use securebase::Data;
use securebase::data::{ColumnKind, CsvOptions, CsvReport};
use std::process::ExitCode;

/// How to read the data file (every example that reads one takes these flags).
#[derive(clap::Args, Debug, Clone)]
pub struct CsvArgs {
    /// Missing-value tokens, comma-separated (empty cells are always missing), e.g.
    /// --na "NA,na,N/A,.,-999"
    #[arg(long, value_name = "TOKENS", default_value = "NA")]
    pub na: String,
    /// The delimiter: ',', ';', 'tab' or '|' (detected from the file if not given)
    #[arg(long, value_name = "D", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Numbers are written with a decimal comma (3,5), as European spreadsheets export them
    #[arg(long)]
    pub decimal_comma: bool,
    /// Columns to read as categorical (IDs, codes), comma-separated
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Columns to read as numeric, comma-separated
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub numeric: Vec<String>,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        "|" | "pipe" => Ok(b'|'),
        other => Err(format!("'{other}' is not one of ',', ';', 'tab', '|'")),
    }
}

impl CsvArgs {
    /// The options these flags describe.
    pub fn options(&self) -> CsvOptions {
        let mut o = CsvOptions::new()
            .na_list(&self.na)
            .decimal_comma(self.decimal_comma);
        if let Some(d) = self.delimiter {
            o = o.delimiter(d);
        }
        for c in &self.categorical {
            o = o.column_kind(c.trim(), ColumnKind::Categorical);
        }
        for c in &self.numeric {
            o = o.column_kind(c.trim(), ColumnKind::Numeric);
        }
        o
    }

    /// Read `path`; the report's notes go to stderr as `note:` lines.
    pub fn read(&self, path: &str) -> Result<(Data, CsvReport), String> {
        let (data, report) = self.options().read_path(path).map_err(|e| one_line(&e))?;
        for n in report.notes() {
            eprintln!("note: {n}");
        }
        Ok((data, report))
    }
}

/// The first line of an error's message (formula errors add a caret line after it).
pub fn one_line(e: &securebase::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

/// Print `error: msg` on stderr and return exit status 2.
pub fn fail(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// Parse the command line: `--help` prints and exits 0; a bad flag or value is one line on
/// stderr and exit status 2.
pub fn parse<T: clap::Parser>() -> Result<T, ExitCode> {
    match T::try_parse() {
        Ok(t) => Ok(t),
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                let _ = e.print();
                Err(ExitCode::SUCCESS)
            }
            _ => {
                // clap's message up to its first blank line, as one line.
                let text = e.to_string();
                let first: Vec<&str> = text
                    .lines()
                    .skip_while(|l| l.trim().is_empty())
                    .take_while(|l| !l.trim().is_empty())
                    .map(str::trim)
                    .collect();
                Err(fail(first.join(" ").trim_start_matches("error: ")))
            }
        },
    }
}

/// Write `contents` to `path`, creating its folder; an error says which file and why.
pub fn write_file(path: &str, contents: &str) -> Result<(), String> {
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the folder of '{path}': {e}"))?;
    }
    std::fs::write(path, contents).map_err(|e| format!("cannot write '{path}': {e}"))
}

/// Check before a long run that `path` can be written (its folder made, the file created), so
/// an unwritable `--out` is an error at once, not after the whole analysis. A file created here
/// is removed again.
pub fn check_writable(path: &str) -> Result<(), String> {
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the folder of '{path}': {e}"))?;
    }
    let existed = std::path::Path::new(path).exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| format!("cannot write '{path}': {e}"))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}
