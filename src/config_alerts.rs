//! The `[alerts]` section: which events raise an alert and how loud (`[alerts.events]`), the
//! cooldown per event key, and the outputs besides the console — a JSON webhook
//! (`[alerts.webhook]`) and Telegram (`[alerts.telegram]`). The gate and the delivery are
//! `engine::alerts`'.

use serde::{Deserialize, Serialize};

use super::retrain::Span;

/// How an event kind is raised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventLevel {
    /// A toast, the terminal bell and the outputs.
    #[default]
    On,
    /// A toast and the outputs, no bell.
    Silent,
    /// Nothing.
    Off,
}

/// One level per event kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertEvents {
    /// A series' signal turning to Buy or Sell at `min_confidence` or above.
    pub signal: EventLevel,
    /// A paper fill (not a stop).
    pub fill: EventLevel,
    /// A paper stop-loss or trailing stop filled.
    pub stop: EventLevel,
    /// The paper drawdown kill switch tripped.
    pub kill_switch: EventLevel,
    /// The exchange link went down (and came back), or a stream went stale.
    pub feed: EventLevel,
    /// The logistic fallback took over from the active model.
    pub fallback: EventLevel,
    /// The monitor's verdict on a symbol turned to drifting.
    pub drift: EventLevel,
    /// A challenger's verdict in shadow turned to "challenger better" or "champion better".
    pub challenger: EventLevel,
}

impl Default for AlertEvents {
    /// The `[alerts.events]` defaults of config/default.toml.
    fn default() -> Self {
        Self {
            signal: EventLevel::Silent,
            fill: EventLevel::Silent,
            stop: EventLevel::On,
            kill_switch: EventLevel::On,
            feed: EventLevel::On,
            fallback: EventLevel::On,
            drift: EventLevel::Silent,
            challenger: EventLevel::Silent,
        }
    }
}

/// The webhook's default JSON body.
pub const DEFAULT_TEMPLATE: &str =
    r#"{"event":"{event}","title":"{title}","text":"{text}","time_ms":{time_ms}}"#;

/// A JSON webhook: each alert is POSTed as `template` with its placeholders filled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// http:// or https://.
    pub url: String,
    /// JSON text; `{event}` `{title}` `{text}` `{time_ms}` `{symbol}` are replaced by the alert's
    /// values, JSON-escaped (so a string placeholder belongs inside quotes).
    #[serde(default = "default_template")]
    pub template: String,
    /// Tries after the first one, on a connection error, a timeout, a 5xx or a 429.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Each try's limit.
    #[serde(default = "default_timeout")]
    pub timeout: Span,
}

fn default_template() -> String {
    DEFAULT_TEMPLATE.into()
}

fn default_retries() -> u32 {
    3
}

fn default_timeout() -> Span {
    Span::from_ms(5_000)
}

/// Telegram's `sendMessage`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// The bot's token, as BotFather gives it.
    pub token: String,
    /// The chat to post to (a number, or "@channel"); written as a string or an integer.
    #[serde(deserialize_with = "chat_id")]
    pub chat_id: String,
    /// Where the Bot API is (another address for a proxy or a test).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// As the webhook's.
    #[serde(default = "default_retries")]
    pub retries: u32,
    #[serde(default = "default_timeout")]
    pub timeout: Span,
}

fn default_base_url() -> String {
    "https://api.telegram.org".into()
}

/// Chat ids are numbers in Telegram's answers, so users copy them as integers.
fn chat_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(i64),
    }
    match Id::deserialize(d) {
        Ok(Id::Text(text)) => Ok(text),
        Ok(Id::Number(n)) => Ok(n.to_string()),
        Err(_) => Err(serde::de::Error::custom(
            "must be a chat id: a number or a string like \"@channel\"",
        )),
    }
}

/// Alerts: off by default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    pub enabled: bool,
    /// A signal alerts only at this confidence or above (0 to 1).
    pub min_confidence: f64,
    /// A second event with the same key within this span is dropped.
    pub cooldown: Span,
    pub events: AlertEvents,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegram: Option<TelegramConfig>,
}

