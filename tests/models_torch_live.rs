//! A member imported from PyTorch runs live and in backtests: activated in the engine at the
//! console's main interval it gives signals whose probabilities are the member's (and `models
//! eval`'s) on the last T raw feature rows, T being the window `import-torch --window T` stored;
//! the batched backtest gives the same signals, and `backtest --strategy model:ID` runs it at the
//! backtest's interval. A member that does not read the live feature set gives no signals and
//! invents no fallback. Candles: the stored real ALTBTC 1m series (../shared/data).
#![allow(clippy::unwrap_used)]

mod support;
mod torch_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use trademon::backtest::model_signals;
use trademon::config::{Config, ModelConfig};
use trademon::domain::{Candle, Interval, Symbol};
use trademon::engine::models::ModelRunner;
use trademon::features::{FEATURE_COUNT, FeatureSet};
use trademon::model::ensemble::Ensemble;
use trademon::model::registry::Registry;
use trademon::model::signal::{DOWN, FLAT, Signal, UP};
use trademon::model::weights_file::write_tensors;
use trademon::model::{Member, MemberSpec};
use trademon::protocol::SignalInfo;

use support::import::import_shared;
use support::{empty_snapshot, trademon};
use torch_support::{models, ok_json, probabilities, text, write};

const CANDLES: usize = 800;

fn altbtc() -> Symbol {
    Symbol::new("ALTBTC").unwrap()
}

/// A deterministic member over the live feature set (F = 54), saved the plain PyTorch way:
/// no metadata, so nothing in the file says its window.
fn live_member_file(dir: &Path) -> (String, Member) {
    let spec = MemberSpec {
        features: FEATURE_COUNT,
        hidden: 8,
        layers: 1,
        window: MemberSpec::DEFAULT_WINDOW,
    };
    // Initialised weights, with the flat class's bias lowered so that it leans up or down.
    let mut weights = Member::init(spec, 42).unwrap().weights().clone();
    let head_bias = spec
        .parameter_shapes()
        .iter()
        .position(|(name, _)| name == "head.bias")
        .unwrap();
    weights.tensors_mut()[head_bias].copy_from_slice(&[0.0, -3.0, 0.0]);
    let member = Member::from_weights(spec, weights).unwrap();
    let list: Vec<(String, Vec<usize>, &[f32])> = spec
        .parameter_shapes()
        .into_iter()
        .zip(member.weights().tensors())
        .map(|((name, shape), values)| (name, shape, values))
        .collect();
    let bytes = write_tensors(&list, &BTreeMap::new()).unwrap();
    (write(dir, "member.safetensors", &bytes), member)
}

/// The real ALTBTC 1m candles imported into `dir`'s store; the first [`CANDLES`] of them.
fn stored_candles(dir: &Path) -> Option<(PathBuf, Vec<Candle>)> {
    let db = dir.join("registry.db");
    import_shared(dir, &db, "ALTBTC-1m.csv", "ALTBTC", "1m")?;

    let mut candles = trademon::store::Store::open(&db)
        .unwrap()
        .candles_between(altbtc(), Interval::M1, i64::MIN, i64::MAX)
        .unwrap();
    candles.truncate(CANDLES);
    Some((db, candles))
}

fn import_json(dir: &Path, file: &str, window: &str) -> serde_json::Value {
    ok_json(&models(
        dir,
        &["import-torch", file, "--window", window, "--json"],
    ))
}

fn import(dir: &Path, file: &str, window: &str) -> i64 {
    let import = import_json(dir, file, window);
    assert_eq!(import["runs_live"], true, "{import}");
    import["model"]["id"].as_i64().unwrap()
}

/// Model `id` made champion and started in the engine (main interval 1m), fed `candles` one
/// closed candle at a time: the signal at each candle, if any.
fn live(db: &Path, id: i64, candles: &[Candle]) -> Vec<Option<SignalInfo>> {
    live_with(db, id, candles, Config::default().model)
}

fn live_with(
    db: &Path,
    id: i64,
    candles: &[Candle],
    config: ModelConfig,
) -> Vec<Option<SignalInfo>> {
    let mut registry = Registry::open(db).unwrap();
    if registry.champion().unwrap().map(|c| c.id) != Some(id) {
        registry.promote(id).unwrap();
    }
    drop(registry);
    let mut runner =
        ModelRunner::start(Some(db.to_path_buf()), config, false, &empty_snapshot(), 0);
    assert_eq!(runner.view.active, Some(id));
    assert_eq!(runner.view.active_interval, Some(Interval::M1));
    assert_eq!(runner.view.fallback, None);
    candles
        .iter()
        .map(|candle| {
            let mut signals = runner.on_closed(altbtc(), Interval::M1, candle, 0).signals;
            assert!(signals.len() <= 1);
            signals.pop()
        })
        .collect()
}

