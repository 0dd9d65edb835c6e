//! The registry's changes as they run on the store owner's connection (each in one IMMEDIATE
//! transaction): the rules they apply are in `rules`, the checks that need no database are made
//! by [`super::Registry`] before it sends them.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::record::{
    ChampionChange, EventKind, LiveEventKind, ModelEvent, ModelRecord, NewModel, RegistryError,
    Role, SemVer,
};
use super::rows::{insert_event, model_by_id, now_ms, select_models, sql_error, swap_champion};
use super::rules::{LineHead, champion_history, next_version, version_tag};
use super::weights::{self, Layout};

/// Stores a new model as a challenger with the next version of its line, and a `register`
/// event naming the line's previous highest version; all or nothing.
pub(super) fn register(
    conn: &mut Connection,
    path: &str,
    model: NewModel,
    layout: &Layout,
    sha256: &str,
) -> Result<ModelRecord, RegistryError> {
    let path = path.to_string();
    let sql = sql_error(&path);
    let tx = conn
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
    let (semver, rule) = next_version(head.as_ref(), &model.features, &model.params, layout);
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

/// Makes model `id` the champion and retires the one before it.
pub(super) fn promote(
    conn: &mut Connection,
    path: &str,
    id: i64,
) -> Result<ChampionChange, RegistryError> {
    let path = path.to_string();
    let tx = conn
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
pub(super) fn rollback(conn: &mut Connection, path: &str) -> Result<ChampionChange, RegistryError> {
    let path = path.to_string();
    let tx = conn
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
pub(super) fn record_event(
    conn: &mut Connection,
    path: &str,
    kind: LiveEventKind,
    (model_id, previous_model_id): (Option<i64>, Option<i64>),
    detail: &str,
    time_ms: i64,
) -> Result<ModelEvent, RegistryError> {
    for id in [model_id, previous_model_id].into_iter().flatten() {
        model_by_id(conn, path, id)?.ok_or_else(|| RegistryError::NotFound {
            wanted: id.to_string(),
            path: path.to_string(),
        })?;
    }
    insert_event(
        conn,
        path,
        (time_ms, kind.into(), model_id, previous_model_id, detail),
    )
}

/// Moves model `id` between challenger and retired: `challenge` (true) puts a retired model back
/// in shadow scoring, `false` retires a challenger from it. The champion is neither: promote
/// another model first. Audited; all or nothing.
pub(super) fn set_challenger(
    conn: &mut Connection,
    path: &str,
    id: i64,
    challenge: bool,
) -> Result<ModelEvent, RegistryError> {
    let path = path.to_string();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_error(&path))?;
    let target = model_by_id(&tx, &path, id)?.ok_or_else(|| RegistryError::NotFound {
        wanted: id.to_string(),
        path: path.clone(),
    })?;
    let (from, to, kind, verb) = if challenge {
        (
            Role::Retired,
            Role::Challenger,
            EventKind::Challenge,
            "challenges the champion again",
        )
    } else {
        (
            Role::Challenger,
            Role::Retired,
            EventKind::Retire,
            "retired from shadow scoring",
        )
    };
    if target.role != from {
        return Err(RegistryError::WrongRole {
            id,
            version: target.version,
            role: target.role.as_str(),
            wanted: from.as_str(),
        });
    }
    tx.execute(
        "UPDATE models SET role = ?2 WHERE id = ?1",
        params![id, to.as_str()],
    )
    .map_err(sql_error(&path))?;
    let detail = format!("{} {verb}", target.version);
    let event = insert_event(&tx, &path, (now_ms(), kind, Some(id), None, &detail))?;
    tx.commit().map_err(sql_error(&path))?;
    Ok(event)
}
