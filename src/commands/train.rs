//! `trademon train`: trains an ensemble on stored candles ([`crate::model::training_run`]), shows
//! progress, reports the held-out test scores beside both baselines (saying plainly when the
//! model does not beat them), and registers the result as a challenger.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use crate::domain::{Candle, Interval, Symbol};
use crate::model::ensemble::EnsembleParams;
use crate::model::registry::TrainedOn;
use crate::model::train::{Progress, TrainSpec};
use crate::model::training_run::{self, TrainingData};

pub use crate::model::registry::data_origin;
pub use crate::model::training_run::{
    BaselineTest, TrainOutput, TrainRunError as TrainCommandError, register,
};

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

impl TrainArgs {
    /// The stored candles these arguments name.
    pub fn data(&self) -> TrainingData {
        TrainingData {
            symbol: self.symbol,
            interval: self.interval,
            from_ms: self.from_ms,
            to_ms: self.to_ms,
        }
    }
}

/// What [`run`] trains on: [`training_run::load`] of the candles `args` name.
pub fn load(
    db: &Path,
    args: &TrainArgs,
    spec: &TrainSpec,
) -> Result<(Vec<Candle>, TrainSpec), TrainCommandError> {
    training_run::load(db, &args.data(), spec)
}

/// Trains on the stored candles of `args` ([`training_run::run`]), drawing a progress bar on
/// stderr when asked, and returns the registered model with its report.
pub fn run(
    db: &Path,
    args: &TrainArgs,
    spec: &TrainSpec,
) -> Result<TrainOutput, TrainCommandError> {
    // The bar appears with the first progress, once the candles are loaded.
    let mut bar: Option<ProgressBar> = None;
    let mut on_progress = |p: &Progress| {
        if !args.progress {
            return;
        }
        let bar = bar.get_or_insert_with(|| progress_bar(spec));
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
    };
    let output = training_run::run(db, &args.data(), spec, &mut on_progress);
    // A failed training leaves its bar where it stopped; a finished one is cleared.
    if let Some(bar) = bar
        && !matches!(output, Err(TrainCommandError::Train { .. }))
    {
        bar.finish_and_clear();
    }
    output
}

/// The paired Diebold–Mariano test of the ensemble against its logistic baseline on the test
/// split, set on `output`; "beats" then needs it significant at 5 %.
pub fn judge(output: &mut TrainOutput) {
    let horizon = serde_json::from_value::<EnsembleParams>(output.model.params.clone())
        .map_or(1, |p| p.data.horizon);
    output.versus_logistic =
        crate::monitor::compare_run::versus_baseline(&output.test_log_losses, horizon);
    if let Some(t) = &output.versus_logistic {
        let r = &output.report.test;
        output.beats_baselines = t.beats && r.model.log_loss < r.majority.log_loss;
    }
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
    if let Some(t) = &output.versus_logistic {
        text.push_str(&if t.beats {
            format!(
                "The ensemble beats the logistic baseline: {:.4} nats lower log-loss per sample, \
                 Diebold–Mariano {:+.2}, p = {:.4} (n = {}, lag {}).\n",
                t.mean_log_loss_improvement, t.dm_stat, t.p, t.n, t.lag
            )
        } else {
            format!(
                "No significant difference from the logistic baseline at 5 %: {:+.4} nats per \
                 sample, Diebold–Mariano {:+.2}, p = {:.4} (n = {}, lag {}).\n",
                t.mean_log_loss_improvement, t.dm_stat, t.p, t.n, t.lag
            )
        });
    }
    text.push_str(if output.versus_logistic.is_some() {
        if r.test.model.log_loss < r.test.majority.log_loss {
            ""
        } else {
            "The ensemble does NOT beat even the majority class on test log-loss: it has learned \
             nothing usable.\n"
        }
    } else if output.beats_baselines {
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
    if let Some(reference) = &output.reference {
        text.push_str(&format!("Reference window for drift: {reference}.\n"));
    }
    if output.model.trained_on == TrainedOn::Simulated {
        text.push_str(
            "Trained on SIMULATED prices: these scores say nothing about a real market.\n",
        );
    }
    text
}
