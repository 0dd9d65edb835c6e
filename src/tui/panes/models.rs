//! The Models pane: every registered version with its held-out test scores beside the two
//! baselines, which one runs and which is champion, where it came from (simulated data is said
//! plainly), the confidence the running model's Buy / Sell signals need and where it comes from,
//! a background training run's progress, and the keys that act on the selection.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Widget};

use crate::fmt;
use crate::protocol::{ModelSummary, ModelsView, Snapshot, SymbolMonitor, TrainingProgress};
use crate::tui::keymap::Action;
use crate::tui::theme;
use crate::tui::view::ViewState;

use super::EventState;

/// From this inner width on the table shows every score; below it, a compact form.
const WIDE: u16 = 120;

/// Up and down (the symbol keys elsewhere) move the selection here.
pub fn handle(view: &mut ViewState, action: Action, snapshot: Option<&Snapshot>) -> EventState {
    let count = snapshot.map_or(0, |s| s.models.models.len());
    super::move_selection(&mut view.model_selected, count, action)
}

/// Whether the model beats both baselines on log-loss, in words.
pub fn verdict(model: &ModelSummary) -> (&'static str, Style) {
    match model.test {
        None => ("no test scores", theme::muted()),
        Some(t)
            if t.model.log_loss < t.logistic.log_loss && t.model.log_loss < t.majority.log_loss =>
        {
            ("beats both baselines", Style::new().fg(theme::UP))
        }
        Some(t) if t.model.log_loss < t.majority.log_loss => (
            "does not beat the logistic baseline",
            Style::new().fg(theme::WARN),
        ),
        Some(_) => ("does not beat the baselines", Style::new().fg(theme::DOWN)),
    }
}

fn origin(model: &ModelSummary) -> String {
    let data = match model.trained_on.as_str() {
        "simulated" => "simulated data",
        "real" => "real data",
        _ => "unknown data",
    };
    format!("{} · {data}", model.origin)
}

pub fn draw(buf: &mut Buffer, area: Rect, snapshot: &Snapshot, view: &ViewState) {
    if area.height < 4 {
        return;
    }
    let models = &snapshot.models;
    let mut y = area.y;
    y += draw_active(buf, Rect::new(area.x, y, area.width, 2), models);
    if let Some(progress) = &models.training {
        draw_progress(buf, Rect::new(area.x, y, area.width, 1), progress);
        y += 1;
    } else if let Some(last) = &models.last_training {
        buf.set_stringn(
            area.x + 1,
            y,
            format!("last training: {last}"),
            usize::from(area.width.saturating_sub(1)),
            theme::muted(),
        );
        y += 1;
    }
    // The live scorecard of the active model on the current symbol, above the test split.
    if let Some(monitor) = super::drift::monitor_of(snapshot, view)
        && area.bottom().saturating_sub(y) >= 7
    {
        y += draw_live(buf, Rect::new(area.x, y, area.width, 3), monitor);
    }
    // The challengers in shadow, when there are any and room for them above the table.
    let shadow = &snapshot.shadow;
    if !shadow.challengers.is_empty() && area.bottom().saturating_sub(y) >= 10 {
        let selected = models
            .models
            .get(
                view.model_selected
                    .min(models.models.len().saturating_sub(1)),
            )
            .map(|m| m.id);
        let lines = (area.bottom() - y - 6).min(1 + 2 * shadow.challengers.len() as u16 + 4);
        y += super::models_shadow::draw(
            buf,
            Rect::new(area.x, y, area.width, lines),
            shadow,
            selected,
            area.width >= WIDE,
        );
    }
    let table = Rect::new(area.x, y, area.width, area.bottom().saturating_sub(y));
    draw_table(buf, table, models, view);
}

