//! `trademon models compare A B`: two models run over the same stored candles through the signal
//! pipeline (batched, the two in parallel), paired candle by candle once each outcome is known,
//! and judged by [`super::compare`]'s statistics, per symbol and pooled over the symbols.
//!
//! Both models are scored against **A's target**: the sign of the return over A's horizon with
//! A's flat band. A paired test needs one target; A is the reference (the champion, live). Models
//! with different intervals or horizons do not forecast the same thing and are refused.

use std::path::Path;

use serde::Serialize;

use super::compare::{Evidence, Paired, PairedOutcome};
use super::persist::WARM_UP;
use super::spec::ModelSpec;
use crate::domain::{Candle, Interval, Symbol};
use crate::model::labels::class_of;
use crate::model::pipeline::SignalPipeline;
use crate::model::registry::{ModelRecord, Registry};
use crate::model::signal::{ThresholdOverride, Verdict};
use crate::model::training_run::BaselineTest;
use crate::store::Store;

/// What to compare.
#[derive(Clone, Debug)]
pub struct CompareArgs {
    /// Ids, version tags or versions; "champion" names the champion.
    pub a: String,
    pub b: String,
    pub symbols: Vec<Symbol>,
    pub interval: Interval,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub thresholds: ThresholdOverride,
    /// Keep every pair for `--pairs`.
    pub pairs: bool,
}

/// One paired candle, as `--pairs` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Pair {
    pub time_ms: i64,
    pub symbol: Symbol,
    pub log_loss_a: f64,
    pub log_loss_b: f64,
    pub correct_a: bool,
    pub correct_b: bool,
}

/// The statistics of one stream (a symbol, or all pooled), as printed: the evidence, and its
/// verdict in words.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figures {
    #[serde(flatten)]
    pub evidence: Evidence,
    pub verdict: String,
}

impl Figures {
    fn of(evidence: Evidence) -> Self {
        let verdict = evidence.verdict.text("A", "B");
        Self { evidence, verdict }
    }
}

/// One symbol's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SymbolFigures {
    pub symbol: Symbol,
    pub candles: usize,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The report: the pooled figures at the top level, then each symbol's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompareOutput {
    pub a: String,
    pub b: String,
    pub interval: Interval,
    pub horizon: usize,
    pub symbols: Vec<Symbol>,
    #[serde(flatten)]
    pub pooled: Figures,
    pub per_symbol: Vec<SymbolFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pairs: Option<Vec<Pair>>,
}

fn model(registry: &Registry, which: &str, name: &str) -> Result<ModelRecord, String> {
    if which == "champion" {
        return registry
            .champion()
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{name}: no model is champion"));
    }
    registry
        .get(which)
        .map_err(|e| format!("{name} {which}: {e}"))
}

