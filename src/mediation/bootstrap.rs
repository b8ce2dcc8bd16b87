//! Bootstrap (percentile and BCa; case or cluster resampling) and Monte Carlo intervals for
//! mediation effects.
//!
//! OLS replicates never refit through formulas: each replicate forms one weighted cross-product
//! matrix of [1, X, M…, C…, Y] in one pass over the rows, and every path is a small solve on a
//! sub-block. Replicate i draws from `Rng::stream(seed, i)` and replicates are collected in
//! order, so results are identical for any number of threads.

use super::{Mediation, effect_names, effects_from};
use crate::data::{Column, Data, Factor, NumericColumn};
use crate::error::{Error, Result};
use crate::lmm::Ddf;
use crate::probe::quantile7;
use crate::rng::Rng;
use crate::stats::normal_quantile;
use nalgebra::{DMatrix, DVector};
use statrs::distribution::{ContinuousCDF, Normal};

/// What is resampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Resampling {
    /// Rows (clients), with replacement.
    Case,
    /// Whole clusters (therapists) with all their rows, with replacement.
    Cluster,
}

/// Bootstrap settings.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct BootstrapOptions {
    /// Number of resamples (e.g. 5000).
    pub replicates: usize,
    /// Master seed.
    pub seed: u64,
    /// Case or cluster resampling.
    pub resampling: Resampling,
    /// Confidence level (e.g. 0.95).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub level: f64,
}

impl BootstrapOptions {
    /// `replicates` case resamples from `seed` at the 95% level.
    pub fn new(replicates: usize, seed: u64) -> BootstrapOptions {
        BootstrapOptions {
            replicates,
            seed,
            resampling: Resampling::Case,
            level: 0.95,
        }
    }

    /// `replicates` case resamples at the 95% level, the master seed drawn from a caller's
    /// `rand` generator (one `u64`; see [`crate::rng`] for the reproducibility guarantee).
    ///
    /// ```
    /// use securebase::mediation::BootstrapOptions;
    /// use securebase::rng::{rand_core::SeedableRng, Rng};
    /// let mut mine = Rng::seed_from_u64(99); // or any rand generator, e.g. StdRng
    /// let a = BootstrapOptions::from_rng(5000, &mut mine);
    /// let b = BootstrapOptions::from_rng(5000, &mut Rng::seed_from_u64(99));
    /// assert_eq!(a, b);
    /// ```
    pub fn from_rng<R: rand_core::Rng + ?Sized>(
        replicates: usize,
        rng: &mut R,
    ) -> BootstrapOptions {
        BootstrapOptions::new(replicates, crate::rng::seed_from(rng))
    }

    /// The same with another resampling scheme.
    pub fn resampling(mut self, r: Resampling) -> BootstrapOptions {
        self.resampling = r;
        self
    }

    /// The same at another confidence level.
    pub fn level(mut self, level: f64) -> BootstrapOptions {
        self.level = level;
        self
    }

    /// At least 2 replicates and a level strictly between 0 and 1.
    pub(crate) fn check(&self) -> Result<()> {
        if self.replicates < 2 {
            return Err(Error::Argument {
                name: "replicates".into(),
                message: "need at least 2".into(),
            });
        }
        crate::limits::check_count(
            "replicates",
            self.replicates,
            crate::limits::MAX_REPLICATES,
            64,
        )?;
        crate::stats::check_level(self.level)
    }
}

/// Bootstrap summary of one effect.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct BootEffect {
    /// Effect name.
    pub name: String,
    /// Point estimate on the original data.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub estimate: f64,
    /// Bootstrap standard error.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub boot_se: f64,
    /// Mean of the replicates minus the estimate.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub bias: f64,
    /// Percentile interval.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub percentile: [f64; 2],
    /// Bias-corrected and accelerated interval (`None` when every replicate falls on one side).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub bca: Option<[f64; 2]>,
}

/// Bootstrap intervals for every effect of a mediation model.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Bootstrap {
    /// Per effect.
    pub effects: Vec<BootEffect>,
    /// Replicates requested.
    pub replicates: usize,
    /// Replicates that could not be estimated (degenerate resamples), left out.
    pub failed: usize,
    /// The settings.
    pub options: BootstrapOptions,
}

