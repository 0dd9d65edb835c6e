//! The live engine: the only owner of live state. It takes market events, stores closed candles
//! through the writer, runs its components (`component.rs`: the model component first) on closed
//! candles, signals, trade prints and ticks, takes its background jobs' reports (`jobs.rs`) as an
//! arm of its loop, and publishes `protocol::Update`s to whatever view is attached.

pub mod alerts;
pub mod backtests;
#[cfg(test)]
mod clock_tests;
pub mod component;
pub mod convert;
mod health;
pub mod history;
mod indicators;
pub mod jobs;
mod live;
pub mod metrics;
pub mod models;
pub mod monitor;
pub mod paper;
#[cfg(test)]
mod paper_tests;
mod publish;
#[cfg(test)]
mod retraining_tests;
mod runtime;
pub mod shadow;
#[cfg(test)]
mod store_owner_tests;
#[cfg(test)]
mod test_support;

pub use component::{Component, Effects};
pub use health::HealthCounters;
pub use indicators::{SeriesIndicators, chart_values};
pub use live::{Engine, EngineOptions, EngineSummary, initial_snapshot};
pub use publish::Publisher;
pub use runtime::{Runtime, RuntimeError, RuntimeOptions, Source, source_info};
