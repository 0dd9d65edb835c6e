//! Bulk import throughput: parse + check + insert of 200,000 candles from a CSV file into a fresh
//! SQLite database per iteration. Target: at least 500,000 candles/s (criterion's `thrpt`, in
//! elements per second, is candles per second).
//!
//! Run: `cargo bench --bench import`

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use trademon::domain::{Candle, Interval, Symbol};
use trademon::store::Store;
use trademon::store::import::{import_file, read_candles_from_bytes};

const CANDLES: usize = 200_000;

/// A deterministic random walk of 1m candles, written as the 8-column candle CSV.
fn csv_file() -> (Vec<u8>, Vec<Candle>) {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut unit = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut price = 30_000.0;
    let mut text = String::from("open_time_ms,open,high,low,close,volume,quote_volume,trades\n");
    let mut candles = Vec::with_capacity(CANDLES);
    for i in 0..CANDLES {
        let open = price;
        let close = open * (1.0 + (unit() - 0.5) * 0.002);
        let volume = unit() * 50.0;
        let candle = Candle {
            open_time_ms: 1_600_000_020_000 + i as i64 * 60_000,
            open,
            high: open.max(close) * (1.0 + unit() * 0.001),
            low: open.min(close) * (1.0 - unit() * 0.001),
            close,
            volume,
            quote_volume: volume * close,
            trades: (unit() * 1_000.0) as u64,
        };
        let c = &candle;
        let _ = writeln!(
            text,
            "{},{},{},{},{},{},{},{}",
            c.open_time_ms, c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.trades
        );
        candles.push(candle);
        price = close;
    }
    (text.into_bytes(), candles)
}

fn import(c: &mut Criterion) {
    let (bytes, candles) = csv_file();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("candles.csv");
    std::fs::write(&file, &bytes).expect("write the CSV");
    let symbol = Symbol::new("BTCUSDT").expect("symbol");

    let mut group = c.benchmark_group("import");
    group.throughput(Throughput::Elements(CANDLES as u64));
    group.sample_size(10);

    group.bench_function("file_to_fresh_db", |b| {
        b.iter_batched(
            || {
                let db = tempfile::tempdir().expect("temp dir");
                let store = Store::open(&db.path().join("t.db")).expect("open store");
                (db, store)
            },
            |(db, mut store)| {
                let report = import_file(&mut store, &file, symbol, Interval::M1).expect("import");
                assert_eq!(report.added, CANDLES as u64);
                (db, store)
            },
            BatchSize::PerIteration,
        )
    });
    // Where the time goes: the read half alone, and the store's one-row-per-statement
    // `Store::import_candles` as the reference the import's multi-row writer is compared with.
    group.bench_function("parse_and_check", |b| {
        b.iter(|| read_candles_from_bytes("bench", black_box(&bytes), Interval::M1).expect("parse"))
    });
    group.bench_function("reference_store_import_candles", |b| {
        b.iter_batched(
            || {
                let db = tempfile::tempdir().expect("temp dir");
                let store = Store::open(&db.path().join("t.db")).expect("open store");
                (db, store)
            },
            |(db, mut store)| {
                store
                    .import_candles(symbol, Interval::M1, &candles)
                    .expect("insert");
                (db, store)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, import);
criterion_main!(benches);
