//! Portfolios: each symbol's backtest runs on its share of the cash (no rebalancing between
//! symbols), and the portfolio's equity at a time is the sum of the symbols' latest equities.
//! The benchmark is buy-and-hold of the same shares, without costs.

use serde::{Deserialize, Serialize};

use super::sim::{Backtest, EquityPoint, Trade};
use crate::domain::{Candle, Symbol};

/// A trade with the symbol it was in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SymbolTrade {
    pub symbol: Symbol,
    #[serde(flatten)]
    pub trade: Trade,
}

/// One symbol's part of a portfolio.
#[derive(Clone, Copy, Debug)]
pub struct Leg<'a> {
    pub symbol: Symbol,
    /// Share of the cash (the shares sum to 1).
    pub weight: f64,
    pub candles: &'a [Candle],
    pub backtest: &'a Backtest,
}

/// The legs summed.
#[derive(Clone, Debug, PartialEq)]
pub struct Combined {
    pub equity: Vec<EquityPoint>,
    pub benchmark: Vec<EquityPoint>,
    /// All trades, by exit time.
    pub trades: Vec<SymbolTrade>,
    /// The legs' exposures weighted by their shares.
    pub exposure: f64,
    pub buy_and_hold_return: f64,
}

/// Buy-and-hold of `cash` from the first close on (no costs): equity at each close.
pub fn buy_and_hold(candles: &[Candle], cash: f64) -> Vec<EquityPoint> {
    let first = candles.first().map_or(0.0, |c| c.close);
    let mut peak = cash;
    candles
        .iter()
        .map(|c| {
            let equity = if first > 0.0 {
                cash * c.close / first
            } else {
                cash
            };
            peak = peak.max(equity);
            EquityPoint {
                time_ms: c.open_time_ms,
                equity,
                drawdown: drawdown(equity, peak),
            }
        })
        .collect()
}

fn drawdown(equity: f64, peak: f64) -> f64 {
    if peak > 0.0 {
        (1.0 - equity / peak).max(0.0)
    } else {
        0.0
    }
}

/// Recomputes the drawdown column of a curve from its equity.
pub fn redraw(curve: &mut [EquityPoint], start: f64) {
    let mut peak = start;
    for point in curve {
        peak = peak.max(point.equity);
        point.drawdown = drawdown(point.equity, peak);
    }
}

/// Sums curves that each start at their own cash, on the union of their times: a curve counts
/// its starting cash before its first point and its last equity after its last.
pub fn sum_curves(curves: &[(f64, &[EquityPoint])]) -> Vec<EquityPoint> {
    let mut times: Vec<i64> = curves
        .iter()
        .flat_map(|(_, c)| c.iter().map(|p| p.time_ms))
        .collect();
    times.sort_unstable();
    times.dedup();
    let mut next = vec![0usize; curves.len()];
    let mut latest: Vec<f64> = curves.iter().map(|(cash, _)| *cash).collect();
    let start: f64 = latest.iter().sum();
    let mut out = Vec::with_capacity(times.len());
    for time_ms in times {
        for (k, (_, curve)) in curves.iter().enumerate() {
            while let Some(point) = curve.get(next[k]).filter(|p| p.time_ms <= time_ms) {
                latest[k] = point.equity;
                next[k] += 1;
            }
        }
        out.push(EquityPoint {
            time_ms,
            equity: latest.iter().sum(),
            drawdown: 0.0,
        });
    }
    redraw(&mut out, start);
    out
}

