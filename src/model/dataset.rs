//! The learning data of one candle series: feature rows kept once, forward returns, and samples —
//! windows of `window` consecutive rows ending at row `t`, labelled by the class of the forward
//! return at `t` — split in time order (see [`super::split`]) with θ chosen on the training
//! samples (see [`super::labels`]).
//!
//! A window is left out (and counted) when one of its rows holds a value that is not finite, when
//! its rows are not consecutive bars (a gap inside the window), or when its last row has no
//! forward return (a gap before the label's candle). What a gap is comes from the series' market
//! calendar (`spec.calendar`): on `24x7` every missing candle, on `sessions` only a hole longer
//! than a closure, so a stock's windows run across weekends and holidays. Rows the feature set gap-flags (an
//! indicator window behind them spans a hole) are kept: the live engine predicts on such rows
//! too, and on thin markets with frequent one-minute holes leaving them out would discard most
//! of the data (57 % of ALTBTC-1m's windows). They are counted in `gap_rows`. Samples are indices;
//! a batch `[B, window, F]` is materialised on demand, z-scored with a [`Normalizer`] and
//! multiplied by the indicator weights, so every value handed out is finite.

use serde::{Deserialize, Serialize};

use super::data_error::DataError;
use super::labels::{class_of, flat_threshold, forward_returns_on};
use super::normalize::Normalizer;
use super::prepare::DataSpec;
use super::split::{SkipCounts, Split, split_samples};
use crate::domain::{Candle, Interval};
use crate::features::FeatureSet;

/// How the candles became samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetCounts {
    pub candles: usize,
    /// Feature rows (candles after the warm-up).
    pub rows: usize,
    pub gap_rows: usize,
    pub not_finite_rows: usize,
    /// Windows of `window` rows: `rows − window + 1`.
    pub windows: usize,
    /// Windows left out for a gap-flagged or non-finite row or a hole.
    pub skipped_gap: usize,
    /// Windows left out because their last row has no forward return.
    pub skipped_label: usize,
    pub samples: usize,
}

/// Feature rows, labels and samples of one series, split and thresholded.
#[derive(Clone, Debug)]
pub struct Dataset {
    interval: Interval,
    spec: DataSpec,
    names: Vec<String>,
    open_times_ms: Vec<i64>,
    /// Row-major, `rows × names.len()`.
    values: Vec<f64>,
    returns: Vec<Option<f64>>,
    /// Last row of each sample, ascending.
    ends: Vec<usize>,
    split: Split,
    theta: f64,
    counts: DatasetCounts,
}

