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
    // 2: the model registry, its audit log, and live predictions.
    // `version` is the model's tag, `<kind>[-<SYMBOL>][-<interval>]@<major>.<minor>.<patch>`: the
    // semantic version counts within a (symbol, interval, kind) line, the tag is unique overall.
    // `kind` and `origin` are open sets (lower-case words joined by '-') so a new kind needs no
    // table rebuild; the closed sets are checked here.
    "CREATE TABLE models (
        id               INTEGER PRIMARY KEY,
        version          TEXT    NOT NULL UNIQUE,
        major            INTEGER NOT NULL CHECK (major >= 0),
        minor            INTEGER NOT NULL CHECK (minor >= 0),
        patch            INTEGER NOT NULL CHECK (patch >= 0),
        created_ms       INTEGER NOT NULL,
        kind             TEXT    NOT NULL CHECK (kind GLOB '[a-z]*' AND kind NOT GLOB '*[^a-z0-9-]*'),
        origin           TEXT    NOT NULL CHECK (origin GLOB '[a-z]*' AND origin NOT GLOB '*[^a-z0-9-]*'),
        trained_on       TEXT    NOT NULL CHECK (trained_on IN ('simulated', 'real', 'unknown')),
        symbol           TEXT,
        interval         TEXT,
        data_from_ms     INTEGER,
        data_to_ms       INTEGER,
        rows_train       INTEGER NOT NULL CHECK (rows_train >= 0),
        rows_validation  INTEGER NOT NULL CHECK (rows_validation >= 0),
        rows_test        INTEGER NOT NULL CHECK (rows_test >= 0),
        features_json    TEXT    NOT NULL CHECK (json_valid(features_json) AND json_type(features_json) = 'array'),
        params_json      TEXT    NOT NULL CHECK (json_valid(params_json)),
        metrics_json     TEXT    NOT NULL CHECK (json_valid(metrics_json)),
        weighting_json   TEXT    NOT NULL CHECK (json_valid(weighting_json)),
        blob             BLOB    NOT NULL CHECK (length(blob) > 0),
        sha256           TEXT    NOT NULL CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
        role             TEXT    NOT NULL CHECK (role IN ('challenger', 'champion', 'retired')),
        CHECK (data_from_ms IS NULL OR data_to_ms IS NULL OR data_from_ms <= data_to_ms)
    );
    CREATE UNIQUE INDEX models_one_champion ON models (role) WHERE role = 'champion';
    CREATE INDEX models_line ON models (kind, symbol, interval);
    CREATE TABLE model_events (
        id                 INTEGER PRIMARY KEY,
        time_ms            INTEGER NOT NULL,
        kind               TEXT    NOT NULL
                           CHECK (kind IN ('register', 'promote', 'rollback', 'switch', 'fallback')),
        model_id           INTEGER REFERENCES models (id),
        previous_model_id  INTEGER REFERENCES models (id),
        detail             TEXT    NOT NULL DEFAULT ''
    );
    CREATE INDEX model_events_model ON model_events (model_id);
    CREATE TABLE predictions (
        model_version    TEXT    NOT NULL,
        symbol           TEXT    NOT NULL,
        interval         TEXT    NOT NULL,
        open_time_ms     INTEGER NOT NULL,
        made_ms          INTEGER NOT NULL,
        p_down           REAL    NOT NULL CHECK (p_down BETWEEN 0 AND 1),
        p_flat           REAL    NOT NULL CHECK (p_flat BETWEEN 0 AND 1),
        p_up             REAL    NOT NULL CHECK (p_up BETWEEN 0 AND 1),
        signal           TEXT    NOT NULL CHECK (signal IN ('buy', 'sell', 'hold')),
        confidence       REAL    NOT NULL CHECK (confidence BETWEEN 0 AND 1),
        realised_return  REAL,
        -- The realised class, in the order of the probabilities: 0 down, 1 flat, 2 up.
        outcome          INTEGER CHECK (outcome IS NULL OR outcome IN (0, 1, 2)),
        PRIMARY KEY (model_version, symbol, interval, open_time_ms)
    ) WITHOUT ROWID;
    CREATE INDEX predictions_series ON predictions (symbol, interval, open_time_ms);",
    // 3: backtest runs, kept whole so the console can reopen them.
    "CREATE TABLE backtest_runs (
        id                  INTEGER PRIMARY KEY,
        created_ms          INTEGER NOT NULL,
        strategy            TEXT    NOT NULL CHECK (length(strategy) > 0),
        symbols             TEXT    NOT NULL CHECK (length(symbols) > 0),
        interval            TEXT    NOT NULL,
        from_ms             INTEGER NOT NULL,
        to_ms               INTEGER NOT NULL,
        candles             INTEGER NOT NULL CHECK (candles > 0),
        walk_forward        INTEGER NOT NULL CHECK (walk_forward IN (0, 1)),
        total_return        REAL,
        buy_and_hold_return REAL,
        max_drawdown        REAL,
        trades              INTEGER NOT NULL CHECK (trades >= 0),
        report_json         TEXT    NOT NULL CHECK (json_valid(report_json)),
        CHECK (from_ms <= to_ms)
    );",
    // 4: facts about each stored series: its market calendar ('24x7': every missing candle is a
    // gap; 'sessions': consecutive stored candles are consecutive bars, only a hole longer than a
    // closure is a gap), and the ranges of history `download` has asked the exchange for, so a
    // second download skips what the exchange already answered (its own holes included).
    "CREATE TABLE series (
        symbol    TEXT NOT NULL,
        interval  TEXT NOT NULL,
        calendar  TEXT NOT NULL DEFAULT '24x7' CHECK (calendar IN ('24x7', 'sessions')),
        PRIMARY KEY (symbol, interval)
    ) WITHOUT ROWID;
    CREATE TABLE history_fetched (
        symbol    TEXT    NOT NULL,
        interval  TEXT    NOT NULL,
        from_ms   INTEGER NOT NULL,
        to_ms     INTEGER NOT NULL,
        CHECK (from_ms < to_ms),
        PRIMARY KEY (symbol, interval, from_ms)
    ) WITHOUT ROWID;",
    // 5: the monitor: each model's reference window (its training rows' feature distributions
    // and test-split predictions), and drift evaluations every few candles.
    "CREATE TABLE model_references (
        model_id        INTEGER PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
        created_ms      INTEGER NOT NULL,
        reference_json  TEXT    NOT NULL CHECK (json_valid(reference_json)),
        samples         BLOB    NOT NULL
    );
    CREATE TABLE drift_evaluations (
        time_ms        INTEGER NOT NULL,
        model_version  TEXT    NOT NULL,
        symbol         TEXT    NOT NULL,
        interval       TEXT    NOT NULL,
        open_time_ms   INTEGER NOT NULL,
        status         TEXT    NOT NULL,
        dataset_drift  INTEGER NOT NULL CHECK (dataset_drift IN (0, 1)),
        drifted_share  REAL    NOT NULL CHECK (drifted_share BETWEEN 0 AND 1),
        summary_json   TEXT    NOT NULL CHECK (json_valid(summary_json)),
        PRIMARY KEY (model_version, symbol, interval, open_time_ms)
    ) WITHOUT ROWID;",
    // 6: champion and challengers. Predictions say whose they are: the active model's, or a
    // challenger's scored in shadow (which never drives a signal). The audit log gains the
    // challengers' moves (retire, challenge), retraining (its triggers, skips and results) and
    // the promotions and rollbacks decided by evidence, with their statistics.
    // SQLite cannot change a CHECK in place: the log is copied into a new table.
    "ALTER TABLE predictions ADD COLUMN role TEXT NOT NULL DEFAULT 'active'
        CHECK (role IN ('active', 'shadow'));
    CREATE TABLE model_events_v6 (
        id                 INTEGER PRIMARY KEY,
        time_ms            INTEGER NOT NULL,
        kind               TEXT    NOT NULL
                           CHECK (kind IN ('register', 'promote', 'rollback', 'switch', 'fallback',
                                           'retire', 'challenge', 'retrain', 'evidence')),
        model_id           INTEGER REFERENCES models (id),
        previous_model_id  INTEGER REFERENCES models (id),
        detail             TEXT    NOT NULL DEFAULT ''
    );
    INSERT INTO model_events_v6 (id, time_ms, kind, model_id, previous_model_id, detail)
        SELECT id, time_ms, kind, model_id, previous_model_id, detail FROM model_events;
    DROP TABLE model_events;
    ALTER TABLE model_events_v6 RENAME TO model_events;
    CREATE INDEX model_events_model ON model_events (model_id);",
    // 7: the paper account's log: every order placed, fill, cancel and refusal, the account's
    // opening, where each run's trading began (the first signal it traded: `session`) and its
    // kill switch, in the order they happened. Positions, balances and P&L are
    // derived from it and never stored. Append-only: updates and deletes are refused, and an
    // order is placed and filled at most once.
    "CREATE TABLE paper_log (
        seq          INTEGER PRIMARY KEY,
        time_ms      INTEGER NOT NULL,
        kind         TEXT    NOT NULL
                     CHECK (kind IN ('open', 'session', 'order', 'fill', 'cancel', 'reject', 'kill',
                                     'reset')),
        symbol       TEXT,
        order_id     INTEGER,
        detail_json  TEXT    NOT NULL CHECK (json_valid(detail_json)),
        CHECK ((kind IN ('order', 'fill', 'cancel')) = (order_id IS NOT NULL))
    );
    CREATE UNIQUE INDEX paper_log_one_order ON paper_log (order_id) WHERE kind = 'order';
    CREATE UNIQUE INDEX paper_log_one_fill ON paper_log (order_id) WHERE kind = 'fill';
    CREATE TRIGGER paper_log_no_update BEFORE UPDATE ON paper_log
        BEGIN SELECT RAISE(ABORT, 'the paper log is append-only'); END;
    CREATE TRIGGER paper_log_no_delete BEFORE DELETE ON paper_log
        BEGIN SELECT RAISE(ABORT, 'the paper log is append-only'); END;",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;
