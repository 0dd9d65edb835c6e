//! Keymap and view-state behaviour behind the console's keys (part of the tui_snapshots tests).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use trademon::protocol::{Command, Snapshot};
use trademon::tui::{Action, Keymap, KeymapError, Outcome, Pane, ViewState};

use super::{fixture, render};

fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, modifiers)
}

fn char_key(c: char) -> KeyEvent {
    press(KeyCode::Char(c), KeyModifiers::NONE)
}

#[test]
fn default_keymap_binds_the_documented_keys() {
    let keymap = Keymap::default_bindings();
    let cases = [
        (char_key('q'), Action::Quit),
        (
            press(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Action::Quit,
        ),
        (char_key('j'), Action::NextSymbol),
        (press(KeyCode::Down, KeyModifiers::NONE), Action::NextSymbol),
        (char_key('k'), Action::PrevSymbol),
        (press(KeyCode::Up, KeyModifiers::NONE), Action::PrevSymbol),
        (char_key('l'), Action::NextInterval),
        (
            press(KeyCode::Right, KeyModifiers::NONE),
            Action::NextInterval,
        ),
        (char_key('h'), Action::PrevInterval),
        (
            press(KeyCode::Left, KeyModifiers::NONE),
            Action::PrevInterval,
        ),
        (press(KeyCode::Tab, KeyModifiers::NONE), Action::NextPane),
        (
            press(KeyCode::BackTab, KeyModifiers::SHIFT),
            Action::PrevPane,
        ),
        (char_key('1'), Action::ShowPane(Pane::MARKET)),
        (char_key('2'), Action::ShowPane(Pane::HEALTH)),
        (char_key('3'), Action::ShowPane(Pane::SIGNALS)),
        (char_key('4'), Action::ShowPane(Pane::MODELS)),
        (char_key('5'), Action::ShowPane(Pane::BACKTEST)),
        (char_key('7'), Action::ShowPane(Pane::new("trade"))),
        (
            press(KeyCode::Enter, KeyModifiers::NONE),
            Action::ActivateModel,
        ),
        (char_key('p'), Action::PromoteModel),
        (char_key('b'), Action::RollbackModel),
        (char_key('t'), Action::Retrain),
        (char_key('r'), Action::Reconnect),
        (char_key('o'), Action::CycleOverlay),
        (char_key('i'), Action::CycleSubChart),
        (
            press(KeyCode::Char('?'), KeyModifiers::SHIFT),
            Action::ToggleHelp,
        ),
        (press(KeyCode::Esc, KeyModifiers::NONE), Action::CloseHelp),
    ];
    for (key, action) in cases {
        assert_eq!(keymap.action_for(key), Some(action), "{key:?}");
    }
    assert_eq!(keymap.action_for(char_key('z')), None);
    assert!(keymap.bindings().iter().all(|b| !b.desc.is_empty()));
}

#[test]
fn user_keymap_is_laid_over_the_defaults() {
    let user = r#"
        [[bind]]
        key = "q"
        action = "none"

        [[bind]]
        key = "x"
        action = "quit"
        desc = "leave"

        [[bind]]
        key = "j"
        action = "next_interval"

        [[bind]]
        key = "ctrl-r"
        action = "reconnect"
    "#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keymap.toml");
    std::fs::write(&path, user).unwrap();
    let keymap = Keymap::load(Some(&path)).unwrap();
    assert_eq!(keymap.action_for(char_key('q')), None);
    assert_eq!(keymap.action_for(char_key('x')), Some(Action::Quit));
    assert_eq!(keymap.action_for(char_key('j')), Some(Action::NextInterval));
    assert_eq!(
        keymap.action_for(press(KeyCode::Char('r'), KeyModifiers::CONTROL)),
        Some(Action::Reconnect)
    );
    // Untouched defaults stay, and a rebinding without desc takes the action's default text.
    assert_eq!(keymap.action_for(char_key('k')), Some(Action::PrevSymbol));
    let j = keymap
        .bindings()
        .iter()
        .find(|b| b.key.to_string() == "j")
        .unwrap();
    assert_eq!(j.desc, "next candle interval");
    let x = keymap
        .bindings()
        .iter()
        .find(|b| b.key.to_string() == "x" && b.pane.is_none())
        .unwrap();
    assert_eq!(x.desc, "leave");
    assert_eq!(Keymap::load(None).unwrap(), Keymap::default_bindings());
}

