//! The help overlay: every key binding with its description, grouped, generated from the keymap.
//! While open it has the focus and keeps every action but quitting to itself.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Widget};

use crate::tui::keymap::{Action, Keymap};
use crate::tui::theme;
use crate::tui::view::ViewState;

use super::EventState;

/// Rows a scroll-by-page action moves the help text.
const PAGE: usize = 10;

pub fn handle(view: &mut ViewState, action: Action, keymap: &Keymap) -> EventState {
    let last = lines(keymap).len().saturating_sub(1);
    match action {
        Action::Quit => return EventState::NotConsumed,
        Action::ToggleHelp | Action::CloseHelp => view.help_open = false,
        Action::NextSymbol => view.help_scroll = (view.help_scroll + 1).min(last),
        Action::PrevSymbol => view.help_scroll = view.help_scroll.saturating_sub(1),
        Action::ScrollDown => view.help_scroll = (view.help_scroll + PAGE).min(last),
        Action::ScrollUp => view.help_scroll = view.help_scroll.saturating_sub(PAGE),
        _ => {}
    }
    EventState::Consumed
}

/// One line of help text: a group heading, or the keys of one action with their description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelpLine {
    Group(&'static str),
    Keys { keys: String, desc: String },
}

/// The help text: groups in a fixed order, each action's keys on one line (keys of one action with
/// different descriptions get a line each).
pub fn lines(keymap: &Keymap) -> Vec<HelpLine> {
    let mut out = Vec::new();
    let mut groups: Vec<&'static str> = Vec::new();
    let actions = Action::all();
    for action in &actions {
        if !groups.contains(&action.group()) {
            groups.push(action.group());
        }
    }
    for group in groups {
        let mut entries: Vec<(String, String)> = Vec::new();
        for action in actions.iter().filter(|a| a.group() == group) {
            let mut by_desc: Vec<(Vec<String>, &str)> = Vec::new();
            for binding in keymap.bindings().iter().filter(|b| b.action == *action) {
                match by_desc.iter_mut().find(|(_, d)| *d == binding.desc) {
                    Some((keys, _)) => keys.push(binding.key.label()),
                    None => by_desc.push((vec![binding.key.label()], &binding.desc)),
                }
            }
            entries.extend(
                by_desc
                    .into_iter()
                    .map(|(keys, desc)| (keys.join(" "), desc.to_string())),
            );
        }
        if entries.is_empty() {
            continue;
        }
        out.push(HelpLine::Group(group));
        out.extend(
            entries
                .into_iter()
                .map(|(keys, desc)| HelpLine::Keys { keys, desc }),
        );
    }
    out
}

/// Draws the overlay centred over `area`.
pub fn draw(buf: &mut Buffer, area: Rect, keymap: &Keymap, scroll: usize) {
    let lines = lines(keymap);
    let keys_w = lines
        .iter()
        .filter_map(|l| match l {
            HelpLine::Keys { keys, .. } => Some(keys.chars().count()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let desc_w = lines
        .iter()
        .filter_map(|l| match l {
            HelpLine::Keys { desc, .. } => Some(desc.chars().count()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let width = ((4 + keys_w + 2 + desc_w + 2) as u16)
        .clamp(30, 72)
        .min(area.width);
    let height = (lines.len() as u16 + 2).min(area.height);
    if width < 4 || height < 3 {
        return;
    }
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    let close: Vec<String> = keymap
        .bindings()
        .iter()
        .filter(|b| matches!(b.action, Action::ToggleHelp | Action::CloseHelp))
        .map(|b| b.key.label())
        .collect();
    let visible = usize::from(height - 2);
    let first = scroll.min(lines.len().saturating_sub(visible));
    let more = if first + visible < lines.len() {
        " ↓ more "
    } else {
        ""
    };
    let block = Block::bordered()
        .border_style(theme::border())
        .title(Span::styled(" Keys ", theme::heading()))
        .title_bottom(Line::from(vec![
            Span::styled(more, theme::muted()),
            Span::styled(format!(" {} closes ", close.join(" / ")), theme::muted()),
        ]));
    let inner = block.inner(popup);
    Clear.render(popup, buf);
    block.render(popup, buf);
    for (i, line) in lines.iter().skip(first).take(visible).enumerate() {
        let y = inner.y + i as u16;
        let line = match line {
            HelpLine::Group(name) => Line::from(Span::styled(format!(" {name}"), theme::heading())),
            HelpLine::Keys { keys, desc } => Line::from(vec![
                Span::styled(format!("   {keys:<keys_w$}"), theme::tab_inactive()),
                Span::raw(format!("  {desc}")),
            ]),
        };
        buf.set_line(inner.x, y, &line, inner.width);
    }
}
