#!/usr/bin/env bash
# bench/lab.sh — the network lab's benchmark: the five scenarios of issue 13 (flash crowd,
# thin seeder, churn, mixed clients, libtorrent everywhere), one after the other in one run,
# with release builds. Each scenario gets report.txt, report.json and report.svg under OUT;
# the summary at the end compares flash-crowd with libtorrent's own swarm.
#
# usage: bench/lab.sh [SCENARIO...]       (default: all five; names or paths)
# environment: OUT (default target/lab), SKIP_BUILD=1, CARGO_TARGET_DIR
# Needs root, iproute2, iptables, aria2c and python3-libtorrent (scripts/install-test-deps).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=${OUT:-$TARGET/lab}
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release --locked -p swarm-client -p tracker -p swarm-lab --bins >&2
fi
scenarios=()
for s in "${@:-flash-crowd thin-seeder churn mixed libtorrent}"; do
  for name in $s; do
    case "$name" in
      */*|*.toml) scenarios+=("$name") ;;
      *) scenarios+=("$ROOT/bench/lab/scenarios/$name.toml") ;;
    esac
  done
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (a shared machine: other work runs too)" >&2
exec "$TARGET/release/lab" run --out "$OUT" "${scenarios[@]}"
