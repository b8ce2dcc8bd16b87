use securebase::{Criterion, Data, LmmSpec};
fn main() {
    let d = Data::from_csv_path("tests/fixtures/sleepstudy.csv").unwrap();
    for _ in 0..200 {
        let _ = LmmSpec::new(&d, "Reaction ~ Days + (Days | Subject)")
            .unwrap()
            .fit(Criterion::Reml)
            .unwrap();
    }
}
