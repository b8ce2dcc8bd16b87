//! Declared levels: which id columns nest the rows (therapist ⊃ client ⊃ session), the level of
//! each variable that follows from them, and a data set reduced to one row per unit of a level.
//!
//! A long session file holds variables of several levels side by side: the session's own
//! ratings, the client's baseline repeated on each of the client's rows, the therapist's
//! training repeated on each of the therapist's rows. Once the nesting is declared
//! ([`Data::with_levels`]), a variable's level is a fact of the data — the outermost id within
//! whose groups its values never change — and analyses can run at the level of their
//! variables instead of silently treating session rows as clients ([`Data::describe`] shows
//! every variable's level).

use super::keys::{KeySpace, RowKeys};
use super::{Column, Data};
use crate::error::{Error, LevelProblem, Result};
use std::fmt;

/// The nesting of a data set's rows: id columns outermost first (`therapist`, `client`) and,
/// optionally, the time column that numbers each innermost unit's rows (`session`).
///
/// ```
/// use securebase::data::Levels;
/// let levels = Levels::new(&["therapist", "client"]).time("session");
/// assert_eq!(levels.ids(), ["therapist", "client"]);
/// assert_eq!(levels.time_column(), Some("session"));
/// assert_eq!(levels.to_string(), "therapist/client/session");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Levels {
    ids: Vec<String>,
    time: Option<String>,
    #[cfg_attr(feature = "serde", serde(default))]
    partially_crossed: bool,
}

impl Levels {
    /// Levels from id columns, outermost first (`["therapist", "client"]`).
    pub fn new(ids: &[impl AsRef<str>]) -> Levels {
        Levels {
            ids: super::owned_names(ids),
            time: None,
            partially_crossed: false,
        }
    }

    /// The column numbering the rows of each innermost unit (a client's sessions): unique
    /// within each unit, used to order rows for [`Data::fill`] and first/last values.
    pub fn time(mut self, column: &str) -> Levels {
        self.time = Some(column.to_string());
        self
    }

    /// Allow an inner unit under more than one outer unit (a client who changed therapist):
    /// without it, [`Data::with_levels`] refuses such a client by name.
    pub fn partially_crossed(mut self, yes: bool) -> Levels {
        self.partially_crossed = yes;
        self
    }

