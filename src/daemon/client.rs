//! The client side of the daemon's socket: connect and exchange hellos, ask for a status, and
//! the link `attach` runs, which feeds updates to a console and its commands back, and
//! reconnects with backoff whenever the daemon goes away.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use super::frame::{self, ClientFrame, DaemonFrame, FrameError, Hello};
use super::status::StatusReport;
use crate::protocol::{Command, Update};

/// How long the daemon gets to answer a hello or a status request.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no trademon daemon at {path}: {source} (start one with `trademon daemon`)")]
    NoDaemon {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The socket is there but this user may not connect to it (EACCES/EPERM): a daemon of
    /// another user, or modes that keep this one out. Not "no daemon": there may well be one.
    #[error(
        "permission denied: cannot connect to the trademon daemon socket {path} ({source}); it \
         is another user's (the socket is 0600 in a 0700 directory), or its modes keep this user \
         out: attach as the user who started the daemon, or start your own with another --socket"
    )]
    PermissionDenied {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the daemon at {path} refused this client: {reason}")]
    Refused { path: PathBuf, reason: String },
    #[error("the daemon at {path}: {source}")]
    Frame {
        path: PathBuf,
        #[source]
        source: FrameError,
    },
    #[error("the daemon at {path} did not answer within {ANSWER_TIMEOUT:?}")]
    Timeout { path: PathBuf },
    #[error("the daemon at {path} sent {what} where {expected} was expected")]
    Unexpected {
        path: PathBuf,
        what: &'static str,
        expected: &'static str,
    },
}

impl ClientError {
    /// What a failed `connect()` to the socket at `path` means: permission denied (EACCES,
    /// EPERM) says so, anything else (no such file, connection refused) is no daemon.
    pub fn connect_failed(path: &Path, source: std::io::Error) -> Self {
        let path = path.to_path_buf();
        if source.kind() == std::io::ErrorKind::PermissionDenied {
            ClientError::PermissionDenied { path, source }
        } else {
            ClientError::NoDaemon { path, source }
        }
    }
}

/// A connection whose hellos matched.
#[derive(Debug)]
pub struct Connection {
    path: PathBuf,
    read: OwnedReadHalf,
    write: OwnedWriteHalf,
    buffer: Vec<u8>,
    /// What the daemon said it is.
    pub daemon: Hello,
}

impl Connection {
    /// Connects to the daemon at `path` and checks that it speaks this protocol.
    pub async fn open(path: &Path) -> Result<Self, ClientError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|source| ClientError::connect_failed(path, source))?;
        let (read, write) = stream.into_split();
        let mut connection = Connection {
            path: path.to_path_buf(),
            read,
            write,
            buffer: Vec::new(),
            daemon: Hello::ours(),
        };
        let ours = Hello::ours();
        connection.send(&ours).await?;
        let theirs: Hello = tokio::time::timeout(
            ANSWER_TIMEOUT,
            frame::read(&mut connection.read, &mut connection.buffer),
        )
        .await
        .map_err(|_| ClientError::Timeout {
            path: path.to_path_buf(),
        })?
        .map_err(|source| ClientError::Frame {
            path: path.to_path_buf(),
            source,
        })?;
        ours.check(&theirs, "daemon")
            .map_err(|reason| ClientError::Refused {
                path: path.to_path_buf(),
                reason,
            })?;
        connection.daemon = theirs;
        Ok(connection)
    }

    pub async fn send<T: serde::Serialize>(&mut self, message: &T) -> Result<(), ClientError> {
        frame::write(&mut self.write, message)
            .await
            .map_err(|source| ClientError::Frame {
                path: self.path.clone(),
                source,
            })
    }

    /// The next frame from the daemon (a refusal becomes an error).
    pub async fn recv(&mut self) -> Result<DaemonFrame, ClientError> {
        let path = &self.path;
        match frame::read(&mut self.read, &mut self.buffer).await {
            Ok(DaemonFrame::Refused { reason }) => Err(ClientError::Refused {
                path: path.clone(),
                reason,
            }),
            Ok(frame) => Ok(frame),
            Err(source) => Err(ClientError::Frame {
                path: path.clone(),
                source,
            }),
        }
    }

    /// The next update (other frames are skipped).
    pub async fn recv_update(&mut self) -> Result<Update, ClientError> {
        loop {
            if let DaemonFrame::Update(update) = self.recv().await? {
                return Ok(update);
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Asks the daemon at `path` for its status.
pub async fn status(path: &Path) -> Result<StatusReport, ClientError> {
    let mut connection = Connection::open(path).await?;
    connection.send(&ClientFrame::Status).await?;
    let answer = async {
        match connection.recv().await? {
            DaemonFrame::Status(report) => Ok(*report),
            DaemonFrame::Update(_) => Err(ClientError::Unexpected {
                path: path.to_path_buf(),
                what: "an update",
                expected: "a status",
            }),
            DaemonFrame::Refused { reason } => Err(ClientError::Refused {
                path: path.to_path_buf(),
                reason,
            }),
        }
    };
    tokio::time::timeout(ANSWER_TIMEOUT, answer)
        .await
        .map_err(|_| ClientError::Timeout {
            path: path.to_path_buf(),
        })?
}

/// How the link to the daemon is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkStatus {
    Connecting,
    Connected,
    /// The daemon went away (or refused); the next attempt is in `retry_in_s` seconds.
    Waiting {
        retry_in_s: u64,
        reason: String,
    },
}

/// Reconnection delays: doubling from `min` up to `max`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            min: Duration::from_millis(500),
            max: Duration::from_secs(10),
        }
    }
}

