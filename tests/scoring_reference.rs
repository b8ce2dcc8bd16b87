//! Scoring and reliability against R's psych 2.2.9 on its bfi data
//! (tests/reference/scoring.R → tests/fixtures/psych_bfi.json).
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::*;
use securebase::scoring::change::{ChangeCategory, Cutoff, cutoffs, reliable_change};
use securebase::scoring::{
    InvalidResponses, MissingItems, Norms, ScaleKey, alpha_bootstrap, reliability, score,
};
use securebase::{Data, Error};

fn bfi_key() -> ScaleKey {
    let r = load_json("psych_bfi.json");
    let subscales: Vec<serde_json::Value> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            // jsonlite writes a one-element vector as a scalar
            serde_json::json!({"name": s["name"], "items": s["items"], "reverse": strs(&s["reverse"]),
                "aggregation": "mean", "min_answered": {"count": 1}})
        })
        .collect();
    let items: Vec<String> = ["A", "C", "E", "N", "O"]
        .iter()
        .flat_map(|l| (1..=5).map(move |i| format!("{l}{i}")))
        .collect();
    let key = serde_json::json!({"format": "securebase-key/1", "name": "bfi", "source": "psych::bfi documentation",
        "licence": "public domain (IPIP)", "response_min": 1, "response_max": 6, "items": items, "subscales": subscales});
    ScaleKey::from_json(&key.to_string()).unwrap()
}

#[test]
fn reliability_matches_psych() {
    let r = load_json("psych_bfi.json");
    let data = Data::from_csv_path(fixture("bfi.csv")).unwrap();
    let key = bfi_key();
    let pw = reliability(&data, &key, MissingItems::Pairwise).unwrap();
    let cc = reliability(&data, &key, MissingItems::CompleteCases).unwrap();
    for ((want, p), c) in r.as_array().unwrap().iter().zip(&pw).zip(&cc) {
        let name = want["name"].as_str().unwrap();
        let wp = &want["pairwise"];
        close(
            &format!("{name} pairwise alpha"),
            p.alpha,
            wp["raw_alpha"].as_f64().unwrap(),
            1e-6,
        );
        close(
            &format!("{name} pairwise std alpha"),
            p.std_alpha,
            wp["std_alpha"].as_f64().unwrap(),
            1e-6,
        );
        let rd: Vec<f64> = p.items.iter().map(|i| i.r_drop).collect();
        let ad: Vec<f64> = p.items.iter().map(|i| i.alpha_if_deleted).collect();
        let mean: Vec<f64> = p.items.iter().map(|i| i.mean).collect();
        let sd: Vec<f64> = p.items.iter().map(|i| i.sd).collect();
        close_all(
            &format!("{name} pairwise r.drop"),
            &rd,
            &f64s(&wp["r_drop"]),
            1e-6,
        );
        close_all(
            &format!("{name} pairwise alpha if deleted"),
            &ad,
            &f64s(&wp["alpha_if_deleted"]),
            1e-6,
        );
        close_all(
            &format!("{name} item means"),
            &mean,
            &f64s(&wp["item_mean"]),
            1e-10,
        );
        close_all(
            &format!("{name} item sds"),
            &sd,
            &f64s(&wp["item_sd"]),
            1e-10,
        );
        let wc = &want["complete"];
        assert_eq!(c.n_complete as f64, wc["n"].as_f64().unwrap());
        close(
            &format!("{name} complete alpha"),
            c.alpha,
            wc["raw_alpha"].as_f64().unwrap(),
            1e-6,
        );
        close(
            &format!("{name} complete std alpha"),
            c.std_alpha,
            wc["std_alpha"].as_f64().unwrap(),
            1e-6,
        );
        let rd: Vec<f64> = c.items.iter().map(|i| i.r_drop).collect();
        let ad: Vec<f64> = c.items.iter().map(|i| i.alpha_if_deleted).collect();
        close_all(
            &format!("{name} complete r.drop"),
            &rd,
            &f64s(&wc["r_drop"]),
            1e-6,
        );
        close_all(
            &format!("{name} complete alpha if deleted"),
            &ad,
            &f64s(&wc["alpha_if_deleted"]),
            1e-6,
        );
        close(
            &format!("{name} ASE"),
            c.ase,
            wc["ase"].as_f64().unwrap(),
            1e-6,
        );
        close_all(
            &format!("{name} Feldt"),
            &c.feldt,
            &f64s(&wc["feldt"]),
            1e-6,
        );
        close_all(
            &format!("{name} Duhachek"),
            &c.duhachek,
            &f64s(&wc["duhachek"]),
            1e-6,
        );
        close(
            &format!("{name} omega total"),
            c.omega_total.unwrap(),
            want["omega_total"].as_f64().unwrap(),
            1e-6,
        );
        close(
            &format!("{name} omega (psych::omega)"),
            c.omega_total.unwrap(),
            want["omega_psych"].as_f64().unwrap(),
            1e-6,
        );
    }
}

