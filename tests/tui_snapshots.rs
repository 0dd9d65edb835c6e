//! The console drawn from a fixed snapshot at fixed sizes (insta snapshots of the screen text),
//! plus the keymap and view-state behaviour behind the keys.

#![allow(clippy::unwrap_used)]

#[path = "tui_snapshots/backtest.rs"]
mod backtest;
#[path = "tui_snapshots/drift.rs"]
mod drift;
#[path = "tui_snapshots/fixture.rs"]
mod fixture;
#[path = "tui_snapshots/keys.rs"]
mod keys;
#[path = "tui_snapshots/shadow.rs"]
mod shadow;
#[path = "tui_snapshots/trade.rs"]
mod trade;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use trademon::domain::{Candle, Interval};
use trademon::protocol::{LinkState, Snapshot, SourceInfo, Update};
use trademon::tui::widgets::oscillator::SubChart;
use trademon::tui::widgets::overlay::Overlay;
use trademon::tui::{Console, Keymap, Pane, ViewState, draw};

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
    insta::assert_snapshot!(render(80, 24, Some(&snapshot), &view(Pane::MARKET)));
}

#[test]
fn market_160x48() {
    let snapshot = fixture::snapshot();
    insta::assert_snapshot!(render(160, 48, Some(&snapshot), &view(Pane::MARKET)));
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

/// Bollinger bands with SMA and EMA over the candles and MACD under them, on the symbol whose 5m
/// series has a gap.
#[test]
fn market_all_overlays_macd_gap_160x48() {
    let snapshot = fixture::snapshot();
    let view = ViewState {
        symbol_index: 1,
        interval_index: 1,
        overlay: Overlay::All,
        sub_chart: SubChart::Macd,
        ..ViewState::default()
    };
    insta::assert_snapshot!(render(160, 48, Some(&snapshot), &view));
}

#[test]
fn market_bare_chart_80x24() {
    let snapshot = fixture::snapshot();
    let view = ViewState {
        overlay: Overlay::None,
        sub_chart: SubChart::None,
        ..ViewState::default()
    };
    insta::assert_snapshot!(render(80, 24, Some(&snapshot), &view));
}

#[test]
fn health_80x24() {
    let snapshot = fixture::snapshot();
    insta::assert_snapshot!(render(80, 24, Some(&snapshot), &view(Pane::HEALTH)));
}

#[test]
fn health_160x48() {
    let snapshot = fixture::snapshot();
    insta::assert_snapshot!(render(160, 48, Some(&snapshot), &view(Pane::HEALTH)));
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
    snapshot.source = SourceInfo::replay("/data/XRPETH-1m.csv".to_string());
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
    let market = render(80, 24, Some(&snapshot), &view(Pane::MARKET));
    let chart_title = market.lines().nth(1).unwrap();
    assert!(chart_title.contains("SIMULATED"), "{chart_title}");
}

#[test]
fn tiny_terminals_do_not_panic() {
    let snapshot = fixture::snapshot();
    let views = [
        view(Pane::MARKET),
        view(Pane::HEALTH),
        view(Pane::BACKTEST),
        trade::view_with_ticket(),
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
        series.indicators.push_front(Default::default());
    }
    for (width, height) in [(80, 24), (160, 48)] {
        let a = render(width, height, Some(&short), &view(Pane::MARKET));
        let b = render(width, height, Some(&long), &view(Pane::MARKET));
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
        indicators: Default::default(),
    });
    console.apply(&Update::LastPrice {
        symbol: market.symbol,
        price: moved.close,
        time_ms: fixture::NOW_MS,
    });
    let after = render(80, 24, console.snapshot.as_ref(), &console.view);
    assert_ne!(before, after);
    let price = trademon::fmt::price(Some(moved.close));
    assert!(after.contains(&price), "{price} not on screen:\n{after}");
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
    let screen = render(80, 24, Some(&snapshot), &view(Pane::HEALTH));
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

/// What the text snapshots cannot show: colours and the dimmer open candle.
#[test]
fn candles_are_coloured_and_the_open_one_is_dim() {
    use ratatui::style::{Color, Modifier};
    let snapshot = fixture::snapshot();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let keymap = Keymap::default_bindings();
    terminal
        .draw(|frame| draw(frame, Some(&snapshot), &ViewState::default(), &keymap))
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
    let glyphs = ["│", "┃", "╵", "╷", "╹", "╻", "╽", "╿"];
    let candle_cells = |x: u16| -> Vec<ratatui::style::Style> {
        (3..18)
            .map(|y| &buffer[(x, y)])
            .filter(|c| glyphs.contains(&c.symbol()))
            .map(|c| c.style())
            .collect()
    };
    // The newest (open) candle sits just left of the price scale, where the price tag is.
    let axis_x = (3..18)
        .flat_map(|y| (27..80).map(move |x| (x, y)))
        .find(|&(x, y)| buffer[(x, y)].symbol() == "◀")
        .map(|(x, _)| x)
        .unwrap();
    let open = candle_cells(axis_x - 1);
    assert!(!open.is_empty());
    let series = &snapshot.markets[0].series[0];
    let open_candle = series.open.unwrap();
    let expected = if open_candle.close >= open_candle.open {
        Color::Green
    } else {
        Color::Red
    };
    for style in &open {
        assert_eq!(style.fg, Some(expected));
        assert!(style.add_modifier.contains(Modifier::DIM));
    }
    let last_closed = series.closed.back().unwrap();
    let expected = if last_closed.close >= last_closed.open {
        Color::Green
    } else {
        Color::Red
    };
    for style in candle_cells(axis_x - 2) {
        assert_eq!(style.fg, Some(expected));
        assert!(!style.add_modifier.contains(Modifier::DIM));
    }
    // The SIMULATED badge in the status bar is black on yellow.
    let badge = &buffer[(2, 23)];
    assert_eq!((badge.fg, badge.bg), (Color::Black, Color::Yellow));
}

#[test]
fn signals_80x24() {
    let snapshot = fixture::snapshot_with_models();
    insta::assert_snapshot!(render(80, 24, Some(&snapshot), &view(Pane::SIGNALS)));
}

#[test]
fn signals_160x48_second_symbol_selected() {
    let snapshot = fixture::snapshot_with_models();
    let view = ViewState {
        pane: Pane::SIGNALS,
        symbol_index: 1,
        ..ViewState::default()
    };
    insta::assert_snapshot!(render(160, 48, Some(&snapshot), &view));
}

#[test]
fn signals_without_a_model() {
    let snapshot = fixture::snapshot();
    insta::assert_snapshot!(render(80, 24, Some(&snapshot), &view(Pane::SIGNALS)));
}

#[test]
fn models_160x48() {
    let snapshot = fixture::snapshot_with_models();
    let view = ViewState {
        pane: Pane::MODELS,
        model_selected: 2,
        ..ViewState::default()
    };
    insta::assert_snapshot!(render(160, 48, Some(&snapshot), &view));
}

#[test]
fn models_80x24_with_the_fallback_running() {
    let mut snapshot = fixture::snapshot_with_models();
    snapshot.models.fallback = Some("weights blob sha256 mismatch".to_string());
    snapshot.models.training = None;
    snapshot.models.last_training = Some("1.2.0 registered as a challenger".to_string());
    insta::assert_snapshot!(render(80, 24, Some(&snapshot), &view(Pane::MODELS)));
}

#[test]
fn health_shows_the_model_fallback() {
    let mut snapshot = fixture::snapshot_with_models();
    snapshot.models.fallback = Some("weights blob sha256 mismatch".to_string());
    let screen = render(160, 48, Some(&snapshot), &view(Pane::HEALTH));
    let first = screen.lines().nth(1).unwrap();
    assert!(first.contains("LOGISTIC FALLBACK"), "{first}");
    assert!(first.contains("sha256 mismatch"), "{first}");
    let snapshot = fixture::snapshot_with_models();
    let screen = render(160, 48, Some(&snapshot), &view(Pane::HEALTH));
    assert!(
        screen.lines().nth(1).unwrap().contains("model 1.1.0"),
        "{screen}"
    );
}
