//! `trademon attach`: the console of `trademon run`, fed over the daemon's socket instead of an
//! in-process channel. Quitting it leaves the daemon running.

use std::path::PathBuf;

use tokio::sync::{mpsc, watch};

use crate::daemon::client::{self, Backoff, ClientError, Connection, LinkStatus};
use crate::tui::{DaemonLink, Keymap, TuiError, TuiOptions};

#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Tui(#[from] TuiError),
}

/// The console's view of the link's state.
pub fn daemon_link(status: LinkStatus) -> DaemonLink {
    match status {
        LinkStatus::Connecting => DaemonLink::Connecting,
        LinkStatus::Connected => DaemonLink::Connected,
        LinkStatus::Waiting { retry_in_s, reason } => DaemonLink::Lost { retry_in_s, reason },
    }
}

/// Connects (failing with a clear error when no daemon answers), then runs the console until
/// the user quits; the link reconnects by itself while the console runs.
pub async fn attach(socket: PathBuf, keymap: Keymap, max_fps: u32) -> Result<(), AttachError> {
    let first = Connection::open(&socket).await?;
    let (updates_tx, updates_rx) = mpsc::channel(4096);
    let (commands_tx, commands_rx) = mpsc::channel(64);
    let (link_tx, link_rx) = watch::channel(DaemonLink::Connected);
    let link = tokio::spawn(client::run_link(
        socket,
        Some(first),
        updates_tx,
        commands_rx,
        Backoff::default(),
        move |status| {
            link_tx.send_replace(daemon_link(status));
        },
    ));
    let result = crate::tui::run(
        updates_rx,
        commands_tx,
        TuiOptions {
            keymap,
            max_fps,
            daemon_link: Some(link_rx),
        },
    )
    .await;
    link.abort();
    Ok(result?)
}
