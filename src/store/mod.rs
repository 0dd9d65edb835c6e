//! The one SQLite file: schema and migrations, queries, read connections, and its owner (the
//! writer thread that performs every write of a running program).

mod backtests;
pub mod export;
mod history;
mod identity;
pub mod import;
mod latency;
pub mod monitor;
pub mod paper;
mod rows;
mod schema;
pub mod writer;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::domain::{Calendar, Candle, Interval, Symbol};
use crate::domain::{FeedEvent, FeedEventKind};

pub use backtests::{BacktestRun, BacktestRunRow};
pub use identity::{APPLICATION_ID, BUSY_TIMEOUT, busy_timeout, check_path, not_regular};
pub use latency::LatencyWindow;
pub use monitor::{DriftRow, ReferenceRow, StoredPrediction};
use rows::{
    Conflict, check_integrity, classify, read_calendar, write_calendar, write_candles, write_events,
};
pub use rows::{OutcomeRow, PredictionRow, gaps_in};
pub use schema::SCHEMA_VERSION;

/// `PRAGMA quick_check`s run on the calling thread so far (unit tests count them).
#[cfg(test)]
pub(crate) fn quick_checks_on_this_thread() -> u64 {
    rows::QUICK_CHECKS.with(|n| n.get())
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "database {path} has schema version {found}, newer than this trademon understands ({supported}); \
         use a newer trademon, or another --db"
    )]
    TooNew {
        path: String,
        found: i64,
        supported: i64,
    },
    #[error(
        "database {path} is damaged (PRAGMA quick_check: {report}); it was left untouched. \
         Restore it from a backup or point --db at a new file"
    )]
    Corrupt { path: String, report: String },
    #[error(
        "database {path}: the store writer died ({reason}); what was sent after that was not stored"
    )]
    WriterDied { path: String, reason: String },
    #[error(
        "database {path} is read-only: trademon cannot store anything in it (check the \
         permissions of the file and its directory, and that the disk is not mounted read-only)"
    )]
    ReadOnly { path: String },
    #[error("database {path} is not a SQLite database (or is encrypted); it was left untouched")]
    NotADatabase { path: String },
    #[error(
        "database {path} is locked: another trademon process is writing to it (waited {} s). \
         `fuser -v {path}` or `lsof {path}` names it; try again when it is done",
        *waited_ms as f64 / 1000.0
    )]
    Busy {
        path: String,
        waited_ms: u64,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database {path} is {what}, not a regular file; point --db at a file")]
    NotAFile { path: String, what: &'static str },
    #[error(
        "database {path} is not a trademon database ({reason}); it was left untouched. \
         Point --db at a trademon database or a new file"
    )]
    Foreign { path: String, reason: String },
    #[error("cannot create the directory for {path}: {source}")]
    Dir {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A connection to the store. One [`writer::Writer`] owns the writing connection; readers open
/// their own with [`Store::open_reader`].
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// What an import changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ImportOutcome {
    pub added: u64,
    pub already_present: u64,
}

