//! The engine's model side: the active ensemble run on every closed candle of every symbol at the
//! model's interval, predictions and their realised outcomes sent to the store, the logistic
//! fallback when the model cannot run, model switches / promotions / rollbacks from the console
//! (audited in the registry), and training runs in a background thread whose progress and result
//! come back as updates.

mod training;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use crate::config::ModelConfig;
use crate::domain::{Candle, Interval, Symbol};
use crate::features::{FEATURE_COUNT, FeatureSet};
use crate::model::calibrate;
use crate::model::ensemble::{Ensemble, EnsembleParams, EnsembleWeighting, KIND};
use crate::model::predict::Scratch;
use crate::model::registry::{LiveEventKind, ModelRecord, Registry, RegistryError};
use crate::model::signal::{self, ThresholdOverride, Thresholds, Verdict};
use crate::model::torch_member::TORCH_MEMBER_KIND;
use crate::model::train::TrainingReport;
use crate::protocol::{
    ModelSummary, ModelsView, Scores, SignalInfo, SignalThresholds, Snapshot, TestScores,
    TrainingProgress,
};
use crate::store::writer::{WriteOp, WriteSender};
use crate::store::{OutcomeRow, PredictionRow};
use training::Job;

/// Features shown as a signal's drivers.
const DRIVERS: usize = 6;

/// What runs: the ensemble, or only its logistic fallback when the ensemble cannot.
enum Runner {
    Ensemble {
        ensemble: Arc<Ensemble>,
        scratch: Vec<Scratch>,
        /// To the attribution thread: gradient × input takes milliseconds, so it never runs on
        /// the engine's loop; the signal goes out at once and its drivers follow.
        attribution: Sender<AttributionJob>,
    },
    Fallback {
        params: Box<EnsembleParams>,
        weighting: Box<EnsembleWeighting>,
        names: usize,
    },
}

struct Active {
    id: i64,
    version: String,
    interval: Interval,
    window: usize,
    horizon: usize,
    theta: f64,
    /// Base candles per higher-timeframe candle in the model's features.
    htf_factor: u32,
    runner: Runner,
}

/// A signal whose drivers are to be computed.
struct AttributionJob {
    signal: SignalInfo,
    input: Vec<f32>,
    class: usize,
}

