//! lme4-style formulas: parsing, term expansion, and model matrices.
//!
//! [`Formula::parse`] reads R's and lme4's syntax:
//!
//! | syntax | meaning |
//! |---|---|
//! | `y ~ a + b` | main effects, intercept implied |
//! | `a:b` | interaction only |
//! | `a * b` | `a + b + a:b` |
//! | `(a + b + c)^2` | all terms up to second order |
//! | `a / b` | `a + a:b` (nesting) |
//! | `- 1`, `0 +` / `+ 1` | drop / keep the intercept |
//! | `(x \| g)` | correlated random intercept and slope of `x` per level of `g` |
//! | `(0 + x \| g)` | random slope only |
//! | `(x \|\| g)` | uncorrelated: `(1 \| g) + (0 + x \| g)` |
//! | `(1 \| g1/g2)` | nested: `(1 \| g1) + (1 \| g2:g1)` |
//! | `(1 \| g1:g2)` | the interaction of two factors as one grouping factor |
//!
//! Functions of variables work as in R, and are named as R names them:
//!
//! | syntax | meaning |
//! |---|---|
//! | `I(x^2)`, `I(x * z)`, `I((x - 3) / 2)` | arithmetic (`+ - * / ^`) as one variable |
//! | `log(x)`, `log(x, base = 2)`, `log2`, `log10`, `log1p`, `exp`, `sqrt`, `abs` | mathematical functions (also inside `I()`) |
//! | `scale(x)`, `scale(x, scale = FALSE)` | centred (and scaled) on the data's mean and SD |
//! | `factor(x)` | a numeric column as categorical: `factor(x)2`, `factor(x)3` |
//! | `poly(x, 2)`, `poly(x, 2, raw = TRUE)` | orthogonal or raw polynomial columns `poly(x, 2)1`, … |
//! | `offset(x)` | added to the linear predictor with coefficient 1 |
//! | `log(y) ~ …` | a function of the response |
//!
//! As in R's `model.frame()`, data-dependent functions are evaluated on every non-missing value
//! of their argument in the data given (before rows are dropped for missingness elsewhere):
//! `scale()` centres on that mean and divides by that SD, orthogonal `poly()` takes its
//! recurrence from those values (R refuses missing values there; here they are left out). The
//! fitted constants stay with the model, so new data are coded the same way (R's
//! `makepredictcall`). A value outside a function's domain (log of 0 or of a negative number, a
//! division by zero) is an error naming the row, column and value, where R gives `NaN` with at
//! most a warning. With an offset, R² and F use the fitted values less the offset, as R ≥ 4.3.
//!
//! Fixed terms are ordered as R orders them (by degree, then as written) and named as R names
//! them; see [`design`] for the model matrix and the treatment-contrast rules. Parsing and
//! expansion are bounded: nesting deeper than [`MAX_DEPTH`] and expansions beyond [`MAX_TERMS`]
//! terms are errors with the position, found before any expansion work.

pub(crate) mod columns;
pub mod design;
mod frame;
pub(crate) mod functions;
pub(crate) use frame::SharedFrame;
pub(crate) use frame::prepare;
pub use frame::{Missingness, ModelFrame};
mod parse;
pub use parse::MAX_DEPTH;

use crate::error::{Error, Result};
use functions::Derived;
use parse::{Expr, Parser};
use std::collections::HashSet;

/// The most fixed-effect terms a formula may expand to (checked before expanding, so
/// `(x1 + … + x16)^16` is an error at once rather than minutes of work).
pub const MAX_TERMS: usize = 5_000;

/// A fixed-effects term: the variables it multiplies, in formula order (`a:b` is `["a", "b"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Term {
    /// Variable names.
    pub vars: Vec<String>,
}

impl Term {
    /// The term's label as R prints it (`a:b`).
    pub fn label(&self) -> String {
        self.vars.join(":")
    }

    /// The term's order (number of variables).
    pub fn order(&self) -> usize {
        self.vars.len()
    }
}

