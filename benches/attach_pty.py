#!/usr/bin/env python3
"""Bytes per second an idle `trademon attach` writes to its terminal, measured through a
pseudo-terminal of 100x30, with the daemon's simulated exchange at real-time speed.

    cargo build --release
    python3 benches/attach_pty.py [--bin target/release/trademon] [--warmup 10] [--secs 60]
        [--speed 1] [--symbols BTCUSDT,ETHUSDT,SOLUSDT,BNBUSDT,XRPUSDT] [--compare-run]

It starts its own daemon in a temporary directory, attaches, waits `--warmup` seconds (the
first full screen), then counts what the console writes for `--secs` seconds, quits the console
with `q` and stops the daemon with SIGTERM.
"""

import argparse
import fcntl
import os
import pty
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time


def wait_for_socket(path, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"no daemon listening on {path} after {timeout}s")


def measure(args, env, argv, label):
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", args.rows, args.cols, 0, 0))
    os.kill(pid, signal.SIGWINCH)
    start = time.time()
    measured_from = start + args.warmup
    end = measured_from + args.secs
    warm_bytes = 0
    bytes_in = 0
    per_second = {}
    while True:
        now = time.time()
        if now >= end:
            break
        ready, _, _ = select.select([fd], [], [], min(0.5, end - now))
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        # Answer cursor-position queries as a terminal would.
        for _ in range(chunk.count(b"\x1b[6n")):
            os.write(fd, b"\x1b[1;1R")
        now = time.time()
        if now < measured_from:
            warm_bytes += len(chunk)
            if os.environ.get("SHOW_WARMUP"):
                sys.stderr.write(repr(chunk[:3000]) + "\n")
        else:
            bytes_in += len(chunk)
            second = int(now - measured_from)
            per_second[second] = per_second.get(second, 0) + len(chunk)
    os.write(fd, b"q")
    time.sleep(1)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    rate = bytes_in / args.secs
    peak = max(per_second.values()) if per_second else 0
    print(f"{label} at {args.cols}x{args.rows}, {len(args.symbols.split(','))} symbols, "
          f"sim speed {args.speed}: first {args.warmup:.0f} s {warm_bytes} bytes; then "
          f"{bytes_in} bytes in {args.secs:.0f} s = {rate:.0f} B/s "
          f"(busiest second {peak} B)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "release", "trademon"))
    ap.add_argument("--warmup", type=float, default=10)
    ap.add_argument("--secs", type=float, default=60)
    ap.add_argument("--speed", default="1")
    ap.add_argument("--symbols", default="BTCUSDT,ETHUSDT,SOLUSDT,BNBUSDT,XRPUSDT")
    ap.add_argument("--cols", type=int, default=100)
    ap.add_argument("--rows", type=int, default=30)
    ap.add_argument("--compare-run", action="store_true",
                    help="also measure `trademon run` (the console in process) the same way")
    args = ap.parse_args()

    home = tempfile.mkdtemp(prefix="trademon-pty-")
    env = dict(os.environ, XDG_DATA_HOME=f"{home}/data", XDG_CONFIG_HOME=f"{home}/cfg",
               XDG_RUNTIME_DIR=f"{home}/run", TERM="xterm-256color")
    sock = f"{home}/d.sock"
    db = f"{home}/d.db"
    daemon = subprocess.Popen(
        [args.bin, "--db", db, "daemon", "--socket", sock, "--symbols", args.symbols,
         "--sim-speed", args.speed],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_socket(sock, 60)
        measure(args, env, [args.bin, "--db", db, "attach", "--socket", sock], "attach")
        if args.compare_run:
            # The in-process console on its own database, same symbols and speed, for reference.
            measure(args, env, [args.bin, "--db", f"{home}/run.db", "run", "--symbols",
                                args.symbols, "--sim-speed", args.speed], "run (in process)")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)


if __name__ == "__main__":
    main()
