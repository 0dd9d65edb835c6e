//! The numbers a backtest is judged by. Per-candle returns of the equity curve are annualised by
//! the number of candles in a year (365.25 days); the risk-free rate is 0.

use super::sim::{Backtest, EquityPoint, Trade};
use crate::domain::Candle;

/// The metrics are a plain value type of the domain: reports, panes and the wire share it.
pub use crate::domain::BacktestMetrics as Metrics;

/// Milliseconds in a year of 365.25 days.
const YEAR_MS: f64 = 365.25 * 86_400_000.0;

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// The metrics of `backtest`, run on `candles` of `interval_ms`.
pub fn metrics(backtest: &Backtest, candles: &[Candle], interval_ms: i64) -> Metrics {
    let buy_and_hold_return = match (candles.first(), candles.last()) {
        (Some(first), Some(last)) if first.close > 0.0 => last.close / first.close - 1.0,
        _ => 0.0,
    };
    let exposure = if backtest.equity.is_empty() {
        0.0
    } else {
        backtest.exposed_candles as f64 / backtest.equity.len() as f64
    };
    curve_metrics(&Curve {
        start_equity: backtest.costs.cash,
        equity: &backtest.equity,
        trades: &backtest.trades,
        exposure,
        buy_and_hold_return,
        interval_ms,
    })
}

/// An equity curve with its trades: one backtest, a portfolio's sum, or walk-forward folds
/// stitched together.
#[derive(Clone, Copy, Debug)]
pub struct Curve<'a> {
    pub start_equity: f64,
    /// One point per candle close, oldest first.
    pub equity: &'a [EquityPoint],
    pub trades: &'a [Trade],
    /// Share of the capital at work, averaged over the candles (0..1).
    pub exposure: f64,
    pub buy_and_hold_return: f64,
    /// The candle length the per-candle returns are annualised by.
    pub interval_ms: i64,
}

/// The metrics of any equity curve.
pub fn curve_metrics(curve: &Curve<'_>) -> Metrics {
    let start = curve.start_equity;
    let interval_ms = curve.interval_ms;
    let final_equity = curve.equity.last().map_or(start, |p| p.equity);
    let per_year = YEAR_MS / interval_ms.max(1) as f64;
    let mut returns = Vec::with_capacity(curve.equity.len());
    let mut previous = start;
    for point in curve.equity {
        if previous > 0.0 {
            returns.push(point.equity / previous - 1.0);
        }
        previous = point.equity;
    }
    let average = mean(&returns);
    let variance = mean(
        &returns
            .iter()
            .map(|r| (r - average).powi(2))
            .collect::<Vec<_>>(),
    );
    let downside = mean(
        &returns
            .iter()
            .map(|r| r.min(0.0).powi(2))
            .collect::<Vec<_>>(),
    )
    .sqrt();
    let deviation = variance.sqrt();
    let ratio = |numerator: f64, denominator: f64| {
        if denominator > 0.0 {
            numerator / denominator
        } else {
            0.0
        }
    };
    let total_return = final_equity / start - 1.0;
    let years = curve.equity.len() as f64 / per_year;
    let cagr = if years > 0.0 && final_equity > 0.0 {
        (final_equity / start).powf(1.0 / years) - 1.0
    } else {
        -1.0
    };
    let max_drawdown = curve.equity.iter().map(|p| p.drawdown).fold(0.0, f64::max);
    let mut longest = 0;
    let mut since: Option<i64> = None;
    for point in curve.equity {
        if point.drawdown > 0.0 {
            let from = *since.get_or_insert(point.time_ms);
            longest = longest.max(point.time_ms - from + interval_ms);
        } else {
            since = None;
        }
    }
    let trades = curve.trades;
    let gains: f64 = trades.iter().filter(|t| t.pnl > 0.0).map(|t| t.pnl).sum();
    let losses: f64 = trades.iter().filter(|t| t.pnl < 0.0).map(|t| -t.pnl).sum();
    let wins = trades.iter().filter(|t| t.pnl > 0.0).count();
    let profit_factor = match (gains > 0.0, losses > 0.0) {
        (_, true) => gains / losses,
        (true, false) => f64::INFINITY,
        (false, false) => 0.0,
    };
    Metrics {
        start_equity: start,
        final_equity,
        total_return,
        cagr,
        annual_volatility: deviation * per_year.sqrt(),
        sharpe: ratio(average, deviation) * per_year.sqrt(),
        sortino: ratio(average, downside) * per_year.sqrt(),
        calmar: ratio(cagr, max_drawdown),
        max_drawdown,
        max_drawdown_duration_ms: longest,
        exposure: curve.exposure,
        trades: trades.len(),
        win_rate: ratio(wins as f64, trades.len() as f64),
        profit_factor,
        expectancy: mean(&trades.iter().map(|t| t.pnl).collect::<Vec<_>>()),
        average_trade_pct: mean(&trades.iter().map(|t| t.return_pct).collect::<Vec<_>>()),
        buy_and_hold_return: curve.buy_and_hold_return,
    }
}
