//! The monitor's tables: each model's reference window (`model_references`, written once when it
//! is computed) and the drift evaluations (`drift_evaluations`, one row every few candles per
//! symbol, read back for the PSI sparklines after a restart).

use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, StoreError};
use crate::domain::{Interval, Symbol};

/// A model's reference: its summary as JSON, its per-feature samples as a blob.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceRow {
    pub model_id: i64,
    pub created_ms: i64,
    pub json: String,
    pub samples: Vec<u8>,
}

/// One stored drift evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftRow {
    pub time_ms: i64,
    pub model_version: String,
    pub symbol: Symbol,
    pub interval: Interval,
    /// Open time of the newest candle it covers.
    pub open_time_ms: i64,
    /// "stable", "drifting", ...
    pub status: String,
    pub dataset_drift: bool,
    pub drifted_share: f64,
    /// Per feature: name → PSI, and the detectors' states (JSON object).
    pub summary: String,
}

pub(crate) fn write_reference(conn: &Connection, r: &ReferenceRow) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO model_references (model_id, created_ms, reference_json, samples)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![r.model_id, r.created_ms, r.json, r.samples])?;
    Ok(())
}

/// Stores a reference on `conn` (the owner's, in a registry job).
pub fn put_reference_on(conn: &Connection, row: &ReferenceRow) -> Result<(), String> {
    write_reference(conn, row).map_err(|e| e.to_string())
}

pub(crate) fn write_drift(conn: &Connection, rows: &[DriftRow]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR REPLACE INTO drift_evaluations (time_ms, model_version, symbol, interval,
             open_time_ms, status, dataset_drift, drifted_share, summary_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for r in rows {
        stmt.execute(params![
            r.time_ms,
            r.model_version,
            r.symbol.as_str(),
            r.interval.as_str(),
            r.open_time_ms,
            r.status,
            r.dataset_drift,
            r.drifted_share,
            r.summary
        ])?;
    }
    Ok(())
}

/// A stored prediction with its outcome, if known.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPrediction {
    pub open_time_ms: i64,
    pub probabilities: [f64; 3],
    pub signal: String,
    pub outcome: Option<u8>,
}

impl Store {
    /// Stores `row` as the reference of its model (replacing one stored before).
    pub fn put_reference(&mut self, row: &ReferenceRow) -> Result<(), StoreError> {
        write_reference(&self.conn, row).map_err(|e| self.err(e))
    }

    /// The stored reference of model `model_id`.
    pub fn reference(&self, model_id: i64) -> Result<Option<ReferenceRow>, StoreError> {
        self.conn
            .query_row(
                "SELECT created_ms, reference_json, samples FROM model_references WHERE model_id = ?1",
                params![model_id],
                |r| {
                    Ok(ReferenceRow {
                        model_id,
                        created_ms: r.get(0)?,
                        json: r.get(1)?,
                        samples: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The last `limit` candles opening before `before_ms`, oldest first.
    pub fn recent_candles_before(
        &self,
        symbol: Symbol,
        interval: Interval,
        before_ms: i64,
        limit: usize,
    ) -> Result<Vec<crate::domain::Candle>, StoreError> {
        let mut out = self.candles_between_desc(symbol, interval, before_ms, limit)?;
        out.reverse();
        Ok(out)
    }

    /// The newest `limit` drift evaluations of a model on a series, oldest first.
    pub fn drift_history(
        &self,
        model_version: &str,
        symbol: Symbol,
        interval: Interval,
        limit: usize,
    ) -> Result<Vec<DriftRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT time_ms, open_time_ms, status, dataset_drift, drifted_share, summary_json
                 FROM drift_evaluations WHERE model_version = ?1 AND symbol = ?2 AND interval = ?3
                 ORDER BY open_time_ms DESC LIMIT ?4",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(
                params![
                    model_version,
                    symbol.as_str(),
                    interval.as_str(),
                    limit as i64
                ],
                |r| {
                    Ok(DriftRow {
                        time_ms: r.get(0)?,
                        model_version: model_version.to_string(),
                        symbol,
                        interval,
                        open_time_ms: r.get(1)?,
                        status: r.get(2)?,
                        dataset_drift: r.get(3)?,
                        drifted_share: r.get(4)?,
                        summary: r.get(5)?,
                    })
                },
            )
            .map_err(|e| self.err(e))?;
        let mut out = rows
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        out.reverse();
        Ok(out)
    }

    /// The stored predictions of `model_version` on a series from `from_ms` on, oldest first.
    pub fn predictions_of(
        &self,
        model_version: &str,
        symbol: Symbol,
        interval: Interval,
        from_ms: i64,
    ) -> Result<Vec<StoredPrediction>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT open_time_ms, p_down, p_flat, p_up, signal, outcome FROM predictions
                 WHERE model_version = ?1 AND symbol = ?2 AND interval = ?3 AND open_time_ms >= ?4
                 ORDER BY open_time_ms",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(
                params![model_version, symbol.as_str(), interval.as_str(), from_ms],
                |r| {
                    Ok(StoredPrediction {
                        open_time_ms: r.get(0)?,
                        probabilities: [r.get(1)?, r.get(2)?, r.get(3)?],
                        signal: r.get(4)?,
                        outcome: r.get(5)?,
                    })
                },
            )
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}