    /// Levels as the command line writes them, `therapist/client` or
    /// `therapist/client/session`, read against the data: every name but the last is an id;
    /// the last is the time column when it is numeric and no two rows of one unit of the
    /// names before it share a value (a client's session numbers), and an id otherwise.
    ///
    /// ```
    /// use securebase::Data;
    /// use securebase::data::Levels;
    /// let data = Data::new()
    ///     .with_categorical("client", vec!["a", "a", "b"])?
    ///     .with_numeric("session", vec![1.0, 2.0, 1.0])?;
    /// assert_eq!(Levels::parse("client/session", &data)?, Levels::new(&["client"]).time("session"));
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Argument`] for an empty name; [`Error::UnknownColumn`].
    pub fn parse(spec: &str, data: &Data) -> Result<Levels> {
        let names: Vec<&str> = spec.split('/').map(str::trim).collect();
        if names.iter().any(|n| n.is_empty()) {
            return Err(Error::Argument {
                name: "levels".into(),
                message: format!(
                    "'{}' has an empty name: give id columns outermost first, separated by '/', e.g. therapist/client/session",
                    crate::error::clip(spec)
                ),
            });
        }
        for n in &names {
            data.column(n)?;
        }
        let (last, outer) = names.split_last().unwrap_or_else(|| unreachable!("split"));
        if !outer.is_empty() && matches!(data.column(last)?, Column::Numeric(_)) {
            let mut by: Vec<&str> = outer.to_vec();
            by.push(last);
            let mut space = KeySpace::default();
            let groups = RowKeys::build(&mut space, data, &by, true)?.groups();
            if groups.len() == data.nrows() {
                return Ok(Levels::new(outer).time(last));
            }
        }
        Ok(Levels::new(&names))
    }

    /// The id columns, outermost first.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The time column, if one was declared.
    pub fn time_column(&self) -> Option<&str> {
        self.time.as_deref()
    }

    /// Whether inner units may appear under more than one outer unit.
    pub fn is_partially_crossed(&self) -> bool {
        self.partially_crossed
    }

    /// The name of level `depth`: an id (0 = outermost), or at `ids().len()` the rows, named
    /// by the time column (`session`) or `row`.
    pub fn name(&self, depth: usize) -> &str {
        self.ids
            .get(depth)
            .map(String::as_str)
            .or(self.time.as_deref())
            .unwrap_or("row")
    }

    /// Whether `column` is one of the level columns (an id or the time).
    pub fn contains(&self, column: &str) -> bool {
        self.ids.iter().any(|i| i == column) || self.time.as_deref() == Some(column)
    }

    fn columns(&self) -> impl Iterator<Item = &str> {
        self.ids
            .iter()
            .map(String::as_str)
            .chain(self.time.as_deref())
    }

    pub(crate) fn rename(&mut self, from: &str, to: &str) {
        for i in &mut self.ids {
            if i == from {
                *i = to.to_string();
            }
        }
        if self.time.as_deref() == Some(from) {
            self.time = Some(to.to_string());
        }
    }
}

impl fmt::Display for Levels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.columns().collect();
        write!(f, "{}", names.join("/"))
    }
}

/// The level of one variable of a data set with declared levels (a row of [`Describe`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct VariableLevel {
    /// The column.
    pub variable: String,
    /// The level's name: the outermost id within whose units the variable never changes, or
    /// the rows' level (the time column's name, or `row`).
    pub level: String,
    /// The level's depth: 0 for the outermost id, the number of ids for the rows.
    pub depth: usize,
    /// Distinct non-missing values.
    pub distinct: usize,
    /// Missing values (rows).
    pub missing: usize,
    /// Units of its level where the value is on some rows and missing on others (a baseline
    /// stored on each client's first row only): fill them with [`Data::fill`].
    pub partly_filled: usize,
}

/// What [`Data::describe`] shows: the units of each level and every variable's level.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Describe {
    /// The declared levels.
    pub levels: Levels,
    /// Rows of the data.
    pub rows: usize,
    /// Units per id level, outermost first (44 therapists, 330 clients).
    pub units: Vec<(String, usize)>,
    /// One entry per column, in column order.
    pub variables: Vec<VariableLevel>,
}

impl fmt::Display for Describe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units: Vec<String> = self
            .units
            .iter()
            .map(|(l, n)| format!("{n} {l} units"))
            .collect();
        writeln!(
            f,
            "{} rows in {} (levels {})",
            self.rows,
            units.join(" > "),
            self.levels
        )?;
        let w = self
            .variables
            .iter()
            .map(|v| v.variable.chars().count())
            .max()
            .unwrap_or(8)
            .max(8);
        writeln!(
            f,
            "{:<w$}  {:<12} {:>9} {:>8}  note",
            "variable", "level", "distinct", "missing"
        )?;
        let l_rows = self.levels.name(self.levels.ids().len());
        for v in &self.variables {
            let note = if v.partly_filled > 0 {
                format!(
                    "on some rows only in {} {} units (e.g. the first row): fill within {}s before a {}-level model",
                    v.partly_filled, v.level, v.level, l_rows
                )
            } else {
                String::new()
            };
            writeln!(
                f,
                "{:<w$}  {:<12} {:>9} {:>8}  {}",
                v.variable, v.level, v.distinct, v.missing, note
            )?;
        }
        Ok(())
    }
}

/// The group of each row at each id level (all ids are present, so every row has one).
pub(crate) struct LevelGroups {
    /// Per id level (outermost first): the group of each row, and the number of groups.
    pub(crate) of_row: Vec<(Vec<u32>, usize)>,
}

/// How a model's data were brought to the level of its variables.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ModelUnit {
    /// The level of the model's rows (`client`).
    pub level: String,
    /// Its units in the data (330 clients).
    pub units: usize,
    /// The rows they came from (3,345 session rows).
    pub from_rows: usize,
    /// The level those rows were at (`session`).
    pub from_level: String,
}

impl fmt::Display for ModelUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} units, one row each from {} {} rows",
            self.units, self.level, self.from_rows, self.from_level
        )
    }
}

impl Data {
    /// Declare the data's nesting: id columns outermost first and optionally a time column
    /// ([`Levels`]). Each variable's level then follows ([`Data::describe`]), fits of
    /// client-level variables use one row per client, and analyses that would treat nested
    /// rows as independent say so or refuse.
    ///
    /// ```
    /// use securebase::Data;
    /// use securebase::data::Levels;
    /// let data = Data::new()
    ///     .with_categorical("therapist", vec!["t1", "t1", "t1", "t2"])?
    ///     .with_categorical("client", vec!["a", "a", "b", "c"])?
    ///     .with_numeric("session", vec![1.0, 2.0, 1.0, 1.0])?
    ///     .with_numeric("anxiety", vec![3.0, 3.0, 5.0, 2.0])?
    ///     .with_numeric("engagement", vec![1.0, 2.0, 2.5, 4.0])?
    ///     .with_levels(Levels::new(&["therapist", "client"]).time("session"))?;
    /// let d = data.describe()?;
    /// assert_eq!(d.units, [("therapist".to_string(), 2), ("client".to_string(), 3)]);
    /// assert_eq!(data.level_of("anxiety")?.level, "client");
    /// assert_eq!(data.level_of("engagement")?.level, "session");
    /// // A client under two therapists is an error naming it.
    /// let crossed = Data::new()
    ///     .with_categorical("therapist", vec!["t1", "t2"])?
    ///     .with_categorical("client", vec!["a", "a"])?
    ///     .with_levels(Levels::new(&["therapist", "client"]));
    /// assert!(crossed.unwrap_err().to_string().contains("client 'a'"));
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownColumn`]; [`Error::Argument`] for no ids or a name given twice;
    /// [`Error::InvalidValue`] for a missing id or time (named by row); [`Error::Level`] for
    /// an inner unit under two outer units (unless [`Levels::partially_crossed`]) or a time
    /// value repeated within a unit.
    pub fn with_levels(mut self, levels: Levels) -> Result<Data> {
        self.set_levels(Some(levels))?;
        Ok(self)
    }

    /// Declare (`Some`) or remove (`None`) the data's levels in place; see
    /// [`Data::with_levels`].
    ///
    /// # Errors
    /// As [`Data::with_levels`].
    pub fn set_levels(&mut self, levels: Option<Levels>) -> Result<()> {
        match levels {
            None => self.levels = None,
            Some(l) => {
                self.check_levels(&l)?;
                self.levels = Some(std::sync::Arc::new(l));
            }
        }
        Ok(())
    }

    /// The declared levels, if any.
    pub fn levels(&self) -> Option<&Levels> {
        self.levels.as_deref()
    }

    pub(crate) fn check_levels(&self, l: &Levels) -> Result<()> {
        if l.ids.is_empty() {
            return Err(Error::Argument {
                name: "levels".into(),
                message: "name at least one id column (e.g. client)".into(),
            });
        }
        let mut seen = std::collections::HashSet::new();
        for c in l.columns() {
            if !seen.insert(c) {
                return Err(Error::Argument {
                    name: "levels".into(),
                    message: format!("'{}' is named twice", crate::error::clip(c)),
                });
            }
            let col = self.column(c)?;
            if let Some(r) = (0..self.nrows()).find(|&r| col.is_missing(r)) {
                return Err(Error::InvalidValue {
                    column: c.to_string(),
                    row: self.row_id(r),
                    value: "NA".into(),
                    reason: "a level column (an id or the time) cannot be missing: every row must belong to a unit".into(),
                });
            }
        }
        let groups = self.groups_for(l)?;
        if !l.partially_crossed {
            for d in 1..l.ids.len() {
                let (inner, n_inner) = &groups.of_row[d];
                let (outer, _) = &groups.of_row[d - 1];
                let mut parent: Vec<Option<(u32, usize)>> = vec![None; *n_inner];
                for r in 0..self.nrows() {
                    match parent[inner[r] as usize] {
                        None => parent[inner[r] as usize] = Some((outer[r], r)),
                        Some((p, first)) if p != outer[r] => {
                            let (name, up) = (&l.ids[d], &l.ids[d - 1]);
                            return Err(Error::Level {
                                kind: LevelProblem::Crossed,
                                names: vec![name.clone(), up.clone(), self.value_text(name, r)],
                                message: format!(
                                    "{name} '{}' appears under two {up} units, '{}' (row {}) and '{}' (row {}): if {name} ids are numbered within each {up}, make them unique (an id combining both); if the {name} moved between {up}s, declare partial crossing (Levels::partially_crossed)",
                                    crate::error::clip(&self.value_text(name, r)),
                                    crate::error::clip(&self.value_text(up, first)),
                                    self.row_id(first),
                                    crate::error::clip(&self.value_text(up, r)),
                                    self.row_id(r),
                                ),
                            });
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        if let Some(t) = &l.time {
            let inner = l.ids.last().unwrap_or_else(|| unreachable!("checked"));
            let mut space = KeySpace::default();
            let keys = RowKeys::build(&mut space, self, &[inner.as_str(), t.as_str()], true)?;
            let g = keys.groups();
            if g.len() < self.nrows() {
                let mut first = vec![None; g.len()];
                for (r, k) in g.of_row.iter().enumerate() {
                    let k = k.unwrap_or_else(|| unreachable!("missing is a value")) as usize;
                    if let Some(f) = first[k] {
                        return Err(Error::Level {
                            kind: LevelProblem::TimeRepeated,
                            names: vec![t.clone(), inner.clone()],
                            message: format!(
                                "{t} {} appears twice for {inner} '{}' (rows {} and {}): the time column must number each {inner}'s rows once (sort and deduplicate the file, or declare no time column)",
                                crate::error::clip(&self.value_text(t, r)),
                                crate::error::clip(&self.value_text(inner, r)),
                                self.row_id(f),
                                self.row_id(r)
                            ),
                        });
                    }
                    first[k] = Some(r);
                }
            }
        }
        Ok(())
    }

    /// The group of each row at each id level of `l`.
    pub(crate) fn groups_for(&self, l: &Levels) -> Result<LevelGroups> {
        let mut space = KeySpace::default();
        let mut of_row = Vec::with_capacity(l.ids.len());
        for id in &l.ids {
            let g = RowKeys::build(&mut space, self, &[id.as_str()], true)?.groups();
            let n = g.len();
            let v: Vec<u32> = g
                .of_row
                .into_iter()
                .map(|k| k.unwrap_or_else(|| unreachable!("missing is a value")))
                .collect();
            of_row.push((v, n));
        }
        Ok(LevelGroups { of_row })
    }

    /// The declared levels, or an error saying how to declare them.
    fn need_levels(&self) -> Result<&Levels> {
        self.levels().ok_or_else(|| Error::Level {
            kind: LevelProblem::NotDeclared,
            names: vec![],
            message: "the data have no declared levels: declare them with Data::with_levels (ids outermost first, e.g. therapist/client)".into(),
        })
    }

    /// The level of `column`: the outermost id within whose units its non-missing values
    /// never change (a client's baseline: `client`; a therapist's training: `therapist`), or
    /// the rows' level when it changes within the innermost units.
    ///
    /// # Errors
    /// [`Error::Level`] if no levels are declared; [`Error::UnknownColumn`].
    pub fn level_of(&self, column: &str) -> Result<VariableLevel> {
        let l = self.need_levels()?;
        let g = self.groups_for(l)?;
        self.level_with(l, &g, column)
    }

    pub(crate) fn level_with(
        &self,
        l: &Levels,
        g: &LevelGroups,
        column: &str,
    ) -> Result<VariableLevel> {
        let col = self.column(column)?;
        // Each value as bits (numbers) or code (labels); None when missing.
        let key = |r: usize| -> Option<u64> {
            match col {
                Column::Numeric(v) => v.get(r).map(|x| if x == 0.0 { 0 } else { x.to_bits() }),
                Column::Categorical(f) => f.codes()[r].map(u64::from),
            }
        };
        let n = self.nrows();
        let values: Vec<Option<u64>> = (0..n).map(key).collect();
        let missing = values.iter().filter(|v| v.is_none()).count();
        let mut distinct: Vec<u64> = values.iter().flatten().copied().collect();
        distinct.sort_unstable();
        distinct.dedup();
        let mut depth = l.ids.len();
        let mut partly = 0;
        for (d, (of_row, ng)) in g.of_row.iter().enumerate() {
            let mut value: Vec<Option<u64>> = vec![None; *ng];
            let mut has_missing = vec![false; *ng];
            let mut constant = true;
            for r in 0..n {
                let k = of_row[r] as usize;
                match (values[r], value[k]) {
                    (None, _) => has_missing[k] = true,
                    (Some(v), None) => value[k] = Some(v),
                    (Some(v), Some(w)) if v != w => {
                        constant = false;
                        break;
                    }
                    _ => {}
                }
            }
            if constant {
                depth = d;
                partly = (0..*ng)
                    .filter(|&k| has_missing[k] && value[k].is_some())
                    .count();
                break;
            }
        }
        // An id column is at its own level even where it also happens to be constant within
        // an outer unit (a therapist with one client).
        if let Some(p) = l.ids.iter().position(|i| i == column) {
            depth = p;
            partly = 0;
        }
        if l.time.as_deref() == Some(column) {
            depth = l.ids.len();
        }
        Ok(VariableLevel {
            variable: column.to_string(),
            level: l.name(depth).to_string(),
            depth,
            distinct: distinct.len(),
            missing,
            partly_filled: partly,
        })
    }

    /// The units of each level and every variable's level, as a table (variable, level,
    /// distinct values, missing, and whether it is stored on some rows of its units only).
    ///
    /// # Errors
    /// [`Error::Level`] if no levels are declared.
    pub fn describe(&self) -> Result<Describe> {
        let l = self.need_levels()?;
        let g = self.groups_for(l)?;
        let variables = self
            .names()
            .iter()
            .map(|c| self.level_with(l, &g, c))
            .collect::<Result<_>>()?;
        Ok(Describe {
            levels: l.clone(),
            rows: self.nrows(),
            units: l
                .ids
                .iter()
                .zip(&g.of_row)
                .map(|(i, (_, n))| (i.clone(), *n))
                .collect(),
            variables,
        })
    }

    /// One row per unit of the id level `level` (`"client"`), keeping the ids of that level and
    /// above and `columns`, each of which must be constant within the units (its level
    /// `level` or above); a unit's value is its non-missing one, so a baseline stored on each
    /// client's first row only is kept. Rows keep the origin of each unit's first row; the
    /// declared levels become the ids down to `level`.
    ///
    /// ```
    /// use securebase::Data;
    /// use securebase::data::Levels;
    /// let data = Data::new()
    ///     .with_categorical("client", vec!["a", "a", "b"])?
    ///     .with_numeric("session", vec![1.0, 2.0, 1.0])?
    ///     .with_numeric_opt("iip_pre", vec![Some(2.0), None, Some(1.5)])?
    ///     .with_levels(Levels::new(&["client"]).time("session"))?;
    /// let clients = data.one_row_per("client", &["iip_pre"])?;
    /// assert_eq!(clients.nrows(), 2);
    /// assert_eq!(clients.numeric("iip_pre")?, [Some(2.0), Some(1.5)]);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Level`] if no levels are declared, `level` is not an id, or a column varies
    /// within its units (naming it and a unit).
    pub fn one_row_per(&self, level: &str, columns: &[impl AsRef<str>]) -> Result<Data> {
        let l = self.need_levels()?.clone();
        let depth = l
            .ids
            .iter()
            .position(|i| i == level)
            .ok_or_else(|| Error::Level {
                kind: LevelProblem::NotDeclared,
                names: vec![level.to_string()],
                message: format!(
                    "'{}' is not one of the declared id levels ({})",
                    crate::error::clip(level),
                    l.ids.join(", ")
                ),
            })?;
        let g = self.groups_for(&l)?;
        let (of_row, ng) = &g.of_row[depth];
        let mut first = vec![usize::MAX; *ng];
        for (r, &k) in of_row.iter().enumerate() {
            if first[k as usize] == usize::MAX {
                first[k as usize] = r;
            }
        }
        let mut names: Vec<String> = l.ids[..=depth].to_vec();
        for c in columns {
            let c = c.as_ref();
            if !names.iter().any(|n| n == c) {
                names.push(c.to_string());
            }
        }
        let mut out = self.select_columns(&names[..=depth])?.select_rows(&first)?;
        for c in &names[depth + 1..] {
            let v = self.level_with(&l, &g, c)?;
            if v.depth > depth {
                let col = self.column(c)?;
                let mut seen: Vec<Option<usize>> = vec![None; *ng];
                let r = (0..self.nrows())
                    .find(|&r| {
                        if col.is_missing(r) {
                            return false;
                        }
                        let k = of_row[r] as usize;
                        match seen[k] {
                            None => {
                                seen[k] = Some(r);
                                false
                            }
                            Some(s) => col.value_text(s) != col.value_text(r),
                        }
                    })
                    .unwrap_or(0);
                return Err(Error::Level {
                    kind: LevelProblem::VariesWithin,
                    names: vec![c.clone(), level.to_string()],
                    message: format!(
                        "'{}' varies within {level} units (e.g. {level} '{}', row {}): it is a {}-level variable; use its {level} mean or an explicit first/last value (Data::aggregate)",
                        crate::error::clip(c),
                        crate::error::clip(&self.value_text(level, r)),
                        self.row_id(r),
                        v.level
                    ),
                });
            }
            // Each unit's non-missing value.
            let col = self.column(c)?;
            let mut pick = first.clone();
            for (r, &k) in of_row.iter().enumerate() {
                let k = k as usize;
                if col.is_missing(pick[k]) && !col.is_missing(r) {
                    pick[k] = r;
                }
            }
            out.add_column(c, col.select(&pick))?;
        }
        let mut kept = Levels::new(&l.ids[..=depth]);
        kept.partially_crossed = l.partially_crossed;
        out.levels = Some(std::sync::Arc::new(kept));
        Ok(out)
    }
}