/// Starts the thread that computes signals' drivers for `ensemble`; it ends when the sender is
/// dropped (another model was activated).
fn spawn_attribution(ensemble: Arc<Ensemble>, done: Sender<SignalInfo>) -> Sender<AttributionJob> {
    let (tx, jobs) = channel::<AttributionJob>();
    let spawned = std::thread::Builder::new()
        .name("trademon-attribution".into())
        .spawn(move || {
            while let Ok(mut job) = jobs.recv() {
                match ensemble.drivers(&job.input, job.class, DRIVERS) {
                    Ok(drivers) => {
                        job.signal.drivers = drivers;
                        if done.send(job.signal).is_err() {
                            break;
                        }
                    }
                    Err(e) => tracing::warn!("no drivers for a signal: {e}"),
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no attribution thread, signals come without drivers: {e}");
    }
    tx
}

/// One series' features and recent closes, for inputs and outcomes.
struct Track {
    features: FeatureSet,
    rows: VecDeque<[f64; FEATURE_COUNT]>,
    /// (open time, close) of the last `horizon + 1` candles.
    closes: VecDeque<(i64, f64)>,
}

/// The engine's models.
pub struct ModelRunner {
    db: Option<PathBuf>,
    /// Opened once at start: reads on its own connection, changes through the store's owner.
    registry: Option<Registry>,
    config: ModelConfig,
    active: Option<Active>,
    tracks: HashMap<Symbol, Track>,
    job: Option<Job>,
    /// Made while loading a model; taken by the engine.
    initial: Output,
    /// Signals with their drivers, back from the attribution thread.
    attributed: Receiver<SignalInfo>,
    attributed_tx: Sender<SignalInfo>,
    pub view: ModelsView,
}

/// What a model step produced: updates to publish and rows to store.
#[derive(Default)]
pub struct Output {
    pub signals: Vec<SignalInfo>,
    pub writes: Vec<WriteOp>,
    /// The models view changed.
    pub models_changed: bool,
    /// `Some(None)`: a training run ended.
    pub training: Option<Option<TrainingProgress>>,
}

impl ModelRunner {
    /// Opens the registry (when there is a database) with an owner of its own, and loads the
    /// champion; see [`ModelRunner::start_attached`]. With `demo` (the data is simulated) an
    /// empty registry first gets the bundled demo model as champion.
    pub fn start(
        db: Option<PathBuf>,
        config: ModelConfig,
        demo: bool,
        state: &Snapshot,
        now_ms: i64,
    ) -> Self {
        let registry = db.as_deref().map(Registry::open);
        Self::start_with(db, registry, config, demo, state, now_ms)
    }

    /// Like [`ModelRunner::start`], for the engine: the registry reads on one connection opened
    /// here, once, and every change goes to the engine's store owner `owner`.
    pub fn start_attached(
        db: Option<PathBuf>,
        owner: WriteSender,
        config: ModelConfig,
        demo: bool,
        state: &Snapshot,
        now_ms: i64,
    ) -> Self {
        let registry = db.as_deref().map(|db| Registry::attach(db, owner));
        Self::start_with(db, registry, config, demo, state, now_ms)
    }

    fn start_with(
        db: Option<PathBuf>,
        registry: Option<Result<Registry, RegistryError>>,
        config: ModelConfig,
        demo: bool,
        state: &Snapshot,
        now_ms: i64,
    ) -> Self {
        let (attributed_tx, attributed) = channel();
        let registry = match registry {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                tracing::warn!("model registry unavailable: {e}");
                None
            }
            None => None,
        };
        let mut runner = Self {
            db,
            registry,
            config,
            active: None,
            tracks: HashMap::new(),
            job: None,
            initial: Output::default(),
            attributed,
            attributed_tx,
            view: ModelsView::default(),
        };
        if demo && let Some(registry) = runner.registry.as_mut() {
            match crate::model::demo::install(registry) {
                Ok(Some(record)) => tracing::info!("registered the demo model {}", record.version),
                Ok(None) => {}
                Err(e) => tracing::warn!("demo model not registered: {e}"),
            }
        }
        match runner.registry.as_ref().map(|r| r.champion()) {
            Some(Ok(Some(champion))) => runner.activate(&champion, state, now_ms),
            Some(Ok(None)) | None => {}
            Some(Err(e)) => runner.view.fallback = Some(format!("registry: {e}")),
        }
        runner.refresh_list();
        runner
    }

    /// Re-reads the registry's list into the view.
    pub fn refresh_list(&mut self) {
        let Some(registry) = &self.registry else {
            return;
        };
        match registry.list() {
            Ok(mut records) => {
                records.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(b.id.cmp(&a.id)));
                let over = ThresholdOverride::from_config(&self.config);
                self.view.models = records.iter().map(|r| summary(r, over)).collect();
            }
            Err(e) => tracing::warn!("cannot list models: {e}"),
        }
    }

    /// Makes `record` the running model, falling back to its logistic baseline when the
    /// ensemble cannot be loaded. A member imported from PyTorch has no interval of its own: it
    /// runs at the console's main interval (the first streamed), and has no fallback.
    fn activate(&mut self, record: &ModelRecord, state: &Snapshot, now_ms: i64) {
        let loaded = self
            .registry
            .as_ref()
            .ok_or_else(|| "no registry".to_string())
            .and_then(|r| r.load_blob(record.id).map_err(|e| e.to_string()))
            .and_then(|blob| match state.intervals.first() {
                Some(&main) => Ensemble::load(record, &blob, main).map_err(|e| e.to_string()),
                None if record.kind == TORCH_MEMBER_KIND => {
                    Err("no interval is streamed to run it at".to_string())
                }
                None => Ensemble::from_record(record, &blob).map_err(|e| e.to_string()),
            })
            .map(|mut ensemble| {
                ensemble.override_thresholds(ThresholdOverride::from_config(&self.config));
                ensemble
            });
        let runner = match loaded {
            Ok(ensemble) => {
                self.view.fallback = None;
                let scratch = ensemble.scratch();
                let ensemble = Arc::new(ensemble);
                let attribution = spawn_attribution(ensemble.clone(), self.attributed_tx.clone());
                Runner::Ensemble {
                    ensemble,
                    scratch,
                    attribution,
                }
            }
            Err(reason) => {
                tracing::error!("model {} cannot run: {reason}", record.version);
                let params = serde_json::from_value::<EnsembleParams>(record.params.clone());
                let weighting =
                    serde_json::from_value::<EnsembleWeighting>(record.weighting.clone());
                match (record.kind.as_str(), params, weighting) {
                    (KIND, Ok(params), Ok(weighting)) => {
                        self.view.fallback = Some(format!("{}: {reason}", record.version));
                        Runner::Fallback {
                            params: Box::new(params),
                            weighting: Box::new(weighting),
                            names: record.features.len(),
                        }
                    }
                    _ => {
                        self.view.fallback = Some(format!(
                            "{}: {reason}; it has no logistic baseline to fall back to, so no \
                             signals",
                            record.version
                        ));
                        self.active = None;
                        self.view.active = None;
                        self.view.active_interval = None;
                        self.view.weights.clear();
                        return;
                    }
                }
            }
        };
        let (params, weights) = match &runner {
            Runner::Ensemble { ensemble, .. } => (&ensemble.params, &ensemble.weighting.indicators),
            Runner::Fallback {
                params, weighting, ..
            } => (params.as_ref(), &weighting.indicators),
        };
        let (interval, window, horizon, theta, htf_factor) = (
            params.interval,
            params.data.window,
            params.data.horizon,
            params.theta,
            params.data.htf_factor,
        );
        self.view.weights = (0..weights.names.len())
            .map(|j| crate::protocol::FeatureWeight {
                name: weights.names[j].clone(),
                weight: weights.weights[j],
                importance: weights.importance.get(j).copied().unwrap_or(0.0),
                penalty: weights.penalty.get(j).copied().unwrap_or(0.0),
                rank_ic: weights.rank_ic.get(j).copied().unwrap_or(0.0),
            })
            .collect();
        self.active = Some(Active {
            id: record.id,
            version: record.version.clone(),
            interval,
            window,
            horizon,
            theta,
            htf_factor,
            runner,
        });
        self.view.active = Some(record.id);
        self.view.active_interval = Some(interval);
        self.warm_up(state, now_ms);
    }

    /// Feeds every symbol's stored candles at the model's interval, so signals start at once:
    /// the newest stored candle of each symbol gets one (kept for [`Self::take_initial`]).
    fn warm_up(&mut self, state: &Snapshot, now_ms: i64) {
        self.tracks.clear();
        let Some(interval) = self.active.as_ref().map(|a| a.interval) else {
            return;
        };
        let Some(index) = state.intervals.iter().position(|i| *i == interval) else {
            tracing::warn!("the model's interval {interval} is not streamed: no signals");
            return;
        };
        let mut out = Output::default();
        for market in &state.markets {
            if let Some(series) = market.series.get(index) {
                let n = series.closed.len();
                for (k, candle) in series.closed.iter().enumerate() {
                    self.push(market.symbol, candle, k + 1 == n, now_ms, &mut out);
                }
            }
        }
        self.initial = out;
    }

    /// Signals and rows made while loading a model, for the engine to publish and store.
    pub fn take_initial(&mut self) -> Output {
        std::mem::take(&mut self.initial)
    }

    /// A closed candle of `symbol` at `interval`.
    pub fn on_closed(
        &mut self,
        symbol: Symbol,
        interval: Interval,
        candle: &Candle,
        now_ms: i64,
    ) -> Output {
        let mut out = Output::default();
        if self.active.as_ref().is_some_and(|a| a.interval == interval) {
            self.push(symbol, candle, true, now_ms, &mut out);
        }
        out
    }

    /// Candles filled in after a gap, oldest first: only the newest gets a signal.
    pub fn on_backfill(
        &mut self,
        symbol: Symbol,
        interval: Interval,
        candles: &[Candle],
        now_ms: i64,
    ) -> Output {
        let mut out = Output::default();
        if self.active.as_ref().is_some_and(|a| a.interval == interval) {
            for (k, candle) in candles.iter().enumerate() {
                self.push(symbol, candle, k + 1 == candles.len(), now_ms, &mut out);
            }
        }
        out
    }

    fn push(
        &mut self,
        symbol: Symbol,
        candle: &Candle,
        predict: bool,
        now_ms: i64,
        out: &mut Output,
    ) {
        let Some(active) = &self.active else {
            return;
        };
        let (interval, window, horizon) = (active.interval, active.window, active.horizon);
        let track = self.tracks.entry(symbol).or_insert_with(|| Track {
            features: FeatureSet::with_factor(interval, active.htf_factor),
            rows: VecDeque::with_capacity(window + 1),
            closes: VecDeque::with_capacity(horizon + 2),
        });
        // A refused or out-of-order candle changes nothing (the feed counted it already).
        let Ok(Some(row)) = track.features.update(candle) else {
            return;
        };
        track.rows.push_back(row.values);
        while track.rows.len() > window {
            track.rows.pop_front();
        }
        track.closes.push_back((candle.open_time_ms, candle.close));
        while track.closes.len() > horizon + 1 {
            track.closes.pop_front();
        }
        // The prediction made `horizon` candles ago now has its outcome.
        if track.closes.len() == horizon + 1
            && let (Some(&(then_ms, then)), Some(&(now_open, close))) =
                (track.closes.front(), track.closes.back())
            && now_open - then_ms == interval.ms() * horizon as i64
            && then > 0.0
        {
            let realised = (close / then).ln();
            out.writes.push(WriteOp::Outcome(OutcomeRow {
                model_version: active.version.clone(),
                symbol,
                interval,
                open_time_ms: then_ms,
                realised_return: realised,
                outcome: crate::model::labels::class_of(realised, active.theta),
            }));
        }
        if predict && track.rows.len() == window {
            self.predict(symbol, candle.open_time_ms, now_ms, out);
        }
    }

    fn predict(&mut self, symbol: Symbol, open_time_ms: i64, now_ms: i64, out: &mut Output) {
        let over = ThresholdOverride::from_config(&self.config);
        let Some(active) = &mut self.active else {
            return;
        };
        let Some(track) = self.tracks.get(&symbol) else {
            return;
        };
        let rows: Vec<&[f64]> = track.rows.iter().map(|r| r.as_slice()).collect();
        let last = rows.last().copied().unwrap_or(&[]);
        let mut attribution = None;
        let (verdict, fallback) = match &mut active.runner {
            Runner::Ensemble {
                ensemble,
                scratch,
                attribution: to_thread,
            } => {
                let mut input = Vec::new();
                let run = ensemble
                    .input(&rows, &mut input)
                    .and_then(|()| ensemble.predict_one(&input, scratch));
                match run {
                    Ok(verdict) => {
                        attribution = Some((to_thread.clone(), input, verdict.class));
                        (verdict, false)
                    }
                    Err(e) if !ensemble.has_fallback() => {
                        let reason = format!(
                            "{}: {e}; it has no logistic baseline to fall back to, so no signals",
                            active.version
                        );
                        if self.view.fallback.as_deref() != Some(reason.as_str()) {
                            tracing::error!("model failed: {reason}");
                            self.view.fallback = Some(reason);
                            out.models_changed = true;
                        }
                        return;
                    }
                    Err(e) => {
                        let reason = format!("{}: {e}", active.version);
                        if self.view.fallback.as_deref() != Some(reason.as_str()) {
                            tracing::error!("model failed, logistic fallback in use: {reason}");
                            self.view.fallback = Some(reason);
                            out.models_changed = true;
                        }
                        match ensemble
                            .fallback_probabilities(last)
                            .map(|p| fallback_verdict(p, ensemble.thresholds()))
                        {
                            Ok(v) => (v, true),
                            Err(e) => {
                                tracing::error!("the fallback failed too: {e}");
                                return;
                            }
                        }
                    }
                }
            }
            Runner::Fallback {
                params,
                weighting,
                names,
            } => {
                let mut normalised = vec![0.0; *names];
                let p = weighting
                    .normalizer
                    .apply(last, &weighting.indicators.weights, &mut normalised)
                    .and_then(|()| weighting.logistic.predict_proba(&normalised));
                match p {
                    Ok(p) => (
                        fallback_verdict(p, params.thresholds.overridden(over)),
                        true,
                    ),
                    Err(e) => {
                        tracing::error!("the fallback failed: {e}");
                        return;
                    }
                }
            }
        };
        let model_version = if fallback {
            format!("{} (logistic fallback)", active.version)
        } else {
            active.version.clone()
        };
        out.writes.push(WriteOp::Prediction(PredictionRow {
            model_version: model_version.clone(),
            symbol,
            interval: active.interval,
            open_time_ms,
            made_ms: now_ms,
            probabilities: verdict.probabilities,
            signal: verdict.signal.as_str(),
            confidence: verdict.confidence,
        }));
        let signal = SignalInfo {
            symbol,
            interval: active.interval,
            open_time_ms,
            made_ms: now_ms,
            model_version,
            probabilities: verdict.probabilities,
            confidence: verdict.confidence,
            votes: verdict.votes,
            signal: verdict.signal,
            drivers: Vec::new(),
            fallback,
        };
        if let Some((to_thread, input, class)) = attribution {
            let _ = to_thread.send(AttributionJob {
                signal: signal.clone(),
                input,
                class,
            });
        }
        out.signals.push(signal);
    }

    /// Signals whose drivers were computed since the last call (they replace the same signal
    /// without drivers).
    pub fn attributed(&mut self) -> Vec<SignalInfo> {
        self.attributed.try_iter().collect()
    }

    /// A model command from a view.
    pub fn on_command(&mut self, command: ModelCommand, state: &Snapshot, now_ms: i64) -> Output {
        let mut out = Output {
            models_changed: true,
            ..Output::default()
        };
        let message = match command {
            ModelCommand::Switch(id) => self.switch(id, state, now_ms),
            ModelCommand::Promote(id) => self
                .registry
                .as_mut()
                .ok_or_else(|| "no registry".to_string())
                .and_then(|r| r.promote(id).map_err(|e| e.to_string()))
                .map(|change| format!("{} is the champion", change.champion.version)),
            ModelCommand::Rollback => {
                let change = self
                    .registry
                    .as_mut()
                    .ok_or_else(|| "no registry".to_string())
                    .and_then(|r| r.rollback().map_err(|e| e.to_string()));
                change.and_then(|change| {
                    let id = change.champion.id;
                    self.switch(id, state, now_ms)
                        .map(|_| format!("rolled back to {}", change.champion.version))
                })
            }
            ModelCommand::Retrain(symbol, interval) => self.retrain(symbol, interval, now_ms),
        };
        self.view.last_training = Some(match message {
            Ok(text) => text,
            Err(text) => format!("refused: {text}"),
        });
        self.refresh_list();
        let initial = self.take_initial();
        out.signals = initial.signals;
        out.writes = initial.writes;
        out
    }

    fn switch(&mut self, id: i64, state: &Snapshot, now_ms: i64) -> Result<String, String> {
        let registry = self
            .registry
            .as_ref()
            .ok_or_else(|| "no registry".to_string())?;
        let record = registry.get_by_id(id).map_err(|e| e.to_string())?;
        let previous = self.active.as_ref().map(|a| a.id);
        self.activate(&record, state, now_ms);
        let detail = match &self.view.fallback {
            Some(reason) => format!("switched to {}; it cannot run: {reason}", record.version),
            None => format!("switched to {}", record.version),
        };
        let audited = match self.registry.as_mut() {
            Some(registry) => {
                registry.record_event(LiveEventKind::Switch, Some(id), previous, &detail)
            }
            None => return Ok(detail),
        };
        if let Err(e) = audited {
            tracing::warn!("switch not audited: {e}");
        }
        Ok(detail)
    }
}

/// The model commands a view can send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelCommand {
    Switch(i64),
    Promote(i64),
    Rollback,
    Retrain(Symbol, Interval),
}

