//! What one client can hold: a request head sent byte by byte is cut off, and a websocket message
//! over the cap is refused rather than buffered.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use crate::support::*;

/// Generous: the machine running the tests may be busy.
const GIVE_UP: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_request_head_sent_byte_by_byte_is_cut_off() {
    let mut options = options(60.0);
    options.request_timeout = Duration::from_secs(1);
    let sim = start_sim(options).await;
    let mut socket = TcpStream::connect(sim.addr()).await.unwrap();
    // Half a websocket handshake, then one header byte at a time, each well within the 30 s the
    // server waits between reads: only a deadline for the whole head ends it.
    let half = b"GET /ws/btcusdt@trade HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n";
    socket.write_all(half).await.unwrap();
    let started = tokio::time::Instant::now();
    let mut buf = [0u8; 64];
    let closed = loop {
        if started.elapsed() > GIVE_UP {
            break false;
        }
        match tokio::time::timeout(Duration::from_millis(200), socket.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => panic!("the server answered a partial head: {:?}", &buf[..n]),
            Err(_) => {}
        }
        if socket.write_all(b"a").await.is_err() {
            break true;
        }
    };
    assert!(
        closed,
        "a head still unfinished after {GIVE_UP:?} was not cut off"
    );
    // Whole requests still work.
    let (status, _, _) = get(&sim, "/api/v3/time").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_oversized_fragmented_message_drops_the_connection() {
    let sim = start_sim(options(60.0)).await;
    let mut ws = connect(&sim, "/ws/btcusdt@trade").await;
    // 16 KiB fragments of one text message that never finishes: 1 MiB in all, far over the cap.
    let fragment = vec![b'a'; 16 * 1024];
    for k in 0..64 {
        let opcode = OpCode::Data(if k == 0 { Data::Text } else { Data::Continue });
        let frame = Frame::message(fragment.clone(), opcode, false);
        if ws.send(Message::Frame(frame)).await.is_err() {
            break;
        }
    }
    let ended = tokio::time::timeout(GIVE_UP, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the server kept buffering the message");
    // Other clients are served as before.
    let mut other = connect(&sim, "/ws/btcusdt@trade").await;
    assert!(
        !events_for(&mut other, Duration::from_secs(3))
            .await
            .is_empty()
    );
}
