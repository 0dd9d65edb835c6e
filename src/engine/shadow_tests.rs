//! Shadow scoring in a real engine on a real SQLite file: the demo model is champion, two
//! challengers made from it (an exact copy, and its first member alone) score every closed
//! candle beside it. Their predictions are stored as `shadow` and never become signals; the
//! copy's evidence is exactly nil; retiring a challenger takes effect at the next candle.

use std::sync::Arc;

use crate::domain::{Interval, Symbol, WallClock};
use crate::engine::test_support::{engine, flush, no_monitor, options, writer};
use crate::feed::MarketEvent;
use crate::feed::sim::model_candles;
use crate::model::registry::Registry;

/// (model_version, role, rows, rows with an outcome) of the stored predictions.
fn stored(db: &std::path::Path) -> Vec<(String, String, i64, i64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT model_version, role, COUNT(*), COUNT(outcome) FROM predictions
             GROUP BY model_version, role ORDER BY model_version, role",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn challengers_score_in_shadow_are_stored_as_such_and_never_signal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simulated.db");
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let (champion, copy, single) = {
        let mut registry = Registry::open(&db).unwrap();
        let champion = crate::model::demo::install(&mut registry).unwrap().unwrap();
        let copy = registry
            .register(crate::model::demo::derived(3).unwrap())
            .unwrap();
        let single = registry
            .register(crate::model::demo::derived(1).unwrap())
            .unwrap();
        (champion, copy, single)
    };
    let from = champion.data_to_ms.unwrap() + 60_000;
    let candles = model_candles(42, symbol, from, 600);
    let writer = writer(&db);
    // The monitor is another component; this test is about shadow scoring alone.
    let options = options(
        vec![symbol],
        Arc::new(WallClock),
        no_monitor(),
        Default::default(),
    );
    let mut engine = engine(&db, &writer, options);
    let mut signals = Vec::new();
    for candle in &candles {
        engine.on_market(MarketEvent::Kline {
            symbol,
            interval: Interval::M1,
            candle: *candle,
            closed: true,
        });
        if let Some(s) = engine.snapshot().signals.first() {
            signals.push(s.model_version.clone());
        }
    }
    // Every signal is the champion's.
    assert!(!signals.is_empty());
    assert!(
        signals.iter().all(|v| *v == champion.version),
        "{signals:?}"
    );
    let view = engine.snapshot().shadow.clone();
    assert_eq!(view.against.as_deref(), Some(champion.version.as_str()));
    assert_eq!(view.challengers.len(), 2, "{view:#?}");
    // Newest first.
    assert_eq!(view.challengers[0].id, single.id);
    let copy_view = &view.challengers[1];
    assert_eq!(copy_view.id, copy.id);
    assert_eq!(copy_view.not_scored, None);
    let pooled = &copy_view.pooled;
    // The model signals once its window is warm (about 190 candles), outcomes one candle later.
    assert!(pooled.n >= 350, "{pooled:#?}");
    assert_eq!(pooled.mean_log_loss_diff, 0.0);
    assert_eq!(pooled.only_active_right + pooled.only_challenger_right, 0);
    assert!(
        pooled.verdict.starts_with("no evidence yet"),
        "{}",
        pooled.verdict
    );
    let single_view = &view.challengers[0].pooled;
    assert_eq!(single_view.n, pooled.n);
    assert!(single_view.mean_log_loss_diff != 0.0);
    assert_eq!(view.challengers[0].symbols.len(), 1);

    // Stored with their roles; outcomes too.
    flush(&writer);
    let rows = stored(&db);
    let find = |version: &str, role: &str| {
        rows.iter()
            .find(|r| r.0 == version && r.1 == role)
            .unwrap_or_else(|| panic!("no {role} rows of {version}: {rows:?}"))
            .clone()
    };
    let active = find(&champion.version, "active");
    let shadow_copy = find(&copy.version, "shadow");
    let shadow_single = find(&single.version, "shadow");
    assert_eq!(shadow_copy.2, active.2);
    assert_eq!(shadow_single.2, active.2);
    assert!(
        shadow_copy.3 >= active.3 - 1 && shadow_copy.3 > 300,
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .all(|r| r.1 == "active" || r.0 != champion.version)
    );

    // Retired from the CLI's registry (another connection): gone at the next candle.
    Registry::open(&db).unwrap().retire(single.id).unwrap();
    let next = model_candles(42, symbol, from + 600 * 60_000, 1);
    engine.on_market(MarketEvent::Kline {
        symbol,
        interval: Interval::M1,
        candle: next[0],
        closed: true,
    });
    let view = engine.snapshot().shadow.clone();
    assert_eq!(view.challengers.len(), 1, "{view:#?}");
    assert_eq!(view.challengers[0].id, copy.id);
    drop(engine);
    writer.finish().unwrap();
}
