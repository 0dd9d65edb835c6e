//! The daemon's exclusive locks (one beside the database, one beside the socket, so a second
//! daemon on either is refused) and its socket file: made owner-only (directory 0700, socket
//! 0600) and removed when the daemon stops. Files it writes in a directory others may write to
//! (a socket in /tmp) are opened without following symbolic links: another user's
//! `x.sock.lock -> ~/.bashrc` must not make the daemon write its PID over `~/.bashrc`.

use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;

/// Why the daemon cannot take its place.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another trademon daemon{} is already running on {what} {target} (lock file {lock}); \
         stop it first, or use another --db/--socket",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Held {
        what: &'static str,
        target: PathBuf,
        lock: PathBuf,
        pid: Option<u32>,
    },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> LockError {
    let path = path.to_path_buf();
    move |source| LockError::Io {
        action,
        path,
        source,
    }
}

/// An exclusive lock on `<target>.lock`, holding this process's PID, released when dropped (and
/// by the kernel if the process dies, so a killed daemon never leaves a stale lock).
#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
    _file: File,
}

impl LockFile {
    /// Takes the lock for `target` (`what` names it in the error: "database", "socket").
    pub fn acquire(target: &Path, what: &'static str) -> Result<Self, LockError> {
        let path = PathBuf::from(format!("{}.lock", target.display()));
        if let Some(dir) = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.exists())
        {
            std::fs::create_dir_all(dir).map_err(io_error("cannot create the directory", dir))?;
        }
        let mut file = open_own_file(&path, OpenOptions::new().read(true).write(true))
            .map_err(io_error("cannot open the lock file", &path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held {
                    what,
                    target: target.to_path_buf(),
                    lock: path,
                    pid: text.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(e)) => {
                return Err(io_error("cannot lock", &path)(e));
            }
        }
        let write_pid = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            writeln!(file, "{}", std::process::id())?;
            file.flush()
        };
        write_pid(&mut file).map_err(io_error("cannot write the PID into", &path))?;
        Ok(Self { path, _file: file })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Opens (creating it if missing, mode 0600) the regular file at `path` for the daemon's own
/// writing, refusing a symbolic link (`O_NOFOLLOW`: nothing is opened through it), anything that
/// is not a regular file, and a file with other hard links (another name for someone else's file).
/// `options` says how (read, write, append); creating and not truncating are added here.
pub fn open_own_file(path: &Path, options: &mut OpenOptions) -> std::io::Result<File> {
    let refused = |what: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{what}; refusing to write through it (remove it if it is not yours)"),
        )
    };
    let file = options
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(path)
                    .map(|t| format!(" (to {})", t.display()))
                    .unwrap_or_default();
                refused(&format!("it is a symbolic link{target}"))
            }
            _ => e,
        })?;
    // Checked on what was opened, not on the name, so nothing can be swapped in between.
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(refused("it is not a regular file"));
    }
    if meta.nlink() > 1 {
        return Err(refused(&format!(
            "it has {} hard links (another name for another file)",
            meta.nlink()
        )));
    }
    Ok(file)
}

/// The listening socket's file: removed on drop if it is still the one this daemon made.
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    inode: (u64, u64),
}

impl SocketFile {
    /// Binds a listener at `path`, readable and writable by the owner only. The caller holds the
    /// socket's lock, so a file already there is a dead daemon's and is replaced. The socket is
    /// made in a private directory, set to 0600, then moved into place: it is never reachable
    /// with wider permissions, even in a shared directory.
    pub fn bind(path: &Path) -> Result<(UnixListener, Self), LockError> {
        let dir = prepare_dir(path)?;
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_dir() => {
                return Err(LockError::Io {
                    action: "cannot make the socket",
                    path: path.to_path_buf(),
                    source: std::io::Error::other("a directory is in the way"),
                });
            }
            Ok(_) => {
                // Our lock says no trademon daemon serves it; something that still answers is
                // another program's, and is left alone.
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(LockError::Io {
                        action: "cannot make the socket",
                        path: path.to_path_buf(),
                        source: std::io::Error::other(
                            "another program is listening there; pick another --socket",
                        ),
                    });
                }
                std::fs::remove_file(path)
                    .map_err(io_error("cannot remove the stale socket", path))?;
            }
            Err(_) => {}
        }
        let private = dir.join(format!(".trademon-bind-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&private);
        DirBuilder::new()
            .mode(0o700)
            .create(&private)
            .map_err(io_error("cannot create a private directory", &private))?;
        let staged = private.join("s");
        let bound = (|| {
            let listener = UnixListener::bind(&staged)
                .map_err(io_error("cannot listen on the socket", &staged))?;
            std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))
                .map_err(io_error("cannot set the permissions of", &staged))?;
            std::fs::rename(&staged, path).map_err(io_error("cannot move the socket to", path))?;
            Ok(listener)
        })();
        let _ = std::fs::remove_dir_all(&private);
        let listener = bound?;
        let meta =
            std::fs::metadata(path).map_err(io_error("cannot read the socket's metadata", path))?;
        Ok((
            listener,
            Self {
                path: path.to_path_buf(),
                inode: (meta.dev(), meta.ino()),
            },
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours =
            std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.inode);
        if ours && let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), "cannot remove the socket: {e}");
        }
    }
}

