//! Typed configuration: defaults embedded from `config/default.toml`, the user's file laid over
//! them key by key. Anything unknown or ill-typed is refused with the file, the key path and why.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::{Interval, Symbol};

#[path = "config_model.rs"]
mod model;
pub use model::{ModelConfig, TRAINER_MIN_SPLIT_SAMPLES};

#[path = "config_retrain.rs"]
mod retrain;
pub use retrain::{PromoteMode, RetrainConfig, RetrainEvery, Span};

#[path = "config_paper.rs"]
mod paper;
pub use paper::{PaperConfig, PaperMode, PaperRisk, Sizing};

#[path = "config_alerts.rs"]
mod alerts;
pub use alerts::{
    AlertEvents, AlertsConfig, DEFAULT_TEMPLATE, EventLevel, TelegramConfig, TemplateValues,
    WebhookConfig, fill_template,
};

#[path = "config_metrics.rs"]
mod metrics;
pub use metrics::MetricsConfig;

/// The commented defaults, as `trademon gen-config` prints them.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub feed: FeedConfig,
    pub model: ModelConfig,
    pub backtest: BacktestConfig,
    pub monitor: MonitorConfig,
    pub retrain: RetrainConfig,
    pub paper: PaperConfig,
    pub alerts: AlertsConfig,
    pub metrics: MetricsConfig,
    pub store: StoreConfig,
    pub ui: UiConfig,
}

/// The live monitor of the active model (the Drift pane, `status`'s drift line).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorConfig {
    pub enabled: bool,
    /// W: closed candles in the window compared with the reference (at least 300).
    pub window: usize,
    /// Candles between two exact evaluations, each stored.
    pub evaluate_every: usize,
}

impl Default for MonitorConfig {
    /// The `[monitor]` defaults of config/default.toml.
    fn default() -> Self {
        Self {
            enabled: true,
            window: 500,
            evaluate_every: 10,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Sim,
    Binance,
    Replay,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    pub source: SourceKind,
    pub symbols: Vec<Symbol>,
    pub intervals: Vec<Interval>,
    pub trades: bool,
    pub initial_backfill: u32,
    pub silence_timeout_secs: u64,
    pub rotate_after_secs: u64,
    pub reconnect_min_ms: u64,
    pub reconnect_max_ms: u64,
    pub connect_timeout_secs: u64,
    pub binance: BinanceConfig,
    pub sim: SimConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinanceConfig {
    pub ws_url: String,
    pub rest_url: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    pub seed: u64,
    pub speed: f64,
    pub port: u16,
    pub history_minutes: u32,
    pub replay: String,
    /// Volatility shocks of the market model (for testing drift monitors).
    pub shocks: Vec<SimShockConfig>,
}

/// `{ symbol = "BTCUSDT", factor = 3.0, from = "2026-01-01T00:00" }`: from `from` on (a time in
/// any form `parse_time` takes, or UTC ms; absent: the sim start) the symbol's one-minute return
/// volatility is `factor` times the model's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimShockConfig {
    pub symbol: Symbol,
    pub factor: f64,
    #[serde(
        rename = "from",
        default,
        deserialize_with = "de_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub from_ms: Option<i64>,
}

/// The largest shock factor (the simulator's limit too).
const MAX_SHOCK_FACTOR: f64 = 100.0;

/// A time as UTC milliseconds or a string `parse_time` takes.
fn de_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Time {
        Ms(i64),
        Text(String),
    }
    match Time::deserialize(d) {
        Ok(Time::Ms(ms)) => Ok(Some(ms)),
        Ok(Time::Text(text)) => crate::domain::parse_time(&text)
            .map(Some)
            .map_err(serde::de::Error::custom),
        Err(_) => Err(serde::de::Error::custom(
            "must be a time: UTC milliseconds or a string YYYY-MM-DD[THH:MM[:SS]]",
        )),
    }
}

/// What a backtest costs, unless the command line says otherwise (the console's Backtest pane
/// always uses these).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestConfig {
    /// Commission in basis points of the traded notional, at entry and at exit.
    pub fee_bps: f64,
    /// Slippage against each fill, in basis points.
    pub slippage_bps: f64,
    pub cash: f64,
    /// Take short signals (long/flat otherwise).
    pub short: bool,
}

