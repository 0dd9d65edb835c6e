//! Candlesticks at half-cell vertical resolution, the price scale beside them, and the time axis
//! under them. One candle per column; the caller has already thinned the series to the width.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::domain::{Candle, Interval};
use crate::fmt;
use crate::tui::theme;

use super::Visible;

/// Maps prices to half-row levels of a plot `rows` high: level 0 is the bottom half of the
/// bottom row, level `2 * rows - 1` the top half of the top row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PriceScale {
    pub low: f64,
    pub high: f64,
    pub rows: u16,
}

impl PriceScale {
    /// The range of the candles' lows and highs, widened a little when flat so it never divides
    /// by zero. `None` without candles, rows or finite prices.
    pub fn fit(candles: &Visible<'_>, rows: u16) -> Option<PriceScale> {
        let (low, high) = candles
            .iter()
            .filter(|c| c.low.is_finite() && c.high.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), c| {
                (lo.min(c.low), hi.max(c.high))
            });
        if rows == 0 || !low.is_finite() || !high.is_finite() {
            return None;
        }
        let (low, high) = if high - low > high.abs() * 1e-12 {
            (low, high)
        } else {
            let pad = (high.abs() * 0.005).max(1e-8);
            (low - pad, high + pad)
        };
        Some(PriceScale { low, high, rows })
    }

    fn levels(&self) -> i32 {
        i32::from(self.rows) * 2
    }

    /// Half-row level of a price, clamped to the plot.
    pub fn level(&self, price: f64) -> i32 {
        let top = self.levels() - 1;
        let f = (price - self.low) / (self.high - self.low) * f64::from(top);
        if f.is_finite() {
            (f.round() as i32).clamp(0, top)
        } else {
            0
        }
    }

    /// Row of a price counted from the top of the plot.
    pub fn row(&self, price: f64) -> u16 {
        let from_bottom = (self.level(price) / 2) as u16;
        self.rows.saturating_sub(1).saturating_sub(from_bottom)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Part {
    Empty,
    Wick,
    Body,
}

/// The glyph of a cell whose upper and lower halves show the given parts: light lines are wicks,
/// heavy lines are bodies.
fn glyph(upper: Part, lower: Part) -> Option<&'static str> {
    use Part::{Body, Empty, Wick};
    Some(match (upper, lower) {
        (Empty, Empty) => return None,
        (Wick, Wick) => "│",
        (Body, Body) => "┃",
        (Wick, Empty) => "╵",
        (Empty, Wick) => "╷",
        (Body, Empty) => "╹",
        (Empty, Body) => "╻",
        (Wick, Body) => "╽",
        (Body, Wick) => "╿",
    })
}

/// Draws the candles right-aligned in `area`, the newest in the rightmost column.
pub fn render_candles(buf: &mut Buffer, area: Rect, candles: &Visible<'_>, scale: &PriceScale) {
    let n = candles.len().min(usize::from(area.width));
    let first_x = area.right() - n as u16;
    for (i, candle) in candles.iter().skip(candles.len() - n).enumerate() {
        let is_open = candles.is_open(candles.len() - n + i);
        let style = theme::candle(candle.close >= candle.open, is_open);
        let high = scale.level(candle.high);
        let low = scale.level(candle.low);
        let body_top = scale.level(candle.open.max(candle.close));
        let body_bottom = scale.level(candle.open.min(candle.close));
        let part = |level: i32| {
            if (body_bottom..=body_top).contains(&level) {
                Part::Body
            } else if (low..=high).contains(&level) {
                Part::Wick
            } else {
                Part::Empty
            }
        };
        let x = first_x + i as u16;
        for row in 0..area.height.min(scale.rows) {
            let lower_level = i32::from(scale.rows - 1 - row) * 2;
            if let Some(symbol) = glyph(part(lower_level + 1), part(lower_level)) {
                buf[(x, area.y + row)].set_symbol(symbol).set_style(style);
            }
        }
    }
}

/// Decimals that show every multiple of `step` exactly.
fn step_decimals(step: f64) -> usize {
    (0..=8)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(8)
}

