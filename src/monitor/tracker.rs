//! One model on one symbol, live or over stored candles: closed candles and the model's
//! predictions in, the report the Drift pane and `trademon drift` show out.
//!
//! Per closed candle ([`Tracker::push_candle`]): the feature row joins the window of the last W
//! rows and its bin counts (incremental, so PSI is always current), the logistic baseline runs on
//! it, and the prediction made `horizon` candles ago gets its outcome: the scorecard and the three
//! detectors take it. Every `evaluate_every` candles ([`Tracker::evaluate`]) the exact statistics
//! run: KS and the Wasserstein distance sort the window against the reference sample.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::Serialize;

use super::detectors::{
    Adwin, Ddm, Detector, DetectorState, PageHinkley, PageHinkleyParams, PhMode, Tracked,
};
use super::reference::{BINS, Reference, log_loss, signal_slot};
use super::scorecard::{self, Realised, Scorecard, WindowFigures};
use super::spec::{ModelSpec, TestFigures};
use super::stats;
use crate::domain::{Candle, Interval, Signal, Symbol};
use crate::features::{FEATURE_COUNT, FeatureSet};
use crate::model::labels::class_of;

/// The smallest window W.
pub const MIN_WINDOW: usize = 300;
/// PSI above this (and above its sampling critical value) is a large shift.
pub const PSI_LIMIT: f64 = 0.25;
/// The level of the PSI critical value.
pub const PSI_ALPHA: f64 = 0.05;
/// Standardised log-losses are clipped to ±this before Page–Hinkley sees them.
pub const WINSOR: f64 = 3.0;
/// PSI values kept per feature for the sparkline.
pub const HISTORY: usize = 48;
/// Page–Hinkley and ADWIN see means of blocks of this many outcomes (at least the horizon):
/// per candle, River's defaults fired 8 (Page–Hinkley) and 2–7 (ADWIN) times over 12,000
/// stable simulated candles, because consecutive outcomes are not independent; on block means of
/// 10 they fired at most once.
pub const DETECTOR_BLOCK: usize = 10;

/// How the monitor runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// W: closed candles in the current window.
    pub window: usize,
    /// Candles between two exact evaluations (and stored evaluations).
    pub evaluate_every: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            window: 500,
            evaluate_every: 10,
        }
    }
}

