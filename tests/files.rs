//! Files the user names, attacked: a database path that is a FIFO or a directory, another
//! application's SQLite file, a log path that cannot be written, an output path that already
//! holds something. Each is refused with one clean line (or survived), and nothing is changed.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use trademon::store::{APPLICATION_ID, Store};

use support::{mkfifo, text, trademon};

/// The bytes of every file in `dir` but trademon's log (names and contents), to show nothing
/// changed.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.ends_with("trademon.log"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

fn assert_clean_error(out: &std::process::Output, wanted: &str) {
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert_ne!(out.status.code(), Some(101), "a panic: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(wanted), "{wanted:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_database_path_that_is_not_a_regular_file_is_refused_and_nothing_appears_beside_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dbs");
    std::fs::create_dir(&dir).unwrap();
    let fifo = dir.join("pipe.db");
    mkfifo(&fifo);
    let folder = dir.join("folder.db");
    std::fs::create_dir(&folder).unwrap();
    for (db, what) in [(&fifo, "is a FIFO"), (&folder, "is a directory")] {
        for args in [
            &["models", "list"][..],
            &["export", "--symbol", "BTCUSDT", "--interval", "1m"],
        ] {
            let mut all = vec!["--db", db.to_str().unwrap()];
            all.extend_from_slice(args);
            let out = trademon(tmp.path(), &all);
            assert_clean_error(&out, what);
        }
    }
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["folder.db", "pipe.db"],
        "no journal, no log beside them"
    );
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0);
}

#[test]
fn another_applications_sqlite_file_is_refused_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("app");
    std::fs::create_dir(&dir).unwrap();
    let foreign = dir.join("notes.sqlite");
    {
        let conn = rusqlite::Connection::open(&foreign).unwrap();
        conn.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me');")
            .unwrap();
    }
    let marked = dir.join("marked.sqlite");
    {
        let conn = rusqlite::Connection::open(&marked).unwrap();
        conn.execute_batch("PRAGMA application_id = 1234; CREATE TABLE candles (x);")
            .unwrap();
    }
    let before = snapshot(&dir);
    for db in [&foreign, &marked] {
        for args in [&["models", "list"][..], &["runs", "list"]] {
            let mut all = vec!["--db", db.to_str().unwrap()];
            all.extend_from_slice(args);
            let out = trademon(tmp.path(), &all);
            assert_clean_error(&out, "is not a trademon database");
        }
    }
    let conn = rusqlite::Connection::open(&foreign).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "journal mode unchanged");
    drop(conn);
    assert_eq!(snapshot(&dir), before, "bytes unchanged, no side files");
}

#[test]
fn an_unmarked_trademon_database_still_opens_and_gets_marked() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("old.db");
    drop(Store::open(&db).unwrap());
    let id = |db: &Path| -> i64 {
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(id(&db), APPLICATION_ID, "a new database is marked");
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "application_id", 0)
        .unwrap();
    let out = trademon(
        tmp.path(),
        &["--db", db.to_str().unwrap(), "models", "list"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(id(&db), APPLICATION_ID);
}

/// A log path that cannot be opened (a directory where the file should be: refused even to
/// root) costs the log, not the command.
#[test]
fn an_unwritable_log_does_not_stop_a_command() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    drop(Store::open(&db).unwrap());
    std::fs::create_dir(tmp.path().join("trademon.log")).unwrap();
    for args in [&["models", "list"][..], &["runs", "list"]] {
        let mut all = vec!["--db", db.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = trademon(tmp.path(), &all);
        let err = text(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(err.contains("warning: cannot write the log"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Another process holding the write lock makes a writing command wait the busy timeout (here
/// shortened through `TRADEMON_BUSY_TIMEOUT_MS`), then fail with one clear line naming it.
#[test]
fn a_database_another_process_is_writing_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    drop(Store::open(&db).unwrap());
    let csv = tmp.path().join("c.csv");
    std::fs::write(
        &csv,
        "open_time_ms,open,high,low,close,volume\n1700000040000,1,1,1,1,1\n",
    )
    .unwrap();
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder
        .execute_batch("BEGIN IMMEDIATE; DELETE FROM candles;")
        .unwrap();
    let out = support::command(
        tmp.path(),
        &[
            "--db",
            db.to_str().unwrap(),
            "import",
            csv.to_str().unwrap(),
            "--symbol",
            "BTCUSDT",
            "--interval",
            "1m",
        ],
    )
    .env("TRADEMON_BUSY_TIMEOUT_MS", "300")
    .output()
    .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error: ")
            && err.contains(&format!(
                "database {} is locked: another trademon process is writing to it (waited 0.3 s)",
                db.display()
            )),
        "{err}"
    );
    holder.execute_batch("ROLLBACK").unwrap();
}
