//! The console drawn from a fixed snapshot at fixed sizes (insta snapshots of the screen text),
//! plus the keymap and view-state behaviour behind the keys.

#![allow(clippy::unwrap_used)]

#[path = "tui_snapshots/fixture.rs"]
mod fixture;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use trademon::domain::{Candle, Interval};
use trademon::protocol::{Command, LinkState, Snapshot, SourceInfo, Update};
use trademon::tui::{Action, Console, Keymap, KeymapError, Outcome, Pane, ViewState, draw};

fn render(width: u16, height: u16, snapshot: Option<&Snapshot>, view: &ViewState) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let keymap = Keymap::default_bindings();
    terminal
        .draw(|frame| draw(frame, snapshot, view, &keymap))
        .unwrap();
    terminal.backend().to_string()
}

fn view(pane: Pane) -> ViewState {
    ViewState {
        pane,
        ..ViewState::default()
    }
}

#[test]
fn market_80x24() {
    let snapshot = fixture::snapshot();
    insta::assert_snapshot!(render(80, 24, Some(&snapshot), &view(Pane::Market)));
}

#[test]
fn market_160x48() {
    let snapshot = fixture::snapshot();
    insta::assert_snapshot!(render(160, 48, Some(&snapshot), &view(Pane::Market)));
}

#[test]
fn market_5m_second_symbol_80x24() {
    let snapshot = fixture::snapshot();
    let view = ViewState {
        symbol_index: 1,
        interval_index: 1,
        ..ViewState::default()
    };
    insta::assert_snapshot!(render(80, 24, Some(&snapshot), &view));
}

#[test]
fn health_80x24() {
    let snapshot = fixture::snapshot();
    insta::assert_snapshot!(render(80, 24, Some(&snapshot), &view(Pane::Health)));
}

#[test]
fn health_160x48() {
    let snapshot = fixture::snapshot();
    insta::assert_snapshot!(render(160, 48, Some(&snapshot), &view(Pane::Health)));
}

#[test]
fn help_overlay_80x24() {
    let snapshot = fixture::snapshot();
    let view = ViewState {
        help_open: true,
        ..ViewState::default()
    };
    insta::assert_snapshot!(render(80, 24, Some(&snapshot), &view));
}

#[test]
fn waiting_for_the_engine_80x24() {
    let screen = render(80, 24, None, &ViewState::default());
    assert!(screen.contains("waiting for the engine…"), "{screen}");
    insta::assert_snapshot!(screen);
}

/// A replay whose link is down, a symbol with no candles yet, and an engine that has stopped.
#[test]
fn replay_link_down_no_candles_engine_stopped_80x24() {
    let mut snapshot = fixture::snapshot();
    snapshot.source = SourceInfo::Replay {
        path: "/data/XRPETH-1m.csv".to_string(),
    };
    snapshot.health.link = Some(LinkState::Down {
        reason: "connection refused".to_string(),
        retry_at_ms: fixture::NOW_MS + 2_500,
    });
    snapshot.markets[2].series[0] = Default::default();
    snapshot.markets[2].last_price = None;
    let mut view = ViewState {
        symbol_index: 2,
        ..ViewState::default()
    };
    let screen = render(80, 24, Some(&snapshot), &view);
    assert!(screen.contains("no candles yet for SOLUSDT 1m"), "{screen}");
    assert!(screen.contains("down, retry in 3s: connection"), "{screen}");
    assert!(screen.contains("REPLAY"), "{screen}");
    view.engine_stopped = true;
    insta::assert_snapshot!(render(80, 24, Some(&snapshot), &view));
}

#[test]
fn simulated_source_is_unmistakable() {
    let snapshot = fixture::snapshot();
    for pane in Pane::ALL {
        let screen = render(80, 24, Some(&snapshot), &view(pane));
        let status = screen.lines().last().unwrap();
        assert!(status.contains("SIMULATED"), "{pane:?}: {status}");
    }
    let market = render(80, 24, Some(&snapshot), &view(Pane::Market));
    let chart_title = market.lines().nth(1).unwrap();
    assert!(chart_title.contains("SIMULATED"), "{chart_title}");
}

#[test]
fn tiny_terminals_do_not_panic() {
    let snapshot = fixture::snapshot();
    let views = [
        view(Pane::Market),
        view(Pane::Health),
        ViewState {
            help_open: true,
            ..ViewState::default()
        },
    ];
    for width in (1..=100).step_by(3) {
        for height in 1..=30 {
            for view in &views {
                render(width, height, Some(&snapshot), view);
            }
            render(width, height, None, &views[0]);
        }
    }
    let screen = render(20, 5, Some(&snapshot), &views[0]);
    assert!(screen.contains("terminal too small"), "{screen}");
}

