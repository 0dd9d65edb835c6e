//! Colours and styles of the console, in one place so panes agree on what green and red mean.

use ratatui::style::{Color, Modifier, Style};

/// Rising prices, live streams, a connected link.
pub const UP: Color = Color::Green;
/// Falling prices, dead streams, a link that is down.
pub const DOWN: Color = Color::Red;
/// Something to watch: a stale stream, a link that is connecting.
pub const WARN: Color = Color::Yellow;
/// Labels and secondary text.
pub const MUTED: Color = Color::DarkGray;

pub fn text() -> Style {
    Style::new()
}

pub fn muted() -> Style {
    Style::new().fg(MUTED)
}

pub fn heading() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub fn border() -> Style {
    Style::new().fg(Color::Gray)
}

/// The active tab in the title line.
pub fn tab_active() -> Style {
    Style::new()
        .fg(Color::Black)
        .bg(Color::Cyan)
        .add_modifier(Modifier::BOLD)
}

pub fn tab_inactive() -> Style {
    Style::new().fg(Color::Gray)
}

/// The selected row of a list.
pub fn selected() -> Style {
    Style::new()
        .bg(Color::DarkGray)
        .add_modifier(Modifier::BOLD)
}

/// Data that is not real (simulated or replayed) must be unmistakable.
pub fn not_real_badge() -> Style {
    Style::new()
        .fg(Color::Black)
        .bg(Color::Yellow)
        .add_modifier(Modifier::BOLD)
}

pub fn real_badge() -> Style {
    Style::new()
        .fg(Color::Black)
        .bg(Color::Green)
        .add_modifier(Modifier::BOLD)
}

pub fn alarm_badge() -> Style {
    Style::new()
        .fg(Color::White)
        .bg(Color::Red)
        .add_modifier(Modifier::BOLD)
}

pub fn status_bar() -> Style {
    Style::new().bg(Color::Black).fg(Color::Gray)
}

/// Green for a gain, red for a loss, plain for no change.
pub fn change(value: f64) -> Style {
    if value > 0.0 {
        Style::new().fg(UP)
    } else if value < 0.0 {
        Style::new().fg(DOWN)
    } else {
        text()
    }
}

/// A candle's colour: bullish green, bearish red; the unfinished candle dimmer.
pub fn candle(bullish: bool, open: bool) -> Style {
    let style = Style::new().fg(if bullish { UP } else { DOWN });
    if open {
        style.add_modifier(Modifier::DIM)
    } else {
        style
    }
}

/// The last-price tag on the price scale.
pub fn price_tag(bullish: bool) -> Style {
    Style::new()
        .fg(Color::Black)
        .bg(if bullish { UP } else { DOWN })
        .add_modifier(Modifier::BOLD)
}

/// The mark on the time axis under a candle that follows missing candles.
pub fn gap_marker() -> Style {
    Style::new().fg(WARN).add_modifier(Modifier::BOLD)
}

/// The `GAP` badge in a chart's title: candles are missing in what it shows.
pub fn gap_badge() -> Style {
    Style::new()
        .fg(Color::Black)
        .bg(WARN)
        .add_modifier(Modifier::BOLD)
}