/// A symbol's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Warming,
    Stable,
    Drifting,
    NoReference,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReferenceSummary {
    pub from_ms: i64,
    pub to_ms: i64,
    pub rows: u64,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeatureFigures {
    pub name: String,
    pub psi: f64,
    pub psi_critical: f64,
    pub wasserstein_sd: f64,
    /// `None`: the reference has too few chunks to set it.
    pub wasserstein_limit: Option<f64>,
    pub ks: f64,
    /// scipy's `ks_2samp(method="asymp")`; shown, never a verdict.
    pub ks_p: f64,
    pub drifted: bool,
    #[serde(skip)]
    pub psi_history: Vec<f64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct SignalMix {
    pub sell: f64,
    pub hold: f64,
    pub buy: f64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ClassMix {
    pub down: f64,
    pub flat: f64,
    pub up: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PredictionFigures {
    /// Signals over the window.
    pub mix: SignalMix,
    pub reference_mix: SignalMix,
    pub js_signals: f64,
    pub probabilities: ClassMix,
    pub reference_probabilities: ClassMix,
    /// Jensen–Shannon distance (base 2) of the probability mix.
    pub js_distance: f64,
    pub mean_top: f64,
    pub reference_mean_top: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Performance {
    /// Over every realised candle.
    pub n: u64,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub log_loss: f64,
    pub brier: f64,
    pub ece: f64,
    pub logistic: Option<scorecard::Baseline>,
    pub majority: scorecard::Baseline,
    /// Last 100, last 500, all.
    pub windows: Vec<WindowFigures>,
    pub pending: u64,
    /// Confidence-based estimate of the pending predictions' accuracy.
    pub expected_accuracy: Option<f64>,
    pub verdict: String,
    pub test: Option<TestFigures>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DetectorFigures {
    pub name: &'static str,
    pub input: &'static str,
    pub state: DetectorState,
    pub fired_at_ms: Option<i64>,
    pub fired: u32,
}

/// What the monitor says about one model on one symbol.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SymbolReport {
    pub model: String,
    pub model_id: i64,
    pub symbol: Symbol,
    pub interval: Interval,
    pub status: Status,
    pub window: usize,
    pub window_filled: usize,
    pub reference: Option<ReferenceSummary>,
    pub no_reference: Option<String>,
    pub features: Vec<FeatureFigures>,
    pub drifted_share: f64,
    pub dataset_drift: bool,
    pub predictions: Option<PredictionFigures>,
    pub performance: Performance,
    pub detectors: Vec<DetectorFigures>,
    pub as_of_ms: Option<i64>,
}

/// A performance detector and what it is fed (for the view).
struct Slot {
    tracked: Tracked<Box<dyn Detector + Send>>,
    input: &'static str,
}

impl Slot {
    fn new(detector: Box<dyn Detector + Send>, input: &'static str, hold: usize) -> Self {
        Self {
            tracked: Tracked::holding(detector, hold),
            input,
        }
    }

    fn update(&mut self, x: f64, time_ms: i64) {
        self.tracked.update_at(x, time_ms);
    }

    fn state(&self) -> DetectorState {
        self.tracked.state()
    }
}

/// One row of the window: each monitored feature's value, and its reference bin.
type WindowRow = (Box<[f64]>, Box<[u8]>);

/// A prediction waiting for its outcome.
#[derive(Clone, Copy, Debug)]
struct Pending {
    open_ms: i64,
    model: [f64; 3],
    logistic: Option<[f64; 3]>,
}

/// The last exact evaluation.
#[derive(Clone, Debug, Default)]
struct Evaluation {
    features: Vec<FeatureFigures>,
    drifted_share: f64,
    dataset_drift: bool,
}

/// One model on one symbol.
pub struct Tracker {
    spec: Arc<ModelSpec>,
    reference: Option<Arc<Reference>>,
    no_reference: Option<String>,
    settings: Settings,
    symbol: Symbol,
    features: FeatureSet,
    /// The last W rows: each monitored feature's value and bin.
    rows: VecDeque<WindowRow>,
    counts: Vec<[u32; BINS]>,
    closes: VecDeque<(i64, f64)>,
    /// The logistic baseline on the newest row.
    newest_logistic: Option<(i64, [f64; 3])>,
    pending: VecDeque<Pending>,
    /// The last W predictions: probabilities and signal slot.
    predictions: VecDeque<([f64; 3], usize)>,
    scorecard: Scorecard,
    detectors: [Slot; 3],
    /// The block being summed for Page–Hinkley and ADWIN: Σ z, Σ Brier/2, and how many.
    block: (f64, f64, usize),
    since_evaluation: usize,
    evaluation: Option<Evaluation>,
    psi_history: Vec<VecDeque<f64>>,
    newest_ms: Option<i64>,
    scratch: Vec<f64>,
}

impl Tracker {
    /// A tracker of `spec` on `symbol`, measured against `reference` (or saying why there is
    /// none).
    pub fn new(
        spec: Arc<ModelSpec>,
        reference: Result<Arc<Reference>, String>,
        symbol: Symbol,
        settings: Settings,
    ) -> Self {
        let (reference, no_reference) = match reference {
            Ok(r) => (Some(r), None),
            Err(why) => (None, Some(why)),
        };
        let monitored = reference.as_ref().map_or(0, |r| r.features.len());
        Self {
            features: spec.feature_set(),
            scorecard: Scorecard::new(spec.horizon),
            detectors: [
                Slot::new(
                    Box::new(PageHinkley::new(PageHinkleyParams {
                        mode: PhMode::Up,
                        ..PageHinkleyParams::default()
                    })),
                    "log-loss standardised by the test split, block means",
                    settings.window / DETECTOR_BLOCK.max(spec.horizon),
                ),
                Slot::new(
                    Box::new(Adwin::default()),
                    "Brier score / 2, block means",
                    settings.window / DETECTOR_BLOCK.max(spec.horizon),
                ),
                Slot::new(Box::new(Ddm::default()), "error (0/1)", settings.window),
            ],
            block: (0.0, 0.0, 0),
            rows: VecDeque::with_capacity(settings.window + 1),
            counts: vec![[0; BINS]; monitored],
            closes: VecDeque::with_capacity(spec.horizon + 2),
            newest_logistic: None,
            pending: VecDeque::new(),
            predictions: VecDeque::with_capacity(settings.window + 1),
            since_evaluation: 0,
            evaluation: None,
            psi_history: vec![VecDeque::new(); monitored],
            newest_ms: None,
            scratch: Vec::new(),
            spec,
            reference,
            no_reference,
            settings,
            symbol,
        }
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Open time of the newest candle taken.
    pub fn newest_ms(&self) -> Option<i64> {
        self.newest_ms
    }

    pub fn reference(&self) -> Option<&Arc<Reference>> {
        self.reference.as_ref()
    }

    /// A closed candle of the model's interval. True when an exact evaluation is due.
    pub fn push_candle(&mut self, candle: &Candle) -> bool {
        // A refused or out-of-order candle changes nothing.
        let Ok(row) = self.features.update(candle) else {
            return false;
        };
        self.newest_ms = Some(candle.open_time_ms);
        self.newest_logistic = row.as_ref().and_then(|row| {
            self.spec
                .logistic(&row.values, &mut self.scratch)
                .map(|p| (candle.open_time_ms, p))
        });
        if let Some(row) = row
            && !row.gap
        {
            self.push_row(&row.values);
        }
        self.realise(candle);
        self.since_evaluation += 1;
        self.rows.len() >= self.settings.window
            && self.since_evaluation >= self.settings.evaluate_every
    }

    fn push_row(&mut self, values: &[f64; FEATURE_COUNT]) {
        let Some(reference) = &self.reference else {
            return;
        };
        let mut kept = Vec::with_capacity(reference.features.len());
        let mut bins = Vec::with_capacity(reference.features.len());
        for (f, counts) in reference.features.iter().zip(&mut self.counts) {
            let v = values[f.index];
            let bin = stats::bin_of(&f.edges, v);
            counts[bin] += 1;
            kept.push(v);
            bins.push(bin as u8);
        }
        self.rows.push_back((kept.into(), bins.into()));
        while self.rows.len() > self.settings.window {
            if let Some((_, old)) = self.rows.pop_front() {
                for (counts, &bin) in self.counts.iter_mut().zip(old.iter()) {
                    counts[bin as usize] -= 1;
                }
            }
        }
    }

    /// The outcome of the prediction made `horizon` candles before `candle`.
    fn realise(&mut self, candle: &Candle) {
        let horizon = self.spec.horizon;
        self.closes.push_back((candle.open_time_ms, candle.close));
        while self.closes.len() > horizon + 1 {
            self.closes.pop_front();
        }
        if self.closes.len() != horizon + 1 {
            return;
        }
        let (Some(&(then_ms, then)), Some(&(now_ms, close))) =
            (self.closes.front(), self.closes.back())
        else {
            return;
        };
        if now_ms - then_ms != self.spec.interval.ms() * horizon as i64 || then <= 0.0 {
            return;
        }
        while self.pending.front().is_some_and(|p| p.open_ms < then_ms) {
            self.pending.pop_front();
        }
        if self.pending.front().is_none_or(|p| p.open_ms != then_ms) {
            return;
        }
        let Some(p) = self.pending.pop_front() else {
            return;
        };
        let class = class_of((close / then).ln(), self.spec.theta);
        let majority = self
            .reference
            .as_ref()
            .map_or([1.0 / 3.0; 3], |r| r.class_shares);
        self.scorecard.add(Realised {
            model: p.model,
            logistic: p.logistic,
            majority,
            class,
        });
        let loss = log_loss(&p.model, class);
        let z = self
            .reference
            .as_ref()
            .and_then(|r| r.predictions)
            .filter(|pr| pr.log_loss_sd > 0.0)
            .map(|pr| ((loss - pr.log_loss_mean) / pr.log_loss_sd).clamp(-WINSOR, WINSOR));
        let brier: f64 = (0..3)
            .map(|k| (p.model[k] - f64::from(u8::from(k == class as usize))).powi(2))
            .sum();
        self.block.0 += z.unwrap_or(0.0);
        self.block.1 += brier / 2.0;
        self.block.2 += 1;
        if self.block.2 >= DETECTOR_BLOCK.max(horizon) {
            let n = self.block.2 as f64;
            if z.is_some() {
                self.detectors[0].update(self.block.0 / n, now_ms);
            }
            self.detectors[1].update(self.block.1 / n, now_ms);
            self.block = (0.0, 0.0, 0);
        }
        let wrong = crate::model::metrics::predicted_class(&p.model) != class;
        self.detectors[2].update(f64::from(u8::from(wrong)), now_ms);
    }

    /// The model's prediction at the close of the candle opening at `open_ms` (pushed after
    /// that candle).
    pub fn push_prediction(&mut self, open_ms: i64, probabilities: [f64; 3], signal: Signal) {
        let logistic = self
            .newest_logistic
            .filter(|(t, _)| *t == open_ms)
            .map(|(_, p)| p);
        if self.pending.back().is_some_and(|p| p.open_ms >= open_ms) {
            return;
        }
        self.pending.push_back(Pending {
            open_ms,
            model: probabilities,
            logistic,
        });
        self.predictions
            .push_back((probabilities, signal_slot(signal)));
        while self.predictions.len() > self.settings.window {
            self.predictions.pop_front();
        }
    }

    /// The exact statistics over the current window (KS and Wasserstein against the reference
    /// sample, PSI from the bin counts), kept for the report and the PSI history.
    pub fn evaluate(&mut self) {
        self.evaluate_as(true);
    }

    /// The verdicts of [`Tracker::evaluate`] alone, for evaluations that are only counted (the
    /// ones `drift` runs before the last): a feature whose PSI already rules drift out gets no
    /// Wasserstein distance or KS statistic (NaN), and none gets a KS p-value (shown, never a
    /// verdict). The drifted features and the dataset verdict are the same as a full evaluation's.
    pub fn evaluate_verdicts(&mut self) {
        self.evaluate_as(false);
    }

    fn evaluate_as(&mut self, full: bool) {
        self.since_evaluation = 0;
        let Some(reference) = self.reference.clone() else {
            return;
        };
        let m = self.rows.len();
        if m < self.settings.window {
            return;
        }
        let critical = stats::psi_critical(BINS, reference.rows as usize, m, PSI_ALPHA);
        let mut column = Vec::with_capacity(m);
        let mut features = Vec::with_capacity(reference.features.len());
        for (j, f) in reference.features.iter().enumerate() {
            let counts: Vec<u64> = self.counts[j].iter().map(|&c| u64::from(c)).collect();
            let psi = stats::psi(&f.shares, &counts);
            let limit = f.wasserstein_limit();
            let (wasserstein_sd, ks, ks_p) =
                if full || (psi > PSI_LIMIT && psi > critical && limit.is_some()) {
                    column.clear();
                    column.extend(self.rows.iter().map(|(v, _)| v[j]));
                    column.sort_by(f64::total_cmp);
                    let (distance, ks) = stats::wasserstein_and_ks(&column, &f.sample);
                    let w = if f.sd > 0.0 { distance / f.sd } else { 0.0 };
                    let p = if full {
                        stats::ks_p(ks, column.len(), f.sample.len())
                    } else {
                        f64::NAN
                    };
                    (w, ks, p)
                } else {
                    (f64::NAN, f64::NAN, f64::NAN)
                };
            let drifted =
                psi > PSI_LIMIT && psi > critical && limit.is_some_and(|l| wasserstein_sd > l);
            let history = &mut self.psi_history[j];
            history.push_back(psi);
            while history.len() > HISTORY {
                history.pop_front();
            }
            features.push(FeatureFigures {
                name: f.name.clone(),
                psi,
                psi_critical: critical,
                wasserstein_sd,
                wasserstein_limit: limit,
                ks,
                ks_p,
                drifted,
                psi_history: history.iter().copied().collect(),
            });
        }
        let drifted = features.iter().filter(|f| f.drifted).count();
        let share = drifted as f64 / features.len().max(1) as f64;
        features.sort_by(|a, b| b.drifted.cmp(&a.drifted).then(b.psi.total_cmp(&a.psi)));
        self.evaluation = Some(Evaluation {
            features,
            drifted_share: share,
            dataset_drift: drifted > 0 && 2 * drifted >= self.counts.len(),
        });
    }

    /// Whether candles came since the last evaluation and the window is full.
    pub fn evaluation_pending(&self) -> bool {
        self.since_evaluation > 0 && self.rows.len() >= self.settings.window
    }

    /// Whether the last evaluation found dataset drift.
    pub fn report_dataset_drift(&self) -> bool {
        self.evaluation.as_ref().is_some_and(|e| e.dataset_drift)
    }

    /// An evaluation that was due is not run (a replay evaluates only at its end).
    pub fn skip_evaluation(&mut self) {
        self.since_evaluation = 0;
    }

    /// Seeds the PSI history of a feature (read back from stored evaluations).
    pub fn seed_history(&mut self, name: &str, values: &[f64]) {
        if let Some(j) = self
            .reference
            .as_ref()
            .and_then(|r| r.features.iter().position(|f| f.name == name))
        {
            let h = &mut self.psi_history[j];
            h.clear();
            h.extend(values.iter().rev().take(HISTORY).rev().copied());
        }
    }

    /// Whether the last evaluation found dataset drift or a detector is in drift.
    pub fn drifting(&self) -> bool {
        self.evaluation.as_ref().is_some_and(|e| e.dataset_drift)
            || self
                .detectors
                .iter()
                .any(|d| d.state() == DetectorState::Drift)
    }

    /// What the pane and `trademon drift` show.
    pub fn report(&self) -> SymbolReport {
        let status = if self.reference.is_none() {
            Status::NoReference
        } else if self.evaluation.is_none() {
            Status::Warming
        } else if self.drifting() {
            Status::Drifting
        } else {
            Status::Stable
        };
        let evaluation = self.evaluation.clone().unwrap_or_default();
        let windows = self.scorecard.figures();
        let all = windows
            .iter()
            .find(|w| w.last.is_none())
            .copied()
            .unwrap_or_default();
        let pending = self.pending.len() as u64;
        let expected_accuracy = (pending > 0).then(|| {
            self.pending
                .iter()
                .map(|p| p.model.iter().copied().fold(0.0, f64::max))
                .sum::<f64>()
                / pending as f64
        });
        SymbolReport {
            model: self.spec.version.clone(),
            model_id: self.spec.id,
            symbol: self.symbol,
            interval: self.spec.interval,
            status,
            window: self.settings.window,
            window_filled: self.rows.len(),
            reference: self.reference.as_ref().map(|r| ReferenceSummary {
                from_ms: r.from_ms,
                to_ms: r.to_ms,
                rows: r.rows,
                source: r.source.clone(),
            }),
            no_reference: self.no_reference.clone(),
            features: evaluation.features,
            drifted_share: evaluation.drifted_share,
            dataset_drift: evaluation.dataset_drift,
            predictions: self.prediction_figures(),
            performance: Performance {
                n: all.n,
                accuracy: all.accuracy.value,
                macro_f1: all.macro_f1,
                log_loss: all.log_loss.value,
                brier: all.brier,
                ece: all.ece,
                logistic: all.logistic,
                majority: all.majority,
                verdict: scorecard::verdict(&windows),
                windows,
                pending,
                expected_accuracy,
                test: self.spec.test,
            },
            detectors: self
                .detectors
                .iter()
                .map(|d| DetectorFigures {
                    name: d.tracked.name(),
                    input: d.input,
                    state: d.state(),
                    fired_at_ms: d.tracked.fired_at(),
                    fired: u32::try_from(d.tracked.drifts()).unwrap_or(u32::MAX),
                })
                .collect(),
            as_of_ms: self.newest_ms,
        }
    }

    fn prediction_figures(&self) -> Option<PredictionFigures> {
        let r = self.reference.as_ref()?.predictions?;
        let n = self.predictions.len();
        if n == 0 {
            return None;
        }
        let mut signals = [0.0; 3];
        let mut probabilities = [0.0; 3];
        let mut top = 0.0;
        for (p, slot) in &self.predictions {
            signals[*slot] += 1.0 / n as f64;
            for k in 0..3 {
                probabilities[k] += p[k] / n as f64;
            }
            top += p.iter().copied().fold(0.0, f64::max) / n as f64;
        }
        let mix = |s: [f64; 3]| SignalMix {
            sell: s[0],
            hold: s[1],
            buy: s[2],
        };
        let classes = |p: [f64; 3]| ClassMix {
            down: p[0],
            flat: p[1],
            up: p[2],
        };
        Some(PredictionFigures {
            mix: mix(signals),
            reference_mix: mix(r.signals),
            js_signals: stats::js_distance(&signals, &r.signals),
            probabilities: classes(probabilities),
            reference_probabilities: classes(r.probabilities),
            js_distance: stats::js_distance(&probabilities, &r.probabilities),
            mean_top: top,
            reference_mean_top: r.mean_top,
        })
    }
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;
