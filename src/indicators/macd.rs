//! MACD: fast EMA minus slow EMA of the closes, its signal EMA, and their difference. As in TA-Lib,
//! the fast EMA starts together with the slow one (seeded with the SMA of the `fast` closes that end
//! where the slow seed ends), and all three outputs start on the same candle.

use super::ema::Ema;
use super::{Indicator, MacdValue};
use crate::domain::Candle;

/// MACD line, signal and histogram (TA-Lib MACD; default 12/26/9).
#[derive(Clone, Debug)]
pub struct Macd {
    fast: Ema,
    slow: Ema,
    signal: Ema,
    /// Closes to skip before the fast EMA starts (`slow - fast`).
    fast_delay: usize,
    seen: usize,
}

impl Macd {
    /// Periods below 1 are raised to 1; a `fast` above `slow` is swapped with it, as TA-Lib does.
    pub fn new(fast: usize, slow: usize, signal: usize) -> Self {
        let (fast, slow) = (fast.max(1), slow.max(1));
        let (fast, slow) = if slow < fast {
            (slow, fast)
        } else {
            (fast, slow)
        };
        Self {
            fast: Ema::new(fast),
            slow: Ema::new(slow),
            signal: Ema::new(signal),
            fast_delay: slow - fast,
            seen: 0,
        }
    }
}

impl Default for Macd {
    fn default() -> Self {
        Self::new(12, 26, 9)
    }
}

impl Indicator for Macd {
    type Output = MacdValue;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<MacdValue> {
        let close = candle.close;
        let slow = self.slow.update_value(close);
        if self.seen < self.fast_delay {
            self.seen += 1;
            return None;
        }
        let fast = self.fast.update_value(close);
        let (Some(fast), Some(slow)) = (fast, slow) else {
            return None;
        };
        let macd = fast - slow;
        let signal = self.signal.update_value(macd)?;
        Some(MacdValue {
            macd,
            signal,
            hist: macd - signal,
        })
    }

    fn reset(&mut self) {
        self.fast.reset();
        self.slow.reset();
        self.signal.reset();
        self.seen = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::closes;
    use crate::indicators::batch;

    fn close_to(got: f64, want: f64) -> bool {
        (got - want).abs() < 1e-12
    }

    #[test]
    fn aligned_fast_seed_by_hand() {
        // fast 2 (k 2/3), slow 3 (k 1/2), signal 2 (k 2/3).
        // Candle 2: fast = SMA(2, 3) = 2.5, slow = SMA(1, 2, 3) = 2 -> macd 0.5.
        // Candle 3: fast 2.5 + 1.5 * 2/3 = 3.5, slow 2 + 2 / 2 = 3 -> macd 0.5; signal = SMA = 0.5.
        // Candle 4: fast 3.5 - 1.5 * 2/3 = 2.5, slow 3 - 1 / 2 = 2.5 -> macd 0;
        //           signal 0.5 - 0.5 * 2/3 = 1/6, hist -1/6.
        let out = batch(&mut Macd::new(2, 3, 2), &closes(&[1.0, 2.0, 3.0, 4.0, 2.0]));
        assert_eq!(out[..3], [None, None, None]);
        let v3 = out[3].unwrap();
        assert!(close_to(v3.macd, 0.5) && close_to(v3.signal, 0.5) && close_to(v3.hist, 0.0));
        let v4 = out[4].unwrap();
        assert!(close_to(v4.macd, 0.0), "{v4:?}");
        assert!(close_to(v4.signal, 1.0 / 6.0), "{v4:?}");
        assert!(close_to(v4.hist, -1.0 / 6.0), "{v4:?}");
    }

    #[test]
    fn all_three_start_after_slow_plus_signal_minus_two() {
        let series: Vec<f64> = (0..80).map(|i| 30.0 + (i as f64 * 0.4).sin()).collect();
        let out = batch(&mut Macd::default(), &closes(&series));
        assert_eq!(out.iter().position(Option::is_some), Some(33));
        assert!(out[33..].iter().all(Option::is_some));
    }

    #[test]
    fn swapped_periods_equal_ordered_ones() {
        let candles = closes(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0]);
        let a = batch(&mut Macd::new(2, 4, 3), &candles);
        let b = batch(&mut Macd::new(4, 2, 3), &candles);
        assert_eq!(a, b);
    }

    #[test]
    fn reset_forgets_everything() {
        let candles = closes(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0]);
        let mut macd = Macd::new(2, 4, 3);
        let first = batch(&mut macd, &candles);
        macd.reset();
        assert_eq!(batch(&mut macd, &candles), first);
    }
}
