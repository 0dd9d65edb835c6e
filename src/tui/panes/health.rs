//! The Health pane: link state and source, one row per stream, the feed and store totals, and the
//! recent feed events, newest first.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Widget};

use crate::domain::{FeedEvent, FeedEventKind};
use crate::fmt;
use crate::protocol::{HealthReport, LinkState, Snapshot, StreamHealth, StreamState};
use crate::tui::keymap::Action;
use crate::tui::theme;
use crate::tui::view::ViewState;

use super::{EventState, status};

/// Rows the stream table moves per scroll action.
const SCROLL_STEP: usize = 5;
/// Width of the totals block (borders included).
const TOTALS_WIDTH: u16 = 32;
/// Totals lines plus borders: the least height of the top section.
const TOTALS_HEIGHT: u16 = 12;
/// From this width on, the event log goes beside the tables instead of under them.
const WIDE: u16 = 120;
/// Columns of the stream table after the name: state, msg/s, age, total and the gaps.
const STREAM_NUMBERS_WIDTH: usize = 1 + 5 + 1 + 6 + 1 + 6 + 1 + 8;

fn stream_name_width(streams: &[StreamHealth]) -> usize {
    streams
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(6)
}

/// Width the stream table needs to show every name whole.
fn stream_table_width(streams: &[StreamHealth]) -> u16 {
    (stream_name_width(streams) + STREAM_NUMBERS_WIDTH).min(usize::from(u16::MAX / 2)) as u16
}

/// Scrolling moves the stream table; everything else goes on to the global handler.
pub fn handle(view: &mut ViewState, action: Action, snapshot: Option<&Snapshot>) -> EventState {
    let streams = snapshot.map_or(0, |s| s.health.streams.len());
    match action {
        Action::ScrollDown => {
            view.stream_scroll = (view.stream_scroll + SCROLL_STEP).min(streams.saturating_sub(1));
            EventState::Consumed
        }
        Action::ScrollUp => {
            view.stream_scroll = view.stream_scroll.saturating_sub(SCROLL_STEP);
            EventState::Consumed
        }
        _ => EventState::NotConsumed,
    }
}

pub fn draw(buf: &mut Buffer, area: Rect, snapshot: &Snapshot, view: &ViewState) {
    if area.height < 3 {
        return;
    }
    let health = &snapshot.health;
    draw_link_line(buf, Rect::new(area.x, area.y, area.width, 1), snapshot);
    let rest = area.height - 1;
    let top_y = area.y + 1;
    if area.width >= WIDE {
        // Wide: totals above the stream table on the left, the event log the full height beside.
        let left_width = (stream_table_width(&health.streams) + 2)
            .max(TOTALS_WIDTH)
            .min(area.width / 2);
        let totals_height = TOTALS_HEIGHT.min(rest);
        let totals_area = Rect::new(area.x, top_y, left_width, totals_height);
        let streams_area = Rect::new(
            area.x,
            top_y + totals_height,
            left_width,
            rest - totals_height,
        );
        let events_area = Rect::new(area.x + left_width, top_y, area.width - left_width, rest);
        draw_totals(buf, totals_area, health);
        draw_streams(buf, streams_area, &health.streams, view.stream_scroll);
        draw_events(buf, events_area, snapshot);
        return;
    }
    let wanted = (health.streams.len() as u16)
        .saturating_add(3)
        .max(TOTALS_HEIGHT);
    let top_height = wanted.min(rest.saturating_sub(5)).max(rest.min(4));
    let totals_width = TOTALS_WIDTH.min(area.width / 2);
    let streams_area = Rect::new(area.x, top_y, area.width - totals_width, top_height);
    let totals_area = Rect::new(streams_area.right(), top_y, totals_width, top_height);
    let events_area = Rect::new(area.x, top_y + top_height, area.width, rest - top_height);
    draw_streams(buf, streams_area, &health.streams, view.stream_scroll);
    draw_totals(buf, totals_area, health);
    draw_events(buf, events_area, snapshot);
}

