//! `trademon backtest`: the run itself is `backtest::runner` (the console's Backtest pane runs the
//! same function); this command prints the metrics (JSON with the trades under --json) and writes
//! trades.csv, equity.csv and equity.svg into --out DIR.

pub use crate::backtest::files::{svg_chart, write_files};
pub use crate::backtest::report::to_text;
pub use crate::backtest::runner::{
    BacktestArgs, BacktestCommandError, StrategySpec, open_run, parse_strategy, run,
};