/// The data a model of `formula` is fitted to, at the level of its variables, with the notes
/// a reader of the fit needs. Without declared levels the data are used as they are.
///
/// With levels: a response above one of its predictors (a client-level outcome with a
/// session-level predictor) is an error; a model whose every variable is at the client level
/// or above is fitted to one row per client ([`ModelUnit`]); a model at the rows' level that
/// uses a variable stored on some rows of its units only is an error (the rows without it
/// would be dropped); `scale()` says over which rows it standardized; a single-level model of
/// nested rows says that it treats them as independent.
pub(crate) fn for_model<'d>(
    data: &'d Data,
    formula: &crate::formula::Formula,
    model: &str,
) -> Result<ModelData<'d>> {
    let Some(l) = data.levels() else {
        return Ok(ModelData {
            data: std::borrow::Cow::Borrowed(data),
            unit: None,
            notes: vec![],
        });
    };
    let g = data.groups_for(l)?;
    let rows_level = l.ids.len();
    let response_cols = formula.response_columns();
    let mut resp: Option<VariableLevel> = None;
    let mut pred: Option<VariableLevel> = None;
    let mut levels = Vec::new();
    for c in formula.columns() {
        if !data.has_column(&c) {
            continue; // the formula's own check names it
        }
        let v = data.level_with(l, &g, &c)?;
        let slot = if response_cols.contains(&c) {
            &mut resp
        } else {
            &mut pred
        };
        if slot.as_ref().is_none_or(|s| v.depth > s.depth) {
            *slot = Some(v.clone());
        }
        levels.push(v);
    }
    let depth = levels.iter().map(|v| v.depth).max().unwrap_or(rows_level);
    if let (Some(r), Some(p)) = (&resp, &pred)
        && r.depth < p.depth
    {
        let unit = l.name(r.depth);
        return Err(Error::Level {
            kind: LevelProblem::ResponseAbovePredictor,
            names: vec![r.variable.clone(), p.variable.clone()],
            message: format!(
                "the response '{}' is {}-level (one value per {unit}) but the predictor '{}' varies within {unit}s ({}-level): a {unit}-level outcome needs {unit}-level predictors — use the {unit} mean of '{}' (mean_by({}, {unit}) in a plan; Data::aggregate) or an explicit first/last value",
                crate::error::clip(&r.variable),
                r.level,
                crate::error::clip(&p.variable),
                p.level,
                crate::error::clip(&p.variable),
                crate::error::clip(&p.variable),
            ),
        });
    }
    let mut notes = Vec::new();
    let n = data.nrows();
    let (out, unit) = if depth < rows_level && g.of_row[depth].1 < n {
        let level = &l.ids[depth];
        let cols: Vec<String> = levels.iter().map(|v| v.variable.clone()).collect();
        let collapsed = data.one_row_per(level, &cols)?;
        let unit = ModelUnit {
            level: level.clone(),
            units: collapsed.nrows(),
            from_rows: n,
            from_level: l.name(rows_level).to_string(),
        };
        (std::borrow::Cow::Owned(collapsed), Some(unit))
    } else {
        if depth == rows_level
            && let Some(v) = levels
                .iter()
                .find(|v| v.depth < rows_level && v.partly_filled > 0 && !l.contains(&v.variable))
        {
            let unit = &v.level;
            return Err(Error::Level {
                kind: LevelProblem::PartlyFilled,
                names: vec![v.variable.clone(), unit.clone()],
                message: format!(
                    "'{}' is {unit}-level but stored on some rows only ({} missing rows; {} {unit} units have it on other rows): the {model} would drop every row without it; fill it within {unit}s first (Data::fill)",
                    crate::error::clip(&v.variable),
                    v.missing,
                    v.partly_filled
                ),
            });
        }
        if depth == rows_level && !formula.is_mixed() {
            let (inner, units) = (&l.ids[rows_level - 1], g.of_row[rows_level - 1].1);
            if units < n {
                notes.push(format!(
                    "the {n} rows are nested in {units} {inner} units and the {model} treats them as independent; a random intercept (1 | {inner}) models the nesting"
                ));
            }
        }
        (std::borrow::Cow::Borrowed(data), None)
    };
    for (label, cols) in formula.scale_calls() {
        let rows = match out.column(&cols[0]) {
            Ok(c) => (0..out.nrows()).filter(|&r| !c.is_missing(r)).count(),
            Err(_) => continue,
        };
        let at = unit
            .as_ref()
            .map_or_else(|| l.name(rows_level).to_string(), |u| u.level.clone());
        let mut note = format!("{label} standardized over the {rows} {at} rows with a value");
        if let Some(v) = levels
            .iter()
            .find(|v| cols.contains(&v.variable) && unit.is_none() && v.depth < rows_level)
        {
            note.push_str(&format!(
                ", though '{}' is {}-level: {} units with more rows weigh more (standardize over {} units first)",
                v.variable, v.level, v.level, v.level
            ));
        }
        notes.push(note);
    }
    Ok(ModelData {
        data: out,
        unit,
        notes,
    })
}

/// The data of a model at its level (see [`for_model`]).
pub(crate) struct ModelData<'d> {
    pub(crate) data: std::borrow::Cow<'d, Data>,
    pub(crate) unit: Option<ModelUnit>,
    pub(crate) notes: Vec<String>,
}
