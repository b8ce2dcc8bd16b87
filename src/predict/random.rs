//! One random-effect term's coding for new data: its grouping variables and the design of its
//! effects, kept from the fit so new rows are coded as the fitted ones were.

use crate::data::{Column, Data, Factor};
use crate::error::{Error, Result};
use crate::formula::design::Design;
use crate::lmm::RandomEffects;
use std::collections::HashMap;

/// Levels of one grouping factor that a prediction met and the fit never saw.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct NewLevels {
    /// The grouping factor.
    pub group: String,
    /// How many distinct new levels.
    pub levels: usize,
    /// On how many rows.
    pub rows: usize,
}

/// How a random term reads new data.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReCoder {
    /// The grouping factor's name as the fit prints it (`Subject`, `cask:batch`).
    pub group: String,
    /// Its variables (one, or several for an interaction `a:b`).
    pub vars: Vec<String>,
    /// The design of the term's effects (`1 + Days`).
    pub design: Design,
}

/// What one term adds to the linear predictor of each row, and the variance it brings.
pub(crate) struct Contribution {
    pub add: Vec<f64>,
    pub var: Vec<f64>,
    pub new_levels: Option<NewLevels>,
}

impl ReCoder {
    /// The grouping label of every row of `data` (the fit's labels: categorical values as
    /// they are, numbers formatted as when the fit made them a factor; `a:b` for
    /// interactions).
    fn labels(&self, data: &Data) -> Result<Vec<String>> {
        let n = data.nrows();
        let mut parts: Vec<Factor> = Vec::with_capacity(self.vars.len());
        for v in &self.vars {
            let f = match data.column(v)? {
                Column::Categorical(f) => f.clone(),
                Column::Numeric(x) => Factor::from_numbers(x),
            };
            parts.push(f);
        }
        (0..n)
            .map(|r| {
                let mut label = String::new();
                for (k, f) in parts.iter().enumerate() {
                    let Some(code) = f.codes()[r] else {
                        return Err(Error::InvalidValue {
                            column: self.vars[k].clone(),
                            row: data.row_id(r),
                            value: "NA".into(),
                            reason: format!(
                                "a missing value of the grouping factor '{}': predict such rows at the population level (RandomPart::Population) or without '{}'",
                                self.group, self.group
                            ),
                        });
                    };
                    if k > 0 {
                        label.push(':');
                    }
                    label.push_str(&f.levels()[code as usize]);
                }
                Ok(label)
            })
            .collect()
    }

    /// The term's part of each row's prediction: z′b for a level the fit knows (with variance
    /// z′ Var(b | y) z), zero for a new level or an excluded term (with variance z′Σz).
    pub fn contribution(
        &self,
        data: &Data,
        re: &RandomEffects,
        covariance: &[Vec<f64>],
        include: bool,
        allow_new: bool,
    ) -> Result<Contribution> {
        let n = data.nrows();
        let rows: Vec<usize> = (0..n).collect();
        let q = re.q();
        let quad = |z: &[f64], m: &dyn Fn(usize, usize) -> f64| -> f64 {
            let mut s = 0.0;
            for a in 0..q {
                for b in 0..q {
                    s += z[a] * m(a, b) * z[b];
                }
            }
            s
        };
        let full = |a: usize, b: usize| covariance[a][b];
        let z = match self.design.matrix(data, &rows) {
            Ok(z) => z,
            // Not included: the term only widens the prediction interval; without its
            // covariates that width is unknown.
            Err(_) if !include => {
                return Ok(Contribution {
                    add: vec![0.0; n],
                    var: vec![f64::NAN; n],
                    new_levels: None,
                });
            }
            Err(e) => return Err(e),
        };
        let zrow = |i: usize| -> Vec<f64> { (0..q).map(|c| z[(i, c)]).collect() };
        if !include {
            return Ok(Contribution {
                add: vec![0.0; n],
                var: (0..n).map(|i| quad(&zrow(i), &full)).collect(),
                new_levels: None,
            });
        }
        let labels = self.labels(data)?;
        let index: HashMap<&str, usize> = re
            .levels()
            .iter()
            .enumerate()
            .map(|(l, s)| (s.as_str(), l))
            .collect();
        let mut add = vec![0.0; n];
        let mut var = vec![0.0; n];
        let mut unseen: Vec<&str> = Vec::new();
        let mut unseen_rows = 0;
        for i in 0..n {
            let zi = zrow(i);
            match index.get(labels[i].as_str()) {
                Some(&l) => {
                    let b = re.mode(l);
                    add[i] = zi.iter().zip(b).map(|(z, b)| z * b).sum();
                    let cv = re.cond_var(l);
                    var[i] = quad(&zi, &|a, b| cv[a * q + b]);
                }
                None if allow_new => {
                    var[i] = quad(&zi, &full);
                    unseen_rows += 1;
                    if !unseen.contains(&labels[i].as_str()) {
                        unseen.push(&labels[i]);
                    }
                }
                None => {
                    return Err(Error::InvalidValue {
                        column: self.vars.join(":"),
                        row: data.row_id(i),
                        value: labels[i].clone(),
                        reason: format!(
                            "a level of '{}' the fit never saw; allow new levels (random effects of zero) with PredictOptions::new_levels(true), as lme4's allow.new.levels = TRUE",
                            self.group
                        ),
                    });
                }
            }
        }
        Ok(Contribution {
            add,
            var,
            new_levels: (unseen_rows > 0).then(|| NewLevels {
                group: self.group.clone(),
                levels: unseen.len(),
                rows: unseen_rows,
            }),
        })
    }
}
