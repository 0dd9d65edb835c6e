//! Calibrated Buy / Sell thresholds (issue item 5): the bundled demo model trades in a backtest
//! over the built-in exchange's candles; its thresholds are exactly the validation quantile of
//! its own training data (regenerated from the simulator) and a trained model's thresholds come
//! from the validation split only (perturbing the test split moves nothing); explicit config
//! numbers win over the model's own, in backtests, live and in the Models view.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use trademon::commands::backtest::{BacktestArgs, run};
use trademon::config::Config;
use trademon::domain::{Candle, Interval, Symbol};
use trademon::engine::models::ModelRunner;
use trademon::feed::sim::model_candles;
use trademon::model::calibrate::calibrate_on_validation;
use trademon::model::dataset::Dataset;
use trademon::model::demo::install;
use trademon::model::ensemble::Ensemble;
use trademon::model::registry::{ModelRecord, Registry};
use trademon::model::signal::{Signal, ThresholdOverride};
use trademon::model::train::{TrainSpec, train};

use support::{empty_snapshot, text, trademon};

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

/// The demo model registered in a fresh store, as the first simulated run does it.
fn demo(db: &Path) -> (ModelRecord, Ensemble) {
    let mut registry = Registry::open(db).unwrap();
    let record = install(&mut registry).unwrap().unwrap();
    let blob = registry.load_blob(record.id).unwrap();
    let ensemble = Ensemble::from_record(&record, &blob).unwrap();
    (record, ensemble)
}

/// Three simulated days of the built-in exchange's BTCUSDT (seed 42, the default), starting a
/// day after the demo's training data ends: out of its sample.
fn simulated_days(record: &ModelRecord) -> Vec<Candle> {
    let from = record.data_to_ms.unwrap() + 86_400_000;
    model_candles(42, btc(), from, 3 * 1440)
}

fn backtest(db: &Path, thresholds: ThresholdOverride) -> trademon::backtest::Report {
    let mut args = BacktestArgs::new(
        vec![btc()],
        Interval::M1,
        "model:champion",
        &Config::default().backtest,
    );
    args.thresholds = thresholds;
    run(db, &args).unwrap()
}

#[test]
fn the_demo_trades_in_a_backtest_over_simulated_candles_and_explicit_thresholds_win() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simulated.db");
    let (record, ensemble) = demo(&db);
    let calibration = ensemble.params.calibration.expect("the demo is calibrated");
    assert!(
        ensemble.params.thresholds.buy < 0.10,
        "{:?}",
        ensemble.params
    );
    let candles = simulated_days(&record);
    let mut store = trademon::store::Store::open(&db).unwrap();
    store.import_candles(btc(), Interval::M1, &candles).unwrap();
    drop(store);

    let report = backtest(&db, ThresholdOverride::default());
    let m = &report.metrics;
    println!(
        "demo {} (thresholds {:?}, {:?}) over {} simulated candles: {} trades, total return \
         {:+.2} %, buy and hold {:+.2} %",
        record.version,
        ensemble.params.thresholds,
        calibration,
        candles.len(),
        m.trades,
        100.0 * m.total_return,
        100.0 * m.buy_and_hold_return,
    );
    assert!(m.trades > 0, "the demo never trades: {m:?}");

    // The old fixed 0.10 from the config: (almost) no signal reaches it.
    let fixed = backtest(
        &db,
        ThresholdOverride {
            buy: Some(0.10),
            sell: Some(0.10),
        },
    );
    println!("with the config's 0.10: {} trades", fixed.metrics.trades);
    assert!(fixed.metrics.trades < m.trades);
    // A threshold no confidence reaches: never a trade.
    let never = backtest(
        &db,
        ThresholdOverride {
            buy: Some(1.0),
            sell: Some(1.0),
        },
    );
    assert_eq!(never.metrics.trades, 0);
}

