//! Per-stream message counters and the link state, turned into a `HealthReport` once a second.

use crate::domain::{Interval, Symbol};
use crate::protocol::{HealthReport, LinkState, StreamHealth, StreamState};

#[derive(Clone, Debug)]
struct StreamCounter {
    name: String,
    messages: u64,
    messages_at_last_report: u64,
    last_message_ms: Option<i64>,
    rate: f64,
}

/// Counters the engine keeps for the Health pane.
#[derive(Clone, Debug)]
pub struct HealthCounters {
    symbols: Vec<Symbol>,
    intervals: Vec<Interval>,
    /// Kline streams (symbol-major), then trade streams.
    streams: Vec<StreamCounter>,
    trades: bool,
    pub link: Option<LinkState>,
    pub connects: u64,
    /// Connect attempts that failed.
    pub failed_connects: u64,
    pub gaps_found: u64,
    pub gaps_repaired: u64,
    pub candles_backfilled: u64,
    pub parse_errors: u64,
    pub rate_limited: u64,
    last_report_ms: Option<i64>,
    /// A connected stream with nothing for this long is shown as stale.
    stale_after_ms: i64,
}

impl HealthCounters {
    /// `names`: the source's stream names, kline streams symbol-major then trade streams; any
    /// other length gives plain names (`BTCUSDT 1m`, `BTCUSDT trades`).
    pub fn new(
        symbols: &[Symbol],
        intervals: &[Interval],
        trades: bool,
        names: &[String],
        stale_after_ms: i64,
    ) -> Self {
        let counter = |name| StreamCounter {
            name,
            messages: 0,
            messages_at_last_report: 0,
            last_message_ms: None,
            rate: 0.0,
        };
        let expected = symbols.len() * intervals.len() + if trades { symbols.len() } else { 0 };
        let streams = if names.len() == expected {
            names.iter().cloned().map(counter).collect()
        } else {
            let mut plain = Vec::with_capacity(expected);
            for s in symbols {
                plain.extend(intervals.iter().map(|i| counter(format!("{s} {i}"))));
            }
            if trades {
                plain.extend(symbols.iter().map(|s| counter(format!("{s} trades"))));
            }
            plain
        };
        Self {
            symbols: symbols.to_vec(),
            intervals: intervals.to_vec(),
            streams,
            trades,
            link: None,
            connects: 0,
            failed_connects: 0,
            gaps_found: 0,
            gaps_repaired: 0,
            candles_backfilled: 0,
            parse_errors: 0,
            rate_limited: 0,
            last_report_ms: None,
            stale_after_ms,
        }
    }

    fn symbol_index(&self, symbol: Symbol) -> Option<usize> {
        self.symbols.iter().position(|s| *s == symbol)
    }

    /// Counts a kline message. No allocation: streams are found by index.
    pub fn kline(&mut self, symbol: Symbol, interval: Interval, now_ms: i64) {
        let (Some(s), Some(i)) = (
            self.symbol_index(symbol),
            self.intervals.iter().position(|x| *x == interval),
        ) else {
            return;
        };
        let index = s * self.intervals.len() + i;
        self.touch(index, now_ms);
    }

    pub fn trade(&mut self, symbol: Symbol, now_ms: i64) {
        if !self.trades {
            return;
        }
        if let Some(s) = self.symbol_index(symbol) {
            let index = self.symbols.len() * self.intervals.len() + s;
            self.touch(index, now_ms);
        }
    }

    /// The name of a kline stream, as feed events show it.
    pub fn kline_stream(&self, symbol: Symbol, interval: Interval) -> String {
        let index = self.symbol_index(symbol).and_then(|s| {
            let i = self.intervals.iter().position(|x| *x == interval)?;
            Some(s * self.intervals.len() + i)
        });
        index
            .and_then(|i| self.streams.get(i))
            .map_or_else(|| format!("{symbol} {interval}"), |c| c.name.clone())
    }

