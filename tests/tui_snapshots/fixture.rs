//! A hand-built, fully deterministic snapshot for the console's snapshot tests and frame bench:
//! three symbols, 1m candles from a fixed integer-seeded formula and 5m candles made from them, an open candle, a health
//! report with Live, Stale and Down streams, and a few feed events, at a fixed `now_ms`.

use std::collections::VecDeque;

use trademon::domain::{Candle, Interval, Symbol};
use trademon::engine::SeriesIndicators;
use trademon::feed::{FeedEvent, FeedEventKind};
use trademon::protocol::{
    HealthReport, LinkState, Market, Series, Snapshot, SourceInfo, StreamHealth, StreamState,
};

/// 2024-06-10 06:13:20 UTC.
pub const NOW_MS: i64 = 1_718_000_000_000;
pub const CLOSED_CANDLES: usize = 300;
/// ETHUSDT's 5m candle opening 2024-06-10 06:00 UTC is missing.
pub const GAP_5M_MS: i64 = 1_717_999_200_000;

/// A small linear congruential generator: the same numbers on every machine.
struct Lcg(u64);

impl Lcg {
    /// Uniform in [-1, 1).
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

/// One-minute candles from a random walk with a slow swing (so the chart has a visible trend),
/// from `first_ms` up to and including the candle open at `NOW_MS`.
fn minute_candles(seed: u64, start_price: f64, base_volume: f64, first_ms: i64) -> Vec<Candle> {
    let mut rng = Lcg(seed);
    let last = Interval::M1.floor(NOW_MS);
    let mut close = start_price;
    let mut candles = Vec::new();
    let mut open_time_ms = first_ms;
    let mut i = 0usize;
    while open_time_ms <= last {
        // A triangle wave with a period of 240 minutes as the slow swing.
        let swing = if i % 240 < 120 { 0.0003 } else { -0.0003 };
        let ret = swing + rng.next() * 0.0016;
        let open = close;
        close = open * (1.0 + ret);
        let high = open.max(close) * (1.0 + rng.next().abs() * 0.0008);
        let low = open.min(close) * (1.0 - rng.next().abs() * 0.0008);
        let volume = base_volume * (0.2 + rng.next().abs() + 400.0 * ret.abs());
        candles.push(Candle {
            open_time_ms,
            open,
            high,
            low,
            close,
            volume,
            quote_volume: volume * close,
            trades: (volume * 7.0) as u64 + 1,
        });
        open_time_ms += 60_000;
        i += 1;
    }
    candles
}

/// Candles of a longer interval made from one-minute candles, as an exchange would report them.
fn aggregate(minutes: &[Candle], interval: Interval) -> Vec<Candle> {
    let mut out: Vec<Candle> = Vec::new();
    for m in minutes {
        let open_time_ms = interval.floor(m.open_time_ms);
        match out.last_mut() {
            Some(c) if c.open_time_ms == open_time_ms => {
                c.high = c.high.max(m.high);
                c.low = c.low.min(m.low);
                c.close = m.close;
                c.volume += m.volume;
                c.quote_volume += m.quote_volume;
                c.trades += m.trades;
            }
            _ => out.push(Candle { open_time_ms, ..*m }),
        }
    }
    out
}

/// The newest `CLOSED_CANDLES` closed candles and the open one (the last of `candles`), with the
/// indicator values the engine would publish (warmed up on all the closed candles).
fn series(mut candles: Vec<Candle>, interval: Interval) -> Series {
    let open = candles.pop();
    let skip = candles.len().saturating_sub(CLOSED_CANDLES);
    let indicators = SeriesIndicators::new(interval).rebuild(candles.iter());
    Series {
        closed: candles.into_iter().skip(skip).collect(),
        open,
        indicators: indicators.into_iter().skip(skip).collect(),
    }
}

fn symbol(name: &str) -> Symbol {
    Symbol::new(name).expect("fixture symbols are valid")
}

/// `missing_5m`: open times of 5m candles the exchange never sent (a gap the chart shows).
fn market(
    name: &str,
    seed: u64,
    price: f64,
    volume: f64,
    with_last_trade: bool,
    missing_5m: &[i64],
) -> Market {
    let first_ms = Interval::M5.floor(NOW_MS) - CLOSED_CANDLES as i64 * Interval::M5.ms();
    let minutes = minute_candles(seed, price, volume, first_ms);
    let mut five = aggregate(&minutes, Interval::M5);
    five.retain(|c| !missing_5m.contains(&c.open_time_ms));
    let series = vec![
        series(minutes.clone(), Interval::M1),
        series(five, Interval::M5),
    ];
    let last_price = series[0].open.map(|c| c.close).filter(|_| with_last_trade);
    Market {
        symbol: symbol(name),
        last_price,
        last_trade_ms: last_price.map(|_| NOW_MS - 1_200),
        series,
    }
}

fn stream(
    name: &str,
    state: StreamState,
    messages: u64,
    rate: f64,
    age_ms: Option<i64>,
) -> StreamHealth {
    StreamHealth {
        name: name.to_string(),
        state,
        messages,
        messages_per_sec: rate,
        last_message_age_ms: age_ms,
    }
}

fn event(ago_ms: i64, kind: FeedEventKind, stream: &str, detail: &str, count: i64) -> FeedEvent {
    FeedEvent {
        time_ms: NOW_MS - ago_ms,
        kind,
        stream: stream.to_string(),
        detail: detail.to_string(),
        count,
    }
}

pub fn health() -> HealthReport {
    use StreamState::{Down, Live, Stale};
    HealthReport {
        now_ms: NOW_MS,
        uptime_ms: 7_395_000,
        link: Some(LinkState::Connected {
            since_ms: NOW_MS - 4_380_000,
        }),
        streams: vec![
            stream("btcusdt@kline_1m", Live, 7_412, 1.9, Some(310)),
            stream("btcusdt@kline_5m", Live, 7_398, 1.9, Some(420)),
            stream("btcusdt@trade", Live, 96_120, 24.6, Some(40)),
            stream("ethusdt@kline_1m", Live, 7_405, 1.8, Some(650)),
            stream("ethusdt@kline_5m", Down, 2_210, 0.0, None),
            stream("ethusdt@trade", Live, 61_877, 15.2, Some(90)),
            stream("solusdt@kline_1m", Live, 7_301, 1.8, Some(980)),
            stream("solusdt@kline_5m", Live, 7_290, 1.7, Some(1_020)),
            stream("solusdt@trade", Stale, 18_455, 0.0, Some(41_500)),
        ],
        messages_per_sec: 68.9,
        reconnects: 2,
        gaps_found: 3,
        gaps_repaired: 2,
        candles_backfilled: 1_806,
        parse_errors: 1,
        rate_limited: 1,
        db_write_p50_ms: Some(0.84),
        db_write_p99_ms: Some(4.2),
        rows_stored: 1_234_567,
        db_bytes: Some(251_658_240),
    }
}

pub fn events() -> VecDeque<FeedEvent> {
    use FeedEventKind::{Backfilled, Connected, Disconnected, GapFound, ParseError, RateLimited};
    VecDeque::from(vec![
        event(7_390_000, Connected, "*", "connected to 127.0.0.1:41234", 0),
        event(4_500_000, Disconnected, "*", "connection reset by peer", 0),
        event(4_380_000, Connected, "*", "reconnected after 1 attempt", 0),
        event(
            4_379_000,
            GapFound,
            "btcusdt@kline_1m",
            "2 candles missing from 04:58",
            2,
        ),
        event(
            4_377_500,
            Backfilled,
            "btcusdt@kline_1m",
            "2 candles fetched over REST",
            2,
        ),
        event(
            2_100_000,
            ParseError,
            "ethusdt@trade",
            "missing field `p` at line 1 column 88",
            0,
        ),
        event(
            1_250_000,
            RateLimited,
            "*",
            "HTTP 429 on /api/v3/klines, waiting 2s",
            0,
        ),
        event(
            620_000,
            GapFound,
            "ethusdt@kline_5m",
            "1 candle missing from 06:00",
            1,
        ),
    ])
}

/// The whole fixture: BTCUSDT and ETHUSDT with a last trade price, SOLUSDT without one.
pub fn snapshot() -> Snapshot {
    Snapshot {
        source: SourceInfo::Simulated {
            seed: 42,
            speed: 60.0,
        },
        intervals: vec![Interval::M1, Interval::M5],
        markets: vec![
            market("BTCUSDT", 7, 64_000.0, 12.0, true, &[]),
            // The 06:00 5m candle never came (see the gap_found event).
            market("ETHUSDT", 11, 3_400.0, 160.0, true, &[GAP_5M_MS]),
            market("SOLUSDT", 19, 145.0, 2_400.0, false, &[]),
        ],
        health: health(),
        recent_events: events(),
        keep_candles: 600,
        started_at_ms: NOW_MS - 7_395_000,
    }
}
