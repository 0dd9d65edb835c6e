//! `trademon features` end to end: ../shared/data/ETHBTC-5m.csv imported into a temporary database
//! through the library, exported raw and compared column by column with TA-Lib's reference
//! outputs (the whole path: import → store → indicators → CSV text); the feature export's names,
//! finiteness, JSON form and gap rows; no look-ahead on real data; and clear errors for bad
//! arguments, from the library and from the binary.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use trademon::commands::features::{self, FeaturesArgs, FeaturesCommandError};
use trademon::domain::{Interval, Symbol};
use trademon::features::{FeatureSet, features_batch};
use trademon::indicators::RAW_COLUMNS;
use trademon::store::Store;

use support::{shared_data, shared_file};

/// ETHBTC-5m and its TA-Lib reference, or `None` (with the reason printed) when absent outside
/// CI.
fn shared() -> Option<(PathBuf, PathBuf)> {
    Some((
        shared_data("ETHBTC-5m.csv")?,
        shared_file("reference/talib", "ETHBTC-5m.talib.csv")?,
    ))
}

fn ethbtc() -> Symbol {
    Symbol::new("ETHBTC").unwrap()
}

fn args(raw: bool, json: bool) -> FeaturesArgs {
    FeaturesArgs {
        symbol: ethbtc(),
        interval: Interval::M5,
        raw,
        json,
        from_ms: None,
        to_ms: None,
        out: None,
    }
}

/// A temporary database holding ETHBTC 5m.
fn imported(dir: &Path, data: &Path) -> PathBuf {
    let db = dir.join("f.db");
    trademon::commands::import::run(&db, data, ethbtc(), Interval::M5).unwrap();
    db
}

fn export(db: &Path, args: &FeaturesArgs) -> Result<String, FeaturesCommandError> {
    let store = Store::open(db).unwrap();
    let mut out = Vec::new();
    features::export(&store, args, &mut out, "<test>")?;
    Ok(String::from_utf8(out).unwrap())
}

fn close(ours: f64, theirs: f64) -> bool {
    (ours - theirs).abs() <= 1e-9 * theirs.abs() || (ours - theirs).abs() <= 1e-12
}

#[test]
fn raw_export_equals_talib_column_by_column() {
    let Some((data, reference)) = shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path(), &data);
    let ours = export(&db, &args(true, false)).unwrap();
    let theirs = std::fs::read_to_string(&reference).unwrap();
    let mut header = vec!["open_time_ms"];
    header.extend(RAW_COLUMNS);
    assert_eq!(ours.lines().next().unwrap(), header.join(","));
    assert_eq!(theirs.lines().next().unwrap(), header.join(","));
    assert_eq!(ours.lines().count(), theirs.lines().count());
    // The first mismatch of every column that has one.
    let mut failures: Vec<Option<String>> = vec![None; header.len()];
    for (row, (a, b)) in ours.lines().zip(theirs.lines()).enumerate().skip(1) {
        let (a, b): (Vec<&str>, Vec<&str>) = (a.split(',').collect(), b.split(',').collect());
        assert_eq!(a.len(), header.len(), "row {row}");
        assert_eq!(a[0], b[0], "row {row}: open_time_ms");
        for (col, name) in header.iter().enumerate().skip(1) {
            let at = format!("ETHBTC-5m row {row} (open_time_ms {}) column {name}", a[0]);
            let failure = match (a[col], b[col]) {
                ("", "") => None,
                ("", t) => Some(format!("{at}: ours empty, TA-Lib {t}")),
                (o, "") => Some(format!("{at}: ours {o}, TA-Lib empty")),
                (o, t) => {
                    let (o, t): (f64, f64) = (o.parse().unwrap(), t.parse().unwrap());
                    (!close(o, t)).then(|| format!("{at}: ours {o}, TA-Lib {t}"))
                }
            };
            if failures[col].is_none() {
                failures[col] = failure;
            }
        }
    }
    let failures: Vec<String> = failures.into_iter().flatten().collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn feature_export_has_the_names_finite_values_and_json() {
    let Some((data, _)) = shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path(), &data);
    let csv = export(&db, &args(false, false)).unwrap();
    let names = FeatureSet::new(Interval::M5).names().to_vec();
    let mut header = vec!["open_time_ms".to_string()];
    header.extend(names.iter().cloned());
    header.push("gap".into());
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), header.join(","));
    let mut rows = 0;
    let mut gaps = 0;
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), header.len(), "{line}");
        for (name, cell) in header.iter().zip(&cells).skip(1) {
            let v: f64 = cell.parse().unwrap_or_else(|_| panic!("{name}: {cell:?}"));
            assert!(v.is_finite(), "{name} = {v} at {}", cells[0]);
        }
        gaps += usize::from(*cells.last().unwrap() == "1");
        rows += 1;
    }
    assert!(rows > 5_000, "{rows} rows");
    // ETHBTC-5m has real holes in it; the rows computed across them are flagged.
    let stored = Store::open(&db).unwrap();
    let gap_count = stored.gaps(ethbtc(), Interval::M5).unwrap().len();
    assert_eq!(
        gaps > 0,
        gap_count > 0,
        "{gaps} flagged rows, {gap_count} gaps"
    );

    let json = export(&db, &args(false, true)).unwrap();
    let parsed: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.len(), rows);
    let keys: Vec<&String> = parsed[0].keys().collect();
    assert_eq!(keys.len(), header.len());
    for name in &header {
        assert!(parsed[0].contains_key(name), "{name}");
    }
    let raw_json = export(&db, &args(true, true)).unwrap();
    let raw: Vec<serde_json::Value> = serde_json::from_str(&raw_json).unwrap();
    assert!(raw[0]["sma_20"].is_null(), "warm-up values are null");
    assert!(raw[100]["sma_20"].is_f64());
}

