//! The gate: levels, deduplication, the cooldown per key, re-arming and the counts.

use super::*;

fn event(kind: AlertKind, key: &str, text: &str, time_ms: i64) -> AlertEvent {
    AlertEvent {
        kind,
        key: key.into(),
        symbol: None,
        title: "t".into(),
        text: text.into(),
        time_ms,
    }
}

fn gate() -> Gate {
    let events = AlertEvents {
        fill: EventLevel::Silent,
        drift: EventLevel::Off,
        feed: EventLevel::On,
        ..AlertEvents::default()
    };
    Gate::new(events, 60_000)
}

#[test]
fn levels_decide_loudness_and_off_drops() {
    let mut g = gate();
    assert_eq!(
        g.admit(&event(AlertKind::Fill, "fill:1", "a", 0)),
        Verdict::Pass(AlertLevel::Silent)
    );
    assert_eq!(
        g.admit(&event(AlertKind::Feed, "feed:down", "a", 0)),
        Verdict::Pass(AlertLevel::On)
    );
    assert_eq!(
        g.admit(&event(AlertKind::Drift, "drift:BTCUSDT", "a", 0)),
        Verdict::Off
    );
    assert_eq!(
        g.counts(),
        GateCounts {
            passed: 2,
            off: 1,
            duplicate: 0,
            cooldown: 0
        }
    );
}

#[test]
fn same_key_and_text_is_a_duplicate_until_rearmed() {
    let mut g = gate();
    let down = |t| event(AlertKind::Feed, "feed:down", "link lost", t);
    assert!(matches!(g.admit(&down(0)), Verdict::Pass(_)));
    // Long after the cooldown, the same alert is still a repeat of one not cleared.
    assert_eq!(g.admit(&down(10_000_000)), Verdict::Duplicate);
    g.rearm("feed:down");
    // Re-armed, but the cooldown still holds within its span.
    assert_eq!(g.admit(&down(30_000)), Verdict::Cooldown);
    assert!(matches!(g.admit(&down(60_000)), Verdict::Pass(_)));
    assert_eq!(g.counts().duplicate, 1);
    assert_eq!(g.counts().cooldown, 1);
}

#[test]
fn cooldown_is_per_key() {
    let mut g = gate();
    assert!(matches!(
        g.admit(&event(AlertKind::Fill, "fill:a", "1", 0)),
        Verdict::Pass(_)
    ));
    assert_eq!(
        g.admit(&event(AlertKind::Fill, "fill:a", "2", 59_999)),
        Verdict::Cooldown
    );
    assert!(matches!(
        g.admit(&event(AlertKind::Fill, "fill:b", "2", 59_999)),
        Verdict::Pass(_)
    ));
    // The cooldown runs from the last event raised, not the last one dropped.
    assert!(matches!(
        g.admit(&event(AlertKind::Fill, "fill:a", "3", 60_000)),
        Verdict::Pass(_)
    ));
}

#[test]
fn zero_cooldown_lets_different_texts_through() {
    let mut g = Gate::new(AlertEvents::default(), 0);
    for (i, text) in ["a", "b", "c"].iter().enumerate() {
        assert!(matches!(
            g.admit(&event(AlertKind::Stop, "stop:x", text, i as i64)),
            Verdict::Pass(_)
        ));
    }
    assert_eq!(
        g.admit(&event(AlertKind::Stop, "stop:x", "c", 5)),
        Verdict::Duplicate
    );
}

#[test]
fn many_keys_are_forgotten_once_past_their_cooldown() {
    let mut g = gate();
    for i in 0..(MAX_KEYS as i64 * 3) {
        let e = event(AlertKind::Fill, &format!("fill:{i}"), "x", i * 1_000);
        assert!(matches!(g.admit(&e), Verdict::Pass(_)));
    }
    assert!(g.last.len() <= MAX_KEYS);
    // A key still within its cooldown is remembered.
    let recent = MAX_KEYS as i64 * 3 - 1;
    let again = event(
        AlertKind::Fill,
        &format!("fill:{recent}"),
        "y",
        recent * 1_000 + 1,
    );
    assert_eq!(g.admit(&again), Verdict::Cooldown);
}
