//! Data operations against R/dplyr/tidyr (tests/reference/data_ops.R → tests/fixtures/data_ops/).
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::{close, fixture, load_json};
use securebase::data::{Agg, Longer, SortKey, Wider};
use securebase::{Column, Data, Error, NumericColumn};
use serde_json::Value;

fn sessions() -> Data {
    Data::from_csv_path(fixture("data_ops/sessions.csv")).unwrap()
}

fn clients() -> Data {
    Data::from_csv_path(fixture("data_ops/clients.csv")).unwrap()
}

fn reference() -> Value {
    load_json("data_ops/reference.json")
}

/// R's numbers with nulls (NA) as None.
fn opt_f64s(v: &Value) -> Vec<Option<f64>> {
    v.as_array().unwrap().iter().map(Value::as_f64).collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

#[track_caller]
fn same_numbers(what: &str, got: &NumericColumn, want: &[Option<f64>]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        match (g, w) {
            (Some(g), Some(w)) => close(&format!("{what}[{i}]"), g, *w, 1e-12),
            (None, None) => {}
            _ => panic!("{what}[{i}]: got {g:?}, R says {w:?}"),
        }
    }
}

fn labels(c: &Column) -> Vec<Option<String>> {
    (0..c.len())
        .map(|i| (!c.is_missing(i)).then(|| c.value_text(i)))
        .collect()
}

fn opt_strs(v: &Value) -> Vec<Option<String>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().map(str::to_string))
        .collect()
}

#[test]
fn sort_matches_r_order() {
    let r = reference();
    let s = sessions();
    let sorted = s
        .sort_by_keys(&[SortKey::asc("therapist"), SortKey::desc("engagement")])
        .unwrap();
    assert_eq!(
        sorted.row_ids(),
        usizes(&r["sort"]["by_therapist_engagement_desc"]).as_slice()
    );
    let sorted = s
        .sort_by_keys(&[
            SortKey::asc("phase"),
            "session".into(),
            SortKey::desc("client"),
        ])
        .unwrap();
    assert_eq!(
        sorted.row_ids(),
        usizes(&r["sort"]["by_phase_session_client_desc"]).as_slice()
    );
    assert!(matches!(
        s.sort_by(&["nope"]).unwrap_err(),
        Error::UnknownColumn { .. }
    ));
}

#[test]
fn aggregate_matches_dplyr() {
    let r = &reference()["aggregate"];
    let ss = sessions().sort_by(&["client", "session"]).unwrap();
    let agg = ss
        .aggregate(
            &["client"],
            &[
                Agg::rows(),
                Agg::mean("secure"),
                Agg::sd("secure"),
                Agg::min("secure"),
                Agg::max("secure"),
                Agg::count("secure"),
                Agg::first("engagement"),
                Agg::last("engagement"),
                Agg::slope("engagement", "session"),
                Agg::last("phase"),
            ],
        )
        .unwrap();
    let d = &agg.data;
    same_numbers(
        "client",
        d.numeric("client").unwrap(),
        &opt_f64s(&r["client"]),
    );
    for name in [
        "n",
        "secure_mean",
        "secure_sd",
        "secure_min",
        "secure_max",
        "secure_n",
        "engagement_first",
        "engagement_last",
        "engagement_slope",
    ] {
        same_numbers(name, d.numeric(name).unwrap(), &opt_f64s(&r[name]));
    }
    assert_eq!(
        labels(d.column("phase_last").unwrap()),
        opt_strs(&r["phase_last"])
    );
    let skipped = |n: &str| agg.skipped.iter().find(|(k, _)| k == n).unwrap().1;
    assert_eq!(
        skipped("secure_mean"),
        r["skipped"]["secure"].as_u64().unwrap() as usize
    );
    assert_eq!(
        skipped("engagement_first"),
        r["skipped"]["engagement"].as_u64().unwrap() as usize
    );
    assert_eq!(skipped("n"), 0);
    // Each group's row keeps the origin of its first row.
    let first = ss.row_ids()[0];
    assert_eq!(d.row_ids()[0], first);

    // Two keys, with missing phase as a group of its own (last), as dplyr groups.
    let r2 = &reference()["aggregate2"];
    let agg2 = ss
        .aggregate(&["therapist", "phase"], &[Agg::rows(), Agg::mean("secure")])
        .unwrap();
    assert_eq!(
        labels(agg2.data.column("therapist").unwrap()),
        opt_strs(&r2["therapist"])
    );
    assert_eq!(
        labels(agg2.data.column("phase").unwrap()),
        opt_strs(&r2["phase"])
    );
    same_numbers("n", agg2.data.numeric("n").unwrap(), &opt_f64s(&r2["n"]));
    same_numbers(
        "secure_mean",
        agg2.data.numeric("secure_mean").unwrap(),
        &opt_f64s(&r2["secure_mean"]),
    );
}

