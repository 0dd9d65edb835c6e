//! The Drift pane: how the active model does live on the current symbol (the one the Market pane
//! shows). The monitor's verdict and reference, the scorecard over recent candles beside the
//! logistic and majority baselines and the held-out test figures, each feature's drift against
//! the reference (drifted first, scrollable), the prediction mix now against the reference, and
//! the performance drift detectors. Wide terminals get every column; narrow ones a compact form.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::fmt;
use crate::protocol::{
    DetectorLevel, DetectorView, DriftStatus, FeatureDrift, PredictionDrift, Scorecard, Snapshot,
    SymbolMonitor, WindowScores,
};
use crate::tui::keymap::Action;
use crate::tui::theme;
use crate::tui::view::ViewState;

use super::EventState;

/// From this width on the tables show every column.
const WIDE: u16 = 120;
/// Under this height the scorecard leaves out the test split and the pending predictions.
const SHORT: u16 = 20;
/// From this height on the prediction mix and the detectors get a table each.
const TALL: u16 = 34;
/// Feature rows moved per scroll action.
const SCROLL_STEP: usize = 5;
/// Glyphs of the PSI history sparkline, lowest first.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Page down / up scroll the feature table; everything else goes on to the global handler.
pub fn handle(view: &mut ViewState, action: Action, snapshot: Option<&Snapshot>) -> EventState {
    let features = snapshot
        .and_then(|s| monitor_of(s, view))
        .map_or(0, |m| m.features.len());
    match action {
        Action::ScrollDown => {
            view.drift_scroll = (view.drift_scroll + SCROLL_STEP).min(features.saturating_sub(1));
            EventState::Consumed
        }
        Action::ScrollUp => {
            view.drift_scroll = view.drift_scroll.saturating_sub(SCROLL_STEP);
            EventState::Consumed
        }
        _ => EventState::NotConsumed,
    }
}

/// The monitor's entry for the symbol the console shows (the Market pane's selection).
pub fn monitor_of<'a>(snapshot: &'a Snapshot, view: &ViewState) -> Option<&'a SymbolMonitor> {
    let market = snapshot.markets.get(view.symbol(snapshot.markets.len()))?;
    snapshot.monitor.of(market.symbol)
}

/// Writes lines from the top of an area down, never past its bottom.
struct Lines<'a> {
    buf: &'a mut Buffer,
    area: Rect,
    y: u16,
}

impl Lines<'_> {
    fn left(&self) -> u16 {
        self.area.bottom().saturating_sub(self.y)
    }

    fn put(&mut self, line: Line<'_>) {
        if self.y < self.area.bottom() {
            self.buf
                .set_line(self.area.x, self.y, &line, self.area.width);
            self.y += 1;
        }
    }

    fn text(&mut self, text: String, style: Style) {
        self.put(Line::from(Span::styled(text, style)));
    }

    /// A section heading: bold title, then a rule to the right edge.
    fn heading(&mut self, title: &str, extra: Vec<Span<'static>>) {
        let mut spans = vec![Span::styled(format!(" {title} "), theme::heading())];
        let mut used = title.chars().count() + 2;
        for span in &extra {
            used += span.content.chars().count();
        }
        spans.extend(extra);
        let rule = usize::from(self.area.width).saturating_sub(used + 1);
        spans.push(Span::styled(
            format!(" {}", "─".repeat(rule)),
            theme::border(),
        ));
        self.put(Line::from(spans));
    }
}

