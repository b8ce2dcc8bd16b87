//! Functions of variables in formulas, as R evaluates them in `model.frame()`: `I()` with
//! arithmetic, `log()` (and `log2`, `log10`, `log1p`), `exp()`, `sqrt()`, `abs()`, `scale()`,
//! `factor()`, `poly()` (raw and orthogonal) and `offset()`.
//!
//! Each call is a variable of its own, named as R names it: the call deparsed with R's
//! spacing (`I(x * z)`, `poly(x, 2, raw = TRUE)`), so model-matrix columns read `I(x^2)`,
//! `factor(session)2`, `poly(x, 2, raw = TRUE)1`. As in R, data-dependent functions are
//! evaluated on every non-missing value of their argument in the data given (before rows are
//! dropped for missingness elsewhere): `scale()` centres on that mean and divides by that SD,
//! and orthogonal `poly()` takes its recurrence coefficients from those values. The fitted
//! constants are kept with the model, so new data are coded the same way (R's
//! `makepredictcall`).
//!
//! A value outside a function's domain (log of 0 or of a negative number, a square root of a
//! negative number, a division by zero, an overflow) is an error naming the row, the column and
//! the value, where R would produce `NaN` or `Inf` with at most a warning.

use crate::data::{Column, Data, Factor, NumericColumn};
use crate::error::{Error, Result};

/// A mathematical function usable inside a formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) enum MathFn {
    Log,
    Log2,
    Log10,
    Log1p,
    Exp,
    Sqrt,
    Abs,
}

impl MathFn {
    pub(crate) fn from_name(name: &str) -> Option<MathFn> {
        Some(match name {
            "log" => MathFn::Log,
            "log2" => MathFn::Log2,
            "log10" => MathFn::Log10,
            "log1p" => MathFn::Log1p,
            "exp" => MathFn::Exp,
            "sqrt" => MathFn::Sqrt,
            "abs" => MathFn::Abs,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            MathFn::Log => "log",
            MathFn::Log2 => "log2",
            MathFn::Log10 => "log10",
            MathFn::Log1p => "log1p",
            MathFn::Exp => "exp",
            MathFn::Sqrt => "sqrt",
            MathFn::Abs => "abs",
        }
    }

    /// Why `x` is outside the domain, if it is.
    fn domain(self, x: f64) -> Option<&'static str> {
        match self {
            MathFn::Log | MathFn::Log2 | MathFn::Log10 if x <= 0.0 => {
                Some("the logarithm needs values above 0")
            }
            MathFn::Log1p if x <= -1.0 => Some("log1p needs values above -1"),
            MathFn::Sqrt if x < 0.0 => Some("the square root needs values of 0 or more"),
            _ => None,
        }
    }

    fn apply(self, x: f64) -> f64 {
        match self {
            MathFn::Log => x.ln(),
            MathFn::Log2 => x.log2(),
            MathFn::Log10 => x.log10(),
            MathFn::Log1p => x.ln_1p(),
            MathFn::Exp => x.exp(),
            MathFn::Sqrt => x.sqrt(),
            MathFn::Abs => x.abs(),
        }
    }
}

/// An arithmetic expression (the argument of a call).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) enum Arith {
    Column(String),
    Number(f64),
    Neg(Box<Arith>),
    Pos(Box<Arith>),
    /// `+ - * / ^`.
    Binary(char, Box<Arith>, Box<Arith>),
    /// A left-associative chain `a + b - c …` or `a * b / c …`, kept flat so that a long sum
    /// (`I(x1 + … + x101)`) is no deeper than a short one.
    Chain(Box<Arith>, Vec<(char, Arith)>),
    Paren(Box<Arith>),
    Call(MathFn, Vec<Arg>),
}

/// One argument of a call, possibly named.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Arg {
    pub(crate) name: Option<String>,
    pub(crate) value: ArgValue,
    /// Position in the formula text.
    pub(crate) pos: usize,
}

/// An argument's value: an expression, or a logical constant (with its text: `TRUE`, `T`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) enum ArgValue {
    Arith(Arith),
    Logical(bool, String),
}