    fn touch(&mut self, index: usize, now_ms: i64) {
        if let Some(c) = self.streams.get_mut(index) {
            c.messages += 1;
            c.last_message_ms = Some(now_ms);
        }
    }

    pub fn total_messages(&self) -> u64 {
        self.streams.iter().map(|s| s.messages).sum()
    }

    /// Reconnects: every connect after the first.
    pub fn reconnects(&self) -> u64 {
        self.connects.saturating_sub(1)
    }

    /// Builds the report; message rates are over the time since the previous report.
    pub fn report(&mut self, now_ms: i64, started_at_ms: i64) -> HealthReport {
        let elapsed_s = self
            .last_report_ms
            .map(|t| (now_ms - t) as f64 / 1000.0)
            .filter(|s| *s > 0.0);
        self.last_report_ms = Some(now_ms);
        let connected = matches!(self.link, Some(LinkState::Connected { .. }));
        let mut total_rate = 0.0;
        let streams = self
            .streams
            .iter_mut()
            .map(|c| {
                if let Some(s) = elapsed_s {
                    c.rate = (c.messages - c.messages_at_last_report) as f64 / s;
                }
                c.messages_at_last_report = c.messages;
                total_rate += c.rate;
                let age = c.last_message_ms.map(|t| (now_ms - t).max(0));
                let state = if !connected {
                    StreamState::Down
                } else if age.is_some_and(|a| a <= self.stale_after_ms) {
                    StreamState::Live
                } else {
                    StreamState::Stale
                };
                StreamHealth {
                    name: c.name.clone(),
                    state,
                    messages: c.messages,
                    messages_per_sec: c.rate,
                    last_message_age_ms: age,
                }
            })
            .collect();
        HealthReport {
            now_ms,
            uptime_ms: now_ms - started_at_ms,
            link: self.link.clone(),
            streams,
            messages_per_sec: total_rate,
            reconnects: self.reconnects(),
            failed_connects: self.failed_connects,
            gaps_found: self.gaps_found,
            gaps_repaired: self.gaps_repaired,
            candles_backfilled: self.candles_backfilled,
            parse_errors: self.parse_errors,
            rate_limited: self.rate_limited,
            db_write_p50_ms: None,
            db_write_p99_ms: None,
            rows_stored: 0,
            db_rows_lost: 0,
            db_write_errors: 0,
            db_writer_problem: None,
            db_bytes: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_states() {
        let btc = Symbol::new("BTCUSDT").unwrap();
        let eth = Symbol::new("ETHUSDT").unwrap();
        let names = [
            "btcusdt@kline_1m",
            "btcusdt@kline_5m",
            "ethusdt@kline_1m",
            "ethusdt@kline_5m",
            "btcusdt@trade",
            "ethusdt@trade",
        ]
        .map(String::from);
        let mut h = HealthCounters::new(
            &[btc, eth],
            &[Interval::M1, Interval::M5],
            true,
            &names,
            5_000,
        );
        h.report(0, 0);
        h.link = Some(LinkState::Connected { since_ms: 0 });
        for _ in 0..4 {
            h.kline(eth, Interval::M5, 1_000);
        }
        h.trade(btc, 1_500);
        let r = h.report(2_000, 0);
        let names: Vec<_> = r.streams.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "btcusdt@kline_1m",
                "btcusdt@kline_5m",
                "ethusdt@kline_1m",
                "ethusdt@kline_5m",
                "btcusdt@trade",
                "ethusdt@trade"
            ]
        );
        assert_eq!(r.streams[3].messages, 4);
        assert_eq!(r.streams[3].messages_per_sec, 2.0);
        assert_eq!(r.streams[3].state, StreamState::Live);
        assert_eq!(r.streams[0].state, StreamState::Stale);
        assert_eq!(r.streams[4].messages, 1);
        assert_eq!(r.messages_per_sec, 2.5);
        h.link = None;
        assert!(
            h.report(3_000, 0)
                .streams
                .iter()
                .all(|s| s.state == StreamState::Down)
        );
    }
}
