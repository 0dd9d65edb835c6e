//! The demo ensemble shipped in `assets/`: trained by this code (`trademon --sim train --symbol
//! BTCUSDT --interval 1m`) on 30,008 minutes of the built-in exchange's simulated BTCUSDT (seed
//! 42, the series beginning 2026-11-01 17:15 UTC), exported with `trademon models export`. On the
//! first run on simulated data, with an empty registry, it is registered (origin "demo", trained
//! on simulated data) and made champion, so the console shows signals at once.
//!
//! **Its thresholds were calibrated after training, not retrained.** The export carried the
//! fixed 0.10 of the config it was trained with, which almost none of its confidences reach, so
//! it never traded. Its training data was regenerated from the simulator (the same seed and first
//! candle, `feed::sim::model_candles`); the dataset rebuilt from it with the model's data spec has
//! exactly the model's θ and split sizes, and the ensemble scores exactly its recorded validation
//! log-loss on it. On that validation split the thresholds were then calibrated as training now
//! does ([`super::calibrate`], `model.signal_rate` 0.2: Buy or Sell at confidence ≥ 0.0197, 19.99
//! % of the 4,452 validation candles) and written, with the calibration, into the `params` entry
//! of the asset's metadata. The tensors and the rest of the record are unchanged.
//! `tests/model_thresholds.rs` checks all of this and holds the ignored test that wrote the file.

use std::collections::HashMap;

use safetensors::SafeTensors;

use super::registry::{ModelRecord, NewModel, Origin, Registry, RegistryError, TrainedOn};
use crate::domain::{Interval, Symbol};

/// The exported demo model: its tensors, with the registry record in the metadata.
pub const DEMO_MODEL: &[u8] = include_bytes!("../../assets/demo-model.safetensors");

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the bundled demo model is damaged: {0}")]
    Damaged(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// The registry record of an exported model file (`trademon models export`), as a new model of
/// `origin` with these very bytes as its blob.
pub fn new_model_from_export(
    bytes: &[u8],
    origin: Origin,
    trained_on: TrainedOn,
) -> Result<NewModel, DemoError> {
    let damaged = |why: String| DemoError::Damaged(why);
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| damaged(e.to_string()))?;
    let meta: HashMap<String, String> = header
        .metadata()
        .clone()
        .ok_or_else(|| damaged("no metadata".into()))?;
    let text = |key: &str| {
        meta.get(key)
            .cloned()
            .ok_or_else(|| damaged(format!("no {key} in the metadata")))
    };
    let json = |key: &str| -> Result<serde_json::Value, DemoError> {
        serde_json::from_str(&text(key)?).map_err(|e| damaged(format!("{key}: {e}")))
    };
    let number = |key: &str| -> Result<i64, DemoError> {
        text(key)?
            .parse()
            .map_err(|e| damaged(format!("{key}: {e}")))
    };
    let features: Vec<String> =
        serde_json::from_value(json("features")?).map_err(|e| damaged(format!("features: {e}")))?;
    Ok(NewModel {
        kind: text("kind")?,
        origin,
        trained_on,
        symbol: Some(
            text("symbol")?
                .parse::<Symbol>()
                .map_err(|e| damaged(format!("symbol: {e}")))?,
        ),
        interval: Some(
            text("interval")?
                .parse::<Interval>()
                .map_err(|e| damaged(format!("interval: {e}")))?,
        ),
        data_from_ms: Some(number("data_from_ms")?),
        data_to_ms: Some(number("data_to_ms")?),
        rows_train: number("rows_train")? as u64,
        rows_validation: number("rows_validation")? as u64,
        rows_test: number("rows_test")? as u64,
        features,
        params: json("params")?,
        metrics: json("metrics")?,
        weighting: json("weighting")?,
        blob: bytes.to_vec(),
    })
}

