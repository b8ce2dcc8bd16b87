//! Model matrices: treatment contrasts and R's column names, built once from a [`TermList`] and
//! re-applicable to new data (for prediction).
//!
//! Coding rules (Chambers & Hastie 1992, as R's `model.matrix` applies them): numeric variables
//! enter as they are; a categorical variable in a term is coded by treatment contrasts (levels
//! 2..k against the first) when the term without it is already in the model — the empty term
//! being the intercept, or a factor coded by indicators before it — and by indicators of all k
//! levels otherwise. Columns of an interaction vary fastest in the first variable. Levels not
//! present in the rows used are dropped first (R's `drop.unused.levels`).

use super::TermList;
use super::columns::ModelColumns;
use super::functions::{Bound, apply_bound};
use crate::data::{Column, Data, NumericColumn};
use crate::error::{Error, Result};
use nalgebra::DMatrix;
use std::sync::Arc;

/// How one variable of a term is coded.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum VarCoding {
    /// A numeric variable.
    Numeric(String),
    /// A categorical variable: the levels seen in the fitted rows and which of them get a column.
    Factor {
        /// Column name.
        name: String,
        /// Levels present when the design was built, in order.
        levels: Vec<String>,
        /// Indices into `levels` that produce columns (all, or all but the first).
        coded: Vec<usize>,
    },
    /// A variable with several numeric columns (`poly(x, 2)`): the columns' names.
    Matrix {
        /// The variable's label (`poly(x, 2)`).
        name: String,
        /// Its columns (`poly(x, 2)1`, `poly(x, 2)2`).
        columns: Vec<String>,
    },
}

/// One term's coding.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct TermCoding {
    /// The term's label (`a:b`).
    pub label: String,
    /// Coding of each variable.
    pub vars: Vec<VarCoding>,
}

/// The largest fixed-effects model matrix formed: 2 GB (5 million rows of 50 columns).
pub const MAX_MODEL_MATRIX_BYTES: f64 = 2e9;

/// A built fixed-effects design: how every column is made, so new data can be coded the same way.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Design {
    intercept: bool,
    terms: Vec<TermCoding>,
    columns: Vec<String>,
    column_term: Vec<Option<usize>>,
    /// Functions of variables (with their fitted constants) to apply to new data.
    #[cfg_attr(feature = "serde", serde(default))]
    transforms: Vec<Bound>,
    /// The data columns behind the design's variables, at their reference values: numeric
    /// columns at their mean over the rows used, categorical ones with their levels there (the
    /// reference grid of R's emmeans).
    #[cfg_attr(feature = "serde", serde(default))]
    reference: Vec<(String, Reference)>,
    /// How often each combination of the categorical reference variables' levels occurs in the
    /// rows used (level indices into [`Reference::Levels`], in the order of `reference`): the
    /// weights of emmeans' `weights = "proportional"`. Counts only, never rows; rebuilt with
    /// the design, so not serialized.
    #[cfg_attr(feature = "serde", serde(skip))]
    cells: Vec<(Vec<u32>, usize)>,
    /// Code treatment-contrast factors by sum-to-zero contrasts instead (R's `contr.sum`): the
    /// basis of type III hypotheses.
    #[cfg_attr(feature = "serde", serde(skip))]
    sum_coding: bool,
}

/// A data column's reference value: the mean of a numeric column, the levels of a categorical
/// one (over the rows the model used).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Reference {
    /// The mean.
    Mean(f64),
    /// The levels present, in order.
    Levels(Vec<String>),
}

/// Rows of `data` that have no missing value in any of `vars`, and the row origins of the others.
pub(crate) fn complete_rows(data: &Data, vars: &[String]) -> Result<(Vec<usize>, Vec<usize>)> {
    let cols: Vec<&Column> = vars.iter().map(|v| data.column(v)).collect::<Result<_>>()?;
    // Column by column into a mask (one tight loop per column), then one pass to split.
    let mut missing = vec![false; data.nrows()];
    for c in cols {
        match c {
            Column::Numeric(v) if v.n_missing() == 0 => {}
            Column::Numeric(v) => {
                for (r, m) in missing.iter_mut().enumerate() {
                    *m |= v.is_missing(r);
                }
            }
            Column::Categorical(f) => {
                for (m, x) in missing.iter_mut().zip(f.codes()) {
                    *m |= x.is_none();
                }
            }
        }
    }
    let n_missing = missing.iter().filter(|&&m| m).count();
    let mut keep = Vec::with_capacity(data.nrows() - n_missing);
    let mut dropped = Vec::with_capacity(n_missing);
    for (r, &m) in missing.iter().enumerate() {
        if m {
            dropped.push(data.row_id(r));
        } else {
            keep.push(r);
        }
    }
    Ok((keep, dropped))
}