/// The fixed part of a formula (or the left side of a random-effect term): an intercept flag
/// and terms in R's order.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct TermList {
    /// Whether the intercept is in.
    pub intercept: bool,
    /// The terms, ordered by degree then as written.
    pub terms: Vec<Term>,
}

/// One random-effect term after expansion of `||` and `/`: `(lhs | group)`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct RandomTerm {
    /// The effects that vary by group (`(Intercept)`, slopes).
    pub effects: TermList,
    /// Variables whose interaction forms the grouping factor, as lme4 names it
    /// (`["cask", "batch"]` for the inner factor of `batch/cask`).
    pub group: Vec<String>,
}

impl RandomTerm {
    /// The grouping factor's name as lme4 prints it (`Subject`, `cask:batch`).
    pub fn group_name(&self) -> String {
        self.group.join(":")
    }
}

/// A parsed model formula.
///
/// # Examples
///
/// ```
/// use securebase::Formula;
/// let f = Formula::parse("y ~ x * z + (1 | therapist/client)")?;
/// assert_eq!(f.response(), "y");
/// let labels: Vec<String> = f.fixed().terms.iter().map(|t| t.label()).collect();
/// assert_eq!(labels, ["x", "z", "x:z"]);
/// let groups: Vec<String> = f.random().iter().map(|r| r.group_name()).collect();
/// assert_eq!(groups, ["therapist", "client:therapist"]);
/// // Functions of variables are variables named as R names them.
/// let f = Formula::parse("log(y) ~ I(x*z) + poly(session,2,raw=TRUE) + factor(wave)")?;
/// let labels: Vec<String> = f.fixed().terms.iter().map(|t| t.label()).collect();
/// assert_eq!(labels, ["I(x * z)", "poly(session, 2, raw = TRUE)", "factor(wave)"]);
/// assert_eq!(f.response(), "log(y)");
/// # Ok::<(), securebase::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Formula {
    text: String,
    response: String,
    fixed: TermList,
    random: Vec<RandomTerm>,
    offsets: Vec<String>,
    derived: Vec<Derived>,
    /// Every data column named, with its position in the text.
    columns: Vec<(String, usize)>,
}

impl std::fmt::Display for Formula {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Formula {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Formula::parse(s)
    }
}

/// A set of terms (each a sorted list of variable indices) in order of first appearance.
#[derive(Default)]
struct Terms {
    list: Vec<Vec<usize>>,
    seen: HashSet<Vec<usize>>,
}

impl Terms {
    fn one(t: Vec<usize>) -> Terms {
        let mut s = Terms::default();
        s.push(t);
        s
    }

    fn push(&mut self, t: Vec<usize>) {
        if self.seen.insert(t.clone()) {
            self.list.push(t);
        }
    }

    fn extend(&mut self, other: Terms) {
        for t in other.list {
            self.push(t);
        }
    }

    fn remove(&mut self, other: &Terms) {
        self.list.retain(|t| !other.seen.contains(t));
        self.seen.retain(|t| !other.seen.contains(t));
    }

    fn len(&self) -> usize {
        self.list.len()
    }
}

struct Expanded {
    terms: Terms,
    intercept: Option<bool>,
}

struct Ctx<'a> {
    text: &'a str,
    vars: Vec<String>,
}

/// Σ_{j=1..k} C(m, j), saturating: how many terms `(m terms)^k` can give at most.
fn power_bound(m: usize, k: usize) -> usize {
    let mut total: usize = 0;
    let mut c: usize = 1;
    for j in 1..=k.min(m) {
        c = c.saturating_mul(m + 1 - j) / j;
        total = total.saturating_add(c);
    }
    total
}

