//! The sub-chart under the candles: RSI 14 with its 30/70 guides, or MACD 12/26/9 (line, signal,
//! and the histogram around a zero line), aligned column for column with the candles above.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

use crate::tui::theme;

use super::Visible;
use super::overlay::plot;

/// What the sub-chart shows (`i` cycles it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubChart {
    #[default]
    Rsi,
    Macd,
    None,
}

impl SubChart {
    pub fn next(self) -> SubChart {
        match self {
            SubChart::Rsi => SubChart::Macd,
            SubChart::Macd => SubChart::None,
            SubChart::None => SubChart::Rsi,
        }
    }
}

pub const RSI: Color = Color::LightBlue;
pub const MACD: Color = Color::Cyan;
pub const SIGNAL: Color = Color::Yellow;

/// Draws the sub-chart: `plot` is aligned with the candle plot, `axis` is the column strip to its
/// right (same rows). The first row holds the title and latest values.
pub fn render(
    buf: &mut Buffer,
    plot_area: Rect,
    axis: Rect,
    visible: &Visible<'_>,
    kind: SubChart,
) {
    if plot_area.height < 3 || plot_area.width == 0 {
        return;
    }
    for y in axis.top()..axis.bottom() {
        buf[(axis.x, y)].set_symbol("│").set_style(theme::muted());
    }
    // The first row is the title; the plot is under it.
    let title_row = plot_area;
    let plot_area = Rect::new(
        plot_area.x,
        plot_area.y + 1,
        plot_area.width,
        plot_area.height - 1,
    );
    let axis = Rect::new(
        axis.x,
        axis.y + 1,
        axis.width,
        axis.height.saturating_sub(1),
    );
    let n = visible.len().min(usize::from(plot_area.width));
    let skip = visible.len() - n;
    let lines = Rect::new(
        plot_area.right() - n as u16,
        plot_area.y,
        n as u16,
        plot_area.height,
    );
    let last = visible
        .indicator_iter()
        .rev()
        .flatten()
        .next()
        .copied()
        .unwrap_or_default();
    let value = |v: Option<f64>, decimals: usize| {
        v.map_or("–".to_string(), |v| format!("{v:.decimals$}"))
    };
    match kind {
        SubChart::None => {}
        SubChart::Rsi => {
            for (level, label) in [(70.0, "70"), (30.0, "30")] {
                let row = row_of(level, 0.0, 100.0, plot_area.height);
                guide(buf, plot_area, row);
                tick(buf, axis, row, label);
            }
            let values = visible
                .indicator_iter()
                .skip(skip)
                .map(|i| i.and_then(|i| i.rsi_14));
            plot(buf, lines, values, 0.0, 100.0, Style::new().fg(RSI));
            title(
                buf,
                title_row,
                &[
                    ("RSI 14 ", theme::muted()),
                    (&value(last.rsi_14, 1), Style::new().fg(RSI)),
                ],
            );
        }
        SubChart::Macd => {
            let extreme = visible
                .indicator_iter()
                .skip(skip)
                .flatten()
                .flat_map(|i| [i.macd, i.macd_signal, i.macd_hist])
                .flatten()
                .filter(|v| v.is_finite())
                .fold(0.0_f64, |m, v| m.max(v.abs()));
            if extreme > 0.0 {
                let zero = row_of(0.0, -extreme, extreme, plot_area.height);
                guide(buf, plot_area, zero);
                tick(buf, axis, zero, "0");
                histogram(buf, lines, visible, skip, extreme, zero);
                let series = |pick: fn(&crate::protocol::ChartIndicators) -> Option<f64>| {
                    visible
                        .indicator_iter()
                        .skip(skip)
                        .map(move |i| i.and_then(pick))
                };
                plot(
                    buf,
                    lines,
                    series(|i| i.macd_signal),
                    -extreme,
                    extreme,
                    Style::new().fg(SIGNAL),
                );
                plot(
                    buf,
                    lines,
                    series(|i| i.macd),
                    -extreme,
                    extreme,
                    Style::new().fg(MACD),
                );
            }
            let digits = decimals(extreme);
            title(
                buf,
                title_row,
                &[
                    ("MACD 12 26 9 ", theme::muted()),
                    (&value(last.macd, digits), Style::new().fg(MACD)),
                    (" ", theme::muted()),
                    (&value(last.macd_signal, digits), Style::new().fg(SIGNAL)),
                    (" ", theme::muted()),
                    (
                        &value(last.macd_hist, digits),
                        theme::change(last.macd_hist.unwrap_or(0.0)),
                    ),
                ],
            );
        }
    }
}

