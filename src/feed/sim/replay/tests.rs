use std::io::Write as _;
use std::path::PathBuf;

use super::*;
use crate::feed::sim::tape::{Source, Tape};

/// A file of ../shared/data; `None` (with the reason printed) when absent outside CI.
fn shared_data(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data")).join(name);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing (shared test data must exist under CI)",
        path.display()
    );
    eprintln!("skipped: {} is missing", path.display());
    None
}

fn read_candles(path: &Path) -> Vec<Candle> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
            Candle {
                open_time_ms: f[0] as i64,
                open: f[1],
                high: f[2],
                low: f[3],
                close: f[4],
                volume: f[5],
                quote_volume: 0.0,
                trades: 0,
            }
        })
        .collect()
}

fn replayed(path: &Path, interval: Interval) -> Vec<Candle> {
    let recording = load(path, None).unwrap();
    let mut tape = Tape::new(
        recording.base,
        Source::Recorded(recording.units.into_iter()),
        usize::MAX / 2,
        60_000,
    );
    tape.advance(i64::MAX / 2);
    tape.closed_candles(interval)
}

fn assert_same_candles(got: &[Candle], expected: &[Candle]) {
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(expected) {
        assert_eq!(
            (g.open_time_ms, g.open, g.high, g.low, g.close),
            (e.open_time_ms, e.open, e.high, e.low, e.close)
        );
        assert!(
            (g.volume - e.volume).abs() <= 1e-9 * e.volume.abs(),
            "{}: volume {} vs {}",
            e.open_time_ms,
            g.volume,
            e.volume
        );
    }
}

#[test]
fn replayed_trades_aggregate_to_the_recorded_candles() {
    let (Some(trades), Some(minutes), Some(fives)) = (
        shared_data("XRPETH-trades.csv"),
        shared_data("XRPETH-1m.csv"),
        shared_data("XRPETH-5m.csv"),
    ) else {
        return;
    };
    let recording = load(&trades, None).unwrap();
    assert_eq!(recording.symbol.as_str(), "XRPETH");
    assert_eq!(recording.base, Interval::M1);
    assert_eq!(
        recording
            .units
            .iter()
            .map(|u| u.trades.len())
            .sum::<usize>(),
        12_477
    );
    assert_same_candles(&replayed(&trades, Interval::M1), &read_candles(&minutes));
    assert_same_candles(&replayed(&trades, Interval::M5), &read_candles(&fives));
}

#[test]
fn replayed_candles_keep_their_interval() {
    let Some(path) = shared_data("ETHBTC-5m.csv") else {
        return;
    };
    let recording = load(&path, None).unwrap();
    assert_eq!(recording.base, Interval::M5);
    assert_eq!(recording.symbol.as_str(), "ETHBTC");
    let expected = read_candles(&path);
    assert_same_candles(&replayed(&path, Interval::M5), &expected);
    let hours = replayed(&path, Interval::H1);
    assert!(hours.len() >= expected.len() / 12);
    hours.iter().for_each(|c| c.validate().unwrap());
}

fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    (dir, path)
}

fn refusal(name: &str, text: &str) -> (usize, String) {
    let (_dir, path) = temp_file(name, text);
    match load(&path, None) {
        Err(SimError::Replay { file, line, reason }) => {
            assert_eq!(file, path);
            (line, reason)
        }
        other => panic!("{text:?} was not refused with a line: {other:?}"),
    }
}

