//! `trademon import` end to end: every format into a real SQLite file, every kind of bad row
//! refused with its row and line and nothing written, real Binance data with real gaps, and
//! property tests of the CSV and JSON round trips.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use trademon::domain::{Candle, CandleError, Interval, Symbol};
use trademon::feed::binance::write_rest_klines;
use trademon::store::Store;
use trademon::store::import::{
    ImportError, ImportFormat, RowProblem, TimeUnit, import_file, read_candles_from_bytes,
};

const T0: i64 = 1_700_000_040_000;
const MINUTE: i64 = 60_000;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn sym(name: &str) -> Symbol {
    Symbol::new(name).unwrap()
}

/// The five candles every good fixture holds.
fn fixture_candles(with_volumes: bool) -> Vec<Candle> {
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

fn dump_table(db: &Path) -> Vec<Row> {
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
fn seeded_store(dir: &Path) -> (Store, PathBuf) {
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

type Expect = fn(&RowProblem) -> bool;

#[test]
fn bad_rows_are_refused_where_they_are_and_nothing_is_written() {
    use RowProblem as P;
    let cases: [(&str, u64, u64, Expect); 26] = [
        ("not-increasing.csv", 4, 5, |p| {
            matches!(p, P::NotIncreasing { .. })
        }),
        ("duplicate.csv", 3, 4, |p| matches!(p, P::Duplicate { .. })),
        ("off-grid.csv", 2, 3, |p| matches!(p, P::OffGrid { .. })),
        ("high-below-close.csv", 5, 6, |p| {
            matches!(p, P::Candle(CandleError::HighTooLow { .. }))
        }),
        ("low-above-open.csv", 1, 2, |p| {
            matches!(p, P::Candle(CandleError::LowTooHigh { .. }))
        }),
        ("negative-volume.csv", 3, 4, |p| {
            matches!(
                p,
                P::Candle(CandleError::Negative {
                    field: "volume",
                    ..
                })
            )
        }),
        ("nan-close.csv", 2, 3, |p| {
            matches!(p, P::Candle(CandleError::NotFinite { field: "close" }))
        }),
        ("infinite-high.csv", 2, 3, |p| {
            matches!(p, P::Candle(CandleError::NotFinite { field: "high" }))
        }),
        ("zero-price.csv", 4, 5, |p| {
            matches!(p, P::Candle(CandleError::ZeroPrice { field: "open" }))
        }),
        ("unparsable.csv", 3, 4, |p| {
            matches!(p, P::NotANumber { column: "high", .. })
        }),
        ("too-few-columns.csv", 2, 3, |p| {
            *p == P::ColumnCount {
                expected: 6,
                found: 5,
            }
        }),
        ("too-many-columns.csv", 4, 5, |p| {
            *p == P::ColumnCount {
                expected: 6,
                found: 7,
            }
        }),
        ("empty-cell.csv", 3, 4, |p| {
            *p == P::EmptyCell { column: "high" }
        }),
        ("blank-line.csv", 3, 4, |p| *p == P::EmptyLine),
        ("microseconds.csv", 1, 2, |p| {
            matches!(p, P::NotMilliseconds { .. })
        }),
        ("mixed-units.csv", 3, 3, |p| {
            matches!(p, P::MixedTimeUnits { .. })
        }),
        ("dump-unparsable.csv", 2, 2, |p| {
            matches!(
                p,
                P::NotAnInteger {
                    column: "trades",
                    ..
                }
            )
        }),
        ("close-time.csv", 4, 4, |p| {
            matches!(p, P::CloseTimeMismatch { .. })
        }),
        ("sub-millisecond.csv", 5, 5, |p| {
            matches!(p, P::NotWholeMillisecond { .. })
        }),
        ("negative-trades.csv", 3, 4, |p| {
            matches!(
                p,
                P::NegativeCount {
                    column: "trades",
                    value: -3
                }
            )
        }),
        ("json-text.json", 2, 2, |p| {
            matches!(
                p,
                P::NotANumber {
                    column: "volume",
                    ..
                }
            )
        }),
        ("json-short-row.json", 4, 4, |p| {
            *p == P::ColumnCount {
                expected: 6,
                found: 5,
            }
        }),
        ("json-fractional-time.json", 3, 3, |p| {
            matches!(
                p,
                P::NotAnInteger {
                    column: "open_time",
                    ..
                }
            )
        }),
        // Not row problems: checked below by variant.
        ("json-syntax.json", 4, 4, |_| false),
        ("garbage.bin", 0, 1, |_| false),
        ("empty.csv", 0, 0, |_| false),
    ];
    let extra = ["header-only.csv", "unknown-header.csv"];
    let dir = tempfile::tempdir().unwrap();
    let (mut store, db) = seeded_store(dir.path());
    let before = dump_table(&db);
    let all = cases
        .iter()
        .map(|c| (c.0, c.1, c.2, Some(c.3)))
        .chain(extra.iter().map(|n| (*n, 0, 0, None)));
    for (name, row, line, expect) in all {
        let path = fixture(&format!("bad/{name}"));
        let err = import_file(&mut store, &path, sym("ETHBTC"), Interval::M1).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains(&path.display().to_string()),
            "{name}: {message}"
        );
        match (&err, name) {
            (
                ImportError::Row {
                    row: r,
                    line: l,
                    problem,
                    ..
                },
                _,
            ) => {
                assert_eq!((*r, *l), (row, line), "{name}: {message}");
                assert!(expect.is_some_and(|f| f(problem)), "{name}: {message}");
                assert!(
                    message.contains(&format!("row {row} (line {line})")),
                    "{message}"
                );
            }
            (
                ImportError::Json {
                    line: l, row: r, ..
                },
                "json-syntax.json",
            ) => {
                assert_eq!((*l, *r), (line, Some(row)), "{message}");
            }
            (ImportError::NotText { line: 1, .. }, "garbage.bin") => {}
            (ImportError::NoCandles { .. }, "empty.csv" | "header-only.csv") => {
                assert!(message.contains("no candles"), "{message}");
            }
            (ImportError::UnknownFormat { line: 1, .. }, "unknown-header.csv") => {}
            _ => panic!("{name}: unexpected {err:?}"),
        }
        assert_eq!(dump_table(&db), before, "{name} changed the database");
    }
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

/// A shared data file, or `None` (with the reason printed) when it is absent outside CI.
fn shared_data(name: &str) -> Option<PathBuf> {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data")).join(name);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing",
        path.display()
    );
    eprintln!("skipped: {} is missing", path.display());
    None
}

/// Parses a shared CSV the plain way, to compare the import against.
fn naive_parse(path: &Path) -> Vec<Candle> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let v: Vec<&str> = line.split(',').collect();
            let f = |i: usize| v[i].parse::<f64>().unwrap();
            Candle {
                open_time_ms: v[0].parse().unwrap(),
                open: f(1),
                high: f(2),
                low: f(3),
                close: f(4),
                volume: f(5),
                quote_volume: 0.0,
                trades: 0,
            }
        })
        .collect()
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
        let expected = naive_parse(&path);
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

