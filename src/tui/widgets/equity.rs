//! The equity curve of a backtest (or of the paper account) against buy-and-hold, and a
//! backtest's drawdown under it: ratatui charts of (already thinned) curves, thinned again to two
//! points per cell.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Widget};

use super::{block, centered};
use crate::fmt;
use crate::protocol::{BacktestReport, EquityPoint};
use crate::tui::theme;

/// (time, value) points thinned to two per cell (Braille resolution).
fn points(
    curve: &[EquityPoint],
    width: u16,
    value: impl Fn(&EquityPoint) -> f64,
) -> Vec<(f64, f64)> {
    BacktestReport::thinned(curve, usize::from(width) * 2)
        .iter()
        .filter(|p| value(p).is_finite())
        .map(|p| (p.time_ms as f64, value(p)))
        .collect()
}

fn bounds(series: &[&[(f64, f64)]]) -> Option<([f64; 2], [f64; 2])> {
    let all = series.iter().flat_map(|s| s.iter());
    let (mut x, mut y) = ([f64::MAX, f64::MIN], [f64::MAX, f64::MIN]);
    for &(px, py) in all {
        x = [x[0].min(px), x[1].max(px)];
        y = [y[0].min(py), y[1].max(py)];
    }
    (x[0] <= x[1]).then(|| {
        let pad = ((y[1] - y[0]) * 0.05).max(y[1].abs() * 1e-6).max(1e-9);
        (x, [y[0] - pad, y[1] + pad])
    })
}

fn time_labels(x: [f64; 2]) -> Vec<Line<'static>> {
    vec![
        Line::from(fmt::utc_md(x[0] as i64)),
        Line::from(fmt::utc_md(x[1] as i64)),
    ]
}

pub fn equity_chart(buf: &mut Buffer, area: Rect, report: &BacktestReport) {
    // The title is the legend (a legend box inside the plot would sit on the curves): the
    // strategy in its line's colour, buy-and-hold in its.
    let title = Line::from(vec![
        Span::styled(" Equity ", theme::heading()),
        Span::styled(
            format!(
                "─ {} {:+.2} % ",
                report.strategy,
                100.0 * report.metrics.total_return
            ),
            Style::new().fg(theme::UP),
        ),
        Span::styled(
            format!(
                "─ buy and hold {:+.2} % ",
                100.0 * report.metrics.buy_and_hold_return
            ),
            theme::muted(),
        ),
    ]);
    let block = |title: Line<'static>| {
        ratatui::widgets::Block::bordered()
            .border_style(theme::border())
            .title(title)
    };
    let width = area.width.saturating_sub(12);
    let strategy = points(&report.equity, width, |p| p.equity);
    let hold = points(&report.benchmark, width, |p| p.equity);
    let Some((x, y)) = bounds(&[&strategy, &hold]) else {
        let b = block(title);
        let inner = b.inner(area);
        b.render(area, buf);
        centered(buf, inner, "the run has no equity points", theme::muted());
        return;
    };
    pair_chart(
        buf,
        area,
        block(title),
        (&strategy, &hold),
        x,
        time_labels(x),
        y,
    );
}

