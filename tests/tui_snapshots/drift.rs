//! The Drift pane (part of the tui_snapshots tests) drawn from a realistic monitor entry: 54
//! features of which a few drift, a detector in each state, scorecard windows with intervals;
//! with no reference, with no entry; and the Models pane with the live scorecard.

use trademon::domain::{Interval, Symbol};
use trademon::protocol::{
    BaselineScores, DetectorLevel, DetectorView, DriftStatus, Estimate, FeatureDrift,
    PredictionDrift, ReferenceInfo, Scorecard, Scores, Snapshot, SymbolMonitor, TestScores,
    WindowScores,
};
use trademon::tui::{Action, Keymap, Pane, ViewState};

use super::{fixture, render};

const BASES: [&str; 27] = [
    "rsi_14",
    "rsi_7",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_pctb",
    "bb_width",
    "log_return",
    "log_return_5",
    "log_return_15",
    "volume_z",
    "volume_ratio",
    "atr_14",
    "atr_pct",
    "ema_9_dist",
    "ema_21_dist",
    "sma_50_dist",
    "stoch_k",
    "stoch_d",
    "obv_slope",
    "mfi_14",
    "cci_20",
    "adx_14",
    "range_pct",
    "body_pct",
    "upper_wick",
    "lower_wick",
];

fn estimate(value: f64, half: f64) -> Estimate {
    Estimate {
        value,
        lo: value - half,
        hi: value + half,
    }
}

fn window(
    last: Option<u32>,
    n: u64,
    acc: f64,
    acc_half: f64,
    ll: f64,
    ll_half: f64,
) -> WindowScores {
    WindowScores {
        last,
        n,
        accuracy: estimate(acc, acc_half),
        macro_f1: acc - 0.021,
        log_loss: estimate(ll, ll_half),
        brier: 0.662,
        ece: 0.031,
        logistic: Some(BaselineScores {
            accuracy: 0.372,
            log_loss: 1.0918,
            brier: 0.661,
        }),
        majority: BaselineScores {
            accuracy: 0.341,
            log_loss: 1.0984,
            brier: 0.667,
        },
    }
}

/// 54 features (27 indicators at 1m and at 5m), four of them drifted, ordered as the monitor
/// gives them: drifted first, then by PSI, largest first.
fn features() -> Vec<FeatureDrift> {
    let mut all: Vec<FeatureDrift> = BASES
        .iter()
        .flat_map(|b| [b.to_string(), format!("htf5_{b}")])
        .enumerate()
        .map(|(i, name)| {
            let drifted = [10, 12, 24, 41].contains(&i);
            let psi = if drifted {
                0.31 - 0.04 * (i % 5) as f64
            } else {
                0.004 + 0.0013 * ((i * 7) % 23) as f64
            };
            let wasserstein_sd = if drifted {
                0.42
            } else {
                0.03 + 0.004 * (i % 9) as f64
            };
            FeatureDrift {
                name,
                psi,
                psi_critical: 0.052,
                wasserstein_sd,
                wasserstein_limit: Some(0.18),
                ks: if drifted {
                    0.211
                } else {
                    0.02 + 0.003 * (i % 11) as f64
                },
                ks_p: if drifted {
                    3.0e-9
                } else {
                    0.9 - 0.015 * i as f64
                },
                drifted,
                psi_history: (0..30)
                    .map(|t| {
                        let ramp = if drifted { t as f64 / 30.0 } else { 0.0 };
                        psi * (0.3 + ramp) + 0.002 * ((t * (i + 3)) % 7) as f64
                    })
                    .collect(),
            }
        })
        .collect();
    all.sort_by(|a, b| b.drifted.cmp(&a.drifted).then(b.psi.total_cmp(&a.psi)));
    all
}

fn detector(
    name: &str,
    input: &str,
    state: DetectorLevel,
    ago_ms: Option<i64>,
    fired: u32,
) -> DetectorView {
    DetectorView {
        name: name.to_string(),
        input: input.to_string(),
        state,
        fired_at_ms: ago_ms.map(|a| fixture::NOW_MS - a),
        fired,
    }
}