impl Design {
    /// Decide the coding of `terms` on `rows` of `data` (0-based positions, all complete).
    ///
    /// # Errors
    /// [`Error::Term`] for a categorical variable with fewer than two levels in the rows used.
    pub fn new(terms: &TermList, data: &Data, rows: &[usize]) -> Result<Design> {
        Self::new_with(terms, data, rows, Vec::new())
    }

    /// [`Design::new`] on data holding the formula's functions of variables (`transforms`),
    /// which the design keeps to code new data.
    pub(crate) fn new_with(
        terms: &TermList,
        data: &Data,
        rows: &[usize],
        transforms: Vec<Bound>,
    ) -> Result<Design> {
        let mut coded_terms: Vec<TermCoding> = Vec::new();
        // The empty term is "present" if there is an intercept, or once a factor has been
        // coded by indicators of all its levels (it then spans the intercept).
        let mut empty_present = terms.intercept;
        let present = |vars: &[String], earlier: &[TermCoding], empty_present: bool| -> bool {
            if vars.is_empty() {
                return empty_present;
            }
            earlier.iter().any(|t| {
                t.vars.len() == vars.len()
                    && t.vars
                        .iter()
                        .all(|v| vars.contains(&var_name(v).to_string()))
            })
        };
        for term in &terms.terms {
            let mut vars = Vec::new();
            for v in &term.vars {
                if let Some(columns) = transforms
                    .iter()
                    .find(|b| b.label() == v)
                    .and_then(Bound::matrix_columns)
                {
                    vars.push(VarCoding::Matrix {
                        name: v.clone(),
                        columns,
                    });
                    continue;
                }
                match data.column(v)? {
                    Column::Numeric(_) => vars.push(VarCoding::Numeric(v.clone())),
                    Column::Categorical(f) => {
                        let mut used = vec![false; f.levels().len()];
                        for &r in rows {
                            if let Some(c) = f.codes()[r] {
                                used[c as usize] = true;
                            }
                        }
                        let levels: Vec<String> = f
                            .levels()
                            .iter()
                            .zip(&used)
                            .filter(|(_, u)| **u)
                            .map(|(l, _)| l.clone())
                            .collect();
                        let rest: Vec<String> =
                            term.vars.iter().filter(|w| *w != v).cloned().collect();
                        let contrasts = present(&rest, &coded_terms, empty_present);
                        if contrasts && levels.len() < 2 {
                            return Err(Error::Term {
                                term: term.label(),
                                message: format!(
                                    "'{v}' has {} level{} in the rows used ({}); a categorical predictor needs at least two",
                                    levels.len(),
                                    if levels.len() == 1 { "" } else { "s" },
                                    levels.join(", ")
                                ),
                            });
                        }
                        if !contrasts && rest.is_empty() {
                            empty_present = true;
                        }
                        let coded = if contrasts {
                            (1..levels.len()).collect()
                        } else {
                            (0..levels.len()).collect()
                        };
                        vars.push(VarCoding::Factor {
                            name: v.clone(),
                            levels,
                            coded,
                        });
                    }
                }
            }
            coded_terms.push(TermCoding {
                label: term.label(),
                vars,
            });
        }
        let mut columns = Vec::new();
        let mut column_term = Vec::new();
        if terms.intercept {
            columns.push("(Intercept)".to_string());
            column_term.push(None);
        }
        let mut seen: std::collections::HashSet<String> = columns.iter().cloned().collect();
        for (ti, t) in coded_terms.iter().enumerate() {
            for name in column_names(t) {
                if !seen.insert(name.clone()) {
                    return Err(Error::Term {
                        term: t.label.clone(),
                        message: format!(
                            "two model-matrix columns would be named '{name}' (a data column is named like another term, e.g. '(Intercept)' or 'a:b'); rename the data column"
                        ),
                    });
                }
                columns.push(name);
                column_term.push(Some(ti));
            }
        }
        Ok(Design {
            intercept: terms.intercept,
            terms: coded_terms,
            columns,
            column_term,
            transforms,
            reference: Vec::new(),
            cells: Vec::new(),
            sum_coding: false,
        })
    }

    /// Column names, as R names them.
    pub fn column_names(&self) -> &[String] {
        &self.columns
    }

    /// The term each column belongs to (`None` for the intercept).
    pub fn column_terms(&self) -> Vec<Option<&str>> {
        self.column_term
            .iter()
            .map(|t| t.map(|i| self.terms[i].label.as_str()))
            .collect()
    }