pub fn draw(buf: &mut Buffer, area: Rect, snapshot: &Snapshot, view: &ViewState) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let Some(market) = snapshot.markets.get(view.symbol(snapshot.markets.len())) else {
        super::centered(
            buf,
            area,
            "no symbols in the engine's snapshot",
            theme::muted(),
        );
        return;
    };
    let Some(monitor) = snapshot.monitor.of(market.symbol) else {
        let text = if snapshot.models.active.is_none() && snapshot.models.fallback.is_none() {
            "no model is active: press t to train one for this symbol and interval".to_string()
        } else {
            format!(
                "waiting for the monitor's first evaluation of {}",
                market.symbol
            )
        };
        super::centered(buf, area, &text, theme::muted());
        return;
    };
    let wide = area.width >= WIDE;
    let tall = area.height >= TALL;
    let mut out = Lines {
        buf,
        area,
        y: area.y,
    };
    draw_header(&mut out, monitor);
    // Short terminals leave out the test split and pending lines so the features keep a line.
    let short = area.height < SHORT;
    draw_scorecard(&mut out, &monitor.scorecard, wide, short);
    // The prediction mix and the detectors at the bottom; the features get what is left.
    let bottom = bottom_height(monitor, tall);
    let features_height = out.left().saturating_sub(bottom);
    if (1..4).contains(&features_height) {
        let start = out.y;
        draw_features_summary(&mut out, monitor);
        out.y = start + features_height;
    } else if features_height >= 4 {
        let rect = Rect::new(area.x, out.y, area.width, features_height);
        let mut features = Lines {
            buf: out.buf,
            area: rect,
            y: rect.y,
        };
        draw_features(&mut features, monitor, view.drift_scroll, wide);
        out.y += features_height;
    }
    if tall {
        draw_predictions_table(&mut out, monitor.predictions.as_ref());
        draw_detectors_table(&mut out, &monitor.detectors, wide);
    } else {
        draw_predictions_compact(&mut out, monitor.predictions.as_ref());
        draw_detectors_compact(&mut out, &monitor.detectors);
    }
}

/// Lines the prediction mix and the detectors take.
fn bottom_height(monitor: &SymbolMonitor, tall: bool) -> u16 {
    // As drawn: the table's heading and its rows, or the heading and "no prediction mix yet";
    // the compact form's line (or two).
    let predictions = match (&monitor.predictions, tall) {
        (None, true) => 2,
        (None, false) => 1,
        (Some(_), true) => 5,
        (Some(_), false) => 2,
    };
    let detectors = if tall {
        2 + monitor.detectors.len().max(1) as u16
    } else {
        1
    };
    predictions + detectors
}

pub fn status_style(status: DriftStatus) -> Style {
    match status {
        DriftStatus::Stable => Style::new().fg(theme::UP).add_modifier(Modifier::BOLD),
        DriftStatus::Drifting => Style::new().fg(theme::DOWN).add_modifier(Modifier::BOLD),
        DriftStatus::Warming => Style::new().fg(theme::WARN),
        DriftStatus::NoReference => Style::new().fg(theme::WARN).add_modifier(Modifier::DIM),
    }
}

/// `YYYY-MM-DD` UTC.
fn date(time_ms: i64) -> String {
    let full = fmt::utc_datetime(time_ms);
    full.get(..10).unwrap_or(&full).to_string()
}

/// `MM-DD HH:MM` UTC.
fn when(time_ms: i64) -> String {
    format!("{} {}", fmt::utc_md(time_ms), fmt::utc_hm(time_ms))
}

fn draw_header(out: &mut Lines<'_>, m: &SymbolMonitor) {
    let fill = if m.window > 0 {
        format!(
            " · window {}, {}/{} filled ({:.0}%)",
            m.window,
            m.window_filled,
            m.window,
            100.0 * f64::from(m.window_filled) / f64::from(m.window)
        )
    } else {
        String::new()
    };
    let as_of = m.as_of_ms.map_or(String::new(), |t| {
        format!(" · as of {} UTC", fmt::utc_hm(t))
    });
    out.put(Line::from(vec![
        Span::styled(" model ", theme::muted()),
        Span::styled(m.model_version.clone(), theme::heading()),
        Span::raw(format!(" · {} {} · ", m.symbol, m.interval)),
        Span::styled(m.status.as_str().to_uppercase(), status_style(m.status)),
        Span::raw(fill),
        Span::styled(as_of, theme::muted()),
    ]));
    let line = match (&m.reference, &m.no_reference) {
        (Some(r), _) => Line::from(vec![
            Span::styled(" reference ", theme::muted()),
            Span::raw(format!(
                "{} → {} · {} rows · {}",
                date(r.from_ms),
                date(r.to_ms),
                r.rows,
                r.source
            )),
        ]),
        (None, reason) => {
            let reason = reason.as_deref().unwrap_or("the monitor gives no reason");
            let room = usize::from(out.area.width).saturating_sub(16);
            Line::from(vec![
                Span::styled(" no reference: ", Style::new().fg(theme::WARN)),
                Span::raw(fmt::fit(reason, room)),
            ])
        }
    };
    out.put(line);
}

