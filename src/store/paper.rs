//! The paper account's log (`paper_log`): append-only rows written through the store's owner and
//! read back whole to rebuild the account. What a row's detail holds is the broker's business
//! (JSON); the store keeps it in order and refuses to change or lose it.

use rusqlite::{Connection, params};

use super::{Store, StoreError};
use crate::domain::Symbol;

/// One entry of the log.
#[derive(Clone, Debug, PartialEq)]
pub struct PaperRow {
    /// Its place in the log (0 until stored).
    pub seq: i64,
    pub time_ms: i64,
    /// `open`, `session`, `order`, `fill`, `cancel`, `reject`, `kill`, `reset`.
    pub kind: String,
    pub symbol: Option<Symbol>,
    pub order_id: Option<i64>,
    /// JSON.
    pub detail: String,
}

/// Appends rows in order. A fill or an order already logged is skipped (the unique indexes),
/// so a row written twice can never fill an order twice.
pub(crate) fn write_paper(conn: &Connection, rows: &[PaperRow]) -> rusqlite::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO paper_log (time_ms, kind, symbol, order_id, detail_json)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for r in rows {
        stmt.execute(params![
            r.time_ms,
            r.kind,
            r.symbol.map(|s| s.as_str().to_string()),
            r.order_id,
            r.detail
        ])?;
    }
    Ok(())
}

impl Store {
    /// The whole paper log, oldest first. A row whose symbol is not a symbol is reported as a
    /// damaged log, naming the row.
    pub fn paper_log(&self) -> Result<Vec<PaperRow>, StoreError> {
        let rows = (|| -> rusqlite::Result<Vec<_>> {
            let mut stmt = self.conn.prepare(
                "SELECT seq, time_ms, kind, symbol, order_id, detail_json FROM paper_log
                 ORDER BY seq",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?;
            rows.collect()
        })()
        .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(rows.len());
        for (seq, time_ms, kind, symbol, order_id, detail) in rows {
            let symbol = match symbol {
                Some(text) => Some(Symbol::new(&text).map_err(|e| StoreError::Corrupt {
                    path: self.path.display().to_string(),
                    report: format!("paper_log row {seq}: symbol {text:?}: {e}"),
                })?),
                None => None,
            };
            out.push(PaperRow {
                seq,
                time_ms,
                kind,
                symbol,
                order_id,
                detail,
            });
        }
        Ok(out)
    }
}
