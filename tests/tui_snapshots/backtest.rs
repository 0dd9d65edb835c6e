//! The Backtest pane drawn empty, while a run goes and with a report (part of the tui_snapshots
//! tests), and the keys that start, stop and open runs.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use trademon::commands::backtest::{BacktestArgs, run};
use trademon::domain::{Candle, Interval, Symbol};
use trademon::protocol::{BacktestProgress, BacktestReport, BacktestRunSummary, Command, Snapshot};
use trademon::tui::{Action, Keymap, Outcome, Pane, ViewState};

use super::{fixture, render};

/// A real sma-cross report on a deterministic wavy BTCUSDT 5m series (stored as run 1), as the
/// engine sends it (converted at the engine's edge).
fn report() -> BacktestReport {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bt.db");
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let candles: Vec<Candle> = (0..2_000_i64)
        .map(|i| {
            let close = 64_000.0 + 900.0 * (i as f64 / 40.0).sin() + 1.5 * i as f64;
            Candle {
                open_time_ms: fixture::NOW_MS - (2_000 - i) * 300_000,
                open: close - 20.0,
                high: close + 60.0,
                low: close - 70.0,
                close,
                volume: 5.0,
                quote_volume: 5.0 * close,
                trades: 9,
            }
        })
        .collect();
    let mut store = trademon::store::Store::open(&db).unwrap();
    store
        .import_candles(symbol, Interval::M5, &candles)
        .unwrap();
    drop(store);
    let args = BacktestArgs::new(
        vec![symbol],
        Interval::M5,
        "sma-cross:10,20",
        &Default::default(),
    );
    run(&db, &args).unwrap().summary(600, 200).into()
}

fn stored(id: i64, strategy: &str, total_return: Option<f64>) -> BacktestRunSummary {
    BacktestRunSummary {
        id,
        created_ms: fixture::NOW_MS - id * 60_000,
        strategy: strategy.into(),
        symbols: "BTCUSDT".into(),
        interval: "5m".into(),
        from_ms: fixture::NOW_MS - 2_000 * 300_000,
        to_ms: fixture::NOW_MS,
        candles: 2_000,
        walk_forward: false,
        total_return,
        buy_and_hold_return: Some(0.04),
        max_drawdown: Some(0.02),
        trades: 40,
    }
}

fn with_report() -> Snapshot {
    let mut snapshot = fixture::snapshot();
    let report = report();
    assert_eq!(report.run_id, Some(1));
    snapshot.backtests.runs = vec![
        stored(3, "model:champion", None),
        stored(2, "buy-hold", Some(0.043)),
        stored(1, "sma-cross:10,20", Some(report.metrics.total_return)),
    ];
    snapshot.backtests.report = Some(Box::new(report));
    snapshot
}

fn running() -> Snapshot {
    let mut snapshot = fixture::snapshot();
    snapshot.backtests.runs = vec![stored(1, "sma-cross:10,20", Some(-0.012))];
    snapshot.backtests.running = Some(BacktestProgress {
        symbol: Symbol::new("BTCUSDT").unwrap(),
        interval: Interval::M1,
        strategy: "model:champion".into(),
        started_ms: fixture::NOW_MS - 3_000,
        stage: "model signals".into(),
        fraction: 0.42,
    });
    snapshot
}

fn backtest_view() -> ViewState {
    ViewState {
        pane: Pane::BACKTEST,
        ..ViewState::default()
    }
}

