//! What the feed reports besides market data: events on the link and the link's state.

use serde::{Deserialize, Serialize};

/// Kinds of feed events, as stored in the `feed_events` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedEventKind {
    Connected,
    Disconnected,
    GapFound,
    Backfilled,
    /// A gap closed by backfill: every missing candle arrived.
    GapRepaired,
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
            FeedEventKind::GapRepaired => "gap_repaired",
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
            FeedEventKind::GapRepaired,
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

/// The state of the websocket connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LinkState {
    Connecting,
    Connected { since_ms: i64 },
    Down { reason: String, retry_at_ms: i64 },
}
