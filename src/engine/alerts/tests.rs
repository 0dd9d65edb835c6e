//! The component through the `Component` trait, without outputs: which published updates turn
//! into toasts, on transitions only, at their configured level.

use super::*;
use crate::config::{AlertEvents, EventLevel, Span};
use crate::protocol::{
    AlertLevel, ChallengerView, FeatureDrift, PairedEvidence, PaperFill, RiskView, StreamHealth,
};

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn component(cooldown_ms: i64) -> AlertsComponent {
    AlertsComponent::start(&AlertsConfig {
        enabled: true,
        cooldown: Span::from_ms(cooldown_ms),
        events: AlertEvents {
            signal: EventLevel::On,
            fill: EventLevel::Silent,
            challenger: EventLevel::Off,
            ..AlertEvents::default()
        },
        ..AlertsConfig::default()
    })
}

fn toasts(out: Effects) -> Vec<AlertToast> {
    out.updates
        .into_iter()
        .filter_map(|u| match u {
            Update::Alert(t) => Some(*t),
            _ => None,
        })
        .collect()
}

fn signal(signal: Signal, confidence: f64) -> SignalInfo {
    SignalInfo {
        symbol: btc(),
        interval: Interval::M1,
        open_time_ms: 0,
        made_ms: 0,
        model_version: "v1".into(),
        probabilities: [0.2, 0.2, 0.6],
        confidence,
        votes: [0, 0, 3],
        signal,
        drivers: Vec::new(),
        fallback: false,
    }
}

fn raised(
    c: &mut AlertsComponent,
    f: impl FnOnce(&mut AlertsComponent, &mut Effects),
) -> Vec<AlertToast> {
    let mut out = Effects::default();
    f(c, &mut out);
    toasts(out)
}

#[test]
fn signals_alert_when_they_turn_to_a_trade_at_enough_confidence() {
    let mut c = component(0);
    let at = |c: &mut AlertsComponent, s: Signal, conf: f64, t: i64| {
        raised(c, |c, out| c.on_signal(&signal(s, conf), t, out))
    };
    assert!(
        at(&mut c, Signal::Buy, 0.5, 1).is_empty(),
        "below min_confidence"
    );
    let first = at(&mut c, Signal::Buy, 0.7, 2);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].event, "signal");
    assert_eq!(first[0].level, AlertLevel::On);
    assert!(first[0].title.contains("BUY"), "{first:?}");
    assert!(
        at(&mut c, Signal::Buy, 0.8, 3).is_empty(),
        "still Buy: no change"
    );
    assert!(at(&mut c, Signal::Hold, 0.9, 4).is_empty());
    assert_eq!(
        at(&mut c, Signal::Buy, 0.7, 5).len(),
        1,
        "back to Buy after Hold"
    );
    assert_eq!(at(&mut c, Signal::Sell, 0.7, 6).len(), 1, "turned to Sell");
}

fn paper(fills: Vec<PaperFill>, kill_switch: bool) -> Update {
    Update::Paper(Box::new(PaperView {
        enabled: true,
        quote_asset: "USDT".into(),
        fills,
        risk: RiskView {
            kill_switch,
            kill_reason: kill_switch.then(|| "drawdown 26 % over 25 %".to_string()),
            ..RiskView::default()
        },
        ..PaperView::default()
    }))
}

fn fill(order_id: i64, time_ms: i64, reason: &str) -> PaperFill {
    PaperFill {
        order_id,
        symbol: btc(),
        side: OrderSide::Sell,
        quantity: 0.5,
        price: 43_000.0,
        fee: 2.15,
        maker: false,
        time_ms,
        reason: reason.into(),
    }
}

#[test]
fn new_fills_stops_and_the_kill_switch_alert_once() {
    let mut c = component(0);
    let hear =
        |c: &mut AlertsComponent, u: &Update, t: i64| raised(c, |c, out| c.on_update(u, t, out));
    // The component started at 1000: an older fill is the account's history.
    assert!(
        hear(
            &mut c,
            &Update::LastPrice {
                symbol: btc(),
                price: 1.0,
                time_ms: 1_000
            },
            1_000
        )
        .is_empty()
    );
    let old = fill(1, 500, "signal");
    assert!(hear(&mut c, &paper(vec![old.clone()], false), 1_100).is_empty());
    let fresh = fill(2, 1_200, "signal");
    let stop = fill(3, 1_300, "stop-loss");
    let got = hear(
        &mut c,
        &paper(vec![old.clone(), fresh.clone(), stop.clone()], false),
        1_300,
    );
    assert_eq!(
        got.iter().map(|t| t.event.as_str()).collect::<Vec<_>>(),
        ["fill", "stop"]
    );
    assert_eq!(got[0].level, AlertLevel::Silent);
    assert_eq!(got[1].level, AlertLevel::On);
    assert!(got[0].title.contains("sold 0.5"), "{got:?}");
    // The same view again (a resend) raises nothing; the kill switch trips once.
    let view = paper(vec![old, fresh, stop], true);
    let got = hear(&mut c, &view, 1_400);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event, "kill_switch");
    assert!(got[0].text.contains("drawdown 26 %"));
    assert!(hear(&mut c, &view, 1_500).is_empty());
}