#[test]
fn a_time_range_writes_only_its_rows_with_the_same_values() {
    let Some((data, _)) = shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path(), &data);
    let all = export(&db, &args(true, false)).unwrap();
    let lines: Vec<&str> = all.lines().collect();
    let from: i64 = lines[1000].split(',').next().unwrap().parse().unwrap();
    let to: i64 = lines[1010].split(',').next().unwrap().parse().unwrap();
    let part = export(
        &db,
        &FeaturesArgs {
            from_ms: Some(from),
            to_ms: Some(to),
            ..args(true, false)
        },
    )
    .unwrap();
    let part: Vec<&str> = part.lines().collect();
    assert_eq!(part[0], lines[0]);
    assert_eq!(&part[1..], &lines[1000..1010]);
}

#[test]
fn no_look_ahead_on_real_data() {
    let Some((data, _)) = shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path(), &data);
    let store = Store::open(&db).unwrap();
    let candles = store
        .candles_between(ethbtc(), Interval::M5, i64::MIN, i64::MAX)
        .unwrap();
    let full = features_batch(&candles, Interval::M5, 5).unwrap();
    for cut in [400, 401, 402, 403, 404, 2_345, 4_999] {
        let truncated = features_batch(&candles[..=cut], Interval::M5, 5).unwrap();
        let last = truncated.last().unwrap();
        assert_eq!(last.open_time_ms, candles[cut].open_time_ms);
        let same = full.iter().find(|r| r.open_time_ms == last.open_time_ms);
        assert_eq!(Some(last), same, "cut {cut}");
    }
}

#[test]
fn bad_arguments_get_clear_errors() {
    let Some((data, _)) = shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path(), &data);
    let unknown = FeaturesArgs {
        symbol: Symbol::new("NOPEBTC").unwrap(),
        ..args(false, false)
    };
    let error = export(&db, &unknown).unwrap_err().to_string();
    assert!(
        error.contains("no stored 5m candles for NOPEBTC"),
        "{error}"
    );
    let wrong_interval = FeaturesArgs {
        interval: Interval::M1,
        ..args(true, false)
    };
    let error = export(&db, &wrong_interval).unwrap_err().to_string();
    assert!(error.contains("no stored 1m candles for ETHBTC"), "{error}");
    let empty_range = FeaturesArgs {
        from_ms: Some(10),
        to_ms: Some(10),
        ..args(true, false)
    };
    let error = export(&db, &empty_range).unwrap_err().to_string();
    assert!(error.contains("--from 10 is not before --to 10"), "{error}");
    let before_data = FeaturesArgs {
        from_ms: Some(0),
        to_ms: Some(1000),
        ..args(true, false)
    };
    let error = export(&db, &before_data).unwrap_err().to_string();
    assert!(error.contains("open_time_ms in [0, 1000)"), "{error}");
    let missing = dir.path().join("absent.db");
    let error = features::run(&missing, &args(true, false))
        .unwrap_err()
        .to_string();
    assert!(error.contains("does not exist"), "{error}");
    assert!(!missing.exists(), "a missing database is not created");
}

#[test]
fn the_binary_writes_a_file_and_refuses_bad_input() {
    let Some((data, _)) = shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path(), &data);
    let out = dir.path().join("raw.csv");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_trademon"))
            .args(args)
            .env("XDG_CONFIG_HOME", dir.path().join("cfg"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("HOME", dir.path())
            .output()
            .unwrap()
    };
    let db_arg = db.to_str().unwrap();
    let done = run(&[
        "--db",
        db_arg,
        "features",
        "--symbol",
        "ETHBTC",
        "--interval",
        "5m",
        "--raw",
        "--out",
        out.to_str().unwrap(),
        "--from",
        "2018-01-20",
        "--to",
        "2018-01-21",
    ]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let written = std::fs::read_to_string(&out).unwrap();
    // One day of 5m candles (less any missing ones), plus the header.
    let rows = written.lines().count() - 1;
    assert!((250..=288).contains(&rows), "{rows} rows");
    for (args, expected) in [
        (
            vec![
                "--interval",
                "5m",
                "--symbol",
                "ETHBTC",
                "--from",
                "yesterday",
            ],
            "not a time",
        ),
        (
            vec!["--interval", "7m", "--symbol", "ETHBTC"],
            "not supported",
        ),
        (
            vec!["--interval", "5m", "--symbol", "NOPEBTC"],
            "no stored 5m candles",
        ),
    ] {
        let mut full = vec!["--db", db_arg, "features"];
        full.extend(args);
        let failed = run(&full);
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert!(!failed.status.success(), "{full:?}");
        assert!(stderr.contains(expected), "{full:?}: {stderr}");
    }
}