    /// The term codings.
    pub fn terms(&self) -> &[TermCoding] {
        &self.terms
    }

    /// The functions of variables the design applies to new data.
    pub(crate) fn transforms(&self) -> &[Bound] {
        &self.transforms
    }

    /// The data columns behind the design's variables with their reference values (see
    /// [`Reference`]).
    pub fn reference(&self) -> &[(String, Reference)] {
        &self.reference
    }

    /// Record the reference values of the data columns behind the variables, over `rows` of
    /// `data` (the data the design was built on).
    pub(crate) fn set_reference(&mut self, data: &Data, rows: &[usize]) -> Result<()> {
        let mut names: Vec<String> = Vec::new();
        for t in &self.terms {
            for v in &t.vars {
                let label = var_name(v);
                let raw = match self.transforms.iter().find(|b| b.label() == label) {
                    Some(b) => b.columns(),
                    None => vec![label.to_string()],
                };
                for c in raw {
                    if !names.contains(&c) {
                        names.push(c);
                    }
                }
            }
        }
        let mut reference = Vec::with_capacity(names.len());
        for name in names {
            let r = match data.column(&name)? {
                Column::Numeric(v) => {
                    let (mut sum, mut count) = (0.0, 0usize);
                    for x in rows.iter().filter_map(|&r| v.get(r)) {
                        sum += x;
                        count += 1;
                    }
                    Reference::Mean(sum / count.max(1) as f64)
                }
                Column::Categorical(f) => {
                    let mut used = vec![false; f.levels().len()];
                    for &r in rows {
                        if let Some(c) = f.codes()[r] {
                            used[c as usize] = true;
                        }
                    }
                    Reference::Levels(
                        f.levels()
                            .iter()
                            .zip(&used)
                            .filter(|(_, u)| **u)
                            .map(|(l, _)| l.clone())
                            .collect(),
                    )
                }
            };
            reference.push((name, r));
        }
        // Counts of the categorical variables' level combinations.
        // Per categorical variable: its codes and the map from its levels to present ones.
        type Coder<'a> = (&'a [Option<u32>], Vec<Option<u32>>);
        let mut coders: Vec<Coder<'_>> = Vec::new();
        for (name, r) in &reference {
            if let (Reference::Levels(present), Column::Categorical(f)) = (r, data.column(name)?) {
                let index: std::collections::HashMap<&str, u32> = present
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (p.as_str(), i as u32))
                    .collect();
                let map: Vec<Option<u32>> = f
                    .levels()
                    .iter()
                    .map(|l| index.get(l.as_str()).copied())
                    .collect();
                coders.push((f.codes(), map));
            }
        }
        let mut counts: std::collections::BTreeMap<Vec<u32>, usize> = Default::default();
        if !coders.is_empty() {
            for &r in rows {
                let key: Option<Vec<u32>> = coders
                    .iter()
                    .map(|(codes, map)| codes[r].and_then(|c| map[c as usize]))
                    .collect();
                if let Some(key) = key {
                    *counts.entry(key).or_insert(0) += 1;
                }
            }
        }
        self.cells = counts.into_iter().collect();
        self.reference = reference;
        Ok(())
    }

    /// Counts of the level combinations of the categorical reference variables in the rows
    /// used (see the `cells` field); empty when the design has no categorical variable or was
    /// not built on data.
    pub(crate) fn cells(&self) -> &[(Vec<u32>, usize)] {
        &self.cells
    }

    /// The same design with treatment-contrast factors coded by sum-to-zero contrasts (level
    /// j < k: the j-th indicator; the last level: −1 in every column), as R's `contr.sum`.
    /// Column names and their terms are unchanged; factors coded by all their indicators stay so.
    pub(crate) fn sum_coded(&self) -> Design {
        let mut d = self.clone();
        d.sum_coding = true;
        d
    }

    /// Whether the design has an intercept column.
    pub fn has_intercept(&self) -> bool {
        self.intercept
    }

    /// Refuse a model matrix of `n` rows above [`MAX_MODEL_MATRIX_BYTES`] before it is
    /// allocated (a fixed factor of 100,000 levels asked for 160 GB), naming the term with the
    /// most columns and the alternative.
    fn check_size(&self, n: usize) -> Result<()> {
        let p = self.columns.len();
        let bytes = (n as f64) * (p as f64) * 8.0;
        if bytes <= MAX_MODEL_MATRIX_BYTES {
            return Ok(());
        }
        let mut widths = vec![0usize; self.terms.len()];
        for t in self.column_term.iter().flatten() {
            widths[*t] += 1;
        }
        let (widest, width) = widths
            .iter()
            .enumerate()
            .max_by_key(|(_, w)| **w)
            .map_or(("(Intercept)", 1), |(t, &w)| {
                (self.terms[t].label.as_str(), w)
            });
        Err(Error::Term {
            term: widest.to_string(),
            message: format!(
                "the fixed-effects model matrix would be {n} rows × {p} columns ({}), above the {} this crate allocates; '{widest}' alone takes {width} columns: a factor with that many levels is better fitted as a random effect, (1 | {widest})",
                crate::limits::human_bytes(bytes),
                crate::limits::human_bytes(MAX_MODEL_MATRIX_BYTES)
            ),
        })
    }

    /// Number of columns.
    pub fn ncols(&self) -> usize {
        self.columns.len()
    }

    /// The model matrix for `rows` of `data` (positions; rows must be complete).
    ///
    /// # Errors
    /// [`Error::UnknownColumn`], [`Error::ColumnType`] if a variable changed kind, and
    /// [`Error::InvalidValue`] for a level not seen when the design was built or a missing value.
    pub fn matrix(&self, data: &Data, rows: &[usize]) -> Result<DMatrix<f64>> {
        Ok(self.columns(data, rows, false)?.into_dense())
    }

    /// The model matrix as [`ModelColumns`]; with `share`, a numeric main effect read on every
    /// row in storage order with nothing missing is the data column itself, not a copy.
    ///
    /// # Errors
    /// As [`Design::matrix`].
    pub(crate) fn columns(&self, data: &Data, rows: &[usize], share: bool) -> Result<ModelColumns> {
        self.check_size(rows.len())?;
        let data = &*apply_bound(data, &self.transforms)?;
        let n = rows.len();
        let in_order = rows.len() == data.nrows() && rows.iter().enumerate().all(|(i, &r)| i == r);
        // The layout: which columns are data columns as they are (a column's term from the
        // design's own column-to-term map).
        let whole = |t: &TermCoding| -> Option<Arc<Column>> {
            let [VarCoding::Numeric(name)] = t.vars.as_slice() else {
                return None;
            };
            let c = data.shared_column(name).ok()?;
            match &**c {
                Column::Numeric(v) if share && in_order && v.complete().is_some() => {
                    Some(Arc::clone(c))
                }
                _ => None,
            }
        };
        let shared: Vec<Option<Arc<Column>>> = self
            .column_term
            .iter()
            .map(|t| t.and_then(|t| whole(&self.terms[t])))
            .collect();
        let mut x = ModelColumns::with_shared(n, shared);
        let mut col = 0;
        if self.intercept {
            x.owned_mut(0).expect("the intercept is computed").fill(1.0);
            col = 1;
        }
        for t in &self.terms {
            if let [VarCoding::Numeric(name)] = t.vars.as_slice() {
                // Fast path: a numeric main effect is the data column, or a copy of it.
                let vals = data.numeric(name).map_err(|e| with_context(e, &t.label))?;
                if let Some(out) = x.owned_mut(col) {
                    match vals.complete() {
                        // Every row in storage order and none missing: a straight copy.
                        Some(all) if in_order => out.copy_from_slice(all),
                        Some(all) => {
                            for (o, &r) in out.iter_mut().zip(rows) {
                                *o = all[r];
                            }
                        }
                        None => {
                            for (o, &r) in out.iter_mut().zip(rows) {
                                *o = vals.get(r).ok_or_else(|| missing(name, data.row_id(r)))?;
                            }
                        }
                    }
                }
                col += 1;
                continue;
            }
            // Per variable: values (numeric), level indices (factor) or several columns.
            let mut per_var: Vec<PerVar> = Vec::new();
            for v in &t.vars {
                match v {
                    VarCoding::Numeric(name) => {
                        let vals = data.numeric(name).map_err(|e| with_context(e, &t.label))?;
                        per_var.push(PerVar::Values(gather(vals, rows, name, data)?));
                    }
                    VarCoding::Matrix { columns, .. } => {
                        let mut cols = Vec::with_capacity(columns.len());
                        for name in columns {
                            let vals = data.numeric(name).map_err(|e| with_context(e, &t.label))?;
                            cols.push(gather(vals, rows, name, data)?);
                        }
                        per_var.push(PerVar::Columns(cols));
                    }
                    VarCoding::Factor {
                        name,
                        levels,
                        coded,
                    } => {
                        let f = data.factor(name).map_err(|e| with_context(e, &t.label))?;
                        let map: Vec<Option<usize>> = f
                            .levels()
                            .iter()
                            .map(|l| levels.iter().position(|m| m == l))
                            .collect();
                        let mut idx = Vec::with_capacity(n);
                        for &r in rows {
                            let code = f.codes()[r].ok_or_else(|| missing(name, data.row_id(r)))?;
                            let li = map[code as usize].ok_or_else(|| Error::InvalidValue {
                                column: name.clone(),
                                row: data.row_id(r),
                                value: f.levels()[code as usize].clone(),
                                reason: format!(
                                    "level not present when the model was fitted (levels: {})",
                                    levels.join(", ")
                                ),
                            })?;
                            idx.push(li);
                        }
                        // Sum-to-zero coding replaces treatment contrasts (levels 2..k coded).
                        let sum = self.sum_coding
                            && coded.len() + 1 == levels.len()
                            && coded.first() == Some(&1);
                        per_var.push(PerVar::Levels(idx, coded.clone(), sum));
                    }
                }
            }
            let width: usize = per_var.iter().map(PerVar::width).product();
            for k in 0..width {
                // Decompose k with the first variable varying fastest.
                let mut rem = k;
                let mut picks = Vec::with_capacity(per_var.len());
                for p in &per_var {
                    picks.push(rem % p.width());
                    rem /= p.width();
                }
                let column = x.owned_mut(col).expect("computed columns are owned");
                for (i, value) in column.iter_mut().enumerate() {
                    let mut v = 1.0;
                    for (p, &pick) in per_var.iter().zip(&picks) {
                        match p {
                            PerVar::Values(vals) => v *= vals[i],
                            PerVar::Columns(cols) => v *= cols[pick][i],
                            PerVar::Levels(idx, coded, false) => {
                                if idx[i] != coded[pick] {
                                    v = 0.0;
                                }
                            }
                            PerVar::Levels(idx, coded, true) => {
                                // Level j < k: indicator of column j; level k: −1 throughout.
                                if idx[i] == coded.len() {
                                    v = -v;
                                } else if idx[i] != pick {
                                    v = 0.0;
                                }
                            }
                        }
                    }
                    *value = v;
                }
                col += 1;
            }
        }
        Ok(x)
    }
}

