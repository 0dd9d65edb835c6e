//! REST endpoints: ping, time, exchangeInfo, klines paging and limits, and every kind of bad input.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use trademon::domain::Interval;

use crate::support::*;

#[tokio::test]
async fn ping_time_and_exchange_info() {
    let sim = start_sim(options(60.0)).await;
    let (status, body, headers) = get(&sim, "/api/v3/ping").await;
    assert_eq!((status, body.as_str()), (200, "{}"));
    assert!(headers.get("x-mbx-used-weight-1m").is_some());

    let (status, body, _) = get(&sim, "/api/v3/time").await;
    assert_eq!(status, 200);
    let time: serde_json::Value = serde_json::from_str(&body).unwrap();
    let server_time = time["serverTime"].as_i64().unwrap();
    assert!((server_time - sim.now_ms()).abs() < 60_000, "{server_time}");
    assert!(server_time >= START_MS);

    let (status, body, _) = get(&sim, "/api/v3/exchangeInfo").await;
    assert_eq!(status, 200);
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["timezone"], "UTC");
    assert!(info["serverTime"].as_i64().unwrap() >= START_MS);
    let symbols = info["symbols"].as_array().unwrap();
    assert_eq!(symbols.len(), 2);
    assert_eq!(symbols[0]["symbol"], "BTCUSDT");
    assert_eq!(symbols[0]["status"], "TRADING");
    assert_eq!(symbols[0]["baseAsset"], "BTC");
    assert_eq!(symbols[0]["quoteAsset"], "USDT");
    assert_eq!(symbols[1]["baseAsset"], "ETH");
    assert_eq!(sim.faults().rest_requests(), 3);
}

#[tokio::test]
async fn klines_page_like_binance() {
    let sim = start_sim(options(60.0)).await;
    let m1 = Interval::M1;
    // Default limit 500: the latest, oldest first; the last one may be the open candle (once
    // the minute has a trade).
    let latest = rest_klines(&sim, "symbol=BTCUSDT&interval=1m", m1).await;
    assert_eq!(latest.len(), 500);
    assert_contiguous(&latest, m1);
    assert!(latest[499].open_time_ms >= START_MS - 60_000);
    assert!(latest[499].open_time_ms <= sim.now_ms());

    // History from the series start, in pages of at most 1000.
    let first = START_MS - 600 * 60_000;
    let query = format!("symbol=BTCUSDT&interval=1m&startTime={first}&limit=1000");
    let page = rest_klines(&sim, &query, m1).await;
    assert!(page.len() >= 600, "{}", page.len());
    assert_eq!(page[0].open_time_ms, first);
    assert_contiguous(&page, m1);
    let closed = sim.closed_candles(symbol("BTCUSDT"), m1);
    assert_eq!(&page[..600], &closed[..600]);
    page.iter().for_each(|c| c.validate().unwrap());

    // startTime + endTime are inclusive; limit keeps the oldest.
    let end = first + 9 * 60_000;
    let query = format!("symbol=BTCUSDT&interval=1m&startTime={first}&endTime={end}");
    assert_eq!(rest_klines(&sim, &query, m1).await, closed[..10].to_vec());
    let query = format!("symbol=BTCUSDT&interval=1m&startTime={first}&endTime={end}&limit=3");
    assert_eq!(rest_klines(&sim, &query, m1).await, closed[..3].to_vec());
    // endTime alone: the latest `limit` at or before it.
    let query = format!("symbol=BTCUSDT&interval=1m&endTime={end}&limit=2");
    assert_eq!(rest_klines(&sim, &query, m1).await, closed[8..10].to_vec());
    // The next page continues where the last ended.
    let query = format!("symbol=BTCUSDT&interval=1m&startTime={}&limit=5", end + 1);
    assert_eq!(rest_klines(&sim, &query, m1).await, closed[10..15].to_vec());
    // Nothing from the future, nothing before the series.
    let future = START_MS + 1_000 * 60_000;
    let query = format!("symbol=BTCUSDT&interval=1m&startTime={future}");
    assert!(rest_klines(&sim, &query, m1).await.is_empty());
    let query = format!("symbol=BTCUSDT&interval=1m&endTime={}", first - 1);
    assert!(rest_klines(&sim, &query, m1).await.is_empty());

    // Coarser intervals are the 1m candles aggregated on their grid.
    let fives = rest_klines(&sim, "symbol=ETHUSDT&interval=5m&limit=1000", Interval::M5).await;
    assert_eq!(fives[0].open_time_ms, first);
    assert_eq!(
        &fives[..120],
        sim.closed_candles(symbol("ETHUSDT"), Interval::M5)[..120].to_vec()
    );
    let weekly = rest_klines(&sim, "symbol=ETHUSDT&interval=1w", Interval::W1).await;
    assert_eq!(weekly.len(), 1);
}

