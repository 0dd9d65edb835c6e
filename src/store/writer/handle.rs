//! What the rest of the program holds of the store owner: a handle that queues rows (bounded,
//! never silently dropped) and asks for writes that need an answer, and the owner's counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::super::latency::LatencyWindow;
use super::WriteOp;
use crate::domain::{Candle, Interval, Symbol};

/// Operations waiting for the owner, at most. A row sent while this many wait is not stored: it
/// is counted in [`WriterStats::rows_lost`] and the engine's health turns degraded. At the live
/// rates (a few hundred rows a second) a full queue means the owner has been stuck for a minute
/// or more; blocking the engine's loop on it instead would freeze the console with it.
pub const PENDING_MAX: usize = 16_384;

/// A failed commit keeps the store degraded this long after it, even when a later commit
/// succeeded: a disk that fails every few commits is not healthy between them.
pub const STORE_ERRORS_RECENT: Duration = Duration::from_secs(60);

/// Counters the writer keeps; read by the Health pane and `trademon status`.
#[derive(Debug)]
pub struct WriterStats {
    pub rows_stored: AtomicU64,
    pub batches: AtomicU64,
    /// Failed commits (their rows are retried with the next batch, up to [`PENDING_MAX`]).
    pub errors: AtomicU64,
    /// Rows never stored: the queue was full, the owner had stopped, or rows kept for a retry
    /// passed [`PENDING_MAX`] while commits kept failing.
    pub rows_lost: AtomicU64,
    /// Writes answered to their caller (registry changes, backtest runs).
    pub calls: AtomicU64,
    /// The last commit failed (cleared by the next one that succeeds).
    pub failing: AtomicBool,
    /// The owner thread has ended (finished, or died).
    pub stopped: AtomicBool,
    pub commit_latency: Mutex<LatencyWindow>,
    /// Time spent in WAL checkpoints, which run between batches.
    pub checkpoint_latency: Mutex<LatencyWindow>,
    pub last_error: Mutex<Option<String>>,
    /// When the last commit failed.
    pub last_failure: Mutex<Option<Instant>>,
    /// Candles committed since the owner started, per series.
    pub candles_stored: Mutex<HashMap<(Symbol, Interval), u64>>,
    /// Operations queued for the owner, and those it has taken: their difference is the depth
    /// of its queue.
    pub queued: AtomicU64,
    pub taken: AtomicU64,
    /// Told the time of every successful commit (the metrics' histogram), once set.
    pub commit_observer: std::sync::OnceLock<CommitObserver>,
}

/// A function told the time each successful commit took.
pub struct CommitObserver(pub Box<dyn Fn(Duration) + Send + Sync>);

impl std::fmt::Debug for CommitObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommitObserver")
    }
}

impl Default for WriterStats {
    /// Counters of an owner that has done nothing yet.
    fn default() -> Self {
        Self::new()
    }
}

impl WriterStats {
    pub(super) fn new() -> Self {
        Self {
            rows_stored: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            rows_lost: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            failing: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            commit_latency: Mutex::new(LatencyWindow::new(1024)),
            checkpoint_latency: Mutex::new(LatencyWindow::new(256)),
            last_error: Mutex::new(None),
            last_failure: Mutex::new(None),
            candles_stored: Mutex::new(HashMap::new()),
            queued: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            commit_observer: std::sync::OnceLock::new(),
        }
    }

    /// Operations waiting for the owner now.
    pub fn queue_depth(&self) -> u64 {
        let taken = self.taken.load(Ordering::Relaxed);
        self.queued.load(Ordering::Relaxed).saturating_sub(taken)
    }

    /// Has `observe` told the time of every successful commit from now on (once: a second
    /// observer is refused and returned).
    pub fn observe_commits(
        &self,
        observe: impl Fn(Duration) + Send + Sync + 'static,
    ) -> Result<(), CommitObserver> {
        self.commit_observer.set(CommitObserver(Box::new(observe)))
    }

    /// Counts a commit of `rows` rows, `candles` among them.
    pub(super) fn stored(&self, rows: u64, candles: &[(Symbol, Interval, Candle)]) {
        self.rows_stored.fetch_add(rows, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.failing.store(false, Ordering::Relaxed);
        if let Ok(mut by_series) = self.candles_stored.lock() {
            for (s, i, _) in candles {
                *by_series.entry((*s, *i)).or_default() += 1;
            }
        }
    }

    /// Counts a failed commit.
    pub(super) fn failed(&self, reason: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.failing.store(true, Ordering::Relaxed);
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(reason.to_string());
        }
        if let Ok(mut at) = self.last_failure.lock() {
            *at = Some(Instant::now());
        }
    }

