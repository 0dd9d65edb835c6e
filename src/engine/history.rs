//! The `download` job: history over REST into the store, resumable and polite.
//!
//! For each series, the part of `[from, to)` that is neither stored nor was asked before is
//! fetched in pages of the source's page size. Each page is written with the range it answered in one
//! transaction, so a download that stops anywhere (a ban, a dropped connection, garbage, kill -9)
//! leaves whole pages behind and the next run fetches only the rest. Candles the exchange itself
//! lacks inside an answered range are reported as its gaps and never asked for again.
//!
//! Politeness: the request weight the exchange reports (`X-MBX-USED-WEIGHT-1M`) is kept under a
//! budget by waiting for the next minute; HTTP 429 waits as long as `Retry-After` says; HTTP 418
//! (an IP ban) stops every request at once. A dropped connection or a garbage page is tried again
//! a few times with a growing pause before the series is given up.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::{Candle, Clock, Interval, Symbol};
use crate::feed::{MarketSource, RestError};
use crate::store::{Store, StoreError};
/// Longest `Retry-After` waited for; a longer one ends the download.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// 429s answered in one series before it is given up.
const MAX_RATE_LIMITS: u32 = 10;
/// Tries of one page after a dropped connection or a garbage answer.
const MAX_RETRIES: u32 = 4;

/// What to download.
#[derive(Clone, Debug)]
pub struct DownloadSpec {
    pub symbols: Vec<Symbol>,
    pub intervals: Vec<Interval>,
    pub from_ms: i64,
    /// End (exclusive); `None`: up to the last candle closed on the exchange's clock.
    pub to_ms: Option<i64>,
    /// Request weight per minute this download stays under (leave room for a running console).
    pub weight_budget: u32,
    /// First pause after a dropped connection or a garbage page (doubles on each retry).
    pub retry_pause: Duration,
    /// "Now" for the request-weight minute.
    pub clock: Arc<dyn Clock>,
}

/// What happened to one series.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct SeriesDownload {
    pub symbol: String,
    pub interval: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Candle slots that were neither stored nor fetched before this run.
    pub missing_before: u64,
    pub pages: u64,
    pub added: u64,
    pub already_present: u64,
    /// Holes in the exchange's own history inside what it answered: (first open time, candles).
    pub exchange_gaps: Vec<(i64, i64)>,
    pub rate_limited: u32,
    pub retries: u32,
    /// Why the series stopped before its end; the next run resumes from there.
    pub error: Option<String>,
}

/// The whole download.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct DownloadReport {
    pub rest_url: String,
    pub series: Vec<SeriesDownload>,
    pub added: u64,
    pub requests: u64,
    pub weight_waits: u32,
    /// The exchange banned this IP (HTTP 418): nothing more was asked.
    pub banned: bool,
}

impl DownloadReport {
    /// Whether every series reached its end.
    pub fn complete(&self) -> bool {
        !self.banned && self.series.iter().all(|s| s.error.is_none())
    }
}

/// Progress for a bar: a series starts (`total` candle slots to fetch) or `done` more slots.
#[derive(Clone, Debug, PartialEq)]
pub enum DownloadProgress {
    Series {
        symbol: Symbol,
        interval: Interval,
        total: u64,
    },
    Fetched(u64),
    Waiting(String),
}

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot read the exchange's clock: {0}")]
    Clock(#[source] RestError),
    #[error("--from {from_ms} is not before the end {to_ms} (UTC ms): nothing to download")]
    EmptyRange { from_ms: i64, to_ms: i64 },
}

/// How long to wait before the next request so the minute's weight stays under `budget`:
/// nothing below it, else until the next wall-clock minute (plus a second of slack).
pub fn weight_pause(used: u32, budget: u32, now_ms: i64) -> Option<Duration> {
    (used >= budget).then(|| {
        let into_minute = now_ms.rem_euclid(60_000);
        Duration::from_millis((60_000 - into_minute) as u64 + 1_000)
    })
}

/// Runs the download; a series that fails is reported and the next one goes on, except after a
/// ban, which stops everything.
pub async fn download(
    store: &mut Store,
    source: &dyn MarketSource,
    spec: &DownloadSpec,
    progress: &mut dyn FnMut(DownloadProgress),
) -> Result<DownloadReport, DownloadError> {
    let server_now = source.server_time().await.map_err(DownloadError::Clock)?;
    let mut report = DownloadReport {
        rest_url: source.rest_url(),
        ..DownloadReport::default()
    };
    for &symbol in &spec.symbols {
        for &interval in &spec.intervals {
            let ms = interval.ms();
            let last_closed_end = interval.floor(server_now);
            let to = spec
                .to_ms
                .map_or(last_closed_end, |t| {
                    interval.floor(t.saturating_add(ms - 1))
                })
                .min(last_closed_end);
            let from = interval.floor(spec.from_ms.saturating_add(ms - 1));
            if from >= to {
                return Err(DownloadError::EmptyRange {
                    from_ms: spec.from_ms,
                    to_ms: to,
                });
            }
            let missing = store.missing_ranges(symbol, interval, from, to)?;
            let mut series = SeriesDownload {
                symbol: symbol.to_string(),
                interval: interval.to_string(),
                from_ms: from,
                to_ms: to,
                missing_before: missing.iter().map(|(a, b)| ((b - a) / ms) as u64).sum(),
                ..SeriesDownload::default()
            };
            progress(DownloadProgress::Series {
                symbol,
                interval,
                total: series.missing_before,
            });
            for (start, end) in missing {
                if report.banned {
                    break;
                }
                if let Err(e) = fetch_range(
                    store,
                    source,
                    spec,
                    (symbol, interval),
                    (start, end),
                    &mut series,
                    &mut report,
                    progress,
                )
                .await
                {
                    series.error = Some(e);
                    break;
                }
            }
            report.added += series.added;
            report.series.push(series);
        }
    }
    Ok(report)
}

