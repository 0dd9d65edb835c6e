//! The monitor's report as the protocol's view of it.

use crate::monitor::tracker::{Status, SymbolReport};
use crate::protocol::{
    BaselineScores, DetectorLevel, DetectorView, DriftStatus, Estimate, FeatureDrift,
    PredictionDrift, ReferenceInfo, Scorecard, Scores, SymbolMonitor, TestScores, WindowScores,
};

/// A figure for the views, which travel as JSON: NaN or an infinity (a statistic of too few
/// values) would not come back, so it goes as 0.
fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

fn estimate(i: crate::monitor::scorecard::Interval95) -> Estimate {
    Estimate {
        value: finite(i.value),
        lo: finite(i.lo),
        hi: finite(i.hi),
    }
}

fn baseline(b: crate::monitor::scorecard::Baseline) -> BaselineScores {
    BaselineScores {
        accuracy: b.accuracy,
        log_loss: b.log_loss,
        brier: b.brier,
    }
}

fn scores(s: crate::monitor::spec::SplitFigures) -> Scores {
    Scores {
        accuracy: s.accuracy,
        macro_f1: s.macro_f1,
        log_loss: s.log_loss,
        brier: s.brier,
    }
}

/// `report` for the views.
pub fn to_view(report: &SymbolReport) -> SymbolMonitor {
    let p = &report.performance;
    SymbolMonitor {
        symbol: report.symbol,
        interval: report.interval,
        model_id: report.model_id,
        model_version: report.model.clone(),
        status: match report.status {
            Status::Warming => DriftStatus::Warming,
            Status::Stable => DriftStatus::Stable,
            Status::Drifting => DriftStatus::Drifting,
            Status::NoReference => DriftStatus::NoReference,
        },
        reference: report.reference.as_ref().map(|r| ReferenceInfo {
            from_ms: r.from_ms,
            to_ms: r.to_ms,
            rows: r.rows,
            source: r.source.clone(),
        }),
        no_reference: report.no_reference.clone(),
        window: report.window as u32,
        window_filled: report.window_filled as u32,
        scorecard: Scorecard {
            windows: p
                .windows
                .iter()
                .map(|w| WindowScores {
                    last: w.last.map(|n| n as u32),
                    n: w.n,
                    accuracy: estimate(w.accuracy),
                    macro_f1: finite(w.macro_f1),
                    log_loss: estimate(w.log_loss),
                    brier: finite(w.brier),
                    ece: finite(w.ece),
                    logistic: w.logistic.map(baseline),
                    majority: baseline(w.majority),
                })
                .collect(),
            pending: p.pending,
            expected_accuracy: p.expected_accuracy,
            test: p.test.map(|t| TestScores {
                samples: t.samples,
                model: scores(t.model),
                logistic: scores(t.logistic),
                majority: scores(t.majority),
            }),
            verdict: p.verdict.clone(),
        },
        features: report
            .features
            .iter()
            .map(|f| FeatureDrift {
                name: f.name.clone(),
                psi: finite(f.psi),
                psi_critical: finite(f.psi_critical),
                wasserstein_sd: finite(f.wasserstein_sd),
                wasserstein_limit: f.wasserstein_limit.filter(|l| l.is_finite()),
                ks: finite(f.ks),
                ks_p: finite(f.ks_p),
                drifted: f.drifted,
                psi_history: f.psi_history.clone(),
            })
            .collect(),
        drifted_share: report.drifted_share,
        dataset_drift: report.dataset_drift,
        predictions: report.predictions.map(|d| PredictionDrift {
            signals: [d.mix.sell, d.mix.hold, d.mix.buy],
            reference_signals: [
                d.reference_mix.sell,
                d.reference_mix.hold,
                d.reference_mix.buy,
            ],
            probabilities: [
                d.probabilities.down,
                d.probabilities.flat,
                d.probabilities.up,
            ],
            reference_probabilities: [
                d.reference_probabilities.down,
                d.reference_probabilities.flat,
                d.reference_probabilities.up,
            ],
            js_distance: finite(d.js_distance),
            js_signals: finite(d.js_signals),
            mean_top: d.mean_top,
            reference_mean_top: d.reference_mean_top,
        }),
        detectors: report
            .detectors
            .iter()
            .map(|d| DetectorView {
                name: d.name.to_string(),
                input: d.input.to_string(),
                state: match d.state {
                    crate::monitor::detectors::DetectorState::Ok => DetectorLevel::Ok,
                    crate::monitor::detectors::DetectorState::Warning => DetectorLevel::Warning,
                    crate::monitor::detectors::DetectorState::Drift => DetectorLevel::Drift,
                },
                fired_at_ms: d.fired_at_ms,
                fired: d.fired,
            })
            .collect(),
        as_of_ms: report.as_of_ms,
    }
}
