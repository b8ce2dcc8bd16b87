//! Tokenizer and recursive-descent parser for lme4's formula syntax, with R's functions of
//! variables (`I()`, `log()`, `scale()`, `factor()`, `poly()`, `offset()`, …).
//!
//! Precedence, lowest first, as in R: `|` `||` (inside parentheses only), `+` `-`, `*` `/`, `:`,
//! `^`. Inside a function call the operators are arithmetic (`^` above unary `-` above `*` `/`
//! above `+` `-`). Every node keeps the 0-based character position it started at, so errors can
//! point.
//!
//! Parsing is bounded: sums, products and interactions are n-ary nodes (a formula with
//! thousands of terms is a flat list, not a deep tree), and nesting — parentheses, calls, chains
//! of `/` or unary signs — deeper than [`MAX_DEPTH`] is an error, so no input can exhaust the
//! stack.

use super::functions::{Arg, ArgValue, Arith, Derived, MathFn, VarFn};
use crate::error::{Error, Result};

/// The deepest nesting the parser accepts (parentheses, calls, `/` and sign chains).
pub const MAX_DEPTH: usize = 100;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// A number and its text as written.
    Num(f64),
    Tilde,
    Plus,
    Minus,
    Star,
    Slash,
    Colon,
    Caret,
    LParen,
    RParen,
    Bar,
    DoubleBar,
    Comma,
    Equals,
    End,
}

/// A parsed right-hand-side expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// A variable: a column name, or the label of a function call (`log(x)`).
    Var(String, usize),
    Num(f64, usize),
    /// `a + b - c`: the summands with their signs (`true` for `-`), left to right; a leading
    /// `-` is a first summand with sign `true`.
    Sum(Vec<(bool, Expr)>),
    /// `a:b:c`.
    Interact(Vec<Expr>),
    /// `a*b*c`.
    Cross(Vec<Expr>),
    Nest(Box<Expr>, Box<Expr>),
    Power(Box<Expr>, u32, usize),
    Bar {
        lhs: Box<Expr>,
        group: Box<Expr>,
        double: bool,
        pos: usize,
    },
    /// `offset(…)`: its label.
    Offset(String, usize),
}

impl Expr {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Expr::Var(_, p) | Expr::Num(_, p) | Expr::Power(_, _, p) | Expr::Offset(_, p) => *p,
            Expr::Bar { pos, .. } => *pos,
            Expr::Sum(v) => v.first().map_or(0, |(_, e)| e.pos()),
            Expr::Interact(v) | Expr::Cross(v) => v.first().map_or(0, Expr::pos),
            Expr::Nest(a, _) => a.pos(),
        }
    }
}

/// What the parser returns: the response (a column or a call's label) and its position, the
/// right-hand side, every function call's variable, and the columns named anywhere with their
/// positions.
pub(crate) struct Parsed {
    pub(crate) response: String,
    pub(crate) response_pos: usize,
    pub(crate) rhs: Expr,
    pub(crate) derived: Vec<Derived>,
    pub(crate) columns: Vec<(String, usize)>,
    /// `columns[..rhs_columns_from]` are the response's.
    pub(crate) rhs_columns_from: usize,
}

pub(crate) struct Parser<'a> {
    text: &'a str,
    toks: Vec<(Tok, usize)>,
    at: usize,
    depth: usize,
    derived: Vec<Derived>,
    columns: Vec<(String, usize)>,
}

fn err(text: &str, position: usize, message: impl Into<String>) -> Error {
    Error::Formula {
        formula: text.to_string(),
        position,
        message: message.into(),
    }
}

fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let simple = match c {
            '~' => Some(Tok::Tilde),
            '+' => Some(Tok::Plus),
            '-' => Some(Tok::Minus),
            '*' => Some(Tok::Star),
            '/' => Some(Tok::Slash),
            ':' => Some(Tok::Colon),
            '^' => Some(Tok::Caret),
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ',' => Some(Tok::Comma),
            '=' => Some(Tok::Equals),
            _ => None,
        };
        if let Some(t) = simple {
            toks.push((t, start));
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '|' {
            if chars.get(i + 1) == Some(&'|') {
                toks.push((Tok::DoubleBar, start));
                i += 2;
            } else {
                toks.push((Tok::Bar, start));
                i += 1;
            }
        } else if c == '`' {
            let end = chars[i + 1..]
                .iter()
                .position(|&d| d == '`')
                .ok_or_else(|| err(text, start, "unterminated backtick-quoted name"))?;
            let name: String = chars[i + 1..i + 1 + end].iter().collect();
            if name.is_empty() {
                return Err(err(text, start, "empty backtick-quoted name"));
            }
            toks.push((Tok::Ident(name), start));
            i += end + 2;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            while i < chars.len() {
                let d = chars[i];
                let exponent_sign = (d == '+' || d == '-')
                    && matches!(chars[i - 1], 'e' | 'E')
                    && chars[start..i - 1]
                        .iter()
                        .all(|c| c.is_ascii_digit() || *c == '.');
                if d.is_ascii_alphanumeric() || d == '.' || d == '_' || exponent_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            let s: String = chars[start..i].iter().collect();
            let v: f64 = s
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| {
                    err(
                        text,
                        start,
                        format!("'{s}' is neither a finite number nor a valid name"),
                    )
                })?;
            toks.push((Tok::Num(v), start));
        } else if c.is_alphabetic() || c == '.' || c == '_' {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '.' || chars[i] == '_')
            {
                i += 1;
            }
            toks.push((Tok::Ident(chars[start..i].iter().collect()), start));
        } else {
            return Err(err(text, start, format!("unexpected character '{c}'")));
        }
    }
    toks.push((Tok::End, chars.len()));
    Ok(toks)
}

/// The functions a formula may call, for messages.
const FUNCTIONS: &str = "I(), log(), log2(), log10(), log1p(), exp(), sqrt(), abs(), scale(), factor(), poly(), offset()";

