//! A power curve over numbers of therapists, run on one machine or split into shards for a
//! batch scheduler's array jobs and merged back to exactly the one-machine result.
//!
//! Every replicate draws from its own random stream (point `t`'s seed, replicate `i`), and a
//! point's power is a count, so the parts of a split run add up to the whole: `run()` and
//! `merge_shards` of `run_shard(1, n) … run_shard(n, n)` give identical results for any `n`.
//!
//! ```
//! use securebase::simulate::grid::{GridDesign, PowerGrid, merge_shards};
//! use securebase::simulate::power::PowerDesign;
//! let mut design = PowerDesign::study_like();
//! design.multilevel = false; // OLS: quick enough for a doctest
//! let grid = PowerGrid::new(GridDesign::Moderator(design), &[20, 40], 30, 7);
//! let whole = grid.run()?;
//! let shards = (1..=3).map(|k| grid.run_shard(k, 3)).collect::<Result<Vec<_>, _>>()?;
//! assert_eq!(merge_shards(&shards)?, whole);
//! # Ok::<(), securebase::Error>(())
//! ```

use super::binary_power::{BinaryDesign, binary_power_range};
use super::power::{PowerDesign, PowerResult, power_range};
use super::session_power::{SessionPowerDesign, session_power};
use crate::error::{Error, Result};

/// The format tag of a shard file.
pub const SHARD_FORMAT: &str = "securebase-power-shard/1";

/// The model a power grid simulates.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum GridDesign {
    /// Clients in therapists: `y ~ x * z + (1 | therapist)` (or OLS).
    Moderator(PowerDesign),
    /// Sessions in clients in therapists, with drop-out.
    Sessions(SessionPowerDesign),
    /// A binary outcome: `dropout ~ anxiety + (1 | therapist)` (logistic GLMM, or a GLM).
    Binary(BinaryDesign),
}

impl GridDesign {
    fn with_therapists(&self, therapists: usize) -> GridDesign {
        match self {
            GridDesign::Moderator(d) => {
                let mut d = d.clone();
                d.therapists = therapists;
                GridDesign::Moderator(d)
            }
            GridDesign::Sessions(d) => {
                let mut d = d.clone();
                d.therapists = therapists;
                GridDesign::Sessions(d)
            }
            GridDesign::Binary(d) => {
                let mut d = d.clone();
                d.therapists = therapists;
                GridDesign::Binary(d)
            }
        }
    }

    fn validate(&self) -> Result<()> {
        match self {
            GridDesign::Moderator(d) => d.validate(),
            GridDesign::Sessions(d) => d.validate(),
            GridDesign::Binary(d) => d.validate(),
        }
    }

    fn run(&self, start: usize, count: usize, seed: u64) -> Result<PowerResult> {
        match self {
            GridDesign::Moderator(d) => power_range(d, start, count, seed),
            GridDesign::Sessions(d) => session_power(d, start, count, seed),
            GridDesign::Binary(d) => binary_power_range(d, start, count, seed),
        }
    }
}

/// A power curve: the design at each number of therapists, `replicates` each, from `seed`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct PowerGrid {
    /// The model (its number of therapists is replaced by each point's).
    pub design: GridDesign,
    /// Numbers of therapists, one point each.
    pub therapists: Vec<usize>,
    /// Replicates per point.
    pub replicates: usize,
    /// Master seed; point `t` uses the stream seed derived from it and `t`.
    pub seed: u64,
}

/// One shard's share of a point: replicates `start .. start + count`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct ShardPart {
    /// The point's number of therapists.
    pub therapists: usize,
    /// First replicate.
    pub start: usize,
    /// Number of replicates.
    pub count: usize,
    /// Their outcome.
    pub result: PowerResult,
}

/// What one array job computed: shard `shard` of `of` (1-based), with the grid it belongs to.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct PowerShard {
    /// [`SHARD_FORMAT`].
    pub format: String,
    /// The whole grid.
    pub grid: PowerGrid,
    /// This shard's number, from 1.
    pub shard: usize,
    /// The number of shards.
    pub of: usize,
    /// The replicate ranges it ran.
    pub parts: Vec<ShardPart>,
}

impl PowerGrid {
    /// A grid of `replicates` per number of therapists.
    pub fn new(
        design: GridDesign,
        therapists: &[usize],
        replicates: usize,
        seed: u64,
    ) -> PowerGrid {
        PowerGrid {
            design,
            therapists: therapists.to_vec(),
            replicates,
            seed,
        }
    }

