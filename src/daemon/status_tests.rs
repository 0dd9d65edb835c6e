use std::collections::VecDeque;

use super::*;
use crate::domain::fixtures::flat;
use crate::domain::{Interval, Symbol};
use crate::protocol::{HealthReport, Market, Series, SourceInfo, StreamHealth};

const NOW_MS: i64 = 1_718_000_000_000;

fn daemon() -> DaemonInfo {
    DaemonInfo {
        pid: 1,
        program_version: "0.1.0".to_string(),
        socket: "/run/t.sock".to_string(),
        clients: 0,
        started_at_ms: NOW_MS - 60_000,
        uptime_ms: 60_000,
        metrics_url: None,
    }
}

/// One symbol, 1m, whose newest candle closed `age_ms` ago, with the link connected.
fn snapshot(age_ms: i64) -> Snapshot {
    let open = NOW_MS - age_ms - 60_000;
    Snapshot {
        source: SourceInfo::simulated(1, 1.0),
        intervals: vec![Interval::M1],
        markets: vec![Market {
            symbol: "BTCUSDT".parse::<Symbol>().unwrap(),
            last_price: None,
            last_trade_ms: None,
            series: vec![Series {
                closed: VecDeque::from(vec![flat(open - 60_000, 1.0), flat(open, 1.0)]),
                open: None,
                indicators: VecDeque::new(),
            }],
        }],
        health: HealthReport {
            now_ms: NOW_MS,
            link: Some(LinkState::Connected {
                since_ms: NOW_MS - 5_000,
            }),
            streams: vec![StreamHealth {
                name: "btcusdt@kline_1m".to_string(),
                state: StreamState::Live,
                messages: 10,
                messages_per_sec: 1.0,
                last_message_age_ms: Some(100),
            }],
            ..HealthReport::default()
        },
        recent_events: VecDeque::new(),
        keep_candles: 10,
        started_at_ms: NOW_MS - 60_000,
        signals: Vec::new(),
        models: Default::default(),
        backtests: Default::default(),
        monitor: Default::default(),
        shadow: Default::default(),
        paper: Default::default(),
    }
}

#[test]
fn fresh_data_with_the_feed_up_is_healthy() {
    let report = StatusReport::from_snapshot(&snapshot(1_000), daemon(), Path::new("x.db"), NOW_MS);
    assert_eq!(report.verdict, Verdict::Healthy, "{:?}", report.problems);
    assert_eq!(report.verdict.exit_code(), 0);
    assert_eq!(report.candles.len(), 1);
    assert_eq!(report.candles[0].age_ms, 1_000);
    assert_eq!(report.link.as_deref(), Some("connected for 5 s"));
}

#[test]
fn a_down_feed_or_stale_candles_are_degraded_and_say_why() {
    let mut s = snapshot(1_000);
    s.health.link = Some(LinkState::Down {
        reason: "connection refused".to_string(),
        retry_at_ms: NOW_MS + 1_000,
    });
    s.health.streams[0].state = StreamState::Down;
    s.health.failed_connects = 7;
    let report = StatusReport::from_snapshot(&s, daemon(), Path::new("x.db"), NOW_MS);
    assert_eq!(report.verdict, Verdict::Degraded);
    assert_eq!(report.verdict.exit_code(), 1);
    // Failed connects are counted and shown with the link.
    assert_eq!(report.failed_connects, 7);
    assert_eq!(
        report.link.as_deref(),
        Some("down: connection refused (7 failed connects)")
    );

    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("connection refused")),
        "{:?}",
        report.problems
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("btcusdt@kline_1m down"))
    );

    // Ten minutes without a closed 1m candle is stale; two minutes is not.
    let report =
        StatusReport::from_snapshot(&snapshot(600_000), daemon(), Path::new("x.db"), NOW_MS);
    assert_eq!(report.verdict, Verdict::Degraded);
    assert!(
        report.problems[0].contains("BTCUSDT 1m data stale: last candle closed 600 s ago"),
        "{:?}",
        report.problems
    );
    let report =
        StatusReport::from_snapshot(&snapshot(110_000), daemon(), Path::new("x.db"), NOW_MS);
    assert_eq!(report.verdict, Verdict::Healthy);
}

#[test]
fn candles_ahead_of_the_clock_are_fresh_and_an_empty_series_is_degraded() {
    let report =
        StatusReport::from_snapshot(&snapshot(-3_600_000), daemon(), Path::new("x.db"), NOW_MS);
    assert_eq!(report.candles[0].age_ms, 0);
    assert_eq!(report.verdict, Verdict::Healthy);
    let mut s = snapshot(0);
    s.markets[0].series[0].closed.clear();
    let report = StatusReport::from_snapshot(&s, daemon(), Path::new("x.db"), NOW_MS);
    assert_eq!(
        report.problems,
        vec!["no closed BTCUSDT 1m candle yet".to_string()]
    );
}

#[test]
fn without_a_daemon_the_database_is_read_and_garbage_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let report = StatusReport::from_database(&missing, NOW_MS);
    assert_eq!(report.verdict, Verdict::NoDaemon);
    assert_eq!(report.verdict.exit_code(), 2);
    assert!(report.problems.iter().any(|p| p.contains("no database at")));
    assert!(!missing.exists(), "status must not create a database");

    let db = dir.path().join("t.db");
    let mut store = crate::store::Store::open(&db).unwrap();
    let symbol: Symbol = "ETHUSDT".parse().unwrap();
    let open = NOW_MS - 3_600_000;
    store
        .upsert_candles(&[
            (symbol, Interval::M1, flat(open - 60_000, 1.0)),
            (symbol, Interval::M1, flat(open, 1.0)),
        ])
        .unwrap();
    drop(store);
    let report = StatusReport::from_database(&db, NOW_MS);
    assert_eq!(report.verdict, Verdict::NoDaemon);
    assert_eq!(report.candles.len(), 1, "{:?}", report.problems);
    assert_eq!(report.candles[0].open_time_ms, open);
    assert!(report.candles[0].stale);
    assert!(report.db_bytes.unwrap() > 0);

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x5a; 4096]).unwrap();
    let report = StatusReport::from_database(&garbage, NOW_MS);
    let problem = report.problems.last().unwrap();
    assert!(
        problem.contains("cannot read the database") && problem.contains("garbage.db"),
        "{problem}"
    );
}

