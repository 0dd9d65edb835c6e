//! The simulator: one symbol's candles through a strategy, with the engine's fill rules.

use serde::{Deserialize, Serialize};

use super::strategy::Strategy;
use crate::broker::{Book, FillCosts, OrderKind, OrderRequest, Origin, Side, Size};
pub use crate::broker::{Position, Trade};
use crate::domain::{Candle, Symbol, SymbolFilters};

/// Money, costs and sizing.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Costs {
    #[serde(with = "crate::domain::float")]
    pub cash: f64,
    /// Commission as a fraction of the traded notional, charged at entry and at exit.
    #[serde(with = "crate::domain::float")]
    pub fee: f64,
    /// Slippage against the trade, in basis points of the fill price.
    #[serde(with = "crate::domain::float")]
    pub slippage_bps: f64,
    /// Fraction of equity put into each position.
    #[serde(with = "crate::domain::float")]
    pub fraction: f64,
    /// Whether the strategy's `Short` is taken (otherwise it means flat).
    pub allow_short: bool,
}

impl Default for Costs {
    fn default() -> Self {
        Self {
            cash: 10_000.0,
            fee: 0.0,
            slippage_bps: 0.0,
            fraction: 1.0,
            allow_short: false,
        }
    }
}

/// Equity at a candle's close, and how far below its peak so far (0..1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EquityPoint {
    pub time_ms: i64,
    #[serde(with = "crate::domain::float")]
    pub equity: f64,
    #[serde(with = "crate::domain::float")]
    pub drawdown: f64,
}

/// What a backtest produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Backtest {
    pub strategy: String,
    pub costs: Costs,
    pub trades: Vec<Trade>,
    pub equity: Vec<EquityPoint>,
    /// Candles that closed with a position open.
    pub exposed_candles: usize,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BacktestError {
    #[error("no candles to test on")]
    NoCandles,
    #[error("{what} = {value} is not allowed: {why}")]
    BadCosts {
        what: &'static str,
        value: f64,
        why: &'static str,
    },
    #[error("candle {index} (open_time_ms {open_time_ms}) is not after the one before it")]
    OutOfOrder { index: usize, open_time_ms: i64 },
    #[error("candle {index} (open_time_ms {open_time_ms}) is not a valid candle: {why}")]
    BadCandle {
        index: usize,
        open_time_ms: i64,
        why: String,
    },
}

impl Costs {
    fn check(&self) -> Result<(), BacktestError> {
        let bad = |what, value, why| Err(BacktestError::BadCosts { what, value, why });
        if !(self.cash.is_finite() && self.cash > 0.0) {
            return bad("cash", self.cash, "must be a positive amount");
        }
        if !(self.fee.is_finite() && (0.0..0.5).contains(&self.fee)) {
            return bad("fee", self.fee, "must be a fraction in [0, 0.5)");
        }
        if !(self.slippage_bps.is_finite() && (0.0..5_000.0).contains(&self.slippage_bps)) {
            return bad(
                "slippage_bps",
                self.slippage_bps,
                "must be in [0, 5000) bps",
            );
        }
        if !(self.fraction.is_finite() && self.fraction > 0.0 && self.fraction <= 1.0) {
            return bad("fraction", self.fraction, "must be in (0, 1]");
        }
        Ok(())
    }
}

/// Runs `strategy` over `candles` (one symbol, oldest first). The decision made at the close of
/// candle t is filled at the open of candle t+1; a position still open after the last candle is
/// closed at that candle's close (with slippage and fee), so every trade is counted.
pub fn run(
    candles: &[Candle],
    strategy: &mut dyn Strategy,
    costs: Costs,
) -> Result<Backtest, BacktestError> {
    run_with_filters(candles, strategy, costs, SymbolFilters::NONE)
}

/// A market order the simulator places; it cannot be refused (the symbol is the book's own and
/// the sizes are checked), so a refusal is only logged.
fn submit(book: &mut Book, symbol: Symbol, side: Side, size: Size, at_ms: i64) {
    let request = OrderRequest {
        symbol,
        side,
        kind: OrderKind::Market,
        size,
        brackets: Default::default(),
        origin: Origin::Signal,
    };
    if let Err(e) = book.submit(request, at_ms) {
        tracing::debug!("backtest: order refused: {e}");
    }
}

