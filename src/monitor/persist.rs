//! Getting a model's reference and a tracker's history in and out of the store: a reference read
//! back or computed from the stored candles of the model's training range, and a tracker brought
//! up to date from the stored candles and the model's stored predictions.

use std::path::Path;
use std::sync::Arc;

use super::reference::{self, Reference};
use super::spec::ModelSpec;
use super::tracker::{Settings, Tracker};
use crate::domain::{Signal, Symbol};
use crate::model::pipeline::SignalPipeline;
use crate::model::registry::{ModelRecord, Registry};
use crate::model::signal::ThresholdOverride;
use crate::store::{ReferenceRow, Store};

/// Candles read before the window so the features are warm.
pub const WARM_UP: usize = 1_000;
/// Past candles a tracker is replayed over at most, when it starts.
pub const REPLAY_MAX: usize = 50_000;

/// The stored form of `reference`.
pub fn encode(reference: &Reference, created_ms: i64) -> Result<ReferenceRow, String> {
    Ok(ReferenceRow {
        model_id: reference.model_id,
        created_ms,
        json: serde_json::to_string(reference).map_err(|e| e.to_string())?,
        samples: reference::samples_blob(reference),
    })
}

/// A stored reference read back.
pub fn decode(row: &ReferenceRow) -> Result<Reference, String> {
    let mut r: Reference = serde_json::from_str(&row.json).map_err(|e| {
        format!(
            "the stored reference of model {} is damaged: {e}",
            row.model_id
        )
    })?;
    reference::read_samples(&mut r, &row.samples).map_err(|e| {
        format!(
            "the stored reference of model {} is damaged: {e}",
            row.model_id
        )
    })?;
    Ok(r)
}

/// The stored reference of `spec` when it suits `window`.
pub fn stored(store: &Store, spec: &ModelSpec, window: usize) -> Result<Option<Reference>, String> {
    match store.reference(spec.id).map_err(|e| e.to_string())? {
        Some(row) => {
            let r = decode(&row)?;
            Ok((r.window == window && r.features.len() == spec.features.len()).then_some(r))
        }
        None => Ok(None),
    }
}

/// Computes the reference of `record` from the candles stored in `db` for its training range,
/// running the model itself (through the signal pipeline) on its test split.
pub fn compute(
    db: &Path,
    registry: &Registry,
    record: &ModelRecord,
    window: usize,
    source: &str,
) -> Result<Reference, String> {
    let spec = ModelSpec::of(record)?;
    let (Some(symbol), Some(from), Some(to)) = (record.symbol, spec.data_from_ms, spec.data_to_ms)
    else {
        return Err(format!(
            "{} has no recorded training series",
            record.version
        ));
    };
    let store = Store::open_reader(db).map_err(|e| e.to_string())?;
    let candles = store
        .candles_between(symbol, spec.interval, from, to + 1)
        .map_err(|e| e.to_string())?;
    if candles.is_empty() {
        return Err(format!(
            "no stored {symbol} {} candles of its training range",
            spec.interval
        ));
    }
    let blob = registry.load_blob(record.id).map_err(|e| e.to_string());
    let mut pipeline = SignalPipeline::load(
        record,
        blob,
        Some(spec.interval),
        ThresholdOverride::default(),
    )
    .ok()
    .map(|(p, _)| p);
    reference::build(&spec, pipeline.as_mut(), &candles, window, source)
}

/// The reference of `record` for `window`: the stored one, else one computed from stored
/// candles (and stored by the caller). `Err` says why there is none.
pub fn reference_for(
    db: &Path,
    registry: &Registry,
    record: &ModelRecord,
    window: usize,
) -> Result<(Reference, bool), String> {
    let spec = ModelSpec::of(record)?;
    let store = Store::open_reader(db).map_err(|e| e.to_string())?;
    if let Some(r) = stored(&store, &spec, window)? {
        return Ok((r, false));
    }
    compute(
        db,
        registry,
        record,
        window,
        "stored candles of the training range",
    )
    .map(|r| (r, true))
}