// ---- property tests --------------------------------------------------------------------------

fn series() -> impl Strategy<Value = Vec<Candle>> {
    let candle = (
        1e-8f64..1e5,
        0f64..1.0,
        0f64..1.0,
        0f64..0.5,
        0f64..0.5,
        0f64..1e9,
        0f64..1e9,
        0u64..1_000_000,
        1i64..4,
    );
    prop::collection::vec(candle, 1..40).prop_map(|rows| {
        let mut t = T0 - MINUTE;
        rows.into_iter()
            .map(|(open, c, h, l, _, volume, quote_volume, trades, step)| {
                t += step * MINUTE;
                let close = open * (0.5 + c);
                Candle {
                    open_time_ms: t,
                    open,
                    high: open.max(close) * (1.0 + h),
                    low: open.min(close) * (1.0 - l),
                    close,
                    volume,
                    quote_volume,
                    trades,
                }
            })
            .collect()
    })
}

fn write_csv(candles: &[Candle]) -> String {
    let mut out = String::from("open_time_ms,open,high,low,close,volume,quote_volume,trades\n");
    for c in candles {
        out += &format!(
            "{},{},{},{},{},{},{},{}\n",
            c.open_time_ms, c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.trades
        );
    }
    out
}

fn write_dump(candles: &[Candle], micros: bool) -> String {
    let k = if micros { 1_000 } else { 1 };
    let mut out = String::new();
    for c in candles {
        let close_time = (c.open_time_ms + MINUTE) * k - 1;
        out += &format!(
            "{},{},{},{},{},{},{close_time},{},{},0,0,0\n",
            c.open_time_ms * k,
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume,
            c.quote_volume,
            c.trades
        );
    }
    out
}

