//! The Trade pane (the paper account), its order ticket, its keys and the alert toasts (part of
//! the tui_snapshots tests).

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use trademon::domain::Symbol;
use trademon::protocol::{
    AlertLevel, AlertToast, Command, OrderSide, OrderTicket, PaperFill, PaperOrder, PaperPosition,
    PaperView, RiskView, Snapshot, TicketKind, Update,
};
use trademon::tui::{Console, Keymap, Outcome, Pane, ViewState};

use super::fixture::{self, NOW_MS};
use super::render;

const TRADE: Pane = Pane::new("trade");

fn sym(s: &str) -> Symbol {
    s.parse().unwrap()
}

/// A paper account: 2 positions, 3 orders, 5 fills, an equity curve against buy-and-hold, the
/// kill switch set, a cooldown, a refused order and a note.
pub fn paper() -> PaperView {
    let start = NOW_MS - 120 * 60_000;
    let equity_curve: Vec<(i64, f64)> = (0..=120)
        .map(|i| {
            let t = start + i * 60_000;
            let x = i as f64;
            (
                t,
                10_000.0 + 4.0 * x - 0.03 * x * x + 25.0 * (x / 7.0).sin(),
            )
        })
        .collect();
    let buy_and_hold = (0..=120)
        .map(|i| (start + i * 60_000, 10_000.0 + 1.5 * i as f64))
        .collect();
    let fill = |i: i64, symbol: &str, side, quantity, price, reason: &str| PaperFill {
        order_id: i,
        symbol: sym(symbol),
        side,
        quantity,
        price,
        fee: quantity * price * 0.001,
        maker: reason == "manual",
        time_ms: NOW_MS - (6 - i) * 600_000,
        reason: reason.to_string(),
    };
    PaperView {
        enabled: true,
        mode: "bar".to_string(),
        quote_asset: "USDT".to_string(),
        started_ms: start,
        start_cash: 10_000.0,
        cash: 4_180.25,
        equity: 10_234.56,
        realised: 251.10,
        unrealised: -4.24,
        fees: 12.30,
        drawdown: 0.0124,
        max_drawdown: 0.1012,
        positions: vec![
            PaperPosition {
                symbol: sym("BTCUSDT"),
                side: "long".to_string(),
                quantity: 0.05,
                entry_price: 64_210.5,
                entry_time_ms: NOW_MS - 3_000_000,
                mark: 64_305.0,
                unrealised: 4.73,
            },
            PaperPosition {
                symbol: sym("ETHUSDT"),
                side: "short".to_string(),
                quantity: 0.8,
                entry_price: 3_410.2,
                entry_time_ms: NOW_MS - 1_200_000,
                mark: 3_421.16,
                unrealised: -8.97,
            },
        ],
        orders: vec![
            PaperOrder {
                id: 41,
                symbol: sym("BTCUSDT"),
                side: OrderSide::Sell,
                kind: "stop-loss".to_string(),
                quantity: None,
                price: Some(62_900.0),
                placed_ms: NOW_MS - 3_000_000,
                origin: "signal".to_string(),
            },
            PaperOrder {
                id: 42,
                symbol: sym("BTCUSDT"),
                side: OrderSide::Sell,
                kind: "trailing".to_string(),
                quantity: None,
                price: Some(63_020.0),
                placed_ms: NOW_MS - 3_000_000,
                origin: "signal".to_string(),
            },
            PaperOrder {
                id: 47,
                symbol: sym("SOLUSDT"),
                side: OrderSide::Buy,
                kind: "limit".to_string(),
                quantity: Some(12.5),
                price: Some(141.2),
                placed_ms: NOW_MS - 300_000,
                origin: "manual".to_string(),
            },
        ],
        fills: vec![
            fill(1, "BTCUSDT", OrderSide::Buy, 0.04, 63_100.0, "signal"),
            fill(2, "BTCUSDT", OrderSide::Sell, 0.04, 64_650.0, "take-profit"),
            fill(3, "SOLUSDT", OrderSide::Buy, 10.0, 139.5, "manual"),
            fill(4, "SOLUSDT", OrderSide::Sell, 10.0, 137.1, "stop-loss"),
            fill(5, "BTCUSDT", OrderSide::Buy, 0.05, 64_210.5, "signal"),
        ],
        fills_total: 5,
        equity_curve,
        buy_and_hold,
        risk: RiskView {
            kill_switch: true,
            kill_reason: Some("drawdown 10.1 % ≥ 10 % at 12:41".to_string()),
            cooldowns: vec![(sym("SOLUSDT"), NOW_MS + 900_000)],
            open_positions: 2,
            max_open_positions: 3,
            max_drawdown: 0.10,
            last_rejection: Some("SOLUSDT buy: cooldown after a stop-loss".to_string()),
        },
        notes: vec!["2 resting orders evaluated over 14 min of downtime".to_string()],
    }
}

