//! The one-shot summary `trademon status` prints: made by a running daemon from its live state,
//! or read from the database when no daemon answers. Its [`Verdict`] is the exit code.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

use crate::protocol::{LinkState, Snapshot, StreamState};

pub use super::status_paper::PaperStatus;

/// How things are, as the exit code of `trademon status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The daemon runs, the feed is up and the data is fresh: exit 0.
    Healthy,
    /// The daemon runs but something is wrong (feed down, stale data): exit 1.
    Degraded,
    /// No daemon answered on the socket: exit 2.
    NoDaemon,
    /// The socket is there but this user may not connect to it (another user's daemon, or modes
    /// that keep this one out): exit 2, as no daemon answered, but said as it is.
    PermissionDenied,
}

impl Verdict {
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Healthy => 0,
            Verdict::Degraded => 1,
            Verdict::NoDaemon | Verdict::PermissionDenied => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Degraded => "degraded",
            Verdict::NoDaemon => "daemon not running",
            Verdict::PermissionDenied => "permission denied",
        }
    }
}

/// The daemon that answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DaemonInfo {
    pub pid: u32,
    pub program_version: String,
    pub socket: String,
    pub clients: usize,
    pub started_at_ms: i64,
    pub uptime_ms: i64,
    /// Where it serves Prometheus metrics, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_url: Option<String>,
}

/// One stream's link state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamStatus {
    pub name: String,
    pub state: StreamState,
    pub last_message_age_ms: Option<i64>,
    /// Messages received since the daemon started (as of the last health report).
    #[serde(default)]
    pub messages: u64,
}

/// The feed's and the store's totals since the daemon started, as of the engine's last health
/// report (once a second): the same figures `/metrics` exports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    pub reconnects: u64,
    pub gaps_found: u64,
    pub gaps_repaired: u64,
    pub candles_backfilled: u64,
    pub parse_errors: u64,
    pub rate_limited: u64,
    pub rows_stored: u64,
    pub db_rows_lost: u64,
    pub db_write_errors: u64,
}

/// The newest closed candle of one series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastCandle {
    pub symbol: String,
    pub interval: String,
    pub open_time_ms: i64,
    pub close: f64,
    /// Time since the candle closed (0 when it closed "in the future", as the accelerated
    /// simulated exchange's candles do).
    pub age_ms: i64,
    pub stale: bool,
}

/// The latest signal of one series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatestSignal {
    pub symbol: String,
    pub interval: String,
    pub signal: String,
    pub confidence: f64,
    pub model_version: String,
    pub made_ms: i64,
}

/// The monitor's verdict on the active model for one symbol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftLine {
    pub symbol: String,
    pub interval: String,
    pub model_version: String,
    /// "stable", "drifting", "no reference" or "warming up".
    pub status: String,
    pub dataset_drift: bool,
    pub drifted_share: f64,
    /// Detectors in drift now.
    pub detectors_in_drift: Vec<String>,
    /// Open time of the newest candle the verdict covers.
    pub as_of_ms: Option<i64>,
}

/// What `trademon status` prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub verdict: Verdict,
    /// Why the verdict is not healthy, one line each.
    pub problems: Vec<String>,
    /// `None`: no daemon answered; the rest was read from the database.
    pub daemon: Option<DaemonInfo>,
    pub source: Option<String>,
    /// The feed's websocket connection, in words.
    pub link: Option<String>,
    /// Connect attempts to the exchange that failed since the daemon started.
    #[serde(default)]
    pub failed_connects: u64,
    /// The daemon's totals (none when no daemon answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counters: Option<Counters>,
    pub streams: Vec<StreamStatus>,
    pub candles: Vec<LastCandle>,
    pub signals: Vec<LatestSignal>,
    /// The monitor's verdict per symbol (a daemon's live one, or the last stored evaluation).
    #[serde(default)]
    pub drift: Vec<DriftLine>,
    /// The model the engine runs (from a daemon) or the registry's champion (from the database).
    pub model: Option<String>,
    /// The paper account, from a daemon with paper trading on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<PaperStatus>,
    pub database: String,
    pub db_bytes: Option<u64>,
    pub now_ms: i64,
}

