//! The owner's commits: a failing one keeps its rows (at most [`PENDING_MAX`]) and is tried
//! again with backoff, said once per change in the log; at shutdown the rows held are tried until
//! a deadline, then counted as lost.

use std::time::{Duration, Instant};

use super::{Call, PENDING_MAX, Pending, Store, WriteOp, WriterStats, commit};

/// The first wait before a failed commit is tried again; each failure doubles it, up to
/// [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(100);
/// The longest wait between two tries of a failing commit.
pub const RETRY_MAX: Duration = Duration::from_secs(5);
/// How long the owner keeps trying to commit what it holds once every sender is gone. Past it
/// the rows are counted as lost and the owner ends: a full disk cannot hold a shutdown forever.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// A streak of failed commits: the rows stay held and are tried again at `next_try`.
pub(super) struct Failing {
    failures: u64,
    since: Instant,
    pub(super) next_try: Instant,
    wait: Duration,
    reason: String,
    /// Rows arrived while [`PENDING_MAX`] were held, and were dropped (said once per streak).
    dropping: bool,
}

/// The owner's commit state: which is logged once per change, never once per retry.
#[derive(Default)]
pub(super) struct Commits {
    pub(super) failing: Option<Failing>,
}

impl Commits {
    /// Whether a commit is due now: always while commits succeed, at the retry time while they
    /// fail.
    pub(super) fn due(&self, now: Instant) -> bool {
        self.failing.as_ref().is_none_or(|f| now >= f.next_try)
    }

    /// Commits what is held, and keeps the state.
    pub(super) fn commit(&mut self, store: &mut Store, rows: &mut Pending, stats: &WriterStats) {
        match commit(store, rows, stats) {
            Ok(()) => {
                if let Some(f) = self.failing.take() {
                    tracing::warn!(
                        "store writer: commits succeed again, after {} failed over {:.1} s",
                        f.failures,
                        f.since.elapsed().as_secs_f64()
                    );
                }
            }
            Err(reason) => {
                let now = Instant::now();
                match &mut self.failing {
                    Some(f) => {
                        f.failures += 1;
                        f.wait = (f.wait * 2).min(RETRY_MAX);
                        f.next_try = now + f.wait;
                        if f.reason != reason {
                            tracing::error!("store writer: commits still failing, now: {reason}");
                            f.reason = reason;
                        }
                    }
                    None => {
                        tracing::error!(
                            "store writer: commits failing ({reason}); holding up to {PENDING_MAX} \
                             rows and trying again with backoff (up to {} s); shown in Health and \
                             status",
                            RETRY_MAX.as_secs()
                        );
                        self.failing = Some(Failing {
                            failures: 1,
                            since: now,
                            next_try: now + RETRY_FIRST,
                            wait: RETRY_FIRST,
                            reason,
                            dropping: false,
                        });
                    }
                }
            }
        }
    }

    /// Holds a row for the next commit; past [`PENDING_MAX`] held rows it is dropped, counted.
    pub(super) fn hold(
        &mut self,
        rows: &mut Pending,
        op: WriteOp,
        stats: &WriterStats,
    ) -> Option<Call> {
        let row = !matches!(
            op,
            WriteOp::Flush(_) | WriteOp::BacktestRun(..) | WriteOp::Registry(_)
        );
        if row && rows.len() >= PENDING_MAX {
            stats.lose(1, "it holds the most rows it may while commits fail");
            if let Some(f) = &mut self.failing
                && !f.dropping
            {
                f.dropping = true;
                tracing::error!(
                    "store writer: {PENDING_MAX} rows held while commits fail; new rows are \
                     dropped (counted) until a commit succeeds"
                );
            }
            return None;
        }
        match op {
            WriteOp::Candle(s, i, c) => rows.candles.push((s, i, c)),
            WriteOp::Event(e) => rows.events.push(e),
            WriteOp::Prediction(p) => rows.predictions.push(p),
            WriteOp::Outcome(o) => rows.outcomes.push(o),
            WriteOp::Drift(d) => rows.drift.push(d),
            WriteOp::Reference(r) => rows.references.push(*r),
            WriteOp::Paper(r) => rows.paper.push(r),
            WriteOp::Flush(done) => return Some(Call::Flush(done)),
            WriteOp::BacktestRun(run, reply) => return Some(Call::BacktestRun(run, reply)),
            WriteOp::Registry(job) => return Some(Call::Registry(job)),
        }
        None
    }
}

/// Every sender is gone: commits what is held, trying again with backoff until
/// [`SHUTDOWN_DEADLINE`], then counts what is left as lost.
pub(super) fn finish_held(
    store: &mut Store,
    rows: &mut Pending,
    stats: &WriterStats,
    commits: &mut Commits,
) {
    let give_up = Instant::now() + SHUTDOWN_DEADLINE;
    loop {
        if let Some(f) = &commits.failing {
            std::thread::sleep(
                f.next_try
                    .min(give_up)
                    .saturating_duration_since(Instant::now()),
            );
        }
        commits.commit(store, rows, stats);
        if commits.failing.is_none() || rows.len() == 0 {
            return;
        }
        if Instant::now() >= give_up {
            tracing::error!(
                "store writer: stopping with {} rows it could not store in {} s",
                rows.len(),
                SHUTDOWN_DEADLINE.as_secs()
            );
            stats.lose(rows.len() as u64, "it stopped with rows it could not store");
            rows.clear();
            return;
        }
    }
}
