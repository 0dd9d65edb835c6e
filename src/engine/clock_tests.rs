//! The engine driven by a manual clock: time moves only when the test says so, so what depends on
//! "now" (stale streams, uptime, message ages) is checked exactly and without sleeping.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::{Candle, Interval, ManualClock, Symbol};
use crate::engine::{Engine, EngineOptions, Publisher, initial_snapshot};
use crate::feed::MarketEvent;
use crate::protocol::{LinkState, SourceInfo, StreamState};
use crate::store::Store;
use crate::store::writer::{Writer, WriterOptions};

const START_MS: i64 = 1_700_000_040_000;

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn engine(dir: &std::path::Path, clock: Arc<ManualClock>) -> (Engine, Writer) {
    let options = EngineOptions {
        source: SourceInfo::simulated(1, 1.0),
        symbols: vec![btc()],
        intervals: vec![Interval::M1],
        trades: true,
        streams: vec!["btcusdt@kline_1m".into(), "btcusdt@trade".into()],
        clock: clock.clone(),
        keep_candles: 100,
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
    let state = initial_snapshot(&options, |_, _| Vec::new(), Vec::new(), START_MS);
    let writer = Writer::spawn(
        Store::open(&dir.join("clock.db")).unwrap(),
        WriterOptions {
            batch_max_rows: 100,
            batch_max_ms: 10,
        },
    );
    let (control, _) = tokio::sync::mpsc::channel(4);
    let engine = Engine::new(
        options,
        state,
        writer.sender(),
        writer.stats(),
        None,
        Publisher::none(),
        control,
    );
    (engine, writer)
}

fn open_kline(open_time_ms: i64) -> MarketEvent {
    MarketEvent::Kline {
        symbol: btc(),
        interval: Interval::M1,
        candle: Candle {
            open_time_ms,
            open: 100.0,
            high: 101.0,
            low: 99.0,
            close: 100.5,
            volume: 1.0,
            quote_volume: 100.5,
            trades: 1,
        },
        closed: false,
    }
}

#[test]
fn a_stream_turns_stale_once_the_clock_passes_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START_MS));
    let (mut engine, _writer) = engine(dir.path(), clock.clone());
    engine.on_market(MarketEvent::Link(LinkState::Connected {
        since_ms: START_MS,
    }));
    engine.on_market(open_kline(Interval::M1.floor(START_MS)));

    engine.report_health();
    let health = &engine.snapshot().health;
    assert_eq!(health.now_ms, START_MS);
    assert_eq!(health.streams[0].name, "btcusdt@kline_1m");
    assert_eq!(health.streams[0].state, StreamState::Live);
    assert_eq!(health.streams[0].last_message_age_ms, Some(0));
    // No trade ever came: stale from the start.
    assert_eq!(health.streams[1].state, StreamState::Stale);

    // Exactly at the threshold the stream is still live...
    clock.set(START_MS + 10_000);
    engine.report_health();
    assert_eq!(engine.snapshot().health.streams[0].state, StreamState::Live);

    // ...one millisecond later it is stale, with its age and the uptime read off the clock.
    clock.set(START_MS + 10_001);
    engine.report_health();
    let health = &engine.snapshot().health;
    assert_eq!(health.streams[0].state, StreamState::Stale);
    assert_eq!(health.streams[0].last_message_age_ms, Some(10_001));
    assert_eq!(health.uptime_ms, 10_001);

    // A message brings it back; its age counts from the clock's time then.
    clock.set(START_MS + 60_000);
    engine.on_market(open_kline(Interval::M1.floor(START_MS + 60_000)));
    clock.set(START_MS + 63_000);
    engine.report_health();
    let health = &engine.snapshot().health;
    assert_eq!(health.streams[0].state, StreamState::Live);
    assert_eq!(health.streams[0].last_message_age_ms, Some(3_000));
}

#[test]
fn refused_candles_are_recorded_at_the_clock_time() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START_MS));
    let (mut engine, _writer) = engine(dir.path(), clock.clone());
    clock.set(START_MS + 123_456);
    let MarketEvent::Kline { candle, .. } = open_kline(Interval::M1.floor(START_MS)) else {
        unreachable!()
    };
    engine.on_market(MarketEvent::Kline {
        symbol: btc(),
        interval: Interval::M1,
        candle: Candle {
            close: f64::NAN,
            ..candle
        },
        closed: true,
    });
    let event = engine.snapshot().recent_events.back().unwrap();
    assert_eq!(event.time_ms, START_MS + 123_456);
    assert_eq!(event.stream, "btcusdt@kline_1m");
}
