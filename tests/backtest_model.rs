//! Model backtests: the batched backtest path gives the live engine's signals candle for candle,
//! the model strategy passes the look-ahead guard, and `trademon backtest --strategy
//! model:champion` / `model:ID` (also walk-forward, retraining per fold) runs through the CLI on
//! real candles, with garbage refused.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use trademon::backtest::{SignalStrategy, Strategy, check_no_look_ahead, model_signals};
use trademon::config::Config;
use trademon::domain::{Candle, Interval, Symbol};
use trademon::engine::models::ModelRunner;
use trademon::model::ensemble::Ensemble;
use trademon::model::registry::{Origin, Registry};
use trademon::model::signal::Signal;
use trademon::model::train::{TrainSpec, train};

use support::candles::Lcg;
use support::import::import;

use support::{empty_snapshot, shared_data, text, trademon};

/// A random walk with some trend changes, one candle a minute.
fn walk(n: usize, seed: u64) -> Vec<Candle> {
    let mut close: f64 = 100.0;
    let mut noise = Lcg(seed);
    (0..n as i64)
        .map(|i| {
            let u = noise.uniform();
            let drift = 0.0004 * ((i as f64) / 300.0).sin();
            let open = close;
            close = open * (1.0 + drift + 0.003 * (u - 0.5));
            Candle {
                open_time_ms: 1_599_999_960_000 + i * 60_000,
                open,
                high: open.max(close) * 1.0004,
                low: open.min(close) * 0.9996,
                close,
                volume: 5.0 + 10.0 * u,
                quote_volume: 0.0,
                trades: 1,
            }
        })
        .collect()
}

/// The demo model, registered as champion the way a first simulated run does it.
fn demo(db: &Path) -> (i64, Ensemble) {
    let runner = ModelRunner::start(
        Some(db.to_path_buf()),
        Config::default().model,
        true,
        &empty_snapshot(),
        0,
    );
    let id = runner.view.active.unwrap();
    drop(runner);
    let registry = Registry::open(db).unwrap();
    let record = registry.get_by_id(id).unwrap();
    let blob = registry.load_blob(id).unwrap();
    (id, Ensemble::from_record(&record, &blob).unwrap())
}

#[test]
fn the_batched_backtest_gives_the_live_engines_signals_candle_for_candle() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simulated.db");
    let (_, ensemble) = demo(&db);
    let candles = walk(1_500, 11);
    // The live engine, one closed candle at a time.
    let mut runner = ModelRunner::start(
        Some(db.clone()),
        Config::default().model,
        true,
        &empty_snapshot(),
        0,
    );
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let mut live = vec![None; candles.len()];
    for (i, candle) in candles.iter().enumerate() {
        for s in runner.on_closed(symbol, Interval::M1, candle, 0).signals {
            assert_eq!(s.open_time_ms, candle.open_time_ms);
            assert!(!s.fallback);
            live[i] = Some(s.signal);
        }
    }
    let batched = model_signals(&ensemble, "demo", Interval::M1, &candles, 0, &mut |_, _| {
        true
    })
    .unwrap();
    let with_signal = live.iter().filter(|s| s.is_some()).count();
    assert!(with_signal > 1_000, "{with_signal} signals");
    assert_eq!(batched, live, "same candles, same signals");
    let trades = batched
        .iter()
        .filter(|s| matches!(s, Some(Signal::Buy | Signal::Sell)))
        .count();
    assert!(
        trades > 0,
        "the demo model never leaves Hold on this series"
    );
    // Candles before `predict_from` only warm the features up.
    let late = model_signals(
        &ensemble,
        "demo",
        Interval::M1,
        &candles,
        1_000,
        &mut |_, _| true,
    )
    .unwrap();
    assert!(late[..1_000].iter().all(Option::is_none));
    assert_eq!(late[1_000..], batched[1_000..]);
    // The wrong interval is refused, naming both.
    let err = model_signals(&ensemble, "demo", Interval::M5, &candles, 0, &mut |_, _| {
        true
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("1m") && err.contains("5m"), "{err}");
}

