//! The engine's monitor component: it watches the model that makes the live signals. When that
//! model changes (at start, on a switch, promotion, rollback or fallback) a job loads it on a
//! thread of its own — its reference window (stored, or computed from the stored candles of its
//! training range and then stored), and one [`Tracker`] per symbol replayed over the stored
//! candles and the model's stored predictions — while live candles and signals wait in a buffer.
//! Then every closed candle at the model's interval and every signal goes to its symbol's
//! tracker; every `evaluate_every` candles the exact statistics run, the evaluation is stored,
//! and the symbol's figures are published (`Update::MonitorSymbol`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::component::{Component, Effects};
use super::jobs::{JobEvent, JobSender, run_to_end};
use crate::config::MonitorConfig;
use crate::domain::{Candle, Interval, Signal, Symbol};
use crate::model::registry::Registry;
use crate::monitor::tracker::{Settings, SymbolReport};
use crate::monitor::{ModelSpec, Tracker, persist};
use crate::protocol::{MonitorView, SignalInfo, Update};
use crate::store::writer::{WriteOp, WriteSender};
use crate::store::{DriftRow, ReferenceRow, Store};

mod view;
pub use view::to_view;

/// What a load job reports.
pub struct Loaded {
    generation: u64,
    version: String,
    result: Result<LoadedModel, String>,
}

struct LoadedModel {
    interval: Interval,
    trackers: Vec<(Symbol, Tracker)>,
    /// A reference computed now, to store.
    computed: Option<ReferenceRow>,
}

/// Live input that arrived while a model was loading.
enum Buffered {
    Candle(Symbol, Candle),
    Prediction(Symbol, i64, [f64; 3], Signal),
}

/// The monitor component.
pub struct MonitorComponent {
    db: Option<PathBuf>,
    owner: WriteSender,
    settings: Settings,
    symbols: Vec<Symbol>,
    jobs: JobSender,
    generation: u64,
    /// The model watched (its version), loaded or loading.
    version: Option<String>,
    interval: Option<Interval>,
    trackers: HashMap<Symbol, Tracker>,
    loading: Option<Vec<Buffered>>,
}

/// The version that made a signal (a fallback's signal carries a suffix).
fn model_of(signal: &SignalInfo) -> &str {
    signal
        .model_version
        .strip_suffix(" (logistic fallback)")
        .unwrap_or(&signal.model_version)
}

impl MonitorComponent {
    /// A monitor of the store `db` (none: nothing to watch), starting to load `active` (the
    /// version of the model running now) at once.
    pub fn start(
        db: Option<PathBuf>,
        owner: WriteSender,
        config: MonitorConfig,
        symbols: Vec<Symbol>,
        active: Option<String>,
        jobs: JobSender,
    ) -> Self {
        let mut monitor = Self {
            db,
            owner,
            settings: Settings {
                window: config.window,
                evaluate_every: config.evaluate_every,
            },
            symbols,
            jobs,
            generation: 0,
            version: None,
            interval: None,
            trackers: HashMap::new(),
            loading: None,
        };
        if let Some(version) = active {
            monitor.load(version, i64::MAX);
        }
        monitor
    }

    /// Starts loading `version` on a thread of its own (history up to `before_ms`).
    fn load(&mut self, version: String, before_ms: i64) {
        self.generation += 1;
        self.version = Some(version.clone());
        self.interval = None;
        self.trackers.clear();
        self.loading = Some(Vec::new());
        let Some(db) = self.db.clone() else {
            return;
        };
        let (generation, owner, jobs) = (self.generation, self.owner.clone(), self.jobs.clone());
        let (settings, symbols) = (self.settings, self.symbols.clone());
        let spawned = std::thread::Builder::new()
            .name("monitor-load".into())
            .spawn(move || {
                let result = run_to_end(
                    || load_model(&db, owner, &version, &symbols, settings, before_ms),
                    |panic| Err(format!("the monitor's load failed: {panic}")),
                );
                let _ = jobs.send(JobEvent::Monitor(Box::new(Loaded {
                    generation,
                    version,
                    result,
                })));
            });
        if let Err(e) = spawned {
            tracing::warn!("monitor: cannot start loading the model: {e}");
            self.loading = None;
        }
    }

    fn on_loaded(&mut self, loaded: Loaded, out: &mut Effects) {
        if loaded.generation != self.generation {
            return;
        }
        let buffered = self.loading.take().unwrap_or_default();
        match loaded.result {
            Ok(model) => {
                self.interval = Some(model.interval);
                self.trackers = model.trackers.into_iter().collect();
                if let Some(row) = model.computed {
                    out.writes.push(WriteOp::Reference(Box::new(row)));
                }
                for item in buffered {
                    match item {
                        Buffered::Candle(symbol, candle) => {
                            self.candle(symbol, &candle, candle.open_time_ms, out)
                        }
                        Buffered::Prediction(symbol, open_ms, p, signal) => {
                            if let Some(t) = self.trackers.get_mut(&symbol) {
                                t.push_prediction(open_ms, p, signal);
                            }
                        }
                    }
                }
                let mut view = MonitorView::default();
                for symbol in &self.symbols {
                    if let Some(t) = self.trackers.get(symbol) {
                        view.put(&to_view(&t.report()));
                    }
                }
                out.updates.push(Update::Monitor(Box::new(view)));
            }
            Err(why) => {
                tracing::warn!("monitor: {} is not watched: {why}", loaded.version);
                out.updates.push(Update::Monitor(Box::default()));
            }
        }
    }

