//! `ModelColumns`: a fixed-effects model matrix held column by column, sharing the data's
//! columns where it can.
//!
//! A numeric main effect read on every row, in storage order, with nothing missing is the data
//! column itself: the matrix keeps a reference to it (an `Arc`) instead of a copy. On a
//! 5M-row file with five covariates that is 200 MB not copied. Every other column (the
//! intercept, factor codings, interactions, transformed or subset columns) is computed into
//! one contiguous column-major buffer, as a dense matrix would hold it.

use crate::data::Column;
use nalgebra::DMatrix;
use std::sync::Arc;

/// Where a column's values are.
#[derive(Debug, Clone)]
enum Source {
    /// Column `k` of the owned buffer.
    Owned(usize),
    /// A complete numeric data column, every row in order.
    Shared(Arc<Column>),
}

/// An n × p model matrix as columns: owned (contiguous, column-major) or shared with the data.
#[derive(Debug, Clone)]
pub(crate) struct ModelColumns {
    n: usize,
    owned: Vec<f64>,
    cols: Vec<Source>,
}

impl ModelColumns {
    /// `p` columns of `n` rows; `shared[j]` is the data column that column `j` is, if any. The
    /// other columns are zeros, to be filled through [`ModelColumns::owned_mut`].
    ///
    /// A shared column must be numeric, complete and `n` long (checked in debug builds).
    pub(crate) fn with_shared(n: usize, shared: Vec<Option<Arc<Column>>>) -> ModelColumns {
        let mut k = 0;
        let cols: Vec<Source> = shared
            .into_iter()
            .map(|s| match s {
                Some(c) => {
                    debug_assert!(
                        matches!(&*c, Column::Numeric(v) if v.len() == n && v.complete().is_some())
                    );
                    Source::Shared(c)
                }
                None => {
                    k += 1;
                    Source::Owned(k - 1)
                }
            })
            .collect();
        ModelColumns {
            n,
            owned: vec![0.0; n * k],
            cols,
        }
    }

    /// Number of columns.
    pub(crate) fn ncols(&self) -> usize {
        self.cols.len()
    }

    /// Column `j`'s values.
    pub(crate) fn col(&self, j: usize) -> &[f64] {
        match &self.cols[j] {
            Source::Owned(k) => &self.owned[k * self.n..(k + 1) * self.n],
            Source::Shared(c) => match &**c {
                Column::Numeric(v) => v.values(),
                Column::Categorical(_) => unreachable!("a shared column is numeric"),
            },
        }
    }

    /// Column `j` to fill, or `None` if it is shared with the data.
    pub(crate) fn owned_mut(&mut self, j: usize) -> Option<&mut [f64]> {
        match self.cols[j] {
            Source::Owned(k) => Some(&mut self.owned[k * self.n..(k + 1) * self.n]),
            Source::Shared(_) => None,
        }
    }

    /// Every column as a slice, in order.
    pub(crate) fn columns(&self) -> Vec<&[f64]> {
        (0..self.ncols()).map(|j| self.col(j)).collect()
    }

    /// A dense copy.
    pub(crate) fn to_dense(&self) -> DMatrix<f64> {
        let mut x = DMatrix::<f64>::zeros(self.n, self.ncols());
        for j in 0..self.ncols() {
            x.column_mut(j).copy_from_slice(self.col(j));
        }
        x
    }

    /// The dense matrix, without a copy when nothing is shared.
    pub(crate) fn into_dense(self) -> DMatrix<f64> {
        if self.cols.iter().all(|c| matches!(c, Source::Owned(_))) {
            DMatrix::from_vec(self.n, self.cols.len(), self.owned)
        } else {
            self.to_dense()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ModelColumns;
    use crate::data::Column;
    use std::sync::Arc;

    #[test]
    fn shared_and_owned_columns_read_as_the_dense_matrix() {
        let data = Arc::new(Column::Numeric(
            vec![Some(1.5), Some(-2.0), Some(4.0)].into(),
        ));
        let mut m = ModelColumns::with_shared(3, vec![None, Some(Arc::clone(&data)), None]);
        assert_eq!(m.ncols(), 3);
        assert!(m.owned_mut(1).is_none() && m.owned_mut(0).is_some());
        assert_eq!(m.owned.len(), 6, "two owned columns of 3");
        m.owned_mut(0).unwrap().fill(1.0);
        m.owned_mut(2).unwrap().copy_from_slice(&[7.0, 8.0, 9.0]);
        let dense = m.to_dense();
        assert_eq!(
            dense,
            nalgebra::DMatrix::from_row_slice(3, 3, &[1., 1.5, 7., 1., -2., 8., 1., 4., 9.])
        );
        assert_eq!(
            m.columns(),
            [&[1.0, 1.0, 1.0][..], &[1.5, -2.0, 4.0], &[7.0, 8.0, 9.0]]
        );
        assert_eq!(m.clone().into_dense(), dense);
        // Nothing shared: the buffer becomes the matrix.
        let mut o = ModelColumns::with_shared(2, vec![None, None]);
        o.owned_mut(1).unwrap().copy_from_slice(&[3.0, 4.0]);
        assert_eq!(
            o.into_dense(),
            nalgebra::DMatrix::from_column_slice(2, 2, &[0., 0., 3., 4.])
        );
    }
}