fn window_name(w: &WindowScores) -> String {
    match w.last {
        Some(n) => format!("last {n}"),
        None => "all".to_string(),
    }
}

fn draw_scorecard(out: &mut Lines<'_>, card: &Scorecard, wide: bool, short: bool) {
    out.heading(
        "Scorecard",
        vec![Span::styled("· live, on realised outcomes", theme::muted())],
    );
    if card.windows.is_empty() {
        out.text("  no outcomes known yet".to_string(), theme::muted());
    } else if wide {
        out.text(
            format!(
                "  {:<9} {:>6}  {:<20} {:<23} {:>5} {:>6} {:>6}   {:>14}   {:>14}",
                "window",
                "n",
                "accuracy (95%)",
                "log-loss (95%)",
                "F1",
                "Brier",
                "ECE",
                "logistic acc/ll",
                "majority acc/ll"
            ),
            theme::muted(),
        );
        for w in &card.windows {
            let logistic = w.logistic.map_or(format!("{:>14}", "-"), |b| {
                format!("{:>5.3} / {:.4}", b.accuracy, b.log_loss)
            });
            out.text(
                format!(
                    "  {:<9} {:>6}  {:<20} {:<23} {:>5.3} {:>6.4} {:>6.4}   {:>14}   {:>5.3} / {:.4}",
                    window_name(w),
                    w.n,
                    format!(
                        "{:.3} ({:.3}–{:.3})",
                        w.accuracy.value, w.accuracy.lo, w.accuracy.hi
                    ),
                    format!(
                        "{:.4} ({:.4}–{:.4})",
                        w.log_loss.value, w.log_loss.lo, w.log_loss.hi
                    ),
                    w.macro_f1,
                    w.brier,
                    w.ece,
                    logistic,
                    w.majority.accuracy,
                    w.majority.log_loss
                ),
                theme::text(),
            );
        }
    } else {
        // The baselines' log-loss only where they fit whole.
        let baselines = out.area.width >= 76;
        let mut header = format!(
            "  {:<8} {:>5} {:>5} {:<11} {:>6} {:<13}",
            "window", "n", "acc", "(95%)", "ll", "(95%)"
        );
        if baselines {
            header.push_str(&format!(" {:>8} {:>8}", "logit ll", "major ll"));
        }
        out.text(header, theme::muted());
        for w in &card.windows {
            let mut row = format!(
                "  {:<8} {:>5} {:>5.3} {:<11} {:>6.4} {:<13}",
                window_name(w),
                w.n,
                w.accuracy.value,
                format!("{:.3}–{:.3}", w.accuracy.lo, w.accuracy.hi),
                w.log_loss.value,
                format!("{:.4}–{:.4}", w.log_loss.lo, w.log_loss.hi),
            );
            if baselines {
                let logistic = w
                    .logistic
                    .map_or("-".to_string(), |b| format!("{:.4}", b.log_loss));
                row.push_str(&format!(" {:>8} {:>8.4}", logistic, w.majority.log_loss));
            }
            out.text(row, theme::text());
        }
    }
    let test = match card.test {
        Some(t) if !wide => format!(
            "  test: n {} acc {:.3} ll {:.4} · logit {:.3}/{:.4} · major {:.3}/{:.4}",
            t.samples,
            t.model.accuracy,
            t.model.log_loss,
            t.logistic.accuracy,
            t.logistic.log_loss,
            t.majority.accuracy,
            t.majority.log_loss
        ),
        Some(t) => format!(
            "  test split (held out): n {}  acc {:.3}  log-loss {:.4} · logistic {:.3} / {:.4} · majority {:.3} / {:.4}",
            t.samples,
            t.model.accuracy,
            t.model.log_loss,
            t.logistic.accuracy,
            t.logistic.log_loss,
            t.majority.accuracy,
            t.majority.log_loss
        ),
        None => "  test split (training, held out): none stored".to_string(),
    };
    if !short {
        out.text(test, theme::muted());
    }
    let mut pending = vec![Span::raw(format!("  pending {}", card.pending))];
    if let Some(expected) = card.expected_accuracy {
        pending.push(Span::raw(" · expected accuracy "));
        pending.push(Span::styled(
            format!("est. {expected:.3}"),
            Style::new().fg(theme::WARN),
        ));
        pending.push(Span::styled(
            if wide {
                " (an estimate from their confidence, not realised)"
            } else {
                " (estimate, not realised)"
            },
            theme::muted(),
        ));
    }
    if !short {
        out.put(Line::from(pending));
    }
    if !card.verdict.is_empty() {
        let style = if card.verdict.contains("worse") {
            Style::new().fg(theme::DOWN).add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(theme::UP)
        };
        out.put(Line::from(vec![
            Span::styled("  verdict ", theme::muted()),
            Span::styled(card.verdict.clone(), style),
        ]));
    }
}

