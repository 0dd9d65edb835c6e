//! The signal pipeline: closed candles in, signals out, for one registered model — the feature
//! set, the window of the last T feature rows, the normalisation and indicator weights, the
//! members, the logistic fallback and `signal::combine` with the model's thresholds. It has two
//! back-ends over the same state: one candle at a time ([`SignalPipeline::push`] and
//! [`SignalPipeline::predict`], the live engine) and sliding windows batched through the members
//! ([`SignalPipeline::batch`], backtests). Both fall back to the model's logistic baseline the
//! same way when the ensemble cannot run.

use std::collections::VecDeque;

use crate::domain::{Calendar, Candle, Interval, Signal};
use crate::features::{FEATURE_COUNT, FeatureSet};
use crate::model::ensemble::{Ensemble, EnsembleError, EnsembleParams, EnsembleWeighting, KIND};
use crate::model::predict::Scratch;
use crate::model::registry::ModelRecord;
use crate::model::signal::{self, ThresholdOverride, Thresholds, Verdict};
use crate::model::weighting::IndicatorWeights;

/// Windows run through the members at once by the batch back-end.
const CHUNK: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(
        "model {model} was trained on {model_interval} candles; these are {candles_interval} \
         (use --interval {model_interval})"
    )]
    Interval {
        model: String,
        model_interval: Interval,
        candles_interval: Interval,
    },
    #[error("model {model} failed on the window ending at candle {index}: {source}")]
    Ensemble {
        model: String,
        index: usize,
        #[source]
        source: Box<EnsembleError>,
    },
    #[error("stopped")]
    Stopped,
}

/// What computes the probabilities: the ensemble, or only its logistic fallback when the
/// ensemble cannot be loaded.
enum Runner {
    Ensemble {
        ensemble: std::sync::Arc<Ensemble>,
        scratch: Vec<Scratch>,
    },
    Fallback {
        params: Box<EnsembleParams>,
        weighting: Box<EnsembleWeighting>,
        thresholds: Thresholds,
        names: usize,
    },
}

/// One series' state: its features, the last `window` rows, and the (open time, close) of the
/// last `horizon + 1` candles for labelling outcomes.
pub struct Track {
    features: FeatureSet,
    rows: VecDeque<[f64; FEATURE_COUNT]>,
    closes: VecDeque<(i64, f64)>,
}

/// A prediction whose horizon has passed: the realised log return and its class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    pub open_time_ms: i64,
    pub realised_return: f64,
    pub class: u8,
}

/// What the pipeline says about one window.
#[derive(Debug)]
pub enum Prediction {
    Signal {
        verdict: Verdict,
        /// Why the logistic fallback answered instead of the ensemble, if it did.
        fallback: Option<String>,
        /// The ensemble's input and the verdict's class, for attribution (not for a fallback).
        input: Option<(Vec<f32>, usize)>,
    },
    /// No signal: the ensemble failed and the model has no logistic baseline to fall back to
    /// (the reason is for the trader).
    NoFallback { reason: String },
    /// No signal: the fallback failed too (the reason is for the log).
    FallbackFailed { reason: String },
}

/// A registered model made ready to turn candles into signals.
pub struct SignalPipeline {
    pub id: i64,
    pub version: String,
    pub interval: Interval,
    pub window: usize,
    pub horizon: usize,
    pub theta: f64,
    htf_factor: u32,
    calendar: Calendar,
    runner: Runner,
}

