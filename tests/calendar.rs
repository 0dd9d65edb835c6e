//! Market calendars as a user meets them: a stock's daily candles (weekends, holidays and one
//! real hole of two weeks) imported on the `sessions` calendar train on the windows across
//! closures and not on those across the hole, where `24x7` refuses them; `--calendar auto`
//! detects `sessions` for weekday candles and `24x7` for crypto; a stored series keeps its
//! calendar; a bad `--calendar` and a bad file change nothing.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};

use trademon::commands::train::{TrainArgs, load};
use trademon::config::Config;
use trademon::domain::{Calendar, Candle, Interval, Symbol};
use trademon::model::data_error::DataError;
use trademon::model::dataset::Dataset;
use trademon::model::train::TrainSpec;
use trademon::store::Store;

use support::candles::Lcg;
use support::import::{import_json, run_import};
use support::{text, trademon};

const DAY: i64 = 86_400_000;
/// 2021-01-04, a Monday, 00:00 UTC.
const MONDAY: i64 = 1_609_718_400_000;
/// Days (after MONDAY) of weekday holidays: a Monday; Good Friday and Easter Monday (Thursday
/// to Tuesday, 4 days closed); a Wednesday; a Friday; a Thursday and Friday (4 days closed).
const HOLIDAYS: [i64; 7] = [14, 88, 91, 184, 354, 500, 501];
/// The two weeks of weekdays with no data at all (Monday 602 to Friday 613).
const LONG_HOLE: std::ops::Range<i64> = 602..616;

/// Open times of a stock's daily candles over 140 weeks: weekdays without the holidays, and
/// without the long hole when `long_hole`.
fn stock_days(long_hole: bool) -> Vec<i64> {
    (0..140 * 7)
        .filter(|d| d % 7 < 5 && !HOLIDAYS.contains(d))
        .filter(|d| !(long_hole && LONG_HOLE.contains(d)))
        .map(|d| MONDAY + d * DAY)
        .collect()
}

/// A candle CSV of a deterministic random walk at `times`.
fn write_csv(dir: &Path, name: &str, times: &[i64]) -> PathBuf {
    let mut noise = Lcg(0x9E37_79B9_7F4A_7C15);
    let mut close = 100.0;
    let candles: Vec<Candle> = times
        .iter()
        .map(|&t| {
            let open: f64 = close;
            close = open * (0.04 * (noise.uniform() - 0.5)).exp();
            let high = open.max(close) * (1.0 + 0.01 * noise.uniform());
            let low = open.min(close) * (1.0 - 0.01 * noise.uniform());
            let volume = 1000.0 + 1000.0 * noise.uniform();
            Candle {
                open_time_ms: t,
                open,
                high,
                low,
                close,
                volume,
                quote_volume: 0.0,
                trades: 0,
            }
        })
        .collect();
    support::import::write_csv(dir, name, &candles, false)
}

/// `trademon --db DB import FILE --symbol SYMBOL --interval 1d [--calendar C] --json`.
fn import(
    dir: &Path,
    db: &Path,
    file: &Path,
    symbol: &str,
    calendar: Option<&str>,
) -> serde_json::Value {
    let extra = calendar.map(|c| vec!["--calendar", c]).unwrap_or_default();
    import_json(dir, db, file, symbol, "1d", &extra)
}

/// Holes between consecutive times (every missing candle).
fn holes(times: &[i64]) -> usize {
    times.windows(2).filter(|w| w[1] - w[0] > DAY).count()
}

fn train_args(symbol: &str) -> TrainArgs {
    TrainArgs {
        symbol: symbol.parse().unwrap(),
        interval: Interval::D1,
        from_ms: None,
        to_ms: None,
        progress: false,
    }
}