    /// Candles of `series` committed since the owner started.
    pub fn candles_stored(&self, symbol: Symbol, interval: Interval) -> u64 {
        self.candles_stored
            .lock()
            .ok()
            .and_then(|m| m.get(&(symbol, interval)).copied())
            .unwrap_or(0)
    }

    /// The last commit's error, or the reason the owner died.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    fn last_error_text(&self) -> String {
        self.last_error().unwrap_or_else(|| "unknown error".into())
    }

    /// (p50, p99) of recent commit latencies in ms.
    pub fn latency_ms(&self) -> (Option<f64>, Option<f64>) {
        match self.commit_latency.lock() {
            Ok(w) => (w.percentile_ms(0.5), w.percentile_ms(0.99)),
            Err(_) => (None, None),
        }
    }

    /// Why the store is not taking every row, in words; `None` while it is.
    pub fn problem(&self) -> Option<String> {
        let lost = self.rows_lost.load(Ordering::Relaxed);
        let lost = (lost > 0).then(|| format!("{lost} rows not stored"));
        let errors = self.errors.load(Ordering::Relaxed);
        let recent = self
            .last_failure
            .lock()
            .ok()
            .and_then(|at| *at)
            .map(|at| at.elapsed())
            .filter(|ago| *ago < STORE_ERRORS_RECENT);
        let failing = if self.failing.load(Ordering::Relaxed) {
            Some(format!(
                "commits failing ({}; {errors} failed so far)",
                self.last_error_text()
            ))
        } else {
            recent.map(|ago| {
                format!(
                    "{errors} failed commits, the last {} s ago ({})",
                    ago.as_secs(),
                    self.last_error_text()
                )
            })
        };
        let stopped = self
            .stopped
            .load(Ordering::Relaxed)
            .then(|| match self.last_error() {
                Some(why) => format!("writer stopped ({why})"),
                None => "writer stopped".to_string(),
            });
        let parts: Vec<String> = [stopped, failing, lost].into_iter().flatten().collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    pub(super) fn lose(&self, rows: u64, why: &str) {
        if self.rows_lost.fetch_add(rows, Ordering::Relaxed) == 0 {
            tracing::error!(
                "store writer: {why}; rows are being lost (shown in Health and status)"
            );
        }
    }
}

/// A write the owner did not take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteLost {
    #[error("the store writer has {PENDING_MAX} writes waiting; this one was not stored")]
    Full,
    #[error("the store writer has stopped; this write was not stored")]
    Stopped,
}

/// A handle to the store owner: every write of a running program goes through one.
#[derive(Clone, Debug)]
pub struct WriteSender {
    tx: SyncSender<WriteOp>,
    stats: Arc<WriterStats>,
}

impl WriteSender {
    pub(super) fn new(
        capacity: usize,
    ) -> (Self, std::sync::mpsc::Receiver<WriteOp>, Arc<WriterStats>) {
        let (tx, rx) = sync_channel(capacity);
        let stats = Arc::new(WriterStats::new());
        (
            Self {
                tx,
                stats: stats.clone(),
            },
            rx,
            stats,
        )
    }

    /// Queues a row without waiting. A row the owner cannot take (queue full, owner stopped) is
    /// counted as lost, which the Health pane and `trademon status` report as degraded.
    pub fn send(&self, op: WriteOp) -> Result<(), WriteLost> {
        // Counted before it is sent, so the owner never takes more than were queued.
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(op) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.stats.queued.fetch_sub(1, Ordering::Relaxed);
                self.stats.lose(1, "its queue is full");
                Err(WriteLost::Full)
            }
            Err(TrySendError::Disconnected(_)) => {
                self.stats.queued.fetch_sub(1, Ordering::Relaxed);
                self.stats.lose(1, "it has stopped");
                Err(WriteLost::Stopped)
            }
        }
    }

    /// Sends a write that answers (`make` wraps the reply sender into the op) and waits for the
    /// answer. It waits for room in the queue: its caller needs the answer, which comes after
    /// every write queued before it anyway.
    pub fn call<T>(&self, make: impl FnOnce(SyncSender<T>) -> WriteOp) -> Result<T, WriteLost> {
        let (reply, answer) = sync_channel(1);
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(make(reply)).is_err() {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(WriteLost::Stopped);
        }
        // No answer: the owner ended (or died) before it got to this write.
        answer.recv().map_err(|_| WriteLost::Stopped)
    }

    pub fn stats(&self) -> Arc<WriterStats> {
        self.stats.clone()
    }
}
