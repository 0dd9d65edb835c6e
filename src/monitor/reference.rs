//! A model's reference window: what its features and predictions looked like on the data it was
//! trained on, kept with the model so drift can be measured against it live.
//!
//! **The window.** The feature rows (gap rows left out) of the candles of the model's training
//! range, in time order; the first `train_fraction` of them are its training rows, the
//! reference. Its test split (the last `1 − train − validation` of them) gives the reference of
//! the predictions: the signal and probability mix, the mean top probability and the per-candle
//! log-loss the Page–Hinkley detector is standardised by.
//!
//! **Per feature:** the 9 interior decile edges (10 bins), the reference's share in each, the
//! mean and standard deviation, a sorted sample of at most [`SAMPLE_MAX`] values (quantiles of
//! the whole column, so its distribution is the column's), and the spread of the Wasserstein
//! distance between reference chunks: the reference cut into chunks of W consecutive rows, each
//! chunk's W/σ against the reference with that chunk left out, their mean + 3 standard deviations
//! the limit a live window must pass to count as drifted. With fewer than [`MIN_CHUNKS`] chunks
//! the limit cannot be set and the feature is never called drifted (the pane says why).

use serde::{Deserialize, Serialize};

use super::spec::ModelSpec;
use super::stats;
use crate::domain::Candle;
use crate::features::FEATURE_COUNT;
use crate::model::labels::class_of;
use crate::model::pipeline::SignalPipeline;

/// Bins of the PSI.
pub const BINS: usize = 10;
/// The sorted sample kept per feature.
pub const SAMPLE_MAX: usize = 10_000;
/// Reference chunks the Wasserstein limit needs.
pub const MIN_CHUNKS: usize = 6;
/// Reference rows below which there is no reference.
pub const MIN_ROWS: usize = 300;

/// One feature's reference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureReference {
    pub name: String,
    /// Index in a feature row.
    pub index: usize,
    /// `BINS − 1` interior edges.
    pub edges: Vec<f64>,
    /// The reference's share in each bin.
    pub shares: Vec<f64>,
    pub mean: f64,
    pub sd: f64,
    /// Mean and standard deviation of W/σ of a chunk against the rest; `None` with too few
    /// chunks.
    pub chunk_mean: Option<f64>,
    pub chunk_sd: Option<f64>,
    /// Sorted; stored apart from the JSON.
    #[serde(skip)]
    pub sample: Vec<f64>,
}

impl FeatureReference {
    /// The W/σ a window must pass to count as drifted.
    pub fn wasserstein_limit(&self) -> Option<f64> {
        Some(self.chunk_mean? + 3.0 * self.chunk_sd?)
    }
}

/// What the model predicted on its test split.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictionReference {
    pub samples: u64,
    /// Share of sell, hold, buy.
    pub signals: [f64; 3],
    /// Mean probability of down, flat, up.
    pub probabilities: [f64; 3],
    pub mean_top: f64,
    pub log_loss_mean: f64,
    pub log_loss_sd: f64,
}

/// A model's reference window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub model_id: i64,
    pub from_ms: i64,
    pub to_ms: i64,
    pub rows: u64,
    /// "training rows" (computed when it was trained) or "stored candles of the training range".
    pub source: String,
    /// The W the chunk limits were computed for.
    pub window: usize,
    pub chunks: usize,
    pub features: Vec<FeatureReference>,
    /// Training class shares (down, flat, up): the majority baseline's probabilities.
    pub class_shares: [f64; 3],
    pub predictions: Option<PredictionReference>,
}

