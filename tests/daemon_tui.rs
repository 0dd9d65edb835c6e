//! The attached console is the `run` console fed over a socket: the same updates, fed once
//! through the daemon's socket and once in process, draw the same screen (TestBackend). The
//! link shows in the status bar, and when the daemon goes the last state stays on screen.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "daemon_support/fake_engine.rs"]
mod fake_engine;
#[allow(dead_code)]
#[path = "tui_snapshots/fixture.rs"]
mod fixture;

use std::time::Duration;

use fake_engine::FakeDaemon;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::{mpsc, watch};
use trademon::commands::attach::daemon_link;
use trademon::daemon::client::{Backoff, LinkStatus, run_link};
use trademon::domain::{Candle, Interval};
use trademon::feed::{FeedEvent, FeedEventKind};
use trademon::protocol::{ChartIndicators, HealthReport, Update};
use trademon::tui::{Console, DaemonLink, Keymap, Pane, ViewState, draw};

fn render(console: &Console, view: &ViewState) -> String {
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let keymap = Keymap::default_bindings();
    terminal
        .draw(|frame| draw(frame, console.snapshot.as_ref(), view, &keymap))
        .unwrap();
    terminal.backend().to_string()
}

/// What the engine publishes after the snapshot: a candle forming and closing, prices, health
/// and a feed event.
fn updates() -> Vec<Update> {
    let snapshot = fixture::snapshot();
    let market = &snapshot.markets[0];
    let last = *market.series[0].closed.back().unwrap();
    let next = |close: f64| Candle {
        open_time_ms: last.open_time_ms + Interval::M1.ms(),
        open: last.close,
        high: last.close.max(close),
        low: last.close.min(close),
        close,
        ..last
    };
    vec![
        Update::Candle {
            symbol: market.symbol,
            interval: Interval::M1,
            candle: next(last.close * 1.002),
            closed: false,
            indicators: ChartIndicators::default(),
        },
        Update::LastPrice {
            symbol: market.symbol,
            price: last.close * 1.004,
            time_ms: fixture::NOW_MS + 30_000,
        },
        Update::Candle {
            symbol: market.symbol,
            interval: Interval::M1,
            candle: next(last.close * 1.004),
            closed: true,
            indicators: ChartIndicators {
                sma_20: Some(last.close),
                ..ChartIndicators::default()
            },
        },
        Update::Health(HealthReport {
            now_ms: fixture::NOW_MS + 60_000,
            uptime_ms: 3_660_000,
            ..fixture::health()
        }),
        Update::Event(FeedEvent {
            time_ms: fixture::NOW_MS + 60_000,
            kind: FeedEventKind::Disconnected,
            stream: "*".to_string(),
            detail: "reset by peer".to_string(),
            count: 0,
        }),
    ]
}

#[tokio::test]
async fn the_socket_fed_console_draws_what_the_in_process_console_draws() {
    let daemon = FakeDaemon::start(fixture::snapshot()).await;
    let (updates_tx, mut updates_rx) = mpsc::channel(4096);
    let (_commands_tx, commands_rx) = mpsc::channel(64);
    let (link_tx, link_rx) = watch::channel(DaemonLink::Connecting);
    let backoff = Backoff {
        min: Duration::from_secs(5),
        max: Duration::from_secs(5),
    };
    tokio::spawn(run_link(
        daemon.socket.clone(),
        None,
        updates_tx,
        commands_rx,
        backoff,
        move |s: LinkStatus| {
            link_tx.send_replace(daemon_link(s));
        },
    ));
    let mut attached = Console::default();
    let first = tokio::time::timeout(Duration::from_secs(10), updates_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(first, Update::Snapshot(_)));
    attached.apply(&first);
    assert_eq!(*link_rx.borrow(), DaemonLink::Connected);

    let mut in_process = Console::default();
    in_process.apply(&Update::Snapshot(Box::new(fixture::snapshot())));
    for update in updates() {
        daemon.publish(update.clone()).await;
        in_process.apply(&update);
        let got = tokio::time::timeout(Duration::from_secs(10), updates_rx.recv())
            .await
            .unwrap()
            .unwrap();
        attached.apply(&got);
    }
    assert_eq!(attached.snapshot, in_process.snapshot);
    for pane in Pane::ALL {
        let view = ViewState {
            pane,
            ..ViewState::default()
        };
        assert_eq!(
            render(&attached, &view),
            render(&in_process, &view),
            "{pane:?}"
        );
    }

    // The attached console's status bar names the link; only that line differs.
    let linked = ViewState {
        daemon_link: Some(link_rx.borrow().clone()),
        ..ViewState::default()
    };
    let screen = render(&attached, &linked);
    insta::assert_snapshot!("attached_market_100x30", screen);
    let plain = render(&in_process, &ViewState::default());
    let differing: Vec<usize> = screen
        .lines()
        .zip(plain.lines())
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(differing, vec![29], "only the status bar differs");
    assert!(screen.lines().nth(29).unwrap().contains("⇄ daemon"));

    // The daemon goes: the link says so and counts down, the last state stays on screen.
    daemon.stop();
    let mut link_rx = link_rx;
    let lost = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            link_rx.changed().await.unwrap();
            let link = link_rx.borrow_and_update().clone();
            if matches!(link, DaemonLink::Lost { .. }) {
                return link;
            }
        }
    })
    .await
    .unwrap();
    let DaemonLink::Lost { retry_in_s, reason } = &lost else {
        unreachable!()
    };
    assert_eq!(*retry_in_s, 5);
    assert!(reason.contains("closed"), "{reason}");
    let gone = ViewState {
        daemon_link: Some(lost.clone()),
        ..ViewState::default()
    };
    let screen = render(&attached, &gone);
    let status = screen.lines().nth(29).unwrap();
    assert!(status.contains("DAEMON GONE"), "{status}");
    assert!(
        status.contains("reconnecting in 5s, last state kept"),
        "{status}"
    );
    let body = |s: &str| s.lines().take(29).collect::<Vec<_>>().join("\n");
    assert_eq!(
        body(&screen),
        body(&plain),
        "the last state stays on screen"
    );
    insta::assert_snapshot!("attached_market_daemon_gone_100x30", screen);
}
