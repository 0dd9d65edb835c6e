//! From the members' class probabilities to one trading signal: the validation-weighted mean of
//! the members, a confidence that is the top probability's margin over the next one shrunk by
//! member disagreement, the members' votes, and Buy / Sell / Hold by the configured thresholds.

use serde::{Deserialize, Serialize};

/// The classes, in the order of every probability vector: the sign of the forward return.
pub const CLASSES: [&str; 3] = ["down", "flat", "up"];

/// Class indices.
pub const DOWN: usize = 0;
pub const FLAT: usize = 1;
pub const UP: usize = 2;

pub use crate::domain::Signal;

/// The confidence a Buy (up) or a Sell (down) needs; anything less is Hold.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub buy: f64,
    pub sell: f64,
}

impl Thresholds {
    /// The thresholds of models trained before calibration, unless their config said otherwise.
    pub const FIXED_DEFAULT: Thresholds = Thresholds {
        buy: 0.10,
        sell: 0.10,
    };

    /// These thresholds with the sides the config sets explicitly replaced.
    pub fn overridden(self, over: ThresholdOverride) -> Thresholds {
        Thresholds {
            buy: over.buy.unwrap_or(self.buy),
            sell: over.sell.unwrap_or(self.sell),
        }
    }
}

/// Explicit thresholds from the config (`model.buy_confidence` / `model.sell_confidence`): each
/// side that is set wins over the model's own, live and in backtests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ThresholdOverride {
    pub buy: Option<f64>,
    pub sell: Option<f64>,
}

impl ThresholdOverride {
    pub fn from_config(config: &crate::config::ModelConfig) -> Self {
        Self {
            buy: config.buy_confidence,
            sell: config.sell_confidence,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buy.is_none() && self.sell.is_none()
    }
}

/// The ensemble's verdict on one window.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Down, flat, up; sums to 1.
    pub probabilities: [f64; 3],
    /// The most probable class.
    pub class: usize,
    /// (top − second probability) × the weighted share of members voting for the top class.
    pub confidence: f64,
    /// How many members put each class first.
    pub votes: [u32; 3],
    pub signal: Signal,
}

/// The log-loss of always answering 1/3 each: a member must beat it to earn weight.
pub const CHANCE_LOG_LOSS: f64 = 1.098_612_288_668_109_8;

/// Member weights from their validation log-losses: proportional to how much each beats the
/// uninformed log-loss ln 3 (a member no better than chance gets none). If no member beats
/// chance the members count equally, so the ensemble still answers. Sums to 1.
pub fn member_weights(validation_log_losses: &[f64]) -> Vec<f64> {
    let gains: Vec<f64> = validation_log_losses
        .iter()
        .map(|&loss| {
            if loss.is_finite() {
                (CHANCE_LOG_LOSS - loss).max(0.0)
            } else {
                0.0
            }
        })
        .collect();
    let total: f64 = gains.iter().sum();
    if total > 0.0 {
        gains.iter().map(|g| g / total).collect()
    } else {
        let n = validation_log_losses.len().max(1) as f64;
        vec![1.0 / n; validation_log_losses.len()]
    }
}

fn top_class(p: &[f64; 3]) -> usize {
    // Ties go to flat, then down: a tie is no reason to trade.
    let mut best = FLAT;
    for class in [DOWN, UP] {
        if p[class] > p[best] {
            best = class;
        }
    }
    best
}

