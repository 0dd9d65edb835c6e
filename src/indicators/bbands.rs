//! BBANDS: Bollinger bands around the SMA of the closes, `dev_up` / `dev_down` population standard
//! deviations wide. The middle band is TA-Lib's SMA, bit for bit. The deviation is kept with a
//! sliding Welford update (mean and sum of squared deviations) rather than `mean(x²) - mean(x)²`:
//! TA-Lib 0.8 computes it without that cancellation, and for coins quoted around 1e-3 BTC with a
//! quiet window the sum-of-squares form loses most of its digits. Welford's sliding update still
//! drifts over a long run (measured: 9e-7 relative error in the deviation after 1M bars), so every
//! `period` updates the mean and squared deviations are recomputed from the window in two passes:
//! amortised O(1) (two extra operations per bar), and the drift never outlives one window.

use super::window::Ring;
use super::{BandsValue, Indicator};
use crate::domain::Candle;

/// Bollinger bands over `period` closes (TA-Lib BBANDS with an SMA middle; default 20/2/2).
#[derive(Clone, Debug)]
pub struct Bbands {
    period: usize,
    period_f: f64,
    reciprocal: f64,
    dev_up: f64,
    dev_down: f64,
    /// The last `period` closes.
    closes: Ring,
    /// Sum of the last `period - 1` closes (TA-Lib's SMA order: add, divide, drop the oldest).
    sum: f64,
    /// Welford's running mean and sum of squared deviations of the closes in `closes`.
    mean: f64,
    squared_deviations: f64,
    /// Full-window updates since the last exact recomputation.
    since_refresh: usize,
}

impl Bbands {
    /// `period` below 1 is raised to 1.
    pub fn new(period: usize, dev_up: f64, dev_down: f64) -> Self {
        let period = period.max(1);
        Self {
            period,
            period_f: period as f64,
            reciprocal: 1.0 / period as f64,
            dev_up,
            dev_down,
            closes: Ring::new(period),
            sum: 0.0,
            mean: 0.0,
            squared_deviations: 0.0,
            since_refresh: 0,
        }
    }

    /// Recomputes the mean and squared deviations of the window exactly (two passes).
    #[cold]
    fn refresh(&mut self) {
        self.since_refresh = 0;
        self.mean = self.closes.iter().sum::<f64>() * self.reciprocal;
        let mean = self.mean;
        self.squared_deviations = self.closes.iter().map(|x| (x - mean) * (x - mean)).sum();
    }

    pub fn period(&self) -> usize {
        self.period
    }
}

impl Default for Bbands {
    fn default() -> Self {
        Self::new(20, 2.0, 2.0)
    }
}

impl Indicator for Bbands {
    type Output = BandsValue;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<BandsValue> {
        let close = candle.close;
        let leaving = self.closes.push(close);
        let previous_mean = self.mean;
        match leaving {
            Some(old) => {
                // Replace `old` by `close` in a full window.
                let change = close - old;
                self.mean += change * self.reciprocal;
                self.squared_deviations += change * ((close - self.mean) + (old - previous_mean));
                self.since_refresh += 1;
                if self.since_refresh == self.period {
                    self.refresh();
                }
            }
            None => {
                let count = self.closes.len() as f64;
                let deviation = close - previous_mean;
                self.mean += deviation / count;
                self.squared_deviations += deviation * (close - self.mean);
            }
        }
        self.sum += close;
        if !self.closes.is_full() {
            return None;
        }
        let middle = self.sum / self.period_f;
        // The close that leaves the window on the next update.
        self.sum -= self.closes.get(self.period - 1).unwrap_or(0.0);
        let variance = self.squared_deviations * self.reciprocal;
        let deviation = if variance > 0.0 { variance.sqrt() } else { 0.0 };
        Some(BandsValue {
            upper: middle + deviation * self.dev_up,
            middle,
            lower: middle - deviation * self.dev_down,
        })
    }

    fn reset(&mut self) {
        self.closes.clear();
        self.sum = 0.0;
        self.mean = 0.0;
        self.squared_deviations = 0.0;
        self.since_refresh = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::closes;
    use crate::indicators::batch;

    #[test]
    fn population_deviation_by_hand() {
        // Window 1, 2, 3: mean 2, variance 2/3; then 2, 3, 7: mean 4, variance 14/3.
        let out = batch(
            &mut Bbands::new(3, 2.0, 1.0),
            &closes(&[1.0, 2.0, 3.0, 7.0]),
        );
        assert_eq!(out[..2], [None, None]);
        let b = out[2].unwrap();
        let sd = (2.0f64 / 3.0).sqrt();
        assert_eq!(b.middle, 2.0);
        assert!((b.upper - (2.0 + 2.0 * sd)).abs() < 1e-12, "{b:?}");
        assert!((b.lower - (2.0 - sd)).abs() < 1e-12, "{b:?}");
        let b = out[3].unwrap();
        let sd = (14.0f64 / 3.0).sqrt();
        assert_eq!(b.middle, 4.0);
        assert!((b.upper - (4.0 + 2.0 * sd)).abs() < 1e-12, "{b:?}");
    }

    #[test]
    fn deviation_keeps_its_digits_at_small_prices() {
        // Quiet closes near 1.58e-3 (as ALTBTC-1m): the deviation is ~1e-8, six orders below the
        // price; a sum-of-squares variance would keep only a few of its digits.
        let series: Vec<f64> = (0..20_000)
            .map(|i| 1.58e-3 + 1e-8 * ((i as f64 * 0.61).sin() + (i as f64 * 0.05).cos()))
            .collect();
        let out = batch(&mut Bbands::new(20, 1.0, 1.0), &closes(&series));
        for (i, b) in out.iter().enumerate().skip(19) {
            let window = &series[i - 19..=i];
            let mean = window.iter().sum::<f64>() / 20.0;
            let sd = (window.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 20.0).sqrt();
            let got = b.unwrap().upper - b.unwrap().middle;
            assert!((got - sd).abs() <= 1e-9 * sd, "row {i}: {got} vs {sd}");
        }
    }

    #[test]
    fn flat_closes_collapse_the_bands() {
        let out = batch(&mut Bbands::new(4, 2.0, 2.0), &closes(&[0.1; 8]));
        for b in out.into_iter().flatten() {
            assert_eq!((b.upper, b.lower), (b.middle, b.middle));
        }
    }

    #[test]
    fn warms_up_after_period_closes() {
        let series: Vec<f64> = (0..40).map(|i| 7.0 + (i as f64).sin()).collect();
        let out = batch(&mut Bbands::default(), &closes(&series));
        assert_eq!(out.iter().position(Option::is_some), Some(19));
        for b in out.into_iter().flatten() {
            assert!(b.lower < b.middle && b.middle < b.upper);
        }
    }

    #[test]
    fn reset_forgets_everything() {
        let candles = closes(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0]);
        let mut bb = Bbands::new(3, 2.0, 2.0);
        let first = batch(&mut bb, &candles);
        bb.reset();
        assert_eq!(batch(&mut bb, &candles), first);
    }
}
