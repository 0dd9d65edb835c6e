//! Orders, fills and refusals: what the fill engine takes, produces and says no with.

use serde::{Deserialize, Serialize};

use crate::domain::Symbol;

/// Identifies an order within an account (the paper log's, or a backtest's own count).
pub type OrderId = u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

/// How an order is priced.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum OrderKind {
    /// At the next price: the next candle's open (bar) or the first print after the latency
    /// (tick), plus slippage; taker fee.
    Market,
    /// At `price` or better, only once the market trades through it; maker fee.
    Limit { price: f64 },
    /// A market order once the price reaches `trigger` (a sell at or below, a buy at or above);
    /// fills at the worse of the trigger and the price that reached it, plus slippage.
    Stop { trigger: f64 },
    /// A stop that follows the best price since it was placed at `distance` (a fraction) behind
    /// it; `extreme` is that best price so far.
    Trailing { distance: f64, extreme: f64 },
}

impl OrderKind {
    pub fn name(&self) -> &'static str {
        match self {
            OrderKind::Market => "market",
            OrderKind::Limit { .. } => "limit",
            OrderKind::Stop { .. } => "stop",
            OrderKind::Trailing { .. } => "trailing",
        }
    }
}

/// How much an order trades.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "size", content = "value")]
pub enum Size {
    /// This quantity of the base asset.
    Quantity(f64),
    /// This share of the symbol's equity at the fill (as a backtest sizes a position): the
    /// quantity is that money over the fill price plus its fee.
    EquityFraction(f64),
    /// The whole open position (an exit); cancelled when there is none.
    Close,
}

/// Why an order exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The model's signal.
    Signal,
    /// Placed by hand.
    Manual,
    /// An entry's stop-loss.
    StopLoss,
    /// An entry's take-profit.
    TakeProfit,
    /// An entry's trailing stop.
    Trailing,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Signal => "signal",
            Origin::Manual => "manual",
            Origin::StopLoss => "stop-loss",
            Origin::TakeProfit => "take-profit",
            Origin::Trailing => "trailing",
        }
    }

    /// An exit placed for an entry.
    pub fn is_exit(self) -> bool {
        matches!(
            self,
            Origin::StopLoss | Origin::TakeProfit | Origin::Trailing
        )
    }
}

/// Exits placed once an entry fills: a stop-loss and take-profit price, a trailing distance
/// (fraction). They cancel one another: the first to fill cancels the rest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Brackets {
    pub stop_loss: Option<f64>,
    pub take_profit: Option<f64>,
    pub trailing: Option<f64>,
}

impl Brackets {
    pub fn is_empty(&self) -> bool {
        self.stop_loss.is_none() && self.take_profit.is_none() && self.trailing.is_none()
    }
}

/// An order as asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderRequest {
    pub symbol: Symbol,
    pub side: Side,
    pub kind: OrderKind,
    pub size: Size,
    #[serde(default)]
    pub brackets: Brackets,
    pub origin: Origin,
}

/// An order in the book.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub symbol: Symbol,
    pub side: Side,
    pub kind: OrderKind,
    pub size: Size,
    #[serde(default)]
    pub brackets: Brackets,
    pub origin: Origin,
    pub placed_ms: i64,
    /// When it reaches the exchange (placed + latency): no fill before.
    pub active_from_ms: i64,
    /// The entry whose exits this belongs to (its siblings are cancelled when it fills).
    #[serde(default)]
    pub parent: Option<OrderId>,
}

/// An order filled (wholly: the simulation has no partial fills).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    pub order_id: OrderId,
    pub symbol: Symbol,
    pub side: Side,
    pub quantity: f64,
    pub price: f64,
    pub fee: f64,
    /// Paid the maker fee.
    pub maker: bool,
    pub time_ms: i64,
    pub origin: Origin,
}

/// What the book did besides filling.
#[derive(Clone, Debug, PartialEq)]
pub enum BookEvent {
    Fill(Fill),
    /// An exit placed because its entry filled.
    Placed(Order),
    Cancelled {
        id: OrderId,
        symbol: Symbol,
        time_ms: i64,
        reason: String,
    },
}

/// An order refused, saying which rule refused it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Reject {
    #[error("{what} {value} is not allowed: it must be a finite number above 0")]
    BadNumber { what: &'static str, value: f64 },
    #[error("{0} is not traded by this account")]
    UnknownSymbol(Symbol),
    #[error(
        "quantity {quantity} rounds down to {rounded} at the step {step}, below the minimum {min_qty}"
    )]
    BelowMinQty {
        quantity: f64,
        rounded: f64,
        step: f64,
        min_qty: f64,
    },
    #[error("order value {notional:.4} is below the exchange's minimum notional {min_notional}")]
    BelowMinNotional { notional: f64, min_notional: f64 },
    #[error("{0}")]
    Bracket(String),
    #[error("no open position to close")]
    NothingToClose,
    #[error("no order {0} is open")]
    NoSuchOrder(OrderId),
    #[error("risk rule {rule}: {why}")]
    Risk { rule: &'static str, why: String },
}
