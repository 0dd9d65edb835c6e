//! `trademon drift` end to end on the built-in exchange's market: the demo model (trained on the
//! simulator's BTCUSDT, seed 42) over the candles that follow its training data, stored in a real
//! SQLite file. Its reference is computed from the stored candles of its training range (it was
//! registered before references existed), then:
//! - with no shock, over more than 10,000 candles per symbol, no evaluation finds dataset drift
//!   and each detector fires at most once;
//! - a volatility shock on one symbol (the simulator's fault option) makes the volatility
//!   features drift and the verdict "drifting" within a bounded number of candles, while the
//!   other symbol stays stable;
//! - garbage arguments are refused with exit code 2 and a clear message.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use serde_json::Value;
use trademon::domain::{Candle, Interval, Symbol};
use trademon::feed::sim::model_candles;
use trademon::model::registry::{ModelRecord, Registry};
use trademon::store::Store;

use support::{text, trademon};

fn sym(s: &str) -> Symbol {
    Symbol::new(s).unwrap()
}

/// Candles after the demo's training data that the tests watch.
const AFTER: usize = 12_000;

/// The demo registered in a fresh store with its training range and `AFTER` more minutes of
/// BTCUSDT and ETHUSDT stored (ETHUSDT from `eth`).
fn setup(db: &Path, eth: impl Fn(i64, usize) -> Vec<Candle>) -> ModelRecord {
    let mut registry = Registry::open(db).unwrap();
    let record = trademon::model::demo::install(&mut registry)
        .unwrap()
        .unwrap();
    drop(registry);
    let from = record.data_from_ms.unwrap();
    let n = ((record.data_to_ms.unwrap() - from) / 60_000 + 1) as usize + AFTER;
    let mut store = Store::open(db).unwrap();
    store
        .import_candles(
            sym("BTCUSDT"),
            Interval::M1,
            &model_candles(42, sym("BTCUSDT"), from, n),
        )
        .unwrap();
    store
        .import_candles(sym("ETHUSDT"), Interval::M1, &eth(from, n))
        .unwrap();
    record
}

fn drift(dir: &Path, db: &Path, args: &[&str]) -> (i32, Value, String) {
    let mut all = vec![
        "--db",
        db.to_str().unwrap(),
        "drift",
        "--interval",
        "1m",
        "--json",
    ];
    all.extend_from_slice(args);
    let out = trademon(dir, &all);
    let code = out.status.code().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code, json, text(&out.stderr))
}

fn fired(report: &Value) -> Vec<(String, u64)> {
    report["detectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["fired"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn with_no_shock_ten_thousand_candles_stay_stable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sim.db");
    let record = setup(&db, |from, n| model_candles(42, sym("ETHUSDT"), from, n));
    let after = (record.data_to_ms.unwrap() + 60_000).to_string();
    for symbol in ["BTCUSDT", "ETHUSDT"] {
        let (code, report, err) = drift(dir.path(), &db, &["--symbol", symbol, "--from", &after]);
        assert!(report.is_object(), "{symbol}: {err}");
        eprintln!(
            "{symbol}: exit {code}, {} evaluations, {} with dataset drift, largest share {}, detectors {:?}, verdict {}",
            report["evaluations"],
            report["dataset_drift_evaluations"],
            report["drifted_share"],
            fired(&report),
            report["performance"]["verdict"]
        );
        assert!(report["candles"].as_u64().unwrap() >= 10_000);
        assert_eq!(
            report["dataset_drift_evaluations"], 0,
            "{symbol}: {report:#}"
        );
        for (name, n) in fired(&report) {
            assert!(n <= 1, "{symbol}: {name} fired {n} times");
        }
        assert_eq!(report["reference"]["rows"].as_u64().unwrap() > 10_000, true);
    }
}

/// The volatility shock: ETHUSDT's returns three times as volatile from this many minutes after
/// the demo's training data.
const SHOCK_AFTER: i64 = 3_000;
/// The candles after the shock within which the verdict must turn.
const BOUND: i64 = 1_000;

#[test]
fn a_volatility_shock_on_one_symbol_drifts_its_volatility_features_and_fires_a_detector() {
    use trademon::feed::sim::{VolatilityShock, generate_candles};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sim.db");
    let probe = {
        let mut registry = Registry::open(&dir.path().join("probe.db")).unwrap();
        trademon::model::demo::install(&mut registry)
            .unwrap()
            .unwrap()
    };
    let shock_ms = probe.data_to_ms.unwrap() + SHOCK_AFTER * 60_000;
    let record = setup(&db, |from, n| {
        let shock = VolatilityShock {
            symbol: sym("ETHUSDT"),
            from_ms: shock_ms,
            factor: 3.0,
        };
        generate_candles(42, sym("ETHUSDT"), from, n, &[shock])
    });
    let after = (record.data_to_ms.unwrap() + 60_000).to_string();
    let until = (shock_ms + BOUND * 60_000).to_string();
    // Before the shock: stable.
    let before = (shock_ms).to_string();
    let (code, report, err) = drift(
        dir.path(),
        &db,
        &["--symbol", "ETHUSDT", "--from", &after, "--to", &before],
    );
    assert_eq!(code, 0, "{err}{report:#}");
    // Within BOUND candles of the shock: drifting, its volatility features first.
    let (code, report, err) = drift(
        dir.path(),
        &db,
        &["--symbol", "ETHUSDT", "--from", &after, "--to", &until],
    );
    let drifted: Vec<&str> = report["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["drifted"] == true)
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    eprintln!(
        "ETHUSDT {BOUND} candles after the shock: exit {code}, drifted {drifted:?}, share {}, detectors {:?}",
        report["drifted_share"],
        fired(&report)
    );
    assert_eq!(code, 1, "{err}{report:#}");
    assert_eq!(report["status"], "drifting");
    for volatility in ["atr_14_close", "bb_width"] {
        assert!(
            drifted.contains(&volatility),
            "{volatility} not drifted: {drifted:?}"
        );
    }
    let fired_after_shock = report["detectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["fired_at_ms"].as_i64().is_some_and(|t| t >= shock_ms))
        .count();
    assert!(fired_after_shock >= 1, "no detector fired: {report:#}");
    // The other symbol, over the same period, stays stable.
    let (code, report, err) = drift(
        dir.path(),
        &db,
        &["--symbol", "BTCUSDT", "--from", &after, "--to", &until],
    );
    assert_eq!(code, 0, "{err}{report:#}");
    assert_eq!(report["dataset_drift_evaluations"], 0);
}
