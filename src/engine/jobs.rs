//! Background jobs (training, backtests, reading a stored run, signals' drivers) report here: one
//! channel whose receiving end is an arm of the engine's `select!`, so a job's progress and result
//! reach the engine as they happen, not at the next tick. A job runs on a thread of its own and
//! ends by sending its result; a job that panics still ends with an error (see [`run_to_end`]).

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::backtests::BacktestMessage;
use super::models::TrainingMessage;
use crate::backtest::Report;
use crate::protocol::SignalInfo;

/// What a job reports.
pub enum JobEvent {
    Training(TrainingMessage),
    /// A signal with its drivers (it replaces the same signal sent without them).
    Attributed(Box<SignalInfo>),
    Backtest(BacktestMessage),
    /// A stored backtest run read back.
    BacktestOpened {
        id: i64,
        result: Result<Box<Report>, String>,
    },
    /// The monitor's thread loaded a model or evaluated a symbol.
    Monitor(Box<super::monitor::Report>),
}

/// Where jobs report; cheap to clone, usable from any thread.
pub type JobSender = UnboundedSender<JobEvent>;

/// A job channel: the sender for jobs, the receiver for the engine's loop.
pub fn channel() -> (JobSender, UnboundedReceiver<JobEvent>) {
    unbounded_channel()
}

/// A sender whose reports go nowhere, for a component driven by hand (tests, tools).
pub fn detached() -> JobSender {
    unbounded_channel().0
}

/// Runs `job` and returns its result, or `panicked(message)` when it panics, so a job always
/// ends with a report.
pub fn run_to_end<T>(job: impl FnOnce() -> T, panicked: impl FnOnce(String) -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            panicked(message)
        }
    }
}
