//! ATR, the average true range with Wilder's smoothing, seeded as TA-Lib seeds it: the simple
//! mean of the first `period` true ranges (which start at bar 1, as each needs the previous close).

use super::Indicator;
use crate::domain::Candle;

/// The true range of a bar: the largest of high − low, |high − previous close| and
/// |low − previous close|, compared in TA-Lib's order.
#[inline]
pub(crate) fn true_range(high: f64, low: f64, previous_close: f64) -> f64 {
    let mut range = high - low;
    let up = (high - previous_close).abs();
    if up > range {
        range = up;
    }
    let down = (low - previous_close).abs();
    if down > range {
        range = down;
    }
    range
}

/// Average true range. First value at bar `period` (14 for ATR 14).
#[derive(Clone, Debug)]
pub struct Atr {
    period: usize,
    previous_close: f64,
    /// Bars seen, saturating at `period + 1`.
    seen: usize,
    /// The sum of true ranges while seeding, then the ATR itself.
    value: f64,
    period_minus_one: f64,
    inverse_period: f64,
}

impl Atr {
    /// # Panics
    /// When `period` is 0 (TA-Lib accepts 1 and more).
    pub fn new(period: usize) -> Self {
        assert!(period >= 1, "ATR period must be at least 1, got {period}");
        Self {
            period,
            previous_close: 0.0,
            seen: 0,
            value: 0.0,
            period_minus_one: (period - 1) as f64,
            inverse_period: 1.0 / period as f64,
        }
    }
}

impl Default for Atr {
    /// gen_talib.py's ATR 14.
    fn default() -> Self {
        Self::new(14)
    }
}

impl Indicator for Atr {
    type Output = f64;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        let previous_close = self.previous_close;
        self.previous_close = candle.close;
        if self.seen > self.period {
            let range = true_range(candle.high, candle.low, previous_close);
            self.value = (self.value * self.period_minus_one + range) * self.inverse_period;
            return Some(self.value);
        }
        self.seen += 1;
        if self.seen == 1 {
            return None;
        }
        self.value += true_range(candle.high, candle.low, previous_close);
        if self.seen <= self.period {
            return None;
        }
        // The seed is TA-Lib's SMA: the sum divided (not multiplied by a reciprocal), once.
        self.value /= self.period as f64;
        Some(self.value)
    }

    fn reset(&mut self) {
        self.previous_close = 0.0;
        self.seen = 0;
        self.value = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::hlc as bar;
    use crate::indicators::batch;

    #[test]
    fn true_range_takes_the_gap_into_account() {
        assert_eq!(true_range(12.0, 11.0, 8.0), 4.0);
        assert_eq!(true_range(12.0, 11.0, 15.0), 4.0);
        assert_eq!(true_range(12.0, 9.0, 10.0), 3.0);
    }

    #[test]
    fn hand_checked_period_two() {
        let bars = [
            bar(10.0, 9.0, 9.5),
            bar(11.0, 9.0, 10.0),  // TR 2
            bar(12.0, 11.0, 11.5), // TR 2 (gap from 10): seed (2 + 2) / 2 = 2
            bar(12.0, 11.0, 11.0), // TR 1: (2 · 1 + 1) / 2 = 1.5
        ];
        let out = batch(&mut Atr::new(2), &bars);
        assert_eq!(out, vec![None, None, Some(2.0), Some(1.5)]);
    }

    #[test]
    fn period_one_is_the_true_range() {
        let bars = [
            bar(10.0, 9.0, 9.5),
            bar(11.0, 9.0, 10.0),
            bar(12.0, 11.0, 11.5),
        ];
        assert_eq!(
            batch(&mut Atr::new(1), &bars),
            vec![None, Some(2.0), Some(2.0)]
        );
    }

    #[test]
    fn warm_up_and_reset() {
        let bars: Vec<Candle> = (0..40)
            .map(|i| {
                let c = 10.0 + (i as f64 * 0.5).sin();
                bar(c + 0.4, c - 0.1, c)
            })
            .collect();
        let mut atr = Atr::default();
        let first = batch(&mut atr, &bars);
        assert_eq!(first.iter().position(Option::is_some), Some(14));
        assert!(first[14..].iter().all(Option::is_some));
        atr.reset();
        assert_eq!(batch(&mut atr, &bars), first);
    }

    #[test]
    #[should_panic(expected = "ATR period must be at least 1, got 0")]
    fn period_zero_is_refused() {
        let _ = Atr::new(0);
    }
}
