//! Model monitoring: is the active model still to be trusted? The live scorecard against its two
//! baselines, feature and prediction drift against the model's reference window (its training
//! rows), and three performance drift detectors on the realised outcomes. Pure computation over
//! candles and predictions: the engine's monitor component feeds it live, `trademon drift` over
//! stored candles, and both show the same [`tracker::SymbolReport`].
//!
//! Champion and challengers: the paired evidence of two models on the same candles
//! ([`compare`]: confidence sequence, Diebold–Mariano, McNemar), `models compare` over stored
//! candles ([`compare_run`]), and the pure rules for retraining triggers ([`retrain`]) and
//! promotion by evidence ([`promotion`]).

pub mod compare;
pub mod compare_run;
pub mod detectors;
pub mod offline;
pub mod persist;
pub mod promotion;
pub mod reference;
pub mod retrain;
pub mod scorecard;
pub mod spec;
pub mod stats;
pub mod tracker;

pub use reference::Reference;
pub use spec::ModelSpec;
pub use tracker::{Settings, Status, SymbolReport, Tracker};

#[cfg(test)]
#[path = "evidence_tests.rs"]
mod evidence_tests;

#[cfg(test)]
mod fixture_support;
