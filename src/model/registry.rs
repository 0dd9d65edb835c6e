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

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

pub use record::{
    ChampionChange, EventKind, ExportReport, LiveEventKind, ModelEvent, ModelRecord, NewModel,
    Origin, RegistryError, Role, SemVer, TrainedOn,
};
pub use trained::{data_origin, new_model, register_trained};
pub use weights::sha256_hex;

use rows::{
    blob_of, insert_event, model_by_id, now_ms, select_events, select_models, sql_error,
    swap_champion,
};
use rules::{LineHead, champion_history, check_new, next_version, version_tag};

/// The registry over its own connection to the store.
#[derive(Debug)]
pub struct Registry {
    conn: Connection,
    path: String,
}

impl Registry {
    /// Opens the store at `path` (creating it and bringing its schema up to date like
    /// [`crate::store::Store::open`]) and the registry's connection to it.
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        drop(crate::store::Store::open(path)?);
        let name = path.display().to_string();
        let sql = |source| RegistryError::Sqlite {
            path: name.clone(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(&sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(&sql)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(&sql)?;
        Ok(Self { conn, path: name })
    }

    fn not_found(&self, wanted: impl ToString) -> RegistryError {
        RegistryError::NotFound {
            wanted: wanted.to_string(),
            path: self.path.clone(),
        }
    }

    /// Stores a new model as a challenger with the next version of its line, and a `register`
    /// event naming the line's previous highest version; all or nothing.
    pub fn register(&mut self, model: NewModel) -> Result<ModelRecord, RegistryError> {
        check_new(&model)?;
        let layout = weights::layout(&model.blob, "the new model's weights")?;
        let sha256 = sha256_hex(&model.blob);
        let path = self.path.clone();
        let sql = sql_error(&path);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&sql)?;
        let duplicate: Option<(i64, String)> = tx
            .query_row(
                "SELECT id, version FROM models WHERE sha256 = ?1",
                params![sha256],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(&sql)?;
        if let Some((id, version)) = duplicate {
            return Err(RegistryError::AlreadyRegistered { id, version });
        }
        let symbol = model.symbol.map(|s| s.to_string());
        let interval = model.interval.map(|i| i.as_str());
        let head = tx
            .query_row(
                "SELECT id, version, major, minor, patch, features_json, params_json, blob
                 FROM models WHERE kind = ?1 AND symbol IS ?2 AND interval IS ?3
                 ORDER BY major DESC, minor DESC, patch DESC LIMIT 1",
                params![model.kind, symbol, interval],
                |r| {
                    let version: String = r.get(1)?;
                    let part = |i| {
                        r.get::<_, i64>(i)
                            .map(|v| v.clamp(0, u32::MAX.into()) as u32)
                    };
                    let blob: Vec<u8> = r.get(7)?;
                    Ok(LineHead {
                        id: r.get(0)?,
                        semver: SemVer {
                            major: part(2)?,
                            minor: part(3)?,
                            patch: part(4)?,
                        },
                        features: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
                        params: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or_default(),
                        layout: weights::layout(&blob, &version).ok(),
                        version,
                    })
                },
            )
            .optional()
            .map_err(&sql)?;
        let (semver, rule) = next_version(head.as_ref(), &model.features, &model.params, &layout);
        let previous_id = head.map(|h| h.id);
        let tag = version_tag(&model, semver);
        let created_ms = now_ms();
        tx.execute(
            "INSERT INTO models (version, major, minor, patch, created_ms, kind, origin, trained_on,
                symbol, interval, data_from_ms, data_to_ms, rows_train, rows_validation, rows_test,
                features_json, params_json, metrics_json, weighting_json, blob, sha256, role)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                ?18, ?19, ?20, ?21, 'challenger')",
            params![
                tag,
                semver.major,
                semver.minor,
                semver.patch,
                created_ms,
                model.kind,
                model.origin.as_str(),
                model.trained_on.as_str(),
                symbol,
                interval,
                model.data_from_ms,
                model.data_to_ms,
                model.rows_train as i64,
                model.rows_validation as i64,
                model.rows_test as i64,
                serde_json::Value::from(model.features.clone()).to_string(),
                model.params.to_string(),
                model.metrics.to_string(),
                model.weighting.to_string(),
                model.blob,
                sha256,
            ],
        )
        .map_err(&sql)?;
        let id = tx.last_insert_rowid();
        let detail = format!("registered {tag}: {rule}");
        insert_event(
            &tx,
            &path,
            (
                created_ms,
                EventKind::Register,
                Some(id),
                previous_id,
                &detail,
            ),
        )?;
        let record = model_by_id(&tx, &path, id)?.ok_or_else(|| RegistryError::NotFound {
            wanted: id.to_string(),
            path: path.clone(),
        })?;
        tx.commit().map_err(&sql)?;
        Ok(record)
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
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_error(&path))?;
        let target = model_by_id(&tx, &path, id)?.ok_or_else(|| RegistryError::NotFound {
            wanted: id.to_string(),
            path: path.clone(),
        })?;
        if target.role == Role::Champion {
            return Err(RegistryError::AlreadyChampion {
                id,
                version: target.version,
            });
        }
        let previous = select_models(&tx, &path, "role = 'champion'", [])?
            .into_iter()
            .next();
        let detail = match &previous {
            Some(p) => format!("promoted {}, retired {}", target.version, p.version),
            None => format!("promoted {} (first champion)", target.version),
        };
        let change = swap_champion(&tx, &path, target, previous, EventKind::Promote, &detail)?;
        tx.commit().map_err(sql_error(&path))?;
        Ok(change)
    }

    /// Gives the championship back to the champion before the current one, following the audit
    /// log (promotions push, rollbacks pop), and retires the current one.
    pub fn rollback(&mut self) -> Result<ChampionChange, RegistryError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_error(&path))?;
        let current = select_models(&tx, &path, "role = 'champion'", [])?
            .into_iter()
            .next()
            .ok_or_else(|| RegistryError::NothingToRollBack {
                reason: format!("{path} has no champion; `trademon models promote ID` makes one"),
            })?;
        let history = champion_history(&tx, &path)?;
        if history.last() != Some(&current.id) {
            return Err(RegistryError::Inconsistent {
                path,
                reason: format!(
                    "the champion is model {} but the audit log ends with model {:?}",
                    current.id,
                    history.last()
                ),
            });
        }
        let Some(&target_id) = history.len().checked_sub(2).and_then(|i| history.get(i)) else {
            return Err(RegistryError::NothingToRollBack {
                reason: format!(
                    "{} (id {}) is the first champion in the audit log",
                    current.version, current.id
                ),
            });
        };
        let target =
            model_by_id(&tx, &path, target_id)?.ok_or_else(|| RegistryError::Inconsistent {
                path: path.clone(),
                reason: format!("the audit log names model {target_id}, which is not stored"),
            })?;
        let detail = format!("rolled back from {} to {}", current.version, target.version);
        let change = swap_champion(
            &tx,
            &path,
            target,
            Some(current),
            EventKind::Rollback,
            &detail,
        )?;
        tx.commit().map_err(sql_error(&path))?;
        Ok(change)
    }

    /// Records a live event of the engine: a switch of the active model or a fall back.
    pub fn record_event(
        &mut self,
        kind: LiveEventKind,
        model_id: Option<i64>,
        previous_model_id: Option<i64>,
        detail: &str,
    ) -> Result<ModelEvent, RegistryError> {
        for id in [model_id, previous_model_id].into_iter().flatten() {
            self.get_by_id(id)?;
        }
        insert_event(
            &self.conn,
            &self.path,
            (now_ms(), kind.into(), model_id, previous_model_id, detail),
        )
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
    /// `__metadata__`. The file appears whole or not at all; an existing file is replaced.
    pub fn export(&self, id: i64, path: &Path) -> Result<ExportReport, RegistryError> {
        let record = self.get_by_id(id)?;
        let blob = self.load_blob(id)?;
        let (bytes, tensors) = weights::export_bytes(&record, &blob)?;
        weights::write_whole(path, &bytes)?;
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
mod tests;
