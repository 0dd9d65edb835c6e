//! The real `trademon` binary as a daemon in a temp dir, and clients that keep a replica of its
//! state through the same link `attach` uses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use trademon::daemon::client::{Backoff, Connection, LinkStatus, run_link};
use trademon::domain::{Interval, Symbol};
use trademon::protocol::{Command as EngineCommand, Snapshot, Update};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_trademon")
}

/// A command with the test's own config, data and runtime dirs.
pub fn trademon(home: &Path) -> Command {
    let mut c = Command::new(bin());
    c.env("XDG_CONFIG_HOME", home.join("cfg"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env("HOME", home)
        .env_remove("TRADEMON_LOG");
    c
}

pub struct DaemonProcess {
    pub child: Child,
    pub socket: PathBuf,
    pub stderr: PathBuf,
}

impl DaemonProcess {
    /// Starts `trademon --db DB daemon ARGS` and waits until its socket answers.
    pub async fn start(home: &Path, db: &Path, socket: Option<&Path>, args: &[&str]) -> Self {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let stderr = home.join(format!(
            "daemon-{}.err",
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let mut command = trademon(home);
        command.arg("--db").arg(db).arg("daemon").args(args);
        if let Some(s) = socket {
            command.arg("--socket").arg(s);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let socket = socket.map_or_else(
            || home.join("run").join("trademon").join("trademon.sock"),
            Path::to_path_buf,
        );
        let mut daemon = DaemonProcess {
            child,
            socket,
            stderr,
        };
        let started = Instant::now();
        loop {
            if Connection::open(&daemon.socket).await.is_ok() {
                return daemon;
            }
            if let Ok(Some(status)) = daemon.child.try_wait() {
                panic!("daemon exited with {status}: {}", daemon.stderr_text());
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "daemon did not listen: {}",
                daemon.stderr_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one client saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub replica: Option<Snapshot>,
    pub snapshots: usize,
    /// Closed candles of the main interval: (symbol, open time) -> (close, when received).
    pub closed: BTreeMap<(Symbol, i64), (f64, Instant)>,
    pub link: Vec<LinkStatus>,
}

/// A client running the attach link, its state shared with the test.
pub struct Watcher {
    pub seen: Arc<Mutex<Seen>>,
    pub commands: mpsc::Sender<EngineCommand>,
}

impl Watcher {
    pub fn start(socket: &Path, interval: Interval) -> Watcher {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (updates_tx, mut updates_rx) = mpsc::channel(4096);
        let (commands_tx, commands_rx) = mpsc::channel(64);
        let link_seen = Arc::clone(&seen);
        let backoff = Backoff {
            min: Duration::from_millis(200),
            max: Duration::from_secs(1),
        };
        tokio::spawn(run_link(
            socket.to_path_buf(),
            None,
            updates_tx,
            commands_rx,
            backoff,
            move |s| link_seen.lock().unwrap().link.push(s),
        ));
        let apply_seen = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Some(update) = updates_rx.recv().await {
                let mut seen = apply_seen.lock().unwrap();
                match &update {
                    Update::Snapshot(s) => {
                        seen.snapshots += 1;
                        seen.replica = Some((**s).clone());
                    }
                    Update::Candle {
                        symbol,
                        interval: i,
                        candle,
                        closed: true,
                        ..
                    } if *i == interval => {
                        seen.closed.insert(
                            (*symbol, candle.open_time_ms),
                            (candle.close, Instant::now()),
                        );
                    }
                    _ => {}
                }
                if let (Some(r), false) =
                    (seen.replica.as_mut(), matches!(update, Update::Snapshot(_)))
                {
                    r.apply(&update);
                }
            }
        });
        Watcher {
            seen,
            commands: commands_tx,
        }
    }

    /// Waits until `check` holds for what this client saw.
    pub async fn wait_for(&self, what: &str, timeout: Duration, check: impl Fn(&Seen) -> bool) {
        let started = Instant::now();
        while !check(&self.seen.lock().unwrap()) {
            assert!(started.elapsed() < timeout, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The newest closed candle's open time of `symbol` in the replica.
    pub fn newest_closed(&self, symbol: Symbol) -> Option<i64> {
        let seen = self.seen.lock().unwrap();
        let market = seen.replica.as_ref()?.market(symbol)?;
        market.series.first()?.closed.back().map(|c| c.open_time_ms)
    }
}
