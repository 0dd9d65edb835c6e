//! The engine without a terminal, served over a Unix socket (`trademon daemon`), and the client
//! side that `trademon attach` and `trademon status` use. An attached console runs the same TUI
//! code as `trademon run`; only the transport of its `Update`s and `Command`s differs.

pub mod client;
pub mod frame;
pub mod hub;
pub mod lock;
pub mod server;
pub mod status;
mod status_paper;

use std::future::Future;
use std::path::PathBuf;

use tokio::sync::watch;

use crate::domain::wall_clock_ms;
use crate::engine::{EngineSummary, Runtime, RuntimeError, RuntimeOptions};
use hub::HubOptions;
use lock::{LockError, LockFile, SocketFile};

/// What a daemon runs.
#[derive(Clone, Debug)]
pub struct DaemonOptions {
    pub runtime: RuntimeOptions,
    pub socket: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("the engine started without an update channel")]
    NoUpdates,
    #[error("cannot listen for signals: {0}")]
    Signal(#[source] std::io::Error),
}

/// Runs the daemon until `stop` completes: takes the locks, binds the socket, starts the engine
/// and serves clients; then stops the engine (the writer commits what is pending and the WAL is
/// checkpointed), removes the socket and releases the locks. `ready` is called once clients can
/// connect.
pub async fn run(
    options: DaemonOptions,
    stop: impl Future<Output = ()>,
    ready: impl FnOnce(&std::path::Path),
) -> Result<EngineSummary, DaemonError> {
    let db_lock = LockFile::acquire(&options.runtime.db_path, "database")?;
    lock::prepare_dir(&options.socket)?;
    let socket_lock = LockFile::acquire(&options.socket, "socket")?;
    let mut runtime_options = options.runtime.clone();
    runtime_options.with_view = true;
    let mut runtime = Runtime::start(runtime_options).await?;
    let Some(updates) = runtime.updates.take() else {
        let _ = runtime.stop().await;
        return Err(DaemonError::NoUpdates);
    };
    let (listener, socket_file) = match SocketFile::bind(&options.socket) {
        Ok(bound) => bound,
        Err(e) => {
            let _ = runtime.stop().await;
            return Err(e.into());
        }
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let hub_options = HubOptions {
        socket: options.socket.clone(),
        db_path: options.runtime.db_path.clone(),
        started_at_ms: wall_clock_ms(),
        metrics: runtime.metrics(),
        metrics_url: runtime
            .metrics_addr()
            .map(|a| format!("http://{a}/metrics")),
    };
    let server = tokio::spawn(server::serve(
        listener,
        hub_options,
        updates,
        runtime.commands.clone(),
        shutdown_rx,
    ));
    tracing::info!(socket = %options.socket.display(), pid = std::process::id(), "daemon: serving");
    ready(socket_file.path());
    tokio::select! {
        () = stop => {}
        // The store's owner died: nothing more could be stored, so the daemon stops with it
        // (the error comes from `runtime.stop` below).
        () = runtime.engine_stopped() => tracing::error!("daemon: the engine stopped on its own"),
    }
    tracing::info!("daemon: stopping");
    let _ = shutdown_tx.send(true);
    let _ = server.await;
    // Clients cannot reach a stopping engine: the socket goes first.
    drop(socket_file);
    let summary = runtime.stop().await;
    drop(socket_lock);
    drop(db_lock);
    tracing::info!("daemon: stopped");
    Ok(summary?)
}
