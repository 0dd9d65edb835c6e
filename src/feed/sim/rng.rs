//! The simulator's own small random number generator (xoshiro256** seeded by splitmix64) and the
//! distributions the market model draws from. Own code so that a seed means the same market forever.

/// One step of splitmix64: a good 64-bit mixer, used for seeding and for counter-based draws.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a hash of a name: stable across Rust versions, unlike `DefaultHasher`.
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// xoshiro256**: fast, small state, passes the usual statistical batteries.
#[derive(Clone, Debug)]
pub struct Rng {
    state: [u64; 4],
    spare_normal: Option<f64>,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let state = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Self {
            state,
            spare_normal: None,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1]: safe to take the logarithm of.
    pub fn uniform_open(&mut self) -> f64 {
        1.0 - self.uniform()
    }

    /// Uniform integer in [0, n); `n` must be above 0.
    pub fn below(&mut self, n: u64) -> u64 {
        // Multiply-shift: the bias is below 2^-64 * n, far under anything we could measure.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Standard normal by Box–Muller, keeping the second value of each pair.
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let radius = (-2.0 * self.uniform_open().ln()).sqrt();
        let angle = std::f64::consts::TAU * self.uniform();
        self.spare_normal = Some(radius * angle.sin());
        radius * angle.cos()
    }

    /// Student-t with 4 degrees of freedom, scaled to unit variance. A chi-square with 4 degrees
    /// of freedom is `-2 ln(u1 u2)`, so no gamma sampler is needed.
    pub fn student_t4(&mut self) -> f64 {
        let chi2 = -2.0 * (self.uniform_open() * self.uniform_open()).ln();
        let t = self.normal() / (chi2 / 4.0).sqrt();
        // Var(t_4) = 4 / (4 - 2) = 2.
        t / std::f64::consts::SQRT_2
    }

    /// Exponential with mean 1.
    pub fn exponential(&mut self) -> f64 {
        -self.uniform_open().ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_seeds_differ() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn moments_are_right() {
        let mut rng = Rng::new(1);
        let n = 200_000;
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
        let uniforms: Vec<f64> = (0..n).map(|_| rng.uniform()).collect();
        assert!(uniforms.iter().all(|u| (0.0..1.0).contains(u)));
        assert!((mean(&uniforms) - 0.5).abs() < 0.01);
        let normals: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let var = normals.iter().map(|z| z * z).sum::<f64>() / n as f64;
        assert!(
            mean(&normals).abs() < 0.01 && (var - 1.0).abs() < 0.02,
            "{var}"
        );
        let ts: Vec<f64> = (0..n).map(|_| rng.student_t4()).collect();
        let var = ts.iter().map(|z| z * z).sum::<f64>() / n as f64;
        assert!((var - 1.0).abs() < 0.1, "t4 variance {var}");
        // Fat tails: far more mass beyond 4 standard deviations than a normal's 0.006 %.
        let beyond = ts.iter().filter(|t| t.abs() > 4.0).count() as f64 / n as f64;
        assert!(beyond > 0.001, "{beyond}");
        let below: Vec<u64> = (0..n).map(|_| rng.below(10)).collect();
        assert!(below.iter().all(|&b| b < 10));
        assert!((mean(&below.iter().map(|&b| b as f64).collect::<Vec<_>>()) - 4.5).abs() < 0.05);
    }

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a(""), 0xCBF2_9CE4_8422_2325);
        assert_eq!(fnv1a("a"), 0xAF63_DC4C_8601_EC8C);
    }
}
