//! Unit tests of format detection, the row checks, and JSON error positions.

use super::*;

fn read(text: &str) -> Result<ParsedFile, ImportError> {
    read_candles_from_bytes("t.csv", text.as_bytes(), Interval::M1)
}

#[test]
fn detects_each_format() {
    let csv = "open_time_ms,open,high,low,close,volume\n60000,1,2,0.5,1.5,10\n";
    let dump = "60000,1,2,0.5,1.5,10,119999,15,3,1,1,0\n";
    let json = r#"[[60000,"1","2","0.5","1.5","10"]]"#;
    assert_eq!(read(csv).unwrap().format, ImportFormat::Csv);
    assert_eq!(read(dump).unwrap().format, ImportFormat::BinanceDump);
    assert_eq!(read(json).unwrap().format, ImportFormat::JsonArray);
    assert_eq!(read(csv).unwrap().zero_filled, ["quote_volume", "trades"]);
    assert!(read(dump).unwrap().zero_filled.is_empty());
}

#[test]
fn header_is_case_and_space_tolerant_but_names_must_match() {
    let ok = "Open_Time_ms, open ,HIGH,low,close,volume\r\n60000,1,2,0.5,1.5,10\r\n";
    assert_eq!(read(ok).unwrap().candles.len(), 1);
    let err = read("time,open,high,low,close,volume\n60000,1,2,0.5,1.5,10\n").unwrap_err();
    assert!(
        matches!(err, ImportError::UnknownFormat { line: 1, .. }),
        "{err}"
    );
    let err = read("60000,1,2,0.5,1.5,10\n").unwrap_err();
    assert!(err.to_string().contains("6 columns and no header"), "{err}");
}

#[test]
fn microsecond_dump_converts_exactly() {
    // 1 700 000 040 000 000 µs is 2023-11-14.
    let us = "1700000040000000,1,2,0.5,1.5,10,1700000099999999,15,3,1,1,0\n";
    let parsed = read(us).unwrap();
    assert_eq!(parsed.time_unit, TimeUnit::Microseconds);
    assert_eq!(parsed.candles[0].open_time_ms, 1_700_000_040_000);
    let ms = "1700000040000,1,2,0.5,1.5,10,1700000099999,15,3,1,1,0\n";
    let parsed = read(ms).unwrap();
    assert_eq!(parsed.time_unit, TimeUnit::Milliseconds);
    assert_eq!(parsed.candles[0].open_time_ms, 1_700_000_040_000);
}