impl Bootstrap {
    /// The summary of effect `name`.
    ///
    /// # Errors
    /// [`Error::Argument`] if the model has no such effect (naming its effects and the closest).
    pub fn effect<K: super::EffectKey>(&self, key: K) -> Result<&BootEffect> {
        super::effects::find(&self.effects, key, |e| &e.name)
    }
}

/// One effect's Monte Carlo summary.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct McEffect {
    /// Effect name.
    pub name: String,
    /// Point estimate.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub estimate: f64,
    /// Mean of the draws.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub mean: f64,
    /// SD of the draws (the Monte Carlo standard error of the effect).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub sd: f64,
    /// Quantile interval.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub ci: [f64; 2],
}

/// Monte Carlo intervals (Preacher & Selig 2012): path coefficients drawn from their
/// estimated sampling distributions, products formed, quantiles taken.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct MonteCarlo {
    /// Every effect.
    pub effects: Vec<McEffect>,
    /// Draws.
    pub draws: usize,
    /// Seed.
    pub seed: u64,
    /// Level.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub level: f64,
}

impl MonteCarlo {
    /// The summary of one effect.
    ///
    /// # Errors
    /// [`Error::Argument`] if the model has no such effect (naming its effects and the closest).
    pub fn effect<K: super::EffectKey>(&self, key: K) -> Result<&McEffect> {
        super::effects::find(&self.effects, key, |e| &e.name)
    }
}

/// Least squares on a sub-block of a cross-product matrix; `None` if singular.
fn solve_block(s: &DMatrix<f64>, preds: &[usize], target: usize) -> Option<DVector<f64>> {
    let k = preds.len();
    let a = DMatrix::from_fn(k, k, |i, j| s[(preds[i], preds[j])]);
    let b = DVector::from_fn(k, |i, _| s[(preds[i], target)]);
    a.cholesky().map(|c| c.solve(&b))
}

/// The OLS system of a mediation model on complete rows.
struct Design {
    z: Vec<Vec<f64>>, // rows: [1, X, M1, (M2), C..., Y]
    serial: bool,
    ncov: usize,
}

impl Design {
    fn new(m: &Mediation, sub: &Data) -> Result<Design> {
        let mut cols: Vec<&NumericColumn> = vec![sub.numeric(&m.x)?];
        for v in m.mediators.iter().chain(&m.covariates) {
            cols.push(sub.numeric(v)?);
        }
        cols.push(sub.numeric(&m.y)?);
        let z = (0..sub.nrows())
            .map(|i| {
                std::iter::once(1.0)
                    .chain(cols.iter().map(|c| c.values()[i]))
                    .collect()
            })
            .collect();
        Ok(Design {
            z,
            serial: m.is_serial(),
            ncov: m.covariates.len(),
        })
    }

    fn effects(&self, weights: &[f64]) -> Option<Vec<f64>> {
        let k = self.z[0].len();
        let mut s = DMatrix::<f64>::zeros(k, k);
        for (row, &w) in self.z.iter().zip(weights) {
            if w == 0.0 {
                continue;
            }
            for a in 0..k {
                let wa = w * row[a];
                for b in 0..=a {
                    s[(a, b)] += wa * row[b];
                }
            }
        }
        s.fill_upper_triangle_with_lower_triangle();
        let nm = if self.serial { 2 } else { 1 };
        let covs: Vec<usize> = (2 + nm..2 + nm + self.ncov).collect();
        let y = k - 1;
        let with =
            |v: &[usize]| -> Vec<usize> { v.iter().copied().chain(covs.iter().copied()).collect() };
        let m1 = solve_block(&s, &with(&[0, 1]), 2)?;
        let m2 = if self.serial {
            Some(solve_block(&s, &with(&[0, 1, 2]), 3)?)
        } else {
            None
        };
        let ypred: Vec<usize> = (0..2 + nm).collect();
        let yfit = solve_block(&s, &with(&ypred), y)?;
        let total = solve_block(&s, &with(&[0, 1]), y)?;
        let v = effects_from(
            self.serial,
            m1[1],
            m2.map_or((0.0, 0.0), |m| (m[1], m[2])),
            &yfit.as_slice()[1..2 + nm],
            total[1],
        );
        v.iter().all(|x| x.is_finite()).then_some(v)
    }
}

