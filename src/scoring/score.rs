//! Scoring item responses with a [`ScaleKey`]: reverse keying on the theoretical range,
//! prorated means and sums, and a report of every invalid response.

use super::key::{Aggregation, ScaleKey};
use crate::data::{Column, Data};
use crate::error::{Error, Result};
use serde::Serialize;

/// What to do with a response outside the key's range or not a whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum InvalidResponses {
    /// Stop with an error naming row and column (the default: never clamp silently).
    Error,
    /// Treat the response as missing and list it in [`ScaleScores::invalid`].
    SetMissing,
}

/// One response that was set missing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvalidResponse {
    /// 1-based data row (its origin).
    pub row: usize,
    /// Item column.
    pub column: String,
    /// The value found.
    pub value: f64,
}

/// Scores of one subscale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscaleScores {
    /// Subscale name.
    pub name: String,
    /// Number of items.
    pub n_items: usize,
    /// Score per respondent (`None` when fewer items were answered than the key requires).
    pub scores: Vec<Option<f64>>,
    /// Items answered per respondent.
    pub answered: Vec<usize>,
}

/// Scores of every subscale of an instrument.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    (max + min) as f64 - x
}

/// One column of responses per item of a subscale.
pub(crate) type ItemColumns = Vec<Vec<Option<f64>>>;

/// The item responses of `key` in `data`, validated and reverse-keyed per subscale.
/// Returns one column per subscale item (in subscale order), plus the invalid list.
pub(crate) fn keyed_items(
    data: &Data,
    key: &ScaleKey,
    policy: InvalidResponses,
) -> Result<(Vec<ItemColumns>, Vec<InvalidResponse>)> {
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
    let mut invalid = Vec::new();
    let mut clean: std::collections::BTreeMap<&str, Vec<Option<f64>>> =
        std::collections::BTreeMap::new();
    for item in &key.items {
        let values = match data.column(item)? {
            Column::Numeric(v) => v,
            Column::Categorical(_) => {
                return Err(Error::ColumnType {
                    name: item.clone(),
                    expected: "numeric".into(),
                    found: "categorical".into(),
                    context: Some(format!(
                        "item responses of key '{}' must be numbers",
                        key.name
                    )),
                });
            }
        };
        let mut out = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            out.push(match v {
                Some(x) if *x < lo || *x > hi || x.fract() != 0.0 => {
                    let row = data.row_ids()[i];
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
                                value: *x,
                            });
                            None
                        }
                    }
                }
                other => *other,
            });
        }
        clean.insert(item, out);
    }
    let per_subscale = key
        .subscales
        .iter()
        .map(|s| {
            s.items
                .iter()
                .map(|i| {
                    let col = &clean[i.as_str()];
                    if s.reverse.contains(i) {
                        col.iter()
                            .map(|v| v.map(|x| reverse(x, key.response_min, key.response_max)))
                            .collect()
                    } else {
                        col.clone()
                    }
                })
                .collect()
        })
        .collect();
    Ok((per_subscale, invalid))
}

/// Item columns of `key` in `data`, checked to exist and be numeric.
fn item_columns<'a>(
    data: &'a Data,
    key: &ScaleKey,
) -> Result<std::collections::BTreeMap<&'a str, &'a [Option<f64>]>> {
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
    let mut out = std::collections::BTreeMap::new();
    for item in &key.items {
        match data.column(item)? {
            Column::Numeric(v) => {
                let stored = data
                    .names()
                    .iter()
                    .find(|n| *n == item)
                    .map_or("", String::as_str);
                out.insert(stored, v.as_slice());
            }
            Column::Categorical(_) => {
                return Err(Error::ColumnType {
                    name: item.clone(),
                    expected: "numeric".into(),
                    found: "categorical".into(),
                    context: Some(format!(
                        "item responses of key '{}' must be numbers",
                        key.name
                    )),
                });
            }
        }
    }
    Ok(out)
}

/// Score every subscale of `key` for every row of `data`. Works row-wise, so long data (many
/// occasions per client) score the same way. One validating pass and one scoring pass over the
/// item columns; nothing is copied.
///
/// # Errors
/// [`Error::MissingColumns`] listing every absent item; [`Error::ColumnType`] for a
/// categorical item; [`Error::InvalidValue`] naming row and column for an out-of-range or
/// non-integer response under [`InvalidResponses::Error`].
pub fn score(data: &Data, key: &ScaleKey, policy: InvalidResponses) -> Result<ScaleScores> {
    let cols = item_columns(data, key)?;
    let (lo, hi) = (key.response_min as f64, key.response_max as f64);
    let bad = |x: f64| x < lo || x > hi || x.fract() != 0.0;
    let mut invalid = Vec::new();
    // Rows with an invalid response, per item (empty in clean data).
    let mut masked: std::collections::BTreeMap<&str, std::collections::BTreeSet<usize>> =
        std::collections::BTreeMap::new();
    for item in &key.items {
        let col = cols[item.as_str()];
        for (i, v) in col.iter().enumerate() {
            if let Some(x) = *v {
                if bad(x) {
                    let row = data.row_ids()[i];
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
                            masked.entry(item.as_str()).or_default().insert(i);
                        }
                    }
                }
            }
        }
    }
    let n = data.nrows();
    let flip = (key.response_min + key.response_max) as f64;
    let subscales = key
        .subscales
        .iter()
        .map(|s| {
            let k = s.items.len();
            let need = s.min_answered.items(k);
            let mut sum = vec![0.0; n];
            let mut cnt = vec![0usize; n];
            for item in &s.items {
                let col = cols[item.as_str()];
                let rev = s.reverse.contains(item);
                let mask = masked.get(item.as_str());
                for (r, v) in col.iter().enumerate() {
                    if let Some(x) = *v {
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
                .map(|(&t, &c)| {
                    (c >= need && c > 0).then(|| match s.aggregation {
                        Aggregation::Mean => t / c as f64,
                        Aggregation::Sum => t * k as f64 / c as f64,
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
        invalid,
        row_ids: data.row_ids().to_vec(),
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
                Column::Numeric(s.scores.clone()),
            )?;
            data.add_column(
                &format!("{prefix}{}_n", s.name),
                Column::Numeric(s.answered.iter().map(|&a| Some(a as f64)).collect()),
            )?;
        }
        Ok(())
    }
}
