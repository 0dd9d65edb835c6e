//! MFI, the money flow index: RSI-like ratio of the money flow (typical price × volume) of bars
//! whose typical price rose to the total of bars where it rose or fell, as TA-Lib computes it.

use super::Indicator;
use super::window::Ring;
use crate::domain::Candle;

/// Money flow index over `period` bars, as TA-Lib 0.8 computes it: a bar whose typical price did
/// not move (within TA-Lib's scaled dead-zone of 1e-14 × the two prices) counts as neither
/// positive nor negative flow; a window without any flow gives 0; the ratio is clamped to 0..100.
/// First value at bar `period`.
#[derive(Clone, Debug)]
pub struct Mfi {
    period: usize,
    positive: Ring,
    negative: Ring,
    positive_sum: f64,
    negative_sum: f64,
    previous_typical: f64,
    started: bool,
    /// Consecutive bars without money flow: once a whole window of them has passed, the sums
    /// are exactly zero and their rounding residue is dropped (TA-Lib does the same).
    empty_run: usize,
}

impl Mfi {
    /// # Panics
    /// When `period` < 2 (TA-Lib's minimum).
    pub fn new(period: usize) -> Self {
        assert!(period >= 2, "MFI period must be at least 2, got {period}");
        Self {
            period,
            positive: Ring::new(period),
            negative: Ring::new(period),
            positive_sum: 0.0,
            negative_sum: 0.0,
            previous_typical: 0.0,
            started: false,
            empty_run: 0,
        }
    }
}

impl Default for Mfi {
    /// gen_talib.py's MFI 14.
    fn default() -> Self {
        Self::new(14)
    }
}

/// TA-Lib's `TA_IS_ZERO_SCALED`: zero within 1e-14 of the operands' magnitude.
#[inline]
fn is_zero_scaled(value: f64, scale: f64) -> bool {
    value.abs() <= 1e-14 * scale
}

impl Indicator for Mfi {
    type Output = f64;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        let typical = (candle.high + candle.low + candle.close) / 3.0;
        let change = typical - self.previous_typical;
        let scale = typical.abs() + self.previous_typical.abs();
        self.previous_typical = typical;
        if !self.started {
            self.started = true;
            return None;
        }
        let flow = if is_zero_scaled(change, scale) {
            0.0
        } else {
            typical * candle.volume
        };
        let (up, down) = if change < 0.0 {
            (0.0, flow)
        } else {
            (flow, 0.0)
        };
        // TA-Lib drops the oldest flow before adding the newest.
        if let Some(oldest) = self.positive.push(up) {
            self.positive_sum -= oldest;
        }
        if let Some(oldest) = self.negative.push(down) {
            self.negative_sum -= oldest;
        }
        self.positive_sum += up;
        self.negative_sum += down;
        if flow == 0.0 {
            self.empty_run += 1;
            if self.empty_run >= self.period {
                self.empty_run = self.period;
                self.positive_sum = 0.0;
                self.negative_sum = 0.0;
            }
        } else {
            self.empty_run = 0;
        }
        if !self.positive.is_full() {
            return None;
        }
        let total = self.positive_sum + self.negative_sum;
        let positive = self.positive_sum.max(0.0).min(total);
        Some(if total <= 0.0 {
            0.0
        } else {
            100.0 * (positive / total)
        })
    }

    fn reset(&mut self) {
        self.positive.clear();
        self.negative.clear();
        self.positive_sum = 0.0;
        self.negative_sum = 0.0;
        self.previous_typical = 0.0;
        self.started = false;
        self.empty_run = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::hlc;
    use crate::indicators::batch;

    fn bar(price: f64, volume: f64) -> Candle {
        Candle {
            volume,
            ..hlc(price, price, price)
        }
    }

    #[test]
    fn hand_checked_period_two() {
        let bars = [
            bar(10.0, 5.0),
            bar(11.0, 2.0), // up: 22
            bar(11.0, 9.0), // unchanged: neither; MFI = 22 / 22 = 100
            bar(10.0, 3.0), // down: 30; window (0, 30): MFI 0
            bar(12.0, 1.0), // up 12; window (30 down, 12 up): 100 · 12 / 42
        ];
        let out = batch(&mut Mfi::new(2), &bars);
        assert_eq!(&out[..2], &[None, None]);
        assert_eq!(out[2], Some(100.0));
        assert_eq!(out[3], Some(0.0));
        assert!((out[4].unwrap() - 100.0 * 12.0 / 42.0).abs() < 1e-12);
    }

    #[test]
    fn small_money_flow_still_counts() {
        // TA-Lib before 0.8 gave 0 when the window's flow summed below 1.0; 0.8 does not.
        let bars = [bar(0.001, 5.0), bar(0.002, 5.0), bar(0.001, 5.0)];
        let expected = 100.0 * 0.01 / (0.01 + 0.005);
        assert!((batch(&mut Mfi::new(2), &bars)[2].unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn rounding_sized_moves_are_no_move() {
        // A change of 1e-15 on a price of 1 is inside TA-Lib's dead-zone: no flow at all.
        let bars = [bar(1.0, 1.0), bar(1.0 - 1e-15, 1.0), bar(1.0, 1.0)];
        assert_eq!(batch(&mut Mfi::new(2), &bars)[2], Some(0.0));
    }

    #[test]
    fn warm_up_and_reset() {
        let bars: Vec<Candle> = (0..40)
            .map(|i| bar(100.0 + (i as f64 * 0.9).sin() * 4.0, 10.0 + i as f64))
            .collect();
        let mut mfi = Mfi::default();
        let first = batch(&mut mfi, &bars);
        assert_eq!(first.iter().position(Option::is_some), Some(14));
        assert!(first[14..].iter().all(Option::is_some));
        mfi.reset();
        assert_eq!(batch(&mut mfi, &bars), first);
    }

    #[test]
    #[should_panic(expected = "MFI period must be at least 2, got 1")]
    fn period_one_is_refused() {
        let _ = Mfi::new(1);
    }
}
