//! `trademon paper report` and `paper reconcile`: the account rebuilt from its log, read as a
//! backtest over the stored candles of its window, and compared trade by trade with a backtest of
//! the same model, costs and candles.

use std::path::Path;

use serde::Serialize;

use crate::backtest::paper::{Reconciliation, Window, paper_leg, reconcile as compare};
use crate::backtest::portfolio::{Leg, SymbolTrade, combine};
use crate::backtest::runner::load_model;
use crate::backtest::sim::run_with_filters;
use crate::backtest::{Costs, Curve, Metrics, SignalStrategy, curve_metrics, model_signals};
use crate::broker::Fill;
use crate::config::{PaperConfig, PaperMode};
use crate::domain::{Candle, Interval, Symbol, SymbolFilters};
use crate::model::signal::ThresholdOverride;
use crate::store::Store;
use crate::store::writer::{Writer, WriterOptions};

use super::fill_costs;
use super::log::{Restored, restore};

#[derive(Debug, thiserror::Error)]
pub enum PaperError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the paper log of {db} cannot be read: {0}", db = .1)]
    Log(String, String),
    #[error(
        "{0} has no paper account yet: turn it on with `[paper] enabled = true` and run the console or the daemon"
    )]
    NoAccount(String),
    #[error(
        "the paper account does not say which interval it trades (no model ran yet); give --interval"
    )]
    NoInterval,
    #[error("no stored {interval} candles of {symbol} in the paper account's window")]
    NoCandles { symbol: Symbol, interval: Interval },
    #[error(transparent)]
    Backtest(#[from] crate::backtest::runner::BacktestCommandError),
    #[error("{0}")]
    Model(String),
}

/// The account as a backtest report reads.
#[derive(Clone, Debug, Serialize)]
pub struct PaperReport {
    pub opened_ms: i64,
    pub mode: String,
    pub quote_asset: String,
    pub interval: Interval,
    pub symbols: Vec<Symbol>,
    pub window: Window,
    pub start_cash: f64,
    /// Cash and positions now (from the log; marks at the newest stored closes).
    pub cash: f64,
    pub equity: f64,
    pub open_orders: usize,
    pub fills: usize,
    pub kill_switch: Option<String>,
    /// Over the window, an open position closed at the last close as a backtest does.
    pub metrics: Metrics,
    pub trades: Vec<SymbolTrade>,
}

struct Session {
    restored: Restored,
    interval: Interval,
    window: Window,
    /// Per symbol: every stored candle up to the window's end, and where the window starts.
    series: Vec<(Symbol, Vec<Candle>, usize)>,
    costs: Costs,
}

fn session(
    db: &Path,
    config: &PaperConfig,
    interval: Option<Interval>,
) -> Result<Session, PaperError> {
    let store = Store::open_reader(db)?;
    let rows = store.paper_log()?;
    let costs = fill_costs(config);
    let restored = restore(&rows, costs, &|_| SymbolFilters::NONE)
        .map_err(|e| PaperError::Log(e, db.display().to_string()))?
        .ok_or_else(|| PaperError::NoAccount(db.display().to_string()))?;
    let interval = interval
        .or(restored.opening.interval)
        .ok_or(PaperError::NoInterval)?;
    // The window starts at the candle whose close made the first signal the account traded
    // (without one, at the first candle that closed after it opened).
    let from_ms = match &restored.first_session {
        Some(s) if s.interval == interval => s.first_candle_ms,
        _ => restored.opened_ms - interval.ms() + 1,
    };
    let mut series = Vec::new();
    let mut to_ms = i64::MAX;
    for &symbol in &restored.opening.symbols {
        let candles = store.candles_between(symbol, interval, i64::MIN, i64::MAX)?;
        let start = candles.partition_point(|c| c.open_time_ms < from_ms);
        let Some(last) = candles.last().filter(|_| start < candles.len()) else {
            return Err(PaperError::NoCandles { symbol, interval });
        };
        to_ms = to_ms.min(last.open_time_ms);
        series.push((symbol, candles, start));
    }
    // Every symbol over the same window: up to the newest candle all of them have.
    for (_, candles, _) in &mut series {
        let end = candles.partition_point(|c| c.open_time_ms <= to_ms);
        candles.truncate(end);
    }
    let share = restored.opening.cash / restored.opening.symbols.len().max(1) as f64;
    let costs = Costs {
        cash: share,
        fee: config.fee_taker_bps / 10_000.0,
        slippage_bps: config.slippage_bps,
        fraction: config.risk.fraction,
        allow_short: config.allow_short,
    };
    Ok(Session {
        restored,
        interval,
        window: Window { from_ms, to_ms },
        series,
        costs,
    })
}