#[test]
fn aggregate_errors() {
    let s = sessions();
    let e = s.aggregate(&["client"], &[Agg::mean("phase")]).unwrap_err();
    assert!(
        matches!(e, Error::ColumnType { ref name, .. } if name == "phase"),
        "{e}"
    );
    let e = s
        .aggregate(&["client"], &[Agg::mean("secure"), Agg::mean("secure")])
        .unwrap_err();
    assert!(matches!(e, Error::DuplicateColumn { .. }), "{e}");
    let e = s.aggregate(&["nope"], &[Agg::rows()]).unwrap_err();
    assert!(matches!(e, Error::UnknownColumn { .. }), "{e}");
    // No keys: one group.
    let all = s.summarize(&[Agg::rows()]).unwrap();
    assert_eq!(all.data.numeric("n").unwrap(), [Some(s.nrows() as f64)]);
}

#[test]
fn joins_match_dplyr() {
    let r = &reference()["join"];
    let (s, c) = (sessions(), clients());
    let lj = s.left_join(&c, &["client"]).unwrap();
    assert_eq!(lj.data.row_ids(), usizes(&r["left_rows"]).as_slice());
    same_numbers(
        "left ecr",
        lj.data.numeric("ecr_anx").unwrap(),
        &opt_f64s(&r["left_ecr"]),
    );
    same_numbers(
        "left iip_post",
        lj.data.numeric("iip_post").unwrap(),
        &opt_f64s(&r["left_iip_post"]),
    );
    assert_eq!(
        lj.unmatched_left,
        r["left_unmatched"].as_u64().unwrap() as usize
    );
    assert_eq!(
        lj.unmatched_right,
        r["right_unmatched"].as_u64().unwrap() as usize
    );
    assert!(lj.dropped_rows.is_empty());

    let ij = s.inner_join(&c, &["client"]).unwrap();
    assert_eq!(ij.data.row_ids(), usizes(&r["inner_rows"]).as_slice());
    same_numbers(
        "inner ecr",
        ij.data.numeric("ecr_anx").unwrap(),
        &opt_f64s(&r["inner_ecr"]),
    );
    assert_eq!(
        ij.dropped_rows.len(),
        r["left_unmatched"].as_u64().unwrap() as usize
    );
    // dplyr's names, minus R's helper column `row`.
    let want: Vec<String> = common::strs(&r["inner_names"])
        .into_iter()
        .filter(|n| n != "row")
        .collect();
    assert_eq!(ij.data.names(), want.as_slice());
}

#[test]
fn join_errors_name_the_key() {
    let s = sessions();
    // Duplicate keys on the "one" side.
    let dup = Data::new()
        .with_numeric("client", vec![101.0, 102.0, 101.0])
        .unwrap()
        .with_numeric("x", vec![1.0, 2.0, 3.0])
        .unwrap();
    let e = s.left_join(&dup, &["client"]).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("client = 101") && msg.contains("rows 1 and 3"),
        "{msg}"
    );
    // A key numeric on one side and categorical on the other.
    let cat = Data::new()
        .with_categorical("client", vec!["101"])
        .unwrap()
        .with_numeric("x", vec![1.0])
        .unwrap();
    let e = s.left_join(&cat, &["client"]).unwrap_err();
    assert!(matches!(e, Error::ColumnType { .. }), "{e}");
    let e = s.left_join(&cat, &["nope"]).unwrap_err();
    assert!(matches!(e, Error::UnknownColumn { .. }), "{e}");
    // Two keys: matched on both.
    let key2 = Data::new()
        .with_numeric("client", vec![101.0, 101.0])
        .unwrap()
        .with_categorical("therapist", vec!["x", "y"])
        .unwrap()
        .with_numeric("z", vec![1.0, 2.0])
        .unwrap();
    let j = s.left_join(&key2, &["client", "therapist"]).unwrap();
    assert_eq!(j.unmatched_right, 2); // client 101's therapist is neither x nor y
}

#[test]
fn lags_follow_session_numbers() {
    let r = &reference()["lag"];
    let ss = sessions().sort_by(&["client", "session"]).unwrap();
    assert_eq!(ss.row_ids(), usizes(&r["sorted_rows"]).as_slice());
    let lag = |col: &str, k| ss.lag(col, &["client"], "session", k).unwrap();
    let num = |c: Column| match c {
        Column::Numeric(v) => v,
        _ => panic!("numeric"),
    };
    same_numbers("lag1", &num(lag("secure", 1)), &opt_f64s(&r["lag1"]));
    same_numbers("lag2", &num(lag("secure", 2)), &opt_f64s(&r["lag2"]));
    let lead = ss.lead("engagement", &["client"], "session", 1).unwrap();
    same_numbers("lead1", &num(lead), &opt_f64s(&r["lead1"]));
    assert_eq!(labels(&lag("phase", 1)), opt_strs(&r["lag_phase"]));
}

