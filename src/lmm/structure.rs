//! The random-effects structure and the one-off cross-products of `[Z X y]`.
//!
//! Terms are sorted by decreasing number of levels (stable), as lme4 orders them, so θ comes in
//! lme4's order. The first term's part of `[Z X y]'[Z X y]` is kept per level: a q₁ × q₁ block
//! `Z₁ⱼ'Z₁ⱼ` and the few rows of the other columns that level touches (`Aⱼ`, m_j × q₁).
//! Everything else — other random terms, X and y — is one dense symmetric block `A_rr`.

use crate::data::{Column, Data, Factor};
use crate::error::{Error, Result};
use crate::formula::columns::ModelColumns;
use crate::formula::design::Design;
use crate::formula::{Formula, RandomTerm, SharedFrame};
use nalgebra::{DMatrix, DVector};

/// One random-effect term on the rows used.
#[derive(Debug, Clone)]
pub(crate) struct ReTerm {
    /// Grouping factor name as lme4 prints it.
    pub group: String,
    /// Level labels of the grouping factor, in order.
    pub levels: std::sync::Arc<Vec<String>>,
    /// Level index of each row used.
    pub codes: Vec<u32>,
    /// Names of the random effects (`(Intercept)`, `Days`).
    pub effects: Vec<String>,
    /// Random-effect model matrix, n × q.
    pub z: Zmat,
    /// How new data are coded for this term (predictions).
    pub coder: std::sync::Arc<crate::predict::ReCoder>,
}

/// A random term's model matrix: stored, or — for a random intercept, the most common term —
/// known to be a column of ones and not stored (8 bytes a row saved on large data).
#[derive(Debug, Clone)]
pub(crate) enum Zmat {
    /// n × 1, every entry 1.
    Ones,
    /// n × q.
    Dense(DMatrix<f64>),
}

impl Zmat {
    /// Entry (row `i`, effect `c`).
    #[inline]
    pub fn at(&self, i: usize, c: usize) -> f64 {
        match self {
            Zmat::Ones => 1.0,
            Zmat::Dense(z) => z[(i, c)],
        }
    }

    /// Column `c`, `None` for a column of ones.
    pub fn col(&self, c: usize) -> Option<&[f64]> {
        match self {
            Zmat::Ones => None,
            Zmat::Dense(z) => {
                let n = z.nrows();
                Some(&z.as_slice()[c * n..(c + 1) * n])
            }
        }
    }
}

impl ReTerm {
    pub fn q(&self) -> usize {
        self.effects.len()
    }
    pub fn nlevels(&self) -> usize {
        self.levels.len()
    }
    /// Number of θ entries: the lower triangle of a q × q factor.
    pub fn ntheta(&self) -> usize {
        self.q() * (self.q() + 1) / 2
    }
}

/// Per level of the first term: its block of Z₁'Z₁ and its rows of the other columns, all
/// levels in three flat arrays (one allocation each, not three per level).
#[derive(Debug, Clone, Default)]
pub(crate) struct Levels1 {
    q1: usize,
    /// Level j's rows are `rows[start[j]..start[j + 1]]` (length: levels + 1).
    start: Vec<usize>,
    /// Row indices into the dense block, per level ascending (random rows, then X, then y).
    rows: Vec<usize>,
    /// Z₁ⱼ'Z₁ⱼ per level, q₁ × q₁ column-major, level j at `j q₁²`.
    a11: Vec<f64>,
    /// [Z_r X y]ⱼ' Z₁ⱼ restricted to the level's rows, m_j × q₁ column-major, at `start[j] q₁`.
    a21: Vec<f64>,
}

/// One level of [`Levels1`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct LevelBlock<'a> {
    /// Z₁ⱼ'Z₁ⱼ (q₁ × q₁, column-major).
    pub a11: &'a [f64],
    /// Row indices into the dense block (ascending; random rows, then X, then y).
    pub rows: &'a [usize],
    /// [Z_r X y]ⱼ' Z₁ⱼ restricted to `rows` (m_j × q₁, column-major).
    pub a21: &'a [f64],
}

