//! RSI: Wilder's relative strength index of the closes. As in TA-Lib, the average gain and loss
//! start as plain means of the first `period` changes, then follow Wilder's smoothing
//! `avg = (avg * (period - 1) + change) * (1 / period)`; RSI is 0 when both averages are zero.
//! TA-Lib 0.8 multiplies by the reciprocal of the period; doing the same keeps the RSI bit-identical
//! to it, which STOCHRSI needs (its %K compares RSI values that differ in the last bits).

use super::Indicator;
use crate::domain::Candle;

/// Relative strength index over `period` closes (TA-Lib RSI; default 14).
#[derive(Clone, Debug)]
pub struct Rsi {
    period: usize,
    /// `1 / period`.
    reciprocal: f64,
    period_less_one: f64,
    /// Closes seen, up to `period + 1` (after that the seed is done).
    seen: usize,
    previous_close: f64,
    average_gain: f64,
    average_loss: f64,
}

impl Rsi {
    /// `period` below 1 is raised to 1.
    pub fn new(period: usize) -> Self {
        let period = period.max(1);
        Self {
            period,
            reciprocal: 1.0 / period as f64,
            period_less_one: (period - 1) as f64,
            seen: 0,
            previous_close: 0.0,
            average_gain: 0.0,
            average_loss: 0.0,
        }
    }

    pub fn period(&self) -> usize {
        self.period
    }

    /// Feeds one value (STOCHRSI runs its own RSI on the closes through this).
    #[inline]
    pub fn update_value(&mut self, value: f64) -> Option<f64> {
        let change = value - self.previous_close;
        self.previous_close = value;
        if self.seen <= self.period {
            self.seen += 1;
            if self.seen == 1 {
                return None;
            }
            if change < 0.0 {
                self.average_loss -= change;
            } else {
                self.average_gain += change;
            }
            if self.seen <= self.period {
                return None;
            }
            self.average_loss *= self.reciprocal;
            self.average_gain *= self.reciprocal;
        } else {
            self.average_loss *= self.period_less_one;
            self.average_gain *= self.period_less_one;
            if change < 0.0 {
                self.average_loss -= change;
            } else {
                self.average_gain += change;
            }
            self.average_loss *= self.reciprocal;
            self.average_gain *= self.reciprocal;
        }
        let total = self.average_gain + self.average_loss;
        Some(if total != 0.0 {
            100.0 * (self.average_gain / total)
        } else {
            0.0
        })
    }
}

impl Default for Rsi {
    fn default() -> Self {
        Self::new(14)
    }
}

impl Indicator for Rsi {
    type Output = f64;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.update_value(candle.close)
    }

    fn reset(&mut self) {
        self.seen = 0;
        self.previous_close = 0.0;
        self.average_gain = 0.0;
        self.average_loss = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::closes;
    use crate::indicators::batch;

    fn close_to(got: Option<f64>, want: f64) -> bool {
        got.is_some_and(|g| (g - want).abs() < 1e-12)
    }

    #[test]
    fn wilder_smoothing_by_hand() {
        // Changes +1, -0.5, +1. Seed: gain 1/2, loss 0.5/2 -> 100 * 0.5 / 0.75.
        // Next: gain (0.5 + 1) / 2 = 0.75, loss 0.25 / 2 = 0.125 -> 100 * 0.75 / 0.875.
        let out = batch(&mut Rsi::new(2), &closes(&[1.0, 2.0, 1.5, 2.5]));
        assert_eq!(out[..2], [None, None]);
        assert!(close_to(out[2], 200.0 / 3.0), "{:?}", out[2]);
        assert!(close_to(out[3], 600.0 / 7.0), "{:?}", out[3]);
    }

    #[test]
    fn flat_series_reads_zero_and_rising_reads_hundred() {
        let flat = batch(&mut Rsi::new(3), &closes(&[5.0; 6]));
        assert_eq!(flat[3..], [Some(0.0), Some(0.0), Some(0.0)]);
        let rising = batch(&mut Rsi::new(3), &closes(&[1.0, 2.0, 3.0, 4.0, 5.0]));
        assert_eq!(rising[3..], [Some(100.0), Some(100.0)]);
    }

    #[test]
    fn warms_up_after_period_plus_one_closes() {
        let series: Vec<f64> = (0..40).map(|i| 20.0 + (i as f64 * 0.9).sin()).collect();
        let out = batch(&mut Rsi::default(), &closes(&series));
        assert_eq!(out.iter().position(Option::is_some), Some(14));
        assert!(
            out[14..]
                .iter()
                .flatten()
                .all(|v| (0.0..=100.0).contains(v))
        );
    }

    #[test]
    fn reset_forgets_everything() {
        let candles = closes(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0]);
        let mut rsi = Rsi::new(3);
        let first = batch(&mut rsi, &candles);
        rsi.reset();
        assert_eq!(batch(&mut rsi, &candles), first);
    }
}