/// Combines the members' probabilities (one row per member, in the order of `weights`).
///
/// # Panics
/// When `members` is empty or its length differs from `weights`: the ensemble is built with one
/// weight per member, so this is a programming error, not an input error.
pub fn combine(members: &[[f32; 3]], weights: &[f64], thresholds: Thresholds) -> Verdict {
    assert!(
        !members.is_empty() && members.len() == weights.len(),
        "an ensemble needs one weight per member ({} members, {} weights)",
        members.len(),
        weights.len()
    );
    let mut probabilities = [0.0; 3];
    let mut votes = [0u32; 3];
    let mut member_tops = Vec::with_capacity(members.len());
    for (p, &w) in members.iter().zip(weights) {
        let p = p.map(f64::from);
        for (sum, value) in probabilities.iter_mut().zip(p) {
            *sum += w * value;
        }
        let top = top_class(&p);
        votes[top] += 1;
        member_tops.push(top);
    }
    let total: f64 = probabilities.iter().sum();
    if total > 0.0 {
        probabilities.iter_mut().for_each(|p| *p /= total);
    }
    let class = top_class(&probabilities);
    let mut sorted = probabilities;
    sorted.sort_by(|a, b| b.total_cmp(a));
    let margin = sorted[0] - sorted[1];
    let weight_total: f64 = weights.iter().sum();
    let agreement = if weight_total > 0.0 {
        member_tops
            .iter()
            .zip(weights)
            .filter(|(top, _)| **top == class)
            .map(|(_, w)| w)
            .sum::<f64>()
            / weight_total
    } else {
        0.0
    };
    let confidence = (margin * agreement).clamp(0.0, 1.0);
    // A zero margin (a tie) never trades, even with a threshold of 0.
    let signal = match class {
        UP if confidence >= thresholds.buy && confidence > 0.0 => Signal::Buy,
        DOWN if confidence >= thresholds.sell && confidence > 0.0 => Signal::Sell,
        _ => Signal::Hold,
    };
    Verdict {
        probabilities,
        class,
        confidence,
        votes,
        signal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Thresholds = Thresholds {
        buy: 0.1,
        sell: 0.1,
    };

    #[test]
    fn weights_follow_the_gain_over_chance() {
        let w = member_weights(&[1.0, CHANCE_LOG_LOSS - 0.2, 1.5, f64::NAN]);
        let gain0 = CHANCE_LOG_LOSS - 1.0;
        assert!((w[0] - gain0 / (gain0 + 0.2)).abs() < 1e-12);
        assert!((w[1] - 0.2 / (gain0 + 0.2)).abs() < 1e-12);
        assert_eq!(w[2], 0.0);
        assert_eq!(w[3], 0.0);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Nobody beats chance: equal say.
        assert_eq!(member_weights(&[1.2, 1.3]), vec![0.5, 0.5]);
    }

    #[test]
    fn unanimous_members_give_the_margin_as_confidence() {
        let v = combine(&[[0.1, 0.3, 0.6], [0.1, 0.3, 0.6]], &[0.5, 0.5], T);
        assert_eq!(v.class, UP);
        assert_eq!(v.votes, [0, 0, 2]);
        assert!((v.confidence - 0.3).abs() < 1e-6);
        assert_eq!(v.signal, Signal::Buy);
        assert!((v.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn disagreement_shrinks_confidence_and_can_turn_a_trade_into_hold() {
        let members = [[0.7, 0.2, 0.1], [0.7, 0.2, 0.1], [0.1, 0.2, 0.7]];
        let v = combine(&members, &[0.4, 0.4, 0.2], T);
        assert_eq!(v.class, DOWN);
        assert_eq!(v.votes, [2, 0, 1]);
        // Mean: down 0.58, flat 0.2, up 0.22 → margin 0.36, agreement 0.8.
        assert!((v.confidence - 0.36 * 0.8).abs() < 1e-6);
        assert_eq!(v.signal, Signal::Sell);
        let strict = Thresholds {
            buy: 0.5,
            sell: 0.5,
        };
        assert_eq!(
            combine(&members, &[0.4, 0.4, 0.2], strict).signal,
            Signal::Hold
        );
    }

    #[test]
    fn flat_is_always_hold_and_ties_do_not_trade() {
        let v = combine(&[[0.1, 0.8, 0.1]], &[1.0], T);
        assert_eq!((v.class, v.signal), (FLAT, Signal::Hold));
        let tie = combine(&[[0.5, 0.0, 0.5]], &[1.0], T);
        assert_eq!(tie.signal, Signal::Hold);
        assert_eq!(tie.confidence, 0.0);
    }

    #[test]
    fn explicit_sides_override_the_models_thresholds() {
        let own = Thresholds {
            buy: 0.05,
            sell: 0.07,
        };
        assert_eq!(own.overridden(ThresholdOverride::default()), own);
        let buy_only = ThresholdOverride {
            buy: Some(0.3),
            sell: None,
        };
        assert_eq!(
            own.overridden(buy_only),
            Thresholds {
                buy: 0.3,
                sell: 0.07
            }
        );
    }

    #[test]
    #[should_panic(expected = "one weight per member")]
    fn weights_must_match_members() {
        combine(&[[0.3, 0.3, 0.4]], &[0.5, 0.5], T);
    }
}