/// Computes the reference of `spec` from the candles of its training range (oldest first; more
/// candles around it are ignored), with chunk limits for windows of `window`. With `pipeline`
/// (the model itself) the prediction reference is computed on the test split too.
pub fn build(
    spec: &ModelSpec,
    pipeline: Option<&mut SignalPipeline>,
    candles: &[Candle],
    window: usize,
    source: &str,
) -> Result<Reference, String> {
    let (Some(from_ms), Some(to_ms)) = (spec.data_from_ms, spec.data_to_ms) else {
        return Err(format!("{} has no recorded training range", spec.version));
    };
    let first = candles.partition_point(|c| c.open_time_ms < from_ms);
    let end = candles.partition_point(|c| c.open_time_ms <= to_ms);
    let range = &candles[first..end];
    // Feature rows and the candle index each came from.
    let mut set = spec.feature_set();
    let mut rows: Vec<(usize, [f64; FEATURE_COUNT])> = Vec::with_capacity(range.len());
    for (k, candle) in range.iter().enumerate() {
        if let Ok(Some(row)) = set.update(candle)
            && !row.gap
        {
            rows.push((k, row.values));
        }
    }
    let train_rows = (rows.len() as f64 * spec.train_fraction).floor() as usize;
    if train_rows < MIN_ROWS {
        return Err(format!(
            "{}: {} training rows in the stored candles of its range (at least {MIN_ROWS} needed)",
            spec.version, train_rows
        ));
    }
    let reference = &rows[..train_rows];
    let features = spec
        .features
        .iter()
        .map(|(name, index)| feature_reference(name, *index, reference, window))
        .collect();
    // Training class shares: the label of each training row, where its horizon is in range.
    let mut counts = [0u64; 3];
    for &(k, _) in reference {
        if let (Some(now), Some(ahead)) = (range.get(k), range.get(k + spec.horizon))
            && ahead.open_time_ms - now.open_time_ms == spec.interval.ms() * spec.horizon as i64
            && now.close > 0.0
        {
            counts[class_of((ahead.close / now.close).ln(), spec.theta) as usize] += 1;
        }
    }
    let total = counts.iter().sum::<u64>().max(1) as f64;
    let class_shares = counts.map(|c| c as f64 / total);
    let test_start =
        (rows.len() as f64 * (spec.train_fraction + spec.validation_fraction)).floor() as usize;
    let predictions = match (pipeline, rows.get(test_start)) {
        (Some(pipeline), Some(&(k, _))) => prediction_reference(spec, pipeline, range, k)?,
        _ => None,
    };
    let last_k = reference.last().map_or(0, |r| r.0);
    Ok(Reference {
        model_id: spec.id,
        from_ms: range
            .get(reference[0].0)
            .map_or(from_ms, |c| c.open_time_ms),
        to_ms: range.get(last_k).map_or(to_ms, |c| c.open_time_ms),
        rows: train_rows as u64,
        source: source.to_string(),
        window,
        chunks: train_rows / window.max(1),
        features,
        class_shares,
        predictions,
    })
}

