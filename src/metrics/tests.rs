use super::*;

/// Every family, with its type, as `# TYPE` lines name it.
const FAMILIES: &[(&str, &str)] = &[
    ("trademon_build_info", "gauge"),
    ("trademon_feed_up", "gauge"),
    ("trademon_feed_stream_up", "gauge"),
    ("trademon_feed_messages_total", "counter"),
    ("trademon_feed_last_message_age_seconds", "gauge"),
    ("trademon_feed_reconnects_total", "counter"),
    ("trademon_feed_connect_failures_total", "counter"),
    ("trademon_feed_gaps_found_total", "counter"),
    ("trademon_feed_gaps_repaired_total", "counter"),
    ("trademon_feed_candles_backfilled_total", "counter"),
    ("trademon_feed_parse_errors_total", "counter"),
    ("trademon_feed_rate_limited_total", "counter"),
    ("trademon_store_write_duration_seconds", "histogram"),
    ("trademon_store_rows_written_total", "counter"),
    ("trademon_store_rows_lost_total", "counter"),
    ("trademon_store_write_errors_total", "counter"),
    ("trademon_store_writer_failing", "gauge"),
    ("trademon_store_writer_queue_depth", "gauge"),
    ("trademon_store_database_bytes", "gauge"),
    ("trademon_model_predictions_total", "counter"),
    ("trademon_model_inference_duration_seconds", "histogram"),
    ("trademon_model_fallback_active", "gauge"),
    ("trademon_model_accuracy_ratio", "gauge"),
    ("trademon_model_log_loss", "gauge"),
    ("trademon_model_feature_drift_max_psi", "gauge"),
    ("trademon_model_dataset_drift", "gauge"),
    ("trademon_paper_equity", "gauge"),
    ("trademon_paper_drawdown_ratio", "gauge"),
    ("trademon_paper_open_positions", "gauge"),
    ("trademon_paper_fills_total", "counter"),
    ("trademon_paper_kill_switch", "gauge"),
    ("trademon_daemon_clients", "gauge"),
    ("trademon_daemon_frames_dropped_total", "counter"),
    ("process_cpu_seconds_total", "counter"),
    ("process_resident_memory_bytes", "gauge"),
    ("process_virtual_memory_bytes", "gauge"),
    ("process_open_fds", "gauge"),
    ("process_max_fds", "gauge"),
    ("process_start_time_seconds", "gauge"),
];

fn types(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| {
            let (name, kind) = l.split_once(' ').unwrap();
            (name.to_string(), kind.to_string())
        })
        .collect()
}

#[test]
fn every_family_is_rendered_once_with_its_type() {
    let m = Metrics::new(BuildInfo {
        version: "1.2.3".into(),
        exchange: "built-in".into(),
    });
    let text = m.render();
    let found = types(&text);
    for (name, kind) in FAMILIES {
        let n = found.iter().filter(|(f, _)| f == name).count();
        assert_eq!(n, 1, "{name} rendered {n} times:\n{text}");
        assert!(
            found.contains(&(name.to_string(), kind.to_string())),
            "{name} is not a {kind}:\n{text}"
        );
    }
    assert_eq!(
        found.len(),
        FAMILIES.len(),
        "families not listed here:\n{text}"
    );
    assert!(text.contains("trademon_build_info{version=\"1.2.3\",exchange=\"built-in\"} 1\n"));
    // Counters and gauges without labels are there from the start, at 0.
    assert!(text.contains("\ntrademon_feed_reconnects_total 0\n"));
    assert!(text.contains("\ntrademon_store_write_duration_seconds_count 0\n"));
}

#[test]
fn labelled_values_render_with_their_labels() {
    let m = Metrics::new(BuildInfo::this("built-in"));
    let stream = StreamLabels {
        symbol: "BTCUSDT".into(),
        stream: "1m".into(),
    };
    m.feed.messages.get_or_create(&stream).inc_by(42);
    m.feed.last_message_age.get_or_create(&stream).set(0.25);
    m.model
        .predictions
        .get_or_create(&PredictionLabels {
            role: "shadow",
            symbol: "ETHUSDT".into(),
        })
        .inc();
    m.model
        .inference_duration
        .get_or_create(&RoleLabels { role: "active" })
        .observe(0.0003);
    m.model
        .accuracy
        .get_or_create(&WindowLabels {
            symbol: "BTCUSDT".into(),
            window: "500",
        })
        .set(0.41);
    m.store.write_duration.observe(0.002);
    m.paper.drawdown.set(0.125);
    let text = m.render();
    for line in [
        "trademon_feed_messages_total{symbol=\"BTCUSDT\",stream=\"1m\"} 42\n",
        "trademon_feed_last_message_age_seconds{symbol=\"BTCUSDT\",stream=\"1m\"} 0.25\n",
        "trademon_model_predictions_total{role=\"shadow\",symbol=\"ETHUSDT\"} 1\n",
        "trademon_model_inference_duration_seconds_bucket{role=\"active\",le=\"0.0005\"} 1\n",
        "trademon_model_accuracy_ratio{symbol=\"BTCUSDT\",window=\"500\"} 0.41\n",
        "trademon_store_write_duration_seconds_bucket{le=\"0.0025\"} 1\n",
        "trademon_store_write_duration_seconds_count 1\n",
        "trademon_paper_drawdown_ratio 0.125\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

/// `promtool check metrics` (Prometheus's own linter) on the exporter's output with values in
/// every family; skipped, saying so, where promtool is not installed.
#[test]
fn promtool_finds_nothing_wrong() {
    let Ok(out) = std::process::Command::new("promtool")
        .arg("--version")
        .output()
    else {
        if std::env::var_os("TRADEMON_REQUIRE_PROMTOOL").is_some() {
            panic!("promtool is required (TRADEMON_REQUIRE_PROMTOOL) but not installed");
        }
        eprintln!("skipped: promtool not installed (Debian package prometheus)");
        return;
    };
    assert!(out.status.success());
    let m = Metrics::new(BuildInfo::this("built-in"));
    let stream = StreamLabels {
        symbol: "BTCUSDT".into(),
        stream: "trades".into(),
    };
    m.feed.messages.get_or_create(&stream).inc();
    m.feed.stream_up.get_or_create(&stream).set(1);
    m.feed.last_message_age.get_or_create(&stream).set(1.5);
    m.model
        .predictions
        .get_or_create(&PredictionLabels {
            role: "active",
            symbol: "BTCUSDT".into(),
        })
        .inc();
    m.model
        .inference_duration
        .get_or_create(&RoleLabels { role: "shadow" })
        .observe(0.001);
    let symbol = SymbolLabels {
        symbol: "BTCUSDT".into(),
    };
    m.model.dataset_drift.get_or_create(&symbol).set(0);
    m.model
        .feature_drift_max_psi
        .get_or_create(&symbol)
        .set(0.03);
    let window = WindowLabels {
        symbol: "BTCUSDT".into(),
        window: "all",
    };
    m.model.accuracy.get_or_create(&window).set(0.5);
    m.model.log_loss.get_or_create(&window).set(1.05);
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(m.render().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}"
    );
}