#[test]
fn garbage_keymaps_are_refused_with_file_entry_and_reason() {
    let entry =
        |action: &str, key: &str| format!("[[bind]]\nkey = \"{key}\"\naction = \"{action}\"\n");
    let cases: Vec<(String, &str)> = vec![
        (
            entry("quit", "ctrl-q") + &entry("quit", "hyper-x"),
            "bind[1] (key \"hyper-x\"): unknown modifier",
        ),
        (
            entry("quit", "pgdown"),
            "bind[0] (key \"pgdown\"): unknown key \"pgdown\"",
        ),
        (
            entry("launch_rockets", "x"),
            "bind[0] (key \"x\"): unknown action \"launch_rockets\"",
        ),
        (
            entry("quit", "x") + &entry("reconnect", "x"),
            "bind[1] (key \"x\"): key x is already bound by bind[0]",
        ),
        (
            "[[bind]]\nkey = \"x\"\naction = \"quit\"\ncolour = \"red\"\n".to_string(),
            "bind[0] (key \"x\"): unknown field `colour`",
        ),
        (
            "[[bind]]\naction = \"quit\"\n".to_string(),
            "bind[0] (key \"?\"): missing field `key`",
        ),
        (
            "[[bind]]\nkey = 5\naction = \"quit\"\n".to_string(),
            "bind[0] (key \"?\")",
        ),
        ("bind = 3\n".to_string(), "`bind` must be a list"),
        (
            "[keys]\nq = \"quit\"\n".to_string(),
            "unknown top-level key \"keys\"",
        ),
        (
            "[[bind]\nkey = ".to_string(),
            "keymap user.toml: TOML parse error",
        ),
        (
            entry("none", "q") + &entry("none", "ctrl-c"),
            "no key is left bound to quit",
        ),
    ];
    for (text, expected) in cases {
        let error = Keymap::from_toml("user.toml", &text)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("keymap user.toml: "), "{error}");
        assert!(
            error.contains(expected),
            "{text}\n→ {error}\nexpected {expected}"
        );
    }
    let missing = Keymap::load(Some(std::path::Path::new("/nonexistent/keymap.toml"))).unwrap_err();
    assert!(matches!(missing, KeymapError::Read { .. }), "{missing}");
    assert!(
        missing.to_string().contains("/nonexistent/keymap.toml"),
        "{missing}"
    );
}

fn act(view: &mut ViewState, snapshot: &Snapshot, action: Action) -> Outcome {
    view.handle(action, Some(snapshot), &Keymap::default_bindings())
}

#[test]
fn symbols_wrap_both_ways() {
    let snapshot = fixture::snapshot();
    let mut view = ViewState::default();
    for expected in [1, 2, 0] {
        act(&mut view, &snapshot, Action::NextSymbol);
        assert_eq!(view.symbol_index, expected);
    }
    act(&mut view, &snapshot, Action::PrevSymbol);
    assert_eq!(view.symbol_index, 2);
    // On the Health pane the keys still pick the symbol shown in the status bar.
    act(&mut view, &snapshot, Action::ShowPane(Pane::HEALTH));
    act(&mut view, &snapshot, Action::NextSymbol);
    assert_eq!(view.symbol_index, 0);
}