/// The active model (1.1.0, BTCUSDT 1m) drifting: four features over their limits, the model
/// worse than its logistic baseline on the last 500 candles.
pub fn monitor() -> SymbolMonitor {
    let features = features();
    SymbolMonitor {
        symbol: Symbol::new("BTCUSDT").unwrap(),
        interval: Interval::M1,
        model_id: 2,
        model_version: "1.1.0".to_string(),
        status: DriftStatus::Drifting,
        reference: Some(ReferenceInfo {
            from_ms: fixture::NOW_MS - 40 * 86_400_000,
            to_ms: fixture::NOW_MS - 10 * 86_400_000,
            rows: 43_200,
            source: "training rows".to_string(),
        }),
        no_reference: None,
        window: 500,
        window_filled: 500,
        scorecard: Scorecard {
            windows: vec![
                window(Some(100), 100, 0.350, 0.092, 1.1032, 0.0211),
                window(Some(500), 500, 0.358, 0.042, 1.0991, 0.0094),
                window(None, 1_873, 0.366, 0.022, 1.0952, 0.0051),
            ],
            pending: 3,
            expected_accuracy: Some(0.381),
            test: Some(TestScores {
                samples: 2_041,
                model: Scores {
                    accuracy: 0.371,
                    macro_f1: 0.362,
                    log_loss: 1.0897,
                    brier: 0.661,
                },
                logistic: Scores {
                    accuracy: 0.364,
                    macro_f1: 0.351,
                    log_loss: 1.0931,
                    brier: 0.663,
                },
                majority: Scores {
                    accuracy: 0.339,
                    macro_f1: 0.169,
                    log_loss: 1.0986,
                    brier: 0.667,
                },
            }),
            verdict: "worse than its logistic baseline on the last 500 candles".to_string(),
        },
        drifted_share: 4.0 / features.len() as f64,
        dataset_drift: false,
        features,
        predictions: Some(PredictionDrift {
            signals: [0.18, 0.61, 0.21],
            reference_signals: [0.10, 0.80, 0.10],
            probabilities: [0.341, 0.319, 0.340],
            reference_probabilities: [0.333, 0.334, 0.333],
            js_distance: 0.021,
            js_signals: 0.142,
            mean_top: 0.402,
            reference_mean_top: 0.389,
        }),
        detectors: vec![
            detector(
                "page-hinkley",
                "log-loss (standardised)",
                DetectorLevel::Ok,
                None,
                0,
            ),
            detector(
                "adwin",
                "log-loss",
                DetectorLevel::Warning,
                Some(1_380_000),
                1,
            ),
            detector("ddm", "error rate", DetectorLevel::Drift, Some(240_000), 2),
        ],
        as_of_ms: Some(fixture::NOW_MS - 80_000),
    }
}

/// The fixture with models and the monitor's entry for BTCUSDT.
pub fn snapshot_with_monitor() -> Snapshot {
    let mut snapshot = fixture::snapshot_with_models();
    snapshot.monitor.put(&monitor());
    snapshot
}

fn drift_view() -> ViewState {
    ViewState {
        pane: Pane::new("drift"),
        ..ViewState::default()
    }
}

