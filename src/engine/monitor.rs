//! The engine's monitor component. Its work runs on a thread of its own, so the engine's loop
//! pays only for handing it a closed candle or a signal (a bounded queue): the thread watches the
//! model that makes the live signals. When that model changes (at start, on a switch, promotion,
//! rollback or fallback) it loads it — its reference window (stored, or computed from the stored
//! candles of its training range and then stored) and one [`Tracker`] per symbol replayed over
//! the stored candles and the model's stored predictions — while live input waits in the queue.
//! Then every closed candle at the model's interval and every signal goes to its symbol's
//! tracker; every `evaluate_every` candles the exact statistics run, and the thread reports the
//! evaluation as a job event: the component stores it (`WriteOp::Drift`) and publishes the
//! symbol's figures (`Update::MonitorSymbol`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use super::component::{Component, Effects};
use super::jobs::{JobEvent, JobSender, run_to_end};
use crate::config::MonitorConfig;
use crate::domain::{Candle, Interval, Signal, Symbol};
use crate::model::registry::Registry;
use crate::monitor::tracker::{Settings, SymbolReport};
use crate::monitor::{ModelSpec, Tracker, persist};
use crate::protocol::{MonitorView, SignalInfo, SymbolMonitor, Update};
use crate::store::writer::{WriteOp, WriteSender};
use crate::store::{DriftRow, ReferenceRow, Store};

mod view;
pub use view::to_view;

/// Inputs the monitor's thread may hold before the engine's are dropped (counted, said once per
/// streak): about a day of one-minute candles of ten symbols.
pub const QUEUE: usize = 16_384;

/// What the monitor's thread reports to the engine.
pub enum Report {
    /// A model was loaded (or could not be): the whole view, and a reference computed now.
    Loaded {
        view: Box<MonitorView>,
        computed: Option<Box<ReferenceRow>>,
    },
    /// One symbol was evaluated.
    Evaluated {
        view: Box<SymbolMonitor>,
        row: Box<DriftRow>,
    },
}

/// What the engine hands the monitor's thread.
enum Input {
    /// Watch this model version (history up to `before_ms`).
    Load { version: String, before_ms: i64 },
    Candle {
        symbol: Symbol,
        interval: Interval,
        candle: Candle,
        now_ms: i64,
    },
    Prediction {
        symbol: Symbol,
        interval: Interval,
        open_ms: i64,
        probabilities: [f64; 3],
        signal: Signal,
    },
}

/// The monitor component: the engine's side of the monitor's thread.
pub struct MonitorComponent {
    to_thread: Option<SyncSender<Input>>,
    /// The version watched (or being loaded).
    version: Option<String>,
    /// Inputs dropped because the thread's queue was full, in the current streak.
    dropped: u64,
}

/// The version that made a signal (a fallback's signal carries a suffix).
pub(super) fn model_of(signal: &SignalInfo) -> &str {
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
        let settings = Settings {
            window: config.window,
            evaluate_every: config.evaluate_every,
        };
        let to_thread = db.and_then(|db| {
            let (tx, rx) = sync_channel(QUEUE);
            let spawned = std::thread::Builder::new()
                .name("monitor".into())
                .spawn(move || {
                    lower_priority();
                    let mut worker = Worker {
                        db,
                        owner,
                        settings,
                        symbols,
                        jobs,
                        interval: None,
                        trackers: HashMap::new(),
                    };
                    worker.run(rx);
                });
            match spawned {
                Ok(_) => Some(tx),
                Err(e) => {
                    tracing::warn!("monitor: cannot start its thread: {e}");
                    None
                }
            }
        });
        let mut monitor = Self {
            to_thread,
            version: None,
            dropped: 0,
        };
        if let Some(version) = active {
            monitor.send(Input::Load {
                version: version.clone(),
                before_ms: i64::MAX,
            });
            monitor.version = Some(version);
        }
        monitor
    }

    /// Hands `input` to the thread without waiting; past [`QUEUE`] held inputs it is dropped.
    fn send(&mut self, input: Input) {
        let Some(tx) = &self.to_thread else {
            return;
        };
        match tx.try_send(input) {
            Ok(()) => {
                if self.dropped > 0 {
                    tracing::warn!("monitor: caught up after {} dropped inputs", self.dropped);
                    self.dropped = 0;
                }
            }
            Err(TrySendError::Full(_)) => {
                if self.dropped == 0 {
                    tracing::warn!(
                        "monitor: {QUEUE} inputs wait for its thread; new ones are dropped (its \
                         figures will have a gap) until it catches up"
                    );
                }
                self.dropped += 1;
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("monitor: its thread stopped; no more drift figures");
                self.to_thread = None;
            }
        }
    }
}

/// The nice value the monitor's thread runs at (0 is the default, 19 the lowest priority).
pub(super) const NICE: i32 = 19;

/// Lowers the calling thread's scheduling priority to [`NICE`], unless it is already as low.
/// The monitor's statistics are background work: when the cores are busy (a replay, a backfill,
/// a retrain), the engine's loop, which turns a candle into a signal, gets the CPU first, and the
/// monitor catches up after (or drops inputs past its queue, and says so). On Linux
/// `setpriority` with a thread id changes that thread only.
fn lower_priority() {
    use rustix::process::{getpriority_process, setpriority_process};
    let me = Some(rustix::thread::gettid());
    let now = getpriority_process(me).unwrap_or(0);
    if now < NICE
        && let Err(e) = setpriority_process(me, NICE)
    {
        tracing::debug!("monitor: cannot lower its thread's priority: {e}");
    }
}

