//! The console's key bindings as data: defaults embedded from `config/keymap.toml`, the user's
//! `keymap.toml` laid over them key by key, and the one [`Action`] enum every key maps to. A
//! binding may name a pane (`pane = "backtest"`): there it comes before the key's global binding.

use std::path::{Path, PathBuf};

use crossterm::event::KeyEvent;
use serde::Deserialize;

pub use super::action::Action;
use super::key::Key;
use super::view::Pane;

/// The embedded default bindings.
pub const DEFAULT_KEYMAP_TOML: &str = include_str!("../../config/keymap.toml");

const DEFAULTS_NAME: &str = "<built-in keymap>";

/// One key bound to one action, with the text the help overlay shows for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub key: Key,
    pub action: Action,
    pub desc: String,
    /// Only in this pane (where it comes before the key's global binding).
    pub pane: Option<Pane>,
}

/// A refused keymap file: which file, which entry, and why.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeymapError {
    #[error("keymap {file}: cannot read: {reason}")]
    Read { file: String, reason: String },
    #[error("keymap {file}: {reason}")]
    Invalid { file: String, reason: String },
    /// `entry` is the 0-based index of the `[[bind]]` entry in the file.
    #[error("keymap {file}: bind[{entry}] (key {key:?}): {reason}")]
    Entry {
        file: String,
        entry: usize,
        key: String,
        reason: String,
    },
    #[error(
        "keymap {file}: no key is left bound to quit; bind one (e.g. key = \"q\", action = \"quit\")"
    )]
    NoQuit { file: String },
}

/// The key bindings in force, in the order the files list them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    key: String,
    action: String,
    desc: Option<String>,
    pane: Option<String>,
}

impl Keymap {
    /// The defaults from the embedded `config/keymap.toml`.
    pub fn default_bindings() -> Keymap {
        // A unit test parses the embedded file; failing here is a build defect, so fall back to
        // the bare minimum rather than panic in front of the user.
        Self::from_layers(None).unwrap_or_else(|_| Keymap {
            bindings: vec![Binding {
                key: Key::new(
                    crossterm::event::KeyCode::Char('q'),
                    crossterm::event::KeyModifiers::NONE,
                ),
                action: Action::Quit,
                desc: "quit trademon".to_string(),
                pane: None,
            }],
        })
    }

