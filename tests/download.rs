//! `trademon download` end to end: the real binary against the built-in exchange on a loopback
//! port, a real SQLite file, and the exchange's faults (429 with Retry-After, a connection dropped
//! mid-page, garbage pages, a 418 ban). What is stored always equals what the exchange serves, in
//! whole pages, and the next run completes the range.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::{text, trademon};
use trademon::domain::{Candle, Interval, Symbol};
use trademon::feed::sim::{SimHandle, SimOptions, start};
use trademon::store::Store;

/// 2023-11-15 00:00 UTC: the exchange's clock at start.
const START_MS: i64 = 1_700_006_400_000;
const HISTORY_MINUTES: u32 = 4_200;

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

async fn exchange() -> SimHandle {
    let mut options = SimOptions::new(42, vec![btc(), Symbol::new("ETHUSDT").unwrap()]);
    // Slow enough that no candle closes during a test.
    options.speed = 0.001;
    options.history_minutes = HISTORY_MINUTES;
    options.start_ms = Some(START_MS);
    start(options, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn from_ms() -> String {
    (START_MS - i64::from(HISTORY_MINUTES) * 60_000).to_string()
}

/// `download` against `sim` into `db`, in a blocking thread so the exchange keeps serving.
async fn download(dir: &Path, sim: &SimHandle, extra: &[&str]) -> std::process::Output {
    let (dir, url) = (dir.to_path_buf(), sim.rest_url());
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let db = dir.join("d.db");
        let from = from_ms();
        let mut args = vec![
            "--db",
            db.to_str().unwrap(),
            "download",
            "--rest-url",
            &url,
            "--symbol",
            "BTCUSDT",
            "--from",
            &from,
            "--json",
        ];
        args.extend(extra.iter().map(String::as_str));
        trademon(&dir, &args)
    })
    .await
    .unwrap()
}

