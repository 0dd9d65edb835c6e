//! The live engine: the only owner of live state. It takes market events, stores closed candles
//! through the writer, and publishes `protocol::Update`s to whatever view is attached.

mod clock;

pub use clock::{Clock, ManualClock, WallClock, wall_clock_ms};
