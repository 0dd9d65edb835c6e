//! `trademon paper report | reconcile`: parse → [`crate::engine::paper::offline`] → print.

use std::fmt::Write;
use std::path::Path;

use serde::Serialize;

use crate::backtest::paper::Reconciliation;
use crate::config::PaperConfig;
use crate::domain::Interval;
use crate::engine::paper::offline::{self, PaperError, PaperReport};
use crate::fmt::{utc_datetime, utc_hm, utc_hms};
use crate::model::signal::ThresholdOverride;

/// What to do with the paper account.
#[derive(clap::Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum PaperAction {
    /// The account from its log: equity, cash, the trades and a backtest's metrics over its
    /// window (an open position is valued closed at the last close).
    Report {
        /// The interval it trades [default: the one it was opened with].
        #[arg(long)]
        interval: Option<Interval>,
    },
    /// Reruns the backtester with the same model, costs, filters and candles over the paper
    /// session's window and lists, trade by trade, where the two differ.
    Reconcile {
        /// A model id or version tag, or champion (the model that ran the session).
        #[arg(long, default_value = "champion")]
        model: String,
        #[arg(long)]
        interval: Option<Interval>,
    },
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum PaperOutput {
    Report(Box<PaperReport>),
    Reconcile(Box<Reconciliation>),
}

pub fn run(
    db: &Path,
    config: &PaperConfig,
    action: &PaperAction,
    thresholds: ThresholdOverride,
) -> Result<PaperOutput, PaperError> {
    Ok(match action {
        PaperAction::Report { interval } => {
            PaperOutput::Report(Box::new(offline::report(db, config, *interval)?))
        }
        PaperAction::Reconcile { model, interval } => PaperOutput::Reconcile(Box::new(
            offline::reconcile(db, config, *interval, model, thresholds)?,
        )),
    })
}

pub fn to_text(output: &PaperOutput) -> String {
    match output {
        PaperOutput::Report(r) => report_text(r),
        PaperOutput::Reconcile(r) => reconcile_text(r),
    }
}

fn report_text(r: &PaperReport) -> String {
    let mut s = String::new();
    let symbols: Vec<&str> = r.symbols.iter().map(|s| s.as_str()).collect();
    let _ = writeln!(
        s,
        "paper account ({} mode) on {} {}, opened {}",
        r.mode,
        symbols.join(","),
        r.interval,
        utc_datetime(r.opened_ms)
    );
    let _ = writeln!(
        s,
        "equity {:.2} {q} (cash {:.2}), started with {:.2} {q}: {:+.2} %",
        r.equity,
        r.cash,
        r.start_cash,
        100.0 * (r.equity / r.start_cash - 1.0),
        q = r.quote_asset
    );
    let _ = writeln!(
        s,
        "{} fills, {} open orders{}",
        r.fills,
        r.open_orders,
        r.kill_switch
            .as_ref()
            .map(|k| format!("; KILL SWITCH set: {k}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "window {} .. {} (open positions valued closed at the last close, as a backtest does):",
        utc_datetime(r.window.from_ms),
        utc_datetime(r.window.to_ms)
    );
    for (name, value) in crate::fmt::metric_rows(&r.metrics) {
        let _ = writeln!(s, "  {name:<22} {value}");
    }
    let _ = writeln!(s, "trades: {}", r.trades.len());
    for t in r.trades.iter().rev().take(20).rev() {
        let tr = &t.trade;
        let _ = writeln!(
            s,
            "  {} {:<5?} {} @ {:.4} → {} @ {:.4}  qty {:.6}  fees {:.4}  P&L {:+.4}",
            t.symbol,
            tr.side,
            utc_hm(tr.entry_time_ms),
            tr.entry_price,
            utc_hm(tr.exit_time_ms),
            tr.exit_price,
            tr.quantity,
            tr.fees,
            tr.pnl
        );
    }
    s
}

fn reconcile_text(r: &Reconciliation) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "paper vs backtest, {} .. {}: {} paper trades, {} backtest trades",
        utc_datetime(r.window.from_ms),
        utc_datetime(r.window.to_ms),
        r.trades_paper,
        r.trades_backtest
    );
    if r.differences.is_empty() {
        let _ = writeln!(
            s,
            "no differences: every trade matches (entry, exit, quantity, fees)"
        );
    }
    for d in &r.differences {
        let when = d
            .paper
            .as_ref()
            .or(d.backtest.as_ref())
            .map_or_else(String::new, |t| utc_datetime(t.entry_time_ms));
        let what = match d.kind {
            "missing" => "missing in paper (the backtest traded)".to_string(),
            "extra" => "extra in paper (the backtest did not trade)".to_string(),
            _ => format!("differs in {}", d.fields.join(", ")),
        };
        let _ = writeln!(
            s,
            "  {} {when}: {what}; P&L effect {:+.4}",
            d.symbol, d.pnl_effect
        );
        if let (Some(p), Some(b)) = (&d.paper, &d.backtest) {
            let _ = writeln!(
                s,
                "      paper    {} @ {:.4} → {} @ {:.4} fees {:.4}",
                utc_hms(p.entry_time_ms),
                p.entry_price,
                utc_hms(p.exit_time_ms),
                p.exit_price,
                p.fees
            );
            let _ = writeln!(
                s,
                "      backtest {} @ {:.4} → {} @ {:.4} fees {:.4}",
                utc_hms(b.entry_time_ms),
                b.entry_price,
                utc_hms(b.exit_time_ms),
                b.exit_price,
                b.fees
            );
        }
    }
    let _ = writeln!(
        s,
        "P&L: paper {:+.4}, backtest {:+.4}, effect of the differences {:+.4}",
        r.pnl_paper, r.pnl_backtest, r.pnl_effect
    );
    s
}