impl Ctx<'_> {
    fn err(&self, pos: usize, message: impl Into<String>) -> Error {
        Error::Formula {
            formula: self.text.to_string(),
            position: pos,
            message: message.into(),
        }
    }

    fn too_many(&self, pos: usize, n: usize) -> Error {
        self.err(
            pos,
            format!(
                "this expands to {} terms, more than the {MAX_TERMS} a formula may have",
                if n == usize::MAX {
                    "astronomically many".to_string()
                } else {
                    format!("up to {n}")
                }
            ),
        )
    }

    fn var(&mut self, name: &str) -> usize {
        match self.vars.iter().position(|v| v == name) {
            Some(i) => i,
            None => {
                self.vars.push(name.to_string());
                self.vars.len() - 1
            }
        }
    }

    fn no_intercept_inside(&self, e: &Expanded, pos: usize, op: &str) -> Result<()> {
        if e.intercept.is_some() {
            return Err(self.err(
                pos,
                format!("'{op}' cannot combine an intercept (0 or 1) with other terms"),
            ));
        }
        Ok(())
    }

    /// All products of a term of `a` with a term of `b`, bounded before any work.
    fn product(&self, a: &Terms, b: &Terms, pos: usize) -> Result<Terms> {
        let n = a.len().saturating_mul(b.len());
        if n > MAX_TERMS {
            return Err(self.too_many(pos, n));
        }
        let mut out = Terms::default();
        for ta in &a.list {
            for tb in &b.list {
                let mut t: Vec<usize> = ta.iter().chain(tb).copied().collect();
                t.sort_unstable();
                t.dedup();
                out.push(t);
            }
        }
        Ok(out)
    }

    fn checked(&self, t: Terms, pos: usize) -> Result<Terms> {
        if t.len() > MAX_TERMS {
            return Err(self.too_many(pos, t.len()));
        }
        Ok(t)
    }

    fn expand(&mut self, e: &Expr) -> Result<Expanded> {
        Ok(match e {
            Expr::Var(name, _) => Expanded {
                terms: Terms::one(vec![self.var(name)]),
                intercept: None,
            },
            Expr::Num(v, _) => Expanded {
                terms: Terms::default(),
                intercept: Some(*v == 1.0),
            },
            Expr::Offset(_, pos) => {
                return Err(self.err(
                    *pos,
                    "offset() must be added to the formula on its own, not combined with other operators",
                ));
            }
            Expr::Sum(parts) => {
                let mut acc = Expanded {
                    terms: Terms::default(),
                    intercept: None,
                };
                for (i, (minus, part)) in parts.iter().enumerate() {
                    let b = self.expand(part)?;
                    if *minus {
                        if i == 0 && !b.terms.list.is_empty() {
                            return Err(self.err(
                                part.pos(),
                                "a leading '-' can only remove the intercept ('- 1')",
                            ));
                        }
                        acc.terms.remove(&b.terms);
                        acc.intercept = b.intercept.map(|i| !i).or(acc.intercept);
                    } else {
                        acc.terms.extend(b.terms);
                        acc.intercept = b.intercept.or(acc.intercept);
                    }
                    acc.terms = self.checked(acc.terms, part.pos())?;
                }
                acc
            }
            Expr::Interact(parts) => {
                let mut acc: Option<Terms> = None;
                for part in parts {
                    let eb = self.expand(part)?;
                    self.no_intercept_inside(&eb, part.pos(), ":")?;
                    acc = Some(match acc {
                        None => eb.terms,
                        Some(a) => self.product(&a, &eb.terms, part.pos())?,
                    });
                }
                Expanded {
                    terms: acc.unwrap_or_default(),
                    intercept: None,
                }
            }
            Expr::Cross(parts) => {
                let mut acc: Option<Terms> = None;
                for part in parts {
                    let eb = self.expand(part)?;
                    self.no_intercept_inside(&eb, part.pos(), "*")?;
                    acc = Some(match acc {
                        None => eb.terms,
                        Some(a) => {
                            let prod = self.product(&a, &eb.terms, part.pos())?;
                            let mut all = a;
                            all.extend(eb.terms);
                            all.extend(prod);
                            self.checked(all, part.pos())?
                        }
                    });
                }
                Expanded {
                    terms: acc.unwrap_or_default(),
                    intercept: None,
                }
            }
            Expr::Nest(a, b) => {
                let (ea, eb) = (self.expand(a)?, self.expand(b)?);
                self.no_intercept_inside(&ea, a.pos(), "/")?;
                self.no_intercept_inside(&eb, b.pos(), "/")?;
                let mut all: Vec<usize> = ea.terms.list.iter().flatten().copied().collect();
                all.sort_unstable();
                all.dedup();
                let nested = self.product(&Terms::one(all), &eb.terms, b.pos())?;
                let mut terms = ea.terms;
                terms.extend(nested);
                Expanded {
                    terms: self.checked(terms, b.pos())?,
                    intercept: None,
                }
            }
            Expr::Power(a, k, pos) => {
                let ea = self.expand(a)?;
                self.no_intercept_inside(&ea, *pos, "^")?;
                let bound = power_bound(ea.terms.len(), *k as usize);
                if bound > MAX_TERMS {
                    return Err(self.too_many(*pos, bound));
                }
                let mut acc = Terms::default();
                acc.extend(Terms {
                    list: ea.terms.list.clone(),
                    seen: ea.terms.seen.clone(),
                });
                for _ in 1..*k {
                    let prod = self.product(&acc, &ea.terms, *pos)?;
                    let before = acc.len();
                    acc.extend(prod);
                    if acc.len() == before {
                        break;
                    }
                }
                acc.list.retain(|t| t.len() <= *k as usize);
                acc.seen.retain(|t| t.len() <= *k as usize);
                Expanded {
                    terms: acc,
                    intercept: None,
                }
            }
            Expr::Bar { pos, .. } => {
                return Err(self.err(
                    *pos,
                    "a random-effect term (… | g) must be added to the formula, not combined with other operators",
                ));
            }
        })
    }

    fn term_list(&mut self, e: Option<&Expr>) -> Result<TermList> {
        let ex = match e {
            Some(e) => self.expand(e)?,
            None => Expanded {
                terms: Terms::default(),
                intercept: None,
            },
        };
        let mut terms = ex.terms.list;
        // R orders terms by degree, keeping the written order within a degree.
        terms.sort_by_key(Vec::len);
        Ok(TermList {
            intercept: ex.intercept.unwrap_or(true),
            terms: terms
                .into_iter()
                .map(|t| Term {
                    vars: t.iter().map(|&i| self.vars[i].clone()).collect(),
                })
                .collect(),
        })
    }
}

