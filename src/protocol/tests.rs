//! Unit tests of `Snapshot::apply`: ordering, bounds, indicator alignment.

use super::*;
use crate::domain::fixtures::candle;

fn snapshot() -> Snapshot {
    let symbol = Symbol::new("BTCUSDT").expect("valid");
    Snapshot {
        source: SourceInfo::simulated(1, 60.0),
        intervals: vec![Interval::M1],
        markets: vec![Market {
            symbol,
            last_price: None,
            last_trade_ms: None,
            series: vec![Series::default()],
        }],
        health: HealthReport::default(),
        recent_events: VecDeque::new(),
        keep_candles: 3,
        started_at_ms: 0,
        signals: Vec::new(),
        models: Default::default(),
        backtests: Default::default(),
        monitor: Default::default(),
        shadow: Default::default(),
        paper: Default::default(),
    }
}

#[test]
fn closed_candles_stay_sorted_unique_and_bounded() {
    let mut s = snapshot();
    let symbol = s.markets[0].symbol;
    for t in [5, 1, 3, 3, 4, 2, 6] {
        s.apply(&Update::Candle {
            symbol,
            interval: Interval::M1,
            candle: candle(t * 60_000),
            closed: true,
            indicators: marked(t),
        });
    }
    let times: Vec<i64> = s.markets[0].series[0]
        .closed
        .iter()
        .map(|c| c.open_time_ms / 60_000)
        .collect();
    assert_eq!(times, vec![4, 5, 6]);
}

/// Indicator values that say which candle they belong to.
fn marked(t: i64) -> ChartIndicators {
    ChartIndicators {
        sma_20: Some(t as f64),
        ..ChartIndicators::default()
    }
}

fn marks(s: &Snapshot) -> Vec<Option<f64>> {
    s.markets[0].series[0]
        .indicators
        .iter()
        .map(|i| i.sma_20)
        .collect()
}

#[test]
fn indicators_stay_beside_their_candles() {
    let mut s = snapshot();
    let symbol = s.markets[0].symbol;
    for t in [5, 1, 3, 3, 4, 2, 6] {
        s.apply(&Update::Candle {
            symbol,
            interval: Interval::M1,
            candle: candle(t * 60_000),
            closed: true,
            indicators: marked(t),
        });
    }
    assert_eq!(marks(&s), vec![Some(4.0), Some(5.0), Some(6.0)]);
    // A backfill inside the series replaces the values of the newest candles it sends.
    s.apply(&Update::Backfill {
        symbol,
        interval: Interval::M1,
        candles: vec![candle(5 * 60_000), candle(7 * 60_000)],
        indicators: vec![marked(50), marked(60), marked(70)],
    });
    assert_eq!(marks(&s), vec![Some(50.0), Some(60.0), Some(70.0)]);
    // More values than candles: the newest ones are used.
    s.apply(&Update::Backfill {
        symbol,
        interval: Interval::M1,
        candles: vec![candle(8 * 60_000)],
        indicators: vec![marked(0), marked(1), marked(2), marked(3), marked(80)],
    });
    assert_eq!(marks(&s), vec![Some(2.0), Some(3.0), Some(80.0)]);
    let series = &s.markets[0].series[0];
    assert_eq!(series.closed.len(), series.indicators.len());
}

#[test]
fn a_replica_without_indicators_is_padded() {
    let mut s = snapshot();
    let symbol = s.markets[0].symbol;
    s.markets[0].series[0].closed = (1..=2).map(|t| candle(t * 60_000)).collect();
    s.apply(&Update::Candle {
        symbol,
        interval: Interval::M1,
        candle: candle(3 * 60_000),
        closed: true,
        indicators: marked(3),
    });
    assert_eq!(marks(&s), vec![None, None, Some(3.0)]);
}

