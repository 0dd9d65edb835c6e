//! The engine's model component: the active model's signal pipeline run on every closed candle
//! of every symbol at the model's interval, predictions and their realised outcomes sent to the
//! store, model switches / promotions / rollbacks from the console (audited in the registry),
//! and the Models view. Its jobs — training (`training.rs`) and signals' drivers
//! (`attribution.rs`) — run on threads of their own and report back as [`JobEvent`]s.

mod attribution;
mod commands;
mod registry_watch;
mod retraining;
mod training;
mod view;

use std::collections::HashMap;
use std::path::PathBuf;

use super::component::{Component, Effects};
use super::jobs::{JobEvent, JobSender, detached};
use crate::config::ModelConfig;
use crate::domain::{Candle, Interval, Symbol};
use crate::model::pipeline::{Prediction, SignalPipeline, Track};
use crate::model::registry::{LiveEventKind, ModelRecord, Registry, RegistryError};
use crate::model::signal::ThresholdOverride;
use crate::protocol::{ModelsView, SignalInfo, Snapshot, TrainingProgress, Update};
use crate::store::PredictionRow;
use crate::store::writer::{WriteOp, WriteSender};
use attribution::{Attribution, AttributionJob, spawn_attribution};
use training::Job;
pub(super) use training::JobMessage as TrainingMessage;
pub use view::summary;

/// The running model: its pipeline, and the attribution thread when the ensemble runs.
struct Active {
    pipeline: SignalPipeline,
    attribution: Option<Attribution>,
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
    /// Where jobs (training, attribution) report.
    jobs: JobSender,
    /// What it last saw of the registry (see `registry_watch`).
    seen: registry_watch::RegistrySeen,
    /// Retraining triggers and promotion by evidence (see `retraining`).
    retraining: retraining::Retraining,
    /// What other components published that it acts on, until the engine hands it the state.
    heard: Vec<retraining::Heard>,
    /// The engine's time at the last call that said it (for job reports, which do not).
    now_ms: i64,
    /// Where each prediction is counted and its time goes, when metrics are kept.
    inference: Option<std::sync::Arc<crate::metrics::Metrics>>,
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

impl Output {
    /// Adds what `other` produced.
    pub fn merge(&mut self, other: Output) {
        self.signals.extend(other.signals);
        self.writes.extend(other.writes);
        self.models_changed |= other.models_changed;
        if other.training.is_some() {
            self.training = other.training;
        }
    }

    /// As a component's effects: the updates to publish and the rows to store.
    pub fn into_effects(self, view: &ModelsView, out: &mut Effects) {
        out.writes.extend(self.writes);
        out.signals.extend(self.signals);
        if self.models_changed {
            out.updates.push(Update::Models(Box::new(view.clone())));
        }
        if let Some(training) = self.training {
            out.updates.push(Update::Training(training.map(Box::new)));
        }
    }
}

impl ModelRunner {
    /// Opens the registry (when there is a database) with an owner of its own, and loads the
    /// champion; see [`ModelRunner::start_attached`]. With `demo` (the data is simulated) an
    /// empty registry first gets the bundled demo model as champion. Jobs' results go nowhere:
    /// for a runner driven by hand.
    pub fn start(
        db: Option<PathBuf>,
        config: ModelConfig,
        demo: bool,
        state: &Snapshot,
        now_ms: i64,
    ) -> Self {
        let registry = db.as_deref().map(Registry::open);
        Self::start_with(db, registry, config, demo, state, now_ms, detached(), None)
    }

    /// Like [`ModelRunner::start`], for the engine: the registry reads on one connection opened
    /// here, once, every change goes to the engine's store owner `owner`, and jobs report to
    /// `jobs` (an arm of the engine's `select!`); every prediction's time goes to `inference`
    /// when metrics are kept (those made while loading too).
    #[allow(clippy::too_many_arguments)]
    pub fn start_attached(
        db: Option<PathBuf>,
        owner: WriteSender,
        config: ModelConfig,
        demo: bool,
        state: &Snapshot,
        now_ms: i64,
        jobs: JobSender,
        inference: Option<std::sync::Arc<crate::metrics::Metrics>>,
    ) -> Self {
        let registry = db.as_deref().map(|db| Registry::attach(db, owner));
        Self::start_with(db, registry, config, demo, state, now_ms, jobs, inference)
    }

