//! STOCH, the slow stochastic oscillator: fast %K over the high/low window, slow %K and %D as
//! simple moving averages, exactly as TA-Lib computes them (SMA smoothing, `matype` 0).

use super::window::{HighLowWindow, Ring};
use super::{Indicator, StochValue};
use crate::domain::Candle;

/// TA-Lib 0.8's test for an empty high/low range (`TA_IS_ZERO_SCALED`): the range is within
/// 1e-14 of the prices' magnitude, so a range that is only rounding residue counts as flat.
#[inline]
pub(crate) fn flat(highest: f64, lowest: f64) -> bool {
    (highest - lowest).abs() <= 1e-14 * (highest.abs() + lowest.abs())
}

/// TA-Lib's simple moving average over a stream: a running total that drops the oldest value
/// before adding the newest, so the rounding is the same as TA-Lib's `INT_SMA`.
#[derive(Clone, Debug)]
struct RunningMean {
    window: Ring,
    total: f64,
    period: f64,
}

impl RunningMean {
    fn new(period: usize) -> Self {
        Self {
            window: Ring::new(period),
            total: 0.0,
            period: period as f64,
        }
    }

    /// Adds a value; returns the mean once `period` values were seen.
    #[inline]
    fn push(&mut self, value: f64) -> Option<f64> {
        if let Some(oldest) = self.window.push(value) {
            self.total -= oldest;
        }
        self.total += value;
        // A division, not a reciprocal: one ulp here feeds %D's running total, and over
        // thousands of bars that drift shows near zero (where the tolerance is absolute).
        self.window.is_full().then_some(self.total / self.period)
    }

    fn clear(&mut self) {
        self.window.clear();
        self.total = 0.0;
    }
}

/// Slow stochastic: fast %K = 100 · (close − lowest low) / (highest high − lowest low) over
/// `fastk` bars (0 when the range is empty), slow %K = SMA `slowk` of fast %K, %D = SMA `slowd`
/// of slow %K. First value at bar `fastk + slowk + slowd − 3` (17 for 14/3/3).
#[derive(Clone, Debug)]
pub struct Stoch {
    range: HighLowWindow,
    slow_k: RunningMean,
    slow_d: RunningMean,
}

impl Stoch {
    /// # Panics
    /// When a period is 0 (TA-Lib accepts 1 and more for each).
    pub fn new(fastk: usize, slowk: usize, slowd: usize) -> Self {
        assert!(
            fastk >= 1 && slowk >= 1 && slowd >= 1,
            "STOCH periods must be at least 1, got fastk {fastk}, slowk {slowk}, slowd {slowd}"
        );
        Self {
            range: HighLowWindow::new(fastk),
            slow_k: RunningMean::new(slowk),
            slow_d: RunningMean::new(slowd),
        }
    }

    pub fn fastk_period(&self) -> usize {
        self.range.period()
    }

    /// The step after the high/low window: `range` is the (highest high, lowest low) of the last
    /// `fastk` candles once there are that many. [`RawIndicators`](super::RawIndicators) shares
    /// one window between STOCH and WILLR through this; `update` feeds its own.
    #[inline]
    pub fn update_with_range(
        &mut self,
        range: Option<(f64, f64)>,
        close: f64,
    ) -> Option<StochValue> {
        let (highest, lowest) = range?;
        // TA-Lib's operation order: (close − lowest) / ((highest − lowest) / 100).
        let fast_k = if flat(highest, lowest) {
            0.0
        } else {
            (close - lowest) / ((highest - lowest) / 100.0)
        };
        let k = self.slow_k.push(fast_k)?;
        let d = self.slow_d.push(k)?;
        Some(StochValue { k, d })
    }
}

impl Default for Stoch {
    /// gen_talib.py's STOCH 14/3/3.
    fn default() -> Self {
        Self::new(14, 3, 3)
    }
}

impl Indicator for Stoch {
    type Output = StochValue;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<StochValue> {
        let range = self.range.push(candle.high, candle.low);
        self.update_with_range(range, candle.close)
    }

    fn reset(&mut self) {
        self.range.clear();
        self.slow_k.clear();
        self.slow_d.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::hlc as bar;
    use crate::indicators::batch;

    #[test]
    fn hand_checked_small_periods() {
        // fastk 2, slowk 2, slowd 1.
        let bars = [
            bar(10.0, 8.0, 9.0),
            bar(12.0, 9.0, 11.0),  // window 8..12: fast %K 75
            bar(11.0, 10.0, 10.0), // window 9..12: 33.33
            bar(13.0, 10.0, 13.0), // window 10..13: 100
        ];
        let out = batch(&mut Stoch::new(2, 2, 1), &bars);
        assert_eq!(out[0], None);
        assert_eq!(out[1], None);
        let k2 = (75.0 + 100.0 / 3.0) / 2.0;
        let v2 = out[2].unwrap();
        assert!((v2.k - k2).abs() < 1e-12 && (v2.d - k2).abs() < 1e-12);
        let v3 = out[3].unwrap();
        assert!((v3.k - (100.0 / 3.0 + 100.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn flat_range_gives_zero_not_nan() {
        let bars = vec![bar(5.0, 5.0, 5.0); 30];
        let out = batch(&mut Stoch::default(), &bars);
        assert_eq!(out[29], Some(StochValue { k: 0.0, d: 0.0 }));
    }

    #[test]
    fn rounding_sized_range_counts_as_flat_but_satoshi_ticks_do_not() {
        assert!(flat(1.0 + 1e-15, 1.0));
        assert!(!flat(1.0 + 1e-13, 1.0));
        assert!(!flat(2.1e-7, 2.0e-7));
    }

    #[test]
    fn warm_up_and_reset() {
        let bars: Vec<Candle> = (0..40)
            .map(|i| {
                let c = 100.0 + (i as f64 * 0.7).sin() * 5.0;
                bar(c + 1.0, c - 1.0, c)
            })
            .collect();
        let mut stoch = Stoch::default();
        let first = batch(&mut stoch, &bars);
        assert_eq!(first.iter().position(Option::is_some), Some(17));
        assert!(first[17..].iter().all(Option::is_some));
        stoch.reset();
        assert_eq!(batch(&mut stoch, &bars), first);
    }

    #[test]
    #[should_panic(expected = "STOCH periods must be at least 1")]
    fn zero_period_is_refused() {
        let _ = Stoch::new(14, 0, 3);
    }
}