impl<'a> Parser<'a> {
    pub(crate) fn new(text: &'a str) -> Result<Self> {
        Ok(Parser {
            text,
            toks: tokenize(text)?,
            at: 0,
            depth: 0,
            derived: Vec::new(),
            columns: Vec::new(),
        })
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.at].0
    }

    fn pos(&self) -> usize {
        self.toks[self.at].1
    }

    fn next(&mut self) -> (Tok, usize) {
        let t = self.toks[self.at].clone();
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
        t
    }

    fn error(&self, position: usize, message: impl Into<String>) -> Error {
        err(self.text, position, message)
    }

    /// Enter one level of nesting at `pos`; an error beyond [`MAX_DEPTH`].
    fn enter(&mut self, pos: usize) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                pos,
                format!("the formula nests deeper than {MAX_DEPTH} levels here"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// `response ~ rhs`.
    pub(crate) fn formula(mut self) -> Result<Parsed> {
        let (response, rpos) = match self.next() {
            (Tok::Ident(name), p) => {
                if matches!(self.peek(), Tok::LParen) {
                    match self.call(name, p)? {
                        Expr::Var(label, _) => (label, p),
                        _ => return Err(self.error(p, "offset() cannot be the response")),
                    }
                } else {
                    self.columns.push((name.clone(), p));
                    (name, p)
                }
            }
            (Tok::Tilde, p) => return Err(self.error(p, "the formula needs a response before '~'")),
            (Tok::End, p) => return Err(self.error(p, "the formula is empty")),
            (_, p) => {
                return Err(self.error(
                    p,
                    "the response must be a column name or a function of one, such as log(y)",
                ));
            }
        };
        match self.next() {
            (Tok::Tilde, _) => {}
            (_, p) => return Err(self.error(p, "expected '~' after the response")),
        }
        let rhs_columns_from = self.columns.len();
        if matches!(self.peek(), Tok::End) {
            return Err(self.error(
                self.pos(),
                "the right-hand side is empty; write '~ 1' for an intercept-only model",
            ));
        }
        let rhs = self.sum()?;
        match self.peek() {
            Tok::End => Ok(Parsed {
                response,
                response_pos: rpos,
                rhs,
                derived: self.derived,
                columns: self.columns,
                rhs_columns_from,
            }),
            Tok::Bar | Tok::DoubleBar => Err(self.error(
                self.pos(),
                "'|' is only allowed inside parentheses, as in (1 | group)",
            )),
            Tok::RParen => Err(self.error(self.pos(), "unbalanced ')': no matching '('")),
            Tok::Tilde => Err(self.error(self.pos(), "a formula has only one '~'")),
            Tok::Comma | Tok::Equals => Err(self.error(
                self.pos(),
                "',' and '=' belong inside a function call, as in poly(x, 2, raw = TRUE)",
            )),
            _ => Err(self.error(
                self.pos(),
                "expected an operator (+ - * / : ^) or the end of the formula",
            )),
        }
    }

    fn sum(&mut self) -> Result<Expr> {
        let mut parts = Vec::new();
        let first_minus = match self.peek() {
            Tok::Minus => {
                self.next();
                true
            }
            Tok::Plus => {
                self.next();
                false
            }
            _ => false,
        };
        parts.push((first_minus, self.product()?));
        loop {
            let minus = match self.peek() {
                Tok::Plus => false,
                Tok::Minus => true,
                _ => break,
            };
            self.next();
            parts.push((minus, self.product()?));
        }
        Ok(if parts.len() == 1 && !parts[0].0 {
            parts
                .pop()
                .map(|(_, e)| e)
                .unwrap_or_else(|| unreachable!())
        } else {
            Expr::Sum(parts)
        })
    }

    fn product(&mut self) -> Result<Expr> {
        let start_depth = self.depth;
        let mut lhs = self.interaction()?;
        let result = loop {
            match self.peek() {
                Tok::Star => {
                    let (_, p) = self.next();
                    let rhs = self.interaction()?;
                    lhs = match lhs {
                        Expr::Cross(mut v) => {
                            v.push(rhs);
                            Expr::Cross(v)
                        }
                        other => {
                            // A cross after a nest nests one level deeper.
                            if matches!(other, Expr::Nest(..)) {
                                self.enter(p)?;
                            }
                            Expr::Cross(vec![other, rhs])
                        }
                    };
                }
                Tok::Slash => {
                    let (_, p) = self.next();
                    self.enter(p)?;
                    lhs = Expr::Nest(Box::new(lhs), Box::new(self.interaction()?));
                }
                _ => break lhs,
            }
        };
        self.depth = start_depth;
        Ok(result)
    }

    fn interaction(&mut self) -> Result<Expr> {
        let first = self.power()?;
        if !matches!(self.peek(), Tok::Colon) {
            return Ok(first);
        }
        let mut parts = vec![first];
        while matches!(self.peek(), Tok::Colon) {
            self.next();
            parts.push(self.power()?);
        }
        Ok(Expr::Interact(parts))
    }

    fn power(&mut self) -> Result<Expr> {
        let base = self.atom()?;
        if matches!(self.peek(), Tok::Caret) {
            let (_, p) = self.next();
            match self.next() {
                (Tok::Num(k), _) if k >= 1.0 && k == k.trunc() && k <= 32.0 => {
                    return Ok(Expr::Power(Box::new(base), k as u32, p));
                }
                (_, q) => {
                    return Err(self.error(
                        q,
                        "'^' must be followed by a whole number from 1 to 32 (for a power of a variable write I(x^2))",
                    ));
                }
            }
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<Expr> {
        match self.next() {
            (Tok::Ident(name), p) => {
                if matches!(self.peek(), Tok::LParen) {
                    return self.call(name, p);
                }
                self.columns.push((name.clone(), p));
                Ok(Expr::Var(name, p))
            }
            (Tok::Num(v), p) => {
                if v == 0.0 || v == 1.0 {
                    Ok(Expr::Num(v, p))
                } else {
                    Err(self.error(
                        p,
                        "only 0 and 1 may stand as numbers in a formula (for the intercept); write I(2 * x) for arithmetic",
                    ))
                }
            }
            (Tok::LParen, p) => {
                if matches!(self.peek(), Tok::RParen) {
                    return Err(self.error(p, "empty parentheses"));
                }
                self.enter(p)?;
                let inner = self.sum()?;
                let e = match self.peek() {
                    Tok::Bar | Tok::DoubleBar => {
                        let (t, bp) = self.next();
                        if matches!(self.peek(), Tok::RParen | Tok::End) {
                            return Err(
                                self.error(self.pos(), "a grouping factor is needed after '|'")
                            );
                        }
                        let group = self.sum()?;
                        Expr::Bar {
                            lhs: Box::new(inner),
                            group: Box::new(group),
                            double: t == Tok::DoubleBar,
                            pos: bp,
                        }
                    }
                    _ => inner,
                };
                self.leave();
                match self.next() {
                    (Tok::RParen, _) => Ok(e),
                    (Tok::End, _) => Err(self.error(p, "unbalanced '(': no matching ')'")),
                    (Tok::Bar | Tok::DoubleBar, q) => {
                        Err(self.error(q, "only one '|' is allowed in a random-effect term"))
                    }
                    (_, q) => Err(self.error(q, "expected ')'")),
                }
            }
            (Tok::End, p) => Err(self.error(p, "the formula ends where a term was expected")),
            (Tok::RParen, p) => Err(self.error(p, "unbalanced ')' or an empty term")),
            (Tok::Bar | Tok::DoubleBar, p) => {
                Err(self.error(p, "'|' needs a term on its left, as in (1 | group)"))
            }
            (Tok::Tilde, p) => Err(self.error(p, "a formula has only one '~'")),
            (_, p) => Err(self.error(p, "empty term: an operator is missing its left operand")),
        }
    }

    /// A function call at the formula level: its variable's label (or an offset).
    fn call(&mut self, name: String, pos: usize) -> Result<Expr> {
        self.enter(pos)?;
        let (_, lp) = self.next(); // '('
        let args = self.args(lp)?;
        self.leave();
        let label = format!(
            "{name}({})",
            args.iter().map(Arg::deparse).collect::<Vec<_>>().join(", ")
        );
        let arith_arg = |p: &Parser, i: usize, what: &str| -> Result<Arith> {
            match args.get(i) {
                Some(Arg {
                    value: ArgValue::Arith(a),
                    name: None,
                    ..
                }) => Ok(a.clone()),
                _ => Err(p.error(pos, format!("{name}() needs {what} as its first argument"))),
            }
        };
        let func = match name.as_str() {
            "I" => {
                if args.len() != 1 || args[0].name.is_some() {
                    return Err(self.error(pos, "I() takes one expression, as in I(x^2)"));
                }
                VarFn::Value(arith_arg(self, 0, "an expression")?)
            }
            "scale" => {
                let arg = arith_arg(self, 0, "a variable")?;
                let mut flags = [true, true];
                for (i, a) in args.iter().enumerate().skip(1) {
                    let slot = match a.name.as_deref() {
                        None if i <= 2 => i - 1,
                        Some("center") => 0,
                        Some("scale") => 1,
                        _ => {
                            return Err(self.error(
                                a.pos,
                                "scale() takes center = TRUE/FALSE and scale = TRUE/FALSE",
                            ));
                        }
                    };
                    flags[slot] = self.logical(a)?;
                }
                VarFn::Scale {
                    arg,
                    center: flags[0],
                    scale: flags[1],
                }
            }
            "factor" => {
                if args.len() != 1 || args[0].name.is_some() {
                    return Err(self.error(pos, "factor() takes one variable, as in factor(x)"));
                }
                VarFn::Factor(arith_arg(self, 0, "a variable")?)
            }
            "poly" => {
                let arg = arith_arg(self, 0, "a variable")?;
                let (mut degree, mut raw) = (1u32, false);
                let mut given: Vec<&str> = Vec::new();
                for (i, a) in args.iter().enumerate().skip(1) {
                    let which = match a.name.as_deref() {
                        None if i == 1 => "degree",
                        Some(n) => n,
                        None => "",
                    };
                    if !which.is_empty() {
                        if given.contains(&which) {
                            return Err(
                                self.error(a.pos, format!("poly() is given '{which}' twice"))
                            );
                        }
                        given.push(which);
                    }
                    match a.name.as_deref() {
                        None if i == 1 => degree = self.whole(a)?,
                        Some("degree") => degree = self.whole(a)?,
                        Some("raw") => raw = self.logical(a)?,
                        _ => {
                            return Err(self.error(
                                a.pos,
                                "poly() takes a variable, the degree and raw = TRUE/FALSE (name raw: R's third positional argument is coefs)",
                            ));
                        }
                    }
                }
                VarFn::Poly { arg, degree, raw }
            }
            "offset" => {
                if args.len() != 1 || args[0].name.is_some() {
                    return Err(self.error(pos, "offset() takes one variable"));
                }
                VarFn::Offset(arith_arg(self, 0, "a variable")?)
            }
            other => match MathFn::from_name(other) {
                Some(f) => VarFn::Value(self.math(f, args, pos)?),
                None => {
                    return Err(self.error(
                        pos,
                        format!("unknown function '{other}()'; a formula may use {FUNCTIONS}"),
                    ));
                }
            },
        };
        let offset = matches!(func, VarFn::Offset(_));
        if !self.derived.iter().any(|d| d.label == label) {
            self.derived.push(Derived {
                label: label.clone(),
                func,
            });
        }
        Ok(if offset {
            Expr::Offset(label, pos)
        } else {
            Expr::Var(label, pos)
        })
    }

    /// The arguments of the call whose '(' is at `lp`, up to and including its ')'.
    fn args(&mut self, lp: usize) -> Result<Vec<Arg>> {
        let mut args = Vec::new();
        if matches!(self.peek(), Tok::RParen) {
            self.next();
            return Ok(args);
        }
        loop {
            let p = self.pos();
            let name = match (
                self.peek().clone(),
                self.toks.get(self.at + 1).map(|t| &t.0),
            ) {
                (Tok::Ident(n), Some(Tok::Equals)) => {
                    self.next();
                    self.next();
                    Some(n)
                }
                _ => None,
            };
            let value = match self.peek().clone() {
                Tok::Ident(v)
                    if matches!(v.as_str(), "TRUE" | "FALSE" | "T" | "F")
                        && matches!(
                            self.toks.get(self.at + 1).map(|t| &t.0),
                            Some(Tok::Comma | Tok::RParen)
                        ) =>
                {
                    self.next();
                    ArgValue::Logical(v == "TRUE" || v == "T", v)
                }
                _ => ArgValue::Arith(self.arith_sum()?),
            };
            args.push(Arg {
                name,
                value,
                pos: p,
            });
            match self.next() {
                (Tok::Comma, _) => {}
                (Tok::RParen, _) => return Ok(args),
                (Tok::End, _) => return Err(self.error(lp, "unbalanced '(': no matching ')'")),
                (_, q) => return Err(self.error(q, "expected ',' or ')' in a function call")),
            }
        }
    }

    fn logical(&self, a: &Arg) -> Result<bool> {
        match &a.value {
            ArgValue::Logical(b, _) => Ok(*b),
            ArgValue::Arith(_) => Err(self.error(a.pos, "expected TRUE or FALSE")),
        }
    }

    fn whole(&self, a: &Arg) -> Result<u32> {
        match &a.value {
            ArgValue::Arith(Arith::Number(v)) if *v >= 1.0 && *v <= 20.0 && *v == v.trunc() => {
                Ok(*v as u32)
            }
            _ => Err(self.error(a.pos, "expected a whole number from 1 to 20")),
        }
    }

    /// A mathematical function of one expression (`log(x)`, `log(x, base = 2)`, `sqrt(x)`).
    fn math(&self, f: MathFn, args: Vec<Arg>, pos: usize) -> Result<Arith> {
        let ok = match (f, args.as_slice()) {
            (_, [a]) => a.name.is_none() && matches!(a.value, ArgValue::Arith(_)),
            (MathFn::Log, [a, b]) => {
                a.name.is_none()
                    && matches!(a.value, ArgValue::Arith(_))
                    && matches!(b.value, ArgValue::Arith(_))
                    && matches!(b.name.as_deref(), None | Some("base"))
            }
            _ => false,
        };
        if !ok {
            return Err(self.error(
                pos,
                format!(
                    "{}() takes one expression{}",
                    f.name(),
                    if f == MathFn::Log {
                        " and optionally base = b"
                    } else {
                        ""
                    }
                ),
            ));
        }
        Ok(Arith::Call(f, args))
    }

    /// `a + b - c …`, flat (a chain of any length is one level deep).
    fn arith_sum(&mut self) -> Result<Arith> {
        self.arith_chain(Self::arith_product, |t| match t {
            Tok::Plus => Some('+'),
            Tok::Minus => Some('-'),
            _ => None,
        })
    }

    /// `a * b / c …`, flat.
    fn arith_product(&mut self) -> Result<Arith> {
        self.arith_chain(Self::arith_unary, |t| match t {
            Tok::Star => Some('*'),
            Tok::Slash => Some('/'),
            _ => None,
        })
    }

    /// Operands from `operand` joined by the operators `op` recognizes, as one flat chain.
    fn arith_chain(
        &mut self,
        operand: fn(&mut Self) -> Result<Arith>,
        op: fn(&Tok) -> Option<char>,
    ) -> Result<Arith> {
        let first = operand(self)?;
        let mut rest = Vec::new();
        while let Some(o) = op(self.peek()) {
            self.next();
            rest.push((o, operand(self)?));
        }
        Ok(if rest.is_empty() {
            first
        } else {
            Arith::Chain(Box::new(first), rest)
        })
    }

    fn arith_unary(&mut self) -> Result<Arith> {
        match self.peek() {
            Tok::Minus | Tok::Plus => {
                let (t, p) = self.next();
                self.enter(p)?;
                let inner = self.arith_unary()?;
                self.leave();
                Ok(if t == Tok::Minus {
                    Arith::Neg(Box::new(inner))
                } else {
                    Arith::Pos(Box::new(inner))
                })
            }
            _ => self.arith_power(),
        }
    }

    fn arith_power(&mut self) -> Result<Arith> {
        let base = self.arith_atom()?;
        if matches!(self.peek(), Tok::Caret) {
            let (_, p) = self.next();
            self.enter(p)?;
            let exponent = self.arith_unary()?;
            self.leave();
            return Ok(Arith::Binary('^', Box::new(base), Box::new(exponent)));
        }
        Ok(base)
    }

    fn arith_atom(&mut self) -> Result<Arith> {
        match self.next() {
            (Tok::Num(v), _) => Ok(Arith::Number(v)),
            (Tok::Ident(name), p) => {
                if matches!(self.peek(), Tok::LParen) {
                    let Some(f) = MathFn::from_name(&name) else {
                        return Err(self.error(
                            p,
                            format!(
                                "unknown function '{name}()' inside an expression; use log, log2, log10, log1p, exp, sqrt or abs"
                            ),
                        ));
                    };
                    self.enter(p)?;
                    let (_, lp) = self.next();
                    let args = self.args(lp)?;
                    self.leave();
                    return self.math(f, args, p);
                }
                self.columns.push((name.clone(), p));
                Ok(Arith::Column(name))
            }
            (Tok::LParen, p) => {
                self.enter(p)?;
                let inner = self.arith_sum()?;
                self.leave();
                match self.next() {
                    (Tok::RParen, _) => Ok(Arith::Paren(Box::new(inner))),
                    (Tok::End, _) => Err(self.error(p, "unbalanced '(': no matching ')'")),
                    (_, q) => Err(self.error(q, "expected ')'")),
                }
            }
            (Tok::End, p) => Err(self.error(p, "the formula ends inside a function call")),
            (_, p) => Err(self.error(
                p,
                "expected a number, a column or '(' in this expression (arithmetic inside a call uses + - * / ^)",
            )),
        }
    }
}