impl Levels1 {
    /// Zeroed blocks for levels with the given rows.
    fn zeroed(q1: usize, level_rows: impl IntoIterator<Item = Vec<usize>>) -> Levels1 {
        let mut start = vec![0];
        let mut rows = Vec::new();
        for r in level_rows {
            rows.extend_from_slice(&r);
            start.push(rows.len());
        }
        let nl = start.len() - 1;
        Levels1 {
            q1,
            a11: vec![0.0; nl * q1 * q1],
            a21: vec![0.0; rows.len() * q1],
            start,
            rows,
        }
    }

    /// Number of levels.
    pub fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    /// Where level j's rows begin in the flat row store (level j's per-row arrays of width q₁,
    /// such as its part of L₂₁, begin at q₁ times this).
    pub fn row_start(&self, j: usize) -> usize {
        self.start[j]
    }

    /// Total rows over the levels.
    pub fn total_rows(&self) -> usize {
        self.rows.len()
    }

    /// The most rows any level has.
    pub fn max_rows(&self) -> usize {
        self.start
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(0)
    }

    /// Level j.
    pub fn level(&self, j: usize) -> LevelBlock<'_> {
        let (a, b) = (self.start[j], self.start[j + 1]);
        let q1 = self.q1;
        LevelBlock {
            a11: &self.a11[j * q1 * q1..(j + 1) * q1 * q1],
            rows: &self.rows[a..b],
            a21: &self.a21[a * q1..b * q1],
        }
    }

    /// The levels in order.
    pub fn iter(&self) -> impl Iterator<Item = LevelBlock<'_>> {
        (0..self.len()).map(|j| self.level(j))
    }
}

/// Everything an evaluation of the objective needs, computed once.
#[derive(Debug, Clone)]
pub(crate) struct Structure {
    pub terms: Vec<ReTerm>,
    pub n: usize,
    pub p: usize,
    /// Offsets of each term ≥ 1 within the dense block's random rows.
    pub offsets: Vec<usize>,
    /// Number of random rows in the dense block (Σ_{k≥1} ℓ_k q_k).
    pub q_rest: usize,
    pub levels1: Levels1,
    /// The dense block of [Z_r X y]'[Z_r X y] (lower triangle valid), size q_rest + p + 1.
    pub a_rr: DMatrix<f64>,
    /// For large dense blocks: the Schur-complement contributions sorted by target.
    pub scatter: Option<Scatter>,
    /// For one term with few effects: per level, the θ-free outer products of its rows (see
    /// [`Outer`]).
    pub outer: Option<Outer>,
}

/// The Schur update of a single-term model, Σⱼ Wⱼ Wⱼᵀ with Wⱼ = Aⱼ T L₁₁ⱼ⁻ᵀ, equals
/// Σⱼ Aⱼ Mⱼ Aⱼᵀ with the small symmetric Mⱼ = T Bⱼ⁻¹ Tᵀ. The products of Aⱼ's columns do not
/// depend on θ, so they are formed once: per level and per pair a ≤ b of effects, the packed
/// lower triangle of Aⱼ[:, a] Aⱼ[:, b]ᵀ + Aⱼ[:, b] Aⱼ[:, a]ᵀ (the first term alone for a = b).
/// An evaluation is then one contiguous multiply-add per pair and level, with no scattered
/// writes into the dense block.
#[derive(Debug, Clone)]
pub(crate) struct Outer {
    /// The pairs (a, b), a ≤ b, in storage order.
    pub pairs: Vec<(usize, usize)>,
    /// Length of one packed lower triangle (dim (dim + 1) / 2).
    pub len: usize,
    /// Pair k, packed entry e, level j at `(k · len + e) · levels + j` (levels innermost, so
    /// each entry of the update is a dot product with the per-level weights).
    pub products: Vec<f64>,
}

/// Single-term models with at most this many effects per level use [`Outer`].
const OUTER_MAX_Q: usize = 3;

/// … and at most this many stored values (32 MiB).
const OUTER_MAX_VALUES: usize = 1 << 22;

