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