/// The parts of the top-level sum: fixed summands (with their sign), random-effect terms and
/// offsets.
#[derive(Default)]
struct Parts<'e> {
    fixed: Vec<(bool, &'e Expr)>,
    bars: Vec<&'e Expr>,
    offsets: Vec<(String, usize)>,
}

fn split_top<'e>(ctx: &Ctx, e: &'e Expr, minus: bool, parts: &mut Parts<'e>) -> Result<()> {
    match e {
        Expr::Sum(v) if !minus => {
            for (m, x) in v {
                split_top(ctx, x, *m, parts)?;
            }
        }
        Expr::Bar { .. } if !minus => parts.bars.push(e),
        Expr::Offset(label, pos) => {
            if minus {
                return Err(ctx.err(*pos, "an offset cannot be subtracted"));
            }
            parts.offsets.push((label.clone(), *pos));
        }
        other => parts.fixed.push((minus, other)),
    }
    Ok(())
}

/// Grouping factors of a `| group` expression: `g`, `g1:g2`, `g1/g2` (→ `g1`, `g2:g1`).
fn groups(ctx: &Ctx, e: &Expr) -> Result<Vec<Vec<String>>> {
    match e {
        Expr::Var(name, p) => {
            if name.contains('(') {
                return Err(ctx.err(
                    *p,
                    "a grouping factor must be a column name; add a derived column with Data::add_column",
                ));
            }
            Ok(vec![vec![name.clone()]])
        }
        Expr::Interact(parts) => {
            let mut out: Vec<Vec<String>> = vec![vec![]];
            for part in parts {
                let gp = groups(ctx, part)?;
                let mut next = Vec::new();
                for x in &out {
                    for y in &gp {
                        next.push(x.iter().chain(y).cloned().collect());
                    }
                }
                out = next;
            }
            Ok(out)
        }
        Expr::Nest(a, b) => {
            let ga = groups(ctx, a)?;
            let outer = ga.last().cloned().unwrap_or_default();
            let mut out = ga;
            for y in groups(ctx, b)? {
                out.push(y.into_iter().chain(outer.iter().cloned()).collect());
            }
            Ok(out)
        }
        other => Err(ctx.err(
            other.pos(),
            "a grouping factor must be a column name, 'g1:g2' or 'g1/g2'",
        )),
    }
}

