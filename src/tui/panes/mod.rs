//! The console's screen: title/tab line, the active pane, the status bar, the help overlay, the
//! order ticket and the alert toasts, each a pure function of the snapshot replica and the view
//! state.

pub mod backtest;
pub mod drift;
pub mod health;
pub mod help;
pub mod market;
pub mod models;
mod models_shadow;
pub mod signals;
pub mod status;
pub mod trade;
mod trade_tables;
mod trade_ticket;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::protocol::Snapshot;

use super::keymap::{Action, Keymap};
use super::theme;
use super::view::{Pane, ViewState};
pub use super::widgets::centered;

/// Smaller than this, only "terminal too small" is shown.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

/// A pane as the console shows it: its tab title, how it draws from the snapshot replica and the
/// view state, and how it takes an action offered to it while it is shown.
pub struct PaneSpec {
    pub pane: Pane,
    pub title: &'static str,
    pub draw: fn(&mut Buffer, Rect, &Snapshot, &ViewState),
    pub handle: fn(&mut ViewState, Action, Option<&Snapshot>) -> EventState,
}

/// The panes in tab order (number keys 1, 2, ...): the one list a new pane (one file in this
/// folder) is added to. Its entry names it (`pane: Pane::new("drift")`), which gives it a tab,
/// the `show_drift` action and `pane = "drift"` bindings; its default keys go in
/// `config/keymap.toml`.
pub const PANES: [PaneSpec; 7] = [
    PaneSpec {
        pane: Pane::MARKET,
        title: "Market",
        draw: market::draw,
        handle: |view, action, _| market::handle(view, action),
    },
    PaneSpec {
        pane: Pane::HEALTH,
        title: "Health",
        draw: health::draw,
        handle: health::handle,
    },
    PaneSpec {
        pane: Pane::SIGNALS,
        title: "Signals",
        draw: signals::draw,
        handle: |_, _, _| EventState::NotConsumed,
    },
    PaneSpec {
        pane: Pane::MODELS,
        title: "Models",
        draw: models::draw,
        handle: models::handle,
    },
    PaneSpec {
        pane: Pane::BACKTEST,
        title: "Backtest",
        draw: backtest::draw,
        handle: backtest::handle,
    },
    PaneSpec {
        pane: Pane::new("drift"),
        title: "Drift",
        draw: drift::draw,
        handle: drift::handle,
    },
    PaneSpec {
        pane: trade::PANE,
        title: "Trade",
        draw: trade::draw,
        handle: trade::handle,
    },
];

/// Whether the part of the screen that got an action used it (gitui's `EventState`). What is
/// not consumed goes on to the global handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventState {
    Consumed,
    NotConsumed,
}

/// Up and down (the symbol keys elsewhere) move a list's selection, kept within `count` rows.
pub fn move_selection(selected: &mut usize, count: usize, action: Action) -> EventState {
    let last = count.saturating_sub(1);
    let current = (*selected).min(last);
    match action {
        Action::NextSymbol => {
            *selected = (current + 1).min(last);
            EventState::Consumed
        }
        Action::PrevSymbol => {
            *selected = current.saturating_sub(1);
            EventState::Consumed
        }
        _ => EventState::NotConsumed,
    }
}

/// Offers an action to the focused part: the help overlay when it is open, else the active pane.
pub fn handle_focused(
    view: &mut ViewState,
    action: Action,
    snapshot: Option<&Snapshot>,
    keymap: &Keymap,
) -> EventState {
    if view.help_open {
        return help::handle(view, action, keymap);
    }
    (view.pane.spec().handle)(view, action, snapshot)
}

