//! The model registry: every trained or imported model as a row of the SQLite store, with its
//! weights (a safetensors blob checked against its sha256 at load), its lineage and metrics, one
//! champion at a time, and an audit log of every change.
//!
//! **Versions.** A model belongs to the line of its (symbol, interval, kind). The first model of
//! a line is 1.0.0. A new model whose ordered feature list, tensor layout (names, dtypes and
//! shapes in the safetensors header) and parameter shape (the keys and value types of its params,
//! values ignored) all equal those of the line's highest version bumps the minor version: a
//! retrain that is a drop-in replacement. Any of them changed bumps the major version. The patch
//! number is left at 0 by registration. The version tag, unique in the store, is
//! `<kind>[-<SYMBOL>][-<interval>]@<major>.<minor>.<patch>` (`ensemble-BTCUSDT-1m@1.2.0`).
//!
//! **Champion.** There is one champion in the whole registry (not one per series): the model the
//! engine runs by default on every symbol. Promotion retires the old champion; rollback follows
//! the audit log back to the champion before the current one.

mod record;
mod rows;
mod rules;
mod trained;
mod weights;
mod writes;

use std::path::Path;

use rusqlite::{Connection, OpenFlags, params};

pub use record::{
    ChampionChange, EventKind, ExportReport, LiveEventKind, ModelEvent, ModelRecord, NewModel,
    Origin, RegistryError, Role, SemVer, TrainedOn,
};
pub use trained::{data_origin, new_model, register_trained};
pub use weights::sha256_hex;

use crate::store::writer::{RegistryJob, WriteOp, WriteSender, Writer, WriterOptions};
use rows::{blob_of, model_by_id, select_events, select_models, sql_error};
use rules::check_new;

/// The registry: reads on its own long-lived read connection, changes sent to the store's owner
/// (the one writer of the file) and answered from there.
#[derive(Debug)]
pub struct Registry {
    conn: Connection,
    path: String,
    owner: WriteSender,
}

