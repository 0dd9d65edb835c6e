//! What import must not read whole or trust: a line of ten million commas, a cell of 60,000
//! characters, a device or a FIFO, prices far beyond any market's. Each is refused with a short
//! message naming file and line, and nothing is written.

use std::path::Path;

use crate::support::import::run_import;
use crate::support::{mkfifo, text, trademon};
use crate::{dump_table, seeded_store};

const HEADER: &str = "open_time_ms,open,high,low,close,volume\n";
const T0: i64 = 1_700_000_040_000;

/// Imports `body` (after the header) into a seeded store; returns the error text, having checked
/// the import failed and left the store as it was.
fn refused(dir: &Path, file: &Path, body: Option<&str>) -> String {
    if let Some(body) = body {
        std::fs::write(file, format!("{HEADER}{body}")).unwrap();
    }
    let (store, db) = seeded_store(dir);
    drop(store);
    let before = dump_table(&db);
    let out = run_import(dir, &db, file, "BTCUSDT", "1m", &[]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.starts_with("error: "), "{}", &err[..err.len().min(300)]);
    assert!(!err.contains("panicked"), "{}", &err[..err.len().min(300)]);
    assert_eq!(dump_table(&db), before, "nothing written");
    err
}

#[test]
fn a_line_of_ten_million_commas_is_refused_at_its_line_in_a_short_message() {
    let tmp = tempfile::tempdir().unwrap();
    let body = format!("{T0},1,1,1,1,1\n{}1\n", ",".repeat(10_000_000));
    let err = refused(tmp.path(), &tmp.path().join("wide.csv"), Some(&body));
    assert!(err.contains("wide.csv: line 3: longer than"), "{err}");
    assert!(err.len() < 300, "{} bytes", err.len());
}

#[test]
fn a_huge_cell_is_echoed_as_a_short_excerpt() {
    let tmp = tempfile::tempdir().unwrap();
    let body = format!("{T0},{},1,1,1,1\n", "x".repeat(60_000));
    let err = refused(tmp.path(), &tmp.path().join("cell.csv"), Some(&body));
    assert!(err.contains("line 2") && err.contains("xxxx…"), "{err}");
    assert!(err.len() < 300, "{} bytes", err.len());
}

#[test]
fn a_device_or_a_fifo_is_refused_as_not_a_regular_file() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("pipe.csv");
    mkfifo(&fifo);
    for (file, what) in [
        (Path::new("/dev/zero"), "a character device"),
        (fifo.as_path(), "a FIFO"),
    ] {
        let err = refused(tmp.path(), file, None);
        assert!(
            err.contains("not a regular file") && err.contains(what),
            "{err}"
        );
    }
}

#[test]
fn prices_beyond_any_market_are_refused_at_their_line() {
    let tmp = tempfile::tempdir().unwrap();
    let body = format!("{T0},1,1e308,1,1,1\n");
    let err = refused(tmp.path(), &tmp.path().join("huge.csv"), Some(&body));
    assert!(
        err.contains("line 2") && err.contains("high") && err.contains("out of range"),
        "{err}"
    );
    let body = format!("{T0},1,1,1,1,1e300\n");
    let err = refused(tmp.path(), &tmp.path().join("vol.csv"), Some(&body));
    assert!(
        err.contains("volume") && err.contains("out of range"),
        "{err}"
    );
}

/// Prices that are each in range but whose ratio is not (1e-300 to 1e10) make a backtest whose
/// returns are infinite and whose drawdowns are NaN: the stored run reads back all the same.
#[test]
fn a_backtest_with_infinite_returns_is_stored_and_read_back() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let file = tmp.path().join("jump.csv");
    let body: String = (0..40)
        .map(|i| {
            let p = if i < 10 { "1e-300" } else { "1e10" };
            format!("{},{p},{p},{p},{p},1\n", T0 + i * 60_000)
        })
        .collect();
    std::fs::write(&file, format!("{HEADER}{body}")).unwrap();
    let out = run_import(tmp.path(), &db, &file, "BTCUSDT", "1m", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let db = db.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["--db", db];
        all.extend_from_slice(args);
        let out = trademon(tmp.path(), &all);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let stored: serde_json::Value = serde_json::from_str(&run(&[
        "backtest",
        "--symbol",
        "BTCUSDT",
        "--interval",
        "1m",
        "--strategy",
        "buy-hold",
        "--json",
    ]))
    .unwrap();
    let id = stored["run_id"].as_i64().unwrap().to_string();
    assert_eq!(stored["metrics"]["buy_and_hold_return"], "inf");
    let shown: serde_json::Value =
        serde_json::from_str(&run(&["runs", "show", &id, "--json"])).unwrap();
    assert_eq!(shown["metrics"], stored["metrics"]);
    assert_eq!(shown["equity"], stored["equity"]);
    run(&["runs", "show", &id]);
}
