//! The backtest side of the protocol: the stored runs, a running backtest's progress, the opened
//! report (its curves thinned, its newest trades only), the costs the console's runs use, and how
//! the last request ended. The types are the protocol's own; the engine converts its store rows
//! and config into them.

use serde::{Deserialize, Serialize};

use super::BacktestReport;
use crate::domain::{Interval, Symbol};

/// Equity and buy-and-hold points sent for an opened report: enough for any terminal width.
pub const REPORT_POINTS: usize = 600;
/// The newest trades sent for an opened report.
pub const REPORT_TRADES: usize = 200;
/// Stored runs listed.
pub const RUNS_LISTED: usize = 50;

/// One stored run as the Backtest pane lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BacktestRunSummary {
    pub id: i64,
    pub created_ms: i64,
    pub strategy: String,
    /// Comma-separated.
    pub symbols: String,
    pub interval: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub candles: u64,
    pub walk_forward: bool,
    /// `None` where the number was not finite.
    pub total_return: Option<f64>,
    pub buy_and_hold_return: Option<f64>,
    pub max_drawdown: Option<f64>,
    pub trades: u64,
}

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

/// What the console's backtests cost.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BacktestCosts {
    /// Commission in basis points of the traded notional, at entry and at exit.
    pub fee_bps: f64,
    /// Slippage against each fill, in basis points.
    pub slippage_bps: f64,
    pub cash: f64,
    /// Short signals are taken (long/flat otherwise).
    pub short: bool,
}

impl Default for BacktestCosts {
    /// What a view shows before the engine says otherwise: the `[backtest]` defaults of
    /// config/default.toml (a test at the engine's edge checks they agree).
    fn default() -> Self {
        Self {
            fee_bps: 10.0,
            slippage_bps: 2.0,
            cash: 10_000.0,
            short: false,
        }
    }
}

/// Everything about backtests a view shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BacktestsView {
    /// Newest first, at most [`RUNS_LISTED`].
    pub runs: Vec<BacktestRunSummary>,
    pub running: Option<BacktestProgress>,
    /// The run last finished or opened, its curves and trades thinned to [`REPORT_POINTS`] and
    /// [`REPORT_TRADES`].
    pub report: Option<Box<BacktestReport>>,
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