#[test]
fn explicit_config_thresholds_win_live_and_in_the_models_view() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simulated.db");
    let (record, _) = demo(&db);
    let candles = simulated_days(&record);
    let live = |config: trademon::config::ModelConfig| {
        let mut runner = ModelRunner::start(Some(db.clone()), config, true, &empty_snapshot(), 0);
        let summary = runner.view.models[0].thresholds.clone().unwrap();
        let signals: Vec<Signal> = candles
            .iter()
            .flat_map(|c| runner.on_closed(btc(), Interval::M1, c, 0).signals)
            .map(|s| s.signal)
            .collect();
        (summary, signals)
    };
    let (own, signals) = live(Config::default().model);
    assert!(own.source.starts_with("calibrated: 20 %"), "{own:?}");
    let trading = signals.iter().filter(|s| **s != Signal::Hold).count();
    assert!(
        trading > 0 && signals.len() > 4_000,
        "{trading} of {}",
        signals.len()
    );

    let config = Config::from_toml(
        "user.toml",
        "[model]\nbuy_confidence = 1.0\nsell_confidence = \"\"\n",
    )
    .unwrap();
    let (over, signals) = live(config.model);
    assert_eq!((over.buy, over.sell), (1.0, own.sell));
    assert!(
        over.source.contains("config model.buy_confidence"),
        "{over:?}"
    );
    assert!(
        !signals.contains(&Signal::Buy),
        "a Buy above a threshold of 1"
    );
    assert!(
        signals.contains(&Signal::Sell),
        "the model's own sell threshold still applies"
    );

    // `trademon models show` says the same, with and without the user's numbers.
    let db_arg = db.to_str().unwrap();
    let show = |extra: &[&str]| {
        let mut args = vec!["--db", db_arg];
        args.extend_from_slice(extra);
        args.extend(["models", "show", "1"]);
        let out = trademon(dir.path(), &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let shown = show(&[]);
    let line = format!(
        "signals     Buy at confidence >= {:.4}, Sell >= {:.4}, Hold below (calibrated: 20 %",
        own.buy, own.sell
    );
    assert!(shown.contains(&line), "{line} not in {shown}");
    let user = dir.path().join("user.toml");
    std::fs::write(&user, "[model]\nbuy_confidence = 0.5\n").unwrap();
    let shown = show(&["--config", user.to_str().unwrap()]);
    assert!(
        shown.contains("Buy at confidence >= 0.5000")
            && shown.contains("buy: config model.buy_confidence; sell calibrated"),
        "{shown}"
    );
}

/// The demo's thresholds are the 20 % validation quantile of its own training data: the
/// candles are regenerated from the simulator (the same seed and start), the dataset rebuilt
/// with the model's data spec proves to be the same (θ, split sizes), and calibrating again on
/// its validation split gives the numbers the asset carries.
#[test]
fn the_demo_thresholds_are_the_validation_quantile_of_its_training_data() {
    let dir = tempfile::tempdir().unwrap();
    let (record, ensemble) = demo(&dir.path().join("simulated.db"));
    let dataset = demo_dataset(&record, &ensemble);
    // The ensemble on the rebuilt validation split scores what it scored in training.
    let ids: Vec<usize> = dataset.split().validation.clone().collect();
    let weighting = &ensemble.weighting;
    let (x, y) = dataset
        .batch(&ids, &weighting.normalizer, &weighting.indicators.weights)
        .unwrap();
    let p = ensemble.probabilities(&x, ids.len()).unwrap();
    let log_loss = trademon::model::metrics::evaluate(&p, &y).unwrap().log_loss;
    let trained = record.metrics["validation"]["model"]["log_loss"]
        .as_f64()
        .unwrap();
    assert!((log_loss - trained).abs() < 1e-9, "{log_loss} vs {trained}");
    let own = ensemble.params.calibration.unwrap();
    let (thresholds, calibration) =
        calibrate_on_validation(&ensemble, &dataset, own.signal_rate).unwrap();
    assert!((thresholds.buy - ensemble.params.thresholds.buy).abs() < 1e-9);
    assert!((thresholds.sell - ensemble.params.thresholds.sell).abs() < 1e-9);
    assert_eq!(calibration.validation_samples, own.validation_samples);
    assert_eq!(calibration.directional, own.directional);
    assert!((calibration.achieved_rate - own.achieved_rate).abs() < 1e-3);
}

/// The demo's training data rebuilt: 30,008 minutes of seed 42 from its first candle on.
fn demo_dataset(record: &ModelRecord, ensemble: &Ensemble) -> Dataset {
    let (from, to) = (record.data_from_ms.unwrap(), record.data_to_ms.unwrap());
    let candles = model_candles(42, btc(), from, ((to - from) / 60_000 + 1) as usize);
    let dataset = Dataset::build(&candles, Interval::M1, &ensemble.params.data).unwrap();
    assert_eq!(
        dataset.theta(),
        ensemble.params.theta,
        "not the demo's data"
    );
    let split = dataset.split();
    assert_eq!(
        (
            split.train.len() as u64,
            split.validation.len() as u64,
            split.test.len() as u64
        ),
        (record.rows_train, record.rows_validation, record.rows_test)
    );
    dataset
}

/// Regenerates assets/demo-model.safetensors: the same tensors and record, with the thresholds
/// calibrated on the demo's validation split written into `params`. Run it with
/// `cargo test --release --test model_thresholds -- --ignored write_the_demo_asset`.
#[test]
#[ignore = "rewrites assets/demo-model.safetensors"]
fn write_the_demo_asset() {
    let dir = tempfile::tempdir().unwrap();
    let (record, mut ensemble) = demo(&dir.path().join("simulated.db"));
    let dataset = demo_dataset(&record, &ensemble);
    let rate = Config::default().model.signal_rate;
    let (thresholds, calibration) = calibrate_on_validation(&ensemble, &dataset, rate).unwrap();
    ensemble.set_own_thresholds(thresholds, Some(calibration));
    let mut params = record.params.clone();
    let object = params.as_object_mut().unwrap();
    object.insert(
        "thresholds".into(),
        serde_json::to_value(thresholds).unwrap(),
    );
    object.insert(
        "calibration".into(),
        serde_json::to_value(calibration).unwrap(),
    );
    let bytes = trademon::model::demo::DEMO_MODEL;
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).unwrap();
    let mut metadata = header.metadata().clone().unwrap();
    metadata.insert("params".into(), params.to_string());
    let tensors = safetensors::SafeTensors::deserialize(bytes)
        .unwrap()
        .tensors();
    let out = safetensors::serialize(tensors, Some(metadata)).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-model.safetensors");
    std::fs::write(&path, out).unwrap();
    println!("wrote {}: {thresholds:?} {calibration:?}", path.display());
}

