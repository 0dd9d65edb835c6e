//! REST side of the Binance protocol: server time and paged kline backfill that honours HTTP 429
//! and `Retry-After` (continuing through 429s gets an IP ban, so we never do).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use super::exchange_info::{SYMBOLS_PER_REQUEST, exchange_info_path, parse_exchange_info};
use super::wire::{RestKline, kline_stream, parse_rest_klines};
use crate::domain::{Candle, Clock, Interval, Symbol, SymbolFilters};
pub use crate::feed::RestError;
use crate::feed::{FeedEvent, FeedEventKind, MarketEvent};

/// Binance's maximum page size for `/api/v3/klines`.
pub const KLINES_PAGE: usize = 1000;

/// Longest `Retry-After` we wait without giving up on this backfill attempt.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// A REST client for one exchange base URL.
#[derive(Clone, Debug)]
pub struct RestClient {
    http: reqwest::Client,
    base: String,
    /// The request weight the exchange last said this IP used in the current minute
    /// (`X-MBX-USED-WEIGHT-1M`); 0 before any answer carried it.
    used_weight: Arc<AtomicU32>,
}

impl RestClient {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("trademon/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            used_weight: Arc::new(AtomicU32::new(0)),
        }
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The request weight used in the current minute, as the exchange last reported it.
    pub fn used_weight(&self) -> u32 {
        self.used_weight.load(Ordering::Relaxed)
    }

    async fn get(&self, path_and_query: &str) -> Result<String, RestError> {
        let url = format!("{}{}", self.base, path_and_query);
        let http = |source| RestError::Http {
            url: url.clone(),
            source,
        };
        let response = self.http.get(&url).send().await.map_err(http)?;
        let status = response.status().as_u16();
        if let Some(weight) = response
            .headers()
            .get("x-mbx-used-weight-1m")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u32>().ok())
        {
            self.used_weight.store(weight, Ordering::Relaxed);
        }
        match status {
            200 => response.text().await.map_err(http),
            429 => {
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs)
                    .unwrap_or(Duration::from_secs(60));
                Err(RestError::RateLimited { url, retry_after })
            }
            418 => Err(RestError::Banned { url }),
            _ => {
                let mut body = response.text().await.unwrap_or_default();
                body.truncate(200);
                Err(RestError::Status { url, status, body })
            }
        }
    }

    /// The exchange's clock (`GET /api/v3/time`).
    pub async fn server_time(&self) -> Result<i64, RestError> {
        #[derive(serde::Deserialize)]
        struct Time {
            #[serde(rename = "serverTime")]
            server_time: i64,
        }
        let path = "/api/v3/time";
        let body = self.get(path).await?;
        serde_json::from_str::<Time>(&body)
            .map(|t| t.server_time)
            .map_err(|e| RestError::Parse {
                url: format!("{}{path}", self.base),
                source: Box::new(e),
            })
    }

    /// The exchange filters of `symbols` (`GET /api/v3/exchangeInfo?symbols=[...]`, weight 20 a
    /// request, [`SYMBOLS_PER_REQUEST`] symbols at a time), in their order, once each. A symbol the
    /// exchange does not list is an error (HTTP 400 from Binance, or missing from the answer).
    pub async fn filters(
        &self,
        symbols: &[Symbol],
    ) -> Result<Vec<(Symbol, SymbolFilters)>, RestError> {
        let mut asked: Vec<Symbol> = Vec::with_capacity(symbols.len());
        for &s in symbols {
            if !asked.contains(&s) {
                asked.push(s);
            }
        }
        let mut out = Vec::with_capacity(asked.len());
        for chunk in asked.chunks(SYMBOLS_PER_REQUEST) {
            let path = exchange_info_path(chunk);
            let body = self.get(&path).await?;
            let filters = parse_exchange_info(&body, chunk).map_err(|source| RestError::Parse {
                url: format!("{}{path}", self.base),
                source: Box::new(source),
            })?;
            out.extend(filters);
        }
        Ok(out)
    }

    /// One page of klines with `start_ms <= open_time <= end_ms`.
    pub async fn klines(
        &self,
        symbol: Symbol,
        interval: Interval,
        start_ms: i64,
        end_ms: i64,
        limit: usize,
    ) -> Result<Vec<RestKline>, RestError> {
        let path = format!(
            "/api/v3/klines?symbol={symbol}&interval={interval}&startTime={start_ms}&endTime={end_ms}&limit={limit}"
        );
        let body = self.get(&path).await?;
        parse_rest_klines(&body, interval).map_err(|source| RestError::Parse {
            url: format!("{}{path}", self.base),
            source: Box::new(source),
        })
    }

    /// All closed candles with `from_ms <= open_time < to_ms` and a close before `server_now_ms`,
    /// paged by [`KLINES_PAGE`]. A 429 waits for `Retry-After` (reported as a feed event) and tries
    /// the same page again.
    #[allow(clippy::too_many_arguments)]
    pub async fn closed_klines(
        &self,
        symbol: Symbol,
        interval: Interval,
        from_ms: i64,
        to_ms: i64,
        server_now_ms: i64,
        events: &mpsc::Sender<MarketEvent>,
        clock: &dyn Clock,
    ) -> Result<Vec<Candle>, RestError> {
        let ms = interval.ms();
        let mut out = Vec::new();
        let mut start = interval.floor(from_ms);
        if interval.floor(from_ms) < from_ms {
            start += ms;
        }
        let mut rate_limits = 0;
        while start < to_ms {
            let page = match self
                .klines(symbol, interval, start, to_ms - 1, KLINES_PAGE)
                .await
            {
                Ok(page) => page,
                Err(RestError::RateLimited { url, retry_after })
                    if retry_after <= MAX_RETRY_AFTER && rate_limits < 5 =>
                {
                    rate_limits += 1;
                    let _ = events
                        .send(MarketEvent::Feed(FeedEvent {
                            time_ms: clock.now_ms(),
                            kind: FeedEventKind::RateLimited,
                            stream: kline_stream(symbol, interval),
                            detail: format!(
                                "HTTP 429 on {url}; waiting {}s as Retry-After asks",
                                retry_after.as_secs()
                            ),
                            count: 0,
                        }))
                        .await;
                    tokio::time::sleep(retry_after).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let full = page.len() >= KLINES_PAGE;
            let mut last = None;
            for row in page {
                last = Some(row.candle.open_time_ms);
                if row.candle.open_time_ms >= start
                    && row.candle.open_time_ms < to_ms
                    && row.candle.open_time_ms + ms <= server_now_ms
                {
                    out.push(row.candle);
                }
            }
            match last {
                Some(t) if full && t + ms > start => start = t + ms,
                _ => break,
            }
        }
        Ok(out)
    }
}
