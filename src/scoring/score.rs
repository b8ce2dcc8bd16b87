//! Scoring item responses with a [`ScaleKey`]: reverse keying on the theoretical range,
//! prorated means and sums, and a report of every invalid response.

use super::key::{Aggregation, ScaleKey};
use crate::data::{Column, Data, NumericColumn};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};

/// What to do with a response outside the key's range or not a whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum InvalidResponses {
    /// Stop with an error naming row and column (the default: never clamp silently).
    Error,
    /// Treat the response as missing and list it in [`ScaleScores::invalid`].
    SetMissing,
}

/// One response that was set missing.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct InvalidResponse {
    /// 1-based data row (its origin).
    pub row: usize,
    /// Item column.
    pub column: String,
    /// The value found.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub value: f64,
}

/// Scores of one subscale.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SubscaleScores {
    /// Subscale name.
    pub name: String,
    /// Number of items.
    pub n_items: usize,
    /// Score per respondent (`None` when fewer items were answered than the key requires).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub scores: Vec<Option<f64>>,
    /// Items answered per respondent.
    pub answered: Vec<usize>,
}

/// Scores of every subscale of an instrument.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ScaleScores {
    /// Instrument name.
    pub instrument: String,
    /// Per subscale.
    pub subscales: Vec<SubscaleScores>,
    /// Responses set missing under [`InvalidResponses::SetMissing`].
    pub invalid: Vec<InvalidResponse>,
    /// Row origins, aligned with the scores.
    pub row_ids: Vec<usize>,
}

/// Reverse a response on the theoretical range: max + min − x.
pub fn reverse(x: f64, min: i64, max: i64) -> f64 {
    max as f64 + min as f64 - x
}

/// One column of responses per item of a subscale.
pub(crate) type ItemColumns = Vec<Vec<Option<f64>>>;

/// The item columns of a key, checked: present, numeric, and every response valid (or set
/// aside under [`InvalidResponses::SetMissing`]).
struct Checked<'a> {
    cols: BTreeMap<&'a str, &'a NumericColumn>,
    invalid: Vec<InvalidResponse>,
    /// Rows with an invalid response, per item (empty in clean data).
    masked: BTreeMap<String, BTreeSet<usize>>,
}

impl Checked<'_> {
    fn value(&self, item: &str, row: usize) -> Option<f64> {
        if self.masked.get(item).is_some_and(|m| m.contains(&row)) {
            return None;
        }
        self.cols[item].get(row)
    }
}

fn check<'a>(data: &'a Data, key: &ScaleKey, policy: InvalidResponses) -> Result<Checked<'a>> {
    // A key built in code (not loaded) is checked here, so its rules hold below.
    key.validate()?;
    let missing: Vec<String> = key
        .items
        .iter()
        .filter(|i| !data.has_column(i))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(Error::MissingColumns {
            context: format!("key '{}'", key.name),
            missing,
        });
    }
    let (lo, hi) = (key.response_min as f64, key.response_max as f64);
    let mut cols = BTreeMap::new();
    let mut invalid = Vec::new();
    let mut masked: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for item in &key.items {
        let col = match data.column(item)? {
            Column::Numeric(v) => v,
            Column::Categorical(f) => {
                let first = (0..f.len()).find(|&r| f.label(r).is_some()).unwrap_or(0);
                return Err(Error::InvalidValue {
                    column: item.clone(),
                    row: if first < data.nrows() {
                        data.row_id(first)
                    } else {
                        1
                    },
                    value: format!("'{}'", f.label(first).unwrap_or("NA")),
                    reason: format!(
                        "item responses of key '{}' must be numbers, but this column holds text",
                        key.name
                    ),
                });
            }
        };
        for (i, v) in col.iter().enumerate() {
            let Some(x) = v else { continue };
            if x >= lo && x <= hi && x.fract() == 0.0 {
                continue;
            }
            let row = data.row_id(i);
            match policy {
                InvalidResponses::Error => {
                    return Err(Error::InvalidValue {
                        column: item.clone(),
                        row,
                        value: x.to_string(),
                        reason: if x.fract() != 0.0 {
                            "not a whole-number response".into()
                        } else {
                            format!(
                                "outside the response range {}–{} of key '{}'",
                                key.response_min, key.response_max, key.name
                            )
                        },
                    });
                }
                InvalidResponses::SetMissing => {
                    invalid.push(InvalidResponse {
                        row,
                        column: item.clone(),
                        value: x,
                    });
                    masked.entry(item.clone()).or_default().insert(i);
                }
            }
        }
        let stored = data
            .names()
            .iter()
            .find(|n| *n == item)
            .map_or("", String::as_str);
        cols.insert(stored, col);
    }
    Ok(Checked {
        cols,
        invalid,
        masked,
    })
}

