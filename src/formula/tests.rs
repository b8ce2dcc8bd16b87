use super::*;
use crate::Data;

fn labels(f: &Formula) -> Vec<String> {
    f.fixed().terms.iter().map(Term::label).collect()
}

fn random(f: &Formula) -> Vec<(bool, Vec<String>, String)> {
    f.random()
        .iter()
        .map(|r| {
            (
                r.effects.intercept,
                r.effects.terms.iter().map(Term::label).collect(),
                r.group_name(),
            )
        })
        .collect()
}

fn err_pos(text: &str) -> (usize, String) {
    match Formula::parse(text) {
        Err(Error::Formula {
            position, message, ..
        }) => (position, message),
        other => panic!("{text}: expected a formula error, got {other:?}"),
    }
}

#[test]
fn main_effects_and_intercept() {
    let f = Formula::parse("y ~ a + b").unwrap();
    assert_eq!(f.response(), "y");
    assert!(f.fixed().intercept);
    assert_eq!(labels(&f), ["a", "b"]);
    assert!(!f.is_mixed());
    for text in ["y ~ 0 + a", "y ~ a - 1", "y ~ -1 + a", "y ~ a + 0"] {
        let f = Formula::parse(text).unwrap();
        assert!(!f.fixed().intercept, "{text}");
        assert_eq!(labels(&f), ["a"], "{text}");
    }
    assert!(Formula::parse("y ~ 1 + a").unwrap().fixed().intercept);
    assert!(Formula::parse("y ~ 0 + a + 1").unwrap().fixed().intercept);
    let f = Formula::parse("y ~ 1").unwrap();
    assert!(f.fixed().intercept && f.fixed().terms.is_empty());
}

#[test]
fn crossing_interaction_power_nesting() {
    assert_eq!(
        labels(&Formula::parse("y ~ a*b").unwrap()),
        ["a", "b", "a:b"]
    );
    assert_eq!(labels(&Formula::parse("y ~ a:b").unwrap()), ["a:b"]);
    // terms ordered by degree, variables in order of first appearance
    assert_eq!(
        labels(&Formula::parse("y ~ b:a + c").unwrap()),
        ["c", "b:a"]
    );
    assert_eq!(
        labels(&Formula::parse("y ~ a + b:a").unwrap()),
        ["a", "a:b"]
    );
    assert_eq!(
        labels(&Formula::parse("y ~ a*b*c").unwrap()),
        ["a", "b", "c", "a:b", "a:c", "b:c", "a:b:c"]
    );
    assert_eq!(
        labels(&Formula::parse("y ~ (a + b + c)^2").unwrap()),
        ["a", "b", "c", "a:b", "a:c", "b:c"]
    );
    assert_eq!(labels(&Formula::parse("y ~ a/b").unwrap()), ["a", "a:b"]);
    assert_eq!(
        labels(&Formula::parse("y ~ a*b - a:b").unwrap()),
        ["a", "b"]
    );
    assert_eq!(labels(&Formula::parse("y ~ a + a").unwrap()), ["a"]);
    assert_eq!(
        labels(&Formula::parse("y ~ `odd name` + x.1_b").unwrap()),
        ["odd name", "x.1_b"]
    );
}

#[test]
fn random_effect_terms() {
    let f = Formula::parse("y ~ x + (1 | g)").unwrap();
    assert_eq!(labels(&f), ["x"]);
    assert_eq!(random(&f), [(true, vec![], "g".into())]);
    let f = Formula::parse("y ~ x + (x | g)").unwrap();
    assert_eq!(random(&f), [(true, vec!["x".into()], "g".into())]);
    let f = Formula::parse("y ~ x + (0 + x | g)").unwrap();
    assert_eq!(random(&f), [(false, vec!["x".into()], "g".into())]);
    let f = Formula::parse("y ~ x + (x || g)").unwrap();
    assert_eq!(
        random(&f),
        [
            (true, vec![], "g".into()),
            (false, vec!["x".into()], "g".into())
        ]
    );
    let f = Formula::parse("y ~ 1 + (1 | g1/g2)").unwrap();
    assert_eq!(
        random(&f),
        [(true, vec![], "g1".into()), (true, vec![], "g2:g1".into())]
    );
    let f = Formula::parse("y ~ 1 + (1 | a/b/c)").unwrap();
    let groups: Vec<String> = random(&f).into_iter().map(|r| r.2).collect();
    assert_eq!(groups, ["a", "b:a", "c:b:a"]);
    let f = Formula::parse("y ~ (1 | g1:g2)").unwrap();
    assert_eq!(random(&f), [(true, vec![], "g1:g2".into())]);
    let f = Formula::parse("y ~ x + (1 | s) + (1 | d) + (x | s)").unwrap();
    assert_eq!(f.random().len(), 3);
    assert_eq!(f.variables(), ["y", "x", "s", "d"]);
}

