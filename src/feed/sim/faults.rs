//! Fault injection for tests of the client: dropped and frozen connections, injected frames, REST
//! rate limiting, paused streaming, and counters of what the exchange served.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

/// Something every websocket connection open at the time must do.
#[derive(Clone, Debug)]
pub(crate) enum ConnectionFault {
    /// Close the TCP connection at once, without a close frame.
    Drop,
    /// Stay open but send nothing ever again (no data, no pings, no pongs).
    Freeze,
    /// Send this frame.
    Send(Message),
}

#[derive(Debug)]
struct FaultState {
    connections: broadcast::Sender<ConnectionFault>,
    paused: AtomicBool,
    rate_limited_left: AtomicU32,
    retry_after_secs: AtomicU64,
    cut_left: AtomicU32,
    garbage_skip: AtomicU32,
    garbage_left: AtomicU32,
    banned: AtomicBool,
    ws_accepted: AtomicU64,
    ws_open: AtomicUsize,
    rest_requests: AtomicU64,
    rate_limited_sent: AtomicU64,
}

/// A cloneable handle on the exchange's faults and counters. Every method takes effect at once.
#[derive(Clone, Debug)]
pub struct SimFaults {
    state: Arc<FaultState>,
}

impl Default for SimFaults {
    fn default() -> Self {
        Self::new()
    }
}

impl SimFaults {
    pub fn new() -> Self {
        let (connections, _) = broadcast::channel(256);
        Self {
            state: Arc::new(FaultState {
                connections,
                paused: AtomicBool::new(false),
                rate_limited_left: AtomicU32::new(0),
                retry_after_secs: AtomicU64::new(0),
                cut_left: AtomicU32::new(0),
                garbage_skip: AtomicU32::new(0),
                garbage_left: AtomicU32::new(0),
                banned: AtomicBool::new(false),
                ws_accepted: AtomicU64::new(0),
                ws_open: AtomicUsize::new(0),
                rest_requests: AtomicU64::new(0),
                rate_limited_sent: AtomicU64::new(0),
            }),
        }
    }

    fn broadcast(&self, fault: ConnectionFault) {
        // No receiver just means no connection is open.
        let _ = self.state.connections.send(fault);
    }

    /// Abruptly closes every open websocket connection: the TCP connection goes away without a
    /// close frame, in the middle of streaming. New connections are served normally.
    pub fn drop_connections(&self) {
        self.broadcast(ConnectionFault::Drop);
    }

    /// Every websocket connection open now stays open but never sends anything again: no market
    /// data, no pings, no pongs. The client must notice the silence itself. Frozen connections
    /// are closed when the client goes away, on `drop_connections`, at shutdown or at their
    /// maximum age. New connections are served normally.
    pub fn freeze_connections(&self) {
        self.broadcast(ConnectionFault::Freeze);
    }

    /// Sends this text frame on every open, unfrozen connection (for garbage and bad JSON).
    pub fn inject_text(&self, text: String) {
        self.broadcast(ConnectionFault::Send(Message::text(text)));
    }

    /// Sends this binary frame on every open, unfrozen connection.
    pub fn inject_binary(&self, bytes: Vec<u8>) {
        self.broadcast(ConnectionFault::Send(Message::binary(bytes)));
    }

    /// The next `n` `GET /api/v3/klines` requests answer HTTP 429 with `Retry-After: <secs>` and
    /// `{"code":-1003,"msg":"Too many requests."}`. Replaces any limit still pending.
    pub fn rate_limit_rest(&self, n: u32, retry_after_secs: u64) {
        self.state
            .retry_after_secs
            .store(retry_after_secs, Ordering::SeqCst);
        self.state.rate_limited_left.store(n, Ordering::SeqCst);
    }

    /// The next `n` `GET /api/v3/klines` answers are cut off: the head promises the whole body,
    /// half of it is sent, then the TCP connection closes (a connection dropped mid-page).
    pub fn cut_rest(&self, n: u32) {
        self.state.cut_left.store(n, Ordering::SeqCst);
    }

    /// After `skip` more good `GET /api/v3/klines` answers, the next `n` are HTTP 200 with a body
    /// that is not klines.
    pub fn garbage_rest(&self, skip: u32, n: u32) {
        self.state.garbage_skip.store(skip, Ordering::SeqCst);
        self.state.garbage_left.store(n, Ordering::SeqCst);
    }