/// Sums the legs into one portfolio.
pub fn combine(legs: &[Leg<'_>]) -> Combined {
    let benchmarks: Vec<Vec<EquityPoint>> = legs
        .iter()
        .map(|leg| buy_and_hold(leg.candles, leg.backtest.costs.cash))
        .collect();
    let equity = sum_curves(
        &legs
            .iter()
            .map(|leg| (leg.backtest.costs.cash, leg.backtest.equity.as_slice()))
            .collect::<Vec<_>>(),
    );
    let benchmark = sum_curves(
        &legs
            .iter()
            .zip(&benchmarks)
            .map(|(leg, b)| (leg.backtest.costs.cash, b.as_slice()))
            .collect::<Vec<_>>(),
    );
    let mut trades: Vec<SymbolTrade> = legs
        .iter()
        .flat_map(|leg| {
            leg.backtest.trades.iter().map(|t| SymbolTrade {
                symbol: leg.symbol,
                trade: t.clone(),
            })
        })
        .collect();
    trades.sort_by_key(|t| (t.trade.exit_time_ms, t.trade.entry_time_ms));
    let exposure = legs
        .iter()
        .map(|leg| {
            let n = leg.backtest.equity.len().max(1) as f64;
            leg.weight * leg.backtest.exposed_candles as f64 / n
        })
        .sum();
    let start: f64 = legs.iter().map(|l| l.backtest.costs.cash).sum();
    let buy_and_hold_return = match benchmark.last() {
        Some(last) if start > 0.0 => last.equity / start - 1.0,
        _ => 0.0,
    };
    Combined {
        equity,
        benchmark,
        trades,
        exposure,
        buy_and_hold_return,
    }
}

/// `a:w,b:w` weights for `symbols`, or equal shares when `weights` is empty; they must be
/// positive and are scaled to sum to 1.
pub fn shares(symbols: &[Symbol], weights: &[f64]) -> Result<Vec<f64>, String> {
    if symbols.is_empty() {
        return Err("no symbols".into());
    }
    if weights.is_empty() {
        return Ok(vec![1.0 / symbols.len() as f64; symbols.len()]);
    }
    if weights.len() != symbols.len() {
        return Err(format!(
            "{} weights for {} symbols: give one weight per symbol, in the same order",
            weights.len(),
            symbols.len()
        ));
    }
    if let Some((i, w)) = weights
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w > 0.0))
    {
        return Err(format!(
            "weight {w} for {} is not a positive number",
            symbols[i].as_str()
        ));
    }
    let total: f64 = weights.iter().sum();
    Ok(weights.iter().map(|w| w / total).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(time_ms: i64, equity: f64) -> EquityPoint {
        EquityPoint {
            time_ms,
            equity,
            drawdown: 0.0,
        }
    }

    #[test]
    fn curves_sum_on_the_union_of_times_with_cash_before_and_last_value_after() {
        let a = [point(1, 110.0), point(2, 90.0), point(3, 100.0)];
        let b = [point(2, 50.0), point(4, 60.0)];
        let sum = sum_curves(&[(100.0, &a), (40.0, &b)]);
        let got: Vec<(i64, f64)> = sum.iter().map(|p| (p.time_ms, p.equity)).collect();
        assert_eq!(
            got,
            vec![(1, 150.0), (2, 140.0), (3, 150.0), (4, 160.0)],
            "b counts its cash 40 before its first point and its last value after"
        );
        assert!((sum[1].drawdown - (1.0 - 140.0 / 150.0)).abs() < 1e-12);
        assert_eq!(sum[3].drawdown, 0.0);
    }

    #[test]
    fn shares_are_equal_by_default_scaled_and_checked() {
        let s: Vec<Symbol> = ["BTCUSDT", "ETHUSDT"]
            .iter()
            .map(|x| x.parse().unwrap())
            .collect();
        assert_eq!(shares(&s, &[]).unwrap(), vec![0.5, 0.5]);
        assert_eq!(shares(&s, &[3.0, 1.0]).unwrap(), vec![0.75, 0.25]);
        let err = shares(&s, &[1.0]).unwrap_err();
        assert!(err.contains("1 weights for 2 symbols"), "{err}");
        let err = shares(&s, &[1.0, -2.0]).unwrap_err();
        assert!(err.contains("ETHUSDT"), "{err}");
        assert!(shares(&s, &[1.0, f64::NAN]).is_err());
        assert!(shares(&[], &[]).is_err());
    }
}
