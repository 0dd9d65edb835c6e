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