impl Arg {
    /// As R deparses it: `x`, `raw = TRUE`.
    pub(crate) fn deparse(&self) -> String {
        let v = match &self.value {
            ArgValue::Arith(a) => deparse(a),
            ArgValue::Logical(_, text) => text.clone(),
        };
        match &self.name {
            Some(n) => format!("{n} = {v}"),
            None => v,
        }
    }
}

/// What a formula-level call makes of its argument.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) enum VarFn {
    /// `I(expr)`, `log(x)`, …: a numeric variable.
    Value(Arith),
    /// `scale(x, center, scale)`.
    Scale {
        arg: Arith,
        center: bool,
        scale: bool,
    },
    /// `factor(x)`: a categorical variable.
    Factor(Arith),
    /// `poly(x, degree, raw)`: `degree` columns.
    Poly { arg: Arith, degree: u32, raw: bool },
    /// `offset(x)`: added to the linear predictor with coefficient 1.
    Offset(Arith),
}

impl VarFn {
    /// The data columns the function reads.
    fn columns(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            VarFn::Value(a) | VarFn::Factor(a) | VarFn::Offset(a) => arith_columns(a, &mut out),
            VarFn::Scale { arg, .. } | VarFn::Poly { arg, .. } => arith_columns(arg, &mut out),
        }
        out
    }
}

/// A variable defined by a call, with its R label.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Derived {
    pub(crate) label: String,
    pub(crate) func: VarFn,
}

/// A derived variable with the constants fitted on the data it was first evaluated on.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Bound {
    label: String,
    func: VarFn,
    params: Params,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
enum Params {
    None,
    /// The centre and scale `scale()` used.
    Scale {
        center: Option<f64>,
        scale: Option<f64>,
    },
    /// R's `coefs` of an orthogonal polynomial: `alpha` and `norm2`.
    Poly {
        alpha: Vec<f64>,
        norm2: Vec<f64>,
    },
}

fn is_syntactic(name: &str) -> bool {
    let mut chars = name.chars();
    let ok_start = match chars.next() {
        Some(c) if c.is_alphabetic() => true,
        Some('.') => !name[1..].starts_with(|c: char| c.is_ascii_digit()),
        _ => false,
    };
    ok_start
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '_')
        && !matches!(
            name,
            "if" | "else"
                | "repeat"
                | "while"
                | "function"
                | "for"
                | "next"
                | "break"
                | "TRUE"
                | "FALSE"
                | "NULL"
                | "Inf"
                | "NaN"
                | "NA"
                | "in"
        )
}

