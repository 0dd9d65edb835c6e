//! ADX with +DI and −DI: Wilder's directional movement system as TA-Lib computes it. One type
//! holds all three, since they share the smoothed directional movements and true range.

use super::atr::true_range;
use super::{AdxValue, Indicator};
use crate::domain::Candle;

/// ADX, +DI, −DI over `period` bars. The directional movements and true range are Wilder sums
/// (seeded by the plain sum of bars 1..period−1); the DIs are valid from bar `period`, ADX (the
/// mean of the first `period` DX values, then Wilder-smoothed) from bar `2 · period − 1`.
#[derive(Clone, Debug)]
pub struct Adx {
    period: usize,
    /// Bars seen, saturating at `2 · period`.
    seen: usize,
    previous_high: f64,
    previous_low: f64,
    previous_close: f64,
    plus_dm: f64,
    minus_dm: f64,
    true_range: f64,
    /// The sum of DX values while seeding, then ADX itself.
    adx: f64,
    period_minus_one: f64,
    inverse_period: f64,
}

impl Adx {
    /// # Panics
    /// When `period` < 2 (TA-Lib's minimum for ADX).
    pub fn new(period: usize) -> Self {
        assert!(period >= 2, "ADX period must be at least 2, got {period}");
        Self {
            period,
            seen: 0,
            previous_high: 0.0,
            previous_low: 0.0,
            previous_close: 0.0,
            plus_dm: 0.0,
            minus_dm: 0.0,
            true_range: 0.0,
            adx: 0.0,
            period_minus_one: (period - 1) as f64,
            inverse_period: 1.0 / period as f64,
        }
    }
}

impl Default for Adx {
    /// gen_talib.py's ADX, PLUS_DI and MINUS_DI, all 14.
    fn default() -> Self {
        Self::new(14)
    }
}

impl Indicator for Adx {
    type Output = AdxValue;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<AdxValue> {
        let up = candle.high - self.previous_high;
        let down = self.previous_low - candle.low;
        let range = true_range(candle.high, candle.low, self.previous_close);
        self.previous_high = candle.high;
        self.previous_low = candle.low;
        self.previous_close = candle.close;
        // At most one of the two movements counts: the larger one, when positive.
        let plus = if up > 0.0 && up > down { up } else { 0.0 };
        let minus = if down > 0.0 && up < down { down } else { 0.0 };

        if self.seen < self.period {
            self.seen += 1;
            if self.seen > 1 {
                self.plus_dm += plus;
                self.minus_dm += minus;
                self.true_range += range;
            }
            return None;
        }
        self.plus_dm = self.plus_dm - self.plus_dm * self.inverse_period + plus;
        self.minus_dm = self.minus_dm - self.minus_dm * self.inverse_period + minus;
        self.true_range = self.true_range - self.true_range * self.inverse_period + range;

        // TA-Lib 0.8 divides whenever the smoothed range is not exactly 0 (older versions
        // zeroed anything below 1e-8, which blanked instruments quoted in satoshis).
        let (plus_di, minus_di, dx) = if self.true_range == 0.0 {
            (0.0, 0.0, None)
        } else {
            let plus_di = 100.0 * (self.plus_dm / self.true_range);
            let minus_di = 100.0 * (self.minus_dm / self.true_range);
            let sum = minus_di + plus_di;
            let dx = (sum != 0.0).then(|| 100.0 * ((minus_di - plus_di).abs() / sum));
            (plus_di, minus_di, dx)
        };

        let adx = if self.seen < 2 * self.period {
            // Seeding: ADX starts as the mean of the first `period` DX values (a DX that could
            // not be computed adds nothing but still counts, as in TA-Lib).
            self.seen += 1;
            self.adx += dx.unwrap_or(0.0);
            if self.seen < 2 * self.period {
                None
            } else {
                self.adx /= self.period as f64;
                Some(self.adx)
            }
        } else {
            if let Some(dx) = dx {
                self.adx = (self.adx * self.period_minus_one + dx) * self.inverse_period;
            }
            Some(self.adx)
        };
        Some(AdxValue {
            adx,
            plus_di,
            minus_di,
        })
    }

