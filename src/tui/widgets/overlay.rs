//! Indicator lines over the candles (SMA, EMA, Bollinger bands), drawn with braille dots at four
//! dots per row so a line reads smoothly; the candles are drawn after them, so lines pass under
//! the candles. Also the line plotter the sub-chart uses.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};

use crate::protocol::ChartIndicators;

use super::Visible;
use super::candles::PriceScale;

/// Which lines are drawn over the candles (`o` cycles them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overlay {
    None,
    /// SMA 20 and EMA 20.
    #[default]
    MovingAverages,
    /// Bollinger bands 20/2.
    Bollinger,
    All,
}

impl Overlay {
    pub fn next(self) -> Overlay {
        match self {
            Overlay::None => Overlay::MovingAverages,
            Overlay::MovingAverages => Overlay::Bollinger,
            Overlay::Bollinger => Overlay::All,
            Overlay::All => Overlay::None,
        }
    }

    fn averages(self) -> bool {
        matches!(self, Overlay::MovingAverages | Overlay::All)
    }

    fn bands(self) -> bool {
        matches!(self, Overlay::Bollinger | Overlay::All)
    }

    /// The lines drawn, each with its legend label and colour.
    pub fn lines(self) -> Vec<Line> {
        let mut lines = Vec::with_capacity(5);
        if self.bands() {
            lines.push(Line::new("", BANDS, |i| i.bb_upper));
            lines.push(Line::new("", BANDS, |i| i.bb_lower));
            lines.push(Line::new("BB 20 2", BANDS, |i| i.bb_middle));
        }
        if self.averages() {
            lines.push(Line::new("SMA 20", SMA, |i| i.sma_20));
            lines.push(Line::new("EMA 20", EMA, |i| i.ema_20));
        }
        lines
    }
}

pub const SMA: Color = Color::Yellow;
pub const EMA: Color = Color::Cyan;
pub const BANDS: Color = Color::Magenta;

/// One indicator line: which value, in which colour, labelled how in the legend.
#[derive(Clone, Copy)]
pub struct Line {
    pub label: &'static str,
    pub color: Color,
    pub value: fn(&ChartIndicators) -> Option<f64>,
}

impl Line {
    pub fn new(
        label: &'static str,
        color: Color,
        value: fn(&ChartIndicators) -> Option<f64>,
    ) -> Line {
        Line {
            label,
            color,
            value,
        }
    }
}

/// The low and high of the lines' values over the candles shown, so the scale can hold them.
pub fn range(visible: &Visible<'_>, lines: &[Line]) -> Option<(f64, f64)> {
    let mut low = f64::INFINITY;
    let mut high = f64::NEG_INFINITY;
    for indicators in visible.indicator_iter().flatten() {
        for line in lines {
            if let Some(v) = (line.value)(indicators).filter(|v| v.is_finite()) {
                low = low.min(v);
                high = high.max(v);
            }
        }
    }
    (low <= high).then_some((low, high))
}

/// Draws the lines right-aligned in `area` like the candles (one column per candle).
pub fn render_overlays(
    buf: &mut Buffer,
    area: Rect,
    visible: &Visible<'_>,
    scale: &PriceScale,
    lines: &[Line],
) {
    let n = visible.len().min(usize::from(area.width));
    let skip = visible.len() - n;
    for line in lines {
        let values = visible
            .indicator_iter()
            .skip(skip)
            .map(|i| i.and_then(line.value));
        plot(
            buf,
            Rect::new(area.right() - n as u16, area.y, n as u16, area.height),
            values,
            scale.low,
            scale.high,
            Style::new().fg(line.color),
        );
    }
}

/// Braille dot bits of the left dot column, top to bottom.
const LEFT_DOTS: [u32; 4] = [0x01, 0x02, 0x04, 0x40];
const BRAILLE_BASE: u32 = 0x2800;

/// Plots `values` (one per column from `area.x`) between `low` (bottom) and `high` (top) as a
/// braille line, joining neighbouring points vertically. Values outside the range are not drawn
/// (a line clamped to the edge would show a price that is not there). Dots merge with braille
/// already in a cell.
pub fn plot(
    buf: &mut Buffer,
    area: Rect,
    values: impl Iterator<Item = Option<f64>>,
    low: f64,
    high: f64,
    style: Style,
) {
    let dots = i32::from(area.height) * 4;
    if dots == 0 || high.partial_cmp(&low) != Some(std::cmp::Ordering::Greater) {
        return;
    }
    let per_unit = f64::from(dots - 1) / (high - low);
    let mut previous: Option<i32> = None;
    for (column, value) in values.enumerate().take(usize::from(area.width)) {
        let level = value
            .filter(|v| *v >= low && *v <= high)
            .map(|v| (((v - low) * per_unit).round() as i32).clamp(0, dots - 1));
        let Some(level) = level else {
            previous = None;
            continue;
        };
        let (from, to) = match previous {
            Some(p) if p < level => ((p + level + 1) / 2, level),
            Some(p) if p > level => (level, (p + level) / 2),
            _ => (level, level),
        };
        let x = area.x + column as u16;
        for l in from..=to {
            let row_from_top = (dots - 1 - l) / 4;
            let dot = (dots - 1 - l) % 4;
            let cell = &mut buf[(x, area.y + row_from_top as u16)];
            let existing = cell
                .symbol()
                .chars()
                .next()
                .map(u32::from)
                .filter(|c| (BRAILLE_BASE..BRAILLE_BASE + 0x100).contains(c))
                .map_or(0, |c| c - BRAILLE_BASE);
            let bits = existing | LEFT_DOTS[dot as usize];
            if let Some(ch) = char::from_u32(BRAILLE_BASE + bits) {
                cell.set_char(ch).set_style(style);
            }
        }
        previous = Some(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(buf: &Buffer) -> Vec<String> {
        let area = buf.area;
        (0..area.height)
            .map(|y| (0..area.width).map(|x| buf[(x, y)].symbol()).collect())
            .collect()
    }

    #[test]
    fn a_rising_line_climbs_dot_by_dot() {
        let area = Rect::new(0, 0, 4, 1);
        let mut buf = Buffer::empty(area);
        let values = [0.0, 1.0, 2.0, 3.0].map(Some);
        plot(&mut buf, area, values.into_iter(), 0.0, 3.0, Style::new());
        assert_eq!(text(&buf), vec!["⡀⠄⠂⠁".to_string()]);
        // A jump is joined vertically from halfway.
        let mut buf = Buffer::empty(area);
        let values = [Some(0.0), Some(3.0)];
        plot(&mut buf, area, values.into_iter(), 0.0, 3.0, Style::new());
        assert_eq!(text(&buf), vec!["⡀⠃  ".to_string()]);
    }

    #[test]
    fn out_of_range_and_missing_values_are_not_drawn() {
        let area = Rect::new(0, 0, 3, 2);
        let mut buf = Buffer::empty(area);
        let values = [None, Some(10.0), Some(-1.0)];
        plot(&mut buf, area, values.into_iter(), 0.0, 1.0, Style::new());
        assert_eq!(text(&buf), vec!["   ".to_string(), "   ".to_string()]);
    }

    #[test]
    fn overlays_cycle_through_every_mode() {
        let mut mode = Overlay::None;
        let mut seen = Vec::new();
        for _ in 0..4 {
            mode = mode.next();
            seen.push(mode);
        }
        assert_eq!(mode, Overlay::None);
        assert_eq!(Overlay::All.lines().len(), 5);
        assert!(Overlay::None.lines().is_empty());
        assert_eq!(seen.len(), 4);
    }
}
