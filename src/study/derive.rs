//! Derived columns of a plan: arithmetic in formula syntax (`iip_post - iip_pre`), with the
//! group-wise functions `mean_by(x, client)`, `center(x, client)` (group-mean centring),
//! `sd_by(x, client)`, `first_by(x, client)`, `last_by(x, client)` (first and last
//! non-missing value in session order), and `scale(x)` at the variable's own level (a
//! client-level variable standardized over clients, not session rows).

use super::plan::Ids;
use crate::data::{ByGroup, Column, Data};
use crate::error::{Error, Result};

/// One group-wise call found in an expression.
struct Call {
    /// Byte range in the expression.
    range: std::ops::Range<usize>,
    /// `None` for `scale`.
    func: Option<ByGroup>,
    column: String,
    group: Option<String>,
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

/// The group-wise calls of `expr` (and `scale(x)` of a bare column), outermost only.
fn calls(expr: &str, what: &str) -> Result<Vec<Call>> {
    let mut out = Vec::new();
    let bytes: Vec<(usize, char)> = expr.char_indices().collect();
    let mut i = 0;
    while i < bytes.len() {
        let (start, c) = bytes[i];
        if !is_ident(c) || (i > 0 && is_ident(bytes[i - 1].1)) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < bytes.len() && is_ident(bytes[j].1) {
            j += 1;
        }
        let name = &expr[start..bytes.get(j).map_or(expr.len(), |b| b.0)];
        let func = ByGroup::from_name(name);
        let is_scale = name == "scale";
        let mut k = j;
        while k < bytes.len() && bytes[k].1 == ' ' {
            k += 1;
        }
        if (func.is_none() && !is_scale) || k >= bytes.len() || bytes[k].1 != '(' {
            i = j;
            continue;
        }
        // The balanced argument list.
        let (open, mut depth, mut end) = (k, 0usize, None);
        for (m, &(_, ch)) in bytes.iter().enumerate().skip(open) {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(m);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            return Err(Error::Argument {
                name: what.into(),
                message: format!("'{name}(' in '{expr}' is not closed"),
            });
        };
        let inner = &expr[bytes[open].0 + 1..bytes[end].0];
        let args: Vec<String> = inner.split(',').map(|a| a.trim().to_string()).collect();
        let bare = |a: &str| !a.is_empty() && a.chars().all(is_ident);
        let range = start..bytes[end].0 + 1;
        match func {
            Some(f) => {
                if args.len() != 2 || !bare(&args[0]) || !bare(&args[1]) {
                    return Err(Error::Argument {
                        name: what.into(),
                        message: format!(
                            "{}(x, group) takes a column and a group (client, therapist or a column), e.g. {}(engagement, client); got '{}'",
                            f.name(),
                            f.name(),
                            &expr[range.clone()]
                        ),
                    });
                }
                out.push(Call {
                    range,
                    func: Some(f),
                    column: args[0].clone(),
                    group: Some(args[1].clone()),
                });
            }
            // scale(x) of a bare column: at x's level; anything else is the formula's scale().
            None if args.len() == 1 && bare(&args[0]) => out.push(Call {
                range,
                func: None,
                column: args[0].clone(),
                group: None,
            }),
            None => {}
        }
        i = end + 1;
    }
    Ok(out)
}

/// `expr` with each call replaced by a placeholder column name.
fn substituted(expr: &str, calls: &[Call]) -> String {
    let mut s = String::new();
    let mut at = 0;
    for (n, c) in calls.iter().enumerate() {
        s.push_str(&expr[at..c.range.start]);
        s.push_str(&format!("`.by{n}`"));
        at = c.range.end;
    }
    s.push_str(&expr[at..]);
    s
}

fn group_column(group: &str, ids: &Ids) -> String {
    match group {
        "client" => ids.client.clone(),
        "therapist" => ids.therapist.clone().unwrap_or_else(|| group.to_string()),
        other => other.to_string(),
    }
}

/// The data columns `expr` reads (for the plan check).
pub(crate) fn columns(expr: &str, ids: &Ids, what: &str) -> Result<Vec<String>> {
    let cs = calls(expr, what)?;
    let f = crate::formula::Formula::parse(&format!(".value ~ I({})", substituted(expr, &cs)))?;
    let mut out: Vec<String> = f.columns()[1..]
        .iter()
        .filter(|c| !c.starts_with(".by"))
        .cloned()
        .collect();
    for c in &cs {
        out.push(c.column.clone());
        if let Some(g) = &c.group {
            out.push(group_column(g, ids));
        }
    }
    Ok(out)
}

/// Evaluate `expr` on `data` (which carries the plan's levels).
pub(crate) fn evaluate(data: &Data, expr: &str, ids: &Ids, what: &str) -> Result<Column> {
    let cs = calls(expr, what)?;
    if cs.is_empty() {
        return crate::formula::evaluate(data, expr);
    }
    let mut d = data.clone();
    for (n, c) in cs.iter().enumerate() {
        let v: Vec<Option<f64>> = match (&c.func, &c.group) {
            (Some(f), Some(g)) => d.by_group(&c.column, &group_column(g, ids), *f)?,
            _ => d.standardize(&c.column)?.values,
        };
        d.add_column(&format!(".by{n}"), Column::Numeric(v.into_iter().collect()))?;
    }
    let s = substituted(expr, &cs);
    // A bare call is its own value.
    if cs.len() == 1 && s.trim() == "`.by0`" {
        return Ok(d.column(".by0")?.clone());
    }
    crate::formula::evaluate(&d, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Ids {
        Ids {
            therapist: None,
            client: "client".into(),
            session: "session".into(),
        }
    }

    fn data() -> Data {
        Data::new()
            .with_categorical("client", vec!["a", "a", "b", "b"])
            .unwrap()
            .with_numeric("session", vec![1.0, 2.0, 1.0, 2.0])
            .unwrap()
            .with_numeric_opt("x", vec![Some(1.0), Some(3.0), None, Some(5.0)])
            .unwrap()
    }

    #[test]
    fn group_calls_evaluate_inside_arithmetic() {
        let d = data();
        let v = evaluate(&d, "x - mean_by(x, client)", &ids(), "t").unwrap();
        let c = evaluate(&d, "center(x, client)", &ids(), "t").unwrap();
        assert_eq!(v, c);
        let f = evaluate(&d, "first_by(x, client) + 0 * x", &ids(), "t").unwrap();
        let crate::data::Column::Numeric(f) = f else {
            panic!()
        };
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            [Some(1.0), Some(1.0), None, Some(5.0)]
        );
        assert_eq!(
            columns("mean_by(x, client) * 2", &ids(), "t").unwrap(),
            ["x", "client"]
        );
    }

    #[test]
    fn hostile_expressions_are_errors_not_panics() {
        let d = data();
        for e in [
            "mean_by(x, client",
            "mean_by(x)",
            "mean_by(x + 1, client)",
            "mean_by(, )",
            "center(é, client)",
            "sd_by(x, nope)",
            "mean_by((x), client)",
            "scale(",
            "first_by(x, client))",
            "ü(mean_by(x, client))",
        ] {
            assert!(evaluate(&d, e, &ids(), "t").is_err(), "{e}");
            let _ = columns(e, &ids(), "t");
        }
    }
}