/// The PSI history as unicode blocks, newest right, at most `width` of them, scaled to its
/// largest value or `floor` (the critical value), whichever is larger: noise under the critical
/// value stays low.
pub fn sparkline(history: &[f64], floor: f64, width: usize) -> String {
    let shown = &history[history.len().saturating_sub(width)..];
    let max = shown
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(if floor.is_finite() { floor } else { 0.0 }, f64::max);
    shown
        .iter()
        .map(|v| {
            if !(v.is_finite() && max > 0.0) {
                return BLOCKS[0];
            }
            let i = ((v.max(0.0) / max) * 7.0).round() as usize;
            BLOCKS[i.min(7)]
        })
        .collect()
}

/// A p-value in at most six characters.
fn p_value(p: f64) -> String {
    if p < 0.0001 {
        "<1e-4".to_string()
    } else {
        format!("{p:.4}")
    }
}

fn draw_features(out: &mut Lines<'_>, m: &SymbolMonitor, scroll: usize, wide: bool) {
    let drifted = m.features.iter().filter(|f| f.drifted).count();
    let mut extra = vec![Span::styled(
        format!(
            "· {drifted} of {} drifted ({:.0}%)",
            m.features.len(),
            m.drifted_share * 100.0
        ),
        theme::muted(),
    )];
    if m.dataset_drift {
        extra.push(Span::raw(" "));
        extra.push(Span::styled(" DATASET DRIFT ", theme::alarm_badge()));
    }
    let rows = usize::from(out.left().saturating_sub(2));
    let first = scroll.min(m.features.len().saturating_sub(rows.max(1)));
    if m.features.len() > rows && rows > 0 {
        extra.push(Span::styled(
            format!(
                " · {}–{} of {} (pgup/pgdn)",
                first + 1,
                (first + rows).min(m.features.len()),
                m.features.len()
            ),
            theme::muted(),
        ));
    }
    out.heading("Features", extra);
    if m.features.is_empty() {
        let text = if m.reference.is_none() {
            "  feature drift needs a reference: none measured"
        } else {
            "  no feature drift measured yet"
        };
        out.text(text.to_string(), theme::muted());
        return;
    }
    let (name_w, spark_w) = if wide { (24, 24) } else { (14, 10) };
    if wide {
        out.text(
            format!(
                "  {:<name_w$} {:>7} {:>7} {:>7} {:>7} {:>6} {:>6}  {:<spark_w$}",
                "feature", "PSI", "crit", "W/σ", "limit", "KS", "KS p", "PSI history"
            ),
            theme::muted(),
        );
    } else {
        out.text(
            format!(
                "  {:<name_w$} {:>6} {:>5} {:>5} {:>5} {:>5} {:>6} {:<spark_w$}",
                "feature", "PSI", "crit", "W/σ", "lim", "KS", "KS p", "history"
            ),
            theme::muted(),
        );
    }
    for f in m.features.iter().skip(first).take(rows) {
        out.put(feature_line(f, wide, name_w, spark_w));
    }
}

/// One line when there is no room for the table: the count and the drifted features' names.
fn draw_features_summary(out: &mut Lines<'_>, m: &SymbolMonitor) {
    let drifted: Vec<&str> = m
        .features
        .iter()
        .filter(|f| f.drifted)
        .map(|f| f.name.as_str())
        .collect();
    let mut spans = vec![
        Span::styled(" features ", theme::heading()),
        Span::raw(format!("{} of {} drifted", drifted.len(), m.features.len())),
    ];
    if m.dataset_drift {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(" DATASET DRIFT ", theme::alarm_badge()));
    }
    if !drifted.is_empty() {
        spans.push(Span::styled(
            format!(": {}", drifted.join(", ")),
            Style::new().fg(theme::DOWN),
        ));
    }
    out.put(Line::from(spans));
}