/// Registers the demo model and makes it champion when the registry holds no model at all, or
/// only older demos (a store made by an earlier build, whose demo had the fixed 0.10 thresholds
/// and never traded): this one then joins them as the line's next version and becomes champion.
/// A registry with any other model, or with this very demo, is left alone. Returns the record
/// when it registered one.
pub fn install(registry: &mut Registry) -> Result<Option<ModelRecord>, DemoError> {
    let sha256 = super::registry::sha256_hex(DEMO_MODEL);
    let models = registry.list()?;
    if models
        .iter()
        .any(|m| m.origin != Origin::Demo || m.sha256 == sha256)
    {
        return Ok(None);
    }
    let record = registry.register(new_model_from_export(
        DEMO_MODEL,
        Origin::Demo,
        TrainedOn::Simulated,
    )?)?;
    let change = registry.promote(record.id)?;
    Ok(Some(change.champion))
}

/// A model made from the demo: its first `members` members only (their say renormalised), with
/// the demo's record otherwise, as a new trained model. With every member it is an exact copy of
/// the demo's forecasts in a blob of its own. For tests and demonstrations of champion and
/// challengers (`models compare`, shadow scoring).
pub fn derived(members: usize) -> Result<NewModel, DemoError> {
    use super::ensemble::Ensemble;
    let damaged = |why: String| DemoError::Damaged(why);
    let mut model = new_model_from_export(DEMO_MODEL, Origin::Trained, TrainedOn::Simulated)?;
    let record = ModelRecord {
        id: 0,
        version: "demo".into(),
        semver: super::registry::SemVer::FIRST,
        created_ms: 0,
        kind: model.kind.clone(),
        origin: model.origin,
        trained_on: model.trained_on,
        symbol: model.symbol,
        interval: model.interval,
        data_from_ms: model.data_from_ms,
        data_to_ms: model.data_to_ms,
        rows_train: model.rows_train,
        rows_validation: model.rows_validation,
        rows_test: model.rows_test,
        features: model.features.clone(),
        params: model.params.clone(),
        metrics: model.metrics.clone(),
        weighting: model.weighting.clone(),
        sha256: String::new(),
        blob_bytes: model.blob.len() as u64,
        role: super::registry::Role::Challenger,
    };
    let demo = Ensemble::from_record(&record, DEMO_MODEL).map_err(|e| damaged(e.to_string()))?;
    let all = demo.members().len();
    if members == 0 || members > all {
        return Err(damaged(format!("it has {all} members, not {members}")));
    }
    let mut params = demo.params.clone();
    params.members.truncate(members);
    params.member_weights.truncate(members);
    let sum: f64 = params.member_weights.iter().sum();
    params.member_weights.iter_mut().for_each(|w| *w /= sum);
    let weighting = demo
        .stored_weighting()
        .ok_or_else(|| damaged("no logistic fallback".into()))?;
    let cut = Ensemble::new(
        demo.names.clone(),
        params,
        weighting,
        demo.members()[..members].to_vec(),
    )
    .map_err(|e| damaged(e.to_string()))?;
    model.params = serde_json::to_value(&cut.params).map_err(|e| damaged(e.to_string()))?;
    model.blob = cut.blob().map_err(|e| damaged(e.to_string()))?;
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ensemble::Ensemble;

    #[test]
    fn the_demo_registers_once_and_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut registry = Registry::open(&dir.path().join("simulated.db")).unwrap();
        let record = install(&mut registry).unwrap().unwrap();
        assert_eq!(record.origin, Origin::Demo);
        assert_eq!(record.trained_on, TrainedOn::Simulated);
        assert!(
            record.params["calibration"]["signal_rate"].is_number(),
            "{}",
            record.params
        );
        assert_eq!(registry.champion().unwrap().unwrap().id, record.id);
        // Not twice.
        assert!(install(&mut registry).unwrap().is_none());
        assert_eq!(registry.list().unwrap().len(), 1);
        let blob = registry.load_blob(record.id).unwrap();
        let ensemble = Ensemble::from_record(&record, &blob).unwrap();
        let window = vec![0.1f32; ensemble.window() * ensemble.names.len()];
        let mut scratch = ensemble.scratch();
        let verdict = ensemble.predict_one(&window, &mut scratch).unwrap();
        assert!((verdict.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-6);
        // The batch path agrees with the batch-1 path.
        let batch = ensemble.probabilities(&window, 1).unwrap();
        for (a, b) in batch[0].iter().zip(verdict.probabilities) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    /// The demo file with another `params` entry in its metadata.
    fn demo_with_params(params: &serde_json::Value) -> Vec<u8> {
        let (_, header) = SafeTensors::read_metadata(DEMO_MODEL).unwrap();
        let mut meta = header.metadata().clone().unwrap();
        meta.insert("params".into(), params.to_string());
        let tensors = SafeTensors::deserialize(DEMO_MODEL).unwrap().tensors();
        safetensors::serialize(tensors, Some(meta)).unwrap()
    }

    #[test]
    fn an_older_demo_is_replaced_but_no_other_model() {
        let current = new_model_from_export(DEMO_MODEL, Origin::Demo, TrainedOn::Simulated)
            .unwrap()
            .params;
        // An older demo: the same tensors, the fixed thresholds, no calibration.
        let mut params = current.clone();
        let object = params.as_object_mut().unwrap();
        object.remove("calibration");
        object.insert(
            "thresholds".into(),
            serde_json::json!({"buy": 0.1, "sell": 0.1}),
        );
        let older = demo_with_params(&params);
        let dir = tempfile::tempdir().unwrap();
        let mut registry = Registry::open(&dir.path().join("simulated.db")).unwrap();
        let old = new_model_from_export(&older, Origin::Demo, TrainedOn::Simulated).unwrap();
        let old = registry.register(old).unwrap();
        registry.promote(old.id).unwrap();
        let new = install(&mut registry).unwrap().unwrap();
        assert_eq!(registry.champion().unwrap().unwrap().id, new.id);
        assert_eq!(new.version, "ensemble-BTCUSDT-1m@2.0.0");
        assert!(install(&mut registry).unwrap().is_none());
        // With a model of the user's own beside the old demo, nothing is touched.
        let dir = tempfile::tempdir().unwrap();
        let mut registry = Registry::open(&dir.path().join("simulated.db")).unwrap();
        let old = new_model_from_export(&older, Origin::Demo, TrainedOn::Simulated).unwrap();
        registry.register(old).unwrap();
        let mut params = current;
        params["thresholds"] = serde_json::json!({"buy": 0.3, "sell": 0.3});
        let mine = demo_with_params(&params);
        let mine = new_model_from_export(&mine, Origin::Trained, TrainedOn::Simulated).unwrap();
        registry.register(mine).unwrap();
        assert!(install(&mut registry).unwrap().is_none());
        assert_eq!(registry.list().unwrap().len(), 2);
    }

    #[test]
    fn a_damaged_export_is_refused() {
        let garbage = new_model_from_export(b"garbage", Origin::Demo, TrainedOn::Simulated);
        assert!(matches!(garbage, Err(DemoError::Damaged(_))), "{garbage:?}");
        // Cut in half: the header may still parse, but the registry refuses the blob and
        // stores nothing.
        let dir = tempfile::tempdir().unwrap();
        let mut registry = Registry::open(&dir.path().join("simulated.db")).unwrap();
        let half = &DEMO_MODEL[..DEMO_MODEL.len() / 2];
        if let Ok(model) = new_model_from_export(half, Origin::Demo, TrainedOn::Simulated) {
            assert!(registry.register(model).is_err());
        }
        assert!(registry.list().unwrap().is_empty());
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use crate::model::ensemble::Ensemble;

    #[test]
    #[ignore = "prints timings"]
    fn demo_prediction_cost() {
        let dir = tempfile::tempdir().unwrap();
        let mut registry = Registry::open(&dir.path().join("simulated.db")).unwrap();
        let record = install(&mut registry).unwrap().unwrap();
        let blob = registry.load_blob(record.id).unwrap();
        let ensemble = Ensemble::from_record(&record, &blob).unwrap();
        let window = vec![0.1f32; ensemble.window() * ensemble.names.len()];
        let mut scratch = ensemble.scratch();
        let t = std::time::Instant::now();
        for _ in 0..100 {
            ensemble.predict_one(&window, &mut scratch).unwrap();
        }
        eprintln!("predict_one: {:?}", t.elapsed() / 100);
        let t = std::time::Instant::now();
        for _ in 0..20 {
            ensemble.drivers(&window, 2, 6).unwrap();
        }
        eprintln!("drivers: {:?}", t.elapsed() / 20);
    }
}