fn fills_of(restored: &Restored, symbol: Symbol) -> Vec<Fill> {
    restored
        .fills
        .iter()
        .filter(|f| f.symbol == symbol)
        .cloned()
        .collect()
}

/// The paper account of `db` as a report.
pub fn report(
    db: &Path,
    config: &PaperConfig,
    interval: Option<Interval>,
) -> Result<PaperReport, PaperError> {
    let s = session(db, config, interval)?;
    let runs: Vec<_> = s
        .series
        .iter()
        .map(|(symbol, candles, start)| {
            paper_leg(
                *symbol,
                &candles[*start..],
                &fills_of(&s.restored, *symbol),
                s.costs,
                s.interval.ms(),
            )
        })
        .collect();
    let weight = 1.0 / s.series.len().max(1) as f64;
    let legs: Vec<Leg<'_>> = s
        .series
        .iter()
        .zip(&runs)
        .map(|((symbol, candles, start), backtest)| Leg {
            symbol: *symbol,
            weight,
            candles: &candles[*start..],
            backtest,
        })
        .collect();
    let combined = combine(&legs);
    let trades: Vec<crate::backtest::Trade> =
        combined.trades.iter().map(|t| t.trade.clone()).collect();
    let metrics = curve_metrics(&Curve {
        start_equity: s.restored.opening.cash,
        equity: &combined.equity,
        trades: &trades,
        exposure: combined.exposure,
        buy_and_hold_return: combined.buy_and_hold_return,
        interval_ms: s.interval.ms(),
    });
    let mut book = s.restored.book.clone();
    for (symbol, candles, _) in &s.series {
        if let Some(last) = candles.last() {
            book.set_mark(*symbol, last.close);
        }
    }
    Ok(PaperReport {
        opened_ms: s.restored.opened_ms,
        mode: s.restored.opening.mode.clone(),
        quote_asset: s.restored.opening.quote_asset.clone(),
        interval: s.interval,
        symbols: s.restored.opening.symbols.clone(),
        window: s.window,
        start_cash: s.restored.opening.cash,
        cash: s
            .restored
            .opening
            .symbols
            .iter()
            .filter_map(|sym| book.account(*sym).map(|a| a.cash))
            .sum(),
        equity: book.equity(),
        open_orders: book.orders().len(),
        fills: s.restored.fills.len(),
        kill_switch: s.restored.killed.as_ref().map(|(_, why)| why.clone()),
        metrics,
        trades: combined.trades,
    })
}

/// Paper against a backtest of `model` (`champion`, an id or a version) with the same costs,
/// filters and candles over the paper session's window.
pub fn reconcile(
    db: &Path,
    config: &PaperConfig,
    interval: Option<Interval>,
    model: &str,
    thresholds: ThresholdOverride,
) -> Result<Reconciliation, PaperError> {
    let s = session(db, config, interval)?;
    let owner = Writer::spawn(Store::open(db)?, WriterOptions::default());
    let loaded = load_model(db, &owner.sender(), model, s.interval, thresholds);
    let _ = owner.finish();
    let loaded = loaded?;
    let mut paper = Vec::new();
    let mut backtest = Vec::new();
    for (symbol, candles, start) in &s.series {
        let leg = paper_leg(
            *symbol,
            &candles[*start..],
            &fills_of(&s.restored, *symbol),
            s.costs,
            s.interval.ms(),
        );
        paper.extend(leg.trades.into_iter().map(|trade| SymbolTrade {
            symbol: *symbol,
            trade,
        }));
        // The model sees every stored candle before the window (as the live engine warms up
        // from them) and trades from the window's first candle on.
        let signals = model_signals(
            &loaded.ensemble,
            &loaded.version,
            s.interval,
            candles,
            *start,
            &mut |_, _| true,
        )
        .map_err(|e| PaperError::Model(e.to_string()))?;
        let mut strategy = SignalStrategy::new(
            format!("model:{}", loaded.version),
            signals[*start..].to_vec(),
            s.costs.allow_short,
        );
        let filters = s
            .restored
            .book
            .filters(*symbol)
            .unwrap_or(SymbolFilters::NONE);
        let run = run_with_filters(&candles[*start..], &mut strategy, s.costs, filters)
            .map_err(|e| PaperError::Model(format!("{symbol}: {e}")))?;
        backtest.extend(run.trades.into_iter().map(|trade| SymbolTrade {
            symbol: *symbol,
            trade,
        }));
    }
    let within = match config.mode {
        PaperMode::Bar => 0,
        PaperMode::Tick => s.interval.ms(),
    };
    Ok(compare(s.window, &paper, &backtest, within))
}
