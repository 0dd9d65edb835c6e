//! The real `trademon` binary in a real terminal: a tmux session of a fixed size, driven by keys
//! and read back with capture-pane, killed when dropped. Needs tmux: under CI (`CI=true`) its
//! absence is a failure, elsewhere the test skips.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs `tmux ARGS...`; returns its stdout.
pub fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether tmux is installed. Missing, it fails the test under CI, saying it is needed for
/// `needed_for`, and elsewhere says the test skips.
pub fn have_tmux(needed_for: &str) -> bool {
    let ok = Command::new("tmux").arg("-V").output().is_ok();
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "tmux is needed for {needed_for} under CI"
        );
        eprintln!("skipping: tmux is not installed");
    }
    ok
}

/// A detached tmux session; killed when dropped.
pub struct Session(pub String);

impl Session {
    /// Session `NAME-PID`, `width`×`height`, running `command`. With `keep_pane` the pane stays
    /// after its command exits (remain-on-exit), so the screen can still be read.
    pub fn start(name: &str, width: u16, height: u16, command: &str, keep_pane: bool) -> Session {
        let session = Session(format!("{name}-{}", std::process::id()));
        let (width, height) = (width.to_string(), height.to_string());
        let args = [
            "new-session",
            "-d",
            "-s",
            &session.0,
            "-x",
            &width,
            "-y",
            &height,
            command,
        ];
        // Started just after the last session was killed, it can reach the tmux server as that
        // exits ("server exited unexpectedly"): then it starts a fresh server on the next try.
        for attempt in 1.. {
            let out = Command::new("tmux").args(args).output().unwrap();
            if out.status.success() {
                break;
            }
            assert!(
                attempt < 20,
                "tmux new-session failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(50));
        }

        if keep_pane {
            tmux(&["set-option", "-t", &session.0, "remain-on-exit", "on"]);
        }
        session
    }

    /// Types `keys` (tmux key names: "j", "Escape").
    pub fn send_keys(&self, keys: &str) {
        tmux(&["send-keys", "-t", &self.0, keys]);
    }

    /// The screen as text.
    pub fn capture(&self) -> String {
        tmux(&["capture-pane", "-p", "-t", &self.0])
    }

    /// The screen with its colours and attributes as escape sequences.
    pub fn capture_with_escapes(&self) -> String {
        tmux(&["capture-pane", "-e", "-p", "-t", &self.0])
    }

    /// Waits until the screen contains every needle; returns the screen. Panics, showing the
    /// screen, after `timeout`.
    pub fn wait_for(&self, needles: &[&str], timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            let screen = self.capture();
            if needles.iter().all(|n| screen.contains(n)) {
                return screen;
            }
            assert!(
                started.elapsed() <= timeout,
                "timed out waiting for {needles:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .output();
    }
}

/// The shell command that runs `trademon ARGS` with its config and data directories under `dir`,
/// stderr to `dir/STDERR_FILE` and its exit status to `dir/STATUS_FILE` (tmux does not always
/// record a dead pane's status).
pub fn trademon_command(dir: &Path, args: &str, stderr_file: &str, status_file: &str) -> String {
    format!(
        "sh -c 'XDG_CONFIG_HOME={d}/cfg XDG_DATA_HOME={d}/data {bin} {args} 2>{d}/{stderr_file}; echo $? > {d}/{status_file}'",
        d = dir.display(),
        bin = env!("CARGO_BIN_EXE_trademon"),
    )
}

/// Waits until `path` exists (the exit status written by [`trademon_command`]); panics with
/// `message` after `timeout`.
pub fn wait_for_file(path: &Path, timeout: Duration, message: &str) {
    let started = Instant::now();
    while !path.exists() {
        assert!(started.elapsed() < timeout, "{message}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
