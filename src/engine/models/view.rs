//! The Models pane's rows: a registry record as the view lists it.

use crate::model::calibrate;
use crate::model::ensemble::EnsembleParams;
use crate::model::registry::ModelRecord;
use crate::model::signal::ThresholdOverride;
use crate::model::train::TrainingReport;
use crate::protocol::{ModelSummary, Scores, SignalThresholds, TestScores};

fn scores(m: &crate::model::metrics::Metrics) -> Scores {
    Scores {
        accuracy: m.accuracy,
        macro_f1: m.macro_f1,
        log_loss: m.log_loss,
        brier: m.brier,
    }
}

/// A registry row as the Models pane lists it, with the thresholds its signals are judged by
/// under the config's explicit numbers `over`.
pub fn summary(record: &ModelRecord, over: ThresholdOverride) -> ModelSummary {
    let report = serde_json::from_value::<TrainingReport>(record.metrics.clone()).ok();
    let data = match (record.symbol, record.interval) {
        (Some(s), Some(i)) => format!("{} {i}", s.as_str()),
        _ => "-".to_string(),
    };
    ModelSummary {
        id: record.id,
        version: record.version.clone(),
        created_ms: record.created_ms,
        origin: record.origin.to_string(),
        trained_on: record.trained_on.to_string(),
        role: record.role.to_string(),
        members: report.as_ref().map_or(1, |r| r.members.len() as u32),
        data,
        test: report.map(|r| TestScores {
            samples: r.samples_test as u64,
            model: scores(&r.test.model),
            logistic: scores(&r.test.logistic),
            majority: scores(&r.test.majority),
        }),
        thresholds: serde_json::from_value::<EnsembleParams>(record.params.clone())
            .ok()
            .map(|params| {
                let (t, source) = calibrate::effective(&params, over);
                SignalThresholds {
                    buy: t.buy,
                    sell: t.sell,
                    source,
                }
            }),
    }
}
