#!/usr/bin/env bash
# bench/seed-net.sh — bench/seed.sh's question on an emulated network: how fast one seeder
# gets a crowd of libtorrent leechers to complete, verified data, and how much it uploads,
# with `swarm seed`, aria2c, libtorrent and rqbit as the seeder, in one run, interleaved
# (issue 10, "Speed").
#
# Why a second benchmark: on loopback (bench/seed.sh) bandwidth is free and the two cores
# are the limit, so from 4 leechers on the time measures the leechers' CPU, not the seeder,
# and a seeder that uploads more saves the leechers work. Real seeders sit behind a link;
# there the seeder's uplink and what it spends it on decide the time. Each measurement here
# is one scenario of the network lab (bench/lab, README "Network lab"): every host in its
# own network namespace behind a veth with tbf rate limits and the lab's delay line,
# the same network as the lab's flash crowd:
#   seeder 20 Mbit/s up; leechers 10 Mbit/s up, 50 Mbit/s down; every host adds
#   40 ms ± 10 ms to what it receives and drops 0.1 %; leechers start together, keep
#   seeding to each other once done; our tracker (interval 60 s) on its own host.
# Printed per (N, seeder): the time until every leecher held verified data (the lab's
# all_done_secs), that time ÷ T_min (the lower bound N·F/(u_s + Σu_i), and F/u_s when the
# seeder's uplink is the limit), and the seeder's upload ÷ payload (Ethernet bytes counted
# on its veth, × 1448/1514); then the ratios of swarm against each other seeder.
#
# Every client: DHT, local peer discovery, UPnP, NAT-PMP and PEX off (rqbit has no PEX
# switch); it reaches only addresses inside the lab's namespaces, which the lab removes
# when done (also on Ctrl-C).
#
# usage: bench/seed-net.sh [--size SIZE] [--leechers "1 4 16"] [--seeders "swarm [swarm-old] aria2 libtorrent rqbit"] [--repeat N]
#   --repeat N   every (N, seeder) measurement N times, interleaved rounds; median reported
# environment: WORK (default /tmp/swarm-seed-net), CARGO_TARGET_DIR, SKIP_BUILD=1,
#   OLD_SWARM (the swarm binary of the seeder named swarm-old, e.g. the previous build).
# Needs root, iproute2, iptables, aria2c, python3-libtorrent and rqbit
# (scripts/install-test-deps; `cargo install --locked rqbit`). One measurement takes
# about T_min + 15 s: the default run (3 counts × 4 seeders, once) about 11 minutes,
# --repeat 3 about 35.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/common.sh"
SIZE=64MiB
LEECHER_COUNTS="1 4 16"
SEEDERS="swarm aria2 libtorrent rqbit"
REPEAT=1
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE=$2; shift ;;
    --leechers) LEECHER_COUNTS=$2; shift ;;
    --seeders) SEEDERS=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (try --help)" ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || die "the network lab needs root (namespaces, veth, tc)"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=${WORK:-/tmp/swarm-seed-net}
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "building release binaries (swarm, tracker, lab) into $TARGET ..."
  (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build --release --locked \
    -p swarm-client -p tracker -p swarm-lab --bins) >&2
fi
LAB=$TARGET/release/lab
[ -x "$LAB" ] || die "$LAB is not built"

rm -rf "$WORK"
mkdir -p "$WORK/scenarios"
# swarm-old: the lab runs `swarm` from its --bin-dir, so the old build gets a directory of
# its own with the same tracker.
BIN_DIR=$TARGET/release
case " $SEEDERS " in
  *" swarm-old "*)
    [ -x "${OLD_SWARM:-}" ] || die "seeder swarm-old needs OLD_SWARM=PATH (an executable swarm)"
    mkdir -p "$WORK/old-bin"
    ln -s "$(realpath "$OLD_SWARM")" "$WORK/old-bin/swarm"
    ln -s "$BIN_DIR/tracker" "$WORK/old-bin/tracker" ;;
esac
for s in $SEEDERS; do
  case "$s" in swarm|swarm-old|aria2|libtorrent|rqbit) ;; *) die "unknown seeder $s (swarm swarm-old aria2 libtorrent rqbit)" ;; esac
done

