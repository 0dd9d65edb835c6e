//! The exchange's one TCP port: reads HTTP/1.1 request heads (keep-alive), answers REST, or
//! upgrades to a websocket. A garbage request line or an oversized head closes the connection.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

use super::exchange::Exchange;
use super::faults::SimFaults;
use super::{rest, stream};

/// Longest request head accepted.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Longest request body read (and ignored); GET requests have none.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// A connection that sends nothing for this long between requests is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// What every connection task shares.
#[derive(Debug)]
pub struct Context {
    pub exchange: Arc<Exchange>,
    pub faults: SimFaults,
    pub push_interval: Duration,
    pub ping_interval: Duration,
    pub max_connection_age: Duration,
    pub request_timeout: Duration,
    pub shutdown: watch::Receiver<bool>,
    /// REST request weight used in the current wall-clock minute: (minute, weight).
    pub weight: Mutex<(i64, u32)>,
}

/// Resolves when the exchange shuts down (or its last handle is gone).
pub async fn shutdown_signal(mut shutdown: watch::Receiver<bool>) {
    // An error means the sender is gone: the exchange is being dropped.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

pub async fn accept_loop(listener: TcpListener, context: Arc<Context>) {
    let stop = shutdown_signal(context.shutdown.clone());
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => {
                    let _ = socket.set_nodelay(true);
                    tokio::spawn(serve_connection(socket, Arc::clone(&context)));
                }
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
        }
    }
}

/// A parsed request head, owned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestHead {
    pub method: String,
    pub target: String,
    /// HTTP/1.x minor version.
    pub version: u8,
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    /// The first header of this name (case-insensitive), as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Does a comma-separated header contain this token (case-insensitive)?
    pub fn header_has(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    fn keep_alive(&self) -> bool {
        if self.header_has("connection", "close") {
            return false;
        }
        self.version >= 1 || self.header_has("connection", "keep-alive")
    }
}

/// Outcome of parsing the bytes read so far.
#[derive(Debug, PartialEq)]
pub enum HeadParse {
    /// A whole head of this many bytes.
    Complete(RequestHead, usize),
    Partial,
    /// Not HTTP, or too big: close the connection.
    Garbage,
}

pub fn parse_head(buffer: &[u8]) -> HeadParse {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buffer) {
        Ok(httparse::Status::Complete(length)) => {
            let head = RequestHead {
                method: request.method.unwrap_or("").to_string(),
                target: request.path.unwrap_or("").to_string(),
                version: request.version.unwrap_or(1),
                headers: request
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect(),
            };
            HeadParse::Complete(head, length)
        }
        Ok(httparse::Status::Partial) if buffer.len() < MAX_HEAD_BYTES => HeadParse::Partial,
        Ok(httparse::Status::Partial) | Err(_) => HeadParse::Garbage,
    }
}

/// Reads more bytes into `buffer` by `deadline`; `None` on EOF, timeout or an I/O error.
async fn read_more(socket: &mut TcpStream, buffer: &mut Vec<u8>, deadline: Instant) -> Option<()> {
    let mut chunk = [0u8; 4096];
    match tokio::time::timeout_at(deadline, socket.read(&mut chunk)).await {
        Ok(Ok(n)) if n > 0 => {
            buffer.extend_from_slice(&chunk[..n]);
            Some(())
        }
        _ => None,
    }
}

/// Reads until `buffer` holds a whole head; `None` on garbage, EOF, timeout or an I/O error. The
/// first byte may take [`IDLE_TIMEOUT`]; the whole head is due `request_timeout` after it, which
/// is returned as the deadline for the body too (a head sent byte by byte cannot hold the
/// connection).
async fn read_head(
    socket: &mut TcpStream,
    buffer: &mut Vec<u8>,
    request_timeout: Duration,
) -> Option<(RequestHead, usize, Instant)> {
    let mut due = None;
    loop {
        if !buffer.is_empty() {
            let deadline = *due.get_or_insert_with(|| Instant::now() + request_timeout);
            match parse_head(buffer) {
                HeadParse::Complete(head, length) => return Some((head, length, deadline)),
                HeadParse::Garbage => return None,
                HeadParse::Partial => {}
            }
        }
        let deadline = due.unwrap_or_else(|| Instant::now() + IDLE_TIMEOUT);
        read_more(socket, buffer, deadline).await?;
    }
}

