//! OBV: on-balance volume. TA-Lib starts the running total at the first candle's volume, then adds
//! the volume of each candle that closes higher and subtracts it for one that closes lower.

use super::Indicator;
use crate::domain::Candle;

/// On-balance volume (TA-Lib OBV).
#[derive(Clone, Debug, Default)]
pub struct Obv {
    started: bool,
    previous_close: f64,
    total: f64,
}

impl Obv {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Indicator for Obv {
    type Output = f64;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        let close = candle.close;
        if !self.started {
            self.started = true;
            self.total = candle.volume;
        } else if close > self.previous_close {
            self.total += candle.volume;
        } else if close < self.previous_close {
            self.total -= candle.volume;
        }
        self.previous_close = close;
        Some(self.total)
    }

    fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::closes;
    use crate::indicators::batch;

    #[test]
    fn adds_up_and_subtracts_down_volume() {
        // Volumes of the helper candles are 1, 2, 3, 4, 5.
        let out = batch(&mut Obv::new(), &closes(&[1.0, 2.0, 2.0, 1.0, 3.0]));
        assert_eq!(
            out,
            vec![Some(1.0), Some(3.0), Some(3.0), Some(-1.0), Some(4.0)]
        );
    }

    #[test]
    fn reset_forgets_everything() {
        let candles = closes(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0]);
        let mut obv = Obv::new();
        let first = batch(&mut obv, &candles);
        obv.reset();
        assert_eq!(batch(&mut obv, &candles), first);
    }
}
