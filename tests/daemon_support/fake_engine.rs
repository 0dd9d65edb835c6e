//! A daemon server in process, fed by a stand-in engine the test drives: it publishes the
//! fixture snapshot when it starts, answers `RequestSnapshot` with it (kept up to date with what the test publishes)
//! and hands every other command to the test.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};
use trademon::daemon::hub::HubOptions;
use trademon::daemon::lock::SocketFile;
use trademon::daemon::server;
use trademon::protocol::{Command, Snapshot, Update};

pub struct FakeDaemon {
    pub socket: PathBuf,
    /// The metrics its hub keeps (attached clients, frames dropped).
    pub metrics: Arc<trademon::metrics::Metrics>,
    /// What the engine publishes (also applied to `state`).
    updates: mpsc::Sender<Update>,
    pub state: Arc<Mutex<Snapshot>>,
    /// Commands other than `RequestSnapshot`, as the engine got them.
    pub commands: mpsc::Receiver<Command>,
    shutdown: watch::Sender<bool>,
    _socket_file: SocketFile,
    pub _dir: tempfile::TempDir,
}

impl FakeDaemon {
    pub async fn start(snapshot: Snapshot) -> FakeDaemon {
        Self::start_with(snapshot, true).await
    }

    /// `publish_at_start: false`: an engine that sends its state only when asked.
    pub async fn start_with(snapshot: Snapshot, publish_at_start: bool) -> FakeDaemon {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("run").join("d.sock");
        let (listener, socket_file) = SocketFile::bind(&socket).unwrap();
        let (updates_tx, updates_rx) = mpsc::channel(4096);
        let (commands_tx, mut commands_rx) = mpsc::channel(64);
        let (seen_tx, seen_rx) = mpsc::channel(64);
        let (shutdown, shutdown_rx) = watch::channel(false);
        // Like the real engine, it publishes its whole state when it starts.
        if publish_at_start {
            updates_tx
                .send(Update::Snapshot(Box::new(snapshot.clone())))
                .await
                .unwrap();
        }
        let state = Arc::new(Mutex::new(snapshot));
        let engine_state = Arc::clone(&state);
        let engine_updates = updates_tx.clone();
        tokio::spawn(async move {
            while let Some(command) = commands_rx.recv().await {
                if command == Command::RequestSnapshot {
                    let snapshot = engine_state.lock().unwrap().clone();
                    let _ = engine_updates
                        .send(Update::Snapshot(Box::new(snapshot)))
                        .await;
                } else {
                    let _ = seen_tx.send(command).await;
                }
            }
        });
        let metrics = trademon::metrics::Metrics::new(trademon::metrics::BuildInfo::this("fake"));
        let options = HubOptions {
            socket: socket.clone(),
            db_path: dir.path().join("absent.db"),
            started_at_ms: 0,
            metrics: Some(metrics.clone()),
            metrics_url: None,
        };
        tokio::spawn(server::serve(
            listener,
            options,
            updates_rx,
            commands_tx,
            shutdown_rx,
        ));
        FakeDaemon {
            socket,
            metrics,
            updates: updates_tx,
            state,
            commands: seen_rx,
            shutdown,
            _socket_file: socket_file,
            _dir: dir,
        }
    }

    /// Publishes an update as the engine would: applied to its state, then sent.
    pub async fn publish(&self, update: Update) {
        self.state.lock().unwrap().apply(&update);
        self.updates.send(update).await.unwrap();
    }

    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
    }
}
