//! The terminal console: a pure view of a `protocol::Snapshot` replica, kept up to date with the
//! engine's `Update`s; keys become `Action`s through the keymap, and the few that concern the
//! engine become `Command`s. Nothing here touches the engine, the feed client or the store, so the
//! same code serves an attached console over a socket.

mod action;
mod app;
pub mod key;
pub mod keymap;
pub mod panes;
pub mod term;
pub mod theme;
pub mod ticket;
pub mod view;
pub mod widgets;

pub use app::{Console, run};
pub use key::Key;
pub use keymap::{Action, Binding, Keymap, KeymapError};
pub use view::{DaemonLink, Outcome, Pane, ViewState};

use crate::protocol::Snapshot;

/// How the console runs.
#[derive(Clone, Debug)]
pub struct TuiOptions {
    pub keymap: Keymap,
    /// Frames per second at most; 0 is taken as 1.
    pub max_fps: u32,
    /// The link to the daemon, for an attached console (shown in the status bar).
    pub daemon_link: Option<tokio::sync::watch::Receiver<DaemonLink>>,
}

impl Default for TuiOptions {
    fn default() -> Self {
        Self {
            keymap: Keymap::default_bindings(),
            max_fps: 20,
            daemon_link: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("terminal: cannot {action}: {source}")]
    Terminal {
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("reading keys from the terminal: {0}")]
    Input(#[source] std::io::Error),
    #[error("the console stopped because a panic elsewhere restored the terminal (message above)")]
    PanicElsewhere,
}

/// Draws one frame of the whole console (pure: same inputs, same cells). Used by `run`, the
/// snapshot tests and the bench.
pub fn draw(
    frame: &mut ratatui::Frame,
    snapshot: Option<&Snapshot>,
    view: &ViewState,
    keymap: &Keymap,
) {
    panes::draw(frame, snapshot, view, keymap);
}
