//! Retraining that proposes, never imposes, and promotion by evidence.
//!
//! Triggers (`[retrain]`, off by default): the schedule (checked on the engine's tick), the
//! monitor's dataset drift in `drift_evaluations` evaluations in a row, and a performance detector
//! firing (both read from the monitor's published figures). A trigger the guards allow trains on
//! the series' stored candles with the active model's own settings, as the console's `t` does:
//! in the background, with progress in the Models pane, cancellable, and registered as a
//! **challenger**. Every trigger, skip and result is written to the registry's audit log.
//!
//! Promotion reads the challengers' evidence in shadow (`Update::Shadow`): in `auto` mode a
//! challenger whose confidence sequence clears `min_improvement` after `min_paired` candles, and
//! is not significantly less accurate, becomes champion; the champion it replaced goes back into
//! shadow scoring, and is champion again if the evidence later shows the new one worse. In
//! `manual` mode the same verdict is shown and the trader decides (`p`). Every move is audited
//! with its statistics.

use std::collections::{HashMap, HashSet};

use super::{ModelRunner, Output};
use crate::config::{PromoteMode, RetrainConfig};
use crate::domain::{Interval, Symbol};
use crate::model::ensemble::EnsembleParams;
use crate::model::registry::{LiveEventKind, Role};
use crate::model::train::TrainSpec;
use crate::monitor::promotion::{PairedSummary, Promotion, decide_promotion, decide_rollback};
use crate::monitor::retrain::{Cause, Decision, RetrainPolicy, SeriesKey};
use crate::protocol::{ChallengerView, ShadowView, Snapshot, SymbolMonitor};

/// The runner's retraining and promotion state.
pub(super) struct Retraining {
    pub(super) config: RetrainConfig,
    policy: RetrainPolicy,
    /// The training job running now was started by a trigger: for what.
    pub(super) running: Option<(SeriesKey, Cause)>,
    /// Detector drifts seen per (symbol, interval, detector): a new one is a firing.
    fired: HashMap<(Symbol, Interval, String), u32>,
    /// After an automatic promotion: (the new champion's id, the one it replaced).
    promoted_over: Option<(i64, i64)>,
    /// Challengers the trader was asked about (manual mode), asked once each.
    asked: HashSet<i64>,
}

impl Retraining {
    pub(super) fn new(config: RetrainConfig, now_ms: i64) -> Self {
        Self {
            policy: RetrainPolicy::new(&config, now_ms),
            config,
            running: None,
            fired: HashMap::new(),
            promoted_over: None,
            asked: HashSet::new(),
        }
    }
}

/// What the runner keeps of a published update until the engine hands it the state.
pub(super) enum Heard {
    /// A monitor evaluation of a series: its model, dataset drift, and each detector's drifts.
    Monitor {
        model_id: i64,
        symbol: Symbol,
        interval: Interval,
        evaluated: bool,
        dataset_drift: bool,
        detectors: Vec<(String, u32)>,
    },
    Shadow(Box<ShadowView>),
}

impl Heard {
    pub(super) fn of(update: &crate::protocol::Update) -> Option<Self> {
        match update {
            crate::protocol::Update::MonitorSymbol(m) => Some(Self::of_monitor(m)),
            crate::protocol::Update::Shadow(view) => Some(Self::Shadow(view.clone())),
            _ => None,
        }
    }

    fn of_monitor(m: &SymbolMonitor) -> Self {
        Self::Monitor {
            model_id: m.model_id,
            symbol: m.symbol,
            interval: m.interval,
            evaluated: m.as_of_ms.is_some(),
            dataset_drift: m.dataset_drift,
            detectors: m
                .detectors
                .iter()
                .map(|d| (d.name.clone(), d.fired))
                .collect(),
        }
    }
}

/// The evidence of `c` as the promotion rule reads it: positive means the challenger is better.
fn summary(c: &ChallengerView) -> PairedSummary {
    let e = &c.pooled;
    PairedSummary {
        paired: e.n,
        cs_lower: e.confidence_sequence[0],
        cs_upper: e.confidence_sequence[1],
        mcnemar_p: e.mcnemar_p,
        challenger_correct_only: e.only_challenger_right,
        champion_correct_only: e.only_active_right,
    }
}

