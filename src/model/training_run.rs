//! A training run on stored candles: the series' candles and market calendar read from the
//! store, an ensemble trained on them and registered as a challenger. The CLI's `train` runs
//! this and draws its progress.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use super::registry::{ModelRecord, Origin, Registry, RegistryError, register_trained};
use super::train::{Progress, TrainError, TrainSpec, Trained, TrainingReport, train};
use crate::domain::{Candle, Interval, Symbol};
use crate::store::{Store, StoreError};

/// Which stored candles to train on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainingData {
    pub symbol: Symbol,
    pub interval: Interval,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainRunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "no {symbol} {interval} candles in {db}{range}: import some (`trademon import`) or let the \
         console record them; the built-in exchange's candles are in simulated.db (--sim)"
    )]
    NoCandles {
        symbol: Symbol,
        interval: Interval,
        db: String,
        range: String,
    },
    #[error("training {symbol} {interval}: {source}")]
    Train {
        symbol: Symbol,
        interval: Interval,
        #[source]
        source: Box<TrainError>,
    },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("the trained model cannot be stored: {0}")]
    Encode(String),
}

/// What a training run registered.
#[derive(Clone, Debug, Serialize)]
pub struct TrainOutput {
    pub model: ModelRecord,
    pub report: TrainingReport,
    /// Lower test log-loss than both baselines.
    pub beats_baselines: bool,
    /// The monitor's reference window, as stored with the model (set by the caller).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Per test sample: the ensemble's log-loss and its logistic baseline's.
    #[serde(skip)]
    pub test_log_losses: Vec<(f64, f64)>,
    /// The paired test of the ensemble against its logistic baseline on the test split (set by
    /// the caller, from `monitor::compare`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versus_logistic: Option<BaselineTest>,
}

/// The ensemble against its logistic baseline on the test split, sample by sample.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BaselineTest {
    pub n: usize,
    /// Mean of the logistic's log-loss minus the ensemble's: positive, the ensemble is better.
    pub mean_log_loss_improvement: f64,
    /// Diebold–Mariano (Harvey–Leybourne–Newbold) statistic, two-sided p-value, Newey–West lag.
    pub dm_stat: f64,
    pub p: f64,
    pub lag: usize,
    /// The ensemble's log-loss is lower and the difference significant at 5 %.
    pub beats: bool,
}

/// The stored candles `data` names and `spec` with the series' market calendar, which decides
/// which holes are gaps (the model keeps it in its lineage): what [`run`] trains on.
pub fn load(
    db: &Path,
    data: &TrainingData,
    spec: &TrainSpec,
) -> Result<(Vec<Candle>, TrainSpec), TrainRunError> {
    let store = Store::open(db)?;
    let from = data.from_ms.unwrap_or(i64::MIN);
    let to = data.to_ms.unwrap_or(i64::MAX);
    let candles = store.candles_between(data.symbol, data.interval, from, to)?;
    if candles.is_empty() {
        let range = match (data.from_ms, data.to_ms) {
            (None, None) => String::new(),
            _ => format!(" between {from} and {to} (UTC ms)"),
        };
        return Err(TrainRunError::NoCandles {
            symbol: data.symbol,
            interval: data.interval,
            db: db.display().to_string(),
            range,
        });
    }
    let mut spec = spec.clone();
    spec.data.calendar = store.calendar(data.symbol, data.interval)?;
    Ok((candles, spec))
}

/// Trains on the stored candles of `data`, telling `progress` where training is, registers the
/// model and returns both.
pub fn run(
    db: &Path,
    data: &TrainingData,
    spec: &TrainSpec,
    progress: &mut dyn FnMut(&Progress),
) -> Result<TrainOutput, TrainRunError> {
    let (candles, spec) = load(db, data, spec)?;
    let stop = AtomicBool::new(false);
    let trained = train(&candles, data.interval, &spec, progress, &stop).map_err(|source| {
        TrainRunError::Train {
            symbol: data.symbol,
            interval: data.interval,
            source: Box::new(source),
        }
    })?;
    let model = register(db, data.symbol, data.interval, &trained, Origin::Trained)?;
    let beats_baselines = trained.report.test.beats_baselines();
    Ok(TrainOutput {
        model,
        report: trained.report,
        beats_baselines,
        reference: None,
        test_log_losses: trained.test_log_losses,
        versus_logistic: None,
    })
}

/// Registers a trained ensemble in the store at `db`: [`register_trained`].
pub fn register(
    db: &Path,
    symbol: Symbol,
    interval: Interval,
    trained: &Trained,
    origin: Origin,
) -> Result<ModelRecord, TrainRunError> {
    let mut registry = Registry::open(db)?;
    Ok(register_trained(
        &mut registry,
        symbol,
        interval,
        trained,
        origin,
    )?)
}
