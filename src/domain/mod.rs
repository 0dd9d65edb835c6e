//! Plain market types shared by every module: symbols, intervals, market calendars, candles,
//! trades. No I/O.

mod calendar;
mod candle;
mod interval;
mod symbol;

pub use calendar::{
    Calendar, CalendarError, DAILY_CLOSURE_DAYS, INTRADAY_CLOSURE_DAYS, closure_days,
};
pub use candle::{Candle, CandleError, Trade, TradeAggregator};
pub use interval::{Interval, IntervalError};
pub use symbol::{Symbol, SymbolError};