/// A tracker of `spec` on `symbol` brought up to date from `store`: the stored candles of its
/// interval (at most [`REPLAY_MAX`] plus warm-up, up to `before_ms`) with the model's stored
/// predictions, so the scorecard, the window and the detectors survive a restart; then the PSI
/// history of stored evaluations.
pub fn replayed(
    store: &Store,
    spec: Arc<ModelSpec>,
    reference: Result<Arc<Reference>, String>,
    symbol: Symbol,
    settings: Settings,
    before_ms: i64,
) -> Tracker {
    let mut tracker = Tracker::new(spec.clone(), reference, symbol, settings);
    // The PSI history of stored evaluations first: the replay's own evaluation adds to it.
    if let Ok(history) = store.drift_history(&spec.version, symbol, spec.interval, 48) {
        let mut per_feature: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
        for row in &history {
            if let Ok(serde_json::Value::Object(o)) = serde_json::from_str(&row.summary)
                && let Some(serde_json::Value::Object(psi)) = o.get("psi")
            {
                for (name, v) in psi {
                    if let Some(v) = v.as_f64() {
                        per_feature.entry(name.clone()).or_default().push(v);
                    }
                }
            }
        }
        for (name, values) in per_feature {
            tracker.seed_history(&name, &values);
        }
    }
    let Ok(candles) = store.recent_candles(symbol, spec.interval, REPLAY_MAX + WARM_UP) else {
        return tracker;
    };
    let candles: Vec<_> = candles
        .into_iter()
        .filter(|c| c.open_time_ms < before_ms)
        .collect();
    let from = candles.first().map_or(i64::MAX, |c| c.open_time_ms);
    let predictions = store
        .predictions_of(&spec.version, symbol, spec.interval, from)
        .unwrap_or_default();
    let mut next = predictions.iter().peekable();
    let last = candles.len().saturating_sub(1);
    for (k, candle) in candles.iter().enumerate() {
        let due = tracker.push_candle(candle);
        while next
            .peek()
            .is_some_and(|p| p.open_time_ms < candle.open_time_ms)
        {
            next.next();
        }
        if let Some(p) = next.next_if(|p| p.open_time_ms == candle.open_time_ms) {
            let signal = match p.signal.as_str() {
                "buy" => Signal::Buy,
                "sell" => Signal::Sell,
                _ => Signal::Hold,
            };
            tracker.push_prediction(p.open_time_ms, p.probabilities, signal);
        }
        if due && (k + settings.evaluate_every > last) {
            tracker.evaluate();
        } else if due {
            tracker.skip_evaluation();
        }
    }
    tracker
}

/// Stores a reference row through `registry`'s owner (the one writer of the file) and waits for it.
pub fn store_via(registry: &Registry, row: ReferenceRow) -> Result<(), String> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let job = crate::store::writer::RegistryJob::new(move |conn| {
        let _ = tx.send(crate::store::monitor::put_reference_on(conn, &row));
    });
    registry
        .owner()
        .send(crate::store::writer::WriteOp::Registry(job))
        .map_err(|e| e.to_string())?;
    rx.recv()
        .map_err(|_| "the store's owner stopped".to_string())?
        .map_err(|e| format!("the reference could not be stored: {e}"))
}

/// Computes the reference of `record` just trained on the candles stored in `db` and stores it
/// with the model (`source`: "training rows").
pub fn compute_and_store(
    db: &Path,
    record: &ModelRecord,
    window: usize,
) -> Result<Reference, String> {
    let registry = Registry::open(db).map_err(|e| e.to_string())?;
    let reference = compute(db, &registry, record, window, "training rows")?;
    store_via(
        &registry,
        encode(&reference, crate::domain::wall_clock_ms())?,
    )?;
    Ok(reference)
}