fn feature_line(f: &FeatureDrift, wide: bool, name_w: usize, spark_w: usize) -> Line<'static> {
    let over = Style::new().fg(theme::DOWN);
    let psi_style = if f.psi > f.psi_critical {
        over
    } else {
        theme::text()
    };
    let w_style = if f.wasserstein_limit.is_some_and(|l| f.wasserstein_sd > l) {
        over
    } else {
        theme::text()
    };
    let spark = format!(
        "{:<spark_w$}",
        sparkline(&f.psi_history, f.psi_critical, spark_w)
    );
    let name = format!("  {:<name_w$} ", fmt::fit(&f.name, name_w));
    let mut spans = if wide {
        vec![
            Span::raw(name),
            Span::styled(format!("{:>7.3}", f.psi), psi_style),
            Span::styled(format!(" {:>7.3}", f.psi_critical), theme::muted()),
            Span::styled(format!(" {:>7.3}", f.wasserstein_sd), w_style),
            Span::styled(
                format!(" {:>7}", limit(f.wasserstein_limit, 3)),
                theme::muted(),
            ),
            Span::raw(format!(" {:>6.3} {:>6}  ", f.ks, p_value(f.ks_p))),
        ]
    } else {
        vec![
            Span::raw(name),
            Span::styled(format!("{:>6.3}", f.psi), psi_style),
            Span::styled(format!(" {:>5.3}", f.psi_critical), theme::muted()),
            Span::styled(format!(" {:>5.2}", f.wasserstein_sd), w_style),
            Span::styled(
                format!(" {:>5}", limit(f.wasserstein_limit, 2)),
                theme::muted(),
            ),
            Span::raw(format!(" {:>5.3} {:>6} ", f.ks, p_value(f.ks_p))),
        ]
    };
    spans.push(Span::styled(
        spark,
        if f.drifted { over } else { theme::muted() },
    ));
    if f.drifted {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            "DRIFT",
            Style::new().fg(theme::DOWN).add_modifier(Modifier::BOLD),
        ));
    }
    Line::from(spans)
}

fn pct3(mix: &[f64; 3]) -> String {
    format!(
        "{:.0}/{:.0}/{:.0} %",
        mix[0] * 100.0,
        mix[1] * 100.0,
        mix[2] * 100.0
    )
}

fn draw_predictions_compact(out: &mut Lines<'_>, p: Option<&PredictionDrift>) {
    let Some(p) = p else {
        out.text(
            " predictions  no prediction mix yet".to_string(),
            theme::muted(),
        );
        return;
    };
    out.put(Line::from(vec![
        Span::styled(" signals (sell/hold/buy) ", theme::muted()),
        Span::raw(format!("{:<10}", pct3(&p.signals))),
        Span::styled(" ref ", theme::muted()),
        Span::raw(format!("{:<10}", pct3(&p.reference_signals))),
        Span::styled(" JS ", theme::muted()),
        Span::raw(format!("{:.3}", p.js_signals)),
    ]));
    out.put(Line::from(vec![
        Span::styled(" probs (down/flat/up)    ", theme::muted()),
        Span::raw(format!("{:<10}", pct3(&p.probabilities))),
        Span::styled(" ref ", theme::muted()),
        Span::raw(format!("{:<10}", pct3(&p.reference_probabilities))),
        Span::styled(" JS ", theme::muted()),
        Span::raw(format!("{:.3}", p.js_distance)),
        Span::styled(" top ", theme::muted()),
        Span::raw(format!("{:.3}", p.mean_top)),
        Span::styled(format!(" vs {:.3}", p.reference_mean_top), theme::muted()),
    ]));
}

