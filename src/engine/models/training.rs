//! Training runs started from the console: one at a time, on a background thread, reading the
//! series' stored candles; progress (at most every 100 ms) and the result come back as job
//! events, and the trained ensemble is registered as a challenger.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::{ModelRunner, Output};
use crate::domain::{Interval, Symbol};
use crate::engine::jobs::{JobEvent, run_to_end};
use crate::model::registry::Registry;
use crate::model::train::{Progress, TrainSpec, train};
use crate::protocol::TrainingProgress;
use crate::store::Store;

/// Progress messages sent by the thread at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// What a training job reports.
pub enum JobMessage {
    Progress(Progress),
    Done(Result<String, String>),
}

pub(super) struct Job {
    pub(super) symbol: Symbol,
    pub(super) interval: Interval,
    started_ms: i64,
    stop: Arc<AtomicBool>,
}

impl ModelRunner {
    /// The trader's retrain (`t`): the config's model settings.
    pub(super) fn retrain(
        &mut self,
        symbol: Symbol,
        interval: Interval,
        now_ms: i64,
    ) -> Result<String, String> {
        let spec = TrainSpec::from_config(&self.config);
        self.start_training(symbol, interval, spec, now_ms)
    }

    /// Trains `spec` on the series' stored candles in the background and registers the result
    /// as a challenger.
    pub(super) fn start_training(
        &mut self,
        symbol: Symbol,
        interval: Interval,
        mut spec: TrainSpec,
        now_ms: i64,
    ) -> Result<String, String> {
        if let Some(job) = &self.job {
            return Err(format!(
                "a training run for {} {} is in progress",
                job.symbol.as_str(),
                job.interval
            ));
        }
        let db = self.db.clone().ok_or_else(|| "no database".to_string())?;
        // The trained model is registered through the store's owner, like every write.
        let owner = self
            .registry
            .as_ref()
            .map(|r| r.owner())
            .ok_or_else(|| "no model registry".to_string())?;
        let tx = self.jobs.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        std::thread::Builder::new()
            .name("trademon-train".into())
            .spawn(move || {
                let work = || -> Result<String, String> {
                    // A read connection: the owner checked the file once, when it opened it.
                    let store = Store::open_reader(&db).map_err(|e| e.to_string())?;
                    let candles = store
                        .candles_between(symbol, interval, i64::MIN, i64::MAX)
                        .map_err(|e| e.to_string())?;
                    spec.data.calendar = store
                        .calendar(symbol, interval)
                        .map_err(|e| e.to_string())?;
                    drop(store);
                    let progress_tx = tx.clone();
                    let mut last_sent: Option<Instant> = None;
                    let mut progress = |p: &Progress| {
                        if last_sent.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
                            last_sent = Some(Instant::now());
                            let message = JobMessage::Progress(p.clone());
                            let _ = progress_tx.send(JobEvent::Training(message));
                        }
                    };
                    let trained = train(&candles, interval, &spec, &mut progress, &thread_stop)
                        .map_err(|e| e.to_string())?;
                    let mut registry = Registry::attach(&db, owner).map_err(|e| e.to_string())?;
                    let record = crate::model::registry::register_trained(
                        &mut registry,
                        symbol,
                        interval,
                        &trained,
                        crate::model::registry::Origin::Trained,
                    )
                    .map_err(|e| e.to_string())?;
                    // The monitor's reference window, computed from the rows it trained on.
                    let reference = store_reference(&record, &trained, &candles, &registry);
                    // The paired test on the test split, as `trademon train` reports it.
                    let versus = crate::monitor::compare_run::versus_baseline(
                        &trained.test_log_losses,
                        trained.ensemble.params.data.horizon,
                    );
                    let verdict = match versus {
                        Some(t) if t.beats => format!("beats the logistic baseline, p = {:.4}", t.p),
                        Some(t) => format!(
                            "no significant difference from the logistic baseline, p = {:.4}",
                            t.p
                        ),
                        None => "too few test samples to compare with the baseline".to_string(),
                    };
                    Ok(format!(
                        "{} registered as a challenger (test log-loss {:.4}, {verdict}; {reference})",
                        record.version, trained.report.test.model.log_loss
                    ))
                };
                let result = run_to_end(work, |panic| Err(format!("training panicked: {panic}")));
                let _ = tx.send(JobEvent::Training(JobMessage::Done(result)));
            })
            .map_err(|e| format!("cannot start the training thread: {e}"))?;
        self.job = Some(Job {
            symbol,
            interval,
            started_ms: now_ms,
            stop,
        });
        Ok(format!(
            "training {} {interval} in the background",
            symbol.as_str()
        ))
    }

    /// A report of the background training run: its progress or its end.
    pub(super) fn on_training(&mut self, message: JobMessage) -> Output {
        let mut out = Output::default();
        let Some(job) = &self.job else {
            return out;
        };
        match message {
            JobMessage::Progress(p) => {
                out.training = Some(Some(TrainingProgress {
                    symbol: job.symbol,
                    interval: job.interval,
                    started_ms: job.started_ms,
                    member: p.member as u32,
                    members: p.members as u32,
                    epoch: p.epoch as u32,
                    epochs: p.epochs as u32,
                    train_loss: p.train_loss,
                    validation_loss: p.validation_loss,
                    validation_accuracy: p.validation_accuracy,
                    eta_secs: p.eta.map(|d| d.as_secs_f64()),
                }));
            }
            JobMessage::Done(result) => {
                self.retrain_finished(&result, self.now_ms);
                self.view.last_training = Some(match result {
                    Ok(text) => text,
                    Err(text) => format!("training failed: {text}"),
                });
                self.job = None;
                self.refresh_list();
                out.training = Some(None);
                out.models_changed = true;
            }
        }
        out
    }

    /// Asks a running training job to stop (on shutdown).
    pub fn stop_training(&self) {
        if let Some(job) = &self.job {
            job.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Computes the monitor's reference window of a model just trained on `candles` and sends it to
/// the store with the model; says how it went, for the trader.
fn store_reference(
    record: &crate::model::registry::ModelRecord,
    trained: &crate::model::train::Trained,
    candles: &[crate::domain::Candle],
    registry: &Registry,
) -> String {
    let work = || -> Result<String, String> {
        let spec = crate::monitor::ModelSpec::of(record)?;
        let mut pipeline = crate::model::pipeline::SignalPipeline::from_ensemble(
            record.id,
            &record.version,
            trained.ensemble.clone(),
        );
        let window = crate::config::MonitorConfig::default().window;
        let reference = crate::monitor::reference::build(
            &spec,
            Some(&mut pipeline),
            candles,
            window,
            "training rows",
        )?;
        let row = crate::monitor::persist::encode(&reference, crate::domain::wall_clock_ms())?;
        // A row like the others, committed in order after the registration.
        registry
            .owner()
            .send(crate::store::writer::WriteOp::Reference(Box::new(row)))
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "reference window of {} rows stored",
            reference.rows
        ))
    };
    work().unwrap_or_else(|e| format!("no reference window: {e}"))
}
