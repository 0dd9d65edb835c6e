//! Delivery of alerts to the outputs outside the console (a JSON webhook, Telegram's
//! `sendMessage`) on a thread of its own with its own single-threaded runtime, so the engine only
//! pays for a `try_send` on a bounded queue: a full queue drops the alert (counted), a slow or
//! dead receiver holds up nothing but this thread. A failing try is retried with backoff on a
//! connection error, a timeout, a 5xx or a 429, then logged and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::config::{TelegramConfig, TemplateValues, WebhookConfig, fill_template};

/// Alerts waiting for delivery before more are dropped: outputs that keep up never hold more
/// than a few, and alerts hours late are worth less than memory.
pub const QUEUE: usize = 256;

/// The first retry waits this long, each further one twice as long, up to [`BACKOFF_MAX`].
const BACKOFF_FIRST: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// How long `stop` waits for the thread to end (it may be inside a request) before leaving it.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// What happened to alerts, for tests and metrics. `sent` and `failed` count per output (one
/// alert to a webhook and Telegram is two), `dropped` per alert.
#[derive(Debug, Default)]
pub struct DeliveryCounters {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    /// Not delivered: the queue was full, or the worker stopped before reaching them.
    pub dropped: AtomicU64,
    /// HTTP requests made, retries included.
    pub attempts: AtomicU64,
}

impl DeliveryCounters {
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }
}

/// One alert as the outputs receive it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outgoing {
    /// The event kind (`fill`, `stop`, ...).
    pub event: String,
    pub title: String,
    pub text: String,
    pub time_ms: i64,
    pub symbol: Option<String>,
}

/// The engine's side of the delivery thread.
pub struct Delivery {
    to_worker: Option<mpsc::Sender<Outgoing>>,
    shutdown: Option<oneshot::Sender<()>>,
    done: Option<std::sync::mpsc::Receiver<()>>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<DeliveryCounters>,
}