impl Dataset {
    /// Builds the dataset of `candles` (oldest first, closed). A candle the feature set refuses is
    /// an error naming its position; too few samples for the split is an error saying how many.
    pub fn build(
        candles: &[Candle],
        interval: Interval,
        spec: &DataSpec,
    ) -> Result<Self, DataError> {
        spec.check()?;
        let calendar = spec.calendar;
        let mut set = FeatureSet::with_factor(interval, spec.htf_factor).with_calendar(calendar);
        let names = set.names().to_vec();
        let width = names.len();
        let mut open_times_ms = Vec::with_capacity(candles.len());
        let mut values = Vec::with_capacity(candles.len() * width);
        let mut candle_of_row = Vec::with_capacity(candles.len());
        // Prefix count of unusable rows and of gaps: `bad[r]` = unusable rows among the first
        // `r`, and rows among them that do not follow the row before them on the calendar.
        let mut bad = vec![0usize];
        let mut breaks = vec![0usize];
        let mut counts = DatasetCounts {
            candles: candles.len(),
            ..DatasetCounts::default()
        };
        for (index, candle) in candles.iter().enumerate() {
            let row = set
                .update(candle)
                .map_err(|source| DataError::Candle { index, source })?;
            let Some(row) = row else { continue };
            let finite = row.values.iter().all(|v| v.is_finite());
            counts.gap_rows += usize::from(row.gap);
            counts.not_finite_rows += usize::from(!finite);
            let unusable = !finite;
            bad.push(bad[bad.len() - 1] + usize::from(unusable));
            let breaks_here = open_times_ms
                .last()
                .is_some_and(|&prev| calendar.is_gap(interval, prev, row.open_time_ms));
            breaks.push(breaks[breaks.len() - 1] + usize::from(breaks_here));
            open_times_ms.push(row.open_time_ms);
            // A non-finite row is never read (no window holds it); zeros keep the table finite.
            values.extend(row.values.iter().map(|&v| if finite { v } else { 0.0 }));
            candle_of_row.push(index);
        }
        let closes: Vec<f64> = candles.iter().map(|c| c.close).collect();
        let candle_times: Vec<i64> = candles.iter().map(|c| c.open_time_ms).collect();
        let returns = forward_returns_on(
            calendar,
            interval,
            &closes,
            &candle_times,
            spec.horizon,
            &candle_of_row,
        );
        let rows = open_times_ms.len();
        counts.rows = rows;
        let window = spec.window;
        let mut ends = Vec::new();
        for end in window.saturating_sub(1)..rows {
            let first = end + 1 - window;
            counts.windows += 1;
            // Rows first + 1 ..= end each follow the row before them.
            if bad[end + 1] != bad[first] || breaks[end + 1] != breaks[first + 1] {
                counts.skipped_gap += 1;
            } else if returns[end].is_none() {
                counts.skipped_label += 1;
            } else {
                ends.push(end);
            }
        }
        counts.samples = ends.len();
        let split = split_samples(
            &ends,
            spec.train_fraction,
            spec.validation_fraction,
            window + spec.horizon,
            spec.min_split_samples,
            SkipCounts {
                gap: counts.skipped_gap,
                label: counts.skipped_label,
            },
        )?;
        let theta = flat_threshold(ends[split.train.clone()].iter().filter_map(|&e| returns[e]));
        Ok(Self {
            interval,
            spec: spec.clone(),
            names,
            open_times_ms,
            values,
            returns,
            ends,
            split,
            theta,
            counts,
        })
    }

    pub fn interval(&self) -> Interval {
        self.interval
    }

    pub fn spec(&self) -> &DataSpec {
        &self.spec
    }