impl Formula {
    /// Parse a formula.
    ///
    /// # Errors
    /// [`Error::Formula`] with the 0-based position of the problem: unbalanced parentheses,
    /// empty terms, `|` outside parentheses, unknown functions or malformed arguments, numbers
    /// other than 0 and 1 outside a call, a random-effect term combined with `*` or `:`, a
    /// missing response, the response on the right-hand side (fixed or random), nesting deeper
    /// than [`MAX_DEPTH`], or more than [`MAX_TERMS`] terms.
    pub fn parse(text: &str) -> Result<Formula> {
        let parsed = Parser::new(text)?.formula()?;
        let (response, rpos) = (parsed.response.clone(), parsed.response_pos);
        let mut ctx = Ctx {
            text,
            vars: vec![response.clone()],
        };
        let mut parts = Parts::default();
        split_top(&ctx, &parsed.rhs, false, &mut parts)?;
        let fixed_expr = (!parts.fixed.is_empty()).then(|| {
            Expr::Sum(
                parts
                    .fixed
                    .iter()
                    .map(|(m, e)| (*m, (*e).clone()))
                    .collect(),
            )
        });
        let fixed = ctx.term_list(fixed_expr.as_ref())?;
        let mut random = Vec::new();
        for bar in &parts.bars {
            let Expr::Bar {
                lhs, group, double, ..
            } = bar
            else {
                unreachable!("split_top only collects bars")
            };
            let mut local = Ctx { text, vars: vec![] };
            let effects = local.term_list(Some(lhs))?;
            if !effects.intercept && effects.terms.is_empty() {
                return Err(ctx.err(
                    bar.pos(),
                    "the random-effect term has no effects on the left of '|'",
                ));
            }
            for g in groups(&ctx, group)? {
                if *double {
                    if effects.intercept {
                        random.push(RandomTerm {
                            effects: TermList {
                                intercept: true,
                                terms: vec![],
                            },
                            group: g.clone(),
                        });
                    }
                    for t in &effects.terms {
                        random.push(RandomTerm {
                            effects: TermList {
                                intercept: false,
                                terms: vec![t.clone()],
                            },
                            group: g.clone(),
                        });
                    }
                } else {
                    random.push(RandomTerm {
                        effects: effects.clone(),
                        group: g,
                    });
                }
            }
        }
        let formula = Formula {
            text: text.to_string(),
            response,
            fixed,
            random,
            offsets: parts.offsets.into_iter().map(|(l, _)| l).collect(),
            derived: parsed.derived,
            columns: parsed.columns,
        };
        formula.check_response(rpos, parsed.rhs_columns_from)?;
        Ok(formula)
    }

    /// The response must not appear on the right-hand side: not as a term, not in a random
    /// term (as an effect or a grouping factor), not inside a function of another variable.
    fn check_response(&self, rpos: usize, rhs_from: usize) -> Result<()> {
        let err = |what: &str| Error::Formula {
            formula: self.text.clone(),
            position: rpos,
            message: format!("the response '{}' also appears {what}", self.response),
        };
        let r = &self.response;
        if self.fixed.terms.iter().any(|t| t.vars.contains(r)) {
            return Err(err("on the right-hand side"));
        }
        for rt in &self.random {
            if rt.group.contains(r) {
                return Err(err("as a grouping factor"));
            }
            if rt.effects.terms.iter().any(|t| t.vars.contains(r)) {
                return Err(err("inside a random-effect term"));
            }
        }
        let response_columns: Vec<&str> = self.columns[..rhs_from]
            .iter()
            .map(|(c, _)| c.as_str())
            .collect();
        if let Some((c, _)) = self.columns[rhs_from..]
            .iter()
            .find(|(c, _)| response_columns.contains(&c.as_str()))
        {
            return Err(err(&format!(
                "on the right-hand side (its column '{c}' is used there)"
            )));
        }
        Ok(())
    }