fn fallback_verdict(p: [f64; 3], thresholds: Thresholds) -> Verdict {
    signal::combine(&[p.map(|v| v as f32)], &[1.0], thresholds)
}

fn scores(m: &crate::model::metrics::Metrics) -> Scores {
    Scores {
        accuracy: m.accuracy,
        macro_f1: m.macro_f1,
        log_loss: m.log_loss,
        brier: m.brier,
    }
}

/// A registry row as the Models pane lists it, with the thresholds its signals are judged by
/// under the config's explicit numbers `over`.
pub fn summary(record: &ModelRecord, over: ThresholdOverride) -> ModelSummary {
    let report = serde_json::from_value::<TrainingReport>(record.metrics.clone()).ok();
    let data = match (record.symbol, record.interval) {
        (Some(s), Some(i)) => format!("{} {i}", s.as_str()),
        _ => "-".to_string(),
    };
    ModelSummary {
        id: record.id,
        version: record.version.clone(),
        created_ms: record.created_ms,
        origin: record.origin.to_string(),
        trained_on: record.trained_on.to_string(),
        role: record.role.to_string(),
        members: report.as_ref().map_or(1, |r| r.members.len() as u32),
        data,
        test: report.map(|r| TestScores {
            samples: r.samples_test as u64,
            model: scores(&r.test.model),
            logistic: scores(&r.test.logistic),
            majority: scores(&r.test.majority),
        }),
        thresholds: serde_json::from_value::<EnsembleParams>(record.params.clone())
            .ok()
            .map(|params| {
                let (t, source) = calibrate::effective(&params, over);
                SignalThresholds {
                    buy: t.buy,
                    sell: t.sell,
                    source,
                }
            }),
    }
}