/// Percentile and BCa intervals from bootstrap replicates (`None` = a failed replicate) and
/// jackknife values (for the BCa acceleration), effect by effect.
pub(crate) fn summarize_draws(
    names: &[String],
    estimates: &[f64],
    reps: &[Option<Vec<f64>>],
    jack: &[Option<Vec<f64>>],
    options: &BootstrapOptions,
) -> Result<Bootstrap> {
    let ok: Vec<&Vec<f64>> = reps.iter().flatten().collect();
    let failed = reps.len() - ok.len();
    if ok.len() < 2 {
        return Err(Error::Numerical(
            "fewer than 2 bootstrap replicates could be estimated".into(),
        ));
    }
    let jack: Vec<&Vec<f64>> = jack.iter().flatten().collect();
    let alpha = 1.0 - options.level;
    let std_normal = Normal::standard();
    let effects = names
        .iter()
        .zip(estimates)
        .enumerate()
        .map(|(j, (name, &estimate))| {
            let mut vals: Vec<f64> = ok.iter().map(|r| r[j]).collect();
            vals.sort_by(f64::total_cmp);
            let b = vals.len() as f64;
            let mean = vals.iter().sum::<f64>() / b;
            let sd = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (b - 1.0)).sqrt();
            let pct = quantile7(&vals, &[alpha / 2.0, 1.0 - alpha / 2.0]);
            let below = vals.iter().filter(|&&v| v < estimate).count() as f64 / b;
            let bca = (below > 0.0 && below < 1.0 && jack.len() > 2).then(|| {
                let z0 = normal_quantile(below);
                let jm = jack.iter().map(|r| r[j]).sum::<f64>() / jack.len() as f64;
                let (num, den) = jack.iter().fold((0.0, 0.0), |(n3, d2), r| {
                    let d = jm - r[j];
                    (n3 + d.powi(3), d2 + d * d)
                });
                let acc = if den > 0.0 {
                    num / (6.0 * den.powf(1.5))
                } else {
                    0.0
                };
                let adj = |z: f64| std_normal.cdf(z0 + (z0 + z) / (1.0 - acc * (z0 + z)));
                let (p1, p2) = (
                    adj(normal_quantile(alpha / 2.0)),
                    adj(normal_quantile(1.0 - alpha / 2.0)),
                );
                let q = quantile7(&vals, &[p1.clamp(0.0, 1.0), p2.clamp(0.0, 1.0)]);
                [q[0], q[1]]
            });
            BootEffect {
                name: name.clone(),
                estimate,
                boot_se: sd,
                bias: mean - estimate,
                percentile: [pct[0], pct[1]],
                bca,
            }
        })
        .collect();
    Ok(Bootstrap {
        effects,
        replicates: options.replicates,
        failed,
        options: options.clone(),
    })
}

/// Monte Carlo summaries (mean, SD, quantile interval) of simulated effects.
pub(crate) fn summarize_monte_carlo(
    names: &[String],
    estimates: &[f64],
    sims: &[Vec<f64>],
    draws: usize,
    seed: u64,
    level: f64,
) -> MonteCarlo {
    let alpha = 1.0 - level;
    let effects = names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let vals: Vec<f64> = sims.iter().map(|s| s[j]).collect();
            let q = quantile7(&vals, &[alpha / 2.0, 1.0 - alpha / 2.0]);
            let n = vals.len() as f64;
            let mean = vals.iter().sum::<f64>() / n;
            let sd = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            McEffect {
                name: name.clone(),
                estimate: estimates[j],
                mean,
                sd,
                ci: [q[0], q[1]],
            }
        })
        .collect();
    MonteCarlo {
        effects,
        draws,
        seed,
        level,
    }
}

/// Rows of each cluster.
fn clusters(codes: &[u32], k: usize) -> Vec<Vec<usize>> {
    let mut by = vec![Vec::new(); k];
    for (i, &c) in codes.iter().enumerate() {
        by[c as usize].push(i);
    }
    by.retain(|v| !v.is_empty());
    by
}

