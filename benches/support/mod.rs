//! Deterministic data for the benchmarks (xorshift + Box–Muller; no dependence on rand's
//! version so bench data never change).
#![allow(dead_code)]

use securebase::{Column, Data, Factor};

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1)
    }
    pub fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    pub fn below(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n - 1)
    }
}

fn factor(name: &str, codes: &[usize], nlevels: usize) -> (String, Column) {
    let levels: Vec<String> = (0..nlevels).map(|l| format!("{name}{l:05}")).collect();
    let f = Factor::from_codes(codes.iter().map(|&c| Some(c as u32)).collect(), levels).unwrap();
    (name.to_string(), Column::Categorical(f))
}

/// `n` rows in `groups` groups (sizes vary), 4 covariates x1..x4, a random intercept (sd 1) and a
/// random slope of x1 (sd 0.5), residual sd 1.
pub fn grouped(n: usize, groups: usize, seed: u64) -> Data {
    let mut r = Rng::new(seed);
    let g: Vec<usize> = (0..n)
        .map(|i| if i < groups { i } else { r.below(groups) })
        .collect();
    let u0: Vec<f64> = (0..groups).map(|_| r.normal()).collect();
    let u1: Vec<f64> = (0..groups).map(|_| 0.5 * r.normal()).collect();
    let xs: Vec<Vec<f64>> = (0..4)
        .map(|_| (0..n).map(|_| r.normal()).collect())
        .collect();
    let y: Vec<f64> = (0..n)
        .map(|i| {
            1.0 + (0.5 + u1[g[i]]) * xs[0][i] - 0.3 * xs[1][i]
                + 0.2 * xs[2][i]
                + 0.1 * xs[3][i]
                + u0[g[i]]
                + r.normal()
        })
        .collect();
    let mut d = Data::new().with_numeric("y", y).unwrap();
    for (k, x) in xs.into_iter().enumerate() {
        d = d.with_numeric(&format!("x{}", k + 1), x).unwrap();
    }
    let (name, col) = factor("g", &g, groups);
    d.with_column(&name, col).unwrap()
}

/// Shaped like lme4's InstEval: 73,421 ratings of 1,128 lecturers (d) by 2,972 students (s),
/// lecturers in 14 departments, a binary `service` factor.
pub fn insteval_like(seed: u64) -> Data {
    let (n, ns, nd, ndept) = (73_421, 2_972, 1_128, 14);
    let mut r = Rng::new(seed);
    let dept_of: Vec<usize> = (0..nd).map(|d| d % ndept).collect();
    let us: Vec<f64> = (0..ns).map(|_| 0.33 * r.normal()).collect();
    let ud: Vec<f64> = (0..nd).map(|_| 0.52 * r.normal()).collect();
    let udept: Vec<f64> = (0..ndept).map(|_| 0.08 * r.normal()).collect();
    let mut s = Vec::with_capacity(n);
    let mut d = Vec::with_capacity(n);
    for i in 0..n {
        s.push(if i < ns { i } else { r.below(ns) });
        d.push(if i < nd { i } else { r.below(nd) });
    }
    let service: Vec<&str> = (0..n)
        .map(|_| if r.uniform() < 0.43 { "1" } else { "0" })
        .collect();
    let y: Vec<f64> = (0..n)
        .map(|i| {
            let v = 3.2 - 0.07 * (service[i] == "1") as i32 as f64
                + us[s[i]]
                + ud[d[i]]
                + udept[dept_of[d[i]]]
                + 1.18 * r.normal();
            v.round().clamp(1.0, 5.0)
        })
        .collect();
    let dept: Vec<usize> = d.iter().map(|&x| dept_of[x]).collect();
    let mut data = Data::new()
        .with_numeric("y", y)
        .unwrap()
        .with_categorical("service", service)
        .unwrap();
    for (name, codes, nl) in [("s", &s, ns), ("d", &d, nd), ("dept", &dept, ndept)] {
        let (nm, col) = factor(name, codes, nl);
        data = data.with_column(&nm, col).unwrap();
    }
    data
}