impl SignalPipeline {
    /// `record` with its blob (or why the blob could not be read), judged by the model's own
    /// thresholds with the sides `over` sets replaced. An imported member has no interval of its
    /// own and runs at `main_interval`. When the ensemble cannot be loaded the pipeline runs its
    /// logistic baseline and says why in the second value; without a baseline it is an error.
    pub fn load(
        record: &ModelRecord,
        blob: Result<Vec<u8>, String>,
        main_interval: Option<Interval>,
        over: ThresholdOverride,
    ) -> Result<(Self, Option<String>), String> {
        let loaded = blob.and_then(|blob| match main_interval {
            Some(main) => Ensemble::load(record, &blob, main).map_err(|e| e.to_string()),
            None if record.kind != KIND => Err("no interval is streamed to run it at".to_string()),
            None => Ensemble::from_record(record, &blob).map_err(|e| e.to_string()),
        });
        match loaded {
            Ok(mut ensemble) => {
                ensemble.override_thresholds(over);
                Ok((
                    Self::from_ensemble(record.id, &record.version, ensemble),
                    None,
                ))
            }
            Err(reason) => {
                let params = serde_json::from_value::<EnsembleParams>(record.params.clone());
                let weighting =
                    serde_json::from_value::<EnsembleWeighting>(record.weighting.clone());
                match (record.kind.as_str(), params, weighting) {
                    (KIND, Ok(params), Ok(weighting)) => {
                        let runner = Runner::Fallback {
                            thresholds: params.thresholds.overridden(over),
                            params: Box::new(params),
                            weighting: Box::new(weighting),
                            names: record.features.len(),
                        };
                        let pipeline = Self::with_runner(record.id, &record.version, runner);
                        Ok((pipeline, Some(format!("{}: {reason}", record.version))))
                    }
                    _ => Err(format!(
                        "{}: {reason}; it has no logistic baseline to fall back to, so no signals",
                        record.version
                    )),
                }
            }
        }
    }

    /// A pipeline around an ensemble already loaded (or just trained).
    pub fn from_ensemble(id: i64, version: &str, ensemble: Ensemble) -> Self {
        let scratch = ensemble.scratch();
        let runner = Runner::Ensemble {
            ensemble: std::sync::Arc::new(ensemble),
            scratch,
        };
        Self::with_runner(id, version, runner)
    }

    fn with_runner(id: i64, version: &str, runner: Runner) -> Self {
        let params = match &runner {
            Runner::Ensemble { ensemble, .. } => &ensemble.params,
            Runner::Fallback { params, .. } => params.as_ref(),
        };
        Self {
            id,
            version: version.to_string(),
            interval: params.interval,
            window: params.data.window,
            horizon: params.data.horizon,
            theta: params.theta,
            htf_factor: params.data.htf_factor,
            calendar: params.data.calendar,
            runner,
        }
    }

    /// The ensemble, unless only the fallback runs.
    pub fn ensemble(&self) -> Option<&std::sync::Arc<Ensemble>> {
        match &self.runner {
            Runner::Ensemble { ensemble, .. } => Some(ensemble),
            Runner::Fallback { .. } => None,
        }
    }

    /// The learned indicator weights the model's input is scaled by.
    pub fn indicator_weights(&self) -> &IndicatorWeights {
        match &self.runner {
            Runner::Ensemble { ensemble, .. } => &ensemble.weighting.indicators,
            Runner::Fallback { weighting, .. } => &weighting.indicators,
        }
    }

    /// A fresh series state.
    pub fn track(&self) -> Track {
        Track {
            features: FeatureSet::with_factor(self.interval, self.htf_factor)
                .with_calendar(self.calendar),
            rows: VecDeque::with_capacity(self.window + 1),
            closes: VecDeque::with_capacity(self.horizon + 2),
        }
    }

    /// Single-candle back-end: a closed candle into `track`. `Some` when it took the candle
    /// (a refused or out-of-order candle changes nothing), with the outcome of the prediction
    /// made `horizon` candles ago when that is now known.
    pub fn push(&self, track: &mut Track, candle: &Candle) -> Option<Option<Outcome>> {
        let Ok(Some(row)) = track.features.update(candle) else {
            return None;
        };
        track.rows.push_back(row.values);
        while track.rows.len() > self.window {
            track.rows.pop_front();
        }
        track.closes.push_back((candle.open_time_ms, candle.close));
        while track.closes.len() > self.horizon + 1 {
            track.closes.pop_front();
        }
        if track.closes.len() == self.horizon + 1
            && let (Some(&(then_ms, then)), Some(&(now_open, close))) =
                (track.closes.front(), track.closes.back())
            && now_open - then_ms == self.interval.ms() * self.horizon as i64
            && then > 0.0
        {
            let realised = (close / then).ln();
            return Some(Some(Outcome {
                open_time_ms: then_ms,
                realised_return: realised,
                class: crate::model::labels::class_of(realised, self.theta),
            }));
        }
        Some(None)
    }

