//! Signals' drivers (gradient × input of the ensemble), computed on a thread of their own: it
//! takes milliseconds, so it never runs on the engine's loop; the signal goes out at once and its
//! drivers follow as a job result.

use std::sync::Arc;
use std::sync::mpsc::{Sender, channel};

use crate::engine::jobs::{JobEvent, JobSender};

use crate::model::ensemble::Ensemble;
use crate::protocol::SignalInfo;

/// Features shown as a signal's drivers.
const DRIVERS: usize = 6;

/// A signal whose drivers are to be computed.
pub(super) struct AttributionJob {
    pub(super) signal: SignalInfo,
    pub(super) input: Vec<f32>,
    pub(super) class: usize,
}

/// Starts the thread that computes signals' drivers for `ensemble`; it ends when the sender is
/// dropped (another model was activated) or the engine is gone.
pub(super) fn spawn_attribution(
    ensemble: Arc<Ensemble>,
    done: JobSender,
) -> Sender<AttributionJob> {
    let (tx, jobs) = channel::<AttributionJob>();
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
    tx
}