#[test]
fn drift_80x24() {
    let snapshot = snapshot_with_monitor();
    let screen = render(80, 24, Some(&snapshot), &drift_view());
    assert!(screen.contains("DRIFTING"), "{screen}");
    assert!(screen.contains("DRIFT "), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn drift_160x48() {
    let snapshot = snapshot_with_monitor();
    let screen = render(160, 48, Some(&snapshot), &drift_view());
    assert!(screen.contains("est. 0.381"), "{screen}");
    assert!(screen.contains("page-hinkley"), "{screen}");
    insta::assert_snapshot!(screen);
}

/// No reference: the reason instead of the range, every feature unmeasured, dataset drift off.
#[test]
fn drift_without_a_reference_80x24() {
    let mut snapshot = fixture::snapshot_with_models();
    let mut monitor = monitor();
    monitor.status = DriftStatus::NoReference;
    monitor.reference = None;
    monitor.no_reference = Some(
        "the model stores no training rows and no candles of its range are stored".to_string(),
    );
    monitor.features.clear();
    monitor.drifted_share = 0.0;
    monitor.predictions = None;
    monitor.scorecard.verdict = "no worse than its baselines on the last 500 candles".to_string();
    snapshot.monitor.put(&monitor);
    let screen = render(80, 24, Some(&snapshot), &drift_view());
    assert!(
        screen.contains("no reference: the model stores"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

/// No reference and no prediction mix yet on a tall terminal (the console's first minutes on a
/// database without the model's training candles): every detector keeps its row.
#[test]
fn drift_without_a_reference_160x48() {
    let mut snapshot = fixture::snapshot_with_models();
    let mut monitor = monitor();
    monitor.status = DriftStatus::NoReference;
    monitor.reference = None;
    monitor.no_reference = Some("no stored BTCUSDT 1m candles of its training range".to_string());
    monitor.features.clear();
    monitor.drifted_share = 0.0;
    monitor.predictions = None;
    snapshot.monitor.put(&monitor);
    let screen = render(160, 48, Some(&snapshot), &drift_view());
    assert!(screen.contains("no prediction mix yet"), "{screen}");
    for detector in &monitor.detectors {
        assert!(
            screen.contains(&format!("  {}  ", detector.name)),
            "{} has no row:\n{screen}",
            detector.name
        );
    }
    insta::assert_snapshot!(screen);
}

/// A symbol the monitor has no entry for, with a model running and without one.
#[test]
fn drift_with_no_entry_80x24() {
    let snapshot = snapshot_with_monitor();
    let view = ViewState {
        symbol_index: 1,
        ..drift_view()
    };
    let screen = render(80, 24, Some(&snapshot), &view);
    assert!(
        screen.contains("waiting for the monitor's first evaluation of ETHUSDT"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
    let bare = fixture::snapshot();
    let screen = render(80, 24, Some(&bare), &drift_view());
    assert!(screen.contains("no model is active"), "{screen}");
}

/// Dataset drift badge, and page down moves the feature table.
#[test]
fn drift_scrolls_and_shows_dataset_drift() {
    let mut snapshot = snapshot_with_monitor();
    snapshot.monitor.symbols[0].dataset_drift = true;
    let keymap = Keymap::default_bindings();
    let mut view = drift_view();
    let top = render(80, 24, Some(&snapshot), &view);
    assert!(top.contains("DATASET DRIFT"), "{top}");
    view.handle(Action::ScrollDown, Some(&snapshot), &keymap);
    assert_eq!(view.drift_scroll, 5);
    let scrolled = render(80, 24, Some(&snapshot), &view);
    assert_ne!(top, scrolled);
    assert!(scrolled.contains(" 6–"), "{scrolled}");
    for _ in 0..30 {
        view.handle(Action::ScrollDown, Some(&snapshot), &keymap);
    }
    assert_eq!(view.drift_scroll, 53);
    // Clamped when drawn: the last rows fill the table.
    let bottom = render(80, 24, Some(&snapshot), &view);
    assert!(bottom.contains("of 54"), "{bottom}");
}

#[test]
fn drift_at_every_size_does_not_panic() {
    let snapshot = snapshot_with_monitor();
    for width in (1..=170).step_by(7) {
        for height in 1..=50 {
            render(width, height, Some(&snapshot), &drift_view());
        }
    }
}

#[test]
fn models_with_the_live_scorecard_80x24() {
    let snapshot = snapshot_with_monitor();
    let view = ViewState {
        pane: Pane::MODELS,
        ..ViewState::default()
    };
    let screen = render(80, 24, Some(&snapshot), &view);
    assert!(
        screen.contains(" live last 500 (n 500): acc 0.358 (0.316–0.400)"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn models_with_the_live_scorecard_160x48() {
    let snapshot = snapshot_with_monitor();
    let view = ViewState {
        pane: Pane::MODELS,
        ..ViewState::default()
    };
    insta::assert_snapshot!(render(160, 48, Some(&snapshot), &view));
}
