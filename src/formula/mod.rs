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
//! Fixed terms are ordered as R orders them (by degree, then as written) and named as R names
//! them; see [`design`] for the model matrix and the treatment-contrast rules.

pub mod design;
mod frame;
pub use frame::{Missingness, ModelFrame};
mod parse;

use crate::error::{Error, Result};
use parse::{Expr, Parser};
use serde::{Deserialize, Serialize};

/// A fixed-effects term: the variables it multiplies, in formula order (`a:b` is `["a", "b"]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TermList {
    /// Whether the intercept is in.
    pub intercept: bool,
    /// The terms, ordered by degree then as written.
    pub terms: Vec<Term>,
}

/// One random-effect term after expansion of `||` and `/`: `(lhs | group)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
/// # Ok::<(), securebase::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Formula {
    text: String,
    response: String,
    fixed: TermList,
    random: Vec<RandomTerm>,
    positions: Vec<(String, usize)>,
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

struct Expanded {
    terms: Vec<Vec<usize>>,
    intercept: Option<bool>,
}

struct Ctx<'a> {
    text: &'a str,
    vars: Vec<String>,
}

impl Ctx<'_> {
    fn err(&self, pos: usize, message: impl Into<String>) -> Error {
        Error::Formula {
            formula: self.text.to_string(),
            position: pos,
            message: message.into(),
        }
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

    fn expand(&mut self, e: &Expr) -> Result<Expanded> {
        Ok(match e {
            Expr::Var(name, _) => Expanded {
                terms: vec![vec![self.var(name)]],
                intercept: None,
            },
            Expr::Num(v, _) => Expanded {
                terms: vec![],
                intercept: Some(*v == 1.0),
            },
            Expr::Sum(a, b) => {
                let a = self.expand(a)?;
                let b = self.expand(b)?;
                Expanded {
                    terms: union(a.terms, b.terms),
                    intercept: b.intercept.or(a.intercept),
                }
            }
            Expr::Minus(a, b) => {
                let a = self.expand(a)?;
                let b = self.expand(b)?;
                Expanded {
                    terms: a
                        .terms
                        .into_iter()
                        .filter(|t| !b.terms.contains(t))
                        .collect(),
                    intercept: b.intercept.map(|i| !i).or(a.intercept),
                }
            }
            Expr::Neg(a, pos) => {
                let a = self.expand(a)?;
                if !a.terms.is_empty() {
                    return Err(
                        self.err(*pos, "a leading '-' can only remove the intercept ('- 1')")
                    );
                }
                Expanded {
                    terms: vec![],
                    intercept: a.intercept.map(|i| !i),
                }
            }
            Expr::Interact(a, b) => {
                let (ea, eb) = (self.expand(a)?, self.expand(b)?);
                self.no_intercept_inside(&ea, a.pos(), ":")?;
                self.no_intercept_inside(&eb, b.pos(), ":")?;
                Expanded {
                    terms: product(&ea.terms, &eb.terms),
                    intercept: None,
                }
            }
            Expr::Cross(a, b) => {
                let (ea, eb) = (self.expand(a)?, self.expand(b)?);
                self.no_intercept_inside(&ea, a.pos(), "*")?;
                self.no_intercept_inside(&eb, b.pos(), "*")?;
                let prod = product(&ea.terms, &eb.terms);
                Expanded {
                    terms: union(union(ea.terms, eb.terms), prod),
                    intercept: None,
                }
            }
            Expr::Nest(a, b) => {
                let (ea, eb) = (self.expand(a)?, self.expand(b)?);
                self.no_intercept_inside(&ea, a.pos(), "/")?;
                self.no_intercept_inside(&eb, b.pos(), "/")?;
                let mut all: Vec<usize> = ea.terms.iter().flatten().copied().collect();
                all.sort_unstable();
                all.dedup();
                let nested = product(&[all], &eb.terms);
                Expanded {
                    terms: union(ea.terms, nested),
                    intercept: None,
                }
            }
            Expr::Power(a, k, pos) => {
                let ea = self.expand(a)?;
                self.no_intercept_inside(&ea, *pos, "^")?;
                let mut acc = ea.terms.clone();
                for _ in 1..*k {
                    let prod = product(&acc, &ea.terms);
                    acc = union(acc, prod);
                }
                acc.retain(|t| t.len() <= *k as usize);
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
                terms: vec![],
                intercept: None,
            },
        };
        let mut terms = ex.terms;
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

fn union(mut a: Vec<Vec<usize>>, b: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
    for t in b {
        if !a.contains(&t) {
            a.push(t);
        }
    }
    a
}

fn product(a: &[Vec<usize>], b: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    for ta in a {
        for tb in b {
            let mut t: Vec<usize> = ta.iter().chain(tb).copied().collect();
            t.sort_unstable();
            t.dedup();
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// Split the top-level sum into fixed summands and random-effect terms.
fn split_bars<'e>(e: &'e Expr, fixed: &mut Vec<(bool, &'e Expr)>, bars: &mut Vec<&'e Expr>) {
    match e {
        Expr::Sum(a, b) => {
            split_bars(a, fixed, bars);
            split_bars(b, fixed, bars);
        }
        Expr::Minus(a, b) => {
            split_bars(a, fixed, bars);
            fixed.push((true, b));
        }
        Expr::Bar { .. } => bars.push(e),
        other => fixed.push((false, other)),
    }
}

/// Grouping factors of a `| group` expression: `g`, `g1:g2`, `g1/g2` (→ `g1`, `g2:g1`).
fn groups(ctx: &Ctx, e: &Expr) -> Result<Vec<Vec<String>>> {
    match e {
        Expr::Var(name, _) => Ok(vec![vec![name.clone()]]),
        Expr::Interact(a, b) => {
            let (ga, gb) = (groups(ctx, a)?, groups(ctx, b)?);
            let mut out = Vec::new();
            for x in &ga {
                for y in &gb {
                    out.push(x.iter().chain(y).cloned().collect());
                }
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

fn rebuild(parts: &[(bool, &Expr)]) -> Option<Expr> {
    let mut acc: Option<Expr> = None;
    for (minus, e) in parts {
        let e = (*e).clone();
        acc = Some(match (acc, minus) {
            (None, false) => e,
            (None, true) => Expr::Neg(Box::new(e.clone()), e.pos()),
            (Some(a), false) => Expr::Sum(Box::new(a), Box::new(e)),
            (Some(a), true) => Expr::Minus(Box::new(a), Box::new(e)),
        });
    }
    acc
}

fn collect_positions(e: &Expr, out: &mut Vec<(String, usize)>) {
    match e {
        Expr::Var(n, p) => out.push((n.clone(), *p)),
        Expr::Num(..) => {}
        Expr::Neg(a, _) | Expr::Power(a, _, _) => collect_positions(a, out),
        Expr::Sum(a, b)
        | Expr::Minus(a, b)
        | Expr::Interact(a, b)
        | Expr::Cross(a, b)
        | Expr::Nest(a, b) => {
            collect_positions(a, out);
            collect_positions(b, out);
        }
        Expr::Bar { lhs, group, .. } => {
            collect_positions(lhs, out);
            collect_positions(group, out);
        }
    }
}

impl Formula {
    /// Parse a formula.
    ///
    /// # Errors
    /// [`Error::Formula`] with the 0-based position of the problem: unbalanced parentheses,
    /// empty terms, `|` outside parentheses, function calls, numbers other than 0 and 1, a
    /// random-effect term combined with `*` or `:`, a missing response.
    pub fn parse(text: &str) -> Result<Formula> {
        let (response, rpos, rhs) = Parser::new(text)?.formula()?;
        let mut fixed_parts = Vec::new();
        let mut bars = Vec::new();
        split_bars(&rhs, &mut fixed_parts, &mut bars);
        let mut ctx = Ctx {
            text,
            vars: vec![response.clone()],
        };
        let fixed_expr = rebuild(&fixed_parts);
        let fixed = ctx.term_list(fixed_expr.as_ref())?;
        if fixed.terms.iter().any(|t| t.vars.contains(&response)) {
            return Err(ctx.err(
                rpos,
                format!("the response '{response}' also appears on the right-hand side"),
            ));
        }
        let mut random = Vec::new();
        for bar in bars {
            let Expr::Bar {
                lhs, group, double, ..
            } = bar
            else {
                unreachable!("split_bars only collects bars")
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
        let mut positions = vec![(response.clone(), rpos)];
        collect_positions(&rhs, &mut positions);
        Ok(Formula {
            text: text.to_string(),
            response,
            fixed,
            random,
            positions,
        })
    }

    /// The formula as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The response variable.
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

    /// Whether the formula has random-effect terms (a mixed model).
    pub fn is_mixed(&self) -> bool {
        !self.random.is_empty()
    }

    /// Every variable the formula uses (response first), each once.
    pub fn variables(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (n, _) in &self.positions {
            if !out.contains(n) {
                out.push(n.clone());
            }
        }
        out
    }

    /// Check every variable against the data's columns.
    ///
    /// # Errors
    /// [`Error::Formula`] pointing at the first unknown column, listing the data's columns.
    pub fn check_columns(&self, data: &crate::Data) -> Result<()> {
        for (name, pos) in &self.positions {
            if !data.has_column(name) {
                let avail = data.names().join(", ");
                return Err(Error::Formula {
                    formula: self.text.clone(),
                    position: *pos,
                    message: format!("unknown column '{name}' (the data have: {avail})"),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
