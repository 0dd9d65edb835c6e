//! `trademon daemon`: the engine with no terminal, served on a Unix socket until SIGTERM or
//! SIGINT (SIGHUP, as when an SSH session that started it ends, is ignored).

use std::path::{Path, PathBuf};

use tokio::signal::unix::{SignalKind, signal};

use super::CliError;
use super::run::RunArgs;
use crate::config::Dirs;
use crate::daemon::{self, DaemonError, DaemonOptions};
use crate::engine::{EngineSummary, RuntimeOptions};

/// The socket: `--socket`, else the default (`$XDG_RUNTIME_DIR/trademon/trademon.sock`, else
/// the data directory).
pub fn socket_path(explicit: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let data_dir = Dirs::discover().map(|d| d.data_dir);
    daemon::lock::default_socket(data_dir.as_deref()).ok_or(CliError::NoDataDir)
}

/// Runs the daemon until a signal stops it; `ready` is told the socket once clients can connect.
pub async fn run(
    args: RunArgs,
    socket: PathBuf,
    ready: impl FnOnce(&Path),
) -> Result<EngineSummary, DaemonError> {
    let mut terminate = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(DaemonError::Signal)?;
    let stop = async move {
        loop {
            tokio::select! {
                _ = terminate.recv() => break tracing::info!("daemon: SIGTERM"),
                _ = interrupt.recv() => break tracing::info!("daemon: SIGINT"),
                _ = hangup.recv() => tracing::info!("daemon: SIGHUP ignored"),
            }
        }
    };
    let options = DaemonOptions {
        runtime: RuntimeOptions {
            config: args.config,
            db_path: args.db_path,
            source: args.source,
            with_view: true,
        },
        socket,
    };
    daemon::run(options, stop, ready).await
}
