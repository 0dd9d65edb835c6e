//! Plain market types shared by every module: symbols, intervals, candles, trades. No I/O.

mod candle;
mod interval;
mod symbol;

pub use candle::{Candle, CandleError, Trade, TradeAggregator};
pub use interval::{Interval, IntervalError};
pub use symbol::{Symbol, SymbolError};
