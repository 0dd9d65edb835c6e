//! The `[metrics]` section: the Prometheus `/metrics` listener (off by default).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// `HOST:PORT` to serve `/metrics` on; empty: off. `--metrics ADDR` sets it.
    pub listen: String,
    /// Serve on an address that is not loopback (refused otherwise).
    pub allow_remote: bool,
}

impl MetricsConfig {
    /// Whether a listener is asked for.
    pub fn enabled(&self) -> bool {
        !self.listen.trim().is_empty()
    }

    /// The address's form (`HOST:PORT` with a port from 0 to 65535); whether it is loopback, and
    /// whether it can be bound, is checked when the listener starts.
    pub(super) fn check(&self) -> Result<(), (String, String)> {
        if !self.enabled() {
            return Ok(());
        }
        let listen = self.listen.trim();
        let bad = |why: &str| {
            Err((
                "metrics.listen".to_string(),
                format!("{listen:?} {why} (expected HOST:PORT, such as 127.0.0.1:9464)"),
            ))
        };
        let Some((host, port)) = listen.rsplit_once(':') else {
            return bad("has no port");
        };
        if host.is_empty() {
            return bad("has no host");
        }
        if port.parse::<u16>().is_err() {
            return bad("has no valid port");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(s: &str) -> MetricsConfig {
        MetricsConfig {
            listen: s.into(),
            allow_remote: false,
        }
    }

    #[test]
    fn addresses_are_checked_for_their_form() {
        for ok in [
            "",
            "127.0.0.1:9464",
            "[::1]:9464",
            "localhost:0",
            "0.0.0.0:9464",
        ] {
            assert!(listen(ok).check().is_ok(), "{ok}");
        }
        for bad in [
            "9464",
            ":9464",
            "127.0.0.1:",
            "127.0.0.1:99999",
            "host:port",
        ] {
            let (key, why) = listen(bad).check().unwrap_err();
            assert_eq!(key, "metrics.listen");
            assert!(why.contains("expected HOST:PORT"), "{why}");
        }
        assert!(!listen("  ").enabled());
    }
}