/// Creates the socket's directory, owner-only (0700), if it is missing; returns it. An existing
/// directory is left as it is (it may be shared, like /tmp).
pub fn prepare_dir(socket: &Path) -> Result<&Path, LockError> {
    let dir = socket
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error("cannot create the socket directory", dir))?;
    }
    Ok(dir)
}

/// The default socket: `$XDG_RUNTIME_DIR/trademon/trademon.sock`, else `trademon.sock` in the
/// data directory.
pub fn default_socket(data_dir: Option<&Path>) -> Option<PathBuf> {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir).join("trademon").join("trademon.sock")),
        None => data_dir.map(|d| d.join("trademon.sock")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_pid_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let first = LockFile::acquire(&db, "database").unwrap();
        let text = std::fs::read_to_string(first.path()).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        let e = LockFile::acquire(&db, "database").unwrap_err();
        let message = e.to_string();
        assert!(
            message.contains(&format!("(pid {})", std::process::id())),
            "{message}"
        );
        assert!(message.contains("t.db.lock"), "{message}");
        drop(first);
        LockFile::acquire(&db, "database").unwrap();
    }

    #[test]
    fn a_planted_symlink_or_hard_link_lock_is_refused_and_its_target_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious\n").unwrap();
        let socket = dir.path().join("evil.sock");
        let lock = dir.path().join("evil.sock.lock");
        std::os::unix::fs::symlink(&victim, &lock).unwrap();
        let e = LockFile::acquire(&socket, "socket").unwrap_err();
        let message = e.to_string();
        assert!(message.contains(&lock.display().to_string()), "{message}");
        assert!(message.contains("symbolic link"), "{message}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious\n");
        // A dangling one is not followed to create its target either.
        let missing = dir.path().join("created-through-the-link");
        let lock2 = dir.path().join("b.sock.lock");
        std::os::unix::fs::symlink(&missing, &lock2).unwrap();
        let e = LockFile::acquire(&dir.path().join("b.sock"), "socket").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(!missing.exists());
        // Another name for the victim (a hard link) is refused too.
        let lock3 = dir.path().join("c.sock.lock");
        std::fs::hard_link(&victim, &lock3).unwrap();
        let e = LockFile::acquire(&dir.path().join("c.sock"), "socket").unwrap_err();
        assert!(e.to_string().contains("hard links"), "{e}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious\n");
        // Neither a directory nor a FIFO (opening one must not hang).
        let lock4 = dir.path().join("d.sock.lock");
        std::fs::create_dir(&lock4).unwrap();
        assert!(LockFile::acquire(&dir.path().join("d.sock"), "socket").is_err());
        let fifo = dir.path().join("e.sock.lock");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let e = LockFile::acquire(&dir.path().join("e.sock"), "socket").unwrap_err();
            assert!(e.to_string().contains("not a regular file"), "{e}");
        }
        // A fresh lock file is the owner's alone.
        let fresh = LockFile::acquire(&dir.path().join("f.sock"), "socket").unwrap();
        let mode = std::fs::metadata(fresh.path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[tokio::test]
    async fn the_socket_is_owner_only_replaces_a_stale_file_and_is_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let sockets = dir.path().join("run").join("trademon");
        let path = sockets.join("d.sock");
        let (listener, file) = SocketFile::bind(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&sockets), 0o700);
        drop(listener);
        drop(file);
        assert!(!path.exists());
        // A stale file (a killed daemon's) is replaced.
        std::fs::write(&path, b"stale").unwrap();
        let (_listener, _file) = SocketFile::bind(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        // A socket something else still listens on is left alone.
        let other = dir.path().join("other.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&other).unwrap();
        let e = SocketFile::bind(&other).unwrap_err();
        assert!(
            e.to_string().contains("another program is listening"),
            "{e}"
        );
        assert!(other.exists());
        // A directory in the way is a clear error.
        let blocked = dir.path().join("blocked.sock");
        std::fs::create_dir(&blocked).unwrap();
        let e = SocketFile::bind(&blocked).unwrap_err();
        assert!(e.to_string().contains("a directory is in the way"), "{e}");
    }
}
