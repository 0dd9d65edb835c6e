//! The websocket client: one combined-stream connection for every kline and trade stream,
//! reconnecting with exponential backoff and full jitter, rotating before Binance's 24 h limit,
//! and backfilling closed candles over REST after every connect and whenever a gap shows.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{Mutex, mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::backfill::{backfill_all, repair};
use super::rest::RestClient;
use super::wire::{WsEvent, kline_stream, parse_ws_message, trade_stream};
use crate::domain::{Clock, Interval, LinkState, Symbol};
use crate::feed::{FeedControl, FeedEvent, FeedEventKind, FeedOptions, LastClosed, MarketEvent};

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

/// Runs the feed on `ws_url` (and `rest` for backfill) until `shutdown` turns true. Every event
/// goes to `events`.
pub async fn run(
    ws_url: String,
    rest: RestClient,
    options: FeedOptions,
    last_closed: LastClosed,
    events: mpsc::Sender<MarketEvent>,
    mut control: mpsc::Receiver<FeedControl>,
    mut shutdown: watch::Receiver<bool>,
) {
    let last_closed = Arc::new(Mutex::new(last_closed));
    let mut rng = (options.clock.now_ms() as u64) | 1;
    let mut attempt: u32 = 0;
    let url = stream_url(&ws_url, &options);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let _ = events.send(MarketEvent::Link(LinkState::Connecting)).await;
        let outcome = tokio::select! {
            r = tokio_tungstenite::connect_async(url.as_str()) => Some(r),
            _ = shutdown.changed() => None,
        };
        let reason = match outcome {
            None => return,
            Some(Err(e)) => format!("connect failed: {e}"),
            Some(Ok((ws, _))) => {
                let session = Session {
                    options: &options,
                    rest: &rest,
                    last_closed: &last_closed,
                    events: &events,
                };
                let (reason, healthy) = session
                    .run(ws, &mut control, &mut shutdown, &mut attempt)
                    .await;
                if *shutdown.borrow() {
                    return;
                }
                if healthy {
                    attempt = 0;
                }
                reason
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
        let _ = events
            .send(MarketEvent::Link(LinkState::Down {
                reason: reason.clone(),
                retry_at_ms: now + wait.as_millis() as i64,
            }))
            .await;
        let _ = events
            .send(feed_event(
                options.clock.as_ref(),
                FeedEventKind::Disconnected,
                "*",
                format!("{reason}; reconnecting in {} ms", wait.as_millis()),
                0,
            ))
            .await;
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}

const ROTATING: &str = "rotating the connection";
const ASKED: &str = "reconnect asked for";

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

struct Session<'a> {
    options: &'a FeedOptions,
    rest: &'a RestClient,
    last_closed: &'a Arc<Mutex<LastClosed>>,
    events: &'a mpsc::Sender<MarketEvent>,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Session<'_> {
    /// Reads one connection until it ends. Returns why, and whether it was healthy (it delivered
    /// data), which resets the backoff.
    async fn run(
        &self,
        mut ws: Ws,
        control: &mut mpsc::Receiver<FeedControl>,
        shutdown: &mut watch::Receiver<bool>,
        attempt: &mut u32,
    ) -> (String, bool) {
        let connected_at = Instant::now();
        let _ = self
            .events
            .send(MarketEvent::Link(LinkState::Connected {
                since_ms: self.options.clock.now_ms(),
            }))
            .await;
        let _ = self
            .events
            .send(feed_event(
                self.options.clock.as_ref(),
                FeedEventKind::Connected,
                "*",
                format!("{} streams", streams(self.options).len()),
                0,
            ))
            .await;
        let backfill = tokio::spawn(backfill_all(
            self.options.clone(),
            self.rest.clone(),
            self.last_closed.clone(),
            self.events.clone(),
        ));
        let mut healthy = false;
        let mut last_activity = Instant::now();
        let rotate_at = connected_at + self.options.rotate_after;
        let reason = loop {
            let silence_deadline = last_activity + self.options.silence_timeout;
            tokio::select! {
                msg = ws.next() => {
                    last_activity = Instant::now();
                    match msg {
                        None => break "the exchange closed the connection".to_string(),
                        Some(Err(e)) => break format!("connection error: {e}"),
                        Some(Ok(Message::Text(text))) => {
                            if !healthy {
                                healthy = true;
                                *attempt = 0;
                            }
                            self.on_text(text.as_str()).await;
                        }
                        Some(Ok(Message::Binary(bytes))) => {
                            self.on_garbage(format!("unexpected binary frame of {} bytes", bytes.len())).await;
                        }
                        Some(Ok(Message::Close(frame))) => {
                            break match frame {
                                Some(f) => format!("the exchange closed the connection ({} {})", f.code, f.reason),
                                None => "the exchange closed the connection".to_string(),
                            };
                        }
                        // Pings are answered by tungstenite on the next read; pongs need nothing.
                        Some(Ok(_)) => {}
                    }
                }
                _ = tokio::time::sleep_until(silence_deadline) => {
                    break format!(
                        "nothing received for {} s (no data, no ping): connection presumed dead",
                        self.options.silence_timeout.as_secs_f64()
                    );
                }
                _ = tokio::time::sleep_until(rotate_at) => {
                    break format!("{ROTATING} before the exchange's 24 h limit");
                }
                c = control.recv() => {
                    if c == Some(FeedControl::Reconnect) {
                        break format!("{ASKED} by the user");
                    }
                }
                _ = shutdown.changed() => break "shutting down".to_string(),
            }
        };
        backfill.abort();
        // Best effort: a polite close; the peer may already be gone.
        let _ = tokio::time::timeout(Duration::from_millis(500), ws.close(None)).await;
        (reason, healthy)
    }

    async fn on_garbage(&self, detail: String) {
        tracing::warn!(%detail, "malformed market data message");
        let _ = self
            .events
            .send(feed_event(
                self.options.clock.as_ref(),
                FeedEventKind::ParseError,
                "*",
                detail,
                1,
            ))
            .await;
    }

    async fn on_text(&self, text: &str) {
        let event = match parse_ws_message(text) {
            Ok(event) => event,
            Err(e) => {
                let mut sample: String = text.chars().take(80).collect();
                if sample.len() < text.len() {
                    sample.push('…');
                }
                self.on_garbage(format!("{e} in {sample:?}")).await;
                return;
            }
        };
        match event {
            WsEvent::Trade { symbol, trade, .. } => {
                let _ = self.events.send(MarketEvent::Trade { symbol, trade }).await;
            }
            WsEvent::Kline {
                symbol,
                interval,
                candle,
                closed,
                ..
            } => {
                if !self.options.intervals.contains(&interval)
                    || !self.options.symbols.contains(&symbol)
                {
                    self.on_garbage(format!(
                        "kline for {symbol} {interval}, which we did not ask for"
                    ))
                    .await;
                    return;
                }
                if closed {
                    self.on_closed(symbol, interval, candle.open_time_ms).await;
                }
                let _ = self
                    .events
                    .send(MarketEvent::Kline {
                        symbol,
                        interval,
                        candle,
                        closed,
                    })
                    .await;
            }
        }
    }

    /// Notes a closed candle; if candles are missing before it, fetches them over REST.
    async fn on_closed(&self, symbol: Symbol, interval: Interval, open_time_ms: i64) {
        let ms = interval.ms();
        let previous = {
            let mut last = self.last_closed.lock().await;
            let previous = last.get(&(symbol, interval)).copied();
            if previous.is_none_or(|p| open_time_ms > p) {
                last.insert((symbol, interval), open_time_ms);
            }
            previous
        };
        let Some(previous) = previous else { return };
        if open_time_ms <= previous + ms {
            return;
        }
        let missing = (open_time_ms - previous) / ms - 1;
        let stream = kline_stream(symbol, interval);
        let _ = self
            .events
            .send(feed_event(
                self.options.clock.as_ref(),
                FeedEventKind::GapFound,
                &stream,
                format!("{missing} closed candles missing before {open_time_ms}"),
                missing,
            ))
            .await;
        tokio::spawn(repair(
            self.options.clock.clone(),
            self.rest.clone(),
            self.events.clone(),
            symbol,
            interval,
            previous + ms,
            open_time_ms,
            missing,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            clock: Arc::new(crate::domain::WallClock),
        };
        assert_eq!(
            binance.stream_url(&options),
            "ws://127.0.0.1:9/stream?streams=btcusdt@kline_1m/btcusdt@kline_1h/ethusdt@kline_1m/ethusdt@kline_1h/btcusdt@trade/ethusdt@trade"
        );
    }
}
