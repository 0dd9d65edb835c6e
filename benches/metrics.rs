//! The Prometheus exporter: rendering `/metrics` for 10 symbols × 4 intervals (every family
//! filled: 50 streams, both model roles, three scorecard windows, drift and paper figures, the
//! histograms), and the engine's cost per closed candle with metrics kept and not, side by side
//! (the demo model on a real SQLite file, one symbol, 1m candles). Run:
//! `cargo bench --bench metrics`.

#[path = "support/engine.rs"]
mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use trademon::domain::{Interval, Symbol};
use trademon::metrics::{
    BuildInfo, Metrics, PredictionLabels, RoleLabels, StreamLabels, SymbolLabels, WindowLabels,
};
use trademon::model::registry::Registry;

const SYMBOLS: [&str; 10] = [
    "BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "AVAXUSDT",
    "LINKUSDT", "DOTUSDT",
];
const INTERVALS: [&str; 4] = ["1m", "5m", "15m", "1h"];

/// Every family with the label sets a 10-symbol, 4-interval daemon has.
fn filled() -> Arc<Metrics> {
    let m = Metrics::new(BuildInfo::this("built-in"));
    for (k, symbol) in SYMBOLS.iter().enumerate() {
        for stream in INTERVALS.iter().chain(["trades"].iter()) {
            let labels = StreamLabels {
                symbol: symbol.to_string(),
                stream: stream.to_string(),
            };
            m.feed
                .messages
                .get_or_create(&labels)
                .inc_by(1_000 + k as u64);
            m.feed.stream_up.get_or_create(&labels).set(1);
            m.feed.last_message_age.get_or_create(&labels).set(0.4);
        }
        for role in ["active", "shadow"] {
            m.model
                .predictions
                .get_or_create(&PredictionLabels {
                    role,
                    symbol: symbol.to_string(),
                })
                .inc_by(500);
        }
        for window in ["100", "500", "all"] {
            let labels = WindowLabels {
                symbol: symbol.to_string(),
                window,
            };
            m.model.accuracy.get_or_create(&labels).set(0.43);
            m.model.log_loss.get_or_create(&labels).set(1.04);
        }
        let labels = SymbolLabels {
            symbol: symbol.to_string(),
        };
        m.model
            .feature_drift_max_psi
            .get_or_create(&labels)
            .set(0.07);
        m.model.dataset_drift.get_or_create(&labels).set(0);
    }
    for k in 0..1_000 {
        let secs = 1e-5 * (1 + k % 300) as f64;
        m.store.write_duration.observe(secs * 10.0);
        for role in ["active", "shadow"] {
            m.model
                .inference_duration
                .get_or_create(&RoleLabels { role })
                .observe(secs);
        }
    }
    m.paper.equity.set(10_234.5);
    m.paper.drawdown.set(0.012);
    m
}

fn render(c: &mut Criterion) {
    let m = filled();
    let mut out = String::new();
    m.render_into(&mut out);
    let lines = out.lines().filter(|l| !l.starts_with('#')).count();
    println!(
        "/metrics for 10 symbols × 4 intervals: {lines} samples, {} bytes",
        out.len()
    );
    let mut group = c.benchmark_group("metrics");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("render_10_symbols_4_intervals", |b| {
        b.iter(|| {
            m.render_into(&mut out);
            black_box(out.len())
        })
    });
    group.finish();
}

/// What keeping metrics adds to one closed candle of the active model, on the engine's thread:
/// the observer on the updates the candle publishes (the closed candle and the signal), and the
/// model component counting and timing its prediction (the same calls `engine/models.rs` makes).
fn added_per_candle(c: &mut Criterion) {
    use trademon::engine::metrics::{MetricsObserver, stream_labels};
    use trademon::protocol::{ChartIndicators, SignalInfo, Update};
    let m = Metrics::new(BuildInfo::this("built-in"));
    let symbol = Symbol::new("BTCUSDT").expect("a symbol");
    let mut observer = MetricsObserver::new(
        m.clone(),
        stream_labels(&[symbol], &[Interval::M1], true),
        Arc::new(trademon::store::writer::WriterStats::default()),
    );
    let candle = trademon::feed::sim::model_candles(42, symbol, 0, 1)[0];
    let closed = Update::Candle {
        symbol,
        interval: Interval::M1,
        candle,
        closed: true,
        indicators: ChartIndicators::default(),
    };
    let signal = Update::Signal(Box::new(SignalInfo {
        symbol,
        interval: Interval::M1,
        open_time_ms: 0,
        made_ms: 0,
        model_version: "demo@1.0.0".into(),
        probabilities: [0.2, 0.5, 0.3],
        confidence: 0.5,
        votes: [1, 3, 1],
        signal: trademon::domain::Signal::Hold,
        drivers: Vec::new(),
        fallback: false,
    }));
    let mut group = c.benchmark_group("metrics");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("added_per_closed_candle", |b| {
        b.iter(|| {
            let started = std::time::Instant::now();
            m.model
                .inference_duration
                .get_or_create(&RoleLabels { role: "active" })
                .observe(started.elapsed().as_secs_f64());
            m.model
                .predictions
                .get_or_create(&PredictionLabels {
                    role: "active",
                    symbol: symbol.to_string(),
                })
                .inc();
            observer.observe(black_box(&closed));
            observer.observe(black_box(&signal));
        })
    });
    group.finish();
}

