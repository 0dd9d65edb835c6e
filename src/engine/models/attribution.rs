//! Signals' drivers (gradient × input of the ensemble), computed on a thread of their own: it
//! takes milliseconds, so it never runs on the engine's loop; the signal goes out at once and its
//! drivers follow as a job result.

use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

use crate::engine::jobs::{JobEvent, JobSender};

use crate::model::ensemble::Ensemble;
use crate::protocol::SignalInfo;

/// Features shown as a signal's drivers.
const DRIVERS: usize = 6;

/// Signals waiting for their drivers, at most. Past it (the thread is behind: a slow machine, a
/// fast replay) a signal keeps the drivers it went out without, and memory stays bounded.
pub(super) const QUEUE_MAX: usize = 256;

/// The attribution thread's queue, and whether it is behind (said once per streak).
pub(super) struct Attribution {
    queue: SyncSender<AttributionJob>,
    behind: bool,
}

impl Attribution {
    /// Offers a signal to the thread without waiting; `false` when the queue is full (or the
    /// thread is gone) and the signal goes without drivers.
    pub(super) fn offer(&mut self, job: AttributionJob) -> bool {
        match self.queue.try_send(job) {
            Ok(()) => {
                self.behind = false;
                true
            }
            Err(TrySendError::Full(_)) => {
                if !self.behind {
                    tracing::warn!(
                        "drivers are {QUEUE_MAX} signals behind; signals go without them until \
                         they catch up"
                    );
                }
                self.behind = true;
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// A signal whose drivers are to be computed.
pub(super) struct AttributionJob {
    pub(super) signal: SignalInfo,
    pub(super) input: Vec<f32>,
    pub(super) class: usize,
}

/// Starts the thread that computes signals' drivers for `ensemble`; it ends when the sender is
/// dropped (another model was activated) or the engine is gone.
pub(super) fn spawn_attribution(ensemble: Arc<Ensemble>, done: JobSender) -> Attribution {
    let (tx, jobs) = sync_channel::<AttributionJob>(QUEUE_MAX);
    let spawned = std::thread::Builder::new()
        .name("trademon-attribution".into())
        .spawn(move || {
            while let Ok(mut job) = jobs.recv() {
                match ensemble.drivers(&job.input, job.class, DRIVERS) {
                    Ok(drivers) => {
                        job.signal.drivers = drivers;
                        if done
                            .send(JobEvent::Attributed(Box::new(job.signal)))
                            .is_err()
                        {
                            break;
                        }
                    }
                    Err(e) => tracing::warn!("no drivers for a signal: {e}"),
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no attribution thread, signals come without drivers: {e}");
    }
    Attribution {
        queue: tx,
        behind: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Signal;
    use crate::domain::{Interval, Symbol};
    use crate::protocol::SignalInfo;

    fn job() -> AttributionJob {
        AttributionJob {
            signal: SignalInfo {
                symbol: Symbol::new("BTCUSDT").unwrap(),
                interval: Interval::M1,
                open_time_ms: 0,
                made_ms: 0,
                model_version: "m".into(),
                probabilities: [0.2, 0.3, 0.5],
                confidence: 0.3,
                votes: [0; 3],
                signal: Signal::Hold,
                drivers: Vec::new(),
                fallback: false,
            },
            input: vec![0.0; 4],
            class: 0,
        }
    }

    /// The queue was unbounded: a thread slower than the signals grew it without end. Now a
    /// signal past the bound goes without drivers, and the queue takes again once it drains.
    #[test]
    fn a_thread_that_falls_behind_drops_drivers_not_memory() {
        let (queue, jobs) = sync_channel(QUEUE_MAX);
        let mut attribution = Attribution {
            queue,
            behind: false,
        };
        for _ in 0..QUEUE_MAX {
            assert!(attribution.offer(job()));
        }
        assert!(!attribution.offer(job()), "the bound holds");
        assert!(attribution.behind);
        assert_eq!(jobs.try_iter().count(), QUEUE_MAX);
        assert!(attribution.offer(job()), "it takes again once drained");
        assert!(!attribution.behind);
    }
}