#[test]
fn mean_scores_match_psych() {
    let r = load_json("psych_bfi.json");
    let data = Data::from_csv_path(fixture("bfi.csv")).unwrap();
    let scores = score(&data, &bfi_key(), InvalidResponses::Error).unwrap();
    for want in r.as_array().unwrap() {
        let s = scores.subscale(want["name"].as_str().unwrap()).unwrap();
        let head: Vec<f64> = s.scores[..20].iter().map(|v| v.unwrap()).collect();
        close_all(
            "mean scores",
            &head,
            &f64s(&want["mean_scores_head"]),
            1e-12,
        );
        let total: f64 = s.scores.iter().flatten().sum();
        close(
            "sum of mean scores",
            total,
            want["mean_scores_sum"].as_f64().unwrap(),
            1e-10,
        );
    }
}

#[test]
fn feldt_interval_matches_its_closed_form() {
    // With k = 2 items, (n−1)(k−1) = n−1 and F(n−1, n−1) is symmetric in the sense
    // F_{p}(d, d) = 1 / F_{1−p}(d, d): the product of the two interval factors is 1.
    let data = Data::new()
        .with_numeric("a", vec![1.0, 2.0, 3.0, 4.0, 5.0, 2.0, 4.0, 3.0])
        .unwrap()
        .with_numeric("b", vec![2.0, 2.0, 3.0, 5.0, 4.0, 1.0, 4.0, 4.0])
        .unwrap();
    let key = ScaleKey::from_json(r#"{"format":"securebase-key/1","name":"t","source":"test","licence":"test","response_min":1,"response_max":5,
        "items":["a","b"],"subscales":[{"name":"s","items":["a","b"],"aggregation":"sum","min_answered":{"count":2}}]}"#).unwrap();
    let rel = &reliability(&data, &key, MissingItems::CompleteCases).unwrap()[0];
    let f_hi = (1.0 - rel.feldt[0]) / (1.0 - rel.alpha);
    let f_lo = (1.0 - rel.feldt[1]) / (1.0 - rel.alpha);
    close("F quantiles reciprocal", f_hi * f_lo, 1.0, 1e-9);
    // And the upper-tail probability at the upper factor is 0.025.
    close(
        "tail",
        securebase::stats::f_upper(f_hi, 7.0, 7.0),
        0.025,
        1e-9,
    );
    let boot = alpha_bootstrap(&data, &key, "s", 500, 3, 0.95).unwrap();
    assert!(boot[0] < rel.alpha && rel.alpha < boot[1]);
    let again = alpha_bootstrap(&data, &key, "s", 500, 3, 0.95).unwrap();
    assert_eq!(boot, again);
}

