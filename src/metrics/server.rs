//! The `/metrics` listener: a small HTTP/1.1 server on its own thread (with its own
//! single-threaded runtime), so that no client — slow, hostile or many — can take time from the
//! engine. It answers `GET /metrics` (and `HEAD`) with the Prometheus text, `GET /` with a pointer
//! to it, any other path with 404 and any other method with 405; one request per connection.
//!
//! Bounds: at most [`MAX_CONNECTIONS`] connections are served at once (more are closed as they
//! are accepted); a request's head must arrive within [`READ_DEADLINE`] and fit in
//! [`MAX_HEAD_BYTES`] (else 408 / 431 and the connection is closed); an answer must be taken
//! within [`WRITE_DEADLINE`].

use std::net::{SocketAddr, TcpListener as StdListener, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use super::{CONTENT_TYPE, Metrics};

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// A request line and its headers, at most.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Headers in a request, at most.
const MAX_HEADERS: usize = 64;
/// Time allowed for a request's head to arrive.
pub const READ_DEADLINE: Duration = Duration::from_secs(5);
/// Time allowed for a client to take the answer.
pub const WRITE_DEADLINE: Duration = Duration::from_secs(10);

/// Why the listener did not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(
        "metrics: cannot use the listen address {addr:?}: {reason} (expected HOST:PORT, such as 127.0.0.1:9464)"
    )]
    Address { addr: String, reason: String },
    #[error(
        "metrics: {addr} is not a loopback address, so /metrics would be open to the network; listen on 127.0.0.1 (and scrape through an SSH tunnel), or set [metrics] allow_remote = true to allow it"
    )]
    Remote { addr: String },
    #[error("metrics: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("metrics: cannot start the listener's thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Resolves `listen` to the address to bind, refusing one that is not loopback unless
/// `allow_remote`. A name (`localhost:9464`) is refused when any of its addresses is not
/// loopback.
pub fn resolve(listen: &str, allow_remote: bool) -> Result<SocketAddr, ListenError> {
    let address = |reason: String| ListenError::Address {
        addr: listen.to_string(),
        reason,
    };
    if listen.trim().is_empty() {
        return Err(address("it is empty".into()));
    }
    let addrs: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .map_err(|e| address(e.to_string()))?
        .collect();
    let first = *addrs
        .first()
        .ok_or_else(|| address("it names no address".into()))?;
    if !allow_remote && addrs.iter().any(|a| !a.ip().is_loopback()) {
        return Err(ListenError::Remote {
            addr: listen.to_string(),
        });
    }
    Ok(first)
}

/// What the listener counted, for tests and logs.
#[derive(Debug, Default)]
pub struct ServerStats {
    pub requests: AtomicU64,
    /// Connections closed at once because [`MAX_CONNECTIONS`] were being served.
    pub refused: AtomicU64,
    /// Requests cut off: too slow, too large, or unreadable.
    pub cut_off: AtomicU64,
    /// Connections being served now.
    pub open: AtomicU64,
}

/// A running listener; stopped when dropped.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
    stats: Arc<ServerStats>,
}

impl MetricsServer {
    /// Binds `listen` (see [`resolve`]) and serves `metrics` on a thread of its own.
    pub fn start(
        listen: &str,
        allow_remote: bool,
        metrics: Arc<Metrics>,
    ) -> Result<Self, ListenError> {
        let addr = resolve(listen, allow_remote)?;
        let listener =
            StdListener::bind(addr).map_err(|source| ListenError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| ListenError::Bind { addr, source })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| ListenError::Bind { addr, source })?;
        let (stop, stopped) = watch::channel(false);
        let stats = Arc::new(ServerStats::default());
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("metrics-http".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!("metrics: cannot start the listener's runtime: {e}");
                        return;
                    }
                };
                runtime.block_on(serve(listener, metrics, thread_stats, stopped));
            })
            .map_err(ListenError::Thread)?;
        tracing::info!("metrics: serving http://{bound}/metrics");
        Ok(Self {
            addr: bound,
            stop,
            thread: Some(thread),
            stats,
        })
    }

    /// The address bound (with the port chosen when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stats(&self) -> &ServerStats {
        &self.stats
    }

    /// Stops listening and ends the thread (connections being served are dropped).
    pub fn stop(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.shut();
    }
}

