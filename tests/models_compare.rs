//! `trademon models compare A B` end to end on a real SQLite file: the demo model (champion),
//! an exact copy of it in a blob of its own, and the demo cut to its first member, over the
//! simulator's candles that follow the demo's training data on two symbols. A copy shows no
//! difference at all; a different model is judged per symbol and pooled, with the JSON fields the
//! issue lists and every pair with --pairs; garbage is refused with one clear `error:` line.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use serde_json::Value;
use trademon::domain::{Interval, Symbol};
use trademon::feed::sim::model_candles;
use trademon::model::registry::Registry;
use trademon::store::Store;

use support::{text, trademon};

fn sym(s: &str) -> Symbol {
    Symbol::new(s).unwrap()
}

/// Candles after the demo's training data.
const AFTER: usize = 3_000;

/// The demo (champion, id 1), its copy (2), its first member alone (3), and a copy claiming
/// 5m candles (4); `AFTER` minutes of BTCUSDT and ETHUSDT after its training data.
fn setup(db: &Path) -> i64 {
    let mut registry = Registry::open(db).unwrap();
    let demo = trademon::model::demo::install(&mut registry)
        .unwrap()
        .unwrap();
    registry
        .register(trademon::model::demo::derived(3).unwrap())
        .unwrap();
    registry
        .register(trademon::model::demo::derived(1).unwrap())
        .unwrap();
    let mut five = trademon::model::demo::derived(2).unwrap();
    five.interval = Some(Interval::M5);
    five.params["interval"] = Value::from("5m");
    registry.register(five).unwrap();
    drop(registry);
    let from = demo.data_to_ms.unwrap() + 60_000;
    let mut store = Store::open(db).unwrap();
    for s in ["BTCUSDT", "ETHUSDT"] {
        store
            .import_candles(
                sym(s),
                Interval::M1,
                &model_candles(42, sym(s), from, AFTER),
            )
            .unwrap();
    }
    from
}

fn compare(dir: &Path, db: &Path, args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["--db", db.to_str().unwrap(), "models", "compare", "--json"];
    all.extend_from_slice(args);
    let out = trademon(dir, &all);
    let code = out.status.code().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code, json, text(&out.stderr))
}