    /// While set, every `GET /api/v3/klines` answers HTTP 418: this IP is banned.
    pub fn ban_rest(&self, banned: bool) {
        self.state.banned.store(banned, Ordering::SeqCst);
    }

    pub(crate) fn is_banned(&self) -> bool {
        self.state.banned.load(Ordering::SeqCst)
    }

    /// While paused, connections stay open and keep pinging but send no market data. Candles keep
    /// closing and trades keep happening; each connection moves past them without sending them.
    /// So after un-pausing, a kline stream's next closed kline is later than the last one sent
    /// before the pause: a live gap the client must repair over REST (which has every candle).
    pub fn pause_streaming(&self, paused: bool) {
        self.state.paused.store(paused, Ordering::SeqCst);
    }

    pub fn is_paused(&self) -> bool {
        self.state.paused.load(Ordering::SeqCst)
    }

    /// Websocket connections accepted (upgraded) so far.
    pub fn connections_accepted(&self) -> u64 {
        self.state.ws_accepted.load(Ordering::SeqCst)
    }

    /// Websocket connections open now.
    pub fn open_connections(&self) -> usize {
        self.state.ws_open.load(Ordering::SeqCst)
    }

    /// REST requests answered so far (429s included).
    pub fn rest_requests(&self) -> u64 {
        self.state.rest_requests.load(Ordering::SeqCst)
    }

    /// HTTP 429 answers sent so far.
    pub fn rate_limited_sent(&self) -> u64 {
        self.state.rate_limited_sent.load(Ordering::SeqCst)
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<ConnectionFault> {
        self.state.connections.subscribe()
    }

    pub(crate) fn count_rest_request(&self) {
        self.state.rest_requests.fetch_add(1, Ordering::SeqCst);
    }

    /// Takes one pending rate-limited answer, if any: returns its `Retry-After` seconds.
    pub(crate) fn take_rate_limit(&self) -> Option<u64> {
        self.state
            .rate_limited_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .ok()?;
        self.state.rate_limited_sent.fetch_add(1, Ordering::SeqCst);
        Some(self.state.retry_after_secs.load(Ordering::SeqCst))
    }

    /// Takes one pending cut-off answer, if any.
    pub(crate) fn take_cut(&self) -> bool {
        take_one(&self.state.cut_left)
    }

    /// Takes one pending garbage answer, if any.
    pub(crate) fn take_garbage(&self) -> bool {
        if self.state.garbage_left.load(Ordering::SeqCst) == 0 {
            return false;
        }
        if take_one(&self.state.garbage_skip) {
            return false;
        }
        take_one(&self.state.garbage_left)
    }

    /// Counts an accepted connection; the guard counts it closed when dropped.
    pub(crate) fn open_connection(&self) -> OpenConnection {
        self.state.ws_accepted.fetch_add(1, Ordering::SeqCst);
        self.state.ws_open.fetch_add(1, Ordering::SeqCst);
        OpenConnection {
            faults: self.clone(),
        }
    }
}

fn take_one(left: &AtomicU32) -> bool {
    left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// Keeps the open-connection gauge right on every exit path of a connection task.
#[derive(Debug)]
pub(crate) struct OpenConnection {
    faults: SimFaults,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.faults.state.ws_open.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_counts_down() {
        let faults = SimFaults::new();
        assert_eq!(faults.take_rate_limit(), None);
        faults.rate_limit_rest(2, 7);
        assert_eq!(faults.take_rate_limit(), Some(7));
        assert_eq!(faults.take_rate_limit(), Some(7));
        assert_eq!(faults.take_rate_limit(), None);
        assert_eq!(faults.rate_limited_sent(), 2);
    }

    #[test]
    fn open_connection_gauge_follows_guards() {
        let faults = SimFaults::new();
        let a = faults.open_connection();
        let b = faults.open_connection();
        assert_eq!(faults.open_connections(), 2);
        drop(a);
        assert_eq!(faults.open_connections(), 1);
        drop(b);
        assert_eq!(faults.open_connections(), 0);
        assert_eq!(faults.connections_accepted(), 2);
    }
}