#[test]
fn reliable_change_by_hand() {
    // SD 7.5, r = 0.88 → S_diff = 7.5·√(0.24) = 3.674235; cut-off c between a clinical
    // population (M 28, SD 7.5) and a functional one (M 12, SD 6): (6·28 + 7.5·12)/13.5 = 19.111…
    let norms = Norms::new(28.0, 7.5, 0.88)
        .functional(12.0, 6.0)
        .dysfunctional(28.0, 7.5)
        .higher_is_worse(true);
    let c = cutoffs(&norms);
    close("a", c.a.unwrap(), 13.0, 1e-12);
    close("b", c.b.unwrap(), 24.0, 1e-12);
    close("c", c.c.unwrap(), 258.0 / 13.5, 1e-12);
    let pre = [Some(30.0), Some(30.0), Some(30.0), Some(20.0), None];
    // 30→15: RCI −4.08, ends below c: recovered. 30→21: RCI −2.45, ends above c (19.11):
    // improved. 30→28: RCI −0.54: unchanged. 20→28: RCI +2.18: deteriorated.
    let post = [Some(15.0), Some(21.0), Some(28.0), Some(28.0), Some(10.0)];
    let rc = reliable_change(&pre, &post, &norms, Cutoff::C).unwrap();
    close("se_diff", rc.se_diff, 7.5 * 0.24f64.sqrt(), 1e-12);
    close(
        "rci",
        rc.rci[0].unwrap(),
        -15.0 / (7.5 * 0.24f64.sqrt()),
        1e-12,
    );
    assert_eq!(
        rc.category,
        [
            Some(ChangeCategory::Recovered),
            Some(ChangeCategory::Improved),
            Some(ChangeCategory::Unchanged),
            Some(ChangeCategory::Deteriorated),
            None
        ]
    );
}

