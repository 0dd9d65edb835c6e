//! The Models pane's challengers in shadow: each one's paired evidence against the active model
//! on the live candles (pooled over symbols), and for the selected challenger each symbol's.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::protocol::{PairedEvidence, ShadowView};
use crate::tui::theme;

fn verdict_style(verdict: &str) -> Style {
    if verdict == "challenger better" {
        Style::new().fg(theme::UP).add_modifier(Modifier::BOLD)
    } else if verdict == "champion better" {
        Style::new().fg(theme::DOWN)
    } else {
        theme::muted()
    }
}

/// One stream's figures: n, the log-loss difference with its confidence sequence, the two tests
/// and the verdict; shorter on narrow terminals.
fn evidence_spans(e: &PairedEvidence, wide: bool) -> Vec<Span<'static>> {
    if e.n == 0 {
        return vec![Span::styled(e.verdict.clone(), theme::muted())];
    }
    let mut spans = vec![Span::raw(format!(
        "n {} · Δll {:+.4} {}",
        e.n,
        e.mean_log_loss_diff,
        crate::fmt::signed_interval(e.confidence_sequence[0], e.confidence_sequence[1], 4)
    ))];
    if wide {
        spans.push(Span::styled(
            format!(
                " · DM p {:.3} · McNemar {}/{} p {:.3} · acc {:.3}/{:.3}",
                e.dm_p,
                e.only_active_right,
                e.only_challenger_right,
                e.mcnemar_p,
                e.accuracy_active,
                e.accuracy_challenger
            ),
            theme::muted(),
        ));
    }
    spans.push(Span::raw(" → "));
    spans.push(Span::styled(e.verdict.clone(), verdict_style(&e.verdict)));
    spans
}

/// Draws the block in `area`; `selected` is the model selected in the table. Returns the lines
/// used (0 when there is no challenger).
pub fn draw(
    buf: &mut Buffer,
    area: Rect,
    shadow: &ShadowView,
    selected: Option<i64>,
    wide: bool,
) -> u16 {
    if shadow.challengers.is_empty() || area.height == 0 {
        return 0;
    }
    let mut y = area.y;
    let against = shadow.against.as_deref().unwrap_or("no active model");
    let mut head = vec![
        Span::styled(" shadow ", theme::heading()),
        Span::styled(
            format!("challengers vs {against} on live candles (Δll = champion − challenger)"),
            theme::muted(),
        ),
    ];
    if shadow.over_limit > 0 {
        head.push(Span::styled(
            format!(
                " · {} more not scored (model.max_challengers)",
                shadow.over_limit
            ),
            theme::muted(),
        ));
    }
    buf.set_line(area.x, y, &Line::from(head), area.width);
    y += 1;
    for c in &shadow.challengers {
        if y >= area.bottom() {
            break;
        }
        let mark = if Some(c.id) == selected { "▶" } else { " " };
        let mut spans = vec![Span::styled(
            format!(" {mark} {} ", c.version),
            theme::heading(),
        )];
        match &c.not_scored {
            Some(why) => spans.push(Span::styled(format!("not scored: {why}"), theme::muted())),
            None => spans.extend(evidence_spans(&c.pooled, wide)),
        }
        buf.set_line(area.x, y, &Line::from(spans), area.width);
        y += 1;
        if Some(c.id) == selected && c.symbols.len() > 1 {
            for (symbol, e) in &c.symbols {
                if y >= area.bottom() {
                    break;
                }
                let mut spans = vec![Span::styled(format!("     {symbol:<10} "), theme::muted())];
                spans.extend(evidence_spans(e, wide));
                buf.set_line(area.x, y, &Line::from(spans), area.width);
                y += 1;
            }
        }
    }
    y - area.y
}
