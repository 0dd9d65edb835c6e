//! One symbol's money: cash, the open position and the closed round trips, derived from fills
//! alone. A backtest's book and a paper account are both this, folded over their fills.

use serde::{Deserialize, Serialize};

use super::order::{Fill, Side};

/// A position to hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    Flat,
    Long,
    Short,
}

/// A closed round trip (flat to flat).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    pub side: Position,
    /// Time of the entry fill (a backtest: the open time of the candle whose open filled it).
    pub entry_time_ms: i64,
    /// The entry fill's price (several entries: their quantity-weighted mean).
    #[serde(with = "crate::domain::float")]
    pub entry_price: f64,
    pub exit_time_ms: i64,
    #[serde(with = "crate::domain::float")]
    pub exit_price: f64,
    /// The largest quantity held.
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

/// The position open now.
#[derive(Clone, Debug, PartialEq)]
pub struct Open {
    pub side: Position,
    pub quantity: f64,
    pub entry_price: f64,
    pub entry_time_ms: i64,
    /// Entry commission of what is still open plus what was closed of it.
    pub entry_fee: f64,
    /// Money put in at entry (notional plus fees), for the return.
    invested: f64,
    /// The entry fee of the quantity still open.
    fee_open: f64,
    peak_quantity: f64,
    /// Closed so far: gross P&L, exit fees, exit notional and quantity (for the mean exit).
    closed_gross: f64,
    exit_fees: f64,
    exit_notional: f64,
    exit_quantity: f64,
    /// The price of the first exit fill (one exit: the exit price, bit for bit).
    first_exit: Option<f64>,
}

/// Cash, position and round trips of one symbol, derived from its fills.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub start_cash: f64,
    pub cash: f64,
    pub open: Option<Open>,
    pub trades: Vec<Trade>,
    /// Commission paid, all fills.
    pub fees: f64,
    /// P&L of closed quantities, after their fees.
    pub realised: f64,
    /// Signed quantity: the sum of buy fills minus the sum of sell fills.
    pub net_quantity: f64,
}

impl Account {
    pub fn new(cash: f64) -> Self {
        Self {
            start_cash: cash,
            cash,
            open: None,
            trades: Vec::new(),
            fees: 0.0,
            realised: 0.0,
            net_quantity: 0.0,
        }
    }

    /// The position held.
    pub fn position(&self) -> Position {
        self.open.as_ref().map_or(Position::Flat, |o| o.side)
    }

    /// Cash plus the open position at `mark`.
    pub fn equity(&self, mark: f64) -> f64 {
        match &self.open {
            Some(o) if o.side == Position::Long => self.cash + o.quantity * mark,
            Some(o) => self.cash - o.quantity * mark,
            None => self.cash,
        }
    }

    /// P&L of the open position at `mark`, before exit costs.
    pub fn unrealised(&self, mark: f64) -> f64 {
        match &self.open {
            Some(o) if o.side == Position::Long => (mark - o.entry_price) * o.quantity,
            Some(o) => (o.entry_price - mark) * o.quantity,
            None => 0.0,
        }
    }

    /// Applies one fill: cash moves by its notional and fee; it opens, adds to, reduces, closes
    /// or reverses the position (a reversal closes at the fill's price and opens the rest).
    pub fn apply(&mut self, fill: &Fill) {
        match fill.side {
            Side::Buy => {
                self.cash -= fill.quantity * fill.price + fill.fee;
                self.net_quantity += fill.quantity;
            }
            Side::Sell => {
                self.cash += fill.quantity * fill.price - fill.fee;
                self.net_quantity -= fill.quantity;
            }
        }
        self.fees += fill.fee;
        let opening = match (&self.open, fill.side) {
            (None, _) => true,
            (Some(o), Side::Buy) => o.side == Position::Long,
            (Some(o), Side::Sell) => o.side == Position::Short,
        };
        if opening {
            self.add(fill.side, fill.quantity, fill.price, fill.fee, fill.time_ms);
            return;
        }
        let held = self.open.as_ref().map_or(0.0, |o| o.quantity);
        if fill.quantity <= held * (1.0 + 1e-12) {
            self.reduce(fill.quantity.min(held), fill.price, fill.fee, fill.time_ms);
        } else {
            // Reversal: the fee is split in proportion to the quantities.
            let share = held / fill.quantity;
            let rest = fill.quantity - held;
            self.reduce(held, fill.price, fill.fee * share, fill.time_ms);
            self.add(
                fill.side,
                rest,
                fill.price,
                fill.fee * (1.0 - share),
                fill.time_ms,
            );
        }
    }

    fn add(&mut self, side: Side, quantity: f64, price: f64, fee: f64, time_ms: i64) {
        match &mut self.open {
            None => {
                self.open = Some(Open {
                    side: match side {
                        Side::Buy => Position::Long,
                        Side::Sell => Position::Short,
                    },
                    quantity,
                    entry_price: price,
                    entry_time_ms: time_ms,
                    entry_fee: fee,
                    invested: quantity * price + fee,
                    fee_open: fee,
                    peak_quantity: quantity,
                    closed_gross: 0.0,
                    exit_fees: 0.0,
                    exit_notional: 0.0,
                    exit_quantity: 0.0,
                    first_exit: None,
                });
            }
            Some(o) => {
                let total = o.quantity + quantity;
                o.entry_price = (o.entry_price * o.quantity + price * quantity) / total;
                o.quantity = total;
                o.entry_fee += fee;
                o.fee_open += fee;
                o.invested += quantity * price + fee;
                o.peak_quantity = o.peak_quantity.max(total);
            }
        }
    }

    fn reduce(&mut self, quantity: f64, price: f64, fee: f64, time_ms: i64) {
        let Some(o) = self.open.as_mut() else { return };
        let gross = match o.side {
            Position::Long => (price - o.entry_price) * quantity,
            _ => (o.entry_price - price) * quantity,
        };
        o.closed_gross += gross;
        o.exit_fees += fee;
        o.exit_notional += price * quantity;
        o.exit_quantity += quantity;
        o.first_exit.get_or_insert(price);
        // The entry fee of the closed part counts against it.
        let entry_fee_share = o.fee_open * (quantity / o.quantity).min(1.0);
        o.fee_open -= entry_fee_share;
        self.realised += gross - fee - entry_fee_share;
        o.quantity -= quantity;
        if o.quantity > o.peak_quantity * 1e-12 {
            return;
        }
        let Some(o) = self.open.take() else { return };
        let fees = o.entry_fee + o.exit_fees;
        let pnl = o.closed_gross - fees;
        let exit_price = if o.exit_quantity == quantity {
            o.first_exit.unwrap_or(price)
        } else {
            o.exit_notional / o.exit_quantity
        };
        self.trades.push(Trade {
            side: o.side,
            entry_time_ms: o.entry_time_ms,
            entry_price: o.entry_price,
            exit_time_ms: time_ms,
            exit_price,
            quantity: o.peak_quantity,
            fees,
            pnl,
            return_pct: 100.0 * pnl / o.invested,
        });
    }
}