#[test]
fn a_store_that_is_not_storing_is_degraded_and_says_why() {
    let mut s = snapshot(1_000);
    s.health.db_rows_lost = 3;
    s.health.db_writer_problem = Some("writer stopped; 3 rows not stored".to_string());
    let report = StatusReport::from_snapshot(&s, daemon(), Path::new("x.db"), NOW_MS);
    assert_eq!(report.verdict, Verdict::Degraded);
    assert_eq!(report.verdict.exit_code(), 1);
    assert_eq!(
        report.problems,
        vec!["store: writer stopped; 3 rows not stored".to_string()]
    );
}

fn watched(status: crate::protocol::DriftStatus, in_drift: bool) -> crate::protocol::SymbolMonitor {
    use crate::protocol::{DetectorLevel, DetectorView, SymbolMonitor};
    SymbolMonitor {
        symbol: "BTCUSDT".parse::<Symbol>().unwrap(),
        interval: Interval::M1,
        model_id: 1,
        model_version: "ensemble-BTCUSDT-1m@1.0.0".into(),
        status,
        reference: None,
        no_reference: None,
        window: 500,
        window_filled: 500,
        scorecard: Default::default(),
        features: Vec::new(),
        drifted_share: 0.6,
        dataset_drift: !in_drift,
        predictions: None,
        detectors: vec![DetectorView {
            name: "adwin".into(),
            input: "Brier score / 2".into(),
            state: if in_drift {
                DetectorLevel::Drift
            } else {
                DetectorLevel::Ok
            },
            fired_at_ms: None,
            fired: u32::from(in_drift),
        }],
        as_of_ms: Some(NOW_MS - 60_000),
    }
}

#[test]
fn a_drifting_model_is_degraded_with_a_drift_line_per_symbol() {
    use crate::protocol::DriftStatus;
    let mut s = snapshot(1_000);
    s.monitor.put(&watched(DriftStatus::Stable, false));
    let report = StatusReport::from_snapshot(&s, daemon(), Path::new("x.db"), NOW_MS);
    assert_eq!(report.verdict, Verdict::Healthy, "{:?}", report.problems);
    assert_eq!(report.drift.len(), 1);
    assert_eq!(report.drift[0].status, "stable");
    for in_drift in [true, false] {
        let mut s = snapshot(1_000);
        s.monitor.put(&watched(DriftStatus::Drifting, in_drift));
        let report = StatusReport::from_snapshot(&s, daemon(), Path::new("x.db"), NOW_MS);
        assert_eq!(report.verdict, Verdict::Degraded);
        assert_eq!(report.verdict.exit_code(), 1);
        let why = if in_drift {
            "adwin in drift"
        } else {
            "dataset drift (60 % of features)"
        };
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.contains("drifting on BTCUSDT 1m") && p.contains(why)),
            "{:?}",
            report.problems
        );
    }
}

#[test]
fn the_paper_account_is_reported_when_on_and_left_out_when_off() {
    use crate::protocol::{PaperPosition, PaperView, RiskView};
    let mut snapshot = snapshot(0);
    let report = StatusReport::from_snapshot(&snapshot, daemon(), Path::new("/x.db"), NOW_MS);
    assert_eq!(report.paper, None);
    let json = serde_json::to_value(&report).unwrap();
    assert!(json.get("paper").is_none(), "{json}");
    snapshot.paper = PaperView {
        enabled: true,
        mode: "bar".to_string(),
        quote_asset: "USDT".to_string(),
        start_cash: 10_000.0,
        equity: 10_250.0,
        positions: vec![PaperPosition {
            symbol: "BTCUSDT".parse::<Symbol>().unwrap(),
            side: "long".to_string(),
            quantity: 0.05,
            entry_price: 64_000.0,
            entry_time_ms: NOW_MS,
            mark: 64_100.0,
            unrealised: 5.0,
        }],
        risk: RiskView {
            kill_switch: true,
            kill_reason: Some("drawdown 10.2 % ≥ 10 %".to_string()),
            ..RiskView::default()
        },
        ..PaperView::default()
    };
    let report = StatusReport::from_snapshot(&snapshot, daemon(), Path::new("/x.db"), NOW_MS);
    // The kill switch is shown, not a problem: the verdict stays.
    assert_eq!(report.verdict, Verdict::Healthy, "{:?}", report.problems);
    let paper = report.paper.clone().unwrap();
    assert!((paper.return_pct - 2.5).abs() < 1e-9);
    assert_eq!(paper.positions, ["BTCUSDT long 0.05"]);
    assert_eq!(
        paper.to_line(),
        "equity 10250.00 USDT (+2.50 %), bar mode, 1 open: BTCUSDT long 0.05; \
         KILL SWITCH SET (drawdown 10.2 % ≥ 10 %)"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["paper"]["kill_switch"], true);
    assert_eq!(json["paper"]["equity"], 10_250.0);
    assert_eq!(json["paper"]["positions"][0], "BTCUSDT long 0.05");
    let back: StatusReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);
}
