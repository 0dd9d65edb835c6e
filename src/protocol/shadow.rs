//! Champion and challengers in shadow: each challenger's paired evidence against the active
//! model on the live candles, as the Models pane shows it. Transfer types of their own.

use serde::{Deserialize, Serialize};

use crate::domain::Symbol;

/// The paired evidence on one stream (a symbol, or all pooled).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PairedEvidence {
    /// Paired candles with a known outcome.
    pub n: u64,
    /// Mean of the active model's log-loss minus the challenger's: positive, the challenger
    /// forecasts better.
    pub mean_log_loss_diff: f64,
    /// Its anytime-valid 95 % confidence sequence.
    pub confidence_sequence: [f64; 2],
    /// Diebold–Mariano statistic (Harvey–Leybourne–Newbold corrected) and its p-value.
    pub dm_stat: f64,
    pub dm_p: f64,
    /// McNemar: candles only the active model got right, only the challenger, and the p-value.
    pub only_active_right: u64,
    pub only_challenger_right: u64,
    pub mcnemar_p: f64,
    pub accuracy_active: f64,
    pub accuracy_challenger: f64,
    pub brier_active: f64,
    pub brier_challenger: f64,
    pub ece_active: f64,
    pub ece_challenger: f64,
    /// Paired candles needed to see a 0.01-nat difference at 80 % power.
    pub needed: Option<u64>,
    /// "challenger better", "champion better" or "no evidence yet (n of about N)".
    pub verdict: String,
}

/// One challenger scored in shadow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChallengerView {
    pub id: i64,
    pub version: String,
    /// Why it is not scored (it cannot run, or forecasts another target), when it is not.
    pub not_scored: Option<String>,
    /// Pooled over the symbols.
    pub pooled: PairedEvidence,
    pub symbols: Vec<(Symbol, PairedEvidence)>,
}

/// Every challenger against the active model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShadowView {
    /// The model the challengers are paired with (the active one).
    pub against: Option<String>,
    pub challengers: Vec<ChallengerView>,
    /// Challengers registered beyond `model.max_challengers`, not scored.
    pub over_limit: usize,
}