fn report(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

fn stored(dir: &Path, interval: Interval) -> Vec<Candle> {
    Store::open(&dir.join("d.db"))
        .unwrap()
        .candles_between(btc(), interval, i64::MIN, i64::MAX)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_everything_once_then_nothing() {
    let sim = exchange().await;
    let dir = tempfile::tempdir().unwrap();
    let first = download(dir.path(), &sim, &["--interval", "1m,5m"]).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    let r = report(&first);
    for interval in [Interval::M1, Interval::M5] {
        let expected = sim.closed_candles(btc(), interval);
        assert!(expected.len() > 800, "{}", expected.len());
        assert_eq!(stored(dir.path(), interval), expected, "{interval}");
    }
    assert_eq!(r["series"][0]["interval"], "1m");
    assert_eq!(r["series"][0]["added"], 4_200);
    // 4,200 one-minute candles come in five pages of at most 1,000.
    assert_eq!(r["series"][0]["pages"], 5);
    assert_eq!(r["series"][0]["exchange_gaps"], serde_json::json!([]));

    let second = download(dir.path(), &sim, &["--interval", "1m,5m"]).await;
    assert!(second.status.success(), "{}", text(&second.stderr));
    let r = report(&second);
    assert_eq!(r["added"], 0);
    assert_eq!(
        r["requests"], 0,
        "a second run asks the exchange for nothing"
    );
    assert_eq!(r["series"][0]["missing_before"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_out_429s_and_retries_a_dropped_connection() {
    let sim = exchange().await;
    let dir = tempfile::tempdir().unwrap();
    sim.faults().rate_limit_rest(2, 1);
    sim.faults().cut_rest(1);
    let out = download(dir.path(), &sim, &["--interval", "1m"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = report(&out);
    assert_eq!(r["series"][0]["rate_limited"], 2);
    assert_eq!(r["series"][0]["retries"], 1);
    assert_eq!(
        stored(dir.path(), Interval::M1),
        sim.closed_candles(btc(), Interval::M1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_pages_leave_whole_pages_and_the_next_run_completes() {
    let sim = exchange().await;
    let dir = tempfile::tempdir().unwrap();
    let all = sim.closed_candles(btc(), Interval::M1);
    // Two good pages, then garbage for longer than the retries last.
    sim.faults().garbage_rest(2, 100);
    let out = download(dir.path(), &sim, &["--interval", "1m"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: the download stopped early"),
        "{stderr}"
    );
    let r = report(&out);
    assert!(
        r["series"][0]["error"]
            .as_str()
            .unwrap()
            .contains("bad answer")
    );
    assert_eq!(stored(dir.path(), Interval::M1), all[..2000].to_vec());

    sim.faults().garbage_rest(0, 0);
    let out = download(dir.path(), &sim, &["--interval", "1m"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = report(&out);
    assert_eq!(r["series"][0]["missing_before"], 2_200);
    assert_eq!(r["series"][0]["added"], 2_200);
    assert_eq!(stored(dir.path(), Interval::M1), all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ban_stops_every_request() {
    let sim = exchange().await;
    let dir = tempfile::tempdir().unwrap();
    sim.faults().ban_rest(true);
    let before = sim.faults().rest_requests();
    let out = download(dir.path(), &sim, &["--interval", "1m,5m"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("banned"),
        "{}",
        text(&out.stderr)
    );
    // One time request, one klines request; nothing after the 418.
    assert_eq!(sim.faults().rest_requests() - before, 2);
    assert!(stored(dir.path(), Interval::M1).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exchanges_own_holes_are_reported_and_not_asked_again() {
    // A recorded file with a hole of 30 minutes, served by the built-in exchange.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("XRPETH-1m.csv");
    let mut csv = String::from("open_time_ms,open,high,low,close,volume\n");
    let t0: i64 = 1_600_000_000_000 / 60_000 * 60_000;
    for k in (0..200).filter(|k| !(50..80).contains(k)) {
        csv.push_str(&format!("{},1.0,1.5,0.5,1.2,10\n", t0 + k * 60_000));
    }
    std::fs::write(&file, csv).unwrap();
    let mut options = SimOptions::new(1, vec![]);
    options.replay = Some(file);
    options.history_minutes = 400;
    options.speed = 0.001;
    let sim = start(options, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (d, url) = (dir.path().to_path_buf(), sim.rest_url());
    let run = move || {
        let db = d.join("d.db");
        let from = t0.to_string();
        let to = (t0 + 200 * 60_000).to_string();
        trademon(
            &d,
            &[
                "--db",
                db.to_str().unwrap(),
                "download",
                "--rest-url",
                &url,
                "--symbol",
                "XRPETH",
                "--interval",
                "1m",
                "--from",
                &from,
                "--to",
                &to,
                "--json",
            ],
        )
    };
    let first = tokio::task::spawn_blocking(run.clone()).await.unwrap();
    assert!(first.status.success(), "{}", text(&first.stderr));
    let r = report(&first);
    assert_eq!(r["series"][0]["added"], 170);
    assert_eq!(
        r["series"][0]["exchange_gaps"],
        serde_json::json!([[t0 + 50 * 60_000, 30]])
    );
    let second = tokio::task::spawn_blocking(run).await.unwrap();
    assert_eq!(report(&second)["requests"], 0);
}

#[test]
fn bad_input_is_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let db = db.to_str().unwrap();
    for (args, needle) in [
        (
            vec![
                "download",
                "--symbol",
                "BTC/USDT",
                "--interval",
                "1m",
                "--from",
                "2024-01-01",
            ],
            "BTC/USDT",
        ),
        (
            vec![
                "download",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "7m",
                "--from",
                "2024-01-01",
            ],
            "7m",
        ),
        (
            vec![
                "download",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "1m",
                "--from",
                "yesterday",
            ],
            "yesterday",
        ),
        (
            vec![
                "download",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "1m",
                "--from",
                "2024-02-01",
                "--to",
                "2024-01-01",
            ],
            "is not after --from",
        ),
        (
            vec![
                "download",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "1m",
                "--from",
                "1990-01-01",
            ],
            "simulates at most",
        ),
        (
            vec![
                "download",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "1m",
                "--from",
                "2024-01-01",
                "--source",
                "replay:x.csv",
            ],
            "trademon import",
        ),
    ] {
        let mut all = vec!["--db", db];
        all.extend(args.iter());
        let out = trademon(dir.path(), &all);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error:"), "{args:?}: {stderr}");
    }
}

#[test]
fn from_the_built_in_exchange_without_a_url() {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let to = (now - 3_600_000) / 60_000 * 60_000;
    let from = (to - 2 * 86_400_000).to_string();
    let to = to.to_string();
    let args = [
        "download",
        "--symbol",
        "BTCUSDT",
        "--interval",
        "1m",
        "--from",
        &from,
        "--to",
        &to,
        "--json",
    ];
    let first = trademon(dir.path(), &args);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let r = report(&first);
    assert_eq!(r["series"][0]["added"], 2 * 1440);
    // Simulated prices go to simulated.db, never to trademon.db.
    let db = dir.path().join("data/trademon/simulated.db");
    assert!(db.exists(), "{}", db.display());
    let second = trademon(dir.path(), &args);
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_eq!(report(&second)["requests"], 0);
}