#[tokio::test]
async fn bad_klines_parameters_get_binance_errors() {
    let sim = start_sim(options(60.0)).await;
    let cases: [(&str, u16, i64); 17] = [
        ("interval=1m", 400, -1102),
        ("symbol=BTCUSDT", 400, -1102),
        ("symbol=&interval=1m", 400, -1102),
        ("symbol=NOPEUSDT&interval=1m", 400, -1121),
        ("symbol=btcusdt&interval=1m", 400, -1100),
        ("symbol=BTC%2DUSDT&interval=1m", 400, -1100),
        ("symbol=BTCUSDT&interval=1s", 400, -1120),
        ("symbol=BTCUSDT&interval=7m", 400, -1120),
        ("symbol=BTCUSDT&interval=1M", 400, -1120),
        ("symbol=BTCUSDT&interval=1m&limit=1001", 400, -1130),
        ("symbol=BTCUSDT&interval=1m&limit=0", 400, -1130),
        ("symbol=BTCUSDT&interval=1m&limit=ten", 400, -1100),
        ("symbol=BTCUSDT&interval=1m&startTime=-5", 400, -1100),
        ("symbol=BTCUSDT&interval=1m&endTime=1.5e12", 400, -1100),
        (
            "symbol=BTCUSDT&interval=1m&startTime=20&endTime=10",
            400,
            -1023,
        ),
        ("symbol=BTCUSDT&symbol=ETHUSDT&interval=1m", 400, -1101),
        ("symbol=BTCUSDT&interval=1m&limit=%zz", 400, -1100),
    ];
    for (query, status, code) in cases {
        let (got_status, body, _) = get(&sim, &format!("/api/v3/klines?{query}")).await;
        assert_eq!(got_status, status, "{query}: {body}");
        assert_eq!(error_code(&body), code, "{query}: {body}");
    }
    let (status, body, _) = get(&sim, "/api/v3/nothing").await;
    assert_eq!(status, 404, "{body}");
    let (status, _, _) = get(&sim, "/ws/btcusdt@kline_1m").await;
    assert_eq!(status, 400, "a websocket path without an upgrade");
    let response = reqwest::Client::new()
        .post(format!("{}/api/v3/klines", sim.rest_url()))
        .body("symbol=BTCUSDT")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    // After all that, still serving.
    assert_eq!(get(&sim, "/api/v3/ping").await.0, 200);
}

/// Sends raw bytes and returns what comes back before the server closes the connection.
async fn raw_exchange(sim: &trademon::feed::sim::SimHandle, bytes: &[u8]) -> Vec<u8> {
    let mut socket = TcpStream::connect(sim.addr()).await.unwrap();
    // The server may close while we still write (oversized heads): that is the point.
    let _ = socket.write_all(bytes).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server kept a garbage connection open");
    answer
}

#[tokio::test]
async fn garbage_http_closes_the_connection_only() {
    let sim = start_sim(options(60.0)).await;
    let oversized = format!(
        "GET /api/v3/ping HTTP/1.1\r\nX-Junk: {}\r\n",
        "a".repeat(20_000)
    );
    let garbage: [&[u8]; 5] = [
        b"GARBAGE\r\n\r\n",
        b"\x00\x01\x02\xff\xfe\r\n\r\n",
        b"GET /api/v3/ping HTTP/9.9\r\n\r\n",
        b"GET /api/v3/ping HTTP/1.1\r\nno colon here\r\n\r\n",
        oversized.as_bytes(),
    ];
    for bytes in garbage {
        let answer = raw_exchange(&sim, bytes).await;
        assert!(answer.is_empty(), "{:?}", String::from_utf8_lossy(&answer));
    }
    // A well-formed request on a raw socket, keep-alive, two in a row (pipelined).
    let twice = b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v3/ping HTTP/1.1\r\nConnection: close\r\n\r\n";
    let answer = String::from_utf8(raw_exchange(&sim, twice).await).unwrap();
    assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 2, "{answer}");
    // Chunked bodies are refused with a 400.
    let chunked = b"GET /api/v3/ping HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let answer = String::from_utf8(raw_exchange(&sim, chunked).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(get(&sim, "/api/v3/ping").await.0, 200);
}
