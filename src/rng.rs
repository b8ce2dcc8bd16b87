//! A small, version-stable random number generator for resampling and simulation.
//!
//! xoshiro256** (Blackman & Vigna 2021) seeded through splitmix64. Replicate `i` of a run with
//! master seed `s` uses the stream `Rng::stream(s, i)`, so results do not depend on how many
//! threads ran the replicates, and runs can be split across machines and merged. The crate
//! keeps its own generator so that published results stay reproducible across updates of
//! third-party RNG crates.

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
