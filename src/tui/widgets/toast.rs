//! Alert toasts: the few most recent `Update::Alert`s, each kept for a while of wall time, drawn
//! in the top-right corner over whatever pane is shown (newest on top).

use std::time::{Duration, Instant};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Block, Clear, Widget};

use crate::fmt;
use crate::protocol::{AlertLevel, AlertToast};
use crate::tui::theme;

/// Toasts shown at once.
pub const MAX_TOASTS: usize = 3;
/// How long a toast stays.
pub const TOAST_FOR: Duration = Duration::from_secs(6);
/// A toast's width, borders included (less on a narrow screen).
const WIDTH: u16 = 44;

/// One toast on screen until `until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toast {
    pub title: String,
    pub text: String,
    pub level: AlertLevel,
    pub time_ms: i64,
    pub until: Instant,
}

/// The toasts on screen, newest first, at most [`MAX_TOASTS`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Toasts(Vec<Toast>);

impl Toasts {
    /// Shows an alert from `now` for [`TOAST_FOR`]; the oldest goes when there are too many.
    pub fn push(&mut self, alert: &AlertToast, now: Instant) {
        self.0.insert(
            0,
            Toast {
                title: alert.title.clone(),
                text: alert.text.clone(),
                level: alert.level,
                time_ms: alert.time_ms,
                until: now + TOAST_FOR,
            },
        );
        self.0.truncate(MAX_TOASTS);
    }

    /// Drops the toasts whose time is up; says whether any went.
    pub fn expire(&mut self, now: Instant) -> bool {
        let before = self.0.len();
        self.0.retain(|t| t.until > now);
        self.0.len() != before
    }

    pub fn iter(&self) -> impl Iterator<Item = &Toast> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Draws the toasts stacked down from the top-right corner of `area`.
pub fn draw(buf: &mut Buffer, area: Rect, toasts: &Toasts) {
    let width = WIDTH.min(area.width);
    if width < 12 {
        return;
    }
    let x = area.right() - width;
    let mut y = area.y;
    for toast in toasts.iter() {
        let inner_width = usize::from(width - 4);
        let lines = wrap(&toast.text, inner_width, 2);
        let height = 2 + lines.len().max(1) as u16;
        if y + height > area.bottom() {
            break;
        }
        let rect = Rect::new(x, y, width, height);
        let colour = match toast.level {
            AlertLevel::On => theme::WARN,
            AlertLevel::Silent => theme::MUTED,
        };
        let title = format!(
            " {} {} ",
            fmt::utc_hms(toast.time_ms),
            fmt::fit(&toast.title, inner_width.saturating_sub(10))
        );
        let block = Block::bordered()
            .border_style(Style::new().fg(colour))
            .title(Span::styled(title, theme::heading().fg(colour)));
        let inner = block.inner(rect);
        Clear.render(rect, buf);
        block.render(rect, buf);
        for (i, line) in lines.iter().enumerate() {
            buf.set_stringn(
                inner.x + 1,
                inner.y + i as u16,
                line,
                inner_width,
                theme::text(),
            );
        }
        y += height;
    }
}

/// Words wrapped to `width`, at most `rows` lines (the last one cut with "…" when more is left).
fn wrap(text: &str, width: usize, rows: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > rows {
        lines.truncate(rows);
        if let Some(last) = lines.last_mut() {
            *last = fmt::fit(&format!("{last} …"), width);
        }
    }
    lines.iter().map(|l| fmt::fit(l, width)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_at_most_three_and_they_expire() {
        let now = Instant::now();
        let mut toasts = Toasts::default();
        for i in 0..5 {
            let alert = AlertToast {
                title: format!("t{i}"),
                ..AlertToast::default()
            };
            toasts.push(&alert, now + Duration::from_secs(i));
        }
        let titles: Vec<&str> = toasts.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(titles, ["t4", "t3", "t2"]);
        assert!(!toasts.expire(now + Duration::from_secs(7)));
        assert!(toasts.expire(now + Duration::from_secs(9)));
        assert_eq!(toasts.iter().count(), 1);
        assert!(toasts.expire(now + Duration::from_secs(11)));
        assert!(toasts.is_empty());
    }

    #[test]
    fn text_wraps_on_words_and_is_cut() {
        assert_eq!(wrap("a bb ccc", 4, 3), ["a bb", "ccc"]);
        let cut = wrap("one two three four five", 8, 2);
        assert_eq!(cut.len(), 2);
        assert!(cut[1].ends_with('…'), "{cut:?}");
    }
}
