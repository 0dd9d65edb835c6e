//! Plain types shared by every module: symbols, intervals, market calendars, candles, trades,
//! signals, feed events and the link state, the clock time is read from, and a backtest's metrics.
//! No I/O.

mod backtest_metrics;
mod calendar;
mod candle;
mod clock;
mod feed_event;
mod filters;
#[cfg(test)]
pub mod fixtures;
mod interval;
mod signal;
mod symbol;
mod thin;
mod time;

pub use backtest_metrics::{BacktestMetrics, float};
pub use calendar::{
    Calendar, CalendarError, DAILY_CLOSURE_DAYS, INTRADAY_CLOSURE_DAYS, closure_days,
};
pub use candle::{Candle, CandleError, Trade, TradeAggregator};
pub use clock::{Clock, ManualClock, WallClock, wall_clock_ms};
pub use feed_event::{FeedEvent, FeedEventKind, LinkState};
pub use filters::SymbolFilters;
pub use interval::{Interval, IntervalError};
pub use signal::Signal;
pub use symbol::{Symbol, SymbolError};
pub use thin::thin;
pub use time::{MAX_SPAN_MS, parse_span, parse_time};
