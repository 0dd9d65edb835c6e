//! The monitoring files in deploy/: promtool accepts the Prometheus config and the alert rules and
//! the rules pass their unit tests (skipped when promtool is not installed, unless
//! `TRADEMON_REQUIRE_PROMTOOL=1`); every alert has a firing and a quiet unit test; the Grafana
//! dashboard has its rows, its fixed datasource and a query in every panel; and every metric name
//! that the rules and the dashboard query is one the exporter emits.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const DATASOURCE_UID: &str = "trademon-prometheus";
const RULES: &str = "rules/trademon.rules.yml";
const RULE_TESTS: &str = "tests/trademon.rules.test.yml";
const DASHBOARD: &str = "grafana/dashboards/trademon.json";

fn deploy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn prometheus_dir() -> PathBuf {
    deploy().join("prometheus")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// promtool

/// Whether promtool can be run; `None` (with a note) when it is not installed and not required.
fn promtool_available() -> bool {
    let required = std::env::var("TRADEMON_REQUIRE_PROMTOOL").as_deref() == Ok("1");
    match Command::new("promtool").arg("--version").output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => panic!(
            "`promtool --version` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            assert!(
                !required,
                "TRADEMON_REQUIRE_PROMTOOL=1 but promtool cannot be run: {e}"
            );
            eprintln!("skipped: promtool not installed (Debian package prometheus)");
            false
        }
    }
}

/// Runs promtool with `args` in `dir` and fails the test with its output unless it succeeds.
fn promtool(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "`promtool {}` in {} failed:\n{text}",
        args.join(" "),
        dir.display()
    );
    eprintln!("promtool {}:\n{text}", args.join(" "));
    text
}

#[test]
fn promtool_accepts_the_config_and_the_rules_and_the_rule_tests_pass() {
    if !promtool_available() {
        return;
    }
    let dir = prometheus_dir();
    let config = promtool(&dir, &["check", "config", "prometheus.yml"]);
    assert!(
        config.contains("1 rule files found"),
        "prometheus.yml should load the rules file:\n{config}"
    );
    let rules = promtool(&dir, &["check", "rules", RULES]);
    let alerts = alert_names(&read(&dir.join(RULES)));
    assert!(
        rules.contains(&format!("SUCCESS: {} rules found", alerts.len())),
        "{RULES}: expected {} rules:\n{rules}",
        alerts.len()
    );
    promtool(&dir, &["test", "rules", RULE_TESTS]);
}

