//! STOCHRSI: the fast stochastic of the RSI, as TA-Lib computes it: RSI over `period` closes, %K =
//! where the RSI sits between its low and high of the last `fastk` values (in percent), %D = SMA of
//! %K over `fastd`. Both outputs start together, once %D is warm. A range within TA-Lib's scaled
//! epsilon of zero (`|high - low| <= 1e-14 * (|high| + |low|)`, a few ulps of rounding in the RSI)
//! counts as flat and gives %K = 0, as TA-Lib 0.8's STOCHF does.

use super::rsi::Rsi;
use super::sma::Sma;
use super::window::{Extreme, ExtremeWindow};
use super::{Indicator, StochValue};
use crate::domain::Candle;

/// TA-Lib's `TA_EPSILON`, scaled by the window's extremes (`TA_IS_ZERO_SCALED`).
const FLAT: f64 = 1e-14;

/// Stochastic RSI (TA-Lib STOCHRSI with an SMA %D; default 14/5/3).
#[derive(Clone, Debug)]
pub struct StochRsi {
    rsi: Rsi,
    fastk: usize,
    highest: ExtremeWindow,
    lowest: ExtremeWindow,
    fastd: Sma,
}

impl StochRsi {
    /// Periods below 1 are raised to 1.
    pub fn new(period: usize, fastk: usize, fastd: usize) -> Self {
        let fastk = fastk.max(1);
        Self {
            rsi: Rsi::new(period),
            fastk,
            highest: ExtremeWindow::new(fastk, Extreme::Max),
            lowest: ExtremeWindow::new(fastk, Extreme::Min),
            fastd: Sma::new(fastd),
        }
    }

    /// The RSI period this STOCHRSI runs on.
    pub fn rsi_period(&self) -> usize {
        self.rsi.period()
    }

    /// The step after the RSI: [`RawIndicators`](super::RawIndicators) feeds the RSI it already
    /// computes (same period) through this instead of running a second one; `update` feeds its own.
    #[inline]
    pub fn update_with_rsi(&mut self, rsi: Option<f64>) -> Option<StochValue> {
        let rsi = rsi?;
        let (highest, _) = self.highest.push(rsi);
        let (lowest, _) = self.lowest.push(rsi);
        if self.highest.count() < self.fastk as u64 {
            return None;
        }
        let k = fast_k(rsi, lowest, highest);
        let d = self.fastd.update_value(k)?;
        Some(StochValue { k, d })
    }
}

/// Where `value` sits between `lowest` and `highest`, in percent (TA-Lib STOCHF's fast %K).
#[inline]
fn fast_k(value: f64, lowest: f64, highest: f64) -> f64 {
    let range = highest - lowest;
    if range.abs() > FLAT * (highest.abs() + lowest.abs()) {
        ((value - lowest) / range) * 100.0
    } else {
        0.0
    }
}

impl Default for StochRsi {
    fn default() -> Self {
        Self::new(14, 5, 3)
    }
}

impl Indicator for StochRsi {
    type Output = StochValue;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<StochValue> {
        let rsi = self.rsi.update_value(candle.close);
        self.update_with_rsi(rsi)
    }

    fn reset(&mut self) {
        self.rsi.reset();
        self.highest.clear();
        self.lowest.clear();
        self.fastd.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::closes;
    use crate::indicators::batch;

    fn series(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| 100.0 + (i as f64 * 0.37).sin() * 3.0 + (i as f64 * 0.11).cos())
            .collect()
    }

    #[test]
    fn warms_up_after_rsi_then_k_then_d() {
        let out = batch(&mut StochRsi::default(), &closes(&series(60)));
        // RSI from 14, %K from 14 + 4, %D (and the output) from 18 + 2.
        assert_eq!(out.iter().position(Option::is_some), Some(20));
        assert!(out[20..].iter().all(Option::is_some));
    }

    #[test]
    fn equals_a_scan_over_the_rsi() {
        let candles = closes(&series(120));
        let rsi: Vec<f64> = batch(&mut Rsi::new(6), &candles)
            .into_iter()
            .flatten()
            .collect();
        let k: Vec<f64> = (3..rsi.len())
            .map(|i| {
                let window = &rsi[i - 3..=i];
                let hi = window.iter().copied().fold(f64::MIN, f64::max);
                let lo = window.iter().copied().fold(f64::MAX, f64::min);
                if hi - lo > 1e-14 * (hi + lo) {
                    (rsi[i] - lo) / (hi - lo) * 100.0
                } else {
                    0.0
                }
            })
            .collect();
        let got: Vec<StochValue> = batch(&mut StochRsi::new(6, 4, 2), &candles)
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(got.len(), k.len() - 1);
        for (i, v) in got.iter().enumerate() {
            assert_eq!(v.k, k[i + 1], "row {i}");
            assert!((v.d - (k[i] + k[i + 1]) / 2.0).abs() < 1e-12, "row {i}");
            assert!((0.0..=100.0).contains(&v.k), "row {i}: {}", v.k);
        }
    }

    #[test]
    fn a_range_of_a_few_ulps_is_flat() {
        // ALTBTC-1m row 197: five RSI values one ulp apart, which TA-Lib reads as a flat window.
        assert_eq!(
            fast_k(45.77821643480206, 45.778216434802054, 45.77821643480206),
            0.0
        );
        assert_eq!(fast_k(1e-6, 1e-6, 1e-6 * (1.0 + 1e-14)), 0.0);
        assert_eq!(
            fast_k(1e-6 * (1.0 + 3e-14), 1e-6, 1e-6 * (1.0 + 3e-14)),
            100.0
        );
        assert_eq!(fast_k(60.0, 40.0, 80.0), 50.0);
    }

    #[test]
    fn flat_rsi_gives_zero_k() {
        let rising: Vec<f64> = (1..40).map(f64::from).collect();
        let out = batch(&mut StochRsi::new(3, 2, 2), &closes(&rising));
        assert!(out.iter().flatten().all(|v| v.k == 0.0 && v.d == 0.0));
    }

    #[test]
    fn reset_forgets_everything() {
        let candles = closes(&series(50));
        let mut stoch = StochRsi::new(5, 3, 3);
        let first = batch(&mut stoch, &candles);
        stoch.reset();
        assert_eq!(batch(&mut stoch, &candles), first);
    }
}
