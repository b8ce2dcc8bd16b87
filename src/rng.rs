//! A small, version-stable random number generator for resampling and simulation.
//!
//! xoshiro256** (Blackman & Vigna 2021) seeded through splitmix64: bit for bit the generator
//! `rand_xoshiro::Xoshiro256StarStar`, whose `seed_from_u64(s)` equals [`Rng::new`]`(s)` (tested).
//! [`Rng`] implements `rand_core`'s [`rand_core::TryRng`] (hence
//! [`rand_core::Rng`]) and [`SeedableRng`], so it works with every `rand` distribution, and
//! any `rand` generator can seed this crate's random procedures through [`seed_from`] or the
//! `from_rng` constructors (e.g. [`BootstrapOptions::from_rng`](crate::mediation::BootstrapOptions::from_rng)).
//!
//! # The reproducibility guarantee
//!
//! Every random procedure in the crate (bootstraps, Monte Carlo intervals, simulation, power)
//! takes one *master seed*. Replicate `i` of a run with master seed `s` draws only from its own
//! stream [`Rng::stream`]`(s, i)`, so
//! - results do not depend on the number of threads (the `parallel` feature on or off, any
//!   `RAYON_NUM_THREADS`),
//! - a run can be split over machines by replicate ranges and merged to exactly the
//!   single-machine result (see `power --shard`),
//! - results do not change with updates of `rand` or other third-party crates: the generator,
//!   its seeding and the streams are this crate's own code, and a change to any of them is a
//!   breaking change announced in the changelog.
//!
//! A generator passed in is used only to draw the master seed (one `u64`), so the guarantee
//! holds for it too: the same generator state gives the same results.
//!
//! ```
//! use rand_core::{Rng as _, SeedableRng};
//! use securebase::rng::{seed_from, Rng};
//!
//! // The crate's generator is a rand generator…
//! let mut g = Rng::seed_from_u64(2024);
//! let first = g.next_u64();
//! assert_eq!(first, Rng::new(2024).next_u64());
//! // …and any rand generator can seed the crate's procedures.
//! let seed = seed_from(&mut g);
//! let options = securebase::mediation::BootstrapOptions::new(1000, seed);
//! assert_eq!(options.seed, seed);
//! ```
use rand_core::{Infallible, SeedableRng, TryRng};

/// The `rand_core` this crate implements (0.10), re-exported so callers name the same traits.
pub use rand_core;

/// xoshiro256** state.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator from one seed.
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        Rng {
            s: [
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
            ],
        }
    }

    /// The independent stream for replicate `index` of a run seeded with `seed`.
    pub fn stream(seed: u64, index: u64) -> Rng {
        let mut x = seed ^ 0xD1B5_4A32_D192_ED03;
        let a = splitmix64(&mut x);
        let mut y = index.wrapping_mul(0xA24B_AED4_963E_E407) ^ a;
        Rng::new(splitmix64(&mut y))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform on (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Uniform integer in 0..n, without modulo bias (Lemire's method); `None` for `n = 0`
    /// (an empty range has no draw).
    pub fn below(&mut self, n: usize) -> Option<usize> {
        (n > 0).then(|| self.index(n))
    }

    /// [`Rng::below`] for a range the caller knows is not empty (`n ≥ 1`).
    pub(crate) fn index(&mut self, n: usize) -> usize {
        let n = (n as u64).max(1);
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            let low = m as u64;
            if low >= n.wrapping_neg() % n {
                return (m >> 64) as usize;
            }
        }
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// A master seed drawn from any `rand` generator (one `u64`): how a caller's generator seeds the
/// crate's random procedures. The same generator state gives the same seed, hence the same
/// results.
pub fn seed_from<R: rand_core::Rng + ?Sized>(rng: &mut R) -> u64 {
    rng.next_u64()
}

impl TryRng for Rng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        // The high half, as rand_xoshiro does: the best bits of xoshiro256**.
        Ok((Rng::next_u64(self) >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(Rng::next_u64(self))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = Rng::next_u64(self).to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

impl SeedableRng for Rng {
    /// The four state words, little-endian.
    type Seed = [u8; 32];

    /// The state from 32 bytes (little-endian words). An all-zero seed (a state xoshiro never
    /// leaves) is replaced by `Rng::new(0)`, as `rand_xoshiro` does.
    fn from_seed(seed: [u8; 32]) -> Rng {
        if seed.iter().all(|&b| b == 0) {
            return Rng::new(0);
        }
        let mut s = [0u64; 4];
        for (word, bytes) in s.iter_mut().zip(seed.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(bytes);
            *word = u64::from_le_bytes(b);
        }
        Rng { s }
    }

    /// Equal to [`Rng::new`] (splitmix64 seeding).
    fn seed_from_u64(state: u64) -> Rng {
        Rng::new(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_and_normal_moments() {
        let mut r = Rng::new(1);
        let n = 200_000;
        let u: Vec<f64> = (0..n).map(|_| r.uniform()).collect();
        let m = u.iter().sum::<f64>() / n as f64;
        assert!((m - 0.5).abs() < 0.005);
        let z: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mz = z.iter().sum::<f64>() / n as f64;
        let vz = z.iter().map(|x| (x - mz).powi(2)).sum::<f64>() / n as f64;
        assert!(mz.abs() < 0.01 && (vz - 1.0).abs() < 0.02, "{mz} {vz}");
        let mut counts = [0usize; 7];
        for _ in 0..70_000 {
            counts[r.below(7).unwrap()] += 1;
        }
        assert!(
            counts.iter().all(|&c| (c as f64 - 10_000.0).abs() < 400.0),
            "{counts:?}"
        );
        assert_eq!(r.below(0), None);
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream(7, 3).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::stream(7, 3).next_u64(), Rng::stream(7, 4).next_u64());
        assert_ne!(Rng::stream(7, 3).next_u64(), Rng::stream(8, 3).next_u64());
    }
}
