//! The paper account read as a backtest: its fills replayed over the stored candles of its
//! window give each symbol's equity curve and round trips (an open position is closed at the
//! last close, as a backtest closes it), and `reconcile` lists, trade by trade, where paper and a
//! backtest of the same model, costs and candles differ.

use serde::Serialize;

use super::portfolio::SymbolTrade;
use super::sim::{Backtest, Costs, EquityPoint, Position, Trade};
use crate::broker::{Account, Fill, Side, slip};
use crate::domain::{Candle, Symbol};

/// `symbol`'s paper fills over its candles: equity at each close (fills up to the candle's
/// end are in), and the round trips with a position still open closed at the last close with
/// `slippage_bps` and the taker `fee` (as a backtest does, so the two compare one to one).
pub fn paper_leg(
    symbol: Symbol,
    candles: &[Candle],
    fills: &[Fill],
    costs: Costs,
    interval_ms: i64,
) -> Backtest {
    let mut account = Account::new(costs.cash);
    let mut next = 0;
    let mut equity = Vec::with_capacity(candles.len());
    let mut peak = costs.cash;
    let mut exposed_candles = 0;
    for c in candles {
        let end = c.open_time_ms + interval_ms;
        while next < fills.len() && fills[next].time_ms < end {
            account.apply(&fills[next]);
            next += 1;
        }
        let value = account.equity(c.close);
        peak = peak.max(value);
        equity.push(EquityPoint {
            time_ms: c.open_time_ms,
            equity: value,
            drawdown: if peak > 0.0 { 1.0 - value / peak } else { 0.0 },
        });
        exposed_candles += usize::from(account.position() != Position::Flat);
    }
    if let (Some(last), Some(open)) = (candles.last(), account.open.clone()) {
        let side = if open.side == Position::Long {
            Side::Sell
        } else {
            Side::Buy
        };
        let price = slip(last.close, side, costs.slippage_bps);
        account.apply(&Fill {
            order_id: 0,
            symbol,
            side,
            quantity: open.quantity,
            price,
            fee: open.quantity * price * costs.fee,
            maker: false,
            time_ms: last.open_time_ms,
            origin: crate::broker::Origin::Signal,
        });
        if let Some(point) = equity.last_mut() {
            point.equity = account.cash;
            peak = peak.max(account.cash);
            point.drawdown = 1.0 - account.cash / peak;
        }
    }
    Backtest {
        strategy: "paper".into(),
        costs,
        trades: account.trades,
        equity,
        exposed_candles,
    }
}

/// A trade as the reconciliation shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TradeBrief {
    pub side: Position,
    pub entry_time_ms: i64,
    pub entry_price: f64,
    pub exit_time_ms: i64,
    pub exit_price: f64,
    pub quantity: f64,
    pub fees: f64,
    pub pnl: f64,
}

impl From<&Trade> for TradeBrief {
    fn from(t: &Trade) -> Self {
        Self {
            side: t.side,
            entry_time_ms: t.entry_time_ms,
            entry_price: t.entry_price,
            exit_time_ms: t.exit_time_ms,
            exit_price: t.exit_price,
            quantity: t.quantity,
            fees: t.fees,
            pnl: t.pnl,
        }
    }
}

/// One difference between paper and the backtest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    pub symbol: Symbol,
    /// `missing` (the backtest traded, paper did not), `extra` (paper only), or `changed`.
    pub kind: &'static str,
    /// For `changed`: which of entry_time, entry_price, exit_time, exit_price, quantity, fees
    /// differ.
    pub fields: Vec<&'static str>,
    pub paper: Option<TradeBrief>,
    pub backtest: Option<TradeBrief>,
    /// Paper's P&L minus the backtest's for this trade (a missing trade: minus its P&L).
    pub pnl_effect: f64,
}

/// The window compared.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reconciliation {
    pub window: Window,
    pub trades_paper: usize,
    pub trades_backtest: usize,
    pub differences: Vec<Difference>,
    pub pnl_paper: f64,
    pub pnl_backtest: f64,
    /// Paper's P&L minus the backtest's: the sum of the differences' effects.
    pub pnl_effect: f64,
}

