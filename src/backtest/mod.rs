//! Backtests: stored candles replayed through a strategy with the engine's fill rules — a signal
//! at the close of candle t fills at the open of candle t+1, plus slippage; commission on the
//! traded notional at entry and exit; long/flat or long/short; a fraction of equity per position.
//! This module holds the simulator, the strategies that need no model, the metrics, and the
//! use-cases the CLI and the engine share: running (one symbol, a portfolio, walk-forward),
//! storing and reopening a run (`runner`).

pub mod files;
pub mod guard;
pub mod metrics;
pub mod model;
mod modes;
pub mod paper;
pub mod portfolio;
pub mod report;
pub mod runner;
pub mod sim;
pub mod strategy;
pub mod walk;

pub use guard::{LookAhead, check_no_look_ahead};
pub use metrics::{Curve, Metrics, curve_metrics, metrics};
pub use model::{ModelBacktestError, SignalStrategy, model_signals, position_for};
pub use portfolio::{Leg, SymbolTrade, buy_and_hold, combine, shares};
pub use report::{LegReport, Report};
pub use sim::{Backtest, BacktestError, Costs, EquityPoint, Position, Trade, run};
pub use strategy::{BuyHold, SmaCross, Strategy};
pub use walk::{Fold, FoldModel, Stitched, WalkForward, walk_forward};

#[cfg(test)]
mod tests;
