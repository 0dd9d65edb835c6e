//! The Signals pane: the latest signal of every series with its confidence, probabilities and
//! member votes; the active model's indicator weights as bars; and, for the selected symbol, the
//! features that moved its signal most.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::domain::Signal;
use crate::fmt;
use crate::protocol::{FeatureWeight, SignalInfo, Snapshot};
use crate::tui::theme;
use crate::tui::view::ViewState;
use crate::tui::widgets::block;

/// Height of the signal table at most (borders included), when there is room for the rest.
const TABLE_MAX: u16 = 12;
/// Characters of a weight or attribution bar at most.
const BAR: usize = 20;

pub fn signal_style(signal: Signal) -> Style {
    match signal {
        Signal::Buy => Style::new()
            .fg(theme::UP)
            .add_modifier(ratatui::style::Modifier::BOLD),
        Signal::Sell => Style::new()
            .fg(theme::DOWN)
            .add_modifier(ratatui::style::Modifier::BOLD),
        Signal::Hold => theme::muted(),
    }
}

/// Signals in the order of the markets, then of the intervals.
fn ordered(snapshot: &Snapshot) -> Vec<&SignalInfo> {
    let mut signals: Vec<&SignalInfo> = snapshot.signals.iter().collect();
    let rank = |s: &SignalInfo| {
        (
            snapshot.markets.iter().position(|m| m.symbol == s.symbol),
            snapshot.intervals.iter().position(|i| *i == s.interval),
        )
    };
    signals.sort_by_key(|s| rank(s));
    signals
}

pub fn draw(buf: &mut Buffer, area: Rect, snapshot: &Snapshot, view: &ViewState) {
    if area.height < 4 {
        return;
    }
    let mut y = area.y;
    if let Some(reason) = &snapshot.models.fallback {
        let line = Line::from(vec![
            Span::styled(" MODEL FAILED ", theme::alarm_badge()),
            Span::raw(format!(" logistic baseline in use: {reason}")),
        ]);
        buf.set_line(area.x, y, &line, area.width);
        y += 1;
    }
    let rest = area.bottom() - y;
    let signals = ordered(snapshot);
    let wanted = (signals.len() as u16).max(1) + 3;
    let table_height = wanted
        .min(TABLE_MAX)
        .min(rest.saturating_sub(6).max(rest.min(4)));
    let table = Rect::new(area.x, y, area.width, table_height);
    let selected_symbol = snapshot
        .markets
        .get(view.symbol(snapshot.markets.len()))
        .map(|m| m.symbol);
    draw_table(buf, table, snapshot, &signals, selected_symbol);
    let below = Rect::new(
        area.x,
        table.bottom(),
        area.width,
        area.bottom() - table.bottom(),
    );
    if below.height < 3 {
        return;
    }
    let left = Rect::new(below.x, below.y, below.width / 2, below.height);
    let right = Rect::new(
        left.right(),
        below.y,
        below.width - left.width,
        below.height,
    );
    draw_weights(buf, left, snapshot);
    let chosen = signals
        .iter()
        .find(|s| Some(s.symbol) == selected_symbol)
        .copied();
    draw_drivers(buf, right, chosen);
}

fn draw_table(
    buf: &mut Buffer,
    area: Rect,
    snapshot: &Snapshot,
    signals: &[&SignalInfo],
    selected: Option<crate::domain::Symbol>,
) {
    let inner = block(" Signals ".into()).inner(area);
    block(" Signals ".into()).render(area, buf);
    if inner.height == 0 {
        return;
    }
    if signals.is_empty() {
        let text = match snapshot.models.active_model() {
            None if snapshot.models.fallback.is_none() => {
                "no model is active: train one (t) or pick one in the Models pane (4)"
            }
            _ => "no signal yet: the first one comes with the next closed candle",
        };
        buf.set_stringn(
            inner.x + 1,
            inner.y,
            text,
            usize::from(inner.width),
            theme::muted(),
        );
        return;
    }
    let header = format!(
        "{:<10} {:<4} {:<6} {:>5}  {:>5} {:>5} {:>5}  {:<5} {:<8} {}",
        "symbol",
        "int",
        "signal",
        "conf",
        "down",
        "flat",
        "up",
        "votes",
        "model",
        "candle (UTC), age"
    );
    buf.set_stringn(
        inner.x,
        inner.y,
        header,
        usize::from(inner.width),
        theme::muted(),
    );
    let now = snapshot.health.now_ms;
    for (row, signal) in signals
        .iter()
        .take(usize::from(inner.height - 1))
        .enumerate()
    {
        let y = inner.y + 1 + row as u16;
        let [down, flat, up] = signal.probabilities;
        let [vd, vf, vu] = signal.votes;
        let model = if signal.fallback {
            "fallback".to_string()
        } else {
            fmt::fit(&signal.model_version, 8)
        };
        let age = if now > 0 {
            format!(", {}", fmt::duration(now - signal.made_ms))
        } else {
            String::new()
        };
        let line = Line::from(vec![
            Span::raw(format!(
                "{:<10} {:<4} ",
                signal.symbol.as_str(),
                signal.interval.as_str()
            )),
            Span::styled(
                format!("{:<6}", signal.signal.as_str().to_uppercase()),
                signal_style(signal.signal),
            ),
            Span::raw(format!(
                " {:>5.2}  {down:>5.2} {flat:>5.2} {up:>5.2}  {:<5} {model:<8} {}{age}",
                signal.confidence,
                format!("{vd}/{vf}/{vu}"),
                fmt::utc_hm(signal.open_time_ms),
            )),
        ]);
        buf.set_line(inner.x, y, &line, inner.width);
        if Some(signal.symbol) == selected {
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), theme::selected());
        }
    }
}

