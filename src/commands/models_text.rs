//! The human-readable forms of `trademon models list | show | promote | rollback`: an aligned
//! table, a block per model (lineage, data, the thresholds its signals need, parameters, metrics,
//! weighting, audit log) and the champion change.

use std::fmt::Write as _;
use std::path::Path;

use crate::fmt::utc_datetime;
use crate::model::registry::{ChampionChange, ModelEvent, ModelRecord, TrainedOn};
use crate::protocol::SignalThresholds;

/// `YYYY-MM-DD` UTC.
fn date(ms: Option<i64>) -> String {
    ms.map(|t| {
        let text = utc_datetime(t);
        text.split_once(' ')
            .map_or(text.clone(), |(d, _)| d.to_string())
    })
    .unwrap_or_else(|| "?".to_string())
}

/// `YYYY-MM-DD HH:MM` UTC.
fn minute(ms: i64) -> String {
    let text = utc_datetime(ms);
    text.rsplit_once(':')
        .map_or(text.clone(), |(m, _)| m.to_string())
}

fn series(m: &ModelRecord) -> String {
    match (m.symbol, m.interval) {
        (Some(s), Some(i)) => format!("{s} {i}"),
        (Some(s), None) => s.to_string(),
        (None, Some(i)) => i.to_string(),
        (None, None) => "-".to_string(),
    }
}

fn data_label(t: TrainedOn) -> &'static str {
    match t {
        TrainedOn::Simulated => "SIMULATED",
        TrainedOn::Real => "real",
        TrainedOn::Unknown => "unknown",
    }
}

pub(super) fn list_text(models: &[ModelRecord], db: &Path) -> String {
    if models.is_empty() {
        return format!(
            "no models registered in {}; `trademon train` adds one\n",
            db.display()
        );
    }
    let header = [
        "ID",
        "VERSION",
        "ROLE",
        "ORIGIN",
        "DATA",
        "SERIES",
        "CANDLES",
        "ROWS",
        "CREATED (UTC)",
    ];
    let rows: Vec<[String; 9]> = models
        .iter()
        .map(|m| {
            let candles = match (m.data_from_ms, m.data_to_ms) {
                (None, None) => "-".to_string(),
                (from, to) => format!("{} .. {}", date(from), date(to)),
            };
            [
                m.id.to_string(),
                m.version.clone(),
                m.role.to_string(),
                m.origin.to_string(),
                data_label(m.trained_on).to_string(),
                series(m),
                candles,
                format!("{}/{}/{}", m.rows_train, m.rows_validation, m.rows_test),
                minute(m.created_ms),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            // Numbers right-aligned, text left-aligned.
            let _ = match i {
                0 => write!(text, "{cell:>w$}  "),
                _ => write!(text, "{cell:<w$}  "),
            };
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    out.push_str(
        "ROWS: training/validation/test rows. The champion is the model the engine runs.\n",
    );
    if models.iter().any(|m| m.trained_on == TrainedOn::Simulated) {
        out.push_str(
            "SIMULATED: trained on the built-in exchange's simulated prices, not on a real market.\n",
        );
    }
    out
}

/// `key = value` lines of a JSON value, objects flattened to dotted keys, at most `limit`.
fn flat_lines(value: &serde_json::Value, limit: usize) -> Vec<String> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            other => {
                let mut text = other.to_string();
                if text.chars().count() > 90 {
                    text = text.chars().take(87).collect::<String>() + "...";
                }
                out.push((prefix.to_string(), text));
            }
        }
    }
    let mut pairs = Vec::new();
    walk("", value, &mut pairs);
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut lines: Vec<String> = pairs
        .iter()
        .take(limit)
        .map(|(k, v)| {
            if k.is_empty() {
                v.clone()
            } else {
                format!("{k:<width$} = {v}")
            }
        })
        .collect();
    if pairs.len() > limit {
        lines.push(format!(
            "... {} more (--json shows all)",
            pairs.len() - limit
        ));
    }
    lines
}

pub(super) fn show_text(
    m: &ModelRecord,
    thresholds: Option<&SignalThresholds>,
    events: &[ModelEvent],
) -> String {
    let mut out = format!("model {}: {} ({})\n", m.id, m.version, m.role);
    let mut field = |name: &str, value: String| {
        let _ = writeln!(out, "  {name:<12}{value}");
    };
    field(
        "trained on",
        match m.trained_on {
            TrainedOn::Simulated => "SIMULATED prices from the built-in exchange: its metrics say \
                                     nothing about a real market"
                .to_string(),
            TrainedOn::Real => "real market prices".to_string(),
            TrainedOn::Unknown => "unknown data (imported model)".to_string(),
        },
    );
    field("kind", format!("{}, origin {}", m.kind, m.origin));
    field("series", series(m));
    if m.data_from_ms.is_some() || m.data_to_ms.is_some() {
        let at = |t: Option<i64>| t.map(utc_datetime).unwrap_or_else(|| "?".to_string());
        field(
            "candles",
            format!("{} .. {} UTC", at(m.data_from_ms), at(m.data_to_ms)),
        );
    }
    field(
        "rows",
        format!(
            "{} train, {} validation, {} test",
            m.rows_train, m.rows_validation, m.rows_test
        ),
    );
    field("created", format!("{} UTC", utc_datetime(m.created_ms)));
    field(
        "weights",
        format!("{} bytes, sha256 {}", m.blob_bytes, m.sha256),
    );
    field(
        "features",
        format!("{}: {}", m.features.len(), m.features.join(", ")),
    );
    if let Some(t) = thresholds {
        field(
            "signals",
            format!(
                "Buy at confidence >= {:.4}, Sell >= {:.4}, Hold below ({})",
                t.buy, t.sell, t.source
            ),
        );
    }
    for (name, value) in [
        ("params", &m.params),
        ("metrics", &m.metrics),
        ("weighting", &m.weighting),
    ] {
        let _ = writeln!(out, "  {name}");
        for line in flat_lines(value, 40) {
            let _ = writeln!(out, "    {line}");
        }
    }
    let _ = writeln!(out, "  history");
    for e in events {
        let _ = writeln!(
            out,
            "    {}  {:<9} {}",
            utc_datetime(e.time_ms),
            e.kind.as_str(),
            e.detail
        );
    }
    out
}

pub(super) fn change_text(change: &ChampionChange) -> String {
    let c = &change.champion;
    let mut out = format!("champion: {} (id {})", c.version, c.id);
    if let Some(p) = &change.previous {
        let _ = write!(out, "; retired {} (id {})", p.version, p.id);
    }
    let _ = writeln!(out, "\n{}: {}", change.event.kind, change.event.detail);
    if c.trained_on == TrainedOn::Simulated {
        out.push_str("note: the champion was trained on SIMULATED prices, not on a real market\n");
    }
    out
}