    /// The row that stores `outcome` of this model's prediction on `symbol`.
    pub fn outcome_row(
        &self,
        symbol: crate::domain::Symbol,
        outcome: &Outcome,
    ) -> crate::store::OutcomeRow {
        crate::store::OutcomeRow {
            model_version: self.version.clone(),
            symbol,
            interval: self.interval,
            open_time_ms: outcome.open_time_ms,
            realised_return: outcome.realised_return,
            outcome: outcome.class,
        }
    }

    /// Whether `track` holds a full window.
    pub fn ready(&self, track: &Track) -> bool {
        track.rows.len() == self.window
    }

    /// Single-candle back-end: the verdict on `track`'s window (which must be full).
    pub fn predict(&mut self, track: &Track) -> Prediction {
        let rows: Vec<&[f64]> = track.rows.iter().map(|r| r.as_slice()).collect();
        match &mut self.runner {
            Runner::Ensemble { ensemble, scratch } => {
                let mut input = Vec::new();
                let run = ensemble
                    .input(&rows, &mut input)
                    .and_then(|()| ensemble.predict_one(&input, scratch));
                match run {
                    Ok(verdict) => {
                        let class = verdict.class;
                        Prediction::Signal {
                            verdict,
                            fallback: None,
                            input: Some((input, class)),
                        }
                    }
                    Err(e) => ensemble_fallback(ensemble, &self.version, &rows, e),
                }
            }
            Runner::Fallback { .. } => self.fallback_only(&rows),
        }
    }

    fn fallback_only(&self, rows: &[&[f64]]) -> Prediction {
        let Runner::Fallback {
            weighting,
            thresholds,
            names,
            ..
        } = &self.runner
        else {
            return Prediction::FallbackFailed {
                reason: "the ensemble is loaded, not only its fallback".into(),
            };
        };
        let last = rows.last().copied().unwrap_or(&[]);
        let mut normalised = vec![0.0; *names];
        let p = weighting
            .normalizer
            .apply(last, &weighting.indicators.weights, &mut normalised)
            .and_then(|()| weighting.logistic.predict_proba(&normalised));
        match p {
            Ok(p) => Prediction::Signal {
                verdict: fallback_verdict(p, *thresholds),
                fallback: Some(format!(
                    "{}: the ensemble could not be loaded",
                    self.version
                )),
                input: None,
            },
            Err(e) => Prediction::FallbackFailed {
                reason: format!("the fallback failed: {e}"),
            },
        }
    }

