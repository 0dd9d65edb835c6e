//! Reading registry rows back into records and events, refusing damaged values by row and column.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::record::{
    ChampionChange, EventKind, ModelEvent, ModelRecord, Origin, RegistryError, Role, SemVer,
    TrainedOn,
};

/// The columns of a [`ModelRecord`], in the order [`RawModel::read`] expects.
pub const MODEL_COLUMNS: &str = "id, version, major, minor, patch, created_ms, kind, origin, \
    trained_on, symbol, interval, data_from_ms, data_to_ms, rows_train, rows_validation, \
    rows_test, features_json, params_json, metrics_json, weighting_json, sha256, length(blob), role";

/// A models row as SQLite returns it, before its text is checked.
pub struct RawModel {
    id: i64,
    version: String,
    semver: [i64; 3],
    created_ms: i64,
    kind: String,
    origin: String,
    trained_on: String,
    symbol: Option<String>,
    interval: Option<String>,
    data_from_ms: Option<i64>,
    data_to_ms: Option<i64>,
    rows: [i64; 3],
    json: [String; 4],
    sha256: String,
    blob_bytes: i64,
    role: String,
}

impl RawModel {
    pub fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            version: r.get(1)?,
            semver: [r.get(2)?, r.get(3)?, r.get(4)?],
            created_ms: r.get(5)?,
            kind: r.get(6)?,
            origin: r.get(7)?,
            trained_on: r.get(8)?,
            symbol: r.get(9)?,
            interval: r.get(10)?,
            data_from_ms: r.get(11)?,
            data_to_ms: r.get(12)?,
            rows: [r.get(13)?, r.get(14)?, r.get(15)?],
            json: [r.get(16)?, r.get(17)?, r.get(18)?, r.get(19)?],
            sha256: r.get(20)?,
            blob_bytes: r.get(21)?,
            role: r.get(22)?,
        })
    }

    pub fn into_record(self, path: &str) -> Result<ModelRecord, RegistryError> {
        let id = self.id;
        let bad = |column: &'static str, reason: String| RegistryError::BadRow {
            id,
            path: path.to_string(),
            column,
            reason,
        };
        let unknown = |column: &'static str, text: &str| {
            bad(
                column,
                format!("unknown value {text:?} (written by a newer trademon?)"),
            )
        };
        let count = |column: &'static str, v: i64| {
            u64::try_from(v).map_err(|_| bad(column, format!("negative count {v}")))
        };
        let part = |v: i64| u32::try_from(v).map_err(|_| bad("version", format!("part {v}")));
        let json = |column: &'static str, text: &str| {
            serde_json::from_str::<serde_json::Value>(text).map_err(|e| bad(column, e.to_string()))
        };
        let features = serde_json::from_str::<Vec<String>>(&self.json[0])
            .map_err(|e| bad("features_json", e.to_string()))?;
        Ok(ModelRecord {
            id,
            version: self.version,
            semver: SemVer {
                major: part(self.semver[0])?,
                minor: part(self.semver[1])?,
                patch: part(self.semver[2])?,
            },
            created_ms: self.created_ms,
            origin: Origin::parse(&self.origin).ok_or_else(|| unknown("origin", &self.origin))?,
            kind: self.kind,
            trained_on: TrainedOn::parse(&self.trained_on)
                .ok_or_else(|| unknown("trained_on", &self.trained_on))?,
            symbol: self
                .symbol
                .map(|s| s.parse().map_err(|e| bad("symbol", format!("{e}"))))
                .transpose()?,
            interval: self
                .interval
                .map(|s| s.parse().map_err(|e| bad("interval", format!("{e}"))))
                .transpose()?,
            data_from_ms: self.data_from_ms,
            data_to_ms: self.data_to_ms,
            rows_train: count("rows_train", self.rows[0])?,
            rows_validation: count("rows_validation", self.rows[1])?,
            rows_test: count("rows_test", self.rows[2])?,
            features,
            params: json("params_json", &self.json[1])?,
            metrics: json("metrics_json", &self.json[2])?,
            weighting: json("weighting_json", &self.json[3])?,
            sha256: self.sha256,
            blob_bytes: count("blob", self.blob_bytes)?,
            role: Role::parse(&self.role).ok_or_else(|| unknown("role", &self.role))?,
        })
    }
}

