//! The metrics kept by a real engine on a real SQLite file (the demo model as champion, paper
//! trading on), checked against what the engine published and what the store holds.

use std::sync::Arc;

use super::*;
use crate::config::{PaperConfig, PaperMode};
use crate::domain::{Interval, ManualClock};
use crate::engine::test_support::{engine, flush, no_monitor, options, writer};
use crate::feed::MarketEvent;
use crate::feed::sim::model_candles;
use crate::metrics::BuildInfo;
use crate::model::registry::Registry;
use crate::protocol::{HealthReport, StreamHealth};

/// The value of the sample `name{labels}` (exactly as rendered) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

fn count_rows(db: &std::path::Path, sql: &str) -> f64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as f64
}

#[test]
fn a_live_engine_keeps_its_metrics_equal_to_what_it_published_and_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("metrics.db");
    let champion = {
        let mut registry = Registry::open(&db).unwrap();
        crate::model::demo::install(&mut registry).unwrap().unwrap()
    };
    let from = champion.data_to_ms.unwrap() + 60_000;
    let symbols = vec![
        Symbol::new("BTCUSDT").unwrap(),
        Symbol::new("ETHUSDT").unwrap(),
    ];
    let w = writer(&db);
    let clock = Arc::new(ManualClock::new(from));
    let metrics = Metrics::new(BuildInfo::this("built-in"));
    let m = metrics.clone();
    w.stats()
        .observe_commits(move |took| m.store.write_duration.observe(took.as_secs_f64()))
        .unwrap();
    let mut options = options(
        symbols.clone(),
        clock.clone(),
        no_monitor(),
        Default::default(),
    );
    options.model.max_challengers = 0;
    options.paper = PaperConfig {
        enabled: true,
        mode: PaperMode::Bar,
        ..PaperConfig::default()
    };
    options.paper.risk.max_drawdown = 1.0;
    options.metrics = Some(metrics.clone());
    let mut engine = engine(&db, &w, options);
    let count = 700;
    let series: Vec<_> = symbols
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, model_candles(42 + i as u64, s, from, count)))
        .collect();
    for k in 0..count {
        for (symbol, candles) in &series {
            clock.set(candles[k].open_time_ms + 60_000);
            engine.on_market(MarketEvent::Kline {
                symbol: *symbol,
                interval: Interval::M1,
                candle: candles[k],
                closed: true,
            });
        }
    }
    flush(&w);
    engine.report_health();
    let text = metrics.render();
    let health = engine.snapshot().health.clone();
    let paper = engine.snapshot().paper.clone();
    drop(engine);
    flush(&w);
    w.finish().unwrap();

    for symbol in ["BTCUSDT", "ETHUSDT"] {
        // Every prediction the active model stored was counted and timed.
        let stored = count_rows(
            &db,
            &format!(
                "SELECT COUNT(*) FROM predictions WHERE symbol = '{symbol}' AND role = 'active'"
            ),
        );
        assert!(stored > 100.0, "{symbol}: {stored} predictions");
        assert_eq!(
            sample(
                &text,
                &format!("trademon_model_predictions_total{{role=\"active\",symbol=\"{symbol}\"}}")
            ),
            Some(stored),
            "{symbol}"
        );
        let messages = health
            .streams
            .iter()
            .find(|s| s.name == format!("{symbol} 1m"))
            .unwrap()
            .messages;
        assert_eq!(messages, count as u64);
        assert_eq!(
            sample(
                &text,
                &format!("trademon_feed_messages_total{{symbol=\"{symbol}\",stream=\"1m\"}}")
            ),
            Some(messages as f64)
        );
    }
    let predictions = count_rows(
        &db,
        "SELECT COUNT(*) FROM predictions WHERE role = 'active'",
    );
    assert_eq!(
        sample(
            &text,
            "trademon_model_inference_duration_seconds_count{role=\"active\"}"
        ),
        Some(predictions)
    );
    assert_eq!(
        sample(&text, "trademon_store_rows_written_total"),
        Some(health.rows_stored as f64)
    );
    assert!(sample(&text, "trademon_store_write_duration_seconds_count").unwrap() >= 1.0);
    assert_eq!(sample(&text, "trademon_model_fallback_active"), Some(0.0));
    assert_eq!(sample(&text, "trademon_store_writer_failing"), Some(0.0));
    // The paper account: its fills as its log holds them, its equity as the view shows it.
    let fills = count_rows(&db, "SELECT COUNT(*) FROM paper_log WHERE kind = 'fill'");
    assert!(fills >= 2.0, "{fills} fills");
    assert_eq!(paper.fills_total as f64, fills);
    assert_eq!(sample(&text, "trademon_paper_fills_total"), Some(fills));
    assert_eq!(sample(&text, "trademon_paper_equity"), Some(paper.equity));
    assert_eq!(
        sample(&text, "trademon_paper_open_positions"),
        Some(paper.positions.len() as f64)
    );
    assert_eq!(sample(&text, "trademon_paper_kill_switch"), Some(0.0));
}

