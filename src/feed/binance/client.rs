//! The websocket client: one combined-stream connection for the kline and trade streams given it
//! (`connections` gives each connection its share), connecting within a timeout, reconnecting
//! with exponential backoff and full jitter, rotating before Binance's 24 h limit, and
//! backfilling closed candles over REST after every connect and whenever a gap shows.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc, watch};

use super::connections::Link;
use super::rest::RestClient;
use super::session::{ASKED, ROTATING, Session};
use super::wire::{kline_stream, trade_stream};
use crate::domain::{Clock, LinkState};
use crate::feed::{FeedEvent, FeedEventKind, FeedOptions, LastClosed, MarketEvent};

/// Every stream name of `options`, kline streams first.
pub fn streams(options: &FeedOptions) -> Vec<String> {
    let mut out = Vec::new();
    for s in &options.symbols {
        for i in &options.intervals {
            out.push(kline_stream(*s, *i));
        }
    }
    if options.trades {
        out.extend(options.symbols.iter().map(|s| trade_stream(*s)));
    }
    out
}

/// The combined-stream URL.
pub fn stream_url(ws_url: &str, options: &FeedOptions) -> String {
    format!(
        "{}/stream?streams={}",
        ws_url.trim_end_matches('/'),
        streams(options).join("/")
    )
}

/// Exponential backoff with full jitter: uniform in `[0, min(max, min * 2^attempt)]`, but never
/// below `min`.
pub fn backoff(attempt: u32, min: Duration, max: Duration, random: u64) -> Duration {
    let cap = min
        .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
        .min(max);
    let span = cap.as_millis().max(1) as u64;
    Duration::from_millis(random % (span + 1)).max(min)
}

