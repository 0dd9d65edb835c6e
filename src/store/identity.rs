//! Which files the store opens: a regular file (or none yet) marked as trademon's with
//! `PRAGMA application_id`, never a device, a FIFO or another application's SQLite file, which
//! are refused before anything is written to them; and how long a connection waits for another
//! process's writer.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;
use super::rows::classify;
use super::schema::MIGRATIONS;

/// `PRAGMA application_id` of a trademon database: "TRDM" in ASCII.
pub const APPLICATION_ID: i64 = 0x5452_444D;

/// How long every connection waits for another process that holds the write lock (a concurrent
/// import of a year of candles takes seconds) before giving up with [`StoreError::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// [`BUSY_TIMEOUT`], or `TRADEMON_BUSY_TIMEOUT_MS` milliseconds when that is set to a number.
pub fn busy_timeout() -> Duration {
    std::env::var("TRADEMON_BUSY_TIMEOUT_MS")
        .ok()
        .and_then(|ms| ms.trim().parse().ok())
        .map_or(BUSY_TIMEOUT, Duration::from_millis)
}

/// Refuses a database path that exists but is not a regular file (a symlink is followed): a
/// device, a FIFO, a directory or a socket would be written through, or gain side files beside it.
pub fn check_path(path: &Path) -> Result<(), StoreError> {
    match std::fs::metadata(path).ok().as_ref().and_then(not_regular) {
        None => Ok(()),
        Some(what) => Err(StoreError::NotAFile {
            path: path.display().to_string(),
            what,
        }),
    }
}

/// What a file is when it is not a regular file ("a directory", "a FIFO (named pipe)", ...).
pub fn not_regular(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    Some(if kind.is_file() {
        return None;
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    })
}

/// Refuses a SQLite file of another application, before anything is written to it: one marked
/// with another `application_id`, or unmarked with tables of which none is trademon's. An
/// unmarked file with trademon's tables (made before the mark existed) is trademon's.
pub(crate) fn check_ours(conn: &Connection, path: &str) -> Result<(), StoreError> {
    let id: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| classify(path, e))?;
    if id == APPLICATION_ID {
        return Ok(());
    }
    let foreign = |reason: String| StoreError::Foreign {
        path: path.to_string(),
        reason,
    };
    if id != 0 {
        return Err(foreign(format!(
            "its application_id is {id:#x}, trademon's is {APPLICATION_ID:#x}"
        )));
    }
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .map_err(|e| classify(path, e))?;
    let tables = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(|e| classify(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| classify(path, e))?;
    let ours = table_names();
    if tables.is_empty() || tables.iter().any(|t| ours.contains(&t.as_str())) {
        return Ok(());
    }
    let mut listed = tables
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if tables.len() > 3 {
        listed += ", …";
    }
    Err(foreign(format!(
        "it has tables ({listed}), none of them trademon's"
    )))
}

/// Marks the database as trademon's (a no-op when it already is).
pub(crate) fn mark(conn: &Connection) -> rusqlite::Result<()> {
    let id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if id != APPLICATION_ID {
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    Ok(())
}

/// The tables trademon's migrations create.
fn table_names() -> Vec<&'static str> {
    MIGRATIONS
        .iter()
        .flat_map(|sql| sql.split("CREATE TABLE ").skip(1))
        .filter_map(|rest| rest.split([' ', '(', '\n']).next())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_migrations_tables_are_trademons() {
        let names = table_names();
        for t in [
            "candles",
            "feed_events",
            "models",
            "backtest_runs",
            "series",
        ] {
            assert!(names.contains(&t), "{t} in {names:?}");
        }
    }
}