impl Default for BacktestConfig {
    /// The `[backtest]` defaults of config/default.toml (a config test checks they agree).
    fn default() -> Self {
        Self {
            fee_bps: 10.0,
            slippage_bps: 2.0,
            cash: 10_000.0,
            short: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub path: String,
    pub batch_max_rows: usize,
    pub batch_max_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    pub keep_candles: usize,
    pub max_fps: u32,
}

/// A refused configuration: which file, which key, and why.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("config {file}: {key}: {reason}")]
pub struct ConfigError {
    pub file: String,
    /// Dotted key path (`feed.symbols[2]`), or `-` for the file as a whole.
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    fn new(file: &str, key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            key: key.into(),
            reason: reason.into(),
        }
    }
}

const DEFAULTS_NAME: &str = "<built-in defaults>";

impl Default for Config {
    fn default() -> Self {
        // The embedded defaults are checked by a unit test; failing here is a build defect.
        #[allow(clippy::expect_used)]
        Self::from_layers(None).expect("built-in config/default.toml is valid")
    }
}

/// Where trademon keeps its files, following the platform's conventions (XDG on Linux).
#[derive(Clone, Debug)]
pub struct Dirs {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
}

impl Dirs {
    pub fn discover() -> Option<Self> {
        let dirs = directories::ProjectDirs::from("dev", "trademon", "trademon")?;
        Some(Self {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
        })
    }

