//! The layering of ARCHITECTURE.md, enforced: every `crate::` path in `src/` may only name a
//! top-level module its own module is allowed to use (directly or through the modules it may use).
//! A failure names the file, the line and the path that breaks the layering.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Which top-level module may use which, as the table in ARCHITECTURE.md says; what those may use
/// is allowed too. `main` is the binary (`main.rs`, `cli.rs`).
const LAYERS: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("fmt", &["domain"]),
    ("config", &["domain"]),
    ("protocol", &["domain"]),
    ("indicators", &["domain"]),
    ("features", &["indicators"]),
    ("store", &["domain", "config"]),
    ("model", &["features", "store"]),
    ("broker", &["domain"]),
    ("monitor", &["model"]),
    ("backtest", &["model", "broker", "fmt"]),
    ("feed", &["domain", "config"]),
    ("metrics", &[]),
    (
        "engine",
        &[
            "domain",
            "fmt",
            "config",
            "protocol",
            "indicators",
            "features",
            "store",
            "model",
            "broker",
            "monitor",
            "backtest",
            "feed",
            "metrics",
        ],
    ),
    ("daemon", &["engine", "protocol"]),
    ("tui", &["protocol", "domain", "fmt", "config"]),
    (
        "commands",
        &[
            "domain",
            "fmt",
            "config",
            "protocol",
            "indicators",
            "features",
            "store",
            "model",
            "broker",
            "monitor",
            "backtest",
            "feed",
            "metrics",
            "engine",
            "daemon",
            "tui",
        ],
    ),
    ("main", &["commands"]),
];

fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let direct: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut out = BTreeMap::new();
    for &(module, _) in LAYERS {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&str> = direct[module].to_vec();
        while let Some(next) = todo.pop() {
            if seen.insert(next) {
                todo.extend(direct[next].iter().copied());
            }
        }
        out.insert(module, seen);
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to. A top-level file mounted into another
/// module with `#[path]` belongs to that module (through any chain of mounts).
fn module_of(src: &Path, file: &Path, mounts: &BTreeMap<String, String>) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel
        .components()
        .next()
        .expect("a component")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    let stem = first.trim_end_matches(".rs").to_string();
    match stem.as_str() {
        "main" | "cli" => "main".into(),
        _ => {
            // Mounts chain: a tests file mounted into a file that is itself mounted elsewhere.
            let mut owner = stem;
            let mut file = first;
            while let Some(o) = mounts.get(&file) {
                owner = o.clone();
                file = format!("{o}.rs");
            }
            owner
        }
    }
}

/// `#[path = "x.rs"]` in a top-level file: x.rs belongs to that file's module.
fn path_mounts(src: &Path) -> BTreeMap<String, String> {
    let mut mounts = BTreeMap::new();
    for entry in fs::read_dir(src).expect("src") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("readable");
        let owner = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("#[path = \"")
                && let Some(target) = rest.split('"').next()
            {
                mounts.insert(target.to_string(), owner.clone());
            }
        }
    }
    mounts
}

/// The top-level modules a line names through `crate::`: `crate::a::..` and every head of a
/// `crate::{a, b::c, ..}` group. Comments are skipped.
fn crate_paths(line: &str) -> Vec<String> {
    let code = match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    };
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `mycrate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut head = true;
            let mut word = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        if !word.is_empty() {
                            found.push(std::mem::take(&mut word));
                        }
                        head = true;
                        continue;
                    }
                    _ => {}
                }
                if head && depth == 0 {
                    if c.is_alphanumeric() || c == '_' {
                        word.push(c);
                    } else if !word.is_empty() {
                        found.push(std::mem::take(&mut word));
                        head = false;
                    }
                }
            }
            if !word.is_empty() {
                found.push(word);
            }
        } else {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !word.is_empty() {
                found.push(word);
            }
        }
    }
    found
}

/// Every use of a top-level module that the layering forbids, as `file:line: crate::x (module m
/// may not use x)`.
fn violations(src: &Path) -> Vec<String> {
    let allowed = allowed();
    let mounts = path_mounts(src);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut out = Vec::new();
    for file in files {
        let module = module_of(src, &file, &mounts);
        if module == "lib" {
            continue;
        }
        let Some(may) = allowed.get(module.as_str()) else {
            out.push(format!(
                "{}: top-level module `{module}` is not in the layer table (tests/architecture.rs \
                 and ARCHITECTURE.md)",
                file.display()
            ));
            continue;
        };
        let text = fs::read_to_string(&file).expect("readable");
        for (n, line) in text.lines().enumerate() {
            for used in crate_paths(line) {
                if used == module || used == "self" || used == "super" {
                    continue;
                }
                let everything = module == "main";
                if !everything && !may.contains(used.as_str()) {
                    out.push(format!(
                        "{}:{}: crate::{used} (`{module}` may not use `{used}`)",
                        file.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn every_dependency_between_top_level_modules_points_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "{} uses break the layering of ARCHITECTURE.md:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn the_layer_table_has_no_cycle() {
    let allowed = allowed();
    for (module, may) in &allowed {
        assert!(
            !may.contains(module),
            "{module} may use itself through {may:?}"
        );
    }
}

#[test]
fn the_checker_sees_an_upward_import_in_every_form_it_is_written() {
    let dir = std::env::temp_dir().join(format!("trademon-arch-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("store")).expect("temp dir");
    fs::create_dir_all(dir.join("domain")).expect("temp dir");
    fs::write(
        dir.join("store/writer.rs"),
        "use crate::domain::Candle;\nuse crate::{config, engine::Engine};\n// crate::tui in a comment\nfn f() { crate::feed::x(); }\n",
    )
    .expect("write");
    fs::write(dir.join("domain/mod.rs"), "use crate::domain::Candle;\n").expect("write");
    let found = violations(&dir);
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].ends_with("store/writer.rs:2: crate::engine (`store` may not use `engine`)"));
    assert!(found[1].ends_with("store/writer.rs:4: crate::feed (`store` may not use `feed`)"));
}
