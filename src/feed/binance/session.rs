//! One live connection, read until it ends: text frames parsed into events, closed candles
//! checked for gaps (repaired over REST), the backfill after the connect, and the reasons a
//! connection ends (silence, the 24 h rotation, a reconnect asked for, the exchange closing it).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{Mutex, mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::backfill::{backfill_all, repair};
use super::client::{feed_event, streams};
use super::connections::Link;
use super::rest::RestClient;
use super::wire::{WsEvent, kline_stream, parse_ws_message};
use crate::domain::{Interval, LinkState, Symbol};
use crate::feed::{FeedEventKind, FeedOptions, LastClosed, MarketEvent};

pub(super) const ROTATING: &str = "rotating the connection";
pub(super) const ASKED: &str = "reconnect asked for";

pub(super) struct Session<'a> {
    pub options: &'a FeedOptions,
    pub rest: &'a RestClient,
    pub last_closed: &'a Arc<Mutex<LastClosed>>,
    pub events: &'a mpsc::Sender<MarketEvent>,
    pub link: &'a Link,
    /// Failed connects right before this connection.
    pub failures: u64,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Session<'_> {
    /// Reads one connection until it ends. Returns why, and whether it was healthy (it delivered
    /// data), which resets the backoff.
    pub async fn run(
        &self,
        mut ws: Ws,
        reconnect: &mut watch::Receiver<u64>,
        shutdown: &mut watch::Receiver<bool>,
        attempt: &mut u32,
    ) -> (String, bool) {
        let connected_at = Instant::now();
        self.link
            .set(LinkState::Connected {
                since_ms: self.options.clock.now_ms(),
            })
            .await;
        let _ = self
            .events
            .send(feed_event(
                self.options.clock.as_ref(),
                FeedEventKind::Connected,
                "*",
                match self.failures {
                    0 => format!(
                        "{}{} streams",
                        self.link.label(),
                        streams(self.options).len()
                    ),
                    n => format!(
                        "{}{} streams, after {n} failed connects",
                        self.link.label(),
                        streams(self.options).len()
                    ),
                },
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
                Ok(()) = reconnect.changed() => break format!("{ASKED} by the user"),
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