/// The raw live feature rows of `candles`: per candle, the index of its row (if it has one).
fn feature_rows(candles: &[Candle]) -> (Vec<[f64; FEATURE_COUNT]>, Vec<Option<usize>>) {
    let mut features = FeatureSet::new(Interval::M1);
    let mut rows = Vec::new();
    let at = candles
        .iter()
        .map(|c| {
            let row = features.update(c).ok().flatten()?;
            rows.push(row.values);
            Some(rows.len() - 1)
        })
        .collect();
    (rows, at)
}

/// The last `window` rows up to and including `last`, as f32 [T, F].
fn window_input(rows: &[[f64; FEATURE_COUNT]], last: usize, window: usize) -> Vec<f32> {
    rows[last + 1 - window..=last]
        .iter()
        .flat_map(|r| r.iter().map(|v| *v as f32))
        .collect()
}

fn close(a: [f64; 3], b: [f32; 3]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (x - f64::from(y)).abs() < 2e-6)
}

#[test]
fn an_imported_member_runs_live_on_windows_of_its_stored_length() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Some((db, candles)) = stored_candles(d) else {
        return;
    };
    let (file, member) = live_member_file(d);
    let id15 = import(d, &file, "15");
    let live15 = live(&db, id15, &candles);
    let (rows, at) = feature_rows(&candles);

    // A signal at every candle whose feature row completes a window of 15, and only there.
    let member15 = member.with_window(15).unwrap();
    let mut checked = Vec::new();
    for (i, signal) in live15.iter().enumerate() {
        let full = at[i].is_some_and(|r| r + 1 >= 15);
        assert_eq!(signal.is_some(), full, "candle {i}");
        let Some(signal) = signal else { continue };
        let r = at[i].unwrap();
        assert_eq!(signal.open_time_ms, candles[i].open_time_ms);
        assert!(!signal.fallback);
        assert_eq!(signal.interval, Interval::M1);
        let want = member15
            .probabilities(&window_input(&rows, r, 15), 1)
            .unwrap()[0];
        assert!(
            close(signal.probabilities, want),
            "candle {i}: live {:?}, member on the last 15 raw rows {want:?}",
            signal.probabilities
        );
        checked.push((i, r));
    }
    assert!(checked.len() > CANDLES / 2, "{} signals", checked.len());
    // Judged by the pre-calibration thresholds (0.10 each side): it never was calibrated.
    let signals: Vec<&SignalInfo> = live15.iter().flatten().collect();
    for s in &signals {
        let top = s.probabilities[UP].max(s.probabilities[DOWN]) > s.probabilities[FLAT];
        let trades = s.signal != Signal::Hold;
        assert_eq!(trades, top && s.confidence >= 0.10, "{s:?}");
    }
    assert!(signals.iter().any(|s| s.signal == Signal::Buy));
    assert!(signals.iter().any(|s| s.signal == Signal::Hold));

    // The config's explicit thresholds win over the default, as for any model.
    let config = Config::from_toml("user.toml", "[model]\nbuy_confidence = 1.0\n").unwrap();
    let strict = live_with(&db, id15, &candles, config.model);
    assert!(!strict.iter().flatten().any(|s| s.signal == Signal::Buy));
    let same = |a: &SignalInfo, b: &SignalInfo| a.probabilities == b.probabilities;
    assert!(strict.iter().zip(&live15).all(|(a, b)| match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (a, b) => a.is_none() && b.is_none(),
    }));

    // `models eval` on the same last-15 raw rows gives the live probabilities.
    let sample: Vec<(usize, usize)> = checked.iter().step_by(37).copied().collect();
    let x: Vec<f32> = sample
        .iter()
        .flat_map(|&(_, r)| window_input(&rows, r, 15))
        .collect();
    let list = [(
        "x".to_string(),
        vec![sample.len(), 15, FEATURE_COUNT],
        x.as_slice(),
    )];
    let input = write(
        d,
        "x.safetensors",
        &write_tensors(&list, &BTreeMap::new()).unwrap(),
    );
    let eval = ok_json(&models(
        d,
        &["eval", &id15.to_string(), "--input", &input, "--json"],
    ));
    let evaluated = probabilities(&eval);
    assert_eq!(evaluated.len(), sample.len());
    for (&(i, _), want) in sample.iter().zip(&evaluated) {
        let got = live15[i].as_ref().unwrap().probabilities;
        assert!(close(got, *want), "candle {i}: live {got:?}, eval {want:?}");
    }

    // The same weights imported with --window 20: the engine feeds it windows of 20, so its
    // first signal comes 5 rows later and its inputs (and so probabilities) differ.
    let id20 = import(d, &file, "20");
    let live20 = live(&db, id20, &candles);
    let member20 = member.with_window(20).unwrap();
    let first = |signals: &[Option<SignalInfo>]| signals.iter().position(Option::is_some).unwrap();
    assert_eq!(at[first(&live15)], Some(14));
    assert_eq!(at[first(&live20)], Some(19));
    let mut differ = 0;
    for (i, signal) in live20.iter().enumerate() {
        let Some(signal) = signal else { continue };
        let r = at[i].unwrap();
        let want = member20
            .probabilities(&window_input(&rows, r, 20), 1)
            .unwrap()[0];
        assert!(close(signal.probabilities, want), "candle {i}");
        let p15 = live15[i].as_ref().unwrap().probabilities;
        if p15 != signal.probabilities {
            differ += 1;
        }
    }
    assert!(
        differ > CANDLES / 2,
        "windows of 15 and 20 gave the same inputs: {differ}"
    );
}

