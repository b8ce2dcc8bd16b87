//! Mutation fuzzing of every public result type read back from JSON: a real result is
//! serialized, its JSON mutated (array elements dropped or repeated, arrays emptied or nested
//! empty, numbers replaced by null, zero, negative, huge or fractional values, strings emptied,
//! fields removed), and read back. Reading must answer — a value or an error — and a value that
//! is read must print (Display and Debug) and answer its accessors without panicking: a fit read
//! back is validated as a fit is.
//!
//! Cases per type: `SECUREBASE_FUZZ_CASES` (default 300); `.ci/run` runs more.
#![cfg(all(feature = "serde", feature = "csv"))]

mod common;
use common::fixture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::panic::{AssertUnwindSafe, catch_unwind};

fn cases() -> usize {
    std::env::var("SECUREBASE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// xorshift64*, seeded per type.
struct Rand(u64);
impl Rand {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as usize % n.max(1)
    }
}

/// Every node of the tree, as a path of keys and indices.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn paths(v: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(at.clone());
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate().take(40) {
                at.push(Step::Index(i));
                paths(x, at, out);
                at.pop();
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                at.push(Step::Key(k.clone()));
                paths(x, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn node<'a>(v: &'a mut Value, path: &[Step]) -> &'a mut Value {
    let mut cur = v;
    for s in path {
        cur = match s {
            Step::Key(k) => &mut cur[k.as_str()],
            Step::Index(i) => &mut cur[*i],
        };
    }
    cur
}

fn mutate(v: &mut Value, r: &mut Rand) {
    let mut all = Vec::new();
    paths(v, &mut Vec::new(), &mut all);
    let path = all[r.below(all.len())].clone();
    let parent_path = &path[..path.len().saturating_sub(1)];
    let choice = r.below(14);
    if choice == 13 && !path.is_empty() {
        // remove the field or element itself
        let last = path.last().cloned();
        match (node(v, parent_path), last) {
            (Value::Object(m), Some(Step::Key(k))) => {
                m.remove(&k);
            }
            (Value::Array(a), Some(Step::Index(i))) if i < a.len() => {
                a.remove(i);
            }
            _ => {}
        }
        return;
    }
    let n = node(v, &path);
    match (choice, &mut *n) {
        (0, Value::Array(a)) => {
            a.pop();
        }
        (1, Value::Array(a)) => {
            if let Some(x) = a.last().cloned() {
                a.push(x);
            }
        }
        (2, _) => *n = Value::Array(vec![]),
        (3, _) => *n = serde_json::json!([[]]),
        (4, _) => *n = Value::Null,
        (5, _) => *n = serde_json::json!(0),
        (6, _) => *n = serde_json::json!(-1),
        (7, _) => *n = serde_json::json!(1e308),
        (8, _) => *n = serde_json::json!(0.5),
        (9, _) => *n = serde_json::json!(u64::MAX),
        (10, _) => *n = serde_json::json!(""),
        (11, _) => *n = serde_json::json!(true),
        (12, Value::Array(a)) => {
            let len = a.len();
            a.truncate(len / 2);
        }
        _ => *n = serde_json::json!({}),
    }
}

/// Mutate `value`'s JSON `cases()` times; each that reads back must show without panicking.
fn fuzz<T, F>(name: &str, value: &T, show: F)
where
    T: Serialize + DeserializeOwned,
    F: Fn(&T),
{
    fuzz_n(name, value, cases(), show)
}

/// [`fuzz`] with `n` cases (a study report refits its models when read: a tenth of the cases).
fn fuzz_n<T, F>(name: &str, value: &T, n: usize, show: F)
where
    T: Serialize + DeserializeOwned,
    F: Fn(&T),
{
    let base = serde_json::to_value(value).unwrap();
    // The unmutated JSON reads back and shows.
    let back: T = serde_json::from_value(base.clone())
        .unwrap_or_else(|e| panic!("{name}: its own JSON does not read back: {e}"));
    show(&back);
    let mut r = Rand(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64 ^ (name.as_bytes()[0] as u64) << 32);
    let mut read = 0;
    for case in 0..n {
        let mut v = base.clone();
        for _ in 0..1 + r.below(3) {
            mutate(&mut v, &mut r);
        }
        let text = v.to_string();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            if let Ok(t) = serde_json::from_str::<T>(&text) {
                show(&t);
                true
            } else {
                false
            }
        }));
        match outcome {
            Ok(true) => read += 1,
            Ok(false) => {}
            Err(_) => panic!(
                "{name}, case {case}: a mutated result read back and then panicked; its JSON:\n{}",
                &text[..text.len().min(4000)]
            ),
        }
    }
    // Some mutations (a number changed) leave a valid result: the harness reached `show`.
    assert!(read > 0, "{name}: no mutated case read back");
}

fn show_display<T: std::fmt::Display + std::fmt::Debug>(t: &T) {
    let _ = format!("{t}");
    let _ = format!("{t:?}");
}

