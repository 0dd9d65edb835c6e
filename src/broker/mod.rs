//! The order book simulation shared by backtests and paper trading: orders and their fills
//! against candles (`bar`, exactly as a backtest fills) or trade prints (`tick`), fees, slippage,
//! latency, the exchange's filters, accounts derived from fills, and the risk rules.

pub mod account;
pub mod book;
pub mod filters;
pub mod order;
pub mod risk;

pub use account::{Account, Open, Position, Trade};
pub use book::{Book, FillCosts, slip, trailing_trigger};
pub use order::{
    BookEvent, Brackets, Fill, Order, OrderId, OrderKind, OrderRequest, Origin, Reject, Side, Size,
};
pub use risk::{RiskRules, RiskState, Sizing, size_entry};

#[cfg(test)]
mod tests;
