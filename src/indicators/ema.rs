//! EMA: the exponential moving average of the closes, seeded as TA-Lib seeds it (the first value is
//! the SMA of the first `period` inputs), then `prev + (x - prev) * k` with `k = 2 / (period + 1)`.

use super::Indicator;
use crate::domain::Candle;

/// Exponential moving average over `period` closes (TA-Lib EMA; default 20).
#[derive(Clone, Debug)]
pub struct Ema {
    period: usize,
    period_f: f64,
    k: f64,
    /// Inputs seen, up to `period` (after that the seed is done).
    seen: usize,
    /// Running sum of the seed inputs, then unused.
    seed_sum: f64,
    value: f64,
}

impl Ema {
    /// `period` below 1 is raised to 1.
    pub fn new(period: usize) -> Self {
        let period = period.max(1);
        Self {
            period,
            period_f: period as f64,
            k: 2.0 / (period + 1) as f64,
            seen: 0,
            seed_sum: 0.0,
            value: 0.0,
        }
    }

    pub fn period(&self) -> usize {
        self.period
    }

    /// Feeds one value (MACD feeds its own line into its signal EMA).
    #[inline]
    pub fn update_value(&mut self, value: f64) -> Option<f64> {
        if self.seen < self.period {
            self.seed_sum += value;
            self.seen += 1;
            if self.seen < self.period {
                return None;
            }
            self.value = self.seed_sum / self.period_f;
        } else {
            self.value += (value - self.value) * self.k;
        }
        Some(self.value)
    }
}

impl Default for Ema {
    fn default() -> Self {
        Self::new(20)
    }
}

impl Indicator for Ema {
    type Output = f64;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.update_value(candle.close)
    }

    fn reset(&mut self) {
        self.seen = 0;
        self.seed_sum = 0.0;
        self.value = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::closes;
    use crate::indicators::batch;

    #[test]
    fn seeds_with_the_sma_then_smooths() {
        // k = 2 / 4 = 0.5; seed = (2 + 4 + 6) / 3 = 4; then 4 + (3 - 4) * 0.5 = 3.5.
        let out = batch(&mut Ema::new(3), &closes(&[2.0, 4.0, 6.0, 3.0, 5.5]));
        assert_eq!(out, vec![None, None, Some(4.0), Some(3.5), Some(4.5)]);
    }

    #[test]
    fn warms_up_after_period_closes() {
        let series: Vec<f64> = (0..40).map(|i| 50.0 + (i as f64 * 0.3).cos()).collect();
        let out = batch(&mut Ema::default(), &closes(&series));
        assert_eq!(out.iter().position(Option::is_some), Some(19));
        assert!(out[19..].iter().all(Option::is_some));
    }

    #[test]
    fn reset_forgets_everything() {
        let candles = closes(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0]);
        let mut ema = Ema::new(3);
        let first = batch(&mut ema, &candles);
        ema.reset();
        assert_eq!(batch(&mut ema, &candles), first);
    }
}
