//! The SQLite schema as forward-only migrations, versioned by `PRAGMA user_version`.

/// Migration `i` takes the database from version `i` to `i + 1`. Never edit a shipped entry:
/// append a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: candles and feed events.
    "CREATE TABLE candles (
        symbol        TEXT    NOT NULL,
        interval      TEXT    NOT NULL,
        open_time_ms  INTEGER NOT NULL,
        open          REAL    NOT NULL,
        high          REAL    NOT NULL,
        low           REAL    NOT NULL,
        close         REAL    NOT NULL,
        volume        REAL    NOT NULL,
        quote_volume  REAL    NOT NULL,
        trades        INTEGER NOT NULL,
        PRIMARY KEY (symbol, interval, open_time_ms)
    ) WITHOUT ROWID;
    CREATE TABLE feed_events (
        id       INTEGER PRIMARY KEY,
        time_ms  INTEGER NOT NULL,
        kind     TEXT    NOT NULL,
        stream   TEXT    NOT NULL,
        detail   TEXT    NOT NULL,
        count    INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX feed_events_time ON feed_events (time_ms);",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;