/// Decimals that show about three significant digits of values up to `extreme`.
fn decimals(extreme: f64) -> usize {
    if extreme > 0.0 && extreme.is_finite() {
        (2 - extreme.log10().floor() as i32).clamp(0, 10) as usize
    } else {
        2
    }
}

/// Row (from the top of a plot `rows` high) of `value` on a `low..high` scale.
fn row_of(value: f64, low: f64, high: f64, rows: u16) -> u16 {
    let f = (value - low) / (high - low) * f64::from(rows * 4 - 1);
    let dot = (f.round() as i32).clamp(0, i32::from(rows) * 4 - 1);
    rows - 1 - (dot / 4) as u16
}

fn guide(buf: &mut Buffer, area: Rect, row: u16) {
    for x in area.left()..area.right() {
        buf[(x, area.y + row)]
            .set_symbol("┄")
            .set_style(theme::muted());
    }
}

fn tick(buf: &mut Buffer, axis: Rect, row: u16, label: &str) {
    if axis.width == 0 {
        return;
    }
    buf[(axis.x, axis.y + row)].set_symbol("┤");
    buf.set_stringn(
        axis.x + 1,
        axis.y + row,
        label,
        usize::from(axis.width - 1),
        theme::muted(),
    );
}

fn title(buf: &mut Buffer, area: Rect, parts: &[(&str, Style)]) {
    let spans: Vec<Span> = parts
        .iter()
        .map(|(text, style)| Span::styled(text.to_string(), *style))
        .collect();
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

/// MACD histogram bars from the zero row, green above and red below.
fn histogram(
    buf: &mut Buffer,
    area: Rect,
    visible: &Visible<'_>,
    skip: usize,
    extreme: f64,
    zero: u16,
) {
    for (column, indicators) in visible.indicator_iter().skip(skip).enumerate() {
        let Some(hist) = indicators.and_then(|i| i.macd_hist) else {
            continue;
        };
        let row = row_of(hist, -extreme, extreme, area.height);
        let (top, bottom) = if row <= zero {
            (row, zero)
        } else {
            (zero, row)
        };
        let style = if hist >= 0.0 {
            Style::new().fg(theme::UP)
        } else {
            Style::new().fg(theme::DOWN)
        };
        let x = area.x + column as u16;
        for y in top..=bottom {
            if y != zero || top == bottom {
                buf[(x, area.y + y)].set_symbol("┃").set_style(style);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guides_sit_at_their_levels() {
        assert_eq!(row_of(100.0, 0.0, 100.0, 8), 0);
        assert_eq!(row_of(0.0, 0.0, 100.0, 8), 7);
        assert_eq!(row_of(70.0, 0.0, 100.0, 10), 3);
        assert_eq!(row_of(30.0, 0.0, 100.0, 10), 6);
        assert_eq!(row_of(0.0, -1.0, 1.0, 5), 2);
    }

    #[test]
    fn sub_charts_cycle() {
        assert_eq!(SubChart::default().next().next().next(), SubChart::Rsi);
        assert_eq!(decimals(0.00123), 5);
        assert_eq!(decimals(12.0), 1);
    }
}

#[cfg(test)]
mod render_tests {
    use super::*;
    use crate::domain::fixtures::flat;
    use crate::protocol::{ChartIndicators, Series};

    #[test]
    fn the_title_sits_above_the_plot() {
        let candle = flat(0, 1.0);

        let series = Series {
            closed: vec![candle; 6].into(),
            open: None,
            indicators: vec![
                ChartIndicators {
                    rsi_14: Some(100.0),
                    ..ChartIndicators::default()
                };
                6
            ]
            .into(),
        };
        let visible = Visible::thin(&series, 6);
        let area = Rect::new(0, 0, 16, 4);
        let mut buf = Buffer::empty(area);
        render(
            &mut buf,
            Rect::new(0, 0, 12, 4),
            Rect::new(12, 0, 4, 4),
            &visible,
            SubChart::Rsi,
        );
        let rows: Vec<String> = (0..4)
            .map(|y| (0..16).map(|x| buf[(x, y)].symbol()).collect())
            .collect();
        assert_eq!(rows[0], "RSI 14 100.0│   ");
        assert_eq!(rows[1], "┄┄┄┄┄┄⠁⠁⠁⠁⠁⠁┤70 ");
        assert_eq!(rows[3], "┄┄┄┄┄┄┄┄┄┄┄┄┤30 ");
    }
}
