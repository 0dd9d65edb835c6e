//! `/metrics` on the real binary: a real Prometheus scrapes a real daemon on the built-in
//! exchange; `status --json` and `/metrics` agree on the counters they share; a non-loopback
//! address, a port in use and garbage addresses are refused with one `error:` line; hostile
//! clients (a thousand connections, a slowloris, huge heads) neither slow the engine nor grow
//! its memory, and scrapes are answered again once they are gone.

#![allow(clippy::unwrap_used)]

#[path = "daemon_support/process.rs"]
#[allow(dead_code)]
mod process;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use process::{DaemonProcess, trademon};

/// A port free a moment ago on loopback.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` on `addr`: (status line, body); `None` when nothing answered.
fn get(addr: &str, path: &str) -> Option<(String, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some((head.lines().next()?.to_string(), body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

/// Scrapes `/metrics`, retrying while the listener is not up yet.
fn scrape(addr: &str) -> String {
    let started = Instant::now();
    loop {
        if let Some((status, body)) = get(addr, "/metrics") {
            assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no /metrics at {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every sample of `text`: `name{labels}` → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn status_json(home: &Path, db: &Path, socket: &Path) -> serde_json::Value {
    let out = trademon(home)
        .arg("--db")
        .arg(db)
        .args(["status", "--json", "--socket"])
        .arg(socket)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `btcusdt@kline_1m` → `{symbol="BTCUSDT",stream="1m"}`, `btcusdt@trade` → `…stream="trades"`.
fn stream_series(name: &str) -> String {
    let (symbol, kind) = name.split_once('@').unwrap();
    let stream = match kind.strip_prefix("kline_") {
        Some(interval) => interval.to_string(),
        None => "trades".to_string(),
    };
    format!(
        "trademon_feed_messages_total{{symbol=\"{}\",stream=\"{stream}\"}}",
        symbol.to_uppercase()
    )
}

/// The counters `status --json` and `/metrics` both have, as `/metrics` names them.
fn shared_from_status(status: &serde_json::Value) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let counters = &status["counters"];
    for (field, metric) in [
        ("reconnects", "trademon_feed_reconnects_total"),
        ("gaps_found", "trademon_feed_gaps_found_total"),
        ("gaps_repaired", "trademon_feed_gaps_repaired_total"),
        (
            "candles_backfilled",
            "trademon_feed_candles_backfilled_total",
        ),
        ("parse_errors", "trademon_feed_parse_errors_total"),
        ("rate_limited", "trademon_feed_rate_limited_total"),
        ("rows_stored", "trademon_store_rows_written_total"),
        ("db_rows_lost", "trademon_store_rows_lost_total"),
        ("db_write_errors", "trademon_store_write_errors_total"),
    ] {
        out.insert(metric.to_string(), counters[field].as_f64().unwrap());
    }
    out.insert(
        "trademon_feed_connect_failures_total".into(),
        status["failed_connects"].as_f64().unwrap(),
    );
    for s in status["streams"].as_array().unwrap() {
        out.insert(
            stream_series(s["name"].as_str().unwrap()),
            s["messages"].as_f64().unwrap(),
        );
    }
    out
}

fn shared_from_metrics(text: &str, like: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let all = samples(text);
    like.keys()
        .map(|k| {
            (
                k.clone(),
                *all.get(k).unwrap_or_else(|| panic!("{k} not in /metrics")),
            )
        })
        .collect()
}

/// A real daemon on the built-in exchange serving `/metrics` on a free loopback port.
struct Instance {
    home: tempfile::TempDir,
    db: std::path::PathBuf,
    socket: std::path::PathBuf,
    /// Where `/metrics` is served.
    addr: String,
    daemon: DaemonProcess,
}

async fn daemon_with_metrics(symbols: &str) -> Instance {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("m.db");
    let socket = home.path().join("m.sock");
    let addr = format!("127.0.0.1:{}", free_port());
    let daemon = DaemonProcess::start(
        home.path(),
        &db,
        Some(&socket),
        &["--symbols", symbols, "--metrics", &addr],
    )
    .await;
    Instance {
        home,
        db,
        socket,
        addr,
        daemon,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_json_and_metrics_agree_on_the_counters_they_share() {
    let Instance {
        home,
        db,
        socket,
        addr,
        daemon,
    } = daemon_with_metrics("BTCUSDT,ETHUSDT").await;
    // Let the feed run and the store commit.
    let started = Instant::now();
    loop {
        let s = samples(&scrape(&addr));
        if s.get("trademon_store_rows_written_total")
            .copied()
            .unwrap_or(0.0)
            > 0.0
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "nothing stored"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Both read the engine's last health report (once a second): a status taken between two
    // scrapes that agree with each other must agree with them.
    let mut agreed = 0;
    for _ in 0..40 {
        let before = scrape(&addr);
        let status = status_json(home.path(), &db, &socket);
        let after = scrape(&addr);
        let from_status = shared_from_status(&status);
        let (m1, m2) = (
            shared_from_metrics(&before, &from_status),
            shared_from_metrics(&after, &from_status),
        );
        // Counters never go back, whatever the timing.
        for (k, v) in &from_status {
            assert!(
                m1[k] <= *v && *v <= m2[k],
                "{k}: {} ≤ {v} ≤ {} broken",
                m1[k],
                m2[k]
            );
        }
        if m1 == m2 {
            assert_eq!(m1, from_status, "status --json and /metrics disagree");
            assert!(from_status.values().any(|v| *v > 0.0));
            agreed += 1;
            if agreed == 3 {
                break;
            }
        }
    }
    assert_eq!(agreed, 3, "never a quiet moment to compare in");
    // `status` says where the metrics are.
    let status = status_json(home.path(), &db, &socket);
    assert_eq!(
        status["daemon"]["metrics_url"].as_str(),
        Some(format!("http://{addr}/metrics").as_str())
    );
    // The daemon's own figures.
    let text = scrape(&addr);
    let s = samples(&text);
    assert_eq!(s["trademon_feed_up"], 1.0);
    assert!(s["process_resident_memory_bytes"] > 1e6);
    assert!(s["process_open_fds"] >= 3.0);
    assert!(text.contains(&format!(
        "trademon_build_info{{version=\"{}\",exchange=\"built-in\"}} 1",
        env!("CARGO_PKG_VERSION")
    )));
    drop(daemon);
}

/// Prometheus's `query` API: the first result's value, if any.
/// `text` as a URL query value (everything but letters, digits and `_` escaped).
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn prometheus_query(addr: &str, query: &str) -> Option<f64> {
    let (status, body) = get(addr, &format!("/api/v1/query?query={}", url_encode(query)))?;
    if !status.contains("200") {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_a_real_daemon() {
    if !have("prometheus") {
        assert!(
            std::env::var_os("TRADEMON_REQUIRE_PROMTOOL").is_none(),
            "prometheus is required (TRADEMON_REQUIRE_PROMTOOL) but not installed"
        );
        eprintln!("skipped: prometheus not installed (Debian package prometheus)");
        return;
    }
    let Instance {
        home,
        addr: exporter,
        daemon,
        ..
    } = daemon_with_metrics("BTCUSDT").await;
    let web = format!("127.0.0.1:{}", free_port());
    let config = home.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules}\nscrape_configs:\n  - job_name: trademon\n    static_configs:\n      - targets: ['{exporter}']\n",
            rules = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("deploy/prometheus/rules/trademon.rules.yml")
                .display()
        ),
    )
    .unwrap();
    let log = home.path().join("prometheus.log");
    let mut prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            home.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address={web}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut up = None;
    let mut messages = None;
    while started.elapsed() < Duration::from_secs(60) {
        up = prometheus_query(&web, "up{job=\"trademon\"}");
        messages = prometheus_query(&web, "sum(trademon_feed_messages_total{job=\"trademon\"})");
        if up == Some(1.0) && messages.is_some_and(|m| m > 0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The shipped alert rules, evaluated on the real daemon's series: every one healthy.
    let mut rules_health = Vec::new();
    let rules_started = Instant::now();
    while rules_started.elapsed() < Duration::from_secs(20) {
        rules_health = get(&web, "/api/v1/rules")
            .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
            .map(|v| {
                v["data"]["groups"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
                    .map(|r| {
                        (
                            r["name"].as_str().unwrap_or("").to_string(),
                            r["health"].as_str().unwrap_or("").to_string(),
                            r["lastError"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        if rules_health.len() >= 8 && rules_health.iter().all(|(_, h, _)| h == "ok") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The dashboard's queries, with its variables filled as Grafana would, on the same server.
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana/dashboards/trademon.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut refused = Vec::new();
    let mut queries = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let Some(expr) = target["expr"].as_str() else {
                continue;
            };
            queries += 1;
            let expr = expr
                .replace("$__rate_interval", "1m")
                .replace("$__interval", "15s")
                .replace("$instance", ".*");
            match get(&web, &format!("/api/v1/query?query={}", url_encode(&expr))) {
                Some((status, body)) if status.contains("200") && body.contains("\"success\"") => {}
                other => refused.push(format!("{expr}: {other:?}")),
            }
        }
    }
    let _ = prometheus.kill();
    let _ = prometheus.wait();
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(up, Some(1.0), "up is not 1; prometheus said:\n{said}");
    assert!(
        messages.is_some_and(|m| m > 0.0),
        "no feed messages through Prometheus ({messages:?}):\n{said}"
    );
    assert!(
        rules_health.len() >= 8 && rules_health.iter().all(|(_, h, _)| h == "ok"),
        "rules not all healthy: {rules_health:?}"
    );
    assert!(queries >= 30, "{queries} dashboard queries");
    assert!(
        refused.is_empty(),
        "queries Prometheus refused:\n{}",
        refused.join("\n")
    );
    drop(daemon);
}

/// `trademon ARGS` expected to fail: its stderr, which must be one `error:` line.
fn one_error_line(home: &Path, args: &[&str]) -> String {
    let out = trademon(home).args(args).output().unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_string()
}

#[test]
fn remote_addresses_ports_in_use_and_garbage_are_refused_with_one_error_line() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("r.db");
    let db = db.to_str().unwrap();
    let headless = |listen: &str| {
        one_error_line(
            home.path(),
            &[
                "--db",
                db,
                "run",
                "--headless",
                "--for",
                "5s",
                "--metrics",
                listen,
            ],
        )
    };
    let e = headless("0.0.0.0:9464");
    assert!(
        e.contains("0.0.0.0:9464 is not a loopback address") && e.contains("allow_remote"),
        "{e}"
    );
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let socket = home.path().join("r.sock");
    let e = one_error_line(
        home.path(),
        &[
            "--db",
            db,
            "daemon",
            "--socket",
            socket.to_str().unwrap(),
            "--metrics",
            &addr,
        ],
    );
    assert!(
        e.contains(&format!("metrics: cannot listen on {addr}")),
        "{e}"
    );
    for garbage in ["9464", "127.0.0.1:70000", "::"] {
        let e = headless(garbage);
        assert!(e.contains("expected HOST:PORT"), "{garbage}: {e}");
    }
    // The same from the config file.
    let config = home.path().join("remote.toml");
    std::fs::write(&config, "[metrics]\nlisten = \"192.0.2.7:9464\"\n").unwrap();
    let e = one_error_line(
        home.path(),
        &[
            "--db",
            db,
            "--config",
            config.to_str().unwrap(),
            "run",
            "--headless",
            "--for",
            "5s",
        ],
    );
    assert!(
        e.contains("192.0.2.7:9464 is not a loopback address"),
        "{e}"
    );
    drop(taken);
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap()
}

/// Kline messages the daemon's engine took in over `span`, from `status --json` (which does not
/// go through the metrics listener). The built-in exchange pushes kline updates on a fixed
/// cadence, while its trades come at random, so the kline streams are the ones that measure pace.
fn messages_over(home: &Path, db: &Path, socket: &Path, span: Duration) -> f64 {
    let total = |s: &serde_json::Value| -> f64 {
        s["streams"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["name"].as_str().unwrap().contains("@kline_"))
            .map(|s| s["messages"].as_f64().unwrap())
            .sum()
    };
    let a = total(&status_json(home, db, socket));
    std::thread::sleep(span);
    total(&status_json(home, db, socket)) - a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_do_not_slow_the_engine_or_grow_its_memory() {
    let Instance {
        home,
        db,
        socket,
        addr,
        daemon,
    } = daemon_with_metrics("BTCUSDT,ETHUSDT").await;
    scrape(&addr);
    // Warm up, then the engine's pace and memory undisturbed.
    std::thread::sleep(Duration::from_secs(2));
    let calm = messages_over(home.path(), &db, &socket, Duration::from_secs(4));
    let rss_calm = rss_kib(daemon.pid());
    assert!(calm > 0.0);

    // The attack, from threads, while the pace is measured again.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attackers: Vec<_> = (0..4)
        .map(|k| {
            let addr = addr.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut held = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match k {
                        // Idle connections: 250 per thread, a thousand in all.
                        0 | 1 if held.len() < 500 => {
                            if let Ok(s) = TcpStream::connect(&addr) {
                                held.push(s);
                            }
                        }
                        // Slowloris: a head that never ends, a byte at a time.
                        2 => {
                            if let Ok(mut s) = TcpStream::connect(&addr) {
                                let _ = s.write_all(b"GET /metrics HTTP/1.1\r\n");
                                for _ in 0..20 {
                                    if s.write_all(b"X").is_err() {
                                        break;
                                    }
                                    std::thread::sleep(Duration::from_millis(50));
                                }
                                held.push(s);
                                held.truncate(200);
                            }
                        }
                        // Huge heads.
                        3 => {
                            if let Ok(mut s) = TcpStream::connect(&addr) {
                                let junk = vec![b'a'; 256 * 1024];
                                let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nX: ");
                                let _ = s.write_all(&junk);
                            }
                        }
                        _ => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let under_attack = messages_over(home.path(), &db, &socket, Duration::from_secs(4));
    let rss_attack = rss_kib(daemon.pid());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for a in attackers {
        a.join().unwrap();
    }
    eprintln!(
        "kline messages in 4 s: {calm} calm, {under_attack} under attack; RSS {rss_calm} KiB → {rss_attack} KiB"
    );
    assert!(
        under_attack >= 0.8 * calm,
        "the engine slowed: {under_attack} messages in 4 s under attack, {calm} before"
    );
    assert!(
        rss_attack < rss_calm + 64 * 1024,
        "memory grew: {rss_calm} KiB → {rss_attack} KiB"
    );
    // Scrapes are answered again once the connections are gone.
    let started = Instant::now();
    loop {
        if let Some((status, _)) = get(&addr, "/metrics")
            && status.contains("200")
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no scrape answered after the attack"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(daemon);
}