fn build_outer(levels: &Levels1, q1: usize, dim: usize) -> Option<Outer> {
    let pairs: Vec<(usize, usize)> = (0..q1).flat_map(|a| (a..q1).map(move |b| (a, b))).collect();
    let len = dim * (dim + 1) / 2;
    let total = levels.len().checked_mul(pairs.len())?.checked_mul(len)?;
    if q1 > OUTER_MAX_Q || total > OUTER_MAX_VALUES {
        return None;
    }
    let nl = levels.len();
    let mut products = vec![0.0; total];
    for (j, lev) in levels.iter().enumerate() {
        // One term: every level's rows are the whole dense block, in order.
        debug_assert_eq!(lev.rows.len(), dim);
        let col = |a: usize| &lev.a21[a * dim..(a + 1) * dim];
        for (k, &(a, b)) in pairs.iter().enumerate() {
            let (ca, cb) = (col(a), col(b));
            let mut e = 0;
            for s in 0..dim {
                for r in s..dim {
                    products[(k * len + e) * nl + j] = if a == b {
                        ca[r] * ca[s]
                    } else {
                        ca[r] * cb[s] + cb[r] * ca[s]
                    };
                    e += 1;
                }
            }
        }
    }
    Some(Outer {
        pairs,
        len,
        products,
    })
}

/// The Schur update Σⱼ WⱼWⱼ' for large dense blocks (crossed designs such as InstEval touch
/// ~10⁶ scattered entries per evaluation), organized by dense column: for column r, the levels
/// whose rows include r and r's position among them. Column r of the update is then
/// Σ over those levels of w_{j,r} · (w_j from r's position on): contiguous reads of each
/// level's rows and writes into one column of the block, which stays in cache.
#[derive(Debug, Clone)]
pub(crate) struct Scatter {
    /// Start of each level's rows in the flat row store.
    pub level_start: Vec<usize>,
    /// For dense column r, its entries are `by_col[col_start[r]..col_start[r + 1]]`.
    pub col_start: Vec<usize>,
    /// (level, position of the column's row within the level's rows).
    pub by_col: Vec<(u32, u32)>,
    /// Every level's dense rows, concatenated in level order (aligned with the row store).
    pub rows: Vec<u32>,
}

/// Dense blocks at least this wide use the column-organized update.
const SCATTER_MIN_DIM: usize = 256;

fn build_scatter(levels: &Levels1, dim: usize) -> Scatter {
    let mut level_start = Vec::with_capacity(levels.len() + 1);
    let mut total = 0;
    let mut count = vec![0usize; dim + 1];
    for l in levels.iter() {
        level_start.push(total);
        total += l.rows.len();
        for &r in l.rows {
            count[r + 1] += 1;
        }
    }
    level_start.push(total);
    for r in 0..dim {
        count[r + 1] += count[r];
    }
    let col_start = count.clone();
    let mut by_col = vec![(0u32, 0u32); total];
    let rows: Vec<u32> = levels.rows.iter().map(|&r| r as u32).collect();
    let mut fill = count;
    for (j, l) in levels.iter().enumerate() {
        for (pos, &r) in l.rows.iter().enumerate() {
            by_col[fill[r]] = (j as u32, pos as u32);
            fill[r] += 1;
        }
    }
    Scatter {
        level_start,
        col_start,
        by_col,
        rows,
    }
}