/// The monitor's scorecard: the model's last-500 accuracy and log-loss with their intervals
/// beside the logistic and majority baselines', then the verdict; two lines on wide terminals,
/// three on narrow ones. Returns the lines used.
fn draw_live(buf: &mut Buffer, area: Rect, monitor: &SymbolMonitor) -> u16 {
    let wide = area.width >= WIDE;
    let card = &monitor.scorecard;
    let window = card
        .windows
        .iter()
        .find(|w| w.last == Some(500))
        .or_else(|| card.windows.last());
    let mut spans = vec![Span::styled(" live ", theme::muted())];
    if wide {
        spans.push(Span::styled(
            monitor.model_version.clone(),
            theme::heading(),
        ));
        spans.push(Span::raw(format!(
            " {} {} ",
            monitor.symbol, monitor.interval
        )));
    }
    let mut baselines = vec![Span::styled(" vs logistic ", theme::muted())];
    match window {
        Some(w) => {
            let name = w.last.map_or("all".to_string(), |n| format!("last {n}"));
            spans.push(Span::styled(
                format!("{name} (n {}): ", w.n),
                theme::muted(),
            ));
            spans.push(Span::raw(format!(
                "acc {:.3} ({:.3}–{:.3}) · ll {:.4} ({:.4}–{:.4})",
                w.accuracy.value,
                w.accuracy.lo,
                w.accuracy.hi,
                w.log_loss.value,
                w.log_loss.lo,
                w.log_loss.hi
            )));
            baselines.push(Span::raw(w.logistic.map_or("-".to_string(), |b| {
                format!("{:.3} / {:.4}", b.accuracy, b.log_loss)
            })));
            baselines.push(Span::styled(" · majority ", theme::muted()));
            baselines.push(Span::raw(format!(
                "{:.3} / {:.4}",
                w.majority.accuracy, w.majority.log_loss
            )));
        }
        None => spans.push(Span::styled("no outcomes known yet", theme::muted())),
    }
    let mut y = area.y;
    if window.is_some() && wide {
        spans.extend(baselines.clone());
    }
    buf.set_line(area.x, y, &Line::from(spans), area.width);
    y += 1;
    if window.is_some() && !wide && y < area.bottom() {
        buf.set_line(area.x, y, &Line::from(baselines), area.width);
        y += 1;
    }
    if y >= area.bottom() {
        return y - area.y;
    }
    let (verdict, style) = if card.verdict.is_empty() {
        ("no verdict yet".to_string(), theme::muted())
    } else if card.verdict.contains("worse") {
        (
            card.verdict.clone(),
            Style::new().fg(theme::DOWN).add_modifier(Modifier::BOLD),
        )
    } else {
        (card.verdict.clone(), Style::new().fg(theme::UP))
    };
    let mut spans = vec![
        Span::styled(" verdict ", theme::muted()),
        Span::styled(verdict, style),
    ];
    if wide {
        spans.push(Span::styled(
            format!(" · drift: {} (Drift pane)", monitor.status.as_str()),
            theme::muted(),
        ));
    }
    buf.set_line(area.x, y, &Line::from(spans), area.width);
    y + 1 - area.y
}

