//! Buy / Sell thresholds calibrated per model on its validation split.
//!
//! A fixed confidence threshold means something different for every model: the demo ensemble's
//! confidences almost never reach 0.10, so with that threshold it never trades. Instead each
//! model, when trained, gets the threshold at which `model.signal_rate` (default 0.2) of its
//! validation candles are Buy or Sell.
//!
//! **How.** Every validation window is run through the ensemble and [`signal::combine`], giving
//! its top class and its confidence. Only a window whose top class is up or down can trade, and
//! it trades when its confidence reaches the threshold, so the threshold is the k-th largest
//! confidence among those windows, k = round(signal_rate × N) with N all validation windows
//! (Hold ones included: the rate is a share of candles). Ties at the threshold trade too, so the
//! achieved rate can be a little above the asked one; when fewer than k windows are directional
//! at all, every directional one with a positive confidence trades and the achieved rate says
//! how far short that falls (with none, the threshold is 1).
//!
//! **One threshold for both sides.** Buy and Sell get the same number: the confidence is on the
//! same scale whichever class is on top, and one quantile keeps the model's own lean (how many of
//! its confident windows say up rather than down). Per-side quantiles would force as many Sells
//! as Buys whatever the model thinks. The two numbers are still stored apart, so an explicit
//! config value can move one side alone.
//!
//! **Validation only.** The training split chose the weights and the test split is the
//! out-of-sample verdict; the thresholds are chosen on neither, so changing or perturbing the
//! test split cannot move them (tests/model_thresholds.rs).

use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use super::ensemble::{Ensemble, EnsembleError, EnsembleParams};
use super::signal::{self, DOWN, ThresholdOverride, Thresholds, UP};

/// Windows run through the members at once.
const CHUNK: usize = 1024;

/// How a model's thresholds were calibrated: stored with them in the model's params.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The share of validation candles asked to be Buy or Sell (`model.signal_rate`).
    pub signal_rate: f64,
    /// The validation windows the quantile was taken over.
    pub validation_samples: usize,
    /// Of them, those whose top class was up or down (the only ones that can trade).
    pub directional: usize,
    /// The share of validation windows that are Buy or Sell at the calibrated thresholds.
    pub achieved_rate: f64,
}

/// The thresholds at which `signal_rate` of the windows trade, from each window's top class and
/// confidence (see the module doc).
pub fn calibrate(verdicts: &[(usize, f64)], signal_rate: f64) -> (Thresholds, Calibration) {
    let mut directional: Vec<f64> = verdicts
        .iter()
        .filter(|(class, confidence)| (*class == UP || *class == DOWN) && *confidence > 0.0)
        .map(|&(_, confidence)| confidence)
        .collect();
    directional.sort_by(|a, b| b.total_cmp(a));
    let wanted = (signal_rate * verdicts.len() as f64).round().max(1.0) as usize;
    let threshold = match directional.len() {
        0 => 1.0,
        n => directional[wanted.min(n) - 1],
    };
    let trading = directional.iter().filter(|&&c| c >= threshold).count();
    let thresholds = Thresholds {
        buy: threshold,
        sell: threshold,
    };
    let calibration = Calibration {
        signal_rate,
        validation_samples: verdicts.len(),
        directional: directional.len(),
        achieved_rate: trading as f64 / verdicts.len().max(1) as f64,
    };
    (thresholds, calibration)
}

/// The top class and confidence of the ensemble on each validation window of `dataset`,
/// through the ensemble's own normaliser and indicator weights.
pub fn validation_verdicts(
    ensemble: &Ensemble,
    dataset: &Dataset,
) -> Result<Vec<(usize, f64)>, EnsembleError> {
    let ids: Vec<usize> = dataset.split().validation.clone().collect();
    let weighting = &ensemble.weighting;
    let mut verdicts = Vec::with_capacity(ids.len());
    let mut rows = Vec::with_capacity(ensemble.members().len());
    for chunk in ids.chunks(CHUNK) {
        let (x, _) = dataset.batch(chunk, &weighting.normalizer, &weighting.indicators.weights)?;
        let per_member = ensemble.member_probabilities(&x, chunk.len())?;
        for i in 0..chunk.len() {
            rows.clear();
            rows.extend(per_member.iter().map(|m| m[i]));
            let verdict = signal::combine(
                &rows,
                &ensemble.params.member_weights,
                ensemble.thresholds(),
            );
            verdicts.push((verdict.class, verdict.confidence));
        }
    }
    Ok(verdicts)
}

