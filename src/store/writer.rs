//! The store's owner: one thread owns the writing connection and performs every write of a
//! running program, in the order sent. Rows (candles, events, predictions, outcomes) are batched
//! and committed at most every `batch_max_ms` or `batch_max_rows` rows, whichever comes first;
//! writes that answer (a backtest run, a registry change) commit what is pending first, then run
//! in their own transaction and answer over a one-shot channel.

mod commits;
mod handle;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::rows::{OutcomeRow, PredictionRow, write_outcomes, write_predictions};
use super::{BacktestRunRow, Conflict, Store, StoreError, write_candles, write_events};
use crate::domain::FeedEvent;
use crate::domain::{Candle, Interval, Symbol};
use commits::{Commits, finish_held};
pub use commits::{RETRY_MAX, SHUTDOWN_DEADLINE};
pub use handle::{PENDING_MAX, STORE_ERRORS_RECENT, WriteLost, WriteSender, WriterStats};

/// How often the writer copies the WAL back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Every write there is. A new write is a new variant here.
#[derive(Debug)]
pub enum WriteOp {
    Candle(Symbol, Interval, Candle),
    Event(FeedEvent),
    Prediction(PredictionRow),
    Outcome(OutcomeRow),
    /// A drift evaluation of the monitor.
    Drift(super::monitor::DriftRow),
    /// A model's reference window, computed once.
    Reference(Box<super::monitor::ReferenceRow>),
    /// A finished backtest; answers with the run's id.
    BacktestRun(Box<BacktestRunRow>, SyncSender<Result<i64, StoreError>>),
    /// A registry change: registering a model, a promotion, a rollback, a live model event. Its
    /// rules and SQL are `model::registry`'s; the job runs here on the owner's connection (with
    /// foreign keys on) and answers its caller itself.
    Registry(RegistryJob),
    /// An entry of the paper account's log (appended in the order sent).
    Paper(super::paper::PaperRow),
    /// Commit what is pending now and answer.
    Flush(SyncSender<()>),
}

/// A registry change to run on the owner's connection.
pub struct RegistryJob(Box<dyn FnOnce(&mut Connection) + Send>);

impl RegistryJob {
    pub fn new(job: impl FnOnce(&mut Connection) + Send + 'static) -> Self {
        Self(Box::new(job))
    }
}

impl std::fmt::Debug for RegistryJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegistryJob")
    }
}

#[derive(Clone, Copy, Debug)]
pub struct WriterOptions {
    pub batch_max_rows: usize,
    pub batch_max_ms: u64,
}

impl Default for WriterOptions {
    /// The config's defaults: 1000 rows or 100 ms.
    fn default() -> Self {
        Self {
            batch_max_rows: 1000,
            batch_max_ms: 100,
        }
    }
}

/// The owner thread. Dropping every sender and calling [`Writer::finish`] commits what is
/// pending, checkpoints the WAL and closes the file.
#[derive(Debug)]
pub struct Writer {
    tx: WriteSender,
    stats: Arc<WriterStats>,
    thread: JoinHandle<Result<(), StoreError>>,
}

impl Writer {
    /// Starts the owner of `store` (already opened, checked and migrated by [`Store::open`]: the
    /// owner never checks it again), with room for [`PENDING_MAX`] waiting writes.
    pub fn spawn(store: Store, options: WriterOptions) -> Self {
        Self::spawn_bounded(store, options, PENDING_MAX)
    }