/// The chart part of each screen line (right of the symbol list).
fn chart_part(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip(1)
        .take(22)
        .map(|l| l.split("││").nth(1).unwrap_or_default().to_string())
        .collect()
}

#[test]
fn long_series_are_thinned_to_the_width() {
    let short = fixture::snapshot();
    let mut long = short.clone();
    // Ten thousand older candles in front change nothing in the chart: only the newest that fit
    // are drawn, and the price scale is fitted to those.
    let series = &mut long.markets[0].series[0];
    let first = *series.closed.front().unwrap();
    for i in 1..=10_000 {
        series.closed.push_front(Candle {
            open_time_ms: first.open_time_ms - i * 60_000,
            high: first.high * 3.0,
            ..first
        });
    }
    for (width, height) in [(80, 24), (160, 48)] {
        let a = render(width, height, Some(&short), &view(Pane::Market));
        let b = render(width, height, Some(&long), &view(Pane::Market));
        assert_eq!(chart_part(&a), chart_part(&b), "{width}x{height}\n{b}");
    }
}

#[test]
fn updates_change_the_frame() {
    let mut console = Console::default();
    let snapshot = fixture::snapshot();
    assert_eq!(
        console.apply(&Update::Snapshot(Box::new(snapshot.clone()))),
        None
    );
    let before = render(80, 24, console.snapshot.as_ref(), &console.view);
    let market = &snapshot.markets[0];
    let open = market.series[0].open.unwrap();
    let moved = Candle {
        close: open.high * 1.002,
        high: open.high * 1.002,
        ..open
    };
    console.apply(&Update::Candle {
        symbol: market.symbol,
        interval: Interval::M1,
        candle: moved,
        closed: false,
    });
    console.apply(&Update::LastPrice {
        symbol: market.symbol,
        price: moved.close,
        time_ms: fixture::NOW_MS,
    });
    let after = render(80, 24, console.snapshot.as_ref(), &console.view);
    assert_ne!(before, after);
    let price = trademon::tui::format::price(Some(moved.close));
    assert!(after.contains(&price), "{price} not on screen:\n{after}");
}

// ---- keymap -------------------------------------------------------------------------------

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
        (char_key('1'), Action::ShowMarket),
        (char_key('2'), Action::ShowHealth),
        (char_key('r'), Action::Reconnect),
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
        .find(|b| b.key.to_string() == "x")
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

// ---- view state -----------------------------------------------------------------------------

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
    act(&mut view, &snapshot, Action::ShowHealth);
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
    act(&mut view, &snapshot, Action::NextPane);
    assert_eq!(view.pane, Pane::Health);
    act(&mut view, &snapshot, Action::NextPane);
    assert_eq!(view.pane, Pane::Market);
    act(&mut view, &snapshot, Action::PrevPane);
    assert_eq!(view.pane, Pane::Health);
    act(&mut view, &snapshot, Action::ShowMarket);
    assert_eq!(view.pane, Pane::Market);
    act(&mut view, &snapshot, Action::ShowHealth);
    assert_eq!(view.pane, Pane::Health);
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
    assert_eq!(view.pane, Pane::Market);
    assert_eq!(
        act(&mut view, &snapshot, Action::Reconnect),
        Outcome::Continue
    );
    assert_eq!(act(&mut view, &snapshot, Action::Quit), Outcome::Quit);
    act(&mut view, &snapshot, Action::CloseHelp);
    assert!(!view.help_open);
    // The Health pane uses the scroll keys for its stream table.
    act(&mut view, &snapshot, Action::ShowHealth);
    act(&mut view, &snapshot, Action::ScrollDown);
    assert_eq!(view.stream_scroll, 5);
    act(&mut view, &snapshot, Action::ScrollDown);
    assert_eq!(view.stream_scroll, 8);
    act(&mut view, &snapshot, Action::ScrollUp);
    assert_eq!(view.stream_scroll, 3);
}

#[test]
fn stream_table_shows_how_many_more() {
    let mut snapshot = fixture::snapshot();
    let template = snapshot.health.streams[0].clone();
    for i in 0..30 {
        let mut stream = template.clone();
        stream.name = format!("p{i:02}usdt@trade");
        snapshot.health.streams.push(stream);
    }
    let screen = render(80, 24, Some(&snapshot), &view(Pane::Health));
    let total = snapshot.health.streams.len();
    let shown = screen
        .lines()
        .filter(|l| {
            [" Live ", " Stale ", " Down "]
                .iter()
                .any(|s| l.contains(s))
        })
        .count();
    assert!(shown > 3 && shown < total, "{shown}\n{screen}");
    let more = format!("+{} more", total - shown);
    assert!(screen.contains(&more), "{more}\n{screen}");
}