fn block(title: &'static str) -> Block<'static> {
    Block::bordered()
        .border_style(theme::border())
        .title(Span::styled(title, theme::heading()))
}

fn draw_link_line(buf: &mut Buffer, area: Rect, snapshot: &Snapshot) {
    let health = &snapshot.health;
    let (mut link, style) = status::link_text(health.link.as_ref(), health.now_ms);
    if let Some(LinkState::Connected { since_ms }) = health.link {
        link.push_str(&format!(" (since {} UTC)", fmt::utc_hms(since_ms)));
    }
    let (badge, badge_style) = status::source_badge(&snapshot.source);
    let detail = snapshot.source.detail_text();
    let mut spans = vec![
        Span::styled(" link ", theme::muted()),
        Span::styled(link, style),
        Span::styled("   source ", theme::muted()),
        Span::styled(badge, badge_style),
        Span::raw(format!(" {detail}")),
        Span::styled("   model ", theme::muted()),
    ];
    let models = &snapshot.models;
    match (&models.fallback, models.active_model()) {
        (Some(reason), _) => {
            spans.push(Span::styled(" LOGISTIC FALLBACK ", theme::alarm_badge()));
            spans.push(Span::raw(format!(" {reason}")));
        }
        (None, Some(model)) => spans.push(Span::raw(model.version.clone())),
        (None, None) => spans.push(Span::styled("none", theme::muted())),
    }
    let line = Line::from(spans);
    buf.set_line(area.x, area.y, &line, area.width);
}

fn state_style(state: StreamState) -> (&'static str, Style) {
    match state {
        StreamState::Live => ("Live", Style::new().fg(theme::UP)),
        StreamState::Stale => ("Stale", Style::new().fg(theme::WARN)),
        StreamState::Down => ("Down", Style::new().fg(theme::DOWN)),
    }
}

fn age(ms: Option<i64>) -> String {
    match ms {
        None => "-".to_string(),
        Some(ms) if ms < 10_000 => format!("{:.1}s", ms.max(0) as f64 / 1_000.0),
        Some(ms) => fmt::duration(ms),
    }
}

fn draw_streams(buf: &mut Buffer, area: Rect, streams: &[StreamHealth], scroll: usize) {
    let block = block(" Streams ");
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let width = usize::from(inner.width);
    // state, msg/s, age, total: columns after the name, which gets what is left.
    let numbers = 1 + 5 + 1 + 6 + 1 + 6 + 1 + 8;
    let longest = streams
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    let name_w = longest.max(6).min(width.saturating_sub(numbers)).max(4);
    let header = format!(
        "{:<name_w$} {:<5} {:>6} {:>6} {:>8}",
        "stream", "state", "msg/s", "age", "total"
    );
    buf.set_stringn(inner.x, inner.y, header, width, theme::muted());
    if streams.is_empty() {
        if inner.height > 1 {
            buf.set_stringn(
                inner.x,
                inner.y + 1,
                "no streams yet",
                width,
                theme::muted(),
            );
        }
        return;
    }
    let rows = usize::from(inner.height - 1);
    let first = scroll.min(streams.len().saturating_sub(rows));
    let (shown, more) = if streams.len() - first > rows {
        let shown = rows.saturating_sub(1);
        (shown, streams.len() - first - shown)
    } else {
        (streams.len() - first, 0)
    };
    for (i, stream) in streams.iter().skip(first).take(shown).enumerate() {
        let y = inner.y + 1 + i as u16;
        let (state, style) = state_style(stream.state);
        let line = Line::from(vec![
            Span::raw(format!("{:<name_w$} ", fmt::fit(&stream.name, name_w))),
            Span::styled(format!("{state:<5}"), style),
            Span::raw(format!(
                " {:>6.1} {:>6} {:>8}",
                stream.messages_per_sec,
                age(stream.last_message_age_ms),
                stream.messages
            )),
        ]);
        buf.set_line(inner.x, y, &line, inner.width);
    }
    if more > 0 {
        let y = inner.y + 1 + shown as u16;
        let text = format!("+{more} more");
        buf.set_stringn(inner.x, y, text, width, theme::muted());
    }
}

fn ms_value(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"))
}

fn draw_totals(buf: &mut Buffer, area: Rect, health: &HealthReport) {
    let block = block(" Totals ");
    let inner = block.inner(area);
    block.render(area, buf);
    // A store that is not storing everything comes first, in red (uptime drops off the end).
    let alarm = health
        .db_writer_problem
        .as_ref()
        .map(|why| ("store", why.clone()));
    let lines = [
        ("messages/s", format!("{:.1}", health.messages_per_sec)),
        // Failed connects beside the reconnects that worked, as gaps found beside repaired.
        (
            "reconnects/failed",
            format!("{} / {}", health.reconnects, health.failed_connects),
        ),
        (
            "gaps found/repaired",
            format!("{} / {}", health.gaps_found, health.gaps_repaired),
        ),
        ("candles backfilled", health.candles_backfilled.to_string()),
        ("parse errors", health.parse_errors.to_string()),
        ("rate limited", health.rate_limited.to_string()),
        (
            "DB write p50/p99",
            format!(
                "{}/{} ms",
                ms_value(health.db_write_p50_ms),
                ms_value(health.db_write_p99_ms)
            ),
        ),
        ("rows stored", health.rows_stored.to_string()),
        (
            "DB size",
            health.db_bytes.map_or_else(|| "-".to_string(), fmt::bytes),
        ),
        ("uptime", fmt::duration(health.uptime_ms)),
    ];
    let width = usize::from(inner.width);
    let lines = alarm.iter().chain(lines.iter());
    for (i, (label, value)) in lines.enumerate().take(usize::from(inner.height)) {
        let y = inner.y + i as u16;
        let value_w = value.chars().count().min(width);
        let label_w = width.saturating_sub(value_w + 1);
        buf.set_stringn(
            inner.x,
            y,
            fmt::fit(label, label_w),
            label_w,
            theme::muted(),
        );
        let x = inner.right() - value_w as u16;
        let style = if i == 0 && alarm.is_some() {
            Style::new().fg(theme::DOWN)
        } else {
            theme::text()
        };
        buf.set_stringn(x, y, value, value_w, style);
    }
}

fn kind_style(kind: FeedEventKind) -> Style {
    match kind {
        FeedEventKind::Connected | FeedEventKind::Backfilled | FeedEventKind::GapRepaired => {
            Style::new().fg(theme::UP)
        }
        FeedEventKind::GapFound | FeedEventKind::RateLimited => Style::new().fg(theme::WARN),
        FeedEventKind::Disconnected | FeedEventKind::ParseError => Style::new().fg(theme::DOWN),
    }
}

fn draw_events(buf: &mut Buffer, area: Rect, snapshot: &Snapshot) {
    let block = block(" Recent feed events ");
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let width = usize::from(inner.width);
    let events = &snapshot.recent_events;
    if events.is_empty() {
        buf.set_stringn(
            inner.x,
            inner.y,
            "no feed events yet",
            width,
            theme::muted(),
        );
        return;
    }
    let stream_w = events
        .iter()
        .map(|e| e.stream.chars().count())
        .max()
        .unwrap_or(1)
        .min(24);
    for (i, event) in events
        .iter()
        .rev()
        .take(usize::from(inner.height))
        .enumerate()
    {
        let line = event_line(event, stream_w);
        buf.set_line(inner.x, inner.y + i as u16, &line, inner.width);
    }
}

fn event_line(event: &FeedEvent, stream_w: usize) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{} ", fmt::utc_hms(event.time_ms)), theme::muted()),
        Span::styled(
            format!("{:<12} ", event.kind.as_str()),
            kind_style(event.kind),
        ),
        Span::raw(format!("{:<stream_w$} ", fmt::fit(&event.stream, stream_w))),
        Span::raw(event.detail.clone()),
    ])
}
