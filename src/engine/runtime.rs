//! Wires a running instance together: the market source (whichever exchange, seen only as a
//! [`MarketSource`]), its feed, the store writer and the engine. `run` (TUI or headless) and the
//! tests start it the same way.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{Engine, EngineOptions, EngineSummary, Publisher, initial_snapshot};
use crate::config::Config;
use crate::domain::{Clock, Interval, Symbol, WallClock};
pub use crate::feed::Source;
use crate::feed::sim::{BuiltIn, SimHandle};
use crate::feed::{FeedOptions, LastClosed, MarketSource, SourceError, SourceSetup};
use crate::metrics::server::MetricsServer;
use crate::metrics::{BuildInfo, Metrics};
use crate::protocol::{Command, SourceDetail, SourceInfo, Update};
use crate::store::writer::{Writer, WriterOptions};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Metrics(#[from] crate::metrics::server::ListenError),
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

/// What the views are told about `source`.
pub fn source_info(source: &dyn MarketSource) -> SourceInfo {
    SourceInfo {
        exchange: source.name().to_string(),
        real_prices: source.real_prices(),
        detail: match source.setup() {
            SourceSetup::Simulated { seed, speed } => SourceDetail::Simulated { seed, speed },
            SourceSetup::Replay { path } => SourceDetail::Replay {
                path: path.display().to_string(),
            },
            SourceSetup::Endpoint { url } => SourceDetail::Endpoint { url },
        },
    }
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
    /// The engine's end, once [`Runtime::engine_stopped`] has seen it.
    engine_ended: Option<Result<EngineSummary, tokio::task::JoinError>>,
    feed: JoinHandle<()>,
    writer: Writer,
    market: Box<dyn MarketSource>,
    /// The Prometheus metrics and their listener, when asked for.
    metrics: Option<(Arc<Metrics>, MetricsServer)>,
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
    /// Starts on the wall clock.
    pub async fn start(options: RuntimeOptions) -> Result<Self, RuntimeError> {
        Self::start_with_clock(options, Arc::new(WallClock)).await
    }

    /// Starts with the engine and the feed taking "now" from `clock`.
    pub async fn start_with_clock(
        options: RuntimeOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, RuntimeError> {
        let config = &options.config;
        let feed_config = &config.feed;
        let store = Store::open(&options.db_path)?;
        store.ensure_writable()?;
        // The listener first: a refused address or a port in use stops the start before the
        // exchange is opened.
        let metrics = if config.metrics.enabled() {
            let exchange = match &options.source {
                Source::Sim => "built-in".to_string(),
                Source::Replay(_) => "replay".to_string(),
                Source::Exchange { name, .. } => name.clone(),
            };
            let metrics = Metrics::new(BuildInfo::this(&exchange));
            let server = MetricsServer::start(
                config.metrics.listen.trim(),
                config.metrics.allow_remote,
                metrics.clone(),
            )?;
            Some((metrics, server))
        } else {
            None
        };
        // Where the stored series end: the built-in exchange starts its market after that.
        let mut newest_close_ms = None;
        for &s in &feed_config.symbols {
            for &i in &feed_config.intervals {
                if let Some(t) = store.last_open_time(s, i)? {
                    newest_close_ms = newest_close_ms.max(Some(t + i.ms()));
                }
            }
        }
        let market =
            crate::feed::open(&options.source, feed_config, newest_close_ms, &clock).await?;
        let source_info = source_info(market.as_ref());
        let symbols = market.symbols(&feed_config.symbols);
        let intervals = feed_config.intervals.clone();

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
        // The paper account rounds and refuses orders with the exchange's filters; an account
        // opened before keeps the ones in its log.
        let filters = if config.paper.enabled {
            match tokio::time::timeout(Duration::from_secs(10), market.filters(&symbols)).await {
                Ok(Ok(filters)) => filters,
                Ok(Err(e)) => {
                    tracing::warn!(
                        "paper: the exchange's filters are unavailable ({e}); orders are not rounded"
                    );
                    Vec::new()
                }
                Err(_) => {
                    tracing::warn!(
                        "paper: the exchange's filters did not come within 10 s; orders are not rounded"
                    );
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };

        let engine_options = EngineOptions {
            source: source_info.clone(),
            symbols: symbols.clone(),
            intervals: intervals.clone(),
            trades: feed_config.trades,
            streams: market.streams(&symbols, &intervals, feed_config.trades),
            clock: clock.clone(),
            keep_candles: config.ui.keep_candles,
            stale_after: Duration::from_secs(10),
            health_every: Duration::from_secs(1),
            price_every: Duration::from_millis(100),
            model: config.model.clone(),
            backtest: config.backtest,
            retrain: config.retrain,
            paper: config.paper.clone(),
            filters,
            monitor: config.monitor,
            alerts: config.alerts.clone(),
            metrics: metrics.as_ref().map(|(m, _)| m.clone()),
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
            clock.now_ms(),
        );

        let writer = Writer::spawn(
            store,
            WriterOptions {
                batch_max_rows: config.store.batch_max_rows,
                batch_max_ms: config.store.batch_max_ms,
            },
        );
        if let Some((m, _)) = &metrics {
            let m = m.clone();
            // Set once per owner: a second observer cannot be, and is not, asked for.
            let _ = writer.stats().observe_commits(move |took| {
                m.store.write_duration.observe(took.as_secs_f64());
            });
        }
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
            symbols,
            intervals,
            clock,
            ..FeedOptions::from_config(feed_config)
        };
        let feed = tokio::spawn(market.run(
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
            engine_ended: None,
            feed,
            writer,
            market,
            metrics,
        })
    }

    /// The Prometheus metrics, when they are served (the daemon counts its clients there).
    pub fn metrics(&self) -> Option<Arc<Metrics>> {
        self.metrics.as_ref().map(|(m, _)| m.clone())
    }

    /// Where `/metrics` is served.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics.as_ref().map(|(_, s)| s.local_addr())
    }

    /// The source the feed runs on.
    pub fn market(&self) -> &dyn MarketSource {
        self.market.as_ref()
    }

    /// The built-in exchange, when the source is simulated or a replay (tests inject faults).
    pub fn sim(&self) -> Option<&SimHandle> {
        let built_in = self.market.as_any().downcast_ref::<BuiltIn>()?;
        Some(built_in.handle())
    }

    /// Completes when the engine stops on its own (its store's owner died), before it is asked
    /// to; pending forever otherwise. Safe to use in `select!` and to call again.
    pub async fn engine_stopped(&mut self) {
        if self.engine_ended.is_none() {
            self.engine_ended = Some((&mut self.engine).await);
        }
    }

    /// The store owner's counters.
    pub fn store_stats(&self) -> Arc<crate::store::writer::WriterStats> {
        self.writer.stats()
    }

    /// Waits until everything received so far is committed to the store.
    pub fn flush_store(&self) {
        self.writer.flush();
    }

    /// Stops the feed and the engine, commits what is pending, checkpoints the WAL.
    pub async fn stop(mut self) -> Result<EngineSummary, RuntimeError> {
        if let Some((_, server)) = self.metrics.take() {
            server.stop();
        }
        let _ = self.shutdown.send(true);
        let _ = self.feed.await;
        let summary = match self.engine_ended {
            Some(ended) => ended,
            None => self.engine.await,
        }
        .map_err(|e| RuntimeError::Task(e.to_string()))?;
        self.market.shutdown();
        tokio::task::spawn_blocking(move || self.writer.finish())
            .await
            .map_err(|e| RuntimeError::Task(e.to_string()))??;
        Ok(summary)
    }
}
