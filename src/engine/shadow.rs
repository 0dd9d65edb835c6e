//! Champion and challengers in shadow. Every challenger in the registry (the newest
//! `model.max_challengers`, by when each became a challenger) runs through the signal pipeline on every closed candle of every
//! symbol at its interval, beside the active model. Its predictions and outcomes are stored with
//! the role `shadow`; they are never a signal: this component puts nothing in
//! [`Effects::signals`], so no other component (monitor, alerts, paper orders) can see them.
//!
//! Once an outcome is known, the challenger's prediction is paired with the active model's for
//! the same candle (taken from the active model's signals) and both are scored against the
//! active model's target (its horizon and flat band). The evidence ([`crate::monitor::compare`])
//! is published as [`Update::Shadow`] every few candles. A change in the registry (a challenger
//! added or retired, from the CLI or another process) takes effect at the next closed candle:
//! the audit log's newest entry is checked then.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;

use super::component::{Component, Effects};
use super::monitor::model_of;
use crate::domain::{Candle, Interval, Symbol};
use crate::model::labels::class_of;
use crate::model::pipeline::{Prediction, SignalPipeline, Track};
use crate::model::registry::{EventKind, ModelRecord, Registry, Role};
use crate::model::signal::ThresholdOverride;
use crate::monitor::compare::{Evidence, Paired, PairedOutcome};
use crate::monitor::spec::ModelSpec;
use crate::protocol::{ChallengerView, PairedEvidence, ShadowView, SignalInfo, Update};
use crate::store::PredictionRow;
use crate::store::writer::WriteOp;

/// Closed candles of a symbol between two publications of the evidence.
const PUBLISH_EVERY: u32 = 10;

/// The active model's side of the pairs.
struct Target {
    version: String,
    interval: Interval,
    horizon: usize,
    theta: f64,
}

/// One challenger and its paired streams.
struct Challenger {
    id: i64,
    version: String,
    /// `None` with `not_scored` when it cannot run or forecasts another target.
    pipeline: Option<SignalPipeline>,
    not_scored: Option<String>,
    tracks: HashMap<Symbol, Track>,
    /// Its predictions waiting for their outcome, per symbol: (open time, probabilities).
    pending: HashMap<Symbol, VecDeque<(i64, [f64; 3])>>,
    paired: HashMap<Symbol, Paired>,
}

/// Stored candles a challenger's new series state is warmed up with (the engine keeps about as
/// many for the active model), so that its features match the active model's.
const WARM_UP: usize = 1_000;

/// The shadow-scoring component.
pub struct ShadowComponent {
    /// Counts and times the challengers' predictions, when metrics are kept.
    metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
    db: Option<PathBuf>,
    registry: Option<Registry>,
    max: usize,
    over: ThresholdOverride,
    /// The newest audit-log entry seen: a new one means the challengers may have changed.
    seen_event: Option<i64>,
    target: Option<Target>,
    challengers: Vec<Challenger>,
    over_limit: usize,
    /// The active model's recent predictions per symbol: (open time, probabilities).
    active: HashMap<Symbol, VecDeque<(i64, [f64; 3])>>,
    since_publish: HashMap<Symbol, u32>,
}

fn evidence_view(e: &Evidence) -> PairedEvidence {
    PairedEvidence {
        n: e.n,
        mean_log_loss_diff: e.mean_log_loss_diff,
        confidence_sequence: [e.confidence_sequence.0, e.confidence_sequence.1],
        dm_stat: e.dm.stat,
        dm_p: e.dm.p,
        only_active_right: e.mcnemar.b,
        only_challenger_right: e.mcnemar.c,
        mcnemar_p: e.mcnemar.p,
        accuracy_active: e.accuracy_a,
        accuracy_challenger: e.accuracy_b,
        brier_active: e.brier_a,
        brier_challenger: e.brier_b,
        ece_active: e.ece_a,
        ece_challenger: e.ece_b,
        needed: e.needed,
        verdict: e.verdict.text("champion", "challenger"),
    }
}

