//! What the integration tests share: running the binary with its config and data directories in
//! a temp dir, reading its output, finding the shared candle files, and an empty engine state;
//! candle series and seeded noise (`candles`), importing candle files (`import`), running the
//! binary as another user (`nobody`), and driving the console in a real terminal (`tmux`). Each test crate includes it with `mod support;`.
#![allow(dead_code, clippy::unwrap_used)]

pub mod candles;
pub mod import;
pub mod nobody;
pub mod tmux;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use trademon::domain::Interval;
use trademon::protocol::{Snapshot, SourceInfo};

/// `trademon args` with its config, data and home directories under `dir`, not yet run.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trademon"));
    command
        .args(args)
        .env("XDG_CONFIG_HOME", dir.join("cfg"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("HOME", dir);
    command
}

/// Runs `trademon args` with its config, data and home directories under `dir`.
pub fn trademon(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().unwrap()
}

pub fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

/// Makes a FIFO (named pipe) at `path`.
pub fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

/// A file of ../shared/data. Missing, it fails the test under CI (`CI=true`) and skips it,
/// saying so, elsewhere.
pub fn shared_data(name: &str) -> Option<PathBuf> {
    shared_file("data", name)
}

/// A file of ../shared/FOLDER (`data`, `reference/lstm`, ...). Missing, it fails the test under
/// CI (`CI=true`) and skips it, saying so, elsewhere.
pub fn shared_file(folder: &str, name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(folder)
        .join(name);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing (CI needs ../shared/{folder})",
        p.display()
    );
    eprintln!("skipping: {} not found", p.display());
    None
}

/// The state of an engine on the built-in exchange that has seen nothing yet.
pub fn empty_snapshot() -> Snapshot {
    Snapshot {
        source: SourceInfo::simulated(1, 60.0),
        intervals: vec![Interval::M1],
        markets: vec![],
        health: Default::default(),
        recent_events: Default::default(),
        keep_candles: 100,
        started_at_ms: 0,
        signals: vec![],
        models: Default::default(),
        backtests: Default::default(),
        monitor: Default::default(),
        shadow: Default::default(),
        paper: Default::default(),
    }
}
