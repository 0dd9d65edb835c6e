//! The fan-out between the engine and the attached clients. It keeps a replica of the engine's
//! state, encodes each update once and offers it to every client's bounded queue without ever
//! waiting: a client whose queue is full loses its backlog and gets a fresh snapshot instead.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::frame::{self, DaemonFrame, FrameError};
use super::status::{DaemonInfo, StatusReport, Verdict};
use crate::domain::wall_clock_ms;
use crate::protocol::{Command, Snapshot, Update};

/// Frames waiting for one client at most; past this it is behind.
pub const CLIENT_QUEUE: usize = 512;

/// How often clients waiting for a snapshot are offered one when no update comes.
const RETRY_SNAPSHOT_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// How long a client waits for the engine's first state before the engine is asked for it.
const ASK_FOR_STATE_AFTER: std::time::Duration = std::time::Duration::from_millis(500);

/// What a client's writer sends next.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub bytes: Arc<Vec<u8>>,
    pub kind: OutgoingKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutgoingKind {
    /// An update that follows the previous one.
    Delta,
    /// A whole snapshot: what came before it may be dropped.
    Fresh,
    /// An answer to this client (kept even when its backlog is dropped).
    Reply,
}

/// A client's queue, as the hub sees it.
#[derive(Debug)]
pub struct ClientQueue {
    pub id: u64,
    pub tx: mpsc::Sender<Outgoing>,
    /// Set by the hub when the queue overflowed: the writer drops deltas until the next
    /// fresh snapshot.
    pub drop_backlog: Arc<AtomicBool>,
}

/// Messages to the hub from the connection tasks.
#[derive(Debug)]
pub enum HubMessage {
    /// Start sending updates to this client: a snapshot first, then deltas.
    Subscribe(ClientQueue),
    /// Send this client a fresh snapshot.
    Resync(u64),
    Unsubscribe(u64),
    Status(oneshot::Sender<StatusReport>),
}

/// What the hub needs to know to describe the daemon.
#[derive(Clone, Debug)]
pub struct HubOptions {
    pub socket: PathBuf,
    pub db_path: PathBuf,
    pub started_at_ms: i64,
    /// Counts the attached views and the frames dropped for slow ones, when metrics are kept.
    pub metrics: Option<Arc<crate::engine::metrics::Metrics>>,
    /// `http://ADDR/metrics`, for `status`.
    pub metrics_url: Option<String>,
}

struct Client {
    queue: ClientQueue,
    /// Its queue overflowed or it asked: it gets a snapshot as soon as there is room.
    needs_snapshot: bool,
    dropped: u64,
}

/// Runs until the engine's updates end or every `HubMessage` sender is gone.
pub async fn run(
    options: HubOptions,
    mut updates: mpsc::Receiver<Update>,
    commands: mpsc::Sender<Command>,
    mut messages: mpsc::Receiver<HubMessage>,
) {
    // Updates before the engine's first snapshot are ignored: the snapshot holds them.
    let mut hub = Hub {
        options,
        replica: None,
        clients: Vec::new(),
        snapshot_bytes: None,
        commands,
        waiting_since: None,
        snapshot_requested: false,
    };
    // A client that fell behind gets its snapshot once its queue has room; on a quiet engine
    // no update comes to offer it, so this does.
    let mut retry = tokio::time::interval(RETRY_SNAPSHOT_EVERY);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = retry.tick() => hub.retry_snapshots(),
            update = updates.recv() => match update {
                Some(update) => hub.on_update(update),
                None => break,
            },
            message = messages.recv() => match message {
                Some(message) => hub.on_message(message),
                None => break,
            },
        }
        if let Some(m) = &hub.options.metrics {
            m.daemon.clients.set(hub.clients.len() as i64);
        }
    }
    tracing::info!("daemon: hub stopped");
}

struct Hub {
    options: HubOptions,
    replica: Option<Snapshot>,
    clients: Vec<Client>,
    /// The replica encoded as a snapshot frame, until the next update changes it.
    snapshot_bytes: Option<Arc<Vec<u8>>>,
    commands: mpsc::Sender<Command>,
    /// The engine publishes its whole state when it starts; if a client has waited for it
    /// for [`ASK_FOR_STATE_AFTER`], the engine is asked (once).
    waiting_since: Option<Instant>,
    snapshot_requested: bool,
}

