//! What the engine's tests share: an engine on a real SQLite file with the given clock, symbols,
//! monitor and retrain settings, its store writer, and a flush.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{MonitorConfig, RetrainConfig};
use crate::domain::{Clock, Interval, Symbol};
use crate::engine::{Engine, EngineOptions, Publisher, initial_snapshot};
use crate::protocol::SourceInfo;
use crate::store::Store;
use crate::store::writer::{WriteOp, Writer, WriterOptions};

/// 1m candles of `symbols` on the simulated source, the default model settings.
pub fn options(
    symbols: Vec<Symbol>,
    clock: Arc<dyn Clock>,
    monitor: MonitorConfig,
    retrain: RetrainConfig,
) -> EngineOptions {
    let config = crate::config::Config::default();
    EngineOptions {
        source: SourceInfo::simulated(42, 1.0),
        symbols,
        intervals: vec![Interval::M1],
        trades: false,
        streams: Vec::new(),
        clock,
        keep_candles: 1_000,
        stale_after: Duration::from_secs(10),
        health_every: Duration::from_secs(1),
        price_every: Duration::from_millis(100),
        model: config.model,
        backtest: config.backtest,
        retrain,
        monitor,
        paper: Default::default(),
        filters: Vec::new(),
        alerts: Default::default(),
        metrics: None,
    }
}

/// The monitor off (tests of other components).
pub fn no_monitor() -> MonitorConfig {
    MonitorConfig {
        enabled: false,
        ..MonitorConfig::default()
    }
}

/// An engine on `db` whose writes go to `writer`.
pub fn engine(db: &Path, writer: &Writer, options: EngineOptions) -> Engine {
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

/// The store's writer on `db`, committing often.
pub fn writer(db: &Path) -> Writer {
    Writer::spawn(
        Store::open(db).expect("the store opens"),
        WriterOptions {
            batch_max_rows: 100,
            batch_max_ms: 10,
        },
    )
}

/// Waits until everything sent to `writer` is committed.
pub fn flush(writer: &Writer) {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    writer
        .sender()
        .send(WriteOp::Flush(tx))
        .expect("the writer runs");
    rx.recv().expect("the writer answers");
}