#[test]
fn lag_errors() {
    let s = sessions();
    // The file is not sorted.
    let e = s.lag("secure", &["client"], "session", 1).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("not in session order") && msg.contains("sort"),
        "{msg}"
    );
    // A session twice.
    let d = Data::new()
        .with_numeric("client", vec![1.0, 1.0, 1.0])
        .unwrap()
        .with_numeric("session", vec![1.0, 2.0, 2.0])
        .unwrap()
        .with_numeric("y", vec![1.0, 2.0, 3.0])
        .unwrap();
    let msg = d
        .lag("y", &["client"], "session", 1)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("session 2 appears twice for client = 1 (rows 2 and 3)"),
        "{msg}"
    );
    let e = d.lag("y", &["client"], "session", 0).unwrap_err();
    assert!(matches!(e, Error::Argument { .. }));
    let e = s.lag("secure", &["client"], "phase", 1).unwrap_err();
    assert!(matches!(e, Error::ColumnType { .. }), "{e}");
}

#[test]
fn wide_and_long_match_tidyr() {
    let r = reference();
    let ss = sessions().sort_by(&["client", "session"]).unwrap();
    // long -> wide
    let wide = ss
        .pivot_wider(
            &Wider::new(&["client"], "session", &["secure", "engagement"]).names("{value}_s{}"),
        )
        .unwrap();
    let want = common::strs(&r["wide"]["names"]);
    assert_eq!(wide.names(), want.as_slice());
    // tidyr orders ids by first appearance; R's file is in client order like ours.
    let rw = Data::from_csv_path(fixture("data_ops/wide.csv")).unwrap();
    for n in rw.names() {
        same_numbers(
            n,
            wide.numeric(n).unwrap(),
            &rw.numeric(n).unwrap().to_vec(),
        );
    }
    // wide -> long
    let long = rw
        .pivot_longer(
            &Longer::new("session")
                .stem("secure", "secure_s{}")
                .stem("engagement", "engagement_s{}"),
        )
        .unwrap();
    assert_eq!(long.names(), ["client", "session", "secure", "engagement"]);
    let l = &r["long"];
    for n in ["client", "session", "secure", "engagement"] {
        same_numbers(n, long.numeric(n).unwrap(), &opt_f64s(&l[n]));
    }
    assert_eq!(long.row_ids()[..14], [1; 14]);
}

#[test]
fn reshape_errors() {
    let ss = sessions().sort_by(&["client", "session"]).unwrap();
    // An id with a session twice.
    let twice = ss.select_rows(&[0, 0]).unwrap();
    let e = twice
        .pivot_wider(&Wider::new(&["client"], "session", &["secure"]))
        .unwrap_err();
    assert!(e.to_string().contains("twice"), "{e}");
    let e = ss
        .pivot_longer(&Longer::new("t").stem("x", "nothing_{}"))
        .unwrap_err();
    assert!(e.to_string().contains("no column matches"), "{e}");
    let e = ss
        .pivot_longer(&Longer::new("t").stem("x", "secure"))
        .unwrap_err();
    assert!(e.to_string().contains("exactly once"), "{e}");
}

#[test]
fn numeric_to_categorical_and_back_as_r() {
    let r = &reference()["factor"];
    let mut s = sessions();
    s.to_categorical("session").unwrap();
    let f = s.factor("session").unwrap();
    assert_eq!(f.levels(), common::strs(&r["levels"]).as_slice());
    let codes: Vec<usize> = f.codes().iter().map(|c| c.unwrap() as usize + 1).collect();
    assert_eq!(codes, usizes(&r["codes"]));
    s.to_numeric("session").unwrap();
    same_numbers("back", s.numeric("session").unwrap(), &opt_f64s(&r["back"]));
    let e = s.to_numeric("phase").unwrap_err();
    assert!(matches!(e, Error::InvalidValue { .. }), "{e}");
}

#[test]
fn column_edits() {
    let mut s = sessions();
    s.rename("secure", "cats_secure").unwrap();
    assert!(s.has_column("cats_secure") && !s.has_column("secure"));
    assert!(matches!(
        s.rename("client", "session"),
        Err(Error::DuplicateColumn { .. })
    ));
    assert!(matches!(
        s.rename("nope", "x"),
        Err(Error::UnknownColumn { .. })
    ));
    s.drop_columns(&["phase", "therapist"]).unwrap();
    assert_eq!(
        s.names(),
        ["client", "session", "cats_secure", "engagement"]
    );
    assert!(s.drop_columns(&["nope"]).is_err());
    let n = s.nrows();
    s.replace_column("engagement", Column::Numeric(vec![Some(1.0); n].into()))
        .unwrap();
    assert_eq!(s.numeric("engagement").unwrap().get(0), Some(1.0));
    assert!(matches!(
        s.replace_column("engagement", Column::Numeric(vec![Some(1.0)].into())),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        s.replace_column(
            "engagement",
            Column::Numeric(vec![Some(f64::NAN); n].into())
        ),
        Err(Error::InvalidValue { .. })
    ));
}
