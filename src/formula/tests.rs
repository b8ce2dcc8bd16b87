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
    assert_eq!(err_pos("y ~ log(x)").0, 4);
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
        Err(Error::Formula {
            position, message, ..
        }) => {
            assert_eq!(position, 13);
            assert!(
                message.contains("unknown column 'clinic'") && message.contains("y, x"),
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
