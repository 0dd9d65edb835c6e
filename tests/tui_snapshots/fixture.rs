//! A hand-built, fully deterministic snapshot for the console's snapshot tests and frame bench:
//! three symbols, 1m candles from a fixed integer-seeded formula and 5m candles made from them, an open candle, a health
//! report with Live, Stale and Down streams, and a few feed events, at a fixed `now_ms`.

use std::collections::VecDeque;

use trademon::domain::{Candle, Interval, Symbol};
use trademon::engine::SeriesIndicators;
use trademon::feed::{FeedEvent, FeedEventKind};
use trademon::model::signal::Signal;
use trademon::protocol::{
    FeatureWeight, HealthReport, LinkState, Market, ModelSummary, ModelsView, Scores, Series,
    SignalInfo, SignalThresholds, Snapshot, SourceInfo, StreamHealth, StreamState, TestScores,
    TrainingProgress,
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
        failed_connects: 3,
        gaps_found: 3,
        gaps_repaired: 2,
        candles_backfilled: 1_806,
        parse_errors: 1,
        rate_limited: 1,
        db_write_p50_ms: Some(0.84),
        db_write_p99_ms: Some(4.2),
        rows_stored: 1_234_567,
        db_rows_lost: 0,
        db_write_errors: 0,
        db_writer_problem: None,
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
        source: SourceInfo::simulated(42, 60.0),
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
        signals: Vec::new(),
        models: Default::default(),
        backtests: Default::default(),
        monitor: Default::default(),
        shadow: Default::default(),
        paper: Default::default(),
    }
}

fn scores(accuracy: f64, macro_f1: f64, log_loss: f64, brier: f64) -> Scores {
    Scores {
        accuracy,
        macro_f1,
        log_loss,
        brier,
    }
}

fn model(
    id: i64,
    version: &str,
    role: &str,
    origin: &str,
    trained_on: &str,
    loss: f64,
) -> ModelSummary {
    ModelSummary {
        id,
        version: version.to_string(),
        created_ms: NOW_MS - id * 86_400_000,
        origin: origin.to_string(),
        trained_on: trained_on.to_string(),
        role: role.to_string(),
        members: 5,
        data: "BTCUSDT 1m".to_string(),
        test: Some(TestScores {
            samples: 2_041,
            model: scores(0.371, 0.362, loss, 0.661),
            logistic: scores(0.364, 0.351, 1.0931, 0.663),
            majority: scores(0.339, 0.169, 1.0986, 0.667),
        }),
        // A PyTorch member stores no thresholds; the others were calibrated in training.
        thresholds: (origin != "torch-import").then(|| SignalThresholds {
            buy: 0.0312,
            sell: 0.0312,
            source: "calibrated: 20 % of validation candles trade".to_string(),
        }),
    }
}

/// The fixture with three registered models (the demo one running), indicator weights, two
/// signals and a training run in progress.
pub fn snapshot_with_models() -> Snapshot {
    let mut snapshot = snapshot();
    let names = [
        "rsi_14",
        "macd_hist",
        "bb_pctb",
        "log_return",
        "volume_z",
        "htf5_rsi_14",
    ];
    snapshot.models = ModelsView {
        models: vec![
            model(3, "1.2.0", "challenger", "trained", "simulated", 1.0952),
            model(2, "1.1.0", "champion", "demo", "simulated", 1.0897),
            model(1, "1.0.0", "retired", "torch-import", "unknown", 1.1020),
        ],
        active: Some(2),
        active_interval: Some(Interval::M1),
        fallback: None,
        weights: names
            .iter()
            .enumerate()
            .map(|(i, name)| FeatureWeight {
                name: name.to_string(),
                weight: 1.6 - 0.22 * i as f64,
                importance: 0.004 - 0.0005 * i as f64,
                penalty: if i == 2 { 0.4 } else { 0.0 },
                rank_ic: 0.03 - 0.011 * i as f64,
            })
            .collect(),
        training: Some(TrainingProgress {
            symbol: Symbol::new("ETHUSDT").expect("valid symbol"),
            interval: Interval::M1,
            started_ms: NOW_MS - 40_000,
            member: 2,
            members: 5,
            epoch: 7,
            epochs: 30,
            train_loss: 1.0871,
            validation_loss: 1.0934,
            validation_accuracy: 0.368,
            eta_secs: Some(95.0),
        }),
        last_training: None,
    };
    let signal =
        |symbol: &str, signal: Signal, p: [f64; 3], votes: [u32; 3], confidence: f64| SignalInfo {
            symbol: Symbol::new(symbol).expect("valid symbol"),
            interval: Interval::M1,
            open_time_ms: NOW_MS - 120_000,
            made_ms: NOW_MS - 59_000,
            model_version: "1.1.0".to_string(),
            probabilities: p,
            confidence,
            votes,
            signal,
            drivers: vec![
                ("rsi_14".to_string(), 0.412),
                ("macd_hist".to_string(), -0.233),
                ("volume_z".to_string(), 0.101),
            ],
            fallback: false,
        };
    snapshot.signals = vec![
        signal("ETHUSDT", Signal::Sell, [0.52, 0.27, 0.21], [4, 1, 0], 0.2),
        signal("BTCUSDT", Signal::Buy, [0.2, 0.3, 0.5], [0, 1, 4], 0.16),
    ];
    snapshot
}