#[test]
fn mutated_model_fits_never_panic() {
    use securebase::glm::{Family, Glm, GlmFit, GlmmFit};
    use securebase::{Criterion, Data, LmmFit, LmmSpec, Ols, OlsFit};
    let sleep = Data::from_csv_path(fixture("sleepstudy.csv")).unwrap();
    let ols = Ols::fit(&sleep, "Reaction ~ Days + Subject").unwrap();
    fuzz::<OlsFit, _>("OlsFit", &ols, |f| {
        show_display(f);
        let _ = f.coefficients_at(0.9);
        let _ = f.r_squared();
    });
    let lmm = LmmSpec::new(&sleep, "Reaction ~ Days + (Days | Subject)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    fuzz::<LmmFit, _>("LmmFit", &lmm, |f| {
        show_display(f);
        let _ = f.residuals();
        let _ = f.contrast(&[1.0, 1.0]);
        let _ = f.vcov_varpar();
    });
    let zt = Data::from_csv_path(fixture("glm/zero_trials.csv")).unwrap();
    let glm = Glm::fit(&zt, "cbind(s, f) ~ x", Family::binomial()).unwrap();
    fuzz::<GlmFit, _>("GlmFit", &glm, |f| {
        show_display(f);
        let _ = f.nobs();
    });
    let cbpp = Data::from_csv_path(fixture("glmm/cbpp.csv")).unwrap();
    let glmm = Glm::fit_mixed(
        &cbpp,
        "cbind(incidence, rest) ~ period + (1 | herd)",
        Family::binomial(),
        1,
    )
    .unwrap();
    fuzz::<GlmmFit, _>("GlmmFit", &glmm, show_display);
}

#[test]
fn mutated_probes_mediations_and_scores_never_panic() {
    use securebase::mediation::{
        Bootstrap, BootstrapOptions, Mediation, MediationFit, MonteCarlo, MultilevelFit,
        MultilevelMediation,
    };
    use securebase::probe::{DfMethod, Probe, ProbeSpec};
    use securebase::{Criterion, Data, LmmSpec};
    let three = Data::from_csv_path(fixture("threelevel.csv")).unwrap();
    let fit = LmmSpec::new(&three, "symptoms ~ session * alliance + (1 | client)")
        .unwrap()
        .fit(Criterion::Reml)
        .unwrap();
    let probe = ProbeSpec::new("session", "alliance")
        .df(DfMethod::Model)
        .run(&fit)
        .unwrap();
    fuzz::<Probe, _>("Probe", &probe, show_display);
    let mt = Data::from_csv_path(fixture("mtcars.csv")).unwrap();
    let med = Mediation::new("wt", &["hp"], "mpg");
    let mf = med.fit(&mt).unwrap();
    fuzz::<MediationFit, _>("MediationFit", &mf, show_display);
    let boot = med.bootstrap(&mt, &BootstrapOptions::new(30, 1)).unwrap();
    fuzz::<Bootstrap, _>("Bootstrap", &boot, |b| {
        show_display(b);
        for e in &mf.effects {
            let _ = b.effect(e.name.as_str());
        }
    });
    let mc = med.monte_carlo(&mt, 200, 1, 0.95).unwrap();
    fuzz::<MonteCarlo, _>("MonteCarlo", &mc, show_display);
    let sessions = Data::from_csv_path(fixture("mlmed/sessions.csv")).unwrap();
    let ml = MultilevelMediation::new("anx", &["secure"], "engage", "client")
        .fit(&sessions)
        .unwrap();
    fuzz::<MultilevelFit, _>("MultilevelFit", &ml, show_display);
}

#[test]
fn mutated_scores_reliability_power_and_data_never_panic() {
    use securebase::Data;
    use securebase::scoring::{
        InvalidResponses, MissingItems, Reliability, ScaleScores, reliability, score,
    };
    use securebase::simulate::power::{PowerDesign, PowerResult, power};
    let bfi = Data::from_csv_path(fixture("bfi.csv")).unwrap();
    let key = securebase::scoring::ScaleKey::new("bfi-a", 1, 6)
        .cited("test", "synthetic test key")
        .with_subscale(securebase::scoring::Subscale::mean(
            "A",
            &["A2", "A3", "A4", "A5"],
        ));
    let rel = reliability(&bfi, &key, MissingItems::CompleteCases).unwrap();
    fuzz::<Reliability, _>("Reliability", &rel[0], show_display);
    let scores = score(&bfi, &key, InvalidResponses::SetMissing).unwrap();
    fuzz::<ScaleScores, _>("Scores", &scores, |s| {
        let _ = format!("{s:?}");
        let _ = s.subscale("A");
    });
    let mut design = PowerDesign::study_like();
    design.multilevel = false;
    let pw = power(&design, 20, 1).unwrap();
    fuzz::<PowerResult, _>("PowerResult", &pw, |p| {
        let _ = format!("{p:?}");
    });
    let d = Data::from_csv_path(fixture("sleepstudy.csv")).unwrap();
    fuzz::<Data, _>("Data", &d, |d| {
        let _ = format!("{d:?}");
        for n in d.names() {
            let _ = d.column(n);
        }
    });
}

#[test]
fn mutated_study_reports_never_panic() {
    use securebase::Data;
    use securebase::simulate::sessions::SessionParams;
    use securebase::study::{Plan, StudyOptions, StudyReport, run};
    let data = Data::from_csv_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/study_sessions.csv"
    ))
    .unwrap();
    let mut plan = Plan::reference();
    plan.bootstrap = 20;
    plan.draws = 200;
    let report = run(
        &data,
        &plan,
        &StudyOptions::simulated(SessionParams::default().seed),
    )
    .unwrap();
    fuzz_n::<StudyReport, _>("StudyReport", &report, (cases() / 10).max(30), |r| {
        let _ = r.to_markdown();
        let _ = r.plots();
    });
}