#[test]
fn backtest_empty_80x24() {
    let screen = render(80, 24, Some(&fixture::snapshot()), &backtest_view());
    assert!(screen.contains("press r to backtest BTCUSDT"), "{screen}");
    assert!(screen.contains("none yet: r or s runs one"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn backtest_running_80x24() {
    let screen = render(80, 24, Some(&running()), &backtest_view());
    assert!(
        screen.contains("42% model:champion BTCUSDT 1m · x stops"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn backtest_report_160x48() {
    let snapshot = with_report();
    let view = ViewState {
        backtest_selected: 2,
        ..backtest_view()
    };
    let screen = render(160, 48, Some(&snapshot), &view);
    for text in [
        "#1 sma-cross:10,20 on BTCUSDT 5m",
        "buy and hold",
        "Drawdown (max",
        "max drawdown duration",
        "final equity",
        "Trades (",
        "▶#1 ",
    ] {
        assert!(screen.contains(text), "{text}: {screen}");
    }
    insta::assert_snapshot!(screen);
}

#[test]
fn backtest_report_80x24_with_a_message() {
    let mut snapshot = with_report();
    snapshot.backtests.message =
        Some("refused: backtests need a database, and this run has none".into());
    let screen = render(80, 24, Some(&snapshot), &backtest_view());
    assert!(
        screen.contains("refused: backtests need a database"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn backtest_pane_survives_any_size() {
    let snapshot = with_report();
    for width in (1..=120).step_by(7) {
        for height in 1..=40 {
            render(width, height, Some(&snapshot), &backtest_view());
            render(width, height, Some(&running()), &backtest_view());
        }
    }
}

/// What a key press does in `view`, routed as the console routes it.
fn press(view: &mut ViewState, snapshot: &Snapshot, code: KeyCode) -> Outcome {
    let keymap = Keymap::default_bindings();
    let key = KeyEvent::new(code, KeyModifiers::NONE);
    match keymap.action_in(key, view.focused_pane()) {
        Some(action) => view.handle(action, Some(snapshot), &keymap),
        None => Outcome::Continue,
    }
}

fn run_command(symbol: &str, interval: Interval, strategy: &str) -> Outcome {
    Outcome::Send(Command::RunBacktest {
        symbol: Symbol::new(symbol).unwrap(),
        interval,
        strategy: strategy.into(),
    })
}

#[test]
fn backtest_keys_send_the_right_commands() {
    let mut snapshot = with_report();
    let mut view = ViewState::default();
    // Outside the pane r still reconnects and Enter acts on models.
    assert_eq!(
        press(&mut view, &snapshot, KeyCode::Char('r')),
        Outcome::Send(Command::Reconnect)
    );
    assert_eq!(
        press(&mut view, &snapshot, KeyCode::Char('5')),
        Outcome::Continue
    );
    assert_eq!(view.pane, Pane::BACKTEST);
    // No model runs: the champion is tested at the console's interval.
    assert_eq!(
        press(&mut view, &snapshot, KeyCode::Char('r')),
        run_command("BTCUSDT", Interval::M1, "model:champion")
    );
    view.symbol_index = 1;
    view.interval_index = 1;
    assert_eq!(
        press(&mut view, &snapshot, KeyCode::Char('s')),
        run_command("ETHUSDT", Interval::M5, "sma-cross:10,20")
    );
    // A model runs at 1m: r tests that model (by id) there, s stays at the console's interval.
    snapshot.models = fixture::snapshot_with_models().models;
    let active = snapshot.models.active.unwrap();
    assert_eq!(
        press(&mut view, &snapshot, KeyCode::Char('r')),
        run_command("ETHUSDT", Interval::M1, &format!("model:{active}"))
    );
    // Down and up move the stored-run selection (not the symbol); Enter opens it.
    assert_eq!(
        press(&mut view, &snapshot, KeyCode::Enter),
        Outcome::Send(Command::OpenBacktest { id: 3 })
    );
    press(&mut view, &snapshot, KeyCode::Down);
    press(&mut view, &snapshot, KeyCode::Down);
    press(&mut view, &snapshot, KeyCode::Down);
    assert_eq!(view.symbol_index, 1);
    assert_eq!(
        press(&mut view, &snapshot, KeyCode::Enter),
        Outcome::Send(Command::OpenBacktest { id: 1 })
    );
    press(&mut view, &snapshot, KeyCode::Up);
    assert_eq!(
        press(&mut view, &snapshot, KeyCode::Enter),
        Outcome::Send(Command::OpenBacktest { id: 2 })
    );
    // x and Esc stop a running backtest; with none running they send nothing.
    assert_eq!(
        press(&mut view, &snapshot, KeyCode::Char('x')),
        Outcome::Continue
    );
    let running = running();
    for key in [KeyCode::Char('x'), KeyCode::Esc] {
        assert_eq!(
            press(&mut view, &running, key),
            Outcome::Send(Command::CancelBacktest)
        );
    }
    // With the help open, Esc closes it instead.
    press(&mut view, &running, KeyCode::Char('?'));
    assert!(view.help_open);
    assert_eq!(press(&mut view, &running, KeyCode::Esc), Outcome::Continue);
    assert!(!view.help_open);
    // With no snapshot yet, nothing is sent.
    let keymap = Keymap::default_bindings();
    assert_eq!(
        view.handle(Action::RunBacktest, None, &keymap),
        Outcome::Continue
    );
}

#[test]
fn pane_bindings_in_user_keymaps() {
    let user = r#"
        [[bind]]
        key = "g"
        action = "run_backtest_sma"
        pane = "Backtest"

        [[bind]]
        key = "s"
        action = "none"
        pane = "backtest"
    "#;
    let keymap = Keymap::from_toml("mine.toml", user).unwrap();
    let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(
        keymap.action_in(key('g'), Some(Pane::BACKTEST)),
        Some(Action::RunBacktestSma)
    );
    assert_eq!(keymap.action_in(key('g'), Some(Pane::MARKET)), None);
    assert_eq!(keymap.action_in(key('s'), Some(Pane::BACKTEST)), None);
    assert_eq!(
        keymap.action_in(key('r'), Some(Pane::BACKTEST)),
        Some(Action::RunBacktest)
    );
    assert_eq!(keymap.action_for(key('r')), Some(Action::Reconnect));
    let bad = "[[bind]]\nkey = \"g\"\naction = \"quit\"\npane = \"charts\"\n";
    let error = Keymap::from_toml("mine.toml", bad).unwrap_err().to_string();
    assert!(
        error.contains("mine.toml: bind[0] (key \"g\"): unknown pane \"charts\"")
            && error.contains("backtest"),
        "{error}"
    );
    let twice = "[[bind]]\nkey = \"g\"\naction = \"quit\"\npane = \"backtest\"\n\
                 [[bind]]\nkey = \"g\"\naction = \"retrain\"\npane = \"backtest\"\n";
    let error = Keymap::from_toml("mine.toml", twice)
        .unwrap_err()
        .to_string();
    assert!(error.contains("already bound by bind[0]"), "{error}");
}
