//! Model commands from a view: switch, promote, roll back, retrain — each audited in the registry
//! and answered in the Models view.

use super::{ModelCommand, ModelRunner, Output};
use crate::model::registry::LiveEventKind;
use crate::protocol::Snapshot;

impl ModelRunner {
    /// A model command from a view.
    pub fn on_command(&mut self, command: ModelCommand, state: &Snapshot, now_ms: i64) -> Output {
        let mut out = Output {
            models_changed: true,
            ..Output::default()
        };
        let message = match command {
            ModelCommand::Switch(id) => self.switch(id, state, now_ms),
            ModelCommand::Promote(id) => self
                .registry
                .as_mut()
                .ok_or_else(|| "no registry".to_string())
                .and_then(|r| r.promote(id).map_err(|e| e.to_string()))
                .map(|change| format!("{} is the champion", change.champion.version)),
            ModelCommand::Rollback => {
                let change = self
                    .registry
                    .as_mut()
                    .ok_or_else(|| "no registry".to_string())
                    .and_then(|r| r.rollback().map_err(|e| e.to_string()));
                change.and_then(|change| {
                    let id = change.champion.id;
                    self.switch(id, state, now_ms)
                        .map(|_| format!("rolled back to {}", change.champion.version))
                })
            }
            ModelCommand::Retrain(symbol, interval) => self.retrain(symbol, interval, now_ms),
            ModelCommand::CancelTraining => match &self.job {
                Some(job) => {
                    let text = format!(
                        "stopping the training of {} {}: nothing will be registered",
                        job.symbol.as_str(),
                        job.interval
                    );
                    self.stop_training();
                    Ok(text)
                }
                None => Err("no training is running".to_string()),
            },
            ModelCommand::Retire(id) => self
                .registry
                .as_mut()
                .ok_or_else(|| "no registry".to_string())
                .and_then(|r| r.retire(id).map_err(|e| e.to_string()))
                .map(|event| event.detail),
            ModelCommand::Challenge(id) => self
                .registry
                .as_mut()
                .ok_or_else(|| "no registry".to_string())
                .and_then(|r| r.challenge(id).map_err(|e| e.to_string()))
                .map(|event| event.detail),
        };
        self.view.last_training = Some(match message {
            Ok(text) => text,
            Err(text) => format!("refused: {text}"),
        });
        self.note_registry();
        self.refresh_list();
        let initial = self.take_initial();
        out.signals = initial.signals;
        out.writes = initial.writes;
        out
    }

    fn switch(&mut self, id: i64, state: &Snapshot, now_ms: i64) -> Result<String, String> {
        let registry = self
            .registry
            .as_ref()
            .ok_or_else(|| "no registry".to_string())?;
        let record = registry.get_by_id(id).map_err(|e| e.to_string())?;
        let previous = self.active.as_ref().map(|a| a.pipeline.id);
        self.activate(&record, state, now_ms);
        let detail = match &self.view.fallback {
            Some(reason) => format!("switched to {}; it cannot run: {reason}", record.version),
            None => format!("switched to {}", record.version),
        };
        let audited = match self.registry.as_mut() {
            Some(registry) => {
                registry.record_event(LiveEventKind::Switch, Some(id), previous, &detail)
            }
            None => return Ok(detail),
        };
        if let Err(e) = audited {
            tracing::warn!("switch not audited: {e}");
        }
        Ok(detail)
    }
}
