//! The `[model]` section: the signal model's shape, its training, the share of validation
//! candles its calibrated thresholds make trade, and the explicit thresholds that override them.

use serde::{Deserialize, Serialize};

/// The signal model's shape, its training, and the confidence a signal needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub members: usize,
    pub window: usize,
    pub layers: usize,
    pub hidden: usize,
    pub horizon: usize,
    pub epochs: usize,
    pub patience: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub seed: u64,
    pub validation_share: f64,
    pub test_share: f64,
    /// The share of validation candles a newly trained model's calibrated thresholds make
    /// non-Hold (0 < x < 1).
    pub signal_rate: f64,
    /// Explicit thresholds: `None` (absent, or `""`) runs each model on its own calibrated ones;
    /// a number set here overrides them for every model, live and in backtests.
    #[serde(
        default,
        deserialize_with = "optional_confidence",
        skip_serializing_if = "Option::is_none"
    )]
    pub buy_confidence: Option<f64>,
    #[serde(
        default,
        deserialize_with = "optional_confidence",
        skip_serializing_if = "Option::is_none"
    )]
    pub sell_confidence: Option<f64>,
    /// The most challengers (retrained models scored in shadow beside the champion) kept per
    /// series (1..=10).
    pub max_challengers: usize,
}

/// The fewest samples the trainer keeps in a split (`model::prepare::DataSpec`'s default
/// `min_split_samples`; `monitor::retrain`'s tests check they agree).
pub const TRAINER_MIN_SPLIT_SAMPLES: usize = 50;

/// A confidence threshold key: a number, or absent / `""` for "the model's own".
fn optional_confidence<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Option<f64>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(
                "a confidence between 0 and 1, or \"\" (or no key) for each model's calibrated one",
            )
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if v.trim().is_empty() {
                Ok(None)
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
    }
    d.deserialize_any(Visitor)
}

impl ModelConfig {
    /// The fewest candles the trainer can split at these shares and this window and horizon:
    /// every split needs [`TRAINER_MIN_SPLIT_SAMPLES`] samples, the validation and test splits
    /// lose `window + horizon` samples at their start, and the first sample needs `window` rows
    /// and its label `horizon` more (feature warm-up comes on top of this).
    pub fn trainer_min_rows(&self) -> usize {
        let gap = self.window + self.horizon;
        let train = 1.0 - self.validation_share - self.test_share;
        let windows = [
            (train, 0),
            (self.validation_share, gap),
            (self.test_share, gap),
        ]
        .iter()
        .map(|&(share, lost)| {
            if share.is_finite() && share > 0.0 {
                ((TRAINER_MIN_SPLIT_SAMPLES + lost) as f64 / share).ceil() as usize
            } else {
                usize::MAX / 4
            }
        })
        .max()
        .unwrap_or(0);
        windows + gap
    }

    pub(super) fn check(&self) -> Result<(), (String, String)> {
        let err = |key: &str, reason: String| Err((format!("model.{key}"), reason));
        for (key, value, low, high) in [
            ("members", self.members, 1, 32),
            ("window", self.window, 2, 500),
            ("layers", self.layers, 1, 4),
            ("hidden", self.hidden, 1, 1024),
            ("horizon", self.horizon, 1, 1000),
            ("epochs", self.epochs, 1, 10_000),
            ("patience", self.patience, 1, 10_000),
            ("batch_size", self.batch_size, 1, 65_536),
            ("max_challengers", self.max_challengers, 1, 10),
        ] {
            if !(low..=high).contains(&value) {
                return err(key, format!("{value} must be between {low} and {high}"));
            }
        }
        for (key, value, low, high) in [
            ("learning_rate", self.learning_rate, 0.0, 1.0),
            ("weight_decay", self.weight_decay, 0.0, 1.0),
        ] {
            if !(value.is_finite() && value >= low && value <= high) {
                return err(key, format!("{value} must be between {low} and {high}"));
            }
        }
        for (key, value) in [
            ("buy_confidence", self.buy_confidence),
            ("sell_confidence", self.sell_confidence),
        ] {
            if let Some(value) = value
                && !(value.is_finite() && (0.0..=1.0).contains(&value))
            {
                return err(key, format!("{value} must be between 0 and 1"));
            }
        }
        if self.learning_rate == 0.0 {
            return err("learning_rate", "must be above 0".into());
        }
        if !(self.signal_rate.is_finite() && self.signal_rate > 0.0 && self.signal_rate < 1.0) {
            return err(
                "signal_rate",
                format!(
                    "{} must be above 0 and below 1 (the share of validation candles that trade)",
                    self.signal_rate
                ),
            );
        }
        for (key, value) in [
            ("validation_share", self.validation_share),
            ("test_share", self.test_share),
        ] {
            if !(value.is_finite() && value > 0.0 && value < 0.5) {
                return err(key, format!("{value} must be above 0 and below 0.5"));
            }
        }
        if self.validation_share + self.test_share >= 0.8 {
            return err(
                "test_share",
                "validation_share + test_share must leave at least 20 % for training".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn explicit_thresholds_are_optional_and_the_signal_rate_is_a_share() {
        let c = Config::default();
        assert_eq!(
            (c.model.buy_confidence, c.model.sell_confidence),
            (None, None)
        );
        assert_eq!(c.model.signal_rate, 0.2);
        let text = "[model]\nbuy_confidence = 0.3\nsell_confidence = \"\"\n";
        let c = Config::from_toml("u.toml", text).unwrap();
        assert_eq!(
            (c.model.buy_confidence, c.model.sell_confidence),
            (Some(0.3), None)
        );
        let c = Config::from_toml("u.toml", "[model]\nsell_confidence = 0\n").unwrap();
        assert_eq!(c.model.sell_confidence, Some(0.0));
        for (line, key, says) in [
            (
                "signal_rate = 0",
                "model.signal_rate",
                "above 0 and below 1",
            ),
            (
                "signal_rate = 1.5",
                "model.signal_rate",
                "above 0 and below 1",
            ),
            (
                "signal_rate = \"a lot\"",
                "model.signal_rate",
                "invalid type",
            ),
            (
                "buy_confidence = -0.1",
                "model.buy_confidence",
                "between 0 and 1",
            ),
            (
                "buy_confidence = nan",
                "model.buy_confidence",
                "between 0 and 1",
            ),
            (
                "buy_confidence = true",
                "model.buy_confidence",
                "a confidence between 0 and 1",
            ),
            (
                "sell_confidence = \"high\"",
                "model.sell_confidence",
                "invalid value",
            ),
        ] {
            let err = Config::from_toml("u.toml", &format!("[model]\n{line}\n")).unwrap_err();
            assert_eq!(err.key, key, "{line}: {err}");
            assert!(err.reason.contains(says), "{line}: {err}");
        }
    }
}
