//! Synthetic candle series for the model tests: log returns following an AR(1) process
//! (`phi = 0` is a pure random walk), on the 1m grid, with holes cut where asked.

use crate::domain::Candle;
use crate::model::rng::Rng;

/// Open time of the first candle: on the 5m grid (a multiple of 300,000), so the higher
/// timeframe starts whole.
pub const START_MS: i64 = 1_700_000_100_000;

/// `n` valid 1m candles whose log returns follow `r_t = phi · r_{t−1} + 0.002 · ε_t`.
pub fn ar_series(n: usize, phi: f64, seed: u64) -> Vec<Candle> {
    let mut rng = Rng::new(seed);
    let mut close: f64 = 50.0;
    let mut previous = 0.0;
    (0..n)
        .map(|i| {
            let open = close;
            let r = phi * previous + 0.002 * rng.normal();
            previous = r;
            close = open * r.exp();
            let high = open.max(close) * (1.0 + 0.001 * rng.uniform());
            let low = open.min(close) * (1.0 - 0.001 * rng.uniform());
            let volume = 1.0 + 10.0 * rng.uniform();
            Candle {
                open_time_ms: START_MS + i as i64 * 60_000,
                open,
                high,
                low,
                close,
                volume,
                quote_volume: volume * close,
                trades: 3,
            }
        })
        .collect()
}

/// `candles` without the `len` candles from index `at` on.
pub fn with_hole(mut candles: Vec<Candle>, at: usize, len: usize) -> Vec<Candle> {
    candles.drain(at..at + len);
    candles
}