fn report(messages: u64, reconnects: u64) -> HealthReport {
    HealthReport {
        streams: vec![
            StreamHealth {
                name: "btcusdt@kline_1m".into(),
                state: StreamState::Live,
                messages,
                messages_per_sec: 0.0,
                last_message_age_ms: Some(1_500),
            },
            StreamHealth {
                name: "btcusdt@trade".into(),
                state: StreamState::Stale,
                messages: 2 * messages,
                messages_per_sec: 0.0,
                last_message_age_ms: None,
            },
        ],
        reconnects,
        link: Some(LinkState::Connected { since_ms: 0 }),
        ..HealthReport::default()
    }
}

#[test]
fn counters_follow_the_health_reports_totals_and_never_go_back() {
    let metrics = Metrics::new(BuildInfo::this("built-in"));
    let btc = Symbol::new("BTCUSDT").unwrap();
    let streams = stream_labels(&[btc], &[Interval::M1], true);
    assert_eq!(streams[1].stream, "trades");
    let stats = Arc::new(crate::store::writer::WriterStats::default());
    let mut o = MetricsObserver::new(metrics.clone(), streams, stats);
    o.observe(&Update::Health(report(10, 1)));
    o.observe(&Update::Health(report(25, 1)));
    // A report that went back (it cannot, but a counter must not) changes nothing.
    o.observe(&Update::Health(report(5, 0)));
    let text = metrics.render();
    assert_eq!(
        sample(
            &text,
            "trademon_feed_messages_total{symbol=\"BTCUSDT\",stream=\"1m\"}"
        ),
        Some(25.0)
    );
    assert_eq!(
        sample(
            &text,
            "trademon_feed_messages_total{symbol=\"BTCUSDT\",stream=\"trades\"}"
        ),
        Some(50.0)
    );
    assert_eq!(sample(&text, "trademon_feed_reconnects_total"), Some(1.0));
    assert_eq!(sample(&text, "trademon_feed_up"), Some(1.0));
    assert_eq!(
        sample(
            &text,
            "trademon_feed_stream_up{symbol=\"BTCUSDT\",stream=\"trades\"}"
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            "trademon_feed_last_message_age_seconds{symbol=\"BTCUSDT\",stream=\"1m\"}"
        ),
        Some(1.5)
    );
    // No message yet on the trade stream: no age is made up.
    assert!(
        !text.contains(
            "trademon_feed_last_message_age_seconds{symbol=\"BTCUSDT\",stream=\"trades\"}"
        )
    );
    let mut down = report(30, 2);
    down.link = Some(LinkState::Down {
        reason: "refused".into(),
        retry_at_ms: 0,
    });
    o.observe(&Update::Health(down));
    assert_eq!(sample(&metrics.render(), "trademon_feed_up"), Some(0.0));
}

