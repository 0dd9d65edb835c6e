//! The exchange seam: what an exchange is to the engine ([`MarketSource`]), which one a run asks
//! for ([`Source`]), and [`open`], the one place that maps a name to an implementation.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::{FeedControl, FeedOptions, LastClosed, MarketEvent};
use crate::config::{FeedConfig, SourceKind};
use crate::domain::{Candle, Clock, Interval, Symbol, SymbolError, SymbolFilters};

/// A running feed: the future [`MarketSource::run`] returns, spawned by the engine's runtime.
pub type FeedRun = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A boxed future borrowing the source (the trait is used as `dyn MarketSource`).
pub type SourceFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One page of closed klines, oldest first.
pub type Page = Vec<Candle>;

/// What an exchange is to the engine. The engine, the download job and the views see only this
/// trait; a new exchange implements it in `feed/<exchange>/` and gets an arm in [`open`].
pub trait MarketSource: Send + Sync + std::fmt::Debug {
    /// Lower-case name shown to the user: `binance`, `simulated`, `replay`.
    fn name(&self) -> &'static str;

    /// Whether the prices are a real market's (not simulated, not replayed).
    fn real_prices(&self) -> bool;

    /// What the source is set up with, as the views describe it.
    fn setup(&self) -> SourceSetup;

    /// The symbols served of those asked for (a replay serves the symbol of its file).
    fn symbols(&self, asked: &[Symbol]) -> Vec<Symbol> {
        asked.to_vec()
    }

    /// A symbol as a user may type it (`btc/usdt`, `BTC-USDT`, `btcusdt`) in the exchange's form.
    fn normalise_symbol(&self, text: &str) -> Result<Symbol, SymbolError>;

    /// The name of a kline stream, as feed events and the Health pane show it.
    fn kline_stream(&self, symbol: Symbol, interval: Interval) -> String;

    /// The name of a trade stream.
    fn trade_stream(&self, symbol: Symbol) -> String;

    /// Every stream of `symbols` × `intervals`: kline streams symbol-major, then trade streams.
    fn streams(&self, symbols: &[Symbol], intervals: &[Interval], trades: bool) -> Vec<String> {
        let mut out = Vec::with_capacity(symbols.len() * (intervals.len() + 1));
        for &s in symbols {
            out.extend(intervals.iter().map(|&i| self.kline_stream(s, i)));
        }
        if trades {
            out.extend(symbols.iter().map(|&s| self.trade_stream(s)));
        }
        out
    }

    /// The live feed: connects, reconnects, backfills what `last_closed` says is missing, and
    /// sends every event to `events` until `shutdown` turns true.
    fn run(
        &self,
        options: FeedOptions,
        last_closed: LastClosed,
        events: mpsc::Sender<MarketEvent>,
        control: mpsc::Receiver<FeedControl>,
        shutdown: watch::Receiver<bool>,
    ) -> FeedRun;

    /// The exchange's clock over REST.
    fn server_time(&self) -> SourceFuture<'_, Result<i64, RestError>>;

    /// One page of at most [`MarketSource::page_size`] klines with
    /// `start_ms <= open_time <= end_ms`, oldest first (the last may still be open).
    fn klines_page(
        &self,
        symbol: Symbol,
        interval: Interval,
        start_ms: i64,
        end_ms: i64,
    ) -> SourceFuture<'_, Result<Page, RestError>>;

    /// Klines in one full page.
    fn page_size(&self) -> usize;

    /// The exchange filters (price tick, quantity step, smallest quantity and order value) of
    /// `symbols`, in their order, once each, as the exchange states them; what an order placed
    /// there (or a paper order that should behave like one) must respect. A symbol the exchange
    /// does not list is an error.
    fn filters(
        &self,
        symbols: &[Symbol],
    ) -> SourceFuture<'_, Result<Vec<(Symbol, SymbolFilters)>, RestError>>;

    /// All closed candles with `from_ms <= open_time < to_ms` closed before `server_now_ms`,
    /// paged; rate limits are waited out and reported to `events`.
    fn closed_klines<'a>(
        &'a self,
        symbol: Symbol,
        interval: Interval,
        range: (i64, i64),
        server_now_ms: i64,
        events: &'a mpsc::Sender<MarketEvent>,
    ) -> SourceFuture<'a, Result<Vec<Candle>, RestError>>;

    /// The REST base URL, for reports.
    fn rest_url(&self) -> String;

    /// The request weight used this minute, as the exchange last reported it.
    fn used_weight(&self) -> u32;

    /// The exchange's request-weight limit per minute for one IP.
    fn weight_limit_per_minute(&self) -> u32;

    /// Stops whatever the source started itself (the built-in exchange's server).
    fn shutdown(&self) {}

    /// For a caller that knows the implementation (tests reach the built-in exchange's faults).
    fn as_any(&self) -> &dyn std::any::Any;
}

/// What a source is set up with, for the views.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceSetup {
    /// The built-in market model.
    Simulated { seed: u64, speed: f64 },
    /// A recorded file served by the built-in exchange.
    Replay { path: PathBuf },
    /// An exchange at this websocket URL.
    Endpoint { url: String },
}