/// A closed candle is stale when nothing newer closed for twice its interval (at least 2 min).
pub fn stale_after_ms(interval_ms: i64) -> i64 {
    (2 * interval_ms).max(120_000)
}

/// Database and WAL file sizes together.
pub fn db_bytes(path: &Path) -> Option<u64> {
    let wal = format!("{}-wal", path.display());
    let sizes: Vec<u64> = [path, Path::new(&wal)]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok().map(|m| m.len()))
        .collect();
    (!sizes.is_empty()).then(|| sizes.iter().sum())
}

impl StatusReport {
    /// The report of a running daemon, from its live state.
    pub fn from_snapshot(
        snapshot: &Snapshot,
        daemon: DaemonInfo,
        database: &Path,
        now_ms: i64,
    ) -> Self {
        let mut problems = Vec::new();
        let failed_connects = snapshot.health.failed_connects;
        let failures = match failed_connects {
            0 => String::new(),
            1 => " (1 failed connect)".to_string(),
            n => format!(" ({n} failed connects)"),
        };
        let link = snapshot.health.link.as_ref().map(|link| match link {
            LinkState::Connecting => format!("connecting{failures}"),
            LinkState::Connected { since_ms } => {
                format!(
                    "connected for {} s{failures}",
                    (now_ms - since_ms).max(0) / 1000
                )
            }
            LinkState::Down { reason, .. } => format!("down: {reason}{failures}"),
        });
        match &snapshot.health.link {
            Some(LinkState::Connected { .. }) => {}
            Some(_) => problems.push(format!("feed link {}", link.as_deref().unwrap_or("down"))),
            None => problems.push("feed link state not known yet".to_string()),
        }
        let streams: Vec<StreamStatus> = snapshot
            .health
            .streams
            .iter()
            .map(|s| StreamStatus {
                name: s.name.clone(),
                state: s.state,
                last_message_age_ms: s.last_message_age_ms,
                messages: s.messages,
            })
            .collect();
        for s in &streams {
            match s.state {
                StreamState::Live => {}
                StreamState::Stale => problems.push(format!(
                    "stream {} stale (no message for {} s)",
                    s.name,
                    s.last_message_age_ms.unwrap_or(0) / 1000
                )),
                StreamState::Down => problems.push(format!("stream {} down", s.name)),
            }
        }
        let mut candles = Vec::new();
        for market in &snapshot.markets {
            for (interval, series) in snapshot.intervals.iter().zip(&market.series) {
                match series.closed.back() {
                    Some(c) => candles.push(last_candle(
                        market.symbol.as_str(),
                        interval.as_str(),
                        interval.ms(),
                        c.open_time_ms,
                        c.close,
                        now_ms,
                    )),
                    None => {
                        problems.push(format!("no closed {} {interval} candle yet", market.symbol))
                    }
                }
            }
        }
        problems.extend(stale_problems(&candles));
        if let Some(why) = &snapshot.health.db_writer_problem {
            problems.push(format!("store: {why}"));
        }
        let signals = snapshot
            .signals
            .iter()
            .map(|s| LatestSignal {
                symbol: s.symbol.to_string(),
                interval: s.interval.to_string(),
                signal: s.signal.as_str().to_string(),
                confidence: s.confidence,
                model_version: s.model_version.clone(),
                made_ms: s.made_ms,
            })
            .collect();
        let drift: Vec<DriftLine> = snapshot
            .monitor
            .symbols
            .iter()
            .map(|m| DriftLine {
                symbol: m.symbol.to_string(),
                interval: m.interval.to_string(),
                model_version: m.model_version.clone(),
                status: m.status.as_str().to_string(),
                dataset_drift: m.dataset_drift,
                drifted_share: m.drifted_share,
                detectors_in_drift: m
                    .detectors
                    .iter()
                    .filter(|d| d.state == crate::protocol::DetectorLevel::Drift)
                    .map(|d| d.name.clone())
                    .collect(),
                as_of_ms: m.as_of_ms,
            })
            .collect();
        for d in &drift {
            if d.status == crate::protocol::DriftStatus::Drifting.as_str() {
                let mut why = Vec::new();
                if d.dataset_drift {
                    why.push(format!(
                        "dataset drift ({:.0} % of features)",
                        100.0 * d.drifted_share
                    ));
                }
                if !d.detectors_in_drift.is_empty() {
                    why.push(format!("{} in drift", d.detectors_in_drift.join(", ")));
                }
                problems.push(format!(
                    "model {} drifting on {} {}: {}",
                    d.model_version,
                    d.symbol,
                    d.interval,
                    why.join("; ")
                ));
            }
        }
        let model = match (snapshot.models.active_model(), &snapshot.models.fallback) {
            (_, Some(why)) => Some(format!("logistic fallback ({why})")),
            (Some(m), None) => Some(m.version.clone()),
            (None, None) => None,
        };
        Self {
            verdict: if problems.is_empty() {
                Verdict::Healthy
            } else {
                Verdict::Degraded
            },
            problems,
            daemon: Some(daemon),
            source: Some(snapshot.source.label()),
            link,
            failed_connects,
            counters: Some(Counters {
                reconnects: snapshot.health.reconnects,
                gaps_found: snapshot.health.gaps_found,
                gaps_repaired: snapshot.health.gaps_repaired,
                candles_backfilled: snapshot.health.candles_backfilled,
                parse_errors: snapshot.health.parse_errors,
                rate_limited: snapshot.health.rate_limited,
                rows_stored: snapshot.health.rows_stored,
                db_rows_lost: snapshot.health.db_rows_lost,
                db_write_errors: snapshot.health.db_write_errors,
            }),
            streams,
            candles,
            signals,
            drift,
            model,
            paper: PaperStatus::from_view(&snapshot.paper),
            database: database.display().to_string(),
            db_bytes: db_bytes(database),
            now_ms,
        }
    }