impl ShadowComponent {
    /// Shadow scoring on the database `db` (none: nothing to score), at most `max` challengers.
    /// It reads the registry on a connection of its own; it writes only through `owner`, the
    /// store's one owner (its rows go out as effects).
    pub fn start(
        db: Option<PathBuf>,
        owner: crate::store::writer::WriteSender,
        max: usize,
        over: ThresholdOverride,
    ) -> Self {
        let registry = db
            .as_ref()
            .and_then(|db| match Registry::attach(db, owner) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!("shadow scoring: registry unavailable: {e}");
                    None
                }
            });
        Self {
            metrics: None,
            db,
            registry,
            max,
            over,
            seen_event: None,
            target: None,
            challengers: Vec::new(),
            over_limit: 0,
            active: HashMap::new(),
            since_publish: HashMap::new(),
        }
    }

    /// The challengers to score now, newest first, and how many more are registered.
    fn wanted(&self) -> (Vec<ModelRecord>, usize) {
        let Some(registry) = &self.registry else {
            return (Vec::new(), 0);
        };
        let mut records: Vec<ModelRecord> = match registry.list() {
            Ok(list) => list
                .into_iter()
                .filter(|r| r.role == Role::Challenger)
                .collect(),
            Err(e) => {
                tracing::warn!("shadow scoring: cannot list models: {e}");
                return (Vec::new(), 0);
            }
        };
        // Newest challenger first: by when it became one (registered, or put back in shadow
        // scoring: a champion replaced by evidence goes back in, and must be scored).
        let mut since: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
        if let Ok(events) = registry.events(None) {
            for e in events
                .iter()
                .filter(|e| matches!(e.kind, EventKind::Register | EventKind::Challenge))
            {
                if let Some(id) = e.model_id {
                    since.insert(id, e.id);
                }
            }
        }
        let became = |r: &ModelRecord| since.get(&r.id).copied().unwrap_or(0);
        records.sort_by(|a, b| became(b).cmp(&became(a)).then(b.id.cmp(&a.id)));
        let over = records.len().saturating_sub(self.max);
        records.truncate(self.max);
        (records, over)
    }

    /// Re-reads the challengers when the audit log moved on; keeps the running ones' state.
    fn follow_registry(&mut self, out: &mut Effects) {
        let Some(last) = self.registry.as_ref().and_then(|r| r.last_event_id().ok()) else {
            return;
        };
        if self.seen_event == Some(last) {
            return;
        }
        self.seen_event = Some(last);
        let (wanted, over_limit) = self.wanted();
        let mut kept: Vec<Challenger> = Vec::with_capacity(wanted.len());
        for record in wanted {
            if let Some(i) = self.challengers.iter().position(|c| c.id == record.id) {
                kept.push(self.challengers.swap_remove(i));
            } else {
                kept.push(self.load(&record));
            }
        }
        for gone in &self.challengers {
            tracing::info!("shadow scoring: {} no longer scored", gone.version);
        }
        self.challengers = kept;
        self.over_limit = over_limit;
        out.updates.push(Update::Shadow(Box::new(self.view())));
    }

    fn load(&self, record: &ModelRecord) -> Challenger {
        let mut challenger = Challenger {
            id: record.id,
            version: record.version.clone(),
            pipeline: None,
            not_scored: None,
            tracks: HashMap::new(),
            pending: HashMap::new(),
            paired: HashMap::new(),
        };
        let Some(registry) = &self.registry else {
            return challenger;
        };
        let blob = registry.load_blob(record.id).map_err(|e| e.to_string());
        match SignalPipeline::load(record, blob, None, self.over) {
            Ok((pipeline, None)) => {
                tracing::info!("shadow scoring: {} joins", record.version);
                challenger.pipeline = Some(pipeline);
            }
            Ok((_, Some(reason))) | Err(reason) => {
                // A challenger on its fallback is not the model being judged.
                challenger.not_scored = Some(format!("cannot run: {reason}"));
            }
        }
        challenger.check_target(self.target.as_ref());
        challenger
    }

    /// The active model changed (its signals say so): pairs start over against it.
    fn retarget(&mut self, version: &str) {
        let spec = self
            .registry
            .as_ref()
            .ok_or_else(|| "no registry".to_string())
            .and_then(|r| r.get(version).map_err(|e| e.to_string()))
            .and_then(|record| ModelSpec::of(&record));
        self.target = match spec {
            Ok(spec) => Some(Target {
                version: version.to_string(),
                interval: spec.interval,
                horizon: spec.horizon,
                theta: spec.theta,
            }),
            Err(e) => {
                tracing::warn!("shadow scoring: the active model {version} cannot be paired: {e}");
                None
            }
        };
        self.active.clear();
        for c in &mut self.challengers {
            c.paired.clear();
            c.pending.clear();
            c.check_target(self.target.as_ref());
        }
    }

    /// What the Models pane shows.
    pub fn view(&self) -> ShadowView {
        ShadowView {
            against: self.target.as_ref().map(|t| t.version.clone()),
            challengers: self
                .challengers
                .iter()
                .map(|c| {
                    let mut symbols: Vec<(Symbol, &Paired)> =
                        c.paired.iter().map(|(s, p)| (*s, p)).collect();
                    symbols.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
                    let parts: Vec<&Paired> = symbols.iter().map(|(_, p)| *p).collect();
                    let each: Vec<(Symbol, PairedEvidence)> = symbols
                        .iter()
                        .map(|(s, p)| (*s, evidence_view(&p.evidence())))
                        .collect();
                    let pooled = match each.as_slice() {
                        [] => PairedEvidence {
                            verdict: "no paired candles yet".into(),
                            ..PairedEvidence::default()
                        },
                        // One symbol: pooled is that symbol's.
                        [(_, one)] => one.clone(),
                        _ => evidence_view(&Paired::pooled(&parts)),
                    };
                    ChallengerView {
                        id: c.id,
                        version: c.version.clone(),
                        not_scored: c.not_scored.clone(),
                        pooled,
                        symbols: each,
                    }
                })
                .collect(),
            over_limit: self.over_limit,
        }
    }

    /// Counts and times the challengers' predictions in `metrics`.
    pub fn with_metrics(
        mut self,
        metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
    ) -> Self {
        self.metrics = metrics;
        self
    }

    /// One closed candle of `symbol`: every challenger takes it; the last of a batch is
    /// predicted on (as the active model does).
    fn take(
        &mut self,
        symbol: Symbol,
        interval: Interval,
        candle: &Candle,
        predict: bool,
        now_ms: i64,
        out: &mut Effects,
    ) {
        let target = self.target.as_ref();
        let active = self.active.get(&symbol);
        let db = self.db.as_deref();
        let metrics = self.metrics.as_ref();
        for c in &mut self.challengers {
            let Some(pipeline) = c.pipeline.as_mut() else {
                continue;
            };
            if c.not_scored.is_some() || interval != candle_interval(target, pipeline) {
                continue;
            }
            let track = c
                .tracks
                .entry(symbol)
                .or_insert_with(|| warmed(pipeline, db, symbol, candle.open_time_ms));
            let Some(outcome) = pipeline.push(track, candle) else {
                continue;
            };
            if let Some(outcome) = outcome {
                out.writes
                    .push(WriteOp::Outcome(pipeline.outcome_row(symbol, &outcome)));
                let pending = c.pending.entry(symbol).or_default();
                while pending
                    .front()
                    .is_some_and(|(t, _)| *t < outcome.open_time_ms)
                {
                    pending.pop_front();
                }
                if let Some(target) = target
                    && pending
                        .front()
                        .is_some_and(|(t, _)| *t == outcome.open_time_ms)
                    && let Some((_, mine)) = pending.pop_front()
                    && let Some(&(_, theirs)) =
                        active.and_then(|a| a.iter().find(|(t, _)| *t == outcome.open_time_ms))
                {
                    c.paired
                        .entry(symbol)
                        .or_insert_with(|| Paired::new(target.horizon))
                        .push(&PairedOutcome {
                            time_ms: outcome.open_time_ms,
                            probs_a: theirs,
                            probs_b: mine,
                            label: class_of(outcome.realised_return, target.theta),
                        });
                }
            }
            if !(predict && pipeline.ready(track)) {
                continue;
            }
            let started = std::time::Instant::now();
            let predicted = pipeline.predict(track);
            if let Some(m) = metrics {
                m.model
                    .inference_duration
                    .get_or_create(&crate::metrics::RoleLabels { role: "shadow" })
                    .observe(started.elapsed().as_secs_f64());
            }
            let Prediction::Signal {
                verdict,
                fallback: None,
                ..
            } = predicted
            else {
                // Its ensemble failed on this window: no shadow prediction (never a fallback's).
                continue;
            };
            out.writes.push(WriteOp::Prediction(PredictionRow {
                model_version: pipeline.version.clone(),
                symbol,
                interval: pipeline.interval,
                open_time_ms: candle.open_time_ms,
                made_ms: now_ms,
                probabilities: verdict.probabilities,
                signal: verdict.signal.as_str(),
                confidence: verdict.confidence,
                shadow: true,
            }));
            if let Some(m) = metrics {
                m.model
                    .predictions
                    .get_or_create(&crate::metrics::PredictionLabels {
                        role: "shadow",
                        symbol: symbol.to_string(),
                    })
                    .inc();
            }
            let pending = c.pending.entry(symbol).or_default();
            pending.push_back((candle.open_time_ms, verdict.probabilities));
            while pending.len() > pipeline.horizon + 2 {
                pending.pop_front();
            }
        }
    }
}