fn grouping_factor(
    data: &Data,
    vars: &[String],
    rows: &[usize],
) -> Result<(Vec<String>, Vec<u32>)> {
    // Per variable: labels and codes; numeric columns become factors (lme4 does the same).
    let mut parts: Vec<std::borrow::Cow<'_, Factor>> = Vec::new();
    for v in vars {
        let f = match data.column(v)? {
            Column::Categorical(f) => std::borrow::Cow::Borrowed(f),
            Column::Numeric(x) => std::borrow::Cow::Owned(Factor::from_numbers(x)),
        };
        parts.push(f);
    }
    // Interaction levels ordered with the first variable varying slowest (R's `f1:f2`);
    // unused combinations dropped. Keys are mixed-radix integers, so this is O(n) plus a sort
    // of the distinct keys only.
    let mut radix: u128 = 1;
    for f in &parts {
        radix = radix.saturating_mul(f.levels().len().max(1) as u128);
    }
    if radix > u64::MAX as u128 {
        return Err(Error::Model(format!(
            "the grouping factor {} has too many level combinations",
            vars.join(":")
        )));
    }
    let key = |r: usize| -> u64 {
        parts.iter().fold(0u64, |k, f| {
            k * f.levels().len() as u64 + u64::from(f.codes()[r].expect("complete rows"))
        })
    };
    let keys: Vec<u64> = rows.iter().map(|&r| key(r)).collect();
    // The distinct keys in increasing order: a presence table when the key range is modest
    // (always for one factor), a sort of the keys otherwise.
    let dense = radix <= (4 * rows.len()).max(1 << 16) as u128;
    let distinct: Vec<u64> = if dense {
        let mut seen = vec![false; radix as usize];
        for &k in &keys {
            seen[k as usize] = true;
        }
        (0..radix as u64).filter(|&k| seen[k as usize]).collect()
    } else {
        let mut d = keys.clone();
        d.sort_unstable();
        d.dedup();
        d
    };
    let labels = if let [f] = parts.as_slice() {
        // One variable: its labels as they are.
        distinct
            .iter()
            .map(|&k| f.levels()[k as usize].clone())
            .collect()
    } else {
        distinct
            .iter()
            .map(|&k| {
                let mut rem = k;
                let mut parts_rev: Vec<&str> = Vec::with_capacity(parts.len());
                for f in parts.iter().rev() {
                    let nl = f.levels().len() as u64;
                    parts_rev.push(&f.levels()[(rem % nl) as usize]);
                    rem /= nl;
                }
                parts_rev.reverse();
                parts_rev.join(":")
            })
            .collect()
    };
    let codes = if distinct.len() as u64 == *distinct.last().unwrap_or(&0) + 1 {
        keys.iter().map(|&k| k as u32).collect()
    } else if dense {
        let mut index = vec![0u32; radix as usize];
        for (i, &k) in distinct.iter().enumerate() {
            index[k as usize] = i as u32;
        }
        keys.iter().map(|&k| index[k as usize]).collect()
    } else {
        keys.iter()
            .map(|k| distinct.binary_search(k).expect("present") as u32)
            .collect()
    };
    Ok((labels, codes))
}

pub(crate) fn build_term(
    rt: &RandomTerm,
    data: &Data,
    rows: &[usize],
    transforms: &[crate::formula::functions::Bound],
) -> Result<ReTerm> {
    let group = rt.group_name();
    let (levels, codes) = grouping_factor(data, &rt.group, rows)?;
    let design = Design::new_with(&rt.effects, data, rows, transforms.to_vec())?;
    let effects = design.column_names().to_vec();
    let z = if design.has_intercept() && effects.len() == 1 {
        Zmat::Ones
    } else {
        Zmat::Dense(design.matrix(data, rows)?)
    };
    let term_text = format!(
        "({} | {group})",
        if effects.is_empty() {
            "0".to_string()
        } else {
            effects.join(" + ")
        }
    );
    if levels.len() < 2 {
        return Err(Error::Term {
            term: term_text,
            message: format!(
                "the grouping factor '{group}' has {} level in the rows used; a random effect needs at least two sampled levels",
                levels.len()
            ),
        });
    }
    let n = rows.len();
    if levels.len() >= n {
        return Err(Error::Term {
            term: term_text,
            message: format!(
                "the grouping factor '{group}' has {} levels for {n} observations; it must have fewer levels than observations (the random effect is confounded with the residual)",
                levels.len()
            ),
        });
    }
    if levels.len() * effects.len() >= n && effects.len() > 1 {
        return Err(Error::Term {
            term: term_text,
            message: format!(
                "{} random effects ({} levels × {} effects) for {n} observations; the model is unidentifiable",
                levels.len() * effects.len(),
                levels.len(),
                effects.len()
            ),
        });
    }
    let coder = std::sync::Arc::new(crate::predict::ReCoder {
        group: group.clone(),
        vars: rt.group.clone(),
        design,
    });
    Ok(ReTerm {
        group,
        levels: std::sync::Arc::new(levels),
        codes,
        effects,
        z,
        coder,
    })
}