/// Drops a request body of `Content-Length` bytes from the buffer, reading what is missing.
async fn skip_body(
    socket: &mut TcpStream,
    buffer: &mut Vec<u8>,
    length: usize,
    deadline: Instant,
) -> Option<()> {
    while buffer.len() < length {
        read_more(socket, buffer, deadline).await?;
    }
    buffer.drain(..length);
    Some(())
}

async fn serve_connection(mut socket: TcpStream, context: Arc<Context>) {
    let mut buffer = Vec::with_capacity(1024);
    let stop = shutdown_signal(context.shutdown.clone());
    tokio::pin!(stop);
    loop {
        let head = tokio::select! {
            _ = &mut stop => return,
            head = read_head(&mut socket, &mut buffer, context.request_timeout) => head,
        };
        let Some((head, head_length, deadline)) = head else {
            return;
        };
        buffer.drain(..head_length);
        if head.header("transfer-encoding").is_some() {
            let answer =
                rest::Answer::error(400, -1100, "Chunked request bodies are not accepted.");
            let _ = socket.write_all(&answer.to_bytes(false)).await;
            return;
        }
        let body_length = match head
            .header("content-length")
            .map(|v| v.trim().parse::<usize>())
        {
            None => 0,
            Some(Ok(n)) if n <= MAX_BODY_BYTES => n,
            Some(_) => return,
        };
        if skip_body(&mut socket, &mut buffer, body_length, deadline)
            .await
            .is_none()
        {
            return;
        }
        if stream::is_websocket_path(&head.target) {
            stream::upgrade(socket, head, Arc::clone(&context)).await;
            return;
        }
        let keep_alive = head.keep_alive();
        let answer = rest::answer(&context, &head);
        if answer.cut {
            let bytes = answer.to_bytes(keep_alive);
            let _ = socket.write_all(&bytes[..bytes.len() / 2]).await;
            return;
        }
        if socket
            .write_all(&answer.to_bytes(keep_alive))
            .await
            .is_err()
            || !keep_alive
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_heads_and_refuses_garbage() {
        let text = b"GET /api/v3/time?x=1 HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, keep-alive\r\n\r\nrest";
        let HeadParse::Complete(head, length) = parse_head(text) else {
            panic!("not parsed");
        };
        assert_eq!(length, text.len() - 4);
        assert_eq!(
            (head.method.as_str(), head.target.as_str()),
            ("GET", "/api/v3/time?x=1")
        );
        assert_eq!(head.header("HOST"), Some("a"));
        assert!(head.header_has("connection", "upgrade"));
        assert!(head.keep_alive());
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHost"), HeadParse::Partial);
        assert_eq!(parse_head(b"\x16\x03\x01\x02\x00\x01"), HeadParse::Garbage);
        assert_eq!(parse_head(b"GET / HTTP/2.0\r\n\r\n"), HeadParse::Garbage);
        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.resize(MAX_HEAD_BYTES + 1, b'a');
        assert_eq!(parse_head(&huge), HeadParse::Garbage);
        let HeadParse::Complete(old, _) = parse_head(b"GET / HTTP/1.0\r\n\r\n") else {
            panic!("HTTP/1.0 not parsed");
        };
        assert!(!old.keep_alive());
        let HeadParse::Complete(closing, _) =
            parse_head(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        else {
            panic!("not parsed");
        };
        assert!(!closing.keep_alive());
    }
}
