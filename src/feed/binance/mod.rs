//! Binance spot market data: the wire format (`wire`), the websocket client (`client`), the
//! streams split over connections (`connections`), the REST client (`rest`), exchangeInfo's
//! filters (`exchange_info`) and REST backfill (`backfill`), behind [`MarketSource`] as [`Binance`].

mod backfill;
pub mod client;
pub mod connections;
pub mod exchange_info;
pub mod rest;
mod session;
pub mod wire;

pub use wire::*;

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::{
    FeedControl, FeedOptions, FeedRun, LastClosed, MarketEvent, MarketSource, Page, RestError,
    SourceFuture, SourceSetup,
};
use crate::domain::{Candle, Clock, Interval, Symbol, SymbolError, SymbolFilters, WallClock};
use rest::{KLINES_PAGE, RestClient};

/// Binance's request-weight limit per minute for one IP.
pub const WEIGHT_LIMIT_PER_MINUTE: u32 = 6000;

/// An exchange speaking the Binance spot protocol at a websocket and a REST base URL.
#[derive(Clone, Debug)]
pub struct Binance {
    ws_url: String,
    rest: RestClient,
    name: &'static str,
    real_prices: bool,
    /// "Now" for the feed events of [`MarketSource::closed_klines`]; `run` takes its options'.
    clock: Arc<dyn Clock>,
}

impl Binance {
    /// Binance itself (or any exchange that speaks its protocol with real prices).
    pub fn new(ws_url: &str, rest_url: &str) -> Self {
        Self {
            ws_url: ws_url.to_string(),
            rest: RestClient::new(rest_url),
            name: "binance",
            real_prices: true,
            clock: Arc::new(WallClock),
        }
    }

    /// The same, taking "now" from `clock`.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self { clock, ..self }
    }

    /// The same protocol served by another exchange under its own name (the built-in one).
    pub fn serving(name: &'static str, real_prices: bool, ws_url: &str, rest_url: &str) -> Self {
        Self {
            name,
            real_prices,
            ..Self::new(ws_url, rest_url)
        }
    }

    /// The combined-stream URL for every stream of `options`.
    pub fn stream_url(&self, options: &FeedOptions) -> String {
        client::stream_url(&self.ws_url, options)
    }
}

/// `btc/usdt`, `BTC-USDT`, ` btcusdt ` → `BTCUSDT`.
pub fn normalise_symbol(text: &str) -> Result<Symbol, SymbolError> {
    let joined: String = text
        .chars()
        .filter(|c| !matches!(c, '/' | '-' | '_' | ' '))
        .collect();
    Symbol::new(&joined)
}

impl MarketSource for Binance {
    fn name(&self) -> &'static str {
        self.name
    }

    fn real_prices(&self) -> bool {
        self.real_prices
    }

    fn setup(&self) -> SourceSetup {
        SourceSetup::Endpoint {
            url: self.ws_url.clone(),
        }
    }

    fn normalise_symbol(&self, text: &str) -> Result<Symbol, SymbolError> {
        normalise_symbol(text)
    }

    fn kline_stream(&self, symbol: Symbol, interval: Interval) -> String {
        kline_stream(symbol, interval)
    }

    fn trade_stream(&self, symbol: Symbol) -> String {
        trade_stream(symbol)
    }

    fn run(
        &self,
        options: FeedOptions,
        last_closed: LastClosed,
        events: mpsc::Sender<MarketEvent>,
        control: mpsc::Receiver<FeedControl>,
        shutdown: watch::Receiver<bool>,
    ) -> FeedRun {
        Box::pin(connections::run(
            self.ws_url.clone(),
            self.rest.clone(),
            options,
            last_closed,
            events,
            control,
            shutdown,
        ))
    }

    fn server_time(&self) -> SourceFuture<'_, Result<i64, RestError>> {
        Box::pin(self.rest.server_time())
    }

    fn klines_page(
        &self,
        symbol: Symbol,
        interval: Interval,
        start_ms: i64,
        end_ms: i64,
    ) -> SourceFuture<'_, Result<Page, RestError>> {
        Box::pin(async move {
            let rows = self
                .rest
                .klines(symbol, interval, start_ms, end_ms, KLINES_PAGE)
                .await?;
            Ok(rows.into_iter().map(|row| row.candle).collect())
        })
    }

    fn page_size(&self) -> usize {
        KLINES_PAGE
    }

    fn filters(
        &self,
        symbols: &[Symbol],
    ) -> SourceFuture<'_, Result<Vec<(Symbol, SymbolFilters)>, RestError>> {
        let symbols = symbols.to_vec();
        Box::pin(async move { self.rest.filters(&symbols).await })
    }

    fn closed_klines<'a>(
        &'a self,
        symbol: Symbol,
        interval: Interval,
        (from_ms, to_ms): (i64, i64),
        server_now_ms: i64,
        events: &'a mpsc::Sender<MarketEvent>,
    ) -> SourceFuture<'a, Result<Vec<Candle>, RestError>> {
        Box::pin(self.rest.closed_klines(
            symbol,
            interval,
            from_ms,
            to_ms,
            server_now_ms,
            events,
            self.clock.as_ref(),
        ))
    }

    fn rest_url(&self) -> String {
        self.rest.base().to_string()
    }

    fn used_weight(&self) -> u32 {
        self.rest.used_weight()
    }

    fn weight_limit_per_minute(&self) -> u32 {
        WEIGHT_LIMIT_PER_MINUTE
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_normalised_to_the_exchange_form() {
        for typed in ["btc/usdt", "BTC-USDT", "btcusdt", " BTC_USDT "] {
            assert_eq!(normalise_symbol(typed).unwrap().as_str(), "BTCUSDT");
        }
        assert!(normalise_symbol("btc.usdt").is_err());
    }
}
