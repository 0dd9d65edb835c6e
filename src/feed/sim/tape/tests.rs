use super::*;
use crate::domain::Symbol;
use crate::domain::fixtures::ohlc;

const MINUTE: i64 = 60_000;
/// 2023-11-15 00:00 UTC, on every grid up to 1d.
const T0: i64 = 1_700_006_400_000;

fn model_tape(history: i64, max_closed: usize) -> Tape {
    model_tape_keeping_trades(history, max_closed, 5 * MINUTE)
}

fn model_tape_keeping_trades(history: i64, max_closed: usize, retention_ms: i64) -> Tape {
    let market = Market::new(11, Symbol::new("BTCUSDT").unwrap(), T0 - history * MINUTE);
    Tape::new(
        Interval::M1,
        Source::Model(Box::new(market)),
        max_closed,
        retention_ms,
    )
}

fn five_minute_candle(open_time_ms: i64, price: f64) -> Unit {
    Unit {
        candle: Candle {
            volume: 2.0,
            quote_volume: 2.0 * price,
            trades: 3,
            ..ohlc(open_time_ms, price, price + 1.0, price - 1.0, price + 0.5)
        },

        trades: Vec::new(),
    }
}

#[test]
fn history_exists_at_start_and_klines_follow_binance() {
    let mut tape = model_tape(1500, 100_000);
    tape.advance(T0 + 30_000);
    let all = tape.closed_candles(Interval::M1);
    assert_eq!(all.len(), 1500);
    assert_eq!(all[0].open_time_ms, T0 - 1500 * MINUTE);
    assert!(
        all.windows(2)
            .all(|w| w[1].open_time_ms == w[0].open_time_ms + MINUTE)
    );
    all.iter().for_each(|c| c.validate().unwrap());

    // Latest 500 without startTime: the last one is the candle still open.
    let latest = tape.klines(Interval::M1, None, None, 500);
    assert_eq!(latest.len(), 500);
    let open = tape
        .open_candle(Interval::M1)
        .expect("trades in the first 30 s");
    assert_eq!(latest[499], open);
    assert_eq!(open.open_time_ms, T0);
    assert_eq!(&latest[..499], &all[all.len() - 499..]);

    // [startTime, endTime] inclusive on open times, limit keeps the oldest.
    let start = T0 - 100 * MINUTE;
    let page = tape.klines(Interval::M1, Some(start), Some(start + 9 * MINUTE), 1000);
    assert_eq!(page.len(), 10);
    assert_eq!(page[0].open_time_ms, start);
    assert_eq!(
        tape.klines(Interval::M1, Some(start), None, 3),
        all[1400..1403].to_vec()
    );
    // A startTime inside a candle skips that candle.
    assert_eq!(
        tape.klines(Interval::M1, Some(start + 1), None, 1)[0].open_time_ms,
        start + MINUTE
    );
    // endTime only: the latest `limit` at or before it.
    let before = tape.klines(Interval::M1, None, Some(start), 4);
    assert_eq!(before, all[1397..1401].to_vec());
    // Nothing after now, even if asked.
    let future = tape.klines(Interval::M1, Some(T0 + MINUTE), Some(T0 + 100 * MINUTE), 10);
    assert!(future.is_empty());
    assert!(tape.klines(Interval::M1, Some(0), Some(1), 10).is_empty());
}

#[test]
fn coarser_candles_aggregate_the_minutes() {
    let mut tape = model_tape(3000, 100_000);
    tape.advance(T0 + 7 * MINUTE + 1);
    let minutes = tape.closed_candles(Interval::M1);
    let fives = tape.closed_candles(Interval::M5);
    assert_eq!(fives.len(), 601);
    for five in &fives {
        five.validate().unwrap();
        let parts: Vec<&Candle> = minutes
            .iter()
            .filter(|m| Interval::M5.floor(m.open_time_ms) == five.open_time_ms)
            .collect();
        assert_eq!(parts.len(), 5);
        assert_eq!(five.open, parts[0].open);
        assert_eq!(five.close, parts[4].close);
        assert_eq!(
            five.high,
            parts.iter().map(|c| c.high).fold(f64::MIN, f64::max)
        );
        assert_eq!(
            five.low,
            parts.iter().map(|c| c.low).fold(f64::MAX, f64::min)
        );
        let volume = parts.iter().fold(0.0, |sum, c| sum + c.volume);
        assert_eq!(five.volume, volume);
        assert_eq!(five.trades, parts.iter().map(|c| c.trades).sum::<u64>());
    }
    // The open 5m candle holds the two closed minutes and the open one.
    let open = tape.open_candle(Interval::M5).unwrap();
    assert_eq!(open.open_time_ms, T0 + 5 * MINUTE);
    assert_eq!(open.open, minutes[minutes.len() - 2].open);
    let hours = tape.klines(Interval::H1, None, None, 1000);
    assert_eq!(hours.len(), 51);
    assert_eq!(hours[50].open_time_ms, T0);
    hours.iter().for_each(|c| c.validate().unwrap());
    assert_eq!(&hours[..50], tape.closed_candles(Interval::H1).as_slice());
}

