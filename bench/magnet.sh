#!/usr/bin/env bash
# bench/magnet.sh — time to first byte from a magnet link: `swarm get 'magnet:…'` against
# libtorrent and aria2c as leechers, each given only the same magnet link (our tracker in
# tr=), from the same seeder (`swarm seed`), in one run.
#
# "First byte" is client-neutral: the moment the payload file in the leecher's empty output
# folder first has data blocks on disk (polled every 5 ms), so it covers the tracker announce,
# the metadata exchange (BEP 9), the first piece requests and the first write. The time to
# complete is printed too. Leechers run one at a time, in interleaved rounds; medians and the
# ratios swarm/other are printed (below 1: swarm is faster).
#
# Everything is on 127.0.0.1; as root the run happens in a fresh loopback-only network
# namespace. DHT, LSD, UPnP, NAT-PMP and PEX are off in every client.
#
# usage: bench/magnet.sh [--size SIZE] [--repeat N]   (defaults 64M, 5)
# environment: WORK (default /tmp/swarm-magnet-bench), CARGO_TARGET_DIR, SKIP_BUILD=1,
#   ISOLATE=0 (no network namespace).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE=${SIZE:-64M}
REPEAT=${REPEAT:-5}
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "magnet.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
WORK=${WORK:-/tmp/swarm-magnet-bench}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

if [ -z "${SWARM_BENCH_NETNS:-}" ]; then
  for tool in aria2c /usr/bin/python3.11; do
    command -v "$tool" >/dev/null || { echo "magnet.sh: $tool is missing (scripts/install-test-deps)" >&2; exit 3; }
  done
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "building release binaries (swarm, tracker, mkmeta) into $TARGET ..." >&2
    (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build --release --locked \
      -p swarm-client -p tracker -p mkmeta --bins) >&2
  fi
  if [ "${ISOLATE:-1}" = 1 ] && [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
    ns="swarmmagnet$$"
    ip netns add "$ns"
    trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
    ip -n "$ns" link set lo up
    SWARM_BENCH_NETNS=$ns CARGO_TARGET_DIR=$TARGET WORK=$WORK SIZE=$SIZE REPEAT=$REPEAT \
      ip netns exec "$ns" "$0"
    exit $?
  fi
fi

exec /usr/bin/python3.11 "$ROOT/bench/magnet/ttfb.py" --root "$ROOT" --target "$TARGET" \
  --work "$WORK" --size "$SIZE" --repeat "$REPEAT"
