//! The engine's indicator path: refusing bad candles before they reach an indicator, and
//! recomputing a series when candles land inside it.

use crate::domain::{Candle, Interval, Symbol};
use crate::domain::{FeedEvent, FeedEventKind};
use crate::protocol::{Series, Snapshot, Update};

use super::super::indicators::SeriesIndicators;
use super::{Engine, EngineOptions};

fn series_mut(state: &mut Snapshot, symbol: Symbol, interval: Interval) -> Option<&mut Series> {
    let index = state.intervals.iter().position(|i| *i == interval)?;
    state
        .markets
        .iter_mut()
        .find(|m| m.symbol == symbol)?
        .series
        .get_mut(index)
}

/// Warms the indicators up on the candles `state` starts with, and makes the state's values the
/// ones those indicators give. Per symbol, per interval, in the options' order.
pub(super) fn warm_up(options: &EngineOptions, state: &mut Snapshot) -> Vec<Vec<SeriesIndicators>> {
    options
        .symbols
        .iter()
        .map(|symbol| {
            options
                .intervals
                .iter()
                .map(|&interval| {
                    let mut live = SeriesIndicators::new(interval);
                    if let Some(series) = series_mut(state, *symbol, interval) {
                        series.indicators = live.rebuild(series.closed.iter()).into();
                    }
                    live
                })
                .collect()
        })
        .collect()
}

impl Engine {
    pub(super) fn series_indicators(
        &mut self,
        symbol: Symbol,
        interval: Interval,
    ) -> Option<&mut SeriesIndicators> {
        let s = self.symbol_index(symbol)?;
        let i = self.options.intervals.iter().position(|x| *x == interval)?;
        self.indicators.get_mut(s)?.get_mut(i)
    }

    /// Refuses a candle that would put garbage into the indicators (NaN, a zero or negative
    /// price, high below low): it is counted and recorded as a parse error, never stored or
    /// shown.
    pub(super) fn accept(
        &mut self,
        symbol: Symbol,
        interval: Interval,
        candle: &Candle,
        now: i64,
    ) -> bool {
        let Err(error) = candle.validate() else {
            return true;
        };
        self.on_feed_event(FeedEvent {
            time_ms: now,
            kind: FeedEventKind::ParseError,
            stream: self.health.kline_stream(symbol, interval),
            detail: format!(
                "refused {symbol} {interval} candle at open_time_ms {}: {error}",
                candle.open_time_ms
            ),
            count: 1,
        });
        false
    }

