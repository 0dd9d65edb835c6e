//! A symbol's exchange filters, as Binance's `exchangeInfo` states them: the price tick, the
//! quantity step and the smallest order value. The broker rounds and refuses orders with them.

use serde::{Deserialize, Serialize};

/// What an order of one symbol must respect. A zero means the exchange states no such filter.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SymbolFilters {
    /// Prices are multiples of this (`PRICE_FILTER.tickSize`).
    pub tick_size: f64,
    /// Quantities are multiples of this (`LOT_SIZE.stepSize`).
    pub step_size: f64,
    /// The smallest quantity (`LOT_SIZE.minQty`).
    pub min_qty: f64,
    /// The smallest order value, price × quantity (`NOTIONAL.minNotional` or the older
    /// `MIN_NOTIONAL.minNotional`).
    pub min_notional: f64,
}

impl SymbolFilters {
    /// No filter at all (a backtest without an exchange).
    pub const NONE: SymbolFilters = SymbolFilters {
        tick_size: 0.0,
        step_size: 0.0,
        min_qty: 0.0,
        min_notional: 0.0,
    };
}

impl Default for SymbolFilters {
    fn default() -> Self {
        Self::NONE
    }
}