    fn reset(&mut self) {
        *self = Self::new(self.period);
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
            bar(10.0, 9.0, 9.5),
            bar(11.0, 9.5, 10.5), // +DM 1, −DM 0, TR 1.5: seed sums
            bar(11.5, 9.0, 9.5),  // +DM 0.5 < −DM 0.5? equal: neither. TR 2.5
            bar(10.0, 8.0, 8.5),  // +DM 0 (down), −DM 1, TR 2
        ];
        let out = batch(&mut Adx::new(2), &bars);
        assert_eq!(&out[..2], &[None, None]);
        // Bar 2: +DM = 1 − 0.5 + 0 = 0.5, −DM = 0, TR = 1.5 − 0.75 + 2.5 = 3.25.
        let v2 = out[2].unwrap();
        assert_eq!(v2.adx, None);
        assert!((v2.plus_di - 100.0 * 0.5 / 3.25).abs() < 1e-12);
        assert_eq!(v2.minus_di, 0.0);
        // Bar 3: +DM 0.25, −DM 1, TR 3.625; ADX = (DX2 + DX3) / 2 with DX2 = 100.
        let v3 = out[3].unwrap();
        let (p, m) = (100.0 * 0.25 / 3.625, 100.0 * 1.0 / 3.625);
        assert!((v3.plus_di - p).abs() < 1e-12 && (v3.minus_di - m).abs() < 1e-12);
        let dx3 = 100.0 * (m - p) / (m + p);
        assert!((v3.adx.unwrap() - (100.0 + dx3) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn flat_bars_give_zero_indicators_not_nan() {
        let out = batch(&mut Adx::default(), &[bar(4.0, 4.0, 4.0); 40]);
        let last = out[39].unwrap();
        assert_eq!(
            (last.adx, last.plus_di, last.minus_di),
            (Some(0.0), 0.0, 0.0)
        );
    }

    #[test]
    fn scale_free_down_to_tiny_quotes() {
        let make = |scale: f64| -> Vec<Candle> {
            (0..40)
                .map(|i| {
                    let c = (30.0 + (i as f64 * 0.4).sin() * 2.0) * scale;
                    bar(c + 0.3 * scale, c - 0.2 * scale, c)
                })
                .collect()
        };
        let big = batch(&mut Adx::default(), &make(1.0));
        let tiny = batch(&mut Adx::default(), &make(1e-9));
        let (b, t) = (big[39].unwrap(), tiny[39].unwrap());
        assert!((b.adx.unwrap() - t.adx.unwrap()).abs() < 1e-6);
        assert!((b.plus_di - t.plus_di).abs() < 1e-6 && b.plus_di > 0.0);
    }

    #[test]
    fn warm_up_and_reset() {
        let bars: Vec<Candle> = (0..60)
            .map(|i| {
                let c = 30.0 + (i as f64 * 0.4).sin() * 2.0 + i as f64 * 0.05;
                bar(c + 0.3, c - 0.2, c)
            })
            .collect();
        let mut adx = Adx::default();
        let first = batch(&mut adx, &bars);
        assert_eq!(first.iter().position(Option::is_some), Some(14));
        assert_eq!(
            first
                .iter()
                .position(|v| v.is_some_and(|v| v.adx.is_some())),
            Some(27)
        );
        assert!(
            first[27..]
                .iter()
                .all(|v| v.is_some_and(|v| v.adx.is_some()))
        );
        adx.reset();
        assert_eq!(batch(&mut adx, &bars), first);
    }

    #[test]
    #[should_panic(expected = "ADX period must be at least 2, got 1")]
    fn period_one_is_refused() {
        let _ = Adx::new(1);
    }
}
