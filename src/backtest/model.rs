//! Model strategies: a registered ensemble's signals over stored candles, computed the way the
//! live engine computes them — the same incremental feature set, the same window of the last
//! `window` feature rows, the same normalisation and the same `signal::combine` — but with the
//! windows batched through the members (the live path runs one window at a time), and each
//! row's first-layer input product computed once for all the windows that contain it.
//!
//! Buy means long, Sell means short when shorts are allowed and flat otherwise, and Hold keeps
//! whatever is held. Before the first full window there is no signal and the strategy is flat.

use std::collections::VecDeque;

use crate::domain::{Candle, Interval};
use crate::features::{FEATURE_COUNT, FeatureSet};
use crate::model::ensemble::{Ensemble, EnsembleError};
use crate::model::signal::{self, Signal};

use super::sim::Position;
use super::strategy::Strategy;

/// Windows run through the members at once.
const CHUNK: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ModelBacktestError {
    #[error(
        "model {model} was trained on {model_interval} candles; these are {candles_interval} \
         (use --interval {model_interval})"
    )]
    Interval {
        model: String,
        model_interval: Interval,
        candles_interval: Interval,
    },
    #[error("model {model} failed on the window ending at candle {index}: {source}")]
    Ensemble {
        model: String,
        index: usize,
        #[source]
        source: Box<EnsembleError>,
    },
    #[error("stopped")]
    Stopped,
}

/// The ensemble's signal at the close of each candle (`None` before the first full window, for
/// a candle the feature set refused, and before `predict_from`: those candles only warm the
/// features up).
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
    let window = ensemble.window();
    // The live engine's track: feature rows pushed as candles close, the last `window` kept.
    let mut features = FeatureSet::with_factor(interval, ensemble.params.data.htf_factor)
        .with_calendar(ensemble.params.data.calendar);
    let mut rows: Vec<[f64; FEATURE_COUNT]> = Vec::with_capacity(candles.len());
    let mut recent: VecDeque<usize> = VecDeque::with_capacity(window + 1);
    // (candle index, index in `rows` of the window's first row)
    let mut windows: Vec<(usize, usize)> = Vec::with_capacity(candles.len());
    for (index, candle) in candles.iter().enumerate() {
        let Ok(Some(row)) = features.update(candle) else {
            continue;
        };
        rows.push(row.values);
        recent.push_back(rows.len() - 1);
        if recent.len() > window {
            recent.pop_front();
        }
        if recent.len() == window && index >= predict_from {
            windows.push((index, rows.len() - window));
        }
    }
    let mut signals = vec![None; candles.len()];
    let total = windows.len();
    let failed = |index: usize| {
        let model = model.to_string();
        move |source| ModelBacktestError::Ensemble {
            model,
            index,
            source: Box::new(source),
        }
    };
    // Every row normalised once; the windows slide along them.
    let mut normalised = Vec::with_capacity(rows.len() * ensemble.names.len());
    ensemble
        .normalise_rows(rows.iter().map(|r| r.as_slice()), &mut normalised)
        .map_err(failed(0))?;
    let mut starts = Vec::with_capacity(CHUNK);
    let mut members = Vec::with_capacity(ensemble.members().len());
    for (done, chunk) in windows.chunks(CHUNK).enumerate() {
        if !progress(done * CHUNK, total) {
            return Err(ModelBacktestError::Stopped);
        }
        starts.clear();
        starts.extend(chunk.iter().map(|&(_, first)| first));
        let first_index = chunk.first().map_or(0, |c| c.0);
        let per_member = ensemble
            .member_probabilities_sliding(&normalised, &starts)
            .map_err(failed(first_index))?;
        for (i, &(index, _)) in chunk.iter().enumerate() {
            members.clear();
            members.extend(per_member.iter().map(|m| m[i]));
            let verdict = signal::combine(
                &members,
                &ensemble.params.member_weights,
                ensemble.thresholds(),
            );
            signals[index] = Some(verdict.signal);
        }
    }
    progress(total, total);
    Ok(signals)
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
