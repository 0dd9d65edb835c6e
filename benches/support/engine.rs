//! What the engine benches share: a one-symbol engine at 1m on the simulated source, with the
//! default model settings, on a real SQLite file whose writes go to a real store owner.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use trademon::domain::{Interval, Symbol};
use trademon::engine::{Engine, EngineOptions, Publisher, initial_snapshot};
use trademon::store::writer::Writer;

/// `symbol` at 1m (and its trade stream when `trades`), the configuration's defaults, the wall
/// clock; the bench sets what it measures (monitor, paper, metrics) on the result.
pub fn options(symbol: Symbol, trades: bool) -> EngineOptions {
    let config = trademon::config::Config::default();
    EngineOptions {
        source: trademon::protocol::SourceInfo::simulated(42, 1.0),
        symbols: vec![symbol],
        intervals: vec![Interval::M1],
        trades,
        streams: Vec::new(),
        clock: Arc::new(trademon::domain::WallClock),
        keep_candles: 1_000,
        stale_after: Duration::from_secs(10),
        health_every: Duration::from_secs(1),
        price_every: Duration::from_millis(100),
        model: config.model,
        backtest: config.backtest,
        retrain: Default::default(),
        paper: Default::default(),
        filters: Vec::new(),
        monitor: config.monitor,
        alerts: Default::default(),
        metrics: None,
    }
}

/// An engine on `db` with no view, its rows going to `writer`.
pub fn engine(options: EngineOptions, writer: &Writer, db: &Path) -> Engine {
    let state = initial_snapshot(&options, |_, _| Vec::new(), Vec::new(), 0);
    let (control, _) = tokio::sync::mpsc::channel(4);
    Engine::new(
        options,
        state,
        writer.sender(),
        writer.stats(),
        Some(db.to_path_buf()),
        Publisher::none(),
        control,
    )
}
