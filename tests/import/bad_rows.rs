//! Every kind of bad row is refused at its row and line, and the database is left exactly as it
//! was, although it already holds data.

use trademon::domain::{CandleError, Interval};
use trademon::store::import::{ImportError, RowProblem, import_file};

use crate::{dump_table, fixture, seeded_store, sym};

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
