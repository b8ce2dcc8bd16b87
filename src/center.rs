//! Centring helpers that add new columns to a [`Data`]: grand-mean, group-mean (cluster-mean)
//! centring, and the within/between split of a predictor measured on several rows per cluster
//! (Enders & Tofighi 2007). Missing values stay missing and are left out of every mean.

use crate::data::{Column, Data, Factor};
use crate::error::{Error, Result};

fn numeric_values(data: &Data, column: &str) -> Result<Vec<Option<f64>>> {
    Ok(data.numeric(column)?.to_vec())
}

pub(crate) fn cluster_codes(data: &Data, group: &str) -> Result<(Vec<Option<u32>>, usize)> {
    let f = match data.column(group)? {
        Column::Categorical(f) => f.clone(),
        Column::Numeric(v) => Factor::from_numbers(v),
    };
    Ok((f.codes().to_vec(), f.levels().len()))
}

/// Mean of the non-missing values.
fn mean(v: &[Option<f64>], column: &str) -> Result<f64> {
    let (s, n) = v
        .iter()
        .flatten()
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        return Err(Error::Model(format!(
            "column '{column}' has no non-missing values"
        )));
    }
    Ok(s / n as f64)
}

/// Per-row cluster mean of `column` (missing where the row's cluster is missing or has no
/// non-missing value).
pub(crate) fn cluster_means(data: &Data, column: &str, group: &str) -> Result<Vec<Option<f64>>> {
    let v = numeric_values(data, column)?;
    let (codes, k) = cluster_codes(data, group)?;
    let mut sum = vec![0.0; k];
    let mut cnt = vec![0usize; k];
    for (x, c) in v.iter().zip(&codes) {
        if let (Some(x), Some(c)) = (x, c) {
            sum[*c as usize] += x;
            cnt[*c as usize] += 1;
        }
    }
    Ok(codes
        .iter()
        .map(|c| {
            c.and_then(|c| (cnt[c as usize] > 0).then(|| sum[c as usize] / cnt[c as usize] as f64))
        })
        .collect())
}

/// Add `new` = `column` − its mean; returns the mean.
///
/// # Errors
/// Unknown or categorical column, a column with no values, or a taken name.
pub fn grand_mean_center(data: &mut Data, column: &str, new: &str) -> Result<f64> {
    let v = numeric_values(data, column)?;
    let m = mean(&v, column)?;
    data.add_column(
        new,
        Column::Numeric(v.iter().map(|x| x.map(|x| x - m)).collect()),
    )?;
    Ok(m)
}

/// Add `new` = `column` − the mean of its cluster (`group`): centring within cluster.
///
/// # Errors
/// Unknown columns, a categorical `column`, or a taken name.
pub fn group_mean_center(data: &mut Data, column: &str, group: &str, new: &str) -> Result<()> {
    let v = numeric_values(data, column)?;
    let m = cluster_means(data, column, group)?;
    let out = v.iter().zip(&m).map(|(x, m)| match (x, m) {
        (Some(x), Some(m)) => Some(x - m),
        _ => None,
    });
    data.add_column(new, Column::Numeric(out.collect()))
}

/// Split a predictor into a within-cluster part (`column` − cluster mean) and a between-cluster
/// part (cluster mean − grand mean of the rows), as two new columns.
///
/// # Errors
/// As [`group_mean_center`].
pub fn within_between(
    data: &mut Data,
    column: &str,
    group: &str,
    within: &str,
    between: &str,
) -> Result<()> {
    let v = numeric_values(data, column)?;
    let grand = mean(&v, column)?;
    let m = cluster_means(data, column, group)?;
    group_mean_center(data, column, group, within)?;
    data.add_column(
        between,
        Column::Numeric(m.iter().map(|m| m.map(|m| m - grand)).collect()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centring_by_hand() {
        let mut d = Data::new()
            .with_numeric_opt(
                "x",
                vec![Some(1.0), Some(3.0), Some(10.0), None, Some(14.0)],
            )
            .unwrap()
            .with_categorical("g", vec!["a", "a", "b", "b", "b"])
            .unwrap();
        assert_eq!(grand_mean_center(&mut d, "x", "x_c").unwrap(), 7.0);
        group_mean_center(&mut d, "x", "g", "x_w").unwrap();
        assert_eq!(
            d.numeric("x_w").unwrap(),
            [Some(-1.0), Some(1.0), Some(-2.0), None, Some(2.0)]
        );
        within_between(&mut d, "x", "g", "w", "b").unwrap();
        // cluster means 2 and 12, grand mean 7
        assert_eq!(
            d.numeric("b").unwrap(),
            [Some(-5.0), Some(-5.0), Some(5.0), Some(5.0), Some(5.0)]
        );
        assert!(group_mean_center(&mut d, "x", "nope", "z").is_err());
        assert!(matches!(
            grand_mean_center(&mut d, "x", "x_c"),
            Err(Error::DuplicateColumn { .. })
        ));
    }
}