impl Mediation {
    /// Bootstrap every effect: percentile and BCa intervals, case or cluster resampling,
    /// run in parallel with results independent of the thread count.
    ///
    /// # Errors
    /// As [`Mediation::fit`]; [`Error::Argument`] for fewer than 2 replicates, a level outside
    /// (0, 1), cluster resampling without a cluster variable, or case resampling of a
    /// multilevel model (whose paths need whole clusters).
    ///
    /// ```
    /// use securebase::mediation::{BootstrapOptions, Mediation, Path, Resampling};
    /// use securebase::Data;
    /// let mtcars = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mtcars.csv"))?;
    /// let med = Mediation::new("hp", &["wt"], "mpg").cluster("cyl");
    /// let options = BootstrapOptions::new(500, 2024).resampling(Resampling::Case);
    /// let boot = med.bootstrap(&mtcars, &options)?;
    /// let ind = boot.effect(Path::Indirect)?;
    /// assert!(ind.percentile[0] < ind.estimate && ind.estimate < ind.percentile[1]);
    /// // Seeded: the same options give the same intervals, on any number of threads.
    /// assert_eq!(med.bootstrap(&mtcars, &options)?.effects, boot.effects);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    pub fn bootstrap(&self, data: &Data, options: &BootstrapOptions) -> Result<Bootstrap> {
        options.check()?;
        let point = self.fit(data)?;
        let (rows, _) = self.prepare(data)?;
        let sub = data.select_rows(&rows)?;
        let n = sub.nrows();
        let groups = match (options.resampling, self.cluster_codes(&sub)?) {
            (Resampling::Cluster, Some((codes, k))) => {
                let g = clusters(&codes, k);
                if g.len() < 2 {
                    return Err(Error::Model(format!(
                        "cluster resampling needs at least 2 clusters; the data have {} (every resample would be the same data, so the intervals would have zero width)",
                        g.len()
                    )));
                }
                Some(g)
            }
            (Resampling::Cluster, None) => {
                return Err(Error::Argument {
                    name: "resampling".into(),
                    message: "cluster resampling needs Mediation::cluster".into(),
                });
            }
            (Resampling::Case, _) if self.multilevel => {
                return Err(Error::Argument {
                    name: "resampling".into(),
                    message:
                        "a multilevel mediation must resample whole clusters (Resampling::Cluster)"
                            .into(),
                });
            }
            (Resampling::Case, _) => None,
        };
        let design = if self.multilevel || self.binary_outcome {
            None
        } else {
            Some(Design::new(self, &sub)?)
        };
        let draw_rows = |rng: &mut Rng| -> Vec<(usize, usize)> {
            // (row, copy index): the copy index distinguishes a cluster drawn twice.
            match &groups {
                None => (0..n).map(|_| (rng.index(n), 0)).collect(),
                Some(g) => {
                    let mut out = Vec::with_capacity(n);
                    for copy in 0..g.len() {
                        let c = &g[rng.index(g.len())];
                        out.extend(c.iter().map(|&r| (r, copy)));
                    }
                    out
                }
            }
        };
        let replicate = |i: usize| -> Option<Vec<f64>> {
            let mut rng = Rng::stream(options.seed, i as u64);
            let drawn = draw_rows(&mut rng);
            match &design {
                Some(d) => {
                    let mut w = vec![0.0; n];
                    for (r, _) in drawn {
                        w[r] += 1.0;
                    }
                    d.effects(&w)
                }
                None => self.refit_replicate(&sub, &drawn).ok(),
            }
        };
        let reps: Vec<Option<Vec<f64>>> =
            crate::progress::map(options.replicates, "bootstrap", "resamples", replicate);
        // Jackknife (leave one case or one cluster out) for the BCa acceleration.
        let units: Vec<Vec<usize>> = match &groups {
            Some(g) => g.clone(),
            None => (0..n).map(|i| vec![i]).collect(),
        };
        let jack: Vec<Option<Vec<f64>>> = crate::par::map_items(&units, |leave| match &design {
            Some(d) => {
                let mut w = vec![1.0; n];
                for &r in leave {
                    w[r] = 0.0;
                }
                d.effects(&w)
            }
            None => {
                let keep: Vec<(usize, usize)> = (0..n)
                    .filter(|r| !leave.contains(r))
                    .map(|r| (r, 0))
                    .collect();
                self.refit_replicate(&sub, &keep).ok()
            }
        });
        let names: Vec<String> = point.effects.iter().map(|e| e.name.clone()).collect();
        let estimates: Vec<f64> = point.effects.iter().map(|e| e.estimate).collect();
        summarize_draws(&names, &estimates, &reps, &jack, options)
    }

    /// One replicate by refitting the paths on the drawn rows (multilevel models, or a binary
    /// outcome's logistic paths).
    fn refit_replicate(&self, sub: &Data, drawn: &[(usize, usize)]) -> Result<Vec<f64>> {
        if self.multilevel {
            return self.multilevel_replicate(sub, drawn);
        }
        let rows: Vec<usize> = drawn.iter().map(|d| d.0).collect();
        let d = sub.select_rows(&rows)?;
        Ok(self.fit_paths(&d, Ddf::Asymptotic)?.0)
    }

    /// One multilevel replicate: the drawn rows as a new data set in which every drawn copy of
    /// a cluster is a cluster of its own.
    fn multilevel_replicate(&self, sub: &Data, drawn: &[(usize, usize)]) -> Result<Vec<f64>> {
        let rows: Vec<usize> = drawn.iter().map(|d| d.0).collect();
        let mut d = sub.select_rows(&rows)?;
        let cluster = self.cluster.as_deref().unwrap_or_default();
        let original = match sub.column(cluster)? {
            Column::Categorical(f) => f.clone(),
            Column::Numeric(v) => Factor::from_numbers(v),
        };
        let labels: Vec<String> = drawn
            .iter()
            .map(|&(r, copy)| format!("{}#{copy}", original.label(r).unwrap_or("")))
            .collect();
        let name = "__cluster_copy";
        d.add_column(
            name,
            Column::Categorical(Factor::from_strings(
                &labels.iter().map(|s| Some(s.as_str())).collect::<Vec<_>>(),
            )),
        )?;
        let mut m = self.clone();
        m.cluster = Some(name.into());
        Ok(m.fit_paths(&d, Ddf::Asymptotic)?.0)
    }

    /// Monte Carlo intervals: `draws` draws of each path model's coefficients from
    /// N(β̂, V̂), effects formed from each draw.
    ///
    /// # Errors
    /// As [`Mediation::fit`]; [`Error::Argument`] for fewer than 2 draws or a bad level.
    ///
    /// ```
    /// use securebase::mediation::{Mediation, Path};
    /// use securebase::Data;
    /// let mtcars = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mtcars.csv"))?;
    /// let mc = Mediation::new("hp", &["wt"], "mpg").monte_carlo(&mtcars, 20_000, 7, 0.95)?;
    /// let ind = mc.effect(Path::Indirect)?;
    /// assert!(ind.ci[0] < ind.estimate && ind.estimate < ind.ci[1]);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    pub fn monte_carlo(
        &self,
        data: &Data,
        draws: usize,
        seed: u64,
        level: f64,
    ) -> Result<MonteCarlo> {
        if draws < 2 || !(level > 0.0 && level < 1.0) {
            return Err(Error::Argument {
                name: "draws/level".into(),
                message: "need ≥ 2 draws and a level in (0, 1)".into(),
            });
        }
        crate::limits::check_count("draws", draws, crate::limits::MAX_DRAWS, 64)?;
        let point = self.fit(data)?;
        let (rows, _) = self.prepare(data)?;
        let sub = data.select_rows(&rows)?;
        // Each path model's coefficients and the Cholesky factor of their covariance.
        let mut models: Vec<(DVector<f64>, DMatrix<f64>)> = Vec::new();
        let formulas = self.formulas();
        let to_y = formulas.len() - 2;
        for (k, f) in formulas.into_iter().enumerate() {
            let (beta, vcov) = if self.binary_outcome && k >= to_y {
                let fit = crate::glm::Glm::fit(&sub, &f, crate::glm::Family::binomial())?;
                (
                    fit.coefficients.iter().map(|c| c.estimate).collect(),
                    fit.vcov.clone(),
                )
            } else if self.multilevel {
                let fit = crate::lmm::LmmSpec::new(&sub, &f)?.fit(crate::lmm::Criterion::Reml)?;
                (fit.beta(), fit.vcov().to_vec())
            } else {
                let fit = crate::regression::Ols::fit(&sub, &f)?;
                (fit.beta(), fit.vcov().to_vec())
            };
            let p = beta.len();
            let v = DMatrix::from_fn(p, p, |i, j| vcov[i][j]);
            let l = v
                .cholesky()
                .ok_or_else(|| {
                    Error::Numerical(format!("the covariance of '{f}' is not positive definite"))
                })?
                .l();
            models.push((DVector::from_vec(beta), l));
        }
        let serial = self.is_serial();
        let ny = if serial { 3 } else { 2 };
        let sims: Vec<Vec<f64>> = crate::progress::map(draws, "Monte Carlo", "draws", |i| {
            let mut rng = Rng::stream(seed, i as u64);
            let drawn: Vec<DVector<f64>> = models
                .iter()
                .map(|(b, l)| {
                    let z = DVector::from_fn(b.len(), |_, _| rng.normal());
                    b + l * z
                })
                .collect();
            let (m1, rest) = (&drawn[0], &drawn[1..]);
            let (m2, y, total) = if serial {
                (Some(&rest[0]), &rest[1], &rest[2])
            } else {
                (None, &rest[0], &rest[1])
            };
            effects_from(
                serial,
                m1[1],
                m2.map_or((0.0, 0.0), |m| (m[1], m[2])),
                &y.as_slice()[1..=ny],
                total[1],
            )
        });
        let names: Vec<String> = effect_names(serial).iter().map(|s| s.to_string()).collect();
        let estimates: Vec<f64> = point.effects.iter().map(|e| e.estimate).collect();
        Ok(summarize_monte_carlo(
            &names, &estimates, &sims, draws, seed, level,
        ))
    }
}