fn write_json_numbers(candles: &[Candle]) -> String {
    let rows: Vec<String> = candles
        .iter()
        .map(|c| {
            format!(
                "[{},{},{},{},{},{}]",
                c.open_time_ms, c.open, c.high, c.low, c.close, c.volume
            )
        })
        .collect();
    format!("[{}]", rows.join(",\n"))
}

fn read(text: &str) -> Result<Vec<Candle>, ImportError> {
    read_candles_from_bytes("prop", text.as_bytes(), Interval::M1).map(|p| p.candles)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn valid_series_read_back_equal(candles in series()) {
        let without_volumes: Vec<Candle> = candles.iter().map(|c| Candle { quote_volume: 0.0, trades: 0, ..*c }).collect();
        prop_assert_eq!(read(&write_csv(&candles)).unwrap(), candles.clone());
        prop_assert_eq!(read(&write_dump(&candles, false)).unwrap(), candles.clone());
        prop_assert_eq!(read(&write_dump(&candles, true)).unwrap(), candles.clone());
        prop_assert_eq!(read(&write_rest_klines(Interval::M1, &candles)).unwrap(), candles.clone());
        prop_assert_eq!(read(&write_json_numbers(&candles)).unwrap(), without_volumes);
    }

    #[test]
    fn one_corrupted_cell_is_refused_at_its_row_or_read_as_written(
        candles in series(),
        row in any::<prop::sample::Index>(),
        column in 0usize..8,
        junk in prop_oneof![
            Just(String::new()), Just("NaN".to_string()), Just("-1".to_string()), Just("0".to_string()),
            Just("inf".to_string()), Just("1e400".to_string()), Just(" 7".to_string()), Just("1,2".to_string()),
            "[ -~&&[^,]]{0,6}", any::<f64>().prop_map(|f| f.to_string()), any::<i64>().prop_map(|i| i.to_string()),
        ],
    ) {
        let row = row.index(candles.len());
        let text = write_csv(&candles);
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let mut cells: Vec<String> = lines[row + 1].split(',').map(String::from).collect();
        cells[column] = junk.clone();
        lines[row + 1] = cells.join(",");
        match read(&(lines.join("\n") + "\n")) {
            Err(ImportError::Row { row: bad, line, .. }) => {
                // A bad time can also surface as the next row being out of order.
                prop_assert!(bad == row as u64 + 1 || bad == row as u64 + 2, "row {} for {}", bad, row);
                prop_assert_eq!(line, bad + 1);
            }
            Err(other) => prop_assert!(false, "{}", other),
            Ok(read_back) => {
                let mut expected = candles.clone();
                let c = &mut expected[row];
                let value = junk.trim_start();
                let f = || value.parse::<f64>().unwrap();
                match column {
                    0 => c.open_time_ms = value.parse().unwrap(),
                    1 => c.open = f(),
                    2 => c.high = f(),
                    3 => c.low = f(),
                    4 => c.close = f(),
                    5 => c.volume = f(),
                    6 => c.quote_volume = f(),
                    _ => c.trades = value.parse().unwrap(),
                }
                prop_assert_eq!(read_back, expected);
            }
        }
    }
}