#[test]
fn bad_input_is_clear() {
    let key = bfi_key();
    let data = Data::from_csv_path(fixture("bfi.csv")).unwrap();
    // a response of 9 on the 1–6 scale: an error naming row and column, or missing and reported
    let mut bad = data.select_rows(&[0, 1, 2]).unwrap();
    let mut a1: Vec<Option<f64>> = bad.numeric("A1").unwrap().to_vec();
    a1[1] = Some(9.0);
    bad = bad.filter(|_| true);
    let mut cols = Data::new();
    for n in bad.names() {
        let v = if n == "A1" {
            a1.clone()
        } else {
            bad.numeric(n).unwrap().to_vec()
        };
        cols.add_column(n, securebase::Column::Numeric(v.into()))
            .unwrap();
    }
    match score(&cols, &key, InvalidResponses::Error) {
        Err(Error::InvalidValue { column, row, .. }) => {
            assert_eq!((column.as_str(), row), ("A1", 2))
        }
        other => panic!("{other:?}"),
    }
    let s = score(&cols, &key, InvalidResponses::SetMissing).unwrap();
    assert_eq!(s.invalid.len(), 1);
    assert_eq!(s.subscale("agree").unwrap().answered[1], 4);
    // a key naming columns the data lack: every one listed
    let partial = cols.select_rows(&[0]).unwrap();
    let mut only = Data::new();
    for n in ["A1", "A2"] {
        only.add_column(
            n,
            securebase::Column::Numeric(partial.numeric(n).unwrap().clone()),
        )
        .unwrap();
    }
    match score(&only, &key, InvalidResponses::Error) {
        Err(Error::MissingColumns { missing, .. }) => assert_eq!(missing.len(), 23),
        other => panic!("{other:?}"),
    }
    // a key with an item in two subscales, an unknown item, min >= max, a reverse item outside
    for (bad_key, needle) in [
        (
            r#""subscales":[{"name":"x","items":["a","b"],"aggregation":"mean","min_answered":{"count":1}},{"name":"y","items":["b"],"aggregation":"mean","min_answered":{"count":1}}]"#,
            "in subscales",
        ),
        (
            r#""subscales":[{"name":"x","items":["a","b","zz"],"aggregation":"mean","min_answered":{"count":1}}]"#,
            "not among",
        ),
        (
            r#""subscales":[{"name":"x","items":["a","b"],"reverse":["q"],"aggregation":"mean","min_answered":{"count":1}}]"#,
            "reverse-keyed",
        ),
        (
            r#""subscales":[{"name":"x","items":["a","b"],"aggregation":"mean","min_answered":{"count":3}}]"#,
            "min_answered",
        ),
    ] {
        let text = format!(
            r#"{{"format":"securebase-key/1","name":"k","source":"s","licence":"l","response_min":1,"response_max":5,"items":["a","b"],{bad_key}}}"#
        );
        match ScaleKey::from_json(&text) {
            Err(Error::Argument { message, .. }) => assert!(message.contains(needle), "{message}"),
            other => panic!("{other:?}"),
        }
    }
    let inverted = r#"{"format":"securebase-key/1","name":"k","source":"s","licence":"l","response_min":5,"response_max":5,"items":["a"],"subscales":[{"name":"x","items":["a"],"aggregation":"mean","min_answered":{"count":1}}]}"#;
    assert!(ScaleKey::from_json(inverted).is_err());
    // a respondent with every item missing: a missing score with 0 answered, not an error
    let empty = Data::new()
        .with_numeric_opt("a", vec![None, Some(2.0)])
        .unwrap()
        .with_numeric_opt("b", vec![None, Some(3.0)])
        .unwrap();
    let k2 = ScaleKey::from_json(r#"{"format":"securebase-key/1","name":"k","source":"s","licence":"l","response_min":1,"response_max":5,"items":["a","b"],"subscales":[{"name":"x","items":["a","b"],"aggregation":"sum","min_answered":{"proportion":0.5}}]}"#).unwrap();
    let s = score(&empty, &k2, InvalidResponses::Error).unwrap();
    assert_eq!(s.subscales[0].scores, [None, Some(5.0)]);
    assert_eq!(s.subscales[0].answered, [0, 2]);
}

#[test]
fn builtin_bfi_key_equals_psych_keys() {
    // The shipped key must score exactly as the psych-derived key of this test file.
    let data = Data::from_csv_path(fixture("bfi.csv")).unwrap();
    let shipped = securebase::scoring::builtin("ipip-bfi-25").unwrap();
    let a = score(&data, &shipped, InvalidResponses::Error).unwrap();
    let b = score(&data, &bfi_key(), InvalidResponses::Error).unwrap();
    assert_eq!(a.subscales, b.subscales);
}

#[test]
fn builtin_keys_score_as_their_sources_state() {
    // tests/reference/builtin_keys.R writes each instrument's rule out from its source (not
    // from the JSON keys) and scores simulated responses with missing items.
    let want = load_json("builtin/scores.json");
    let names = securebase::scoring::builtin_names();
    for (name, subscales) in want.as_object().unwrap() {
        assert!(names.contains(&name.as_str()), "{name} is not built in");
        let data = Data::from_csv_path(fixture(&format!("builtin/{name}.csv"))).unwrap();
        let key = securebase::scoring::builtin(name).unwrap();
        assert!(
            !key.verification.is_empty(),
            "{name} says how it was verified"
        );
        let got = score(&data, &key, InvalidResponses::Error).unwrap();
        assert_eq!(got.subscales.len(), subscales.as_array().unwrap().len());
        for w in subscales.as_array().unwrap() {
            let sub = w["name"].as_str().unwrap();
            let g = got
                .subscale(sub)
                .unwrap_or_else(|| panic!("{name}: no {sub}"));
            let answered: Vec<usize> = w["answered"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(g.answered, answered, "{name} {sub} answered");
            let scores = w["scores"].as_array().unwrap();
            assert_eq!(g.scores.len(), scores.len());
            for (i, (a, b)) in g.scores.iter().zip(scores).enumerate() {
                match (a, b.as_f64()) {
                    (Some(a), Some(b)) => close(&format!("{name} {sub} row {i}"), *a, b, 1e-12),
                    (None, None) => {}
                    _ => panic!("{name} {sub} row {i}: {a:?} vs {b}"),
                }
            }
        }
    }
    // every built-in key is covered by a reference
    for n in names {
        assert!(
            n == "ipip-bfi-25" || want.get(n).is_some(),
            "{n} has no reference"
        );
    }
}

#[test]
fn improper_one_factor_solution_gives_no_omega() {
    // psych finds an ultra-Heywood case on these barely correlated items and prints ω > 1;
    // securebase names the item and its communality and reports no ω
    // (tests/reference/builtin_keys.R → builtin/heywood.json).
    let want = load_json("builtin/heywood.json");
    let data = Data::from_csv_path(fixture("builtin/wai-sr.csv")).unwrap();
    let key = securebase::scoring::builtin("wai-sr").unwrap();
    let rel = reliability(&data, &key, MissingItems::CompleteCases).unwrap();
    let task = rel.iter().find(|r| r.subscale == "task").unwrap();
    assert_eq!(task.n_complete as u64, want["n_complete"].as_u64().unwrap());
    assert!(want["omega_psych"].as_f64().unwrap() > 1.0);
    assert_eq!(task.omega_total, None);
    let h = f64s(&want["communality"]);
    let (i, worst) = h
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap();
    let note = task.omega_note.as_deref().unwrap();
    let item = strs(&want["items"])[i].clone();
    assert!(note.contains(&format!("'{item}' is {worst:.3}")), "{note}");
    assert!(task.to_string().contains("ultra-Heywood"));
    // the bfi subscales are proper: ω is reported and there is no note
    let bfi = Data::from_csv_path(fixture("bfi.csv")).unwrap();
    for r in reliability(&bfi, &bfi_key(), MissingItems::CompleteCases).unwrap() {
        assert!(r.omega_total.is_some() && r.omega_note.is_none());
    }
}

#[test]
fn one_key_per_relationship_target() {
    // ECR-RS is scored once per target; with_columns maps the key to each target's columns.
    let key = securebase::scoring::builtin("ecr-rs").unwrap();
    let mut data = Data::new();
    let mother = [7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 2.0, 6.0];
    let friend = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 7.0, 7.0, 7.0];
    for (i, (m, f)) in mother.iter().zip(&friend).enumerate() {
        data = data
            .with_numeric(&format!("m{}", i + 1), vec![*m])
            .unwrap()
            .with_numeric(&format!("f{}", i + 1), vec![*f])
            .unwrap();
    }
    let m = score(
        &data,
        &key.with_columns(&["m{}"]).unwrap(),
        InvalidResponses::Error,
    )
    .unwrap();
    let f = score(
        &data,
        &key.with_columns(&["f{}"]).unwrap(),
        InvalidResponses::Error,
    )
    .unwrap();
    // avoidance: items 1-4 reversed (8 - x): 1, 2, 3, 4, then 3, 2 -> 15 / 6
    close(
        "mother avoidance",
        m.subscale("avoidance").unwrap().scores[0].unwrap(),
        15.0 / 6.0,
        1e-15,
    );
    close(
        "mother anxiety",
        m.subscale("anxiety").unwrap().scores[0].unwrap(),
        3.0,
        1e-15,
    );
    // friend: items 1-4 reversed to 7, items 5-6 stay 1 -> 30 / 6
    close(
        "friend avoidance",
        f.subscale("avoidance").unwrap().scores[0].unwrap(),
        5.0,
        1e-15,
    );
    close(
        "friend anxiety",
        f.subscale("anxiety").unwrap().scores[0].unwrap(),
        7.0,
        1e-15,
    );
    // wrong number of columns, or a column named twice, is an error
    assert!(key.with_columns(&["a", "b"]).is_err());
    let twice: Vec<String> = (0..9).map(|i| format!("x{}", i.min(7))).collect();
    assert!(key.with_columns(&twice).is_err());
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use securebase::scoring::reverse;

    proptest! {
        #[test]
        fn reverse_keying_twice_is_identity(min in -3i64..3, span in 1i64..10, x in 0i64..10) {
            let max = min + span;
            let v = (min + x % (span + 1)) as f64;
            prop_assert_eq!(reverse(reverse(v, min, max), min, max), v);
        }

        #[test]
        fn scores_do_not_depend_on_column_order(seed in 0u64..1000) {
            static DATA: std::sync::OnceLock<Data> = std::sync::OnceLock::new();
            let data = DATA.get_or_init(|| Data::from_csv_path(fixture("bfi.csv")).unwrap().select_rows(&(0..60).collect::<Vec<_>>()).unwrap());
            let mut names: Vec<String> = data.names().to_vec();
            let mut s = seed;
            for i in (1..names.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                names.swap(i, (s >> 33) as usize % (i + 1));
            }
            let mut shuffled = Data::new();
            for n in &names {
                shuffled.add_column(n, data.column(n).unwrap().clone()).unwrap();
            }
            let key = securebase::scoring::builtin("ipip-bfi-25").unwrap();
            let a = score(data, &key, InvalidResponses::Error).unwrap();
            let b = score(&shuffled, &key, InvalidResponses::Error).unwrap();
            prop_assert_eq!(a.subscales, b.subscales);
        }
    }
}
