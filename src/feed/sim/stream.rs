//! Websocket streams: the upgrade handshake, raw (`/ws/<stream>`) and combined
//! (`/stream?streams=a/b`) connections, periodic pushes of trades and klines, pings, the age
//! limit, and the connection faults.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Message};

use super::exchange::Exchange;
use super::faults::ConnectionFault;
use super::rest::{Answer, parse_query};
use super::server::{Context, RequestHead, shutdown_signal};
use crate::domain::{Candle, Interval, Symbol};
use crate::feed::binance::{
    StreamKind, parse_stream_name, write_combined, write_kline_event, write_trade_event,
};

/// Binance allows at most 1024 streams on one connection.
const MAX_STREAMS: usize = 1024;
/// A client that has not answered a ping for this long is disconnected, as on Binance.
const PONG_TIMEOUT: Duration = Duration::from_secs(60);
/// A client that does not take a push's frames within this long is disconnected (slow consumer).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest message or frame read from a client, fragmented or not: clients only need to send
/// pongs and close frames (tungstenite's defaults, 64 MiB and 16 MiB, let one connection buffer
/// that much of an unfinished message). A bigger one drops the connection.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;

/// Is this request for a websocket endpoint?
pub fn is_websocket_path(target: &str) -> bool {
    let path = target.split('?').next().unwrap_or("");
    path == "/stream" || path == "/ws" || path.starts_with("/ws/")
}

/// One stream of a connection and how far it has been sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscription {
    pub name: String,
    pub symbol: Symbol,
    feed: Feed,
}

#[derive(Clone, Debug, PartialEq)]
enum Feed {
    Kline {
        interval: Interval,
        /// Open time of the latest closed candle slot already dealt with.
        last_closed_open_ms: i64,
        last_open_sent: Option<Candle>,
    },
    Trade {
        last_trade_id: Option<u64>,
    },
}

fn bad_request(code: i32, msg: &str) -> Answer {
    Answer::error(400, code, msg)
}

/// The streams a request asks for, checked against what the exchange lists, and whether the
/// connection is combined. Refusals are HTTP 400 answers given before the upgrade.
pub fn subscriptions(
    target: &str,
    exchange: &Exchange,
) -> Result<(bool, Vec<Subscription>), Answer> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (combined, names): (bool, Vec<String>) = if path == "/stream" {
        let params = parse_query(query)?;
        let streams = params
            .iter()
            .find(|(n, _)| n == "streams")
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad_request(-1102, "Mandatory parameter 'streams' was not sent."))?;
        (true, streams.split('/').map(str::to_string).collect())
    } else {
        let rest = path.strip_prefix("/ws").unwrap_or("");
        let names: Vec<String> = rest
            .split('/')
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect();
        (false, names)
    };
    if names.is_empty() {
        return Err(bad_request(
            -1102,
            "No stream given; use /ws/<stream> or /stream?streams=<a>/<b>.",
        ));
    }
    if names.len() > MAX_STREAMS {
        return Err(bad_request(
            -1100,
            "Too many streams; at most 1024 per connection.",
        ));
    }
    let mut subs: Vec<Subscription> = Vec::with_capacity(names.len());
    for name in names {
        if subs.iter().any(|s| s.name == name) {
            continue;
        }
        let kind = parse_stream_name(&name)
            .filter(|_| name == name.to_ascii_lowercase())
            .ok_or_else(|| {
                bad_request(
                    -1100,
                    &format!("Invalid stream name {name:?}; use <symbol>@kline_<interval> or <symbol>@trade in lower case."),
                )
            })?;
        let symbol = match kind {
            StreamKind::Kline(symbol, _) | StreamKind::Trade(symbol) => symbol,
        };
        let feed = exchange
            .with_tape(symbol, |tape| match kind {
                StreamKind::Kline(_, interval) if tape.serves(interval) => Ok(Feed::Kline {
                    interval,
                    last_closed_open_ms: tape.last_closed_slot(interval),
                    last_open_sent: None,
                }),
                StreamKind::Kline(..) => Err(bad_request(-1120, "Invalid interval.")),
                StreamKind::Trade(_) => Ok(Feed::Trade {
                    last_trade_id: tape.last_trade_id(),
                }),
            })
            .ok_or_else(|| bad_request(-1121, "Invalid symbol."))??;
        subs.push(Subscription { name, symbol, feed });
    }
    Ok((combined, subs))
}