fn health(link: LinkState, stream: StreamState) -> Update {
    Update::Health(HealthReport {
        link: Some(link),
        streams: vec![StreamHealth {
            name: "BTCUSDT 1m".into(),
            state: stream,
            messages: 1,
            messages_per_sec: 0.0,
            last_message_age_ms: Some(30_000),
        }],
        ..HealthReport::default()
    })
}

#[test]
fn feed_down_up_and_stale_alert_on_transitions() {
    let mut c = component(0);
    let hear = |c: &mut AlertsComponent, u: &Update| raised(c, |c, out| c.on_update(u, 10, out));
    let up = LinkState::Connected { since_ms: 0 };
    let down = LinkState::Down {
        reason: "connection reset".into(),
        retry_at_ms: 20,
    };
    assert!(hear(&mut c, &health(up.clone(), StreamState::Live)).is_empty());
    let got = hear(&mut c, &health(up.clone(), StreamState::Stale));
    assert_eq!(got.len(), 1);
    assert!(
        got[0].title.contains("BTCUSDT 1m stale") && got[0].text.contains("30s"),
        "{got:?}"
    );
    assert!(hear(&mut c, &health(up.clone(), StreamState::Stale)).is_empty());
    let got = hear(&mut c, &health(down.clone(), StreamState::Down));
    assert_eq!((got.len(), got[0].text.as_str()), (1, "connection reset"));
    assert!(hear(&mut c, &health(down, StreamState::Down)).is_empty());
    assert!(hear(&mut c, &health(LinkState::Connecting, StreamState::Down)).is_empty());
    let got = hear(&mut c, &health(up, StreamState::Live));
    assert_eq!(got[0].title, "Feed back up");
}

#[test]
fn fallback_drift_and_off_levels() {
    let mut c = component(0);
    let hear = |c: &mut AlertsComponent, u: &Update| raised(c, |c, out| c.on_update(u, 10, out));
    let models = |fallback: Option<&str>| {
        Update::Models(Box::new(ModelsView {
            fallback: fallback.map(String::from),
            ..ModelsView::default()
        }))
    };
    assert!(hear(&mut c, &models(None)).is_empty());
    let got = hear(&mut c, &models(Some("weights failed to load")));
    assert_eq!(
        (got[0].event.as_str(), got[0].text.as_str()),
        ("fallback", "weights failed to load")
    );
    assert!(hear(&mut c, &models(Some("weights failed to load"))).is_empty());

    let monitor = |status: DriftStatus| {
        Update::MonitorSymbol(Box::new(SymbolMonitor {
            symbol: btc(),
            interval: Interval::M1,
            model_id: 1,
            model_version: "v1".into(),
            status,
            reference: None,
            no_reference: None,
            window: 500,
            window_filled: 500,
            scorecard: Default::default(),
            features: vec![
                FeatureDrift {
                    drifted: true,
                    ..Default::default()
                },
                FeatureDrift::default(),
            ],
            drifted_share: 0.5,
            dataset_drift: true,
            predictions: None,
            detectors: Vec::new(),
            as_of_ms: Some(1),
        }))
    };
    assert!(hear(&mut c, &monitor(DriftStatus::Stable)).is_empty());
    let got = hear(&mut c, &monitor(DriftStatus::Drifting));
    assert_eq!(got.len(), 1);
    assert!(
        got[0].text.starts_with("1 of 2 features drifted"),
        "{got:?}"
    );
    assert!(hear(&mut c, &monitor(DriftStatus::Drifting)).is_empty());

    // Challenger verdicts are off in this config: counted, not shown.
    let shadow = Update::Shadow(Box::new(ShadowView {
        against: Some("v1".into()),
        challengers: vec![ChallengerView {
            id: 7,
            version: "v2".into(),
            pooled: PairedEvidence {
                verdict: "challenger better".into(),
                ..Default::default()
            },
            ..Default::default()
        }],
        over_limit: 0,
    }));
    assert!(hear(&mut c, &shadow).is_empty());
    assert_eq!(c.gate_counts().off, 1);
    assert!(
        c.counters().is_none(),
        "no outputs configured: no delivery thread"
    );
}