#[test]
fn an_imported_member_backtests_at_the_backtests_interval() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Some((db, candles)) = stored_candles(d) else {
        return;
    };
    let (file, _) = live_member_file(d);
    let id = import(d, &file, "15");

    // The batched backtest path gives the live engine's signals candle for candle.
    let registry = Registry::open(&db).unwrap();
    let record = registry.get_by_id(id).unwrap();
    let blob = registry.load_blob(id).unwrap();
    drop(registry);
    let ensemble = Ensemble::load(&record, &blob, Interval::M1).unwrap();
    assert!(!ensemble.has_fallback());
    let err = ensemble
        .fallback_probabilities(&[0.0; FEATURE_COUNT])
        .unwrap_err();
    assert!(err.to_string().contains("no logistic baseline"), "{err}");
    assert_eq!(ensemble.window(), 15);
    let batched = model_signals(
        &ensemble,
        &record.version,
        Interval::M1,
        &candles,
        0,
        &mut |_, _| true,
    )
    .unwrap();
    let live: Vec<_> = live(&db, id, &candles)
        .into_iter()
        .map(|s| s.map(|s| s.signal))
        .collect();
    assert_eq!(batched, live);
    // Another interval's candles are the backtest's interval: the member runs on them too.
    let at_5m = Ensemble::load(&record, &blob, Interval::M5).unwrap();
    assert_eq!(at_5m.params.interval, Interval::M5);

    // Through the CLI, over the whole stored series.
    let backtest = |strategy: &str, extra: &[&str]| {
        let mut args = vec![
            "--db",
            db.to_str().unwrap(),
            "backtest",
            "--symbol",
            "ALTBTC",
            "--interval",
            "1m",
            "--strategy",
            strategy,
            "--json",
        ];
        args.extend_from_slice(extra);
        trademon(d, &args)
    };
    let out = backtest(&format!("model:{id}"), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["model"].as_str(), Some(record.version.as_str()));
    assert!(
        report["metrics"]["trades"].as_u64().unwrap() > 0,
        "the member never traded: {}",
        report["metrics"]
    );
    // A walk-forward retrains the model per fold: an imported member has nothing to retrain with.
    let out = backtest(
        &format!("model:{id}"),
        &["--walk-forward", "train=300,test=300"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("training settings"),
        "{}",
        text(&out.stderr)
    );
    // A member that does not read the live feature set is refused, saying so.
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch_t15/member.safetensors");
    let other = import_json(d, fixture.to_str().unwrap(), "15");
    let out = backtest(&format!("model:{}", other["model"]["id"]), &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not the live feature set"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_member_that_does_not_read_the_live_features_gives_no_signals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The fixture reads F = 17 inputs, not the 54 live features.
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch_t15/member.safetensors");
    let import = import_json(d, fixture.to_str().unwrap(), "15");
    assert_eq!(import["runs_live"], false);
    let db = d.join("registry.db");
    Registry::open(&db).unwrap().promote(1).unwrap();
    let runner = ModelRunner::start(
        Some(db.clone()),
        Config::default().model,
        false,
        &empty_snapshot(),
        0,
    );
    assert_eq!(runner.view.active, None);
    let reason = runner.view.fallback.clone().unwrap();
    for part in [
        "torch-member@1.0.0",
        "not the live feature set",
        "no logistic baseline to fall back to, so no signals",
    ] {
        assert!(reason.contains(part), "{part:?} not in {reason}");
    }
}
