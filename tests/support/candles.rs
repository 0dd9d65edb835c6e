//! Seeded noise for the synthetic candle series of the integration tests: the same numbers on
//! every machine, with no `rand` crate. (The unit tests have the same in `domain::fixtures`,
//! which a test crate cannot reach.)

/// Uniform numbers in [0, 1) from a 64-bit linear congruential generator (Knuth's MMIX
/// constants): the state steps first, its top 53 bits are the number.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Uniform numbers in [0, 1) from splitmix64: the top 53 bits of each output.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}