/// Σᵢ aᵢbᵢ with four partial sums (vectorizes; the order differs from a plain loop only in
/// rounding).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// One grouping term: the dense block is [X y]'[X y] (column dot products) and every level
/// touches exactly the X and y rows, so the per-level blocks are accumulated column by column
/// (sequential reads, writes into a small per-level buffer) without copying the data.
fn single_term_pass(
    t1: &ReTerm,
    x: &ModelColumns,
    y: &DVector<f64>,
    a_rr: &mut DMatrix<f64>,
) -> Levels1 {
    let (n, p) = (y.len(), x.ncols());
    let cols: Vec<&[f64]> = (0..p)
        .map(|j| x.col(j))
        .chain(std::iter::once(y.as_slice()))
        .collect();
    for a in 0..=p {
        for b in 0..=a {
            let v = dot(cols[a], cols[b]);
            a_rr[(a, b)] = v;
            a_rr[(b, a)] = v;
        }
    }
    let q1 = t1.q();
    let nl = t1.nlevels();
    let m = p + 1;
    let codes = &t1.codes;
    // a11: nl × q1 × q1 and a21: nl × m × q1, both flat; one pass over the rows, each row's
    // products written to its level's consecutive slots.
    let mut a11 = vec![0.0; nl * q1 * q1];
    let mut a21 = vec![0.0; nl * m * q1];
    let zcols: Vec<&[f64]> = match &t1.z {
        Zmat::Ones => Vec::new(),
        Zmat::Dense(z) => (0..q1).map(|c| &z.as_slice()[c * n..(c + 1) * n]).collect(),
    };
    match q1 {
        _ if zcols.is_empty() => accumulate_intercepts(codes, &cols, &mut a11, &mut a21),
        1 => accumulate_levels::<1>(codes, &cols, &zcols, &mut a11, &mut a21),
        2 => accumulate_levels::<2>(codes, &cols, &zcols, &mut a11, &mut a21),
        _ => {
            let mut row = vec![0.0; m];
            let mut zi = vec![0.0; q1];
            for (i, &code) in codes.iter().enumerate() {
                let l = code as usize;
                for (v, col) in row.iter_mut().zip(&cols) {
                    *v = col[i];
                }
                for (z, zc) in zi.iter_mut().zip(&zcols) {
                    *z = zc[i];
                }
                let b11 = &mut a11[l * q1 * q1..(l + 1) * q1 * q1];
                let b21 = &mut a21[l * m * q1..(l + 1) * m * q1];
                for (c, zc) in zi.iter().enumerate() {
                    for (b, zb) in zi.iter().enumerate() {
                        b11[b + c * q1] += zb * zc;
                    }
                    for (out, v) in b21[c * m..(c + 1) * m].iter_mut().zip(&row) {
                        *out += v * zc;
                    }
                }
            }
        }
    }
    // Every level touches all of X and y: rows 0..m each.
    Levels1 {
        q1,
        start: (0..=nl).map(|l| l * m).collect(),
        rows: (0..nl).flat_map(|_| 0..m).collect(),
        a11,
        a21,
    }
}

/// The per-level sums of [`single_term_pass`] for a random intercept (z = 1): counts and
/// column sums per level.
fn accumulate_intercepts(codes: &[u32], cols: &[&[f64]], a11: &mut [f64], a21: &mut [f64]) {
    let m = cols.len();
    for &code in codes {
        a11[code as usize] += 1.0;
    }
    for (r, col) in cols.iter().enumerate() {
        for (&code, &v) in codes.iter().zip(col.iter()) {
            a21[code as usize * m + r] += v;
        }
    }
}

/// The per-level sums of [`single_term_pass`] for a term of Q effects known at compile time
/// (its inner loops unrolled): a11 is levels × Q × Q, a21 levels × m × Q, both column-major
/// per level.
fn accumulate_levels<const Q: usize>(
    codes: &[u32],
    cols: &[&[f64]],
    zcols: &[&[f64]],
    a11: &mut [f64],
    a21: &mut [f64],
) {
    let m = cols.len();
    for (i, &code) in codes.iter().enumerate() {
        let l = code as usize;
        let mut zi = [0.0; Q];
        for (z, zc) in zi.iter_mut().zip(zcols) {
            *z = zc[i];
        }
        let b11 = &mut a11[l * Q * Q..(l + 1) * Q * Q];
        for c in 0..Q {
            for b in 0..Q {
                b11[b + c * Q] += zi[b] * zi[c];
            }
        }
        let b21 = &mut a21[l * m * Q..(l + 1) * m * Q];
        for (r, col) in cols.iter().enumerate() {
            let v = col[i];
            for c in 0..Q {
                b21[r + c * m] += v * zi[c];
            }
        }
    }
}