/// The model in use (or the fallback) on one or two lines; returns the lines used.
fn draw_active(buf: &mut Buffer, area: Rect, models: &ModelsView) -> u16 {
    let mut spans = vec![Span::styled(" running ", theme::muted())];
    match (models.active_model(), &models.fallback) {
        (_, Some(reason)) => {
            spans.push(Span::styled(" LOGISTIC FALLBACK ", theme::alarm_badge()));
            spans.push(Span::raw(format!(" the model failed: {reason}")));
        }
        (Some(model), None) => {
            spans.push(Span::styled(model.version.clone(), theme::heading()));
            // Before the details, so a narrow terminal cuts those, not this.
            if model.trained_on == "simulated" {
                spans.push(Span::raw(" "));
                spans.push(Span::styled(" SIMULATED DATA ", theme::not_real_badge()));
            }
            spans.push(Span::raw(format!(
                " {}, {} members, {}",
                model.role,
                model.members,
                origin(model)
            )));
        }
        (None, None) => spans.push(Span::styled(
            "no model: press t to train one for this symbol and interval",
            theme::muted(),
        )),
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
    let Some(t) = models.active_model().and_then(|m| m.thresholds.as_ref()) else {
        return 1;
    };
    if area.height < 2 {
        return 1;
    }
    let needs = if t.buy == t.sell {
        format!(" Buy or Sell at confidence ≥ {:.4}, else Hold ", t.buy)
    } else {
        format!(
            " Buy at confidence ≥ {:.4}, Sell ≥ {:.4}, else Hold ",
            t.buy, t.sell
        )
    };
    let line = Line::from(vec![
        Span::styled(" signals ", theme::muted()),
        Span::raw(needs),
        Span::styled(format!("({})", t.source), theme::muted()),
    ]);
    buf.set_line(area.x, area.y + 1, &line, area.width);
    2
}

fn draw_progress(buf: &mut Buffer, area: Rect, p: &TrainingProgress) {
    let eta = p.eta_secs.map_or(String::new(), |s| {
        format!(", at most {} left", fmt::duration((s * 1000.0) as i64))
    });
    let total = f64::from(p.members.max(1) * p.epochs.max(1));
    let done = f64::from(p.member.saturating_sub(1) * p.epochs + p.epoch);
    let gauge = format!("{:<12}", super::signals::bar(done, total, 12));
    let text = format!(
        " {:>3.0}% training {} {}: member {}/{} epoch {}/{}  loss {:.4}  validation {:.4} ({:.1}% right){eta}",
        100.0 * done / total,
        p.symbol.as_str(),
        p.interval.as_str(),
        p.member,
        p.members,
        p.epoch,
        p.epochs,
        p.train_loss,
        p.validation_loss,
        p.validation_accuracy * 100.0
    );
    let line = Line::from(vec![
        Span::raw(" "),
        Span::styled(format!("[{gauge}]"), Style::new().fg(theme::WARN)),
        Span::styled(text, Style::new().fg(theme::WARN)),
    ]);
    buf.set_line(area.x, area.y, &line, area.width);
}

fn draw_table(buf: &mut Buffer, area: Rect, models: &ModelsView, view: &ViewState) {
    let block = Block::bordered()
        .border_style(theme::border())
        .title(Span::styled(
            " Models (test split, out of sample) ",
            theme::heading(),
        ));
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 {
        return;
    }
    if models.models.is_empty() {
        buf.set_stringn(
            inner.x + 1,
            inner.y,
            "no models registered: t trains one; `trademon train` or `trademon models import-torch` too",
            usize::from(inner.width),
            theme::muted(),
        );
        return;
    }
    if inner.width < WIDE {
        draw_compact_rows(buf, inner, models, view);
        return;
    }
    let header = format!(
        "  {:<26} {:<10} {:<26} {:<13} {:>6} {:>5} {:>5} {:>6} {:>6}  {:>9} {:>9}  {}",
        "version",
        "role",
        "origin",
        "data",
        "tests",
        "acc",
        "F1",
        "logloss",
        "brier",
        "logit acc",
        "major acc",
        "verdict"
    );
    buf.set_stringn(
        inner.x,
        inner.y,
        header,
        usize::from(inner.width),
        theme::muted(),
    );
    let rows = usize::from(inner.height - 1);
    let (first, selected) = visible(models, view, rows);
    for (row, (index, model)) in models
        .models
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .enumerate()
    {
        let y = inner.y + 1 + row as u16;
        let marker = if models.active == Some(model.id) {
            "▶ "
        } else {
            "  "
        };
        let role_style = match model.role.as_str() {
            "champion" => Style::new().add_modifier(Modifier::BOLD),
            "retired" => theme::muted(),
            _ => theme::text(),
        };
        let scores = match model.test {
            Some(t) => format!(
                "{:>6} {:>5.3} {:>5.3} {:>6.4} {:>6.4}  {:>9.3} {:>9.3}",
                t.samples,
                t.model.accuracy,
                t.model.macro_f1,
                t.model.log_loss,
                t.model.brier,
                t.logistic.accuracy,
                t.majority.accuracy
            ),
            None => format!(
                "{:>6} {:>5} {:>5} {:>6} {:>6}  {:>9} {:>9}",
                "-", "-", "-", "-", "-", "-", "-"
            ),
        };
        let (verdict, verdict_style) = verdict(model);
        let line = Line::from(vec![
            Span::raw(marker),
            Span::raw(format!("{:<26} ", fmt::fit(&model.version, 26))),
            Span::styled(format!("{:<10} ", model.role), role_style),
            Span::raw(format!(
                "{:<26} {:<13} ",
                fmt::fit(&origin(model), 26),
                fmt::fit(&model.data, 13)
            )),
            Span::raw(scores),
            Span::raw("  "),
            Span::styled(verdict, verdict_style),
        ]);
        buf.set_line(inner.x, y, &line, inner.width);
        if index == selected {
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), theme::selected());
        }
    }
}