    pub fn default_db(&self) -> PathBuf {
        self.data_dir.join("trademon.db")
    }
}

impl Config {
    /// Loads the defaults with `explicit` laid over them, or, without it, the user's config file in
    /// the config directory if there is one. Returns the file that was used.
    pub fn load(explicit: Option<&Path>) -> Result<(Self, Option<PathBuf>), ConfigError> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => Dirs::discover()
                .map(|d| d.config_dir.join("config.toml"))
                .filter(|p| p.exists()),
        };
        let Some(path) = path else {
            return Ok((Self::from_layers(None)?, None));
        };
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ConfigError::new(&name, "-", format!("cannot read: {e}")))?;
        Ok((Self::from_layers(Some((&name, &text)))?, Some(path)))
    }

    /// Parses user TOML text (named `file` in errors) laid over the defaults.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, ConfigError> {
        Self::from_layers(Some((file, text)))
    }

    fn from_layers(user: Option<(&str, &str)>) -> Result<Self, ConfigError> {
        let mut merged = parse_table(DEFAULTS_NAME, DEFAULT_TOML)?;
        let file = match user {
            Some((file, text)) => {
                let over = parse_table(file, text)?;
                lay_over(&mut merged, over);
                file
            }
            None => DEFAULTS_NAME,
        };
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(merged)).map_err(|e| {
                let key = e.path().to_string();
                ConfigError::new(file, key, e.into_inner().message().trim().to_string())
            })?;
        config
            .check()
            .map_err(|(key, reason)| ConfigError::new(file, key, reason))?;
        Ok(config)
    }

    /// Checks what types alone cannot say.
    fn check(&self) -> Result<(), (String, String)> {
        let err = |key: &str, reason: String| Err((key.to_string(), reason));
        let feed = &self.feed;
        if feed.symbols.is_empty() {
            return err("feed.symbols", "at least one symbol is needed".into());
        }
        if let Some(dup) = first_duplicate(&feed.symbols) {
            return err("feed.symbols", format!("{dup} is listed twice"));
        }
        if feed.intervals.is_empty() {
            return err("feed.intervals", "at least one interval is needed".into());
        }
        if let Some(dup) = first_duplicate(&feed.intervals) {
            return err("feed.intervals", format!("{dup} is listed twice"));
        }
        if feed.source == SourceKind::Sim && feed.intervals.contains(&Interval::S1) {
            return err(
                "feed.intervals",
                "the simulated exchange's finest candle is 1m; 1s needs source = \"binance\""
                    .into(),
            );
        }
        if feed.reconnect_min_ms == 0 || feed.reconnect_min_ms > feed.reconnect_max_ms {
            return err(
                "feed.reconnect_min_ms",
                "must be above 0 and at most feed.reconnect_max_ms".into(),
            );
        }
        if feed.reconnect_max_ms > 3_600_000 {
            return err(
                "feed.reconnect_max_ms",
                "must be at most 3600000 (an hour)".into(),
            );
        }
        if !(1..=300).contains(&feed.connect_timeout_secs) {
            return err(
                "feed.connect_timeout_secs",
                format!("{} must be between 1 and 300", feed.connect_timeout_secs),
            );
        }
        if feed.silence_timeout_secs == 0 || feed.silence_timeout_secs > 86_400 {
            return err(
                "feed.silence_timeout_secs",
                "must be above 0 and at most 86400".into(),
            );
        }
        if feed.rotate_after_secs == 0 || feed.rotate_after_secs >= 86_400 {
            return err(
                "feed.rotate_after_secs",
                "must be above 0 and below 86400 (Binance's 24 h limit)".into(),
            );
        }
        if feed.initial_backfill > 100_000 {
            return err("feed.initial_backfill", "at most 100000 candles".into());
        }
        for (key, url, schemes) in [
            (
                "feed.binance.ws_url",
                &feed.binance.ws_url,
                ["ws://", "wss://"],
            ),
            (
                "feed.binance.rest_url",
                &feed.binance.rest_url,
                ["http://", "https://"],
            ),
        ] {
            if !schemes.iter().any(|s| url.starts_with(s)) || url.len() <= 8 {
                return err(
                    key,
                    format!("{url:?} must start with {}", schemes.join(" or ")),
                );
            }
        }
        let sim = &feed.sim;
        if !(sim.speed.is_finite() && sim.speed > 0.0 && sim.speed <= 100_000.0) {
            return err(
                "feed.sim.speed",
                format!("{} must be above 0 and at most 100000", sim.speed),
            );
        }
        if sim.history_minutes > 1_000_000 {
            return err("feed.sim.history_minutes", "at most 1000000".into());
        }
        for (i, shock) in sim.shocks.iter().enumerate() {
            let key = |field: &str| format!("feed.sim.shocks[{i}].{field}");
            if !(shock.factor.is_finite() && shock.factor > 0.0 && shock.factor <= MAX_SHOCK_FACTOR)
            {
                return err(
                    &key("factor"),
                    format!(
                        "{} must be a finite number above 0 and at most {MAX_SHOCK_FACTOR}",
                        shock.factor
                    ),
                );
            }
            if !feed.symbols.contains(&shock.symbol) {
                return err(
                    &key("symbol"),
                    format!("{} is not one of feed.symbols", shock.symbol),
                );
            }
            if sim.shocks[..i]
                .iter()
                .any(|s| s.symbol == shock.symbol && s.from_ms == shock.from_ms)
            {
                return err(
                    &key("from"),
                    format!("{} already has a shock from this time", shock.symbol),
                );
            }
        }
        if feed.source == SourceKind::Replay && sim.replay.is_empty() {
            return err(
                "feed.sim.replay",
                "source = \"replay\" needs a file to replay here (or --source replay:PATH)".into(),
            );
        }
        self.model.check()?;
        let b = &self.backtest;
        for (key, value) in [("fee_bps", b.fee_bps), ("slippage_bps", b.slippage_bps)] {
            if !(value.is_finite() && (0.0..5_000.0).contains(&value)) {
                return err(
                    &format!("backtest.{key}"),
                    format!("{value} must be at least 0 and below 5000 bps"),
                );
            }
        }
        if !(b.cash.is_finite() && b.cash > 0.0 && b.cash <= 1e15) {
            return err(
                "backtest.cash",
                format!("{} must be above 0 and at most 1e15", b.cash),
            );
        }
        let m = &self.monitor;
        if !(300..=100_000).contains(&m.window) {
            return err(
                "monitor.window",
                format!("{} must be between 300 and 100000 candles", m.window),
            );
        }
        if !(1..=10_000).contains(&m.evaluate_every) {
            return err(
                "monitor.evaluate_every",
                format!("{} must be between 1 and 10000 candles", m.evaluate_every),
            );
        }
        self.retrain.check(self.model.trainer_min_rows())?;
        self.paper.check()?;
        self.alerts.check()?;
        self.metrics.check()?;
        if self.store.batch_max_rows == 0 || self.store.batch_max_ms == 0 {
            return err(
                "store.batch_max_rows",
                "batch limits must be above 0".into(),
            );
        }
        if self.store.batch_max_rows > 100_000 {
            return err(
                "store.batch_max_rows",
                format!("{} must be at most 100000", self.store.batch_max_rows),
            );
        }
        if self.store.batch_max_ms > 60_000 {
            return err(
                "store.batch_max_ms",
                format!(
                    "{} must be at most 60000 (a minute of rows held)",
                    self.store.batch_max_ms
                ),
            );
        }
        if self.ui.keep_candles < 10 || self.ui.keep_candles > 100_000 {
            return err("ui.keep_candles", "must be between 10 and 100000".into());
        }
        if self.ui.max_fps == 0 || self.ui.max_fps > 240 {
            return err("ui.max_fps", "must be between 1 and 240".into());
        }
        Ok(())
    }
}

