//! The bodies of the command-line commands; `main.rs` only parses arguments and calls these.

pub mod attach;
pub mod backtest;
pub mod daemon;
pub mod download;
pub mod drift;
pub mod errors;
pub mod export;
pub mod features;
pub mod import;
pub mod models;
mod models_compare;
pub mod models_eval;
mod models_text;
pub mod models_torch;
pub mod paper;
pub mod run;
pub mod runs;
pub mod serve_sim;
pub mod status;
pub mod train;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{Config, Dirs};

/// Errors a user can cause on the command line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("no home directory found to keep data in; pass --db PATH")]
    NoDataDir,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Parses `500ms`, `30s`, `5m`, `2h`, `1d` (a bare number is seconds): above zero, at most a
/// year. The units are [`crate::domain::parse_span`]'s, which the config's durations use too.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bare = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let ms = if bare {
        crate::domain::parse_span(&format!("{text}s"))?
    } else {
        crate::domain::parse_span(text)?
    };
    if ms <= 0 {
        return Err(format!("{text:?} must be above zero and at most a year"));
    }
    Ok(Duration::from_millis(ms as u64))
}

/// The database path: `--db`, else `store.path` from the config, else the data directory:
/// `trademon.db` for real market data, `simulated.db` when the source is the built-in exchange
/// (simulated or replayed), so simulated prices never mix with real ones. A path that exists but
/// is not a regular file is refused here, before the log beside it is opened.
pub fn db_path(
    explicit: Option<&Path>,
    config: &Config,
    simulated: bool,
) -> Result<PathBuf, CliError> {
    let path = if let Some(p) = explicit {
        p.to_path_buf()
    } else if !config.store.path.is_empty() {
        PathBuf::from(&config.store.path)
    } else {
        let dirs = Dirs::discover().ok_or(CliError::NoDataDir)?;
        if simulated {
            dirs.data_dir.join("simulated.db")
        } else {
            dirs.default_db()
        }
    };
    crate::store::check_path(&path)?;
    Ok(path)
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        for bad in ["", "s", "-1s", "0s", "10 parsecs", "1y", "NaNs", "9999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