/// The first row shown so that the selection is on screen, and the selection clamped.
fn visible(models: &ModelsView, view: &ViewState, rows: usize) -> (usize, usize) {
    let selected = view
        .model_selected
        .min(models.models.len().saturating_sub(1));
    (selected.saturating_sub(rows.saturating_sub(1)), selected)
}

/// Narrow terminals: version, role, where from, accuracy and log-loss beside the baselines'.
fn draw_compact_rows(buf: &mut Buffer, inner: Rect, models: &ModelsView, view: &ViewState) {
    let header = format!(
        "  {:<8} {:<10} {:<11} {:>5} {:>7} {:>7} {:>7} {}",
        "version", "role", "from", "acc", "logloss", "logit", "major", "verdict"
    );
    buf.set_stringn(
        inner.x,
        inner.y,
        header,
        usize::from(inner.width),
        theme::muted(),
    );
    let rows = usize::from(inner.height - 1);
    let (first, selected) = visible(models, view, rows);
    for (row, (index, model)) in models
        .models
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .enumerate()
    {
        let y = inner.y + 1 + row as u16;
        let marker = if models.active == Some(model.id) {
            "▶ "
        } else {
            "  "
        };
        let from = format!(
            "{}/{}",
            model.origin.split('-').next().unwrap_or(""),
            match model.trained_on.as_str() {
                "simulated" => "sim",
                "real" => "real",
                _ => "?",
            }
        );
        let scores = match model.test {
            Some(t) => format!(
                "{:>5.3} {:>7.4} {:>7.4} {:>7.4}",
                t.model.accuracy, t.model.log_loss, t.logistic.log_loss, t.majority.log_loss
            ),
            None => format!("{:>5} {:>7} {:>7} {:>7}", "-", "-", "-", "-"),
        };
        let (verdict, style) = verdict(model);
        let short = match verdict {
            "beats both baselines" => "beats both",
            "does not beat the logistic baseline" => "≤ logistic",
            "does not beat the baselines" => "≤ baselines",
            other => other,
        };
        let line = Line::from(vec![
            Span::raw(format!(
                "{marker}{:<8} {:<10} {:<11} {scores} ",
                fmt::fit(semver(&model.version), 8),
                model.role,
                fmt::fit(&from, 11)
            )),
            Span::styled(short, style),
        ]);
        buf.set_line(inner.x, y, &line, inner.width);
        if index == selected {
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), theme::selected());
        }
    }
}

/// The semantic version of a tag like `ensemble-BTCUSDT-1m@1.2.0` (the whole text otherwise).
fn semver(version: &str) -> &str {
    version.rsplit_once('@').map_or(version, |(_, v)| v)
}
