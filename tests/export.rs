//! `trademon export` → `trademon import` into a fresh database round-trips exactly, over real
//! candles with gaps, in both layouts; bad requests are refused with no file left behind.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::import::run_import;
use support::{shared_data, text, trademon};

use trademon::domain::{Candle, Interval, Symbol};
use trademon::store::Store;

fn all(db: &Path, symbol: &str, interval: Interval) -> Vec<Candle> {
    Store::open(db)
        .unwrap()
        .candles_between(Symbol::new(symbol).unwrap(), interval, i64::MIN, i64::MAX)
        .unwrap()
}

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn export_then_import_round_trips_real_candles_with_gaps() {
    for (file, symbol, interval) in [
        ("ALTBTC-1m.csv", "ALTBTC", Interval::M1),
        ("TRXBTC-5m.csv", "TRXBTC", Interval::M5),
    ] {
        let Some(source) = shared_data(file) else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let first = d.join("first.db");
        let (db1, int) = (first.to_str().unwrap(), interval.as_str());
        ok(&run_import(d, db1, &source, symbol, int, &[]));
        let original = all(&first, symbol, interval);
        assert!(original.len() > 1000);
        let gaps = original
            .windows(2)
            .filter(|w| w[1].open_time_ms - w[0].open_time_ms != interval.ms())
            .count();
        assert!(gaps > 0, "{file} should have gaps");
        for format in ["csv", "json"] {
            let out_file = d.join(format!("out.{format}"));
            let out = trademon(
                d,
                &[
                    "--db",
                    db1,
                    "export",
                    "--symbol",
                    symbol,
                    "--interval",
                    int,
                    "--format",
                    format,
                    "--out",
                    out_file.to_str().unwrap(),
                    "--json",
                ],
            );
            ok(&out);
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(report["candles"], original.len() as u64);
            assert_eq!(report["gaps"].as_array().unwrap().len(), gaps);
            let fresh = d.join(format!("fresh-{format}.db"));
            ok(&run_import(d, &fresh, &out_file, symbol, int, &[]));
            assert_eq!(
                all(&fresh, symbol, interval),
                original,
                "{file} as {format}"
            );
        }
        // To stdout, a time range: the same bytes as the file's lines in that range.
        let from = original[100].open_time_ms.to_string();
        let to = original[200].open_time_ms.to_string();
        let out = trademon(
            d,
            &[
                "--db",
                db1,
                "export",
                "--symbol",
                symbol,
                "--interval",
                int,
                "--from",
                &from,
                "--to",
                &to,
            ],
        );
        ok(&out);
        let stdout = text(&out.stdout);
        assert_eq!(stdout.lines().count(), 101, "header + 100 candles");
        assert!(
            stdout.starts_with("open_time_ms,open,high,low,close,volume,quote_volume,trades\n")
        );
        assert!(stdout.lines().nth(1).unwrap().starts_with(&from));
    }
}

#[test]
fn bad_exports_are_refused_and_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("e.db");
    let db = db.to_str().unwrap();
    let missing_dir = d.join("no/such/dir/out.csv");
    for (args, needle) in [
        (
            vec!["export", "--symbol", "BTCUSDT", "--interval", "1m"],
            "no BTCUSDT 1m candles stored",
        ),
        (
            vec![
                "export",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "1m",
                "--format",
                "xml",
            ],
            "xml",
        ),
        (
            vec![
                "export",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "1m",
                "--json",
            ],
            "give --out FILE",
        ),
        (
            vec![
                "export",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "1m",
                "--from",
                "2024-02-01",
                "--to",
                "2024-01-01",
            ],
            "is not after --from",
        ),
    ] {
        let mut all = vec!["--db", db];
        all.extend(args.iter());
        let out = trademon(d, &all);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // A file that cannot be created: a clear error naming it, and nothing written anywhere.
    let Some(source) = shared_data("ETHBTC-5m.csv") else {
        return;
    };
    ok(&run_import(d, db, &source, "ETHBTC", "5m", &[]));
    let out = trademon(
        d,
        &[
            "--db",
            db,
            "export",
            "--symbol",
            "ETHBTC",
            "--interval",
            "5m",
            "--out",
            missing_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot write"),
        "{}",
        text(&out.stderr)
    );
    assert!(!d.join("no").exists());
}
