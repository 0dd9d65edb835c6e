//! Key names as the keymap file writes them (`q`, `ctrl-c`, `shift-tab`, `f1`) and matching them
//! against what the terminal reports.

use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One key with its modifiers, normalised so a keymap entry and a terminal event compare equal.
///
/// Characters carry their own case, so Shift is dropped for them (`Q` is Shift-q); Shift-Tab is
/// its own key code (`BackTab`) and also carries no Shift.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    code: KeyCode,
    modifiers: KeyModifiers,
}

/// Named keys other than single characters, as written in the keymap file.
const NAMED: [(&str, KeyCode); 17] = [
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("space", KeyCode::Char(' ')),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("insert", KeyCode::Insert),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("minus", KeyCode::Char('-')),
];

impl Key {
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> Self {
        let relevant =
            modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let modifiers = match code {
            KeyCode::Char(_) | KeyCode::BackTab => relevant - KeyModifiers::SHIFT,
            _ => relevant,
        };
        // Terminals report Ctrl-C as a lower-case 'c' with Control; Ctrl-Shift-c cannot be told
        // apart from it on most of them, so both match "ctrl-c".
        let code = match code {
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        Self { code, modifiers }
    }

    pub fn from_event(event: &KeyEvent) -> Self {
        Self::new(event.code, event.modifiers)
    }

    /// A short label for the help overlay: arrows as arrows, everything else by its name.
    pub fn label(&self) -> String {
        let name = self.to_string();
        match self.code {
            KeyCode::Up if self.modifiers.is_empty() => "↑".to_string(),
            KeyCode::Down if self.modifiers.is_empty() => "↓".to_string(),
            KeyCode::Left if self.modifiers.is_empty() => "←".to_string(),
            KeyCode::Right if self.modifiers.is_empty() => "→".to_string(),
            _ => name,
        }
    }
}

impl FromStr for Key {
    type Err = String;

    /// Parses `q`, `Q`, `?`, `ctrl-c`, `alt-x`, `shift-tab`, `f5`, `pagedown`, ... A `-` on its own
    /// is the minus key; with modifiers write it as `minus` (`ctrl-minus`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err("the key name is empty".to_string());
        }
        if text == "-" {
            return Ok(Key::new(KeyCode::Char('-'), KeyModifiers::NONE));
        }
        let mut parts: Vec<&str> = text.split('-').collect();
        let base = parts.pop().unwrap_or_default();
        let mut modifiers = KeyModifiers::NONE;
        for part in parts {
            let modifier = match part.to_ascii_lowercase().as_str() {
                "ctrl" | "control" => KeyModifiers::CONTROL,
                "alt" | "meta" => KeyModifiers::ALT,
                "shift" => KeyModifiers::SHIFT,
                "" => return Err("a modifier is empty (two '-' in a row?)".to_string()),
                other => {
                    return Err(format!(
                        "unknown modifier {other:?}; use ctrl-, alt- or shift-"
                    ));
                }
            };
            if modifiers.contains(modifier) {
                return Err(format!("modifier {part:?} is given twice"));
            }
            modifiers |= modifier;
        }
        let code = parse_base(base)?;
        let code = match code {
            KeyCode::Tab if modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            KeyCode::Char(c)
                if modifiers.contains(KeyModifiers::SHIFT) && c.is_ascii_lowercase() =>
            {
                KeyCode::Char(c.to_ascii_uppercase())
            }
            other => other,
        };
        Ok(Key::new(code, modifiers))
    }
}

fn parse_base(base: &str) -> Result<KeyCode, String> {
    if base.is_empty() {
        return Err("the key after the modifiers is missing".to_string());
    }
    let mut chars = base.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        if c.is_control() {
            return Err("control characters cannot be bound; write e.g. \"ctrl-c\"".to_string());
        }
        return Ok(KeyCode::Char(c));
    }
    let lower = base.to_ascii_lowercase();
    if let Some((_, code)) = NAMED.iter().find(|(name, _)| *name == lower) {
        return Ok(*code);
    }
    if let Some(number) = lower.strip_prefix('f')
        && let Ok(n) = number.parse::<u8>()
    {
        return if (1..=24).contains(&n) {
            Ok(KeyCode::F(n))
        } else {
            Err(format!(
                "function key {base:?} does not exist; use f1 to f24"
            ))
        };
    }
    let names: Vec<&str> = NAMED.iter().map(|(name, _)| *name).collect();
    Err(format!(
        "unknown key {base:?}; use a single character, f1..f24, or one of {}",
        names.join(" ")
    ))
}

impl fmt::Display for Key {
    /// The canonical name, which parses back to the same key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::F(n) => write!(f, "f{n}"),
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char('-') if !self.modifiers.is_empty() => f.write_str("minus"),
            KeyCode::Char(c) => write!(f, "{c}"),
            code => {
                let name = NAMED
                    .iter()
                    .find(|(_, c)| *c == code)
                    .map_or("?", |(name, _)| *name);
                f.write_str(name)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Key {
        text.parse().unwrap()
    }

    #[test]
    fn names_parse_and_print_back() {
        for name in [
            "q",
            "?",
            "1",
            "Q",
            "ctrl-c",
            "alt-x",
            "ctrl-alt-q",
            "shift-tab",
            "tab",
            "up",
            "down",
            "left",
            "right",
            "esc",
            "enter",
            "f1",
            "f12",
            "pageup",
            "pagedown",
            "space",
            "-",
            "ctrl-minus",
            "shift-up",
        ] {
            assert_eq!(key(name).to_string(), name, "{name}");
        }
    }

    #[test]
    fn events_match_names() {
        let cases = [
            ("q", KeyCode::Char('q'), KeyModifiers::NONE),
            ("Q", KeyCode::Char('Q'), KeyModifiers::SHIFT),
            ("shift-q", KeyCode::Char('Q'), KeyModifiers::SHIFT),
            ("?", KeyCode::Char('?'), KeyModifiers::SHIFT),
            ("ctrl-c", KeyCode::Char('c'), KeyModifiers::CONTROL),
            (
                "ctrl-c",
                KeyCode::Char('C'),
                KeyModifiers::CONTROL | KeyModifiers::SHIFT,
            ),
            ("shift-tab", KeyCode::BackTab, KeyModifiers::SHIFT),
            ("down", KeyCode::Down, KeyModifiers::NONE),
            ("f1", KeyCode::F(1), KeyModifiers::NONE),
        ];
        for (name, code, modifiers) in cases {
            let event = KeyEvent::new(code, modifiers);
            assert_eq!(Key::from_event(&event), key(name), "{name}");
        }
        let plain_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_ne!(Key::from_event(&plain_c), key("ctrl-c"));
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let cases = [
            ("", "empty"),
            ("ctrl-", "missing"),
            ("ctrl--", "empty"),
            ("hyper-x", "unknown modifier"),
            ("ctrl-ctrl-x", "twice"),
            ("f0", "f1 to f24"),
            ("f99", "f1 to f24"),
            ("escape-key", "unknown modifier"),
            ("pgdown", "unknown key \"pgdown\""),
            ("\u{7}", "control characters"),
        ];
        for (text, reason) in cases {
            let error = text.parse::<Key>().unwrap_err();
            assert!(error.contains(reason), "{text:?}: {error}");
        }
    }

    #[test]
    fn arrows_have_arrow_labels() {
        assert_eq!(key("down").label(), "↓");
        assert_eq!(key("ctrl-c").label(), "ctrl-c");
    }
}