/// Several terms: one pass over the observations in storage order, row by row, into the dense
/// block (other random terms, X, y) and into the first term's per-level blocks.
fn multi_term_pass(
    terms: &[ReTerm],
    offsets: &[usize],
    q_rest: usize,
    x: &ModelColumns,
    y: &DVector<f64>,
    a_rr: &mut DMatrix<f64>,
) -> Levels1 {
    let (n, p) = (y.len(), x.ncols());
    let xrow = q_rest; // first X row in the dense block
    let yrow = q_rest + p;
    // Row-major copies, so that the per-level pass below (which visits rows grouped by
    // level, not in storage order) reads one contiguous row per observation.
    let xc = x.columns();
    let xc = &xc;
    let xy_rm: Vec<f64> = (0..n)
        .flat_map(|i| (0..p).map(move |j| xc[j][i]).chain(std::iter::once(y[i])))
        .collect();
    let z_rm: Vec<Vec<f64>> = terms
        .iter()
        .map(|t| {
            (0..n)
                .flat_map(|i| (0..t.q()).map(move |c| t.z.at(i, c)))
                .collect()
        })
        .collect();
    // Dense row index and value of the full [Z_r X y] row i, as (index, value) pairs.
    let dense_entries = |i: usize, out: &mut Vec<(usize, f64)>| {
        out.clear();
        for (k, t) in terms.iter().enumerate().skip(1) {
            let q = t.q();
            let base = offsets[k] + t.codes[i] as usize * q;
            for c in 0..q {
                out.push((base + c, z_rm[k][i * q + c]));
            }
        }
        let row = &xy_rm[i * (p + 1)..(i + 1) * (p + 1)];
        for (j, v) in row.iter().enumerate() {
            out.push((xrow + j, *v));
        }
    };
    // Dense block: Σ_i e_i e_i' over the sparse row entries (lower triangle).
    let dim = a_rr.nrows();
    let mut entries = Vec::with_capacity(dim.min(64));
    for i in 0..n {
        dense_entries(i, &mut entries);
        for (a, &(ia, va)) in entries.iter().enumerate() {
            for &(ib, vb) in &entries[..=a] {
                let (r, c) = if ia >= ib { (ia, ib) } else { (ib, ia) };
                a_rr[(r, c)] += va * vb;
            }
        }
    }
    a_rr.fill_upper_triangle_with_lower_triangle();
    // First term, per level: the rows of the other columns each level touches, then one
    // pass over the observations in storage order accumulating into per-level blocks (which
    // stay in cache), rather than a pass per level over scattered rows.
    let t1 = &terms[0];
    let q1 = t1.q();
    let nl = t1.nlevels();
    let mut level_rows: Vec<Vec<usize>> = vec![Vec::new(); nl];
    for i in 0..n {
        let rows = &mut level_rows[t1.codes[i] as usize];
        for (k, t) in terms.iter().enumerate().skip(1) {
            let base = offsets[k] + t.codes[i] as usize * t.q();
            rows.extend(base..base + t.q());
        }
    }
    for rows in &mut level_rows {
        rows.sort_unstable();
        rows.dedup();
        rows.extend(xrow..=yrow);
    }
    let mut levels1 = Levels1::zeroed(q1, level_rows);
    for i in 0..n {
        let j = t1.codes[i] as usize;
        let (a, b) = (levels1.start[j], levels1.start[j + 1]);
        let mrows = b - a;
        let rows = &levels1.rows[a..b];
        let a11 = &mut levels1.a11[j * q1 * q1..(j + 1) * q1 * q1];
        let a21 = &mut levels1.a21[a * q1..b * q1];
        let z1 = &z_rm[0][i * q1..(i + 1) * q1];
        for c in 0..q1 {
            for r in 0..q1 {
                a11[r + c * q1] += z1[r] * z1[c];
            }
        }
        dense_entries(i, &mut entries);
        // X and y rows sit at the end of `rows` in order; only random rows need a search.
        let n_random = mrows - (p + 1);
        for &(idx, v) in &entries {
            let r = if idx >= xrow {
                n_random + (idx - xrow)
            } else {
                rows.binary_search(&idx).expect("row listed")
            };
            for (c, zc) in z1.iter().enumerate() {
                a21[r + c * mrows] += v * zc;
            }
        }
    }
    levels1
}

