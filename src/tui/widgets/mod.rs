//! Chart widgets drawn straight into the frame buffer: candlesticks with their price and time
//! axes, volume bars, equity and drawdown curves, alert toasts; and the bordered block and centred text that
//! panes and widgets share.

pub mod candles;
pub mod equity;
pub mod oscillator;
pub mod overlay;
pub mod toast;
pub mod volume;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::Block;

use super::theme;
use crate::domain::Candle;
use crate::protocol::{ChartIndicators, Series};

/// A bordered block with a heading title, in the theme's colours.
pub fn block(title: String) -> Block<'static> {
    Block::bordered()
        .border_style(theme::border())
        .title(Span::styled(title, theme::heading()))
}

/// Writes `text` centred in `area` (on its middle row), cut to the width.
pub fn centered(buf: &mut Buffer, area: Rect, text: &str, style: Style) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let width = text.chars().count().min(usize::from(area.width)) as u16;
    let x = area.x + (area.width - width) / 2;
    let y = area.y + area.height / 2;
    buf.set_stringn(x, y, text, usize::from(width), style);
}

/// The newest candles of a series that fit in a number of columns, oldest first; the last one may
/// be the open (unfinished) candle. Thinning happens here, before anything is drawn.
#[derive(Clone, Debug, Default)]
pub struct Visible<'a> {
    candles: Vec<&'a Candle>,
    /// Indicator values beside each candle (`None` for the open candle).
    indicators: Vec<Option<&'a ChartIndicators>>,
    last_is_open: bool,
}

impl<'a> Visible<'a> {
    pub fn thin(series: &'a Series, columns: usize) -> Self {
        let open = series.open.as_ref().filter(|_| columns > 0);
        let closed_take = columns
            .saturating_sub(usize::from(open.is_some()))
            .min(series.closed.len());
        let first = series.closed.len() - closed_take;
        let mut candles = Vec::with_capacity(closed_take + 1);
        candles.extend(series.closed.range(first..));
        candles.extend(open);
        // The values sit beside the closed candles; a replica without them draws no overlays.
        let mut indicators = Vec::with_capacity(candles.len());
        if series.indicators.len() == series.closed.len() {
            indicators.extend(series.indicators.range(first..).map(Some));
        } else {
            indicators.resize(closed_take, None);
        }
        if open.is_some() {
            indicators.push(None);
        }
        Self {
            candles,
            indicators,
            last_is_open: open.is_some(),
        }
    }

    /// Indicator values of the candle at `index`.
    pub fn indicators(&self, index: usize) -> Option<&'a ChartIndicators> {
        self.indicators.get(index).copied().flatten()
    }

    /// Each candle's indicator values, oldest first, one per candle.
    pub fn indicator_iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = Option<&'a ChartIndicators>> + '_ {
        self.indicators.iter().copied()
    }

    /// Does any candle shown follow a gap?
    pub fn has_gap(&self) -> bool {
        self.indicators.iter().flatten().any(|i| i.gap)
    }

    pub fn len(&self) -> usize {
        self.candles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.candles.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a Candle> + '_ {
        self.candles.iter().copied()
    }

    /// Is the candle at `index` the open one?
    pub fn is_open(&self, index: usize) -> bool {
        self.last_is_open && index + 1 == self.candles.len()
    }

    pub fn last(&self) -> Option<&'a Candle> {
        self.candles.last().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::candle;

    #[test]
    fn thinning_keeps_the_newest_and_the_open_candle() {
        let series = Series {
            closed: (0..10).map(candle).collect(),
            open: Some(candle(10)),
            indicators: Default::default(),
        };
        let visible = Visible::thin(&series, 4);
        let times: Vec<i64> = visible.iter().map(|c| c.open_time_ms).collect();
        assert_eq!(times, vec![7, 8, 9, 10]);
        assert!(visible.is_open(3));
        assert!(!visible.is_open(2));
        assert!(Visible::thin(&series, 0).is_empty());
        assert_eq!(Visible::thin(&series, 100).len(), 11);
        let closed_only = Series {
            closed: (0..3).map(candle).collect(),
            open: None,
            indicators: Default::default(),
        };
        let visible = Visible::thin(&closed_only, 2);
        assert_eq!(visible.len(), 2);
        assert!(!visible.is_open(1));
    }
}
