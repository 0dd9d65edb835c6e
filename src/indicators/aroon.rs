//! AROON: how many bars ago the window of `period + 1` bars made its highest high (up) and its
//! lowest low (down), scaled to 0..100, as TA-Lib computes it (ties go to the newest bar).

use super::window::{Extreme, ExtremeWindow};
use super::{AroonValue, Indicator};
use crate::domain::Candle;

/// Aroon up = 100/period · (period − bars since the highest high), Aroon down likewise with the
/// lowest low, over the last `period + 1` bars. First value at bar `period`.
#[derive(Clone, Debug)]
pub struct Aroon {
    period: usize,
    highest: ExtremeWindow,
    lowest: ExtremeWindow,
    factor: f64,
}

impl Aroon {
    /// # Panics
    /// When `period` < 2 (TA-Lib's minimum).
    pub fn new(period: usize) -> Self {
        assert!(period >= 2, "AROON period must be at least 2, got {period}");
        Self {
            period,
            highest: ExtremeWindow::new(period + 1, Extreme::Max),
            lowest: ExtremeWindow::new(period + 1, Extreme::Min),
            factor: 100.0 / period as f64,
        }
    }
}

impl Default for Aroon {
    /// gen_talib.py's AROON 14.
    fn default() -> Self {
        Self::new(14)
    }
}

impl Indicator for Aroon {
    type Output = AroonValue;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<AroonValue> {
        let (_, high_age) = self.highest.push(candle.high);
        let (_, low_age) = self.lowest.push(candle.low);
        if self.highest.count() <= self.period as u64 {
            return None;
        }
        Some(AroonValue {
            down: self.factor * (self.period - low_age) as f64,
            up: self.factor * (self.period - high_age) as f64,
        })
    }

    fn reset(&mut self) {
        self.highest.clear();
        self.lowest.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::hlc;
    use crate::indicators::batch;

    fn bar(high: f64, low: f64) -> Candle {
        hlc(high, low, low)
    }

    #[test]
    fn hand_checked_period_two() {
        let bars = [
            bar(5.0, 1.0),
            bar(7.0, 2.0),
            bar(6.0, 0.5), // high 7 one bar ago: up 50; low now: down 100
            bar(6.0, 3.0), // highs 7 6 6: tie of 6 not the max; up 0; low 0.5 one ago: down 50
            bar(6.0, 3.0), // highs 6 6 6: tie → newest, up 100; lows 0.5 3 3 → down 0
        ];
        let out = batch(&mut Aroon::new(2), &bars);
        assert_eq!(&out[..2], &[None, None]);
        assert_eq!(
            out[2],
            Some(AroonValue {
                down: 100.0,
                up: 50.0
            })
        );
        assert_eq!(
            out[3],
            Some(AroonValue {
                down: 50.0,
                up: 0.0
            })
        );
        assert_eq!(
            out[4],
            Some(AroonValue {
                down: 0.0,
                up: 100.0
            })
        );
    }

    #[test]
    fn warm_up_and_reset() {
        let bars: Vec<Candle> = (0..40)
            .map(|i| {
                let c = 9.0 + (i as f64 * 0.8).sin();
                bar(c + 0.1, c - 0.1)
            })
            .collect();
        let mut aroon = Aroon::default();
        let first = batch(&mut aroon, &bars);
        assert_eq!(first.iter().position(Option::is_some), Some(14));
        assert!(first[14..].iter().all(Option::is_some));
        aroon.reset();
        assert_eq!(batch(&mut aroon, &bars), first);
    }

    #[test]
    #[should_panic(expected = "AROON period must be at least 2, got 1")]
    fn period_one_is_refused() {
        let _ = Aroon::new(1);
    }
}