/// [`run`] with an exchange's filters: quantities go down to the step, and an entry below the
/// minimums is not taken (as the paper account does).
pub fn run_with_filters(
    candles: &[Candle],
    strategy: &mut dyn Strategy,
    costs: Costs,
    filters: SymbolFilters,
) -> Result<Backtest, BacktestError> {
    costs.check()?;
    if candles.is_empty() {
        return Err(BacktestError::NoCandles);
    }
    for (index, pair) in candles.windows(2).enumerate() {
        if pair[1].open_time_ms <= pair[0].open_time_ms {
            return Err(BacktestError::OutOfOrder {
                index: index + 1,
                open_time_ms: pair[1].open_time_ms,
            });
        }
    }
    for (index, c) in candles.iter().enumerate() {
        if let Err(e) = c.validate() {
            return Err(BacktestError::BadCandle {
                index,
                open_time_ms: c.open_time_ms,
                why: e.to_string(),
            });
        }
    }
    let symbol = Symbol::new("BACKTEST").map_err(|_| BacktestError::NoCandles)?;
    let mut book = Book::new(FillCosts {
        maker_fee: costs.fee,
        taker_fee: costs.fee,
        slippage_bps: costs.slippage_bps,
        latency_ms: 0,
    });
    book.add_symbol(symbol, costs.cash, filters);
    let held = |book: &Book| {
        book.account(symbol)
            .map_or(Position::Flat, |a| a.position())
    };
    let mut events = Vec::new();
    let mut equity = Vec::with_capacity(candles.len());
    let mut peak = costs.cash;
    let mut exposed_candles = 0;
    for candle in candles {
        // Orders placed at the previous close fill at this candle's open.
        book.on_bar(symbol, candle, &mut events);
        let value = book.equity();
        peak = peak.max(value);
        equity.push(EquityPoint {
            time_ms: candle.open_time_ms,
            equity: value,
            drawdown: if peak > 0.0 { 1.0 - value / peak } else { 0.0 },
        });
        let now = held(&book);
        exposed_candles += usize::from(now != Position::Flat);
        let wanted = match strategy.on_close(candle) {
            Position::Short if !costs.allow_short => Position::Flat,
            p => p,
        };
        if wanted != now {
            let at = candle.open_time_ms;
            if now != Position::Flat {
                let side = if now == Position::Long {
                    Side::Sell
                } else {
                    Side::Buy
                };
                submit(&mut book, symbol, side, Size::Close, at);
            }
            if wanted != Position::Flat {
                let side = if wanted == Position::Long {
                    Side::Buy
                } else {
                    Side::Sell
                };
                submit(
                    &mut book,
                    symbol,
                    side,
                    Size::EquityFraction(costs.fraction),
                    at,
                );
            }
        }
    }
    if let Some(last) = candles.last() {
        // What the last close decided is dropped; an open position closes at the last close.
        for id in book.orders().iter().map(|o| o.id).collect::<Vec<_>>() {
            let _ = book.cancel(id);
        }
        let now = held(&book);
        if now != Position::Flat {
            let side = if now == Position::Long {
                Side::Sell
            } else {
                Side::Buy
            };
            submit(&mut book, symbol, side, Size::Close, last.open_time_ms);
            book.on_print(symbol, last.close, last.open_time_ms, &mut events);
        }
        let cash = book.account(symbol).map_or(costs.cash, |a| a.cash);
        if let Some(point) = equity.last_mut() {
            point.equity = cash;
            peak = peak.max(cash);
            point.drawdown = 1.0 - cash / peak;
        }
    }
    let trades = book
        .account(symbol)
        .map(|a| a.trades.clone())
        .unwrap_or_default();
    Ok(Backtest {
        strategy: strategy.name(),
        costs,
        trades,
        equity,
        exposed_candles,
    })
}
