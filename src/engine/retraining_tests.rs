//! Retraining triggers in a real engine under a manual clock, on a real SQLite file with the
//! demo model as champion and its training candles stored: the monitor's dataset drift three
//! evaluations in a row, a detector firing, and the schedule each start a retrain of the active
//! model's settings in the background; the daily cap holds; a cancelled retrain registers
//! nothing; every trigger, skip and result is in the audit log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::component::Effects;
use super::test_support;
use crate::config::{RetrainConfig, RetrainEvery, Span};
use crate::domain::{Interval, ManualClock, Symbol};
use crate::engine::Engine;
use crate::feed::sim::model_candles;
use crate::model::registry::{EventKind, Registry};
use crate::protocol::{Command, DetectorView, SymbolMonitor, Update};
use crate::store::Store;
use crate::store::writer::Writer;

const DAY: i64 = 86_400_000;

/// The retrain settings of the trigger test: on, every 3 days, no cooldown, 2 a day.
fn triggers() -> RetrainConfig {
    RetrainConfig {
        enabled: true,
        every: RetrainEvery::Every(Span::from_ms(3 * DAY)),
        cooldown: Span::from_ms(0),
        max_per_day: 2,
        min_rows: 5_000,
        ..RetrainConfig::default()
    }
}

fn engine(
    db: &std::path::Path,
    writer: &Writer,
    clock: Arc<ManualClock>,
    retrain: RetrainConfig,
) -> Engine {
    let symbols = vec![Symbol::new("BTCUSDT").unwrap()];
    test_support::engine(
        db,
        writer,
        test_support::options(symbols, clock, test_support::no_monitor(), retrain),
    )
}

/// A monitor evaluation of BTCUSDT 1m for model `id`.
fn evaluation(id: i64, version: &str, dataset_drift: bool, ddm_fired: u32) -> Update {
    Update::MonitorSymbol(Box::new(SymbolMonitor {
        symbol: Symbol::new("BTCUSDT").unwrap(),
        interval: Interval::M1,
        model_id: id,
        model_version: version.to_string(),
        status: Default::default(),
        reference: None,
        no_reference: None,
        window: 500,
        window_filled: 500,
        scorecard: Default::default(),
        features: Vec::new(),
        drifted_share: if dataset_drift { 0.6 } else { 0.0 },
        dataset_drift,
        predictions: None,
        detectors: vec![DetectorView {
            name: "ddm".into(),
            fired: ddm_fired,
            ..DetectorView::default()
        }],
        as_of_ms: Some(1),
    }))
}

fn hear(engine: &mut Engine, update: Update, now_ms: i64) {
    engine.apply(
        Effects {
            updates: vec![update],
            ..Effects::default()
        },
        now_ms,
    );
}

fn retrain_events(db: &std::path::Path) -> Vec<String> {
    Registry::open(db)
        .unwrap()
        .events(None)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::Retrain)
        .map(|e| e.detail)
        .collect()
}

/// Cancels the running training and waits for its end.
fn cancel(engine: &mut Engine) {
    assert!(engine.snapshot().models.training.is_some() || training_started(engine));
    engine.on_command(Command::CancelTraining);
    let deadline = Instant::now() + Duration::from_secs(120);
    while engine
        .snapshot()
        .models
        .last_training
        .as_deref()
        .is_none_or(|t| !t.starts_with("training failed"))
    {
        assert!(Instant::now() < deadline, "the training never stopped");
        std::thread::sleep(Duration::from_millis(20));
        engine.poll_jobs();
    }
}

fn training_started(engine: &Engine) -> bool {
    engine
        .snapshot()
        .models
        .last_training
        .as_deref()
        .is_some_and(|t| t.starts_with("retraining"))
}

