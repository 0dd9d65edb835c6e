//! Health metrics the engine publishes: latency windows and message rates.

mod latency;

pub use latency::LatencyWindow;
