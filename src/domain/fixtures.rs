//! Candle builders and seeded noise for the unit tests, so each test module does not keep its own
//! copy. Other volumes, counts or times are set with struct update syntax:
//! `Candle { volume: 3.0, ..candle(t) }`.

use super::Candle;

/// One minute in milliseconds, the step of the minute series.
pub const MINUTE_MS: i64 = 60_000;

/// A valid bar at `open_time_ms`: open 1, high 2, low 0.5, close 1.5; volume, quote volume and
/// trades 1.
pub fn candle(open_time_ms: i64) -> Candle {
    ohlc(open_time_ms, 1.0, 2.0, 0.5, 1.5)
}

/// A bar whose four prices are all `price`; volume, quote volume and trades 1.
pub fn flat(open_time_ms: i64, price: f64) -> Candle {
    ohlc(open_time_ms, price, price, price, price)
}

/// A bar with the given prices; volume, quote volume and trades 1.
pub fn ohlc(open_time_ms: i64, open: f64, high: f64, low: f64, close: f64) -> Candle {
    Candle {
        open_time_ms,
        open,
        high,
        low,
        close,
        volume: 1.0,
        quote_volume: 1.0,
        trades: 1,
    }
}

/// A bar at time 0 with only high, low and close set (open = close), volume 1, no quote volume
/// and no trades: what the range-based indicator families read.
pub fn hlc(high: f64, low: f64, close: f64) -> Candle {
    Candle {
        quote_volume: 0.0,
        trades: 0,
        ..ohlc(0, close, high, low, close)
    }
}

/// One flat bar a minute from time 0 for each close, volume `1 + i`, quote volume
/// `close * (1 + i)`: what the close-based indicator families read.
pub fn closes(values: &[f64]) -> Vec<Candle> {
    values
        .iter()
        .enumerate()
        .map(|(i, &close)| {
            let volume = 1.0 + i as f64;
            Candle {
                volume,
                quote_volume: close * volume,
                ..flat(i as i64 * MINUTE_MS, close)
            }
        })
        .collect()
}

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