/// A number as R's `deparse()` writes it: up to 15 significant digits, fixed or scientific
/// notation by whichever is narrower (fixed on a tie), as R's `formatReal` with `scipen = 0`.
pub(crate) fn r_number(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let target: f64 = format!("{x:.14e}").parse().unwrap_or(x);
    let mut digits = 15;
    for d in 1..=15 {
        let s = format!("{:.*e}", d - 1, x);
        if s.parse::<f64>().ok() == Some(target) {
            digits = d;
            break;
        }
    }
    let sci = format!("{:.*e}", digits - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let e: i32 = exp.parse().unwrap_or(0);
    let neg = usize::from(x < 0.0);
    let sci_width =
        neg + digits + usize::from(digits > 1) + 2 + e.unsigned_abs().to_string().len().max(2);
    let decimals = (digits as i32 - 1 - e).max(0) as usize;
    let fixed_width = if e >= 0 {
        neg + e as usize + 1 + if decimals > 0 { decimals + 1 } else { 0 }
    } else {
        neg + 2 + decimals
    };
    if fixed_width <= sci_width {
        format!("{x:.decimals$}")
    } else {
        format!(
            "{mantissa}e{}{:02}",
            if e < 0 { '-' } else { '+' },
            e.unsigned_abs()
        )
    }
}

/// An expression as R's `deparse()` writes it.
pub(crate) fn deparse(a: &Arith) -> String {
    match a {
        Arith::Column(n) if is_syntactic(n) => n.clone(),
        Arith::Column(n) => format!("`{n}`"),
        Arith::Number(v) => r_number(*v),
        Arith::Neg(e) => format!("-{}", deparse(e)),
        Arith::Pos(e) => format!("+{}", deparse(e)),
        Arith::Binary(op @ ('/' | '^'), l, r) => format!("{}{op}{}", deparse(l), deparse(r)),
        Arith::Binary(op, l, r) => format!("{} {op} {}", deparse(l), deparse(r)),
        Arith::Chain(first, rest) => {
            let mut out = deparse(first);
            for (op, e) in rest {
                if *op == '/' {
                    out.push('/');
                } else {
                    out.push_str(&format!(" {op} "));
                }
                out.push_str(&deparse(e));
            }
            out
        }
        Arith::Paren(e) => format!("({})", deparse(e)),
        Arith::Call(f, args) => format!(
            "{}({})",
            f.name(),
            args.iter().map(Arg::deparse).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Every column an expression reads, in order, each once.
pub(crate) fn arith_columns(a: &Arith, out: &mut Vec<String>) {
    match a {
        Arith::Column(n) => {
            if !out.contains(n) {
                out.push(n.clone());
            }
        }
        Arith::Number(_) => {}
        Arith::Neg(e) | Arith::Pos(e) | Arith::Paren(e) => arith_columns(e, out),
        Arith::Binary(_, l, r) => {
            arith_columns(l, out);
            arith_columns(r, out);
        }
        Arith::Chain(first, rest) => {
            arith_columns(first, out);
            for (_, e) in rest {
                arith_columns(e, out);
            }
        }
        Arith::Call(_, args) => {
            for a in args {
                if let ArgValue::Arith(e) = &a.value {
                    arith_columns(e, out);
                }
            }
        }
    }
}

/// An error for a value outside a function's domain at position `r`.
fn domain_error(data: &Data, a: &Arith, r: usize, value: f64, why: &str) -> Error {
    let mut cols = Vec::new();
    arith_columns(a, &mut cols);
    let values: Vec<String> = cols
        .iter()
        .map(|c| format!("{c} = {}", data.value_text(c, r)))
        .collect();
    Error::InvalidValue {
        column: cols.join(", "),
        row: data.row_id(r),
        value: if values.is_empty() {
            r_number(value)
        } else {
            values.join(", ")
        },
        reason: format!("{}: {why}", deparse(a)),
    }
}

/// `lv op rv` row by row; a non-finite result is an error naming the row and `whole`.
fn binary(
    op: char,
    lv: Vec<Option<f64>>,
    rv: Vec<Option<f64>>,
    data: &Data,
    whole: &Arith,
) -> Result<Vec<Option<f64>>> {
    let mut out = Vec::with_capacity(lv.len());
    for (i, (x, y)) in lv.into_iter().zip(rv).enumerate() {
        out.push(match (x, y) {
            (Some(x), Some(y)) => {
                let v = match op {
                    '+' => x + y,
                    '-' => x - y,
                    '*' => x * y,
                    '/' => x / y,
                    _ => x.powf(y),
                };
                if !v.is_finite() {
                    let why = match op {
                        '/' if y == 0.0 => "division by zero",
                        '^' if v.is_nan() => "a negative number to a fractional power",
                        _ => "the result is too large for a number",
                    };
                    return Err(domain_error(data, whole, i, v, why));
                }
                Some(v)
            }
            _ => None,
        });
    }
    Ok(out)
}

/// Evaluate an expression on every row (`None` where an input is missing).
fn eval(a: &Arith, data: &Data, context: &str) -> Result<Vec<Option<f64>>> {
    let n = data.nrows();
    Ok(match a {
        Arith::Column(name) => data
            .numeric(name)
            .map_err(|e| e.in_context(format!("in {context}")))?
            .to_vec(),
        Arith::Number(v) => vec![Some(*v); n],
        Arith::Paren(e) | Arith::Pos(e) => eval(e, data, context)?,
        Arith::Neg(e) => eval(e, data, context)?
            .into_iter()
            .map(|v| v.map(|x| -x))
            .collect(),
        Arith::Binary(op, l, r) => {
            let (lv, rv) = (eval(l, data, context)?, eval(r, data, context)?);
            binary(*op, lv, rv, data, a)?
        }
        Arith::Chain(first, rest) => {
            let mut acc = eval(first, data, context)?;
            for (op, e) in rest {
                acc = binary(*op, acc, eval(e, data, context)?, data, a)?;
            }
            acc
        }
        Arith::Call(f, args) => {
            let x = match &args[0].value {
                ArgValue::Arith(e) => eval(e, data, context)?,
                ArgValue::Logical(..) => unreachable!("checked by the parser"),
            };
            let base = match args.get(1).map(|b| &b.value) {
                Some(ArgValue::Arith(b)) => Some(eval(b, data, context)?),
                _ => None,
            };
            let mut out = Vec::with_capacity(n);
            for (i, v) in x.into_iter().enumerate() {
                let Some(v) = v else {
                    out.push(None);
                    continue;
                };
                if let Some(why) = f.domain(v) {
                    return Err(domain_error(data, a, i, v, why));
                }
                let mut y = f.apply(v);
                if let Some(b) = &base {
                    let Some(b) = b[i] else {
                        out.push(None);
                        continue;
                    };
                    if b <= 0.0 || b == 1.0 {
                        return Err(domain_error(
                            data,
                            a,
                            i,
                            b,
                            "the base must be above 0 and not 1",
                        ));
                    }
                    y /= b.ln();
                }
                if !y.is_finite() {
                    return Err(domain_error(
                        data,
                        a,
                        i,
                        y,
                        "the result is too large for a number",
                    ));
                }
                out.push(Some(y));
            }
            out
        }
    })
}

fn mean_of(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

impl Derived {
    /// The data columns the variable reads.
    pub(crate) fn columns(&self) -> Vec<String> {
        self.func.columns()
    }

    /// Evaluate on `data`, fitting the data-dependent constants.
    ///
    /// # Errors
    /// Values outside a function's domain; a constant variable to `scale()`; a `poly()` degree
    /// not below the number of distinct values; a categorical column inside arithmetic.
    pub(crate) fn bind(&self, data: &Data) -> Result<(Bound, Vec<(String, Column)>)> {
        let params = match &self.func {
            VarFn::Scale { arg, center, scale } => {
                let x: Vec<f64> = eval(arg, data, &self.label)?
                    .into_iter()
                    .flatten()
                    .collect();
                let c = center.then(|| mean_of(&x));
                let s = if *scale {
                    let m = c.unwrap_or(0.0);
                    let ss: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
                    let s = (ss / (x.len() as f64 - 1.0)).sqrt();
                    if !(s.is_finite() && s > 0.0) {
                        return Err(Error::Term {
                            term: self.label.clone(),
                            message: "the variable has no spread (constant, or one value), so it cannot be scaled".into(),
                        });
                    }
                    Some(s)
                } else {
                    None
                };
                Params::Scale {
                    center: c,
                    scale: s,
                }
            }
            VarFn::Poly {
                arg,
                degree,
                raw: false,
            } => {
                let x: Vec<f64> = eval(arg, data, &self.label)?
                    .into_iter()
                    .flatten()
                    .collect();
                let (alpha, norm2) =
                    poly_coefs(&x, *degree as usize).ok_or_else(|| Error::Term {
                        term: self.label.clone(),
                        message: format!(
                            "the degree ({degree}) must be less than the number of distinct values"
                        ),
                    })?;
                Params::Poly { alpha, norm2 }
            }
            VarFn::Poly {
                arg,
                degree,
                raw: true,
            } => {
                let x = eval(arg, data, &self.label)?;
                let mut distinct: Vec<f64> = x.iter().flatten().copied().collect();
                distinct.sort_by(f64::total_cmp);
                distinct.dedup();
                if distinct.len() <= *degree as usize {
                    return Err(Error::Term {
                        term: self.label.clone(),
                        message: format!(
                            "the degree ({degree}) must be less than the number of distinct values ({})",
                            distinct.len()
                        ),
                    });
                }
                Params::None
            }
            _ => Params::None,
        };
        let bound = Bound {
            label: self.label.clone(),
            func: self.func.clone(),
            params,
        };
        let columns = bound.apply(data)?;
        Ok((bound, columns))
    }
}

/// The orthogonal-polynomial recurrence of `x` (R's `poly(x, degree)$coefs`): `alpha` (one per
/// degree) and `norm2` (1, n, then ‖Pₖ‖² for k = 1..degree), or `None` if `degree` is not below
/// the number of distinct values.
fn poly_coefs(x: &[f64], degree: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    let mut distinct: Vec<f64> = x.to_vec();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if distinct.len() <= degree {
        return None;
    }
    let n = x.len();
    let mut alpha = Vec::with_capacity(degree);
    let mut norm2 = vec![1.0, n as f64];
    let mut prev = vec![0.0; n];
    let mut cur = vec![1.0; n];
    for k in 0..degree {
        let nk: f64 = cur.iter().map(|p| p * p).sum();
        let a = x.iter().zip(&cur).map(|(xi, p)| xi * p * p).sum::<f64>() / nk;
        alpha.push(a);
        let ratio = if k == 0 { 0.0 } else { nk / norm2[k] };
        let next: Vec<f64> = (0..n)
            .map(|i| (x[i] - a) * cur[i] - ratio * prev[i])
            .collect();
        prev = std::mem::replace(&mut cur, next);
        norm2.push(cur.iter().map(|p| p * p).sum());
    }
    Some((alpha, norm2))
}

impl Bound {
    /// The variable's label.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// The data columns the variable reads.
    pub(crate) fn columns(&self) -> Vec<String> {
        self.func.columns()
    }

    /// The names of a `poly()`'s columns (`label1`, `label2`, …), or `None` for other functions.
    pub(crate) fn matrix_columns(&self) -> Option<Vec<String>> {
        match &self.func {
            VarFn::Poly { degree, .. } => Some(
                (1..=*degree)
                    .map(|k| format!("{}{k}", self.label))
                    .collect(),
            ),
            _ => None,
        }
    }

    /// The columns this variable adds to `data`, with the fitted constants: one named by the
    /// label (for `poly()`, its argument, which carries its missingness), and for `poly()` one
    /// per degree.
    ///
    /// # Errors
    /// As [`Derived::bind`].
    pub(crate) fn apply(&self, data: &Data) -> Result<Vec<(String, Column)>> {
        let label = &self.label;
        Ok(match (&self.func, &self.params) {
            (VarFn::Value(a) | VarFn::Offset(a), _) => {
                vec![(label.clone(), Column::Numeric(eval(a, data, label)?.into()))]
            }
            (VarFn::Scale { arg, .. }, Params::Scale { center, scale }) => {
                let (c, s) = (center.unwrap_or(0.0), scale.unwrap_or(1.0));
                let v: NumericColumn = eval(arg, data, label)?
                    .into_iter()
                    .map(|x| x.map(|x| (x - c) / s))
                    .collect();
                vec![(label.clone(), Column::Numeric(v))]
            }
            (VarFn::Factor(a), _) => {
                let f = match a {
                    Arith::Column(name) => match data.column(name)? {
                        Column::Categorical(f) => f.clone(),
                        Column::Numeric(v) => Factor::from_numbers(v),
                    },
                    other => Factor::from_numbers(&eval(other, data, label)?.into()),
                };
                vec![(label.clone(), Column::Categorical(f))]
            }
            (VarFn::Poly { arg, degree, .. }, params) => {
                let x = eval(arg, data, label)?;
                let names = self.matrix_columns().unwrap_or_default();
                let mut cols: Vec<Vec<Option<f64>>> =
                    vec![Vec::with_capacity(x.len()); *degree as usize];
                for xi in &x {
                    match xi {
                        None => cols.iter_mut().for_each(|c| c.push(None)),
                        Some(v) => {
                            let row = poly_row(*v, *degree as usize, params);
                            for (c, p) in cols.iter_mut().zip(row) {
                                c.push(Some(p));
                            }
                        }
                    }
                }
                let mut out = vec![(label.clone(), Column::Numeric(x.into()))];
                out.extend(
                    names
                        .into_iter()
                        .zip(cols.into_iter().map(|c| Column::Numeric(c.into()))),
                );
                out
            }
            (VarFn::Scale { .. }, _) => unreachable!("scale() is bound with its constants"),
        })
    }
}

/// One row of a polynomial basis at `x`: raw powers, or R's orthogonal recurrence.
fn poly_row(x: f64, degree: usize, params: &Params) -> Vec<f64> {
    match params {
        Params::Poly { alpha, norm2 } => {
            let mut out = Vec::with_capacity(degree);
            let (mut prev, mut cur) = (1.0, x - alpha[0]);
            out.push(cur / norm2[2].sqrt());
            for k in 1..degree {
                let next = (x - alpha[k]) * cur - (norm2[k + 1] / norm2[k]) * prev;
                prev = cur;
                cur = next;
                out.push(cur / norm2[k + 2].sqrt());
            }
            out
        }
        _ => (1..=degree as i32).map(|k| x.powi(k)).collect(),
    }
}

/// The data a model is coded from: `data` with every derived variable of `derived` added as
/// columns named by their labels (only the columns in `keep` are carried over from `data`).
/// Without derived variables, `data` itself.
pub(crate) fn model_data<'d>(
    data: &'d Data,
    derived: &[Derived],
    keep: &[String],
) -> Result<(std::borrow::Cow<'d, Data>, Vec<Bound>)> {
    if derived.is_empty() {
        return Ok((std::borrow::Cow::Borrowed(data), Vec::new()));
    }
    let keep: Vec<&String> = keep.iter().filter(|k| data.has_column(k)).collect();
    let mut out = data.select_columns(&keep)?;
    let mut bound = Vec::with_capacity(derived.len());
    for d in derived {
        let (b, columns) = d.bind(data)?;
        for (name, c) in columns {
            // A data column spelled like the function term would silently stand in for it.
            if data.has_column(&name) {
                return Err(Error::Term {
                    term: name.clone(),
                    message: format!(
                        "the data have a column named '{}', spelled like this function term; rename the column (e.g. with Data::rename) so the formula's '{}' is computed, not read",
                        crate::error::clip(&name),
                        crate::error::clip(&name)
                    ),
                });
            }
            if !out.has_column(&name) {
                out.add_column(&name, c)?;
            }
        }
        bound.push(b);
    }
    Ok((std::borrow::Cow::Owned(out), bound))
}

/// `data` with the bound variables added (for new data: prediction), or `data` itself when it
/// already has them.
pub(crate) fn apply_bound<'d>(
    data: &'d Data,
    bound: &[Bound],
) -> Result<std::borrow::Cow<'d, Data>> {
    if bound.iter().all(|b| data.has_column(&b.label)) {
        return Ok(std::borrow::Cow::Borrowed(data));
    }
    let mut out = data.clone();
    for b in bound {
        for (name, c) in b.apply(data)? {
            if !out.has_column(&name) {
                out.add_column(&name, c)?;
            }
        }
    }
    Ok(std::borrow::Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_deparse_as_r() {
        for (x, s) in [
            (2.0, "2"),
            (2.5, "2.5"),
            (1e5, "1e+05"),
            (123456.0, "123456"),
            (1e-4, "1e-04"),
            (0.001, "0.001"),
            (100.0, "100"),
            (1e15, "1e+15"),
            (1e-300, "1e-300"),
            (0.1, "0.1"),
            (1.234_567_890_123_45, "1.23456789012345"),
            (-2.5, "-2.5"),
        ] {
            assert_eq!(r_number(x), s, "{x}");
        }
    }

    #[test]
    fn orthogonal_polynomial_columns_are_orthonormal() {
        let x = [1.0, 2.0, 3.0, 5.0, 8.0];
        let (alpha, norm2) = poly_coefs(&x, 2).unwrap();
        let p = Params::Poly { alpha, norm2 };
        let rows: Vec<Vec<f64>> = x.iter().map(|&v| poly_row(v, 2, &p)).collect();
        for a in 0..2 {
            let s: f64 = rows.iter().map(|r| r[a]).sum();
            assert!(s.abs() < 1e-12);
            for b in 0..2 {
                let d: f64 = rows.iter().map(|r| r[a] * r[b]).sum();
                assert!((d - if a == b { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
        assert!(poly_coefs(&[1.0, 1.0, 2.0], 2).is_none());
    }
}