    /// The report when no daemon answered: what the database holds, read-only.
    pub fn from_database(database: &Path, now_ms: i64) -> Self {
        let mut report = Self {
            verdict: Verdict::NoDaemon,
            problems: vec!["daemon not running".to_string()],
            daemon: None,
            source: None,
            link: None,
            failed_connects: 0,
            counters: None,
            streams: Vec::new(),
            candles: Vec::new(),
            signals: Vec::new(),
            drift: Vec::new(),
            model: None,
            paper: None,
            database: database.display().to_string(),
            db_bytes: db_bytes(database),
            now_ms,
        };
        if !database.exists() {
            report
                .problems
                .push(format!("no database at {}", database.display()));
            return report;
        }
        if let Err(e) = read_database(database, now_ms, &mut report) {
            report.problems.push(format!(
                "cannot read the database {}: {e}",
                database.display()
            ));
        }
        report
    }
}

fn last_candle(
    symbol: &str,
    interval: &str,
    interval_ms: i64,
    open_time_ms: i64,
    close: f64,
    now_ms: i64,
) -> LastCandle {
    let age_ms = (now_ms - (open_time_ms + interval_ms)).max(0);
    LastCandle {
        symbol: symbol.to_string(),
        interval: interval.to_string(),
        open_time_ms,
        close,
        age_ms,
        stale: age_ms > stale_after_ms(interval_ms),
    }
}

fn stale_problems(candles: &[LastCandle]) -> Vec<String> {
    candles
        .iter()
        .filter(|c| c.stale)
        .map(|c| {
            format!(
                "{} {} data stale: last candle closed {} s ago",
                c.symbol,
                c.interval,
                c.age_ms / 1000
            )
        })
        .collect()
}