impl Delivery {
    /// Starts the thread for these outputs, with room for `queue` alerts waiting.
    pub fn start(
        webhook: Option<WebhookConfig>,
        telegram: Option<TelegramConfig>,
        queue: usize,
    ) -> Self {
        let counters = Arc::new(DeliveryCounters::default());
        let (to_worker, from_engine) = mpsc::channel(queue.max(1));
        let (shutdown, shutdown_rx) = oneshot::channel();
        let (done_tx, done) = std::sync::mpsc::channel();
        let worker = Worker {
            webhook,
            telegram,
            counters: counters.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name("alerts-delivery".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(worker.run(from_engine, shutdown_rx)),
                    Err(e) => tracing::warn!("alerts: no runtime for delivery, none sent: {e}"),
                }
                let _ = done_tx.send(());
            });
        let thread = match spawned {
            Ok(thread) => Some(thread),
            Err(e) => {
                tracing::warn!("alerts: cannot start the delivery thread, none sent: {e}");
                None
            }
        };
        Self {
            to_worker: Some(to_worker),
            shutdown: Some(shutdown),
            done: Some(done),
            thread,
            counters,
        }
    }

    /// Hands an alert over without waiting: `false` (and counted as dropped) when the queue is
    /// full or the thread has ended.
    pub fn send(&self, alert: Outgoing) -> bool {
        let taken = self
            .to_worker
            .as_ref()
            .is_some_and(|tx| tx.try_send(alert).is_ok());
        if !taken {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
        taken
    }

    pub fn counters(&self) -> Arc<DeliveryCounters> {
        self.counters.clone()
    }

    /// Ends the thread: what is still queued is dropped (counted), a request in flight is
    /// abandoned; waits at most [`STOP_WAIT`] for it.
    pub fn stop(&mut self) {
        self.to_worker = None;
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let ended = self
            .done
            .take()
            .map(|done| done.recv_timeout(STOP_WAIT))
            .is_some_and(|r| !matches!(r, Err(std::sync::mpsc::RecvTimeoutError::Timeout)));
        if let Some(thread) = self.thread.take() {
            if ended {
                let _ = thread.join();
            } else {
                tracing::warn!("alerts: the delivery thread did not end in time; left behind");
            }
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The delivery thread's state.
struct Worker {
    webhook: Option<WebhookConfig>,
    telegram: Option<TelegramConfig>,
    counters: Arc<DeliveryCounters>,
}

impl Worker {
    async fn run(self, mut alerts: mpsc::Receiver<Outgoing>, mut shutdown: oneshot::Receiver<()>) {
        let client = match reqwest::Client::builder().build() {
            Ok(client) => Some(client),
            Err(e) => {
                tracing::warn!("alerts: no HTTP client, alerts are counted as failed: {e}");
                None
            }
        };
        loop {
            let next = tokio::select! {
                biased;
                _ = &mut shutdown => break,
                next = alerts.recv() => next,
            };
            let Some(alert) = next else { break };
            tokio::select! {
                biased;
                _ = &mut shutdown => {
                    // Abandoned in flight: neither sent nor failed.
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                _ = self.deliver(client.as_ref(), &alert) => {}
            }
        }
        alerts.close();
        while alerts.try_recv().is_ok() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// To every output at once.
    async fn deliver(&self, client: Option<&reqwest::Client>, alert: &Outgoing) {
        let webhook = async {
            if let Some(hook) = &self.webhook {
                let body = fill_template(
                    &hook.template,
                    &TemplateValues {
                        event: &alert.event,
                        title: &alert.title,
                        text: &alert.text,
                        time_ms: alert.time_ms,
                        symbol: alert.symbol.as_deref().unwrap_or(""),
                    },
                );
                let timeout = Duration::from_millis(hook.timeout.ms().unsigned_abs());
                self.post(client, "webhook", &hook.url, body, timeout, hook.retries)
                    .await;
            }
        };
        let telegram = async {
            if let Some(tg) = &self.telegram {
                let url = format!(
                    "{}/bot{}/sendMessage",
                    tg.base_url.trim_end_matches('/'),
                    tg.token
                );
                let body = serde_json::json!({
                    "chat_id": tg.chat_id,
                    "text": format!("{}\n{}", alert.title, alert.text),
                })
                .to_string();
                let timeout = Duration::from_millis(tg.timeout.ms().unsigned_abs());
                self.post(client, "telegram", &url, body, timeout, tg.retries)
                    .await;
            }
        };
        tokio::join!(webhook, telegram);
    }

    /// One POST with its retries; counts the outcome and logs a failure (never the URL: a
    /// Telegram URL holds the bot's token, a webhook's often a secret).
    async fn post(
        &self,
        client: Option<&reqwest::Client>,
        output: &'static str,
        url: &str,
        body: String,
        timeout: Duration,
        retries: u32,
    ) {
        let Some(client) = client else {
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let mut attempt = 0;
        loop {
            self.counters.attempts.fetch_add(1, Ordering::Relaxed);
            let answer = client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .timeout(timeout)
                .send()
                .await;
            let why = match answer {
                Ok(r) if r.status().is_success() => {
                    self.counters.sent.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Ok(r) if r.status().is_server_error() || r.status().as_u16() == 429 => {
                    format!("answered {}", r.status())
                }
                Ok(r) => {
                    // A 4xx other than 429 is the request's fault: trying again cannot help.
                    tracing::warn!(output, status = %r.status(), "alert refused, not retried");
                    self.counters.failed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(e) => e.without_url().to_string(),
            };
            if attempt >= retries {
                tracing::warn!(output, tries = attempt + 1, "alert not delivered: {why}");
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                return;
            }
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        }
    }
}

/// The wait before retry `attempt + 1`.
fn backoff(attempt: u32) -> Duration {
    BACKOFF_FIRST
        .saturating_mul(1u32 << attempt.min(16))
        .min(BACKOFF_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        assert_eq!(backoff(0), Duration::from_millis(200));
        assert_eq!(backoff(1), Duration::from_millis(400));
        assert_eq!(backoff(3), Duration::from_millis(1_600));
        assert_eq!(backoff(5), BACKOFF_MAX);
        assert_eq!(backoff(40), BACKOFF_MAX);
    }

    #[test]
    fn a_stopped_delivery_drops_what_it_is_handed() {
        let mut delivery = Delivery::start(None, None, 4);
        delivery.stop();
        assert!(!delivery.send(Outgoing::default()));
        assert_eq!(delivery.counters().dropped(), 1);
    }
}