#[test]
fn open_candle_is_replaced_by_its_close() {
    let mut s = snapshot();
    let symbol = s.markets[0].symbol;
    let open = Update::Candle {
        symbol,
        interval: Interval::M1,
        candle: candle(60_000),
        closed: false,
        indicators: ChartIndicators::default(),
    };
    s.apply(&open);
    assert!(s.markets[0].series[0].open.is_some());
    s.apply(&Update::Candle {
        symbol,
        interval: Interval::M1,
        candle: candle(60_000),
        closed: true,
        indicators: ChartIndicators::default(),
    });
    assert!(s.markets[0].series[0].open.is_none());
    // A stale open update for a candle already closed is ignored.
    s.apply(&open);
    assert!(s.markets[0].series[0].open.is_none());
}

#[test]
fn unknown_symbol_is_ignored() {
    let mut s = snapshot();
    let before = s.clone();
    s.apply(&Update::LastPrice {
        symbol: Symbol::new("ETHUSDT").expect("valid"),
        price: 1.0,
        time_ms: 1,
    });
    assert_eq!(s, before);
}

fn signal(open_time_ms: i64, interval: Interval, signal: crate::domain::Signal) -> SignalInfo {
    SignalInfo {
        symbol: Symbol::new("BTCUSDT").expect("valid"),
        interval,
        open_time_ms,
        made_ms: open_time_ms + 60_000,
        model_version: "1.0.0".into(),
        probabilities: [0.2, 0.3, 0.5],
        confidence: 0.2,
        votes: [0, 1, 4],
        signal,
        drivers: vec![("rsi_14".into(), 0.3)],
        fallback: false,
    }
}

#[test]
fn signals_keep_the_newest_per_series() {
    use crate::domain::Signal;
    let mut state = snapshot();
    state.apply(&Update::Signal(Box::new(signal(
        120_000,
        Interval::M1,
        Signal::Buy,
    ))));
    state.apply(&Update::Signal(Box::new(signal(
        60_000,
        Interval::M1,
        Signal::Sell,
    ))));
    assert_eq!(state.signals.len(), 1);
    assert_eq!(
        state.signals[0].signal,
        Signal::Buy,
        "an older signal never replaces a newer one"
    );
    state.apply(&Update::Signal(Box::new(signal(
        180_000,
        Interval::M1,
        Signal::Hold,
    ))));
    state.apply(&Update::Signal(Box::new(signal(
        60_000,
        Interval::M5,
        Signal::Sell,
    ))));
    assert_eq!(state.signals.len(), 2);
    assert_eq!(state.signals[0].signal, Signal::Hold);
}

#[test]
fn models_updates_leave_training_progress_to_its_own_update() {
    let mut state = snapshot();
    let progress = TrainingProgress {
        symbol: Symbol::new("BTCUSDT").expect("valid"),
        interval: Interval::M1,
        started_ms: 0,
        member: 1,
        members: 5,
        epoch: 3,
        epochs: 30,
        train_loss: 1.09,
        validation_loss: 1.1,
        validation_accuracy: 0.35,
        eta_secs: None,
    };
    state.apply(&Update::Training(Some(Box::new(progress.clone()))));
    let models = ModelsView {
        active: Some(7),
        fallback: Some("blob checksum mismatch".into()),
        ..ModelsView::default()
    };
    state.apply(&Update::Models(Box::new(models)));
    assert_eq!(state.models.active, Some(7));
    assert_eq!(state.models.training, Some(progress));
    state.apply(&Update::Training(None));
    assert_eq!(state.models.training, None);
    assert_eq!(
        state.models.fallback.as_deref(),
        Some("blob checksum mismatch")
    );
}

#[test]
fn model_updates_and_commands_survive_json() {
    use crate::domain::Signal;
    let updates = [
        Update::Signal(Box::new(signal(60_000, Interval::M1, Signal::Sell))),
        Update::Models(Box::default()),
        Update::Training(None),
    ];
    for update in updates {
        let text = serde_json::to_string(&update).expect("serialises");
        let back: Update = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, update);
    }
    let commands = [
        Command::SwitchModel { id: 3 },
        Command::PromoteModel { id: 3 },
        Command::RollbackModel,
        Command::Retrain {
            symbol: Symbol::new("ETHUSDT").expect("valid"),
            interval: Interval::M5,
        },
    ];
    for command in commands {
        let text = serde_json::to_string(&command).expect("serialises");
        assert_eq!(
            serde_json::from_str::<Command>(&text).expect("parses"),
            command
        );
    }
}