    /// The defaults with `user_file` laid over them. A file that is named must exist.
    pub fn load(user_file: Option<&Path>) -> Result<Keymap, KeymapError> {
        let Some(path) = user_file else {
            return Self::from_layers(None);
        };
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| KeymapError::Read {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        Self::from_layers(Some((&file, &text)))
    }

    /// The defaults with user TOML text (named `file` in errors) laid over them.
    pub fn from_toml(file: &str, text: &str) -> Result<Keymap, KeymapError> {
        Self::from_layers(Some((file, text)))
    }

    /// `keymap.toml` in the user's config directory, if there is one.
    pub fn user_file() -> Option<PathBuf> {
        crate::config::Dirs::discover()
            .map(|d| d.config_dir.join("keymap.toml"))
            .filter(|p| p.exists())
    }

    /// The key's global action (bindings for one pane aside).
    pub fn action_for(&self, key: KeyEvent) -> Option<Action> {
        self.action_in(key, None)
    }

    /// The key's action in `pane`: its binding for that pane, else its global one. `None` for
    /// the pane (e.g. while the help overlay has the focus) gives the global one only.
    pub fn action_in(&self, key: KeyEvent, pane: Option<Pane>) -> Option<Action> {
        let key = Key::from_event(&key);
        let bound = |scope: Option<Pane>| {
            self.bindings
                .iter()
                .find(|b| b.key == key && b.pane == scope)
                .map(|b| b.action)
        };
        pane.and_then(|p| bound(Some(p))).or_else(|| bound(None))
    }

    /// Every binding, for the help overlay.
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    fn from_layers(user: Option<(&str, &str)>) -> Result<Keymap, KeymapError> {
        let mut keymap = Keymap {
            bindings: Vec::new(),
        };
        keymap.lay_over(DEFAULTS_NAME, DEFAULT_KEYMAP_TOML)?;
        let file = match user {
            Some((file, text)) => {
                keymap.lay_over(file, text)?;
                file
            }
            None => DEFAULTS_NAME,
        };
        if !keymap.bindings.iter().any(|b| b.action == Action::Quit) {
            return Err(KeymapError::NoQuit {
                file: file.to_string(),
            });
        }
        Ok(keymap)
    }

    /// Applies one file's entries: a key already bound is rebound in place, a new key is appended,
    /// `action = "none"` removes the key.
    fn lay_over(&mut self, file: &str, text: &str) -> Result<(), KeymapError> {
        let invalid = |reason: String| KeymapError::Invalid {
            file: file.to_string(),
            reason,
        };
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| invalid(e.to_string().trim().replace('\n', " ")))?;
        let entries = match table.remove("bind") {
            None => Vec::new(),
            Some(toml::Value::Array(entries)) => entries,
            Some(_) => return Err(invalid("`bind` must be a list of [[bind]] entries".into())),
        };
        if let Some(other) = table.keys().next() {
            return Err(invalid(format!(
                "unknown top-level key {other:?}; a keymap holds only [[bind]] entries"
            )));
        }
        let mut seen: Vec<(Key, Option<Pane>, usize)> = Vec::with_capacity(entries.len());
        for (index, value) in entries.into_iter().enumerate() {
            let key_text = value
                .get("key")
                .and_then(|k| k.as_str())
                .unwrap_or("?")
                .to_string();
            let entry_error = |reason: String| KeymapError::Entry {
                file: file.to_string(),
                entry: index,
                key: key_text.clone(),
                reason,
            };
            let raw = RawEntry::deserialize(value)
                .map_err(|e| entry_error(e.to_string().trim().replace('\n', " ")))?;
            let key: Key = raw.key.parse().map_err(entry_error)?;
            let pane = match raw.pane.as_deref() {
                None => None,
                Some(name) => Some(Pane::from_name(name).ok_or_else(|| {
                    let names: Vec<String> = Pane::ALL.iter().map(|p| p.id().to_string()).collect();
                    entry_error(format!(
                        "unknown pane {name:?}; use one of {}",
                        names.join(" ")
                    ))
                })?),
            };
            if let Some((_, _, first)) = seen.iter().find(|(k, p, _)| *k == key && *p == pane) {
                return Err(entry_error(format!(
                    "key {key} is already bound by bind[{first}] in this file"
                )));
            }
            seen.push((key, pane, index));
            if raw.action == "none" {
                self.bindings.retain(|b| b.key != key || b.pane != pane);
                continue;
            }
            let action = Action::from_name(&raw.action).ok_or_else(|| {
                let names: Vec<String> = Action::all().into_iter().map(Action::name).collect();
                entry_error(format!(
                    "unknown action {:?}; use one of {} none",
                    raw.action,
                    names.join(" ")
                ))
            })?;
            let desc = match raw.desc {
                Some(desc) if !desc.trim().is_empty() => desc,
                _ => self
                    .bindings
                    .iter()
                    .find(|b| b.action == action)
                    .map_or_else(|| action.name().replace('_', " "), |b| b.desc.clone()),
            };
            let binding = Binding {
                key,
                action,
                desc,
                pane,
            };
            match self
                .bindings
                .iter_mut()
                .find(|b| b.key == key && b.pane == pane)
            {
                Some(existing) => *existing = binding,
                None => self.bindings.push(binding),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_parse() {
        assert!(Keymap::from_layers(None).is_ok());
    }

    #[test]
    fn action_names_match_serde() {
        for action in Action::all() {
            let name = action.name();
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(Action::from_name(&name), Some(action));
            assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), action);
        }
    }
}