/// Calibrates `ensemble`'s thresholds on the validation split of `dataset` (the data it was
/// trained on).
pub fn calibrate_on_validation(
    ensemble: &Ensemble,
    dataset: &Dataset,
    signal_rate: f64,
) -> Result<(Thresholds, Calibration), EnsembleError> {
    let verdicts = validation_verdicts(ensemble, dataset)?;
    Ok(calibrate(&verdicts, signal_rate))
}

/// The thresholds a model's signals are judged by when the config sets `over`, and where they
/// come from, in words (the Models pane and `trademon models show` print it).
pub fn effective(params: &EnsembleParams, over: ThresholdOverride) -> (Thresholds, String) {
    let own = match &params.calibration {
        Some(c) => format!(
            "calibrated: {:.0} % of validation candles trade",
            100.0 * c.signal_rate
        ),
        None => "fixed at training (the model predates calibration)".to_string(),
    };
    let source = match (over.buy.is_some(), over.sell.is_some()) {
        (false, false) => own,
        (true, true) => "config model.buy_confidence / sell_confidence".to_string(),
        (true, false) => format!("buy: config model.buy_confidence; sell {own}"),
        (false, true) => format!("sell: config model.sell_confidence; buy {own}"),
    };
    (params.thresholds.overridden(over), source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::signal::FLAT;

    #[test]
    fn the_threshold_makes_the_asked_share_of_windows_trade() {
        // 10 windows: 6 directional with confidences 0.1 .. 0.6, 4 flat with high confidences
        // (flat never trades, so those do not count).
        let mut verdicts: Vec<(usize, f64)> = (1..=6)
            .map(|i| (if i % 2 == 0 { UP } else { DOWN }, f64::from(i) / 10.0))
            .collect();
        verdicts.extend([(FLAT, 0.9); 4]);
        let (t, c) = calibrate(&verdicts, 0.2);
        assert_eq!(t.buy, 0.5);
        assert_eq!(t.sell, t.buy);
        assert_eq!((c.validation_samples, c.directional), (10, 6));
        assert!((c.achieved_rate - 0.2).abs() < 1e-12);
        // Asking for more than is directional: every directional window trades.
        let (t, c) = calibrate(&verdicts, 0.9);
        assert_eq!(t.buy, 0.1);
        assert!((c.achieved_rate - 0.6).abs() < 1e-12);
        // Nothing directional: nothing trades.
        let (t, c) = calibrate(&[(FLAT, 0.5); 5], 0.2);
        assert_eq!((t.buy, c.achieved_rate), (1.0, 0.0));
    }

    #[test]
    fn the_calibrated_thresholds_give_that_many_signals_through_combine() {
        // Windows of one member with rising up-margins: the signal path agrees with the count.
        let members: Vec<[f32; 3]> = (0..50)
            .map(|i| {
                let up = 0.34 + i as f32 * 0.01;
                [(1.0 - up) / 2.0, (1.0 - up) / 2.0, up]
            })
            .collect();
        let loose = Thresholds {
            buy: 0.0,
            sell: 0.0,
        };
        let verdicts: Vec<(usize, f64)> = members
            .iter()
            .map(|p| {
                let v = signal::combine(&[*p], &[1.0], loose);
                (v.class, v.confidence)
            })
            .collect();
        let (t, c) = calibrate(&verdicts, 0.2);
        let trades = members
            .iter()
            .filter(|p| signal::combine(&[**p], &[1.0], t).signal != signal::Signal::Hold)
            .count();
        assert_eq!(trades, 10);
        assert!((c.achieved_rate - 0.2).abs() < 1e-12);
    }
}
