//! The daemon's socket server with a stand-in engine: hellos and version mismatches, garbage
//! from one client never disturbing another (property test), a stalled client getting a fresh
//! snapshot instead of a backlog, commands reaching the engine, and status requests.

#![allow(clippy::unwrap_used)]

#[path = "daemon_support/fake_engine.rs"]
mod fake_engine;
#[allow(dead_code)]
#[path = "tui_snapshots/fixture.rs"]
mod fixture;

use std::time::Duration;

use fake_engine::FakeDaemon;
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use trademon::daemon::client::{self, ClientError, Connection};
use trademon::daemon::frame::{self, ClientFrame, DaemonFrame, Hello};
use trademon::daemon::status::Verdict;
use trademon::protocol::{Command, HealthReport, Snapshot, Update};

const WAIT: Duration = Duration::from_secs(10);

fn health(now_ms: i64) -> Update {
    Update::Health(HealthReport {
        now_ms,
        ..fixture::health()
    })
}

/// A client that subscribed and got its first snapshot.
async fn subscribed(daemon: &FakeDaemon) -> (Connection, Snapshot) {
    let mut c = Connection::open(&daemon.socket).await.unwrap();
    c.send(&ClientFrame::Subscribe).await.unwrap();
    match tokio::time::timeout(WAIT, c.recv_update())
        .await
        .unwrap()
        .unwrap()
    {
        Update::Snapshot(s) => (c, *s),
        other => panic!("expected a snapshot first, got {other:?}"),
    }
}

async fn next_update(c: &mut Connection) -> Update {
    tokio::time::timeout(WAIT, c.recv_update())
        .await
        .unwrap()
        .unwrap()
}

