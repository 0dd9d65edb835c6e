//! The streams of a feed split over as many connections as they need, and the connections' link
//! states combined into the one the engine sees. Binance allows 1,024 streams on one connection
//! (`../shared/protocol/binance.md`: each symbol takes one stream per interval plus its trade
//! stream), and servers refuse request lines past a few KiB, so a long list of symbols is grouped,
//! a symbol's streams always together (its backfill and gap repairs go with its connection).

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, watch};
use tokio::task::JoinSet;

use super::client::{self, feed_event};
use super::rest::RestClient;
use super::wire::{kline_stream, trade_stream};
use crate::domain::{LinkState, Symbol};
use crate::feed::{FeedControl, FeedEventKind, FeedOptions, LastClosed, MarketEvent};

/// Binance's limit of streams on one connection.
pub const MAX_STREAMS_PER_CONNECTION: usize = 1024;

/// The longest stream URL asked for on one connection. Web servers commonly refuse request lines
/// past 8 KiB (the built-in exchange refuses heads past 16 KiB); 205 symbols at four intervals
/// and trades would need about 20 KiB.
pub const MAX_URL_BYTES: usize = 8000;

/// The symbols of `options` grouped so that each group's streams fit one connection: at most
/// [`MAX_STREAMS_PER_CONNECTION`] streams and a URL of at most [`MAX_URL_BYTES`].
pub fn connection_groups(ws_url: &str, options: &FeedOptions) -> Vec<Vec<Symbol>> {
    let base = client::stream_url(
        ws_url,
        &FeedOptions {
            symbols: Vec::new(),
            ..options.clone()
        },
    )
    .len();
    let mut groups = Vec::new();
    let mut group: Vec<Symbol> = Vec::new();
    let (mut streams, mut bytes) = (0, base);
    for &symbol in &options.symbols {
        let mut names: Vec<String> = options
            .intervals
            .iter()
            .map(|&i| kline_stream(symbol, i))
            .collect();
        if options.trades {
            names.push(trade_stream(symbol));
        }
        // Each name and the `/` before it.
        let more: usize = names.iter().map(|n| n.len() + 1).sum();
        if !group.is_empty()
            && (streams + names.len() > MAX_STREAMS_PER_CONNECTION || bytes + more > MAX_URL_BYTES)
        {
            groups.push(std::mem::take(&mut group));
            (streams, bytes) = (0, base);
        }
        group.push(symbol);
        streams += names.len();
        bytes += more;
    }
    if !group.is_empty() {
        groups.push(group);
    }
    groups
}

/// The link states of every connection, combined: down while any is down (its reason, which
/// connection), connecting while any is connecting, connected when all are.
#[derive(Debug)]
pub(super) struct LinkBoard {
    /// Each connection's state, and the combined one last sent.
    states: Mutex<(Vec<Option<LinkState>>, Option<LinkState>)>,
    events: mpsc::Sender<MarketEvent>,
}

impl LinkBoard {
    fn new(count: usize, events: mpsc::Sender<MarketEvent>) -> Self {
        Self {
            states: Mutex::new((vec![None; count], None)),
            events,
        }
    }
}

/// One connection's place on the board.
#[derive(Clone, Debug)]
pub(super) struct Link {
    pub index: usize,
    pub count: usize,
    board: Arc<LinkBoard>,
}

impl Link {
    /// `connection 2 of 3: ` before what one connection says, when there are several.
    pub fn label(&self) -> String {
        if self.count > 1 {
            format!("connection {} of {}: ", self.index + 1, self.count)
        } else {
            String::new()
        }
    }

    /// This connection's state is now `state`; the engine hears of the combined state when it
    /// changes.
    pub async fn set(&self, state: LinkState) {
        let mut guard = self.board.states.lock().await;
        let (states, sent) = &mut *guard;
        states[self.index] = Some(state);
        let combined = combine(states);
        if sent.as_ref() != Some(&combined) {
            *sent = Some(combined.clone());
            // Sent under the lock, so the engine sees the states in the order they were made.
            let _ = self.board.events.send(MarketEvent::Link(combined)).await;
        }
    }
}

