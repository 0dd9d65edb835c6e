//! The daemon's figures, measured (not asserted):
//! - update latency from the engine to three attached clients over the Unix socket, with 10
//!   symbols streaming from the simulated exchange (target p99 <= 20 ms);
//! - the daemon process's resident memory with 10 symbols and three clients (target <= 60 MB).
//!
//! `cargo bench --bench daemon -- [--secs 30] [--warmup 5] [--speed 1]`
//!
//! Latency: the engine's updates pass a tap that notes when each left the engine, then the
//! daemon's hub and socket; each client notes when it has decoded the update. Both clocks are
//! this process's monotonic clock, so the difference is the daemon -> client latency (hub,
//! encoding, socket, decoding).

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use trademon::config::Config;
use trademon::daemon::client::Connection;
use trademon::daemon::frame::ClientFrame;
use trademon::daemon::hub::HubOptions;
use trademon::daemon::lock::SocketFile;
use trademon::daemon::server;
use trademon::domain::Symbol;
use trademon::engine::{Runtime, RuntimeOptions, Source};
use trademon::protocol::Update;

const SYMBOLS: [&str; 10] = [
    "BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "AVAXUSDT",
    "LINKUSDT", "DOTUSDT",
];
const CLIENTS: usize = 3;

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

type Stamps = Arc<Mutex<HashMap<String, Instant>>>;

async fn latency(secs: f64, warmup: f64, speed: f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.feed.symbols = SYMBOLS
        .iter()
        .map(|s| Symbol::new(s).expect("symbol"))
        .collect();
    config.feed.sim.speed = speed;
    let mut runtime = Runtime::start(RuntimeOptions {
        config,
        db_path: dir.path().join("bench.db"),
        source: Source::Sim,
        with_view: true,
    })
    .await
    .expect("runtime starts");
    let mut engine_updates = runtime.updates.take().expect("update channel");
    let stamps: Stamps = Arc::new(Mutex::new(HashMap::new()));
    let (tap_tx, tap_rx) = mpsc::channel(4096);
    let tap_stamps = Arc::clone(&stamps);
    tokio::spawn(async move {
        while let Some(update) = engine_updates.recv().await {
            let left_at = Instant::now();
            if !matches!(update, Update::Snapshot(_)) {
                let key = serde_json::to_string(&update).expect("encodes");
                tap_stamps
                    .lock()
                    .expect("stamps")
                    .entry(key)
                    .or_insert(left_at);
            }
            if tap_tx.send(update).await.is_err() {
                break;
            }
        }
    });
    let socket = dir.path().join("bench.sock");
    let (listener, _socket_file) = SocketFile::bind(&socket).expect("socket");
    let (shutdown, shutdown_rx) = watch::channel(false);
    let options = HubOptions {
        socket: socket.clone(),
        db_path: dir.path().join("bench.db"),
        started_at_ms: 0,
        metrics: None,
        metrics_url: None,
    };
    let server = tokio::spawn(server::serve(
        listener,
        options,
        tap_rx,
        runtime.commands.clone(),
        shutdown_rx,
    ));
    // The first seconds after connecting hold the start's burst (backfill, first signals)
    // queued behind the client's decoding of the whole snapshot; counted apart.
    let steady_from = Instant::now() + Duration::from_secs_f64(warmup);
    let until = steady_from + Duration::from_secs_f64(secs);
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let mut c = Connection::open(&socket).await.expect("connects");
        c.send(&ClientFrame::Subscribe).await.expect("subscribes");
        let stamps = Arc::clone(&stamps);
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut connecting = Vec::new();
            let mut snapshots = 0;
            let mut snapshot_bytes = 0;
            while Instant::now() < until {
                let Ok(Ok(update)) =
                    tokio::time::timeout(Duration::from_secs(1), c.recv_update()).await
                else {
                    continue;
                };
                let arrived = Instant::now();
                if let Update::Snapshot(s) = &update {
                    if snapshots == 0 {
                        snapshot_bytes =
                            trademon::daemon::hub::encode_snapshot(s).map_or(0, |b| b.len());
                    }
                    snapshots += 1;
                    continue;
                }
                let key = serde_json::to_string(&update).expect("encodes");
                if let Some(left) = stamps.lock().expect("stamps").get(&key) {
                    let latency = arrived - *left;
                    if arrived < steady_from {
                        connecting.push(latency);
                    } else {
                        latencies.push(latency);
                    }
                }
            }
            (latencies, connecting, snapshots, snapshot_bytes)
        }));
    }
    let mut all = Vec::new();
    let mut connect = Vec::new();
    let mut snapshots = 0;
    let mut snapshot_bytes = 0;
    for c in clients {
        let (l, w, s, b) = c.await.expect("client task");
        snapshot_bytes = snapshot_bytes.max(b);
        all.extend(l);
        connect.extend(w);
        snapshots += s;
    }
    connect.sort();
    let _ = shutdown.send(true);
    let _ = server.await;
    let _ = runtime.stop().await;
    all.sort();
    println!(
        "daemon -> client latency, {} symbols x 4 intervals, sim speed {speed}, {CLIENTS} clients, \
         {secs:.0} s after a {warmup:.0} s warm-up: {} updates, {:.1}/s per client; p50 {:.3} ms, \
         p99 {:.3} ms, max {:.3} ms ({} snapshots of {:.1} MB, {} of them \
         on connect); during the warm-up: {} updates, p99 {:.1} ms, max {:.1} ms",
        SYMBOLS.len(),
        all.len(),
        all.len() as f64 / CLIENTS as f64 / secs,
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
        ms(all.last().copied().unwrap_or_default()),
        snapshots,
        snapshot_bytes as f64 / 1e6,
        CLIENTS,
        connect.len(),
        ms(percentile(&connect, 0.99)),
        ms(connect.last().copied().unwrap_or_default()),
    );
}

fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn memory(secs: f64, speed: f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path();
    let socket = home.join("rss.sock");
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_trademon"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("cfg"))
        .arg("--db")
        .arg(home.join("rss.db"))
        .arg("daemon")
        .arg("--socket")
        .arg(&socket)
        .args([
            "--symbols",
            &SYMBOLS.join(","),
            "--sim-speed",
            &speed.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("daemon starts");
    let pid = daemon.id();
    let started = Instant::now();
    let mut clients = Vec::new();
    while clients.len() < CLIENTS {
        match Connection::open(Path::new(&socket)).await {
            Ok(mut c) => {
                c.send(&ClientFrame::Subscribe).await.expect("subscribes");
                clients.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    while c.recv_update().await.is_ok() {
                        n += 1;
                    }
                    n
                }));
            }
            Err(_) if started.elapsed() < Duration::from_secs(60) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("daemon did not start: {e}"),
        }
    }
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let rss = status_kb(pid, "VmRSS:").unwrap_or(0);
    let peak = status_kb(pid, "VmHWM:").unwrap_or(0);
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = daemon.wait();
    let mut updates = 0;
    for c in clients {
        updates += c.await.unwrap_or(0);
    }
    println!(
        "daemon resident memory, {} symbols x 4 intervals, sim speed {speed}, {CLIENTS} clients, \
         after {secs:.0} s: {:.1} MB now, {:.1} MB peak ({} updates delivered)",
        SYMBOLS.len(),
        rss as f64 / 1024.0,
        peak as f64 / 1024.0,
        updates
    );
}

fn main() {
    let secs = arg("--secs", 30.0);
    let speed = arg("--speed", 1.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let warmup = arg("--warmup", 5.0);
    rt.block_on(latency(secs, warmup, speed));
    rt.block_on(memory(secs, speed));
}
