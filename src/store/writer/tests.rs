//! The owner on a real SQLite file: answered writes in order, a dead owner reported, the bound.

use std::sync::atomic::Ordering;
use std::sync::mpsc::channel;
use std::time::Duration;

use super::*;
use crate::domain::fixtures;

fn candle(t: i64) -> Candle {
    Candle {
        volume: 3.0,
        quote_volume: 4.5,
        trades: 7,
        ..fixtures::candle(t)
    }
}

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn run_row() -> BacktestRunRow {
    BacktestRunRow {
        created_ms: 1_700_000_000_000,
        strategy: "buy-hold".into(),
        symbols: "BTCUSDT".into(),
        interval: "1m".into(),
        from_ms: 0,
        to_ms: 60_000,
        candles: 2,
        walk_forward: false,
        total_return: 0.1,
        buy_and_hold_return: 0.1,
        max_drawdown: 0.05,
        trades: 1,
        report_json: "{}".into(),
    }
}

fn options() -> WriterOptions {
    WriterOptions {
        batch_max_rows: 100,
        // Long: only an answered write or a flush commits before it.
        batch_max_ms: 10_000,
    }
}

/// Waits (bounded) until the owner thread has ended.
fn wait_stopped(stats: &WriterStats) {
    for _ in 0..1_000 {
        if stats.stopped.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the writer did not stop");
}

#[test]
fn an_answered_write_commits_the_rows_before_it_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let writer = Writer::spawn(Store::open(&path).unwrap(), options());
    let tx = writer.sender();
    tx.send(WriteOp::Candle(btc(), Interval::M1, candle(0)))
        .unwrap();
    let id = tx
        .call(|reply| WriteOp::BacktestRun(Box::new(run_row()), reply))
        .unwrap()
        .unwrap();
    let reader = Store::open_reader(&path).unwrap();
    assert_eq!(reader.backtest_runs(10).unwrap()[0].id, id);
    assert_eq!(
        reader.count_candles(btc(), Interval::M1).unwrap(),
        1,
        "the candle sent first is committed before the run"
    );
    let stats = writer.stats();
    assert_eq!(stats.calls.load(Ordering::Relaxed), 1);
    assert_eq!(stats.problem(), None);
    // A refused write answers with its error; the owner goes on.
    let mut bad = run_row();
    bad.strategy.clear();
    let refused = tx.call(|reply| WriteOp::BacktestRun(Box::new(bad), reply));
    assert!(refused.unwrap().is_err());
    assert!(
        reader.conn.execute_batch("DELETE FROM candles").is_err(),
        "a reader cannot write"
    );
    drop(tx);
    writer.finish().unwrap();
}

#[test]
fn a_dead_owner_is_reported_and_nothing_sent_to_it_is_dropped_silently() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Writer::spawn(Store::open(&dir.path().join("o.db")).unwrap(), options());
    let tx = writer.sender();
    let stats = writer.stats();
    tx.send(WriteOp::Candle(btc(), Interval::M1, candle(0)))
        .unwrap();
    // The owner dies inside a write (a bug, a disk that panics the driver...).
    let died = tx.call(|reply: std::sync::mpsc::SyncSender<()>| {
        WriteOp::Registry(RegistryJob::new(move |_| {
            let _keep = reply;
            panic!("boom");
        }))
    });
    assert_eq!(died, Err(WriteLost::Stopped), "the caller hears of it");
    wait_stopped(&stats);
    assert_eq!(
        tx.send(WriteOp::Candle(btc(), Interval::M1, candle(60_000))),
        Err(WriteLost::Stopped)
    );
    assert_eq!(
        tx.call(|reply| WriteOp::BacktestRun(Box::new(run_row()), reply))
            .map(|_| ()),
        Err(WriteLost::Stopped)
    );
    assert!(stats.stopped.load(Ordering::Relaxed));
    assert_eq!(stats.rows_lost.load(Ordering::Relaxed), 1);
    let problem = stats.problem().unwrap();
    assert!(problem.contains("writer stopped"), "{problem}");
    assert!(problem.contains("1 rows not stored"), "{problem}");
    drop(tx);
    let err = writer.finish().unwrap_err();
    assert!(err.to_string().contains("boom"), "{err}");
}