fn draw_predictions_table(out: &mut Lines<'_>, p: Option<&PredictionDrift>) {
    out.heading(
        "Predictions",
        vec![Span::styled(
            "· the window against the reference",
            theme::muted(),
        )],
    );
    let Some(p) = p else {
        out.text("  no prediction mix yet".to_string(), theme::muted());
        return;
    };
    out.text(
        format!(
            "  {:<10} {:>6} {:>6} {:>6}  │ {:>6} {:>6} {:>6}  │ {:>8}",
            "", "sell", "hold", "buy", "down", "flat", "up", "mean top"
        ),
        theme::muted(),
    );
    let row = |name: &str, s: &[f64; 3], pr: &[f64; 3], top: f64| {
        format!(
            "  {:<10} {:>5.1}% {:>5.1}% {:>5.1}%  │ {:>6.3} {:>6.3} {:>6.3}  │ {:>8.3}",
            name,
            s[0] * 100.0,
            s[1] * 100.0,
            s[2] * 100.0,
            pr[0],
            pr[1],
            pr[2],
            top
        )
    };
    out.text(
        row("now", &p.signals, &p.probabilities, p.mean_top),
        theme::text(),
    );
    out.text(
        row(
            "reference",
            &p.reference_signals,
            &p.reference_probabilities,
            p.reference_mean_top,
        ),
        theme::muted(),
    );
    out.put(Line::from(vec![
        Span::styled("  Jensen–Shannon distance: ", theme::muted()),
        Span::raw(format!(
            "signal mix {:.3} · probability mix {:.3}",
            p.js_signals, p.js_distance
        )),
    ]));
}

fn level_style(level: DetectorLevel) -> Style {
    match level {
        DetectorLevel::Ok => Style::new().fg(theme::UP),
        DetectorLevel::Warning => Style::new().fg(theme::WARN).add_modifier(Modifier::BOLD),
        DetectorLevel::Drift => Style::new().fg(theme::DOWN).add_modifier(Modifier::BOLD),
    }
}

fn draw_detectors_compact(out: &mut Lines<'_>, detectors: &[DetectorView]) {
    let mut spans = vec![Span::styled(" detectors", theme::muted())];
    if detectors.is_empty() {
        spans.push(Span::styled(" none", theme::muted()));
    }
    for (i, d) in detectors.iter().enumerate() {
        spans.push(Span::raw(if i == 0 { " " } else { " · " }));
        spans.push(Span::raw(format!("{} ", d.name)));
        spans.push(Span::styled(d.state.as_str(), level_style(d.state)));
        if let Some(t) = d.fired_at_ms {
            spans.push(Span::styled(format!(" {}", fmt::utc_hm(t)), theme::muted()));
        }
        if d.fired > 0 {
            spans.push(Span::raw(format!(" ×{}", d.fired)));
        }
    }
    out.put(Line::from(spans));
}

fn draw_detectors_table(out: &mut Lines<'_>, detectors: &[DetectorView], wide: bool) {
    out.heading(
        "Detectors",
        vec![Span::styled(
            "· performance drift on realised outcomes",
            theme::muted(),
        )],
    );
    if detectors.is_empty() {
        out.text("  none".to_string(), theme::muted());
        return;
    }
    let input_w = if wide { 28 } else { 18 };
    out.text(
        format!(
            "  {:<14} {:<input_w$} {:<8} {:<12} {:>6}",
            "detector", "input", "state", "last fired", "drifts"
        ),
        theme::muted(),
    );
    for d in detectors {
        let fired = d.fired_at_ms.map_or("-".to_string(), when);
        out.put(Line::from(vec![
            Span::raw(format!(
                "  {:<14} {:<input_w$} ",
                fmt::fit(&d.name, 14),
                fmt::fit(&d.input, input_w)
            )),
            Span::styled(format!("{:<8}", d.state.as_str()), level_style(d.state)),
            Span::raw(format!(" {:<12} {:>6}", fired, d.fired)),
        ]));
    }
}

/// A W/σ limit, or "—" when the reference has too few chunks to set one.
fn limit(value: Option<f64>, decimals: usize) -> String {
    value.map_or("—".to_string(), |v| format!("{v:.decimals$}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_their_largest_value_and_keep_the_newest() {
        assert_eq!(sparkline(&[0.0, 0.5, 1.0], 0.0, 8), "▁▅█");
        assert_eq!(sparkline(&[1.0, 0.0, 1.0], 0.0, 2), "▁█");
        assert_eq!(sparkline(&[0.0, 0.0], 0.0, 4), "▁▁");
        assert_eq!(sparkline(&[f64::NAN, 2.0], 0.0, 4), "▁█");
        assert_eq!(sparkline(&[], 0.0, 4), "");
        // Under the critical value, low bars.
        assert_eq!(sparkline(&[0.01, 0.01], 0.07, 4), "▂▂");
    }

    #[test]
    fn p_values_fit_six_characters() {
        assert_eq!(p_value(0.5), "0.5000");
        assert_eq!(p_value(1e-9), "<1e-4");
    }
}
