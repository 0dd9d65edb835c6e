//! The one [`Action`] enum every key maps to, with the names keymap files give the actions and
//! the groups the help overlay lists them under.

use serde::{Deserialize, Serialize};

use super::view::Pane;

/// Everything a key can ask the console to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    ToggleHelp,
    CloseHelp,
    NextSymbol,
    PrevSymbol,
    NextInterval,
    PrevInterval,
    NextPane,
    PrevPane,
    /// Show this pane (`show_<pane id>` in keymap files, one for each entry of the pane list).
    ShowPane(Pane),
    ScrollDown,
    ScrollUp,
    /// Drop the exchange connection and connect again (sends `Command::Reconnect`).
    Reconnect,
    /// Market chart: none → SMA+EMA → Bollinger → all → none.
    CycleOverlay,
    /// Market sub-chart: RSI → MACD → none → RSI.
    CycleSubChart,
    /// Models pane: run the selected model from the next candle on.
    ActivateModel,
    /// Models pane: make the selected model the champion.
    PromoteModel,
    /// Give the champion role back to the previous champion.
    RollbackModel,
    /// Train a new ensemble for the current symbol and interval in the background.
    Retrain,
    /// Backtest the current symbol with the model the console runs (sends `Command::RunBacktest`).
    RunBacktest,
    /// Backtest the current symbol with sma-cross:10,20 (works with no model).
    RunBacktestSma,
    /// Backtest pane: show the selected stored run.
    OpenBacktest,
    /// Stop the running backtest.
    CancelBacktest,
    /// Models pane: stop the running training (nothing is registered).
    CancelTraining,
    /// Models pane: take the selected challenger out of shadow scoring.
    RetireChallenger,
    /// Models pane: put the selected retired model back into shadow scoring.
    ChallengeModel,
    /// Trade pane: a market buy of the current symbol, sized by the risk rules.
    PaperBuy,
    /// Trade pane: a market sell of the current symbol, sized by the risk rules.
    PaperSell,
    /// Trade pane: open the order ticket for the current symbol.
    OpenTicket,
    /// Trade pane: cancel the selected resting order.
    CancelOrder,
    /// Trade pane: reset the drawdown kill switch.
    ResetKillSwitch,
}

/// The actions that are not about one pane, in help-overlay order; the `show_<pane>` actions of
/// [`Action::all`] go after `prev_pane`.
const FIXED: [(Action, &str); 30] = [
    (Action::Quit, "quit"),
    (Action::ToggleHelp, "toggle_help"),
    (Action::CloseHelp, "close_help"),
    (Action::NextSymbol, "next_symbol"),
    (Action::PrevSymbol, "prev_symbol"),
    (Action::NextInterval, "next_interval"),
    (Action::PrevInterval, "prev_interval"),
    (Action::NextPane, "next_pane"),
    (Action::PrevPane, "prev_pane"),
    (Action::ScrollDown, "scroll_down"),
    (Action::ScrollUp, "scroll_up"),
    (Action::Reconnect, "reconnect"),
    (Action::CycleOverlay, "cycle_overlay"),
    (Action::CycleSubChart, "cycle_sub_chart"),
    (Action::ActivateModel, "activate_model"),
    (Action::PromoteModel, "promote_model"),
    (Action::RollbackModel, "rollback_model"),
    (Action::Retrain, "retrain"),
    (Action::CancelTraining, "cancel_training"),
    (Action::RetireChallenger, "retire_challenger"),
    (Action::ChallengeModel, "challenge_model"),
    (Action::RunBacktest, "run_backtest"),
    (Action::RunBacktestSma, "run_backtest_sma"),
    (Action::OpenBacktest, "open_backtest"),
    (Action::CancelBacktest, "cancel_backtest"),
    (Action::PaperBuy, "paper_buy"),
    (Action::PaperSell, "paper_sell"),
    (Action::OpenTicket, "open_ticket"),
    (Action::CancelOrder, "cancel_order"),
    (Action::ResetKillSwitch, "reset_kill_switch"),
];

/// How a show-pane action is named in keymap files: `show_` and the pane's id.
const SHOW_PREFIX: &str = "show_";

impl Action {
    /// Every action, in help-overlay order: one `show_<pane>` per entry of the pane list, in tab
    /// order, after `prev_pane`.
    pub fn all() -> Vec<Action> {
        let panes_after = FIXED
            .iter()
            .position(|(a, _)| *a == Action::PrevPane)
            .map_or(FIXED.len(), |i| i + 1);
        let mut all: Vec<Action> = FIXED[..panes_after].iter().map(|(a, _)| *a).collect();
        all.extend(Pane::ALL.into_iter().map(Action::ShowPane));
        all.extend(FIXED[panes_after..].iter().map(|(a, _)| *a));
        all
    }

    /// Its name in keymap files.
    pub fn name(self) -> String {
        match self {
            Action::ShowPane(pane) => format!("{SHOW_PREFIX}{}", pane.id()),
            _ => FIXED
                .iter()
                .find(|(a, _)| *a == self)
                .map_or_else(|| "?".to_string(), |(_, name)| (*name).to_string()),
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        if let Some(action) = FIXED.iter().find(|(_, n)| *n == name).map(|(a, _)| *a) {
            return Some(action);
        }
        let pane = Pane::ALL
            .into_iter()
            .find(|p| name.strip_prefix(SHOW_PREFIX) == Some(p.id()))?;
        Some(Action::ShowPane(pane))
    }

    /// The heading this action is listed under in the help overlay.
    pub fn group(self) -> &'static str {
        match self {
            Action::Quit | Action::ToggleHelp | Action::CloseHelp => "General",
            Action::NextSymbol
            | Action::PrevSymbol
            | Action::NextInterval
            | Action::PrevInterval => "Market",
            Action::NextPane
            | Action::PrevPane
            | Action::ShowPane(_)
            | Action::ScrollDown
            | Action::ScrollUp => "Panes",
            Action::Reconnect => "Feed",
            Action::CycleOverlay | Action::CycleSubChart => "Chart",
            Action::ActivateModel
            | Action::PromoteModel
            | Action::RollbackModel
            | Action::Retrain
            | Action::CancelTraining
            | Action::RetireChallenger
            | Action::ChallengeModel => "Models",
            Action::RunBacktest
            | Action::RunBacktestSma
            | Action::OpenBacktest
            | Action::CancelBacktest => "Backtest",
            Action::PaperBuy
            | Action::PaperSell
            | Action::OpenTicket
            | Action::CancelOrder
            | Action::ResetKillSwitch => "Trade",
        }
    }
}

/// Written and read as its keymap name (`"show_models"`).
impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Action::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown action {name:?}")))
    }
}