    /// Batch back-end: the signal at the close of each candle (`None` before the first full
    /// window, for a candle the feature set refused, and before `predict_from`: those candles
    /// only warm the features up). `progress(done, total)` returning false stops it. Windows the
    /// ensemble cannot run get the logistic fallback's signal, as live; a model without one
    /// makes that an error.
    pub fn batch(
        &mut self,
        candles: &[Candle],
        predict_from: usize,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Vec<Option<Signal>>, PipelineError> {
        Ok(self
            .batch_verdicts(candles, predict_from, progress)?
            .into_iter()
            .map(|v| v.map(|v| v.signal))
            .collect())
    }

    /// [`SignalPipeline::batch`] with the whole verdict of each candle (its probabilities and
    /// confidence too).
    pub fn batch_verdicts(
        &mut self,
        candles: &[Candle],
        predict_from: usize,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Vec<Option<Verdict>>, PipelineError> {
        let mut track = self.track();
        let mut rows: Vec<[f64; FEATURE_COUNT]> = Vec::with_capacity(candles.len());
        // (candle index, index in `rows` of the window's first row)
        let mut windows: Vec<(usize, usize)> = Vec::with_capacity(candles.len());
        for (index, candle) in candles.iter().enumerate() {
            let Ok(Some(row)) = track.features.update(candle) else {
                continue;
            };
            rows.push(row.values);
            if rows.len() >= self.window && index >= predict_from {
                windows.push((index, rows.len() - self.window));
            }
        }
        let mut signals: Vec<Option<Verdict>> = vec![None; candles.len()];
        let total = windows.len();
        let version = self.version.clone();
        let failed = |index: usize| {
            let model = version.clone();
            move |source| PipelineError::Ensemble {
                model,
                index,
                source: Box::new(source),
            }
        };
        let ensemble = match &self.runner {
            Runner::Ensemble { ensemble, .. } => ensemble.clone(),
            Runner::Fallback { .. } => {
                for (done, &(index, first)) in windows.iter().enumerate() {
                    if done % CHUNK == 0 && !progress(done, total) {
                        return Err(PipelineError::Stopped);
                    }
                    let window: Vec<&[f64]> = rows[first..first + self.window]
                        .iter()
                        .map(|r| r.as_slice())
                        .collect();
                    match self.fallback_only(&window) {
                        Prediction::Signal { verdict, .. } => signals[index] = Some(verdict),
                        Prediction::NoFallback { reason }
                        | Prediction::FallbackFailed { reason } => {
                            return Err(failed(index)(EnsembleError::Inconsistent(reason)));
                        }
                    }
                }
                progress(total, total);
                return Ok(signals);
            }
        };
        // Every row normalised once; the windows slide along them.
        let mut normalised = Vec::with_capacity(rows.len() * ensemble.names.len());
        ensemble
            .normalise_rows(rows.iter().map(|r| r.as_slice()), &mut normalised)
            .map_err(failed(0))?;
        let mut starts = Vec::with_capacity(CHUNK);
        let mut members = Vec::with_capacity(ensemble.members().len());
        for (done, chunk) in windows.chunks(CHUNK).enumerate() {
            if !progress(done * CHUNK, total) {
                return Err(PipelineError::Stopped);
            }
            starts.clear();
            starts.extend(chunk.iter().map(|&(_, first)| first));
            let first_index = chunk.first().map_or(0, |c| c.0);
            match ensemble.member_probabilities_sliding(&normalised, &starts) {
                Ok(per_member) => {
                    for (i, &(index, _)) in chunk.iter().enumerate() {
                        members.clear();
                        members.extend(per_member.iter().map(|m| m[i]));
                        let verdict = signal::combine(
                            &members,
                            &ensemble.params.member_weights,
                            ensemble.thresholds(),
                        );
                        signals[index] = Some(verdict);
                    }
                }
                Err(e) if !ensemble.has_fallback() => return Err(failed(first_index)(e)),
                // As live: each window alone, the fallback where the ensemble fails.
                Err(_) => {
                    for &(index, first) in chunk {
                        let window: Vec<&[f64]> = rows[first..first + self.window]
                            .iter()
                            .map(|r| r.as_slice())
                            .collect();
                        let mut scratch = ensemble.scratch();
                        let mut input = Vec::new();
                        let run = ensemble
                            .input(&window, &mut input)
                            .and_then(|()| ensemble.predict_one(&input, &mut scratch));
                        let prediction = match run {
                            Ok(verdict) => Prediction::Signal {
                                verdict,
                                fallback: None,
                                input: None,
                            },
                            Err(e) => ensemble_fallback(&ensemble, &version, &window, e),
                        };
                        match prediction {
                            Prediction::Signal { verdict, .. } => {
                                signals[index] = Some(verdict);
                            }
                            Prediction::NoFallback { reason }
                            | Prediction::FallbackFailed { reason } => {
                                return Err(failed(index)(EnsembleError::Inconsistent(reason)));
                            }
                        }
                    }
                }
            }
        }
        progress(total, total);
        Ok(signals)
    }
}

/// The ensemble failed with `error` on `rows`: its logistic fallback on the newest row, or no
/// signal when it has none.
fn ensemble_fallback(
    ensemble: &Ensemble,
    version: &str,
    rows: &[&[f64]],
    error: EnsembleError,
) -> Prediction {
    if !ensemble.has_fallback() {
        return Prediction::NoFallback {
            reason: format!(
                "{version}: {error}; it has no logistic baseline to fall back to, so no signals"
            ),
        };
    }
    let last = rows.last().copied().unwrap_or(&[]);
    match ensemble.fallback_probabilities(last) {
        Ok(p) => Prediction::Signal {
            verdict: fallback_verdict(p, ensemble.thresholds()),
            fallback: Some(format!("{version}: {error}")),
            input: None,
        },
        Err(e) => Prediction::FallbackFailed {
            reason: format!("the fallback failed too: {e}"),
        },
    }
}

/// The logistic baseline's probabilities as a one-member verdict.
pub fn fallback_verdict(p: [f64; 3], thresholds: Thresholds) -> Verdict {
    signal::combine(&[p.map(|v| v as f32)], &[1.0], thresholds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::Lcg;
    use crate::model::registry::Registry;

    /// A random walk of one-minute candles.
    fn walk(n: usize) -> Vec<Candle> {
        let mut noise = Lcg(11);
        let mut close = 100.0f64;
        (0..n as i64)
            .map(|i| {
                let open = close;
                close = open * (1.0 + 0.003 * (noise.uniform() - 0.5));
                Candle {
                    open_time_ms: 1_599_999_960_000 + i * 60_000,
                    open,
                    high: open.max(close) * 1.0004,
                    low: open.min(close) * 0.9996,
                    close,
                    volume: 5.0 + 10.0 * noise.uniform(),
                    quote_volume: 0.0,
                    trades: 1,
                }
            })
            .collect()
    }

    /// The single-candle back-end's signal at each candle, as the live engine gets it.
    fn one_at_a_time(pipeline: &mut SignalPipeline, candles: &[Candle]) -> Vec<Option<Signal>> {
        let mut track = pipeline.track();
        candles
            .iter()
            .map(|c| {
                pipeline.push(&mut track, c)?;
                if !pipeline.ready(&track) {
                    return None;
                }
                match pipeline.predict(&track) {
                    Prediction::Signal { verdict, .. } => Some(verdict.signal),
                    _ => None,
                }
            })
            .collect()
    }

    #[test]
    fn a_model_that_cannot_load_falls_back_the_same_way_live_and_in_a_backtest() {
        let dir = tempfile::tempdir().unwrap();
        let mut registry = Registry::open(&dir.path().join("p.db")).unwrap();
        let record = crate::model::demo::install(&mut registry).unwrap().unwrap();
        let over = ThresholdOverride::default();
        // The blob cannot be read: only the logistic baseline can run.
        let (mut fallback, reason) =
            SignalPipeline::load(&record, Err("damaged blob".into()), None, over).unwrap();
        assert!(reason.unwrap().contains("damaged blob"));
        assert!(fallback.ensemble().is_none());
        let candles = walk(1_500);
        let live = one_at_a_time(&mut fallback, &candles);
        let batch = fallback.batch(&candles, 0, &mut |_, _| true).unwrap();
        assert_eq!(live, batch, "live and backtest give the fallback's signals");
        let signalled = batch.iter().flatten().count();
        assert!(signalled > 1_000, "it signals: {signalled}");
        // And the loaded ensemble agrees with itself across the two back-ends too.
        let blob = registry.load_blob(record.id).map_err(|e| e.to_string());
        let (mut loaded, reason) = SignalPipeline::load(&record, blob, None, over).unwrap();
        assert_eq!(reason, None);
        let live = one_at_a_time(&mut loaded, &candles);
        let batch = loaded.batch(&candles, 0, &mut |_, _| true).unwrap();
        assert_eq!(live, batch);
    }
}