impl std::fmt::Display for Bootstrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Bootstrap: {} {:?} resamples (seed {}, {} failed), {:.0}% intervals",
            self.replicates,
            self.options.resampling,
            self.options.seed,
            self.failed,
            self.options.level * 100.0
        )?;
        writeln!(
            f,
            "  {:<16} {:>11} {:>10} {:>10}   {:<26} BCa",
            "effect", "estimate", "boot SE", "bias", "percentile"
        )?;
        for e in &self.effects {
            let bca = e
                .bca
                .map_or("—".to_string(), |b| format!("[{:.5}, {:.5}]", b[0], b[1]));
            writeln!(
                f,
                "  {:<16} {:>11.5} {:>10.5} {:>10.5}   [{:.5}, {:.5}]   {}",
                e.name, e.estimate, e.boot_se, e.bias, e.percentile[0], e.percentile[1], bca
            )?;
        }
        Ok(())
    }
}

impl std::fmt::Display for MonteCarlo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Monte Carlo: {} draws (seed {}), {:.0}% intervals",
            self.draws,
            self.seed,
            self.level * 100.0
        )?;
        for e in &self.effects {
            writeln!(
                f,
                "  {:<16} {:>11.5}  SD {:>9.5}  [{:.5}, {:.5}]",
                e.name, e.estimate, e.sd, e.ci[0], e.ci[1]
            )?;
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "csv"))]
mod tests {
    use super::*;

    #[test]
    fn unit_weights_reproduce_the_path_fits() {
        let d = Data::from_csv_path(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/mtcars.csv"
        ))
        .unwrap();
        for m in [
            Mediation::new("hp", &["wt"], "mpg").covariates(&["cyl", "am"]),
            Mediation::new("hp", &["wt", "qsec"], "mpg").covariates(&["cyl"]),
        ] {
            let fit = m.fit(&d).unwrap();
            let design = Design::new(&m, &d).unwrap();
            let fast = design.effects(&vec![1.0; d.nrows()]).unwrap();
            for (e, v) in fit.effects.iter().zip(&fast) {
                assert!(
                    (e.estimate - v).abs() <= 1e-9 * (1.0 + v.abs()),
                    "{}: {} vs {v}",
                    e.name,
                    e.estimate
                );
            }
        }
    }
}
