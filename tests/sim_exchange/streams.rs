//! Websocket streams: raw and combined, closed klines complete and equal to REST, trades in order,
//! pings, and refusals before the upgrade.

use std::time::Duration;

use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use trademon::domain::Interval;
use trademon::feed::binance::WsEvent;

use crate::support::*;

#[tokio::test]
async fn raw_kline_stream_sends_every_closed_candle_equal_to_rest() {
    // 100 simulated minutes per real second: several candles close between two pushes.
    let sim = start_sim(options(6000.0)).await;
    let mut ws = connect(&sim, "/ws/btcusdt@kline_1m").await;
    let events = events_for(&mut ws, Duration::from_secs(3)).await;
    let closed = closed_klines(&events, Interval::M1);
    assert!(
        closed.len() >= 150,
        "only {} closed klines in 3 s",
        closed.len()
    );
    assert_contiguous(&closed, Interval::M1);
    assert!(closed[0].open_time_ms >= START_MS, "history was re-sent");
    let open_updates = events
        .iter()
        .filter(|e| matches!(e, WsEvent::Kline { closed: false, .. }))
        .count();
    assert!(open_updates > 10, "{open_updates} open-candle updates");
    for event in &events {
        let WsEvent::Kline {
            symbol,
            event_time_ms,
            candle,
            ..
        } = event
        else {
            panic!("a trade on a kline stream");
        };
        assert_eq!(symbol.as_str(), "BTCUSDT");
        assert!(*event_time_ms >= candle.open_time_ms);
    }

    let query = format!(
        "symbol=BTCUSDT&interval=1m&startTime={}&limit=1000",
        closed[0].open_time_ms
    );
    let rest = rest_klines(&sim, &query, Interval::M1).await;
    assert_eq!(&rest[..closed.len()], closed.as_slice());
    let all = sim.closed_candles(symbol("BTCUSDT"), Interval::M1);
    let from = all.iter().position(|c| *c == closed[0]).unwrap();
    assert_eq!(&all[from..from + closed.len()], closed.as_slice());
}

#[tokio::test]
async fn combined_streams_wrap_events_and_keep_order() {
    let sim = start_sim(options(6000.0)).await;
    let path = "/stream?streams=ethusdt@kline_5m/btcusdt@trade/ethusdt@kline_1m";
    let mut ws = connect(&sim, path).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let mut by_stream: std::collections::HashMap<String, Vec<WsEvent>> = Default::default();
    while tokio::time::Instant::now() < deadline {
        let Some(Message::Text(text)) = next_frame(&mut ws, Duration::from_secs(1)).await else {
            continue;
        };
        let wrapper: serde_json::Value = serde_json::from_str(&text).unwrap();
        let stream = wrapper["stream"].as_str().unwrap().to_string();
        assert!(wrapper["data"].is_object());
        let event = trademon::feed::binance::parse_ws_message(&text).unwrap();
        by_stream.entry(stream).or_default().push(event);
    }
    assert_eq!(by_stream.len(), 3, "{:?}", by_stream.keys());

    let trades: Vec<_> = by_stream["btcusdt@trade"]
        .iter()
        .map(|e| match e {
            WsEvent::Trade { symbol, trade, .. } => {
                assert_eq!(symbol.as_str(), "BTCUSDT");
                *trade
            }
            other => panic!("{other:?} on the trade stream"),
        })
        .collect();
    assert!(trades.len() > 1000, "{} trades", trades.len());
    for pair in trades.windows(2) {
        assert_eq!(
            pair[1].trade_id,
            pair[0].trade_id + 1,
            "a trade was skipped"
        );
        assert!(pair[1].time_ms >= pair[0].time_ms);
    }

    let fives = closed_klines(&by_stream["ethusdt@kline_5m"], Interval::M5);
    let ones = closed_klines(&by_stream["ethusdt@kline_1m"], Interval::M1);
    assert!(
        fives.len() >= 30 && ones.len() >= 150,
        "{} {}",
        fives.len(),
        ones.len()
    );
    assert_contiguous(&fives, Interval::M5);
    assert_contiguous(&ones, Interval::M1);
    let rest_fives = rest_klines(
        &sim,
        &format!(
            "symbol=ETHUSDT&interval=5m&startTime={}",
            fives[0].open_time_ms
        ),
        Interval::M5,
    )
    .await;
    assert_eq!(&rest_fives[..fives.len()], fives.as_slice());
}

#[tokio::test]
async fn pings_arrive_and_client_pings_get_pongs() {
    let mut options = options(60.0);
    options.ping_interval = Duration::from_millis(100);
    let sim = start_sim(options).await;
    let mut ws = connect(&sim, "/ws/ethusdt@kline_1h").await;
    let mut pings = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while tokio::time::Instant::now() < deadline {
        if let Some(Message::Ping(_)) = next_frame(&mut ws, Duration::from_millis(500)).await {
            pings += 1;
        }
    }
    assert!(pings >= 5, "{pings} pings in a second at a 100 ms interval");

    use futures_util::SinkExt;
    ws.send(Message::Ping("hello".into())).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        assert!(tokio::time::Instant::now() < deadline, "no pong");
        if let Some(Message::Pong(payload)) = next_frame(&mut ws, Duration::from_secs(1)).await {
            assert_eq!(&payload[..], b"hello");
            break;
        }
    }
}

#[tokio::test]
async fn unknown_streams_are_refused_before_the_upgrade() {
    let sim = start_sim(options(60.0)).await;
    let refused = [
        "/ws/btcusdt@kline_1s",
        "/ws/btcusdt@kline_7m",
        "/ws/nopeusdt@trade",
        "/ws/btcusdt@aggTrade",
        "/ws/BTCUSDT@trade",
        "/ws/garbage",
        "/ws",
        "/stream",
        "/stream?streams=",
        "/stream?streams=btcusdt@trade/%zz",
    ];
    for path in refused {
        let url = format!("{}{path}", sim.ws_url());
        match tokio_tungstenite::connect_async(url).await {
            Err(WsError::Http(response)) => {
                assert_eq!(response.status().as_u16(), 400, "{path}");
                let body = String::from_utf8(response.body().clone().unwrap_or_default()).unwrap();
                error_code(&body);
            }
            other => panic!("{path}: not refused: {:?}", other.map(|(_, r)| r.status())),
        }
    }
    assert_eq!(sim.faults().connections_accepted(), 0);
    // Raw streams may be several, as on Binance; duplicates count once.
    let mut ws = connect(&sim, "/ws/btcusdt@trade/btcusdt@trade/ethusdt@trade").await;
    let events = events_for(&mut ws, Duration::from_millis(1500)).await;
    assert!(events.iter().any(|e| matches!(e, WsEvent::Trade { .. })));
}
