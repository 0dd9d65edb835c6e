//! Shared helpers: starting an exchange, REST calls, websocket connections and reading frames.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use trademon::domain::{Candle, Interval, Symbol};
use trademon::feed::binance::{WsEvent, parse_rest_klines, parse_ws_message};
use trademon::feed::sim::{SimHandle, SimOptions, start};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// 2023-11-15 00:00 UTC.
pub const START_MS: i64 = 1_700_006_400_000;

pub fn symbol(name: &str) -> Symbol {
    Symbol::new(name).unwrap()
}

pub fn options(speed: f64) -> SimOptions {
    let mut options = SimOptions::new(42, vec![symbol("BTCUSDT"), symbol("ETHUSDT")]);
    options.speed = speed;
    options.history_minutes = 600;
    options.start_ms = Some(START_MS);
    options.push_interval = Duration::from_millis(50);
    options
}

pub async fn start_sim(options: SimOptions) -> SimHandle {
    start(options, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// GET a REST path; returns status, body and the response headers.
pub async fn get(sim: &SimHandle, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let response = reqwest::get(format!("{}{path}", sim.rest_url()))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.text().await.unwrap(), headers)
}

/// The Binance error code of an error body.
pub fn error_code(body: &str) -> i64 {
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(
        value["msg"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    value["code"].as_i64().unwrap()
}

pub async fn rest_klines(sim: &SimHandle, query: &str, interval: Interval) -> Vec<Candle> {
    let (status, body, _) = get(sim, &format!("/api/v3/klines?{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    parse_rest_klines(&body, interval)
        .unwrap()
        .into_iter()
        .map(|k| k.candle)
        .collect()
}

pub async fn connect(sim: &SimHandle, path: &str) -> Ws {
    let (ws, response) = tokio_tungstenite::connect_async(format!("{}{path}", sim.ws_url()))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 101);
    ws
}

/// The next frame within `wait`; `None` on timeout. Panics on a read error.
pub async fn next_frame(ws: &mut Ws, wait: Duration) -> Option<Message> {
    match tokio::time::timeout(wait, ws.next()).await {
        Ok(Some(Ok(message))) => Some(message),
        Ok(other) => panic!("connection ended: {other:?}"),
        Err(_) => None,
    }
}

/// Every event arriving within `span`, pings and other frames skipped.
pub async fn events_for(ws: &mut Ws, span: Duration) -> Vec<WsEvent> {
    let deadline = tokio::time::Instant::now() + span;
    let mut events = Vec::new();
    while let Some(left) = deadline.checked_duration_since(tokio::time::Instant::now()) {
        match next_frame(ws, left).await {
            Some(Message::Text(text)) => events.push(parse_ws_message(&text).unwrap()),
            Some(_) => {}
            None => break,
        }
    }
    events
}

/// Closed klines among `events`, oldest first as they arrived.
pub fn closed_klines(events: &[WsEvent], want: Interval) -> Vec<Candle> {
    events
        .iter()
        .filter_map(|e| match e {
            WsEvent::Kline {
                interval,
                candle,
                closed: true,
                ..
            } if *interval == want => Some(*candle),
            _ => None,
        })
        .collect()
}

pub fn assert_contiguous(candles: &[Candle], interval: Interval) {
    for pair in candles.windows(2) {
        assert_eq!(
            pair[1].open_time_ms,
            pair[0].open_time_ms + interval.ms(),
            "closed {interval} klines skipped or repeated"
        );
    }
}
