//! What the user is looking at: selected symbol, interval and pane, scroll positions, the help
//! overlay. Changed only by actions; the frame is drawn from it and the snapshot replica.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::protocol::{Command, Snapshot};

use super::keymap::{Action, Keymap};
use super::panes::{self, EventState};
use super::ticket::{Ticket, TicketOutcome};
use super::widgets::oscillator::SubChart;
use super::widgets::overlay::Overlay;
use super::widgets::toast::Toasts;

/// Which pane is shown: the id of its entry in [`panes::PANES`], the one list of panes. What
/// each pane is (its title, tab position, drawing and keys) is that entry; the id is also its
/// name in keymap files (`pane = "models"`, `action = "show_models"`). A new pane needs no
/// constant here: its entry names it with [`Pane::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pane(&'static str);

impl Default for Pane {
    /// The first pane of the list.
    fn default() -> Self {
        panes::PANES[0].pane
    }
}

impl Pane {
    pub const MARKET: Pane = Pane::new("market");
    pub const HEALTH: Pane = Pane::new("health");
    pub const SIGNALS: Pane = Pane::new("signals");
    pub const MODELS: Pane = Pane::new("models");
    pub const BACKTEST: Pane = Pane::new("backtest");

    /// The pane with this id: lower-case ASCII, as keymap files write it.
    pub const fn new(id: &'static str) -> Pane {
        Pane(id)
    }

    /// In the order of their number keys (the order of [`panes::PANES`]).
    pub const ALL: [Pane; panes::PANES.len()] = {
        let mut all = [Pane(""); panes::PANES.len()];
        let mut i = 0;
        while i < all.len() {
            all[i] = panes::PANES[i].pane;
            i += 1;
        }
        all
    };

    /// Its id, which keymap files use.
    pub fn id(self) -> &'static str {
        self.0
    }

    /// Its entry in the list of panes.
    pub fn spec(self) -> &'static panes::PaneSpec {
        let i = self.index();
        &panes::PANES[i]
    }

    pub fn title(self) -> &'static str {
        self.spec().title
    }

    /// The pane whose id is `name` (any case), as keymap files name panes.
    pub fn from_name(name: &str) -> Option<Pane> {
        Self::ALL
            .into_iter()
            .find(|p| p.id().eq_ignore_ascii_case(name))
    }

    fn index(self) -> usize {
        panes::PANES
            .iter()
            .position(|p| p.pane == self)
            .unwrap_or(0)
    }

    fn step(self, forward: bool) -> Pane {
        let n = Self::ALL.len();
        let i = if forward {
            (self.index() + 1) % n
        } else {
            (self.index() + n - 1) % n
        };
        Self::ALL[i]
    }
}

/// How an attached console reaches its daemon (`trademon attach`); the console of `run` has no
/// link and shows none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaemonLink {
    Connecting,
    Connected,
    /// The daemon went away; the last state stays on screen and the next attempt is in
    /// `retry_in_s` seconds.
    Lost {
        retry_in_s: u64,
        reason: String,
    },
}

/// The view state. Indexes are into `Snapshot::markets` / `Snapshot::intervals` and are clamped
/// when drawn, so a snapshot with fewer symbols never makes them invalid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewState {
    pub pane: Pane,
    pub symbol_index: usize,
    pub interval_index: usize,
    pub help_open: bool,
    /// First line of the help overlay shown.
    pub help_scroll: usize,
    /// First row of the Health pane's stream table shown.
    pub stream_scroll: usize,
    /// The engine's update channel closed: the last state stays on screen.
    pub engine_stopped: bool,
    /// Lines over the Market pane's candles.
    pub overlay: Overlay,
    /// The Market pane's indicator sub-chart.
    pub sub_chart: SubChart,
    /// The Models pane's selected row (into `ModelsView::models`, clamped when drawn).
    pub model_selected: usize,
    /// The Backtest pane's selected stored run (into `BacktestsView::runs`, clamped when drawn).
    pub backtest_selected: usize,
    /// First row of the Drift pane's feature table shown (clamped when drawn).
    pub drift_scroll: usize,
    /// The link to the daemon of an attached console (`None` in process).
    pub daemon_link: Option<DaemonLink>,
    /// The Trade pane's selected open order (into `PaperView::orders`, clamped when drawn).
    pub order_selected: usize,
    /// The order ticket, while open: it reads every key but ctrl-c.
    pub ticket: Option<Ticket>,
    /// Alerts on screen (top-right, over any pane).
    pub toasts: Toasts,
}