/// Runs the link until the console is gone (`updates` or `commands` closed): updates from the
/// daemon go to `updates`, `commands` go to the daemon, and when the daemon goes away the link
/// waits and tries again, reporting each change through `on_status`. The daemon sends a whole
/// snapshot on every (re)connect, so the console needs nothing else to catch up.
pub async fn run_link(
    path: PathBuf,
    first: Option<Connection>,
    updates: mpsc::Sender<Update>,
    mut commands: mpsc::Receiver<Command>,
    backoff: Backoff,
    mut on_status: impl FnMut(LinkStatus) + Send,
) {
    let mut connection = first;
    let mut delay = backoff.min;
    loop {
        let attempt = match connection.take() {
            Some(c) => Ok(c),
            None => {
                on_status(LinkStatus::Connecting);
                Connection::open(&path).await
            }
        };
        let reason = match attempt {
            Ok(c) => {
                delay = backoff.min;
                on_status(LinkStatus::Connected);
                match pump(c, &updates, &mut commands).await {
                    Some(reason) => reason,
                    None => return,
                }
            }
            Err(e) => e.to_string(),
        };
        tracing::info!("attach: link to the daemon lost: {reason}");
        let until = tokio::time::Instant::now() + delay;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            on_status(LinkStatus::Waiting {
                retry_in_s: left.as_secs_f64().ceil() as u64,
                reason: reason.clone(),
            });
            let tick = left.min(Duration::from_secs(1) - Duration::from_millis(1));
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                command = commands.recv() => match command {
                    Some(command) => {
                        tracing::warn!(?command, "attach: command dropped, the daemon is away");
                    }
                    None => return,
                },
            }
            if updates.is_closed() {
                return;
            }
        }
        delay = (delay * 2).min(backoff.max);
    }
}

/// Moves frames both ways until the connection ends (`Some(reason)`) or the console is gone
/// (`None`).
async fn pump(
    mut connection: Connection,
    updates: &mpsc::Sender<Update>,
    commands: &mut mpsc::Receiver<Command>,
) -> Option<String> {
    if let Err(e) = connection.send(&ClientFrame::Subscribe).await {
        return Some(e.to_string());
    }
    let Connection {
        path,
        mut read,
        mut write,
        mut buffer,
        ..
    } = connection;
    // Reads run in their own task: a read cut in half by a command would lose the frame.
    let updates_tx = updates.clone();
    let mut reader = tokio::spawn(async move {
        loop {
            match frame::read::<DaemonFrame, _>(&mut read, &mut buffer).await {
                Ok(DaemonFrame::Update(update)) => {
                    if updates_tx.send(update).await.is_err() {
                        return None;
                    }
                }
                Ok(DaemonFrame::Status(_)) => {}
                Ok(DaemonFrame::Refused { reason }) => return Some(format!("refused: {reason}")),
                Err(FrameError::Closed) => return Some("the daemon closed the link".to_string()),
                Err(e) => return Some(e.to_string()),
            }
        }
    });
    let outcome = loop {
        tokio::select! {
            done = &mut reader => {
                break done.unwrap_or_else(|e| Some(format!("reader task failed: {e}")));
            }
            command = commands.recv() => match command {
                // Every (re)connection starts with a whole snapshot already: asking again
                // would only send the same megabytes twice.
                Some(Command::RequestSnapshot) => {}
                Some(command) => {
                    if let Err(e) = frame::write(&mut write, &ClientFrame::Command(command)).await {
                        break Some(format!("cannot send to {}: {e}", path.display()));
                    }
                }
                None => break None,
            },
        }
    };
    reader.abort();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connect_says_permission_denied_with_the_path_not_no_daemon() {
        let path = Path::new("/run/user/1000/trademon/trademon.sock");
        for errno in [libc::EACCES, libc::EPERM] {
            let e = ClientError::connect_failed(path, std::io::Error::from_raw_os_error(errno));
            let message = e.to_string();
            assert!(
                matches!(e, ClientError::PermissionDenied { .. }),
                "{message}"
            );
            assert!(message.starts_with("permission denied"), "{message}");
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(!message.contains("no trademon daemon"), "{message}");
        }
        for kind in [
            std::io::ErrorKind::NotFound,
            std::io::ErrorKind::ConnectionRefused,
        ] {
            let e = ClientError::connect_failed(path, kind.into());
            assert!(matches!(e, ClientError::NoDaemon { .. }), "{e}");
            assert!(e.to_string().contains("no trademon daemon at"), "{e}");
        }
    }
}
