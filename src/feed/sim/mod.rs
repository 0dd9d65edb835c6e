//! The built-in simulated exchange: a deterministic market model (or a recorded file) served over
//! the Binance spot market-data protocol (REST + websocket) on one loopback TCP port.
//!
//! What it does where Binance leaves a choice, or where it differs:
//! - The `1s` interval is not served: REST answers 400 `{"code":-1120,"msg":"Invalid interval."}`
//!   and a websocket request naming a `1s` stream is refused with HTTP 400 before the upgrade, as
//!   is any unknown stream or symbol. Subscribing by `SUBSCRIBE` message is not supported.
//! - Sim time is `start_ms + real elapsed * speed`. The model's series begins `history_minutes`
//!   before `start_ms`, so REST has history at once; the same seed, symbols, start and history give
//!   the same candles and trades. Every model minute has at least one trade, so the 1m series has
//!   no holes; a minute's candle appears (REST's last row, `x:false` updates) from its first trade.
//! - Closed klines on a stream equal the REST candle of the same open time exactly; each
//!   connection sends every candle that closed since its last push, in order, never skipping one.
//! - Replay: the sim clock starts at the file's first candle + `history_minutes` (or `start_ms`
//!   when given); what lies before is history, the rest is revealed as the clock passes it, and
//!   the stream falls silent (pings only) after the last record. The symbol comes from the file
//!   name (`XRPETH-trades.csv` → `XRPETH`) unless `symbols` holds exactly one symbol. Candle files
//!   serve their own interval and coarser multiples of it; a candle of such a file shows up only
//!   once closed (there are no trades to show it growing).
//! - Connections: pings every `ping_interval`; a client silent to pings for 60 s, or not taking a
//!   push's frames within 10 s, is dropped; every connection is closed (close frame) after
//!   `max_connection_age`. REST keeps HTTP/1.1 connections alive (closed after 30 s idle) and
//!   reports `X-MBX-USED-WEIGHT-1M`. A request head must arrive whole within `request_timeout` of
//!   its first byte; a websocket message or frame from a client over 64 KiB, fragmented or not,
//!   drops the connection (clients only ever need to send pongs and close frames).
//! - `exchangeInfo` (all listings, or `symbol=` / `symbols=[...]`) states PRICE_FILTER, LOT_SIZE
//!   and NOTIONAL (min 5 of a dollar-like quote asset) from the model's price and quantity
//!   decimals; a replay states no filters, since its file does not say what the tick was.
//! - Memory: each symbol keeps its history plus one simulated day of one-minute candles (a ring
//!   allocated once; REST and streams serve nothing older) and its recent trades (10 s of real
//!   time, at most 50,000), so a long run stays flat.
//! - Fault injection: see [`SimFaults`] for connection faults; [`SimOptions::shocks`] multiplies one
//!   symbol's return volatility by a factor from a given minute on ([`VolatilityShock`]), leaving
//!   the other symbols and the minutes before it bit-identical (`serve-sim --shock`, `[feed.sim]
//!   shocks`); [`generate_candles`] gives the same candles without a server.

mod built_in;
mod exchange;
mod exchange_info;
mod faults;
mod market;
mod replay;
mod rest;
mod rng;
mod server;
mod shock;
mod stream;
mod tape;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use built_in::BuiltIn;
pub use faults::SimFaults;
pub use market::{SymbolParams, intraday_activity};
pub use shock::{
    MAX_SHOCK_FACTOR, ShockSpec, VolatilityShock, config_shocks, factor_problem, parse_shock,
};

use crate::domain::{Candle, Interval, Symbol};
use exchange::Exchange;

