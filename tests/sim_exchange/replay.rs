//! Replay of recorded data through the same protocol.

use std::path::PathBuf;
use std::time::Duration;

use trademon::domain::Interval;
use trademon::feed::binance::WsEvent;
use trademon::feed::sim::{SimError, SimOptions, start};

use crate::support::*;

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

/// 2019-10-11 00:00 UTC: the first minute of XRPETH-trades.csv.
const XRPETH_FIRST_MS: i64 = 1_570_752_000_000;

#[tokio::test]
async fn replayed_trades_serve_the_recorded_candles_and_trades() {
    let (Some(trades), Some(minutes)) = (
        shared_data("XRPETH-trades.csv"),
        shared_data("XRPETH-1m.csv"),
    ) else {
        return;
    };
    let mut options = SimOptions::new(1, Vec::new());
    options.replay = Some(trades);
    options.speed = 6000.0;
    options.history_minutes = 60;
    options.push_interval = Duration::from_millis(50);
    let sim = start_sim(options).await;
    assert_eq!(sim.symbols(), vec![symbol("XRPETH")]);
    assert!(sim.now_ms() >= XRPETH_FIRST_MS + 60 * 60_000);

    // History: the first hour of the file, candle for candle (minutes without trades are absent).
    let expected: Vec<(i64, f64, f64, f64, f64)> = std::fs::read_to_string(minutes)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
            )
        })
        .take_while(|c| c.0 < XRPETH_FIRST_MS + 60 * 60_000)
        .collect();
    let query = format!(
        "symbol=XRPETH&interval=1m&startTime={XRPETH_FIRST_MS}&endTime={}",
        XRPETH_FIRST_MS + 59 * 60_000
    );
    let served = rest_klines(&sim, &query, Interval::M1).await;
    let served: Vec<_> = served
        .iter()
        .map(|c| (c.open_time_ms, c.open, c.high, c.low, c.close))
        .collect();
    assert_eq!(served, expected);

    // Live: the file's trades in order, ids as recorded.
    let mut ws = connect(&sim, "/ws/xrpeth@trade").await;
    let events = events_for(&mut ws, Duration::from_secs(2)).await;
    let ids: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            WsEvent::Trade { trade, .. } => Some(trade.trade_id),
            _ => None,
        })
        .collect();
    assert!(ids.len() > 100, "{} trades", ids.len());
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "trades skipped");
    assert!(ids[0] > 13_519_807);
    // Finer than the recording is refused; coarser is served.
    let (status, _, _) = get(&sim, "/api/v3/klines?symbol=XRPETH&interval=1s").await;
    assert_eq!(status, 400);
    assert!(
        !rest_klines(&sim, "symbol=XRPETH&interval=1h", Interval::H1)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_bad_replay_file_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("XRPETH-trades.csv");
    std::fs::write(
        &path,
        "time_ms,trade_id,side,price,amount\n1000,1,buy,0.5,1\n1001,2,buy,oops,1\n",
    )
    .unwrap();
    let mut options = SimOptions::new(1, Vec::new());
    options.replay = Some(path.clone());
    let error = start(options, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap_err();
    let SimError::Replay { file, line, reason } = &error else {
        panic!("{error}");
    };
    assert_eq!((file, *line), (&path, 3));
    assert!(reason.contains("oops"), "{error}");
    assert!(error.to_string().contains("line 3"), "{error}");

    let mut options = SimOptions::new(1, vec![symbol("BTCUSDT")]);
    options.speed = f64::NAN;
    let error = start(options, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            SimError::InvalidOption {
                option: "speed",
                ..
            }
        ),
        "{error}"
    );
    let error = start(
        SimOptions::new(1, Vec::new()),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            error,
            SimError::InvalidOption {
                option: "symbols",
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn same_seed_same_exchange() {
    let a = start_sim(options(60.0)).await;
    let b = start_sim(options(60.0)).await;
    let query = format!(
        "symbol=ETHUSDT&interval=1m&startTime={}&limit=600",
        START_MS - 600 * 60_000
    );
    assert_eq!(
        rest_klines(&a, &query, Interval::M1).await,
        rest_klines(&b, &query, Interval::M1).await
    );
    let mut other = options(60.0);
    other.seed = 43;
    let c = start_sim(other).await;
    assert_ne!(
        rest_klines(&a, &query, Interval::M1).await,
        rest_klines(&c, &query, Interval::M1).await
    );
}