#[test]
fn intervals_cycle() {
    let snapshot = fixture::snapshot();
    let mut view = ViewState::default();
    act(&mut view, &snapshot, Action::NextInterval);
    assert_eq!(view.interval_index, 1);
    act(&mut view, &snapshot, Action::NextInterval);
    assert_eq!(view.interval_index, 0);
    act(&mut view, &snapshot, Action::PrevInterval);
    assert_eq!(view.interval_index, 1);
    let screen = render(80, 24, Some(&snapshot), &view);
    assert!(screen.contains("BTCUSDT 5m"), "{screen}");
}

#[test]
fn panes_switch_by_tab_and_number() {
    let snapshot = fixture::snapshot();
    let mut view = ViewState::default();
    for expected in [
        Pane::HEALTH,
        Pane::SIGNALS,
        Pane::MODELS,
        Pane::BACKTEST,
        Pane::new("drift"),
        Pane::new("trade"),
        Pane::MARKET,
    ] {
        act(&mut view, &snapshot, Action::NextPane);
        assert_eq!(view.pane, expected);
    }
    act(&mut view, &snapshot, Action::PrevPane);
    assert_eq!(view.pane, Pane::new("trade"));
    for (action, pane) in [
        (Action::ShowPane(Pane::MARKET), Pane::MARKET),
        (Action::ShowPane(Pane::HEALTH), Pane::HEALTH),
        (Action::ShowPane(Pane::SIGNALS), Pane::SIGNALS),
        (Action::ShowPane(Pane::MODELS), Pane::MODELS),
        (Action::ShowPane(Pane::BACKTEST), Pane::BACKTEST),
        (Action::ShowPane(Pane::new("drift")), Pane::new("drift")),
        (Action::ShowPane(Pane::new("trade")), Pane::new("trade")),
    ] {
        act(&mut view, &snapshot, action);
        assert_eq!(view.pane, pane);
    }
}

#[test]
fn model_keys_send_commands_for_the_selection() {
    let snapshot = fixture::snapshot_with_models();
    let mut view = ViewState::default();
    // Outside the Models pane nothing is selected to act on.
    assert_eq!(
        act(&mut view, &snapshot, Action::ActivateModel),
        Outcome::Continue
    );
    act(&mut view, &snapshot, Action::ShowPane(Pane::MODELS));
    // Up and down move the selection here, clamped to the list (3 models, newest first).
    for _ in 0..5 {
        act(&mut view, &snapshot, Action::NextSymbol);
    }
    assert_eq!(view.model_selected, 2);
    assert_eq!(view.symbol_index, 0, "the symbol did not change");
    act(&mut view, &snapshot, Action::PrevSymbol);
    assert_eq!(
        act(&mut view, &snapshot, Action::ActivateModel),
        Outcome::Send(Command::SwitchModel { id: 2 })
    );
    assert_eq!(
        act(&mut view, &snapshot, Action::PromoteModel),
        Outcome::Send(Command::PromoteModel { id: 2 })
    );
    assert_eq!(
        act(&mut view, &snapshot, Action::RollbackModel),
        Outcome::Send(Command::RollbackModel)
    );
    // Shadow scoring: retire the selected challenger, put a retired one back, stop a training
    // (the fixture has one running); on the Models pane's own keys.
    let keymap = Keymap::default_bindings();
    for (key, action) in [
        ('d', Action::RetireChallenger),
        ('c', Action::ChallengeModel),
        ('x', Action::CancelTraining),
    ] {
        assert_eq!(
            keymap.action_in(char_key(key), Some(Pane::MODELS)),
            Some(action)
        );
        assert_eq!(keymap.action_in(char_key(key), Some(Pane::MARKET)), None);
    }
    assert_eq!(
        act(&mut view, &snapshot, Action::RetireChallenger),
        Outcome::Send(Command::RetireChallenger { id: 2 })
    );
    assert_eq!(
        act(&mut view, &snapshot, Action::ChallengeModel),
        Outcome::Send(Command::ChallengeModel { id: 2 })
    );
    assert_eq!(
        act(&mut view, &snapshot, Action::CancelTraining),
        Outcome::Send(Command::CancelTraining)
    );
    // Retrain is for the selected symbol and interval, from any pane.
    act(&mut view, &snapshot, Action::ShowPane(Pane::MARKET));
    act(&mut view, &snapshot, Action::NextSymbol);
    act(&mut view, &snapshot, Action::NextInterval);
    assert_eq!(
        act(&mut view, &snapshot, Action::Retrain),
        Outcome::Send(Command::Retrain {
            symbol: trademon::domain::Symbol::new("ETHUSDT").unwrap(),
            interval: trademon::domain::Interval::M5,
        })
    );
    // With no models, the model keys do nothing.
    let bare = fixture::snapshot();
    let mut view = ViewState {
        pane: Pane::MODELS,
        ..ViewState::default()
    };
    assert_eq!(
        act(&mut view, &bare, Action::ActivateModel),
        Outcome::Continue
    );
}