/// The engine with the demo model on a fresh file, metrics kept or not, fed the simulator's
/// candles after the demo's training range.
fn engine_per_candle(c: &mut Criterion) {
    use trademon::engine::Engine;
    use trademon::feed::MarketEvent;
    use trademon::store::Store;
    use trademon::store::writer::{Writer, WriterOptions};
    let symbol = Symbol::new("BTCUSDT").expect("a symbol");
    let mut group = c.benchmark_group("engine");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    let mut engines = Vec::new();
    for kept in [false, true] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("simulated.db");
        let record = {
            let mut registry = Registry::open(&db).expect("a registry");
            trademon::model::demo::install(&mut registry)
                .expect("the demo installs")
                .expect("a fresh registry")
        };
        let from = record.data_to_ms.expect("a range") + 60_000;
        let all = trademon::feed::sim::model_candles(42, symbol, from, 400_000);
        let writer = Writer::spawn(Store::open(&db).expect("a store"), WriterOptions::default());
        let metrics = kept.then(|| Metrics::new(BuildInfo::this("built-in")));
        if let Some(m) = &metrics {
            let m = m.clone();
            let _ = writer
                .stats()
                .observe_commits(move |took| m.store.write_duration.observe(took.as_secs_f64()));
        }
        let mut options = support::options(symbol, false);
        options.model.max_challengers = 0;
        options.monitor.enabled = false;
        options.metrics = metrics;
        let mut engine = support::engine(options, &writer, &db);
        let mut next = 0;
        // Warm: the model's window full.
        for candle in &all[..1_000] {
            engine.on_market(MarketEvent::Kline {
                symbol,
                interval: Interval::M1,
                candle: *candle,
                closed: true,
            });
            next += 1;
        }
        engines.push((kept, engine, all, next, writer, dir));
    }
    // Side by side: each timed candle of one engine follows an untimed candle of the other, so
    // both run in the same conditions (the same writer load, caches shared the same way); twice
    // each, alternating, so a drift of the machine hits both.
    let feed = |engine: &mut Engine, all: &[trademon::domain::Candle], next: &mut usize| {
        assert!(*next < all.len(), "the bench ran out of candles");
        let candle = all[*next];
        *next += 1;
        engine.on_market(MarketEvent::Kline {
            symbol,
            interval: Interval::M1,
            candle,
            closed: true,
        });
    };
    let (first, second) = engines.split_at_mut(1);
    let (off, on) = (&mut first[0], &mut second[0]);
    for round in 0..2 {
        for timed_on in [false, true] {
            let name = format!(
                "closed_candle_metrics_{}_{}",
                if timed_on { "on" } else { "off" },
                round
            );
            group.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        let (timed, other) = if timed_on {
                            (&mut *on, &mut *off)
                        } else {
                            (&mut *off, &mut *on)
                        };
                        feed(&mut other.1, &other.2, &mut other.3);
                        let started = std::time::Instant::now();
                        feed(&mut timed.1, &timed.2, &mut timed.3);
                        spent += started.elapsed();
                    }
                    spent
                })
            });
        }
    }
    // The health report the run loop makes once a second, which the metrics follow.
    for (kept, engine, _, _, _, _) in &mut engines {
        let name = format!("health_report_metrics_{}", if *kept { "on" } else { "off" });
        group.bench_function(name, |b| b.iter(|| engine.report_health()));
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    render(&mut c);
    added_per_candle(&mut c);
    engine_per_candle(&mut c);
    c.final_summary();
}
