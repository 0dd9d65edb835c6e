//! End to end over loopback: the simulated exchange -> websocket client -> engine -> SQLite,
//! in messages per second (target >= 100,000), and the latency of live store commits
//! (target p99 <= 2 ms).

use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use trademon::config::Config;
use trademon::domain::{Candle, Interval, Symbol};
use trademon::engine::{Runtime, RuntimeOptions, Source};
use trademon::store::Store;

const SYMBOLS: [&str; 10] = [
    "BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "AVAXUSDT",
    "LINKUSDT", "DOTUSDT",
];

/// Runs the whole pipeline for `window` at full simulator speed; returns (messages, elapsed).
fn run_pipeline(rt: &tokio::runtime::Runtime, window: Duration) -> (u64, Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.feed.symbols = SYMBOLS
        .iter()
        .map(|s| Symbol::new(s).expect("symbol"))
        .collect();
    config.feed.intervals = vec![Interval::M1, Interval::M5];
    config.feed.sim.speed = 100_000.0;
    config.feed.sim.history_minutes = 0;
    config.feed.initial_backfill = 0;
    rt.block_on(async {
        let runtime = Runtime::start(RuntimeOptions {
            config,
            db_path: dir.path().join("bench.db"),
            source: Source::Sim,
            with_view: false,
        })
        .await
        .expect("runtime starts");
        let started = Instant::now();
        tokio::time::sleep(window).await;
        let elapsed = started.elapsed();
        let summary = runtime.stop().await.expect("runtime stops");
        (summary.messages, elapsed)
    })
}

fn end_to_end(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut group = c.benchmark_group("end_to_end");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.warm_up_time(Duration::from_secs(1));
    // One element = one message; each iteration times a 1.5 s window and charges it per message.
    group.throughput(Throughput::Elements(1));
    let mut rates = Vec::new();
    group.bench_function("loopback_messages", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (messages, elapsed) = run_pipeline(&rt, Duration::from_millis(1500));
                rates.push(messages as f64 / elapsed.as_secs_f64());
                total += elapsed.div_f64(messages.max(1) as f64);
            }
            total
        })
    });
    group.finish();
    if !rates.is_empty() {
        rates.sort_by(f64::total_cmp);
        eprintln!(
            "end_to_end/loopback_messages: median {:.0} messages/s over {} windows of 1.5 s (10 symbols, 1m+5m klines + trades)",
            rates[rates.len() / 2],
            rates.len()
        );
    }
}

fn live_commit(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&dir.path().join("commit.db")).expect("store");
    let symbol = Symbol::new("BTCUSDT").expect("symbol");
    // A store that already holds a year of minutes for one series.
    let history: Vec<_> = (0..525_600)
        .map(|i| (symbol, Interval::M1, candle(i * 60_000)))
        .collect();
    store.upsert_candles(&history).expect("history");
    // As the live writer does: no checkpoint inside a commit; a passive one between batches.
    store.manual_checkpoints().expect("pragma");
    let mut next = 525_600i64;
    let mut samples = Vec::new();
    let mut checkpoints = Vec::new();
    let mut group = c.benchmark_group("store");
    // A live batch: 10 symbols' closed 1m candles arriving in the same 100 ms window.
    group.bench_function("live_commit_10_candles", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let batch: Vec<_> = SYMBOLS
                    .iter()
                    .map(|s| {
                        (
                            Symbol::new(s).expect("symbol"),
                            Interval::M1,
                            candle(next * 60_000),
                        )
                    })
                    .collect();
                next += 1;
                let started = Instant::now();
                store.upsert_candles(&batch).expect("commit");
                let d = started.elapsed();
                samples.push(d);
                total += d;
                // The writer checkpoints at most once a second; live batches come every 100 ms
                // at most, so one checkpoint per 10 commits is more often than live.
                if next % 10 == 0 {
                    let started = Instant::now();
                    store.checkpoint_passive().expect("checkpoint");
                    checkpoints.push(started.elapsed());
                }
            }
            total
        })
    });
    group.finish();
    // Filtered out (`cargo bench --bench pipeline -- end_to_end`): nothing was timed.
    if samples.is_empty() || checkpoints.is_empty() {
        return;
    }
    let at = |v: &mut Vec<Duration>, q: f64| {
        v.sort();
        v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1]
    };
    eprintln!(
        "store/live_commit_10_candles: commit p50 {:?}, p99 {:?} over {} commits; \
         checkpoints between batches p50 {:?}, p99 {:?} over {}",
        at(&mut samples, 0.5),
        at(&mut samples, 0.99),
        samples.len(),
        at(&mut checkpoints, 0.5),
        at(&mut checkpoints, 0.99),
        checkpoints.len()
    );
}

fn candle(t: i64) -> Candle {
    Candle {
        open_time_ms: t,
        open: 100.0,
        high: 101.0,
        low: 99.0,
        close: 100.5,
        volume: 12.0,
        quote_volume: 1206.0,
        trades: 42,
    }
}

criterion_group!(benches, live_commit, end_to_end);
criterion_main!(benches);