/// How the simulated exchange runs.
#[derive(Clone, Debug, PartialEq)]
pub struct SimOptions {
    pub seed: u64,
    /// Simulated milliseconds per real millisecond (60: one simulated minute per real second).
    pub speed: f64,
    pub symbols: Vec<Symbol>,
    /// One-minute candles that exist before the start.
    pub history_minutes: u32,
    /// Sim time at start; `None`: the wall clock floored to the minute (model) or the first
    /// record + history (replay).
    pub start_ms: Option<i64>,
    /// Serve this recorded file instead of the model.
    pub replay: Option<PathBuf>,
    /// How often (real time) each websocket connection is sent what happened since the last push.
    pub push_interval: Duration,
    /// How often (real time) a ping frame is sent.
    pub ping_interval: Duration,
    /// A websocket connection is closed after this long (real time), like Binance's 24 h.
    pub max_connection_age: Duration,
    /// A request head (a REST request or a websocket handshake) and its body must arrive whole
    /// within this long of their first byte, or the connection is closed.
    pub request_timeout: Duration,
    /// Volatility shocks of the market model (none with a replay); each must name one of
    /// `symbols`.
    pub shocks: Vec<VolatilityShock>,
}

impl SimOptions {
    /// Defaults: speed 60, 1500 minutes of history, start at the wall clock, pushes every 250 ms,
    /// pings every 20 s, connections closed after 24 h, requests due within 10 s.
    pub fn new(seed: u64, symbols: Vec<Symbol>) -> Self {
        Self {
            seed,
            speed: 60.0,
            symbols,
            history_minutes: 1500,
            start_ms: None,
            replay: None,
            push_interval: Duration::from_millis(250),
            ping_interval: Duration::from_secs(20),
            max_connection_age: Duration::from_secs(24 * 3600),
            request_timeout: Duration::from_secs(10),
            shocks: Vec::new(),
        }
    }

    fn check(&self) -> Result<(), SimError> {
        let invalid = |option, reason: &str| {
            Err(SimError::InvalidOption {
                option,
                reason: reason.to_string(),
            })
        };
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return invalid("speed", "must be a finite number above 0");
        }
        if self.replay.is_none() && self.symbols.is_empty() {
            return invalid("symbols", "the market model needs at least one symbol");
        }
        if self.push_interval.is_zero() {
            return invalid("push_interval", "must be above 0");
        }
        if self.ping_interval.is_zero() {
            return invalid("ping_interval", "must be above 0");
        }
        if self.max_connection_age.is_zero() {
            return invalid("max_connection_age", "must be above 0");
        }
        if self.request_timeout.is_zero() {
            return invalid("request_timeout", "must be above 0");
        }
        if self.replay.is_some() && !self.shocks.is_empty() {
            return invalid(
                "shocks",
                "a replay plays its file as recorded; shocks apply to the market model only",
            );
        }
        for (i, shock) in self.shocks.iter().enumerate() {
            if let Some(problem) = factor_problem(shock.factor) {
                return invalid("shocks", &format!("{}: {problem}", shock.symbol));
            }
            if !self.symbols.contains(&shock.symbol) {
                let simulated: Vec<&str> = self.symbols.iter().map(|s| s.as_str()).collect();
                return invalid(
                    "shocks",
                    &format!(
                        "{} is not simulated (symbols: {})",
                        shock.symbol,
                        simulated.join(" ")
                    ),
                );
            }
            if self.shocks[..i]
                .iter()
                .any(|s| s.symbol == shock.symbol && s.from_ms == shock.from_ms)
            {
                return invalid(
                    "shocks",
                    &format!(
                        "{} has two shocks from {} ms; give one",
                        shock.symbol, shock.from_ms
                    ),
                );
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("simulated exchange: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("simulated exchange: option {option}: {reason}")]
    InvalidOption {
        option: &'static str,
        reason: String,
    },
    #[error("replay file {}: cannot read it: {source}", file.display())]
    ReplayRead {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("replay file {}, line {line}: {reason}", file.display())]
    Replay {
        file: PathBuf,
        line: usize,
        reason: String,
    },
    #[error(
        "replay file {}: cannot tell the symbol from the file name; name it SYMBOL-anything.csv or give one symbol",
        file.display()
    )]
    ReplaySymbol { file: PathBuf },
    #[error("simulated exchange: {0}")]
    Runtime(String),
}

/// A running simulated exchange. Cheap to clone; the exchange runs until [`SimHandle::shutdown`]
/// or until the last handle is dropped.
#[derive(Clone, Debug)]
pub struct SimHandle {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    addr: SocketAddr,
    exchange: Arc<Exchange>,
    faults: SimFaults,
    shutdown: watch::Sender<bool>,
}

/// The market model's one-minute candles of `symbol` for `seed`, `count` of them from
/// `first_open_ms` (floored to the minute) on: the candles the exchange serves for a series whose
/// history begins there (`start_ms − history_minutes`), generated without serving them.
pub fn model_candles(seed: u64, symbol: Symbol, first_open_ms: i64, count: usize) -> Vec<Candle> {
    generate_candles(seed, symbol, first_open_ms, count, &[])
}

/// [`model_candles`] with volatility shocks: the candles an exchange whose options hold `shocks`
/// serves for `symbol` (those of `shocks` naming other symbols are ignored): deterministic, no
/// server.
pub fn generate_candles(
    seed: u64,
    symbol: Symbol,
    first_open_ms: i64,
    minutes: usize,
    shocks: &[VolatilityShock],
) -> Vec<Candle> {
    let mut market = market::Market::with_shocks(seed, symbol, first_open_ms, shocks);
    (0..minutes).map(|_| market.next_minute().candle).collect()
}

/// Starts the exchange on `addr` (port 0: the OS picks one) and returns once it accepts
/// connections. History is generated (or the replay file loaded) before that.
pub async fn start(options: SimOptions, addr: SocketAddr) -> Result<SimHandle, SimError> {
    options.check()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })?;
    let build_options = options.clone();
    let wall_now_ms = wall_clock_ms();
    let exchange =
        tokio::task::spawn_blocking(move || Exchange::build(&build_options, wall_now_ms))
            .await
            .map_err(|e| SimError::Runtime(format!("building the market failed: {e}")))??;
    let exchange = Arc::new(exchange);
    let faults = SimFaults::new();
    let (shutdown, shutdown_rx) = watch::channel(false);
    let context = Arc::new(server::Context {
        exchange: Arc::clone(&exchange),
        faults: faults.clone(),
        push_interval: options.push_interval,
        ping_interval: options.ping_interval,
        max_connection_age: options.max_connection_age,
        request_timeout: options.request_timeout,
        shutdown: shutdown_rx,
        weight: std::sync::Mutex::new((0, 0)),
    });
    tokio::spawn(server::accept_loop(listener, context));
    Ok(SimHandle {
        shared: Arc::new(Shared {
            addr: bound,
            exchange,
            faults,
            shutdown,
        }),
    })
}