/// `value` of `max` as a bar of at most `width` cells (eighths for the last one).
pub fn bar(value: f64, max: f64, width: usize) -> String {
    if !(value.is_finite() && max.is_finite() && max > 0.0) || width == 0 {
        return String::new();
    }
    let eighths = ((value.abs() / max).min(1.0) * (width * 8) as f64).round() as usize;
    let mut out = "█".repeat(eighths / 8);
    const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    out.push_str(PARTS[eighths % 8]);
    out
}

fn draw_weights(buf: &mut Buffer, area: Rect, snapshot: &Snapshot) {
    let title = match snapshot.models.active_model() {
        Some(model) => format!(" Indicator weights · {} ", model.version),
        None => " Indicator weights ".to_string(),
    };
    let inner = block(title.clone()).inner(area);
    block(title).render(area, buf);
    let weights = &snapshot.models.weights;
    if weights.is_empty() {
        buf.set_stringn(
            inner.x + 1,
            inner.y,
            "no active model",
            usize::from(inner.width),
            theme::muted(),
        );
        return;
    }
    let mut order: Vec<&FeatureWeight> = weights.iter().collect();
    order.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    let max = order.first().map_or(1.0, |w| w.weight);
    let width = usize::from(inner.width);
    let name_width = 16.min(width / 3);
    // The three parts each weight was set from, when there is room for them.
    let parts = width >= name_width + 7 + 8 + 20;
    let bar_width = if parts {
        BAR.min(width - name_width - 27)
    } else {
        BAR.min(width.saturating_sub(name_width + 7))
    };
    let mut header = format!("{:<name_width$} {:>5} {:<bar_width$}", "feature", "w", "");
    if parts {
        header.push_str(&format!(" {:>6} {:>5} {:>6}", "imp", "pen", "ic"));
    }
    buf.set_stringn(inner.x, inner.y, header, width, theme::muted());
    for (row, w) in order
        .iter()
        .take(usize::from(inner.height.saturating_sub(1)))
        .enumerate()
    {
        let line = Line::from(vec![
            Span::raw(format!(
                "{:<name_width$} {:>5.2} ",
                fmt::fit(&w.name, name_width),
                w.weight
            )),
            Span::styled(
                format!("{:<bar_width$}", bar(w.weight, max, bar_width)),
                Style::new().fg(ratatui::style::Color::Cyan),
            ),
            Span::styled(
                format!(
                    " {:>6.3} {:>5.2} {:>+6.3}",
                    w.importance, w.penalty, w.rank_ic
                ),
                theme::muted(),
            ),
        ]);
        buf.set_line(inner.x, inner.y + 1 + row as u16, &line, inner.width);
    }
}

fn draw_drivers(buf: &mut Buffer, area: Rect, signal: Option<&SignalInfo>) {
    let title = match signal {
        Some(s) => format!(
            " Why {} {} ",
            s.symbol.as_str(),
            s.signal.as_str().to_uppercase()
        ),
        None => " Why ".to_string(),
    };
    let inner = block(title.clone()).inner(area);
    block(title).render(area, buf);
    let Some(signal) = signal else {
        buf.set_stringn(
            inner.x + 1,
            inner.y,
            "no signal for the selected symbol (j/k to choose)",
            usize::from(inner.width),
            theme::muted(),
        );
        return;
    };
    if signal.drivers.is_empty() {
        buf.set_stringn(
            inner.x + 1,
            inner.y,
            "no attribution for this signal",
            usize::from(inner.width),
            theme::muted(),
        );
        return;
    }
    let max = signal
        .drivers
        .iter()
        .map(|(_, v)| v.abs())
        .fold(0.0, f64::max);
    let name_width = 16.min(usize::from(inner.width) / 2);
    let bar_width = BAR.min(usize::from(inner.width).saturating_sub(name_width + 10));
    for (row, (name, value)) in signal
        .drivers
        .iter()
        .take(usize::from(inner.height))
        .enumerate()
    {
        let style = Style::new().fg(if *value >= 0.0 {
            theme::UP
        } else {
            theme::DOWN
        });
        let line = Line::from(vec![
            Span::raw(format!(
                "{:<name_width$} {:>+7.3} ",
                fmt::fit(name, name_width),
                value
            )),
            Span::styled(bar(*value, max, bar_width), style),
        ]);
        buf.set_line(inner.x, inner.y + row as u16, &line, inner.width);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_and_refuse_nonsense() {
        assert_eq!(bar(1.0, 1.0, 4), "████");
        assert_eq!(bar(0.5, 1.0, 4), "██");
        assert_eq!(bar(-0.5, 1.0, 4), "██");
        assert_eq!(bar(1.0 / 32.0, 1.0, 4), "▏");
        assert_eq!(bar(2.0, 1.0, 2), "██");
        assert_eq!(bar(f64::NAN, 1.0, 4), "");
        assert_eq!(bar(1.0, 0.0, 4), "");
    }
}