/// The interval a challenger takes candles of: the active model's when it is paired with one
/// (a challenger of another interval is not scored), else its own.
fn candle_interval(target: Option<&Target>, pipeline: &SignalPipeline) -> Interval {
    target.map_or(pipeline.interval, |t| t.interval)
}

/// A new series state for `pipeline`, warmed up with the stored candles before `before_ms`.
fn warmed(
    pipeline: &SignalPipeline,
    db: Option<&std::path::Path>,
    symbol: Symbol,
    before_ms: i64,
) -> Track {
    let mut track = pipeline.track();
    let stored = db
        .and_then(|db| crate::store::Store::open_reader(db).ok())
        .and_then(|s| {
            s.recent_candles_before(symbol, pipeline.interval, before_ms, WARM_UP)
                .ok()
        })
        .unwrap_or_default();
    for candle in &stored {
        let _ = pipeline.push(&mut track, candle);
    }
    track
}

impl Challenger {
    /// Whether it forecasts the target's series and horizon; says why not in `not_scored`.
    fn check_target(&mut self, target: Option<&Target>) {
        let (Some(pipeline), Some(target)) = (&self.pipeline, target) else {
            return;
        };
        self.not_scored = if pipeline.interval != target.interval {
            Some(format!(
                "runs on {} candles, the active model on {}",
                pipeline.interval, target.interval
            ))
        } else if pipeline.horizon != target.horizon {
            Some(format!(
                "forecasts {} candles ahead, the active model {}",
                pipeline.horizon, target.horizon
            ))
        } else {
            None
        };
    }
}

