//! What the Trade pane shows of the account: `PaperView` made from the book, the risk state and
//! the equity followed at each closed candle.

use std::collections::HashMap;

use crate::broker::{Order, OrderKind, Origin, Position, Side, Size, trailing_trigger};
use crate::domain::{Candle, Symbol, thin};
use crate::protocol::{
    CURVE_POINTS, OrderSide, PaperFill, PaperOrder, PaperPosition, PaperView, RECENT_FILLS,
    RiskView,
};

use super::PaperComponent;

/// Equity at each closed candle, and buy-and-hold of the same cash over the same candles.
#[derive(Debug, Default)]
pub struct EquityTrack {
    curve: Vec<(i64, f64)>,
    buy_and_hold: Vec<(i64, f64)>,
    /// Per symbol: the first close seen and the newest.
    closes: HashMap<Symbol, (f64, f64)>,
    peak: f64,
    max_drawdown: f64,
    last_ms: i64,
}

impl EquityTrack {
    /// A candle of `symbol` closed; `equity` is the account's after it, opened with
    /// `start_cash` over `symbols` symbols.
    pub fn on_close(
        &mut self,
        symbol: Symbol,
        c: &Candle,
        equity: f64,
        start_cash: f64,
        symbols: usize,
    ) {
        let entry = self.closes.entry(symbol).or_insert((c.close, c.close));
        entry.1 = c.close;
        self.last_ms = self.last_ms.max(c.open_time_ms);
        push(&mut self.curve, c.open_time_ms, equity);
        let hold = self.hold_value(start_cash, symbols);
        push(&mut self.buy_and_hold, c.open_time_ms, hold);
        self.peak = self.peak.max(equity);
        if self.peak > 0.0 {
            self.max_drawdown = self.max_drawdown.max(1.0 - equity / self.peak);
        }
    }

    /// Buy-and-hold of `cash` shared equally over `symbols`, at the newest closes.
    fn hold_value(&self, cash: f64, symbols: usize) -> f64 {
        let share = cash / symbols.max(1) as f64;
        let held: f64 = self
            .closes
            .values()
            .map(|(first, last)| share * last / first)
            .sum();
        held + share * symbols.saturating_sub(self.closes.len()) as f64
    }
}

/// Appends a point, or replaces the one at its time when several symbols close at one time
/// (a symbol's backfill can come after another's: a point older than the newest replaces its
/// own time's, or is left out).
fn push(curve: &mut Vec<(i64, f64)>, time_ms: i64, value: f64) {
    match curve.last_mut() {
        Some(last) if last.0 == time_ms => last.1 = value,
        Some(last) if last.0 > time_ms => {
            if let Ok(i) = curve.binary_search_by_key(&time_ms, |p| p.0) {
                curve[i].1 = value;
            }
            return;
        }
        _ => curve.push((time_ms, value)),
    }
    // Bounded: thinned to half when it doubles the view's points.
    if curve.len() > 4 * CURVE_POINTS {
        let kept: Vec<(i64, f64)> = curve.iter().step_by(2).copied().collect();
        *curve = kept;
    }
}

fn side(s: Side) -> OrderSide {
    match s {
        Side::Buy => OrderSide::Buy,
        Side::Sell => OrderSide::Sell,
    }
}

fn order_view(o: &Order) -> PaperOrder {
    let (kind, price) = match o.kind {
        OrderKind::Market => ("market", None),
        OrderKind::Limit { price } => (
            if o.origin == Origin::TakeProfit {
                "take-profit"
            } else {
                "limit"
            },
            Some(price),
        ),
        OrderKind::Stop { trigger } => (
            if o.origin == Origin::StopLoss {
                "stop-loss"
            } else {
                "stop"
            },
            Some(trigger),
        ),
        OrderKind::Trailing { distance, extreme } => (
            "trailing",
            Some(trailing_trigger(o.side == Side::Buy, distance, extreme)),
        ),
    };
    PaperOrder {
        id: o.id as i64,
        symbol: o.symbol,
        side: side(o.side),
        kind: kind.into(),
        quantity: match o.size {
            Size::Quantity(q) => Some(q),
            _ => None,
        },
        price,
        placed_ms: o.placed_ms,
        origin: o.origin.as_str().into(),
    }
}

pub(super) fn build(p: &PaperComponent) -> PaperView {
    let book = &p.book;
    let mut positions = Vec::new();
    let (mut cash, mut realised, mut unrealised, mut fees, mut start_cash) =
        (0.0, 0.0, 0.0, 0.0, 0.0);
    for symbol in book.symbols() {
        let Some(a) = book.account(symbol) else {
            continue;
        };
        cash += a.cash;
        realised += a.realised;
        fees += a.fees;
        start_cash += a.start_cash;
        if let Some(open) = &a.open {
            let mark = book.mark(symbol).unwrap_or(open.entry_price);
            let u = a.unrealised(mark);
            unrealised += u;
            positions.push(PaperPosition {
                symbol,
                side: if open.side == Position::Long {
                    "long"
                } else {
                    "short"
                }
                .into(),
                quantity: open.quantity,
                entry_price: open.entry_price,
                entry_time_ms: open.entry_time_ms,
                mark,
                unrealised: u,
            });
        }
    }
    let equity = book.equity();
    let t = &p.track;
    let fills = p
        .fills
        .iter()
        .rev()
        .take(RECENT_FILLS)
        .rev()
        .map(|f| PaperFill {
            order_id: f.order_id as i64,
            symbol: f.symbol,
            side: side(f.side),
            quantity: f.quantity,
            price: f.price,
            fee: f.fee,
            maker: f.maker,
            time_ms: f.time_ms,
            reason: f.origin.as_str().into(),
        })
        .collect();
    PaperView {
        enabled: true,
        mode: p.config.mode.as_str().into(),
        quote_asset: p.config.quote_asset.clone(),
        started_ms: p.opened_ms,
        start_cash,
        cash,
        equity,
        realised,
        unrealised,
        fees,
        drawdown: p.risk.drawdown(equity),
        max_drawdown: t.max_drawdown,
        positions,
        orders: book.orders().iter().map(order_view).collect(),
        fills,
        fills_total: p.fills.len() as u64,
        equity_curve: thin(&t.curve, CURVE_POINTS),
        buy_and_hold: thin(&t.buy_and_hold, CURVE_POINTS),
        risk: RiskView {
            kill_switch: p.risk.killed.is_some(),
            kill_reason: p
                .risk
                .killed
                .as_ref()
                .map(|(ms, why)| format!("{why} at {}", crate::fmt::utc_datetime(*ms))),
            cooldowns: p.risk.cooldowns.clone(),
            open_positions: book.open_positions(),
            max_open_positions: p.rules.max_open_positions,
            max_drawdown: p.rules.max_drawdown,
            last_rejection: p.last_rejection.clone(),
        },
        notes: p.notes.clone(),
    }
}