#[test]
fn malformed_files_are_refused_with_line_and_reason() {
    let trades = "time_ms,trade_id,side,price,amount\n";
    let cases: [(&str, usize, &str); 12] = [
        ("1000,1,buy,0.5", 2, "expected 5 columns"),
        ("1000,1,buy,zero,1", 2, "price \"zero\""),
        ("1000,1,hold,0.5,1", 2, "neither buy nor sell"),
        ("1000,x,buy,0.5,1", 2, "trade_id \"x\""),
        ("1000,1,buy,-0.5,1", 2, "not above zero"),
        ("1000,1,buy,0.5,-1", 2, "negative"),
        ("1000,1,buy,NaN,1", 2, "not a finite number"),
        (
            "2000,1,buy,0.5,1\n1000,2,buy,0.5,1",
            3,
            "before the previous",
        ),
        (
            "1000,5,buy,0.5,1\n2000,5,sell,0.5,1",
            3,
            "does not increase",
        ),
        ("1000,1,buy,0.5,1\n\n1000,2,buy", 4, "expected 5 columns"),
        (
            "1000,1,buy,0.5,1\r\n2000,2,buy,0.5,1\r\n3000,3,buy,0.5,1,9",
            4,
            "expected 5 columns",
        ),
        ("", 1, "no data rows"),
    ];
    for (body, line, reason) in cases {
        let (got_line, got_reason) = refusal("XRPETH-trades.csv", &format!("{trades}{body}"));
        assert_eq!(got_line, line, "{body:?}: {got_reason}");
        assert!(got_reason.contains(reason), "{body:?}: {got_reason}");
    }
    let candles = "open_time_ms,open,high,low,close,volume\n";
    let cases: [(&str, usize, &str); 7] = [
        ("60000,1,2,0.5,1.5", 2, "at least 6 columns"),
        (
            "60000,1,2,0.5,1.5,10\n120000,1,0.9,0.5,1,3",
            3,
            "high 0.9 is below",
        ),
        (
            "60000,1,2,0.5,1.5,10\n60000,1,2,0.5,1,3",
            3,
            "not after the previous",
        ),
        ("60000,1,2,0.5,1.5,10", 2, "at least two candles"),
        ("60000,1,2,0.5,1.5,10\n90000,1,2,0.5,1,3", 3, "30000 ms"),
        (
            "60000,1,2,0.5,1.5,10\n120000,1,2,0.5,1,3\n190000,1,2,0.5,1,3",
            4,
            "not on the 1m grid",
        ),
        ("6e4,1,2,0.5,1.5,10", 2, "not a whole number"),
    ];
    for (body, line, reason) in cases {
        let (got_line, got_reason) = refusal("ETHBTC-1m.csv", &format!("{candles}{body}"));
        assert_eq!(got_line, line, "{body:?}: {got_reason}");
        assert!(got_reason.contains(reason), "{body:?}: {got_reason}");
    }
}

#[test]
fn binance_dumps_and_symbols() {
    // 12 columns, microsecond times, no header.
    let dump = "1700000040000000,1.0,2.0,0.5,1.5,10,1700000099999999,15.5,7,0,0,0\n\
                1700000100000000,1.5,2.0,1.0,1.2,4,1700000159999999,6.5,3,0,0,0\n";
    let (_dir, path) = temp_file("BNBBTC-1m-2023-11.csv", dump);
    let recording = load(&path, None).unwrap();
    assert_eq!(recording.symbol.as_str(), "BNBBTC");
    assert_eq!(recording.base, Interval::M1);
    assert_eq!(recording.first_open_ms(), 1_700_000_040_000);
    assert_eq!(recording.units[0].candle.quote_volume, 15.5);
    assert_eq!(recording.units[1].candle.trades, 3);
    let given = Symbol::new("ETHUSDT").unwrap();
    assert_eq!(load(&path, Some(given)).unwrap().symbol, given);

    let (_dir, nameless) = temp_file("my data.csv", dump);
    assert!(matches!(
        load(&nameless, None),
        Err(SimError::ReplaySymbol { .. })
    ));
    let missing = PathBuf::from("/nonexistent/XRPETH-trades.csv");
    let error = load(&missing, None).unwrap_err();
    assert!(matches!(error, SimError::ReplayRead { .. }));
    assert!(
        error.to_string().contains("/nonexistent/XRPETH-trades.csv"),
        "{error}"
    );
}
