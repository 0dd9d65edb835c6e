//! How a failed command reads on stderr: `error: <what was wrong and where>`, then its causes one
//! per line. No source locations, no backtraces, colour only on a terminal without `NO_COLOR`.
//! The exit code says whose fault it was: 2 for bad usage or input, 1 for a failure at run time.

use std::error::Error;
use std::io::ErrorKind;

/// Exit code of a user's mistake: a bad flag, file, id, shape or config value.
pub const EXIT_INPUT: u8 = 2;
/// Exit code of a failure at run time: the network, the disk, the database, the terminal.
pub const EXIT_RUNTIME: u8 = 1;

/// The text of an error and its causes. A cause whose text the line above already contains
/// (`thiserror` messages often embed their source) is not repeated.
pub fn render<'a>(
    chain: impl IntoIterator<Item = &'a (dyn Error + 'static)>,
    color: bool,
) -> String {
    let mut lines: Vec<String> = Vec::new();
    for cause in chain {
        let text = cause.to_string();
        let text = text.trim();
        if text.is_empty() || lines.last().is_some_and(|last| last.contains(text)) {
            continue;
        }
        lines.push(text.to_string());
    }
    let mut out = String::new();
    let mut lines = lines.into_iter();
    let first = lines.next().unwrap_or_else(|| "unknown error".to_string());
    if color {
        out.push_str("\x1b[1;31merror:\x1b[0m ");
    } else {
        out.push_str("error: ");
    }
    out.push_str(&first);
    out.push('\n');
    for cause in lines {
        out.push_str("  caused by: ");
        out.push_str(&cause);
        out.push('\n');
    }
    out
}

/// Whether stderr gets colour: only on a terminal, and never with `NO_COLOR` set (no-color.org:
/// any non-empty value).
pub fn stderr_color() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::IsTerminal::is_terminal(&std::io::stderr())
}

/// 1 when anything in the chain failed at run time (I/O other than a missing file, SQLite, HTTP,
/// the daemon, the terminal), else 2: the input was wrong.
pub fn exit_code<'a>(chain: impl IntoIterator<Item = &'a (dyn Error + 'static)>) -> u8 {
    for cause in chain {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if !matches!(io.kind(), ErrorKind::NotFound | ErrorKind::InvalidInput) {
                return EXIT_RUNTIME;
            }
            continue;
        }
        let runtime = cause.is::<rusqlite::Error>()
            || cause.is::<reqwest::Error>()
            || cause.is::<crate::feed::RestError>()
            || cause.is::<crate::daemon::DaemonError>()
            || cause.is::<crate::daemon::client::ClientError>()
            || cause.is::<crate::tui::TuiError>()
            || cause.is::<crate::engine::RuntimeError>()
            || cause.is::<tokio::task::JoinError>()
            || cause.is::<super::download::Incomplete>()
            || cause.is::<super::run::StoreFailure>()
            || not_a_file(cause);
        if runtime {
            return EXIT_RUNTIME;
        }
    }
    EXIT_INPUT
}

/// A database path that is not a regular file: a run-time failure, as when SQLite itself failed
/// to open it (before trademon looked first).
fn not_a_file(cause: &(dyn Error + 'static)) -> bool {
    use crate::store::StoreError;
    let store = match cause.downcast_ref::<super::CliError>() {
        Some(super::CliError::Store(e)) => Some(e),
        _ => cause.downcast_ref::<StoreError>(),
    };
    matches!(store, Some(StoreError::NotAFile { .. }))
}

/// Printed under a panic's report: a panic is a bug in trademon, never the user's fault.
pub const PANIC_NOTE: &str = "This is a bug in trademon, not something you did wrong. \
Please report it with the text above and the command you ran; the log (trademon.log beside \
the database) may help too.";

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("config x.toml: feed.symbols[1]: bad symbol")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("bad symbol")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot import prices.csv")]
    struct Wrapper(#[source] std::io::Error);

    #[test]
    fn one_line_per_cause_without_repeats() {
        let e = Outer(Inner);
        let text = render([&e as &(dyn Error + 'static)], false);
        assert_eq!(text, "error: config x.toml: feed.symbols[1]: bad symbol\n");
        let io = Wrapper(std::io::Error::new(ErrorKind::NotFound, "no such file"));
        let chain: Vec<&(dyn Error + 'static)> = vec![&io, &io.0];
        assert_eq!(
            render(chain.clone(), false),
            "error: cannot import prices.csv\n  caused by: no such file\n"
        );
        assert!(render(chain.clone(), true).starts_with("\x1b[1;31merror:\x1b[0m "));
        assert_eq!(exit_code(chain), EXIT_INPUT);
    }

    #[test]
    fn runtime_failures_exit_1() {
        let io = Wrapper(std::io::Error::other("disk full"));
        let chain: Vec<&(dyn Error + 'static)> = vec![&io, &io.0];
        assert_eq!(exit_code(chain), EXIT_RUNTIME);
        let e = Outer(Inner);
        assert_eq!(exit_code([&e as &(dyn Error + 'static)]), EXIT_INPUT);
    }
}