/// Runs it on the database `db`.
pub fn run(db: &Path, args: &CompareArgs) -> Result<CompareOutput, String> {
    if let (Some(from), Some(to)) = (args.from_ms, args.to_ms)
        && from >= to
    {
        return Err(format!("--from ({from}) must be before --to ({to})"));
    }
    if args.symbols.is_empty() {
        return Err("--symbol: name at least one symbol".into());
    }
    if !db.exists() {
        return Err(format!("{}: no such database", db.display()));
    }
    let registry = Registry::open(db).map_err(|e| e.to_string())?;
    let record_a = model(&registry, &args.a, "A")?;
    let record_b = model(&registry, &args.b, "B")?;
    if record_a.id == record_b.id {
        return Err(format!(
            "A and B are the same model ({}, id {}): compare two different models",
            record_a.version, record_a.id
        ));
    }
    let spec_a = ModelSpec::of(&record_a).map_err(|e| format!("A {}: {e}", record_a.version))?;
    let spec_b = ModelSpec::of(&record_b).map_err(|e| format!("B {}: {e}", record_b.version))?;
    if spec_a.interval != spec_b.interval {
        return Err(format!(
            "A {} runs on {} candles and B {} on {}: a paired comparison needs both on the same \
             candles",
            record_a.version, spec_a.interval, record_b.version, spec_b.interval
        ));
    }
    if spec_a.interval != args.interval {
        return Err(format!(
            "both models run on {} candles, not {} (use --interval {})",
            spec_a.interval, args.interval, spec_a.interval
        ));
    }
    if spec_a.horizon != spec_b.horizon {
        return Err(format!(
            "A {} forecasts {} candles ahead and B {} {}: a paired comparison needs one target",
            record_a.version, spec_a.horizon, record_b.version, spec_b.horizon
        ));
    }
    let load = |record: &ModelRecord| -> Result<SignalPipeline, String> {
        let blob = registry.load_blob(record.id).map_err(|e| e.to_string());
        let (pipeline, fallback) =
            SignalPipeline::load(record, blob, Some(args.interval), args.thresholds)?;
        if let Some(reason) = fallback {
            tracing::warn!(
                "{}: {reason}: the logistic fallback's predictions are used",
                record.version
            );
        }
        Ok(pipeline)
    };
    let mut pipeline_a = load(&record_a)?;
    let mut pipeline_b = load(&record_b)?;
    let store = Store::open_reader(db).map_err(|e| e.to_string())?;
    let from = args.from_ms.unwrap_or(i64::MIN);
    let to = args.to_ms.unwrap_or(i64::MAX);
    let horizon = spec_a.horizon;
    let mut per_symbol = Vec::with_capacity(args.symbols.len());
    let mut streams: Vec<Paired> = Vec::with_capacity(args.symbols.len());
    let mut pairs = args.pairs.then(Vec::new);
    for &symbol in &args.symbols {
        let period = store
            .candles_between(symbol, args.interval, from, to)
            .map_err(|e| e.to_string())?;
        let Some(first) = period.first() else {
            return Err(format!(
                "no stored {symbol} {} candles in the period asked",
                args.interval
            ));
        };
        let mut candles = store
            .recent_candles_before(symbol, args.interval, first.open_time_ms, WARM_UP)
            .map_err(|e| e.to_string())?;
        let warm = candles.len();
        candles.extend(period.iter().copied());
        let (verdicts_a, verdicts_b) = std::thread::scope(|s| {
            let b = s.spawn(|| pipeline_b.batch_verdicts(&candles, warm, &mut |_, _| true));
            let a = pipeline_a.batch_verdicts(&candles, warm, &mut |_, _| true);
            (a, b.join().expect("model B's run panicked"))
        });
        let verdicts_a = verdicts_a.map_err(|e| format!("A {}: {e}", record_a.version))?;
        let verdicts_b = verdicts_b.map_err(|e| format!("B {}: {e}", record_b.version))?;
        let mut paired = Paired::new(horizon);
        for outcome in pair_up(
            &candles,
            &verdicts_a,
            &verdicts_b,
            args.interval,
            horizon,
            spec_a.theta,
        ) {
            paired.push(&outcome);
            if let Some(pairs) = pairs.as_mut() {
                pairs.push(Pair {
                    time_ms: outcome.time_ms,
                    symbol,
                    log_loss_a: outcome.log_loss_a(),
                    log_loss_b: outcome.log_loss_b(),
                    correct_a: outcome.correct_a(),
                    correct_b: outcome.correct_b(),
                });
            }
        }
        if paired.is_empty() {
            return Err(format!(
                "{symbol}: {} stored candles give no candle both models scored with a known \
                 outcome (each needs {} candles of history and {horizon} after)",
                period.len(),
                pipeline_a.window.max(pipeline_b.window)
            ));
        }
        per_symbol.push(SymbolFigures {
            symbol,
            candles: period.len(),
            figures: Figures::of(paired.evidence()),
        });
        streams.push(paired);
    }
    let parts: Vec<&Paired> = streams.iter().collect();
    Ok(CompareOutput {
        a: record_a.version,
        b: record_b.version,
        interval: args.interval,
        horizon,
        symbols: args.symbols.clone(),
        pooled: Figures::of(Paired::pooled(&parts)),
        per_symbol,
        pairs,
    })
}

/// The candles both models scored whose outcome `horizon` candles later is stored, with that
/// outcome's class under A's flat band `theta`. A missing candle in between leaves no outcome.
pub fn pair_up(
    candles: &[Candle],
    a: &[Option<Verdict>],
    b: &[Option<Verdict>],
    interval: Interval,
    horizon: usize,
    theta: f64,
) -> Vec<PairedOutcome> {
    let span = interval.ms() * horizon as i64;
    let mut out = Vec::new();
    for (i, candle) in candles.iter().enumerate() {
        let (Some(Some(va)), Some(Some(vb)), Some(later)) =
            (a.get(i), b.get(i), candles.get(i + horizon))
        else {
            continue;
        };
        if later.open_time_ms - candle.open_time_ms != span || candle.close <= 0.0 {
            continue;
        }
        let realised = (later.close / candle.close).ln();
        if !realised.is_finite() {
            continue;
        }
        out.push(PairedOutcome {
            time_ms: candle.open_time_ms,
            probs_a: va.probabilities,
            probs_b: vb.probabilities,
            label: class_of(realised, theta),
        });
    }
    out
}

/// The paired test of a trained ensemble against its logistic baseline on its test split:
/// `test_log_losses` holds (ensemble, logistic) per sample in time order. `None` with fewer than
/// two samples. "Beats" means lower mean log-loss and a Diebold–Mariano p-value below 5 %.
pub fn versus_baseline(test_log_losses: &[(f64, f64)], horizon: usize) -> Option<BaselineTest> {
    if test_log_losses.len() < 2 {
        return None;
    }
    let d: Vec<f64> = test_log_losses
        .iter()
        .map(|(model, logistic)| logistic - model)
        .collect();
    let dm = super::compare::diebold_mariano(&d, horizon, super::compare::dm_lag(d.len(), horizon));
    let mean = d.iter().sum::<f64>() / d.len() as f64;
    Some(BaselineTest {
        n: d.len(),
        mean_log_loss_improvement: mean,
        dm_stat: dm.stat,
        p: dm.p,
        lag: dm.lag,
        beats: mean > 0.0 && dm.p < 0.05,
    })
}
