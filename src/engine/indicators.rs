//! The indicators of one live series: the 17 families updated on every closed candle, and the
//! values the console draws taken from them. A closed candle that is not newer than every candle
//! seen (a late backfill, a re-sent final) cannot be folded in incrementally; the series is then
//! recomputed from the candles the engine holds for it.

use crate::domain::{Candle, Interval};
use crate::indicators::{RawIndicators, RawRow};
use crate::protocol::{ChartIndicators, Series, insert_closed};

/// Indicator state of one (symbol, interval).
#[derive(Clone, Debug)]
pub struct SeriesIndicators {
    interval_ms: i64,
    raw: RawIndicators,
    last_open_ms: Option<i64>,
}

impl SeriesIndicators {
    pub fn new(interval: Interval) -> Self {
        Self {
            interval_ms: interval.ms(),
            raw: RawIndicators::new(),
            last_open_ms: None,
        }
    }

    /// Can `open_time_ms` be folded in incrementally (newer than every candle seen)?
    pub fn is_next(&self, open_time_ms: i64) -> bool {
        self.last_open_ms.is_none_or(|last| open_time_ms > last)
    }

    /// Folds in the next closed, valid candle (the caller checked [`Self::is_next`] and
    /// `Candle::validate`).
    pub fn push(&mut self, candle: &Candle) -> ChartIndicators {
        let gap = self
            .last_open_ms
            .is_some_and(|last| candle.open_time_ms != last + self.interval_ms);
        self.last_open_ms = Some(candle.open_time_ms);
        chart_values(&self.raw.update(candle), gap)
    }

    /// Starts over and folds in `closed` (oldest first); returns the values of every candle.
    /// Invalid candles are skipped (they get empty values) so they never reach an indicator.
    pub fn rebuild<'a>(
        &mut self,
        closed: impl Iterator<Item = &'a Candle>,
    ) -> Vec<ChartIndicators> {
        self.raw.reset();
        self.last_open_ms = None;
        closed
            .map(|candle| {
                if candle.validate().is_ok() && self.is_next(candle.open_time_ms) {
                    self.push(candle)
                } else {
                    ChartIndicators::default()
                }
            })
            .collect()
    }

    /// The values for `series` once `candles` are inserted (keeping at most `keep`), recomputed
    /// over the whole series: what a backfill landing inside the series publishes.
    pub fn rebuild_with(
        &mut self,
        series: &Series,
        candles: &[Candle],
        keep: usize,
    ) -> Vec<ChartIndicators> {
        let mut after = Series {
            closed: series.closed.clone(),
            open: None,
            indicators: series.indicators.clone(),
        };
        for candle in candles {
            insert_closed(&mut after, *candle, keep.max(1));
        }
        self.rebuild(after.closed.iter())
    }
}

/// What the console draws, from the 26 raw outputs (in `RAW_COLUMNS` order).
pub fn chart_values(raw: &RawRow, gap: bool) -> ChartIndicators {
    ChartIndicators {
        sma_20: raw[0],
        ema_20: raw[1],
        macd: raw[3],
        macd_signal: raw[4],
        macd_hist: raw[5],
        rsi_14: raw[6],
        bb_upper: raw[14],
        bb_middle: raw[15],
        bb_lower: raw[16],
        gap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::{MINUTE_MS, ohlc};
    use crate::indicators::{RAW_COLUMNS, raw_batch};

    fn candles(n: i64) -> Vec<Candle> {
        (0..n)
            .map(|i| {
                let close = 100.0 + (i as f64 * 0.7).sin() * 3.0 + i as f64 * 0.1;
                Candle {
                    volume: 1.0 + (i % 7) as f64,
                    quote_volume: 0.0,
                    ..ohlc(i * MINUTE_MS, close - 0.4, close + 1.0, close - 1.2, close)
                }
            })
            .collect()
    }

    #[test]
    fn chart_values_come_from_the_right_columns() {
        let names = [
            (0, "sma_20"),
            (1, "ema_20"),
            (3, "macd"),
            (4, "macd_signal"),
            (5, "macd_hist"),
            (6, "rsi_14"),
            (14, "bb_upper"),
            (15, "bb_middle"),
            (16, "bb_lower"),
        ];
        for (i, name) in names {
            assert_eq!(RAW_COLUMNS[i], name);
        }
    }

    #[test]
    fn incremental_equals_batch_and_gaps_are_marked() {
        let mut series = candles(80);
        series.remove(50);
        let mut live = SeriesIndicators::new(Interval::M1);
        let values: Vec<ChartIndicators> = series.iter().map(|c| live.push(c)).collect();
        let batch = raw_batch(&series);
        for (i, (v, raw)) in values.iter().zip(&batch).enumerate() {
            assert_eq!(*v, chart_values(raw, i == 50), "candle {i}");
        }
        assert!(values[78].rsi_14.is_some() && values[40].macd.is_some());
        let mut again = SeriesIndicators::new(Interval::M1);
        assert_eq!(again.rebuild(series.iter()), values);
        assert!(!again.is_next(series[10].open_time_ms));
        assert!(again.is_next(80 * 60_000));
    }

    #[test]
    fn a_late_candle_rebuilds_the_series_with_it_in_place() {
        let all = candles(60);
        let mut without = all.clone();
        let late = without.remove(30);
        let series = Series {
            closed: without.iter().copied().collect(),
            open: None,
            indicators: Default::default(),
        };
        let mut live = SeriesIndicators::new(Interval::M1);
        let rebuilt = live.rebuild_with(&series, &[late], 1000);
        let mut fresh = SeriesIndicators::new(Interval::M1);
        let expected: Vec<_> = all.iter().map(|c| fresh.push(c)).collect();
        assert_eq!(rebuilt, expected);
        assert!(rebuilt.iter().all(|v| !v.gap));
        assert_eq!(live.push(&candles(61)[60]), fresh.push(&candles(61)[60]));
    }

    #[test]
    fn invalid_candles_never_reach_an_indicator() {
        let mut series = candles(30);
        series[5].close = f64::NAN;
        series[6].low = -1.0;
        let mut live = SeriesIndicators::new(Interval::M1);
        let values = live.rebuild(series.iter());
        assert_eq!(values[5], ChartIndicators::default());
        assert_eq!(values[6], ChartIndicators::default());
        let mut clean = series.clone();
        clean.drain(5..7);
        let mut reference = SeriesIndicators::new(Interval::M1);
        let expected: Vec<_> = reference.rebuild(clean.iter());
        assert_eq!(values[29], expected[27]);
        assert!(
            values[7].gap,
            "the candle after the refused ones follows a gap"
        );
    }
}