/// The monitor's thread: the trackers of the model watched.
struct Worker {
    db: PathBuf,
    owner: WriteSender,
    settings: Settings,
    symbols: Vec<Symbol>,
    jobs: JobSender,
    interval: Option<Interval>,
    trackers: HashMap<Symbol, Tracker>,
}

impl Worker {
    fn run(&mut self, rx: Receiver<Input>) {
        while let Ok(input) = rx.recv() {
            let stop = run_to_end(
                || {
                    self.step(input);
                    false
                },
                |panic| {
                    tracing::error!("monitor: its thread failed: {panic}");
                    true
                },
            );
            if stop {
                return;
            }
        }
    }

    fn report(&self, report: Report) {
        let _ = self.jobs.send(JobEvent::Monitor(Box::new(report)));
    }

    fn step(&mut self, input: Input) {
        match input {
            Input::Load { version, before_ms } => self.load(&version, before_ms),
            Input::Candle {
                symbol,
                interval,
                candle,
                now_ms,
            } => {
                if self.interval != Some(interval) {
                    return;
                }
                let Some(tracker) = self.trackers.get_mut(&symbol) else {
                    return;
                };
                // The replay at load may have taken it already.
                if tracker
                    .newest_ms()
                    .is_some_and(|t| t >= candle.open_time_ms)
                {
                    return;
                }
                if tracker.push_candle(&candle) {
                    tracker.evaluate();
                    let report = tracker.report();
                    self.report(Report::Evaluated {
                        view: Box::new(to_view(&report)),
                        row: Box::new(drift_row(&report, now_ms)),
                    });
                }
            }
            Input::Prediction {
                symbol,
                interval,
                open_ms,
                probabilities,
                signal,
            } => {
                if self.interval == Some(interval)
                    && let Some(t) = self.trackers.get_mut(&symbol)
                {
                    t.push_prediction(open_ms, probabilities, signal);
                }
            }
        }
    }

    fn load(&mut self, version: &str, before_ms: i64) {
        self.interval = None;
        self.trackers.clear();
        match load_model(
            &self.db,
            self.owner.clone(),
            version,
            &self.symbols,
            self.settings,
            before_ms,
        ) {
            Ok(model) => {
                self.interval = Some(model.interval);
                self.trackers = model.trackers.into_iter().collect();
                let mut view = MonitorView::default();
                for symbol in &self.symbols {
                    if let Some(t) = self.trackers.get(symbol) {
                        view.put(&to_view(&t.report()));
                    }
                }
                self.report(Report::Loaded {
                    view: Box::new(view),
                    computed: model.computed.map(Box::new),
                });
            }
            Err(why) => {
                tracing::warn!("monitor: {version} is not watched: {why}");
                self.report(Report::Loaded {
                    view: Box::default(),
                    computed: None,
                });
            }
        }
    }
}

/// A model loaded to watch.
struct LoadedModel {
    interval: Interval,
    trackers: Vec<(Symbol, Tracker)>,
    /// A reference computed now, to store.
    computed: Option<ReferenceRow>,
}

/// Loads `version`: its spec, its reference (computing it when none suits), and a replayed
/// tracker per symbol.
fn load_model(
    db: &Path,
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
        _out: &mut Effects,
    ) {
        for candle in candles {
            self.send(Input::Candle {
                symbol,
                interval,
                candle: *candle,
                now_ms,
            });
        }
    }

    fn on_signal(&mut self, signal: &SignalInfo, _now_ms: i64, out: &mut Effects) {
        let version = model_of(signal);
        if self.version.as_deref() != Some(version) {
            // Another model makes the signals now: its figures start over once it is loaded,
            // and the previous model's are not shown as its.
            self.version = Some(version.to_string());
            self.send(Input::Load {
                version: version.to_string(),
                before_ms: signal.open_time_ms + 1,
            });
            out.updates.push(Update::Monitor(Box::default()));
        }
        self.send(Input::Prediction {
            symbol: signal.symbol,
            interval: signal.interval,
            open_ms: signal.open_time_ms,
            probabilities: signal.probabilities,
            signal: signal.signal,
        });
    }

    fn on_job(&mut self, event: &mut Option<JobEvent>, out: &mut Effects) {
        if !matches!(event, Some(JobEvent::Monitor(_))) {
            return;
        }
        let Some(JobEvent::Monitor(report)) = event.take() else {
            return;
        };
        match *report {
            Report::Loaded { view, computed } => {
                if let Some(row) = computed {
                    out.writes.push(WriteOp::Reference(row));
                }
                out.updates.push(Update::Monitor(view));
            }
            Report::Evaluated { view, row } => {
                out.writes.push(WriteOp::Drift(*row));
                out.updates.push(Update::MonitorSymbol(view));
            }
        }
    }
}

#[cfg(test)]
#[path = "monitor_tests.rs"]
mod tests;
