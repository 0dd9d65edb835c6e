//! What `download` needs of the store: which parts of a range are already stored or were already
//! asked of the exchange, and one page of fetched candles written together with the range it
//! answered, in one transaction, so an interrupted download leaves whole pages and resumes.

use rusqlite::params;

use super::import::insert::insert_in;
use super::{ImportOutcome, Store, StoreError};
use crate::domain::{Candle, Interval, Symbol};

impl Store {
    /// The ranges `[from, to)` inside `[from_ms, to_ms)` that neither hold stored candles nor were
    /// fetched before, in time order. Bounds are on the interval's grid.
    pub fn missing_ranges(
        &self,
        symbol: Symbol,
        interval: Interval,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let ms = interval.ms();
        let mut covered: Vec<(i64, i64)> = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT from_ms, to_ms FROM history_fetched
                 WHERE symbol = ?1 AND interval = ?2 AND to_ms > ?3 AND from_ms < ?4",
            )
            .map_err(|e| self.err(e))?;
        let fetched = stmt
            .query_map(
                params![symbol.as_str(), interval.as_str(), from_ms, to_ms],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        covered.extend(fetched);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT open_time_ms FROM candles
                 WHERE symbol = ?1 AND interval = ?2 AND open_time_ms >= ?3 AND open_time_ms < ?4",
            )
            .map_err(|e| self.err(e))?;
        let stored = stmt
            .query_map(
                params![symbol.as_str(), interval.as_str(), from_ms, to_ms],
                |r| r.get::<_, i64>(0),
            )
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        covered.extend(stored.into_iter().map(|t| (t, t + ms)));
        Ok(uncovered(from_ms, to_ms, covered))
    }

    /// The oldest stored open time in `[from_ms, to_ms)`.
    pub fn first_open_time_between(
        &self,
        symbol: Symbol,
        interval: Interval,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.open_time_bound("MIN", symbol, interval, from_ms, to_ms)
    }

    /// The newest stored open time in `[from_ms, to_ms)`.
    pub fn last_open_time_between(
        &self,
        symbol: Symbol,
        interval: Interval,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.open_time_bound("MAX", symbol, interval, from_ms, to_ms)
    }

    fn open_time_bound(
        &self,
        bound: &str,
        symbol: Symbol,
        interval: Interval,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {bound}(open_time_ms) FROM candles WHERE symbol = ?1 AND interval = ?2
                     AND open_time_ms >= ?3 AND open_time_ms < ?4"
                ),
                params![symbol.as_str(), interval.as_str(), from_ms, to_ms],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Stores one fetched page: its candles (rows already stored are kept) and the range
    /// `[from_ms, to_ms)` the exchange answered for, in one transaction.
    pub fn store_fetched_page(
        &mut self,
        symbol: Symbol,
        interval: Interval,
        candles: &[Candle],
        from_ms: i64,
        to_ms: i64,
    ) -> Result<ImportOutcome, StoreError> {
        let added = self.in_tx(|tx| {
            let added = insert_in(tx, symbol, interval, candles)?;
            if from_ms < to_ms {
                tx.execute(
                    "INSERT INTO history_fetched (symbol, interval, from_ms, to_ms)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (symbol, interval, from_ms) DO UPDATE
                     SET to_ms = max(to_ms, excluded.to_ms)",
                    params![symbol.as_str(), interval.as_str(), from_ms, to_ms],
                )?;
            }
            Ok(added)
        })?;
        Ok(ImportOutcome {
            added,
            already_present: candles.len() as u64 - added,
        })
    }
}

/// `[from, to)` minus the union of `covered`, in order.
fn uncovered(from: i64, to: i64, mut covered: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    covered.sort_unstable();
    let mut out = Vec::new();
    let mut cursor = from;
    for (start, end) in covered {
        if end <= cursor {
            continue;
        }
        if start >= to {
            break;
        }
        if start > cursor {
            out.push((cursor, start.min(to)));
        }
        cursor = cursor.max(end);
        if cursor >= to {
            break;
        }
    }
    if cursor < to {
        out.push((cursor, to));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures;

    #[test]
    fn uncovered_ranges() {
        assert_eq!(uncovered(0, 10, vec![]), vec![(0, 10)]);
        assert_eq!(uncovered(0, 10, vec![(0, 10)]), vec![]);
        assert_eq!(
            uncovered(0, 10, vec![(3, 4), (2, 3), (8, 20)]),
            vec![(0, 2), (4, 8)]
        );
        assert_eq!(
            uncovered(5, 10, vec![(0, 6), (7, 8)]),
            vec![(6, 7), (8, 10)]
        );
        assert_eq!(uncovered(5, 10, vec![(-5, 0), (12, 20)]), vec![(5, 10)]);
    }

    #[test]
    fn pages_and_ranges_round_trip_through_a_real_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("h.db")).unwrap();
        let s = Symbol::new("BTCUSDT").unwrap();
        let i = Interval::M1;
        let m = 60_000;
        let candle = |k: i64| Candle {
            volume: 3.0,
            quote_volume: 4.0,
            trades: 5,
            ..fixtures::candle(k * m)
        };

        assert_eq!(
            store.missing_ranges(s, i, 0, 10 * m).unwrap(),
            vec![(0, 10 * m)]
        );
        // A page for [0, 5m) where the exchange has no candle at 2m (its own hole).
        let page = [candle(0), candle(1), candle(3), candle(4)];
        let outcome = store.store_fetched_page(s, i, &page, 0, 5 * m).unwrap();
        assert_eq!(outcome.added, 4);
        // A stored candle outside any fetched range counts as present.
        store
            .store_fetched_page(s, i, &[candle(7)], 7 * m, 7 * m)
            .unwrap();
        assert_eq!(
            store.missing_ranges(s, i, 0, 10 * m).unwrap(),
            vec![(5 * m, 7 * m), (8 * m, 10 * m)]
        );
        let again = store.store_fetched_page(s, i, &page, 0, 5 * m).unwrap();
        assert_eq!((again.added, again.already_present), (0, 4));
    }
}
