//! Registry changes made outside the engine (`trademon models promote 2` while a daemon runs on
//! the same database) are noticed within a health tick: the list is re-read, and a new champion
//! runs from the next candle when the engine was running the old one. The change was audited
//! where it was made; following it writes no second row.

use super::{ModelRunner, Output};
use crate::protocol::Snapshot;

/// What the runner last saw of the registry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegistrySeen {
    /// The newest audit-log entry.
    event: Option<i64>,
    /// The champion then.
    champion: Option<i64>,
}

impl ModelRunner {
    /// Takes what the registry holds now as known: the engine's own changes are not "outside".
    pub(super) fn note_registry(&mut self) {
        if let Some(registry) = &self.registry {
            self.seen = RegistrySeen {
                event: registry.last_event_id().ok(),
                champion: registry.champion().ok().flatten().map(|c| c.id),
            };
        }
    }

    /// Follows registry changes another process made since the last look (see the module).
    pub fn watch_registry(&mut self, state: &Snapshot, now_ms: i64) -> Output {
        let mut out = Output::default();
        let Some(registry) = &self.registry else {
            return out;
        };
        let Ok(last) = registry.last_event_id() else {
            return out;
        };
        if Some(last) == self.seen.event {
            return out;
        }
        let champion = registry.champion().ok().flatten();
        out.models_changed = true;
        self.refresh_list();
        let champion_id = champion.as_ref().map(|c| c.id);
        if let Some(record) = champion
            && champion_id != self.seen.champion
        {
            let running = self.active.as_ref().map(|a| a.pipeline.id);
            if running.is_none() || running == self.seen.champion {
                tracing::warn!(
                    "the champion changed outside this engine: running {} from the next candle",
                    record.version
                );
                self.activate(&record, state, now_ms);
                let initial = self.take_initial();
                out.signals = initial.signals;
                out.writes = initial.writes;
                self.view.last_training = Some(format!(
                    "{} became the champion elsewhere; running it",
                    record.version
                ));
            } else {
                tracing::warn!(
                    "the champion changed outside this engine to {}; the model switched to live \
                     keeps running",
                    record.version
                );
                self.view.last_training = Some(format!(
                    "{} became the champion elsewhere; the model switched to keeps running",
                    record.version
                ));
            }
        }
        self.note_registry();
        out
    }
}