/// Pairs each symbol's paper trades with the backtest's: the same side, entered at the same
/// time or, failing that, the nearest within `match_within_ms` (tick mode enters between candle
/// opens). Prices and fees are compared to a relative 1e-9, times exactly.
pub fn reconcile(
    window: Window,
    paper: &[SymbolTrade],
    backtest: &[SymbolTrade],
    match_within_ms: i64,
) -> Reconciliation {
    let mut differences = Vec::new();
    let mut used = vec![false; backtest.len()];
    for p in paper {
        let best = backtest
            .iter()
            .enumerate()
            .filter(|(i, b)| !used[*i] && b.symbol == p.symbol && b.trade.side == p.trade.side)
            .map(|(i, b)| (i, (b.trade.entry_time_ms - p.trade.entry_time_ms).abs()))
            .filter(|(_, gap)| *gap <= match_within_ms)
            .min_by_key(|(_, gap)| *gap);
        match best {
            Some((i, _)) => {
                used[i] = true;
                let b = &backtest[i];
                let fields = changed(&p.trade, &b.trade);
                if !fields.is_empty() {
                    differences.push(Difference {
                        symbol: p.symbol,
                        kind: "changed",
                        fields,
                        paper: Some((&p.trade).into()),
                        backtest: Some((&b.trade).into()),
                        pnl_effect: p.trade.pnl - b.trade.pnl,
                    });
                }
            }
            None => differences.push(Difference {
                symbol: p.symbol,
                kind: "extra",
                fields: Vec::new(),
                paper: Some((&p.trade).into()),
                backtest: None,
                pnl_effect: p.trade.pnl,
            }),
        }
    }
    for (b, _) in backtest.iter().zip(&used).filter(|(_, u)| !**u) {
        differences.push(Difference {
            symbol: b.symbol,
            kind: "missing",
            fields: Vec::new(),
            paper: None,
            backtest: Some((&b.trade).into()),
            pnl_effect: -b.trade.pnl,
        });
    }
    differences.sort_by_key(|d| {
        d.paper
            .as_ref()
            .or(d.backtest.as_ref())
            .map_or(0, |t| t.entry_time_ms)
    });
    let pnl_paper: f64 = paper.iter().map(|t| t.trade.pnl).sum();
    let pnl_backtest: f64 = backtest.iter().map(|t| t.trade.pnl).sum();
    Reconciliation {
        window,
        trades_paper: paper.len(),
        trades_backtest: backtest.len(),
        // `+ 0.0`: an empty sum is -0.0, which would print as "-0.0000".
        pnl_effect: differences.iter().map(|d| d.pnl_effect).sum::<f64>() + 0.0,
        differences,
        pnl_paper,
        pnl_backtest,
    }
}

fn changed(p: &Trade, b: &Trade) -> Vec<&'static str> {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-12);
    let mut out = Vec::new();
    if p.entry_time_ms != b.entry_time_ms {
        out.push("entry_time");
    }
    if !close(p.entry_price, b.entry_price) {
        out.push("entry_price");
    }
    if p.exit_time_ms != b.exit_time_ms {
        out.push("exit_time");
    }
    if !close(p.exit_price, b.exit_price) {
        out.push("exit_price");
    }
    if !close(p.quantity, b.quantity) {
        out.push("quantity");
    }
    if !close(p.fees, b.fees) {
        out.push("fees");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(entry: i64, price: f64, pnl: f64) -> SymbolTrade {
        SymbolTrade {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            trade: Trade {
                side: Position::Long,
                entry_time_ms: entry,
                entry_price: price,
                exit_time_ms: entry + 60_000,
                exit_price: price + 1.0,
                quantity: 1.0,
                fees: 0.1,
                pnl,
                return_pct: 1.0,
            },
        }
    }

    #[test]
    fn differences_are_listed_trade_by_trade_with_their_effect_on_pnl() {
        let w = Window {
            from_ms: 0,
            to_ms: 1,
        };
        let paper = vec![
            trade(0, 100.0, 0.9),
            trade(120_000, 101.5, 0.4),
            trade(600_000, 99.0, 2.0),
        ];
        let backtest = vec![
            trade(0, 100.0, 0.9),
            trade(120_000, 101.0, 0.9),
            trade(300_000, 98.0, -1.0),
        ];
        let r = reconcile(w, &paper, &backtest, 0);
        assert_eq!(r.differences.len(), 3, "{:#?}", r.differences);
        assert_eq!(r.differences[0].kind, "changed");
        assert_eq!(r.differences[0].fields, vec!["entry_price", "exit_price"]);
        assert_eq!(r.differences[1].kind, "missing");
        assert_eq!(r.differences[2].kind, "extra");
        assert!((r.pnl_effect - (r.pnl_paper - r.pnl_backtest)).abs() < 1e-12);
        let same = reconcile(w, &paper, &paper, 0);
        assert!(same.differences.is_empty());
        assert_eq!(same.pnl_effect, 0.0);
    }
}