/// Which source a run asks for (`--source` laid over `feed.source`).
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// The built-in simulated exchange on a loopback port.
    Sim,
    /// The built-in exchange replaying a recorded file.
    Replay(PathBuf),
    /// A real exchange, by the name the config gives it, at these URLs.
    Exchange {
        name: String,
        ws_url: String,
        rest_url: String,
    },
}

impl Source {
    /// Whether the prices will be a real market's (they go to the real database).
    pub fn real_prices(&self) -> bool {
        matches!(self, Source::Exchange { .. })
    }

    /// The source `kind` names in the feed config.
    pub fn configured(kind: SourceKind, feed: &FeedConfig) -> Self {
        match kind {
            SourceKind::Sim => Source::Sim,
            SourceKind::Replay => Source::Replay(PathBuf::from(&feed.sim.replay)),
            SourceKind::Binance => Source::Exchange {
                name: "binance".into(),
                ws_url: feed.binance.ws_url.clone(),
                rest_url: feed.binance.rest_url.clone(),
            },
        }
    }

    /// `--source` (sim | binance | replay | replay:PATH) laid over `feed.source`.
    pub fn resolve(flag: Option<&str>, feed: &FeedConfig) -> Result<Self, String> {
        match flag {
            None => Ok(Self::configured(feed.source, feed)),
            Some("sim") => Ok(Source::Sim),
            Some("binance") => Ok(Self::configured(SourceKind::Binance, feed)),
            Some("replay") if !feed.sim.replay.is_empty() => {
                Ok(Self::configured(SourceKind::Replay, feed))
            }
            Some(other) => match other.strip_prefix("replay:") {
                Some(path) if !path.is_empty() => Ok(Source::Replay(PathBuf::from(path))),
                _ => Err(format!(
                    "--source {other:?}: use sim, binance, or replay:PATH (replay alone needs feed.sim.replay)"
                )),
            },
        }
    }
}

/// Why a source could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Sim(#[from] super::sim::SimError),
    #[error("no exchange called {0:?} is built in")]
    UnknownExchange(String),
}

/// A failed REST request, whatever the exchange.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("GET {url}: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("GET {url}: HTTP 429 rate limited, retry after {retry_after:?}")]
    RateLimited { url: String, retry_after: Duration },
    #[error("GET {url}: HTTP 418, this IP is banned by the exchange; stopping REST requests")]
    Banned { url: String },
    #[error("GET {url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("GET {url}: bad answer: {source}")]
    Parse {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A real exchange by name, for live data (`ws_url`) and history (`rest_url`).
pub fn exchange(
    name: &str,
    ws_url: &str,
    rest_url: &str,
    clock: &Arc<dyn Clock>,
) -> Result<Box<dyn MarketSource>, SourceError> {
    match name {
        "binance" => Ok(Box::new(
            super::binance::Binance::new(ws_url, rest_url).with_clock(clock.clone()),
        )),
        other => Err(SourceError::UnknownExchange(other.to_string())),
    }
}

/// The protocol the built-in exchange speaks, for a REST URL given with a built-in source.
const BUILT_IN_PROTOCOL: &str = "binance";

/// History only (`download`): the REST side of the exchange `source` names, at `rest_url`; a URL
/// given with the built-in exchange as the source is read with the protocol that one speaks.
pub fn history(
    source: &Source,
    rest_url: &str,
    clock: &Arc<dyn Clock>,
) -> Result<Box<dyn MarketSource>, SourceError> {
    let name = match source {
        Source::Exchange { name, .. } => name.as_str(),
        Source::Sim | Source::Replay(_) => BUILT_IN_PROTOCOL,
    };
    exchange(name, "", rest_url, clock)
}

/// Opens `source`: a real exchange is only named; the built-in one is started (its market
/// beginning after `stored_until_ms`, the close of the newest stored candle, so a stored candle is
/// never replaced by a different simulated one).
pub async fn open(
    source: &Source,
    config: &FeedConfig,
    stored_until_ms: Option<i64>,
    clock: &Arc<dyn Clock>,
) -> Result<Box<dyn MarketSource>, SourceError> {
    match source {
        Source::Exchange {
            name,
            ws_url,
            rest_url,
        } => exchange(name, ws_url, rest_url, clock),
        Source::Sim | Source::Replay(_) => {
            let replay = match source {
                Source::Replay(p) => Some(p.clone()),
                _ => None,
            };
            // A replay serves the symbol its file is named after (XRPETH-trades.csv: XRPETH).
            let symbols = if replay.is_some() {
                Vec::new()
            } else {
                config.symbols.clone()
            };
            let mut options = super::sim::SimOptions::new(config.sim.seed, symbols);
            options.speed = config.sim.speed;
            options.history_minutes = config.sim.history_minutes;
            if replay.is_none() {
                // The built-in exchange runs ahead of the wall clock (60x by default), so an
                // earlier run may have stored candles "in the future".
                let now = Interval::M1.floor(clock.now_ms());
                let start_ms =
                    stored_until_ms.map_or(now, |t| now.max(Interval::M1.floor(t) + 60_000));
                options.start_ms = Some(start_ms);
                options.shocks = super::sim::config_shocks(&config.sim, &options.symbols, start_ms);
            }
            options.replay = replay;
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], config.sim.port));
            Ok(Box::new(super::sim::BuiltIn::start(options, addr).await?))
        }
    }
}
