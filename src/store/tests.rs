use super::writer::{WriteOp, Writer, WriterOptions};
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

#[test]
fn creates_schema_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/t.db");
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    store
        .upsert_candles(&[(btc(), Interval::M1, candle(60_000))])
        .unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.recent_candles(btc(), Interval::M1, 10).unwrap(),
        vec![candle(60_000)]
    );
    let mode: String = store
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn refuses_a_newer_database_without_touching_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = Store::open(&path).unwrap();
    store
        .conn
        .pragma_update(None, "user_version", SCHEMA_VERSION + 5)
        .unwrap();
    drop(store);
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    assert!(err.to_string().contains("newer"), "{err}");
    let conn = Connection::open(&path).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION + 5);
}

#[test]
fn refuses_garbage_and_corrupt_files_without_overwriting() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    let bytes = b"this is not a database, it is a shopping list\n".repeat(200);
    std::fs::write(&garbage, &bytes).unwrap();
    let err = Store::open(&garbage).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotADatabase { .. } | StoreError::Corrupt { .. }
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(&garbage).unwrap(), bytes);

    // A real database with a page overwritten in the middle of the candles table.
    let path = dir.path().join("corrupt.db");
    let mut store = Store::open(&path).unwrap();
    let rows: Vec<_> = (0..5000)
        .map(|i| (btc(), Interval::M1, candle(i * 60_000)))
        .collect();
    store.upsert_candles(&rows).unwrap();
    store.checkpoint().unwrap();
    drop(store);
    let mut file = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(file.len() > 8 * page);
    for b in &mut file[3 * page..4 * page] {
        *b = 0xA5;
    }
    std::fs::write(&path, &file).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("left untouched"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), file);
}

#[test]
fn import_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let candles: Vec<_> = (0..10).map(|i| candle(i * 60_000)).collect();
    let first = store.import_candles(btc(), Interval::M1, &candles).unwrap();
    assert_eq!(
        first,
        ImportOutcome {
            added: 10,
            already_present: 0
        }
    );
    let again = store.import_candles(btc(), Interval::M1, &candles).unwrap();
    assert_eq!(
        again,
        ImportOutcome {
            added: 0,
            already_present: 10
        }
    );
    assert_eq!(store.count_candles(btc(), Interval::M1).unwrap(), 10);
}

#[test]
fn finds_gaps() {
    assert_eq!(gaps_in(&[0, 60, 120, 300, 360], 60), vec![(180, 2)]);
    assert!(gaps_in(&[], 60).is_empty());
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let rows: Vec<_> = [0, 1, 4, 5, 9]
        .iter()
        .map(|i| (btc(), Interval::M1, candle(i * 60_000)))
        .collect();
    store.upsert_candles(&rows).unwrap();
    assert_eq!(
        store.gaps(btc(), Interval::M1).unwrap(),
        vec![(120_000, 2), (360_000, 3)]
    );
    assert_eq!(
        store.last_open_time(btc(), Interval::M1).unwrap(),
        Some(540_000)
    );
    assert_eq!(store.last_open_time(btc(), Interval::H1).unwrap(), None);
}

#[test]
fn writer_batches_and_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let writer = Writer::spawn(
        Store::open(&path).unwrap(),
        WriterOptions {
            batch_max_rows: 100,
            batch_max_ms: 50,
        },
    );
    let tx = writer.sender();
    for i in 0..250 {
        tx.send(WriteOp::Candle(btc(), Interval::M1, candle(i * 60_000)))
            .unwrap();
    }
    tx.send(WriteOp::Event(FeedEvent {
        time_ms: 1,
        kind: FeedEventKind::Connected,
        stream: "*".into(),
        detail: "test".into(),
        count: 0,
    }))
    .unwrap();
    writer.flush();
    let stats = writer.stats();
    assert_eq!(
        stats.rows_stored.load(std::sync::atomic::Ordering::Relaxed),
        251
    );
    assert!(stats.batches.load(std::sync::atomic::Ordering::Relaxed) >= 3);
    assert!(stats.latency_ms().1.is_some());
    let reader = Store::open(&path).unwrap();
    assert_eq!(reader.count_candles(btc(), Interval::M1).unwrap(), 250);
    assert_eq!(reader.recent_events(10).unwrap()[0].detail, "test");
    drop(tx);
    writer.finish().unwrap();
}

#[test]
fn a_series_calendar_is_stored_and_decides_its_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let day = 86_400_000;
    // 2024-01-01 is a Monday: Monday to Friday, then Monday, then a two-week hole.
    let monday = 1_704_067_200_000;
    let rows: Vec<_> = [0, 1, 2, 3, 4, 7, 22]
        .iter()
        .map(|d| (btc(), Interval::D1, candle(monday + d * day)))
        .collect();
    store.upsert_candles(&rows).unwrap();
    assert_eq!(
        store.calendar(btc(), Interval::D1).unwrap(),
        Calendar::TwentyFourSeven,
        "no row: 24x7"
    );
    let all = vec![(monday + 5 * day, 2), (monday + 8 * day, 14)];
    assert_eq!(store.gaps(btc(), Interval::D1).unwrap(), all);
    store
        .set_calendar(btc(), Interval::D1, Calendar::Sessions)
        .unwrap();
    assert_eq!(
        store.calendar(btc(), Interval::D1).unwrap(),
        Calendar::Sessions
    );
    assert_eq!(
        store.calendar(btc(), Interval::H1).unwrap(),
        Calendar::TwentyFourSeven,
        "per series"
    );
    assert_eq!(store.gaps(btc(), Interval::D1).unwrap(), all[1..].to_vec());
    store
        .set_calendar(btc(), Interval::D1, Calendar::TwentyFourSeven)
        .unwrap();
    assert_eq!(store.gaps(btc(), Interval::D1).unwrap(), all);
}

/// Migration 6 on a database made by the previous schema: the predictions keep every row (now
/// the active model's), the audit log keeps every entry with its id, and the new kinds and the
/// role are accepted while garbage is still refused.
#[test]
fn migration_6_keeps_predictions_and_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in &schema::MIGRATIONS[..5] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 5).unwrap();
        conn.execute_batch(
            "INSERT INTO model_events (id, time_ms, kind, detail) VALUES (7, 1, 'switch', 'a'),
                 (9, 2, 'fallback', 'b');
             INSERT INTO predictions VALUES ('v', 'BTCUSDT', '1m', 60000, 1, 0.2, 0.3, 0.5,
                 'buy', 0.5, 0.001, 2);",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::SCHEMA_VERSION);
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let events: Vec<(i64, String, String)> = conn
        .prepare("SELECT id, kind, detail FROM model_events ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        events,
        [
            (7, "switch".to_string(), "a".to_string()),
            (9, "fallback".to_string(), "b".to_string())
        ]
    );
    let role: String = conn
        .query_row("SELECT role FROM predictions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(role, "active");
    conn.execute_batch(
        "INSERT INTO model_events (time_ms, kind) VALUES (3, 'retrain'), (4, 'evidence');
         INSERT INTO predictions VALUES ('w', 'BTCUSDT', '1m', 60000, 1, 0.2, 0.3, 0.5, 'buy',
             0.5, NULL, NULL, 'shadow');",
    )
    .unwrap();
    assert!(
        conn.execute_batch("INSERT INTO model_events (time_ms, kind) VALUES (5, 'party')")
            .is_err()
    );
    let next: i64 = conn
        .query_row("SELECT MAX(id) FROM model_events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(next, 11, "ids go on after the copied ones");
}
