//! Stored backtest runs: a summary row for lists and the whole report as JSON. The store does
//! not interpret the report; `backtest::Report` is read back from it by the caller.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

/// A run to store.
#[derive(Clone, Debug, PartialEq)]
pub struct BacktestRunRow {
    pub created_ms: i64,
    pub strategy: String,
    /// Comma-separated.
    pub symbols: String,
    pub interval: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub candles: u64,
    pub walk_forward: bool,
    pub total_return: f64,
    pub buy_and_hold_return: f64,
    pub max_drawdown: f64,
    pub trades: u64,
    pub report_json: String,
}

/// A stored run's summary (its report is read with [`Store::backtest_report`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BacktestRun {
    pub id: i64,
    pub created_ms: i64,
    pub strategy: String,
    pub symbols: String,
    pub interval: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub candles: u64,
    pub walk_forward: bool,
    /// `None` where the number was not finite.
    pub total_return: Option<f64>,
    pub buy_and_hold_return: Option<f64>,
    pub max_drawdown: Option<f64>,
    pub trades: u64,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

impl Store {
    /// Stores a run in one transaction and returns its id.
    pub fn insert_backtest_run(&mut self, run: &BacktestRunRow) -> Result<i64, StoreError> {
        self.in_tx(|tx| {
            tx.execute(
                "INSERT INTO backtest_runs (created_ms, strategy, symbols, interval, from_ms, to_ms,
                     candles, walk_forward, total_return, buy_and_hold_return, max_drawdown,
                     trades, report_json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    run.created_ms,
                    run.strategy,
                    run.symbols,
                    run.interval,
                    run.from_ms,
                    run.to_ms,
                    run.candles as i64,
                    i64::from(run.walk_forward),
                    finite(run.total_return),
                    finite(run.buy_and_hold_return),
                    finite(run.max_drawdown),
                    run.trades as i64,
                    run.report_json,
                ],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// The newest `limit` runs, newest first.
    pub fn backtest_runs(&self, limit: usize) -> Result<Vec<BacktestRun>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, created_ms, strategy, symbols, interval, from_ms, to_ms, candles,
                        walk_forward, total_return, buy_and_hold_return, max_drawdown, trades
                 FROM backtest_runs ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![limit as i64], |r| {
                Ok(BacktestRun {
                    id: r.get(0)?,
                    created_ms: r.get(1)?,
                    strategy: r.get(2)?,
                    symbols: r.get(3)?,
                    interval: r.get(4)?,
                    from_ms: r.get(5)?,
                    to_ms: r.get(6)?,
                    candles: r.get::<_, i64>(7)?.max(0) as u64,
                    walk_forward: r.get::<_, i64>(8)? != 0,
                    total_return: r.get(9)?,
                    buy_and_hold_return: r.get(10)?,
                    max_drawdown: r.get(11)?,
                    trades: r.get::<_, i64>(12)?.max(0) as u64,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// A stored run's report JSON, or `None` when there is no run `id`.
    pub fn backtest_report(&self, id: i64) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT report_json FROM backtest_runs WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(strategy: &str, json: &str) -> BacktestRunRow {
        BacktestRunRow {
            created_ms: 1_700_000_000_000,
            strategy: strategy.into(),
            symbols: "BTCUSDT".into(),
            interval: "1m".into(),
            from_ms: 0,
            to_ms: 60_000,
            candles: 2,
            walk_forward: false,
            total_return: 0.1,
            buy_and_hold_return: f64::INFINITY,
            max_drawdown: 0.05,
            trades: 1,
            report_json: json.into(),
        }
    }

    #[test]
    fn runs_are_stored_listed_newest_first_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let a = store
            .insert_backtest_run(&row("buy-hold", "{\"a\":1}"))
            .unwrap();
        let b = store
            .insert_backtest_run(&row("sma-cross:10,20", "{\"b\":2}"))
            .unwrap();
        let runs = store.backtest_runs(10).unwrap();
        assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), vec![b, a]);
        assert_eq!(runs[0].strategy, "sma-cross:10,20");
        assert_eq!(
            runs[0].buy_and_hold_return, None,
            "infinite is stored as NULL"
        );
        assert_eq!(
            store.backtest_report(a).unwrap().as_deref(),
            Some("{\"a\":1}")
        );
        assert_eq!(store.backtest_report(99).unwrap(), None);
    }

    #[test]
    fn a_bad_run_is_refused_whole_and_nothing_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let err = store
            .insert_backtest_run(&row("buy-hold", "{not json"))
            .unwrap_err();
        assert!(err.to_string().contains("t.db"), "{err}");
        let mut empty = row("", "{}");
        assert!(store.insert_backtest_run(&empty).is_err());
        empty.strategy = "x".into();
        empty.from_ms = 10;
        empty.to_ms = 5;
        assert!(store.insert_backtest_run(&empty).is_err());
        assert!(store.backtest_runs(10).unwrap().is_empty());
    }
}