/// The largest dense block (random effects of every term after the first, plus the fixed
/// effects and the response) a fit forms: 10,000 rows, 800 MB a copy. A fit keeps the block and
/// its factor, and Satterthwaite's derivatives one more per thread, so beyond this the memory
/// (and the time, cubic in the size) outgrows a workstation.
pub(crate) const MAX_DENSE_DIM: usize = 10_000;

/// The most variance and covariance parameters (θ) a model may have: 120 (fifteen correlated
/// effects in one term, or 120 intercept terms).
pub(crate) const MAX_THETA: usize = 120;

/// Refuse, before anything is allocated, random-effect structures whose dense block would exceed
/// [`MAX_DENSE_DIM`], saying what it would need and what to do instead.
pub(crate) fn check_dense_size(terms: &[ReTerm], p: usize) -> Result<()> {
    let q_rest: usize = terms
        .iter()
        .skip(1)
        .map(|t| t.nlevels().saturating_mul(t.q()))
        .fold(0usize, usize::saturating_add);
    let dim = q_rest.saturating_add(p).saturating_add(1);
    if dim <= MAX_DENSE_DIM {
        return Ok(());
    }
    let bytes = (dim as f64) * (dim as f64) * 8.0;
    let parts: Vec<String> = terms
        .iter()
        .map(|t| format!("'{}' {} levels × {} effects", t.group, t.nlevels(), t.q()))
        .collect();
    Err(Error::Model(format!(
        "the random effects ({}) are crossed: beyond the term with the most levels they need a dense block of {dim} × {dim} ({} a copy, several copies at once), above the {MAX_DENSE_DIM} rows this crate forms; a sparse path for such designs is not available. Fit fewer levels (pool rare ones, or a subset), or, if the factors are in fact nested, code the inner one by its outer level",
        parts.join(", "),
        crate::limits::human_bytes(bytes)
    )))
}

impl Structure {
    /// Build the structure for `formula` on `data` (rows complete in every variable).
    pub fn new(formula: &Formula, frame: &SharedFrame, data: &Data) -> Result<Structure> {
        let rows = &frame.rows;
        let mut terms: Vec<ReTerm> = formula
            .random()
            .iter()
            .map(|rt| build_term(rt, data, rows, frame.design.transforms()))
            .collect::<Result<_>>()?;
        for (i, t) in terms.iter().enumerate() {
            let same = terms[..i]
                .iter()
                .filter(|u| u.group == t.group && u.effects == t.effects)
                .count();
            if same > 0 {
                return Err(Error::Term {
                    term: format!("({} | {})", t.effects.join(" + "), t.group),
                    message: format!(
                        "the same random term appears {} times; its variance is not identified between the copies (write it once)",
                        terms
                            .iter()
                            .filter(|u| u.group == t.group && u.effects == t.effects)
                            .count()
                    ),
                });
            }
        }
        let ntheta: usize = terms.iter().map(ReTerm::ntheta).sum();
        if ntheta > MAX_THETA {
            return Err(Error::Model(format!(
                "the random effects have {ntheta} variance and covariance parameters, more than the {MAX_THETA} this crate estimates (the optimizer's work grows with their square and Satterthwaite's df with their square again): simplify the random part (uncorrelated effects with || or fewer slopes)"
            )));
        }
        terms.sort_by_key(|t| std::cmp::Reverse(t.nlevels()));
        check_dense_size(&terms, frame.x.ncols())?;
        Ok(Self::from_parts(terms, &frame.x, &frame.y))
    }

