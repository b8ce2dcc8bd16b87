//! A fuzz harness for the inputs users hand the crate: formulas, CSV files, key files and data
//! operations. Each property feeds generated (often hostile) input through the public API and
//! asserts only that it answers — a value or an `Error` — without panicking or aborting.
//!
//! Cases per property: `SECUREBASE_FUZZ_CASES` (default 500, so `cargo test` stays quick);
//! `.ci/run` runs it again with many more under a time limit.
#![cfg(all(feature = "serde", feature = "csv"))]

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use securebase::data::{
    Agg, ByGroup, ColumnKind, CsvOptions, FillDirection, Levels, Longer, SortKey, Wider,
};
use securebase::scoring::{InvalidResponses, ScaleKey, score};
use securebase::{Criterion, Data, Formula, LmmSpec, Ols};

/// Formulas that parsed, so a run can show it reached the fitting code.
static PARSED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn cases() -> u32 {
    std::env::var("SECUREBASE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

fn data() -> Data {
    let n = 24;
    let f = |i: usize, a: usize, b: usize| ((i * a + b) % 11) as f64 / 3.0 - 1.0;
    Data::new()
        .with_numeric("y", (0..n).map(|i| f(i, 7, 3) + i as f64 * 0.1).collect())
        .unwrap()
        .with_numeric("x", (0..n).map(|i| f(i, 5, 1)).collect())
        .unwrap()
        .with_numeric("z", (0..n).map(|i| f(i, 3, 2) + 0.5).collect())
        .unwrap()
        .with_numeric("w", (0..n).map(|i| 0.5 + (i % 5) as f64).collect())
        .unwrap()
        .with_categorical("g", (0..n).map(|i| format!("g{}", i % 4)).collect())
        .unwrap()
        .with_categorical("h", (0..n).map(|i| format!("h{}", i % 3)).collect())
        .unwrap()
}

const FORMULA_TOKENS: &[&str] = &[
    "y", "~", "x", "z", "w", "g", "h", "+", "-", "*", "/", ":", "^", "(", ")", "|", "||", "0", "1",
    "2", "3", "0.5", "1e3", " ", "I(", "log(", "exp(", "sqrt(", "abs(", "scale(", "factor(",
    "poly(", "offset(", ",", "=", "raw", "TRUE", "FALSE", "scale", "base", "`", "nope", "%",
    "((((((", "))))))", "log2(", "degree",
];

/// A formula built from the grammar (so most parse and reach the fitting code), then often
/// mutated (a token inserted or a character dropped) so the error paths are exercised too.
fn grammar_formula(seed: u64) -> String {
    let mut state = seed | 1;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    fn arith(next: &mut dyn FnMut(usize) -> usize, depth: usize) -> String {
        let vars = ["x", "z", "w", "2", "0.5", "y"];
        if depth == 0 || next(3) == 0 {
            return vars[next(vars.len())].to_string();
        }
        match next(5) {
            0 => format!(
                "{} {} {}",
                arith(next, depth - 1),
                ["+", "-", "*", "/", "^"][next(5)],
                arith(next, depth - 1)
            ),
            1 => format!("({})", arith(next, depth - 1)),
            2 => format!("-{}", arith(next, depth - 1)),
            3 => format!(
                "{}({})",
                ["log", "exp", "sqrt", "abs", "log1p"][next(5)],
                arith(next, depth - 1)
            ),
            _ => format!("log({}, base = 2)", arith(next, depth - 1)),
        }
    }
    fn term(next: &mut dyn FnMut(usize) -> usize, depth: usize) -> String {
        let vars = ["x", "z", "w", "g", "h", "1", "0"];
        if depth == 0 || next(2) == 0 {
            return match next(8) {
                0 => format!("I({})", arith(next, 2)),
                1 => format!("log({})", arith(next, 1)),
                2 => format!(
                    "scale({}{})",
                    ["x", "z"][next(2)],
                    [", scale = FALSE", "", ", center = FALSE"][next(3)]
                ),
                3 => format!("factor({})", ["x", "g", "w"][next(3)]),
                4 => format!(
                    "poly({}, {}{})",
                    ["x", "z", "w"][next(3)],
                    1 + next(4),
                    [", raw = TRUE", ""][next(2)]
                ),
                _ => vars[next(vars.len())].to_string(),
            };
        }
        let a = term(next, depth - 1);
        let b = term(next, depth - 1);
        match next(6) {
            0 => format!("{a} * {b}"),
            1 => format!("{a}:{b}"),
            2 => format!("({a} + {b})^{}", 1 + next(3)),
            3 => format!("{a} / {b}"),
            4 => format!("{a} - {b}"),
            _ => format!("({a} + {b})"),
        }
    }
    let mut parts = vec![term(&mut next, 3)];
    for _ in 0..next(3) {
        parts.push(term(&mut next, 2));
    }
    if next(2) == 0 {
        parts.push(format!("offset({})", arith(&mut next, 1)));
    }
    for _ in 0..next(3) {
        let lhs = ["1", "x", "0 + x", "z", "I(x^2)", "factor(h)"][next(6)];
        let bar = ["|", "||"][next(2)];
        let grp = ["g", "h", "g/h", "g:h", "y", "x"][next(6)];
        parts.push(format!("({lhs} {bar} {grp})"));
    }
    let response = ["y", "log(w)", "I(y * 2)", "y"][next(4)];
    let mut f = format!("{response} ~ {}", parts.join(" + "));
    match next(4) {
        0 => {
            let at = next(f.len() + 1);
            let at = (0..=at).rev().find(|&i| f.is_char_boundary(i)).unwrap_or(0);
            f.insert_str(at, FORMULA_TOKENS[next(FORMULA_TOKENS.len())]);
        }
        1 if !f.is_empty() => {
            let at = next(f.len());
            if f.is_char_boundary(at) && f.is_char_boundary(at + 1) {
                f.remove(at);
            }
        }
        _ => {}
    }
    f
}

fn formula() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<u64>().prop_map(grammar_formula),
        1 => prop::collection::vec(prop::sample::select(FORMULA_TOKENS), 0..30).prop_map(|t| t.concat()),
    ]
}

