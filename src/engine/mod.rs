//! The live engine: the only owner of live state. It takes market events, stores closed candles
//! through the writer, and publishes `protocol::Update`s to whatever view is attached.

pub mod backtests;
mod health;
pub mod history;
mod indicators;
mod live;
pub mod models;
mod publish;
mod runtime;
#[cfg(test)]
mod store_owner_tests;

pub use health::HealthCounters;
pub use indicators::{SeriesIndicators, chart_values};
pub use live::{Engine, EngineOptions, EngineSummary, initial_snapshot};
pub use publish::Publisher;
pub use runtime::{Runtime, RuntimeError, RuntimeOptions, Source};
