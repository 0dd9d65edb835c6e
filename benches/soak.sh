#!/usr/bin/env bash
# Soak: the daemon on the built-in exchange (default configuration: 5 symbols x 4 intervals +
# trades) for a while at a high sim speed; its resident memory (VmRSS) must stay flat after the
# warm-up. Prints the RSS at the end of the warm-up, at the end, and max - min after the warm-up;
# exits 1 when that spread exceeds the limit. Not run by CI (it takes minutes).
#
#   cargo build --release && benches/soak.sh [--secs 600] [--warmup 120] [--speed 600]
#                                            [--every 5] [--limit-mb 5]
# TRADEMON=path picks another binary (default target/release/trademon).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=600 warmup=120 speed=600 every=5 limit_mb=5
while [ $# -gt 0 ]; do
  case "$1" in
    --secs) secs=$2 ;;
    --warmup) warmup=$2 ;;
    --speed) speed=$2 ;;
    --every) every=$2 ;;
    --limit-mb) limit_mb=$2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
bin=${TRADEMON:-target/release/trademon}
[ -x "$bin" ] || { echo "no $bin: run cargo build --release first" >&2; exit 2; }

home=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; fi
  rm -rf "$home"
}
trap cleanup EXIT
XDG_DATA_HOME=$home/data XDG_CONFIG_HOME=$home/cfg \
  "$bin" --db "$home/soak.db" daemon --socket "$home/soak.sock" --sim-speed "$speed" \
  >"$home/daemon.out" 2>&1 &
pid=$!

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null; }
start=$(date +%s)
min= max= at_warmup= last=
while :; do
  sleep "$every"
  now=$(( $(date +%s) - start ))
  rss=$(rss_kb) || true
  if [ -z "$rss" ]; then
    echo "the daemon exited after ${now} s:" >&2
    cat "$home/daemon.out" >&2
    pid=
    exit 1
  fi
  last=$rss
  echo "t=${now}s rss=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') MB"
  if [ "$now" -ge "$warmup" ]; then
    [ -n "$at_warmup" ] || at_warmup=$rss
    if [ -z "$min" ] || [ "$rss" -lt "$min" ]; then min=$rss; fi
    if [ -z "$max" ] || [ "$rss" -gt "$max" ]; then max=$rss; fi
  fi
  [ "$now" -lt "$secs" ] || break
done
if [ -z "$at_warmup" ]; then
  echo "no sample after the warm-up: --secs must exceed --warmup" >&2
  exit 2
fi

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
spread=$((max - min))
echo "soak: daemon on the built-in exchange, sim speed ${speed}x, ${secs} s (warm-up ${warmup} s):" \
  "RSS $(mb "$at_warmup") MB after the warm-up, $(mb "$last") MB at the end," \
  "max - min after the warm-up $(mb "$spread") MB (limit ${limit_mb} MB)"
if [ "$spread" -gt $((limit_mb * 1024)) ]; then
  echo "FAIL: resident memory grew more than ${limit_mb} MB after the warm-up" >&2
  exit 1
fi
echo "ok"