/// The commented `file_sd_configs` alternative in prometheus.yml, uncommented: with the targets
/// file next to it, promtool accepts it (promtool also reads the file_sd files it names).
#[test]
fn the_file_sd_alternative_is_valid_when_uncommented() {
    let dir = prometheus_dir();
    let config = read(&dir.join("prometheus.yml"));
    let uncommented = uncomment_file_sd(&config);
    assert!(
        uncommented.contains("\n    file_sd_configs:\n"),
        "prometheus.yml: no commented `file_sd_configs:` block found"
    );
    assert!(uncommented.contains("targets/*.json"));

    // The targets files themselves, in the file_sd format.
    let mut files = 0;
    for entry in std::fs::read_dir(dir.join("targets")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        files += 1;
        let groups: Value = serde_json::from_str(&read(&path))
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        let groups = groups.as_array().expect("a list of target groups");
        assert!(!groups.is_empty(), "{}: no target groups", path.display());
        for g in groups {
            let targets = g["targets"].as_array().expect("targets: a list");
            assert!(
                !targets.is_empty(),
                "{}: a group without targets",
                path.display()
            );
            for t in targets {
                let t = t.as_str().expect("a target is a string");
                let (host, port) = t.rsplit_once(':').expect("host:port");
                assert!(
                    !host.is_empty() && port.parse::<u16>().is_ok(),
                    "target {t:?}"
                );
            }
            assert!(
                g["labels"]["box"].is_string(),
                "{}: every group has a box label",
                path.display()
            );
        }
    }
    assert!(files > 0, "no targets/*.json example");

    if !promtool_available() {
        return;
    }
    // In a scratch directory, with absolute paths to the rules and the targets files.
    let scratch = std::env::temp_dir().join(format!("trademon-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let absolute = uncommented
        .replace(
            "targets/*.json",
            &dir.join("targets/*.json").display().to_string(),
        )
        .replace(RULES, &dir.join(RULES).display().to_string());
    std::fs::write(scratch.join("prometheus.yml"), absolute).unwrap();
    promtool(&scratch, &["check", "config", "prometheus.yml"]);
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// prometheus.yml with the commented block that starts at `# file_sd_configs:` uncommented.
fn uncomment_file_sd(config: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in config.lines() {
        let trimmed = line.trim_start();
        if trimmed == "# file_sd_configs:" {
            inside = true;
        } else if inside && !(trimmed.starts_with("# ") && trimmed.len() > 2) {
            inside = false;
        }
        if inside {
            out.push_str(&line.replacen("# ", "", 1));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------------------------
// rules and their unit tests, read textually

/// The names of the alerts in a rules file (`- alert: X` lines).
fn alert_names(rules: &str) -> Vec<String> {
    rules
        .lines()
        .filter_map(|l| {
            let l = l.trim_start().trim_start_matches("- ");
            l.strip_prefix("alert:")
                .map(|n| unquote(n.trim()).to_string())
        })
        .collect()
}

fn unquote(s: &str) -> &str {
    s.trim_matches('"').trim_matches('\'')
}

/// The `expr:` of every rule, block scalars (`expr: |`) included.
fn rule_exprs(rules: &str) -> Vec<String> {
    let lines: Vec<&str> = rules.lines().collect();
    let mut exprs = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let indent = line.len() - line.trim_start().len();
        i += 1;
        let Some(rest) = line
            .trim_start()
            .trim_start_matches("- ")
            .strip_prefix("expr:")
        else {
            continue;
        };
        let rest = rest.trim();
        if rest.starts_with('|') || rest.starts_with('>') {
            let mut expr = String::new();
            while i < lines.len() {
                let l = lines[i];
                let deeper = l.len() - l.trim_start().len() > indent;
                if !(deeper || l.trim().is_empty()) {
                    break;
                }
                expr.push_str(l.trim());
                expr.push('\n');
                i += 1;
            }
            exprs.push(expr);
        } else {
            exprs.push(unquote(rest).to_string());
        }
    }
    exprs
}

/// For each alert named in a rule test file: (has a case where it fires, has a case where it
/// does not), from the `alertname:` and `exp_alerts:` lines of its `alert_rule_test` entries.
fn rule_test_cases(tests: &str) -> BTreeMap<String, (bool, bool)> {
    let mut cases: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in tests.lines() {
        let l = line.trim_start().trim_start_matches("- ");
        if let Some(name) = l.strip_prefix("alertname:") {
            let name = unquote(name.trim()).to_string();
            cases.entry(name.clone()).or_default();
            current = Some(name);
        } else if let Some(rest) = l.strip_prefix("exp_alerts:") {
            let name = current
                .take()
                .expect("exp_alerts: without an alertname: before it");
            let case = cases.get_mut(&name).unwrap();
            if rest.trim() == "[]" {
                case.1 = true;
            } else {
                case.0 = true;
            }
        }
    }
    cases
}

#[test]
fn every_alert_has_a_firing_and_a_quiet_unit_test() {
    let dir = prometheus_dir();
    let alerts = alert_names(&read(&dir.join(RULES)));
    assert!(alerts.len() >= 8, "{RULES}: only {alerts:?}");
    let unique: BTreeSet<&String> = alerts.iter().collect();
    assert_eq!(unique.len(), alerts.len(), "{RULES}: an alert name twice");
    for a in [
        "TrademonDown",
        "FeedDown",
        "StreamStale",
        "GapsUnrepaired",
        "StoreWriterFailing",
        "ModelInFallback",
        "DatasetDrift",
        "PaperKillSwitch",
    ] {
        assert!(unique.contains(&a.to_string()), "{RULES}: no alert {a}");
    }
    let cases = rule_test_cases(&read(&dir.join(RULE_TESTS)));
    for a in &alerts {
        match cases.get(a) {
            None => panic!("{RULE_TESTS}: no unit test of the alert {a}"),
            Some((false, _)) => panic!("{RULE_TESTS}: no case where {a} fires"),
            Some((_, false)) => panic!("{RULE_TESTS}: no case where {a} does not fire"),
            Some(_) => {}
        }
    }
    for name in cases.keys() {
        assert!(
            unique.contains(name),
            "{RULE_TESTS}: tests {name}, which {RULES} does not define"
        );
    }
}

#[test]
fn every_alert_has_a_for_a_severity_and_annotations_naming_the_instance() {
    let rules = read(&prometheus_dir().join(RULES));
    // The rules one by one: the text from each `- alert:` to the next.
    let starts: Vec<usize> = rules.match_indices("- alert:").map(|(i, _)| i).collect();
    assert!(!starts.is_empty());
    for (k, &s) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(rules.len());
        let rule = &rules[s..end];
        let name = alert_names(rule).remove(0);
        assert!(
            rule.lines().any(|l| l.trim_start().starts_with("for: ")),
            "{name}: no `for`"
        );
        assert!(
            rule.contains("severity: critical") || rule.contains("severity: warning"),
            "{name}: no severity label (critical or warning)"
        );
        for key in ["summary:", "description:"] {
            let line = rule
                .lines()
                .find(|l| l.trim_start().starts_with(key))
                .unwrap_or_else(|| panic!("{name}: no {key} annotation"));
            assert!(
                line.contains("{{ $labels.instance }}"),
                "{name}: the {key} annotation does not name the instance"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// the dashboard

fn dashboard() -> Value {
    let path = deploy().join(DASHBOARD);
    serde_json::from_str(&read(&path))
        .unwrap_or_else(|e| panic!("{}: not valid JSON: {e}", path.display()))
}

/// Every panel, those nested in collapsed rows included.
fn all_panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().expect("panels: a list") {
        out.push(p);
        if let Some(nested) = p["panels"].as_array() {
            out.extend(nested);
        }
    }
    out
}

/// Every value of a `datasource` key anywhere in the JSON, with where it is.
fn datasources<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                if k == "datasource" {
                    out.push((at.clone(), x));
                }
                datasources(x, format!("{at}.{k}"), out);
            }
        }
        Value::Array(xs) => {
            for (i, x) in xs.iter().enumerate() {
                datasources(x, format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn is_our_datasource(ds: &Value) -> bool {
    ds["type"] == "prometheus" && ds["uid"] == DATASOURCE_UID
}

/// The PromQL of the dashboard: (where, expr) for every target and query variable.
fn dashboard_queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in all_panels(dashboard) {
        for t in p["targets"].as_array().into_iter().flatten() {
            if let Some(e) = t["expr"].as_str() {
                out.push((
                    format!("panel {:?}", p["title"].as_str().unwrap_or("")),
                    e.to_string(),
                ));
            }
        }
    }
    for v in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let at = format!("variable {:?}", v["name"].as_str().unwrap_or(""));
        let query = v["query"]["query"].as_str().or(v["query"].as_str());
        for q in [query, v["definition"].as_str()].into_iter().flatten() {
            out.push((at.clone(), q.to_string()));
        }
    }
    out
}

#[test]
fn the_dashboard_has_its_rows_its_datasource_and_a_query_in_every_panel() {
    let d = dashboard();
    assert!(
        d["schemaVersion"].as_u64().is_some_and(|v| v >= 36),
        "schemaVersion {}",
        d["schemaVersion"]
    );
    let panels = all_panels(&d);
    let rows: Vec<&str> = panels
        .iter()
        .filter(|p| p["type"] == "row")
        .filter_map(|p| p["title"].as_str())
        .collect();
    for row in ["Feed", "Store", "Model", "Paper", "Process"] {
        assert!(rows.contains(&row), "no row {row:?} (rows: {rows:?})");
    }

    let mut ids = BTreeSet::new();
    for p in &panels {
        let id = p["id"].as_u64().expect("a panel without an id");
        assert!(ids.insert(id), "panel id {id} twice");
        if p["type"] == "row" {
            continue;
        }
        let title = &p["title"];
        assert!(
            is_our_datasource(&p["datasource"]),
            "panel {title}: datasource {}",
            p["datasource"]
        );
        let targets = p["targets"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        assert!(!targets.is_empty(), "panel {title}: no targets");
        for t in targets {
            assert!(
                is_our_datasource(&t["datasource"]),
                "panel {title}: target {} has datasource {}",
                t["refId"],
                t["datasource"]
            );
            let expr = t["expr"].as_str().unwrap_or("");
            assert!(
                !expr.trim().is_empty(),
                "panel {title}: a target without expr"
            );
            assert!(
                expr.contains("instance=~\"$instance\""),
                "panel {title}: {expr:?} ignores the $instance variable"
            );
        }
    }

    let mut all = Vec::new();
    datasources(&d, "dashboard".into(), &mut all);
    assert!(!all.is_empty());
    for (at, ds) in all {
        assert!(
            is_our_datasource(ds),
            "{at}: datasource {ds}, not uid {DATASOURCE_UID}"
        );
    }

    let vars = d["templating"]["list"].as_array().expect("templating.list");
    let instance = vars
        .iter()
        .find(|v| v["name"] == "instance")
        .expect("no $instance variable");
    assert_eq!(instance["type"], "query");
    let query = instance["query"]["query"]
        .as_str()
        .or(instance["query"].as_str());
    assert_eq!(query, Some("label_values(trademon_build_info, instance)"));
}

#[test]
fn the_provisioning_points_at_the_fixed_datasource_and_the_dashboards() {
    let ds = read(&deploy().join("grafana/provisioning/datasources/trademon.yml"));
    assert!(ds.contains(&format!("uid: {DATASOURCE_UID}\n")), "{ds}");
    assert!(ds.contains("type: prometheus\n"));
    assert!(ds.contains("url: http://localhost:9090\n"));
    let dashboards = read(&deploy().join("grafana/provisioning/dashboards/trademon.yml"));
    assert!(dashboards.contains("type: file\n"), "{dashboards}");
    assert!(dashboards.contains("path: "));
}

// ---------------------------------------------------------------------------------------------
// metric names

/// The metric names a PromQL expression may use, found conservatively: every identifier
/// (`[a-zA-Z_:][a-zA-Z0-9_:]*`, not part of a number or duration such as `5m`) that starts with
/// `trademon_` or `process_`, and `up`.
fn metric_names(expr: &str) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':'))
        .filter(|t| t.starts_with("trademon_") || t.starts_with("process_") || *t == "up")
        .map(str::to_string)
        .collect()
}

/// The metric families of an exposition: name -> type, from its `# TYPE <name> <type>` lines.
fn families(exposition: &str) -> BTreeMap<String, String> {
    exposition
        .lines()
        .filter_map(|l| {
            let mut words = l.strip_prefix("# TYPE ")?.split_whitespace();
            Some((words.next()?.to_string(), words.next()?.to_string()))
        })
        .collect()
}

/// Whether `name` is a series the families produce: a family's own name, or a family's name
/// with the suffix its type adds to its samples (`_bucket`, `_sum`, `_count` of a histogram;
/// `_total` of a counter, whose TYPE line OpenMetrics writes without it; `_info` of an info).
/// `up` is Prometheus's own.
fn emitted(name: &str, families: &BTreeMap<String, String>) -> bool {
    if name == "up" || families.contains_key(name) {
        return true;
    }
    let suffixes: [(&str, &[&str]); 6] = [
        ("_bucket", &["histogram"]),
        ("_sum", &["histogram", "summary"]),
        ("_count", &["histogram", "summary"]),
        ("_created", &["histogram", "summary", "counter"]),
        ("_total", &["counter"]),
        ("_info", &["info"]),
    ];
    suffixes.iter().any(|(suffix, types)| {
        name.strip_suffix(suffix)
            .filter(|family| !(*suffix == "_total" && family.ends_with("_total")))
            .and_then(|family| families.get(family))
            .is_some_and(|t| types.contains(&t.as_str()))
    })
}

/// The exporter's output with no samples recorded: every family prints its HELP and TYPE.
fn exporter_output() -> String {
    trademon::metrics::Metrics::new(trademon::metrics::BuildInfo {
        version: "test".into(),
        exchange: "sim".into(),
    })
    .render()
}

#[test]
fn every_metric_the_rules_and_the_dashboard_query_is_exported() {
    let exposition = exporter_output();
    let families = families(&exposition);
    assert!(
        families.len() >= 20,
        "only {} families in the exporter's output:\n{exposition}",
        families.len()
    );

    let mut used: Vec<(String, String, String)> = Vec::new(); // (file, where, name)
    let rules = read(&prometheus_dir().join(RULES));
    let recorded: BTreeSet<String> = rules
        .lines()
        .filter_map(|l| {
            l.trim_start()
                .trim_start_matches("- ")
                .strip_prefix("record:")
        })
        .map(|n| unquote(n.trim()).to_string())
        .collect();
    let exprs = rule_exprs(&rules);
    assert_eq!(
        exprs.len(),
        alert_names(&rules).len() + recorded.len(),
        "{RULES}: one expr per rule"
    );
    for e in &exprs {
        for n in metric_names(e) {
            used.push((
                format!("deploy/prometheus/{RULES}"),
                e.trim().to_string(),
                n,
            ));
        }
    }
    for (at, e) in dashboard_queries(&dashboard()) {
        for n in metric_names(&e) {
            used.push((format!("deploy/{DASHBOARD}"), at.clone(), n));
        }
    }
    assert!(used.len() > 50, "too few metric names found: {used:?}");

    let missing: BTreeSet<String> = used
        .iter()
        .filter(|(_, _, n)| !emitted(n, &families) && !recorded.contains(n))
        .map(|(file, at, n)| format!("{n} (in {file}, {at})"))
        .collect();
    assert!(
        missing.is_empty(),
        "metric names that the exporter does not emit:\n  {}\nexporter families: {:?}",
        missing.into_iter().collect::<Vec<_>>().join("\n  "),
        families.keys().collect::<Vec<_>>()
    );
}

#[test]
fn metric_names_are_extracted_from_promql() {
    let names = |e: &str| metric_names(e).into_iter().collect::<Vec<_>>();
    assert_eq!(
        names(
            r#"histogram_quantile(0.99, sum by (instance, le) (rate(trademon_store_write_duration_seconds_bucket{instance=~"$instance"}[5m])))"#
        ),
        ["trademon_store_write_duration_seconds_bucket"]
    );
    assert_eq!(
        names("trademon_feed_gaps_found_total - trademon_feed_gaps_repaired_total > 0"),
        [
            "trademon_feed_gaps_found_total",
            "trademon_feed_gaps_repaired_total"
        ]
    );
    assert_eq!(
        names(r#"up{job="trademon"} == 0 or time() - process_start_time_seconds > 1e3"#),
        ["process_start_time_seconds", "up"]
    );
    assert_eq!(
        names("label_values(trademon_build_info, instance)"),
        ["trademon_build_info"]
    );
    // Label names, label values, functions, durations and Grafana variables are not metrics;
    // `up` counts only as a whole identifier.
    assert!(
        names(r#"sum by (symbol) (increase(x_total{stream="1m", role="upper"}[$__rate_interval] offset 1h30m))"#)
            .is_empty()
    );
    assert!(names("updates + setup + 5up").is_empty());
    // Colons belong to the identifier; a recording rule named `trademon:...` is not taken for
    // an exporter name (the check allows the rules file's own `record:` names besides).
    assert!(names("trademon:rows:rate5m > 0").is_empty());
    assert_eq!(names("trademon_x:rate5m"), ["trademon_x:rate5m"]);
}

#[test]
fn exported_names_map_suffixes_to_their_family() {
    let exposition = "# HELP a_seconds A.\n# TYPE a_seconds histogram\n\
                      # HELP b B.\n# TYPE b counter\n\
                      # HELP c_total C.\n# TYPE c_total counter\n\
                      # HELP d D.\n# TYPE d gauge\n\
                      # HELP e E.\n# TYPE e info\n# EOF\n";
    let f = families(exposition);
    assert_eq!(f.len(), 5);
    for yes in [
        "a_seconds",
        "a_seconds_bucket",
        "a_seconds_sum",
        "a_seconds_count",
        "b_total",
        "c_total",
        "d",
        "e_info",
        "up",
    ] {
        assert!(emitted(yes, &f), "{yes}");
    }
    for no in [
        "a",
        "b_bucket",
        "d_total",
        "d_sum",
        "c_total_total",
        "f",
        "e_total",
    ] {
        assert!(!emitted(no, &f), "{no}");
    }
}

#[test]
fn rule_exprs_and_test_cases_are_read_from_yaml() {
    let rules = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x == 0\n        for: 1m\n\
                 \x20     - alert: B\n        expr: |\n          y > 1\n            and z\n        for: 2m\n\
                 \x20     - record: r:x\n        expr: 'sum(x)'\n";
    assert_eq!(alert_names(rules), ["A", "B"]);
    assert_eq!(rule_exprs(rules), ["x == 0", "y > 1\nand z\n", "sum(x)"]);
    let tests = "    alert_rule_test:\n      - eval_time: 1m\n        alertname: A\n        exp_alerts: []\n\
                 \x20     - eval_time: 2m\n        alertname: A\n        exp_alerts:\n          - exp_labels:\n\
                 \x20     - eval_time: 2m\n        alertname: B\n        exp_alerts:\n";
    let cases = rule_test_cases(tests);
    assert_eq!(cases["A"], (true, true));
    assert_eq!(cases["B"], (true, false));
}
