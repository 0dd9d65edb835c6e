//! The simulator: one symbol's candles through a strategy, with the engine's fill rules.

use serde::{Deserialize, Serialize};

use super::strategy::Strategy;
use crate::domain::Candle;

/// A position to hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    Flat,
    Long,
    Short,
}

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

/// A closed round trip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    pub side: Position,
    /// Open time of the candle whose open filled the entry (or exit).
    pub entry_time_ms: i64,
    #[serde(with = "crate::domain::float")]
    pub entry_price: f64,
    pub exit_time_ms: i64,
    #[serde(with = "crate::domain::float")]
    pub exit_price: f64,
    #[serde(with = "crate::domain::float")]
    pub quantity: f64,
    /// Commission paid at entry and exit.
    #[serde(with = "crate::domain::float")]
    pub fees: f64,
    #[serde(with = "crate::domain::float")]
    pub pnl: f64,
    /// `pnl` over the money put in at entry (notional plus entry fee), in percent.
    #[serde(with = "crate::domain::float")]
    pub return_pct: f64,
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

/// An open position.
struct Open {
    side: Position,
    quantity: f64,
    entry_price: f64,
    entry_time_ms: i64,
    entry_fee: f64,
}

struct Book {
    cash: f64,
    open: Option<Open>,
    trades: Vec<Trade>,
    costs: Costs,
}

impl Book {
    fn value(&self, price: f64) -> f64 {
        match &self.open {
            Some(o) if o.side == Position::Long => self.cash + o.quantity * price,
            Some(o) => self.cash - o.quantity * price,
            None => self.cash,
        }
    }

    fn slip(&self, price: f64, buying: bool) -> f64 {
        let s = self.costs.slippage_bps / 10_000.0;
        if buying {
            price * (1.0 + s)
        } else {
            price * (1.0 - s)
        }
    }

    fn enter(&mut self, side: Position, price: f64, time_ms: i64) {
        let fill = self.slip(price, side == Position::Long);
        let budget = self.value(price) * self.costs.fraction;
        let quantity = budget / (fill * (1.0 + self.costs.fee));
        let fee = quantity * fill * self.costs.fee;
        match side {
            Position::Long => self.cash -= quantity * fill + fee,
            _ => self.cash += quantity * fill - fee,
        }
        self.open = Some(Open {
            side,
            quantity,
            entry_price: fill,
            entry_time_ms: time_ms,
            entry_fee: fee,
        });
    }

    fn exit(&mut self, price: f64, time_ms: i64) {
        let Some(o) = self.open.take() else { return };
        let fill = self.slip(price, o.side == Position::Short);
        let fee = o.quantity * fill * self.costs.fee;
        let gross = match o.side {
            Position::Long => {
                self.cash += o.quantity * fill - fee;
                (fill - o.entry_price) * o.quantity
            }
            _ => {
                self.cash -= o.quantity * fill + fee;
                (o.entry_price - fill) * o.quantity
            }
        };
        let fees = o.entry_fee + fee;
        let pnl = gross - fees;
        let invested = o.quantity * o.entry_price + o.entry_fee;
        self.trades.push(Trade {
            side: o.side,
            entry_time_ms: o.entry_time_ms,
            entry_price: o.entry_price,
            exit_time_ms: time_ms,
            exit_price: fill,
            quantity: o.quantity,
            fees,
            pnl,
            return_pct: 100.0 * pnl / invested,
        });
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
    let mut book = Book {
        cash: costs.cash,
        open: None,
        trades: Vec::new(),
        costs,
    };
    let mut wanted = Position::Flat;
    let mut equity = Vec::with_capacity(candles.len());
    let mut peak = costs.cash;
    let mut exposed_candles = 0;
    for candle in candles {
        let held = book.open.as_ref().map_or(Position::Flat, |o| o.side);
        if wanted != held {
            book.exit(candle.open, candle.open_time_ms);
            if wanted != Position::Flat {
                book.enter(wanted, candle.open, candle.open_time_ms);
            }
        }
        let value = book.value(candle.close);
        peak = peak.max(value);
        equity.push(EquityPoint {
            time_ms: candle.open_time_ms,
            equity: value,
            drawdown: if peak > 0.0 { 1.0 - value / peak } else { 0.0 },
        });
        exposed_candles += usize::from(book.open.is_some());
        wanted = match strategy.on_close(candle) {
            Position::Short if !costs.allow_short => Position::Flat,
            p => p,
        };
    }
    if let Some(last) = candles.last() {
        book.exit(last.close, last.open_time_ms);
        if let Some(point) = equity.last_mut() {
            point.equity = book.cash;
            peak = peak.max(book.cash);
            point.drawdown = 1.0 - book.cash / peak;
        }
    }
    Ok(Backtest {
        strategy: strategy.name(),
        costs,
        trades: book.trades,
        equity,
        exposed_candles,
    })
}
