//! [`NumericColumn`]: numbers stored as `f64` with a missing-value bit mask.
//!
//! A column of `Option<f64>` takes 16 bytes a value; this one takes 8 and one bit, and hands the
//! fits a plain `&[f64]` when nothing is missing ([`NumericColumn::complete`]). Its public face is
//! still `Option<f64>`: [`NumericColumn::get`], [`NumericColumn::iter`] and the conversions from
//! and to `Vec<Option<f64>>`, and it serializes as a list of numbers and nulls, as before.

/// A numeric column: `f64` values with a missing-value mask (`None` is a missing value).
///
/// # Examples
///
/// ```
/// use securebase::NumericColumn;
/// let x = NumericColumn::from(vec![Some(1.5), None, Some(3.0)]);
/// assert_eq!(x.len(), 3);
/// assert_eq!(x.get(1), None);
/// assert_eq!(x.n_missing(), 1);
/// assert_eq!(x.iter().flatten().sum::<f64>(), 4.5);
/// assert!(x.complete().is_none());
///
/// let y: NumericColumn = vec![1.0, 2.0].into();
/// assert_eq!(y.complete(), Some(&[1.0, 2.0][..]));
/// ```
#[derive(Clone, Default)]
pub struct NumericColumn {
    /// The values, NaN where missing (so that a value read without its mask is never a number).
    values: Vec<f64>,
    /// Bit `i % 64` of word `i / 64` is set when value `i` is missing. Words past the last
    /// missing value are not stored: a mask shorter than the column means "present".
    missing: Vec<u64>,
    /// How many bits of `missing` are set.
    n_missing: usize,
}

impl NumericColumn {
    /// An empty column.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty column with room for `n` values.
    pub fn with_capacity(n: usize) -> Self {
        NumericColumn {
            values: Vec::with_capacity(n),
            ..Self::default()
        }
    }

    /// Number of values (missing ones included).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the column has no values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Number of missing values.
    pub fn n_missing(&self) -> usize {
        self.n_missing
    }

    /// Whether value `i` is missing.
    ///
    /// # Panics
    /// If `i` is out of bounds, as slice indexing does.
    pub fn is_missing(&self, i: usize) -> bool {
        assert!(
            i < self.values.len(),
            "index {i} out of bounds for a column of {} values",
            self.values.len()
        );
        self.missing
            .get(i / 64)
            .is_some_and(|w| (w >> (i % 64)) & 1 == 1)
    }

    /// Value `i`, `None` if missing.
    ///
    /// # Panics
    /// If `i` is out of bounds, as slice indexing does.
    #[inline]
    pub fn get(&self, i: usize) -> Option<f64> {
        let v = self.values[i];
        if self.n_missing > 0 && self.is_missing(i) {
            None
        } else {
            Some(v)
        }
    }

    /// The stored values, NaN where a value is missing (check [`NumericColumn::is_missing`]
    /// or use [`NumericColumn::complete`] unless NaN is what a missing value should be).
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The values as a slice when none is missing.
    pub fn complete(&self) -> Option<&[f64]> {
        (self.n_missing == 0).then_some(self.values.as_slice())
    }

    /// The values in order, `None` where missing.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            column: self,
            front: 0,
            back: self.values.len(),
        }
    }

    /// Append a value (`None` for a missing one).
    #[inline]
    pub fn push(&mut self, value: Option<f64>) {
        match value {
            Some(v) => self.values.push(v),
            None => {
                let i = self.values.len();
                self.values.push(f64::NAN);
                let word = i / 64;
                if self.missing.len() <= word {
                    self.missing.resize(word + 1, 0);
                }
                self.missing[word] |= 1 << (i % 64);
                self.n_missing += 1;
            }
        }
    }

    /// Reserve room for `additional` more values.
    pub fn reserve(&mut self, additional: usize) {
        self.values.reserve(additional);
    }

    /// Reserve room for exactly `additional` more values, without aborting if it cannot be had.
    ///
    /// # Errors
    /// The allocator's error, as [`Vec::try_reserve_exact`] returns it.
    pub fn try_reserve_exact(
        &mut self,
        additional: usize,
    ) -> std::result::Result<(), std::collections::TryReserveError> {
        self.values.try_reserve_exact(additional)
    }

    /// Release the room reserved beyond the values held (as [`Vec::shrink_to_fit`]).
    pub fn shrink_to_fit(&mut self) {
        self.values.shrink_to_fit();
        self.missing.shrink_to_fit();
    }

    /// The values as `Option<f64>`s.
    pub fn to_vec(&self) -> Vec<Option<f64>> {
        self.iter().collect()
    }

    /// The values at positions `rows`, in that order.
    pub(crate) fn select(&self, rows: &[usize]) -> NumericColumn {
        if self.n_missing == 0 {
            return NumericColumn {
                values: rows.iter().map(|&r| self.values[r]).collect(),
                ..Self::default()
            };
        }
        let mut out = NumericColumn::with_capacity(rows.len());
        for &r in rows {
            out.push(self.get(r));
        }
        out
    }
}

/// The values of a [`NumericColumn`] in order, `None` where missing.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    column: &'a NumericColumn,
    front: usize,
    back: usize,
}