    #[allow(clippy::too_many_arguments)]
    fn start_with(
        db: Option<PathBuf>,
        registry: Option<Result<Registry, RegistryError>>,
        config: ModelConfig,
        demo: bool,
        state: &Snapshot,
        now_ms: i64,
        jobs: JobSender,
        inference: Option<std::sync::Arc<crate::metrics::Metrics>>,
    ) -> Self {
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
            inference,
            registry,
            config,
            active: None,
            tracks: HashMap::new(),
            job: None,
            initial: Output::default(),
            jobs,
            seen: Default::default(),
            retraining: retraining::Retraining::new(
                crate::config::RetrainConfig::default(),
                now_ms,
            ),
            heard: Vec::new(),
            now_ms,
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
        runner.note_registry();
        runner
    }

    /// Writes a `fallback` row to the registry's audit log (`model_events`): the model `id`
    /// runs on its logistic fallback because of `reason`. Said once per reason, as the view is.
    fn audit_fallback(registry: &mut Option<Registry>, id: i64, version: &str, reason: &str) {
        let Some(registry) = registry.as_mut() else {
            return;
        };
        let detail = format!("{version} runs on its logistic fallback: {reason}");
        if let Err(e) = registry.record_event(LiveEventKind::Fallback, Some(id), None, &detail) {
            tracing::warn!("fallback not audited: {e}");
        }
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

    /// Makes `record` the running model through the signal pipeline, which falls back to its
    /// logistic baseline when the ensemble cannot be loaded. A member imported from PyTorch has
    /// no interval of its own: it runs at the console's main interval (the first streamed), and
    /// has no fallback.
    fn activate(&mut self, record: &ModelRecord, state: &Snapshot, now_ms: i64) {
        let blob = self
            .registry
            .as_ref()
            .ok_or_else(|| "no registry".to_string())
            .and_then(|r| r.load_blob(record.id).map_err(|e| e.to_string()));
        let over = ThresholdOverride::from_config(&self.config);
        let pipeline =
            match SignalPipeline::load(record, blob, state.intervals.first().copied(), over) {
                Ok((pipeline, fallback)) => {
                    if let Some(reason) = &fallback {
                        tracing::error!("model {} cannot run: {reason}", record.version);
                        Self::audit_fallback(
                            &mut self.registry,
                            record.id,
                            &record.version,
                            reason,
                        );
                    }
                    self.view.fallback = fallback;
                    pipeline
                }
                Err(reason) => {
                    tracing::error!("model {} cannot run: {reason}", record.version);
                    self.view.fallback = Some(reason);
                    self.active = None;
                    self.view.active = None;
                    self.view.active_interval = None;
                    self.view.weights.clear();
                    return;
                }
            };
        let weights = pipeline.indicator_weights();
        self.view.weights = (0..weights.names.len())
            .map(|j| crate::protocol::FeatureWeight {
                name: weights.names[j].clone(),
                weight: weights.weights[j],
                importance: weights.importance.get(j).copied().unwrap_or(0.0),
                penalty: weights.penalty.get(j).copied().unwrap_or(0.0),
                rank_ic: weights.rank_ic.get(j).copied().unwrap_or(0.0),
            })
            .collect();
        let attribution = pipeline
            .ensemble()
            .map(|ensemble| spawn_attribution(ensemble.clone(), self.jobs.clone()));
        self.view.active = Some(record.id);
        self.view.active_interval = Some(pipeline.interval);
        self.active = Some(Active {
            pipeline,
            attribution,
        });
        self.warm_up(state, now_ms);
    }

    /// Feeds every symbol's stored candles at the model's interval, so signals start at once:
    /// the newest stored candle of each symbol gets one (kept for [`Self::take_initial`]).
    fn warm_up(&mut self, state: &Snapshot, now_ms: i64) {
        self.tracks.clear();
        let Some(interval) = self.active.as_ref().map(|a| a.pipeline.interval) else {
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
        if self
            .active
            .as_ref()
            .is_some_and(|a| a.pipeline.interval == interval)
        {
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
        if self
            .active
            .as_ref()
            .is_some_and(|a| a.pipeline.interval == interval)
        {
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
        let Some(active) = &mut self.active else {
            return;
        };
        let pipeline = &mut active.pipeline;
        let track = self
            .tracks
            .entry(symbol)
            .or_insert_with(|| pipeline.track());
        // A refused or out-of-order candle changes nothing (the feed counted it already).
        let Some(outcome) = pipeline.push(track, candle) else {
            return;
        };
        // The prediction made `horizon` candles ago now has its outcome.
        if let Some(outcome) = outcome {
            out.writes
                .push(WriteOp::Outcome(pipeline.outcome_row(symbol, &outcome)));
        }
        if !(predict && pipeline.ready(track)) {
            return;
        }
        let open_time_ms = candle.open_time_ms;
        let started = std::time::Instant::now();
        let predicted = pipeline.predict(track);
        if let Some(m) = &self.inference {
            m.model
                .inference_duration
                .get_or_create(&crate::metrics::RoleLabels { role: "active" })
                .observe(started.elapsed().as_secs_f64());
        }
        let (verdict, fallback, input) = match predicted {
            Prediction::Signal {
                verdict,
                fallback,
                input,
            } => (verdict, fallback, input),
            Prediction::NoFallback { reason } => {
                if self.view.fallback.as_deref() != Some(reason.as_str()) {
                    tracing::error!("model failed: {reason}");
                    self.view.fallback = Some(reason);
                    out.models_changed = true;
                }
                return;
            }
            Prediction::FallbackFailed { reason } => {
                tracing::error!("{reason}");
                return;
            }
        };
        // A fallback of a loaded ensemble says why; one of a model that could not be loaded
        // was said at activation.
        if let (Some(reason), Some(_)) = (&fallback, pipeline.ensemble())
            && self.view.fallback.as_deref() != Some(reason.as_str())
        {
            tracing::error!("model failed, logistic fallback in use: {reason}");
            self.view.fallback = Some(reason.clone());
            out.models_changed = true;
            let (id, version) = (pipeline.id, pipeline.version.clone());
            Self::audit_fallback(&mut self.registry, id, &version, reason);
        }
        let model_version = if fallback.is_some() {
            format!("{} (logistic fallback)", pipeline.version)
        } else {
            pipeline.version.clone()
        };
        out.writes.push(WriteOp::Prediction(PredictionRow {
            model_version: model_version.clone(),
            symbol,
            interval: pipeline.interval,
            open_time_ms,
            made_ms: now_ms,
            probabilities: verdict.probabilities,
            signal: verdict.signal.as_str(),
            confidence: verdict.confidence,
            shadow: false,
        }));
        if let Some(m) = &self.inference {
            m.model
                .predictions
                .get_or_create(&crate::metrics::PredictionLabels {
                    role: "active",
                    symbol: symbol.to_string(),
                })
                .inc();
        }
        let signal = SignalInfo {
            symbol,
            interval: pipeline.interval,
            open_time_ms,
            made_ms: now_ms,
            model_version,
            probabilities: verdict.probabilities,
            confidence: verdict.confidence,
            votes: verdict.votes,
            signal: verdict.signal,
            drivers: Vec::new(),
            fallback: fallback.is_some(),
        };
        if let (Some(to_thread), Some((input, class))) = (&mut active.attribution, input) {
            to_thread.offer(AttributionJob {
                signal: signal.clone(),
                input,
                class,
            });
        }
        out.signals.push(signal);
    }

    /// A job's report: training progress or its end, or a signal's drivers.
    pub fn on_job(&mut self, event: JobEvent) -> Output {
        match event {
            JobEvent::Training(message) => self.on_training(message),
            JobEvent::Attributed(signal) => Output {
                signals: vec![*signal],
                ..Output::default()
            },
            _ => Output::default(),
        }
    }
}

/// The model component: closed candles (live and backfilled) in; signals, outcomes, the Models
/// view and training progress out.
impl Component for ModelRunner {
    fn name(&self) -> &'static str {
        "models"
    }

    fn on_closed(
        &mut self,
        symbol: Symbol,
        interval: Interval,
        candles: &[Candle],
        now_ms: i64,
        out: &mut Effects,
    ) {
        self.now_ms = now_ms;
        let produced = match candles {
            [one] => ModelRunner::on_closed(self, symbol, interval, one, now_ms),
            many => self.on_backfill(symbol, interval, many, now_ms),
        };
        produced.into_effects(&self.view, out);
    }

    fn on_update(&mut self, update: &Update, now_ms: i64, _out: &mut Effects) {
        self.now_ms = now_ms;
        if let Some(heard) = retraining::Heard::of(update) {
            self.heard.push(heard);
        }
    }

    fn on_tick(&mut self, now_ms: i64, _out: &mut Effects) {
        self.now_ms = now_ms;
    }

    fn on_job(&mut self, event: &mut Option<JobEvent>, out: &mut Effects) {
        if matches!(
            event,
            Some(JobEvent::Training(_)) | Some(JobEvent::Attributed(_))
        ) && let Some(event) = event.take()
        {
            let produced = ModelRunner::on_job(self, event);
            produced.into_effects(&self.view, out);
        }
    }

    fn stop(&mut self) {
        self.stop_training();
    }
}

/// The model commands a view can send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelCommand {
    Switch(i64),
    Promote(i64),
    Rollback,
    Retrain(Symbol, Interval),
    CancelTraining,
    /// Take a challenger out of shadow scoring.
    Retire(i64),
    /// Put a retired model back into shadow scoring.
    Challenge(i64),
}
