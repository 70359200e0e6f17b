#!/usr/bin/env bash
# bench/swarm.sh — download speed and memory of `swarm get` against other BitTorrent clients,
# all in one run, in the same local swarm.
#
# Setup (everything on 127.0.0.1; as root the whole run happens in a fresh network namespace
# with only loopback): a payload of SIZE bytes (default 1G) with 1 MiB pieces, our tracker
# (or opentracker), and three seeders that stay up for the whole run: libtorrent, aria2c and
# rqbit (or, when rqbit is not installed, our own `swarm seed`). Then each leecher in turn
# downloads the payload into an empty directory from those same seeders: `swarm get`
# (release build), aria2c, libtorrent, Transmission and rqbit (when installed). Each result
# is checked byte for byte against the payload, and the script prints each leecher's wall
# time (start → data complete), MB/s, peak RSS, the ratios swarm/other and the SHA-1
# ceiling of this machine.
#
# DHT, local peer discovery, UPnP, NAT-PMP and PEX are off in every client (rqbit has no
# switch for PEX; it only ever learns loopback peers here).
#
# usage: bench/swarm.sh [--quick] [--size SIZE] [--only "swarm aria2 ..."] [--repeat N]
#   --quick        skip Transmission (it takes ~50 s per GiB)
#   --size SIZE    payload size, e.g. 256M, 1G, 4G (also: SIZE=4G bench/swarm.sh); 4G shows
#                  swarm's peak RSS on a large download
#   --only LIST    leechers to run, from: swarm aria2 libtorrent transmission rqbit swarm-old
#                  (swarm-old: the `swarm` binary at $OLD_SWARM, e.g. a release build of an
#                  earlier commit, for a before/after comparison in one run)
#   --repeat N     run each leecher N times, in interleaved rounds; the median time is reported
#   --hold         no leechers: set up the tracker and seeders, print how to reach them and
#                  wait (until Ctrl-C) for leechers started by hand, e.g. under perf
# environment: THIRD_SEEDER=rqbit|swarm|none (default rqbit if installed, else swarm),
#   WORK (scratch dir, default /tmp/swarm-bench), CARGO_TARGET_DIR, SKIP_BUILD=1,
#   TRACKER=ours|opentracker, ISOLATE=0 (do not use a network namespace), TIMEOUT (s, per
#   leecher, default 900), PERF=1 (record `perf` for swarm's run: WORK/perf.data).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/common.sh"
SIZE=${SIZE:-1G}
QUICK=${QUICK:-0}
REPEAT=${REPEAT:-1}
ONLY=${ONLY:-"swarm aria2 libtorrent transmission rqbit"}
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --size) SIZE=$2; shift ;;
    --size=*) SIZE=${1#--size=} ;;
    --only) ONLY=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --hold) HOLD=1 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "swarm.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
HOLD=${HOLD:-0}
export SIZE QUICK REPEAT ONLY HOLD

WORK=${WORK:-/tmp/swarm-bench}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
TIMEOUT=${TIMEOUT:-900}
RQBIT=${RQBIT:-$(command -v rqbit || echo "$HOME/.cargo/bin/rqbit")}
[ -x "$RQBIT" ] || RQBIT=""

# --- build (outside the namespace: cargo may need the network) -----------------------
if [ -z "${SWARM_BENCH_NETNS:-}" ]; then
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    say "building release binaries (swarm, tracker, mkmeta) into $TARGET ..."
    (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build --release --locked \
      -p swarm-client -p tracker -p mkmeta --bins) >&2
  fi
  # Re-run inside a fresh loopback-only network namespace when we can.
  export CARGO_TARGET_DIR=$TARGET WORK RQBIT
  bench_isolate "$0"
fi

SWARM=$TARGET/release/swarm
case " $ONLY " in *" swarm "*) [ -x "$SWARM" ] || die "$SWARM not built" ;; esac
for t in aria2c mktorrent cmp /usr/bin/time openssl bc curl; do
  command -v "$t" >/dev/null || die "$t is not installed (scripts/install-test-deps)"
done
$PY -c 'import libtorrent' 2>/dev/null || die "$PY cannot import libtorrent"

BYTES=$(bytes_of "$SIZE")
[ "$BYTES" -ge 1048576 ] 2>/dev/null || die "SIZE must be at least 1M (got $SIZE)"

# --- processes: every one we start is recorded and killed by PID at exit -------------
stop_on_exit_or_signal cleanup

