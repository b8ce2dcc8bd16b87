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

/// The seed every example uses by default (and the plans' default): results are reproducible
/// unless `--seed` says otherwise.
pub const DEFAULT_SEED: u64 = 2024;

/// The data's nesting (every example that reads a data file takes these flags).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LevelArgs {
    /// The nesting: id columns outermost first and optionally the session (time) column last,
    /// separated by '/', e.g. --levels therapist/client/session. Each analysis then runs at
    /// its variables' level (client-level fits on one row per client)
    #[arg(long, value_name = "IDS")]
    pub levels: Option<String>,
    /// Clients may appear under more than one therapist (partial crossing), with --levels
    #[arg(long)]
    pub partially_crossed: bool,
    /// Fill these columns down and up within each client (values stored on a client's first
    /// row only), in session order, comma-separated; needs --levels
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub fill: Vec<String>,
    /// Add each column's client mean as COL_mean (the way to use a session-level variable in
    /// a client-level model), comma-separated; needs --levels
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub client_mean: Vec<String>,
    /// Print each variable's level (variable, level, distinct values, missing) on stderr
    #[arg(long)]
    pub describe: bool,
}

impl LevelArgs {
    /// Declare the levels, fill and add client means as asked; notes go to stderr.
    pub fn apply(&self, data: Data) -> Result<Data, String> {
        let Some(spec) = &self.levels else {
            if !self.fill.is_empty() || !self.client_mean.is_empty() || self.describe {
                return Err(
                    "--fill, --client-mean and --describe need --levels (e.g. --levels therapist/client/session)"
                        .into(),
                );
            }
            if self.partially_crossed {
                return Err("--partially-crossed needs --levels".into());
            }
            return Ok(data);
        };
        let levels = securebase::data::Levels::parse(spec, &data)
            .map_err(|e| one_line(&e))?
            .partially_crossed(self.partially_crossed);
        let inner = levels
            .ids()
            .last()
            .cloned()
            .ok_or("--levels names no id column")?;
        let mut data = data.with_levels(levels.clone()).map_err(|e| one_line(&e))?;
        if !self.fill.is_empty() {
            // Within each client in session order, as tidyr's fill after arrange().
            let mut order: Vec<String> = levels.ids().to_vec();
            if let Some(t) = levels.time_column() {
                order.push(t.to_string());
            }
            data = data.sort_by(&order).map_err(|e| one_line(&e))?;
            let filled = data
                .fill(
                    &self.fill,
                    &[inner.as_str()],
                    securebase::data::FillDirection::DownUp,
                )
                .map_err(|e| one_line(&e))?;
            for (c, n) in filled {
                eprintln!("note: --fill: {n} missing values of '{c}' filled within {inner}s");
            }
        }
        for c in &self.client_mean {
            let v = data
                .by_group(c, &inner, securebase::data::ByGroup::Mean)
                .map_err(|e| one_line(&e))?;
            let name = format!("{c}_mean");
            data.add_column(&name, securebase::Column::Numeric(v.into_iter().collect()))
                .map_err(|e| one_line(&e))?;
            eprintln!("note: --client-mean: '{name}' is each {inner}'s mean of '{c}'");
        }
        if self.describe {
            let table = data.describe().map_err(|e| one_line(&e))?;
            eprintln!("{table}");
            let partly: Vec<&str> = table
                .variables
                .iter()
                .filter(|v| v.partly_filled > 0)
                .map(|v| v.variable.as_str())
                .collect();
            if !partly.is_empty() {
                eprintln!(
                    "note: stored on some rows only: {}; fill them with --fill {}",
                    partly.join(", "),
                    partly.join(",")
                );
            }
        }
        Ok(data)
    }
}

/// Library wording → the flags a command-line user types.
const FLAGS: &[(&str, &str)] = &[
    (
        "name the cluster (Mediation::cluster, with cluster resampling)",
        "name the cluster (--cluster CLIENT: cluster resampling)",
    ),
    (
        "use the within/between design (MultilevelMediation)",
        "use the within/between design (--within-between --cluster CLIENT)",
    ),
    (
        "ask for the blended estimate (Mediation::blended)",
        "ask for the blended estimate (--blended)",
    ),
    (
        "one row per client (Data::one_row_per) is the single-level analysis",
        "a file with one row per client is the single-level analysis",
    ),
    (
        "use MultilevelMediation for the within/between split",
        "use --within-between for the within/between split",
    ),
    (
        "(or allow the blended estimate with Mediation::blended(true))",
        "(or allow the blended estimate with --blended)",
    ),
    ("(Levels::partially_crossed)", "(--partially-crossed)"),
    ("Data::with_levels", "--levels"),
    ("(Resampling::Cluster)", "(--cluster CLIENT)"),
];

/// The first line of an error's message (formula errors add a caret line after it), worded
/// for the command line: library methods become the flags that do the same, and an invalid
/// argument names its flag.
pub fn one_line(e: &securebase::Error) -> String {
    use securebase::Error;
    use securebase::error::LevelProblem;
    let mut text = match e {
        Error::Argument { name, message } if ARGUMENT_FLAGS.contains(&name.as_str()) => {
            format!("--{}: {message}", name.replace('_', "-"))
        }
        _ => e.to_string(),
    };
    if let Error::Level { kind, names, .. } = e {
        match kind {
            LevelProblem::PartlyFilled if !names.is_empty() => {
                text = text.replace("(Data::fill)", &format!("(--fill {})", names[0]));
            }
            LevelProblem::ResponseAbovePredictor if names.len() > 1 => {
                let p = &names[1];
                if let (Some(a), Some(b)) = (text.find(" (mean_by("), text.find("Data::aggregate)"))
                    && a < b
                {
                    text.replace_range(
                        a..b + "Data::aggregate)".len(),
                        &format!(" (--client-mean {p} adds it as {p}_mean)"),
                    );
                }
            }
            _ => {}
        }
    }
    for (lib, flag) in FLAGS {
        text = text.replace(lib, flag);
    }
    text.lines().next().unwrap_or_default().to_string()
}

/// Argument names of the library that are flags of the same name in the examples.
const ARGUMENT_FLAGS: &[&str] = &[
    "random_slopes",
    "cluster",
    "cluster2",
    "columns",
    "level",
    "seed",
    "draws",
];
