//! CCI, the commodity channel index: how far the typical price sits from its moving average, in
//! units of 0.015 × the mean absolute deviation, as TA-Lib computes it.
//!
//! The mean absolute deviation has no exact O(1) form (the mean moves, so every |x − mean| term
//! changes each bar), so like TA-Lib this recomputes it over the window: O(period) per bar, no
//! allocation. The average is summed in TA-Lib's circular-buffer slot order, because CCI divides a
//! difference of nearby numbers (typical price − average) and a different summation order would
//! move the result by more than the 1e-9 parity tolerance on quiet markets.

use super::Indicator;
use crate::domain::Candle;

/// CCI = (tp − mean(tp)) / (0.015 · mean|tp − mean(tp)|) over `period` typical prices
/// tp = (high + low + close) / 3. Like TA-Lib 0.8 it gives 0 when the distance or the mean
/// deviation is within 1e-14 of the average price (a flat window, up to rounding).
/// First value at bar `period − 1`.
#[derive(Clone, Debug)]
pub struct Cci {
    /// Typical prices; bar `n` lives in slot `n % period`, as in TA-Lib's circular buffer.
    slots: Vec<f64>,
    next: usize,
    filled: usize,
    period: f64,
}

impl Cci {
    /// # Panics
    /// When `period` < 2 (TA-Lib's minimum).
    pub fn new(period: usize) -> Self {
        assert!(period >= 2, "CCI period must be at least 2, got {period}");
        Self {
            slots: vec![0.0; period],
            next: 0,
            filled: 0,
            period: period as f64,
        }
    }
}

/// Σ |x − average| with four independent accumulators: the terms are all non-negative, so
/// the order changes the sum by a few ulps at most (no cancellation), and the shorter
/// dependency chain makes this loop cheaper.
#[inline]
fn absolute_deviation_sum(values: &[f64], average: f64) -> f64 {
    let mut lanes = [0.0; 4];
    let mut chunks = values.chunks_exact(4);
    for chunk in &mut chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk) {
            *lane += (x - average).abs();
        }
    }
    let rest: f64 = chunks.remainder().iter().map(|x| (x - average).abs()).sum();
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + rest
}

impl Default for Cci {
    /// gen_talib.py's CCI 20.
    fn default() -> Self {
        Self::new(20)
    }
}

impl Indicator for Cci {
    type Output = f64;

    #[inline]
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        let typical = (candle.high + candle.low + candle.close) / 3.0;
        self.slots[self.next] = typical;
        self.next += 1;
        if self.next == self.slots.len() {
            self.next = 0;
        }
        if self.filled < self.slots.len() {
            self.filled += 1;
            if self.filled < self.slots.len() {
                return None;
            }
        }
        // The average exactly as TA-Lib sums it (slot order from slot 0, then a division), since
        // `typical − average` cancels; the deviation only needs to be close (see below).
        let average = self.slots.iter().sum::<f64>() / self.period;
        let deviation = absolute_deviation_sum(&self.slots, average) / self.period;
        let distance = typical - average;
        // TA-Lib 0.8's flatness test, relative to the window's price level.
        let scale = 1e-14 * average.abs();
        Some(if distance.abs() <= scale || deviation <= scale {
            0.0
        } else {
            distance / (0.015 * deviation)
        })
    }

    fn reset(&mut self) {
        self.next = 0;
        self.filled = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::hlc as bar;
    use crate::indicators::batch;

    #[test]
    fn hand_checked_period_three() {
        // Typical prices 1, 2, 6: mean 3, mean |dev| = (2 + 1 + 3) / 3 = 2, CCI = 3 / 0.03 = 100.
        let bars = [bar(1.0, 1.0, 1.0), bar(2.0, 2.0, 2.0), bar(7.0, 5.0, 6.0)];
        let out = batch(&mut Cci::new(3), &bars);
        assert_eq!(&out[..2], &[None, None]);
        assert!((out[2].unwrap() - 100.0).abs() < 1e-9);
        // Next typical price 3 (window 2, 6, 3): mean 11/3, deviation (5/3 + 7/3 + 2/3) / 3.
        let more = [bars[0], bars[1], bars[2], bar(3.0, 3.0, 3.0)];
        let out = batch(&mut Cci::new(3), &more);
        let expected = (3.0 - 11.0 / 3.0) / (0.015 * (14.0 / 9.0));
        assert!((out[3].unwrap() - expected).abs() < 1e-9);
    }

    #[test]
    fn deviation_sum_matches_a_plain_sum() {
        let values: Vec<f64> = (0..23).map(|i| (i as f64 * 1.7).sin() * 3.0).collect();
        for n in [2, 3, 4, 5, 20, 23] {
            let plain: f64 = values[..n].iter().map(|x| (x - 0.25).abs()).sum();
            let fast = absolute_deviation_sum(&values[..n], 0.25);
            assert!(
                (plain - fast).abs() <= 1e-14 * plain,
                "{n}: {plain} vs {fast}"
            );
        }
    }

    #[test]
    fn flat_prices_give_zero() {
        let out = batch(&mut Cci::new(4), &[bar(3.0, 3.0, 3.0); 6]);
        assert_eq!(out[5], Some(0.0));
    }

    #[test]
    fn scale_free_down_to_satoshi_quotes() {
        // The hand-checked window scaled by 1e-9 gives the same CCI (TA-Lib < 0.8 gave 0).
        let bars = [
            bar(1e-9, 1e-9, 1e-9),
            bar(2e-9, 2e-9, 2e-9),
            bar(7e-9, 5e-9, 6e-9),
        ];
        assert!((batch(&mut Cci::new(3), &bars)[2].unwrap() - 100.0).abs() < 1e-6);
    }

    #[test]
    fn rounding_residue_is_flat() {
        // (0.3 + 0.1 + 0.2) / 3 and (0.3 + 0.2 + 0.1) / 3 differ by an ulp: the window is flat
        // up to rounding, which TA-Lib 0.8 reports as 0 rather than dividing the residue.
        let (a, b) = (bar(0.3, 0.1, 0.2), bar(0.3, 0.2, 0.1));
        let typical = |c: &Candle| (c.high + c.low + c.close) / 3.0;
        assert_ne!(typical(&a), typical(&b));
        assert_eq!(batch(&mut Cci::new(3), &[a, a, b])[2], Some(0.0));
    }

    #[test]
    fn warm_up_and_reset() {
        let bars: Vec<Candle> = (0..50)
            .map(|i| {
                let c = 20.0 + (i as f64 * 0.3).sin();
                bar(c + 0.2, c - 0.3, c)
            })
            .collect();
        let mut cci = Cci::default();
        let first = batch(&mut cci, &bars);
        assert_eq!(first.iter().position(Option::is_some), Some(19));
        assert!(first[19..].iter().all(Option::is_some));
        cci.reset();
        assert_eq!(batch(&mut cci, &bars), first);
    }

    #[test]
    #[should_panic(expected = "CCI period must be at least 2, got 0")]
    fn period_zero_is_refused() {
        let _ = Cci::new(0);
    }
}
