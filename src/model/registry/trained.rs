//! Registering what training produced: the ensemble's blob with its lineage, test metrics and
//! logistic fallback, as one new registry row. The CLI's `train` and the console's training job
//! both register through here.

use std::path::Path;

use super::{ModelRecord, NewModel, Origin, Registry, RegistryError, TrainedOn};
use crate::domain::{Interval, Symbol};
use crate::model::ensemble::KIND;
use crate::model::train::Trained;

/// Where the database's data came from, judged by its default file names.
pub fn data_origin(db: &Path) -> TrainedOn {
    match db.file_name().and_then(|n| n.to_str()) {
        Some("simulated.db") => TrainedOn::Simulated,
        Some("trademon.db") => TrainedOn::Real,
        _ => TrainedOn::Unknown,
    }
}

/// The registry row for a trained ensemble of `symbol` `interval`.
pub fn new_model(
    symbol: Symbol,
    interval: Interval,
    trained: &Trained,
    origin: Origin,
    trained_on: TrainedOn,
) -> Result<NewModel, RegistryError> {
    let ensemble = &trained.ensemble;
    let report = &trained.report;
    let encode = |e: serde_json::Error| RegistryError::Encode(e.to_string());
    let blob = ensemble
        .blob()
        .map_err(|e| RegistryError::Encode(e.to_string()))?;
    Ok(NewModel {
        kind: KIND.to_string(),
        origin,
        trained_on,
        symbol: Some(symbol),
        interval: Some(interval),
        data_from_ms: Some(report.data_from_ms),
        data_to_ms: Some(report.data_to_ms),
        rows_train: report.samples_train as u64,
        rows_validation: report.samples_validation as u64,
        rows_test: report.samples_test as u64,
        features: ensemble.names.clone(),
        params: serde_json::to_value(&ensemble.params).map_err(encode)?,
        metrics: serde_json::to_value(report).map_err(encode)?,
        weighting: serde_json::to_value(ensemble.stored_weighting().ok_or_else(|| {
            RegistryError::Encode("the trained ensemble has no logistic fallback to store".into())
        })?)
        .map_err(encode)?,
        blob,
    })
}

/// Registers a trained ensemble in `registry`.
pub fn register_trained(
    registry: &mut Registry,
    symbol: Symbol,
    interval: Interval,
    trained: &Trained,
    origin: Origin,
) -> Result<ModelRecord, RegistryError> {
    let model = new_model(
        symbol,
        interval,
        trained,
        origin,
        data_origin(registry.path()),
    )?;
    registry.register(model)
}
