//! `trademon runs`: the stored backtest runs, for a terminal without the console (over SSH, in a
//! script): `runs list` and `runs show ID [--out DIR]`, the same report `trademon backtest` printed.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backtest::Report;
use crate::fmt;
use crate::store::{BacktestRun, Store};

use super::backtest::{BacktestCommandError, open_run, to_text, write_files};

#[derive(Clone, Debug, clap::Subcommand)]
pub enum RunsAction {
    /// The stored runs, newest first.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One stored run's report (and, with --out, its trades.csv, equity.csv and equity.svg).
    Show {
        /// The id from `runs list` (or the console's Backtest pane).
        id: i64,
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum RunsOutput {
    List(Vec<BacktestRun>),
    Show(Box<Report>),
}

pub fn run(db: &Path, action: &RunsAction) -> Result<RunsOutput, BacktestCommandError> {
    match action {
        RunsAction::List { limit } => {
            if !db.exists() {
                return Ok(RunsOutput::List(Vec::new()));
            }
            Ok(RunsOutput::List(Store::open(db)?.backtest_runs(*limit)?))
        }
        RunsAction::Show { id, out } => {
            let mut report = open_run(db, *id)?;
            if let Some(dir) = out {
                report.files = write_files(dir, &report)?;
            }
            Ok(RunsOutput::Show(Box::new(report)))
        }
    }
}

pub fn to_text_output(output: &RunsOutput) -> String {
    match output {
        RunsOutput::Show(report) => to_text(report),
        RunsOutput::List(runs) if runs.is_empty() => {
            "no stored backtest runs: `trademon backtest ...` or the console's Backtest pane \
             stores them\n"
                .to_string()
        }
        RunsOutput::List(runs) => {
            let pct =
                |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:+.2} %", 100.0 * v));
            let mut text = format!(
                "{:>5}  {:<17}  {:<28}  {:<16}  {:>4}  {:>8}  {:>10}  {:>10}  {:>6}\n",
                "id",
                "stored",
                "strategy",
                "symbols",
                "int",
                "candles",
                "return",
                "buy-hold",
                "trades"
            );
            for r in runs {
                let strategy = if r.walk_forward {
                    format!("{} (walk-fwd)", r.strategy)
                } else {
                    r.strategy.clone()
                };
                text.push_str(&format!(
                    "{:>5}  {:<17}  {:<28}  {:<16}  {:>4}  {:>8}  {:>10}  {:>10}  {:>6}\n",
                    r.id,
                    fmt::utc_datetime(r.created_ms)
                        .get(..16)
                        .unwrap_or_default(),
                    fmt::fit(&strategy, 28),
                    fmt::fit(&r.symbols, 16),
                    r.interval,
                    r.candles,
                    pct(r.total_return),
                    pct(r.buy_and_hold_return),
                    r.trades
                ));
            }
            text
        }
    }
}