/// Pages through `[start, end)`; `Err` says why the series stops.
#[allow(clippy::too_many_arguments)]
async fn fetch_range(
    store: &mut Store,
    source: &dyn MarketSource,
    spec: &DownloadSpec,
    (symbol, interval): (Symbol, Interval),
    (start, end): (i64, i64),
    series: &mut SeriesDownload,
    report: &mut DownloadReport,
    progress: &mut dyn FnMut(DownloadProgress),
) -> Result<(), String> {
    let ms = interval.ms();
    let mut cursor = start;
    let mut retries_here = 0;
    while cursor < end {
        if let Some(pause) = weight_pause(
            source.used_weight(),
            spec.weight_budget,
            spec.clock.now_ms(),
        ) {
            report.weight_waits += 1;
            progress(DownloadProgress::Waiting(format!(
                "request weight {} of {} used this minute; waiting {}s",
                source.used_weight(),
                spec.weight_budget,
                pause.as_secs()
            )));
            tokio::time::sleep(pause).await;
        }
        report.requests += 1;
        let page = match source.klines_page(symbol, interval, cursor, end - 1).await {
            Ok(page) => page,
            Err(RestError::RateLimited { retry_after, .. })
                if retry_after <= MAX_RETRY_AFTER && series.rate_limited < MAX_RATE_LIMITS =>
            {
                series.rate_limited += 1;
                progress(DownloadProgress::Waiting(format!(
                    "HTTP 429: waiting {}s as Retry-After asks",
                    retry_after.as_secs()
                )));
                tokio::time::sleep(retry_after).await;
                continue;
            }
            Err(e @ RestError::Banned { .. }) => {
                report.banned = true;
                return Err(e.to_string());
            }
            Err(e @ (RestError::Http { .. } | RestError::Parse { .. }))
                if retries_here < MAX_RETRIES =>
            {
                retries_here += 1;
                series.retries += 1;
                let pause = spec.retry_pause * 2u32.pow(retries_here - 1);
                progress(DownloadProgress::Waiting(format!(
                    "{e}; trying again in {:.1}s",
                    pause.as_secs_f64()
                )));
                tokio::time::sleep(pause).await;
                continue;
            }
            Err(e) => return Err(e.to_string()),
        };
        retries_here = 0;
        series.pages += 1;
        let full = page.len() >= source.page_size();
        let candles: Vec<Candle> = page
            .into_iter()
            .filter(|c| c.open_time_ms >= cursor && c.open_time_ms < end)
            .collect();
        let answered_to = match candles.last() {
            Some(last) if full => last.open_time_ms + ms,
            _ => end,
        };
        if answered_to <= cursor {
            return Err(format!(
                "the exchange answered a full page that does not move past {cursor}"
            ));
        }
        let outcome = store
            .store_fetched_page(symbol, interval, &candles, cursor, answered_to)
            .map_err(|e| e.to_string())?;
        series.added += outcome.added;
        series.already_present += outcome.already_present;
        record_gaps(&mut series.exchange_gaps, &candles, cursor, answered_to, ms);
        progress(DownloadProgress::Fetched(
            ((answered_to - cursor) / ms) as u64,
        ));
        cursor = answered_to;
    }
    Ok(())
}

/// Adds the slots of `[from, to)` with no candle to `gaps`, joining a hole that continues one
/// recorded last.
fn record_gaps(gaps: &mut Vec<(i64, i64)>, candles: &[Candle], from: i64, to: i64, ms: i64) {
    let mut expected = from;
    let times = candles
        .iter()
        .map(|c| c.open_time_ms)
        .chain(std::iter::once(to));
    for t in times {
        if t > expected {
            let missing = (t - expected) / ms;
            match gaps.last_mut() {
                Some((start, n)) if *start + *n * ms == expected => *n += missing,
                _ => gaps.push((expected, missing)),
            }
        }
        expected = t + ms;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures;

    #[test]
    fn waits_for_the_next_minute_only_at_the_budget() {
        assert_eq!(weight_pause(10, 100, 5_000), None);
        assert_eq!(
            weight_pause(100, 100, 125_000),
            Some(Duration::from_millis(56_000))
        );
    }

    #[test]
    fn exchange_gaps_join_across_pages() {
        let candle = |t: i64| Candle {
            volume: 0.0,
            quote_volume: 0.0,
            trades: 0,
            ..fixtures::flat(t, 1.0)
        };

        let mut gaps = Vec::new();
        record_gaps(&mut gaps, &[candle(0), candle(3)], 0, 5, 1);
        assert_eq!(gaps, vec![(1, 2), (4, 1)]);
        // The next page starts with a hole that continues the last one.
        record_gaps(&mut gaps, &[candle(7)], 5, 8, 1);
        assert_eq!(gaps, vec![(1, 2), (4, 3)]);
        record_gaps(&mut gaps, &[candle(8), candle(9)], 8, 10, 1);
        assert_eq!(gaps, vec![(1, 2), (4, 3)]);
    }
}