#[test]
fn malformed_formulas_point_at_the_problem() {
    assert_eq!(err_pos("y ~ (x + z").0, 4); // the unmatched '('
    assert_eq!(err_pos("y ~ x + z)").0, 9);
    assert_eq!(err_pos("y ~ x + + z").0, 8);
    assert_eq!(err_pos("y ~ x +").0, 7);
    assert_eq!(err_pos("y ~ ()").0, 4);
    let (p, m) = err_pos("y ~ x | g");
    assert_eq!(p, 6);
    assert!(m.contains("inside parentheses"), "{m}");
    assert_eq!(err_pos("y ~ (x | )").0, 9);
    assert_eq!(err_pos("y x").0, 2);
    assert_eq!(err_pos("~ x").0, 0);
    assert_eq!(err_pos("").0, 0);
    assert_eq!(err_pos("y ~ ").0, 4);
    let (p, m) = err_pos("y ~ foo(x)");
    assert_eq!(p, 4);
    assert!(
        m.contains("unknown function 'foo()'") && m.contains("poly()"),
        "{m}"
    );
    assert_eq!(err_pos("y ~ x + 2").0, 8);
    assert_eq!(err_pos("y ~ x ~ z").0, 6);
    assert_eq!(err_pos("y ~ x * (1 | g)").0, 11);
    assert_eq!(err_pos("y ~ x^z").0, 6);
    assert_eq!(err_pos("y ~ x $ z").0, 6);
    assert_eq!(err_pos("y ~ `x").0, 4);
    assert_eq!(err_pos("y ~ y + x").0, 0);
    assert_eq!(err_pos("y ~ x + (1 | g | h)").0, 15);
    assert_eq!(err_pos("y ~ x + (0 | g)").0, 11);
}