/// A bordered block whose title is a styled line (a legend).
fn titled(title: Line<'static>) -> ratatui::widgets::Block<'static> {
    ratatui::widgets::Block::bordered()
        .border_style(theme::border())
        .title(title)
}

/// A (time, value) curve thinned to two points per cell (the last point always kept).
fn thin_pairs(curve: &[(i64, f64)], width: u16) -> Vec<(f64, f64)> {
    let keep = (usize::from(width) * 2).max(2);
    let step = curve.len().div_ceil(keep).max(1);
    let last = curve.len().saturating_sub(1);
    curve
        .iter()
        .enumerate()
        .filter(|(i, p)| (i % step == 0 || *i == last) && p.1.is_finite())
        .map(|(_, p)| (p.0 as f64, p.1))
        .collect()
}

/// Two curves over the same time span, titled `title` (the legend): `strategy` in green,
/// `benchmark` muted; `empty` is said when neither has a point. Time labels are clock times
/// within a day, dates beyond.
pub fn two_curves(
    buf: &mut Buffer,
    area: Rect,
    title: Line<'static>,
    strategy: &[(i64, f64)],
    benchmark: &[(i64, f64)],
    empty: &str,
) {
    let width = area.width.saturating_sub(12);
    let strategy = thin_pairs(strategy, width);
    let hold = thin_pairs(benchmark, width);
    let Some((x, y)) = bounds(&[&strategy, &hold]) else {
        let b = titled(title);
        let inner = b.inner(area);
        b.render(area, buf);
        centered(buf, inner, empty, theme::muted());
        return;
    };
    let label = |t: f64| {
        if x[1] - x[0] < 86_400_000.0 {
            fmt::utc_hm(t as i64)
        } else {
            fmt::utc_md(t as i64)
        }
    };
    let labels = vec![Line::from(label(x[0])), Line::from(label(x[1]))];
    pair_chart(buf, area, titled(title), (&strategy, &hold), x, labels, y);
}

/// (time, value) points of a chart.
type Curve<'a> = &'a [(f64, f64)];

/// A strategy's curve in green over its benchmark, muted, with time and value axes (no legend:
/// the block's title says which is which).
fn pair_chart(
    buf: &mut Buffer,
    area: Rect,
    block: ratatui::widgets::Block<'static>,
    (strategy, benchmark): (Curve<'_>, Curve<'_>),
    x: [f64; 2],
    x_labels: Vec<Line<'static>>,
    y: [f64; 2],
) {
    let curve = |data, style| {
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(style)
            .data(data)
    };
    let datasets = vec![
        curve(strategy, Style::new().fg(theme::UP)),
        curve(benchmark, theme::muted()),
    ];
    Chart::new(datasets)
        .block(block)
        .legend_position(None)
        .x_axis(
            Axis::default()
                .bounds(x)
                .labels(x_labels)
                .style(theme::muted()),
        )
        .y_axis(
            Axis::default()
                .bounds(y)
                .labels(vec![
                    Line::from(fmt::compact(y[0])),
                    Line::from(fmt::compact(y[1])),
                ])
                .style(theme::muted()),
        )
        .render(area, buf);
}

pub fn drawdown_chart(buf: &mut Buffer, area: Rect, report: &BacktestReport) {
    let title = format!(
        " Drawdown (max {:.2} %) ",
        100.0 * report.metrics.max_drawdown
    );
    let drawdown = points(&report.equity, area.width.saturating_sub(10), |p| {
        -100.0 * p.drawdown
    });
    // The thinned points may miss the deepest one; the metric has it.
    let deepest = drawdown
        .iter()
        .map(|p| p.1)
        .fold(-100.0 * report.metrics.max_drawdown, f64::min);
    let x = match (drawdown.first(), drawdown.last()) {
        (Some(a), Some(b)) if a.0 < b.0 => [a.0, b.0],
        (Some(a), _) => [a.0, a.0 + 1.0],
        _ => [0.0, 1.0],
    };
    let low = if deepest < 0.0 && deepest.is_finite() {
        deepest
    } else {
        -1.0
    };
    let dataset = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Bar)
        .style(Style::new().fg(theme::DOWN))
        .data(&drawdown);
    Chart::new(vec![dataset])
        .block(block(title))
        .x_axis(Axis::default().bounds(x))
        .y_axis(
            Axis::default()
                .bounds([low, 0.0])
                .labels(vec![Line::from(format!("{low:.1}%")), Line::from("0%")])
                .style(theme::muted()),
        )
        .render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_cover_every_series_with_a_margin() {
        let a = [(1.0, 10.0), (2.0, 12.0)];
        let b = [(0.0, 11.0), (3.0, 9.0)];
        let (x, y) = bounds(&[&a, &b]).unwrap();
        assert_eq!(x, [0.0, 3.0]);
        assert!(
            y[0] < 9.0 && y[0] > 8.8 && y[1] > 12.0 && y[1] < 12.2,
            "{y:?}"
        );
        // A flat curve still gets a band to draw in; no points, no bounds.
        let flat = [(0.0, 5.0), (1.0, 5.0)];
        let (_, y) = bounds(&[&flat]).unwrap();
        assert!(y[0] < 5.0 && y[1] > 5.0);
        assert_eq!(bounds(&[&[]]), None);
    }

    #[test]
    fn points_are_thinned_to_the_width_and_skip_non_finite_values() {
        let curve: Vec<EquityPoint> = (0..1_000)
            .map(|i| EquityPoint {
                time_ms: i,
                equity: if i % 3 == 1 { f64::NAN } else { i as f64 },
                drawdown: 0.0,
            })
            .collect();
        let thinned = points(&curve, 40, |p| p.equity);
        // 80 picked (two per cell), the non-finite among them dropped.
        assert!(
            thinned.len() < 80 && thinned.len() > 40,
            "{}",
            thinned.len()
        );
        assert!(thinned.iter().all(|p| p.1.is_finite()));
        assert_eq!(thinned.first(), Some(&(0.0, 0.0)));
        assert_eq!(thinned.last(), Some(&(999.0, 999.0)));
    }
}
