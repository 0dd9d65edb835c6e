//! `trademon train`: trains an ensemble on stored candles, shows progress, reports the held-out
//! test scores beside both baselines (saying plainly when the model does not beat them), and
//! registers the result as a challenger.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::domain::{Candle, Interval, Symbol};
use crate::model::ensemble::EnsembleParams;
use crate::model::registry::{ModelRecord, Origin, RegistryError, TrainedOn};
use crate::model::train::{Progress, TrainError, TrainSpec, Trained, TrainingReport, train};
use crate::store::{Store, StoreError};

/// What to train on.
#[derive(Clone, Debug)]
pub struct TrainArgs {
    pub symbol: Symbol,
    pub interval: Interval,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainCommandError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "no {symbol} {interval} candles in {db}{range}: import some (`trademon import`) or let the \
         console record them; the built-in exchange's candles are in simulated.db (--sim)"
    )]
    NoCandles {
        symbol: Symbol,
        interval: Interval,
        db: String,
        range: String,
    },
    #[error("training {symbol} {interval}: {source}")]
    Train {
        symbol: Symbol,
        interval: Interval,
        #[source]
        source: Box<TrainError>,
    },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("the trained model cannot be stored: {0}")]
    Encode(String),
}

/// The command's result.
#[derive(Clone, Debug, Serialize)]
pub struct TrainOutput {
    pub model: ModelRecord,
    pub report: TrainingReport,
    /// Lower test log-loss than both baselines.
    pub beats_baselines: bool,
}

pub use crate::model::registry::data_origin;

/// The stored candles `args` name and `spec` with the series' market calendar, which decides
/// which holes are gaps (the model keeps it in its lineage): what [`run`] trains on.
pub fn load(
    db: &Path,
    args: &TrainArgs,
    spec: &TrainSpec,
) -> Result<(Vec<Candle>, TrainSpec), TrainCommandError> {
    let store = Store::open(db)?;
    let from = args.from_ms.unwrap_or(i64::MIN);
    let to = args.to_ms.unwrap_or(i64::MAX);
    let candles = store.candles_between(args.symbol, args.interval, from, to)?;
    if candles.is_empty() {
        let range = match (args.from_ms, args.to_ms) {
            (None, None) => String::new(),
            _ => format!(" between {from} and {to} (UTC ms)"),
        };
        return Err(TrainCommandError::NoCandles {
            symbol: args.symbol,
            interval: args.interval,
            db: db.display().to_string(),
            range,
        });
    }
    let mut spec = spec.clone();
    spec.data.calendar = store.calendar(args.symbol, args.interval)?;
    Ok((candles, spec))
}

/// Trains on the stored candles of `args`, registers the model and returns both.
pub fn run(
    db: &Path,
    args: &TrainArgs,
    spec: &TrainSpec,
) -> Result<TrainOutput, TrainCommandError> {
    let (candles, spec) = load(db, args, spec)?;
    let spec = &spec;
    let bar = args.progress.then(|| progress_bar(spec));
    let mut on_progress = |p: &Progress| {
        if let Some(bar) = &bar {
            bar.set_position(((p.member - 1) * spec.epochs + p.epoch) as u64);
            bar.set_message(format!(
                "member {}/{} epoch {}/{}  loss {:.4}  validation {:.4} ({:.1}% right)",
                p.member,
                p.members,
                p.epoch,
                p.epochs,
                p.train_loss,
                p.validation_loss,
                100.0 * p.validation_accuracy
            ));
        }
    };
    let stop = AtomicBool::new(false);
    let trained =
        train(&candles, args.interval, spec, &mut on_progress, &stop).map_err(|source| {
            TrainCommandError::Train {
                symbol: args.symbol,
                interval: args.interval,
                source: Box::new(source),
            }
        })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let model = register(db, args.symbol, args.interval, &trained, Origin::Trained)?;
    let beats_baselines = trained.report.test.beats_baselines();
    Ok(TrainOutput {
        model,
        report: trained.report,
        beats_baselines,
    })
}

fn progress_bar(spec: &TrainSpec) -> ProgressBar {
    let bar = ProgressBar::new((spec.members * spec.epochs) as u64);
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {msg} (ETA {eta}, at most: early stopping ends sooner)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Registers a trained ensemble: [`crate::model::registry::register_trained`].
pub fn register(
    db: &Path,
    symbol: Symbol,
    interval: Interval,
    trained: &Trained,
    origin: Origin,
) -> Result<ModelRecord, TrainCommandError> {
    let mut registry = crate::model::registry::Registry::open(db)?;
    Ok(crate::model::registry::register_trained(
        &mut registry,
        symbol,
        interval,
        trained,
        origin,
    )?)
}

/// The human report.
pub fn to_text(output: &TrainOutput) -> String {
    let r = &output.report;
    let mut text = format!(
        "registered {} (id {}) as a challenger: {} members on {} candles, {:.1} s\n\
         samples: train {}, validation {}, test {}; flat below |return| {:.3e}\n\n\
         held-out test split ({} samples), out of sample:\n\
         {:<22} {:>9} {:>9} {:>9} {:>9}\n",
        output.model.version,
        output.model.id,
        r.members.len(),
        r.candles,
        r.seconds,
        r.samples_train,
        r.samples_validation,
        r.samples_test,
        r.theta,
        r.samples_test,
        "",
        "accuracy",
        "macro-F1",
        "log-loss",
        "Brier"
    );
    for (name, m) in [
        ("ensemble", &r.test.model),
        ("logistic baseline", &r.test.logistic),
        ("majority baseline", &r.test.majority),
    ] {
        text.push_str(&format!(
            "{name:<22} {:>9.4} {:>9.4} {:>9.4} {:>9.4}\n",
            m.accuracy, m.macro_f1, m.log_loss, m.brier
        ));
    }
    text.push('\n');
    text.push_str(if output.beats_baselines {
        "The ensemble beats both baselines on test log-loss.\n"
    } else if r.test.model.log_loss < r.test.majority.log_loss {
        "The ensemble does NOT beat the logistic baseline on test log-loss: prefer the baseline.\n"
    } else {
        "The ensemble does NOT beat even the majority class on test log-loss: it has learned \
         nothing usable.\n"
    });
    if let Ok(params) = serde_json::from_value::<EnsembleParams>(output.model.params.clone())
        && let Some(c) = params.calibration
    {
        text.push_str(&format!(
            "Signals: Buy or Sell at confidence >= {:.4}, calibrated so {:.1} % of the validation \
             candles trade (model.signal_rate {}).\n",
            params.thresholds.buy,
            100.0 * c.achieved_rate,
            c.signal_rate
        ));
    }
    if output.model.trained_on == TrainedOn::Simulated {
        text.push_str(
            "Trained on SIMULATED prices: these scores say nothing about a real market.\n",
        );
    }
    text
}
