//! The engine's backtests: one run at a time in a background thread (the same
//! `backtest::runner::run_with` the CLI uses, so the run is stored), its progress (at most every
//! 100 ms) and result arriving as job events, the finished report thinned before it is
//! published, stored runs listed and reopened (read in a thread too: a stored report can be
//! megabytes of JSON).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::backtest::Report;
use crate::backtest::runner::{
    BacktestArgs, BacktestCommandError, Progress, open_run_reading, parse_strategy, run_on,
    run_with,
};
use crate::config::BacktestConfig;
use crate::domain::{Interval, Symbol};
use crate::model::signal::ThresholdOverride;
use crate::protocol::{BacktestProgress, BacktestsView, Command, RUNS_LISTED};
use crate::store::Store;
use crate::store::writer::WriteSender;

use super::convert::report_for_view;
use super::jobs::{JobEvent, JobSender, run_to_end};

/// Progress messages sent by the thread at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// What a backtest job reports.
pub enum BacktestMessage {
    Progress(Progress),
    /// The report, or the error text and whether it was a requested stop.
    Done(Result<Box<Report>, (String, bool)>),
}

struct Job {
    progress: BacktestProgress,
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
    /// The stored run being read (a newer request replaces an older one still being read).
    opening: Option<i64>,
    /// Where the jobs report.
    jobs: JobSender,
    /// The config's explicit Buy / Sell thresholds, for model strategies.
    thresholds: ThresholdOverride,
    /// What runs cost (the view shows it too).
    costs: BacktestConfig,
    pub view: BacktestsView,
}

impl BacktestRunner {
    /// Lists the stored runs (none without a database); runs will cost `costs`.
    pub fn start(db: Option<PathBuf>, costs: BacktestConfig, jobs: JobSender) -> Self {
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
            jobs,
            thresholds: ThresholdOverride::default(),
            costs,
            view: BacktestsView {
                costs: costs.into(),
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
            Ok(runs) => self.view.runs = runs.into_iter().map(Into::into).collect(),
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
        let mut args = BacktestArgs::new(vec![symbol], interval, strategy.clone(), &self.costs);
        args.thresholds = self.thresholds;
        let tx = self.jobs.clone();
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
                        let message = BacktestMessage::Progress(p.clone());
                        let _ = progress_tx.send(JobEvent::Backtest(message));
                    }
                };
                let work = || {
                    let result = match &owner {
                        Some(owner) => run_on(&db, owner, &args, &mut progress, &thread_stop),
                        None => run_with(&db, &args, &mut progress, &thread_stop),
                    };
                    result.map(Box::new).map_err(|e| {
                        let stopped = matches!(e, BacktestCommandError::Stopped);
                        (e.to_string(), stopped)
                    })
                };
                let result = run_to_end(work, |panic| {
                    Err((format!("the backtest thread panicked: {panic}"), false))
                });
                let _ = tx.send(JobEvent::Backtest(BacktestMessage::Done(result)));
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
            stop,
        });
        Output {
            view_changed: true,
            progress: Some(Some(progress)),
        }
    }

    /// Reads stored run `id` in the background; it arrives as a job event.
    pub fn open(&mut self, id: i64) -> Output {
        let Some(db) = self.db.clone() else {
            return self.refuse("cannot open a stored backtest: this run has no database".into());
        };
        let tx = self.jobs.clone();
        let spawned = std::thread::Builder::new()
            .name("trademon-backtest-open".into())
            .spawn(move || {
                let result = run_to_end(
                    || read_report(&db, id).map(Box::new),
                    |panic| Err(format!("reading it panicked: {panic}")),
                );
                let _ = tx.send(JobEvent::BacktestOpened { id, result });
            });
        match spawned {
            Ok(_) => {
                // A newer request replaces an older one still being read.
                self.opening = Some(id);
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

    /// A job's report: progress, the end of the running backtest, or a stored run read back.
    pub fn on_job(&mut self, event: JobEvent) -> Output {
        let mut out = Output::default();
        match event {
            JobEvent::BacktestOpened { id, result } => {
                if self.opening == Some(id) {
                    self.opening = None;
                    self.show(
                        result
                            .map(|r| *r)
                            .map_err(|e| format!("cannot open backtest run {id}: {e}")),
                    );
                    out.view_changed = true;
                }
            }
            JobEvent::Backtest(BacktestMessage::Progress(p)) => {
                if let Some(job) = &mut self.job {
                    job.progress.stage = p.stage;
                    job.progress.fraction = p.fraction.clamp(0.0, 1.0);
                    self.view.running = Some(job.progress.clone());
                    out.progress = Some(Some(job.progress.clone()));
                }
            }
            JobEvent::Backtest(BacktestMessage::Done(result)) => {
                let Some(job) = self.job.take() else {
                    return out;
                };
                let label = format!(
                    "{} on {} {}",
                    job.progress.strategy,
                    job.progress.symbol.as_str(),
                    job.progress.interval
                );
                self.view.running = None;
                out.progress = Some(None);
                out.view_changed = true;
                match result {
                    Ok(report) => self.show(Ok(*report)),
                    Err((_, true)) => {
                        self.view.message = Some(format!("backtest of {label} stopped"));
                    }
                    Err((e, false)) => {
                        self.view.message = Some(format!("backtest of {label} failed: {e}"));
                    }
                }
                self.refresh_list();
            }
            JobEvent::Training(_) | JobEvent::Attributed(_) | JobEvent::Monitor(_) => {}
        }
        out
    }

    /// Puts a report (thinned) or an error on show.
    fn show(&mut self, result: Result<Report, String>) {
        match result {
            Ok(report) => {
                self.view.report = Some(Box::new(report_for_view(&report)));
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
