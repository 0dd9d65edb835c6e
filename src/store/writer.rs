//! The single writer: one thread owns the writing connection and commits batches, at most every
//! `batch_max_ms` or `batch_max_rows` rows, whichever comes first.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::latency::LatencyWindow;
use super::rows::{OutcomeRow, PredictionRow, write_outcomes, write_predictions};
use super::{Conflict, Store, StoreError, write_candles, write_events};
use crate::domain::FeedEvent;
use crate::domain::{Candle, Interval, Symbol};

/// How often the writer copies the WAL back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// What the writer is asked to store.
#[derive(Debug)]
pub enum WriteOp {
    Candle(Symbol, Interval, Candle),
    Event(FeedEvent),
    Prediction(PredictionRow),
    Outcome(OutcomeRow),
    /// Commit what is pending now and answer.
    Flush(Sender<()>),
}

/// Counters the writer keeps; read by the Health pane.
#[derive(Debug)]
pub struct WriterStats {
    pub rows_stored: AtomicU64,
    pub batches: AtomicU64,
    pub errors: AtomicU64,
    pub commit_latency: Mutex<LatencyWindow>,
    /// Time spent in WAL checkpoints, which run between batches.
    pub checkpoint_latency: Mutex<LatencyWindow>,
    pub last_error: Mutex<Option<String>>,
}

impl WriterStats {
    fn new() -> Self {
        Self {
            rows_stored: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            commit_latency: Mutex::new(LatencyWindow::new(1024)),
            checkpoint_latency: Mutex::new(LatencyWindow::new(256)),
            last_error: Mutex::new(None),
        }
    }

    /// (p50, p99) of recent commit latencies in ms.
    pub fn latency_ms(&self) -> (Option<f64>, Option<f64>) {
        match self.commit_latency.lock() {
            Ok(w) => (w.percentile_ms(0.5), w.percentile_ms(0.99)),
            Err(_) => (None, None),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct WriterOptions {
    pub batch_max_rows: usize,
    pub batch_max_ms: u64,
}

/// Handle to the writer thread. Dropping every sender and calling [`Writer::finish`] commits what is
/// pending, checkpoints the WAL and closes the file.
#[derive(Debug)]
pub struct Writer {
    tx: Sender<WriteOp>,
    stats: Arc<WriterStats>,
    thread: JoinHandle<Result<(), StoreError>>,
}

impl Writer {
    pub fn spawn(mut store: Store, options: WriterOptions) -> Self {
        let (tx, rx) = channel();
        let stats = Arc::new(WriterStats::new());
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("trademon-writer".into())
            .spawn(move || run(&mut store, rx, options, &thread_stats))
            .unwrap_or_else(|e| panic!("cannot start the store writer thread: {e}"));
        Self { tx, stats, thread }
    }

    pub fn sender(&self) -> Sender<WriteOp> {
        self.tx.clone()
    }

    pub fn stats(&self) -> Arc<WriterStats> {
        self.stats.clone()
    }

    /// Commits what is pending and waits until it is on disk.
    pub fn flush(&self) {
        let (done, wait) = channel();
        if self.tx.send(WriteOp::Flush(done)).is_ok() {
            let _ = wait.recv();
        }
    }

    /// Stops the writer once every other sender is gone: commits, checkpoints, closes.
    pub fn finish(self) -> Result<(), StoreError> {
        drop(self.tx);
        match self.thread.join() {
            Ok(result) => result,
            Err(_) => Ok(()),
        }
    }
}

fn run(
    store: &mut Store,
    rx: Receiver<WriteOp>,
    options: WriterOptions,
    stats: &WriterStats,
) -> Result<(), StoreError> {
    let mut candles: Vec<(Symbol, Interval, Candle)> = Vec::with_capacity(options.batch_max_rows);
    let mut events: Vec<FeedEvent> = Vec::new();
    let mut model_rows = ModelRows::default();
    let mut waiting: Vec<Sender<()>> = Vec::new();
    let max_wait = Duration::from_millis(options.batch_max_ms);
    if let Err(e) = store.manual_checkpoints() {
        tracing::warn!(error = %e, "cannot turn off automatic checkpoints; commits may stall on them");
    }
    let mut last_checkpoint = Instant::now();
    loop {
        // Block for the first op of a batch, then gather until the deadline or the row limit.
        let first = match rx.recv() {
            Ok(op) => op,
            Err(_) => break,
        };
        let deadline = Instant::now() + max_wait;
        let mut next = Some(first);
        let mut closed = false;
        loop {
            match next.take() {
                Some(WriteOp::Candle(s, i, c)) => candles.push((s, i, c)),
                Some(WriteOp::Event(e)) => events.push(e),
                Some(WriteOp::Prediction(p)) => model_rows.predictions.push(p),
                Some(WriteOp::Outcome(o)) => model_rows.outcomes.push(o),
                Some(WriteOp::Flush(done)) => {
                    waiting.push(done);
                    break;
                }
                None => {}
            }
            if candles.len() + events.len() + model_rows.len() >= options.batch_max_rows {
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
        commit(store, &mut candles, &mut events, &mut model_rows, stats);
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
        if closed {
            break;
        }
        // Checkpoint between batches, never inside a commit, at most once a second.
        if last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            let started = Instant::now();
            match store.checkpoint_passive() {
                Ok(()) => {
                    if let Ok(mut w) = stats.checkpoint_latency.lock() {
                        w.record_micros(started.elapsed().as_micros() as u64);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; will retry"),
            }
            last_checkpoint = Instant::now();
        }
    }
    commit(store, &mut candles, &mut events, &mut model_rows, stats);
    store.checkpoint()
}

/// Model predictions and outcomes waiting for the next commit.
#[derive(Default)]
struct ModelRows {
    predictions: Vec<PredictionRow>,
    outcomes: Vec<OutcomeRow>,
}

impl ModelRows {
    fn len(&self) -> usize {
        self.predictions.len() + self.outcomes.len()
    }
}

fn commit(
    store: &mut Store,
    candles: &mut Vec<(Symbol, Interval, Candle)>,
    events: &mut Vec<FeedEvent>,
    model_rows: &mut ModelRows,
    stats: &WriterStats,
) {
    if candles.is_empty() && events.is_empty() && model_rows.len() == 0 {
        return;
    }
    let started = Instant::now();
    let result = (|| -> rusqlite::Result<()> {
        let tx = store.conn.transaction()?;
        write_candles(&tx, candles.iter().copied(), Conflict::Replace)?;
        write_events(&tx, events)?;
        // Predictions before outcomes: an outcome may be for a prediction in this batch.
        write_predictions(&tx, &model_rows.predictions)?;
        write_outcomes(&tx, &model_rows.outcomes)?;
        tx.commit()
    })();
    match result {
        Ok(()) => {
            let elapsed = started.elapsed();
            if let Ok(mut w) = stats.commit_latency.lock() {
                w.record_micros(elapsed.as_micros() as u64);
            }
            stats.rows_stored.fetch_add(
                (candles.len() + events.len() + model_rows.len()) as u64,
                Ordering::Relaxed,
            );
            stats.batches.fetch_add(1, Ordering::Relaxed);
            candles.clear();
            events.clear();
            model_rows.predictions.clear();
            model_rows.outcomes.clear();
        }
        Err(e) => {
            // Keep the rows: the next batch retries them. A write error is loud, never silent.
            stats.errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "store writer commit failed; will retry with the next batch");
            if let Ok(mut last) = stats.last_error.lock() {
                *last = Some(e.to_string());
            }
        }
    }
}
