//! Training and running models as a user does: `trademon train` on real candles (ALTBTC-1m)
//! registers an ensemble whose test scores sit beside both baselines; the registered model loads
//! and predicts the same as the trained one; a headless run on the built-in exchange registers the
//! demo model and stores predictions with their outcomes; a model whose weights were damaged
//! falls back to its logistic baseline; bad input is refused with clear errors.
#![allow(clippy::unwrap_used)]

mod support;

use trademon::config::Config;
use trademon::domain::{Interval, Symbol};
use trademon::engine::models::ModelRunner;
use trademon::model::ensemble::Ensemble;
use trademon::model::registry::Registry;

use support::candles::Lcg;
use support::import::import;

use support::{empty_snapshot, shared_data, text, trademon};

#[test]
fn train_registers_an_ensemble_scored_out_of_sample_beside_the_baselines() {
    let Some(csv) = shared_data("ALTBTC-1m.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("real.db");
    let db_arg = db.to_str().unwrap();
    import(dir.path(), db_arg, &csv, "ALTBTC", "1m");
    let out = trademon(
        dir.path(),
        &[
            "--db",
            db_arg,
            "train",
            "--symbol",
            "ALTBTC",
            "--interval",
            "1m",
            "--members",
            "2",
            "--epochs",
            "2",
            "--seed",
            "3",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let test = &report["report"]["test"];
    for who in ["model", "logistic", "majority"] {
        for metric in ["accuracy", "macro_f1", "log_loss", "brier"] {
            let v = test[who][metric].as_f64().unwrap();
            assert!(v.is_finite() && v >= 0.0, "{who} {metric} {v}");
        }
        assert_eq!(
            test[who]["samples"].as_u64(),
            report["report"]["samples_test"].as_u64()
        );
    }
    let beats = report["beats_baselines"].as_bool().unwrap();
    let model_loss = test["model"]["log_loss"].as_f64().unwrap();
    let logistic_loss = test["logistic"]["log_loss"].as_f64().unwrap();
    let majority_loss = test["majority"]["log_loss"].as_f64().unwrap();
    // "Beats" only on evidence: the paired Diebold–Mariano test on the test split, at 5 %.
    let versus = &report["versus_logistic"];
    assert_eq!(versus["n"], report["report"]["samples_test"]);
    let p = versus["p"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p), "{versus}");
    let improvement = versus["mean_log_loss_improvement"].as_f64().unwrap();
    assert!(
        (improvement - (logistic_loss - model_loss)).abs() < 1e-9,
        "{improvement} vs {logistic_loss} - {model_loss}"
    );
    assert_eq!(
        versus["beats"].as_bool().unwrap(),
        improvement > 0.0 && p < 0.05
    );
    assert_eq!(
        beats,
        improvement > 0.0 && p < 0.05 && model_loss < majority_loss
    );
    // The splits are in time order with room between them.
    let r = &report["report"];
    let total = r["samples_train"].as_u64().unwrap()
        + r["samples_validation"].as_u64().unwrap()
        + r["samples_test"].as_u64().unwrap();
    assert!(total > 5_000, "{total}");

    // The registered model is the trained one: it loads (sha256 checked) and predicts.
    let registry = Registry::open(&db).unwrap();
    let records = registry.list().unwrap();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.kind, "ensemble");
    assert_eq!(record.features.len(), 54);
    let blob = registry.load_blob(record.id).unwrap();
    let ensemble = Ensemble::from_record(record, &blob).unwrap();
    assert_eq!(ensemble.members().len(), 2);
    let window = vec![0.3f32; ensemble.window() * 54];
    let p = ensemble.probabilities(&window, 1).unwrap()[0];
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-6);

    // The human report says plainly whether the baselines were beaten.
    let out = trademon(
        dir.path(),
        &[
            "--db",
            db_arg,
            "train",
            "--symbol",
            "ALTBTC",
            "--interval",
            "1m",
            "--members",
            "1",
            "--epochs",
            "1",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let human = text(&out.stdout);
    assert!(human.contains("held-out test split"), "{human}");
    assert!(
        human.contains("The ensemble beats the logistic baseline")
            || human.contains("No significant difference from the logistic baseline at 5 %"),
        "{human}"
    );
    assert!(human.contains("Diebold–Mariano"), "{human}");
}

#[test]
fn train_refuses_what_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("empty.db");
    let db_arg = db.to_str().unwrap();
    let out = trademon(
        dir.path(),
        &[
            "--db",
            db_arg,
            "train",
            "--symbol",
            "BTCUSDT",
            "--interval",
            "1m",
        ],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("no BTCUSDT 1m candles"), "{err}");
    assert!(err.contains("--sim"), "{err}");
    for bad in [
        vec!["train", "--symbol", "btc usdt", "--interval", "1m"],
        vec!["train", "--symbol", "BTCUSDT", "--interval", "7m"],
        vec![
            "train",
            "--symbol",
            "BTCUSDT",
            "--interval",
            "1m",
            "--members",
            "0",
        ],
        vec![
            "train",
            "--symbol",
            "BTCUSDT",
            "--interval",
            "1m",
            "--epochs",
            "many",
        ],
    ] {
        let mut args = vec!["--db", db_arg];
        args.extend(bad.iter().copied());
        let out = trademon(dir.path(), &args);
        assert!(!out.status.success(), "{bad:?}");
        assert!(!text(&out.stderr).is_empty(), "{bad:?}");
    }
}

#[test]
fn a_simulated_run_registers_the_demo_and_stores_predictions_with_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sim.db");
    let out = trademon(
        dir.path(),
        &[
            "--db",
            db.to_str().unwrap(),
            "run",
            "--headless",
            "--for",
            "6s",
            "--symbols",
            "BTCUSDT,ETHUSDT",
            "--intervals",
            "1m",
            "--sim-speed",
            "600",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (origin, role, trained_on): (String, String, String) = conn
        .query_row("SELECT origin, role, trained_on FROM models", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!((origin.as_str(), role.as_str()), ("demo", "champion"));
    assert_eq!(trained_on, "simulated");
    let (predictions, outcomes, symbols): (i64, i64, i64) = conn
        .query_row(
            "SELECT count(*), count(outcome), count(DISTINCT symbol) FROM predictions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(predictions >= 4, "{predictions}");
    assert!(outcomes >= 2, "{outcomes} outcomes of {predictions}");
    assert_eq!(symbols, 2);
    // Each outcome is the class of the realised return it stores.
    let bad: i64 = conn
        .query_row(
            "SELECT count(*) FROM predictions WHERE outcome IS NOT NULL AND
             ((realised_return > 0.01 AND outcome != 2) OR (realised_return < -0.01 AND outcome != 0))",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bad, 0);
}

#[test]
fn damaged_weights_fall_back_to_the_logistic_baseline_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sim.db");
    let config = Config::default().model;
    // The first start registers the demo and runs it.
    let runner = ModelRunner::start(Some(db.clone()), config.clone(), true, &empty_snapshot(), 0);
    assert!(runner.view.fallback.is_none(), "{:?}", runner.view.fallback);
    assert_eq!(runner.view.models.len(), 1);
    let id = runner.view.active.unwrap();
    drop(runner);
    // Damage the weights: the checksum no longer matches.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE models SET blob = CAST(zeroblob(64) AS BLOB) WHERE id = ?1",
        [id],
    )
    .unwrap();
    drop(conn);
    let mut runner = ModelRunner::start(Some(db.clone()), config, true, &empty_snapshot(), 0);
    let reason = runner.view.fallback.clone().expect("a fallback");
    assert!(reason.contains("sha256"), "{reason}");
    assert_eq!(runner.view.active, Some(id), "the model stays selected");
    // It still answers, from the logistic baseline, and says which.
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let mut close = 100.0;
    let mut signals = Vec::new();
    for i in 0..400i64 {
        let open = close;
        close *= 1.0 + 0.001 * ((i * 7919 % 13) as f64 - 6.0) / 6.0;
        let candle = trademon::domain::Candle {
            open_time_ms: i * 60_000,
            open,
            high: open.max(close) * 1.0005,
            low: open.min(close) * 0.9995,
            close,
            volume: 10.0 + (i % 5) as f64,
            quote_volume: 0.0,
            trades: 1,
        };
        signals.extend(runner.on_closed(symbol, Interval::M1, &candle, 0).signals);
    }
    assert!(!signals.is_empty());
    assert!(
        signals
            .iter()
            .all(|s| s.fallback && s.model_version.contains("fallback"))
    );
}

/// Issue 13, item 5: the tampered-blob fallback ran but wrote no `fallback` row to
/// `model_events`, which the README promises. Now its activation writes one, naming the reason.
#[test]
fn a_tampered_model_writes_a_fallback_row_to_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sim.db");
    let config = Config::default().model;
    let runner = ModelRunner::start(Some(db.clone()), config.clone(), true, &empty_snapshot(), 0);
    let id = runner.view.active.unwrap();
    drop(runner);
    let fallbacks = |db: &std::path::Path| -> Vec<String> {
        rusqlite::Connection::open(db)
            .unwrap()
            .prepare("SELECT detail FROM model_events WHERE kind = 'fallback' AND model_id = ?1")
            .unwrap()
            .query_map([id], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert!(
        fallbacks(&db).is_empty(),
        "an intact model does not fall back"
    );
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE models SET blob = CAST(zeroblob(64) AS BLOB) WHERE id = ?1",
            [id],
        )
        .unwrap();
    let runner = ModelRunner::start(Some(db.clone()), config, true, &empty_snapshot(), 0);
    assert!(runner.view.fallback.is_some());
    drop(runner);
    let rows = fallbacks(&db);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("logistic fallback"), "{}", rows[0]);
    assert!(rows[0].contains("sha256"), "{}", rows[0]);
}

/// A random-walk candle series for quick training runs.
fn walk(n: usize) -> Vec<trademon::domain::Candle> {
    let mut close: f64 = 100.0;
    let mut noise = Lcg(0x1234_5678);
    (0..n as i64)
        .map(|i| {
            let u = noise.uniform();
            let open = close;
            close = open * (1.0 + 0.002 * (u - 0.5));
            trademon::domain::Candle {
                open_time_ms: i * 60_000,
                open,
                high: open.max(close) * 1.0003,
                low: open.min(close) * 0.9997,
                close,
                volume: 5.0 + 10.0 * u,
                quote_volume: 0.0,
                trades: 1,
            }
        })
        .collect()
}

#[test]
fn switch_promote_and_rollback_through_the_engine_are_audited() {
    use std::sync::atomic::AtomicBool;
    use trademon::engine::models::ModelCommand;
    use trademon::model::train::{TrainSpec, train};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simulated.db");
    let config = Config::default().model;
    let mut runner =
        ModelRunner::start(Some(db.clone()), config.clone(), true, &empty_snapshot(), 0);
    let demo = runner.view.active.unwrap();
    // A second, small model trained here.
    let mut spec = TrainSpec::from_config(&config);
    spec.members = 1;
    spec.hidden = 4;
    spec.layers = 1;
    spec.epochs = 1;
    let candles = walk(1_500);
    let trained = train(
        &candles,
        Interval::M1,
        &spec,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let record = trademon::commands::train::register(
        &db,
        Symbol::new("BTCUSDT").unwrap(),
        Interval::M1,
        &trained,
        trademon::model::registry::Origin::Trained,
    )
    .unwrap();
    assert_ne!(record.id, demo);
    let snapshot = empty_snapshot();

    let out = runner.on_command(ModelCommand::Switch(record.id), &snapshot, 0);
    assert!(out.models_changed);
    assert_eq!(runner.view.active, Some(record.id));
    assert!(runner.view.fallback.is_none());
    assert_eq!(runner.view.models.len(), 2);

    runner.on_command(ModelCommand::Promote(record.id), &snapshot, 0);
    let registry = Registry::open(&db).unwrap();
    assert_eq!(registry.champion().unwrap().unwrap().id, record.id);

    runner.on_command(ModelCommand::Rollback, &snapshot, 0);
    assert_eq!(registry.champion().unwrap().unwrap().id, demo);
    assert_eq!(
        runner.view.active,
        Some(demo),
        "rollback runs the old champion"
    );

    // Nothing left to roll back to: refused, said so, nothing changed.
    runner.on_command(ModelCommand::Rollback, &snapshot, 0);
    let said = runner.view.last_training.clone().unwrap();
    assert!(said.starts_with("refused"), "{said}");
    assert_eq!(registry.champion().unwrap().unwrap().id, demo);

    // Every step is in the audit log.
    let kinds: Vec<String> = registry
        .events(None)
        .unwrap()
        .iter()
        .map(|e| e.kind.to_string())
        .collect();
    for kind in ["register", "switch", "promote", "rollback"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }
}
