//! WILLR, Williams' %R: where the close sits in the high/low range of the last `period` bars,
//! from 0 (at the highest high) to −100 (at the lowest low), as TA-Lib computes it.

use super::Indicator;
use super::stoch::flat;
use super::window::HighLowWindow;
use crate::domain::Candle;

/// Williams' %R = (highest − close) / ((highest − lowest) / −100); 0 when the range is empty
/// (within TA-Lib 0.8's scaled dead-zone).
/// First value at bar `period − 1`.
#[derive(Clone, Debug)]
pub struct WillR {
    range: HighLowWindow,
}

impl WillR {
    /// # Panics
    /// When `period` < 2 (TA-Lib's minimum).
    pub fn new(period: usize) -> Self {
        assert!(period >= 2, "WILLR period must be at least 2, got {period}");
        Self {
            range: HighLowWindow::new(period),
        }
    }

    pub fn period(&self) -> usize {
        self.range.period()
    }
}

/// %R from the window's (highest high, lowest low) and the close; what [`WillR::update`] computes
/// after its window, and what [`RawIndicators`](super::RawIndicators) calls with the window it
/// shares with STOCH.
#[inline]
pub fn williams_r(range: Option<(f64, f64)>, close: f64) -> Option<f64> {
    let (highest, lowest) = range?;
    Some(if flat(highest, lowest) {
        0.0
    } else {
        (highest - close) / ((highest - lowest) / -100.0)
    })
}

impl Default for WillR {
    /// gen_talib.py's WILLR 14.
    fn default() -> Self {
        Self::new(14)
    }
}

impl Indicator for WillR {
    type Output = f64;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        williams_r(self.range.push(candle.high, candle.low), candle.close)
    }

    fn reset(&mut self) {
        self.range.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::hlc as bar;
    use crate::indicators::batch;

    #[test]
    fn hand_checked_period_two() {
        let bars = [
            bar(10.0, 8.0, 9.0),
            bar(12.0, 9.0, 11.0),  // range 8..12, close 11: −25
            bar(11.0, 10.0, 9.0),  // range 9..12, close 9: −100
            bar(11.0, 11.0, 11.0), // range 10..11, close 11: 0
        ];
        let out = batch(&mut WillR::new(2), &bars);
        assert_eq!(out[0], None);
        assert!((out[1].unwrap() + 25.0).abs() < 1e-12);
        assert!((out[2].unwrap() + 100.0).abs() < 1e-12);
        assert_eq!(out[3].unwrap(), 0.0);
    }

    #[test]
    fn flat_range_gives_zero() {
        let out = batch(&mut WillR::new(3), &[bar(2.0, 2.0, 2.0); 5]);
        assert_eq!(out[4], Some(0.0));
    }

    #[test]
    fn satoshi_quotes_are_not_flat() {
        let bars = [bar(3e-8, 1e-8, 2e-8), bar(3e-8, 2e-8, 2e-8)];
        assert!((batch(&mut WillR::new(2), &bars)[1].unwrap() + 50.0).abs() < 1e-9);
    }

    #[test]
    fn warm_up_and_reset() {
        let bars: Vec<Candle> = (0..30)
            .map(|i| {
                let c = 50.0 + (i as f64).cos() * 3.0;
                bar(c + 0.5, c - 0.5, c)
            })
            .collect();
        let mut willr = WillR::default();
        let first = batch(&mut willr, &bars);
        assert_eq!(first.iter().position(Option::is_some), Some(13));
        willr.reset();
        assert_eq!(batch(&mut willr, &bars), first);
    }

    #[test]
    #[should_panic(expected = "WILLR period must be at least 2, got 1")]
    fn period_one_is_refused() {
        let _ = WillR::new(1);
    }
}