#[test]
fn triggers_retrain_in_the_background_within_the_guards_and_audit_everything() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simulated.db");
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let record = {
        let mut registry = Registry::open(&db).unwrap();
        crate::model::demo::install(&mut registry).unwrap().unwrap()
    };
    let from = record.data_from_ms.unwrap();
    let n = ((record.data_to_ms.unwrap() - from) / 60_000 + 1) as usize;
    Store::open(&db)
        .unwrap()
        .import_candles(symbol, Interval::M1, &model_candles(42, symbol, from, n))
        .unwrap();
    let writer = test_support::writer(&db);
    // Noon UTC on some day.
    let mut now = 20_000 * DAY + DAY / 2;
    let clock = Arc::new(ManualClock::new(now));
    let mut engine = engine(&db, &writer, clock.clone(), triggers());
    let (id, version) = (record.id, record.version.clone());

    // Dataset drift twice, a stable evaluation, then three in a row: the third starts a retrain.
    for drift in [true, true, false, true, true] {
        hear(&mut engine, evaluation(id, &version, drift, 0), now);
        assert!(
            !training_started(&engine),
            "{:?}",
            engine.snapshot().models.last_training
        );
    }
    hear(&mut engine, evaluation(id, &version, true, 0), now);
    assert!(
        training_started(&engine),
        "{:?}",
        engine.snapshot().models.last_training
    );
    cancel(&mut engine);

    // A detector firing (its count of drifts grew) starts the second retrain of the day.
    now += 60_000;
    clock.set(now);
    hear(&mut engine, evaluation(id, &version, false, 1), now);
    assert!(
        training_started(&engine),
        "{:?}",
        engine.snapshot().models.last_training
    );
    cancel(&mut engine);
    // The third trigger of the day is over the daily cap.
    now += 60_000;
    clock.set(now);
    hear(&mut engine, evaluation(id, &version, false, 2), now);
    assert!(!training_started(&engine));

    // Three days on, the schedule is due (checked on the engine's tick).
    now += 3 * DAY;
    clock.set(now);
    engine.watch_models();
    assert!(
        training_started(&engine),
        "{:?}",
        engine.snapshot().models.last_training
    );
    cancel(&mut engine);

    // Cancelled retrains register nothing.
    assert_eq!(Registry::open(&db).unwrap().list().unwrap().len(), 1);
    let events = retrain_events(&db);
    let started = events
        .iter()
        .filter(|e| e.starts_with("retraining"))
        .count();
    let ended = events
        .iter()
        .filter(|e| e.contains("ended without a model"))
        .count();
    assert_eq!((started, ended), (3, 3), "{events:#?}");
    assert!(
        events.iter().any(|e| e.contains("dataset drift")),
        "{events:#?}"
    );
    assert!(events.iter().any(|e| e.contains("ddm")), "{events:#?}");
    assert!(events.iter().any(|e| e.contains("schedule")), "{events:#?}");
    assert!(
        events
            .iter()
            .any(|e| e.contains("skipped") && e.contains("day")),
        "{events:#?}"
    );

    // A restart the same day: the past retrains come back from the audit log, so the day's
    // second retrain is allowed and the third is over the cap.
    drop(engine);
    let mut engine = self::engine(&db, &writer, clock.clone(), triggers());
    now += 60_000;
    clock.set(now);
    hear(&mut engine, evaluation(id, &version, false, 1), now);
    assert!(
        training_started(&engine),
        "{:?} {:#?}",
        engine.snapshot().models.last_training,
        retrain_events(&db)
    );
    cancel(&mut engine);
    let skipped = |db: &std::path::Path| {
        retrain_events(db)
            .iter()
            .filter(|e| e.contains("skipped"))
            .count()
    };
    let before = skipped(&db);
    hear(&mut engine, evaluation(id, &version, false, 2), now);
    assert!(!training_started(&engine));
    assert_eq!(skipped(&db), before + 1);
    assert_eq!(Registry::open(&db).unwrap().list().unwrap().len(), 1);
    drop(engine);
    writer.finish().unwrap();
}

fn shadow_update(against: &str, id: i64, version: &str, n: u64, cs: [f64; 2]) -> Update {
    Update::Shadow(Box::new(crate::protocol::ShadowView {
        against: Some(against.to_string()),
        challengers: vec![crate::protocol::ChallengerView {
            id,
            version: version.to_string(),
            not_scored: None,
            pooled: crate::protocol::PairedEvidence {
                n,
                mean_log_loss_diff: (cs[0] + cs[1]) / 2.0,
                confidence_sequence: cs,
                mcnemar_p: 0.5,
                only_active_right: 100,
                only_challenger_right: 110,
                ..Default::default()
            },
            symbols: Vec::new(),
        }],
        over_limit: 0,
    }))
}

#[test]
fn auto_promotion_by_evidence_and_rollback_when_the_new_champion_proves_worse() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simulated.db");
    let (champion, challenger) = {
        let mut registry = Registry::open(&db).unwrap();
        let champion = crate::model::demo::install(&mut registry).unwrap().unwrap();
        let challenger = registry
            .register(crate::model::demo::derived(1).unwrap())
            .unwrap();
        (champion, challenger)
    };
    let writer = test_support::writer(&db);
    let now = 20_000 * DAY;
    let clock = Arc::new(ManualClock::new(now));
    let auto = RetrainConfig {
        promote: crate::config::PromoteMode::Auto,
        ..RetrainConfig::default()
    };
    let mut engine = engine(&db, &writer, clock, auto);
    let champion_now = || Registry::open(&db).unwrap().champion().unwrap().unwrap().id;

    // Not enough paired candles, then an interval that includes the minimum improvement: wait.
    for (n, cs) in [(900, [0.01, 0.03]), (1_500, [0.001, 0.03])] {
        hear(
            &mut engine,
            shadow_update(&champion.version, challenger.id, &challenger.version, n, cs),
            now,
        );
        assert_eq!(champion_now(), champion.id);
    }
    // Clear evidence: promoted, the old champion back in shadow scoring, audited with the figures.
    hear(
        &mut engine,
        shadow_update(
            &champion.version,
            challenger.id,
            &challenger.version,
            1_500,
            [0.006, 0.03],
        ),
        now,
    );
    assert_eq!(champion_now(), challenger.id);
    assert_eq!(
        engine.snapshot().models.active,
        Some(challenger.id),
        "the new champion runs"
    );
    let registry = Registry::open(&db).unwrap();
    assert_eq!(
        registry.get_by_id(champion.id).unwrap().role,
        crate::model::registry::Role::Challenger
    );
    let evidence: Vec<String> = registry
        .events(None)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::Evidence)
        .map(|e| e.detail)
        .collect();
    assert_eq!(evidence.len(), 1, "{evidence:?}");
    assert!(evidence[0].contains("n=1500"), "{evidence:?}");
    drop(registry);

    // Now the replaced champion scores in shadow against the new one and proves better: rolled
    // back (the confidence sequence of old-minus-new losses below 0 means the old one is better).
    hear(
        &mut engine,
        shadow_update(
            &challenger.version,
            champion.id,
            &champion.version,
            1_200,
            [0.002, 0.02],
        ),
        now,
    );
    assert_eq!(champion_now(), champion.id, "rolled back");
    assert_eq!(engine.snapshot().models.active, Some(champion.id));
    let kinds: Vec<EventKind> = Registry::open(&db)
        .unwrap()
        .events(None)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == EventKind::Evidence).count(),
        2,
        "{kinds:?}"
    );
    drop(engine);
    writer.finish().unwrap();
}