    /// The seed of the point with `therapists` therapists (as [`super::power::power_curve`]).
    pub fn point_seed(&self, therapists: usize) -> u64 {
        self.seed ^ (therapists as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// Check the grid: a valid design at every point, at least one point and replicate, no
    /// point twice.
    ///
    /// # Errors
    /// [`Error::Argument`] naming the problem; the design's own errors.
    pub fn validate(&self) -> Result<()> {
        let arg = |name: &str, message: String| Error::Argument {
            name: name.into(),
            message,
        };
        if self.therapists.is_empty() {
            return Err(arg("therapists", "give at least one number".into()));
        }
        if self.replicates == 0 {
            return Err(arg("replicates", "need at least one".into()));
        }
        let total = self.therapists.len().checked_mul(self.replicates);
        if total.is_none_or(|t| t > u32::MAX as usize) {
            return Err(arg(
                "replicates",
                format!(
                    "{} points × {} replicates is too many",
                    self.therapists.len(),
                    self.replicates
                ),
            ));
        }
        for (i, t) in self.therapists.iter().enumerate() {
            if self.therapists[..i].contains(t) {
                return Err(arg("therapists", format!("{t} is listed twice")));
            }
            self.design.with_therapists(*t).validate()?;
        }
        Ok(())
    }

    /// The whole curve on this machine: per number of therapists, its power.
    ///
    /// # Errors
    /// As [`PowerGrid::validate`].
    pub fn run(&self) -> Result<Vec<(usize, PowerResult)>> {
        merge_shards(&[self.run_shard(1, 1)?])
    }

    /// Shard `shard` of `of` (1-based, e.g. `$SLURM_ARRAY_TASK_ID` with `--array=1-N`): the
    /// grid's point × replicate list cut into `of` consecutive pieces of equal size (±1), this
    /// one run. Merge the shards with [`merge_shards`].
    ///
    /// # Errors
    /// [`Error::Argument`] for a shard outside `1..=of` or more shards than replicates in the
    /// grid; as [`PowerGrid::validate`].
    pub fn run_shard(&self, shard: usize, of: usize) -> Result<PowerShard> {
        self.validate()?;
        let total = self.therapists.len() * self.replicates;
        if of == 0 || shard == 0 || shard > of || of > total {
            return Err(Error::Argument {
                name: "shard".into(),
                message: format!(
                    "shard {shard}/{of}: need 1 ≤ shard ≤ number of shards ≤ {total} (points × replicates)"
                ),
            });
        }
        // Replicates lo..hi of the flattened list (point-major).
        let (lo, hi) = ((shard - 1) * total / of, shard * total / of);
        let mut parts = Vec::new();
        for (p, &t) in self.therapists.iter().enumerate() {
            let (a, b) = (p * self.replicates, (p + 1) * self.replicates);
            let (from, to) = (lo.max(a), hi.min(b));
            if from < to {
                let (start, count) = (from - a, to - from);
                let result =
                    self.design
                        .with_therapists(t)
                        .run(start, count, self.point_seed(t))?;
                parts.push(ShardPart {
                    therapists: t,
                    start,
                    count,
                    result,
                });
            }
        }
        Ok(PowerShard {
            format: SHARD_FORMAT.into(),
            grid: self.clone(),
            shard,
            of,
            parts,
        })
    }
}

/// Merge the shards of one grid into its curve, exactly as [`PowerGrid::run`] gives it.
///
/// # Errors
/// [`Error::Argument`] if the shards belong to different grids or splits, a shard is missing
/// or given twice, or their replicate ranges do not cover every point's replicates exactly once.
pub fn merge_shards(shards: &[PowerShard]) -> Result<Vec<(usize, PowerResult)>> {
    let bad = |message: String| Error::Argument {
        name: "shards".into(),
        message,
    };
    let first = shards
        .first()
        .ok_or_else(|| bad("no shards given".into()))?;
    for s in shards {
        if s.format != SHARD_FORMAT {
            return Err(bad(format!(
                "shard {}/{}: format '{}' is not '{SHARD_FORMAT}'",
                s.shard, s.of, s.format
            )));
        }
        if s.grid != first.grid || s.of != first.of {
            return Err(bad(format!(
                "shard {}/{} belongs to another grid or split than shard {}/{}",
                s.shard, s.of, first.shard, first.of
            )));
        }
    }
    // A shard file is data from elsewhere: its design is checked as a new grid is, and its
    // counts against each other (the power and interval are recomputed from the counts, never
    // taken from the file).
    first.grid.validate()?;
    for s in shards {
        for p in &s.parts {
            let r = &p.result;
            if r.significant.saturating_add(r.failed) > r.replicates
                || r.singular > r.replicates
                || r.seed != first.grid.point_seed(p.therapists)
            {
                return Err(bad(format!(
                    "shard {}/{}: the part with {} therapists from replicate {} has inconsistent counts ({} replicates, {} significant, {} singular, {} failed, seed {} where the grid gives {})",
                    s.shard,
                    s.of,
                    p.therapists,
                    p.start,
                    r.replicates,
                    r.significant,
                    r.singular,
                    r.failed,
                    r.seed,
                    first.grid.point_seed(p.therapists)
                )));
            }
        }
    }
    let of = first.of;
    if of == 0 || of > first.grid.therapists.len() * first.grid.replicates {
        return Err(bad(format!("a split into {of} shards is impossible")));
    }
    let mut seen = vec![0usize; of + 1];
    for s in shards {
        if s.shard == 0 || s.shard > of {
            return Err(bad(format!("shard {}/{of} is out of range", s.shard)));
        }
        seen[s.shard] += 1;
    }
    let missing: Vec<String> = (1..=of)
        .filter(|&k| seen[k] == 0)
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "missing shard{} {} of {of}",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        )));
    }
    if let Some(k) = (1..=of).find(|&k| seen[k] > 1) {
        return Err(bad(format!("shard {k}/{of} is given {} times", seen[k])));
    }
    let grid = &first.grid;
    grid.therapists
        .iter()
        .map(|&t| {
            let mut parts: Vec<&ShardPart> = shards
                .iter()
                .flat_map(|s| s.parts.iter())
                .filter(|p| p.therapists == t)
                .collect();
            parts.sort_by_key(|p| p.start);
            let mut next = 0;
            let mut total: Option<PowerResult> = None;
            for p in parts {
                if p.start != next || p.count != p.result.replicates {
                    return Err(bad(format!(
                        "the replicates of the point with {t} therapists do not tile 0..{} (a part starts at {}, expected {next})",
                        grid.replicates, p.start
                    )));
                }
                next += p.count;
                let part = PowerResult::from_counts(
                    p.result.replicates,
                    p.result.significant,
                    p.result.singular,
                    p.result.failed,
                    p.result.seed,
                );
                total = Some(match total {
                    None => part,
                    Some(r) => r.merge(&part)?,
                });
            }
            match total {
                Some(r) if next == grid.replicates => Ok((t, r)),
                _ => Err(bad(format!(
                    "the point with {t} therapists has {next} of its {} replicates",
                    grid.replicates
                ))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> PowerGrid {
        let mut d = PowerDesign::study_like();
        d.multilevel = false;
        PowerGrid::new(GridDesign::Moderator(d), &[10, 20, 30], 7, 3)
    }

    #[test]
    fn shards_merge_to_the_whole_for_any_split() {
        let g = grid();
        let whole = g.run().unwrap();
        assert_eq!(whole.len(), 3);
        // The whole equals the existing curve function, point by point.
        let GridDesign::Moderator(d) = &g.design else {
            unreachable!()
        };
        assert_eq!(
            whole,
            super::super::power::power_curve(d, &[10, 20, 30], 7, 3).unwrap()
        );
        for of in [1, 2, 3, 4, 5, 21] {
            let shards: Vec<PowerShard> = (1..=of).map(|k| g.run_shard(k, of).unwrap()).collect();
            let total: usize = shards.iter().flat_map(|s| &s.parts).map(|p| p.count).sum();
            assert_eq!(total, 21);
            let mut reversed = shards.clone();
            reversed.reverse();
            assert_eq!(merge_shards(&reversed).unwrap(), whole, "{of} shards");
        }
    }

    #[test]
    fn incomplete_or_mixed_shards_are_errors() {
        let g = grid();
        let shards: Vec<PowerShard> = (1..=3).map(|k| g.run_shard(k, 3).unwrap()).collect();
        let e = merge_shards(&shards[..2]).unwrap_err();
        assert!(e.to_string().contains("missing shard 3 of 3"), "{e}");
        let e =
            merge_shards(&[shards[0].clone(), shards[0].clone(), shards[1].clone()]).unwrap_err();
        assert!(e.to_string().contains("missing shard 3"), "{e}");
        let mut other = grid();
        other.seed = 4;
        let mut mixed = shards.clone();
        mixed[1] = other.run_shard(2, 3).unwrap();
        assert!(
            merge_shards(&mixed)
                .unwrap_err()
                .to_string()
                .contains("another grid")
        );
        assert!(g.run_shard(0, 3).is_err() && g.run_shard(4, 3).is_err());
        assert!(g.run_shard(1, 22).is_err());
        assert!(merge_shards(&[]).is_err());
        let mut twice = grid();
        twice.therapists = vec![10, 10];
        assert!(twice.run().is_err());
    }
}