    /// The one-off pass over the data (sizes already checked by [`check_dense_size`]).
    pub fn from_parts(terms: Vec<ReTerm>, x: &ModelColumns, y: &DVector<f64>) -> Structure {
        let n = y.len();
        let p = x.ncols();
        let mut offsets = vec![0; terms.len()];
        let mut q_rest = 0;
        for (k, t) in terms.iter().enumerate().skip(1) {
            offsets[k] = q_rest;
            q_rest += t.nlevels() * t.q();
        }
        let dim = q_rest + p + 1;
        let mut a_rr = DMatrix::<f64>::zeros(dim, dim);
        let levels1 = if terms.len() == 1 {
            single_term_pass(&terms[0], x, y, &mut a_rr)
        } else {
            multi_term_pass(&terms, &offsets, q_rest, x, y, &mut a_rr)
        };
        let scatter = (dim >= SCATTER_MIN_DIM).then(|| build_scatter(&levels1, dim));
        let outer = if terms.len() == 1 && scatter.is_none() {
            build_outer(&levels1, terms[0].q(), dim)
        } else {
            None
        };
        Structure {
            terms,
            n,
            p,
            offsets,
            q_rest,
            levels1,
            a_rr,
            scatter,
            outer,
        }
    }

    /// Whether X has full column rank by a margin no rounding can blur: the Cholesky factor of
    /// the unit-diagonal scaling of X'X leaves every column a residual share above 10⁻¹⁰ of
    /// its squared norm (R's aliasing rule, `lm`'s tolerance 10⁻⁷ on the norm, is 10⁻¹⁴ on this
    /// scale). `false` means "check with the QR", not "aliased".
    pub fn x_clearly_full_rank(&self) -> bool {
        let (p, x0) = (self.p, self.q_rest);
        let d: Vec<f64> = (0..p).map(|j| self.a_rr[(x0 + j, x0 + j)]).collect();
        if d.iter().any(|v| v.is_nan() || *v <= 0.0 || !v.is_finite()) {
            return false;
        }
        let mut l = DMatrix::<f64>::from_fn(p, p, |i, j| {
            self.a_rr[(x0 + i.max(j), x0 + i.min(j))] / (d[i] * d[j]).sqrt()
        });
        for j in 0..p {
            let mut djj = l[(j, j)];
            for k in 0..j {
                djj -= l[(j, k)] * l[(j, k)];
            }
            if djj.is_nan() || djj <= 1e-10 {
                return false;
            }
            let r = djj.sqrt();
            l[(j, j)] = r;
            for i in j + 1..p {
                let mut s = l[(i, j)];
                for k in 0..j {
                    s -= l[(i, k)] * l[(j, k)];
                }
                l[(i, j)] = s / r;
            }
        }
        true
    }

    /// Total θ length.
    pub fn ntheta(&self) -> usize {
        self.terms.iter().map(ReTerm::ntheta).sum()
    }

    /// lme4's lower bounds: 0 on the diagonal of each factor, −∞ elsewhere.
    pub fn lower_bounds(&self) -> Vec<f64> {
        let mut lb = Vec::with_capacity(self.ntheta());
        for t in &self.terms {
            for c in 0..t.q() {
                for r in c..t.q() {
                    lb.push(if r == c { 0.0 } else { f64::NEG_INFINITY });
                }
            }
        }
        lb
    }

    /// lme4's starting point: identity factors.
    pub fn initial_theta(&self) -> Vec<f64> {
        self.lower_bounds()
            .iter()
            .map(|&b| if b == 0.0 { 1.0 } else { 0.0 })
            .collect()
    }

    /// [`Structure::factors`] into existing matrices of the right sizes.
    pub fn factors_into(&self, theta: &[f64], out: &mut [DMatrix<f64>]) {
        let mut at = 0;
        for (t, m) in self.terms.iter().zip(out.iter_mut()) {
            let q = t.q();
            for c in 0..q {
                for r in c..q {
                    m[(r, c)] = theta[at];
                    at += 1;
                }
            }
        }
    }

    /// The lower-triangular factor T_k for each term, from θ (column-major lower triangle).
    pub fn factors(&self, theta: &[f64]) -> Vec<DMatrix<f64>> {
        let mut at = 0;
        self.terms
            .iter()
            .map(|t| {
                let q = t.q();
                let mut m = DMatrix::<f64>::zeros(q, q);
                for c in 0..q {
                    for r in c..q {
                        m[(r, c)] = theta[at];
                        at += 1;
                    }
                }
                m
            })
            .collect()
    }
}
