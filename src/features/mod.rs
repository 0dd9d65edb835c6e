//! The feature vector models learn from: every indicator family turned scale-free (see
//! [`timeframe`]), on the base interval and on a higher timeframe built by aggregating base
//! candles ([`aggregate`]), one vector per closed candle, each feature with a stable name.
//!
//! **No look-ahead.** A higher-timeframe feature at base candle `t` comes from the newest
//! higher-timeframe candle closed by `t` (the base candle that completes a bucket closes it), so
//! the row at `t` depends only on base candles up to and including `t`.
//!
//! **Gaps.** A base candle that does not follow the previous one on the series' market
//! [`Calendar`] starts a gap: on `24x7` (the default) every candle whose open time is not the
//! previous one's plus the interval, on `sessions` only one after a hole longer than a closure
//! (see [`Calendar::is_gap`]). Rows carry `gap = true` from that candle on for as long as the longest indicator window
//! can still hold a bar from before the gap: [`GAP_WINDOW`] bars of the higher timeframe, i.e.
//! `GAP_WINDOW × factor` base candles (that also covers every base-interval window). EMA-type and
//! Wilder-smoothed series remember the gap for longer, with a weight that decays geometrically;
//! the flag follows the finite windows.
//!
//! **Bad input.** A candle that fails [`Candle::validate`] (NaN, zero or negative price, high
//! below low, ...), is not on the interval grid, or is not after the previous one is refused with
//! an error and changes nothing.

pub mod aggregate;
pub mod timeframe;

use crate::domain::{Calendar, Candle, CandleError, Interval};

pub use aggregate::CandleAggregator;
pub use timeframe::{PER_TIMEFRAME, TIMEFRAME_FEATURES, TimeframeFeatures};

/// The higher timeframe is this many base candles by default (1m → 5m).
pub const DEFAULT_HTF_FACTOR: u32 = 5;

/// Features in one row: the base timeframe's, then the higher timeframe's.
pub const FEATURE_COUNT: usize = 2 * PER_TIMEFRAME;

/// Bars the longest finite indicator window spans with the default periods (MACD 12/26/9: its
/// first value needs 34 bars).
pub const GAP_WINDOW: u32 = 34;

/// One feature vector, for the closed candle opening at `open_time_ms`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FeatureRow {
    pub open_time_ms: i64,
    /// An indicator window behind these values spans a gap in the candles.
    pub gap: bool,
    /// In the order of [`FeatureSet::names`].
    pub values: [f64; FEATURE_COUNT],
}

/// A candle the feature set refused; nothing was changed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FeatureError {
    #[error("candle at open_time_ms {open_time_ms} refused: {source}")]
    BadCandle {
        open_time_ms: i64,
        #[source]
        source: CandleError,
    },
    #[error(
        "candle at open_time_ms {open_time_ms} is not after the previous one \
         (open_time_ms {previous_ms}); candles must come oldest first, once each"
    )]
    OutOfOrder { open_time_ms: i64, previous_ms: i64 },
    #[error("candle at open_time_ms {open_time_ms} is not on the {interval} grid")]
    Misaligned {
        open_time_ms: i64,
        interval: Interval,
    },
}

/// Turns closed candles of one series into feature rows. O(1) per candle, no allocation after
/// [`FeatureSet::new`].
#[derive(Clone, Debug)]
pub struct FeatureSet {
    interval: Interval,
    calendar: Calendar,
    factor: u32,
    names: Vec<String>,
    base: TimeframeFeatures,
    higher: TimeframeFeatures,
    aggregator: CandleAggregator,
    last_open_ms: Option<i64>,
    /// The series began inside a bucket: that first, partial, bucket is not fed to the higher
    /// timeframe.
    skip_bucket: Option<i64>,
    gap_rows_left: u32,
}

impl FeatureSet {
    /// Features of `interval` candles with the default higher timeframe (5×).
    pub fn new(interval: Interval) -> Self {
        Self::with_factor(interval, DEFAULT_HTF_FACTOR)
    }

