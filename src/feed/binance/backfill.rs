//! REST backfill: the closed candles missed before a connect, and the gaps seen on the live
//! stream, fetched over REST and reported as feed events.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc};

use super::client::feed_event;
use super::rest::RestClient;
use super::wire::kline_stream;
use crate::domain::{Clock, Interval, Symbol};
use crate::feed::{FeedEventKind, FeedOptions, LastClosed, MarketEvent};

/// Why closed candles are fetched over REST.
#[derive(Clone, Copy, Debug)]
enum Fill {
    /// A series with nothing stored yet.
    Initial,
    /// After a (re)connect: whatever closed while we were away (often nothing).
    Reconnect { expected: i64 },
    /// A closed kline arrived after `missing` candles that never came.
    LiveGap { missing: i64 },
}

/// Fetches the closed candles in `[from_ms, to_ms)`, hands them to the engine, and records what
/// happened as feed events. Returns the newest open time fetched.
#[allow(clippy::too_many_arguments)]
async fn fill(
    clock: &dyn Clock,
    rest: &RestClient,
    events: &mpsc::Sender<MarketEvent>,
    symbol: Symbol,
    interval: Interval,
    from_ms: i64,
    to_ms: i64,
    server_now_ms: i64,
    why: Fill,
) -> Option<i64> {
    let stream = kline_stream(symbol, interval);
    let candles = match rest
        .closed_klines(
            symbol,
            interval,
            from_ms,
            to_ms,
            server_now_ms,
            events,
            clock,
        )
        .await
    {
        Ok(candles) => candles,
        Err(e) => {
            let detail = match why {
                Fill::LiveGap { .. } => format!("gap not repaired: {e}"),
                _ => format!("backfill failed: {e}"),
            };
            let _ = events
                .send(feed_event(
                    clock,
                    FeedEventKind::Backfilled,
                    &stream,
                    detail,
                    0,
                ))
                .await;
            return None;
        }
    };
    let got = candles.len() as i64;
    let newest = candles.last().map(|c| c.open_time_ms);
    let mut kind = FeedEventKind::Backfilled;
    let detail = match why {
        // Nothing closed while we were away: nothing to say.
        Fill::Initial | Fill::Reconnect { .. } if got == 0 => return None,
        Fill::Initial => format!("initial history: {got} candles"),
        Fill::Reconnect { expected } | Fill::LiveGap { missing: expected } => {
            if let Fill::Reconnect { .. } = why {
                let _ = events
                    .send(feed_event(
                        clock,
                        FeedEventKind::GapFound,
                        &stream,
                        format!("{expected} closed candles missed while disconnected"),
                        expected,
                    ))
                    .await;
            }
            if got == expected {
                kind = FeedEventKind::GapRepaired;
                format!("gap repaired: {got} candles")
            } else {
                format!("gap partly repaired: the exchange has {got} of {expected} candles")
            }
        }
    };
    if !candles.is_empty() {
        let _ = events
            .send(MarketEvent::Backfill {
                symbol,
                interval,
                candles,
            })
            .await;
    }
    let _ = events
        .send(feed_event(clock, kind, &stream, detail, got))
        .await;
    newest
}

/// Repairs a gap seen on the live stream.
#[allow(clippy::too_many_arguments)]
pub(super) async fn repair(
    clock: Arc<dyn Clock>,
    rest: RestClient,
    events: mpsc::Sender<MarketEvent>,
    symbol: Symbol,
    interval: Interval,
    from_ms: i64,
    to_ms: i64,
    missing: i64,
) {
    match rest.server_time().await {
        Ok(server_now) => {
            let why = Fill::LiveGap { missing };
            fill(
                clock.as_ref(),
                &rest,
                &events,
                symbol,
                interval,
                from_ms,
                to_ms,
                server_now,
                why,
            )
            .await;
        }
        Err(e) => {
            let _ = events
                .send(feed_event(
                    clock.as_ref(),
                    FeedEventKind::Backfilled,
                    &kline_stream(symbol, interval),
                    format!("gap not repaired: {e}"),
                    0,
                ))
                .await;
        }
    }
}

/// After a connect: for each series, fetch every closed candle after the newest one stored (or the
/// last `initial_backfill` candles for a new series) up to the exchange's clock.
pub(super) async fn backfill_all(
    options: FeedOptions,
    rest: RestClient,
    last_closed: Arc<Mutex<LastClosed>>,
    events: mpsc::Sender<MarketEvent>,
) {
    let server_now = match rest.server_time().await {
        Ok(t) => t,
        Err(e) => {
            let _ = events
                .send(feed_event(
                    options.clock.as_ref(),
                    FeedEventKind::Backfilled,
                    "*",
                    format!("backfill skipped: {e}"),
                    0,
                ))
                .await;
            return;
        }
    };
    for &symbol in &options.symbols {
        for &interval in &options.intervals {
            let ms = interval.ms();
            let known = last_closed.lock().await.get(&(symbol, interval)).copied();
            let to = interval.floor(server_now);
            let (from, why) = match known {
                Some(t) => (
                    t + ms,
                    Fill::Reconnect {
                        expected: (to - t - ms) / ms,
                    },
                ),
                None if options.initial_backfill > 0 => {
                    (to - ms * i64::from(options.initial_backfill), Fill::Initial)
                }
                None => continue,
            };
            if from >= to {
                continue;
            }
            let clock = options.clock.as_ref();
            let newest = fill(
                clock, &rest, &events, symbol, interval, from, to, server_now, why,
            )
            .await;
            if let Some(newest) = newest {
                let mut last = last_closed.lock().await;
                let entry = last.entry((symbol, interval)).or_insert(newest);
                *entry = (*entry).max(newest);
            }
        }
    }
}
