//! Fault injection: each fault does what it says, and the counters count.

use std::time::Duration;

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use trademon::domain::Interval;

use crate::support::*;

#[tokio::test]
async fn dropped_connections_end_without_a_close_frame() {
    let sim = start_sim(options(600.0)).await;
    let mut ws = connect(&sim, "/ws/btcusdt@trade").await;
    assert!(
        !events_for(&mut ws, Duration::from_millis(300))
            .await
            .is_empty()
    );
    assert_eq!(sim.faults().open_connections(), 1);
    sim.faults().drop_connections();
    let ended = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => panic!("got a close frame {frame:?}"),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => break,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection was not dropped");
    // New connections are normal.
    let mut again = connect(&sim, "/ws/btcusdt@trade").await;
    assert!(
        !events_for(&mut again, Duration::from_millis(300))
            .await
            .is_empty()
    );
    assert_eq!(sim.faults().connections_accepted(), 2);
}

#[tokio::test]
async fn frozen_connections_go_silent_but_stay_open() {
    let mut options = options(600.0);
    options.ping_interval = Duration::from_millis(50);
    let sim = start_sim(options).await;
    let mut ws = connect(&sim, "/ws/btcusdt@trade").await;
    assert!(
        !events_for(&mut ws, Duration::from_millis(200))
            .await
            .is_empty()
    );
    sim.faults().freeze_connections();
    // Let frames already in flight arrive, then expect total silence: no data, no pings.
    tokio::time::sleep(Duration::from_millis(100)).await;
    while next_frame(&mut ws, Duration::from_millis(10))
        .await
        .is_some()
    {}
    assert_eq!(next_frame(&mut ws, Duration::from_millis(800)).await, None);
    assert_eq!(
        sim.faults().open_connections(),
        1,
        "the frozen connection was closed"
    );
    let mut fresh = connect(&sim, "/ws/btcusdt@trade").await;
    assert!(
        !events_for(&mut fresh, Duration::from_millis(300))
            .await
            .is_empty()
    );
    // A frozen connection goes away when the client does.
    drop(ws);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sim.faults().open_connections(), 1);
}

#[tokio::test]
async fn injected_frames_reach_every_connection() {
    let sim = start_sim(options(60.0)).await;
    let mut a = connect(&sim, "/ws/btcusdt@kline_1m").await;
    let mut b = connect(&sim, "/stream?streams=ethusdt@trade").await;
    sim.faults().inject_text("{not json".to_string());
    sim.faults().inject_binary(vec![0, 159, 146, 150]);
    for ws in [&mut a, &mut b] {
        let mut got_text = false;
        let mut got_binary = false;
        for _ in 0..50 {
            match next_frame(ws, Duration::from_secs(1)).await {
                Some(Message::Text(text)) if text.as_str() == "{not json" => got_text = true,
                Some(Message::Binary(bytes)) => {
                    assert_eq!(&bytes[..], &[0, 159, 146, 150]);
                    got_binary = true;
                }
                Some(_) => {}
                None => break,
            }
            if got_text && got_binary {
                break;
            }
        }
        assert!(got_text && got_binary);
    }
}

#[tokio::test]
async fn rest_rate_limit_answers_429_with_retry_after() {
    let sim = start_sim(options(60.0)).await;
    sim.faults().rate_limit_rest(2, 3);
    let path = "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=5";
    // Only klines are limited.
    assert_eq!(get(&sim, "/api/v3/ping").await.0, 200);
    for _ in 0..2 {
        let (status, body, headers) = get(&sim, path).await;
        assert_eq!(status, 429);
        assert_eq!(headers["retry-after"], "3");
        assert_eq!(body, r#"{"code":-1003,"msg":"Too many requests."}"#);
    }
    let (status, _, _) = get(&sim, path).await;
    assert_eq!(status, 200);
    assert_eq!(sim.faults().rate_limited_sent(), 2);
    assert_eq!(sim.faults().rest_requests(), 4);
}

#[tokio::test]
async fn paused_streaming_leaves_a_gap_that_rest_fills() {
    let mut options = options(6000.0);
    options.ping_interval = Duration::from_millis(100);
    let sim = start_sim(options).await;
    let mut ws = connect(&sim, "/ws/btcusdt@kline_1m").await;
    let before = closed_klines(
        &events_for(&mut ws, Duration::from_millis(500)).await,
        Interval::M1,
    );
    sim.faults().pause_streaming(true);
    tokio::time::sleep(Duration::from_millis(100)).await;
    while next_frame(&mut ws, Duration::from_millis(10))
        .await
        .is_some()
    {}
    let mut pings = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(600);
    while tokio::time::Instant::now() < deadline {
        match next_frame(&mut ws, Duration::from_millis(200)).await {
            Some(Message::Ping(_)) => pings += 1,
            Some(Message::Text(text)) => panic!("market data while paused: {text}"),
            _ => {}
        }
    }
    assert!(pings >= 3, "{pings} pings while paused");
    sim.faults().pause_streaming(false);
    let after = closed_klines(
        &events_for(&mut ws, Duration::from_millis(500)).await,
        Interval::M1,
    );
    let (last_before, first_after) = (before.last().unwrap(), after.first().unwrap());
    let missing = (first_after.open_time_ms - last_before.open_time_ms) / 60_000 - 1;
    assert!(
        missing >= 30,
        "only {missing} candles skipped over a 0.7 s pause"
    );
    // REST has every one of them.
    let query = format!(
        "symbol=BTCUSDT&interval=1m&startTime={}&endTime={}",
        last_before.open_time_ms, first_after.open_time_ms
    );
    let repaired = rest_klines(&sim, &query, Interval::M1).await;
    assert_eq!(repaired.len() as i64, missing + 2);
    assert_eq!(repaired[0], *last_before);
    assert_eq!(repaired[repaired.len() - 1], *first_after);
}

#[tokio::test]
async fn old_connections_are_closed_and_shutdown_closes_everything() {
    let mut options = options(60.0);
    options.max_connection_age = Duration::from_millis(300);
    let sim = start_sim(options).await;
    let mut ws = connect(&sim, "/ws/btcusdt@kline_1m").await;
    let closed = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) => return true,
                Some(Ok(_)) => continue,
                _ => return false,
            }
        }
    })
    .await;
    assert_eq!(closed.ok(), Some(true), "no close frame at the age limit");

    let sim = start_sim(crate::support::options(60.0)).await;
    let mut ws = connect(&sim, "/ws/btcusdt@kline_1m").await;
    sim.shutdown();
    let closed = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) => return true,
                Some(Ok(_)) => continue,
                _ => return false,
            }
        }
    })
    .await;
    assert_eq!(closed.ok(), Some(true), "no close frame at shutdown");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let url = format!("{}/ws/btcusdt@trade", sim.ws_url());
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
}