impl Registry {
    /// Opens the store at `path` on its own (creating it, checking it and bringing its schema up
    /// to date like [`crate::store::Store::open`]) with an owner of its own that performs its
    /// changes: for one-shot commands and tests. The owner ends when the last handle to it goes
    /// (this registry's, and those given out by [`Registry::owner`]), after committing.
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        let owner = Writer::spawn(crate::store::Store::open(path)?, WriterOptions::default());
        Self::attach(path, owner.sender())
    }

    /// The registry of a store whose owner is already running (the engine's): opens one read
    /// connection, no integrity check, no migration; every change goes to `owner`.
    pub fn attach(path: &Path, owner: WriteSender) -> Result<Self, RegistryError> {
        let name = path.display().to_string();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_error(&name))?;
        conn.busy_timeout(crate::store::busy_timeout())
            .map_err(sql_error(&name))?;
        Ok(Self {
            conn,
            path: name,
            owner,
        })
    }

    /// The store owner this registry's changes go to (for a job that registers from its own
    /// thread with [`Registry::attach`]).
    pub fn owner(&self) -> WriteSender {
        self.owner.clone()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        Path::new(&self.path)
    }

    /// Runs a change on the owner's connection and waits for its answer.
    fn on_owner<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut Connection, &str) -> Result<T, RegistryError> + Send + 'static,
    ) -> Result<T, RegistryError> {
        let path = self.path.clone();
        self.owner
            .call(move |reply| {
                WriteOp::Registry(RegistryJob::new(move |conn| {
                    // A caller that stopped waiting loses only the answer: the change is made.
                    let _ = reply.send(change(conn, &path));
                }))
            })
            .map_err(|source| RegistryError::Writer {
                path: self.path.clone(),
                source,
            })?
    }

    fn not_found(&self, wanted: impl ToString) -> RegistryError {
        RegistryError::NotFound {
            wanted: wanted.to_string(),
            path: self.path.clone(),
        }
    }

    /// Stores a new model as a challenger with the next version of its line, and a `register`
    /// event naming the line's previous highest version; all or nothing. Checked here, written
    /// by the store's owner.
    pub fn register(&mut self, model: NewModel) -> Result<ModelRecord, RegistryError> {
        check_new(&model)?;
        let layout = weights::layout(&model.blob, "the new model's weights")?;
        let sha256 = sha256_hex(&model.blob);
        self.on_owner(move |conn, path| writes::register(conn, path, model, &layout, &sha256))
    }

    /// All models, oldest first.
    pub fn list(&self) -> Result<Vec<ModelRecord>, RegistryError> {
        select_models(&self.conn, &self.path, "1", [])
    }

    /// A model by its id (`3`), its version tag (`ensemble-BTCUSDT-1m@1.2.0`), or its version
    /// (`1.2.0`, when only one line has it).
    pub fn get(&self, id_or_version: &str) -> Result<ModelRecord, RegistryError> {
        let wanted = id_or_version.trim();
        let bad = || RegistryError::BadId {
            wanted: id_or_version.to_string(),
        };
        if !wanted.is_empty() && wanted.bytes().all(|b| b.is_ascii_digit()) {
            let id: i64 = wanted.parse().map_err(|_| bad())?;
            return self.get_by_id(id);
        }
        let found = if wanted.contains('@') {
            select_models(&self.conn, &self.path, "version = ?1", params![wanted])?
        } else if let Some(v) = SemVer::parse(wanted) {
            select_models(
                &self.conn,
                &self.path,
                "major = ?1 AND minor = ?2 AND patch = ?3",
                params![v.major, v.minor, v.patch],
            )?
        } else {
            return Err(bad());
        };
        match found.len() {
            0 => Err(self.not_found(wanted)),
            1 => Ok(found.into_iter().next().ok_or_else(bad)?),
            _ => Err(RegistryError::Ambiguous {
                wanted: wanted.to_string(),
                path: self.path.clone(),
                candidates: found
                    .iter()
                    .map(|m| format!("{} (id {})", m.version, m.id))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    pub fn get_by_id(&self, id: i64) -> Result<ModelRecord, RegistryError> {
        model_by_id(&self.conn, &self.path, id)?.ok_or_else(|| self.not_found(id))
    }

    /// The champion, if one was ever promoted.
    pub fn champion(&self) -> Result<Option<ModelRecord>, RegistryError> {
        Ok(
            select_models(&self.conn, &self.path, "role = 'champion'", [])?
                .into_iter()
                .next(),
        )
    }

    /// Makes model `id` the champion and retires the one before it.
    pub fn promote(&mut self, id: i64) -> Result<ChampionChange, RegistryError> {
        self.on_owner(move |conn, path| writes::promote(conn, path, id))
    }

    /// Retires challenger `id` from shadow scoring (audited).
    pub fn retire(&mut self, id: i64) -> Result<ModelEvent, RegistryError> {
        self.on_owner(move |conn, path| writes::set_challenger(conn, path, id, false))
    }

    /// Puts retired model `id` back in shadow scoring as a challenger (audited).
    pub fn challenge(&mut self, id: i64) -> Result<ModelEvent, RegistryError> {
        self.on_owner(move |conn, path| writes::set_challenger(conn, path, id, true))
    }

    /// Gives the championship back to the champion before the current one, following the audit
    /// log (promotions push, rollbacks pop), and retires the current one.
    pub fn rollback(&mut self) -> Result<ChampionChange, RegistryError> {
        self.on_owner(writes::rollback)
    }

    /// Records a live event of the engine: a switch of the active model or a fall back.
    pub fn record_event(
        &mut self,
        kind: LiveEventKind,
        model_id: Option<i64>,
        previous_model_id: Option<i64>,
        detail: &str,
    ) -> Result<ModelEvent, RegistryError> {
        self.record_event_at(kind, model_id, previous_model_id, detail, rows::now_ms())
    }

    /// [`Registry::record_event`] at `time_ms` of the engine's clock (a replay's, or a test's),
    /// so that what reads the log back (the retrain guards after a restart) counts in that time.
    pub fn record_event_at(
        &mut self,
        kind: LiveEventKind,
        model_id: Option<i64>,
        previous_model_id: Option<i64>,
        detail: &str,
        time_ms: i64,
    ) -> Result<ModelEvent, RegistryError> {
        let detail = detail.to_string();
        self.on_owner(move |conn, path| {
            writes::record_event(
                conn,
                path,
                kind,
                (model_id, previous_model_id),
                &detail,
                time_ms,
            )
        })
    }

    /// The id of the newest audit-log entry (0 for none). Every registry change writes one, so
    /// a reader sees another process's changes by this growing.
    pub fn last_event_id(&self) -> Result<i64, RegistryError> {
        self.conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM model_events", [], |r| {
                r.get(0)
            })
            .map_err(sql_error(&self.path))
    }

    /// The audit log, oldest first: all of it, or the entries naming one model.
    pub fn events(&self, model_id: Option<i64>) -> Result<Vec<ModelEvent>, RegistryError> {
        match model_id {
            None => select_events(&self.conn, &self.path, "1", []),
            Some(id) => select_events(
                &self.conn,
                &self.path,
                "model_id = ?1 OR previous_model_id = ?1",
                params![id],
            ),
        }
    }

    /// The weights of model `id`, refused when they no longer match their sha256.
    pub fn load_blob(&self, id: i64) -> Result<Vec<u8>, RegistryError> {
        let (blob, expected) =
            blob_of(&self.conn, &self.path, id)?.ok_or_else(|| self.not_found(id))?;
        let actual = sha256_hex(&blob);
        if actual != expected {
            let version = self
                .conn
                .query_row("SELECT version FROM models WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .map_err(sql_error(&self.path))?;
            return Err(RegistryError::HashMismatch {
                id,
                version,
                expected,
                actual,
            });
        }
        Ok(blob)
    }

    /// Writes model `id` as one safetensors file: its tensors, with the record in
    /// `__metadata__`. The file appears whole or not at all; an existing regular file is
    /// replaced only with `replace`, anything else at `path` never (see [`weights::write_whole`]).
    pub fn export(
        &self,
        id: i64,
        path: &Path,
        replace: bool,
    ) -> Result<ExportReport, RegistryError> {
        let record = self.get_by_id(id)?;
        let blob = self.load_blob(id)?;
        let (bytes, tensors) = weights::export_bytes(&record, &blob)?;
        weights::write_whole(path, &bytes, replace)?;
        Ok(ExportReport {
            id,
            version: record.version,
            file: path.display().to_string(),
            bytes: bytes.len() as u64,
            tensors,
        })
    }
}

#[cfg(test)]
mod lifecycle_tests;
#[cfg(test)]
pub(crate) mod tests;
