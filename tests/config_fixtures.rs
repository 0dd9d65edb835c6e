//! Every file in tests/fixtures/config/valid loads; every file in invalid/ is refused with the file,
//! the key path and the reason its first line announces (`# expect: KEY | REASON`).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use trademon::config::Config;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(kind);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

#[test]
fn valid_configs_load() {
    for path in fixtures("valid") {
        let (config, used) =
            Config::load(Some(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(used.as_deref(), Some(path.as_path()));
        assert!(!config.feed.symbols.is_empty());
    }
}

#[test]
fn invalid_configs_are_refused_with_file_key_and_reason() {
    for path in fixtures("invalid") {
        let bytes = std::fs::read(&path).unwrap();
        let first_line =
            String::from_utf8_lossy(bytes.split(|b| *b == b'\n').next().unwrap()).into_owned();
        let expect = first_line
            .strip_prefix("# expect: ")
            .expect("fixture announces its error");
        let (key, reason) = expect.split_once(" | ").unwrap();
        let err = Config::load(Some(&path))
            .err()
            .unwrap_or_else(|| panic!("{} was accepted", path.display()));
        assert_eq!(err.file, path.display().to_string(), "{err}");
        assert_eq!(err.key, key, "{}: {err}", path.display());
        assert!(
            err.reason.contains(reason.trim()),
            "{}: {err}",
            path.display()
        );
        // The message a user sees names all three.
        let shown = err.to_string();
        assert!(
            shown.contains(&err.file) && shown.contains(&err.key),
            "{shown}"
        );
    }
}

#[test]
fn missing_file_is_a_clear_error() {
    let err = Config::load(Some(std::path::Path::new("/nonexistent/trademon.toml"))).unwrap_err();
    assert!(err.reason.contains("cannot read"), "{err}");
}

#[test]
fn generated_config_is_the_defaults() {
    let (from_text, _) = {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gen.toml");
        std::fs::write(&path, trademon::config::DEFAULT_TOML).unwrap();
        Config::load(Some(&path)).unwrap()
    };
    assert_eq!(from_text, Config::default());
}
