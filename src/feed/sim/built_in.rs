//! The built-in exchange as a [`MarketSource`]: it serves the Binance protocol on loopback, so
//! this starts the server and delegates the feed and REST to the Binance client, under its own
//! name ("simulated" or "replay") and with `real_prices` false.
//!
//! Clocks: the exchange's own time is `start_ms + elapsed wall time * speed` (a replay's too); the
//! feed and the engine keep the wall clock they are given, which is right for a replay as well,
//! since it is served at wall speed (times `speed`) and every candle carries its own open time.

use std::path::PathBuf;

use tokio::sync::{mpsc, watch};

use super::{SimError, SimHandle, SimOptions};
use crate::domain::{Candle, Interval, Symbol, SymbolError, SymbolFilters};
use crate::feed::binance::Binance;
use crate::feed::{
    FeedControl, FeedOptions, FeedRun, LastClosed, MarketEvent, MarketSource, Page, RestError,
    SourceFuture, SourceSetup,
};

/// The built-in exchange, running, and a client for it.
#[derive(Debug)]
pub struct BuiltIn {
    handle: SimHandle,
    client: Binance,
    setup: SourceSetup,
}

impl BuiltIn {
    /// Starts the exchange on `addr` (port 0: the OS picks one).
    pub async fn start(options: SimOptions, addr: std::net::SocketAddr) -> Result<Self, SimError> {
        let (seed, speed, replay) = (options.seed, options.speed, options.replay.clone());
        let handle = super::start(options, addr).await?;
        Ok(Self::from_handle(handle, seed, speed, replay))
    }

    /// Wraps an exchange already started with `seed` and `speed` (and `replay`, if it replays).
    pub fn from_handle(handle: SimHandle, seed: u64, speed: f64, replay: Option<PathBuf>) -> Self {
        let (name, setup) = match replay {
            Some(path) => ("replay", SourceSetup::Replay { path }),
            None => ("simulated", SourceSetup::Simulated { seed, speed }),
        };
        let client = Binance::serving(name, false, &handle.ws_url(), &handle.rest_url());
        Self {
            handle,
            client,
            setup,
        }
    }

    /// The running exchange (its clock, its candles, its faults).
    pub fn handle(&self) -> &SimHandle {
        &self.handle
    }
}

impl MarketSource for BuiltIn {
    fn name(&self) -> &'static str {
        self.client.name()
    }

    fn real_prices(&self) -> bool {
        false
    }

    fn setup(&self) -> SourceSetup {
        self.setup.clone()
    }

    /// What the exchange lists (a replay: the symbol of its file), whatever was asked.
    fn symbols(&self, _asked: &[Symbol]) -> Vec<Symbol> {
        self.handle.symbols()
    }

    fn normalise_symbol(&self, text: &str) -> Result<Symbol, SymbolError> {
        self.client.normalise_symbol(text)
    }

    fn kline_stream(&self, symbol: Symbol, interval: Interval) -> String {
        self.client.kline_stream(symbol, interval)
    }

    fn trade_stream(&self, symbol: Symbol) -> String {
        self.client.trade_stream(symbol)
    }

    fn run(
        &self,
        options: FeedOptions,
        last_closed: LastClosed,
        events: mpsc::Sender<MarketEvent>,
        control: mpsc::Receiver<FeedControl>,
        shutdown: watch::Receiver<bool>,
    ) -> FeedRun {
        self.client
            .run(options, last_closed, events, control, shutdown)
    }

    fn server_time(&self) -> SourceFuture<'_, Result<i64, RestError>> {
        self.client.server_time()
    }

    fn klines_page(
        &self,
        symbol: Symbol,
        interval: Interval,
        start_ms: i64,
        end_ms: i64,
    ) -> SourceFuture<'_, Result<Page, RestError>> {
        self.client.klines_page(symbol, interval, start_ms, end_ms)
    }

    fn page_size(&self) -> usize {
        self.client.page_size()
    }

    /// Through the exchange's own exchangeInfo, as any Binance client reads it.
    fn filters(
        &self,
        symbols: &[Symbol],
    ) -> SourceFuture<'_, Result<Vec<(Symbol, SymbolFilters)>, RestError>> {
        self.client.filters(symbols)
    }

    fn closed_klines<'a>(
        &'a self,
        symbol: Symbol,
        interval: Interval,
        range: (i64, i64),
        server_now_ms: i64,
        events: &'a mpsc::Sender<MarketEvent>,
    ) -> SourceFuture<'a, Result<Vec<Candle>, RestError>> {
        self.client
            .closed_klines(symbol, interval, range, server_now_ms, events)
    }

    fn rest_url(&self) -> String {
        self.client.rest_url()
    }

    fn used_weight(&self) -> u32 {
        self.client.used_weight()
    }

    fn weight_limit_per_minute(&self) -> u32 {
        self.client.weight_limit_per_minute()
    }

    fn shutdown(&self) {
        self.handle.shutdown();
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::domain::{FeedEventKind, LinkState, ManualClock};

    #[tokio::test]
    async fn the_feed_stamps_links_and_events_with_its_clock() {
        let btc = Symbol::new("BTCUSDT").unwrap();
        let mut sim_options = SimOptions::new(3, vec![btc]);
        sim_options.history_minutes = 30;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let source = BuiltIn::start(sim_options, addr).await.unwrap();
        assert_eq!((source.name(), source.real_prices()), ("simulated", false));
        assert_eq!(
            source.streams(&[btc], &[Interval::M1], true),
            ["btcusdt@kline_1m", "btcusdt@trade"]
        );

        let clock = Arc::new(ManualClock::new(42_000));
        let options = FeedOptions {
            symbols: vec![btc],
            intervals: vec![Interval::M1],
            trades: false,
            initial_backfill: 5,
            silence_timeout: Duration::from_secs(30),
            rotate_after: Duration::from_secs(3600),
            reconnect_min: Duration::from_millis(50),
            reconnect_max: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(10),
            clock: clock.clone(),
        };
        let (tx, mut rx) = mpsc::channel(1024);
        let (_control, control_rx) = mpsc::channel(1);
        let (stop, stop_rx) = watch::channel(false);
        let feed = tokio::spawn(source.run(options, LastClosed::new(), tx, control_rx, stop_rx));
        let (mut since, mut connected_at) = (None, None);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while since.is_none() || connected_at.is_none() {
            let event = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .expect("the feed connects")
                .expect("the feed runs");
            match event {
                MarketEvent::Link(LinkState::Connected { since_ms }) => since = Some(since_ms),
                MarketEvent::Feed(e) if e.kind == FeedEventKind::Connected => {
                    connected_at = Some(e.time_ms)
                }
                _ => {}
            }
        }
        assert_eq!(since, Some(42_000));
        assert_eq!(connected_at, Some(42_000));
        stop.send_replace(true);
        feed.await.unwrap();
        source.shutdown();
    }
}
