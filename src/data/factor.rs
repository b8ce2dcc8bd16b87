//! `Factor`: a categorical variable stored as codes into sorted levels, like R's `factor()`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// A categorical variable: `codes[i]` indexes `levels`, `None` is missing.
///
/// Levels are sorted the way R sorts strings in an English UTF-8 locale (case-insensitive first,
/// lower case before upper case on ties), so the first level, the baseline of treatment
/// contrasts, is the one R would choose.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "FactorParts"))]
pub struct Factor {
    codes: Vec<Option<u32>>,
    levels: Vec<String>,
}

/// A [`Factor`] as serialized, checked by [`Factor::from_codes`] before it becomes one.
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
struct FactorParts {
    codes: Vec<Option<u32>>,
    levels: Vec<String>,
}

impl TryFrom<FactorParts> for Factor {
    type Error = crate::Error;
    fn try_from(p: FactorParts) -> crate::Result<Factor> {
        Factor::from_codes(p.codes, p.levels)
    }
}

/// Compare two level labels as R's `sort()` does in an English UTF-8 locale.
pub fn r_level_order(a: &str, b: &str) -> Ordering {
    let fold = |s: &str| s.chars().flat_map(char::to_lowercase).collect::<String>();
    fold(a).cmp(&fold(b)).then_with(|| {
        // On a case-insensitive tie, lower case sorts first ("a" < "A").
        a.chars()
            .zip(b.chars())
            .map(|(x, y)| match (x.is_lowercase(), y.is_lowercase()) {
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                _ => Ordering::Equal,
            })
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    })
}

impl Factor {
    /// Build from optional strings; levels are the distinct strings, sorted as R sorts them.
    pub fn from_strings(values: &[Option<&str>]) -> Factor {
        let mut levels: Vec<String> = values
            .iter()
            .flatten()
            .map(|s| s.to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        levels.sort_by(|a, b| r_level_order(a, b));
        let index: BTreeMap<&str, u32> = levels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i as u32))
            .collect();
        let codes = values.iter().map(|v| v.map(|s| index[s])).collect();
        Factor { codes, levels }
    }

    /// Build from codes into labels in any order (e.g. first seen): the labels are sorted as R
    /// sorts them and the codes renumbered. Labels must be distinct. The same factor as
    /// [`Factor::from_strings`] on the labels the codes spell, without a string per value.
    pub(crate) fn from_labels(codes: Vec<Option<u32>>, labels: Vec<String>) -> Factor {
        let mut order: Vec<u32> = (0..labels.len() as u32).collect();
        order.sort_by(|&a, &b| r_level_order(&labels[a as usize], &labels[b as usize]));
        let mut rank = vec![0u32; labels.len()];
        for (new, &old) in order.iter().enumerate() {
            rank[old as usize] = new as u32;
        }
        let mut labels: Vec<Option<String>> = labels.into_iter().map(Some).collect();
        let levels = order
            .iter()
            .map(|&o| labels[o as usize].take().unwrap_or_default())
            .collect();
        let codes = codes
            .into_iter()
            .map(|c| c.map(|c| rank[c as usize]))
            .collect();
        Factor { codes, levels }
    }

    /// Build from numbers (R's `factor(x)` on a numeric vector): levels sorted numerically.
    pub fn from_numbers(values: &super::NumericColumn) -> Factor {
        let mut distinct: Vec<f64> = values.iter().flatten().collect();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        let levels = distinct.iter().map(|x| format_number(*x)).collect();
        let codes = values
            .iter()
            .map(|v| v.map(|x| distinct.binary_search_by(|d| d.total_cmp(&x)).unwrap_or(0) as u32))
            .collect();
        Factor { codes, levels }
    }

    /// Build from codes and levels as given (levels are not re-sorted).
    ///
    /// # Errors
    /// [`crate::Error::Argument`] if a code is out of range or levels repeat.
    pub fn from_codes(codes: Vec<Option<u32>>, levels: Vec<String>) -> crate::Result<Factor> {
        let distinct: std::collections::BTreeSet<&String> = levels.iter().collect();
        if distinct.len() != levels.len() {
            return Err(crate::Error::Argument {
                name: "levels".into(),
                message: "levels must be distinct".into(),
            });
        }
        if let Some(bad) = codes
            .iter()
            .flatten()
            .find(|&&c| c as usize >= levels.len())
        {
            return Err(crate::Error::Argument {
                name: "codes".into(),
                message: format!("code {bad} is out of range for {} levels", levels.len()),
            });
        }
        Ok(Factor { codes, levels })
    }

    /// The codes (`None` missing).
    pub fn codes(&self) -> &[Option<u32>] {
        &self.codes
    }

    /// The level labels, in order; the first is the baseline.
    pub fn levels(&self) -> &[String] {
        &self.levels
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The label of value `i`, or `None` if missing.
    pub fn label(&self, i: usize) -> Option<&str> {
        self.codes[i].map(|c| self.levels[c as usize].as_str())
    }

    pub(crate) fn gather(&self, rows: &[Option<usize>]) -> Factor {
        Factor {
            codes: rows.iter().map(|r| r.and_then(|r| self.codes[r])).collect(),
            levels: self.levels.clone(),
        }
    }

    pub(crate) fn select(&self, rows: &[usize]) -> Factor {
        Factor {
            codes: rows.iter().map(|&r| self.codes[r]).collect(),
            levels: self.levels.clone(),
        }
    }
}

/// Format a number as R's `as.character` would for typical data (`1`, `2.5`, `-0.25`).
pub(crate) fn format_number(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_sort_like_r() {
        let f = Factor::from_strings(&[Some("b"), Some("B"), Some("a"), None, Some("A")]);
        assert_eq!(f.levels(), ["a", "A", "b", "B"]);
        assert_eq!(f.codes(), [Some(2), Some(3), Some(0), None, Some(1)]);
        // numeric-looking strings sort as strings, as in R
        let g = Factor::from_strings(&[Some("10"), Some("9")]);
        assert_eq!(g.levels(), ["10", "9"]);
    }

    #[test]
    fn numbers_sort_numerically() {
        let f = Factor::from_numbers(&super::super::NumericColumn::from(vec![
            Some(10.0),
            Some(9.0),
            Some(2.5),
            None,
        ]));
        assert_eq!(f.levels(), ["2.5", "9", "10"]);
        assert_eq!(f.codes(), [Some(2), Some(1), Some(0), None]);
    }
}