/// Everything that happened on these streams since the last call, as text frames in time order
/// per stream: trades, then for each kline stream every candle closed since (`x:true`) and the
/// open candle if it changed (`x:false`).
pub fn collect(exchange: &Exchange, subs: &mut [Subscription], combined: bool) -> Vec<String> {
    let mut frames = Vec::new();
    let mut event = String::new();
    for sub in subs.iter_mut() {
        let symbol = sub.symbol;
        let name = sub.name.as_str();
        let mut emit = |event: &str| {
            if combined {
                let mut wrapped = String::with_capacity(event.len() + name.len() + 24);
                write_combined(&mut wrapped, name, event);
                frames.push(wrapped);
            } else {
                frames.push(event.to_string());
            }
        };
        let feed = &mut sub.feed;
        exchange.with_tape(symbol, |tape| {
            let now_ms = tape.now_ms();
            match feed {
                Feed::Trade { last_trade_id } => {
                    for trade in tape.trades_after(*last_trade_id) {
                        event.clear();
                        write_trade_event(&mut event, symbol, trade, now_ms);
                        emit(&event);
                        *last_trade_id = Some(trade.trade_id);
                    }
                }
                Feed::Kline {
                    interval,
                    last_closed_open_ms,
                    last_open_sent,
                } => {
                    for candle in tape.closed_after(*interval, *last_closed_open_ms) {
                        event.clear();
                        write_kline_event(&mut event, symbol, *interval, &candle, true, now_ms);
                        emit(&event);
                    }
                    *last_closed_open_ms =
                        (*last_closed_open_ms).max(tape.last_closed_slot(*interval));
                    if let Some(open) = tape.open_candle(*interval)
                        && *last_open_sent != Some(open)
                    {
                        event.clear();
                        write_kline_event(&mut event, symbol, *interval, &open, false, now_ms);
                        emit(&event);
                        *last_open_sent = Some(open);
                    }
                }
            }
        });
    }
    frames
}

/// Checks the handshake and the streams, answers 101 and serves the connection; or answers 400.
pub async fn upgrade(mut socket: TcpStream, head: RequestHead, context: Arc<Context>) {
    let refuse = |answer: Answer| answer.to_bytes(false);
    let (combined, subs) = match subscriptions(&head.target, &context.exchange) {
        Ok(found) => found,
        Err(answer) => {
            let _ = socket.write_all(&refuse(answer)).await;
            return;
        }
    };
    let key = head
        .header("sec-websocket-key")
        .map(str::trim)
        .unwrap_or("");
    if head.method != "GET"
        || !head.header_has("upgrade", "websocket")
        || !head.header_has("connection", "upgrade")
        || head.header("sec-websocket-version").map(str::trim) != Some("13")
        || key.is_empty()
    {
        let answer = bad_request(
            -1000,
            "A websocket upgrade needs GET with Upgrade: websocket, Connection: Upgrade, \
             Sec-WebSocket-Key and Sec-WebSocket-Version: 13.",
        );
        let _ = socket.write_all(&refuse(answer)).await;
        return;
    }
    // Subscribe before answering, so a fault raised once the client is connected reaches it.
    let faults = context.faults.subscribe();
    let accepted = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    if socket.write_all(accepted.as_bytes()).await.is_err() {
        return;
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_CLIENT_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE_BYTES));
    let ws = WebSocketStream::from_raw_socket(socket, Role::Server, Some(config)).await;
    let _open = context.faults.open_connection();
    serve(ws, subs, combined, &context, faults).await;
}

