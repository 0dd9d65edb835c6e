//! Wires a running instance together: the source (built-in exchange or Binance), the feed
//! client, the store writer and the engine. `run` (TUI or headless) and the tests start it the same way.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{Engine, EngineOptions, EngineSummary, Publisher, initial_snapshot};
use crate::config::Config;
use crate::domain::wall_clock_ms;
use crate::domain::{Interval, Symbol};
use crate::feed::client::{FeedOptions, LastClosed};
use crate::feed::sim::{self, SimHandle, SimOptions};
use crate::protocol::{Command, SourceInfo, Update};
use crate::store::writer::{Writer, WriterOptions};
use crate::store::{Store, StoreError};

/// Where market data comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// The built-in simulated exchange on a loopback port.
    Sim,
    /// The built-in exchange replaying a recorded file.
    Replay(PathBuf),
    /// A real exchange speaking the Binance protocol.
    Binance { ws_url: String, rest_url: String },
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("simulated exchange: {0}")]
    Sim(#[from] sim::SimError),
    #[error("internal task failed: {0}")]
    Task(String),
}

#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    pub config: Config,
    pub db_path: PathBuf,
    pub source: Source,
    /// Create an update channel for a view (the TUI); headless runs have none.
    pub with_view: bool,
}

/// A running instance.
pub struct Runtime {
    /// Updates for the view, if one was asked for.
    pub updates: Option<mpsc::Receiver<Update>>,
    pub commands: mpsc::Sender<Command>,
    pub source: SourceInfo,
    pub db_path: PathBuf,
    shutdown: watch::Sender<bool>,
    engine: JoinHandle<EngineSummary>,
    feed: JoinHandle<()>,
    writer: Writer,
    sim: Option<SimHandle>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("source", &self.source)
            .field("db_path", &self.db_path)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    pub async fn start(options: RuntimeOptions) -> Result<Self, RuntimeError> {
        let config = &options.config;
        let feed_config = &config.feed;
        let store = Store::open(&options.db_path)?;
        // The built-in exchange runs ahead of the wall clock (60x by default), so an earlier run may
        // have stored candles "in the future". Start after the newest stored candle, so a stored
        // candle is never replaced by a different simulated one.
        let mut newest_close_ms = None;
        for &s in &feed_config.symbols {
            for &i in &feed_config.intervals {
                if let Some(t) = store.last_open_time(s, i)? {
                    newest_close_ms = newest_close_ms.max(Some(t + i.ms()));
                }
            }
        }

        let mut symbols = feed_config.symbols.clone();
        let intervals = feed_config.intervals.clone();
        let (sim, source_info, ws_url, rest_url) = match &options.source {
            Source::Sim | Source::Replay(_) => {
                let replay = match &options.source {
                    Source::Replay(p) => Some(p.clone()),
                    _ => None,
                };
                // A replay serves the symbol its file is named after (XRPETH-trades.csv: XRPETH).
                let sim_symbols = if replay.is_some() {
                    Vec::new()
                } else {
                    symbols.clone()
                };
                let mut sim_options = SimOptions::new(feed_config.sim.seed, sim_symbols);
                sim_options.speed = feed_config.sim.speed;
                sim_options.history_minutes = feed_config.sim.history_minutes;
                sim_options.replay = replay.clone();
                if sim_options.replay.is_none() {
                    let now = Interval::M1.floor(wall_clock_ms());
                    sim_options.start_ms = Some(
                        newest_close_ms.map_or(now, |t| now.max(Interval::M1.floor(t) + 60_000)),
                    );
                }
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], feed_config.sim.port));
                let handle = sim::start(sim_options, addr).await?;
                symbols = handle.symbols();
                let info = match replay {
                    Some(p) => SourceInfo::Replay {
                        path: p.display().to_string(),
                    },
                    None => SourceInfo::Simulated {
                        seed: feed_config.sim.seed,
                        speed: feed_config.sim.speed,
                    },
                };
                let (ws, rest) = (handle.ws_url(), handle.rest_url());
                (Some(handle), info, ws, rest)
            }
            Source::Binance { ws_url, rest_url } => (
                None,
                SourceInfo::Binance {
                    ws_url: ws_url.clone(),
                },
                ws_url.clone(),
                rest_url.clone(),
            ),
        };

        let mut last_closed = LastClosed::new();
        let mut loaded: Vec<((Symbol, Interval), Vec<crate::domain::Candle>)> = Vec::new();
        for &s in &symbols {
            for &i in &intervals {
                if let Some(t) = store.last_open_time(s, i)? {
                    last_closed.insert((s, i), t);
                }
                loaded.push(((s, i), store.recent_candles(s, i, config.ui.keep_candles)?));
            }
        }
        let recent_events = store.recent_events(crate::protocol::RECENT_EVENTS)?;

        let engine_options = EngineOptions {
            source: source_info.clone(),
            symbols: symbols.clone(),
            intervals: intervals.clone(),
            trades: feed_config.trades,
            keep_candles: config.ui.keep_candles,
            stale_after: Duration::from_secs(10),
            health_every: Duration::from_secs(1),
            price_every: Duration::from_millis(100),
            model: config.model.clone(),
            backtest: config.backtest,
        };
        let snapshot = initial_snapshot(
            &engine_options,
            |s, i| {
                loaded
                    .iter()
                    .find(|(key, _)| *key == (s, i))
                    .map(|(_, c)| c.clone())
                    .unwrap_or_default()
            },
            recent_events,
            wall_clock_ms(),
        );

        let writer = Writer::spawn(
            store,
            WriterOptions {
                batch_max_rows: config.store.batch_max_rows,
                batch_max_ms: config.store.batch_max_ms,
            },
        );
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (market_tx, market_rx) = mpsc::channel(16_384);
        let (control_tx, control_rx) = mpsc::channel(8);
        let (command_tx, command_rx) = mpsc::channel(64);
        let (publisher, updates) = if options.with_view {
            let (tx, rx) = mpsc::channel(4096);
            (Publisher::new(tx), Some(rx))
        } else {
            (Publisher::none(), None)
        };

        let feed_options = FeedOptions {
            ws_url,
            rest_url,
            symbols,
            intervals,
            trades: feed_config.trades,
            initial_backfill: feed_config.initial_backfill,
            silence_timeout: Duration::from_secs(feed_config.silence_timeout_secs),
            rotate_after: Duration::from_secs(feed_config.rotate_after_secs),
            reconnect_min: Duration::from_millis(feed_config.reconnect_min_ms),
            reconnect_max: Duration::from_millis(feed_config.reconnect_max_ms),
        };
        let feed = tokio::spawn(crate::feed::client::run(
            feed_options,
            last_closed,
            market_tx,
            control_rx,
            shutdown_rx.clone(),
        ));
        let engine = Engine::new(
            engine_options,
            snapshot,
            writer.sender(),
            writer.stats(),
            Some(options.db_path.clone()),
            publisher,
            control_tx,
        );
        let engine = tokio::spawn(engine.run(market_rx, command_rx, shutdown_rx));
        Ok(Self {
            updates,
            commands: command_tx,
            source: source_info,
            db_path: options.db_path,
            shutdown,
            engine,
            feed,
            writer,
            sim,
        })
    }

    /// The built-in exchange, when the source is simulated or a replay.
    pub fn sim(&self) -> Option<&SimHandle> {
        self.sim.as_ref()
    }

    /// Waits until everything received so far is committed to the store.
    pub fn flush_store(&self) {
        self.writer.flush();
    }

    /// Stops the feed and the engine, commits what is pending, checkpoints the WAL.
    pub async fn stop(self) -> Result<EngineSummary, RuntimeError> {
        let _ = self.shutdown.send(true);
        let _ = self.feed.await;
        let summary = self
            .engine
            .await
            .map_err(|e| RuntimeError::Task(e.to_string()))?;
        if let Some(sim) = &self.sim {
            sim.shutdown();
        }
        tokio::task::spawn_blocking(move || self.writer.finish())
            .await
            .map_err(|e| RuntimeError::Task(e.to_string()))??;
        Ok(summary)
    }
}