fn snapshot() -> Snapshot {
    let mut snapshot = fixture::snapshot();
    snapshot.paper = paper();
    snapshot
}

fn trade_view() -> ViewState {
    ViewState {
        pane: TRADE,
        ..ViewState::default()
    }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn press(view: &mut ViewState, snapshot: &Snapshot, code: KeyCode) -> Outcome {
    view.key(key(code), Some(snapshot), &Keymap::default_bindings())
}

fn typed(view: &mut ViewState, snapshot: &Snapshot, text: &str) {
    for c in text.chars() {
        assert_eq!(press(view, snapshot, KeyCode::Char(c)), Outcome::Continue);
    }
}

/// The Trade pane with the ticket open, an error showing (for the tiny-terminal test too).
pub fn view_with_ticket() -> ViewState {
    let snapshot = snapshot();
    let mut view = trade_view();
    press(&mut view, &snapshot, KeyCode::Char('o'));
    press(&mut view, &snapshot, KeyCode::Tab);
    press(&mut view, &snapshot, KeyCode::Char(' '));
    press(&mut view, &snapshot, KeyCode::Tab);
    typed(&mut view, &snapshot, "-1");
    press(&mut view, &snapshot, KeyCode::Enter);
    view
}

#[test]
fn trade_160x48() {
    let screen = render(160, 48, Some(&snapshot()), &trade_view());
    assert!(screen.contains("KILL SWITCH: no new entries"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn trade_80x24() {
    let view = ViewState {
        order_selected: 2,
        ..trade_view()
    };
    let screen = render(80, 24, Some(&snapshot()), &view);
    assert!(screen.contains("press R to reset"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn trade_with_paper_trading_off_80x24() {
    let screen = render(80, 24, Some(&fixture::snapshot()), &trade_view());
    assert!(screen.contains("enabled = true"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn order_ticket_with_a_validation_error_80x24() {
    let view = view_with_ticket();
    let screen = render(80, 24, Some(&snapshot()), &view);
    assert!(screen.contains("must be above zero"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn toasts_over_any_pane_newest_on_top_80x24() {
    let mut console = Console::default();
    console.apply(&Update::Snapshot(Box::new(snapshot())));
    let now = Instant::now();
    for (i, (title, text)) in [
        ("fill", "BTCUSDT buy 0.05 at 64210.50 (signal)"),
        (
            "stop-loss",
            "SOLUSDT sell 10 at 137.10: stop-loss hit, cooldown 15 min",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let alert = AlertToast {
            time_ms: NOW_MS - 60_000 + i as i64 * 30_000,
            event: title.to_string(),
            level: if i == 0 {
                AlertLevel::Silent
            } else {
                AlertLevel::On
            },
            title: title.to_string(),
            text: text.to_string(),
        };
        assert_eq!(console.apply_at(&Update::Alert(Box::new(alert)), now), None);
    }
    assert!(console.take_bell());
    let screen = render(80, 24, console.snapshot.as_ref(), &console.view);
    let stop = screen.find("SOLUSDT sell 10").unwrap();
    let fill = screen.find("BTCUSDT buy 0.05").expect(&screen);
    assert!(stop < fill, "newest on top\n{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn trade_keys_send_the_commands() {
    let snapshot = snapshot();
    let mut view = trade_view();
    let market = |side| {
        Outcome::Send(Command::PlaceOrder(Box::new(OrderTicket {
            symbol: sym("BTCUSDT"),
            side,
            kind: TicketKind::Market,
            quantity: None,
            limit_price: None,
            stop_loss: None,
            take_profit: None,
            trailing: None,
        })))
    };
    assert_eq!(
        press(&mut view, &snapshot, KeyCode::Char('b')),
        market(OrderSide::Buy)
    );
    assert_eq!(
        press(&mut view, &snapshot, KeyCode::Char('s')),
        market(OrderSide::Sell)
    );
    // Down moves the order selection here (clamped), not the symbol.
    for _ in 0..4 {
        press(&mut view, &snapshot, KeyCode::Down);
    }
    press(&mut view, &snapshot, KeyCode::Up);
    assert_eq!((view.order_selected, view.symbol_index), (1, 0));
    assert_eq!(
        press(&mut view, &snapshot, KeyCode::Char('x')),
        Outcome::Send(Command::CancelOrder { id: 42 })
    );
    assert_eq!(
        press(&mut view, &snapshot, KeyCode::Char('R')),
        Outcome::Send(Command::ResetKillSwitch)
    );
    // Elsewhere the same keys keep their global meaning; with paper trading off they send none.
    let mut market_view = ViewState::default();
    assert_eq!(
        press(&mut market_view, &snapshot, KeyCode::Char('b')),
        Outcome::Send(Command::RollbackModel)
    );
    let off = fixture::snapshot();
    let mut view = trade_view();
    for c in ['s', 'x', 'R', 'o'] {
        assert_eq!(
            press(&mut view, &off, KeyCode::Char(c)),
            Outcome::Continue,
            "{c}"
        );
    }
    assert_eq!(view.ticket, None);
}

#[test]
fn the_ticket_sends_a_full_order_and_takes_every_key() {
    let snapshot = snapshot();
    let mut view = trade_view();
    press(&mut view, &snapshot, KeyCode::Char('o'));
    assert!(view.ticket.is_some());
    // Sell, limit, 0.5 at 64000, stop 65500, take 61000, trailing 2 %; 'q' and 'b' are typed into
    // the ticket, not quitting or buying (and refused as a number).
    press(&mut view, &snapshot, KeyCode::Right);
    press(&mut view, &snapshot, KeyCode::Tab);
    press(&mut view, &snapshot, KeyCode::Char(' '));
    press(&mut view, &snapshot, KeyCode::Tab);
    typed(&mut view, &snapshot, "0.5q");
    assert_eq!(
        press(&mut view, &snapshot, KeyCode::Enter),
        Outcome::Continue
    );
    press(&mut view, &snapshot, KeyCode::Backspace);
    for text in ["64000", "65500", "61000", "2"] {
        press(&mut view, &snapshot, KeyCode::Tab);
        typed(&mut view, &snapshot, text);
    }
    assert_eq!(
        press(&mut view, &snapshot, KeyCode::Enter),
        Outcome::Send(Command::PlaceOrder(Box::new(OrderTicket {
            symbol: sym("BTCUSDT"),
            side: OrderSide::Sell,
            kind: TicketKind::Limit,
            quantity: Some(0.5),
            limit_price: Some(64_000.0),
            stop_loss: Some(65_500.0),
            take_profit: Some(61_000.0),
            trailing: Some(0.02),
        })))
    );
    assert_eq!(view.ticket, None, "closed once sent");
    // Esc closes without sending; ctrl-c still quits from inside the ticket.
    press(&mut view, &snapshot, KeyCode::Char('o'));
    assert_eq!(press(&mut view, &snapshot, KeyCode::Esc), Outcome::Continue);
    assert_eq!(view.ticket, None);
    press(&mut view, &snapshot, KeyCode::Char('o'));
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(
        view.key(ctrl_c, Some(&snapshot), &Keymap::default_bindings()),
        Outcome::Quit
    );
}

#[test]
fn garbage_in_the_ticket_sends_nothing() {
    let snapshot = snapshot();
    // (kind toggled to limit?, field tabs from side, text)
    for (limit, tabs, text) in [
        (false, 2, "abc"),
        (false, 2, "-1"),
        (false, 2, "0"),
        (false, 2, "NaN"),
        (true, 3, ""),
        (true, 3, "nan"),
        (false, 5, "75"),
        (false, 3, "-5"),
    ] {
        let mut view = trade_view();
        press(&mut view, &snapshot, KeyCode::Char('o'));
        if limit {
            press(&mut view, &snapshot, KeyCode::Tab);
            press(&mut view, &snapshot, KeyCode::Char(' '));
            press(&mut view, &snapshot, KeyCode::BackTab);
        }
        for _ in 0..tabs {
            press(&mut view, &snapshot, KeyCode::Tab);
        }
        typed(&mut view, &snapshot, text);
        for _ in 0..3 {
            assert_eq!(
                press(&mut view, &snapshot, KeyCode::Enter),
                Outcome::Continue,
                "{text:?} (limit {limit})"
            );
        }
        let ticket = view.ticket.as_ref().unwrap();
        assert!(ticket.error.is_some(), "{text:?}");
    }
}