    /// Candles that land inside the series (older than its newest): the series' indicators are
    /// recomputed with them in place and all its values published.
    pub(super) fn publish_rebuilt(
        &mut self,
        symbol: Symbol,
        interval: Interval,
        candles: Vec<Candle>,
    ) {
        let keep = self.state.keep_candles;
        let Some(series) = series_mut(&mut self.state, symbol, interval).map(|s| s.clone()) else {
            return;
        };
        let Some(live) = self.series_indicators(symbol, interval) else {
            return;
        };
        let indicators = live.rebuild_with(&series, &candles, keep);
        self.publish(Update::Backfill {
            symbol,
            interval,
            candles,
            indicators,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::fixtures::{MINUTE_MS, ohlc};
    use crate::engine::{Publisher, initial_snapshot};

    use crate::feed::MarketEvent;
    use crate::protocol::{ChartIndicators, SourceInfo};
    use crate::store::Store;
    use crate::store::writer::{Writer, WriterOptions};

    fn candles(n: i64) -> Vec<Candle> {
        (0..n)
            .map(|i| {
                let close = 50.0 + (i as f64 * 0.3).sin() * 2.0 + i as f64 * 0.05;
                Candle {
                    volume: 2.0 + (i % 5) as f64,
                    quote_volume: 0.0,
                    trades: 3,
                    ..ohlc(i * MINUTE_MS, close - 0.2, close + 0.5, close - 0.6, close)
                }
            })
            .collect()
    }

    fn expected(series: &[Candle]) -> Vec<ChartIndicators> {
        SeriesIndicators::new(Interval::M1).rebuild(series.iter())
    }

    /// An engine whose state starts with `loaded` BTCUSDT 1m candles.
    fn engine(dir: &std::path::Path, loaded: &[Candle]) -> (Engine, Writer) {
        let symbol = Symbol::new("BTCUSDT").unwrap();
        let options = EngineOptions {
            source: SourceInfo::simulated(1, 1.0),
            symbols: vec![symbol],
            intervals: vec![Interval::M1],
            trades: false,
            streams: Vec::new(),
            clock: std::sync::Arc::new(crate::domain::WallClock),
            keep_candles: 1_000,
            stale_after: Duration::from_secs(10),
            health_every: Duration::from_secs(1),
            price_every: Duration::from_millis(100),
            model: crate::config::Config::default().model,
            backtest: crate::config::Config::default().backtest,
            retrain: Default::default(),
            paper: Default::default(),
            filters: Vec::new(),
            monitor: crate::config::Config::default().monitor,
            alerts: Default::default(),
            metrics: None,
        };
        let state = initial_snapshot(&options, |_, _| loaded.to_vec(), Vec::new(), 0);
        let writer = Writer::spawn(
            Store::open(&dir.join("e.db")).unwrap(),
            WriterOptions {
                batch_max_rows: 100,
                batch_max_ms: 10,
            },
        );
        let (control, _) = tokio::sync::mpsc::channel(4);
        let engine = Engine::new(
            options,
            state,
            writer.sender(),
            writer.stats(),
            None,
            Publisher::none(),
            control,
        );
        (engine, writer)
    }

    fn kline(candle: Candle) -> MarketEvent {
        MarketEvent::Kline {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            interval: Interval::M1,
            candle,
            closed: true,
        }
    }

    fn values(engine: &Engine) -> Vec<ChartIndicators> {
        engine.snapshot().markets[0].series[0]
            .indicators
            .iter()
            .copied()
            .collect()
    }

    #[test]
    fn indicators_follow_every_closed_candle_and_late_ones_rebuild_the_series() {
        let dir = tempfile::tempdir().unwrap();
        let all = candles(90);
        let (mut engine, _writer) = engine(dir.path(), &all[..40]);
        assert_eq!(values(&engine), expected(&all[..40]), "warmed up at start");
        for c in &all[40..70] {
            engine.on_market(kline(*c));
        }
        assert_eq!(values(&engine), expected(&all[..70]));
        // Candle 75 arrives before 70..75 (a gap), then they are backfilled late.
        engine.on_market(kline(all[75]));
        let mut with_gap: Vec<Candle> = all[..70].to_vec();
        with_gap.push(all[75]);
        assert_eq!(values(&engine), expected(&with_gap));
        assert!(values(&engine)[70].gap);
        engine.on_market(MarketEvent::Backfill {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            interval: Interval::M1,
            candles: all[70..75].to_vec(),
        });
        assert_eq!(values(&engine), expected(&all[..76]));
        assert!(values(&engine).iter().all(|v| !v.gap));
        // And on incrementally from there.
        for c in &all[76..] {
            engine.on_market(kline(*c));
        }
        assert_eq!(values(&engine), expected(&all));
    }

    #[test]
    fn bad_candles_are_counted_and_never_reach_an_indicator() {
        let dir = tempfile::tempdir().unwrap();
        let all = candles(60);
        let (mut engine, _writer) = engine(dir.path(), &all[..50]);
        let before = engine.snapshot().clone();
        let bad = [
            Candle {
                close: f64::NAN,
                ..all[50]
            },
            Candle {
                open: 0.0,
                low: 0.0,
                ..all[50]
            },
            Candle {
                low: -1.0,
                ..all[50]
            },
            Candle {
                high: all[50].low - 1.0,
                ..all[50]
            },
        ];
        for candle in bad {
            engine.on_market(kline(candle));
        }
        let after = engine.snapshot();
        assert_eq!(after.markets, before.markets, "nothing changed");
        assert_eq!(engine.summary().parse_errors, 4);
        let refused = after
            .recent_events
            .iter()
            .filter(|e| e.kind == FeedEventKind::ParseError)
            .count();
        assert_eq!(refused, 4);
        assert!(
            after
                .recent_events
                .back()
                .unwrap()
                .detail
                .contains("refused BTCUSDT 1m candle at open_time_ms 3000000"),
            "{:?}",
            after.recent_events.back()
        );
        assert_eq!(engine.summary().candles_stored[0].1[0].1, 0, "none stored");
        engine.on_market(kline(all[50]));
        assert_eq!(values(&engine), expected(&all[..51]));
    }
}
