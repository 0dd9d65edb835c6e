//! Alerts against a real HTTP receiver on a loopback port (a hand-written HTTP/1.1 server in a
//! thread, answering with scripted statuses): the webhook's and Telegram's requests, retries,
//! the cooldown, and a receiver that never answers holding up nothing but the delivery thread.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use trademon::config::{AlertsConfig, Config};
use trademon::domain::{Interval, Signal, Symbol};
use trademon::engine::alerts::AlertsComponent;
use trademon::engine::alerts::deliver::{Delivery, DeliveryCounters, Outgoing};
use trademon::engine::{Component, Effects};
use trademon::protocol::{AlertLevel, OrderSide, PaperFill, PaperView, SignalInfo, Update};

/// Only a guard against a hung test; nothing is asserted about how long anything took.
const GUARD: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Serves each connection's one request, answering the next scripted status (200 once the
/// script is used up), and reports every request it read.
fn receiver(script: &[u16]) -> (String, Receiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let Some(request) = read_request(&stream) else {
                continue;
            };
            let status = script.lock().unwrap().pop_front().unwrap_or(200);
            if tx.send(request).is_err() {
                return;
            }
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
            );
        }
    });
    (base, rx)
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body: String::from_utf8(body).ok()?,
    })
}

/// Accepts connections and never answers; reports each accepted one and keeps it open.
fn black_hole() -> (String, Receiver<()>, Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (accepted, rx) = channel();
    let (release, released) = channel::<()>();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        listener.set_nonblocking(true).unwrap();
        while released.try_recv().is_err() {
            match listener.accept() {
                Ok((stream, _)) => {
                    held.push(stream);
                    let _ = accepted.send(());
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (base, rx, release)
}

fn alerts(toml: &str) -> AlertsConfig {
    let text = format!("[alerts]\nenabled = true\n{toml}");
    Config::from_toml("test.toml", &text).unwrap().alerts
}

/// Waits (within the guard) until the counters settle on `done` outcomes.
fn settled(counters: &DeliveryCounters, done: u64) {
    let start = std::time::Instant::now();
    while counters.sent() + counters.failed() < done {
        assert!(
            start.elapsed() < GUARD,
            "delivery did not finish: {counters:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn outgoing(text: &str) -> Outgoing {
    Outgoing {
        event: "stop".into(),
        title: "BTCUSDT: sold 0.5 at \"43,000\"".into(),
        text: text.into(),
        time_ms: 1_700_000_000_123,
        symbol: Some("BTCUSDT".into()),
    }
}

#[test]
fn webhook_posts_the_filled_template_as_json() {
    let (base, requests) = receiver(&[]);
    let config = alerts(&format!(
        "[alerts.webhook]\nurl = \"{base}/hook?k=1\"\n\
         template = '{{\"kind\":\"{{event}}\",\"msg\":\"{{title}}: {{text}}\",\"at\":{{time_ms}},\"sym\":\"{{symbol}}\"}}'\n"
    ));
    let delivery = Delivery::start(config.webhook, None, 8);
    assert!(delivery.send(outgoing("stop-loss fill\nof order 42")));
    let request = requests.recv_timeout(GUARD).unwrap();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/hook?k=1")
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    let json = request.json();
    assert_eq!(json["kind"], "stop");
    assert_eq!(
        json["msg"],
        "BTCUSDT: sold 0.5 at \"43,000\": stop-loss fill\nof order 42"
    );
    assert_eq!(json["at"], 1_700_000_000_123_i64);
    assert_eq!(json["sym"], "BTCUSDT");
    settled(&delivery.counters(), 1);
    assert_eq!(
        (delivery.counters().sent(), delivery.counters().failed()),
        (1, 0)
    );
}

#[test]
fn telegram_posts_send_message_to_its_bot_path() {
    let (base, requests) = receiver(&[]);
    let config = alerts(&format!(
        "[alerts.telegram]\ntoken = \"123456:ABC-def\"\nchat_id = -1001234\nbase_url = \"{base}/\"\n"
    ));
    let delivery = Delivery::start(None, config.telegram, 8);
    delivery.send(outgoing("take-profit fill"));
    let request = requests.recv_timeout(GUARD).unwrap();
    assert_eq!(request.path, "/bot123456:ABC-def/sendMessage");
    assert_eq!(request.header("content-type"), Some("application/json"));
    let json = request.json();
    assert_eq!(json["chat_id"], "-1001234");
    assert_eq!(
        json["text"],
        "BTCUSDT: sold 0.5 at \"43,000\"\ntake-profit fill"
    );
    settled(&delivery.counters(), 1);
    assert_eq!(delivery.counters().sent(), 1);
}

#[test]
fn server_errors_are_retried_client_errors_are_not() {
    let (base, requests) = receiver(&[500, 500]);
    let hook = |retries: u32| {
        alerts(&format!(
            "[alerts.webhook]\nurl = \"{base}/h\"\nretries = {retries}\n"
        ))
        .webhook
    };
    let delivery = Delivery::start(hook(3), None, 8);
    delivery.send(outgoing("a"));
    settled(&delivery.counters(), 1);
    let c = delivery.counters();
    assert_eq!((c.sent(), c.failed(), c.attempts()), (1, 0, 3));
    assert_eq!(requests.try_iter().count(), 3, "500, 500, then 200");

    let (base, requests) = receiver(&[503, 429, 503]);
    let delivery = Delivery::start(
        alerts(&format!(
            "[alerts.webhook]\nurl = \"{base}/h\"\nretries = 1\n"
        ))
        .webhook,
        None,
        8,
    );
    delivery.send(outgoing("b"));
    settled(&delivery.counters(), 1);
    assert_eq!(
        (delivery.counters().failed(), delivery.counters().attempts()),
        (1, 2)
    );
    assert_eq!(requests.try_iter().count(), 2);

    let (base, requests) = receiver(&[400]);
    let delivery = Delivery::start(
        alerts(&format!("[alerts.webhook]\nurl = \"{base}/h\"\n")).webhook,
        None,
        8,
    );
    delivery.send(outgoing("c"));
    settled(&delivery.counters(), 1);
    assert_eq!(
        (delivery.counters().failed(), delivery.counters().attempts()),
        (1, 1)
    );
    assert_eq!(requests.try_iter().count(), 1);
}

#[test]
fn a_closed_port_is_retried_then_counted_failed() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hook = alerts(&format!(
        "[alerts.webhook]\nurl = \"http://127.0.0.1:{port}/h\"\nretries = 2\n"
    ))
    .webhook;
    let delivery = Delivery::start(hook, None, 8);
    delivery.send(outgoing("x"));
    settled(&delivery.counters(), 1);
    let c = delivery.counters();
    assert_eq!((c.sent(), c.failed(), c.attempts()), (0, 1, 3));
}

fn signal(symbol: &str, signal: Signal, confidence: f64) -> SignalInfo {
    SignalInfo {
        symbol: Symbol::new(symbol).unwrap(),
        interval: Interval::M1,
        open_time_ms: 0,
        made_ms: 0,
        model_version: "v3".into(),
        probabilities: [0.1, 0.2, 0.7],
        confidence,
        votes: [0, 0, 3],
        signal,
        drivers: Vec::new(),
        fallback: false,
    }
}

#[test]
fn a_second_event_of_a_key_within_the_cooldown_is_not_sent() {
    let (base, requests) = receiver(&[]);
    let mut component = AlertsComponent::start(&alerts(&format!(
        "cooldown = \"1h\"\n[alerts.events]\nsignal = \"on\"\n[alerts.webhook]\nurl = \"{base}/h\"\n"
    )));
    let mut out = Effects::default();
    component.on_signal(&signal("BTCUSDT", Signal::Buy, 0.7), 1_000, &mut out);
    component.on_signal(&signal("BTCUSDT", Signal::Hold, 0.5), 61_000, &mut out);
    component.on_signal(&signal("BTCUSDT", Signal::Buy, 0.8), 121_000, &mut out);
    // Another key after it: the delivery is first in, first out, so once this one has arrived
    // the second BTCUSDT Buy would have arrived before it.
    component.on_signal(&signal("ETHUSDT", Signal::Sell, 0.9), 122_000, &mut out);
    let first = requests.recv_timeout(GUARD).unwrap().json();
    let second = requests.recv_timeout(GUARD).unwrap().json();
    assert!(
        first["title"]
            .as_str()
            .unwrap()
            .starts_with("BTCUSDT 1m: BUY"),
        "{first}"
    );
    assert!(
        second["title"]
            .as_str()
            .unwrap()
            .starts_with("ETHUSDT 1m: SELL"),
        "{second}"
    );
    settled(&component.counters().unwrap(), 2);
    assert!(requests.try_recv().is_err());
    assert_eq!(component.gate_counts().cooldown, 1);
    assert_eq!(out.updates.len(), 2, "two toasts");
}

#[test]
fn a_receiver_that_never_answers_holds_up_nothing() {
    let (base, accepted, release) = black_hole();
    let mut component = AlertsComponent::start(&alerts(&format!(
        "[alerts.events]\nfill = \"on\"\n[alerts.webhook]\nurl = \"{base}/h\"\ntimeout = \"2m\"\nretries = 10\n"
    )));
    let mut toasts = 0;
    let mut fills = Vec::new();
    for i in 0..1_000 {
        fills.push(fill(i, 1_000 + i));
        if fills.len() > 50 {
            fills.remove(0);
        }
        let mut out = Effects::default();
        component.on_update(&paper(fills.clone()), 1_000 + i, &mut out);
        toasts += out.updates.len();
    }
    // All 1,000 raised and shown while the receiver still holds the first request unanswered.
    assert_eq!(toasts, 1_000);
    accepted.recv_timeout(GUARD).unwrap();
    let counters = component.counters().unwrap();
    assert_eq!(
        (counters.sent(), counters.failed()),
        (0, 0),
        "the first is still in flight"
    );
    let queue = trademon::engine::alerts::deliver::QUEUE as u64;
    // The worker holds one (or had not yet taken it when the queue filled), the queue the next.
    assert!(
        [1_000 - queue - 1, 1_000 - queue].contains(&counters.dropped()),
        "{counters:?}"
    );
    component.stop();
    assert_eq!(
        counters.dropped() + counters.sent() + counters.failed(),
        1_000
    );
    let _ = release.send(());
}

fn fill(order_id: i64, time_ms: i64) -> PaperFill {
    PaperFill {
        order_id,
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: OrderSide::Buy,
        quantity: 0.25,
        price: 43_210.5,
        fee: 1.08,
        maker: false,
        time_ms,
        reason: "signal".into(),
    }
}

fn paper(fills: Vec<PaperFill>) -> Update {
    Update::Paper(Box::new(PaperView {
        enabled: true,
        quote_asset: "USDT".into(),
        fills,
        ..PaperView::default()
    }))
}

#[test]
fn a_new_paper_fill_becomes_a_toast_and_a_webhook_post() {
    let (base, requests) = receiver(&[]);
    let mut component: Box<dyn Component> = Box::new(AlertsComponent::start(&alerts(&format!(
        "[alerts.events]\nfill = \"on\"\n[alerts.webhook]\nurl = \"{base}/h\"\n"
    ))));
    let mut out = Effects::default();
    component.on_tick(5_000, &mut out);
    // The account's history (before the component started) raises nothing.
    component.on_update(&paper(vec![fill(1, 4_000)]), 5_000, &mut out);
    assert!(out.updates.is_empty());
    component.on_update(
        &paper(vec![fill(1, 4_000), fill(2, 6_000)]),
        6_000,
        &mut out,
    );
    let toast = match out.updates.as_slice() {
        [Update::Alert(toast)] => toast,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (toast.event.as_str(), toast.level),
        ("fill", AlertLevel::On)
    );
    assert!(
        toast.title.starts_with("BTCUSDT: bought 0.25 at 43"),
        "{toast:?}"
    );
    let json = requests.recv_timeout(GUARD).unwrap().json();
    assert_eq!(json["event"], "fill");
    assert_eq!(json["time_ms"], 6_000);
    assert_eq!(json["title"], toast.title.as_str());
    assert!(json["text"].as_str().unwrap().contains("order 2"), "{json}");
    component.stop();
}
