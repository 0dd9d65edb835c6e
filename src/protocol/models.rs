//! The model side of the protocol: the latest signal per series, the registered models with their
//! held-out scores, the active model (or the fallback in its place), its indicator weights, and a
//! background training run's progress.

use serde::{Deserialize, Serialize};

use crate::domain::Signal;
use crate::domain::{Interval, Symbol};

/// The latest signal of one series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalInfo {
    pub symbol: Symbol,
    pub interval: Interval,
    /// The closed candle at whose close it was computed.
    pub open_time_ms: i64,
    /// Wall-clock time it was made.
    pub made_ms: i64,
    /// The model version that made it ("logistic fallback" when the fallback did).
    pub model_version: String,
    /// Down, flat, up.
    pub probabilities: [f64; 3],
    pub confidence: f64,
    /// How many members put down, flat, up first.
    pub votes: [u32; 3],
    pub signal: Signal,
    /// The features that moved this signal most (gradient × input on the top class), largest
    /// magnitude first.
    pub drivers: Vec<(String, f64)>,
    /// Made by the logistic baseline because the model could not run.
    pub fallback: bool,
}

/// Accuracy, macro-F1, log-loss and Brier score on one split.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub accuracy: f64,
    pub macro_f1: f64,
    pub log_loss: f64,
    pub brier: f64,
}

/// A model's scores on its held-out test split, beside the two baselines fitted on the same split.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TestScores {
    pub samples: u64,
    pub model: Scores,
    pub logistic: Scores,
    pub majority: Scores,
}

/// One registered model as the Models pane lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    pub id: i64,
    pub version: String,
    pub created_ms: i64,
    /// "trained", "torch-import" or "demo".
    pub origin: String,
    /// "simulated", "real" or "unknown".
    pub trained_on: String,
    /// "champion", "challenger" or "retired".
    pub role: String,
    pub members: u32,
    /// What it was trained on, e.g. "BTCUSDT 1m".
    pub data: String,
    pub test: Option<TestScores>,
    /// The confidence its Buy / Sell signals need; `None` when it stores none (a PyTorch member).
    #[serde(default)]
    pub thresholds: Option<SignalThresholds>,
}

/// The confidence a model's Buy and Sell signals need, and where those numbers come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalThresholds {
    pub buy: f64,
    pub sell: f64,
    /// In words: "calibrated: 20 % of validation candles trade", "config model.buy_confidence
    /// / sell_confidence", or "fixed at training (the model predates calibration)".
    pub source: String,
}

/// One feature's weight in the active model, with the three parts it was set from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureWeight {
    pub name: String,
    pub weight: f64,
    /// Permutation importance on the validation split.
    pub importance: f64,
    /// Penalty for correlation with a more important feature (0..1).
    pub penalty: f64,
    /// Recent rank information coefficient with the forward return.
    pub rank_ic: f64,
}

/// A background training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingProgress {
    pub symbol: Symbol,
    pub interval: Interval,
    pub started_ms: i64,
    /// 1-based member being trained, of `members`.
    pub member: u32,
    pub members: u32,
    /// 1-based epoch of `epochs` (at most: early stopping may end sooner).
    pub epoch: u32,
    pub epochs: u32,
    pub train_loss: f64,
    pub validation_loss: f64,
    pub validation_accuracy: f64,
    /// Estimated seconds left.
    pub eta_secs: Option<f64>,
}

/// Everything about models a view shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelsView {
    /// Newest first.
    pub models: Vec<ModelSummary>,
    /// The model the engine runs (`None` with no model at all).
    pub active: Option<i64>,
    /// Why the logistic baseline runs instead of the active model; `None` when the model runs.
    pub fallback: Option<String>,
    /// The active model's indicator weights, in feature order.
    pub weights: Vec<FeatureWeight>,
    pub training: Option<TrainingProgress>,
    /// How the last training run ended (a new challenger, or why it failed).
    pub last_training: Option<String>,
    /// The candle interval the active model runs at.
    #[serde(default)]
    pub active_interval: Option<Interval>,
}

impl ModelsView {
    pub fn active_model(&self) -> Option<&ModelSummary> {
        let id = self.active?;
        self.models.iter().find(|m| m.id == id)
    }
}

/// Keeps one signal per (symbol, interval): the newest replaces an older one.
pub fn put_signal(signals: &mut Vec<SignalInfo>, signal: &SignalInfo) {
    match signals
        .iter_mut()
        .find(|s| s.symbol == signal.symbol && s.interval == signal.interval)
    {
        Some(slot) if slot.open_time_ms <= signal.open_time_ms => *slot = signal.clone(),
        Some(_) => {}
        None => signals.push(signal.clone()),
    }
}