#[test]
fn a_copy_shows_nothing_and_a_different_model_is_judged_per_symbol_and_pooled() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simulated.db");
    setup(&db);

    let (code, copy, err) = compare(
        dir.path(),
        &db,
        &[
            "champion",
            "2",
            "--symbol",
            "BTCUSDT",
            "--interval",
            "1m",
            "--pairs",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let n = copy["n"].as_u64().unwrap();
    assert!(n > 2_500, "{copy:#}");
    assert_eq!(copy["mean_log_loss_diff"], 0.0);
    assert_eq!(copy["dm"]["stat"], 0.0);
    assert_eq!(copy["dm"]["p"], 1.0);
    assert_eq!(copy["mcnemar"]["b"], 0);
    assert_eq!(copy["mcnemar"]["c"], 0);
    assert_eq!(copy["accuracy_a"], copy["accuracy_b"]);
    assert!(
        copy["verdict"]
            .as_str()
            .unwrap()
            .starts_with("no evidence yet")
    );
    let pairs = copy["pairs"].as_array().unwrap();
    assert_eq!(pairs.len() as u64, n);
    for p in pairs {
        assert_eq!(p["log_loss_a"], p["log_loss_b"]);
        assert_eq!(p["correct_a"], p["correct_b"]);
        assert_eq!(p["symbol"], "BTCUSDT");
        assert!(p["time_ms"].is_i64());
    }

    let (code, judged, err) = compare(
        dir.path(),
        &db,
        &["1", "3", "--symbol", "BTCUSDT,ETHUSDT", "--interval", "1m"],
    );
    assert_eq!(code, 0, "{err}");
    for key in [
        "a",
        "b",
        "horizon",
        "n",
        "mean_log_loss_diff",
        "confidence_sequence",
        "dm",
        "mcnemar",
        "accuracy_a",
        "accuracy_b",
        "verdict",
    ] {
        assert!(!judged[key].is_null(), "no {key} in {judged:#}");
    }
    assert!(judged["pairs"].is_null());
    let per = judged["per_symbol"].as_array().unwrap();
    assert_eq!(per.len(), 2);
    let total: u64 = per.iter().map(|s| s["n"].as_u64().unwrap()).sum();
    assert_eq!(judged["n"].as_u64().unwrap(), total);
    let cs = judged["confidence_sequence"].as_array().unwrap();
    let mean = judged["mean_log_loss_diff"].as_f64().unwrap();
    assert!(mean != 0.0);
    assert!(cs[0].as_f64().unwrap() <= mean && mean <= cs[1].as_f64().unwrap());
    let dm = &judged["dm"];
    assert!(dm["lag"].as_u64().unwrap() >= 1);
    assert!((0.0..=1.0).contains(&dm["p"].as_f64().unwrap()));
    let verdict = judged["verdict"].as_str().unwrap();
    assert!(
        ["A better", "B better"].contains(&verdict) || verdict.starts_with("no evidence yet"),
        "{verdict}"
    );

    // The text form names the verdict and each symbol.
    let out = trademon(
        dir.path(),
        &[
            "--db",
            db.to_str().unwrap(),
            "models",
            "compare",
            "1",
            "3",
            "--symbol",
            "BTCUSDT,ETHUSDT",
            "--interval",
            "1m",
        ],
    );
    assert!(out.status.success());
    let shown = text(&out.stdout);
    assert!(shown.contains("verdict:"), "{shown}");
    assert!(shown.contains("ETHUSDT ("), "{shown}");
    assert!(shown.contains("Diebold–Mariano"), "{shown}");
}

#[test]
fn garbage_is_refused_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simulated.db");
    let from = setup(&db);
    let late = (from + (AFTER as i64 + 10) * 60_000).to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["1", "1", "--symbol", "BTCUSDT", "--interval", "1m"],
            "the same model",
        ),
        (
            vec!["champion", "1", "--symbol", "BTCUSDT", "--interval", "1m"],
            "the same model",
        ),
        (
            vec!["1", "4", "--symbol", "BTCUSDT", "--interval", "1m"],
            "same candles",
        ),
        (
            vec!["1", "2", "--symbol", "BTCUSDT", "--interval", "5m"],
            "use --interval 1m",
        ),
        (
            vec!["1", "2", "--symbol", "XRPUSDT", "--interval", "1m"],
            "no stored XRPUSDT 1m candles",
        ),
        (
            vec![
                "1",
                "2",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "1m",
                "--from",
                &late,
            ],
            "no stored BTCUSDT 1m candles",
        ),
        (
            vec!["1", "99", "--symbol", "BTCUSDT", "--interval", "1m"],
            "B 99",
        ),
        (
            vec![
                "1",
                "2",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "1m",
                "--from",
                "2026-02-01",
                "--to",
                "2026-01-01",
            ],
            "must be before",
        ),
        (
            vec!["1", "2", "--symbol", "BTC/USDT", "--interval", "1m"],
            "BTC/USDT",
        ),
    ];
    for (args, wanted) in cases {
        let (code, json, err) = compare(dir.path(), &db, &args);
        assert_ne!(code, 0, "{args:?} was accepted: {json}");
        assert!(err.contains(wanted), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("stack backtrace"),
            "{err}"
        );
        assert!(json.is_null(), "{args:?} printed {json}");
    }
    // Nothing was written to the registry by a refused comparison.
    let registry = Registry::open(&db).unwrap();
    assert_eq!(registry.list().unwrap().len(), 4);
}

#[test]
fn challengers_are_retired_and_brought_back_audited_and_the_champion_is_neither() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simulated.db");
    setup(&db);
    let run = |args: &[&str]| {
        let mut all = vec!["--db", db.to_str().unwrap(), "models"];
        all.extend_from_slice(args);
        trademon(dir.path(), &all)
    };
    let out = run(&["retire", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("retired from shadow scoring"));
    // Twice is refused: it is not a challenger any more.
    let out = run(&["retire", "3"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("is retired, not challenger"), "{err}");
    let out = run(&["challenge", "3", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let event: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["kind"], "challenge");
    assert_eq!(event["model_id"], 3);
    for args in [["retire", "1"], ["challenge", "1"]] {
        let out = run(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains("champion"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let registry = Registry::open(&db).unwrap();
    let kinds: Vec<String> = registry
        .events(Some(3))
        .unwrap()
        .iter()
        .map(|e| e.kind.as_str().to_string())
        .collect();
    assert_eq!(kinds, ["register", "retire", "challenge"]);
    assert_eq!(
        registry.get("1").unwrap().role,
        trademon::model::registry::Role::Champion
    );
}
