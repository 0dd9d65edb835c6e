//! `trademon drift`: what the Drift pane shows, computed over stored candles. The model runs over
//! the period through the signal pipeline (batched), and its predictions and the candles go
//! through the same [`Tracker`] the live monitor uses, evaluated every `evaluate_every` candles as
//! live; the report is the last evaluation, with how many evaluations found dataset drift.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use super::persist::{self, WARM_UP};
use super::spec::ModelSpec;
use super::tracker::{MIN_WINDOW, Settings, Status, SymbolReport, Tracker};
use crate::domain::{Interval, Symbol};
use crate::model::pipeline::SignalPipeline;
use crate::model::registry::Registry;
use crate::model::signal::ThresholdOverride;
use crate::store::Store;

/// What to compute.
#[derive(Clone, Debug)]
pub struct DriftArgs {
    pub symbol: Symbol,
    pub interval: Interval,
    /// An id, a version tag, or "champion".
    pub model: String,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub settings: Settings,
    pub thresholds: ThresholdOverride,
}

/// The report, with the run over the period.
#[derive(Clone, Debug, Serialize)]
pub struct DriftOutput {
    #[serde(flatten)]
    pub report: SymbolReport,
    /// Candles of the period.
    pub candles: usize,
    /// Exact evaluations run over the period, and how many found dataset drift.
    pub evaluations: usize,
    pub dataset_drift_evaluations: usize,
    /// The reference was computed now from stored candles (and stored).
    pub reference_computed: bool,
}

impl DriftOutput {
    /// 0 stable (or no reference), 1 drift.
    pub fn drifting(&self) -> bool {
        self.report.status == Status::Drifting
    }
}

/// Runs it on the database `db`.
pub fn run(db: &Path, args: &DriftArgs) -> Result<DriftOutput, String> {
    if args.settings.window < MIN_WINDOW {
        return Err(format!(
            "--window {} is below the minimum of {MIN_WINDOW} candles",
            args.settings.window
        ));
    }
    if let (Some(from), Some(to)) = (args.from_ms, args.to_ms)
        && from >= to
    {
        return Err(format!("--from ({from}) must be before --to ({to})"));
    }
    if !db.exists() {
        return Err(format!("{}: no such database", db.display()));
    }
    let registry = Registry::open(db).map_err(|e| e.to_string())?;
    let record = if args.model == "champion" {
        registry
            .champion()
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "no model is champion: name one with --model ID".to_string())?
    } else {
        registry
            .get(&args.model)
            .map_err(|e| format!("--model {}: {e}", args.model))?
    };
    let spec = Arc::new(ModelSpec::of(&record)?);
    if spec.interval != args.interval {
        return Err(format!(
            "{} runs on {} candles, not {} (use --interval {})",
            record.version, spec.interval, args.interval, spec.interval
        ));
    }
    let store = Store::open_reader(db).map_err(|e| e.to_string())?;
    let from = args.from_ms.unwrap_or(i64::MIN);
    let to = args.to_ms.unwrap_or(i64::MAX);
    let period = store
        .candles_between(args.symbol, args.interval, from, to)
        .map_err(|e| e.to_string())?;
    let Some(first) = period.first() else {
        return Err(format!(
            "no stored {} {} candles in the period asked",
            args.symbol, args.interval
        ));
    };
    let first_ms = first.open_time_ms;
    let mut warm = store
        .recent_candles_before(args.symbol, args.interval, first_ms, WARM_UP)
        .map_err(|e| e.to_string())?;
    let warm_len = warm.len();
    warm.extend(period.iter().copied());
    let candles = warm;
    let (reference, computed) =
        match persist::reference_for(db, &registry, &record, args.settings.window) {
            Ok((r, computed)) => {
                if computed {
                    let row = persist::encode(&r, crate::domain::wall_clock_ms())?;
                    persist::store_via(&registry, row)?;
                }
                (Ok(Arc::new(r)), computed)
            }
            Err(why) => (Err(why), false),
        };
    let blob = registry.load_blob(record.id).map_err(|e| e.to_string());
    let (mut pipeline, fallback) =
        SignalPipeline::load(&record, blob, Some(spec.interval), args.thresholds)?;
    if let Some(reason) = fallback {
        tracing::warn!("{reason}: the logistic fallback's predictions are used");
    }
    let verdicts = pipeline
        .batch_verdicts(&candles, warm_len, &mut |_, _| true)
        .map_err(|e| e.to_string())?;
    let mut tracker = Tracker::new(spec, reference, args.symbol, args.settings);
    let (mut evaluations, mut drifted) = (0, 0);
    for (candle, verdict) in candles.iter().zip(&verdicts) {
        let due = tracker.push_candle(candle);
        if let Some(v) = verdict {
            tracker.push_prediction(candle.open_time_ms, v.probabilities, v.signal);
        }
        if due {
            // Counted only: the last evaluation, below, is the report's and is full.
            tracker.evaluate_verdicts();
            evaluations += 1;
            if tracker.report_dataset_drift() {
                drifted += 1;
            }
        }
    }
    // The report is as of the period's last candle, with every figure.
    if tracker.evaluation_pending() {
        tracker.evaluate();
        evaluations += 1;
        if tracker.report_dataset_drift() {
            drifted += 1;
        }
    } else if tracker.newest_ms().is_some() {
        // Its last candle was evaluated for the verdicts only: again, in full.
        let counted = tracker.report_dataset_drift();
        tracker.evaluate();
        debug_assert_eq!(counted, tracker.report_dataset_drift());
    }
    Ok(DriftOutput {
        report: tracker.report(),
        candles: period.len(),
        evaluations,
        dataset_drift_evaluations: drifted,
        reference_computed: computed,
    })
}