fn feature_reference(
    name: &str,
    index: usize,
    rows: &[(usize, [f64; FEATURE_COUNT])],
    window: usize,
) -> FeatureReference {
    let column: Vec<f64> = rows.iter().map(|(_, r)| r[index]).collect();
    let n = column.len() as f64;
    let mean = column.iter().sum::<f64>() / n;
    let sd = (column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut sorted = column.clone();
    sorted.sort_by(f64::total_cmp);
    let edges = stats::quantile_edges(&sorted, BINS);
    let mut counts = vec![0u64; BINS];
    for &v in &column {
        counts[stats::bin_of(&edges, v)] += 1;
    }
    let shares = stats::shares(&counts);
    let (chunk_mean, chunk_sd) = chunk_spread(&column, &sorted, window, sd);
    FeatureReference {
        name: name.to_string(),
        index,
        edges,
        shares,
        mean,
        sd,
        chunk_mean,
        chunk_sd,
        sample: sample_of(&sorted),
    }
}

/// At most [`SAMPLE_MAX`] values of `sorted` at evenly spaced ranks (its quantiles).
pub fn sample_of(sorted: &[f64]) -> Vec<f64> {
    if sorted.len() <= SAMPLE_MAX {
        return sorted.to_vec();
    }
    let last = (sorted.len() - 1) as f64;
    (0..SAMPLE_MAX)
        .map(|i| sorted[(i as f64 * last / (SAMPLE_MAX - 1) as f64).round() as usize])
        .collect()
}

/// Mean and standard deviation over the chunks of W consecutive values of `column` of each
/// chunk's Wasserstein distance to the rest of the column, over `sd`.
fn chunk_spread(
    column: &[f64],
    sorted: &[f64],
    window: usize,
    sd: f64,
) -> (Option<f64>, Option<f64>) {
    let chunks = column.len() / window.max(1);
    if chunks < MIN_CHUNKS || sd <= 0.0 || !sd.is_finite() {
        return (None, None);
    }
    let mut values = Vec::with_capacity(chunks);
    let mut rest = Vec::with_capacity(sorted.len());
    for c in 0..chunks {
        let mut chunk = column[c * window..(c + 1) * window].to_vec();
        chunk.sort_by(f64::total_cmp);
        remove_sorted(sorted, &chunk, &mut rest);
        values.push(stats::wasserstein(&chunk, &rest) / sd);
    }
    let m = values.iter().sum::<f64>() / chunks as f64;
    let var = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (chunks - 1) as f64;
    (Some(m), Some(var.sqrt()))
}

/// `all` without the values of `part` (both sorted; `part` a sub-multiset of `all`) into `out`.
fn remove_sorted(all: &[f64], part: &[f64], out: &mut Vec<f64>) {
    out.clear();
    let mut j = 0;
    for &v in all {
        if j < part.len() && part[j].total_cmp(&v).is_eq() {
            j += 1;
        } else {
            out.push(v);
        }
    }
}

/// The model's predictions on its test split (the candles from index `test_from` of `range`).
fn prediction_reference(
    spec: &ModelSpec,
    pipeline: &mut SignalPipeline,
    range: &[Candle],
    test_from: usize,
) -> Result<Option<PredictionReference>, String> {
    let verdicts = pipeline
        .batch_verdicts(range, test_from, &mut |_, _| true)
        .map_err(|e| e.to_string())?;
    let mut signals = [0u64; 3];
    let mut probabilities = [0.0; 3];
    let mut top = 0.0;
    let mut n = 0u64;
    let mut losses = Vec::new();
    for (k, verdict) in verdicts.iter().enumerate() {
        let Some(v) = verdict else { continue };
        n += 1;
        signals[signal_slot(v.signal)] += 1;
        for (sum, p) in probabilities.iter_mut().zip(v.probabilities) {
            *sum += p;
        }
        top += v.probabilities.iter().copied().fold(0.0, f64::max);
        if let (Some(now), Some(ahead)) = (range.get(k), range.get(k + spec.horizon))
            && ahead.open_time_ms - now.open_time_ms == spec.interval.ms() * spec.horizon as i64
            && now.close > 0.0
        {
            let class = class_of((ahead.close / now.close).ln(), spec.theta);
            losses.push(log_loss(&v.probabilities, class));
        }
    }
    if n == 0 || losses.len() < 2 {
        return Ok(None);
    }
    let nf = n as f64;
    let mean = losses.iter().sum::<f64>() / losses.len() as f64;
    let var = losses.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (losses.len() - 1) as f64;
    Ok(Some(PredictionReference {
        samples: n,
        signals: signals.map(|c| c as f64 / nf),
        probabilities: probabilities.map(|p| p / nf),
        mean_top: top / nf,
        log_loss_mean: mean,
        log_loss_sd: var.sqrt(),
    }))
}

/// Sell, hold, buy.
pub fn signal_slot(signal: crate::domain::Signal) -> usize {
    match signal {
        crate::domain::Signal::Sell => 0,
        crate::domain::Signal::Hold => 1,
        crate::domain::Signal::Buy => 2,
    }
}

/// `−ln max(p[class], 1e-15)`.
pub fn log_loss(p: &[f64; 3], class: u8) -> f64 {
    -p[class as usize]
        .max(crate::model::metrics::LOG_LOSS_CLIP)
        .ln()
}

/// The per-feature samples as one blob: little-endian f64, feature after feature, each preceded
/// by its length (u32).
pub fn samples_blob(reference: &Reference) -> Vec<u8> {
    let mut out = Vec::new();
    for f in &reference.features {
        out.extend_from_slice(&(f.sample.len() as u32).to_le_bytes());
        for v in &f.sample {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Puts the samples of [`samples_blob`] back into `reference`.
pub fn read_samples(reference: &mut Reference, blob: &[u8]) -> Result<(), String> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8], String> {
        let part = blob
            .get(at..at + n)
            .ok_or_else(|| format!("the reference samples end early at byte {at}"))?;
        at += n;
        Ok(part)
    };
    for f in &mut reference.features {
        let len = u32::from_le_bytes(take(4)?.try_into().map_err(|_| "bad length")?) as usize;
        if len > SAMPLE_MAX {
            return Err(format!("{}: {len} samples (at most {SAMPLE_MAX})", f.name));
        }
        let bytes = take(len * 8)?;
        f.sample = bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            .collect();
        if f.sample.windows(2).any(|w| w[0] > w[1]) || f.sample.iter().any(|v| !v.is_finite()) {
            return Err(format!(
                "{}: the stored sample is not sorted finite numbers",
                f.name
            ));
        }
    }
    if at != blob.len() {
        return Err(format!(
            "{} bytes left over in the reference samples",
            blob.len() - at
        ));
    }
    Ok(())
}