#[test]
fn pending_writes_are_bounded_and_one_past_the_bound_is_counted_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let writer = Writer::spawn_bounded(Store::open(&path).unwrap(), options(), 2);
    let tx = writer.sender();
    let stats = writer.stats();
    // Hold the owner inside a write until the queue has been filled.
    let (started, running) = channel();
    let (release, hold) = channel::<()>();
    tx.send(WriteOp::Registry(RegistryJob::new(move |_| {
        started.send(()).unwrap();
        hold.recv().unwrap();
    })))
    .unwrap();
    running.recv().unwrap();
    for t in 0..2 {
        tx.send(WriteOp::Candle(btc(), Interval::M1, candle(t * 60_000)))
            .unwrap();
    }
    assert_eq!(
        tx.send(WriteOp::Candle(btc(), Interval::M1, candle(120_000))),
        Err(WriteLost::Full)
    );
    assert_eq!(stats.rows_lost.load(Ordering::Relaxed), 1);
    assert!(stats.problem().unwrap().contains("1 rows not stored"));
    release.send(()).unwrap();
    writer.flush();
    assert_eq!(stats.rows_stored.load(Ordering::Relaxed), 2);
    let reader = Store::open_reader(&path).unwrap();
    assert_eq!(reader.count_candles(btc(), Interval::M1).unwrap(), 2);
    assert!(
        !stats.stopped.load(Ordering::Relaxed),
        "a full queue loses rows, not the writer"
    );
    drop(tx);
    writer.finish().unwrap();
}

/// Makes every commit that stores a candle fail, as a full disk or a read-only file would.
fn fail_commits(path: &std::path::Path) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER fail_commits BEFORE INSERT ON candles \
             BEGIN SELECT RAISE(ABORT, 'database or disk is full (test)'); END;",
        )
        .unwrap();
}

fn let_commits_succeed(path: &std::path::Path) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch("DROP TRIGGER fail_commits")
        .unwrap();
}

/// Waits (bounded) until `done` holds.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..3_000 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting until {what}");
}

/// Issue 13, item 3: on a full disk the owner retried with every batch (100 % CPU, a log line
/// each time) while `status` said healthy between failures. Now it holds the rows, backs off,
/// says so once, reports the failure, and stores everything once commits succeed again.
#[test]
fn failing_commits_hold_the_rows_back_off_and_store_them_once_the_disk_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let writer = Writer::spawn(
        Store::open(&path).unwrap(),
        WriterOptions {
            batch_max_rows: 10,
            batch_max_ms: 5,
        },
    );
    fail_commits(&path);
    let tx = writer.sender();
    let stats = writer.stats();
    // Half a second of rows, one every 10 ms: without backoff that is about 50 commits tried.
    for t in 0..50 {
        tx.send(WriteOp::Candle(btc(), Interval::M1, candle(t * 60_000)))
            .unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    let tried = stats.errors.load(Ordering::Relaxed);
    assert!(tried >= 1, "the commits failed");
    assert!(
        tried <= 8,
        "{tried} commits tried in half a second: the owner does not back off"
    );
    assert_eq!(stats.rows_lost.load(Ordering::Relaxed), 0, "rows are held");
    let problem = stats.problem().unwrap();
    assert!(problem.contains("commits failing"), "{problem}");
    assert!(problem.contains("disk is full"), "{problem}");
    let_commits_succeed(&path);
    wait_until("the held rows are committed", || {
        !stats.failing.load(Ordering::Relaxed)
    });
    writer.flush();
    let reader = Store::open_reader(&path).unwrap();
    assert_eq!(reader.count_candles(btc(), Interval::M1).unwrap(), 50);
    assert_eq!(stats.candles_stored(btc(), Interval::M1), 50);
    assert_eq!(stats.rows_lost.load(Ordering::Relaxed), 0);
    let problem = stats
        .problem()
        .expect("a recent failure still degrades the store");
    assert!(problem.contains("failed commits, the last"), "{problem}");
    drop(tx);
    writer.finish().unwrap();
}

/// While commits fail the owner holds at most [`PENDING_MAX`] rows; past that rows are counted
/// lost, and at shutdown it tries for [`SHUTDOWN_DEADLINE`], then counts what it still holds.
#[test]
fn held_rows_are_capped_and_a_shutdown_on_a_failing_disk_ends_counting_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    // Room in the queue for every row: this test is about what the owner holds.
    let writer = Writer::spawn_bounded(Store::open(&path).unwrap(), options(), 2 * PENDING_MAX);
    fail_commits(&path);
    let tx = writer.sender();
    let stats = writer.stats();
    // A first row and a flush start the failing streak.
    tx.send(WriteOp::Candle(btc(), Interval::M1, candle(0)))
        .unwrap();
    writer.flush();
    assert!(stats.failing.load(Ordering::Relaxed));
    let sent = PENDING_MAX + 100;
    for t in 1..sent as i64 {
        tx.send(WriteOp::Candle(btc(), Interval::M1, candle(t * 60_000)))
            .unwrap();
    }
    wait_until("rows past the cap are counted", || {
        stats.rows_lost.load(Ordering::Relaxed) == (sent - PENDING_MAX) as u64
    });
    drop(tx);
    writer.finish().unwrap();
    assert_eq!(
        stats.rows_lost.load(Ordering::Relaxed),
        sent as u64,
        "the held rows are counted once the shutdown gives up"
    );
    assert_eq!(stats.rows_stored.load(Ordering::Relaxed), 0);
}