#[test]
fn the_model_strategy_passes_the_look_ahead_guard() {
    let dir = tempfile::tempdir().unwrap();
    let (_, ensemble) = demo(&dir.path().join("simulated.db"));
    let candles = walk(900, 5);
    let make = |series: &[Candle]| -> Box<dyn Strategy> {
        let signals =
            model_signals(&ensemble, "demo", Interval::M1, series, 0, &mut |_, _| true).unwrap();
        Box::new(SignalStrategy::new("model:demo".into(), signals, true))
    };
    let signals = model_signals(&ensemble, "demo", Interval::M1, &candles, 0, &mut |_, _| {
        true
    })
    .unwrap();
    assert!(
        signals.iter().flatten().count() > 500,
        "the guard needs decisions to compare"
    );
    check_no_look_ahead(&candles, &make, 4).unwrap();
}

#[test]
fn model_backtests_and_a_retraining_walk_forward_through_the_cli() {
    let Some(csv) = shared_data("ALTBTC-1m.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let db_arg = db.to_str().unwrap();
    // No model yet: model:champion says so.
    import(dir.path(), db_arg, &csv, "ALTBTC", "1m");
    let base = [
        "--db",
        db_arg,
        "backtest",
        "--symbol",
        "ALTBTC",
        "--interval",
        "1m",
        "--fee-bps",
        "10",
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        trademon(dir.path(), &args)
    };
    let out = run(&["--strategy", "model:champion"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no registered model is champion"),
        "{}",
        text(&out.stderr)
    );

    // A small model, trained on the first 4,000 candles and registered.
    let candles = trademon::store::Store::open(&db)
        .unwrap()
        .candles_between(
            Symbol::new("ALTBTC").unwrap(),
            Interval::M1,
            i64::MIN,
            i64::MAX,
        )
        .unwrap();
    let mut spec = TrainSpec::from_config(&Config::default().model);
    spec.members = 2;
    spec.hidden = 8;
    spec.layers = 1;
    spec.epochs = 2;
    let trained = train(
        &candles[..4_000],
        Interval::M1,
        &spec,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let record = trademon::commands::train::register(
        &db,
        Symbol::new("ALTBTC").unwrap(),
        Interval::M1,
        &trained,
        Origin::Trained,
    )
    .unwrap();
    let id = record.id.to_string();
    let from = candles[4_000].open_time_ms.to_string();

    // Out of sample: from the candle after the training data on.
    let out = run(&[
        "--strategy",
        &format!("model:{id}"),
        "--from",
        &from,
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["model"].as_str(), Some(record.version.as_str()));
    assert_eq!(
        report["candles"].as_u64(),
        Some((candles.len() - 4_000) as u64)
    );
    assert!(
        report["metrics"]["trades"].as_u64().unwrap() > 0,
        "the model never traded"
    );
    // The same model by its version tag, and as champion once promoted.
    Registry::open(&db).unwrap().promote(record.id).unwrap();
    let champion = run(&["--strategy", "model:champion", "--from", &from, "--json"]);
    let champion: serde_json::Value = serde_json::from_slice(&champion.stdout).unwrap();
    assert_eq!(champion["metrics"], report["metrics"]);

    // Walk-forward: the model is retrained on each training window with its own settings.
    let out = run(&[
        "--strategy",
        &format!("model:{}", record.version),
        "--walk-forward",
        "train=3000,test=2500",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let wf: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let folds = wf["folds"].as_array().unwrap();
    assert!(folds.len() >= 2, "{} folds", folds.len());
    for fold in folds {
        let model = &fold["model"];
        assert!(model["log_loss"].as_f64().unwrap().is_finite(), "{fold}");
        assert!(model["samples_train"].as_u64().unwrap() > 0);
        assert!(fold["test_from_ms"].as_i64() > fold["train_to_ms"].as_i64());
    }
    let product: f64 = folds
        .iter()
        .map(|f| 1.0 + f["metrics"]["total_return"].as_f64().unwrap())
        .product();
    let whole = 1.0 + wf["metrics"]["total_return"].as_f64().unwrap();
    assert!((product - whole).abs() < 1e-9);

    for (strategy, extra, needle) in [
        (
            "model:champion",
            vec!["--to", "2001-01-01"],
            "no ALTBTC 1m candles",
        ),
        ("model:", vec![], "name the model"),
        ("model:999", vec![], "999"),
        ("model:nonsense@9", vec![], "nonsense@9"),
    ] {
        let mut args = base.to_vec();
        args.extend(["--strategy", strategy]);
        args.extend(extra);
        let out = trademon(dir.path(), &args);
        assert!(!out.status.success(), "{strategy}");
        assert!(
            text(&out.stderr).contains(needle),
            "{strategy}: {}",
            text(&out.stderr)
        );
    }
}