impl ModelRunner {
    /// Sets the `[retrain]` settings (the runner starts with them off), and restores the past
    /// retrains from the audit log ("retraining SYMBOL INTERVAL ...") so that the cooldown, the
    /// daily cap and the schedule hold across a restart.
    pub fn set_retrain(&mut self, config: RetrainConfig, now_ms: i64) {
        self.retraining = Retraining::new(config, now_ms);
        let Some(events) = self.registry.as_ref().and_then(|r| r.events(None).ok()) else {
            return;
        };
        let mut past: HashMap<SeriesKey, Vec<i64>> = HashMap::new();
        for e in events
            .iter()
            .filter(|e| e.kind == crate::model::registry::EventKind::Retrain)
        {
            let mut words = e.detail.split_whitespace();
            if words.next() != Some("retraining") {
                continue;
            }
            let (Some(Ok(symbol)), Some(Ok(interval))) = (
                words.next().map(str::parse::<Symbol>),
                words.next().map(str::parse::<Interval>),
            ) else {
                continue;
            };
            past.entry(SeriesKey { symbol, interval })
                .or_default()
                .push(e.time_ms);
        }
        for (series, times) in past {
            self.retraining.policy.restore(series, &times);
        }
    }

    /// Writes `detail` to the audit log as a retraining event of the active model.
    fn audit(
        &mut self,
        kind: LiveEventKind,
        model: Option<i64>,
        previous: Option<i64>,
        detail: &str,
    ) {
        tracing::info!("{detail}");
        // At the engine's time: the guards read these back after a restart.
        let now_ms = self.now_ms;
        if let Some(registry) = self.registry.as_mut()
            && let Err(e) = registry.record_event_at(kind, model, previous, detail, now_ms)
        {
            tracing::warn!("not audited ({e}): {detail}");
        }
    }

    fn active_id(&self) -> Option<i64> {
        self.active.as_ref().map(|a| a.pipeline.id)
    }

    /// What the runner heard from other components since the last call, acted on with the
    /// engine's state: retrain triggers from the monitor, promotions from the shadow evidence.
    pub fn follow_evidence(&mut self, state: &Snapshot, now_ms: i64) -> Output {
        self.now_ms = now_ms;
        let mut out = Output::default();
        for heard in std::mem::take(&mut self.heard) {
            let more = match heard {
                Heard::Monitor {
                    model_id,
                    symbol,
                    interval,
                    evaluated,
                    dataset_drift,
                    detectors,
                } => self.on_monitor(
                    model_id,
                    SeriesKey { symbol, interval },
                    evaluated,
                    dataset_drift,
                    &detectors,
                    now_ms,
                ),
                Heard::Shadow(view) => self.on_shadow(&view, state, now_ms),
            };
            out.merge(more);
        }
        out
    }

    /// The monitor's new figures for a series: dataset drift and detector firings.
    fn on_monitor(
        &mut self,
        model_id: i64,
        series: SeriesKey,
        evaluated: bool,
        dataset_drift: bool,
        detectors: &[(String, u32)],
        now_ms: i64,
    ) -> Output {
        let mut out = Output::default();
        if self.active_id() != Some(model_id) {
            return out;
        }
        let mut causes = Vec::new();
        if evaluated
            && let Some(cause) = self
                .retraining
                .policy
                .on_drift_evaluation(&series, dataset_drift)
        {
            causes.push(cause);
        }
        for (name, fired) in detectors {
            let key = (series.symbol, series.interval, name.clone());
            let before = self.retraining.fired.insert(key, *fired).unwrap_or(0);
            if *fired > before
                && let Some(cause) = self.retraining.policy.on_detector_drift(name)
            {
                causes.push(cause);
            }
        }
        for cause in causes {
            self.trigger(series, cause, now_ms, &mut out);
        }
        out
    }

