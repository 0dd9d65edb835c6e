//! `trademon status`: a one-shot summary from the running daemon, or from the database when
//! none answers. The exit code says which: 0 healthy, 1 degraded, 2 no daemon.

use std::path::Path;

use crate::daemon::client::{self, ClientError};
use crate::daemon::status::{StatusReport, Verdict};
use crate::domain::wall_clock_ms;
use crate::fmt;

/// Asks the daemon at `socket`; without one, reads `db`.
pub async fn status(socket: &Path, db: &Path) -> StatusReport {
    match client::status(socket).await {
        Ok(report) => report,
        Err(e) => {
            let mut report = StatusReport::from_database(db, wall_clock_ms());
            match e {
                ClientError::NoDaemon { .. } => {}
                // Not "daemon not running": there may be one, this user cannot reach it.
                ClientError::PermissionDenied { .. } => {
                    report.verdict = Verdict::PermissionDenied;
                    report.problems.retain(|p| p != Verdict::NoDaemon.as_str());
                    report.problems.insert(0, e.to_string());
                }
                e => report.problems.push(e.to_string()),
            }
            report
        }
    }
}

/// The human-readable form.
pub fn to_text(report: &StatusReport) -> String {
    let now = report.now_ms;
    let mut out = match &report.daemon {
        Some(d) => format!(
            "trademon daemon (pid {}, version {}) on {}: {}\n",
            d.pid,
            d.program_version,
            d.socket,
            report.verdict.as_str().to_uppercase()
        ),
        None => format!("trademon: {}\n", report.verdict.as_str().to_uppercase()),
    };
    let mut line = |label: &str, value: String| out.push_str(&format!("{label:<10} {value}\n"));
    if let Some(source) = &report.source {
        line("source", source.clone());
    }
    if let Some(d) = &report.daemon {
        line(
            "uptime",
            format!(
                "{} (since {} UTC), {} attached client(s)",
                fmt::duration(d.uptime_ms),
                fmt::utc_datetime(d.started_at_ms),
                d.clients
            ),
        );
        if let Some(url) = &d.metrics_url {
            line("metrics", url.clone());
        }
    }
    line(
        "database",
        format!(
            "{} ({})",
            report.database,
            report.db_bytes.map_or("absent".to_string(), fmt::bytes)
        ),
    );
    if let Some(link) = &report.link {
        line("feed", link.clone());
    }
    if !report.streams.is_empty() {
        let count = |state| report.streams.iter().filter(|s| s.state == state).count();
        use crate::protocol::StreamState::{Down, Live, Stale};
        line(
            "streams",
            format!(
                "{} live, {} stale, {} down",
                count(Live),
                count(Stale),
                count(Down)
            ),
        );
    }
    line(
        "model",
        report.model.clone().unwrap_or_else(|| "none".to_string()),
    );
    if let Some(paper) = &report.paper {
        line("paper", paper.to_line());
    }
    if !report.candles.is_empty() {
        out.push_str("last candles\n");
        for c in &report.candles {
            out.push_str(&format!(
                "  {:<10} {:>4}  {} UTC  close {:<14} age {}{}\n",
                c.symbol,
                c.interval,
                fmt::utc_datetime(c.open_time_ms),
                fmt::price(Some(c.close)),
                fmt::duration(c.age_ms),
                if c.stale { "  STALE" } else { "" }
            ));
        }
    }
    if !report.signals.is_empty() {
        out.push_str("latest signals\n");
        for s in &report.signals {
            out.push_str(&format!(
                "  {:<10} {:>4}  {:<4} {:>5.1}%  {} ago  {}\n",
                s.symbol,
                s.interval,
                s.signal.to_uppercase(),
                s.confidence * 100.0,
                fmt::duration(now - s.made_ms),
                s.model_version
            ));
        }
    }
    if !report.drift.is_empty() {
        out.push_str("drift\n");
        for d in &report.drift {
            let mut detail = Vec::new();
            if d.dataset_drift {
                detail.push(format!(
                    "{:.0} % of features drifted",
                    100.0 * d.drifted_share
                ));
            }
            if !d.detectors_in_drift.is_empty() {
                detail.push(format!("{} in drift", d.detectors_in_drift.join(", ")));
            }
            out.push_str(&format!(
                "  {:<10} {:>4}  {:<12} {}{}\n",
                d.symbol,
                d.interval,
                d.status,
                d.model_version,
                if detail.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", detail.join("; "))
                }
            ));
        }
    }
    if report.verdict != Verdict::Healthy {
        out.push_str("problems\n");
        for p in &report.problems {
            out.push_str(&format!("  - {p}\n"));
        }
    }
    out
}