/// The item responses of `key` in `data`, validated and reverse-keyed per subscale.
/// Returns one column per subscale item (in subscale order), plus the invalid list.
pub(crate) fn keyed_items(
    data: &Data,
    key: &ScaleKey,
    policy: InvalidResponses,
) -> Result<(Vec<ItemColumns>, Vec<InvalidResponse>)> {
    let c = check(data, key, policy)?;
    let flip = key.response_min as f64 + key.response_max as f64;
    let per_subscale = key
        .subscales
        .iter()
        .map(|s| {
            s.items
                .iter()
                .map(|item| {
                    let rev = s.reverse.contains(item);
                    (0..data.nrows())
                        .map(|r| c.value(item, r).map(|x| if rev { flip - x } else { x }))
                        .collect()
                })
                .collect()
        })
        .collect();
    Ok((per_subscale, c.invalid))
}

/// Score every subscale of `key` for every row of `data`. Works row-wise, so long data (many
/// occasions per client) score the same way. One validating pass and one scoring pass over the
/// item columns; nothing is copied.
///
/// # Errors
/// [`Error::MissingColumns`] listing every absent item; [`Error::ColumnType`] for a
/// categorical item; [`Error::InvalidValue`] naming row and column for an out-of-range or
/// non-integer response under [`InvalidResponses::Error`].
///
/// ```
/// use securebase::scoring::{builtin, score, InvalidResponses};
/// use securebase::Data;
/// // R's psych::bfi, scored with the IPIP key: the means psych::scoreItems reports.
/// let bfi = Data::from_csv_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bfi.csv"))?;
/// let scores = score(&bfi, &builtin("ipip-bfi-25")?, InvalidResponses::Error)?;
/// let agree = scores.subscale("agree").unwrap();
/// assert_eq!(agree.scores[..3], [Some(4.0), Some(4.2), Some(3.8)]);
/// let sum: f64 = agree.scores.iter().flatten().sum();
/// assert!((sum - 13025.8666667).abs() < 1e-6);
/// # Ok::<(), securebase::Error>(())
/// ```
pub fn score(data: &Data, key: &ScaleKey, policy: InvalidResponses) -> Result<ScaleScores> {
    let c = check(data, key, policy)?;
    let n = data.nrows();
    let flip = key.response_min as f64 + key.response_max as f64;
    let subscales = key
        .subscales
        .iter()
        .map(|s| {
            let k = s.items.len();
            let need = s.min_answered.items(k);
            let mut sum = vec![0.0; n];
            let mut cnt = vec![0usize; n];
            for item in &s.items {
                let col = c.cols[item.as_str()];
                let rev = s.reverse.contains(item);
                let mask = c.masked.get(item);
                for (r, v) in col.iter().enumerate() {
                    if let Some(x) = v {
                        if mask.is_some_and(|m| m.contains(&r)) {
                            continue;
                        }
                        sum[r] += if rev { flip - x } else { x };
                        cnt[r] += 1;
                    }
                }
            }
            let scores = sum
                .iter()
                .zip(&cnt)
                .map(|(&t, &n_answered)| {
                    (n_answered >= need && n_answered > 0).then(|| match s.aggregation {
                        Aggregation::Mean => t / n_answered as f64,
                        Aggregation::Sum => t * k as f64 / n_answered as f64,
                    })
                })
                .collect();
            SubscaleScores {
                name: s.name.clone(),
                n_items: k,
                scores,
                answered: cnt,
            }
        })
        .collect();
    Ok(ScaleScores {
        instrument: key.name.clone(),
        subscales,
        invalid: c.invalid,
        row_ids: (0..data.nrows()).map(|i| data.row_id(i)).collect(),
    })
}

impl ScaleScores {
    /// The scores of subscale `name`.
    pub fn subscale(&self, name: &str) -> Option<&SubscaleScores> {
        self.subscales.iter().find(|s| s.name == name)
    }

    /// Add one column per subscale, named `{prefix}{subscale}`, and one `{prefix}{subscale}_n`
    /// with the items answered.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `data` is not the data scored; a taken column name.
    pub fn add_to(&self, data: &mut Data, prefix: &str) -> Result<()> {
        for s in &self.subscales {
            data.add_column(
                &format!("{prefix}{}", s.name),
                Column::Numeric(s.scores.clone().into()),
            )?;
            data.add_column(
                &format!("{prefix}{}_n", s.name),
                Column::Numeric(s.answered.iter().map(|&a| Some(a as f64)).collect()),
            )?;
        }
        Ok(())
    }
}
