//! The monitor side of the protocol: for each symbol, how the active model is doing live — the
//! scorecard over recent candles beside its two baselines, feature and prediction drift against
//! the model's reference window, and the performance drift detectors.

use serde::{Deserialize, Serialize};

use crate::domain::{Interval, Symbol};

use super::TestScores;

/// An estimate with its 95 % interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

/// A baseline scored on the same candles as the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BaselineScores {
    pub accuracy: f64,
    pub log_loss: f64,
    pub brier: f64,
}

/// The model's realised scores over one window of candles whose outcome is known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowScores {
    /// The window's length in candles; `None`: every candle since the model became active.
    pub last: Option<u32>,
    /// Candles with a known outcome in it.
    pub n: u64,
    /// Wilson interval.
    pub accuracy: Estimate,
    pub macro_f1: f64,
    /// Normal interval with Newey–West variance.
    pub log_loss: Estimate,
    pub brier: f64,
    /// Expected calibration error, 10 bins.
    pub ece: f64,
    /// The model's own logistic baseline run live on the same candles (`None`: it has none).
    pub logistic: Option<BaselineScores>,
    /// The majority-class baseline (the training class shares) on the same candles.
    pub majority: BaselineScores,
}

/// How the model is doing on realised outcomes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    /// Last 100, last 500, all (those with any outcome).
    pub windows: Vec<WindowScores>,
    /// Predictions whose outcome is not known yet.
    pub pending: u64,
    /// Accuracy expected from their probabilities (confidence-based estimate), `None` with none
    /// pending.
    pub expected_accuracy: Option<f64>,
    /// The held-out test figures from training.
    pub test: Option<TestScores>,
    /// In words, e.g. "worse than its logistic baseline on the last 500 candles".
    pub verdict: String,
}

/// One feature's drift over the current window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    pub name: String,
    pub psi: f64,
    /// What PSI reaches by sampling alone (95 %) for these window sizes.
    pub psi_critical: f64,
    /// Wasserstein distance over the reference standard deviation.
    pub wasserstein_sd: f64,
    /// What W/σ reaches between reference chunks (mean + 3σ, leave-one-chunk-out); `None` when
    /// the reference has too few chunks to set it.
    pub wasserstein_limit: Option<f64>,
    pub ks: f64,
    /// Shown, never used as a verdict (the rows are autocorrelated).
    pub ks_p: f64,
    pub drifted: bool,
    /// Its PSI at past evaluations, oldest first.
    pub psi_history: Vec<f64>,
}

/// The signal and probability mix of the window against the reference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PredictionDrift {
    /// Share of sell, hold, buy signals.
    pub signals: [f64; 3],
    pub reference_signals: [f64; 3],
    /// Mean probability of down, flat, up.
    pub probabilities: [f64; 3],
    pub reference_probabilities: [f64; 3],
    /// Jensen–Shannon distance (base 2) of the probability mix.
    pub js_distance: f64,
    /// Of the signal mix.
    pub js_signals: f64,
    pub mean_top: f64,
    pub reference_mean_top: f64,
}

/// A detector's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectorLevel {
    #[default]
    Ok,
    Warning,
    Drift,
}

impl DetectorLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            DetectorLevel::Ok => "ok",
            DetectorLevel::Warning => "warning",
            DetectorLevel::Drift => "drift",
        }
    }
}

/// A performance drift detector on the realised outcomes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DetectorView {
    /// "page-hinkley", "adwin", "ddm".
    pub name: String,
    /// What it watches, e.g. "log-loss (standardised)".
    pub input: String,
    pub state: DetectorLevel,
    /// When it last fired (warning or drift).
    pub fired_at_ms: Option<i64>,
    /// Drifts since the model became active.
    pub fired: u32,
}

/// The window drift is measured against.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceInfo {
    pub from_ms: i64,
    pub to_ms: i64,
    pub rows: u64,
    /// "training rows" or "stored candles of the training range".
    pub source: String,
}

/// A symbol's verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftStatus {
    /// Fewer closed candles than the window minimum yet.
    #[default]
    Warming,
    Stable,
    Drifting,
    NoReference,
}

impl DriftStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftStatus::Warming => "warming up",
            DriftStatus::Stable => "stable",
            DriftStatus::Drifting => "drifting",
            DriftStatus::NoReference => "no reference",
        }
    }
}

/// How the active model does on one symbol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SymbolMonitor {
    pub symbol: Symbol,
    pub interval: Interval,
    pub model_id: i64,
    pub model_version: String,
    pub status: DriftStatus,
    /// Why there is no reference, when there is none.
    pub reference: Option<ReferenceInfo>,
    pub no_reference: Option<String>,
    /// The window W, and how many closed candles it holds so far.
    pub window: u32,
    pub window_filled: u32,
    pub scorecard: Scorecard,
    /// Drifted first, then by PSI, largest first.
    pub features: Vec<FeatureDrift>,
    pub drifted_share: f64,
    pub dataset_drift: bool,
    pub predictions: Option<PredictionDrift>,
    pub detectors: Vec<DetectorView>,
    /// Open time of the newest candle the figures include.
    pub as_of_ms: Option<i64>,
}

/// The monitor's view: one entry per symbol the active model runs on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorView {
    pub symbols: Vec<SymbolMonitor>,
}

impl MonitorView {
    /// Replaces the entry of `one`'s symbol (or adds it).
    pub fn put(&mut self, one: &SymbolMonitor) {
        match self.symbols.iter_mut().find(|s| s.symbol == one.symbol) {
            Some(slot) => *slot = one.clone(),
            None => self.symbols.push(one.clone()),
        }
    }

    pub fn of(&self, symbol: Symbol) -> Option<&SymbolMonitor> {
        self.symbols.iter().find(|s| s.symbol == symbol)
    }
}