impl Store {
    /// Opens (or creates) the database, checks it, and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let name = path.display().to_string();
        check_path(path)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Dir {
                path: name.clone(),
                source,
            })?;
        }
        let existed = path.exists()
            && std::fs::metadata(path)
                .map(|m| m.len() > 0)
                .unwrap_or(false);
        let sql = |source| classify(&name, source);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql)?;
        conn.busy_timeout(busy_timeout()).map_err(sql)?;
        if existed {
            check_integrity(&conn, &name)?;
            identity::check_ours(&conn, &name)?;
        }
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| classify(&name, e))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: name,
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        let mut store = Self {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate(version)?;
        Ok(store)
    }

    /// Refuses a store that cannot be written (a read-only file, directory or mount), before its
    /// owner starts: otherwise every commit would fail while the program ran on.
    pub fn ensure_writable(&self) -> Result<(), StoreError> {
        let read_only = self
            .conn
            .is_readonly(rusqlite::MAIN_DB)
            .map_err(|e| self.err(e))?;
        if read_only {
            return Err(StoreError::ReadOnly {
                path: self.path.display().to_string(),
            });
        }
        Ok(())
    }

    /// A read-only connection to a store that its owner has already opened with [`Store::open`]:
    /// no integrity check and no migration, so it is cheap to open and never writes. Open one
    /// once and keep it; `quick_check` runs once, when the owner opens the file.
    pub fn open_reader(path: &Path) -> Result<Self, StoreError> {
        let name = path.display().to_string();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify(&name, e))?;
        conn.busy_timeout(busy_timeout())
            .map_err(|e| classify(&name, e))?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> StoreError {
        classify(&self.path.display().to_string(), source)
    }

    /// Runs `f` in one transaction; nothing of it is kept unless all of it succeeds. It takes the
    /// write lock at its start (`BEGIN IMMEDIATE`), so waiting for another writer is the busy
    /// timeout's wait, never an immediate "database is locked" on the first write.
    pub(crate) fn in_tx<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let result = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })();
        result.map_err(|e| self.err(e))
    }

    fn migrate(&mut self, from: i64) -> Result<(), StoreError> {
        for (index, sql) in schema::MIGRATIONS.iter().enumerate().skip(from as usize) {
            self.in_tx(|tx| {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", index as i64 + 1)
            })?;
        }
        identity::mark(&self.conn).map_err(|e| self.err(e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Inserts or replaces closed candles in one transaction (live path: the newest final version
    /// of a candle wins).
    pub fn upsert_candles(
        &mut self,
        rows: &[(Symbol, Interval, Candle)],
    ) -> Result<(), StoreError> {
        self.in_tx(|tx| write_candles(tx, rows.iter().copied(), Conflict::Replace))
            .map(|_| ())
    }

    /// Imports candles of one series in one transaction, keeping rows already stored.
    pub fn import_candles(
        &mut self,
        symbol: Symbol,
        interval: Interval,
        candles: &[Candle],
    ) -> Result<ImportOutcome, StoreError> {
        let added = self.in_tx(|tx| {
            write_candles(
                tx,
                candles.iter().map(|c| (symbol, interval, *c)),
                Conflict::Keep,
            )
        })?;
        Ok(ImportOutcome {
            added,
            already_present: candles.len() as u64 - added,
        })
    }

    pub fn insert_events(&mut self, events: &[FeedEvent]) -> Result<(), StoreError> {
        self.in_tx(|tx| write_events(tx, events))
    }

    /// The newest `limit` closed candles of a series, oldest first.
    pub fn recent_candles(
        &self,
        symbol: Symbol,
        interval: Interval,
        limit: usize,
    ) -> Result<Vec<Candle>, StoreError> {
        let mut out = self.query_candles(
            "SELECT open_time_ms, open, high, low, close, volume, quote_volume, trades FROM candles
             WHERE symbol = ?1 AND interval = ?2 ORDER BY open_time_ms DESC LIMIT ?3",
            params![symbol.as_str(), interval.as_str(), limit as i64],
        )?;
        out.reverse();
        Ok(out)
    }

    /// Candles with `from_ms <= open_time_ms < to_ms`, oldest first.
    pub fn candles_between(
        &self,
        symbol: Symbol,
        interval: Interval,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Candle>, StoreError> {
        self.query_candles(
            "SELECT open_time_ms, open, high, low, close, volume, quote_volume, trades FROM candles
             WHERE symbol = ?1 AND interval = ?2 AND open_time_ms >= ?3 AND open_time_ms < ?4
             ORDER BY open_time_ms",
            params![symbol.as_str(), interval.as_str(), from_ms, to_ms],
        )
    }

    /// The newest `limit` candles opening before `before_ms`, newest first.
    pub(crate) fn candles_between_desc(
        &self,
        symbol: Symbol,
        interval: Interval,
        before_ms: i64,
        limit: usize,
    ) -> Result<Vec<Candle>, StoreError> {
        self.query_candles(
            "SELECT open_time_ms, open, high, low, close, volume, quote_volume, trades FROM candles
             WHERE symbol = ?1 AND interval = ?2 AND open_time_ms < ?3
             ORDER BY open_time_ms DESC LIMIT ?4",
            params![symbol.as_str(), interval.as_str(), before_ms, limit as i64],
        )
    }

    fn query_candles(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<Candle>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(args, |r| {
                Ok(Candle {
                    open_time_ms: r.get(0)?,
                    open: r.get(1)?,
                    high: r.get(2)?,
                    low: r.get(3)?,
                    close: r.get(4)?,
                    volume: r.get(5)?,
                    quote_volume: r.get(6)?,
                    trades: r.get::<_, i64>(7)? as u64,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    pub fn last_open_time(
        &self,
        symbol: Symbol,
        interval: Interval,
    ) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(
                "SELECT MAX(open_time_ms) FROM candles WHERE symbol = ?1 AND interval = ?2",
                params![symbol.as_str(), interval.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    pub fn count_candles(&self, symbol: Symbol, interval: Interval) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM candles WHERE symbol = ?1 AND interval = ?2",
                params![symbol.as_str(), interval.as_str()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// The series' market calendar; `24x7` for a series that has none stored.
    pub fn calendar(&self, symbol: Symbol, interval: Interval) -> Result<Calendar, StoreError> {
        read_calendar(&self.conn, symbol, interval)
            .map(Option::unwrap_or_default)
            .map_err(|e| self.err(e))
    }

    /// Sets the series' market calendar (whether or not it has candles yet).
    pub fn set_calendar(
        &mut self,
        symbol: Symbol,
        interval: Interval,
        calendar: Calendar,
    ) -> Result<(), StoreError> {
        self.in_tx(|tx| write_calendar(tx, symbol, interval, calendar))
    }

    /// Gaps in a stored series by its market calendar: `(first missing open time, candles
    /// missing)`. On `sessions`, closures are not gaps.
    pub fn gaps(&self, symbol: Symbol, interval: Interval) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT open_time_ms FROM candles WHERE symbol = ?1 AND interval = ?2
                 ORDER BY open_time_ms",
            )
            .map_err(|e| self.err(e))?;
        let times = stmt
            .query_map(params![symbol.as_str(), interval.as_str()], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(self.calendar(symbol, interval)?.gaps(interval, &times))
    }

    /// The newest `limit` feed events, oldest first.
    pub fn recent_events(&self, limit: usize) -> Result<Vec<FeedEvent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT time_ms, kind, stream, detail, count FROM feed_events
                 ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let mut out = stmt
            .query_map(params![limit as i64], |r| {
                let kind: String = r.get(1)?;
                Ok((r.get(0)?, kind, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(|e| self.err(e))?
            .filter_map(|row| {
                let (time_ms, kind, stream, detail, count) = row.ok()?;
                Some(FeedEvent {
                    time_ms,
                    kind: FeedEventKind::parse(&kind)?,
                    stream,
                    detail,
                    count,
                })
            })
            .collect::<Vec<_>>();
        out.reverse();
        Ok(out)
    }

    /// Counts of feed events by kind.
    pub fn event_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT kind, COUNT(*) FROM feed_events GROUP BY kind ORDER BY kind")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Runs `PRAGMA quick_check`; `Ok(())` when the file is sound.
    pub fn quick_check(&self) -> Result<(), StoreError> {
        check_integrity(&self.conn, &self.path.display().to_string())
    }

    /// Stops SQLite from checkpointing inside commits on this connection: the owner checkpoints
    /// between batches with [`Store::checkpoint_passive`], so a commit never pays for an fsync'd
    /// checkpoint of the whole WAL.
    pub fn manual_checkpoints(&self) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(|e| self.err(e))
    }

    /// Copies committed WAL frames into the database without blocking readers or writers.
    pub fn checkpoint_passive(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(|e| self.err(e))
    }

    /// Writes the WAL back into the main file and truncates it.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| self.err(e))
    }

    /// Size of the database file and its WAL in bytes.
    pub fn size_bytes(&self) -> u64 {
        let wal = PathBuf::from(format!("{}-wal", self.path.display()));
        [self.path.as_path(), wal.as_path()]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}

#[cfg(test)]
mod tests;