fn combine(states: &[Option<LinkState>]) -> LinkState {
    if let Some(down) = states
        .iter()
        .flatten()
        .find(|s| matches!(s, LinkState::Down { .. }))
    {
        return down.clone();
    }
    let mut since = i64::MIN;
    for state in states {
        match state {
            Some(LinkState::Connected { since_ms }) => since = since.max(*since_ms),
            _ => return LinkState::Connecting,
        }
    }
    LinkState::Connected { since_ms: since }
}

/// Runs the feed on `ws_url` (and `rest` for backfill) until `shutdown` turns true: one
/// connection per group of [`connection_groups`], each reconnecting on its own. Every event goes
/// to `events`; a `FeedControl::Reconnect` reconnects them all.
pub async fn run(
    ws_url: String,
    rest: RestClient,
    options: FeedOptions,
    last_closed: LastClosed,
    events: mpsc::Sender<MarketEvent>,
    mut control: mpsc::Receiver<FeedControl>,
    shutdown: watch::Receiver<bool>,
) {
    let groups = connection_groups(&ws_url, &options);
    let count = groups.len();
    if count > 1 {
        let detail = format!(
            "{} streams of {} symbols split over {count} connections (at most \
             {MAX_STREAMS_PER_CONNECTION} streams and a {MAX_URL_BYTES}-byte URL each)",
            client::streams(&options).len(),
            options.symbols.len()
        );
        tracing::info!(url = %ws_url, "feed: {detail}");
        let _ = events
            .send(feed_event(
                options.clock.as_ref(),
                FeedEventKind::Connected,
                "*",
                detail,
                0,
            ))
            .await;
    }
    let board = Arc::new(LinkBoard::new(count, events.clone()));
    let last_closed = Arc::new(Mutex::new(last_closed));
    let (reconnect_tx, reconnect) = watch::channel(0u64);
    let mut connections = JoinSet::new();
    for (index, symbols) in groups.into_iter().enumerate() {
        let link = Link {
            index,
            count,
            board: Arc::clone(&board),
        };
        connections.spawn(client::connection(
            link,
            ws_url.clone(),
            rest.clone(),
            FeedOptions {
                symbols,
                ..options.clone()
            },
            Arc::clone(&last_closed),
            events.clone(),
            reconnect.clone(),
            shutdown.clone(),
        ));
    }
    let mut control_open = true;
    loop {
        tokio::select! {
            c = control.recv(), if control_open => match c {
                Some(FeedControl::Reconnect) => reconnect_tx.send_modify(|n| *n += 1),
                None => control_open = false,
            },
            done = connections.join_next() => {
                if done.is_none() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Interval;
    use std::time::Duration;

    fn options(symbols: usize, intervals: Vec<Interval>, trades: bool) -> FeedOptions {
        FeedOptions {
            symbols: (0..symbols)
                .map(|i| Symbol::new(&format!("SYM{i}USDT")).unwrap())
                .collect(),
            intervals,
            trades,
            initial_backfill: 10,
            silence_timeout: Duration::from_secs(60),
            rotate_after: Duration::from_secs(3600),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            clock: Arc::new(crate::domain::WallClock),
        }
    }

    #[test]
    fn every_symbol_rides_one_connection_within_the_limits() {
        let url = "wss://stream.binance.com:9443";
        let four = vec![Interval::M1, Interval::M5, Interval::M15, Interval::H1];
        for (symbols, intervals, trades) in [
            (5, four.clone(), true),
            (204, four.clone(), true),
            (205, four.clone(), true),
            (1000, vec![Interval::M1], false),
            (300, Interval::all().collect(), true),
        ] {
            let options = options(symbols, intervals, trades);
            let groups = connection_groups(url, &options);
            let flat: Vec<Symbol> = groups.iter().flatten().copied().collect();
            assert_eq!(flat, options.symbols, "each symbol once, in order");
            for group in &groups {
                let part = FeedOptions {
                    symbols: group.clone(),
                    ..options.clone()
                };
                assert!(client::streams(&part).len() <= MAX_STREAMS_PER_CONNECTION);
                assert!(client::stream_url(url, &part).len() <= MAX_URL_BYTES);
                assert!(!group.is_empty());
            }
        }
        // A handful of symbols: one connection, as before.
        assert_eq!(
            connection_groups(url, &options(5, four.clone(), true)).len(),
            1
        );
        // 205 symbols × 5 streams = 1,025: more than Binance allows on one.
        assert!(connection_groups(url, &options(205, four, true)).len() > 1);
        // Even without the URL limit the stream count alone splits.
        let many = options(1500, vec![Interval::M1], false);
        assert!(client::streams(&many).len() > MAX_STREAMS_PER_CONNECTION);
        assert!(connection_groups(url, &many).len() >= 2);
    }

    /// Runs the feed against `ws_url` for `real` time; every event it sent, in order.
    async fn feed_events(ws_url: &str, options: FeedOptions, real: Duration) -> Vec<MarketEvent> {
        let (events_tx, mut events) = mpsc::channel(10_000);
        let (_control_tx, control) = mpsc::channel(4);
        let (shutdown_tx, shutdown) = watch::channel(false);
        let feed = tokio::spawn(run(
            ws_url.to_string(),
            RestClient::new("http://127.0.0.1:1"),
            options,
            LastClosed::new(),
            events_tx,
            control,
            shutdown,
        ));
        tokio::time::sleep(real).await;
        shutdown_tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), feed)
            .await
            .expect("the feed stops when told")
            .unwrap();
        let mut out = Vec::new();
        while let Ok(e) = events.try_recv() {
            out.push(e);
        }
        out
    }

    fn quick(connect_timeout: Duration) -> FeedOptions {
        FeedOptions {
            reconnect_min: Duration::from_millis(20),
            reconnect_max: Duration::from_millis(60),
            connect_timeout,
            ..options(2, vec![Interval::M1], true)
        }
    }

    fn failed(events: &[MarketEvent]) -> usize {
        events
            .iter()
            .filter(|e| matches!(e, MarketEvent::ConnectFailed))
            .count()
    }

    fn disconnected(events: &[MarketEvent]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                MarketEvent::Feed(f) if f.kind == FeedEventKind::Disconnected => {
                    Some(f.detail.clone())
                }
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn an_endpoint_that_accepts_and_never_answers_times_out_and_retries() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Accepts every connection and says nothing, holding the sockets open.
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let events = feed_events(
            &format!("ws://{addr}"),
            quick(Duration::from_millis(200)),
            Duration::from_millis(1_100),
        )
        .await;
        silent.abort();
        let failures = failed(&events);
        assert!(
            (2..=6).contains(&failures),
            "{failures} failed connects: {events:?}"
        );
        let downs: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                MarketEvent::Link(LinkState::Down { reason, .. }) => Some(reason.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(downs.len(), failures, "{events:?}");
        assert!(downs[0].contains("no answer within 0.2 s"), "{}", downs[0]);
        // Told once, not once per retry.
        let told = disconnected(&events);
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(told[0].contains("further failures"), "{}", told[0]);
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, MarketEvent::Link(LinkState::Connected { .. })))
        );
    }

    #[tokio::test]
    async fn a_refused_endpoint_counts_every_failure_and_tells_it_once() {
        // A port nothing listens on: bound, then closed.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let events = feed_events(
            &format!("ws://{addr}"),
            quick(Duration::from_secs(10)),
            Duration::from_millis(500),
        )
        .await;
        assert!(failed(&events) >= 4, "{events:?}");
        let told = disconnected(&events);
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(told[0].contains("connect failed"), "{}", told[0]);
    }

    #[test]
    fn failures_are_news_when_they_start_or_change_and_a_connect_ends_them() {
        let mut failing = client::Failing::default();
        assert!(failing.failed("connect failed: refused"));
        assert!(!failing.failed("connect failed: refused"));
        assert!(failing.failed("connect failed: no answer within 10 s"));
        assert_eq!(failing.connected(), 3);
        assert!(failing.failed("connect failed: no answer within 10 s"));
    }

    #[test]
    fn link_states_combine_down_first_then_connecting() {
        let connected = |t| Some(LinkState::Connected { since_ms: t });
        let down = LinkState::Down {
            reason: "connection 2 of 2: gone".into(),
            retry_at_ms: 9,
        };
        assert_eq!(
            combine(&[connected(1), connected(5)]),
            LinkState::Connected { since_ms: 5 }
        );
        assert_eq!(combine(&[connected(1), None]), LinkState::Connecting);
        assert_eq!(
            combine(&[connected(1), Some(LinkState::Connecting)]),
            LinkState::Connecting
        );
        assert_eq!(combine(&[connected(1), Some(down.clone())]), down);
        assert_eq!(
            combine(&[Some(LinkState::Connecting), Some(down.clone())]),
            down
        );
    }
}
