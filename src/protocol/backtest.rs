//! The backtest side of the protocol: the stored runs, a running backtest's progress, the opened
//! report (its curves thinned, its newest trades only), the costs the console's runs use, and how
//! the last request ended.

use serde::{Deserialize, Serialize};

use crate::backtest::Report;
use crate::domain::{Interval, Symbol};

/// Equity and buy-and-hold points sent for an opened report: enough for any terminal width.
pub const REPORT_POINTS: usize = 600;
/// The newest trades sent for an opened report.
pub const REPORT_TRADES: usize = 200;
/// Stored runs listed.
pub const RUNS_LISTED: usize = 50;

/// One stored run as the Backtest pane lists it: the store's summary row, as it is.
pub use crate::store::BacktestRun as BacktestRunSummary;

/// A backtest running in the background.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BacktestProgress {
    pub symbol: Symbol,
    pub interval: Interval,
    pub strategy: String,
    pub started_ms: i64,
    /// What it is doing ("loading candles", "model signals", ...).
    pub stage: String,
    /// 0..1 over the whole run.
    pub fraction: f64,
}

/// What the console's backtests cost: the config's `[backtest]` section, as it is.
pub use crate::config::BacktestConfig as BacktestCosts;

/// Everything about backtests a view shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BacktestsView {
    /// Newest first, at most [`RUNS_LISTED`].
    pub runs: Vec<BacktestRunSummary>,
    pub running: Option<BacktestProgress>,
    /// The run last finished or opened, thinned with [`Report::summary`].
    pub report: Option<Box<Report>>,
    pub costs: BacktestCosts,
    /// How the last request ended when it did not end in a report (refused, failed, stopped).
    pub message: Option<String>,
}

impl BacktestsView {
    /// The id of the report on show, if it is stored.
    pub fn report_id(&self) -> Option<i64> {
        self.report.as_ref().and_then(|r| r.run_id)
    }
}
