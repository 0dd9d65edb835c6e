//! A daemon socket this user may not connect to (another user's, or modes that keep this one
//! out) is "permission denied" with the path for `status` and `attach`, never "no trademon
//! daemon". Run as root, where permission checks do not apply, the commands run as `nobody`
//! through `setpriv`; without a way to change user the test says it skipped (the error mapping
//! itself is unit-tested in `daemon::client`).

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::nobody::{NOBODY, as_nobody, chmod, my_uid, nobody_binary};

/// How to run trademon as a user the socket keeps out, or `None` (then the test skips).
struct Outsider {
    bin: PathBuf,
    /// `setpriv` to `nobody` when this test runs as root.
    as_nobody: bool,
    home: PathBuf,
}

impl Outsider {
    fn new(top: &Path) -> Option<Self> {
        let home = top.join("outsider");
        std::fs::create_dir(&home).unwrap();
        chmod(&home, 0o777);
        if my_uid(top) != 0 {
            return Some(Self {
                bin: PathBuf::from(env!("CARGO_BIN_EXE_trademon")),
                as_nobody: false,
                home,
            });
        }
        let bin = nobody_binary(top)?;
        Some(Self {
            bin,
            as_nobody: true,
            home,
        })
    }

    fn run(&self, args: &[&str], socket: &Path) -> Output {
        let mut command = if self.as_nobody {
            as_nobody(&self.bin)
        } else {
            Command::new(&self.bin)
        };
        command
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join("cfg"))
            .env("XDG_DATA_HOME", self.home.join("data"))
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("TRADEMON_LOG")
            .arg("--db")
            .arg(self.home.join("t.db"))
            .args(args)
            .arg("--socket")
            .arg(socket)
            .output()
            .unwrap()
    }
}

fn check_denied(outsider: &Outsider, socket: &Path) {
    let shown = socket.display().to_string();
    let out = outsider.run(&["status"], socket);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("PERMISSION DENIED"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "permission denied: cannot connect to the trademon daemon socket {shown}"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("daemon not running"), "{stdout}");

    let out = outsider.run(&["status", "--json"], socket);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "permission_denied", "{report}");
    assert_eq!(out.status.code(), Some(2));

    let out = outsider.run(&["attach"], socket);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("permission denied"), "{stderr}");
    assert!(stderr.contains(&shown), "{stderr}");
    assert!(!stderr.contains("no trademon daemon"), "{stderr}");
}

#[test]
fn a_socket_this_user_may_not_use_is_permission_denied_for_status_and_attach() {
    let top = tempfile::tempdir().unwrap();
    chmod(top.path(), 0o755);
    let Some(outsider) = Outsider::new(top.path()) else {
        eprintln!("skipped: running as root and setpriv cannot change to uid {NOBODY}");
        return;
    };
    // Another user's socket: it exists and listens, its mode lets nobody else in.
    let open_dir = top.path().join("shared");
    std::fs::create_dir(&open_dir).unwrap();
    chmod(&open_dir, 0o755);
    let socket = open_dir.join("d.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    chmod(&socket, 0o000);
    check_denied(&outsider, &socket);

    // The same through its directory (0000 so even its owner, if not root, is kept out).
    let closed_dir = top.path().join("private");
    std::fs::create_dir(&closed_dir).unwrap();
    let socket = closed_dir.join("d.sock");
    let _listener2 = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    chmod(&closed_dir, 0o000);
    check_denied(&outsider, &socket);
    chmod(&closed_dir, 0o700);

    // A socket with nothing behind it is still "no daemon".
    let gone = open_dir.join("gone.sock");
    let out = outsider.run(&["attach"], &gone);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no trademon daemon at"), "{stderr}");
}

#[test]
fn planted_symlinks_beside_the_socket_and_the_database_are_refused_not_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious\n").unwrap();
    // Another user's links where the daemon will put its socket lock and its log.
    let socket = dir.path().join("evil.sock");
    let lock = dir.path().join("evil.sock.lock");
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join("trademon.log")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_trademon"))
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("cfg"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env_remove("TRADEMON_LOG")
        .arg("--db")
        .arg(dir.path().join("d.db"))
        .args(["daemon", "--socket"])
        .arg(&socket)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot open the lock file {}", lock.display())),
        "{stderr}"
    );
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot write the log {}",
            dir.path().join("trademon.log").display()
        )),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious\n");
    assert!(!socket.exists());
}
