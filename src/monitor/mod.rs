//! Model monitoring: is the active model still to be trusted? The live scorecard against its two
//! baselines, feature and prediction drift against the model's reference window (its training
//! rows), and three performance drift detectors on the realised outcomes. Pure computation over
//! candles and predictions: the engine's monitor component feeds it live, `trademon drift` over
//! stored candles, and both show the same [`tracker::SymbolReport`].

pub mod compare;
pub mod detectors;
pub mod offline;
pub mod persist;
pub mod reference;
pub mod scorecard;
pub mod spec;
pub mod stats;
pub mod tracker;

pub use reference::Reference;
pub use spec::ModelSpec;
pub use tracker::{Settings, Status, SymbolReport, Tracker};