const CSV_PIECES: &[&str] = &[
    "y",
    "x",
    "g",
    ",",
    ";",
    "\t",
    "|",
    "\n",
    "\r\n",
    "\"",
    "1",
    "2.5",
    "-3",
    "007",
    "NA",
    "na",
    ".",
    "N/A",
    "",
    " ",
    "1,5",
    "1e308",
    "NaN",
    "Inf",
    "abc",
    "æøå",
    "123456789012345678",
    "0x1A",
    "\u{feff}",
    "1.0.0",
    "-",
    "+4",
    "\u{0}",
];

fn csv_text() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["y,x,g\n", "y;x;g\n", "y\tx\tg\n", "a\n", "", ",,\n"][..]),
        prop::collection::vec(prop::sample::select(CSV_PIECES), 0..80),
    )
        .prop_map(|(h, t)| format!("{h}{}", t.concat()))
}

const KEY: &str = r#"{"format": "securebase-key/1", "name": "t", "source": "s", "licence": "l",
 "response_min": 1, "response_max": 5, "items": ["y", "x", "z"],
 "subscales": [{"name": "s", "items": ["y", "x", "z"], "reverse": ["x"], "aggregation": "mean",
   "min_answered": {"count": 2}}]}"#;

const KEY_EDITS: &[(&str, &str)] = &[
    ("reverse", "reversed"),
    ("\"mean\"", "\"sum\""),
    ("\"mean\"", "\"median\""),
    ("\"count\": 2", "\"count\": 0"),
    ("\"count\": 2", "\"proportion\": 1.5"),
    ("\"count\": 2", "\"count\": 99"),
    (
        "\"response_max\": 5",
        "\"response_max\": 9223372036854775807",
    ),
    (
        "\"response_min\": 1",
        "\"response_min\": -9223372036854775808",
    ),
    ("\"response_min\": 1", "\"response_min\": 5"),
    ("[\"x\"]", "[\"q\"]"),
    ("\"z\"]", "\"z\", \"z\"]"),
    ("securebase-key/1", "securebase-key/2"),
    ("\"items\": [\"y\", \"x\", \"z\"],", ""),
    ("{", "{{"),
    ("}", ""),
    ("\"name\": \"s\"", "\"name\": \"s\", \"extra\": 1"),
];

