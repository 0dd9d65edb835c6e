//! The `[retrain]` section: when the active model is retrained in the background (a schedule,
//! persistent dataset drift, a performance detector), the guards on it, and how a challenger is
//! promoted by evidence. The policies themselves are `monitor::retrain` and `monitor::promotion`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::parse_span;

/// A length of time written as a number and a unit (`30s`, `5m`, `24h`, `7d`; see
/// [`crate::domain::parse_span`]), held in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(i64);

impl Span {
    /// A span of `ms` milliseconds (clamped at zero).
    pub const fn from_ms(ms: i64) -> Self {
        Self(if ms < 0 { 0 } else { ms })
    }

    pub const fn ms(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Span {
    /// The largest unit that says it exactly: `7d`, `36h`, `90s`, `250ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, ms) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
        ] {
            if self.0 != 0 && self.0 % ms == 0 {
                return write!(f, "{}{unit}", self.0 / ms);
            }
        }
        if self.0 == 0 {
            f.write_str("0s")
        } else {
            write!(f, "{}ms", self.0)
        }
    }
}

impl std::str::FromStr for Span {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse_span(text).map(Self)
    }
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d).map_err(|_| {
            serde::de::Error::custom("must be a duration string like \"30s\", \"24h\" or \"7d\"")
        })?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The schedule trigger: `"off"`, or a span (above zero) between two retrains of a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetrainEvery {
    Off,
    Every(Span),
}

impl RetrainEvery {
    /// The schedule's period, if it is on.
    pub fn span(self) -> Option<Span> {
        match self {
            Self::Off => None,
            Self::Every(span) => Some(span),
        }
    }
}

impl fmt::Display for RetrainEvery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Off => f.write_str("off"),
            Self::Every(span) => span.fmt(f),
        }
    }
}

impl Serialize for RetrainEvery {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RetrainEvery {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d).map_err(|_| {
            serde::de::Error::custom("must be \"off\" or a duration string like \"7d\"")
        })?;
        if text.trim().eq_ignore_ascii_case("off") {
            return Ok(Self::Off);
        }
        let span: Span = text
            .parse()
            .map_err(|e: String| serde::de::Error::custom(format!("{e} (or \"off\")")))?;
        if span.ms() == 0 {
            return Err(serde::de::Error::custom(
                "must be above zero; \"off\" turns the schedule off",
            ));
        }
        Ok(Self::Every(span))
    }
}

/// Who promotes a challenger the evidence favours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PromoteMode {
    /// The evidence is shown and the trader decides.
    Manual,
    /// The challenger becomes champion by itself.
    Auto,
}

/// Background retraining of the active model and promotion of its challengers by evidence.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrainConfig {
    pub enabled: bool,
    /// The schedule trigger.
    pub every: RetrainEvery,
    /// Retrain on `drift_evaluations` consecutive monitor evaluations with dataset drift.
    pub on_drift: bool,
    pub drift_evaluations: u32,
    /// Retrain when a performance detector (page-hinkley, adwin, ddm) goes to drift.
    pub on_detector: bool,
    /// No retrain of a series within this time of its last one (from its start or, once it
    /// ended, its end, whichever is later).
    pub cooldown: Span,
    /// At most this many retrains of a series per UTC calendar day (00:00 to 24:00 UTC).
    pub max_per_day: u32,
    /// No retrain with fewer training rows (candles) than this.
    pub min_rows: usize,
    pub promote: PromoteMode,
    /// Nats: auto promotion needs the confidence sequence's lower bound of the mean log-loss
    /// improvement above this.
    pub min_improvement: f64,
    /// Paired candles (champion and challenger both scored) before any promotion or rollback.
    pub min_paired: u64,
}

impl Default for RetrainConfig {
    /// The `[retrain]` defaults of config/default.toml (a config test checks they agree).
    fn default() -> Self {
        Self {
            enabled: false,
            every: RetrainEvery::Every(Span(7 * 86_400_000)),
            on_drift: true,
            drift_evaluations: 3,
            on_detector: true,
            cooldown: Span(86_400_000),
            max_per_day: 2,
            min_rows: 2_000,
            promote: PromoteMode::Manual,
            min_improvement: 0.005,
            min_paired: 1_000,
        }
    }
}

