//! The `[alerts]` section: its defaults, its checks, and the template filling the webhook uses.

use super::*;
use crate::config::Config;

#[test]
fn defaults_agree_with_default_toml() {
    assert_eq!(Config::default().alerts, AlertsConfig::default());
    assert!(!Config::default().alerts.enabled);
}

#[test]
fn outputs_load_with_their_own_defaults() {
    let c = Config::from_toml(
        "u.toml",
        "[alerts]\nenabled = true\n[alerts.webhook]\nurl = \"http://127.0.0.1:9/hook\"\n\
         [alerts.telegram]\ntoken = \"123:abc\"\nchat_id = -10042\n[alerts.events]\nfill = \"off\"\n",
    )
    .unwrap();
    let hook = c.alerts.webhook.as_ref().unwrap();
    assert_eq!(hook.template, DEFAULT_TEMPLATE);
    assert_eq!((hook.retries, hook.timeout.ms()), (3, 5_000));
    let tg = c.alerts.telegram.as_ref().unwrap();
    assert_eq!(tg.chat_id, "-10042");
    assert_eq!(tg.base_url, "https://api.telegram.org");
    assert_eq!(c.alerts.events.fill, EventLevel::Off);
    assert_eq!(c.alerts.events.stop, AlertEvents::default().stop);
}

#[test]
fn bad_keys_are_refused_naming_the_key() {
    for (text, key, says) in [
        (
            "[alerts.webhook]\nurl = \"not a url\"\n",
            "alerts.webhook.url",
            "is not a URL",
        ),
        (
            "[alerts.webhook]\nurl = \"ftp://x\"\n",
            "alerts.webhook.url",
            "http:// or https://",
        ),
        (
            "[alerts.webhook]\nurl = \"\"\n",
            "alerts.webhook.url",
            "not a URL",
        ),
        (
            "[alerts.webhook]\nurl = \"http://h\"\ntemplate = '{\"text\": {text}}'\n",
            "alerts.webhook.template",
            "not JSON",
        ),
        (
            "[alerts.webhook]\nurl = \"http://h\"\ntemplate = 'plain {text}'\n",
            "alerts.webhook.template",
            "not JSON",
        ),
        (
            "[alerts.webhook]\nurl = \"http://h\"\nretries = 11\n",
            "alerts.webhook.retries",
            "at most 10",
        ),
        (
            "[alerts.webhook]\nurl = \"http://h\"\ntimeout = \"0s\"\n",
            "alerts.webhook.timeout",
            "between",
        ),
        (
            "[alerts.telegram]\ntoken = \"\"\nchat_id = \"1\"\n",
            "alerts.telegram.token",
            "not empty",
        ),
        (
            "[alerts.telegram]\ntoken = \"a/b\"\nchat_id = \"1\"\n",
            "alerts.telegram.token",
            "'/'",
        ),
        (
            "[alerts.telegram]\ntoken = \"t\"\nchat_id = \"\"\n",
            "alerts.telegram.chat_id",
            "not empty",
        ),
        (
            "[alerts.telegram]\ntoken = \"t\"\nchat_id = \"1\"\nbase_url = \"x\"\n",
            "alerts.telegram.base_url",
            "not a URL",
        ),
        (
            "[alerts]\nmin_confidence = 1.5\n",
            "alerts.min_confidence",
            "between 0 and 1",
        ),
        (
            "[alerts]\ncooldown = \"soon\"\n",
            "alerts.cooldown",
            "not a duration",
        ),
        (
            "[alerts.events]\nfill = \"loud\"\n",
            "alerts.events.fill",
            "unknown variant",
        ),
        ("[alerts.webhook]\nretries = 3\n", "alerts.webhook", "url"),
    ] {
        let e = Config::from_toml("u.toml", text).unwrap_err();
        assert_eq!(e.key, key, "{text}: {e}");
        assert!(e.reason.contains(says), "{text}: {e}");
    }
}

#[test]
fn template_values_are_escaped_once_in_one_pass() {
    let values = TemplateValues {
        event: "fill",
        title: "say \"hi\" {text}",
        text: "a\nb\\",
        time_ms: 42,
        symbol: "",
    };
    let filled = fill_template(DEFAULT_TEMPLATE, &values);
    let json: serde_json::Value = serde_json::from_str(&filled).unwrap();
    assert_eq!(json["title"], "say \"hi\" {text}");
    assert_eq!(json["text"], "a\nb\\");
    assert_eq!(json["time_ms"], 42);
    // Unknown and unclosed braces stay as written.
    assert_eq!(
        fill_template(
            "{x} {symbol} {",
            &TemplateValues {
                symbol: "ETHUSDT",
                ..values
            }
        ),
        "{x} ETHUSDT {"
    );
}