mkdir -p "$WORK"
W=$WORK/run
rm -rf "$W"
mkdir -p "$W"
# Eleven ports from PORT_BASE, below the ephemeral range (bench/common.sh, new_port).
PORT_BASE=$(( PORT_FLOOR + RANDOM % (PORT_CEILING - PORT_FLOOR - 10) ))
port() { echo $(( PORT_BASE + $1 )); }


# --- payload and metainfo -------------------------------------------------------------
SEED=$WORK/seed
NAME=bench-$SIZE.bin
PAYLOAD=$SEED/$NAME
mkdir -p "$SEED"
if [ ! -f "$PAYLOAD" ] || [ "$(stat -c %s "$PAYLOAD")" != "$BYTES" ]; then
  say "making a $SIZE payload ..."
  (openssl enc -aes-128-ctr -nosalt -pass pass:swarm-bench -in /dev/zero 2>/dev/null || true) \
    | head -c "$BYTES" > "$PAYLOAD"
fi
rm -f "$SEED"/*.aria2

TRACKER_PORT=$(port 0)
ANNOUNCE=http://127.0.0.1:$TRACKER_PORT/announce
META=$W/bench.meta
MKMETA=$TARGET/release/mkmeta
if [ -x "$MKMETA" ] && "$MKMETA" "$PAYLOAD" -o "$META" -t "$ANNOUNCE" --piece-length 1M -f \
     >/dev/null 2>"$W/mkmeta.err" && [ -s "$META" ]; then
  META_TOOL=mkmeta
else
  mktorrent -l 20 -t 2 -a "$ANNOUNCE" -o "$META" "$PAYLOAD" >/dev/null
  META_TOOL=mktorrent
fi
INFO_HASH=$($PY -c "import libtorrent as lt,sys; print(lt.torrent_info(sys.argv[1]).info_hash())" "$META")

# --- tracker ---------------------------------------------------------------------------
start_ours() {
  [ -x "$TARGET/release/tracker" ] || return 1
  "$TARGET/release/tracker" --listen "127.0.0.1:$TRACKER_PORT" --udp off --interval 300 >"$W/tracker.log" 2>&1 &
  PIDS+=($!)
  wait_port "$TRACKER_PORT" 5
}
start_opentracker() {
  command -v opentracker >/dev/null || return 1
  mkdir -p "$W/ot"
  echo "$INFO_HASH" > "$W/ot/whitelist.txt"
  chmod -R a+rX "$W/ot"
  opentracker -i 127.0.0.1 -p "$TRACKER_PORT" -P "$TRACKER_PORT" -d "$W/ot" -u nobody \
    -w whitelist.txt >"$W/tracker.log" 2>&1 &
  PIDS+=($!)
  wait_port "$TRACKER_PORT" 5
}
case "${TRACKER:-ours}" in
  ours) if start_ours; then TRACKER_NAME=ours; else
          say "our tracker did not start (see $W/tracker.log); using opentracker"
          start_opentracker || die "no tracker"; TRACKER_NAME=opentracker; fi ;;
  opentracker) start_opentracker || die "opentracker did not start"; TRACKER_NAME=opentracker ;;
  *) die "TRACKER must be ours or opentracker" ;;
esac

scrape_complete() { # number of seeders the tracker knows, or nothing
  local q="" i
  for ((i = 0; i < 40; i += 2)); do q+="%${INFO_HASH:i:2}"; done
  curl -s --max-time 3 "http://127.0.0.1:$TRACKER_PORT/scrape?info_hash=$q" 2>/dev/null \
    | grep -ao '8:completei[0-9]*' | head -1 | sed 's/.*completei//' || true
}

# --- seeders ---------------------------------------------------------------------------

say "starting seeders ..."
# libtorrent seeder, controlled through a FIFO ("connect HOST:PORT" lines).
mkfifo "$W/lt.ctl"
exec 7<>"$W/lt.ctl"
$PY "$ROOT/tests/scripts/lt_seed.py" --meta "$META" --dir "$SEED" --port "$(port 1)" \
  --high-performance --stdin --seconds 86400 <"$W/lt.ctl" >"$W/seed-libtorrent.log" 2>&1 &
PIDS+=($!)
aria2c "${ARIA_SAFE[@]}" --listen-port="$(port 2)" --check-integrity=true --seed-ratio=0.0 \
  --dir="$SEED" "$META" >"$W/seed-aria2.log" 2>&1 &
PIDS+=($!)
THIRD=${THIRD_SEEDER:-$([ -n "$RQBIT" ] && echo rqbit || echo swarm)}
NSEEDERS=3
case "$THIRD" in
  rqbit)
    [ -n "$RQBIT" ] || die "THIRD_SEEDER=rqbit but rqbit is not installed"
    mkdir -p "$W/rqbit-seed-state"
    HOME=$W/rqbit-seed-state XDG_CACHE_HOME=$W/rqbit-seed-state XDG_CONFIG_HOME=$W/rqbit-seed-state \
    XDG_DATA_HOME=$W/rqbit-seed-state \
    "$RQBIT" "${RQ_SAFE[@]}" --listen-port "$(port 3)" --announce-port "$(port 3)" \
      download --disable-http-api --overwrite -o "$SEED" "$META" >"$W/seed-rqbit.log" 2>&1 &
    PIDS+=($!) ;;
  swarm)
    THIRD="swarm seed"
    [ -n "$RQBIT" ] || say "rqbit is not installed: the third seeder is our own \`swarm seed\`"
    [ -x "$SWARM" ] || die "$SWARM is not built: no third seeder (THIRD_SEEDER=none to run with two)"
    mkdir -p "$W/swarm-seed"
    ln -f "$PAYLOAD" "$W/swarm-seed/$NAME" 2>/dev/null || cp "$PAYLOAD" "$W/swarm-seed/$NAME"
    cp "$META" "$W/swarm-seed/"
    "$SWARM" seed "$W/swarm-seed" --port "$(port 3)" --bind 127.0.0.1 -q >"$W/seed-swarm.log" 2>&1 &
    PIDS+=($!) ;;
  none) NSEEDERS=2; THIRD="" ; say "only two seeders (THIRD_SEEDER=none)" ;;
  *) die "THIRD_SEEDER must be rqbit, swarm or none" ;;
esac
SEEDERS="libtorrent, aria2${THIRD:+, $THIRD}"
for ((p = 1; p <= NSEEDERS; p++)); do
  wait_port "$(port $p)" 120 || die "seeder on port $(port $p) did not start (logs in $W)"
done
for ((i = 0; i < 600; i++)); do
  n=$(scrape_complete || true)
  [ "${n:-0}" -ge "$NSEEDERS" ] && break
  sleep 0.2
done
say "tracker ($TRACKER_NAME) knows ${n:-?} seeders"

# --- an equal start for every leecher -----------------------------------------------------
# Right before each leecher, memory_warm_up (bench/common.sh: why) writes and deletes
# SIZE + 256 MiB, so every leecher starts with the same freshly backed free memory.
memory_warm_up "$W" $(( BYTES + 268435456 ))

if [ "$HOLD" = 1 ]; then
  say "holding: metainfo $META (payload $PAYLOAD), tracker $ANNOUNCE, seeders on 127.0.0.1 ports $(port 1)-$(port $NSEEDERS)${SWARM_BENCH_NETNS:+, in netns $SWARM_BENCH_NETNS (ip netns exec $SWARM_BENCH_NETNS ...)}; Ctrl-C ends"
  trap 'exit 0' INT TERM # the EXIT trap stops everything
  while :; do sleep 3600 & wait $!; done # (wait: a signal is handled at once)
fi

# --- leechers --------------------------------------------------------------------------
# Each run: empty output dir, started under /usr/bin/time (peak RSS), finished when its
# completion marker appears (hook/--done-file) or the process exits, checked with cmp.
RESULTS=()     # "name time_s rss_kib status"
LAST_TIME="" LAST_RSS="" LAST_CPU="" LAST_OK=""

run_one() { # run_one NAME MODE(exit|marker) CMD...
  local name=$1 mode=$2; shift 2
  local out=$W/out-$name marker=$W/$name.done rss=$W/$name.rss
  rm -rf "$out" "$marker" "$rss"; mkdir -p "$out"
  memory_warm_up "$W" $(( BYTES + 268435456 ))
  local t0 t1 pid i
  t0=$(now)
  /usr/bin/time -f '%M\ncpu %U %S' -o "$rss" "$@" >"$W/$name.log" 2>&1 &
  pid=$!
  PIDS+=($pid)
  [ "$name" = transmission ] && transmission_dial &
  for ((i = 0; i < TIMEOUT * 100; i++)); do
    if [ "$mode" = marker ] && [ -s "$marker" ]; then t1=$(cat "$marker"); break; fi
    if ! kill -0 "$pid" 2>/dev/null; then t1=$(now); break; fi
    sleep 0.01
  done
  [ -n "${t1:-}" ] || t1=$(now)
  # Stop it if still running (aria2 lingers ~3 s, Transmission seeds on).
  for c in $(pgrep -P "$pid" 2>/dev/null); do kill "$c" 2>/dev/null || true; done
  wait "$pid" 2>/dev/null || true
  LAST_TIME=$(echo "$t1 - $t0" | bc -l)
  LAST_RSS=$(grep -E '^[0-9]+$' "$rss" 2>/dev/null | tail -1 || true)
  # CPU seconds (user + system) the leecher used: on two cores shared with the seeders, a
  # leecher's CPU is time taken from them.
  LAST_CPU=$(awk '$1 == "cpu" {printf "%.1f", $2 + $3}' "$rss" 2>/dev/null || true)
  if cmp -s "$PAYLOAD" "$out/$NAME"; then LAST_OK=ok; else LAST_OK=FAILED; fi
  rm -rf "$out"
}

transmission_dial() {
  # Transmission ignores 127.x peers from a tracker: have the libtorrent seeder dial it,
  # again every second until it completes (a dial before its torrent is loaded is refused).
  local i
  wait_port "$(port 10)" 30 || return 0
  for ((i = 0; i < 300; i++)); do
    grep -q Progress "$W/transmission.log" 2>/dev/null && break
    sleep 0.1
  done
  for ((i = 0; i < TIMEOUT; i++)); do
    [ -s "$W/transmission.done" ] && return 0
    echo "connect 127.0.0.1:$(port 10)" >&7
    sleep 1
  done
}

leecher_cmd() { # leecher_cmd NAME -> sets MODE and CMD
  local name=$1 out=$W/out-$1 marker=$W/$1.done
  case "$name" in
    swarm) MODE=exit
      CMD=("$SWARM" get "$META" -o "$out" --port "$(port 10)" --bind 127.0.0.1 --json) ;;
    swarm-old) MODE=exit
      CMD=("$OLD_SWARM" get "$META" -o "$out" --port "$(port 10)" --bind 127.0.0.1 --json) ;;
    aria2) MODE=marker
      printf '#!/bin/sh\ndate +%%s.%%N > %s\n' "$marker" > "$W/aria2-hook.sh"
      chmod +x "$W/aria2-hook.sh"
      CMD=(aria2c "${ARIA_SAFE[@]}" --listen-port="$(port 10)" --seed-time=0
        --bt-tracker-interval=2 --on-bt-download-complete="$W/aria2-hook.sh"
        --dir="$out" "$META") ;;
    libtorrent) MODE=marker
      CMD=("$PY" "$ROOT/tests/scripts/lt_leech.py" --meta "$META" --dir "$out"
        --port "$(port 10)" --quiet --done-file "$marker" --timeout "$TIMEOUT") ;;
    transmission) MODE=marker
      mkdir -p "$W/tr-config"; rm -rf "$W/tr-config/"*
      cat > "$W/tr-config/settings.json" <<EOF
{"dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
 "port-forwarding-enabled": false, "blocklist-enabled": false,
 "bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1", "peer-port": $(port 10),
 "peer-port-random-on-start": false, "encryption": 0, "rpc-enabled": false,
 "speed-limit-up-enabled": false, "speed-limit-down-enabled": false,
 "ratio-limit-enabled": false, "message-level": 1}
EOF
      printf '#!/bin/sh\ndate +%%s.%%N > %s\n' "$marker" > "$W/tr-hook.sh"
      chmod +x "$W/tr-hook.sh"
      CMD=(stdbuf -o0 transmission-cli -M -et -U -D -B -p "$(port 10)" -g "$W/tr-config" -w "$out"
        -f "$W/tr-hook.sh" "$META") ;;
    rqbit) MODE=exit
      mkdir -p "$W/rqbit-leech-state"; rm -rf "$W/rqbit-leech-state/"*
      CMD=(env HOME="$W/rqbit-leech-state" XDG_CACHE_HOME="$W/rqbit-leech-state"
        XDG_CONFIG_HOME="$W/rqbit-leech-state" XDG_DATA_HOME="$W/rqbit-leech-state"
        "$RQBIT" "${RQ_SAFE[@]}" --listen-port "$(port 10)" --announce-port "$(port 10)"
        download --disable-http-api --exit-on-finish -o "$out" "$META") ;;
  esac
}


# The seeders' first upload costs more than later ones (their mmap'd reads fault the payload
# into their address space, caches fill), which would count against whichever leecher runs
# first: one untimed download by aria2c warms them up for everyone.
if [ "$HOLD" != 1 ]; then
  say "warm-up download (aria2c, not timed) ..."
  leecher_cmd aria2
  run_one aria2 "$MODE" "${CMD[@]}"
  say "  warm-up: ${LAST_TIME}s, data $LAST_OK"
fi

# Which leechers run (a missing tool is skipped with a line saying so).
LEECHERS=()
for name in $ONLY; do
  case "$name" in
    transmission) if [ "$QUICK" = 1 ]; then say "transmission: skipped (--quick)"; continue; fi
      command -v transmission-cli >/dev/null || { say "transmission: not installed, skipped"; continue; } ;;
    rqbit) [ -n "$RQBIT" ] || { say "rqbit: not installed (cargo install --locked rqbit), skipped"; continue; } ;;
    swarm|aria2|libtorrent) ;;
    swarm-old) [ -x "${OLD_SWARM:-}" ] || die "swarm-old needs OLD_SWARM=/path/to/an/earlier/swarm" ;;
    *) die "unknown leecher $name" ;;
  esac
  LEECHERS+=("$name")
done

# Rounds are interleaved (every leecher once per round), so a slow spell of the shared machine
# hits every leecher alike rather than all the runs of one.
declare -A TIMES RSS_MAX STATUS
for ((r = 1; r <= REPEAT; r++)); do
  for name in "${LEECHERS[@]}"; do
    leecher_cmd "$name"
    if [ "$name" = swarm ] && [ "${PERF:-0}" = 1 ]; then
      CMD=(perf record -g -o "$WORK/perf.data" -- "${CMD[@]}")
    fi
    say "leecher $name (run $r/$REPEAT) ..."
    run_one "$name" "$MODE" "${CMD[@]}"
    say "  $name: ${LAST_TIME}s, peak RSS ${LAST_RSS:-?} KiB, CPU ${LAST_CPU:-?} s, data $LAST_OK"
    TIMES[$name]="${TIMES[$name]:-} $LAST_TIME"
    [ -n "$LAST_RSS" ] && [ "$LAST_RSS" -gt "${RSS_MAX[$name]:-0}" ] && RSS_MAX[$name]=$LAST_RSS
    [ "$LAST_OK" = ok ] || STATUS[$name]=FAILED
    [ "$name" = swarm ] && grep -h '"event":"done"' "$W/swarm.log" | tail -1 >&2 || true
  done
done
for name in "${LEECHERS[@]}"; do
  t=$(printf '%s\n' ${TIMES[$name]} | median)
  RESULTS+=("$name $t ${RSS_MAX[$name]:-0} ${STATUS[$name]:-ok}")
done

# --- report ----------------------------------------------------------------------------
SHA1_KBS=$(openssl speed -seconds 1 -bytes 1048576 sha1 2>/dev/null | awk '/^sha1/ {print $2}' | tr -d k)
echo
echo "swarm benchmark: $SIZE payload ($BYTES bytes, 1 MiB pieces, metainfo by $META_TOOL), tracker: $TRACKER_NAME"
echo "seeders (same for every leecher): $SEEDERS; all on 127.0.0.1${SWARM_BENCH_NETNS:+ in netns $SWARM_BENCH_NETNS}; $(nproc) cores"
[ "$REPEAT" -gt 1 ] && echo "each leecher run $REPEAT times in interleaved rounds: median time, largest peak RSS"
printf '%-13s %9s %9s %14s  %s\n' leecher "time (s)" "MB/s" "peak RSS (MiB)" data
swarm_t=""
for r in "${RESULTS[@]}"; do
  read -r n t k s <<<"$r"
  mbs=$(echo "$BYTES / 1000000 / $t" | bc -l)
  printf '%-13s %9.2f %9.1f %14.1f  %s\n' "$n" "$t" "$mbs" "$(echo "$k / 1024" | bc -l)" "$s"
  [ "$n" = swarm ] && swarm_t=$t
done
if [ -n "$swarm_t" ]; then
  echo "speed ratios (swarm MB/s ÷ other MB/s; > 1 means swarm is faster):"
  for r in "${RESULTS[@]}"; do
    read -r n t _ _ <<<"$r"
    [ "$n" = swarm ] && continue
    printf '  swarm/%-12s %6.2fx\n' "$n" "$(echo "$t / $swarm_t" | bc -l)"
  done
fi
[ -n "$SHA1_KBS" ] && printf 'SHA-1 ceiling (openssl, 1 MiB blocks): %.0f MB/s per core, ~%.0f MB/s on %d cores\n' \
  "$(echo "$SHA1_KBS / 1000" | bc -l)" "$(echo "$SHA1_KBS / 1000 * $(nproc)" | bc -l)" "$(nproc)"
echo "logs: $W"