/// Draws one whole frame.
pub fn draw(frame: &mut Frame, snapshot: Option<&Snapshot>, view: &ViewState, keymap: &Keymap) {
    let area = frame.area();
    let buf = frame.buffer_mut();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(buf, area);
        return;
    }
    let title = Rect::new(area.x, area.y, area.width, 1);
    let body = Rect::new(area.x, area.y + 1, area.width, area.height - 2);
    let status = Rect::new(area.x, area.bottom() - 1, area.width, 1);
    draw_title(buf, title, view.pane);
    match snapshot {
        None => waiting(buf, body, view.engine_stopped),
        Some(snapshot) => (view.pane.spec().draw)(buf, body, snapshot, view),
    }
    status::draw(buf, status, snapshot, view, keymap);
    if let Some(ticket) = &view.ticket {
        trade_ticket::draw(buf, body, ticket);
    }
    if view.help_open {
        help::draw(buf, body, keymap, view.help_scroll);
    }
    super::widgets::toast::draw(buf, body, &view.toasts);
}

/// The name and the tabs; on a screen too narrow for both, the tabs alone.
fn draw_title(buf: &mut Buffer, area: Rect, active: Pane) {
    let tabs: usize = Pane::ALL
        .iter()
        .map(|p| p.title().chars().count() + 5)
        .sum();
    let mut spans = if tabs + 11 <= usize::from(area.width) {
        vec![Span::styled(" trademon ", theme::heading()), Span::raw(" ")]
    } else {
        vec![Span::raw(" ")]
    };
    for (i, pane) in Pane::ALL.iter().enumerate() {
        let style = if *pane == active {
            theme::tab_active()
        } else {
            theme::tab_inactive()
        };
        spans.push(Span::styled(format!(" {} {} ", i + 1, pane.title()), style));
        spans.push(Span::raw(" "));
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

fn waiting(buf: &mut Buffer, area: Rect, engine_stopped: bool) {
    let text = if engine_stopped {
        "engine stopped before it sent any data"
    } else {
        "waiting for the engine…"
    };
    centered(buf, area, text, theme::muted());
}

fn too_small(buf: &mut Buffer, area: Rect) {
    let text = if area.width >= 18 {
        "terminal too small"
    } else {
        "too small"
    };
    centered(buf, area, text, theme::text());
    let below = area.y + area.height / 2 + 1;
    if below < area.bottom() {
        let need = format!("need {MIN_WIDTH}×{MIN_HEIGHT}");
        centered(
            buf,
            Rect::new(area.x, below, area.width, 1),
            &need,
            theme::muted(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry in [`PANES`] is all a pane needs to be reached: a tab, a `show_<id>` action, a
    /// `pane = "<id>"` binding scope, and (for the built-in panes) a number key.
    #[test]
    fn every_listed_pane_is_reachable_from_its_entry_alone() {
        let keymap = Keymap::default_bindings();
        for (i, spec) in PANES.iter().enumerate() {
            let id = spec.pane.id();
            assert_eq!(Pane::ALL[i], spec.pane);
            assert_eq!(spec.pane.spec().title, spec.title);
            assert_eq!(Pane::from_name(id), Some(spec.pane));
            let show = Action::from_name(&format!("show_{id}"));
            assert_eq!(show, Some(Action::ShowPane(spec.pane)), "{id}");
            assert!(
                keymap
                    .bindings()
                    .iter()
                    .any(|b| b.action == Action::ShowPane(spec.pane) && b.pane.is_none()),
                "no default key shows the {id} pane"
            );
            let mut view = ViewState::default();
            view.handle(Action::ShowPane(spec.pane), None, &keymap);
            assert_eq!(view.pane, spec.pane);
        }
        for (i, a) in PANES.iter().enumerate() {
            let id = a.pane.id();
            assert!(
                !id.is_empty() && id.bytes().all(|b| b.is_ascii_lowercase()),
                "{id:?}"
            );
            assert!(
                PANES[i + 1..].iter().all(|b| b.pane != a.pane),
                "{id} listed twice"
            );
        }
        assert_eq!(Action::from_name("show_nowhere"), None);
        assert_eq!(ViewState::default().pane, PANES[0].pane);
    }
}