/// A "nice" tick step (1, 2, 2.5 or 5 times a power of ten) giving at most `target` ticks.
fn tick_step(range: f64, target: u16) -> f64 {
    let raw = range / f64::from(target.max(1));
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// Labels of the price scale: (row from the top, text). Ticks at nice prices, about one every
/// three rows.
pub fn price_labels(scale: &PriceScale) -> Vec<(u16, String)> {
    let range = scale.high - scale.low;
    let step = tick_step(range, (scale.rows / 3).max(1));
    if !(step.is_finite() && step > 0.0) {
        return Vec::new();
    }
    let decimals = step_decimals(step);
    let mut labels = Vec::new();
    let mut k = (scale.low / step).ceil();
    while k * step <= scale.high && labels.len() < usize::from(scale.rows) {
        let price = k * step;
        let row = scale.row(price);
        if labels.last().is_none_or(|(r, _)| *r != row) {
            labels.push((row, format!("{price:.decimals$}")));
        }
        k += 1.0;
    }
    labels
}

/// Draws the price scale in `area` (one column of axis line, then labels), with the latest price
/// tagged in the candle's colour.
pub fn render_price_axis(
    buf: &mut Buffer,
    area: Rect,
    scale: &PriceScale,
    labels: &[(u16, String)],
    last: Option<&Candle>,
) {
    let width = usize::from(area.width.saturating_sub(1));
    for row in 0..area.height {
        let y = area.y + row;
        let tick = labels.iter().find(|(r, _)| *r == row);
        buf[(area.x, y)]
            .set_symbol(if tick.is_some() { "┤" } else { "│" })
            .set_style(theme::muted());
        if let Some((_, text)) = tick {
            buf.set_stringn(area.x + 1, y, text, width, theme::text());
        }
    }
    if let Some(candle) = last {
        let row = scale.row(candle.close);
        if row < area.height {
            let y = area.y + row;
            let text = format!("{:<width$}", fmt::price(Some(candle.close)));
            buf[(area.x, y)]
                .set_symbol("◀")
                .set_style(theme::price_tag(candle.close >= candle.open));
            buf.set_stringn(
                area.x + 1,
                y,
                text,
                width,
                theme::price_tag(candle.close >= candle.open),
            );
        }
    }
}

/// Width the price scale needs for its labels and the latest price.
pub fn price_axis_width(labels: &[(u16, String)], last: Option<&Candle>) -> u16 {
    let tag = last.map_or(0, |c| fmt::price(Some(c.close)).len());
    let widest = labels.iter().map(|(_, t)| t.len()).max().unwrap_or(0);
    (widest.max(tag) + 1).min(usize::from(u16::MAX)) as u16
}

/// Steps between time labels that land on round clock times, smallest first.
const TIME_STEPS_MS: [i64; 22] = [
    10_000,
    15_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    10_800_000,
    14_400_000,
    21_600_000,
    43_200_000,
    86_400_000,
    172_800_000,
    432_000_000,
    604_800_000,
    1_209_600_000,
    2_592_000_000,
    7_776_000_000,
];

fn time_label(interval: Interval, open_time_ms: i64) -> String {
    if interval.ms() < 60_000 {
        fmt::utc_hms(open_time_ms)
    } else if interval.ms() >= 86_400_000 || open_time_ms.rem_euclid(86_400_000) == 0 {
        fmt::utc_md(open_time_ms)
    } else {
        fmt::utc_hm(open_time_ms)
    }
}

/// Draws UTC time labels along `area` (one row) under the candles drawn right-aligned in a plot
/// of the same x and width: `HH:MM`, `MM-DD` at midnight and for daily or longer candles.
pub fn render_time_axis(buf: &mut Buffer, area: Rect, candles: &Visible<'_>, interval: Interval) {
    if area.height == 0 || candles.is_empty() {
        return;
    }
    let n = candles.len().min(usize::from(area.width));
    let first_x = area.right() - n as u16;
    let label_width: i64 = if interval.ms() < 60_000 { 8 } else { 5 };
    let min_gap_ms = interval.ms() * (label_width + 2);
    let step = TIME_STEPS_MS
        .iter()
        .copied()
        .find(|s| *s >= min_gap_ms && s % interval.ms() == 0);
    let mut next_free_x = area.x;
    for (i, candle) in candles.iter().skip(candles.len() - n).enumerate() {
        let on_step = match step {
            Some(s) => candle.open_time_ms.rem_euclid(s) == 0,
            // No round step fits (3d, 1w candles): label every few candles from the newest.
            None => (n - 1 - i) % (label_width as usize + 2) == 0,
        };
        let x = first_x + i as u16;
        if !on_step || x < next_free_x || x + label_width as u16 > area.right() {
            continue;
        }
        let text = time_label(interval, candle.open_time_ms);
        buf.set_stringn(x, area.y, &text, text.len(), theme::muted());
        next_free_x = x + text.len() as u16 + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures;

    #[test]
    fn scale_maps_range_to_half_rows() {
        let scale = PriceScale {
            low: 100.0,
            high: 200.0,
            rows: 10,
        };
        assert_eq!(scale.level(100.0), 0);
        assert_eq!(scale.level(200.0), 19);
        assert_eq!(scale.level(1e9), 19);
        assert_eq!(scale.level(f64::NAN), 0);
        assert_eq!(scale.row(200.0), 0);
        assert_eq!(scale.row(100.0), 9);
    }

    #[test]
    fn ticks_are_round_and_inside() {
        assert_eq!(tick_step(97.0, 4), 25.0);
        assert_eq!(tick_step(0.0031, 3), 0.002);
        assert_eq!(step_decimals(25.0), 0);
        assert_eq!(step_decimals(0.25), 2);
        let scale = PriceScale {
            low: 63_912.0,
            high: 64_408.0,
            rows: 15,
        };
        let labels = price_labels(&scale);
        assert!(labels.len() >= 3, "{labels:?}");
        for (row, text) in &labels {
            let price: f64 = text.parse().unwrap();
            assert!(price >= scale.low && price <= scale.high, "{text}");
            assert_eq!(price % 100.0, 0.0, "{text}");
            assert!(*row < scale.rows);
        }
    }

    #[test]
    fn time_labels_follow_the_interval() {
        let t = 1_718_000_000_000; // 2024-06-10 06:13:20 UTC
        let midnight = 1_717_977_600_000;
        assert_eq!(time_label(Interval::S1, t), "06:13:20");
        assert_eq!(time_label(Interval::M1, t), "06:13");
        assert_eq!(time_label(Interval::M1, midnight), "06-10");
        assert_eq!(time_label(Interval::D1, midnight), "06-10");
    }

    #[test]
    fn daily_axis_labels_are_dates_on_round_steps() {
        let candles: Vec<Candle> = (0..30)
            .map(|d| fixtures::candle(1_717_977_600_000 + d * 86_400_000))
            .collect();
        let series = crate::protocol::Series {
            closed: candles.into(),
            open: None,
            indicators: Default::default(),
        };
        let visible = Visible::thin(&series, 30);
        let area = Rect::new(0, 0, 30, 1);
        let mut buf = Buffer::empty(area);
        render_time_axis(&mut buf, area, &visible, Interval::D1);
        let text: String = buf.content().iter().map(|c| c.symbol()).collect();
        let labels: Vec<&str> = text.split_whitespace().collect();
        assert!(labels.len() >= 2, "{text:?}");
        for label in labels {
            assert_eq!(label.len(), 5, "{text:?}");
            assert_eq!(&label[2..3], "-", "{text:?}");
        }
    }

    #[test]
    fn glyphs_combine_wick_and_body() {
        assert_eq!(glyph(Part::Wick, Part::Body), Some("╽"));
        assert_eq!(glyph(Part::Body, Part::Wick), Some("╿"));
        assert_eq!(glyph(Part::Empty, Part::Empty), None);
    }
}