impl Component for ShadowComponent {
    fn name(&self) -> &'static str {
        "shadow"
    }

    fn on_closed(
        &mut self,
        symbol: Symbol,
        interval: Interval,
        candles: &[Candle],
        now_ms: i64,
        out: &mut Effects,
    ) {
        self.follow_registry(out);
        for (k, candle) in candles.iter().enumerate() {
            self.take(
                symbol,
                interval,
                candle,
                k + 1 == candles.len(),
                now_ms,
                out,
            );
        }
        if self.challengers.is_empty()
            || self.target.as_ref().is_none_or(|t| t.interval != interval)
        {
            return;
        }
        let due = self.since_publish.entry(symbol).or_insert(0);
        *due += 1;
        if *due >= PUBLISH_EVERY {
            *due = 0;
            out.updates.push(Update::Shadow(Box::new(self.view())));
        }
    }

    fn on_signal(&mut self, signal: &SignalInfo, _now_ms: i64, out: &mut Effects) {
        let version = model_of(signal);
        if self.target.as_ref().map(|t| t.version.as_str()) != Some(version) {
            self.retarget(version);
            out.updates.push(Update::Shadow(Box::new(self.view())));
        }
        let Some(target) = &self.target else {
            return;
        };
        if signal.interval != target.interval {
            return;
        }
        let kept = self.active.entry(signal.symbol).or_default();
        // A signal sent again with its drivers is the same prediction.
        if kept.back().is_some_and(|(t, _)| *t >= signal.open_time_ms) {
            return;
        }
        kept.push_back((signal.open_time_ms, signal.probabilities));
        while kept.len() > target.horizon + 2 {
            kept.pop_front();
        }
    }
}

#[cfg(test)]
#[path = "shadow_tests.rs"]
mod tests;