/// A trained model's thresholds come from its validation split alone: the same training run on
/// candles whose test split is perturbed (a different market after the validation split) gives
/// the same thresholds, while the test scores do move.
#[test]
fn thresholds_come_from_the_validation_split_only() {
    let (record, _) = {
        let dir = tempfile::tempdir().unwrap();
        demo(&dir.path().join("simulated.db"))
    };
    let candles = model_candles(7, btc(), record.data_to_ms.unwrap(), 4_000);
    let mut spec = TrainSpec::from_config(&Config::default().model);
    spec.members = 2;
    spec.hidden = 8;
    spec.layers = 1;
    spec.epochs = 2;
    let fit = |candles: &[Candle]| {
        train(
            candles,
            Interval::M1,
            &spec,
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap()
    };
    let base = fit(&candles);
    // The test split is the last 15 % of the samples: replace the last 10 % of the candles with
    // another market (seed 8) spliced onto the last close.
    let cut = candles.len() * 9 / 10;
    let other = model_candles(8, btc(), candles[cut].open_time_ms, candles.len() - cut);
    let scale = candles[cut - 1].close / other[0].open;
    let mut perturbed = candles[..cut].to_vec();
    perturbed.extend(other.iter().map(|c| Candle {
        open: c.open * scale,
        high: c.high * scale,
        low: c.low * scale,
        close: c.close * scale,
        ..*c
    }));
    let moved = fit(&perturbed);
    assert_ne!(
        base.report.test.model, moved.report.test.model,
        "the test split did not change"
    );
    assert_eq!(base.report.validation.model, moved.report.validation.model);
    assert_eq!(
        base.ensemble.params.thresholds,
        moved.ensemble.params.thresholds
    );
    assert_eq!(
        base.ensemble.params.calibration,
        moved.ensemble.params.calibration
    );
    let calibration = base.ensemble.params.calibration.unwrap();
    assert_eq!(calibration.signal_rate, 0.2);
    assert_eq!(
        calibration.validation_samples,
        base.report.samples_validation
    );
    // round(0.2 × N) windows trade, ties at the threshold aside.
    assert!(
        (calibration.achieved_rate - 0.2).abs() < 0.01,
        "{calibration:?}"
    );
}
