//! The paper account as the Trade pane shows it, the orders a view places by hand, and the
//! alerts a view shows as toasts. Transfer types of their own.

use serde::{Deserialize, Serialize};

use crate::domain::Symbol;

/// Buy or sell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderSide {
    #[default]
    Buy,
    Sell,
}

/// How an order placed by hand is priced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketKind {
    #[default]
    Market,
    Limit,
}

/// An order placed by hand from the Trade pane. `quantity: None` sizes it by the risk rules
/// (`[paper.risk]`); the exits are prices (stop-loss, take-profit) and a trailing distance as a
/// fraction of the price (0.02 = 2 %), placed once the entry fills.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderTicket {
    pub symbol: Symbol,
    pub side: OrderSide,
    pub kind: TicketKind,
    pub quantity: Option<f64>,
    /// Required for a limit order.
    pub limit_price: Option<f64>,
    pub stop_loss: Option<f64>,
    pub take_profit: Option<f64>,
    pub trailing: Option<f64>,
}

/// An open position.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaperPosition {
    pub symbol: Symbol,
    /// "long" or "short".
    pub side: String,
    pub quantity: f64,
    pub entry_price: f64,
    pub entry_time_ms: i64,
    /// The last price seen.
    pub mark: f64,
    pub unrealised: f64,
}

/// An order resting in the paper book.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaperOrder {
    pub id: i64,
    pub symbol: Symbol,
    pub side: OrderSide,
    /// "market", "limit", "stop-loss", "take-profit", "trailing".
    pub kind: String,
    /// `None`: sized when it fills (a share of equity, or the whole position for an exit).
    pub quantity: Option<f64>,
    /// The limit or trigger price (a trailing stop's current trigger).
    pub price: Option<f64>,
    pub placed_ms: i64,
    /// "signal" or "manual" (an exit carries its entry's origin).
    pub origin: String,
}

/// A fill.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaperFill {
    pub order_id: i64,
    pub symbol: Symbol,
    pub side: OrderSide,
    pub quantity: f64,
    pub price: f64,
    pub fee: f64,
    /// Paid the maker fee (a resting limit order).
    pub maker: bool,
    pub time_ms: i64,
    /// "signal", "manual", "stop-loss", "take-profit", "trailing".
    pub reason: String,
}

/// The risk rules' state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RiskView {
    /// The drawdown kill switch: set, no new entries until reset by a key.
    pub kill_switch: bool,
    /// Why and when it tripped.
    pub kill_reason: Option<String>,
    /// Symbols in a cooldown after a stop-loss, and until when.
    pub cooldowns: Vec<(Symbol, i64)>,
    pub open_positions: usize,
    pub max_open_positions: usize,
    /// The drawdown that trips the kill switch (0..1).
    pub max_drawdown: f64,
    /// The last order refused, with the rule that refused it.
    pub last_rejection: Option<String>,
}

/// The paper account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PaperView {
    /// Off (`[paper] enabled = false`): the pane says how to turn it on.
    pub enabled: bool,
    /// "bar" or "tick".
    pub mode: String,
    pub quote_asset: String,
    /// When the account was opened (its first log entry).
    pub started_ms: i64,
    pub start_cash: f64,
    pub cash: f64,
    pub equity: f64,
    pub realised: f64,
    pub unrealised: f64,
    pub fees: f64,
    /// Below the equity's peak so far, now and at most (0..1).
    pub drawdown: f64,
    pub max_drawdown: f64,
    pub positions: Vec<PaperPosition>,
    pub orders: Vec<PaperOrder>,
    /// Newest last, at most [`RECENT_FILLS`].
    pub fills: Vec<PaperFill>,
    /// Fills since the account opened (the list above keeps only the newest).
    #[serde(default)]
    pub fills_total: u64,
    /// Equity at each closed candle (time, equity), thinned to at most [`CURVE_POINTS`].
    pub equity_curve: Vec<(i64, f64)>,
    /// Buy-and-hold of the same cash over the same candles.
    pub buy_and_hold: Vec<(i64, f64)>,
    pub risk: RiskView,
    /// What happened that the trader should know: resting orders evaluated over a downtime
    /// against backfilled candles, an account restored from its log.
    pub notes: Vec<String>,
}

/// Fills kept in the view.
pub const RECENT_FILLS: usize = 50;
/// Points kept in the equity curve.
pub const CURVE_POINTS: usize = 500;

/// How loud an alert is where it is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertLevel {
    /// A toast and the terminal bell.
    #[default]
    On,
    /// A toast only.
    Silent,
}

/// An alert as the console shows it (a toast; the bell when `level` is on).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertToast {
    pub time_ms: i64,
    /// The event kind, as configured under `[alerts.events]` (`signal`, `fill`, `stop`, ...).
    pub event: String,
    pub level: AlertLevel,
    pub title: String,
    pub text: String,
}
