use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::*;
use crate::metrics::{BuildInfo, Metrics};

fn server() -> MetricsServer {
    MetricsServer::start(
        "127.0.0.1:0",
        false,
        Metrics::new(BuildInfo::this("built-in")),
    )
    .unwrap()
}

/// Sends `request` whole and reads the answer until the server closes.
fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(request).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn routes() {
    let r = |s: &str| route(s.as_bytes()).unwrap();
    assert_eq!(
        r("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
        Some(Route::Metrics { head_only: false })
    );
    assert_eq!(
        r("GET /metrics?name[]=up HTTP/1.1\r\n\r\n"),
        Some(Route::Metrics { head_only: false })
    );
    assert_eq!(
        r("HEAD /metrics HTTP/1.0\r\n\r\n"),
        Some(Route::Metrics { head_only: true })
    );
    assert_eq!(
        r("GET / HTTP/1.1\r\n\r\n"),
        Some(Route::Index { head_only: false })
    );
    assert_eq!(r("GET /metricsx HTTP/1.1\r\n\r\n"), Some(Route::NotFound));
    assert_eq!(
        r("GET /../etc/passwd HTTP/1.1\r\n\r\n"),
        Some(Route::NotFound)
    );
    assert_eq!(
        r("POST /metrics HTTP/1.1\r\n\r\n"),
        Some(Route::MethodNotAllowed)
    );
    assert_eq!(r("DELETE /x HTTP/1.1\r\n\r\n"), Some(Route::NotFound));
    // Not finished yet.
    assert_eq!(r("GET /metrics HTTP/1.1\r\nHost: x\r\n"), None);
    assert!(route(b"\x16\x03\x01\x02\x00binary garbage\r\n\r\n").is_err());
}

#[test]
fn addresses_are_resolved_and_remote_ones_refused_unless_allowed() {
    assert!(resolve("127.0.0.1:9464", false).unwrap().ip().is_loopback());
    assert!(resolve("[::1]:9464", false).unwrap().ip().is_loopback());
    assert!(resolve("localhost:9464", false).unwrap().ip().is_loopback());
    let e = resolve("0.0.0.0:9464", false).unwrap_err().to_string();
    assert!(
        e.contains("0.0.0.0:9464 is not a loopback address") && e.contains("allow_remote = true"),
        "{e}"
    );
    assert!(matches!(
        resolve("192.168.1.10:9464", false),
        Err(ListenError::Remote { .. })
    ));
    assert_eq!(
        resolve("0.0.0.0:9464", true).unwrap(),
        "0.0.0.0:9464".parse().unwrap()
    );
    for garbage in [
        "",
        "9464",
        "127.0.0.1",
        "127.0.0.1:99999",
        "::::",
        "héllo:1",
    ] {
        let e = resolve(garbage, false).unwrap_err();
        assert!(matches!(e, ListenError::Address { .. }), "{garbage:?}: {e}");
        assert!(e.to_string().contains("expected HOST:PORT"), "{e}");
    }
}

#[test]
fn a_port_in_use_is_refused_with_the_reason() {
    let first = server();
    let addr = first.local_addr().to_string();
    let e = MetricsServer::start(&addr, false, Metrics::new(BuildInfo::this("x"))).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("metrics: cannot listen on {addr}: ")),
        "{text}"
    );
    assert!(text.to_lowercase().contains("in use"), "{text}");
}

#[test]
fn metrics_index_404_and_405_are_answered() {
    let s = server();
    let addr = s.local_addr();
    let metrics = exchange(addr, b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
    assert!(metrics.starts_with("HTTP/1.1 200 OK\r\n"), "{metrics}");
    assert!(metrics.contains(&format!("Content-Type: {CONTENT_TYPE}\r\n")));
    assert!(metrics.contains("\r\n\r\n# HELP "), "{metrics}");
    assert!(metrics.contains("trademon_build_info{version=\""));
    let body = metrics.split("\r\n\r\n").nth(1).unwrap();
    let length: usize = metrics
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(length, body.len());

    let head = exchange(addr, b"HEAD /metrics HTTP/1.1\r\n\r\n");
    assert!(
        head.starts_with("HTTP/1.1 200 OK") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
    let index = exchange(addr, b"GET / HTTP/1.1\r\n\r\n");
    assert!(
        index.starts_with("HTTP/1.1 200 OK") && index.contains("/metrics"),
        "{index}"
    );
    let missing = exchange(addr, b"GET /admin HTTP/1.1\r\n\r\n");
    assert!(missing.starts_with("HTTP/1.1 404 Not Found"), "{missing}");
    let post = exchange(
        addr,
        b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
    );
    assert!(
        post.starts_with("HTTP/1.1 405 Method Not Allowed") && post.contains("Allow: GET, HEAD"),
        "{post}"
    );
    let garbage = exchange(addr, b"\x00\x01\x02\xff\xfe garbage\r\n\r\n");
    assert!(garbage.starts_with("HTTP/1.1 400 Bad Request"), "{garbage}");
    assert_eq!(s.stats().requests.load(Ordering::Relaxed), 5);
}

#[test]
fn huge_heads_and_too_many_headers_are_refused() {
    let s = server();
    let mut big = b"GET /metrics HTTP/1.1\r\nX-Junk: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 64 * 1024));
    big.extend_from_slice(b"\r\n\r\n");
    let answer = exchange(s.local_addr(), &big);
    assert!(
        answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large"),
        "{}",
        &answer[..answer.len().min(200)]
    );
    let mut many = b"GET /metrics HTTP/1.1\r\n".to_vec();
    for k in 0..100 {
        many.extend_from_slice(format!("X-{k}: 1\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let answer = exchange(s.local_addr(), &many);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    // And the server answers the next one.
    assert!(exchange(s.local_addr(), b"GET /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200"));
}

#[test]
fn a_slowloris_is_cut_off_and_many_connections_stay_bounded() {
    let s = server();
    let addr = s.local_addr();
    // One byte at a time, never finishing: cut off after the read deadline.
    let started = Instant::now();
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut answer = String::new();
    for b in b"GET /metrics HTTP/1.1\r\nX-Slow: ".iter().cycle() {
        if slow.write_all(&[*b]).is_err() {
            break;
        }
        let mut buf = [0u8; 256];
        match slow.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(_) => {}
        }
        assert!(started.elapsed() < Duration::from_secs(15), "never cut off");
    }
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() >= READ_DEADLINE);

    // A thousand idle connections: no more than MAX_CONNECTIONS are held, the rest closed.
    let held: Vec<TcpStream> = (0..1000)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(5);
    while s.stats().refused.load(Ordering::Relaxed) + s.stats().open.load(Ordering::Relaxed)
        < held.len() as u64
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let open = s.stats().open.load(Ordering::Relaxed);
    assert!(open <= MAX_CONNECTIONS as u64, "{open} held");
    assert!(s.stats().refused.load(Ordering::Relaxed) >= 1000 - MAX_CONNECTIONS as u64);
    drop(held);
    // Once they are gone (closed by their clients, or cut off), scrapes are answered again.
    let deadline = Instant::now() + READ_DEADLINE + Duration::from_secs(5);
    loop {
        let answer = exchange(addr, b"GET /metrics HTTP/1.1\r\n\r\n");
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no answer after the flood: {answer}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
