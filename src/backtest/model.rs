//! Model strategies: a registered ensemble's signals over stored candles from the signal
//! pipeline (`model::pipeline`) the live engine runs too — its batch back-end, which slides the
//! windows through the members at once and computes each row's first-layer input product once
//! for all the windows that contain it.
//!
//! Buy means long, Sell means short when shorts are allowed and flat otherwise, and Hold keeps
//! whatever is held. Before the first full window there is no signal and the strategy is flat.

use crate::domain::{Candle, Interval, Signal};
use crate::model::ensemble::Ensemble;
pub use crate::model::pipeline::PipelineError as ModelBacktestError;
use crate::model::pipeline::SignalPipeline;

use super::sim::Position;
use super::strategy::Strategy;

/// The ensemble's signal at the close of each candle through the signal pipeline's batch
/// back-end (`None` before the first full window, for a candle the feature set refused, and
/// before `predict_from`: those candles only warm the features up).
pub fn model_signals(
    ensemble: &Ensemble,
    model: &str,
    interval: Interval,
    candles: &[Candle],
    predict_from: usize,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<Vec<Option<Signal>>, ModelBacktestError> {
    if ensemble.params.interval != interval {
        return Err(ModelBacktestError::Interval {
            model: model.to_string(),
            model_interval: ensemble.params.interval,
            candles_interval: interval,
        });
    }
    SignalPipeline::from_ensemble(0, model, ensemble.clone()).batch(candles, predict_from, progress)
}

/// The position a signal asks for, given the one held.
pub fn position_for(signal: Option<Signal>, held: Position, allow_short: bool) -> Position {
    match signal {
        Some(Signal::Buy) => Position::Long,
        Some(Signal::Sell) if allow_short => Position::Short,
        Some(Signal::Sell) => Position::Flat,
        Some(Signal::Hold) | None => held,
    }
}

/// Replays precomputed signals, one per candle in order.
#[derive(Clone, Debug)]
pub struct SignalStrategy {
    name: String,
    signals: Vec<Option<Signal>>,
    next: usize,
    held: Position,
    allow_short: bool,
}

impl SignalStrategy {
    pub fn new(name: String, signals: Vec<Option<Signal>>, allow_short: bool) -> Self {
        Self {
            name,
            signals,
            next: 0,
            held: Position::Flat,
            allow_short,
        }
    }
}

impl Strategy for SignalStrategy {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn on_close(&mut self, _candle: &Candle) -> Position {
        let signal = self.signals.get(self.next).copied().flatten();
        self.next += 1;
        self.held = position_for(signal, self.held, self.allow_short);
        self.held
    }
}
