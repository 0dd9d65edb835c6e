//! The monitor's bookkeeping per closed candle, one symbol, the 54 features of a default model,
//! W = 500: the incremental part every candle pays (features, bin counts, the logistic baseline,
//! outcomes, scorecard and detectors: `push_candle` + `push_prediction`), and the exact
//! evaluation (KS and Wasserstein against the 10,000-value reference samples) run every 10
//! candles. And the engine's cost per closed candle with the monitor on and off, side by side
//! (the demo model on a real SQLite file, one symbol). Run: `cargo bench --bench monitor`.

#[path = "support/engine.rs"]
mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use trademon::domain::{Candle, Signal, Symbol};
use trademon::model::registry::Registry;
use trademon::monitor::reference;
use trademon::monitor::{ModelSpec, Settings, Tracker};

fn walk(first_ms: i64, n: usize, seed: u64) -> Vec<Candle> {
    let mut state = seed;
    let mut close = 100.0;
    (0..n as i64)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            let open = close;
            close = open * (1.0 + 0.004 * (u - 0.5));
            Candle {
                open_time_ms: first_ms + i * 60_000,
                open,
                high: open.max(close) * 1.0005,
                low: open.min(close) * 0.9995,
                close,
                volume: 1.0 + u,
                quote_volume: 0.0,
                trades: 1,
            }
        })
        .collect()
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut registry = Registry::open(&dir.path().join("m.db")).expect("a registry");
    let mut record = trademon::model::demo::install(&mut registry)
        .expect("the demo installs")
        .expect("a fresh registry");
    // A reference of 20,000 rows (samples of 10,000 per feature), as a month of training gives.
    let first = 1_599_999_960_000;
    let training = walk(first, 24_000, 7);
    record.data_from_ms = Some(first);
    record.data_to_ms = Some(training[training.len() - 1].open_time_ms);
    let spec = Arc::new(ModelSpec::of(&record).expect("a spec"));
    let reference = Arc::new(
        reference::build(&spec, None, &training, 500, "training rows").expect("a reference"),
    );
    eprintln!(
        "reference: {} rows, {} features, {} samples each",
        reference.rows,
        reference.features.len(),
        reference.features[0].sample.len()
    );
    let live = walk(first + 24_000 * 60_000, 200_000, 9);
    let settings = Settings {
        window: 500,
        evaluate_every: usize::MAX,
    };
    let symbol = Symbol::new("BTCUSDT").expect("a symbol");
    let fresh = || {
        let mut t = Tracker::new(spec.clone(), Ok(reference.clone()), symbol, settings);
        for c in &live[..1_000] {
            t.push_candle(c);
            t.push_prediction(c.open_time_ms, [0.3, 0.4, 0.3], Signal::Hold);
        }
        t
    };
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("monitor");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    let mut tracker = fresh();
    let mut next = 1_000usize;
    group.bench_function("per_candle_54_features_w500", |b| {
        b.iter(|| {
            if next == live.len() {
                tracker = fresh();
                next = 1_000;
            }
            let candle = &live[next];
            next += 1;
            tracker.push_candle(black_box(candle));
            tracker.push_prediction(candle.open_time_ms, [0.3, 0.4, 0.3], Signal::Hold);
        })
    });
    let mut tracker = fresh();
    group.bench_function("evaluate_54_features_w500_vs_10000", |b| {
        b.iter(|| tracker.evaluate())
    });
    group.finish();
    engine_per_candle(&mut c);
    c.final_summary();
}

/// An engine with the demo model on a fresh file, the monitor on or off, fed the simulator's
/// candles after the demo's training range (its range stored, so the monitor has a reference),
/// warmed with 1,000 of them.
struct Bench {
    // Dropped in this order: the engine (and its threads) before the store's owner and the file.
    engine: trademon::engine::Engine,
    _writer: trademon::store::writer::Writer,
    symbol: Symbol,
    candles: Vec<Candle>,
    next: usize,
    _dir: tempfile::TempDir,
}

impl Bench {
    fn new(symbol: Symbol, monitor: bool) -> Self {
        use trademon::store::Store;
        use trademon::store::writer::{Writer, WriterOptions};
        // A file of its own for each, so each engine's monitor sees only its own candles.
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("simulated.db");
        let record = {
            let mut registry = Registry::open(&db).expect("a registry");
            trademon::model::demo::install(&mut registry)
                .expect("the demo installs")
                .expect("a fresh registry")
        };
        let from = record.data_from_ms.expect("a range");
        let trained = ((record.data_to_ms.expect("a range") - from) / 60_000 + 1) as usize;
        let candles = trademon::feed::sim::model_candles(42, symbol, from, trained + 300_000);
        Store::open(&db)
            .and_then(|mut s| {
                s.import_candles(symbol, trademon::domain::Interval::M1, &candles[..trained])
            })
            .expect("stored");
        let writer = Writer::spawn(Store::open(&db).expect("a store"), WriterOptions::default());
        let mut options = support::options(symbol, false);
        options.monitor.enabled = monitor;
        let engine = support::engine(options, &writer, &db);
        let mut bench = Self {
            engine,
            _writer: writer,
            symbol,
            candles,
            next: trained,
            _dir: dir,
        };
        // Warm: the model's window, the monitor loaded and its window full.
        for _ in 0..1_000 {
            bench.feed();
            bench.engine.poll_jobs();
        }
        while monitor && bench.engine.snapshot().monitor.symbols.is_empty() {
            std::thread::sleep(Duration::from_millis(20));
            bench.engine.poll_jobs();
        }
        bench
    }

    fn feed(&mut self) {
        use trademon::feed::MarketEvent;
        assert!(
            self.next < self.candles.len(),
            "the bench ran out of candles"
        );
        let candle = self.candles[self.next];
        self.next += 1;
        self.engine.on_market(MarketEvent::Kline {
            symbol: self.symbol,
            interval: trademon::domain::Interval::M1,
            candle,
            closed: true,
        });
    }
}

/// The engine's cost per closed candle, monitor off and on. Each engine is built only when its
/// bench runs and is dropped, with its threads, before the next one is built, so one never runs
/// beside the other's leftover work: run each alone (`-- engine/closed_candle_monitor_off`,
/// `..._on`) in turns and compare medians, as the README does.
fn engine_per_candle(c: &mut Criterion) {
    let symbol = Symbol::new("BTCUSDT").expect("a symbol");
    let mut group = c.benchmark_group("engine");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    for monitor in [false, true] {
        let name = if monitor {
            "closed_candle_monitor_on"
        } else {
            "closed_candle_monitor_off"
        };
        let mut bench = None;
        group.bench_function(name, |b| {
            let bench = bench.get_or_insert_with(|| Bench::new(symbol, monitor));
            b.iter(|| bench.feed())
        });
        drop(bench);
    }
    group.finish();
}