    /// The engine's tick: the schedule.
    pub fn on_schedule(&mut self, state: &Snapshot, now_ms: i64) -> Output {
        self.now_ms = now_ms;
        let mut out = Output::default();
        let Some(interval) = self.active.as_ref().map(|a| a.pipeline.interval) else {
            return out;
        };
        let series: Vec<SeriesKey> = state
            .markets
            .iter()
            .map(|m| SeriesKey {
                symbol: m.symbol,
                interval,
            })
            .collect();
        for (series, cause) in self.retraining.policy.due(&series, now_ms) {
            self.trigger(series, cause, now_ms, &mut out);
        }
        out
    }

    /// A trigger: the guards decide; a retrain starts, or the skip is audited.
    fn trigger(&mut self, series: SeriesKey, cause: Cause, now_ms: i64, out: &mut Output) {
        let rows = self
            .db
            .as_deref()
            .and_then(|db| crate::store::Store::open_reader(db).ok())
            .and_then(|s| s.count_candles(series.symbol, series.interval).ok())
            .unwrap_or(0) as usize;
        let busy = self.job.is_some();
        let decision = self
            .retraining
            .policy
            .decide(&series, cause, now_ms, rows, busy);
        let active = self.active_id();
        match decision {
            Decision::Train(series, cause) => {
                let spec = self.active_spec();
                let started = spec.and_then(|spec| {
                    self.start_training(series.symbol, series.interval, spec, now_ms)
                });
                match started {
                    Ok(_) => {
                        let text = format!(
                            "retraining {series} ({}): a challenger will be registered, never a \
                             champion",
                            cause.text()
                        );
                        self.audit(LiveEventKind::Retrain, active, None, &text);
                        self.view.last_training = Some(text);
                        self.retraining.running = Some((series, cause));
                    }
                    Err(why) => {
                        self.retraining.policy.finished(&series, now_ms, false);
                        let text =
                            format!("retrain of {series} ({}) not started: {why}", cause.text());
                        self.audit(LiveEventKind::Retrain, active, None, &text);
                        self.view.last_training = Some(text);
                    }
                }
                out.models_changed = true;
            }
            skip @ Decision::Skip(..) => {
                let text = skip.text();
                self.audit(LiveEventKind::Retrain, active, None, &text);
            }
        }
    }

    /// The active model's own training settings (a retrain trains "the same model" on newer
    /// candles); the config's for a model that records none.
    fn active_spec(&self) -> Result<TrainSpec, String> {
        let Some(id) = self.active_id() else {
            return Err("no model is running".into());
        };
        let record = self
            .registry
            .as_ref()
            .ok_or_else(|| "no registry".to_string())?
            .get_by_id(id)
            .map_err(|e| e.to_string())?;
        match serde_json::from_value::<EnsembleParams>(record.params) {
            Ok(params) => TrainSpec::from_params(&params),
            Err(_) => Ok(TrainSpec::from_config(&self.config)),
        }
    }

    /// A training run ended: a trigger's is counted and audited with its result.
    pub(super) fn retrain_finished(&mut self, result: &Result<String, String>, now_ms: i64) {
        let Some((series, cause)) = self.retraining.running.take() else {
            return;
        };
        self.retraining
            .policy
            .finished(&series, now_ms, result.is_ok());
        let text = match result {
            Ok(what) => format!("retrain of {series} ({}): {what}", cause.text()),
            Err(why) => format!(
                "retrain of {series} ({}) ended without a model: {why}",
                cause.text()
            ),
        };
        let active = self.active_id();
        self.audit(LiveEventKind::Retrain, active, None, &text);
    }