/// Wall-clock time: registry changes are real-world events, whatever clock drives the market.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn sql_error(path: &str) -> impl Fn(rusqlite::Error) -> RegistryError + '_ {
    move |source| RegistryError::Sqlite {
        path: path.to_string(),
        source,
    }
}

/// Models matching `filter` (SQL after `WHERE`), in id order.
pub fn select_models(
    conn: &Connection,
    path: &str,
    filter: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<ModelRecord>, RegistryError> {
    let sql = format!("SELECT {MODEL_COLUMNS} FROM models WHERE {filter} ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_error(path))?;
    let raw = stmt
        .query_map(args, RawModel::read)
        .map_err(sql_error(path))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql_error(path))?;
    raw.into_iter().map(|r| r.into_record(path)).collect()
}

pub fn model_by_id(
    conn: &Connection,
    path: &str,
    id: i64,
) -> Result<Option<ModelRecord>, RegistryError> {
    Ok(select_models(conn, path, "id = ?1", params![id])?
        .into_iter()
        .next())
}

/// Events matching `filter` (SQL after `WHERE`), oldest first.
pub fn select_events(
    conn: &Connection,
    path: &str,
    filter: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<ModelEvent>, RegistryError> {
    let sql = format!(
        "SELECT id, time_ms, kind, model_id, previous_model_id, detail FROM model_events
         WHERE {filter} ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_error(path))?;
    let raw = stmt
        .query_map(args, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, String>(5)?,
            ))
        })
        .map_err(sql_error(path))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql_error(path))?;
    raw.into_iter()
        .map(|(id, time_ms, kind, model_id, previous_model_id, detail)| {
            let kind = EventKind::parse(&kind).ok_or_else(|| RegistryError::Inconsistent {
                path: path.to_string(),
                reason: format!("event {id} has unknown kind {kind:?}"),
            })?;
            Ok(ModelEvent {
                id,
                time_ms,
                kind,
                model_id,
                previous_model_id,
                detail,
            })
        })
        .collect()
}

/// Inserts an audit-log entry and returns it.
pub fn insert_event(
    conn: &Connection,
    path: &str,
    event: (i64, EventKind, Option<i64>, Option<i64>, &str),
) -> Result<ModelEvent, RegistryError> {
    let (time_ms, kind, model_id, previous_model_id, detail) = event;
    conn.execute(
        "INSERT INTO model_events (time_ms, kind, model_id, previous_model_id, detail)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![time_ms, kind.as_str(), model_id, previous_model_id, detail],
    )
    .map_err(sql_error(path))?;
    Ok(ModelEvent {
        id: conn.last_insert_rowid(),
        time_ms,
        kind,
        model_id,
        previous_model_id,
        detail: detail.to_string(),
    })
}

/// The stored weights and their recorded sha256.
pub fn blob_of(
    conn: &Connection,
    path: &str,
    id: i64,
) -> Result<Option<(Vec<u8>, String)>, RegistryError> {
    conn.query_row(
        "SELECT blob, sha256 FROM models WHERE id = ?1",
        params![id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .map_err(sql_error(path))
}

/// Retires `previous`, crowns `target`, and logs it.
pub fn swap_champion(
    conn: &Connection,
    path: &str,
    target: ModelRecord,
    previous: Option<ModelRecord>,
    kind: EventKind,
    detail: &str,
) -> Result<ChampionChange, RegistryError> {
    let set_role = |id: i64, role: Role| {
        conn.execute(
            "UPDATE models SET role = ?2 WHERE id = ?1",
            params![id, role.as_str()],
        )
        .map_err(sql_error(path))
    };
    if let Some(p) = &previous {
        set_role(p.id, Role::Retired)?;
    }
    set_role(target.id, Role::Champion)?;
    let event = insert_event(
        conn,
        path,
        (
            now_ms(),
            kind,
            Some(target.id),
            previous.as_ref().map(|p| p.id),
            detail,
        ),
    )?;
    let reread = |id: i64| {
        model_by_id(conn, path, id)?.ok_or_else(|| RegistryError::NotFound {
            wanted: id.to_string(),
            path: path.to_string(),
        })
    };
    Ok(ChampionChange {
        champion: reread(target.id)?,
        previous: previous.map(|p| reread(p.id)).transpose()?,
        event,
    })
}