/// Runs the exchange for `trademon serve-sim` until ctrl-c.
pub async fn serve_forever(options: SimOptions, addr: SocketAddr) -> Result<(), SimError> {
    let handle = start(options, addr).await?;
    eprintln!(
        "simulated exchange on {}, REST {} ({} symbols: {}); ctrl-c stops it",
        handle.ws_url(),
        handle.rest_url(),
        handle.symbols().len(),
        handle
            .symbols()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let waited = tokio::signal::ctrl_c().await;
    handle.shutdown();
    waited.map_err(|e| SimError::Runtime(format!("waiting for ctrl-c: {e}")))
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `ws://IP:PORT`; streams are at `/ws/<stream>` and `/stream?streams=a/b`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.shared.addr)
    }

    /// `http://IP:PORT`; REST lives under `/api/v3/`.
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The sim clock.
    pub fn now_ms(&self) -> i64 {
        self.shared.exchange.now_ms()
    }

    pub fn symbols(&self) -> Vec<Symbol> {
        self.shared.exchange.symbols()
    }

    /// Every closed candle the exchange has for the series up to sim now (oldest first),
    /// history included: what a correct client must end up with. Empty for an unknown symbol or
    /// an interval the exchange does not serve.
    pub fn closed_candles(&self, symbol: Symbol, interval: Interval) -> Vec<Candle> {
        self.shared
            .exchange
            .with_tape(symbol, |tape| {
                if tape.serves(interval) {
                    tape.closed_candles(interval)
                } else {
                    Vec::new()
                }
            })
            .unwrap_or_default()
    }

    pub fn faults(&self) -> &SimFaults {
        &self.shared.faults
    }

    /// Stops accepting connections and closes the open ones (with a close frame).
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
    }
}

fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
