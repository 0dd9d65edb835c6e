//! Shadow scoring per closed candle, one symbol: three challengers of the default shape (5 LSTM
//! members, hidden 64/48, 2 layers, window 20, 54 features) each taking the candle through the
//! signal pipeline's batch-1 back-end, predicting, and pairing the outcome with the active
//! model's prediction (`ShadowComponent::on_closed` + `on_signal`), beside the active model's own
//! cost on the same candles (its pipeline's push + predict). Goal: the three challengers add at
//! most 1 ms per symbol. Run: `cargo bench --bench shadow`.
//!
//! The ensembles are trained for one epoch on 3,000 candles: inference costs the same whatever
//! the weights.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use criterion::Criterion;
use trademon::config::Config;
use trademon::domain::{Candle, Interval, Symbol};
use trademon::engine::component::{Component, Effects};
use trademon::engine::shadow::ShadowComponent;
use trademon::model::pipeline::{Prediction, SignalPipeline};
use trademon::model::registry::{Origin, Registry};
use trademon::model::train::{TrainSpec, train};
use trademon::protocol::SignalInfo;
use trademon::store::Store;

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

/// Candles fed per measured stretch; the state is rebuilt (untimed) when they run out.
const STREAM: usize = 20_000;

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("bench.db");
    let symbol = Symbol::new("BENCHUSDT").expect("a valid symbol");
    let first = 1_599_999_960_000;
    let history = walk(first, 3_000, 7);
    let stream = walk(first + 3_000 * 60_000, STREAM, 11);
    let mut ids = Vec::new();
    for seed in 1..=4 {
        let mut spec = TrainSpec::from_config(&Config::default().model);
        spec.epochs = 1;
        spec.seed = seed;
        let trained = train(
            &history,
            Interval::M1,
            &spec,
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect("a trained ensemble");
        let record = trademon::commands::train::register(
            &db,
            symbol,
            Interval::M1,
            &trained,
            Origin::Trained,
        )
        .expect("registered");
        ids.push(record.id);
    }
    let mut registry = Registry::open(&db).expect("the registry");
    let champion = registry.promote(ids[0]).expect("promoted").champion;
    let blob = registry.load_blob(champion.id).map_err(|e| e.to_string());
    drop(registry);
    Store::open(&db)
        .and_then(|mut s| s.import_candles(symbol, Interval::M1, &history))
        .expect("history stored");

    // The active model alone: its pipeline's push + predict per candle.
    let (pipeline, _) =
        SignalPipeline::load(&champion, blob, None, Default::default()).expect("it loads");
    let mut active = pipeline;
    let fresh_active = |active: &SignalPipeline| {
        let mut track = active.track();
        for c in &history {
            let _ = active.push(&mut track, c);
        }
        track
    };
    // Shadow scoring: the component with three challengers, fed each candle and the active
    // model's signal for it (as the engine does), warmed on the history.
    let signal_of = |c: &Candle, p: [f64; 3]| SignalInfo {
        symbol,
        interval: Interval::M1,
        open_time_ms: c.open_time_ms,
        made_ms: c.open_time_ms + 60_000,
        model_version: champion.version.clone(),
        probabilities: p,
        confidence: 0.5,
        votes: [0; 3],
        signal: trademon::domain::Signal::Hold,
        drivers: Vec::new(),
        fallback: false,
    };
    // The store's owner, as the engine's (the component writes nothing itself).
    let owner = trademon::store::writer::Writer::spawn(
        Store::open(&db).expect("the store"),
        Default::default(),
    );
    // Loading the challengers and warming their series up happen at the first candle: done
    // here, untimed, with the stream's first candle.
    let fresh_shadow = || {
        let mut shadow =
            ShadowComponent::start(Some(db.clone()), owner.sender(), 3, Default::default());
        let mut out = Effects::default();
        shadow.on_signal(&signal_of(&history[2_999], [0.3, 0.4, 0.3]), 0, &mut out);
        shadow.on_closed(symbol, Interval::M1, &stream[..1], 0, &mut out);
        shadow
    };
    {
        let shadow = fresh_shadow();
        let view = shadow.view();
        eprintln!(
            "\n{} challengers in shadow against {:?}",
            view.challengers.len(),
            view.against
        );
    }

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("shadow");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(20));
    let mut next = STREAM;
    let mut track = fresh_active(&active);
    group.bench_function("active_model_per_closed_candle", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                if next == STREAM {
                    track = fresh_active(&active);
                    next = 0;
                }
                let candle = &stream[next];
                next += 1;
                let t = Instant::now();
                let _ = active.push(&mut track, candle);
                if active.ready(&track) {
                    black_box(active.predict(&track));
                }
                total += t.elapsed();
            }
            total
        })
    });
    let mut next = STREAM;
    let mut shadow = fresh_shadow();
    let mut probe = fresh_active(&active);
    group.bench_function("three_challengers_per_closed_candle", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                if next == STREAM {
                    shadow = fresh_shadow();
                    probe = fresh_active(&active);
                    let _ = active.push(&mut probe, &stream[0]);
                    next = 1;
                }
                let candle = stream[next];
                next += 1;
                // The active model's prediction for this candle (untimed: measured above).
                let _ = active.push(&mut probe, &candle);
                let p = match active.predict(&probe) {
                    Prediction::Signal { verdict, .. } => verdict.probabilities,
                    _ => [0.3, 0.4, 0.3],
                };
                let mut out = Effects::default();
                let t = Instant::now();
                shadow.on_closed(symbol, Interval::M1, &[candle], 0, &mut out);
                shadow.on_signal(&signal_of(&candle, p), 0, &mut out);
                total += t.elapsed();
                black_box(out);
            }
            total
        })
    });
    group.finish();
    c.final_summary();
}
