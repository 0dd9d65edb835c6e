//! BBANDS: Bollinger bands around the SMA of the closes. As TA-Lib does for an SMA middle band, the
//! standard deviation is the population one, `sqrt(mean(x²) - mean(x)²)` from a running sum of
//! squares, taken as 0 when that variance is below TA-Lib's epsilon.

use super::window::Ring;
use super::{BandsValue, Indicator};
use crate::domain::Candle;

/// TA-Lib's `TA_IS_ZERO_OR_NEG` bound.
const NEAR_ZERO: f64 = 1e-14;

/// Bollinger bands over `period` closes, `dev_up` / `dev_down` deviations wide (TA-Lib BBANDS with
/// an SMA middle; default 20/2/2).
#[derive(Clone, Debug)]
pub struct Bbands {
    period: usize,
    period_f: f64,
    dev_up: f64,
    dev_down: f64,
    /// The last `period - 1` closes.
    kept: Ring,
    sum: f64,
    sum_of_squares: f64,
}

impl Bbands {
    /// `period` below 1 is raised to 1.
    pub fn new(period: usize, dev_up: f64, dev_down: f64) -> Self {
        let period = period.max(1);
        Self {
            period,
            period_f: period as f64,
            dev_up,
            dev_down,
            kept: Ring::new(period.saturating_sub(1)),
            sum: 0.0,
            sum_of_squares: 0.0,
        }
    }

    pub fn period(&self) -> usize {
        self.period
    }

    fn bands(&self, middle: f64, mean_of_squares: f64) -> BandsValue {
        let variance = mean_of_squares - middle * middle;
        let deviation = if variance < NEAR_ZERO {
            0.0
        } else {
            variance.sqrt()
        };
        BandsValue {
            upper: middle + deviation * self.dev_up,
            middle,
            lower: middle - deviation * self.dev_down,
        }
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
        self.sum += close;
        self.sum_of_squares += close * close;
        if self.period == 1 {
            let (middle, squares) = (self.sum, self.sum_of_squares);
            self.sum = 0.0;
            self.sum_of_squares = 0.0;
            return Some(self.bands(middle, squares));
        }
        let oldest = self.kept.push(close)?;
        let middle = self.sum / self.period_f;
        let mean_of_squares = self.sum_of_squares / self.period_f;
        self.sum -= oldest;
        self.sum_of_squares -= oldest * oldest;
        Some(self.bands(middle, mean_of_squares))
    }

    fn reset(&mut self) {
        self.kept.clear();
        self.sum = 0.0;
        self.sum_of_squares = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::batch;
    use crate::indicators::sma::tests::closes;

    #[test]
    fn population_deviation_by_hand() {
        // Window 1, 2, 3: mean 2, variance 14/3 - 4 = 2/3.
        let out = batch(&mut Bbands::new(3, 2.0, 1.0), &closes(&[1.0, 2.0, 3.0]));
        assert_eq!(out[..2], [None, None]);
        let b = out[2].unwrap();
        let sd = (2.0f64 / 3.0).sqrt();
        assert_eq!(b.middle, 2.0);
        assert!((b.upper - (2.0 + 2.0 * sd)).abs() < 1e-12, "{b:?}");
        assert!((b.lower - (2.0 - sd)).abs() < 1e-12, "{b:?}");
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
