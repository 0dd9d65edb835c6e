//! Market data in: the Binance-protocol websocket client, REST backfill, and the simulated exchange.

mod backfill;
pub mod binance;
pub mod client;
pub mod rest;
pub mod sim;

use crate::domain::{Candle, Interval, Symbol, Trade};
pub use crate::domain::{FeedEvent, FeedEventKind, LinkState};

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
}
