//! A model backtest as the user runs it: `trademon backtest --strategy model:champion` over
//! 100,000 one-minute candles stored in SQLite, with an ensemble of the default shape (5 LSTM
//! members, hidden 64/48, 2 layers, window 20, 54 features). Timed: loading the candles, the
//! features, batched inference through all members, the signals, the simulator and the metrics
//! (the run is not stored). Goal: under 10 s. Run: `cargo bench --bench model_backtest`.
//!
//! The ensemble is trained for one epoch on the first 3,000 candles: inference costs the same
//! whatever the weights, and a full training would only slow the setup.
//!
//! Beside it, `trademon drift` over the same candles (`drift_100k_candles_5_members`) and
//! `trademon models compare` of the champion and a second ensemble of the same shape
//! (`compare_100k_candles_two_5_member_ensembles`; goal: at most 2× one model backtest).

use std::hint::black_box;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use trademon::backtest::model_signals;
use trademon::commands::backtest::{BacktestArgs, run};
use trademon::config::Config;
use trademon::domain::{Candle, Interval, Symbol};
use trademon::model::registry::{Origin, Registry};
use trademon::model::train::{TrainSpec, train};
use trademon::store::Store;

const CANDLES: usize = 100_000;

fn walk(n: usize) -> Vec<Candle> {
    let mut state = 0x5EED_u64;
    let mut close = 100.0;
    (0..n as i64)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            let open = close;
            close = open * (1.0 + 0.004 * (u - 0.5) + 0.0003 * ((i as f64) / 500.0).sin());
            Candle {
                open_time_ms: 1_599_999_960_000 + i * 60_000,
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
    let db = dir.path().join("bench.db");
    let symbol = Symbol::new("BENCHUSDT").expect("a valid symbol");
    let candles = walk(CANDLES);
    Store::open(&db)
        .and_then(|mut s| s.import_candles(symbol, Interval::M1, &candles))
        .expect("candles stored");
    let mut spec = TrainSpec::from_config(&Config::default().model);
    spec.epochs = 1;
    let trained = train(
        &candles[..3_000],
        Interval::M1,
        &spec,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .expect("a trained ensemble");
    let record =
        trademon::commands::train::register(&db, symbol, Interval::M1, &trained, Origin::Trained)
            .expect("registered");
    Registry::open(&db)
        .and_then(|mut r| r.promote(record.id))
        .expect("promoted");
    let ensemble = &trained.ensemble;
    eprintln!(
        "\nensemble: {} members, hidden {:?}, {} layers, window {}, {} features",
        ensemble.members().len(),
        ensemble
            .params
            .members
            .iter()
            .map(|m| m.spec.hidden)
            .collect::<Vec<_>>(),
        spec.layers,
        ensemble.window(),
        ensemble.names.len()
    );
    let args = BacktestArgs {
        save: false,
        ..BacktestArgs::new(
            vec![symbol],
            Interval::M1,
            "model:champion",
            &Default::default(),
        )
    };
    let t = Instant::now();
    let report = run(&db, &args).expect("the backtest runs");
    eprintln!(
        "one run: {:.2} s for {} candles, {} trades",
        t.elapsed().as_secs_f64(),
        report.candles,
        report.metrics.trades
    );
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("model_backtest");
    group
        .throughput(Throughput::Elements(CANDLES as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(60));
    group.bench_function("champion_100k_candles_5_members", |b| {
        b.iter(|| run(black_box(&db), &args).expect("the backtest runs"))
    });
    group.bench_function("signals_only_100k_candles_5_members", |b| {
        b.iter(|| {
            model_signals(
                ensemble,
                "bench",
                Interval::M1,
                black_box(&candles),
                0,
                &mut |_, _| true,
            )
            .expect("signals")
        })
    });
    // `trademon drift` over the same stored candles: the model through the signal pipeline's
    // batch back-end, and the monitor's tracker on every candle (exact statistics every 10).
    let drift_args = trademon::monitor::offline::DriftArgs {
        symbol,
        interval: Interval::M1,
        model: "champion".into(),
        from_ms: None,
        to_ms: None,
        settings: trademon::monitor::Settings::default(),
        thresholds: Default::default(),
    };
    let t = Instant::now();
    let drift = trademon::monitor::offline::run(&db, &drift_args).expect("drift runs");
    eprintln!(
        "one drift run: {:.2} s for {} candles ({} evaluations; reference computed: {})",
        t.elapsed().as_secs_f64(),
        drift.candles,
        drift.evaluations,
        drift.reference_computed
    );
    group.bench_function("drift_100k_candles_5_members", |b| {
        b.iter(|| trademon::monitor::offline::run(black_box(&db), &drift_args).expect("drift runs"))
    });
    // `trademon models compare champion B` over the same stored candles: a second ensemble of
    // the default shape (another seed), both through the signal pipeline's batch back-end (the
    // two in parallel), paired, and the statistics.
    let mut spec_b = spec.clone();
    spec_b.seed += 1;
    let trained_b = train(
        &candles[..3_000],
        Interval::M1,
        &spec_b,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .expect("a second ensemble");
    let record_b =
        trademon::commands::train::register(&db, symbol, Interval::M1, &trained_b, Origin::Trained)
            .expect("registered");
    let compare_args = trademon::monitor::compare_run::CompareArgs {
        a: "champion".into(),
        b: record_b.id.to_string(),
        symbols: vec![symbol],
        interval: Interval::M1,
        from_ms: None,
        to_ms: None,
        thresholds: Default::default(),
        pairs: false,
    };
    let t = Instant::now();
    let compared =
        trademon::monitor::compare_run::run(&db, &compare_args).expect("the comparison runs");
    eprintln!(
        "one compare run: {:.2} s, {} paired candles, verdict {}",
        t.elapsed().as_secs_f64(),
        compared.pooled.evidence.n,
        compared.pooled.verdict
    );
    group.bench_function("compare_100k_candles_two_5_member_ensembles", |b| {
        b.iter(|| {
            trademon::monitor::compare_run::run(black_box(&db), &compare_args)
                .expect("the comparison runs")
        })
    });
    group.finish();
    c.final_summary();
}
