//! `trademon import` end to end: every format into a real SQLite file, every kind of bad row
//! refused with its row and line and nothing written, real Binance data with real gaps, and
//! property tests of the CSV and JSON round trips.
#![allow(clippy::unwrap_used)]

mod bad_rows;
mod limits;
mod props;
// A test crate in a directory of its own: the shared module is one level up.
#[path = "../support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

use trademon::domain::{Candle, Interval, Symbol};
use trademon::store::Store;
use trademon::store::import::{ImportError, ImportFormat, TimeUnit, import_file};

use support::import::read_plain_csv;
use support::shared_data;

const T0: i64 = 1_700_000_040_000;
const MINUTE: i64 = 60_000;

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

pub(crate) fn sym(name: &str) -> Symbol {
    Symbol::new(name).unwrap()
}

/// The five candles every good fixture holds.
pub(crate) fn fixture_candles(with_volumes: bool) -> Vec<Candle> {
    let rows = [
        (
            0.0984,
            0.0994766,
            0.09828605,
            0.0994766,
            1820.544474,
            179.37,
            412,
        ),
        (
            0.09946999,
            0.0997238,
            0.099,
            0.09969,
            2527.921003,
            251.2,
            500,
        ),
        (0.09969, 0.1, 0.0995, 0.0998, 1000.5, 99.9, 100),
        (0.0998, 0.0999, 0.099, 0.0991, 0.0, 0.0, 0),
        (0.0991, 0.0993, 0.0989, 0.0992, 12.25, 1.2152, 7),
    ];
    let mut t = T0 - MINUTE;
    rows.iter()
        .map(|&(open, high, low, close, volume, quote_volume, trades)| {
            t += MINUTE;
            Candle {
                open_time_ms: t,
                open,
                high,
                low,
                close,
                volume,
                quote_volume: if with_volumes { quote_volume } else { 0.0 },
                trades: if with_volumes { trades } else { 0 },
            }
        })
        .collect()
}

/// Every row of the candles table, floats as bits, so "unchanged" means exactly unchanged.
type Row = (String, String, i64, [u64; 6], i64);

pub(crate) fn dump_table(db: &Path) -> Vec<Row> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT * FROM candles ORDER BY symbol, interval, open_time_ms")
        .unwrap();
    stmt.query_map([], |r| {
        let mut floats = [0u64; 6];
        for (i, f) in floats.iter_mut().enumerate() {
            *f = r.get::<_, f64>(3 + i)?.to_bits();
        }
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, floats, r.get(9)?))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// A store that already holds another symbol's series and part of this one's.
pub(crate) fn seeded_store(dir: &Path) -> (Store, PathBuf) {
    let path = dir.join("trademon.db");
    let mut store = Store::open(&path).unwrap();
    let other: Vec<Candle> = fixture_candles(true)
        .iter()
        .map(|c| Candle {
            open: c.open * 2.0,
            high: c.high * 2.0,
            low: c.low * 2.0,
            close: c.close * 2.0,
            ..*c
        })
        .collect();
    store
        .import_candles(sym("LTCBTC"), Interval::M1, &other)
        .unwrap();
    store
        .import_candles(sym("ETHBTC"), Interval::M1, &fixture_candles(true)[..2])
        .unwrap();
    (store, path)
}

