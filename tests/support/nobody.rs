//! Running the binary as another user from a test that runs as root (where permission checks do
//! not apply): `setpriv` to `nobody`, on a copy of the binary that user can reach (the build's
//! may sit under /root).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const NOBODY: u32 = 65534;

/// This process's effective uid: the owner of a file it just made in `dir`.
pub fn my_uid(dir: &Path) -> u32 {
    let probe = dir.join("uid-probe");
    std::fs::write(&probe, b"").unwrap();
    let uid = std::fs::metadata(&probe).unwrap().uid();
    std::fs::remove_file(probe).unwrap();
    uid
}

pub fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A copy (or hard link) of the binary in `dir`, which `nobody` may run, when `setpriv` can
/// switch to `nobody` here; `None` otherwise (the caller skips, saying so). `dir` must be one
/// `nobody` can traverse.
pub fn nobody_binary(dir: &Path) -> Option<PathBuf> {
    let switches = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !switches {
        return None;
    }
    let bin = dir.join("trademon");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_trademon"), &bin).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_trademon"), &bin).unwrap();
    }
    chmod(&bin, 0o755);
    Some(bin)
}

/// `bin` (from [`nobody_binary`]) run as `nobody`, not yet run.
pub fn as_nobody(bin: &Path) -> Command {
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={NOBODY}"))
        .arg(format!("--regid={NOBODY}"))
        .arg("--clear-groups")
        .arg(bin);
    command
}