    /// Feature names in column order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn feature_count(&self) -> usize {
        self.names.len()
    }

    /// Rows per sample window.
    pub fn window(&self) -> usize {
        self.spec.window
    }

    pub fn counts(&self) -> &DatasetCounts {
        &self.counts
    }

    pub fn split(&self) -> &Split {
        &self.split
    }

    /// The flat threshold θ on |forward log return|, from the training samples only.
    pub fn theta(&self) -> f64 {
        self.theta
    }

    /// Number of samples; ids are `0..samples()`, in time order.
    pub fn samples(&self) -> usize {
        self.ends.len()
    }

    /// Number of feature rows (usable or not).
    pub fn rows(&self) -> usize {
        self.open_times_ms.len()
    }

    /// The raw feature values of row `row`; `None` past [`Dataset::rows`].
    pub fn row(&self, row: usize) -> Option<&[f64]> {
        (row < self.rows()).then(|| self.row_values(row))
    }

    /// Row `row`'s values for callers that took `row` from this dataset.
    pub(crate) fn row_values(&self, row: usize) -> &[f64] {
        let width = self.names.len();
        &self.values[row * width..(row + 1) * width]
    }

    /// Open time of row `row`'s candle; `None` past [`Dataset::rows`].
    pub fn row_open_time_ms(&self, row: usize) -> Option<i64> {
        self.open_times_ms.get(row).copied()
    }

    /// The raw feature values of sample `id`'s last row (what the logistic baseline sees).
    pub fn sample_last_row(&self, id: usize) -> Result<&[f64], DataError> {
        Ok(self.row_values(self.end_row(id)?))
    }

    fn end_row(&self, id: usize) -> Result<usize, DataError> {
        self.ends.get(id).copied().ok_or(DataError::UnknownSample {
            id,
            samples: self.ends.len(),
        })
    }

    /// The last row of sample `id`.
    pub fn sample_end_row(&self, id: usize) -> Result<usize, DataError> {
        self.end_row(id)
    }

    /// Open time of the candle of sample `id`'s last row (the candle the prediction is made at).
    pub fn sample_open_time_ms(&self, id: usize) -> Result<i64, DataError> {
        Ok(self.open_times_ms[self.end_row(id)?])
    }

    /// The forward log return sample `id` is labelled with.
    pub fn forward_return(&self, id: usize) -> Result<f64, DataError> {
        let end = self.end_row(id)?;
        // Every sample's last row has a return: windows without one were left out.
        Ok(self.returns[end].unwrap_or(0.0))
    }

    /// The class of sample `id`: 0 down, 1 flat, 2 up.
    pub fn class(&self, id: usize) -> Result<u8, DataError> {
        Ok(class_of(self.forward_return(id)?, self.theta))
    }

    /// Classes of the samples in `ids`.
    pub fn classes(&self, ids: impl IntoIterator<Item = usize>) -> Result<Vec<u8>, DataError> {
        ids.into_iter().map(|id| self.class(id)).collect()
    }

    /// Rows covered by the training windows, ascending, each once: what statistics are fitted on.
    pub fn training_rows(&self) -> Vec<usize> {
        let mut rows = Vec::new();
        for &end in &self.ends[self.split.train.clone()] {
            let first = end + 1 - self.spec.window;
            let from = rows
                .last()
                .map_or(first, |&last: &usize| first.max(last + 1));
            rows.extend(from..=end);
        }
        rows
    }

    /// The batch `[B, window, F]` of samples `ids` (row-major f32: sample, then row oldest first,
    /// then feature), z-scored by `normalizer` and multiplied by `weights`, and their classes.
    pub fn batch(
        &self,
        ids: &[usize],
        normalizer: &Normalizer,
        weights: &[f64],
    ) -> Result<(Vec<f32>, Vec<u8>), DataError> {
        let mut x = Vec::new();
        let mut y = Vec::new();
        self.batch_into(ids, normalizer, weights, &mut x, &mut y)?;
        Ok((x, y))
    }

    /// [`Dataset::batch`] into buffers the caller reuses (cleared first).
    pub fn batch_into(
        &self,
        ids: &[usize],
        normalizer: &Normalizer,
        weights: &[f64],
        x: &mut Vec<f32>,
        y: &mut Vec<u8>,
    ) -> Result<(), DataError> {
        let (means, scales) = normalizer.scales(weights)?;
        let (width, window) = (self.names.len(), self.spec.window);
        if means.len() != width {
            return Err(DataError::WidthMismatch {
                what: "normalizer",
                expected: width,
                got: means.len(),
            });
        }
        x.clear();
        y.clear();
        x.reserve(ids.len() * window * width);
        y.reserve(ids.len());
        for &id in ids {
            let end = self.end_row(id)?;
            for row in end + 1 - window..=end {
                let values = self.row_values(row);
                x.extend((0..width).map(|j| ((values[j] - means[j]) * scales[j]) as f32));
            }
            y.push(self.class(id)?);
        }
        Ok(())
    }

    /// The last row of each sample in `ids`, z-scored and weighted, as f64 row-major `[B, F]`:
    /// the input of the logistic baseline.
    pub fn last_rows(
        &self,
        ids: impl IntoIterator<Item = usize>,
        normalizer: &Normalizer,
        weights: &[f64],
    ) -> Result<Vec<f64>, DataError> {
        let (means, scales) = normalizer.scales(weights)?;
        let width = self.names.len();
        if means.len() != width {
            return Err(DataError::WidthMismatch {
                what: "normalizer",
                expected: width,
                got: means.len(),
            });
        }
        let mut out = Vec::new();
        for id in ids {
            let values = self.row_values(self.end_row(id)?);
            out.extend((0..width).map(|j| (values[j] - means[j]) * scales[j]));
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "synthetic.rs"]
pub(crate) mod synthetic;

#[cfg(test)]
#[path = "dataset_tests.rs"]
mod tests;