/// A small xorshift generator for jitter; no need for cryptographic randomness here.
fn next_random(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// What one connection failed to do since it last connected: the tracing log and the feed
/// events say so once per change of state (the first failure, a new reason, the recovery), not
/// once per retry; the engine counts every failure.
#[derive(Debug, Default)]
pub(super) struct Failing {
    /// Failed connects in a row.
    count: u64,
    /// The reason last reported.
    reason: Option<String>,
}

impl Failing {
    /// Notes one more failure; whether it is news (the first, or another reason than the last).
    pub(super) fn failed(&mut self, reason: &str) -> bool {
        self.count += 1;
        let news = self.reason.as_deref() != Some(reason);
        if news {
            self.reason = Some(reason.to_string());
        }
        news
    }

    /// Notes a connect; returns the failures before it.
    pub(super) fn connected(&mut self) -> u64 {
        self.reason = None;
        std::mem::take(&mut self.count)
    }
}

/// Runs one connection for the streams of `options` on `ws_url` (and `rest` for backfill) until
/// `shutdown` turns true, reporting its link state through `link` and every other event to
/// `events`. A change of `reconnect` drops the connection and connects again at once.
#[allow(clippy::too_many_arguments)]
pub(super) async fn connection(
    link: Link,
    ws_url: String,
    rest: RestClient,
    options: FeedOptions,
    last_closed: Arc<Mutex<LastClosed>>,
    events: mpsc::Sender<MarketEvent>,
    mut reconnect: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Connections started together must not retry in step.
    let mut rng = ((options.clock.now_ms() as u64)
        ^ (link.index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        | 1;
    let mut attempt: u32 = 0;
    let mut failing = Failing::default();
    let url = stream_url(&ws_url, &options);
    let label = link.label();
    loop {
        if *shutdown.borrow() {
            return;
        }
        link.set(LinkState::Connecting).await;
        let outcome = tokio::select! {
            r = tokio::time::timeout(
                options.connect_timeout,
                tokio_tungstenite::connect_async(url.as_str()),
            ) => Some(r),
            _ = shutdown.changed() => None,
        };
        let (reason, failed) = match outcome {
            None => return,
            Some(Err(_)) => (
                format!(
                    "connect failed: no answer within {} s (TCP, TLS and websocket handshake)",
                    options.connect_timeout.as_secs_f64()
                ),
                true,
            ),
            Some(Ok(Err(e))) => (format!("connect failed: {e}"), true),
            Some(Ok(Ok((ws, _)))) => {
                let failures = failing.connected();
                if failures > 0 {
                    tracing::info!(url = %ws_url, "{label}feed: connected after {failures} failed connects");
                } else {
                    tracing::info!(url = %ws_url, "{label}feed: connected");
                }
                let session = Session {
                    options: &options,
                    rest: &rest,
                    last_closed: &last_closed,
                    events: &events,
                    link: &link,
                    failures,
                };
                let (reason, healthy) = session
                    .run(ws, &mut reconnect, &mut shutdown, &mut attempt)
                    .await;
                if *shutdown.borrow() {
                    return;
                }
                if healthy {
                    attempt = 0;
                }
                (reason, false)
            }
        };
        let rotate = reason.starts_with(ROTATING) || reason.starts_with(ASKED);
        let wait = if rotate {
            Duration::ZERO
        } else {
            backoff(
                attempt,
                options.reconnect_min,
                options.reconnect_max,
                next_random(&mut rng),
            )
        };
        attempt = attempt.saturating_add(1);
        let now = options.clock.now_ms();
        if failed {
            let _ = events.send(MarketEvent::ConnectFailed).await;
        }
        link.set(LinkState::Down {
            reason: format!("{label}{reason}"),
            retry_at_ms: now + wait.as_millis() as i64,
        })
        .await;
        let tell = if failed {
            failing.failed(&reason).then(|| {
                tracing::warn!(
                    url = %ws_url,
                    "{label}feed: {reason}; retrying with backoff (further failures for the same \
                     reason are counted, not logged)"
                );
                format!(
                    "{label}{reason}; reconnecting in {} ms (further failures for the same reason \
                     are only counted)",
                    wait.as_millis()
                )
            })
        } else {
            if rotate {
                tracing::info!(url = %ws_url, "{label}feed: {reason}");
            } else {
                tracing::warn!(url = %ws_url, "{label}feed: disconnected: {reason}; reconnecting in {} ms", wait.as_millis());
            }
            Some(format!(
                "{label}{reason}; reconnecting in {} ms",
                wait.as_millis()
            ))
        };
        if let Some(detail) = tell {
            let _ = events
                .send(feed_event(
                    options.clock.as_ref(),
                    FeedEventKind::Disconnected,
                    "*",
                    detail,
                    0,
                ))
                .await;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}

pub(super) fn feed_event(
    clock: &dyn Clock,
    kind: FeedEventKind,
    stream: &str,
    detail: String,
    count: i64,
) -> MarketEvent {
    MarketEvent::Feed(FeedEvent {
        time_ms: clock.now_ms(),
        kind,
        stream: stream.to_string(),
        detail,
        count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Interval, Symbol};

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let min = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        for attempt in 0..30 {
            let cap = (100u64 << attempt.min(20)).min(5000);
            for r in [0, 1, 77, 12_345, u64::MAX] {
                let d = backoff(attempt, min, max, r);
                assert!(
                    d >= min && d.as_millis() as u64 <= cap.max(100),
                    "{attempt} {d:?}"
                );
            }
        }
        // Jitter spreads the waits.
        let mut rng = 99;
        let waits: std::collections::HashSet<_> = (0..50)
            .map(|_| backoff(6, min, max, next_random(&mut rng)))
            .collect();
        assert!(waits.len() > 10);
    }

    #[test]
    fn stream_url_lists_every_stream() {
        let binance = super::super::Binance::new("ws://127.0.0.1:9/", "http://127.0.0.1:9");
        let options = FeedOptions {
            symbols: vec![
                Symbol::new("BTCUSDT").unwrap(),
                Symbol::new("ETHUSDT").unwrap(),
            ],
            intervals: vec![Interval::M1, Interval::H1],
            trades: true,
            initial_backfill: 10,
            silence_timeout: Duration::from_secs(60),
            rotate_after: Duration::from_secs(3600),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            clock: Arc::new(crate::domain::WallClock),
        };
        assert_eq!(
            binance.stream_url(&options),
            "ws://127.0.0.1:9/stream?streams=btcusdt@kline_1m/btcusdt@kline_1h/ethusdt@kline_1m/ethusdt@kline_1h/btcusdt@trade/ethusdt@trade"
        );
    }
}
