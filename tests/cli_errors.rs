//! What a user's mistake looks like on stderr: `error: …` and its causes, one per line, nothing
//! else: no source location, no backtrace (even with `RUST_BACKTRACE` set), no escape codes when
//! stderr is not a terminal; exit 2 for bad input, 1 for a failure at run time.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Output;

use support::text;
use support::tmux::{Session, have_tmux};

fn run(dir: &Path, args: &[&str], backtrace: Option<&str>) -> Output {
    let mut command = support::command(dir, args);
    command
        .env_remove("NO_COLOR")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    if let Some(value) = backtrace {
        command.env("RUST_BACKTRACE", value);
    }
    command.output().unwrap()
}

fn assert_clean(args: &[&str], stderr: &str, needle: &str) {
    assert!(stderr.starts_with("error: "), "{args:?}:\n{stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: no {needle:?} in\n{stderr}"
    );
    for noise in [
        "Location",
        "src/",
        "acktrace",
        "BACKTRACE",
        "panicked",
        "\x1b[",
        "Error: ",
    ] {
        assert!(!stderr.contains(noise), "{args:?}: {noise:?} in\n{stderr}");
    }
    for line in stderr.lines().skip(1) {
        assert!(line.starts_with("  caused by: "), "{args:?}: {line:?}");
    }
}

#[test]
fn user_mistakes_print_one_clean_error_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("e.db");
    let db = db.to_str().unwrap();
    let bad_config = d.join("bad.toml");
    std::fs::write(&bad_config, "[feed]\nsymbols = [\"BTC/USDT\"]\n").unwrap();
    let bad_config = bad_config.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--db",
                db,
                "import",
                "no-such-file.csv",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "1m",
            ],
            "no-such-file.csv",
        ),
        (vec!["--db", db, "models", "show", "999"], "999"),
        (
            vec!["--config", bad_config, "run", "--headless", "--for", "1s"],
            "feed.symbols[0]",
        ),
        (
            vec![
                "--db",
                db,
                "backtest",
                "--symbol",
                "ETHBTC",
                "--interval",
                "5m",
                "--strategy",
                "sma-cross:20,10",
            ],
            "sma-cross",
        ),
        (
            vec![
                "--db",
                db,
                "export",
                "--symbol",
                "ETHBTC",
                "--interval",
                "5m",
            ],
            "no ETHBTC 5m candles",
        ),
    ];
    for backtrace in [None, Some("1"), Some("full")] {
        for (args, needle) in &cases {
            let out = run(d, args, backtrace);
            let stderr = text(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{args:?} {backtrace:?}:\n{stderr}"
            );
            assert_clean(args, &stderr, needle);
        }
    }
}

#[test]
fn a_failure_at_run_time_exits_1_and_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    // The database path is a directory: SQLite cannot open it.
    let db = dir.path().join("a-directory.db");
    std::fs::create_dir(&db).unwrap();
    let args = ["--db", db.to_str().unwrap(), "models", "list"];
    let out = run(dir.path(), &args, Some("1"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_clean(&args, &stderr, "a-directory.db");
}

#[test]
fn bad_usage_exits_2_through_clap() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["download", "--symbol", "BTCUSDT"], Some("1"));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("\x1b["), "{stderr}");
}

#[test]
fn completions_and_both_spellings_of_list_flags() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = run(dir.path(), &["completions", shell], None);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains("download"), "{shell}");
        assert!(script.contains("export"), "{shell}");
    }
    let out = run(dir.path(), &["completions", "tcsh"], None);
    assert_eq!(out.status.code(), Some(2));
    // `run --interval 1m` and `--symbol` are accepted as `--intervals` / `--symbols` are; and
    // `--symbols` where one symbol is taken.
    let db = dir.path().join("s.db");
    let db = db.to_str().unwrap();
    let out = run(
        dir.path(),
        &[
            "--db",
            db,
            "run",
            "--headless",
            "--for",
            "1s",
            "--interval",
            "1m",
            "--symbol",
            "BTCUSDT",
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(summary.contains("BTCUSDT"), "{summary}");
    assert!(!summary.contains("ETHUSDT"), "{summary}");
    let file = dir.path().join("btc.csv");
    let out = run(
        dir.path(),
        &[
            "--db",
            db,
            "export",
            "--symbols",
            "BTCUSDT",
            "--intervals",
            "1m",
            "--out",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(&file).unwrap().lines().count() > 1);
}

/// On a terminal (tmux): `error:` in colour, and no colour with `NO_COLOR`; `download` draws its
/// progress bar. Needs tmux: under CI its absence is a failure, elsewhere a skip.
#[test]
fn on_a_terminal_colour_unless_no_color_and_a_progress_bar() {
    if !have_tmux("the terminal checks") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let bin = env!("CARGO_BIN_EXE_trademon");
    let screen = |name: &str, env: &str, args: &str| -> String {
        let script = format!(
            "sh -c 'XDG_DATA_HOME={d}/data XDG_CONFIG_HOME={d}/cfg {env} {bin} {args}; echo DONE; sleep 30'"
        );
        let session = Session::start(&format!("trademon-errors-{name}"), 150, 20, &script, false);
        let started = std::time::Instant::now();
        let mut seen = String::new();
        while started.elapsed() < std::time::Duration::from_secs(30) {
            seen = session.capture_with_escapes();
            if seen.contains("DONE") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        seen
    };
    let show = format!("--db {d}/t.db models show 9");
    let coloured = screen("colour", "", &show);
    assert!(coloured.contains("\x1b["), "{coloured:?}");
    assert!(coloured.contains("error:"), "{coloured}");
    assert!(coloured.contains("t.db"), "{coloured}");
    let plain = screen("nocolor", "NO_COLOR=1", &show);
    assert!(plain.contains("error: "), "{plain}");
    assert!(!plain.contains("\x1b["), "{plain:?}");
    let bar = screen(
        "bar",
        "",
        "download --symbol BTCUSDT --interval 1m --from 2026-01-01 --to 2026-01-20",
    );
    assert!(bar.contains("BTCUSDT 1m [="), "{bar}");
    assert!(bar.contains("27360/27360 candles"), "{bar}");
}