/// What the loop should do after an action.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Continue,
    Quit,
    Send(Command),
}

impl ViewState {
    /// The selected market's index, clamped to `count` markets (0 when there are none).
    pub fn symbol(&self, count: usize) -> usize {
        self.symbol_index.min(count.saturating_sub(1))
    }

    /// The selected interval's index, clamped to `count` intervals.
    pub fn interval(&self, count: usize) -> usize {
        self.interval_index.min(count.saturating_sub(1))
    }

    pub fn next_symbol(&mut self, count: usize) {
        self.symbol_index = cycle(self.symbol(count), count, true);
    }

    pub fn prev_symbol(&mut self, count: usize) {
        self.symbol_index = cycle(self.symbol(count), count, false);
    }

    pub fn next_interval(&mut self, count: usize) {
        self.interval_index = cycle(self.interval(count), count, true);
    }

    pub fn prev_interval(&mut self, count: usize) {
        self.interval_index = cycle(self.interval(count), count, false);
    }

    /// The id of the model selected in the Models pane.
    pub fn selected_model(&self, snapshot: Option<&Snapshot>) -> Option<i64> {
        let models = &snapshot?.models.models;
        let index = self.model_selected.min(models.len().checked_sub(1)?);
        Some(models[index].id)
    }

    /// The pane whose own key bindings apply: none while the help overlay has the focus.
    pub fn focused_pane(&self) -> Option<Pane> {
        (!self.help_open).then_some(self.pane)
    }

    /// The id of the stored run selected in the Backtest pane.
    pub fn selected_backtest(&self, snapshot: Option<&Snapshot>) -> Option<i64> {
        let runs = &snapshot?.backtests.runs;
        let index = self.backtest_selected.min(runs.len().checked_sub(1)?);
        Some(runs[index].id)
    }

    /// A backtest of the current symbol: with the model the console runs, at its interval (the
    /// champion at the console's interval when no model runs), or with sma-cross:10,20 at the
    /// console's interval.
    fn backtest_command(&self, snapshot: Option<&Snapshot>, with_model: bool) -> Option<Command> {
        let snapshot = snapshot?;
        let market = snapshot.markets.get(self.symbol(snapshot.markets.len()))?;
        let interval = *snapshot
            .intervals
            .get(self.interval(snapshot.intervals.len()))?;
        let (interval, strategy) = match (with_model, &snapshot.models) {
            // The model the console runs, at its interval.
            (true, models) if models.active.is_some() && models.active_interval.is_some() => (
                models.active_interval.unwrap_or(interval),
                format!("model:{}", models.active.unwrap_or_default()),
            ),
            (true, _) => (interval, "model:champion".to_string()),
            (false, _) => (interval, "sma-cross:10,20".to_string()),
        };
        Some(Command::RunBacktest {
            symbol: market.symbol,
            interval,
            strategy,
        })
    }

    pub fn next_pane(&mut self) {
        self.pane = self.pane.step(true);
    }

    pub fn prev_pane(&mut self) {
        self.pane = self.pane.step(false);
    }

    /// Routes a key: to the order ticket while it is open (ctrl-c aside), else through the keymap
    /// as an action for the focused part.
    pub fn key(&mut self, key: KeyEvent, snapshot: Option<&Snapshot>, keymap: &Keymap) -> Outcome {
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if let Some(ticket) = self.ticket.as_mut()
            && !ctrl_c
        {
            match ticket.key(key) {
                TicketOutcome::Open => {}
                TicketOutcome::Closed => self.ticket = None,
                TicketOutcome::Submit(order) => {
                    self.ticket = None;
                    return Outcome::Send(Command::PlaceOrder(Box::new(order)));
                }
            }
            return Outcome::Continue;
        }
        match keymap.action_in(key, self.focused_pane()) {
            Some(action) => self.handle(action, snapshot, keymap),
            None => Outcome::Continue,
        }
    }

