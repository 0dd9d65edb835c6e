//! Backtests: stored candles replayed through a strategy with the engine's fill rules — a signal
//! at the close of candle t fills at the open of candle t+1, plus slippage; commission on the
//! traded notional at entry and exit; long/flat or long/short; a fraction of equity per position.
//! This module holds the simulator, the strategies that need no model, and the metrics; the
//! command, walk-forward and the console pane build on it.

pub mod guard;
pub mod metrics;
pub mod sim;
pub mod strategy;

pub use guard::{LookAhead, check_no_look_ahead};
pub use metrics::{Metrics, metrics};
pub use sim::{Backtest, BacktestError, Costs, EquityPoint, Position, Trade, run};
pub use strategy::{BuyHold, SmaCross, Strategy};

#[cfg(test)]
mod tests;