    /// The challengers' evidence: promotions and rollbacks by evidence.
    fn on_shadow(&mut self, view: &ShadowView, state: &Snapshot, now_ms: i64) -> Output {
        let mut out = Output::default();
        let Some(active) = self
            .active
            .as_ref()
            .map(|a| (a.pipeline.id, a.pipeline.version.clone()))
        else {
            return out;
        };
        if view.against.as_deref() != Some(active.1.as_str()) {
            return out;
        }
        let champion = self
            .registry
            .as_ref()
            .and_then(|r| r.champion().ok().flatten())
            .map(|c| c.id);
        // Only the champion running live is promoted over or rolled back.
        if champion != Some(active.0) {
            return out;
        }
        let config = self.retraining.config;
        for c in view.challengers.iter().filter(|c| c.not_scored.is_none()) {
            // The champion this one replaced, back in shadow: is the new one worse?
            if self.retraining.promoted_over == Some((active.0, c.id)) {
                let s = summary(c);
                let new_vs_previous = PairedSummary {
                    paired: s.paired,
                    cs_lower: -s.cs_upper,
                    cs_upper: -s.cs_lower,
                    mcnemar_p: s.mcnemar_p,
                    challenger_correct_only: s.champion_correct_only,
                    champion_correct_only: s.challenger_correct_only,
                };
                if let Some(why) = decide_rollback(&config, &new_vs_previous) {
                    self.rollback_by_evidence(c.id, &why, state, now_ms, &mut out);
                    return out;
                }
                continue;
            }
            match decide_promotion(&config, &summary(c)) {
                Promotion::Promote { why } if config.promote == PromoteMode::Auto => {
                    self.promote_by_evidence(c.id, active.0, &why, state, now_ms, &mut out);
                    return out;
                }
                Promotion::Promote { why } | Promotion::Ask { why } => {
                    if self.retraining.asked.insert(c.id) {
                        let text = format!(
                            "evidence: {} is better than the champion ({why}); select it and \
                             press p to promote",
                            c.version
                        );
                        tracing::info!("{text}");
                        self.view.last_training = Some(text);
                        out.models_changed = true;
                    }
                }
                Promotion::Wait { .. } | Promotion::Keep { .. } => {}
            }
        }
        out
    }

    fn promote_by_evidence(
        &mut self,
        id: i64,
        previous: i64,
        why: &str,
        state: &Snapshot,
        now_ms: i64,
        out: &mut Output,
    ) {
        let Some(registry) = self.registry.as_mut() else {
            return;
        };
        let change = match registry.promote(id) {
            Ok(change) => change,
            Err(e) => {
                tracing::warn!("promotion by evidence refused: {e}");
                return;
            }
        };
        // The champion it replaced keeps running in shadow, for the rollback check.
        if let Err(e) = registry.challenge(previous) {
            tracing::warn!("the replaced champion cannot go back into shadow: {e}");
        }
        let text = format!(
            "promoted {} by evidence over the champion it replaced: {why}",
            change.champion.version
        );
        self.audit(LiveEventKind::Evidence, Some(id), Some(previous), &text);
        self.retraining.promoted_over = Some((id, previous));
        self.activate(&change.champion, state, now_ms);
        self.after_move(text, out);
    }

    fn rollback_by_evidence(
        &mut self,
        previous: i64,
        why: &str,
        state: &Snapshot,
        now_ms: i64,
        out: &mut Output,
    ) {
        let Some(registry) = self.registry.as_mut() else {
            return;
        };
        let change = match registry.rollback() {
            Ok(change) => change,
            Err(e) => {
                tracing::warn!("rollback by evidence refused: {e}");
                return;
            }
        };
        if change.champion.id != previous {
            tracing::warn!(
                "rolled back to {}, not the champion replaced by evidence",
                change.champion.version
            );
        }
        let text = format!(
            "rolled back to {} by evidence: {why}",
            change.champion.version
        );
        let demoted = change.previous.as_ref().map(|p| p.id);
        self.audit(
            LiveEventKind::Evidence,
            Some(change.champion.id),
            demoted,
            &text,
        );
        self.retraining.promoted_over = None;
        self.activate(&change.champion, state, now_ms);
        self.after_move(text, out);
    }

    fn after_move(&mut self, text: String, out: &mut Output) {
        self.view.last_training = Some(text);
        self.note_registry();
        self.refresh_list();
        let initial = self.take_initial();
        out.signals.extend(initial.signals);
        out.writes.extend(initial.writes);
        out.models_changed = true;
    }

    /// Whether model `id` is a challenger now (for views and tests).
    pub fn is_challenger(&self, id: i64) -> bool {
        self.registry
            .as_ref()
            .and_then(|r| r.get_by_id(id).ok())
            .is_some_and(|r| r.role == Role::Challenger)
    }
}
