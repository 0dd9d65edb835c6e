//! Volume bars under the candles, in eighth-blocks for eight steps per row.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::tui::theme;

use super::Visible;

const EIGHTHS: [&str; 8] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];

/// Largest volume among the candles (0 when none is positive).
pub fn max_volume(candles: &Visible<'_>) -> f64 {
    candles
        .iter()
        .map(|c| c.volume)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
}

/// Draws one bar per candle, right-aligned like the candles above, scaled to `max`. A positive
/// volume always shows at least the lowest eighth so a quiet candle is not mistaken for no data.
pub fn render_volume(buf: &mut Buffer, area: Rect, candles: &Visible<'_>, max: f64) {
    if area.height == 0 || max.is_nan() || max <= 0.0 {
        return;
    }
    let n = candles.len().min(usize::from(area.width));
    let first_x = area.right() - n as u16;
    let total_eighths = f64::from(area.height) * 8.0;
    for (i, candle) in candles.iter().skip(candles.len() - n).enumerate() {
        let index = candles.len() - n + i;
        let style = theme::candle(candle.close >= candle.open, candles.is_open(index));
        let fraction = (candle.volume / max).clamp(0.0, 1.0);
        let mut eighths = if fraction.is_finite() {
            (fraction * total_eighths).round() as u32
        } else {
            0
        };
        if eighths == 0 && candle.volume > 0.0 {
            eighths = 1;
        }
        let x = first_x + i as u16;
        for row in (0..area.height).rev() {
            if eighths == 0 {
                break;
            }
            let here = eighths.min(8);
            buf[(x, area.y + row)]
                .set_symbol(EIGHTHS[here as usize - 1])
                .set_style(style);
            eighths -= here;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Candle, fixtures};

    use crate::protocol::Series;

    fn candle(t: i64, volume: f64) -> Candle {
        Candle {
            volume,
            quote_volume: volume,
            ..fixtures::candle(t)
        }
    }

    #[test]
    fn bars_scale_to_the_largest_volume() {
        let series = Series {
            closed: [8.0, 4.0, 0.01, 0.0]
                .iter()
                .enumerate()
                .map(|(i, v)| candle(i as i64, *v))
                .collect(),
            open: None,
            indicators: Default::default(),
        };
        let visible = Visible::thin(&series, 4);
        let area = Rect::new(0, 0, 4, 2);
        let mut buf = Buffer::empty(area);
        render_volume(&mut buf, area, &visible, max_volume(&visible));
        let cells: Vec<&str> = buf.content().iter().map(|c| c.symbol()).collect();
        assert_eq!(cells, vec!["█", " ", " ", " ", "█", "█", "▁", " "]);
    }
}