impl Iterator for Iter<'_> {
    type Item = Option<f64>;

    #[inline]
    fn next(&mut self) -> Option<Option<f64>> {
        (self.front < self.back).then(|| {
            self.front += 1;
            self.column.get(self.front - 1)
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Option<f64>> {
        (self.front < self.back).then(|| {
            self.back -= 1;
            self.column.get(self.back)
        })
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a NumericColumn {
    type Item = Option<f64>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<Option<f64>> for NumericColumn {
    fn from_iter<I: IntoIterator<Item = Option<f64>>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut out = NumericColumn::with_capacity(iter.size_hint().0);
        for v in iter {
            out.push(v);
        }
        out
    }
}

impl FromIterator<f64> for NumericColumn {
    fn from_iter<I: IntoIterator<Item = f64>>(iter: I) -> Self {
        NumericColumn {
            values: iter.into_iter().collect(),
            ..Self::default()
        }
    }
}

impl Extend<Option<f64>> for NumericColumn {
    fn extend<I: IntoIterator<Item = Option<f64>>>(&mut self, iter: I) {
        for v in iter {
            self.push(v);
        }
    }
}

impl From<Vec<Option<f64>>> for NumericColumn {
    fn from(v: Vec<Option<f64>>) -> Self {
        v.into_iter().collect()
    }
}

impl From<&[Option<f64>]> for NumericColumn {
    fn from(v: &[Option<f64>]) -> Self {
        v.iter().copied().collect()
    }
}

impl From<Vec<f64>> for NumericColumn {
    fn from(values: Vec<f64>) -> Self {
        NumericColumn {
            values,
            ..Self::default()
        }
    }
}

impl From<NumericColumn> for Vec<Option<f64>> {
    fn from(c: NumericColumn) -> Self {
        c.to_vec()
    }
}

/// Equal when the lengths, the missing positions and the values elsewhere are equal (as for
/// `Vec<Option<f64>>`: a NaN value, which a [`Data`](crate::Data) never holds, equals nothing).
impl PartialEq for NumericColumn {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.n_missing == other.n_missing
            && self.iter().eq(other.iter())
    }
}

impl PartialEq<[Option<f64>]> for NumericColumn {
    fn eq(&self, other: &[Option<f64>]) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().copied())
    }
}

impl PartialEq<Vec<Option<f64>>> for NumericColumn {
    fn eq(&self, other: &Vec<Option<f64>>) -> bool {
        *self == **other
    }
}

impl<const N: usize> PartialEq<[Option<f64>; N]> for NumericColumn {
    fn eq(&self, other: &[Option<f64>; N]) -> bool {
        *self == other[..]
    }
}

impl<const N: usize> PartialEq<[Option<f64>; N]> for &NumericColumn {
    fn eq(&self, other: &[Option<f64>; N]) -> bool {
        **self == other[..]
    }
}

impl PartialEq<Vec<Option<f64>>> for &NumericColumn {
    fn eq(&self, other: &Vec<Option<f64>>) -> bool {
        **self == **other
    }
}

/// Printed as the list of `Option<f64>` it stands for.
impl std::fmt::Debug for NumericColumn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Serialized as a list of numbers and nulls (missing values), as `Vec<Option<f64>>` is.
#[cfg(feature = "serde")]
impl serde::Serialize for NumericColumn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for NumericColumn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Vec::<Option<f64>>::deserialize(d).map(NumericColumn::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation agrees with the `Vec<Option<f64>>` it stands for, with missing values
    /// at word boundaries, in the first and last word and nowhere.
    #[test]
    fn agrees_with_a_vector_of_options() {
        for n in [0usize, 1, 63, 64, 65, 130] {
            for pattern in 0..4 {
                let v: Vec<Option<f64>> = (0..n)
                    .map(|i| {
                        let miss = match pattern {
                            0 => false,
                            1 => i % 3 == 0,
                            2 => i == 63 || i == 64 || i + 1 == n,
                            _ => true,
                        };
                        (!miss).then_some(i as f64 * 0.5 - 3.0)
                    })
                    .collect();
                let c = NumericColumn::from(v.clone());
                assert_eq!(c.len(), n);
                assert_eq!(c.n_missing(), v.iter().filter(|x| x.is_none()).count());
                assert_eq!(c.to_vec(), v);
                assert_eq!(c.iter().rev().collect::<Vec<_>>(), {
                    let mut r = v.clone();
                    r.reverse();
                    r
                });
                assert_eq!(c.iter().len(), n);
                for (i, x) in v.iter().enumerate() {
                    assert_eq!(c.get(i), *x);
                    assert_eq!(c.is_missing(i), x.is_none());
                    assert_eq!(c.values()[i].is_nan(), x.is_none());
                }
                assert_eq!(c.complete().is_some(), v.iter().all(Option::is_some));
                let rows: Vec<usize> = (0..n).rev().step_by(2).collect();
                let picked: Vec<Option<f64>> = rows.iter().map(|&r| v[r]).collect();
                assert_eq!(c.select(&rows), picked);
                assert_eq!(c, v);
                assert_eq!(c.clone(), c);
            }
        }
        assert_ne!(
            NumericColumn::from(vec![Some(1.0), None]),
            NumericColumn::from(vec![Some(1.0), Some(f64::NAN)])
        );
        assert_eq!(
            format!("{:?}", NumericColumn::from(vec![Some(1.0), None])),
            "[Some(1.0), None]"
        );
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn out_of_bounds_panics_as_a_slice_does() {
        NumericColumn::from(vec![Some(1.0)]).is_missing(1);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serializes_as_numbers_and_nulls() {
        let c = NumericColumn::from(vec![Some(1.5), None, Some(-2.0)]);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "[1.5,null,-2.0]");
        let back: NumericColumn = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }
}