#[test]
fn sessions_train_across_closures_but_not_across_the_long_hole() {
    let dir = tempfile::tempdir().unwrap();
    let times = stock_days(true);
    let file = write_csv(dir.path(), "stock.csv", &times);
    let db = dir.path().join("stock.db");
    let report = import(dir.path(), &db, &file, "STOCK", Some("sessions"));
    assert_eq!(report["calendar"], "sessions", "{report}");
    assert_eq!(report["calendar_source"], "given", "{report}");
    // Friday 599 to Monday 616: the only gap, 16 days from Saturday 600.
    let gaps = report["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{report}");
    assert_eq!(gaps[0][0].as_i64(), Some(MONDAY + 600 * DAY));
    assert_eq!(gaps[0][1].as_i64(), Some(16));
    assert_eq!(report["closures"].as_u64(), Some(holes(&times) as u64 - 1));

    // The dataset `train` builds, from what `train` reads.
    let config_spec = TrainSpec::from_config(&Config::default().model);
    let (candles, spec) = load(&db, &train_args("STOCK"), &config_spec).unwrap();
    assert_eq!(spec.data.calendar, Calendar::Sessions);
    assert_eq!(candles.len(), times.len());
    let dataset = Dataset::build(&candles, Interval::D1, &spec.data).unwrap();
    let counts = *dataset.counts();
    let window = spec.data.window;
    assert_eq!(counts.not_finite_rows, 0, "{counts:?}");
    assert_eq!(
        counts.skipped_gap,
        window - 1,
        "exactly the windows holding both Friday 599 and Monday 616: {counts:?}"
    );
    assert_eq!(
        counts.skipped_label, 2,
        "before the hole and at the end: {counts:?}"
    );
    assert_eq!(counts.samples, counts.windows - window - 1);
    let (hole_from, hole_to) = (MONDAY + 600 * DAY, MONDAY + 616 * DAY);
    let mut across_closures = 0;
    for id in 0..dataset.samples() {
        let end = dataset.sample_end_row(id).unwrap();
        let first_ms = dataset.row_open_time_ms(end + 1 - window).unwrap();
        let end_ms = dataset.row_open_time_ms(end).unwrap();
        assert!(
            end_ms < hole_from || first_ms >= hole_to,
            "sample {id} spans the hole"
        );
        across_closures += usize::from(end_ms - first_ms > (window as i64 - 1) * DAY);
    }
    assert_eq!(
        across_closures,
        dataset.samples(),
        "every 20 weekdays span a weekend"
    );

    // `trademon features` flags the same rows: those after the long hole only.
    let out = trademon(
        dir.path(),
        &[
            "--db",
            db.to_str().unwrap(),
            "features",
            "--symbol",
            "STOCK",
            "--interval",
            "1d",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let flagged: Vec<i64> = rows
        .iter()
        .filter(|r| r["gap"] == true)
        .map(|r| r["open_time_ms"].as_i64().unwrap())
        .collect();
    assert_eq!(flagged.first(), Some(&hole_to), "{flagged:?}");
    assert_eq!(flagged.len(), counts.gap_rows);

    // On 24x7 every weekend is a gap: nothing is left to train on.
    Store::open(&db)
        .unwrap()
        .set_calendar(
            Symbol::new("STOCK").unwrap(),
            Interval::D1,
            Calendar::TwentyFourSeven,
        )
        .unwrap();
    let (candles, spec) = load(&db, &train_args("STOCK"), &config_spec).unwrap();
    assert_eq!(spec.data.calendar, Calendar::TwentyFourSeven);
    match Dataset::build(&candles, Interval::D1, &spec.data) {
        Err(DataError::TooFewSamples { skipped_gap, .. }) => {
            assert!(skipped_gap > counts.windows / 2, "{skipped_gap}")
        }
        other => panic!("24x7 should leave nothing: {other:?}"),
    }
}

#[test]
fn train_on_the_command_line_reads_the_series_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_csv(dir.path(), "stock.csv", &stock_days(true));
    let train = |db: &Path| {
        trademon(
            dir.path(),
            &[
                "--db",
                db.to_str().unwrap(),
                "train",
                "--symbol",
                "STOCK",
                "--interval",
                "1d",
                "--members",
                "1",
                "--epochs",
                "1",
                "--json",
            ],
        )
    };
    let sessions = dir.path().join("sessions.db");
    import(dir.path(), &sessions, &file, "STOCK", Some("sessions"));
    let out = train(&sessions);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let output: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(output["model"]["params"]["data"]["calendar"], "sessions");
    assert!(
        output["report"]["samples_train"].as_u64().unwrap() > 200,
        "{}",
        output["report"]
    );

    let every_day = dir.path().join("24x7.db");
    import(dir.path(), &every_day, &file, "STOCK", Some("24x7"));
    let out = train(&every_day);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("left out for gaps"), "{err}");
}