/// The study-sized design: 330 clients of 44 therapists (unequal caseloads), 4 covariates.
pub fn study_sized(seed: u64) -> Data {
    let mut r = Rng::new(seed);
    let mut therapist = Vec::with_capacity(330);
    for t in 0..44 {
        therapist.push(t);
    }
    while therapist.len() < 330 {
        therapist.push(r.below(44));
    }
    let ut: Vec<f64> = (0..44).map(|_| 0.35 * r.normal()).collect();
    let xs: Vec<Vec<f64>> = (0..4)
        .map(|_| (0..330).map(|_| r.normal()).collect())
        .collect();
    let y: Vec<f64> = (0..330)
        .map(|i| {
            0.3 * xs[0][i] + 0.2 * xs[1][i] - 0.1 * xs[2][i]
                + 0.25 * xs[0][i] * xs[3][i]
                + ut[therapist[i]]
                + r.normal()
        })
        .collect();
    let mut d = Data::new().with_numeric("y", y).unwrap();
    for (k, name) in ["iip_pre", "engagement", "esat_anx", "ecr_anx"]
        .iter()
        .enumerate()
    {
        d = d.with_numeric(name, xs[k].clone()).unwrap();
    }
    let (nm, col) = factor("therapist", &therapist, 44);
    d.with_column(&nm, col).unwrap()
}

/// A 2-1-1 session-level study: `clients` clients × `sessions` sessions; client-level `anx`,
/// session-level `secure` (a = 0.5 on the client means) and `engage` (b within 0.2, between
/// −0.14).
pub fn sessions_sized(clients: usize, sessions: usize, seed: u64) -> Data {
    let mut r = Rng::new(seed);
    let (mut anx, mut secure, mut engage, mut client) = (vec![], vec![], vec![], vec![]);
    for j in 0..clients {
        let x = r.normal();
        let mu = 0.5 * x + 0.6 * r.normal();
        let u = 0.4 * r.normal();
        for _ in 0..sessions {
            let m = mu + 0.8 * r.normal();
            anx.push(x);
            secure.push(m);
            engage.push(0.2 * (m - mu) - 0.14 * mu + 0.1 * x + u + 0.5 * r.normal());
            client.push(format!("c{j:04}"));
        }
    }
    Data::new()
        .with_numeric("anx", anx)
        .and_then(|d| d.with_numeric("secure", secure))
        .and_then(|d| d.with_numeric("engage", engage))
        .and_then(|d| d.with_categorical("client", client))
        .unwrap()
}

/// `n` rows with two crossed factors of `na` and `nb` levels (every level used), one covariate,
/// random intercepts for both (sd 1 and 0.7), residual sd 1.
pub fn crossed(n: usize, na: usize, nb: usize, seed: u64) -> Data {
    let mut r = Rng::new(seed);
    let a: Vec<usize> = (0..n)
        .map(|i| if i < na { i } else { r.below(na) })
        .collect();
    let b: Vec<usize> = (0..n)
        .map(|i| if i < nb { i } else { r.below(nb) })
        .collect();
    let ua: Vec<f64> = (0..na).map(|_| r.normal()).collect();
    let ub: Vec<f64> = (0..nb).map(|_| 0.7 * r.normal()).collect();
    let x: Vec<f64> = (0..n).map(|_| r.normal()).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| 2.0 + 0.4 * x[i] + ua[a[i]] + ub[b[i]] + r.normal())
        .collect();
    let (an, ac) = factor("a", &a, na);
    let (bn, bc) = factor("b", &b, nb);
    Data::new()
        .with_numeric("y", y)
        .unwrap()
        .with_numeric("x", x)
        .unwrap()
        .with_column(&an, ac)
        .unwrap()
        .with_column(&bn, bc)
        .unwrap()
}

/// A CSV file of `n` rows and 7 columns (y, x1..x5, g with `groups` levels) in the system's
/// temporary directory, written once per size: the whole-process `fit` benchmark reads it.
pub fn csv_7_columns(n: usize, groups: usize, seed: u64) -> std::path::PathBuf {
    use std::io::Write;
    let path = std::env::temp_dir().join(format!("securebase-bench-{n}-{groups}-{seed}.csv"));
    if path.exists() {
        return path;
    }
    let mut r = Rng::new(seed);
    let u: Vec<f64> = (0..groups).map(|_| r.normal()).collect();
    let tmp = path.with_extension("partial");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp).unwrap());
    writeln!(w, "y,x1,x2,x3,x4,x5,g").unwrap();
    for i in 0..n {
        let g = if i < groups { i } else { r.below(groups) };
        let x: Vec<f64> = (0..5).map(|_| r.normal()).collect();
        let y = 1.0 + 0.5 * x[0] - 0.3 * x[1] + 0.2 * x[2] + 0.1 * x[3] + u[g] + r.normal();
        writeln!(
            w,
            "{y:.6},{:.6},{:.6},{:.6},{:.6},{:.6},g{g:05}",
            x[0], x[1], x[2], x[3], x[4]
        )
        .unwrap();
    }
    drop(w);
    std::fs::rename(&tmp, &path).unwrap();
    path
}