    fn candle(&mut self, symbol: Symbol, candle: &Candle, now_ms: i64, out: &mut Effects) {
        let Some(tracker) = self.trackers.get_mut(&symbol) else {
            return;
        };
        if tracker
            .newest_ms()
            .is_some_and(|t| t >= candle.open_time_ms)
        {
            return;
        }
        if tracker.push_candle(candle) {
            tracker.evaluate();
            let report = tracker.report();
            out.writes.push(WriteOp::Drift(drift_row(&report, now_ms)));
            out.updates
                .push(Update::MonitorSymbol(Box::new(to_view(&report))));
        }
    }
}

/// Loads `version`: its spec, its reference (computing it when none suits), and a replayed
/// tracker per symbol.
fn load_model(
    db: &std::path::Path,
    owner: WriteSender,
    version: &str,
    symbols: &[Symbol],
    settings: Settings,
    before_ms: i64,
) -> Result<LoadedModel, String> {
    let registry = Registry::attach(db, owner).map_err(|e| e.to_string())?;
    let record = registry.get(version).map_err(|e| e.to_string())?;
    let spec = Arc::new(ModelSpec::of(&record)?);
    let (reference, computed) =
        match persist::reference_for(db, &registry, &record, settings.window) {
            Ok((r, computed)) => {
                let row = if computed {
                    Some(persist::encode(&r, crate::domain::wall_clock_ms())?)
                } else {
                    None
                };
                (Ok(Arc::new(r)), row)
            }
            Err(why) => (Err(why), None),
        };
    let store = Store::open_reader(db).map_err(|e| e.to_string())?;
    let trackers = symbols
        .iter()
        .map(|&symbol| {
            let t = persist::replayed(
                &store,
                spec.clone(),
                reference.clone(),
                symbol,
                settings,
                before_ms,
            );
            (symbol, t)
        })
        .collect();
    Ok(LoadedModel {
        interval: spec.interval,
        trackers,
        computed,
    })
}

/// The stored form of an evaluation: PSI per feature, the detectors' states, what drifted.
fn drift_row(report: &SymbolReport, now_ms: i64) -> DriftRow {
    let psi: serde_json::Map<String, serde_json::Value> = report
        .features
        .iter()
        .map(|f| (f.name.clone(), serde_json::json!(f.psi)))
        .collect();
    let detectors: serde_json::Map<String, serde_json::Value> = report
        .detectors
        .iter()
        .map(|d| (d.name.to_string(), serde_json::json!(d.state)))
        .collect();
    let drifted: Vec<&str> = report
        .features
        .iter()
        .filter(|f| f.drifted)
        .map(|f| f.name.as_str())
        .collect();
    DriftRow {
        time_ms: now_ms,
        model_version: report.model.clone(),
        symbol: report.symbol,
        interval: report.interval,
        open_time_ms: report.as_of_ms.unwrap_or(now_ms),
        status: serde_json::to_value(report.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        dataset_drift: report.dataset_drift,
        drifted_share: report.drifted_share.clamp(0.0, 1.0),
        summary: serde_json::json!({ "psi": psi, "detectors": detectors, "drifted": drifted })
            .to_string(),
    }
}

impl Component for MonitorComponent {
    fn name(&self) -> &'static str {
        "monitor"
    }

    fn on_closed(
        &mut self,
        symbol: Symbol,
        interval: Interval,
        candles: &[Candle],
        now_ms: i64,
        out: &mut Effects,
    ) {
        if let Some(buffer) = &mut self.loading {
            buffer.extend(candles.iter().map(|c| Buffered::Candle(symbol, *c)));
            return;
        }
        if self.interval != Some(interval) {
            return;
        }
        for candle in candles {
            self.candle(symbol, candle, now_ms, out);
        }
    }

    fn on_signal(&mut self, signal: &SignalInfo, _now_ms: i64, out: &mut Effects) {
        let version = model_of(signal);
        if self.version.as_deref() != Some(version) {
            // Another model makes the signals now: its figures start over once it is loaded,
            // and the previous model's are not shown as its.
            self.load(version.to_string(), signal.open_time_ms + 1);
            out.updates.push(Update::Monitor(Box::default()));
        }
        if let Some(buffer) = &mut self.loading {
            buffer.push(Buffered::Prediction(
                signal.symbol,
                signal.open_time_ms,
                signal.probabilities,
                signal.signal,
            ));
            return;
        }
        if self.interval == Some(signal.interval)
            && let Some(t) = self.trackers.get_mut(&signal.symbol)
        {
            t.push_prediction(signal.open_time_ms, signal.probabilities, signal.signal);
        }
    }

    fn on_job(&mut self, event: &mut Option<JobEvent>, out: &mut Effects) {
        if matches!(event, Some(JobEvent::Monitor(_)))
            && let Some(JobEvent::Monitor(loaded)) = event.take()
        {
            self.on_loaded(*loaded, out);
        }
    }
}

#[cfg(test)]
#[path = "monitor_tests.rs"]
mod tests;
