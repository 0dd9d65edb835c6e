//! A component plugged into a real engine (real SQLite file, the demo model) receives closed
//! candles, the model's signals and trade prints, and what it produces is applied.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Component, Effects};
use crate::domain::fixtures::Lcg;
use crate::domain::{Candle, FeedEvent, FeedEventKind, Interval, Symbol, Trade};

use crate::engine::{Engine, EngineOptions, Publisher, initial_snapshot};
use crate::feed::MarketEvent;
use crate::protocol::{SignalInfo, SourceInfo, Update};
use crate::store::Store;
use crate::store::writer::{Writer, WriterOptions};

#[derive(Default, Debug)]
struct Seen {
    closed: usize,
    signals: Vec<i64>,
    trades: usize,
}

struct Recorder(Arc<Mutex<Seen>>);

impl Component for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    fn on_closed(&mut self, _: Symbol, _: Interval, candles: &[Candle], _: i64, _: &mut Effects) {
        self.0.lock().unwrap().closed += candles.len();
    }

    fn on_signal(&mut self, signal: &SignalInfo, _: i64, out: &mut Effects) {
        self.0.lock().unwrap().signals.push(signal.open_time_ms);
        // What a component publishes is applied to the engine's state.
        out.updates.push(Update::Event(FeedEvent {
            time_ms: signal.made_ms,
            kind: FeedEventKind::Connected,
            stream: "recorder".into(),
            detail: format!("saw the signal of {}", signal.open_time_ms),
            count: 0,
        }));
    }

    fn on_trade(&mut self, _: Symbol, _: &Trade, _: i64, _: &mut Effects) {
        self.0.lock().unwrap().trades += 1;
    }
}

/// A random walk with some trend changes, one candle a minute.
fn candles(n: i64) -> Vec<Candle> {
    let mut close: f64 = 100.0;
    let mut noise = Lcg(7);
    (0..n)
        .map(|i| {
            let u = noise.uniform();
            let drift = 0.0004 * ((i as f64) / 300.0).sin();
            let open = close;
            close = open * (1.0 + drift + 0.003 * (u - 0.5));
            Candle {
                open_time_ms: 1_599_999_960_000 + i * 60_000,
                open,
                high: open.max(close) * 1.0004,
                low: open.min(close) * 0.9996,
                close,
                volume: 5.0 + 10.0 * u,
                quote_volume: 0.0,
                trades: 1,
            }
        })
        .collect()
}

#[test]
fn a_component_receives_closed_candles_signals_and_trades() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simulated.db");
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let options = EngineOptions {
        source: SourceInfo::simulated(1, 1.0),
        symbols: vec![symbol],
        intervals: vec![Interval::M1],
        trades: true,
        streams: Vec::new(),
        clock: std::sync::Arc::new(crate::domain::WallClock),
        keep_candles: 1_000,
        stale_after: Duration::from_secs(10),
        health_every: Duration::from_secs(1),
        price_every: Duration::from_millis(100),
        model: crate::config::Config::default().model,
        backtest: crate::config::Config::default().backtest,
        retrain: Default::default(),
        paper: Default::default(),
        filters: Vec::new(),
        monitor: crate::config::Config::default().monitor,
        alerts: Default::default(),
        metrics: None,
    };
    let state = initial_snapshot(&options, |_, _| Vec::new(), Vec::new(), 0);
    let writer = Writer::spawn(
        Store::open(&db).unwrap(),
        WriterOptions {
            batch_max_rows: 100,
            batch_max_ms: 10,
        },
    );
    let (control, _) = tokio::sync::mpsc::channel(4);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut engine = Engine::new(
        options,
        state,
        writer.sender(),
        writer.stats(),
        Some(db.clone()),
        Publisher::none(),
        control,
    )
    .with_component(Box::new(Recorder(seen.clone())));
    assert!(
        engine.snapshot().models.active.is_some(),
        "the demo model runs"
    );
    let all = candles(1_500);
    for candle in &all {
        engine.on_market(MarketEvent::Kline {
            symbol,
            interval: Interval::M1,
            candle: *candle,
            closed: true,
        });
    }
    for k in 0..3 {
        engine.on_market(MarketEvent::Trade {
            symbol,
            trade: Trade {
                trade_id: k as u64,
                time_ms: all[1_499].open_time_ms + 61_000 + k,
                price: 110.0,
                quantity: 0.1,
                buyer_is_maker: false,
            },
        });
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.closed, 1_500);
    assert_eq!(seen.trades, 3);
    let published: Vec<i64> = engine
        .snapshot()
        .signals
        .iter()
        .map(|s| s.open_time_ms)
        .collect();
    assert!(!seen.signals.is_empty(), "the model signalled");
    assert_eq!(
        seen.signals.last(),
        published.last(),
        "the component saw the model's newest signal"
    );
    let said = format!("saw the signal of {}", published.last().unwrap());
    assert!(
        engine
            .snapshot()
            .recent_events
            .iter()
            .any(|e| e.stream == "recorder" && e.detail == said),
        "what the component published reached the engine's state"
    );
    drop(engine);
    writer.finish().unwrap();
}