#[test]
fn advancing_in_small_steps_misses_nothing() {
    // Trades are kept for 20 minutes: longer than the longest step below.
    let mut jumpy = model_tape_keeping_trades(10, 100_000, 20 * MINUTE);
    let mut steady = model_tape(10, 100_000);
    jumpy.advance(T0);
    steady.advance(T0);
    let mut last_closed = jumpy.last_closed_slot(Interval::M3);
    let mut last_trade = jumpy.last_trade_id();
    let mut closed = Vec::new();
    let mut trades = Vec::new();
    let mut now = T0;
    for step in [
        1, 7_000, 59_000, 200_000, 1, 180_000, 3, 500_000, 61_000, 1_000_000,
    ] {
        now += step;
        jumpy.advance(now);
        closed.extend(jumpy.closed_after(Interval::M3, last_closed));
        last_closed = jumpy.last_closed_slot(Interval::M3);
        trades.extend(jumpy.trades_after(last_trade).copied());
        last_trade = jumpy.last_trade_id().or(last_trade);
    }
    steady.advance(now);
    let expected: Vec<Candle> = steady
        .closed_candles(Interval::M3)
        .into_iter()
        .filter(|c| c.open_time_ms >= T0)
        .collect();
    assert_eq!(closed, expected);
    assert!(
        closed
            .windows(2)
            .all(|w| w[1].open_time_ms == w[0].open_time_ms + 3 * MINUTE)
    );
    assert!(
        trades
            .windows(2)
            .all(|w| w[1].trade_id == w[0].trade_id + 1),
        "a trade was skipped"
    );
    assert!(trades.iter().all(|t| t.time_ms >= T0 && t.time_ms <= now));
}

#[test]
fn open_candle_is_the_aggregate_of_trades_so_far_and_time_never_goes_back() {
    let mut tape = model_tape(5, 100_000);
    tape.advance(T0 + 20_000);
    let seen: Vec<Trade> = tape.trades_after(None).copied().collect();
    let mut aggregator = TradeAggregator::new(Interval::M1);
    for trade in seen.iter().filter(|t| t.time_ms >= T0) {
        aggregator.push(trade);
    }
    assert_eq!(
        tape.open_candle(Interval::M1),
        aggregator.current().copied()
    );
    assert!(seen.iter().all(|t| t.time_ms <= T0 + 20_000));
    tape.advance(T0);
    assert_eq!(tape.now_ms(), T0 + 20_000);
}

#[test]
fn memory_stays_bounded() {
    let mut tape = model_tape(0, 1_000);
    tape.advance(T0 + 5_000 * MINUTE);
    assert!(tape.closed_len() <= 1_125, "{}", tape.closed_len());
    assert!(
        tape.recent.len() < 5 * 200,
        "{} trades kept",
        tape.recent.len()
    );
    let oldest = tape.trimmed_from_ms.unwrap();
    // A coarse candle that would start before the oldest kept minute is not served half-built.
    let days = tape.closed_candles(Interval::H1);
    assert!(days.iter().all(|c| c.open_time_ms >= oldest));
    let first_minute = tape.closed_candles(Interval::M1)[0].open_time_ms;
    assert_eq!(first_minute, oldest);
}

#[test]
fn recorded_candles_with_gaps_serve_their_own_grid_and_end() {
    let base = 5 * MINUTE;
    let units = vec![
        five_minute_candle(T0, 100.0),
        five_minute_candle(T0 + base, 101.0),
        // a missing candle at T0 + 2 * base
        five_minute_candle(T0 + 3 * base, 102.0),
        five_minute_candle(T0 + 4 * base, 103.0),
    ];
    let mut tape = Tape::new(
        Interval::M5,
        Source::Recorded(units.clone().into_iter()),
        10,
        MINUTE,
    );
    assert!(tape.serves(Interval::M15) && tape.serves(Interval::H1) && tape.serves(Interval::M5));
    assert!(!tape.serves(Interval::M1) && !tape.serves(Interval::M3) && !tape.serves(Interval::S1));
    tape.advance(T0 + 2 * base + 10);
    // Without trades, a candle shows only once closed.
    assert_eq!(tape.open_candle(Interval::M5), None);
    let fives = tape.klines(Interval::M5, None, None, 10);
    assert_eq!(fives, vec![units[0].candle, units[1].candle]);
    let quarter = tape.open_candle(Interval::M15).unwrap();
    assert_eq!(
        (quarter.open, quarter.close, quarter.volume),
        (100.0, 101.5, 4.0)
    );
    tape.advance(T0 + 100 * base);
    assert_eq!(tape.closed_candles(Interval::M5).len(), 4);
    let quarters = tape.closed_candles(Interval::M15);
    assert_eq!(quarters.len(), 2);
    assert_eq!(quarters[1].open, 102.0);
    assert_eq!(quarters[1].trades, 6);
    assert_eq!(tape.open_candle(Interval::M5), None);
    assert_eq!(tape.last_trade_id(), None);
}

#[test]
fn aggregate_respects_bounds_and_limit() {
    let units: Vec<Candle> = (0..10)
        .map(|i| five_minute_candle(T0 + i * MINUTE, 50.0).candle)
        .collect();
    assert!(aggregate(units.iter().copied(), Interval::M5, i64::MIN, i64::MAX, 0).is_empty());
    let two = aggregate(units.iter().copied(), Interval::M5, i64::MIN, i64::MAX, 5);
    assert_eq!(two.len(), 2);
    assert_eq!(two[0].volume, 10.0);
    let one = aggregate(units.iter().copied(), Interval::M5, T0 + 1, i64::MAX, 5);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].open_time_ms, T0 + 5 * MINUTE);
    assert_eq!(
        aggregate(units.iter().copied(), Interval::M5, i64::MIN, i64::MAX, 1).len(),
        1
    );
}