    /// The formula as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The response variable (a column, or a function of one such as `log(y)`).
    pub fn response(&self) -> &str {
        &self.response
    }

    /// The fixed-effects part.
    pub fn fixed(&self) -> &TermList {
        &self.fixed
    }

    /// The random-effect terms, `||` and `/` expanded, in written order.
    pub fn random(&self) -> &[RandomTerm] {
        &self.random
    }

    /// The offsets' labels (`offset(log_sessions)`), in written order.
    pub fn offsets(&self) -> &[String] {
        &self.offsets
    }

    /// Whether the formula has random-effect terms (a mixed model).
    pub fn is_mixed(&self) -> bool {
        !self.random.is_empty()
    }

    pub(crate) fn derived(&self) -> &[Derived] {
        &self.derived
    }

    /// Every variable the model uses, each once: the response first, then fixed terms, random
    /// effects and grouping factors, and offsets. Functions of columns appear by their labels
    /// (`log(x)`); see [`Formula::columns`] for the data columns they read.
    pub fn variables(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut add = |v: &String| {
            if seen.insert(v.clone()) {
                out.push(v.clone());
            }
        };
        add(&self.response);
        for t in &self.fixed.terms {
            t.vars.iter().for_each(&mut add);
        }
        for rt in &self.random {
            for t in &rt.effects.terms {
                t.vars.iter().for_each(&mut add);
            }
            rt.group.iter().for_each(&mut add);
        }
        self.offsets.iter().for_each(&mut add);
        out
    }

    /// The data columns the formula reads, each once, in order of appearance.
    pub fn columns(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.columns
            .iter()
            .filter(|(c, _)| seen.insert(c.as_str()))
            .map(|(c, _)| c.clone())
            .collect()
    }

    /// The data columns the response reads (`y`, or `a` and `b` of `log(a + b)`).
    pub(crate) fn response_columns(&self) -> Vec<String> {
        match self.derived.iter().find(|d| d.label == self.response) {
            Some(d) => d.columns(),
            None => vec![self.response.clone()],
        }
    }

    /// Each `scale()` call of the formula: its label and the columns it reads.
    pub(crate) fn scale_calls(&self) -> Vec<(String, Vec<String>)> {
        self.derived
            .iter()
            .filter(|d| matches!(d.func, functions::VarFn::Scale { .. }))
            .map(|d| (d.label.clone(), d.columns()))
            .filter(|(_, c)| !c.is_empty())
            .collect()
    }

    /// Check every column the formula reads against the data's columns.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`] for the first unknown column, with the formula, the name's
    /// position in it, the closest known name and the data's columns.
    pub fn check_columns(&self, data: &crate::Data) -> Result<()> {
        for (name, pos) in &self.columns {
            if !data.has_column(name) {
                return Err(Error::UnknownColumn {
                    name: name.clone(),
                    available: data.names().to_vec(),
                    formula: Some(self.text.clone()),
                    position: Some(*pos),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

/// Evaluate an arithmetic expression in formula syntax (`iip_post - iip_pre`, `log(x + 1)`) on
/// every row: a numeric column, missing where an input is.
pub(crate) fn evaluate(data: &crate::Data, expr: &str) -> Result<crate::data::Column> {
    let f = Formula::parse(&format!(".value ~ I({expr})"))?;
    let derived = f.derived().first().ok_or_else(|| Error::Argument {
        name: "expr".into(),
        message: format!("'{expr}' is not an expression"),
    })?;
    let (_, mut cols) = derived.bind(data)?;
    Ok(cols.swap_remove(0).1)
}
