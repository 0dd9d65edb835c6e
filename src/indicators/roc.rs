//! ROC: the rate of change of the close over `period` candles, in percent, as TA-Lib computes it
//! (`(close / close[-period] - 1) * 100`, and 0 when the old close is 0).

use super::Indicator;
use super::window::Ring;
use crate::domain::Candle;

/// Rate of change over `period` closes (TA-Lib ROC; default 10).
#[derive(Clone, Debug)]
pub struct Roc {
    period: usize,
    /// The last `period` closes.
    closes: Ring,
}

impl Roc {
    /// `period` below 1 is raised to 1.
    pub fn new(period: usize) -> Self {
        let period = period.max(1);
        Self {
            period,
            closes: Ring::new(period),
        }
    }

    pub fn period(&self) -> usize {
        self.period
    }
}

impl Default for Roc {
    fn default() -> Self {
        Self::new(10)
    }
}

impl Indicator for Roc {
    type Output = f64;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        let close = candle.close;
        let old = self.closes.push(close)?;
        Some(if old != 0.0 {
            (close / old - 1.0) * 100.0
        } else {
            0.0
        })
    }

    fn reset(&mut self) {
        self.closes.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::closes;
    use crate::indicators::batch;

    #[test]
    fn percent_change_over_the_period() {
        let out = batch(&mut Roc::new(2), &closes(&[1.0, 2.0, 4.0, 1.0]));
        assert_eq!(out, vec![None, None, Some(300.0), Some(-50.0)]);
    }

    #[test]
    fn zero_old_close_gives_zero() {
        let out = batch(&mut Roc::new(1), &closes(&[0.0, 2.0]));
        assert_eq!(out, vec![None, Some(0.0)]);
    }

    #[test]
    fn warms_up_after_period_plus_one_closes() {
        let series: Vec<f64> = (1..30).map(f64::from).collect();
        let out = batch(&mut Roc::default(), &closes(&series));
        assert_eq!(out.iter().position(Option::is_some), Some(10));
    }

    #[test]
    fn reset_forgets_everything() {
        let candles = closes(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0]);
        let mut roc = Roc::new(2);
        let first = batch(&mut roc, &candles);
        roc.reset();
        assert_eq!(batch(&mut roc, &candles), first);
    }
}