async fn serve(
    listener: StdListener,
    metrics: Arc<Metrics>,
    stats: Arc<ServerStats>,
    mut stopped: watch::Receiver<bool>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("metrics: the listener failed: {e}");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, _) = tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: wait a little rather than spin.
                    tracing::warn!("metrics: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if stats.refused.fetch_add(1, Ordering::Relaxed) == 0 {
                tracing::warn!(
                    "metrics: more than {MAX_CONNECTIONS} connections at once; the rest are closed"
                );
            }
            drop(stream);
            continue;
        };
        let metrics = metrics.clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            stats.open.fetch_add(1, Ordering::Relaxed);
            answer(stream, &metrics, &stats).await;
            stats.open.fetch_sub(1, Ordering::Relaxed);
            drop(slot);
        });
    }
}

/// What a request asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    Metrics { head_only: bool },
    Index { head_only: bool },
    NotFound,
    MethodNotAllowed,
}

/// Reads a complete request head: `Ok(None)` while more is needed.
pub fn route(head: &[u8]) -> Result<Option<Route>, httparse::Error> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    if request.parse(head)?.is_partial() {
        return Ok(None);
    }
    let path = request.path.unwrap_or("");
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let head_only = match request.method {
        Some("GET") => false,
        Some("HEAD") => true,
        _ => {
            return Ok(Some(match path {
                "/metrics" | "/" => Route::MethodNotAllowed,
                _ => Route::NotFound,
            }));
        }
    };
    Ok(Some(match path {
        "/metrics" => Route::Metrics { head_only },
        "/" => Route::Index { head_only },
        _ => Route::NotFound,
    }))
}

const INDEX: &str = "trademon exporter: the metrics are at /metrics\n";

async fn answer(mut stream: TcpStream, metrics: &Metrics, stats: &ServerStats) {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    let routed = tokio::time::timeout(READ_DEADLINE, async {
        loop {
            let n = stream.read(&mut buf).await.map_err(|_| None)?;
            if n == 0 {
                return Err(None);
            }
            head.extend_from_slice(&buf[..n]);
            match route(&head) {
                Ok(Some(route)) => return Ok(route),
                Ok(None) if head.len() > MAX_HEAD_BYTES => {
                    return Err(Some(response(
                        "431 Request Header Fields Too Large",
                        "text/plain",
                        "request head too large\n",
                        false,
                    )));
                }
                Ok(None) => {}
                Err(httparse::Error::TooManyHeaders) => {
                    return Err(Some(response(
                        "431 Request Header Fields Too Large",
                        "text/plain",
                        "too many headers\n",
                        false,
                    )));
                }
                Err(_) => {
                    return Err(Some(response(
                        "400 Bad Request",
                        "text/plain",
                        "not an HTTP request\n",
                        false,
                    )));
                }
            }
            if head.len() > MAX_HEAD_BYTES {
                return Err(Some(response(
                    "431 Request Header Fields Too Large",
                    "text/plain",
                    "request head too large\n",
                    false,
                )));
            }
        }
    })
    .await;
    let reply = match routed {
        Ok(Ok(route)) => {
            stats.requests.fetch_add(1, Ordering::Relaxed);
            match route {
                Route::Metrics { head_only } => {
                    response("200 OK", CONTENT_TYPE, &metrics.render(), head_only)
                }
                Route::Index { head_only } => {
                    response("200 OK", "text/plain; charset=utf-8", INDEX, head_only)
                }
                Route::NotFound => response(
                    "404 Not Found",
                    "text/plain",
                    "not found: the metrics are at /metrics\n",
                    false,
                ),
                Route::MethodNotAllowed => response(
                    "405 Method Not Allowed",
                    "text/plain",
                    "only GET and HEAD\n",
                    false,
                ),
            }
        }
        Ok(Err(reply)) => {
            stats.cut_off.fetch_add(1, Ordering::Relaxed);
            match reply {
                Some(reply) => reply,
                None => return,
            }
        }
        Err(_) => {
            stats.cut_off.fetch_add(1, Ordering::Relaxed);
            response("408 Request Timeout", "text/plain", "too slow\n", false)
        }
    };
    let _ = tokio::time::timeout(WRITE_DEADLINE, async {
        stream.write_all(reply.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

fn response(status: &str, content_type: &str, body: &str, head_only: bool) -> String {
    let allow = if status.starts_with("405") {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n",
        body.len()
    );
    if !head_only {
        out.push_str(body);
    }
    out
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
