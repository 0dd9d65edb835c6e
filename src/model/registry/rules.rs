//! The registry's rules: which version a new model gets, what a valid new model is, and the
//! champion history the audit log describes.

use rusqlite::Connection;

use super::record::{EventKind, NewModel, RegistryError, SemVer};
use super::rows::select_events;
use super::weights::{Layout, json_shape};

/// The highest version of a line, as the version rule compares it.
pub struct LineHead {
    pub id: i64,
    pub version: String,
    pub semver: SemVer,
    pub features: Vec<String>,
    pub params: serde_json::Value,
    /// `None` when its weights could not be read, which counts as a changed layout.
    pub layout: Option<Layout>,
}

/// The version of a new model given its line's highest version, and the reason in words
/// (see the module documentation of the registry for the rule).
pub fn next_version(
    head: Option<&LineHead>,
    features: &[String],
    params: &serde_json::Value,
    layout: &Layout,
) -> (SemVer, String) {
    let Some(head) = head else {
        return (SemVer::FIRST, "first version of its line".to_string());
    };
    let changed: Vec<&str> = [
        (head.features != features, "features"),
        (head.layout.as_ref() != Some(layout), "tensor layout"),
        (
            json_shape(&head.params) != json_shape(params),
            "params shape",
        ),
    ]
    .into_iter()
    .filter(|(changed, _)| *changed)
    .map(|(_, what)| what)
    .collect();
    if changed.is_empty() {
        let next = SemVer {
            minor: head.semver.minor + 1,
            patch: 0,
            ..head.semver
        };
        let why = format!(
            "same features, tensor layout and params shape as {}: minor",
            head.version
        );
        (next, why)
    } else {
        let next = SemVer {
            major: head.semver.major + 1,
            minor: 0,
            patch: 0,
        };
        let why = format!(
            "{} changed since {}: major",
            changed.join(", "),
            head.version
        );
        (next, why)
    }
}

/// `<kind>[-<SYMBOL>][-<interval>]@<semver>`.
pub fn version_tag(model: &NewModel, semver: SemVer) -> String {
    let mut tag = model.kind.clone();
    if let Some(symbol) = model.symbol {
        tag.push('-');
        tag.push_str(symbol.as_str());
    }
    if let Some(interval) = model.interval {
        tag.push('-');
        tag.push_str(interval.as_str());
    }
    format!("{tag}@{semver}")
}

/// Refuses what the schema would refuse, with the reason in the caller's terms.
pub fn check_new(model: &NewModel) -> Result<(), RegistryError> {
    let invalid = |reason: String| Err(RegistryError::Invalid { reason });
    let kind_ok = model.kind.starts_with(|c: char| c.is_ascii_lowercase())
        && model
            .kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !kind_ok {
        return invalid(format!(
            "kind {:?} must be lower-case words joined by '-' (like ensemble)",
            model.kind
        ));
    }
    if model.features.is_empty() {
        return invalid("the feature list is empty".to_string());
    }
    let mut seen = std::collections::HashSet::new();
    for name in &model.features {
        if name.trim().is_empty() {
            return invalid("a feature name is empty".to_string());
        }
        if !seen.insert(name) {
            return invalid(format!("feature {name:?} is listed twice"));
        }
    }
    if let (Some(from), Some(to)) = (model.data_from_ms, model.data_to_ms)
        && from > to
    {
        return invalid(format!(
            "the data range starts ({from}) after it ends ({to})"
        ));
    }
    for (name, rows) in [
        ("rows_train", model.rows_train),
        ("rows_validation", model.rows_validation),
        ("rows_test", model.rows_test),
    ] {
        if i64::try_from(rows).is_err() {
            return invalid(format!("{name} {rows} is too large"));
        }
    }
    Ok(())
}

/// Champions in the order the audit log made them: a promotion pushes, a rollback pops.
pub fn champion_history(conn: &Connection, path: &str) -> Result<Vec<i64>, RegistryError> {
    let mut stack = Vec::new();
    for event in select_events(conn, path, "kind IN ('promote', 'rollback')", [])? {
        match (event.kind, event.model_id) {
            (EventKind::Promote, Some(id)) => stack.push(id),
            (EventKind::Rollback, Some(id)) => {
                stack.pop();
                if stack.last() != Some(&id) {
                    return Err(RegistryError::Inconsistent {
                        path: path.to_string(),
                        reason: format!(
                            "rollback event {} goes to model {id}, not to the champion before",
                            event.id
                        ),
                    });
                }
            }
            _ => {
                return Err(RegistryError::Inconsistent {
                    path: path.to_string(),
                    reason: format!("{} event {} names no model", event.kind, event.id),
                });
            }
        }
    }
    Ok(stack)
}