    /// Routes an action: the focused part (the help overlay when open, else the active pane) gets
    /// it first and says whether it used it; what it leaves goes to the global handler.
    pub fn handle(
        &mut self,
        action: Action,
        snapshot: Option<&Snapshot>,
        keymap: &Keymap,
    ) -> Outcome {
        if panes::handle_focused(self, action, snapshot, keymap) == EventState::Consumed {
            return Outcome::Continue;
        }
        let symbols = snapshot.map_or(0, |s| s.markets.len());
        let intervals = snapshot.map_or(0, |s| s.intervals.len());
        match action {
            Action::Quit => return Outcome::Quit,
            Action::ToggleHelp => {
                self.help_open = true;
                self.help_scroll = 0;
            }
            Action::CloseHelp | Action::ScrollDown | Action::ScrollUp => {}
            Action::NextSymbol => self.next_symbol(symbols),
            Action::PrevSymbol => self.prev_symbol(symbols),
            Action::NextInterval => self.next_interval(intervals),
            Action::PrevInterval => self.prev_interval(intervals),
            Action::NextPane => self.next_pane(),
            Action::PrevPane => self.prev_pane(),
            Action::ShowPane(pane) => self.pane = pane,
            Action::Reconnect => return Outcome::Send(Command::Reconnect),
            // Chart actions belong to the Market pane; elsewhere they do nothing.
            Action::CycleOverlay | Action::CycleSubChart => {}
            // Acting on the selected model needs the Models pane, where the selection is seen.
            Action::ActivateModel | Action::PromoteModel if self.pane != Pane::MODELS => {}
            Action::ActivateModel => {
                if let Some(id) = self.selected_model(snapshot) {
                    return Outcome::Send(Command::SwitchModel { id });
                }
            }
            Action::PromoteModel => {
                if let Some(id) = self.selected_model(snapshot) {
                    return Outcome::Send(Command::PromoteModel { id });
                }
            }
            Action::RollbackModel => return Outcome::Send(Command::RollbackModel),
            // These act on the Models pane's training and selection.
            Action::CancelTraining | Action::RetireChallenger | Action::ChallengeModel
                if self.pane != Pane::MODELS => {}
            Action::CancelTraining => {
                if snapshot.is_some_and(|s| s.models.training.is_some()) {
                    return Outcome::Send(Command::CancelTraining);
                }
            }
            Action::RetireChallenger => {
                if let Some(id) = self.selected_model(snapshot) {
                    return Outcome::Send(Command::RetireChallenger { id });
                }
            }
            Action::ChallengeModel => {
                if let Some(id) = self.selected_model(snapshot) {
                    return Outcome::Send(Command::ChallengeModel { id });
                }
            }
            Action::RunBacktest | Action::RunBacktestSma => {
                let with_model = action == Action::RunBacktest;
                if let Some(command) = self.backtest_command(snapshot, with_model) {
                    return Outcome::Send(command);
                }
            }
            // Opening needs the Backtest pane, where the selection is seen.
            Action::OpenBacktest if self.pane != Pane::BACKTEST => {}
            Action::OpenBacktest => {
                if let Some(id) = self.selected_backtest(snapshot) {
                    return Outcome::Send(Command::OpenBacktest { id });
                }
            }
            Action::CancelBacktest => {
                if snapshot.is_some_and(|s| s.backtests.running.is_some()) {
                    return Outcome::Send(Command::CancelBacktest);
                }
            }
            Action::Retrain => {
                if let Some(snapshot) = snapshot
                    && let (Some(market), Some(interval)) = (
                        snapshot.markets.get(self.symbol(symbols)),
                        snapshot.intervals.get(self.interval(intervals)),
                    )
                {
                    return Outcome::Send(Command::Retrain {
                        symbol: market.symbol,
                        interval: *interval,
                    });
                }
            }
            // The Trade pane's keys act on the paper account shown there.
            Action::PaperBuy
            | Action::PaperSell
            | Action::OpenTicket
            | Action::CancelOrder
            | Action::ResetKillSwitch => {
                if let Some(command) = panes::trade::command(self, action, snapshot) {
                    return Outcome::Send(command);
                }
            }
        }
        Outcome::Continue
    }
}

/// Next or previous of `count` positions, wrapping around.
fn cycle(current: usize, count: usize, forward: bool) -> usize {
    match count {
        0 => 0,
        n if forward => (current + 1) % n,
        n => (current + n - 1) % n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycling_wraps_both_ways() {
        assert_eq!(cycle(2, 3, true), 0);
        assert_eq!(cycle(0, 3, false), 2);
        assert_eq!(cycle(0, 0, true), 0);
        assert_eq!(cycle(0, 1, false), 0);
    }

    #[test]
    fn indexes_are_clamped_to_what_exists() {
        let view = ViewState {
            symbol_index: 7,
            interval_index: 3,
            ..ViewState::default()
        };
        assert_eq!(view.symbol(3), 2);
        assert_eq!(view.interval(0), 0);
    }
}