impl Hub {
    fn on_update(&mut self, update: Update) {
        match (&mut self.replica, &update) {
            (slot, Update::Snapshot(snapshot)) => *slot = Some((**snapshot).clone()),
            (Some(replica), update) => replica.apply(update),
            (None, _) => return,
        }
        self.snapshot_bytes = None;
        let fresh = matches!(update, Update::Snapshot(_));
        let bytes = match frame::encode(&DaemonFrame::Update(update)) {
            Ok(bytes) => Arc::new(bytes),
            Err(e) => {
                tracing::error!("daemon: cannot encode an update: {e}");
                return;
            }
        };
        let mut gone = Vec::new();
        for i in 0..self.clients.len() {
            if self.clients[i].needs_snapshot && !fresh {
                if !self.send_snapshot(i) {
                    gone.push(self.clients[i].queue.id);
                }
                continue;
            }
            let client = &mut self.clients[i];
            let kind = if fresh {
                OutgoingKind::Fresh
            } else {
                OutgoingKind::Delta
            };
            match client.queue.tx.try_send(Outgoing {
                bytes: Arc::clone(&bytes),
                kind,
            }) {
                Ok(()) => client.needs_snapshot = false,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    client.needs_snapshot = true;
                    client.dropped += 1;
                    if let Some(m) = &self.options.metrics {
                        m.daemon.frames_dropped.inc();
                    }
                    client.queue.drop_backlog.store(true, Ordering::SeqCst);
                    tracing::debug!(client = client.queue.id, "daemon: client fell behind");
                }
                Err(mpsc::error::TrySendError::Closed(_)) => gone.push(client.queue.id),
            }
        }
        self.clients.retain(|c| !gone.contains(&c.queue.id));
    }

    fn retry_snapshots(&mut self) {
        if self.replica.is_none()
            && !self.snapshot_requested
            && self
                .waiting_since
                .is_some_and(|t| t.elapsed() >= ASK_FOR_STATE_AFTER)
        {
            self.snapshot_requested = true;
            if let Err(e) = self.commands.try_send(Command::RequestSnapshot) {
                tracing::warn!("daemon: cannot ask the engine for its state: {e}");
            }
        }
        let mut gone = Vec::new();
        for i in 0..self.clients.len() {
            if self.clients[i].needs_snapshot && !self.send_snapshot(i) {
                gone.push(self.clients[i].queue.id);
            }
        }
        self.clients.retain(|c| !gone.contains(&c.queue.id));
    }

    fn on_message(&mut self, message: HubMessage) {
        match message {
            HubMessage::Subscribe(queue) => {
                if self.replica.is_none() {
                    self.waiting_since.get_or_insert_with(Instant::now);
                }
                self.clients.retain(|c| c.queue.id != queue.id);
                self.clients.push(Client {
                    queue,
                    needs_snapshot: true,
                    dropped: 0,
                });
                let last = self.clients.len() - 1;
                if !self.send_snapshot(last) {
                    self.clients.pop();
                }
            }
            HubMessage::Resync(id) => {
                if let Some(i) = self.clients.iter().position(|c| c.queue.id == id) {
                    self.clients[i].needs_snapshot = true;
                    if !self.send_snapshot(i) {
                        self.clients.remove(i);
                    }
                }
            }
            HubMessage::Unsubscribe(id) => {
                if let Some(c) = self.clients.iter().find(|c| c.queue.id == id)
                    && c.dropped > 0
                {
                    tracing::info!(
                        client = id,
                        dropped = c.dropped,
                        "daemon: client left; updates it fell behind on were replaced by snapshots"
                    );
                }
                self.clients.retain(|c| c.queue.id != id);
            }
            HubMessage::Status(reply) => {
                let _ = reply.send(self.status());
            }
        }
    }

    /// Offers client `i` the replica as a snapshot if its queue has room (without waiting).
    /// Returns false when the client is gone.
    fn send_snapshot(&mut self, i: usize) -> bool {
        let Some(replica) = &self.replica else {
            // The engine's state has not come yet; it goes to everyone when it does.
            return true;
        };
        let client = &self.clients[i];
        if client.queue.tx.is_closed() {
            return false;
        }
        if client.queue.tx.capacity() == 0 {
            return true;
        }
        let bytes = match &self.snapshot_bytes {
            Some(bytes) => Arc::clone(bytes),
            None => match encode_snapshot(replica) {
                Ok(bytes) => {
                    let bytes = Arc::new(bytes);
                    self.snapshot_bytes = Some(Arc::clone(&bytes));
                    bytes
                }
                Err(e) => {
                    tracing::error!("daemon: cannot encode the snapshot: {e}");
                    return true;
                }
            },
        };
        let client = &mut self.clients[i];
        match client.queue.tx.try_send(Outgoing {
            bytes,
            kind: OutgoingKind::Fresh,
        }) {
            Ok(()) => {
                client.needs_snapshot = false;
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => true,
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn status(&self) -> StatusReport {
        let now_ms = wall_clock_ms();
        let daemon = DaemonInfo {
            pid: std::process::id(),
            program_version: env!("CARGO_PKG_VERSION").to_string(),
            socket: self.options.socket.display().to_string(),
            clients: self.clients.len(),
            started_at_ms: self.options.started_at_ms,
            uptime_ms: now_ms - self.options.started_at_ms,
            metrics_url: self.options.metrics_url.clone(),
        };
        match &self.replica {
            Some(replica) => {
                StatusReport::from_snapshot(replica, daemon, &self.options.db_path, now_ms)
            }
            None => {
                let mut report = StatusReport::from_database(&self.options.db_path, now_ms);
                report.verdict = Verdict::Degraded;
                report.problems = vec!["the engine has not sent its state yet".to_string()];
                report.daemon = Some(daemon);
                report
            }
        }
    }
}

/// The frame `DaemonFrame::Update(Update::Snapshot(snapshot))`, encoded from a borrowed
/// snapshot (a snapshot can be megabytes; cloning it just to encode it would double that).
pub fn encode_snapshot(snapshot: &Snapshot) -> Result<Vec<u8>, FrameError> {
    #[derive(serde::Serialize)]
    enum UpdateRef<'a> {
        Snapshot(&'a Snapshot),
    }
    #[derive(serde::Serialize)]
    enum FrameRef<'a> {
        Update(UpdateRef<'a>),
    }
    frame::encode(&FrameRef::Update(UpdateRef::Snapshot(snapshot)))
}
