//! `RowIds`: the origins of a data set's rows, kept without a list while they are 1, 2, …, n.
//!
//! Data read from a file or built from vectors have origins 1..=n; storing them would cost
//! 8 bytes a row (40 MB of a 5M-row file) for numbers that are their own positions. The list
//! exists once rows are selected, sorted or reshaped, and otherwise only if somebody asks for
//! the slice ([`RowIds::as_slice`], behind [`Data::row_ids`](super::Data::row_ids)).

use std::sync::{Arc, OnceLock};

/// Row origins (1-based): `1..=n` unstored, or a shared list.
#[derive(Clone, Default)]
pub(crate) struct RowIds {
    n: usize,
    /// `None` while the origins are 1..=n.
    list: Option<Arc<Vec<usize>>>,
    /// 1..=n, made when the slice is first asked for.
    made: OnceLock<Arc<Vec<usize>>>,
}

impl RowIds {
    /// The origins 1..=n.
    pub(crate) fn sequential(n: usize) -> RowIds {
        RowIds {
            n,
            list: None,
            made: OnceLock::new(),
        }
    }

    /// These origins; a list that is 1..=n is kept as such, unstored.
    pub(crate) fn from_vec(list: Vec<usize>) -> RowIds {
        if list.iter().enumerate().all(|(i, &r)| r == i + 1) {
            RowIds::sequential(list.len())
        } else {
            RowIds {
                n: list.len(),
                list: Some(Arc::new(list)),
                made: OnceLock::new(),
            }
        }
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// No rows.
    pub(crate) fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The origin of row `i` (0-based position). Panics if `i` is out of range, as a slice does.
    pub(crate) fn get(&self, i: usize) -> usize {
        match &self.list {
            Some(l) => l[i],
            None => {
                assert!(i < self.n, "row {i} out of range for {} rows", self.n);
                i + 1
            }
        }
    }

    /// The origins of the rows at `rows` (0-based positions), in that order.
    pub(crate) fn select(&self, rows: &[usize]) -> RowIds {
        RowIds::from_vec(rows.iter().map(|&r| self.get(r)).collect())
    }

    /// The origins as a slice (1..=n is made on the first call and kept).
    pub(crate) fn as_slice(&self) -> &[usize] {
        match &self.list {
            Some(l) => l,
            None => self.made.get_or_init(|| Arc::new((1..=self.n).collect())),
        }
    }

    /// The origins in order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = usize> + '_ {
        (0..self.n).map(move |i| self.get(i))
    }
}

impl PartialEq for RowIds {
    fn eq(&self, other: &RowIds) -> bool {
        self.n == other.n
            && match (&self.list, &other.list) {
                (None, None) => true,
                _ => self.iter().eq(other.iter()),
            }
    }
}

impl std::fmt::Debug for RowIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.list {
            Some(l) => f.debug_list().entries(l.iter()).finish(),
            None => write!(f, "1..={}", self.n),
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for RowIds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for RowIds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Vec::<usize>::deserialize(d).map(RowIds::from_vec)
    }
}

#[cfg(test)]
mod tests {
    use super::RowIds;

    #[test]
    fn sequential_and_listed_origins_agree_with_their_lists() {
        for n in [0usize, 1, 5, 130] {
            let seq = RowIds::sequential(n);
            let list: Vec<usize> = (1..=n).collect();
            assert_eq!(seq.as_slice(), list.as_slice());
            assert_eq!(seq.iter().collect::<Vec<_>>(), list);
            // A list that is 1..=n is not stored.
            let from = RowIds::from_vec(list.clone());
            assert!(from.list.is_none());
            assert_eq!(from, seq);
            let rev: Vec<usize> = (0..n).rev().collect();
            let picked = seq.select(&rev);
            let expect: Vec<usize> = rev.iter().map(|&r| r + 1).collect();
            assert_eq!(picked.as_slice(), expect.as_slice());
            assert_eq!(picked.len(), n);
            if n > 1 {
                assert!(picked.list.is_some());
                assert_ne!(picked, seq);
                assert_eq!(picked.get(0), n);
            }
            assert_eq!(format!("{seq:?}"), format!("1..={n}"));
        }
        assert_eq!(RowIds::from_vec(vec![2, 4]).select(&[1]).as_slice(), [4]);
        assert_ne!(RowIds::sequential(2), RowIds::sequential(3));
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn out_of_range_panics_as_a_slice_does() {
        RowIds::sequential(3).get(3);
    }
}