impl RetrainConfig {
    /// Checks what types alone cannot say; `trainer_min_rows` is the fewest candles the model
    /// trainer can split at the `[model]` shares.
    pub(super) fn check(&self, trainer_min_rows: usize) -> Result<(), (String, String)> {
        let err = |key: &str, reason: String| Err((format!("retrain.{key}"), reason));
        if !(1..=1_000).contains(&self.drift_evaluations) {
            return err(
                "drift_evaluations",
                format!("{} must be between 1 and 1000", self.drift_evaluations),
            );
        }
        if !(1..=100).contains(&self.max_per_day) {
            return err(
                "max_per_day",
                format!("{} must be between 1 and 100", self.max_per_day),
            );
        }
        if self.min_rows < trainer_min_rows || self.min_rows > 10_000_000 {
            return err(
                "min_rows",
                format!(
                    "{} must be between {trainer_min_rows} (the fewest candles the trainer can \
                     split at the [model] shares) and 10000000",
                    self.min_rows
                ),
            );
        }
        if !(self.min_improvement.is_finite() && (0.0..=1.0).contains(&self.min_improvement)) {
            return err(
                "min_improvement",
                format!(
                    "{} must be a number of nats between 0 and 1",
                    self.min_improvement
                ),
            );
        }
        if !(1..=100_000_000).contains(&self.min_paired) {
            return err(
                "min_paired",
                format!("{} must be between 1 and 100000000", self.min_paired),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn defaults_agree_with_default_toml() {
        assert_eq!(Config::default().retrain, RetrainConfig::default());
        assert_eq!(Config::default().model.max_challengers, 3);
    }

    #[test]
    fn spans_print_as_they_parse() {
        for text in ["7d", "36h", "90m", "45s", "250ms", "0s"] {
            let span: Span = text.parse().unwrap();
            assert_eq!(span.to_string(), text);
        }
        assert_eq!("1.5h".parse::<Span>().unwrap().to_string(), "90m");
    }

    #[test]
    fn retrain_keys_are_checked() {
        let c =
            Config::from_toml("u.toml", "[retrain]\nevery = \"off\"\ncooldown = \"0s\"\n").unwrap();
        assert_eq!(c.retrain.every, RetrainEvery::Off);
        assert_eq!(c.retrain.cooldown.ms(), 0);
        let c = Config::from_toml("u.toml", "[retrain]\nevery = \"12h\"\npromote = \"auto\"\n")
            .unwrap();
        assert_eq!(c.retrain.every.span().map(Span::ms), Some(43_200_000));
        assert_eq!(c.retrain.promote, PromoteMode::Auto);
        for (line, key, says) in [
            ("every = \"\"", "retrain.every", "empty duration"),
            ("every = \"7\"", "retrain.every", "has no unit"),
            ("every = \"7x\"", "retrain.every", "unknown unit"),
            ("every = \"-1d\"", "retrain.every", "cannot be negative"),
            (
                "every = \"99999999999d\"",
                "retrain.every",
                "longer than a year",
            ),
            (
                "every = \"0s\"",
                "retrain.every",
                "\"off\" turns the schedule off",
            ),
            (
                "every = 7",
                "retrain.every",
                "must be \"off\" or a duration",
            ),
            ("cooldown = \"soon\"", "retrain.cooldown", "not a duration"),
            (
                "drift_evaluations = 0",
                "retrain.drift_evaluations",
                "between 1",
            ),
            (
                "max_per_day = 0",
                "retrain.max_per_day",
                "between 1 and 100",
            ),
            (
                "min_rows = 10",
                "retrain.min_rows",
                "the fewest candles the trainer",
            ),
            (
                "min_improvement = -0.1",
                "retrain.min_improvement",
                "between 0 and 1",
            ),
            (
                "min_improvement = nan",
                "retrain.min_improvement",
                "between 0 and 1",
            ),
            ("min_paired = 0", "retrain.min_paired", "between 1"),
            ("promote = \"always\"", "retrain.promote", "unknown variant"),
            ("sometimes = true", "retrain.sometimes", "unknown field"),
        ] {
            let err = Config::from_toml("u.toml", &format!("[retrain]\n{line}\n")).unwrap_err();
            assert_eq!(err.key, key, "{line}: {err}");
            assert!(err.reason.contains(says), "{line}: {err}");
        }
    }
}