fn parse_table(file: &str, text: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::new(file, "-", e.to_string().trim().replace('\n', " ")))
}

/// Lays `over` onto `base`: tables merge key by key, anything else replaces.
fn lay_over(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => lay_over(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn first_duplicate<T: PartialEq + std::fmt::Display>(items: &[T]) -> Option<&T> {
    items
        .iter()
        .enumerate()
        .find(|(i, a)| items[..*i].contains(a))
        .map(|(_, a)| a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = Config::default();
        assert_eq!(
            c.backtest,
            BacktestConfig::default(),
            "BacktestConfig::default() is config/default.toml's [backtest]"
        );
        assert_eq!(c.feed.source, SourceKind::Sim);
        assert!(c.feed.symbols.len() >= 3);
        assert_eq!(c.feed.intervals[0], Interval::M1);
    }

    #[test]
    fn user_file_is_laid_over_defaults() {
        let c = Config::from_toml("u.toml", "[feed.sim]\nseed = 7\n").unwrap();
        assert_eq!(c.feed.sim.seed, 7);
        assert_eq!(c.feed.sim.speed, Config::default().feed.sim.speed);
        assert_eq!(c.feed.symbols, Config::default().feed.symbols);
    }

    #[test]
    fn errors_name_file_key_and_reason() {
        let e = Config::from_toml("u.toml", "[feed]\nsymbls = [\"BTCUSDT\"]\n").unwrap_err();
        assert_eq!(e.file, "u.toml");
        assert!(e.reason.contains("symbls"), "{e}");
        let e = Config::from_toml("u.toml", "[feed]\nsymbols = [\"BTCUSDT\", \"ETH-USD\"]\n")
            .unwrap_err();
        assert_eq!(e.key, "feed.symbols[1]", "{e}");
        assert!(e.reason.contains("ETH-USD"), "{e}");
        let e = Config::from_toml("u.toml", "[feed.sim]\nspeed = \"fast\"\n").unwrap_err();
        assert_eq!(e.key, "feed.sim.speed", "{e}");
        let e = Config::from_toml("u.toml", "[feed]\nintervals = [\"7m\"]\n").unwrap_err();
        assert_eq!(e.key, "feed.intervals[0]", "{e}");
        let e = Config::from_toml("u.toml", "[feed\n").unwrap_err();
        assert_eq!(e.key, "-");
        assert!(e.reason.contains("line 1"), "{e}");
    }
}