    /// Features of `interval` candles with a higher timeframe of `factor` base candles (≥ 1).
    pub fn with_factor(interval: Interval, factor: u32) -> Self {
        let factor = factor.max(1);
        let prefix = format!("htf{factor}_");
        let names = TIMEFRAME_FEATURES
            .iter()
            .map(|n| (*n).to_string())
            .chain(TIMEFRAME_FEATURES.iter().map(|n| format!("{prefix}{n}")))
            .collect();
        Self {
            interval,
            calendar: Calendar::TwentyFourSeven,
            factor,
            names,
            base: TimeframeFeatures::new(),
            higher: TimeframeFeatures::new(),
            aggregator: CandleAggregator::new(interval, factor),
            last_open_ms: None,
            skip_bucket: None,
            gap_rows_left: 0,
        }
    }

    /// The same feature set on the series' market `calendar` (gaps are judged by it).
    pub fn with_calendar(mut self, calendar: Calendar) -> Self {
        self.calendar = calendar;
        self
    }

    pub fn calendar(&self) -> Calendar {
        self.calendar
    }

    /// The feature names in row order: the base timeframe's (`rsi_14`, ...), then the higher
    /// timeframe's (`htf5_rsi_14`, ...). Part of a model's lineage: never reorder.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn interval(&self) -> Interval {
        self.interval
    }

    /// Base candles per higher-timeframe candle.
    pub fn factor(&self) -> u32 {
        self.factor
    }

    /// Feeds the next closed candle. `Ok(None)` while warming up: a row comes once every feature
    /// of both timeframes has a value.
    pub fn update(&mut self, candle: &Candle) -> Result<Option<FeatureRow>, FeatureError> {
        let open_time_ms = candle.open_time_ms;
        candle
            .validate()
            .map_err(|source| FeatureError::BadCandle {
                open_time_ms,
                source,
            })?;
        if !self.interval.is_aligned(open_time_ms) {
            return Err(FeatureError::Misaligned {
                open_time_ms,
                interval: self.interval,
            });
        }
        match self.last_open_ms {
            Some(previous_ms) if open_time_ms <= previous_ms => {
                return Err(FeatureError::OutOfOrder {
                    open_time_ms,
                    previous_ms,
                });
            }
            Some(previous_ms)
                if self
                    .calendar
                    .is_gap(self.interval, previous_ms, open_time_ms) =>
            {
                self.gap_rows_left = GAP_WINDOW * self.factor;
            }
            Some(_) => {}
            None => {
                let bucket = self.aggregator.bucket_of(open_time_ms);
                self.skip_bucket = (bucket != open_time_ms).then_some(bucket);
            }
        }
        self.last_open_ms = Some(open_time_ms);
        let gap = self.gap_rows_left > 0;
        self.gap_rows_left = self.gap_rows_left.saturating_sub(1);

        let closed = self.aggregator.push(candle);
        for higher in closed.iter() {
            if self.skip_bucket != Some(higher.open_time_ms) {
                self.higher.update(higher);
            }
        }
        let base_ready = self.base.update(candle);
        if !(base_ready && self.higher.is_ready()) {
            return Ok(None);
        }
        let mut values = [0.0; FEATURE_COUNT];
        values[..PER_TIMEFRAME].copy_from_slice(self.base.values());
        values[PER_TIMEFRAME..].copy_from_slice(self.higher.values());
        Ok(Some(FeatureRow {
            open_time_ms,
            gap,
            values,
        }))
    }

    /// Forgets everything, as if newly made.
    pub fn reset(&mut self) {
        self.base.reset();
        self.higher.reset();
        self.aggregator.reset();
        self.last_open_ms = None;
        self.skip_bucket = None;
        self.gap_rows_left = 0;
    }
}

/// The batch form: every row of a series (the same code as [`FeatureSet::update`], folded).
pub fn features_batch(
    candles: &[Candle],
    interval: Interval,
    factor: u32,
) -> Result<Vec<FeatureRow>, FeatureError> {
    let mut set = FeatureSet::with_factor(interval, factor);
    let mut rows = Vec::with_capacity(candles.len());
    for candle in candles {
        if let Some(row) = set.update(candle)? {
            rows.push(row);
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests;