#[test]
fn every_format_round_trips_through_the_store() {
    let gap: Vec<Candle> = fixture_candles(true)
        .into_iter()
        .enumerate()
        .map(|(i, c)| Candle {
            open_time_ms: c.open_time_ms + if i >= 2 { 2 * MINUTE } else { 0 },
            ..c
        })
        .collect();
    let cases = [
        (
            "good/candles.csv",
            ImportFormat::Csv,
            TimeUnit::Milliseconds,
            fixture_candles(false),
        ),
        (
            "good/candles-full-gap.csv",
            ImportFormat::Csv,
            TimeUnit::Milliseconds,
            gap,
        ),
        (
            "good/dump-ms.csv",
            ImportFormat::BinanceDump,
            TimeUnit::Milliseconds,
            fixture_candles(true),
        ),
        (
            "good/dump-us.csv",
            ImportFormat::BinanceDump,
            TimeUnit::Microseconds,
            fixture_candles(true),
        ),
        (
            "good/klines.json",
            ImportFormat::JsonArray,
            TimeUnit::Milliseconds,
            fixture_candles(false),
        ),
        (
            "good/klines-rest.json",
            ImportFormat::JsonArray,
            TimeUnit::Milliseconds,
            fixture_candles(true),
        ),
    ];
    for (name, format, unit, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let report = import_file(&mut store, &fixture(name), sym("ETHBTC"), Interval::M1)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((report.format, report.time_unit), (format, unit), "{name}");
        assert_eq!(
            (report.rows_read, report.added, report.already_present),
            (5, 5, 0),
            "{name}"
        );
        assert_eq!(
            report.first_open_time_ms,
            Some(expected[0].open_time_ms),
            "{name}"
        );
        assert_eq!(
            report.last_open_time_ms,
            Some(expected[4].open_time_ms),
            "{name}"
        );
        let stored = store
            .candles_between(sym("ETHBTC"), Interval::M1, 0, i64::MAX)
            .unwrap();
        assert_eq!(stored, expected, "{name}");
        let has_gap = name.contains("gap");
        assert_eq!(
            report.gaps,
            if has_gap {
                vec![(T0 + 2 * MINUTE, 2)]
            } else {
                vec![]
            },
            "{name}"
        );
        let zero_filled =
            !name.contains("full") && !name.contains("dump") && !name.contains("rest");
        assert_eq!(report.zero_filled.is_empty(), !zero_filled, "{name}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["rows_read"], 5, "{name}");
    }
}

#[test]
fn reimport_adds_nothing_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, db) = seeded_store(dir.path());
    let file = fixture("good/dump-us.csv");
    let first = import_file(&mut store, &file, sym("ETHBTC"), Interval::M1).unwrap();
    assert_eq!((first.added, first.already_present), (3, 2));
    let before = dump_table(&db);
    let again = import_file(&mut store, &file, sym("ETHBTC"), Interval::M1).unwrap();
    assert_eq!(
        (again.rows_read, again.added, again.already_present),
        (5, 0, 5)
    );
    assert_eq!(dump_table(&db), before);
    assert_eq!(before.len(), 10);
}

#[test]
fn missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let err = import_file(
        &mut store,
        &dir.path().join("nope.csv"),
        sym("ETHBTC"),
        Interval::M1,
    )
    .unwrap_err();
    assert!(
        matches!(err, ImportError::Read { .. }) && err.to_string().contains("nope.csv"),
        "{err}"
    );
}

#[test]
fn real_binance_data_with_and_without_gaps() {
    for (name, rows, complete) in [
        ("ETHBTC-5m.csv", 5_760, true),
        ("ADABTC-5m.csv", 5_720, false),
    ] {
        let Some(path) = shared_data(name) else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let symbol = sym(&name[..6]);
        let report = import_file(&mut store, &path, symbol, Interval::M5).unwrap();
        let expected = read_plain_csv(&path);
        assert_eq!((report.rows_read, report.added), (rows, rows), "{name}");
        assert_eq!(report.format, ImportFormat::Csv);
        let (first, last) = (
            expected[0].open_time_ms,
            expected[expected.len() - 1].open_time_ms,
        );
        assert_eq!(
            (report.first_open_time_ms, report.last_open_time_ms),
            (Some(first), Some(last))
        );
        // The 20 days hold 5,760 five-minute slots; every empty slot must be in one reported gap.
        let slots = (last - first) / Interval::M5.ms() + 1;
        assert_eq!(slots, 5_760, "{name}");
        let missing: i64 = report.gaps.iter().map(|g| g.1).sum();
        assert_eq!(missing, slots - rows as i64, "{name}");
        assert_eq!(report.gaps.is_empty(), complete, "{name}");
        for &(start, n) in &report.gaps {
            assert!(
                expected
                    .iter()
                    .all(|c| c.open_time_ms < start
                        || c.open_time_ms >= start + n * Interval::M5.ms())
            );
        }
        assert_eq!(
            store.gaps(symbol, Interval::M5).unwrap(),
            report.gaps,
            "{name}"
        );
        assert_eq!(
            store.recent_candles(symbol, Interval::M5, 10_000).unwrap(),
            expected,
            "{name}"
        );
    }
}
