//! Strategies that need no model: the desired position after each closed candle.

use crate::domain::Candle;
use crate::indicators::{Indicator, Sma};

use super::sim::Position;

/// Decides the position to hold from the next candle's open on, at the close of each candle.
/// It sees only the candles up to and including the one just closed.
pub trait Strategy {
    fn name(&self) -> String;
    /// Called once per closed candle, oldest first.
    fn on_close(&mut self, candle: &Candle) -> Position;
}

/// Long from the first close on, never sells (the position is closed at the end of the test).
#[derive(Clone, Debug, Default)]
pub struct BuyHold;

impl Strategy for BuyHold {
    fn name(&self) -> String {
        "buy-hold".into()
    }

    fn on_close(&mut self, _candle: &Candle) -> Position {
        Position::Long
    }
}

/// Long while the fast SMA of the closes is above the slow one, flat otherwise (short instead of
/// flat when built with `short`). Flat until both averages exist.
#[derive(Clone, Debug)]
pub struct SmaCross {
    fast_period: usize,
    slow_period: usize,
    fast: Sma,
    slow: Sma,
    short: bool,
}

impl SmaCross {
    /// # Errors
    /// When a period is 0 or the fast one is not shorter than the slow one.
    pub fn new(fast: usize, slow: usize, short: bool) -> Result<Self, String> {
        if fast == 0 || slow == 0 || fast >= slow {
            return Err(format!(
                "sma-cross:{fast},{slow}: the periods must be above 0 and FAST below SLOW"
            ));
        }
        Ok(Self {
            fast_period: fast,
            slow_period: slow,
            fast: Sma::new(fast),
            slow: Sma::new(slow),
            short,
        })
    }
}

impl Strategy for SmaCross {
    fn name(&self) -> String {
        format!("sma-cross:{},{}", self.fast_period, self.slow_period)
    }

    fn on_close(&mut self, candle: &Candle) -> Position {
        match (self.fast.update(candle), self.slow.update(candle)) {
            (Some(fast), Some(slow)) if fast > slow => Position::Long,
            (Some(_), Some(_)) if self.short => Position::Short,
            _ => Position::Flat,
        }
    }
}