#[test]
fn unknown_column_points_at_it() {
    let data = Data::new()
        .with_numeric("y", vec![1.0, 2.0])
        .unwrap()
        .with_numeric("x", vec![1.0, 2.0])
        .unwrap();
    let f = Formula::parse("y ~ x + (1 | clinic)").unwrap();
    match f.check_columns(&data) {
        Err(
            e @ Error::UnknownColumn {
                position: Some(13), ..
            },
        ) => {
            let message = e.to_string();
            assert!(
                message.contains("unknown column 'clinic'")
                    && message.contains("y, x")
                    && message.contains("y ~ x + (1 | clinic)\n               ^"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn fuzzed_strings_never_panic() {
    let alphabet = [
        "y", "~", "x", "+", "-", "*", "/", ":", "^", "(", ")", "|", "||", "0", "1", "2", " ", "g",
        "`",
    ];
    let mut state: u64 = 0x9E3779B97F4A7C15;
    for _ in 0..20_000 {
        let mut s = String::new();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 12) as usize;
        for k in 0..len {
            let idx = ((state >> (k * 5)) % alphabet.len() as u64) as usize;
            s.push_str(alphabet[idx]);
        }
        let _ = Formula::parse(&s);
    }
}

fn derived_labels(text: &str) -> Vec<String> {
    let f = Formula::parse(text).unwrap();
    f.fixed().terms.iter().map(Term::label).collect()
}

#[test]
fn functions_are_variables_named_as_r_deparses_them() {
    assert_eq!(
        derived_labels("y ~ I(x*z) + I(x^2) + I((x+1)^2) + I(x/2) + I(-x) + I(x^-1)"),
        [
            "I(x * z)",
            "I(x^2)",
            "I((x + 1)^2)",
            "I(x/2)",
            "I(-x)",
            "I(x^-1)"
        ]
    );
    assert_eq!(
        derived_labels("y ~ log(x,base=2) + log(x, 2) + exp(-x/2) + sqrt(x) + abs(x) + log1p(x)"),
        [
            "log(x, base = 2)",
            "log(x, 2)",
            "exp(-x/2)",
            "sqrt(x)",
            "abs(x)",
            "log1p(x)"
        ]
    );
    assert_eq!(
        derived_labels(
            "y ~ scale(x,scale=FALSE) + scale(x) + factor(g) + poly(x,2,raw=TRUE) + poly(x, degree=3)"
        ),
        [
            "scale(x, scale = FALSE)",
            "scale(x)",
            "factor(g)",
            "poly(x, 2, raw = TRUE)",
            "poly(x, degree = 3)"
        ]
    );
    assert_eq!(
        derived_labels("y ~ I(1e5*x) + I(0.0001*x) + I(2.50*x)"),
        ["I(1e+05 * x)", "I(1e-04 * x)", "I(2.5 * x)"]
    );
    // Interactions of functions, as R orders and names them.
    assert_eq!(
        derived_labels("y ~ log(x) * factor(g)"),
        ["log(x)", "factor(g)", "log(x):factor(g)"]
    );
    // The response may be a function; offsets are not terms.
    let f = Formula::parse("log(y) ~ x + offset(log(n))").unwrap();
    assert_eq!(f.response(), "log(y)");
    assert_eq!(f.offsets(), ["offset(log(n))"]);
    assert_eq!(labels(&f), ["x"]);
    assert_eq!(f.columns(), ["y", "x", "n"]);
    assert_eq!(f.variables(), ["log(y)", "x", "offset(log(n))"]);
    // Functions inside random-effect terms.
    let f = Formula::parse("y ~ 1 + (I(s^2) | g)").unwrap();
    assert_eq!(random(&f), [(true, vec!["I(s^2)".into()], "g".into())]);
}

#[test]
fn malformed_calls_point_at_the_problem() {
    for (text, pos, needle) in [
        ("y ~ I(x", 5, "unbalanced"),
        ("y ~ I(x, z)", 4, "I() takes one expression"),
        ("y ~ poly(x, 2, TRUE)", 15, "name raw"),
        ("y ~ poly(x, raw = 2)", 12, "TRUE or FALSE"),
        ("y ~ poly(x, 0)", 12, "whole number from 1 to 20"),
        ("y ~ scale(x, middle = TRUE)", 13, "center"),
        ("y ~ I(x %% 2)", 8, "unexpected character '%'"),
        ("y ~ I(foo(x))", 6, "unknown function 'foo()'"),
        ("y ~ sqrt(x, 2)", 4, "takes one expression"),
        ("y ~ x + offset(z):x", 8, "offset() must be added"),
        ("y ~ x - offset(z)", 8, "cannot be subtracted"),
        ("offset(y) ~ x", 0, "cannot be the response"),
        (
            "y ~ x + (1 | factor(g))",
            13,
            "grouping factor must be a column name",
        ),
        ("y ~ x, z", 5, "belong inside a function call"),
        ("y ~ x + 3", 8, "I(2 * x)"),
    ] {
        let (p, m) = err_pos(text);
        assert!(m.contains(needle), "{text}: {m}");
        assert_eq!(p, pos, "{text}: {m}");
    }
}

#[test]
fn the_response_may_not_appear_on_the_right() {
    for (text, needle) in [
        ("y ~ x + (y | g)", "inside a random-effect term"),
        ("y ~ x + (1 | y)", "as a grouping factor"),
        ("y ~ I(y^2)", "its column 'y'"),
        ("log(y) ~ y", "its column 'y'"),
        ("y ~ y:x", "on the right-hand side"),
    ] {
        let (p, m) = err_pos(text);
        assert_eq!(p, 0, "{text}"); // the response's position
        assert!(m.contains(needle), "{text}: {m}");
    }
}

#[test]
fn parsing_is_bounded() {
    // Deep nesting is an error, not a stack overflow.
    let deep = format!("y ~ {}x{}", "(".repeat(6000), ")".repeat(6000));
    let (_, m) = err_pos(&deep);
    assert!(m.contains("nests deeper than"), "{m}");
    let deep = format!("y ~ I({}x)", "-".repeat(6000));
    assert!(err_pos(&deep).1.contains("nests deeper"));
    let deep = format!("y ~ x{}", "/z".repeat(5000));
    assert!(err_pos(&deep).1.contains("nests deeper"));
    // Exponential expansions are refused before they are done.
    let vars: Vec<String> = (1..=16).map(|i| format!("x{i}")).collect();
    let t = std::time::Instant::now();
    let (p, m) = err_pos(&format!("y ~ ({})^16", vars.join("+")));
    assert!(m.contains("more than the 5000"), "{m}");
    assert_eq!(p, 4 + vars.join("+").len() + 2);
    let (_, m) = err_pos(&format!("y ~ {}", vars.join("*")));
    assert!(m.contains("terms"), "{m}");
    // A long flat sum is fine (no deep tree), and quick.
    let many: Vec<String> = (0..4000).map(|i| format!("x{i}")).collect();
    let f = Formula::parse(&format!("y ~ {}", many.join(" + "))).unwrap();
    assert_eq!(f.fixed().terms.len(), 4000);
    assert!(t.elapsed().as_secs_f64() < 5.0);
    // (a+b+c+d)^2 still expands as R does.
    assert_eq!(
        labels(&Formula::parse("y ~ (a+b+c+d)^2").unwrap()).len(),
        10
    );
}

/// The model matrix follows the rows asked for, in their order, also when they are every row
/// of the data in another order (the straight-copy path is for storage order only).
#[test]
fn design_matrix_follows_the_rows_given() {
    let d = Data::new()
        .with_numeric("y", vec![1.0, 2.0, 3.0])
        .unwrap()
        .with_numeric("x", vec![10.0, 20.0, 30.0])
        .unwrap();
    let f = Formula::parse("y ~ x").unwrap();
    let design = design::Design::new(f.fixed(), &d, &[0, 1, 2]).unwrap();
    let x = design.matrix(&d, &[2, 0, 1]).unwrap();
    assert_eq!(x.column(1).as_slice(), [30.0, 10.0, 20.0]);
    let x = design.matrix(&d, &[0, 1, 2]).unwrap();
    assert_eq!(x.column(1).as_slice(), [10.0, 20.0, 30.0]);
}