#[test]
fn auto_detects_sessions_for_weekdays_and_24x7_for_crypto() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("auto.db");
    let weekdays = stock_days(false);
    let stock = write_csv(dir.path(), "weekdays.csv", &weekdays);
    let report = import(dir.path(), &db, &stock, "STOCK", None);
    assert_eq!(report["calendar"], "sessions", "{report}");
    assert_eq!(report["calendar_source"], "detected", "{report}");
    assert_eq!(report["gaps"].as_array().unwrap().len(), 0, "{report}");
    assert_eq!(report["closures"].as_u64(), Some(holes(&weekdays) as u64));

    // Crypto: every day, but three days missing once.
    let days: Vec<i64> = (0..400)
        .filter(|d| !(100..103).contains(d))
        .map(|d| MONDAY + d * DAY)
        .collect();
    let crypto = write_csv(dir.path(), "crypto.csv", &days);
    let report = import(dir.path(), &db, &crypto, "COIN", Some("auto"));
    assert_eq!(report["calendar"], "24x7", "{report}");
    assert_eq!(report["calendar_source"], "detected", "{report}");
    assert_eq!(report["gaps"], serde_json::json!([[MONDAY + 100 * DAY, 3]]));
    assert_eq!(report["closures"].as_u64(), Some(0));

    // The stock's long hole makes its file look like 24x7, but the stored series keeps sessions.
    let with_hole = write_csv(dir.path(), "hole.csv", &stock_days(true));
    let report = import(dir.path(), &db, &with_hole, "STOCK", None);
    assert_eq!(report["calendar"], "sessions", "{report}");
    assert_eq!(report["calendar_source"], "stored", "{report}");
    // ... unless a calendar is given.
    let report = import(dir.path(), &db, &crypto, "COIN", Some("sessions"));
    assert_eq!(report["calendar_source"], "given", "{report}");
    let store = Store::open(&db).unwrap();
    assert_eq!(
        store
            .calendar(Symbol::new("COIN").unwrap(), Interval::D1)
            .unwrap(),
        Calendar::Sessions
    );
    assert_eq!(
        store
            .calendar(Symbol::new("STOCK").unwrap(), Interval::D1)
            .unwrap(),
        Calendar::Sessions
    );
    assert_eq!(
        store
            .calendar(Symbol::new("STOCK").unwrap(), Interval::H1)
            .unwrap(),
        Calendar::TwentyFourSeven,
        "a series with no row is 24x7"
    );
}

#[test]
fn a_bad_calendar_or_a_bad_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bad.db");
    let file = write_csv(dir.path(), "stock.csv", &stock_days(false));
    let out = run_import(
        dir.path(),
        &db,
        &file,
        "STOCK",
        "1d",
        &["--calendar", "nonsense"],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    for word in ["\"nonsense\"", "24x7", "sessions", "auto", "--calendar"] {
        assert!(err.contains(word), "{word}: {err}");
    }
    let stock = Symbol::new("STOCK").unwrap();
    assert_eq!(
        Store::open(&db)
            .unwrap()
            .count_candles(stock, Interval::D1)
            .unwrap(),
        0
    );

    // A file with one bad row writes neither its candles nor its calendar.
    import(dir.path(), &db, &file, "STOCK", Some("24x7"));
    let mut bad = std::fs::read_to_string(&file).unwrap();
    bad.push_str(&format!("{},10,9,11,10,5\n", MONDAY + 2000 * DAY));
    let bad_file = dir.path().join("bad.csv");
    std::fs::write(&bad_file, bad).unwrap();
    let out = run_import(
        dir.path(),
        &db,
        &bad_file,
        "STOCK",
        "1d",
        &["--calendar", "sessions"],
    );
    assert!(!out.status.success(), "{}", text(&out.stdout));
    let store = Store::open(&db).unwrap();
    assert_eq!(
        store.calendar(stock, Interval::D1).unwrap(),
        Calendar::TwentyFourSeven
    );
    assert_eq!(
        store.count_candles(stock, Interval::D1).unwrap(),
        stock_days(false).len() as u64
    );
}
