//! The engine's backtests: one run at a time in a background thread (the same
//! `backtest::runner::run_with` the CLI uses, so the run is stored), its progress coalesced to
//! the engine's polling, the finished report thinned before it is published, stored runs listed
//! and reopened (read in a thread too: a stored report can be megabytes of JSON).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::{Duration, Instant};

use crate::backtest::Report;
use crate::backtest::runner::{
    BacktestArgs, BacktestCommandError, Progress, open_run_reading, parse_strategy, run_on,
    run_with,
};
use crate::domain::{Interval, Symbol};
use crate::model::signal::ThresholdOverride;
use crate::protocol::{
    BacktestCosts, BacktestProgress, BacktestsView, Command, REPORT_POINTS, REPORT_TRADES,
    RUNS_LISTED,
};
use crate::store::Store;
use crate::store::writer::WriteSender;

/// Progress messages sent by the thread at most this often (the engine polls every 100 ms).
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

enum JobMessage {
    Progress(Progress),
    /// The report, or the error text and whether it was a requested stop.
    Done(Result<Box<Report>, (String, bool)>),
}

struct Job {
    progress: BacktestProgress,
    messages: Receiver<JobMessage>,
    stop: Arc<AtomicBool>,
}

/// What a backtest step changed, for the engine to publish.
#[derive(Debug, Default, PartialEq)]
pub struct Output {
    /// The view (runs, report, message) changed.
    pub view_changed: bool,
    /// `Some(None)`: the running backtest ended.
    pub progress: Option<Option<BacktestProgress>>,
}

/// The engine's backtests.
pub struct BacktestRunner {
    db: Option<PathBuf>,
    /// The stored runs are listed on this connection, opened once (no integrity check).
    reader: Option<Store>,
    /// The store's owner, which stores finished runs; without one (a runner on its own) a run
    /// opens the database with an owner of its own.
    owner: Option<WriteSender>,
    job: Option<Job>,
    /// A stored run being read: its id and the answer to come.
    opening: Option<(i64, Receiver<Result<Report, String>>)>,
    /// The config's explicit Buy / Sell thresholds, for model strategies.
    thresholds: ThresholdOverride,
    pub view: BacktestsView,
}

impl BacktestRunner {
    /// Lists the stored runs (none without a database); runs will cost `costs`.
    pub fn start(db: Option<PathBuf>, costs: BacktestCosts) -> Self {
        let reader = db.as_deref().and_then(|db| match Store::open_reader(db) {
            Ok(store) => Some(store),
            Err(e) => {
                tracing::warn!("cannot read the stored backtests: {e}");
                None
            }
        });
        let mut runner = Self {
            db,
            reader,
            owner: None,
            job: None,
            opening: None,
            thresholds: ThresholdOverride::default(),
            view: BacktestsView {
                costs,
                ..BacktestsView::default()
            },
        };
        runner.refresh_list();
        runner
    }

    /// Runs are stored by the store's owner `owner`.
    pub fn with_owner(mut self, owner: WriteSender) -> Self {
        self.owner = Some(owner);
        self
    }

    /// Model strategies use the config's explicit thresholds `over` where it sets them.
    pub fn with_thresholds(mut self, over: ThresholdOverride) -> Self {
        self.thresholds = over;
        self
    }

    fn refresh_list(&mut self) {
        let Some(reader) = &self.reader else {
            return;
        };
        match reader.backtest_runs(RUNS_LISTED) {
            Ok(runs) => self.view.runs = runs,
            Err(e) => {
                tracing::warn!("cannot list the stored backtests: {e}");
                self.view.message = Some(format!("cannot list the stored backtests: {e}"));
            }
        }
    }

    fn refuse(&mut self, text: String) -> Output {
        self.view.message = Some(text);
        Output {
            view_changed: true,
            progress: None,
        }
    }

    /// A backtest command from a view (other commands change nothing).
    pub fn on_command(&mut self, command: Command, now_ms: i64) -> Output {
        match command {
            Command::RunBacktest {
                symbol,
                interval,
                strategy,
            } => self.run(symbol, interval, strategy, now_ms),
            Command::OpenBacktest { id } => self.open(id),
            Command::CancelBacktest => self.cancel(),
            _ => Output::default(),
        }
    }

