//! The Models pane with challengers in shadow: each one's paired evidence against the active
//! model (pooled), the selected one's per symbol, one that is not scored and why.

use trademon::domain::Symbol;
use trademon::protocol::{ChallengerView, PairedEvidence, ShadowView, Snapshot};
use trademon::tui::{Pane, ViewState};

use super::{fixture, render};

fn evidence(n: u64, diff: f64, half: f64, verdict: &str) -> PairedEvidence {
    PairedEvidence {
        n,
        mean_log_loss_diff: diff,
        confidence_sequence: [diff - half, diff + half],
        dm_stat: diff / half * 2.0,
        dm_p: 0.031,
        only_active_right: 181,
        only_challenger_right: 214,
        mcnemar_p: 0.107,
        accuracy_active: 0.402,
        accuracy_challenger: 0.417,
        brier_active: 0.641,
        brier_challenger: 0.633,
        ece_active: 0.021,
        ece_challenger: 0.018,
        needed: Some(4_300),
        verdict: verdict.into(),
    }
}

fn snapshot_with_shadow() -> Snapshot {
    let mut snapshot = fixture::snapshot_with_models();
    let btc = Symbol::new("BTCUSDT").unwrap();
    let eth = Symbol::new("ETHUSDT").unwrap();
    snapshot.shadow = ShadowView {
        against: Some("ensemble-BTCUSDT-1m@1.1.0".into()),
        challengers: vec![
            ChallengerView {
                id: 3,
                version: "ensemble-BTCUSDT-1m@1.2.0".into(),
                not_scored: None,
                pooled: evidence(2_412, 0.0123, 0.0061, "challenger better"),
                symbols: vec![
                    (btc, evidence(1_206, 0.0151, 0.0102, "challenger better")),
                    // Too few blocks yet for the confidence sequence to have a bound.
                    (
                        eth,
                        PairedEvidence {
                            confidence_sequence: [f64::MIN, f64::MAX],
                            ..evidence(40, 0.0095, 0.0118, "no evidence yet (40 of about 4,300)")
                        },
                    ),
                ],
            },
            ChallengerView {
                id: 1,
                version: "torch-member@1.0.0".into(),
                not_scored: Some("runs on 5m candles, the active model on 1m".into()),
                pooled: PairedEvidence::default(),
                symbols: Vec::new(),
            },
        ],
        over_limit: 1,
    };
    snapshot
}

#[test]
fn models_with_challengers_in_shadow_160x48() {
    let snapshot = snapshot_with_shadow();
    let view = ViewState {
        pane: Pane::MODELS,
        // The challenger (newest first in the table) is selected.
        model_selected: 0,
        ..ViewState::default()
    };
    let screen = render(160, 48, Some(&snapshot), &view);
    assert!(screen.contains("challenger better"), "{screen}");
    assert!(
        screen.contains("not scored: runs on 5m candles"),
        "{screen}"
    );
    assert!(screen.contains("ETHUSDT"), "{screen}");
    assert!(screen.contains("[no bound yet]"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn models_with_challengers_in_shadow_80x24() {
    let snapshot = snapshot_with_shadow();
    let view = ViewState {
        pane: Pane::MODELS,
        ..ViewState::default()
    };
    insta::assert_snapshot!(render(80, 24, Some(&snapshot), &view));
}
