//! Issue 13, items 1 and 3, attacked as they were found: the real binary on a read-only database
//! file (as an unprivileged user) and on a disk that fills up while it runs (a 3 MB tmpfs). Both
//! need root (to switch user, to mount); elsewhere they skip and say why.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::nobody::{as_nobody, chmod, my_uid, nobody_binary};
use support::text;

fn skip(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why}");
}

/// A tmpfs of `size` mounted on `dir`, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Item 1: `run --headless` on a database file the user cannot write ran on, exited 0 and said
/// "stored this run: 11" while nothing was written. Now it refuses to start, saying why.
#[test]
fn a_read_only_database_is_refused_at_start_not_run_on() {
    let name = "a_read_only_database_is_refused_at_start_not_run_on";
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o755);
    if my_uid(dir.path()) != 0 {
        return skip(
            name,
            "needs root to run the binary as another user (nobody)",
        );
    }
    let Some(bin) = nobody_binary(dir.path()) else {
        return skip(name, "needs setpriv (util-linux) able to switch to nobody");
    };
    let work = dir.path().join("w");
    std::fs::create_dir(&work).unwrap();
    let db = work.join("ro.db");
    let made = support::trademon(
        dir.path(),
        &[
            "run",
            "--headless",
            "--for",
            "2s",
            "--db",
            db.to_str().unwrap(),
        ],
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    let before = std::fs::read(&db).unwrap();
    // The attack: a 0444 file owned by the user, in a directory the user may write.
    Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(&work)
        .status()
        .unwrap();
    chmod(&db, 0o444);
    let out = as_nobody(&bin)
        .args(["run", "--headless", "--for", "5s", "--db"])
        .arg(&db)
        .env("XDG_CONFIG_HOME", work.join("cfg"))
        .env("XDG_DATA_HOME", work.join("data"))
        .env("HOME", &work)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}\nstderr: {stderr}",
        text(&out.stdout)
    );
    assert!(stderr.starts_with("error: database "), "{stderr}");
    assert!(stderr.contains("is read-only"), "{stderr}");
    assert!(
        text(&out.stdout).is_empty(),
        "no summary of rows it never stored"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "the file is untouched");
}

/// Item 3: on a disk that filled up, `status` said healthy through thousands of failed commits,
/// the writer spun at 100 % CPU logging each retry, and `run --headless` never printed its
/// summary. Now the rows are held and retried with backoff, the log says it once, the shutdown
/// has a deadline, and the run ends with its summary, saying what was not stored, and exit 1.
#[test]
fn a_disk_that_fills_up_fails_the_run_loudly_with_its_summary_and_a_bounded_log() {
    let name = "a_disk_that_fills_up_fails_the_run_loudly_with_its_summary_and_a_bounded_log";
    let dir = tempfile::tempdir().unwrap();
    if my_uid(dir.path()) != 0 {
        return skip(name, "needs root to mount a small tmpfs");
    }
    let mount = dir.path().join("small");
    let Some(_tmpfs) = Tmpfs::mount(&mount, "3m") else {
        return skip(name, "cannot mount a tmpfs here (no CAP_SYS_ADMIN?)");
    };
    let db = mount.join("full.db");
    let run_for = 20;
    let child = support::command(
        dir.path(),
        &[
            "run",
            "--headless",
            // Fast enough that the rows outgrow the WAL's free pages within the run.
            "--sim-speed",
            "600",
            "--for",
            &format!("{run_for}s"),
            "--db",
            db.to_str().unwrap(),
        ],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let started = Instant::now();
    // Let it open the database and store its first rows, then fill the disk.
    while !db.exists() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3));
    {
        use std::io::Write;
        let mut filler = std::fs::File::create(mount.join("filler")).unwrap();
        let block = vec![0u8; 4096];
        while filler.write_all(&block).is_ok() {}
    }
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stdout.contains("NOT stored"),
        "the summary says it: {stdout}"
    );
    assert!(stdout.contains("disk is full"), "{stdout}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("rows were not stored"),
        "{stderr}"
    );
    // The run plus the writer's shutdown deadline, with room for a slow machine; before, the
    // shutdown took minutes.
    assert!(
        took < Duration::from_secs(run_for + 60),
        "took {took:?} to stop"
    );
    let log = std::fs::read_to_string(mount.join("trademon.log")).unwrap_or_default();
    let lines = log.lines().filter(|l| l.contains("store writer")).count();
    assert!(
        lines <= 10,
        "the log says it once per change, not per retry ({lines} lines):\n{log}"
    );
}