async fn serve(
    mut ws: WebSocketStream<TcpStream>,
    mut subs: Vec<Subscription>,
    combined: bool,
    context: &Context,
    mut faults: broadcast::Receiver<ConnectionFault>,
) {
    let deadline = Instant::now() + context.max_connection_age;
    let mut push = tokio::time::interval(context.push_interval);
    push.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut ping = tokio::time::interval_at(
        Instant::now() + context.ping_interval,
        context.ping_interval,
    );
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut awaiting_pong_since: Option<Instant> = None;
    let stop = shutdown_signal(context.shutdown.clone());
    tokio::pin!(stop);
    let age_limit = tokio::time::sleep_until(deadline);
    tokio::pin!(age_limit);
    loop {
        tokio::select! {
            _ = &mut stop => {
                let frame = CloseFrame { code: CloseCode::Away, reason: "shutting down".into() };
                let _ = ws.close(Some(frame)).await;
                return;
            }
            _ = &mut age_limit => {
                let frame = CloseFrame { code: CloseCode::Normal, reason: "connection age limit".into() };
                let _ = ws.close(Some(frame)).await;
                return;
            }
            fault = faults.recv() => match fault {
                // Dropping the stream closes the TCP connection without a close frame.
                Ok(ConnectionFault::Drop) | Err(broadcast::error::RecvError::Closed) => return,
                Ok(ConnectionFault::Freeze) => {
                    frozen(ws, stop.as_mut(), deadline, faults).await;
                    return;
                }
                Ok(ConnectionFault::Send(message)) => {
                    if ws.send(message).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
            },
            _ = push.tick() => {
                let frames = collect(&context.exchange, &mut subs, combined);
                if !context.faults.is_paused() && !frames.is_empty() {
                    let send_all = async {
                        for frame in frames {
                            ws.feed(Message::text(frame)).await?;
                        }
                        ws.flush().await
                    };
                    if !matches!(tokio::time::timeout(WRITE_TIMEOUT, send_all).await, Ok(Ok(()))) {
                        return;
                    }
                }
            }
            _ = ping.tick() => {
                if awaiting_pong_since.is_some_and(|since| since.elapsed() > PONG_TIMEOUT) {
                    return;
                }
                if ws.send(Message::Ping(Bytes::new())).await.is_err() {
                    return;
                }
                awaiting_pong_since.get_or_insert_with(Instant::now);
            }
            incoming = ws.next() => match incoming {
                None | Some(Err(_)) => return,
                Some(Ok(Message::Pong(_))) => awaiting_pong_since = None,
                Some(Ok(Message::Close(_))) => {
                    // tungstenite queued the close reply; send it and finish.
                    let _ = ws.flush().await;
                    return;
                }
                // tungstenite queued the pong; make sure it leaves now.
                Some(Ok(Message::Ping(_))) => {
                    if ws.flush().await.is_err() {
                        return;
                    }
                }
                // Subscribing by message is not supported: client data is ignored.
                Some(Ok(_)) => {}
            },
        }
    }
}

/// A frozen connection: never writes again, and reads (and discards) raw bytes only to notice
/// when the client goes away. Ends on a drop fault, shutdown or the age limit.
async fn frozen(
    ws: WebSocketStream<TcpStream>,
    mut stop: Pin<&mut impl std::future::Future<Output = ()>>,
    deadline: Instant,
    mut faults: broadcast::Receiver<ConnectionFault>,
) {
    let socket = ws.get_ref();
    let mut sink = [0u8; 4096];
    let age_limit = tokio::time::sleep_until(deadline);
    tokio::pin!(age_limit);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = &mut age_limit => return,
            fault = faults.recv() => match fault {
                Ok(ConnectionFault::Drop) | Err(broadcast::error::RecvError::Closed) => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            },
            ready = socket.readable() => {
                if ready.is_err() {
                    return;
                }
                match socket.try_read(&mut sink) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
        }
    }
}