# scenario SEEDER N ROUND: writes the scenario file and prints its path.
scenario() {
  local seeder=$1 n=$2 round=$3 client=$1
  [ "$seeder" = swarm-old ] && client=swarm
  local name="seed-$seeder-x$n"
  local file="$WORK/scenarios/$name-r$round.toml"
  cat >"$file" <<EOF
name = "$name"
description = "one $seeder seeder (20 Mbit/s up), $n libtorrent leechers (10 up / 50 down) at once, $SIZE"
file_size = "$SIZE"
timeout = "15min"
# The same random draws (jitter, loss) for every seeder of a round.
seed = $round
link_check = "off"

[link]
down = "50Mbit"
delay = "40ms"
jitter = "10ms"
loss = "0.1%"

[[group]]
name = "seeder"
role = "seed"
client = "$client"
up = "20Mbit"

[[group]]
name = "leecher"
role = "leech"
client = "libtorrent"
count = $n
up = "10Mbit"
EOF
  echo "$file"
}

# measure SEEDER N ROUND: one lab run; prints its result.
measure() {
  local s=$1 n=$2 r=$3 file bin=$BIN_DIR out=$WORK/round-$3
  file=$(scenario "$s" "$n" "$r")
  [ "$s" = swarm-old ] && bin=$WORK/old-bin
  say "seeder $s, $n leecher(s) (round $r/$REPEAT) ..."
  local status=0
  "$LAB" run --out "$out" --bin-dir "$bin" "$file" >"$WORK/lab-$s-x$n-r$r.log" 2>&1 || status=$?
  # Ctrl-C reaches the lab too: it removes its namespaces and exits 130 (and bash, seeing
  # its child exit normally, would carry on). Stop rather than start the next measurement.
  if [ "$status" = 130 ]; then
    say "interrupted: the reports so far are in $WORK"
    exit 130
  fi
  [ "$status" = 0 ] || say "  lab run failed or a check failed: see $WORK/lab-$s-x$n-r$r.log"
  "$PY" - "$out/seed-$s-x$n/report.json" <<'EOF' >&2 || true
import json, sys
r = json.load(open(sys.argv[1]))
t = r.get("all_done_secs")
print("  %s: %s s, %.2f x T_min, seeder upload %.2f x F%s" % (
    r["scenario"], "%.1f" % t if t is not None else "-", r.get("ratio") or 0,
    r["seeder"]["payload_over_f"], "" if r["ok"] else ", FAILED: " + "; ".join(r["failures"])))
EOF
}
RUN_SEEDERS=($SEEDERS)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
for_interleaved_rounds measure

# --- report ----------------------------------------------------------------------------
echo
echo "seed benchmark on an emulated network: $SIZE payload, seeder 20 Mbit/s up, libtorrent leechers"
echo "10 Mbit/s up / 50 Mbit/s down, 40 ms ± 10 ms per host, 0.1 % loss; $(nproc) cores"
[ "$REPEAT" -gt 1 ] && echo "each measurement $REPEAT times in interleaved rounds: medians"
"$PY" - "$WORK" "$LEECHER_COUNTS" "${RUN_SEEDERS[@]}" <<'EOF'
import glob, json, statistics, sys
work, counts, seeders = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
runs = {}
for path in glob.glob(work + "/round-*/seed-*/report.json"):
    r = json.load(open(path))
    runs.setdefault(r["scenario"], []).append(r)
def col(s, n, key):
    return [key(r) for r in runs.get("seed-%s-x%s" % (s, n), []) if r["ok"] and r.get("all_done_secs")]
def med(xs):
    return statistics.median(xs) if xs else None
def fmt(x, f="%.1f"):
    return f % x if x is not None else "-"
print("%-9s %-11s %9s %13s %8s %15s %6s" % ("leechers", "seeder", "time (s)", "time range", "÷T_min", "upload/payload", "runs"))
times = {}
for n in counts:
    for s in seeders:
        t = col(s, n, lambda r: r["all_done_secs"])
        u = col(s, n, lambda r: r["seeder"]["payload_over_f"])
        q = col(s, n, lambda r: r["ratio"])
        bad = len(runs.get("seed-%s-x%s" % (s, n), [])) - len(t)
        times[(s, n)] = med(t)
        rng = "%.1f..%.1f" % (min(t), max(t)) if t else "-"
        print("%-9s %-11s %9s %13s %8s %15s %6s" % (n, s, fmt(med(t)), rng, fmt(med(q), "%.2f"),
              fmt(med(u), "%.2f"), "%d%s" % (len(t), " (%d failed)" % bad if bad else "")))
if "swarm" in seeders:
    print("time ratios (other's time ÷ swarm's; > 1 means swarm seed finished the swarm sooner):")
    for n in counts:
        line = "  %s leecher(s):" % n
        for s in seeders:
            if s == "swarm":
                continue
            a, b = times.get(("swarm", n)), times.get((s, n))
            line += "  swarm/%s %s" % (s, "%.2fx" % (b / a) if a and b else "n/a")
        print(line)
print("reports: %s/round-*/seed-*/report.txt" % work)
EOF
