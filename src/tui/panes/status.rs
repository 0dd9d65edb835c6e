//! The status bar: where the data comes from (a simulated or replayed source is unmistakable),
//! the link state, the selected symbol and interval, the UTC clock and the help key.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::fmt;
use crate::protocol::{LinkState, Snapshot, SourceInfo};
use crate::tui::keymap::{Action, Keymap};
use crate::tui::theme;
use crate::tui::view::{DaemonLink, ViewState};

/// The badge naming the data source: black on yellow when the prices are not real.
pub fn source_badge(source: &SourceInfo) -> (String, Style) {
    let style = if source.real_prices {
        theme::real_badge()
    } else {
        theme::not_real_badge()
    };
    (source.badge(), style)
}

/// The link state in words with its colour, e.g. `● down, retry in 3s: reset by peer`.
pub fn link_text(link: Option<&LinkState>, now_ms: i64) -> (String, Style) {
    match link {
        None => ("● link state unknown".to_string(), theme::muted()),
        Some(LinkState::Connecting) => ("● connecting…".to_string(), Style::new().fg(theme::WARN)),
        Some(LinkState::Connected { since_ms }) => (
            format!("● connected {}", fmt::duration(now_ms - since_ms)),
            Style::new().fg(theme::UP),
        ),
        Some(LinkState::Down {
            reason,
            retry_at_ms,
        }) => {
            let retry = if *retry_at_ms > now_ms {
                format!("retry in {}", fmt::duration(retry_at_ms - now_ms + 999))
            } else {
                "retrying…".to_string()
            };
            // The countdown comes before the reason so a narrow bar cuts the reason, not it.
            (
                format!("● down, {retry}: {reason}"),
                Style::new().fg(theme::DOWN),
            )
        }
    }
}

pub fn draw(
    buf: &mut Buffer,
    area: Rect,
    snapshot: Option<&Snapshot>,
    view: &ViewState,
    keymap: &Keymap,
) {
    buf.set_style(area, theme::status_bar());
    let width = usize::from(area.width);
    let mut left: Vec<Span> = Vec::new();
    let mut right: Vec<String> = Vec::new();
    let (mut link, mut link_style) = match snapshot {
        None if view.engine_stopped => (String::new(), theme::text()),
        None => ("waiting for the engine…".to_string(), theme::muted()),
        Some(s) => {
            let (badge, style) = source_badge(&s.source);
            left.push(Span::styled(badge, style));
            let market = s.markets.get(view.symbol(s.markets.len()));
            let interval = s.intervals.get(view.interval(s.intervals.len()));
            if let (Some(market), Some(interval)) = (market, interval) {
                right.push(format!("{} {}", market.symbol, interval));
            }
            right.push(if s.health.now_ms > 0 {
                format!("{} UTC", fmt::utc_hms(s.health.now_ms))
            } else {
                "--:--:-- UTC".to_string()
            });
            link_text(s.health.link.as_ref(), s.health.now_ms)
        }
    };
    if view.engine_stopped {
        left.push(Span::styled(" ENGINE STOPPED ", theme::alarm_badge()));
    }
    // An attached console: the link to the daemon comes first; while it is lost, the feed's
    // link state on screen is old news, so the daemon's state replaces it.
    match &view.daemon_link {
        None => {}
        Some(DaemonLink::Connected) => {
            left.push(Span::styled(" ⇄ daemon", Style::new().fg(theme::UP)));
        }
        Some(lost) => {
            left.push(Span::styled(" DAEMON GONE ", theme::alarm_badge()));
            link = match lost {
                DaemonLink::Lost { retry_in_s, reason } => {
                    format!("reconnecting in {retry_in_s}s, last state kept: {reason}")
                }
                _ => "reconnecting…, last state kept".to_string(),
            };
            link_style = Style::new().fg(theme::WARN);
        }
    }
    if let Some(binding) = keymap
        .bindings()
        .iter()
        .find(|b| b.action == Action::ToggleHelp)
    {
        right.push(format!("{} help", binding.key.label()));
    }
    let left_width: usize = left.iter().map(|s| s.width()).sum();
    // Keep the right-hand pieces in order of importance while they fit next to the badges.
    let mut kept = 0;
    let mut right_width = 0;
    for piece in &right {
        let w = piece.chars().count() + 3;
        if left_width + right_width + w > width {
            break;
        }
        right_width += w;
        kept += 1;
    }
    let room = width.saturating_sub(left_width + right_width + 2);
    if !view.engine_stopped && room > 1 {
        left.push(Span::raw(" "));
        left.push(Span::styled(fmt::fit(&link, room), link_style));
    }
    buf.set_line(area.x, area.y, &Line::from(left), area.width);
    let right_text: String = right[..kept]
        .iter()
        .map(|p| format!(" │ {p}"))
        .collect::<String>()
        .trim_start_matches(" │")
        .to_string();
    let right_text = format!("{right_text} ");
    let w = right_text.chars().count() as u16;
    if w <= area.width {
        buf.set_stringn(
            area.right() - w,
            area.y,
            &right_text,
            usize::from(w),
            theme::status_bar(),
        );
    }
}
