//! Market data in: the Binance-protocol websocket client, REST backfill, and the simulated exchange.

mod backfill;
pub mod binance;
pub mod client;
pub mod rest;
pub mod sim;

use serde::{Deserialize, Serialize};

use crate::domain::{Candle, Interval, Symbol, Trade};

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
    Link(crate::protocol::LinkState),
}

/// Kinds of feed events, as stored in the `feed_events` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedEventKind {
    Connected,
    Disconnected,
    GapFound,
    Backfilled,
    ParseError,
    RateLimited,
}

impl FeedEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedEventKind::Connected => "connected",
            FeedEventKind::Disconnected => "disconnected",
            FeedEventKind::GapFound => "gap_found",
            FeedEventKind::Backfilled => "backfilled",
            FeedEventKind::ParseError => "parse_error",
            FeedEventKind::RateLimited => "rate_limited",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            FeedEventKind::Connected,
            FeedEventKind::Disconnected,
            FeedEventKind::GapFound,
            FeedEventKind::Backfilled,
            FeedEventKind::ParseError,
            FeedEventKind::RateLimited,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// One feed event: what happened, when, on which stream, how many candles it concerns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedEvent {
    pub time_ms: i64,
    pub kind: FeedEventKind,
    /// Stream name (`btcusdt@kline_1m`) or `*` for the whole connection.
    pub stream: String,
    pub detail: String,
    /// Candles missing (gap), fetched (backfill); otherwise 0.
    pub count: i64,
}