fn key_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(KEY_EDITS), 0..4).prop_map(|edits| {
        let mut k = KEY.to_string();
        for (a, b) in edits {
            k = k.replacen(a, b, 1);
        }
        k
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn formulas_parse_and_fit_without_panicking(f in formula()) {
        let d = data();
        if let Ok(parsed) = Formula::parse(&f) {
            PARSED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if parsed.is_mixed() {
                if let Ok(spec) = LmmSpec::from_formula(&d, &parsed) {
                    let _ = spec.fit(Criterion::Reml);
                }
            } else if let Ok(fit) = Ols::fit_formula(&d, &parsed) {
                let _ = fit.predict(&d, 0.95);
            }
        }
    }

    #[test]
    fn csv_files_read_without_panicking(text in csv_text(), comma in any::<bool>(), declare in any::<bool>()) {
        let mut o = CsvOptions::new().na_list("NA,.").decimal_comma(comma && !text.starts_with("y,"));
        if declare {
            o = o.column_kind("g", ColumnKind::Categorical).column_kind("x", ColumnKind::Numeric);
        }
        if let Ok((d, _)) = o.read(text.as_bytes()) {
            let _ = Ols::fit(&d, "y ~ x");
            let mut out = Vec::new();
            d.write_csv(&mut out).unwrap();
        }
        let _ = Data::from_csv_reader(text.as_bytes());
    }

    #[test]
    fn key_files_load_and_score_without_panicking(k in key_text()) {
        if let Ok(key) = ScaleKey::from_json(&k) {
            let d = Data::new()
                .with_numeric_opt("y", vec![Some(1.0), Some(5.0), None, Some(3.0)]).unwrap()
                .with_numeric_opt("x", vec![Some(2.0), None, Some(4.0), Some(7.0)]).unwrap()
                .with_numeric_opt("z", vec![Some(1.0), Some(2.0), Some(3.0), Some(2.5)]).unwrap();
            let _ = score(&d, &key, InvalidResponses::Error);
            let _ = score(&d, &key, InvalidResponses::SetMissing);
            let _ = key.with_columns(&["a", "b", "c"]);
        }
    }

    #[test]
    fn data_operations_never_panic(
        ops in prop::collection::vec(0usize..15, 1..6),
        cols in prop::collection::vec(prop::sample::select(&["y", "x", "g", "h", "nope", ""][..]), 3),
        k in 0u32..3,
    ) {
        let mut d = data();
        for op in ops {
            let (a, b, c) = (cols[0], cols[1], cols[2]);
            let r = match op {
                0 => d.sort_by_keys(&[SortKey::asc(a), SortKey::desc(b)]),
                1 => d.aggregate(&[a], &[Agg::mean(b), Agg::slope(b, c), Agg::last(c)]).map(|x| x.data),
                2 => d.left_join(&d.aggregate(&[a], &[Agg::rows()]).map(|x| x.data).unwrap_or_default(), &[a]).map(|j| j.data),
                3 => d.lag(b, &[a], c, k).and_then(|col| { let mut e = d.clone(); e.add_column("lagged", col).map(|_| e) }),
                4 => d.pivot_wider(&Wider::new(&[a], b, &[c])),
                5 => d.pivot_longer(&Longer::new("t").stem("v", &format!("{a}{{}}"))),
                6 => { let mut e = d.clone(); e.to_numeric(a).map(|_| e) }
                7 => { let mut e = d.clone(); e.to_categorical(b).map(|_| e) }
                // Levels and what they drive: declare, describe, collapse, fill, group values,
                // and a fit at the formula's level.
                9 => d.clone().with_levels(Levels::new(&[a, b])),
                10 => Levels::parse(&format!("{a}/{b}/{c}"), &d).and_then(|l| d.clone().with_levels(l.partially_crossed(k == 1))),
                11 => d.describe().map(|_| d.clone()).and_then(|e| e.one_row_per(a, &[b, c])),
                12 => { let mut e = d.clone(); e.fill(&[b], &[a], FillDirection::DownUp).map(|_| e) }
                13 => d.by_group(b, a, [ByGroup::Mean, ByGroup::Center, ByGroup::Sd, ByGroup::First, ByGroup::Last][k as usize % 5])
                    .and_then(|v| { let mut e = d.clone(); e.add_column("by", securebase::Column::Numeric(v.into_iter().collect())).map(|_| e) })
                    .inspect(|e| { let _ = e.standardize(c); let _ = Ols::fit(e, &format!("{b} ~ {c}")); }),
                _ => { let mut e = d.clone(); e.rename(a, b).map(|_| e) }
            };
            if let Ok(next) = r
                && next.ncols() > 0 {
                    d = next;
                }
        }
    }
}

#[test]
fn the_formula_strategy_reaches_the_fitting_code() {
    // A run of the property above on its own cases: a good share of them must parse.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut parsed = 0;
    for _ in 0..400 {
        let f = formula().new_tree(&mut runner).unwrap().current();
        parsed += usize::from(Formula::parse(&f).is_ok());
    }
    assert!(parsed > 40, "only {parsed} of 400 generated formulas parse");
    let _ = PARSED.load(std::sync::atomic::Ordering::Relaxed);
}
