//! Sends updates to one view without ever waiting on it: a view that falls behind gets a fresh
//! snapshot once it has room again, instead of a backlog.

use tokio::sync::mpsc;

use crate::protocol::{Snapshot, Update};

#[derive(Debug)]
pub struct Publisher {
    tx: Option<mpsc::Sender<Update>>,
    behind: bool,
    /// Updates dropped because the view was behind (replaced by a snapshot).
    pub dropped: u64,
}

impl Publisher {
    pub fn new(tx: mpsc::Sender<Update>) -> Self {
        Self {
            tx: Some(tx),
            behind: false,
            dropped: 0,
        }
    }

    /// A publisher with no view (headless runs).
    pub fn none() -> Self {
        Self {
            tx: None,
            behind: false,
            dropped: 0,
        }
    }

    /// Sends `update`; `state` is the engine's state after applying it, sent whole if the view
    /// had fallen behind.
    pub fn send(&mut self, update: Update, state: &Snapshot) {
        let Some(tx) = &self.tx else { return };
        if self.behind {
            self.resync(state);
            if self.behind {
                self.dropped += 1;
            }
            return;
        }
        match tx.try_send(update) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.behind = true;
                self.dropped += 1;
            }
            Err(mpsc::error::TrySendError::Closed(_)) => self.tx = None,
        }
    }

    /// Sends the whole state.
    pub fn resync(&mut self, state: &Snapshot) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(Update::Snapshot(Box::new(state.clone()))) {
            Ok(()) => self.behind = false,
            Err(mpsc::error::TrySendError::Full(_)) => self.behind = true,
            Err(mpsc::error::TrySendError::Closed(_)) => self.tx = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{HealthReport, SourceInfo};

    fn state() -> Snapshot {
        Snapshot {
            source: SourceInfo::simulated(1, 1.0),
            intervals: vec![],
            markets: vec![],
            health: HealthReport::default(),
            recent_events: Default::default(),
            keep_candles: 10,
            started_at_ms: 0,
            signals: Vec::new(),
            models: Default::default(),
            backtests: Default::default(),
            monitor: Default::default(),
            shadow: Default::default(),
            paper: Default::default(),
        }
    }

    fn health(now_ms: i64) -> Update {
        Update::Health(HealthReport {
            now_ms,
            ..HealthReport::default()
        })
    }

    #[test]
    fn a_view_that_falls_behind_gets_a_snapshot_not_a_backlog() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut publisher = Publisher::new(tx);
        let mut s = state();
        for t in 0..5 {
            let u = health(t);
            s.apply(&u);
            publisher.send(u, &s);
        }
        // Two fit; the rest were dropped and the publisher knows it is behind.
        assert_eq!(publisher.dropped, 3);
        assert!(matches!(rx.try_recv(), Ok(Update::Health(h)) if h.now_ms == 0));
        assert!(matches!(rx.try_recv(), Ok(Update::Health(h)) if h.now_ms == 1));
        // Room again: the next update is replaced by the whole current state.
        let u = health(5);
        s.apply(&u);
        publisher.send(u, &s);
        match rx.try_recv() {
            Ok(Update::Snapshot(snapshot)) => assert_eq!(snapshot.health.now_ms, 5),
            other => panic!("expected a snapshot, got {other:?}"),
        }
        // Then deltas flow again.
        let u = health(6);
        s.apply(&u);
        publisher.send(u, &s);
        assert!(matches!(rx.try_recv(), Ok(Update::Health(h)) if h.now_ms == 6));
    }

    #[test]
    fn a_closed_view_is_forgotten() {
        let (tx, rx) = mpsc::channel(2);
        drop(rx);
        let mut publisher = Publisher::new(tx);
        let s = state();
        publisher.send(health(1), &s);
        publisher.resync(&s);
        assert!(publisher.tx.is_none());
    }
}