fn watched(symbol: &str, psi: &[f64], dataset_drift: bool) -> crate::protocol::SymbolMonitor {
    use crate::protocol::{Estimate, FeatureDrift, Scorecard, SymbolMonitor, WindowScores};
    let window = |last: Option<u32>, n: u64, accuracy: f64, log_loss: f64| WindowScores {
        last,
        n,
        accuracy: Estimate {
            value: accuracy,
            ..Estimate::default()
        },
        log_loss: Estimate {
            value: log_loss,
            ..Estimate::default()
        },
        ..WindowScores::default()
    };
    SymbolMonitor {
        symbol: Symbol::new(symbol).unwrap(),
        interval: Interval::M1,
        model_id: 1,
        model_version: "demo@1.0.0".into(),
        status: crate::protocol::DriftStatus::Stable,
        reference: None,
        no_reference: None,
        window: 500,
        window_filled: 500,
        scorecard: Scorecard {
            windows: vec![
                window(Some(100), 100, 0.41, 1.07),
                window(Some(500), 500, 0.44, 1.05),
                window(None, 0, 0.0, 0.0),
            ],
            ..Scorecard::default()
        },
        features: psi
            .iter()
            .map(|&psi| FeatureDrift {
                psi,
                ..FeatureDrift::default()
            })
            .collect(),
        drifted_share: 0.0,
        dataset_drift,
        predictions: None,
        detectors: Vec::new(),
        as_of_ms: None,
    }
}

#[test]
fn the_monitors_figures_per_symbol_and_window_and_a_model_switch_clears_them() {
    let metrics = Metrics::new(BuildInfo::this("built-in"));
    let stats = Arc::new(crate::store::writer::WriterStats::default());
    let mut o = MetricsObserver::new(metrics.clone(), Vec::new(), stats);
    o.observe(&Update::MonitorSymbol(Box::new(watched(
        "BTCUSDT",
        &[0.02, 0.31, 0.07],
        true,
    ))));
    o.observe(&Update::MonitorSymbol(Box::new(watched(
        "ETHUSDT",
        &[],
        false,
    ))));
    let text = metrics.render();
    let s = |series: &str| sample(&text, series);
    assert_eq!(
        s("trademon_model_accuracy_ratio{symbol=\"BTCUSDT\",window=\"100\"}"),
        Some(0.41)
    );
    assert_eq!(
        s("trademon_model_log_loss{symbol=\"BTCUSDT\",window=\"500\"}"),
        Some(1.05)
    );
    // No outcome in the whole-life window yet: nothing is made up for it.
    assert_eq!(
        s("trademon_model_accuracy_ratio{symbol=\"BTCUSDT\",window=\"all\"}"),
        None
    );
    assert_eq!(
        s("trademon_model_feature_drift_max_psi{symbol=\"BTCUSDT\"}"),
        Some(0.31)
    );
    // No feature figures: no largest PSI.
    assert_eq!(
        s("trademon_model_feature_drift_max_psi{symbol=\"ETHUSDT\"}"),
        None
    );
    assert_eq!(
        s("trademon_model_dataset_drift{symbol=\"BTCUSDT\"}"),
        Some(1.0)
    );
    assert_eq!(
        s("trademon_model_dataset_drift{symbol=\"ETHUSDT\"}"),
        Some(0.0)
    );
    // A model switch starts the monitor over: the old model's figures go.
    o.observe(&Update::Monitor(Box::new(crate::protocol::MonitorView {
        symbols: vec![watched("ETHUSDT", &[0.01], false)],
    })));
    let text = metrics.render();
    assert!(!text.contains("symbol=\"BTCUSDT\""), "{text}");
    assert_eq!(
        sample(
            &text,
            "trademon_model_feature_drift_max_psi{symbol=\"ETHUSDT\"}"
        ),
        Some(0.01)
    );
}
