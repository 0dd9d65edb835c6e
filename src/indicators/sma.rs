//! SMA: the simple moving average of the closes, kept as a running sum in TA-Lib's order (add the
//! new close, divide, then drop the oldest), so the output is bit-identical to TA-Lib's.

use super::Indicator;
use super::window::Ring;
use crate::domain::Candle;

/// Simple moving average over `period` closes (TA-Lib SMA; default 20).
#[derive(Clone, Debug)]
pub struct Sma {
    period: usize,
    period_f: f64,
    /// The last `period - 1` inputs: pushing the newest pushes out the oldest of the window.
    kept: Ring,
    /// Sum of the inputs in `kept`.
    sum: f64,
}

impl Sma {
    /// `period` below TA-Lib's minimum of 1 is raised to 1.
    pub fn new(period: usize) -> Self {
        let period = period.max(1);
        Self {
            period,
            period_f: period as f64,
            kept: Ring::new(period.saturating_sub(1)),
            sum: 0.0,
        }
    }

    pub fn period(&self) -> usize {
        self.period
    }

    /// Feeds one value (not necessarily a close: STOCH and STOCHRSI smooth their %K with it).
    #[inline]
    pub fn update_value(&mut self, value: f64) -> Option<f64> {
        if self.period == 1 {
            return Some(value);
        }
        self.sum += value;
        let oldest = self.kept.push(value)?;
        let mean = self.sum / self.period_f;
        self.sum -= oldest;
        Some(mean)
    }
}

impl Default for Sma {
    fn default() -> Self {
        Self::new(20)
    }
}

impl Indicator for Sma {
    type Output = f64;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.update_value(candle.close)
    }

    fn reset(&mut self) {
        self.kept.clear();
        self.sum = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::closes;
    use crate::indicators::batch;

    #[test]
    fn averages_the_last_period_closes() {
        let out = batch(&mut Sma::new(3), &closes(&[1.0, 2.0, 3.0, 4.0, 9.0]));
        assert_eq!(
            out,
            vec![None, None, Some(2.0), Some(3.0), Some(16.0 / 3.0)]
        );
    }

    #[test]
    fn warms_up_after_period_closes() {
        let series: Vec<f64> = (0..40).map(|i| 100.0 + (i as f64).sin()).collect();
        let out = batch(&mut Sma::default(), &closes(&series));
        assert_eq!(out.iter().position(Option::is_some), Some(19));
        assert!(out[19..].iter().all(Option::is_some));
    }

    #[test]
    fn period_one_is_the_close_itself() {
        let out = batch(&mut Sma::new(0), &closes(&[5.0, 7.0]));
        assert_eq!(out, vec![Some(5.0), Some(7.0)]);
    }

    #[test]
    fn reset_forgets_everything() {
        let candles = closes(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0]);
        let mut sma = Sma::new(3);
        let first = batch(&mut sma, &candles);
        sma.reset();
        assert_eq!(batch(&mut sma, &candles), first);
    }
}