/// One variable of a term, evaluated on the rows of a model matrix.
enum PerVar {
    Values(Vec<f64>),
    Columns(Vec<Vec<f64>>),
    /// Level index per row, the level indices that get columns, and whether they are coded by
    /// sum-to-zero contrasts instead of indicators.
    Levels(Vec<usize>, Vec<usize>, bool),
}

impl PerVar {
    fn width(&self) -> usize {
        match self {
            PerVar::Values(_) => 1,
            PerVar::Columns(c) => c.len(),
            PerVar::Levels(_, coded, _) => coded.len(),
        }
    }
}

/// The values of a numeric column at `rows`; a missing value is an error naming the row.
fn gather(vals: &NumericColumn, rows: &[usize], name: &str, data: &Data) -> Result<Vec<f64>> {
    if let Some(all) = vals.complete() {
        return Ok(rows.iter().map(|&r| all[r]).collect());
    }
    rows.iter()
        .map(|&r| vals.get(r).ok_or_else(|| missing(name, data.row_id(r))))
        .collect()
}

fn var_name(v: &VarCoding) -> &str {
    match v {
        VarCoding::Numeric(n) => n,
        VarCoding::Factor { name, .. } | VarCoding::Matrix { name, .. } => name,
    }
}

fn column_names(t: &TermCoding) -> Vec<String> {
    let mut names = vec![String::new()];
    for (i, v) in t.vars.iter().enumerate() {
        let parts: Vec<String> = match v {
            VarCoding::Numeric(n) => vec![n.clone()],
            VarCoding::Matrix { columns, .. } => columns.clone(),
            VarCoding::Factor {
                name,
                levels,
                coded,
            } => coded
                .iter()
                .map(|&c| format!("{name}{}", levels[c]))
                .collect(),
        };
        // First variable varies fastest: new parts are the slower index.
        let mut next = Vec::with_capacity(names.len() * parts.len());
        for p in &parts {
            for prev in &names {
                next.push(if i == 0 {
                    p.clone()
                } else {
                    format!("{prev}:{p}")
                });
            }
        }
        names = next;
    }
    names
}

fn missing(name: &str, row: usize) -> Error {
    Error::InvalidValue {
        column: name.to_string(),
        row,
        value: "NA".into(),
        reason: "missing value where the model needs one".into(),
    }
}

fn with_context(e: Error, term: &str) -> Error {
    e.in_context(format!("in term '{term}'"))
}
