//! Tokenizer and recursive-descent parser for lme4's formula syntax.
//!
//! Precedence, lowest first, as in R: `|` `||` (inside parentheses only), `+` `-`, `*` `/`, `:`,
//! `^`. Every node keeps the 0-based character position it started at, so errors can point.

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
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
    End,
}

/// A parsed right-hand-side expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Var(String, usize),
    Num(f64, usize),
    Sum(Box<Expr>, Box<Expr>),
    Minus(Box<Expr>, Box<Expr>),
    /// A leading `-` (as in `~ -1 + x`).
    Neg(Box<Expr>, usize),
    Interact(Box<Expr>, Box<Expr>),
    Cross(Box<Expr>, Box<Expr>),
    Nest(Box<Expr>, Box<Expr>),
    Power(Box<Expr>, u32, usize),
    Bar {
        lhs: Box<Expr>,
        group: Box<Expr>,
        double: bool,
        pos: usize,
    },
}

impl Expr {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Expr::Var(_, p) | Expr::Num(_, p) | Expr::Neg(_, p) | Expr::Power(_, _, p) => *p,
            Expr::Bar { pos, .. } => *pos,
            Expr::Sum(a, _)
            | Expr::Minus(a, _)
            | Expr::Interact(a, _)
            | Expr::Cross(a, _)
            | Expr::Nest(a, _) => a.pos(),
        }
    }
}

pub(crate) struct Parser<'a> {
    text: &'a str,
    toks: Vec<(Tok, usize)>,
    at: usize,
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
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '.' || chars[i] == '_')
            {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            let v: f64 = s.parse().map_err(|_| {
                err(
                    text,
                    start,
                    format!("'{s}' is neither a number nor a valid name"),
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

impl<'a> Parser<'a> {
    pub(crate) fn new(text: &'a str) -> Result<Self> {
        Ok(Parser {
            text,
            toks: tokenize(text)?,
            at: 0,
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

    /// `response ~ rhs`. Returns the response name and its position, and the right-hand side.
    pub(crate) fn formula(&mut self) -> Result<(String, usize, Expr)> {
        let (response, rpos) = match self.next() {
            (Tok::Ident(name), p) => (name, p),
            (Tok::Tilde, p) => return Err(self.error(p, "the formula needs a response before '~'")),
            (Tok::End, p) => return Err(self.error(p, "the formula is empty")),
            (_, p) => {
                return Err(self.error(
                    p,
                    "the response must be a column name (derive transformed columns with Data::add_column)",
                ));
            }
        };
        match self.next() {
            (Tok::Tilde, _) => {}
            (Tok::LParen, p) => {
                return Err(self.error(
                    p,
                    "function calls are not supported; add a derived column to the data instead",
                ));
            }
            (_, p) => return Err(self.error(p, "expected '~' after the response")),
        }
        if matches!(self.peek(), Tok::End) {
            return Err(self.error(
                self.pos(),
                "the right-hand side is empty; write '~ 1' for an intercept-only model",
            ));
        }
        let rhs = self.sum()?;
        match self.peek() {
            Tok::End => Ok((response, rpos, rhs)),
            Tok::Bar | Tok::DoubleBar => Err(self.error(
                self.pos(),
                "'|' is only allowed inside parentheses, as in (1 | group)",
            )),
            Tok::RParen => Err(self.error(self.pos(), "unbalanced ')': no matching '('")),
            Tok::Tilde => Err(self.error(self.pos(), "a formula has only one '~'")),
            _ => Err(self.error(
                self.pos(),
                "expected an operator (+ - * / : ^) or the end of the formula",
            )),
        }
    }

    fn sum(&mut self) -> Result<Expr> {
        let mut lhs = match self.peek() {
            Tok::Minus => {
                let (_, p) = self.next();
                Expr::Neg(Box::new(self.product()?), p)
            }
            Tok::Plus => {
                self.next();
                self.product()?
            }
            _ => self.product()?,
        };
        loop {
            match self.peek() {
                Tok::Plus => {
                    self.next();
                    lhs = Expr::Sum(Box::new(lhs), Box::new(self.product()?));
                }
                Tok::Minus => {
                    self.next();
                    lhs = Expr::Minus(Box::new(lhs), Box::new(self.product()?));
                }
                _ => return Ok(lhs),
            }
        }
    }

    fn product(&mut self) -> Result<Expr> {
        let mut lhs = self.interaction()?;
        loop {
            match self.peek() {
                Tok::Star => {
                    self.next();
                    lhs = Expr::Cross(Box::new(lhs), Box::new(self.interaction()?));
                }
                Tok::Slash => {
                    self.next();
                    lhs = Expr::Nest(Box::new(lhs), Box::new(self.interaction()?));
                }
                _ => return Ok(lhs),
            }
        }
    }

    fn interaction(&mut self) -> Result<Expr> {
        let mut lhs = self.power()?;
        while matches!(self.peek(), Tok::Colon) {
            self.next();
            lhs = Expr::Interact(Box::new(lhs), Box::new(self.power()?));
        }
        Ok(lhs)
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
                    return Err(
                        self.error(q, "'^' must be followed by a whole number from 1 to 32")
                    );
                }
            }
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<Expr> {
        match self.next() {
            (Tok::Ident(name), p) => {
                if matches!(self.peek(), Tok::LParen) {
                    return Err(self.error(
                        p,
                        format!("function calls such as '{name}(...)' are not supported; add a derived column to the data instead"),
                    ));
                }
                Ok(Expr::Var(name, p))
            }
            (Tok::Num(v), p) => {
                if v == 0.0 || v == 1.0 {
                    Ok(Expr::Num(v, p))
                } else {
                    Err(self.error(
                        p,
                        "only 0 and 1 may stand as numbers in a formula (for the intercept)",
                    ))
                }
            }
            (Tok::LParen, p) => {
                if matches!(self.peek(), Tok::RParen) {
                    return Err(self.error(p, "empty parentheses"));
                }
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
}