/// Fills the report from the database (opened read-only, so a missing table is an error here,
/// never a change to the file).
fn read_database(path: &Path, now_ms: i64, report: &mut StatusReport) -> rusqlite::Result<()> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(crate::store::busy_timeout())?;
    let mut stmt = conn.prepare(
        "SELECT c.symbol, c.interval, c.open_time_ms, c.close FROM candles c
         JOIN (SELECT symbol, interval, MAX(open_time_ms) AS t FROM candles
               GROUP BY symbol, interval) n
         ON c.symbol = n.symbol AND c.interval = n.interval AND c.open_time_ms = n.t
         ORDER BY c.symbol, c.interval",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, f64>(3)?,
        ))
    })?;
    for row in rows {
        let (symbol, interval, open_time_ms, close) = row?;
        let interval_ms = interval
            .parse::<crate::domain::Interval>()
            .map(|i| i.ms())
            .unwrap_or(0);
        report.candles.push(last_candle(
            &symbol,
            &interval,
            interval_ms,
            open_time_ms,
            close,
            now_ms,
        ));
    }
    let has_table = |name: &str| -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
    };
    if has_table("models")? {
        report.model = conn
            .query_row(
                "SELECT version FROM models WHERE role = 'champion' LIMIT 1",
                [],
                |r| r.get::<_, String>(0),
            )
            .ok();
    }
    if has_table("predictions")? {
        let mut stmt = conn.prepare(
            "SELECT p.symbol, p.interval, p.signal, p.confidence, p.model_version, p.made_ms
             FROM predictions p
             JOIN (SELECT symbol, interval, MAX(made_ms) AS t FROM predictions
                   GROUP BY symbol, interval) n
             ON p.symbol = n.symbol AND p.interval = n.interval AND p.made_ms = n.t
             GROUP BY p.symbol, p.interval ORDER BY p.symbol, p.interval",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(LatestSignal {
                symbol: r.get(0)?,
                interval: r.get(1)?,
                signal: r.get(2)?,
                confidence: r.get(3)?,
                model_version: r.get(4)?,
                made_ms: r.get(5)?,
            })
        })?;
        for row in rows {
            report.signals.push(row?);
        }
    }
    if has_table("drift_evaluations")?
        && let Some(model) = report.model.clone()
    {
        let mut stmt = conn.prepare(
            "SELECT d.symbol, d.interval, d.status, d.dataset_drift, d.drifted_share,
                    d.open_time_ms, d.summary_json
             FROM drift_evaluations d
             JOIN (SELECT symbol, interval, MAX(open_time_ms) AS t FROM drift_evaluations
                   WHERE model_version = ?1 GROUP BY symbol, interval) n
             ON d.symbol = n.symbol AND d.interval = n.interval AND d.open_time_ms = n.t
             WHERE d.model_version = ?1 ORDER BY d.symbol, d.interval",
        )?;
        let rows = stmt.query_map([&model], |r| {
            let summary: String = r.get(6)?;
            let detectors_in_drift = serde_json::from_str::<serde_json::Value>(&summary)
                .ok()
                .and_then(|v| v.get("detectors").cloned())
                .and_then(|d| d.as_object().cloned())
                .map(|o| {
                    o.iter()
                        .filter(|(_, s)| s.as_str() == Some("drift"))
                        .map(|(n, _)| n.clone())
                        .collect()
                })
                .unwrap_or_default();
            let status: String = r.get(2)?;
            Ok(DriftLine {
                symbol: r.get(0)?,
                interval: r.get(1)?,
                model_version: model.clone(),
                status: status.replace('_', " "),
                dataset_drift: r.get(3)?,
                drifted_share: r.get(4)?,
                detectors_in_drift,
                as_of_ms: Some(r.get(5)?),
            })
        })?;
        for row in rows {
            report.drift.push(row?);
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