#[test]
fn focused_part_gets_actions_first() {
    let snapshot = fixture::snapshot();
    let mut view = ViewState::default();
    assert_eq!(
        act(&mut view, &snapshot, Action::Reconnect),
        Outcome::Send(Command::Reconnect)
    );
    // The open help overlay keeps j/k for scrolling and swallows pane keys, but not quit.
    act(&mut view, &snapshot, Action::ToggleHelp);
    assert!(view.help_open);
    act(&mut view, &snapshot, Action::NextSymbol);
    assert_eq!((view.symbol_index, view.help_scroll), (0, 1));
    act(&mut view, &snapshot, Action::NextPane);
    assert_eq!(view.pane, Pane::MARKET);
    assert_eq!(
        act(&mut view, &snapshot, Action::Reconnect),
        Outcome::Continue
    );
    assert_eq!(act(&mut view, &snapshot, Action::Quit), Outcome::Quit);
    act(&mut view, &snapshot, Action::CloseHelp);
    assert!(!view.help_open);
    // The Health pane uses the scroll keys for its stream table.
    act(&mut view, &snapshot, Action::ShowPane(Pane::HEALTH));
    act(&mut view, &snapshot, Action::ScrollDown);
    assert_eq!(view.stream_scroll, 5);
    act(&mut view, &snapshot, Action::ScrollDown);
    assert_eq!(view.stream_scroll, 8);
    act(&mut view, &snapshot, Action::ScrollUp);
    assert_eq!(view.stream_scroll, 3);
}

#[test]
fn chart_keys_cycle_overlays_and_the_sub_chart_on_the_market_pane() {
    use trademon::tui::widgets::oscillator::SubChart;
    use trademon::tui::widgets::overlay::Overlay;
    let snapshot = fixture::snapshot();
    let mut view = ViewState::default();
    let mut overlays = vec![view.overlay];
    for _ in 0..4 {
        act(&mut view, &snapshot, Action::CycleOverlay);
        overlays.push(view.overlay);
    }
    assert_eq!(
        overlays,
        [
            Overlay::MovingAverages,
            Overlay::Bollinger,
            Overlay::All,
            Overlay::None,
            Overlay::MovingAverages
        ]
    );
    let mut charts = vec![view.sub_chart];
    for _ in 0..3 {
        act(&mut view, &snapshot, Action::CycleSubChart);
        charts.push(view.sub_chart);
    }
    assert_eq!(
        charts,
        [SubChart::Rsi, SubChart::Macd, SubChart::None, SubChart::Rsi]
    );
    // Each setting changes the frame.
    let before = render(120, 40, Some(&snapshot), &view);
    act(&mut view, &snapshot, Action::CycleSubChart);
    assert_ne!(before, render(120, 40, Some(&snapshot), &view));
    // On the Health pane the chart keys do nothing.
    let mut health = ViewState {
        pane: Pane::HEALTH,
        ..ViewState::default()
    };
    act(&mut health, &snapshot, Action::CycleOverlay);
    assert_eq!(health.overlay, Overlay::default());
}
