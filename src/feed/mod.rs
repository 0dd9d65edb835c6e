//! Market data in. [`MarketSource`] is what an exchange is to the engine; `binance/` (the Binance
//! spot protocol: wire, client, rest, backfill) and `sim/` (the built-in exchange) implement it.
//! Nothing above this module names an exchange: [`open`] turns a [`Source`] into the one that
//! serves it.

pub mod binance;
pub mod sim;
mod source;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::{Candle, Clock, Interval, Symbol, Trade, WallClock};
pub use crate::domain::{FeedEvent, FeedEventKind, LinkState};
pub use source::{
    FeedRun, MarketSource, Page, RestError, Source, SourceError, SourceFuture, SourceSetup,
    exchange, history, open,
};

/// What the feed tells the engine.
#[derive(Clone, Debug, PartialEq)]
pub enum MarketEvent {
    /// A kline update from the websocket; `closed` marks the final version of the candle.
    Kline {
        symbol: Symbol,
        interval: Interval,
        candle: Candle,
        closed: bool,
    },
    /// Closed candles fetched over REST to fill a gap (oldest first).
    Backfill {
        symbol: Symbol,
        interval: Interval,
        candles: Vec<Candle>,
    },
    Trade {
        symbol: Symbol,
        trade: Trade,
    },
    /// Something that happened on the link, recorded as a feed event.
    Feed(FeedEvent),
    /// The connection's state changed.
    Link(LinkState),
    /// One connect attempt failed (refused, unreachable, no answer within the connect timeout,
    /// handshake refused): sent for every attempt, so the engine can count them.
    ConnectFailed,
}

/// Asks the running feed to do something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedControl {
    Reconnect,
}

/// Open time of the newest closed candle of each series the feed knows to be stored.
pub type LastClosed = HashMap<(Symbol, Interval), i64>;

/// What a running feed is asked for, whatever the exchange.
#[derive(Clone, Debug)]
pub struct FeedOptions {
    pub symbols: Vec<Symbol>,
    pub intervals: Vec<Interval>,
    pub trades: bool,
    /// Candles fetched for a series with nothing stored yet.
    pub initial_backfill: u32,
    pub silence_timeout: Duration,
    pub rotate_after: Duration,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// A connect (TCP, TLS and the websocket handshake) with no answer for this long has failed.
    pub connect_timeout: Duration,
    /// Where feed events, link states and retry times take "now" from.
    pub clock: Arc<dyn Clock>,
}

impl FeedOptions {
    /// The feed settings of `config` on the wall clock.
    pub fn from_config(feed: &crate::config::FeedConfig) -> Self {
        Self {
            symbols: feed.symbols.clone(),
            intervals: feed.intervals.clone(),
            trades: feed.trades,
            initial_backfill: feed.initial_backfill,
            silence_timeout: Duration::from_secs(feed.silence_timeout_secs),
            rotate_after: Duration::from_secs(feed.rotate_after_secs),
            reconnect_min: Duration::from_millis(feed.reconnect_min_ms),
            reconnect_max: Duration::from_millis(feed.reconnect_max_ms),
            connect_timeout: Duration::from_secs(feed.connect_timeout_secs),
            clock: Arc::new(WallClock),
        }
    }
}
