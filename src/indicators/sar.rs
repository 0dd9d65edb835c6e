//! SAR, Wilder's parabolic stop-and-reverse, with TA-Lib's start: the first direction comes from
//! the directional movement of the first two bars (short when −DM > 0), the first stop is the
//! first bar's extreme, and the first value is at bar 1.

use super::Indicator;
use crate::domain::Candle;

/// Parabolic SAR with acceleration step `acceleration` up to `maximum`.
#[derive(Clone, Debug)]
pub struct Sar {
    step: f64,
    maximum: f64,
    /// Bars seen, saturating at 2.
    seen: u8,
    is_long: bool,
    sar: f64,
    extreme: f64,
    factor: f64,
    previous_high: f64,
    previous_low: f64,
}

impl Sar {
    /// # Panics
    /// When `acceleration` or `maximum` is negative or not finite. As in TA-Lib, an acceleration
    /// above the maximum is lowered to the maximum.
    pub fn new(acceleration: f64, maximum: f64) -> Self {
        assert!(
            acceleration.is_finite() && acceleration >= 0.0,
            "SAR acceleration must be a finite number >= 0, got {acceleration}"
        );
        assert!(
            maximum.is_finite() && maximum >= 0.0,
            "SAR maximum must be a finite number >= 0, got {maximum}"
        );
        let step = acceleration.min(maximum);
        Self {
            step,
            maximum,
            seen: 0,
            is_long: true,
            sar: 0.0,
            extreme: 0.0,
            factor: step,
            previous_high: 0.0,
            previous_low: 0.0,
        }
    }
}

impl Default for Sar {
    /// gen_talib.py's SAR 0.02 / 0.2.
    fn default() -> Self {
        Self::new(0.02, 0.2)
    }
}

impl Indicator for Sar {
    type Output = f64;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        let (high, low) = (candle.high, candle.low);
        if self.seen < 2 {
            self.seen += 1;
            if self.seen == 1 {
                self.previous_high = high;
                self.previous_low = low;
                return None;
            }
            // TA-Lib's MINUS_DM over the first two bars picks the direction.
            let up = high - self.previous_high;
            let down = self.previous_low - low;
            self.is_long = !(down > 0.0 && up < down);
            if self.is_long {
                self.extreme = high;
                self.sar = self.previous_low;
            } else {
                self.extreme = low;
                self.sar = self.previous_high;
            }
            // TA-Lib treats the first bar as its own previous bar.
            self.previous_high = high;
            self.previous_low = low;
        }
        let (previous_high, previous_low) = (self.previous_high, self.previous_low);
        self.previous_high = high;
        self.previous_low = low;
        let output;
        if self.is_long {
            if low <= self.sar {
                // Reverse to short: the stop jumps to the extreme, kept above both bars' highs.
                self.is_long = false;
                self.sar = self.extreme.max(previous_high).max(high);
                output = self.sar;
                self.factor = self.step;
                self.extreme = low;
                self.sar += self.factor * (self.extreme - self.sar);
                self.sar = self.sar.max(previous_high).max(high);
            } else {
                output = self.sar;
                if high > self.extreme {
                    self.extreme = high;
                    self.factor = (self.factor + self.step).min(self.maximum);
                }
                self.sar += self.factor * (self.extreme - self.sar);
                self.sar = self.sar.min(previous_low).min(low);
            }
        } else if high >= self.sar {
            // Reverse to long: the stop jumps to the extreme, kept below both bars' lows.
            self.is_long = true;
            self.sar = self.extreme.min(previous_low).min(low);
            output = self.sar;
            self.factor = self.step;
            self.extreme = high;
            self.sar += self.factor * (self.extreme - self.sar);
            self.sar = self.sar.min(previous_low).min(low);
        } else {
            output = self.sar;
            if low < self.extreme {
                self.extreme = low;
                self.factor = (self.factor + self.step).min(self.maximum);
            }
            self.sar += self.factor * (self.extreme - self.sar);
            self.sar = self.sar.max(previous_high).max(high);
        }
        Some(output)
    }

    fn reset(&mut self) {
        *self = Self::new(self.step, self.maximum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::hlc;
    use crate::indicators::batch;

    /// Opens at its low, closes at its high.
    fn bar(high: f64, low: f64) -> Candle {
        Candle {
            open: low,
            ..hlc(high, low, high)
        }
    }

    #[test]
    fn hand_checked_uptrend_then_reversal() {
        let bars = [
            bar(10.0, 9.0),
            bar(11.0, 9.5),  // −DM 0: long; SAR = first low 9, EP 11
            bar(12.0, 10.5), // output 9.04; EP 12, AF 0.04
            bar(11.0, 8.0),  // low 8 <= SAR: reverse to short at EP 12
        ];
        let out = batch(&mut Sar::default(), &bars);
        assert_eq!(out[0], None);
        assert_eq!(out[1], Some(9.0));
        // After bar 1: SAR = 9 + 0.02 · (11 − 9) = 9.04, capped by the lows 9.5 and 9.5.
        assert!((out[2].unwrap() - 9.04).abs() < 1e-12);
        assert_eq!(out[3], Some(12.0));
    }

    #[test]
    fn starts_short_when_the_second_bar_falls() {
        let bars = [bar(10.0, 9.0), bar(9.8, 8.0), bar(9.0, 7.5)];
        let out = batch(&mut Sar::default(), &bars);
        // Short: SAR = first high 10, EP 8; next SAR = 10 + 0.02 · (8 − 10) = 9.96.
        assert_eq!(out[1], Some(10.0));
        assert!((out[2].unwrap() - 9.96).abs() < 1e-12);
    }

    #[test]
    fn acceleration_above_maximum_is_lowered() {
        let sar = Sar::new(0.5, 0.2);
        assert_eq!((sar.step, sar.factor), (0.2, 0.2));
    }

    #[test]
    fn warm_up_and_reset() {
        let bars: Vec<Candle> = (0..50)
            .map(|i| {
                let c = 5.0 + (i as f64 * 0.25).sin();
                bar(c + 0.1, c - 0.1)
            })
            .collect();
        let mut sar = Sar::default();
        let first = batch(&mut sar, &bars);
        assert_eq!(first.iter().position(Option::is_some), Some(1));
        assert!(first[1..].iter().all(Option::is_some));
        sar.reset();
        assert_eq!(batch(&mut sar, &bars), first);
    }

    #[test]
    #[should_panic(expected = "SAR acceleration must be a finite number >= 0, got NaN")]
    fn nan_acceleration_is_refused() {
        let _ = Sar::new(f64::NAN, 0.2);
    }
}
