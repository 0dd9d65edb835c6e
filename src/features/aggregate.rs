//! Base candles folded into higher-timeframe candles on the higher timeframe's own grid (1m → 5m
//! buckets opening at :00, :05, ...). A bucket is closed by its last base candle, or, when that
//! one is missing, by the first base candle of a later bucket; nothing is ever emitted before the
//! base candles it is made of have closed.

use crate::domain::{Candle, Interval};

/// Folds closed base candles into closed higher-timeframe candles.
#[derive(Clone, Debug)]
pub struct CandleAggregator {
    base_ms: i64,
    bucket_ms: i64,
    origin_ms: i64,
    current: Option<Candle>,
}

/// The higher-timeframe candles one base candle closed: at most the previous (incomplete) bucket
/// and the bucket this base candle completed, oldest first.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Closed {
    pub earlier: Option<Candle>,
    pub latest: Option<Candle>,
}

impl Closed {
    pub fn iter(&self) -> impl Iterator<Item = &Candle> {
        self.earlier.iter().chain(self.latest.iter())
    }
}

impl CandleAggregator {
    /// Buckets of `factor` base candles (`factor` ≥ 1) on the grid of the base interval's origin.
    pub fn new(base: Interval, factor: u32) -> Self {
        let base_ms = base.ms();
        Self {
            base_ms,
            bucket_ms: base_ms * i64::from(factor.max(1)),
            origin_ms: base.floor(0),
            current: None,
        }
    }

    /// Length of one higher-timeframe candle.
    pub fn bucket_ms(&self) -> i64 {
        self.bucket_ms
    }

    /// Open time of the bucket holding `open_time_ms`.
    pub fn bucket_of(&self, open_time_ms: i64) -> i64 {
        open_time_ms - (open_time_ms - self.origin_ms).rem_euclid(self.bucket_ms)
    }

    /// Adds the next closed base candle (open times strictly increasing; the caller checks).
    pub fn push(&mut self, candle: &Candle) -> Closed {
        let bucket = self.bucket_of(candle.open_time_ms);
        let mut closed = Closed::default();
        match &mut self.current {
            Some(c) if c.open_time_ms == bucket => {
                c.high = c.high.max(candle.high);
                c.low = c.low.min(candle.low);
                c.close = candle.close;
                c.volume += candle.volume;
                c.quote_volume += candle.quote_volume;
                c.trades += candle.trades;
            }
            slot => {
                closed.earlier = slot.take();
                *slot = Some(Candle {
                    open_time_ms: bucket,
                    ..*candle
                });
            }
        }
        // The last base candle of the bucket closes it.
        if candle.open_time_ms + self.base_ms == bucket + self.bucket_ms {
            closed.latest = self.current.take();
        }
        closed
    }

    pub fn reset(&mut self) {
        self.current = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::{MINUTE_MS, ohlc};

    fn candle(t_min: i64, close: f64) -> Candle {
        Candle {
            quote_volume: close,
            trades: 2,
            ..ohlc(
                t_min * MINUTE_MS,
                close - 0.5,
                close + 1.0,
                close - 1.0,
                close,
            )
        }
    }

    #[test]
    fn five_minutes_close_on_their_last_minute() {
        let mut agg = CandleAggregator::new(Interval::M1, 5);
        // Starts mid-bucket: minutes 3, 4 make an incomplete first bucket closed by minute 4.
        assert_eq!(agg.push(&candle(3, 10.0)), Closed::default());
        let first = agg.push(&candle(4, 11.0)).latest.unwrap();
        assert_eq!(first.open_time_ms, 0);
        assert_eq!((first.open, first.close), (9.5, 11.0));
        for m in 5..9 {
            assert_eq!(agg.push(&candle(m, m as f64)), Closed::default(), "{m}");
        }
        let bucket = agg.push(&candle(9, 3.0)).latest.unwrap();
        assert_eq!(bucket.open_time_ms, 5 * 60_000);
        assert_eq!(bucket.open, 4.5);
        assert_eq!(bucket.close, 3.0);
        assert_eq!(bucket.high, 9.0);
        assert_eq!(bucket.low, 2.0);
        assert_eq!(bucket.volume, 5.0);
        assert_eq!(bucket.trades, 10);
    }

    #[test]
    fn a_missing_last_minute_closes_the_bucket_on_the_next_one() {
        let mut agg = CandleAggregator::new(Interval::M1, 5);
        for m in 10..13 {
            agg.push(&candle(m, 1.0));
        }
        // Minutes 13 and 14 are missing; 19 is the last of its bucket: both close at once.
        let closed = agg.push(&candle(19, 2.0));
        assert_eq!(closed.earlier.map(|c| c.open_time_ms), Some(10 * 60_000));
        assert_eq!(closed.latest.map(|c| c.open_time_ms), Some(15 * 60_000));
        assert_eq!(closed.iter().count(), 2);
    }

    #[test]
    fn factor_one_passes_candles_through() {
        let mut agg = CandleAggregator::new(Interval::M5, 1);
        let c = Candle {
            open_time_ms: 300_000,
            ..candle(0, 5.0)
        };
        assert_eq!(agg.push(&c).latest, Some(c));
    }
}
