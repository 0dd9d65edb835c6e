//! Promotions, rollbacks, live events, the schema's guards and the JSON form of records.

use serde_json::json;

use super::tests::{by_hand, count, model, open};
use super::*;

fn roles(reg: &Registry) -> Vec<Role> {
    reg.list().unwrap().iter().map(|m| m.role).collect()
}

#[test]
fn promotions_and_rollbacks_follow_the_audit_log() {
    use Role::{Challenger as C, Champion as K, Retired as R};
    let (_dir, mut reg) = open();
    let err = reg.rollback().unwrap_err();
    assert!(err.to_string().contains("has no champion"), "{err}");
    let a = reg.register(model(1.0)).unwrap().id;
    let b = reg.register(model(2.0)).unwrap().id;
    let c = reg.register(model(3.0)).unwrap().id;
    assert_eq!(reg.champion().unwrap(), None);

    let first = reg.promote(a).unwrap();
    assert_eq!((first.champion.id, first.previous), (a, None));
    assert_eq!(roles(&reg), [K, C, C]);
    let err = reg.rollback().unwrap_err();
    assert!(
        matches!(err, RegistryError::NothingToRollBack { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("first champion"), "{err}");
    assert_eq!(roles(&reg), [K, C, C]);

    let change = reg.promote(b).unwrap();
    assert_eq!(
        change.previous.as_ref().map(|p| (p.id, p.role)),
        Some((a, R))
    );
    assert_eq!(change.event.kind, EventKind::Promote);
    assert_eq!(change.event.previous_model_id, Some(a));
    reg.promote(c).unwrap();
    assert_eq!(roles(&reg), [R, R, K]);

    let back = reg.rollback().unwrap();
    assert_eq!(
        (back.champion.id, back.event.previous_model_id),
        (b, Some(c))
    );
    assert_eq!(back.event.kind, EventKind::Rollback);
    assert_eq!(roles(&reg), [R, K, R]);
    // A second rollback goes further back, not back and forth.
    assert_eq!(reg.rollback().unwrap().champion.id, a);
    assert_eq!(roles(&reg), [K, R, R]);
    assert!(matches!(
        reg.rollback(),
        Err(RegistryError::NothingToRollBack { .. })
    ));
    assert!(matches!(
        reg.promote(a),
        Err(RegistryError::AlreadyChampion { .. })
    ));
    assert!(matches!(
        reg.promote(99),
        Err(RegistryError::NotFound { .. })
    ));

    // A retired model can be promoted again; rollback then returns to the champion before it.
    reg.promote(c).unwrap();
    assert_eq!(reg.rollback().unwrap().champion.id, a);
    assert_eq!(reg.champion().unwrap().map(|m| m.id), Some(a));
    let kinds: Vec<EventKind> = reg.events(None).unwrap().iter().map(|e| e.kind).collect();
    use EventKind::{Promote as P, Register as G, Rollback as B};
    assert_eq!(kinds, [G, G, G, P, P, P, B, B, P, B]);
}

#[test]
fn a_log_that_disagrees_with_the_roles_is_reported() {
    let (_dir, mut reg) = open();
    let a = reg.register(model(1.0)).unwrap().id;
    let b = reg.register(model(2.0)).unwrap().id;
    reg.promote(a).unwrap();
    reg.promote(b).unwrap();
    // Someone edits the roles by hand.
    by_hand(&reg)
        .execute_batch(
            "UPDATE models SET role = 'retired'; UPDATE models SET role = 'champion' WHERE id = 1",
        )
        .unwrap();
    let err = reg.rollback().unwrap_err();
    assert!(matches!(err, RegistryError::Inconsistent { .. }), "{err}");
    assert_eq!(reg.champion().unwrap().map(|m| m.id), Some(a));
}

#[test]
fn live_events_are_logged_against_stored_models() {
    let (_dir, mut reg) = open();
    let a = reg.register(model(1.0)).unwrap().id;
    let b = reg.register(model(2.0)).unwrap().id;
    let switch = reg
        .record_event(LiveEventKind::Switch, Some(b), Some(a), "key m")
        .unwrap();
    assert_eq!(switch.kind, EventKind::Switch);
    let fallback = reg
        .record_event(
            LiveEventKind::Fallback,
            Some(b),
            None,
            "forward failed: NaN",
        )
        .unwrap();
    assert_eq!(
        reg.events(Some(a))
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>(),
        // Its register event, b's (naming a as the line's previous version), the switch.
        [1, 2, switch.id]
    );
    assert_eq!(reg.events(Some(b)).unwrap().last(), Some(&fallback));
    let err = reg
        .record_event(LiveEventKind::Switch, Some(77), None, "")
        .unwrap_err();
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err}");
    assert_eq!(count(&reg, "model_events"), 4);
}

#[test]
fn the_schema_refuses_what_the_registry_never_writes() {
    let (_dir, mut reg) = open();
    let a = reg.register(model(1.0)).unwrap().id;
    let b = reg.register(model(2.0)).unwrap().id;
    reg.promote(a).unwrap();
    let refused = [
        format!("UPDATE models SET role = 'champion' WHERE id = {b}"),
        format!("UPDATE models SET role = 'king' WHERE id = {b}"),
        format!("UPDATE models SET trained_on = 'dreams' WHERE id = {b}"),
        format!("UPDATE models SET sha256 = 'XYZ' WHERE id = {b}"),
        format!("UPDATE models SET features_json = '{{' WHERE id = {b}"),
        format!("UPDATE models SET data_from_ms = 5, data_to_ms = 4 WHERE id = {b}"),
        "INSERT INTO model_events (time_ms, kind) VALUES (0, 'party')".to_string(),
        "INSERT INTO model_events (time_ms, kind, model_id) VALUES (0, 'switch', 999)".to_string(),
        "INSERT INTO predictions VALUES ('v', 'BTCUSDT', '1m', 0, 0, 0.2, 0.3, 1.5, 'buy', 0.1, NULL, NULL, 'active')".to_string(),
        "INSERT INTO predictions VALUES ('v', 'BTCUSDT', '1m', 0, 0, 0.2, 0.3, 0.5, 'moon', 0.1, NULL, NULL, 'active')".to_string(),
        "INSERT INTO predictions VALUES ('v', 'BTCUSDT', '1m', 0, 0, 0.2, 0.3, 0.5, 'buy', 0.1, NULL, 3, 'active')".to_string(),
        "INSERT INTO predictions VALUES ('v', 'BTCUSDT', '1m', 0, 0, 0.2, 0.3, 0.5, 'buy', 0.1, NULL, NULL, 'ghost')".to_string(),
        "INSERT INTO model_events (time_ms, kind) VALUES (0, 'promotion')".to_string(),
    ];
    let hand = by_hand(&reg);
    for sql in &refused {
        assert!(hand.execute_batch(sql).is_err(), "accepted: {sql}");
    }
    hand.execute_batch("INSERT INTO predictions VALUES ('v', 'BTCUSDT', '1m', 0, 0, 0.2, 0.3, 0.5, 'buy', 0.1, 0.002, 2, 'shadow')")
        .unwrap();
    assert_eq!(reg.champion().unwrap().map(|m| m.id), Some(a));
    let version: i64 = reg
        .conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, crate::store::SCHEMA_VERSION);
    assert_eq!(version, crate::store::SCHEMA_VERSION);
}

#[test]
fn records_serialise_for_json_output() {
    let (_dir, mut reg) = open();
    let record = reg.register(model(1.0)).unwrap();
    let value = serde_json::to_value(&record).unwrap();
    assert_eq!(value["semver"], "1.0.0");
    assert_eq!(value["symbol"], "BTCUSDT");
    assert_eq!(value["interval"], "1m");
    assert_eq!(value["role"], "challenger");
    assert_eq!(value["origin"], "trained");
    assert_eq!(value["trained_on"], "simulated");
    assert_eq!(value["features"], json!(["rsi_14", "macd_hist"]));
    assert!(value.get("blob").is_none());
}