#[test]
fn small_times_are_milliseconds_and_close_time_must_match() {
    // 60 000 000 is read as milliseconds (1970), so a microsecond close time does not fit it.
    let err = read("60000000,1,2,0.5,1.5,10,119999999,15,3,1,1,0\n").unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::Row {
                problem: RowProblem::CloseTimeMismatch {
                    expected: 60_059_999,
                    ..
                },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn no_text_no_candles() {
    for empty in [
        "",
        "\n\n",
        "open_time_ms,open,high,low,close,volume\n",
        "[]",
        "  [ ]\n",
    ] {
        let err = read(empty).unwrap_err();
        assert!(
            matches!(err, ImportError::NoCandles { .. }),
            "{empty:?}: {err}"
        );
        assert!(err.to_string().contains("no candles"), "{err}");
    }
    let err = read("open_time_ms,open,high,low,close,volume\n\x00\x01").unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::NotText {
                line: 2,
                byte: 0,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn json_errors_point_at_the_row() {
    let text = "[\n [60000, 1, 2, 0.5, 1.5, 10],\n [120000, 1, 2, 0.5, 1.5, true]\n]";
    let err = read(text).unwrap_err();
    match &err {
        ImportError::Row {
            row: 2,
            line: 3,
            problem: RowProblem::WrongJsonType {
                column: "volume", ..
            },
            ..
        } => {}
        other => panic!("{other}"),
    }
    let broken = "[\n [60000, 1, 2, 0.5, 1.5, 10],\n [120000, 1, 2, 0.5, 1.5, 10 x]\n]";
    let err = read(broken).unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::Json {
                line: 3,
                row: Some(2),
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn row_starts_follow_strings_and_nesting() {
    let text = r#"[ ["[,]", 1], [2, {"a": [3]}] , "x" ]"#;
    let starts = json::row_starts(text);
    let firsts: Vec<char> = starts
        .iter()
        .map(|&i| text[i..].chars().next().unwrap())
        .collect();
    assert_eq!(firsts, ['[', '[', '"']);
}

/// Cells the fast reader (polars) and the line reader that locates errors might judge
/// differently. Every one must end either accepted or refused at its row, never with the
/// unlocated "CSV reader refused the file".
#[test]
fn odd_cells_are_accepted_or_located() {
    let odd = [
        "+5",
        "05",
        " 5",
        "\t5",
        "5 ",
        ".5",
        "5.",
        "+.5e1",
        "1_0",
        "0x1",
        "infinity",
        "-0",
        "1E5",
        "nan",
        "+inf",
        "-inf",
        "\"5\"",
        "5e",
        "e5",
        "--5",
        "9223372036854775808",
        "1e400",
        "٣",
    ];
    let base = ["60000", "2", "3", "1", "2", "10", "20", "4"];
    for column in 0..base.len() {
        for cell in odd {
            let mut cells = base;
            cells[column] = cell;
            let text = format!(
                "open_time_ms,open,high,low,close,volume,quote_volume,trades\n{}\n",
                cells.join(",")
            );
            match read(&text) {
                Ok(_)
                | Err(ImportError::Row {
                    row: 1, line: 2, ..
                }) => {}
                Err(other) => panic!("column {column}, cell {cell:?}: {other}"),
            }
        }
    }
}

fn series(n: usize) -> Vec<Candle> {
    (0..n as i64)
        .map(|i| Candle {
            open_time_ms: 60_000 * (i + 1),
            open: 1.0 + i as f64,
            high: 2.0 + i as f64,
            low: 0.5,
            close: 1.5 + i as f64,
            volume: i as f64 * 0.25,
            quote_volume: i as f64 * 0.5,
            trades: i as u64,
        })
        .collect()
}

/// The multi-row writer stores exactly what `Store::import_candles` stores, at and around its
/// statement size, and counts rows already present the same way.
#[test]
fn bulk_insert_matches_store_import_candles() {
    let symbol = Symbol::new("ETHBTC").unwrap();
    // Seeds: none (the first-import path), candles inside the range, and candles outside it.
    for (n, seeded) in [1, 63, 64, 65, 130, 200]
        .into_iter()
        .flat_map(|n| [(n, 0), (n, 1), (n, 2)])
    {
        let all = series(n);
        let dir = tempfile::tempdir().unwrap();
        let mut bulk = Store::open(&dir.path().join("bulk.db")).unwrap();
        let mut plain = Store::open(&dir.path().join("plain.db")).unwrap();
        let outside = [Candle {
            open_time_ms: 60_000 * (n as i64 + 5),
            ..all[0]
        }];
        let seed = match seeded {
            0 => &[][..],
            1 => &all[n / 3..n / 2 + 1],
            _ => &outside[..],
        };
        bulk.import_candles(symbol, Interval::M1, seed).unwrap();
        plain.import_candles(symbol, Interval::M1, seed).unwrap();
        let ours = insert::insert_new_candles(&mut bulk, symbol, Interval::M1, &all).unwrap();
        assert_eq!(
            insert::insert_new_candles(&mut bulk, symbol, Interval::M1, &[]).unwrap(),
            plain.import_candles(symbol, Interval::M1, &[]).unwrap()
        );
        let theirs = plain.import_candles(symbol, Interval::M1, &all).unwrap();
        assert_eq!(ours, theirs, "{n} rows");
        assert_eq!(ours.added + ours.already_present, n as u64);
        let stored = |s: &Store| {
            s.candles_between(symbol, Interval::M1, 0, i64::MAX)
                .unwrap()
        };
        assert_eq!(stored(&bulk), stored(&plain), "{n} rows");
        let mut expected = all.clone();
        expected.extend(outside.iter().filter(|_| seeded == 2));
        assert_eq!(stored(&bulk), expected, "{n} rows");
    }
}