    /// [`Writer::spawn`] with room for `capacity` waiting writes.
    pub fn spawn_bounded(mut store: Store, options: WriterOptions, capacity: usize) -> Self {
        let (tx, rx, stats) = WriteSender::new(capacity);
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("trademon-writer".into())
            .spawn(move || {
                let stats = thread_stats;
                let mut rows = Pending {
                    candles: Vec::with_capacity(options.batch_max_rows.min(PENDING_MAX)),
                    ..Pending::default()
                };
                let ran = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    run(&mut store, &rx, &mut rows, options, &stats)
                }));
                // Ended, whichever way: what is still held or queued will never be stored.
                stats.stopped.store(true, Ordering::Relaxed);
                let left = rows.len() + rx.try_iter().count();
                drop(rx);
                if left > 0 {
                    stats.rows_lost.fetch_add(left as u64, Ordering::Relaxed);
                }
                ran.unwrap_or_else(|panic| {
                    let reason = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".into());
                    tracing::error!("the store writer died ({reason}); nothing more is stored");
                    if let Ok(mut last) = stats.last_error.lock() {
                        *last = Some(reason.clone());
                    }
                    Err(StoreError::WriterDied {
                        path: store.path().display().to_string(),
                        reason,
                    })
                })
            })
            .unwrap_or_else(|e| panic!("cannot start the store writer thread: {e}"));
        Self { tx, stats, thread }
    }

    pub fn sender(&self) -> WriteSender {
        self.tx.clone()
    }

    pub fn stats(&self) -> Arc<WriterStats> {
        self.stats.clone()
    }

    /// Commits what is pending and waits until it is on disk.
    pub fn flush(&self) {
        // A stopped writer has nothing pending; its stats say it stopped.
        let _ = self.tx.call(WriteOp::Flush);
    }

    /// Stops the writer once every other sender is gone: commits, checkpoints, closes. A writer
    /// that died says so here.
    pub fn finish(self) -> Result<(), StoreError> {
        drop(self.tx);
        match self.thread.join() {
            Ok(result) => result,
            // The thread catches its own panics; this is only a panic in the catching.
            Err(_) => Ok(()),
        }
    }
}

/// A write that answers, run after the batch before it is committed.
enum Call {
    Flush(SyncSender<()>),
    BacktestRun(Box<BacktestRunRow>, SyncSender<Result<i64, StoreError>>),
    Registry(RegistryJob),
}