impl Default for AlertsConfig {
    /// The `[alerts]` defaults of config/default.toml (a config test checks they agree).
    fn default() -> Self {
        Self {
            enabled: false,
            min_confidence: 0.6,
            cooldown: Span::from_ms(300_000),
            events: AlertEvents::default(),
            webhook: None,
            telegram: None,
        }
    }
}

/// The values an alert puts into a webhook template.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TemplateValues<'a> {
    pub event: &'a str,
    pub title: &'a str,
    pub text: &'a str,
    pub time_ms: i64,
    /// Empty for an alert about no one symbol.
    pub symbol: &'a str,
}

/// `template` with each placeholder replaced by its value, JSON-escaped without quotes (the
/// template supplies them), in one pass: a value that itself contains `{text}` stays as it is.
pub fn fill_template(template: &str, values: &TemplateValues<'_>) -> String {
    let mut out = String::with_capacity(template.len() + values.text.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let name = after[1..].split_once('}').map(|(name, _)| name);
        let value = match name {
            Some("event") => Some(escape(values.event)),
            Some("title") => Some(escape(values.title)),
            Some("text") => Some(escape(values.text)),
            Some("symbol") => Some(escape(values.symbol)),
            Some("time_ms") => Some(values.time_ms.to_string()),
            _ => None,
        };
        match (value, name) {
            (Some(value), Some(name)) => {
                out.push_str(&value);
                rest = &after[name.len() + 2..];
            }
            _ => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A JSON string's content: quotes, backslashes and control characters escaped.
fn escape(text: &str) -> String {
    let quoted = serde_json::Value::String(text.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// Refuses anything but an http(s) URL with a host.
fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{url:?} must start with http:// or https://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{url:?} has no host"));
    }
    Ok(())
}

/// An output's `retries` and `timeout`.
fn check_tries(output: &str, retries: u32, timeout: Span) -> Result<(), (String, String)> {
    if retries > 10 {
        return Err((
            format!("alerts.{output}.retries"),
            format!("{retries} must be at most 10"),
        ));
    }
    if !(100..=120_000).contains(&timeout.ms()) {
        return Err((
            format!("alerts.{output}.timeout"),
            format!("{timeout} must be between 100ms and 2m"),
        ));
    }
    Ok(())
}

impl AlertsConfig {
    /// Checks what types alone cannot say.
    pub(super) fn check(&self) -> Result<(), (String, String)> {
        let err = |key: &str, reason: String| Err((format!("alerts.{key}"), reason));
        if !(self.min_confidence.is_finite() && (0.0..=1.0).contains(&self.min_confidence)) {
            return err(
                "min_confidence",
                format!("{} must be between 0 and 1", self.min_confidence),
            );
        }
        if self.cooldown.ms() > 7 * 86_400_000 {
            return err("cooldown", format!("{} must be at most 7d", self.cooldown));
        }
        if let Some(webhook) = &self.webhook {
            check_url(&webhook.url).or_else(|reason| err("webhook.url", reason))?;
            // Characters that need escaping prove each string placeholder sits inside quotes.
            let sample = fill_template(
                &webhook.template,
                &TemplateValues {
                    event: "fill",
                    title: "a \"quoted\" title",
                    text: "two\nlines \\ and a tab\t",
                    time_ms: 1_700_000_000_000,
                    symbol: "BTCUSDT",
                },
            );
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&sample) {
                return err(
                    "webhook.template",
                    format!(
                        "is not JSON once its placeholders are filled ({e}); string \
                         placeholders belong inside quotes, like \"{{text}}\""
                    ),
                );
            }
            check_tries("webhook", webhook.retries, webhook.timeout)?;
        }
        if let Some(telegram) = &self.telegram {
            let token = &telegram.token;
            if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c == '/') {
                return err(
                    "telegram.token",
                    "must be the bot's token as BotFather gives it: not empty, no spaces or '/'"
                        .into(),
                );
            }
            let chat = telegram.chat_id.trim();
            if chat.is_empty() || chat.len() != telegram.chat_id.len() {
                return err(
                    "telegram.chat_id",
                    format!(
                        "{:?} must be a chat id, not empty and without spaces around it",
                        telegram.chat_id
                    ),
                );
            }
            check_url(&telegram.base_url).or_else(|reason| err("telegram.base_url", reason))?;
            check_tries("telegram", telegram.retries, telegram.timeout)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "config_alerts_tests.rs"]
mod tests;