/// Whether the daemon closed this raw connection (reads to the end within the wait).
async fn closed_by_daemon(stream: &mut UnixStream) -> bool {
    let mut sink = Vec::new();
    matches!(
        tokio::time::timeout(WAIT, stream.read_to_end(&mut sink)).await,
        Ok(Ok(_)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn clients_get_a_snapshot_then_deltas_and_commands_reach_the_engine() {
    let mut daemon = FakeDaemon::start(fixture::snapshot()).await;
    let (mut a, snapshot_a) = subscribed(&daemon).await;
    let (mut b, snapshot_b) = subscribed(&daemon).await;
    assert_eq!(snapshot_a, fixture::snapshot());
    assert_eq!(snapshot_b, snapshot_a);
    daemon.publish(health(42)).await;
    assert_eq!(next_update(&mut a).await, health(42));
    assert_eq!(next_update(&mut b).await, health(42));
    a.send(&ClientFrame::Command(Command::Reconnect))
        .await
        .unwrap();
    let got = tokio::time::timeout(WAIT, daemon.commands.recv())
        .await
        .unwrap();
    assert_eq!(got, Some(Command::Reconnect));
    // A RequestSnapshot is answered by the daemon, to that client only.
    b.send(&ClientFrame::Command(Command::RequestSnapshot))
        .await
        .unwrap();
    assert!(matches!(next_update(&mut b).await, Update::Snapshot(_)));
    daemon.publish(health(43)).await;
    assert_eq!(next_update(&mut a).await, health(43));
    assert_eq!(next_update(&mut b).await, health(43));

    let report = client::status(&daemon.socket).await.unwrap();
    assert_eq!(report.daemon.as_ref().unwrap().clients, 2);
    assert_eq!(report.daemon.unwrap().pid, std::process::id());
    // The fixture's feed has a stream down: degraded, and it says so.
    assert_eq!(report.verdict, Verdict::Degraded);
    assert!(
        report.problems.iter().any(|p| p.contains("down")),
        "{:?}",
        report.problems
    );
    daemon.stop();
}

#[tokio::test]
async fn an_engine_that_has_not_published_its_state_is_asked_for_it() {
    let daemon = FakeDaemon::start_with(fixture::snapshot(), false).await;
    let (_client, snapshot) = subscribed(&daemon).await;
    assert_eq!(snapshot, fixture::snapshot());
}

#[tokio::test]
async fn a_version_mismatch_is_a_clear_error_on_both_ends() {
    let daemon = FakeDaemon::start(fixture::snapshot()).await;
    let mut raw = UnixStream::connect(&daemon.socket).await.unwrap();
    let mut buffer = Vec::new();
    let theirs: Hello = frame::read(&mut raw, &mut buffer).await.unwrap();
    assert_eq!(theirs, Hello::ours());
    let old = Hello {
        protocol_version: 0,
        ..Hello::ours()
    };
    frame::write(&mut raw, &old).await.unwrap();
    match frame::read::<DaemonFrame, _>(&mut raw, &mut buffer)
        .await
        .unwrap()
    {
        DaemonFrame::Refused { reason } => {
            assert!(reason.contains("protocol mismatch"), "{reason}");
            assert!(reason.contains("protocol 0."), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(closed_by_daemon(&mut raw).await);

    // The client's end: a daemon that speaks another version.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let newer = Hello {
            protocol_version: 999,
            program_version: "9.0.0".to_string(),
            ..Hello::ours()
        };
        frame::write(&mut s, &newer).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    });
    let e = Connection::open(&path).await.unwrap_err();
    let message = e.to_string();
    assert!(matches!(e, ClientError::Refused { .. }), "{message}");
    assert!(
        message.contains("trademon 9.0.0 speaking protocol 999"),
        "{message}"
    );

    // No daemon at all.
    let e = Connection::open(&dir.path().join("none.sock"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no trademon daemon at"), "{e}");
}

#[tokio::test]
async fn oversized_frames_and_a_silent_client_are_cut_off_alone() {
    let daemon = FakeDaemon::start(fixture::snapshot()).await;
    let (mut good, _) = subscribed(&daemon).await;
    // An oversized length prefix instead of a hello.
    let mut raw = UnixStream::connect(&daemon.socket).await.unwrap();
    raw.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    assert!(closed_by_daemon(&mut raw).await);
    // The same after a good hello.
    let mut raw = UnixStream::connect(&daemon.socket).await.unwrap();
    frame::write(&mut raw, &Hello::ours()).await.unwrap();
    raw.write_all(&(64u32 * 1024 * 1024 + 1).to_be_bytes())
        .await
        .unwrap();
    assert!(closed_by_daemon(&mut raw).await);
    // A hello where a command belongs is an unexpected frame.
    let mut raw = UnixStream::connect(&daemon.socket).await.unwrap();
    frame::write(&mut raw, &Hello::ours()).await.unwrap();
    frame::write(&mut raw, &Hello::ours()).await.unwrap();
    assert!(closed_by_daemon(&mut raw).await);
    daemon.publish(health(7)).await;
    assert_eq!(next_update(&mut good).await, health(7));
}

#[tokio::test]
async fn a_frame_announced_large_then_stalled_is_cut_off_after_the_stall_timeout() {
    let daemon = FakeDaemon::start(fixture::snapshot()).await;
    // Many such clients at once: each costs the bytes it sent, not the 64 MiB it announced.
    let mut stalled = Vec::new();
    for _ in 0..30 {
        let mut raw = UnixStream::connect(&daemon.socket).await.unwrap();
        frame::write(&mut raw, &Hello::ours()).await.unwrap();
        raw.write_all(&(frame::MAX_FRAME_BYTES as u32).to_be_bytes())
            .await
            .unwrap();
        raw.write_all(b"{").await.unwrap();
        stalled.push(raw);
    }
    let started = std::time::Instant::now();
    // A normal client is served meanwhile.
    let (mut good, _) = subscribed(&daemon).await;
    daemon.publish(health(11)).await;
    assert_eq!(next_update(&mut good).await, health(11));
    for raw in &mut stalled {
        let mut sink = Vec::new();
        let limit = frame::FRAME_STALL_TIMEOUT + Duration::from_secs(3);
        let left = limit.saturating_sub(started.elapsed());
        let read = tokio::time::timeout(left, raw.read_to_end(&mut sink)).await;
        assert!(read.is_ok(), "not closed within {limit:?} of the stall");
    }
    assert!(started.elapsed() >= frame::FRAME_STALL_TIMEOUT - Duration::from_secs(1));
    // And the daemon still serves.
    daemon.publish(health(12)).await;
    assert_eq!(next_update(&mut good).await, health(12));
    let report = client::status(&daemon.socket).await.unwrap();
    assert_eq!(report.daemon.unwrap().clients, 1);
}

#[tokio::test]
async fn a_stalled_client_gets_a_fresh_snapshot_not_a_backlog_and_never_slows_the_others() {
    let daemon = FakeDaemon::start(fixture::snapshot()).await;
    let (mut fast, _) = subscribed(&daemon).await;
    let (mut stalled, _) = subscribed(&daemon).await;
    // Far more than the stalled client's queue and its socket buffer hold.
    let sent = 20_000;
    // In chunks the fast client can hold, so only the stalled one falls behind.
    let publish_and_read = async {
        for chunk in (0..sent).collect::<Vec<_>>().chunks(256) {
            for &t in chunk {
                daemon.publish(health(t)).await;
            }
            for &t in chunk {
                assert_eq!(next_update(&mut fast).await, health(t));
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), publish_and_read)
        .await
        .expect("the fast client got every update in order while the other stalled");
    daemon.publish(health(sent)).await;
    // Now the stalled one reads: some deltas from before, then a snapshot, then the rest.
    let mut received = 0;
    let mut snapshots = 0;
    let mut replica: Option<Snapshot> = None;
    loop {
        let update = next_update(&mut stalled).await;
        received += 1;
        match &update {
            Update::Snapshot(s) => {
                snapshots += 1;
                replica = Some((**s).clone());
            }
            u => {
                if let Some(r) = replica.as_mut() {
                    r.apply(u);
                }
            }
        }
        if replica.as_ref().is_some_and(|r| r.health.now_ms == sent) {
            break;
        }
    }
    assert!(snapshots >= 1, "no fresh snapshot");
    assert!(
        received < sent / 2,
        "got {received} of {sent}: a backlog, not a snapshot"
    );
    assert_eq!(replica.unwrap(), *daemon.state.lock().unwrap());
    // The metrics count the two views and the frames the stalled one missed.
    let text = daemon.metrics.render();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
            .parse()
            .unwrap()
    };
    assert_eq!(value("trademon_daemon_clients"), 2.0);
    let dropped = value("trademon_daemon_frames_dropped_total");
    assert!(
        dropped >= 1.0 && dropped <= (sent - received) as f64,
        "{dropped} dropped"
    );
}

async fn garbage_then_good_client(daemon: &FakeDaemon, garbage: Vec<u8>, after_hello: bool) {
    let (mut watcher, _) = subscribed(daemon).await;
    let mut raw = UnixStream::connect(&daemon.socket).await.unwrap();
    if after_hello {
        frame::write(&mut raw, &Hello::ours()).await.unwrap();
    }
    let _ = raw.write_all(&garbage).await;
    let _ = raw.shutdown().await;
    // The good client that was there keeps getting updates; a new one attaches.
    let stamp = garbage.len() as i64;
    daemon.publish(health(stamp)).await;
    assert_eq!(next_update(&mut watcher).await, health(stamp));
    let (_fresh, snapshot) = subscribed(daemon).await;
    assert_eq!(snapshot.health.now_ms, stamp);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn garbage_from_one_client_never_disturbs_the_daemon_or_others(
        garbage in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..3000),
            // A plausible length prefix over garbage, and plausible JSON of the wrong shape.
            (1u32..5000, proptest::collection::vec(any::<u8>(), 0..200)).prop_map(|(n, b)| {
                let mut v = n.to_be_bytes().to_vec();
                v.extend(b);
                v
            }),
            "[a-zA-Z{}\":, 0-9]{0,200}".prop_map(|s| {
                let mut v = (s.len() as u32).to_be_bytes().to_vec();
                v.extend(s.into_bytes());
                v
            }),
        ],
        after_hello in any::<bool>(),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let daemon = FakeDaemon::start(fixture::snapshot()).await;
            garbage_then_good_client(&daemon, garbage, after_hello).await;
            daemon.stop();
        });
    }
}