fn run(
    store: &mut Store,
    rx: &Receiver<WriteOp>,
    rows: &mut Pending,
    options: WriterOptions,
    stats: &WriterStats,
) -> Result<(), StoreError> {
    let max_wait = Duration::from_millis(options.batch_max_ms);
    if let Err(e) = store.manual_checkpoints() {
        tracing::warn!(error = %e, "cannot turn off automatic checkpoints; commits may stall on them");
    }
    // The registry's audit log refers to its models; its jobs run with foreign keys on.
    if let Err(e) = store.conn.pragma_update(None, "foreign_keys", true) {
        tracing::warn!(error = %e, "cannot turn on foreign keys for registry changes");
    }
    let mut commits = Commits::default();
    let mut last_checkpoint = Instant::now();
    let mut checkpoint_failing = false;
    loop {
        // Block for the first op of a batch (while commits fail, only until the next try), then
        // gather until the deadline, the row limit, or a write that answers.
        let first = match &commits.failing {
            None => match rx.recv() {
                Ok(op) => Some(op),
                Err(_) => break,
            },
            Some(f) => {
                match rx.recv_timeout(f.next_try.saturating_duration_since(Instant::now())) {
                    Ok(op) => Some(op),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
        };
        let now = Instant::now();
        let deadline = match &commits.failing {
            Some(f) => f.next_try.max(now + max_wait),
            None => now + max_wait,
        };
        let mut next = first;
        let mut closed = false;
        let mut call = None;
        loop {
            if let Some(op) = next.take() {
                stats.taken.fetch_add(1, Ordering::Relaxed);
                call = commits.hold(rows, op, stats);
                if call.is_some() {
                    break;
                }
            }
            if commits.failing.is_none() && rows.len() >= options.batch_max_rows {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match rx.recv_timeout(deadline - now) {
                Ok(op) => next = Some(op),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        // A write that answers tries the held rows first, whatever the backoff says: it is
        // committed after them or not at all.
        if call.is_some() || commits.due(Instant::now()) {
            commits.commit(store, rows, stats);
        }
        match call {
            Some(Call::Flush(done)) => {
                let _ = done.send(());
            }
            Some(Call::BacktestRun(run, reply)) => {
                stats.calls.fetch_add(1, Ordering::Relaxed);
                // A caller that stopped waiting loses only the answer: the run is stored.
                let _ = reply.send(store.insert_backtest_run(&run));
            }
            Some(Call::Registry(RegistryJob(job))) => {
                stats.calls.fetch_add(1, Ordering::Relaxed);
                job(&mut store.conn);
            }
            None => {}
        }
        if closed {
            break;
        }
        // Checkpoint between batches, never inside a commit, at most once a second, and not
        // while commits fail (it would fail the same way).
        if commits.failing.is_none() && last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            let started = Instant::now();
            match store.checkpoint_passive() {
                Ok(()) => {
                    if let Ok(mut w) = stats.checkpoint_latency.lock() {
                        w.record_micros(started.elapsed().as_micros() as u64);
                    }
                    checkpoint_failing = false;
                }
                Err(e) => {
                    // Said once per streak: it is tried again every second.
                    if !checkpoint_failing {
                        tracing::warn!(error = %e, "WAL checkpoint failed; trying again each second");
                    }
                    checkpoint_failing = true;
                }
            }
            last_checkpoint = Instant::now();
        }
    }
    finish_held(store, rows, stats, &mut commits);
    // What is committed is safe in the WAL; a checkpoint that fails (a full disk) only leaves
    // it there for the next open to copy back.
    if let Err(e) = store.checkpoint() {
        tracing::warn!(error = %e, "store writer: the closing WAL checkpoint failed; the WAL keeps the rows");
    }
    Ok(())
}

/// Rows waiting for the next commit.
#[derive(Default)]
struct Pending {
    candles: Vec<(Symbol, Interval, Candle)>,
    events: Vec<FeedEvent>,
    predictions: Vec<PredictionRow>,
    outcomes: Vec<OutcomeRow>,
    drift: Vec<super::monitor::DriftRow>,
    references: Vec<super::monitor::ReferenceRow>,
    paper: Vec<super::paper::PaperRow>,
}

impl Pending {
    fn len(&self) -> usize {
        self.candles.len()
            + self.events.len()
            + self.predictions.len()
            + self.outcomes.len()
            + self.drift.len()
            + self.references.len()
            + self.paper.len()
    }

    fn clear(&mut self) {
        self.candles.clear();
        self.events.clear();
        self.predictions.clear();
        self.outcomes.clear();
        self.drift.clear();
        self.references.clear();
        self.paper.clear();
    }
}

/// Commits the held rows in one transaction. On failure they stay held for the next try, and
/// the error's text comes back (the caller logs it once per change).
fn commit(store: &mut Store, rows: &mut Pending, stats: &WriterStats) -> Result<(), String> {
    if rows.len() == 0 {
        return Ok(());
    }
    let started = Instant::now();
    let result = (|| -> rusqlite::Result<()> {
        let tx = store.conn.transaction()?;
        write_candles(&tx, rows.candles.iter().copied(), Conflict::Replace)?;
        write_events(&tx, &rows.events)?;
        // Predictions before outcomes: an outcome may be for a prediction in this batch.
        write_predictions(&tx, &rows.predictions)?;
        write_outcomes(&tx, &rows.outcomes)?;
        super::monitor::write_drift(&tx, &rows.drift)?;
        for r in &rows.references {
            super::monitor::write_reference(&tx, r)?;
        }
        super::paper::write_paper(&tx, &rows.paper)?;
        tx.commit()
    })();
    match result {
        Ok(()) => {
            let elapsed = started.elapsed();
            if let Ok(mut w) = stats.commit_latency.lock() {
                w.record_micros(elapsed.as_micros() as u64);
            }
            if let Some(observe) = stats.commit_observer.get() {
                (observe.0)(elapsed);
            }
            stats.stored(rows.len() as u64, &rows.candles);
            rows.clear();
            Ok(())
        }
        Err(e) => {
            stats.failed(&e.to_string());
            Err(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests;
