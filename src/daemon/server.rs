//! The daemon's socket server: accepts clients, checks their hello, forwards their commands to
//! the engine and writes what the hub queues for them. Whatever one client sends (garbage, an
//! oversized or unexpected frame) ends that client's connection, with the reason logged, and
//! nothing else.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::UnixListener;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::frame::{self, ClientFrame, DaemonFrame, FrameError, Hello};
use super::hub::{self, CLIENT_QUEUE, ClientQueue, HubMessage, HubOptions, Outgoing, OutgoingKind};
use crate::protocol::{Command, Update};

/// A client must say hello within this long.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// A client that takes longer than this to take one frame is cut off.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `listener` until `shutdown` turns true or the engine's updates end. The engine is
/// never waited on: commands are offered with `try_send`, updates go through the hub.
pub async fn serve(
    listener: UnixListener,
    options: HubOptions,
    updates: mpsc::Receiver<Update>,
    commands: mpsc::Sender<Command>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (hub_tx, hub_rx) = mpsc::channel(256);
    let mut hub = tokio::spawn(hub::run(options, updates, commands.clone(), hub_rx));
    let mut connections = JoinSet::new();
    let next_id = AtomicU64::new(1);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let id = next_id.fetch_add(1, Ordering::Relaxed);
                    let (read, write) = stream.into_split();
                    connections.spawn(connection(id, read, write, hub_tx.clone(), commands.clone()));
                }
                Err(e) => {
                    tracing::warn!("daemon: cannot accept a client: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => break,
            _ = &mut hub => {
                tracing::info!("daemon: the engine's updates ended");
                break;
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
    drop(hub_tx);
    hub.abort();
}

/// One client, from hello to goodbye.
async fn connection(
    id: u64,
    mut read: OwnedReadHalf,
    mut write: OwnedWriteHalf,
    hub: mpsc::Sender<HubMessage>,
    commands: mpsc::Sender<Command>,
) {
    let ours = Hello::ours();
    let mut buffer = Vec::new();
    let hello = async {
        frame::write(&mut write, &ours).await?;
        frame::read::<Hello, _>(&mut read, &mut buffer).await
    };
    let theirs = match tokio::time::timeout(HELLO_TIMEOUT, hello).await {
        Ok(Ok(theirs)) => theirs,
        Ok(Err(e)) => {
            tracing::warn!(client = id, "daemon: client dropped before its hello: {e}");
            return;
        }
        Err(_) => {
            tracing::warn!(
                client = id,
                "daemon: client dropped: no hello within {HELLO_TIMEOUT:?}"
            );
            return;
        }
    };
    if let Err(reason) = ours.check(&theirs, "client") {
        tracing::warn!(client = id, "daemon: client refused: {reason}");
        let _ = frame::write(&mut write, &DaemonFrame::Refused { reason }).await;
        return;
    }
    tracing::info!(client = id, version = %theirs.program_version, "daemon: client attached");
    let (tx, rx) = mpsc::channel(CLIENT_QUEUE);
    let drop_backlog = Arc::new(AtomicBool::new(false));
    let mut writer = tokio::spawn(write_queue(id, write, rx, Arc::clone(&drop_backlog)));
    let reader = read_commands(id, read, buffer, &hub, &commands, tx, drop_backlog);
    let reason = tokio::select! {
        reason = reader => reason,
        reason = &mut writer => reason.unwrap_or_else(|e| format!("writer task failed: {e}")),
    };
    writer.abort();
    let _ = hub.send(HubMessage::Unsubscribe(id)).await;
    tracing::info!(client = id, "daemon: client detached: {reason}");
}

/// Reads the client's frames until it goes; returns why it went.
async fn read_commands(
    id: u64,
    mut read: OwnedReadHalf,
    mut buffer: Vec<u8>,
    hub: &mpsc::Sender<HubMessage>,
    commands: &mpsc::Sender<Command>,
    tx: mpsc::Sender<Outgoing>,
    drop_backlog: Arc<AtomicBool>,
) -> String {
    let mut queue = Some(ClientQueue {
        id,
        tx: tx.clone(),
        drop_backlog,
    });
    loop {
        let frame = match frame::read::<ClientFrame, _>(&mut read, &mut buffer).await {
            Ok(frame) => frame,
            Err(FrameError::Closed) => return "it closed the connection".to_string(),
            Err(e) => {
                tracing::warn!(client = id, "daemon: disconnecting a client: {e}");
                return format!("bad frame: {e}");
            }
        };
        match frame {
            ClientFrame::Subscribe | ClientFrame::Command(Command::RequestSnapshot) => {
                let message = match queue.take() {
                    Some(queue) => HubMessage::Subscribe(queue),
                    None => HubMessage::Resync(id),
                };
                if hub.send(message).await.is_err() {
                    return "the daemon is stopping".to_string();
                }
            }
            ClientFrame::Command(command) => {
                tracing::info!(client = id, ?command, "daemon: command from a client");
                if let Err(e) = commands.try_send(command) {
                    tracing::warn!(
                        client = id,
                        "daemon: command not delivered to the engine: {e}"
                    );
                }
            }
            ClientFrame::Status => {
                let (reply, answer) = oneshot::channel();
                if hub.send(HubMessage::Status(reply)).await.is_err() {
                    return "the daemon is stopping".to_string();
                }
                let Ok(report) = answer.await else {
                    return "the daemon is stopping".to_string();
                };
                let bytes = match frame::encode(&DaemonFrame::Status(Box::new(report))) {
                    Ok(bytes) => bytes,
                    Err(e) => return format!("cannot encode the status: {e}"),
                };
                let reply = Outgoing {
                    bytes: Arc::new(bytes),
                    kind: OutgoingKind::Reply,
                };
                if tx.send(reply).await.is_err() {
                    return "its writer stopped".to_string();
                }
            }
        }
    }
}

/// Writes the client's queue to its socket; drops queued deltas while `drop_backlog` is set,
/// up to the fresh snapshot that replaces them.
async fn write_queue(
    id: u64,
    mut write: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Outgoing>,
    drop_backlog: Arc<AtomicBool>,
) -> String {
    let mut dropped = 0u64;
    while let Some(out) = rx.recv().await {
        if drop_backlog.load(Ordering::SeqCst) {
            match out.kind {
                OutgoingKind::Delta => {
                    dropped += 1;
                    continue;
                }
                OutgoingKind::Fresh => {
                    drop_backlog.store(false, Ordering::SeqCst);
                    tracing::debug!(
                        client = id,
                        dropped,
                        "daemon: backlog replaced by a snapshot"
                    );
                    dropped = 0;
                }
                OutgoingKind::Reply => {}
            }
        }
        match tokio::time::timeout(WRITE_TIMEOUT, write.write_all(&out.bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return format!("cannot write to it: {e}"),
            Err(_) => {
                tracing::warn!(
                    client = id,
                    "daemon: client stalled for {WRITE_TIMEOUT:?}; cut off"
                );
                return format!("it took no data for {WRITE_TIMEOUT:?}");
            }
        }
    }
    "the daemon is stopping".to_string()
}