    /// Starts a backtest of `strategy` on the stored `symbol` `interval` candles, unless one runs.
    pub fn run(
        &mut self,
        symbol: Symbol,
        interval: Interval,
        strategy: String,
        now_ms: i64,
    ) -> Output {
        if let Some(job) = &self.job {
            let p = &job.progress;
            return self.refuse(format!(
                "refused: a backtest of {} on {} {} is running (x stops it)",
                p.strategy,
                p.symbol.as_str(),
                p.interval
            ));
        }
        let Some(db) = self.db.clone() else {
            return self.refuse("refused: backtests need a database, and this run has none".into());
        };
        if let Err(e) = parse_strategy(&strategy) {
            return self.refuse(format!("refused: {e}"));
        }
        let mut args =
            BacktestArgs::new(vec![symbol], interval, strategy.clone(), &self.view.costs);
        args.thresholds = self.thresholds;
        let (tx, messages) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let owner = self.owner.clone();
        let spawned = std::thread::Builder::new()
            .name("trademon-backtest".into())
            .spawn(move || {
                let progress_tx = tx.clone();
                let mut last_sent: Option<Instant> = None;
                let mut progress = |p: &Progress| {
                    let due = last_sent.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY);
                    if due || p.fraction >= 1.0 {
                        last_sent = Some(Instant::now());
                        let _ = progress_tx.send(JobMessage::Progress(p.clone()));
                    }
                };
                let result = match &owner {
                    Some(owner) => run_on(&db, owner, &args, &mut progress, &thread_stop),
                    None => run_with(&db, &args, &mut progress, &thread_stop),
                };
                let result = result.map(Box::new).map_err(|e| {
                    let stopped = matches!(e, BacktestCommandError::Stopped);
                    (e.to_string(), stopped)
                });
                let _ = tx.send(JobMessage::Done(result));
            });
        if let Err(e) = spawned {
            return self.refuse(format!("cannot start the backtest thread: {e}"));
        }
        let progress = BacktestProgress {
            symbol,
            interval,
            strategy,
            started_ms: now_ms,
            stage: "starting".into(),
            fraction: 0.0,
        };
        self.view.running = Some(progress.clone());
        self.view.message = None;
        self.job = Some(Job {
            progress: progress.clone(),
            messages,
            stop,
        });
        Output {
            view_changed: true,
            progress: Some(Some(progress)),
        }
    }

    /// Reads stored run `id` in the background; [`Self::poll`] publishes it.
    pub fn open(&mut self, id: i64) -> Output {
        let Some(db) = self.db.clone() else {
            return self.refuse("cannot open a stored backtest: this run has no database".into());
        };
        let (tx, answer) = channel();
        let spawned = std::thread::Builder::new()
            .name("trademon-backtest-open".into())
            .spawn(move || {
                let _ = tx.send(read_report(&db, id));
            });
        match spawned {
            Ok(_) => {
                // A newer request replaces an older one still being read.
                self.opening = Some((id, answer));
                Output::default()
            }
            Err(e) => self.refuse(format!("cannot start a thread to open run {id}: {e}")),
        }
    }

    /// Asks the running backtest to stop.
    pub fn cancel(&mut self) -> Output {
        match &self.job {
            Some(job) => {
                job.stop.store(true, Ordering::Relaxed);
                self.refuse("stopping the backtest…".into())
            }
            None => self.refuse("no backtest is running".into()),
        }
    }

    /// Progress, the end of a running backtest and a stored run that was read.
    pub fn poll(&mut self) -> Output {
        let mut out = Output::default();
        if let Some((id, answer)) = &self.opening {
            let id = *id;
            match answer.try_recv() {
                Ok(result) => {
                    self.opening = None;
                    self.show(result.map_err(|e| format!("cannot open backtest run {id}: {e}")));
                    out.view_changed = true;
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => {
                    self.opening = None;
                    self.view.message = Some(format!("opening backtest run {id} failed"));
                    out.view_changed = true;
                }
            }
        }
        let Some(job) = &mut self.job else {
            return out;
        };
        let mut moved = false;
        let ended = loop {
            match job.messages.try_recv() {
                Ok(JobMessage::Progress(p)) => {
                    job.progress.stage = p.stage;
                    job.progress.fraction = p.fraction.clamp(0.0, 1.0);
                    moved = true;
                }
                Ok(JobMessage::Done(result)) => break Some(result),
                Err(TryRecvError::Empty) => break None,
                Err(TryRecvError::Disconnected) => {
                    break Some(Err((
                        "the backtest thread ended without a result".into(),
                        false,
                    )));
                }
            }
        };
        let Some(result) = ended else {
            if moved {
                self.view.running = Some(job.progress.clone());
                out.progress = Some(Some(job.progress.clone()));
            }
            return out;
        };
        let label = format!(
            "{} on {} {}",
            job.progress.strategy,
            job.progress.symbol.as_str(),
            job.progress.interval
        );
        self.job = None;
        self.view.running = None;
        out.progress = Some(None);
        out.view_changed = true;
        match result {
            Ok(report) => self.show(Ok(*report)),
            Err((_, true)) => self.view.message = Some(format!("backtest of {label} stopped")),
            Err((e, false)) => self.view.message = Some(format!("backtest of {label} failed: {e}")),
        }
        self.refresh_list();
        out
    }

    /// Puts a report (thinned) or an error on show.
    fn show(&mut self, result: Result<Report, String>) {
        match result {
            Ok(report) => {
                self.view.report = Some(Box::new(report.summary(REPORT_POINTS, REPORT_TRADES)));
                self.view.message = None;
            }
            Err(e) => self.view.message = Some(e),
        }
    }

    /// Asks a running backtest to stop (on shutdown).
    pub fn stop(&self) {
        if let Some(job) = &self.job {
            job.stop.store(true, Ordering::Relaxed);
        }
    }
}

fn read_report(db: &Path, id: i64) -> Result<Report, String> {
    open_run_reading(db, id).map_err(|e| e.to_string())
}

#[cfg(test)]
#[path = "backtests_tests.rs"]
mod tests;
