#!/usr/bin/env bash
# bench/seed.sh — how fast one seeder gets a swarm of leechers to complete, verified data,
# and how much it uploads doing so: `swarm seed` against aria2c, libtorrent and rqbit as
# the seeder, in one run, interleaved (issue 10, "Speed").
#
# Each measurement: a fresh tracker (ours, announce interval 5 s), one seeder started on the
# complete payload (SIZE, default 256M; metainfo by mkmeta with its default piece length, or
# PIECE_LENGTH: 16K makes 16,384 pieces of 256M, to see what the piece count costs),
# then N libtorrent leechers started together (N = 1, 4, 16). Leechers keep seeding to each
# other once done, as real peers do, so peers can trade among themselves. Printed per
# (N, seeder): the time from the common start until every leecher holds verified data (each
# leecher's libtorrent has checked every piece; the copies are then compared with cmp), and
# the seeder's upload ÷ payload (TCP payload bytes sent by the seeder's sockets, counted by
# the kernel — see below — so every seeder is measured the same way). Then the ratios of
# swarm against each other seeder. A round whose seeder never started or whose copies differ
# from the payload says so, and its logs are kept under $WORK/run/failed/.
#
# The leecher is libtorrent for every seeder: it is the reference implementation most
# clients build on, it trades well among its peers (rarest first, tit-for-tat), its helper
# script (tests/scripts/lt_leech.py) waits for a start signal after its interpreter has
# started and writes the moment its last piece is verified, and many of them fit on two
# cores. aria2c would fire its completion hook late and exit ~3 s later, and its piece
# picking among its own peers is simpler.
#
# Then the upload limit: `swarm seed --up-rate 2MiB` serving 4 libtorrent leechers for 20 s;
# printed: the seeder's measured upload rate and its ratio to 2 MiB/s (target: within 10 %).
#
# Upload is counted in the kernel: the seeder runs in a cgroup of its own and an iptables
# rule in the benchmark's own network namespace counts the TCP packets its sockets send
# (payload = bytes − 52 header bytes per packet). That needs root and the namespace; without
# them the upload column says n/a. The leechers run in a second cgroup: the CPU seconds of
# the seeder and of all leechers are printed too. On loopback the swarm is CPU-bound (both
# cores busy), so a seeder that uploads less leaves more sending to the leechers: the sum
# shows that trade.
#
# Every client: DHT, local peer discovery, UPnP, NAT-PMP and PEX off (rqbit has no PEX
# switch), 127.0.0.1 only; as root everything runs in a fresh loopback-only namespace and
# the leechers write to a tmpfs private to it. Processes are stopped by PID.
#
# usage: bench/seed.sh [--size SIZE] [--piece-length LEN] [--leechers "1 4 16"] [--seeders "swarm [swarm-old] aria2 libtorrent rqbit"]
#                      [--repeat N] [--no-up-rate] [--up-rate-only]
#   --repeat N      every (N, seeder) measurement N times, interleaved rounds; median reported
# environment: WORK (scratch dir, default /tmp/swarm-seed-bench), CARGO_TARGET_DIR,
#   SKIP_BUILD=1, SWARM_BIN (the swarm binary to measure), OLD_SWARM (the binary of the
#   seeder named swarm-old, e.g. the previous build, to compare two builds), ISOLATE=0
#   (no namespace: no upload counts), TIMEOUT (s per measurement,
#   default 600), UP_RATE (default 2MiB), UP_SECS (default 20), RQBIT (path of rqbit;
#   `cargo install --locked rqbit` when missing, otherwise rqbit is skipped).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/common.sh"
SIZE=${SIZE:-256M}
LEECHER_COUNTS=${LEECHER_COUNTS:-"1 4 16"}
SEEDERS=${SEEDERS:-"swarm aria2 libtorrent rqbit"}
REPEAT=${REPEAT:-1}
UP_RATE=${UP_RATE:-2MiB}
UP_SECS=${UP_SECS:-20}
DO_MATRIX=${DO_MATRIX:-1}
DO_UP_RATE=${DO_UP_RATE:-1}
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE=$2; shift ;;
    --leechers) LEECHER_COUNTS=$2; shift ;;
    --piece-length) PIECE_LENGTH=$2; shift ;;
    --seeders) SEEDERS=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --no-up-rate) DO_UP_RATE=0 ;;
    --up-rate-only) DO_MATRIX=0 ;;
    -h|--help) sed -n '2,48p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (try --help)" ;;
  esac
  shift
done
# Before any work: a comparison with an earlier build needs that build.
case " $SEEDERS " in
  *" swarm-old "*) [ -x "${OLD_SWARM:-}" ] || die "seeder swarm-old needs OLD_SWARM=PATH (an executable swarm)" ;;
esac
WORK=${WORK:-/tmp/swarm-seed-bench}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
TIMEOUT=${TIMEOUT:-600}
RQBIT=${RQBIT:-$(command -v rqbit || echo "$HOME/.cargo/bin/rqbit")}
[ -x "$RQBIT" ] || RQBIT=""
PIECE_LENGTH=${PIECE_LENGTH:-}
export SIZE PIECE_LENGTH LEECHER_COUNTS SEEDERS REPEAT UP_RATE UP_SECS DO_MATRIX DO_UP_RATE TIMEOUT

# --- build (outside the namespace: cargo may need the network) -----------------------
if [ -z "${SWARM_BENCH_NETNS:-}" ]; then
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    say "building release binaries (swarm, tracker, mkmeta) into $TARGET ..."
    (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build --release --locked \
      -p swarm-client -p tracker -p metainfo --bins) >&2
  fi
  export CARGO_TARGET_DIR=$TARGET WORK RQBIT
  bench_isolate "$0"
fi

SWARM=${SWARM_BIN:-$TARGET/release/swarm}
TRACKER_BIN=$TARGET/release/tracker
MKMETA=$TARGET/release/mkmeta
for b in "$SWARM" "$TRACKER_BIN" "$MKMETA"; do [ -x "$b" ] || die "$b is not built"; done
for t in aria2c cmp openssl bc curl; do
  command -v "$t" >/dev/null || die "$t is not installed (scripts/install-test-deps)"
done
$PY -c 'import libtorrent' 2>/dev/null || die "$PY cannot import libtorrent"

BYTES=$(bytes_of "$SIZE")
[ "$BYTES" -ge 1048576 ] 2>/dev/null || die "SIZE must be at least 1M (got $SIZE)"
UP_BYTES=$(bytes_of "$UP_RATE")

stop_on_exit_or_signal 'cleanup; acct_teardown'
mkdir -p "$WORK"
W=$WORK/run
rm -rf "$W"
mkdir -p "$W"

# --- where the leechers write: a tmpfs private to the namespace when we can -------------
OUT=$W/out
mkdir -p "$OUT"
MAX_N=1
for n in $LEECHER_COUNTS; do [ "$n" -gt "$MAX_N" ] && MAX_N=$n; done
if [ -n "${SWARM_BENCH_NETNS:-}" ] && [ "$(id -u)" = 0 ]; then
  # `ip netns exec` gave this process tree its own mount namespace: the mount goes with it.
  mount -t tmpfs -o size=$(( MAX_N * BYTES + BYTES / 2 + 536870912 )) swarm-seed-bench "$OUT" \
    && OUT_FS=tmpfs || OUT_FS=disk
else
  OUT_FS=disk
fi

# --- upload accounting: the seeder's cgroup, counted by iptables in our namespace --------
CG_NAME=swarm-seed-bench-$$
CG_ROOT=$W/cgroup2
CG=""
LCG="" # the leechers' cgroup: their CPU time only, no iptables rule
acct_setup() {
  [ -n "${SWARM_BENCH_NETNS:-}" ] && [ "$(id -u)" = 0 ] || return 1
  command -v iptables >/dev/null || return 1
  mkdir -p "$CG_ROOT"
  mount -t cgroup2 none "$CG_ROOT" 2>/dev/null || return 1
  mkdir "$CG_ROOT/$CG_NAME" || return 1
  iptables -A OUTPUT -p tcp -m cgroup --path "$CG_NAME" 2>/dev/null || { rmdir "$CG_ROOT/$CG_NAME"; return 1; }
  CG=$CG_ROOT/$CG_NAME
  mkdir "$CG-leechers" && LCG=$CG-leechers
  return 0
}
rmdir_once_empty() { # rmdir_once_empty DIR: a cgroup can be removed once its processes are gone
  local i
  for ((i = 0; i < 50; i++)); do rmdir "$1" 2>/dev/null && return; sleep 0.1; done
}
acct_teardown() {
  [ -n "$CG" ] || return 0
  # The cgroups outlive the namespace.
  rmdir_once_empty "$CG"
  [ -z "$LCG" ] || rmdir_once_empty "$LCG"
  umount "$CG_ROOT" 2>/dev/null || true
  CG="" LCG=""
}
CPU_AT_RESET=0
LCPU_AT_RESET=0
cg_cpu_usec() { awk '/^usage_usec/ {print $2}' "$1/cpu.stat" 2>/dev/null || echo 0; }
acct_reset() {
  [ -z "$CG" ] || { iptables -Z OUTPUT; CPU_AT_RESET=$(cg_cpu_usec "$CG"); }
  [ -z "$LCG" ] || LCPU_AT_RESET=$(cg_cpu_usec "$LCG")
}
acct_cpu() { # CPU seconds the seeder used since acct_reset (every leecher shares the 2 cores with it), or "n/a"
  [ -n "$CG" ] || { echo n/a; return; }
  echo "($(cg_cpu_usec "$CG") - $CPU_AT_RESET) / 1000000" | bc -l
}
acct_leechers_cpu() { # CPU seconds all leechers used since acct_reset, or "n/a"
  [ -n "$LCG" ] || { echo n/a; return; }
  echo "($(cg_cpu_usec "$LCG") - $LCPU_AT_RESET) / 1000000" | bc -l
}
acct_payload() { # TCP payload bytes the seeder's sockets sent since acct_reset, or "n/a"
  [ -n "$CG" ] || { echo n/a; return; }
  iptables -L OUTPUT -v -x -n | awk '/cgroup/ {printf "%d\n", $2 - 52 * $1; exit}'
}
in_cgroup() { # in_cgroup DIR CMD...: exec CMD inside cgroup DIR (as it is without one)
  local dir=$1
  shift
  if [ -n "$dir" ]; then
    sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$dir" "$@"
  else
    "$@"
  fi
}
in_seeder_cgroup() { in_cgroup "$CG" "$@"; }
if acct_setup; then ACCT="kernel (cgroup + iptables)"; else ACCT="n/a (needs root in the namespace)"; fi

# --- payload and metainfo -------------------------------------------------------------
SEED=$WORK/seed
NAME=seed-bench-$SIZE.bin
PAYLOAD=$SEED/$NAME
mkdir -p "$SEED"
if [ ! -f "$PAYLOAD" ] || [ "$(stat -c %s "$PAYLOAD")" != "$BYTES" ]; then
  say "making a $SIZE payload ..."
  (openssl enc -aes-128-ctr -nosalt -pass pass:swarm-seed-bench -in /dev/zero 2>/dev/null || true) \
    | head -c "$BYTES" > "$PAYLOAD"
fi
rm -f "$SEED"/*.aria2
new_port; TRACKER_PORT=$PORT
ANNOUNCE=http://127.0.0.1:$TRACKER_PORT/announce
META=$W/bench.meta
"$MKMETA" "$PAYLOAD" -o "$META" -t "$ANNOUNCE" -f ${PIECE_LENGTH:+--piece-length "$PIECE_LENGTH"} >/dev/null
INFO_HASH=$($PY -c "import libtorrent as lt,sys; print(lt.torrent_info(sys.argv[1]).info_hash())" "$META")
PIECE_INFO=$($PY -c "import libtorrent as lt,sys; t=lt.torrent_info(sys.argv[1]); print('%d pieces of %d KiB' % (t.num_pieces(), t.piece_length()//1024))" "$META")

# --- tracker: a fresh one per measurement (no stale peers from the last one) -------------
TRACKER_PID=""
start_tracker() {
  "$TRACKER_BIN" --listen "127.0.0.1:$TRACKER_PORT" --udp off --interval 5 --data-dir "$W/tracker-data" \
    >>"$W/tracker.log" 2>&1 &
  TRACKER_PID=$!
  PIDS+=("$TRACKER_PID")
  wait_port "$TRACKER_PORT" 10 || die "tracker did not start (see $W/tracker.log)"
}
stop_tracker() { stop_pid "$TRACKER_PID"; wait "$TRACKER_PID" 2>/dev/null || true; }
scrape_complete() {
  local q="" i
  for ((i = 0; i < 40; i += 2)); do q+="%${INFO_HASH:i:2}"; done
  curl -s --max-time 3 "http://127.0.0.1:$TRACKER_PORT/scrape?info_hash=$q" 2>/dev/null \
    | grep -ao '8:completei[0-9]*' | head -1 | sed 's/.*completei//' || true
}

# --- seeders ---------------------------------------------------------------------------
SEEDER_PID=""
start_seeder() { # start_seeder NAME [EXTRA...]: in its cgroup; returns once the tracker knows it
  local name=$1; shift
  new_port; local port=$PORT log=$W/seed-$name.log
  case "$name" in
    swarm|swarm-old)
      local bin=$SWARM
      [ "$name" = swarm-old ] && bin=$OLD_SWARM
      in_seeder_cgroup "$bin" seed "$META" --data "$SEED" --port "$port" --bind 127.0.0.1 \
        --state-dir "$W/swarm-state" -q "$@" >"$log" 2>&1 & ;;
    aria2)
      in_seeder_cgroup aria2c "${ARIA_SAFE[@]}" --listen-port="$port" --check-integrity=true \
        --seed-ratio=0.0 --dir="$SEED" "$META" >"$log" 2>&1 & ;;
    libtorrent)
      in_seeder_cgroup "$PY" "$ROOT/tests/scripts/lt_seed.py" --meta "$META" --dir "$SEED" \
        --port "$port" --seconds 86400 >"$log" 2>&1 & ;;
    rqbit)
      mkdir -p "$W/rqbit-state"
      in_seeder_cgroup env HOME="$W/rqbit-state" XDG_CACHE_HOME="$W/rqbit-state" \
        XDG_CONFIG_HOME="$W/rqbit-state" XDG_DATA_HOME="$W/rqbit-state" \
        "$RQBIT" "${RQ_SAFE[@]}" --listen-port "$port" --announce-port "$port" \
        download --disable-http-api --overwrite -o "$SEED" "$META" >"$log" 2>&1 & ;;
  esac
  SEEDER_PID=$!
  PIDS+=("$SEEDER_PID")
  local i n
  for ((i = 0; i < 3000; i++)); do # it verifies the data first
    n=$(scrape_complete)
    [ "${n:-0}" -ge 1 ] && return 0
    if ! kill -0 "$SEEDER_PID" 2>/dev/null; then
      say "  $name seeder exited: $(tail -2 "$log" | tr '\n' ' ')"
      return 1
    fi
    sleep 0.1
  done
  say "  $name seeder never announced itself complete (see $log)"
  return 1
}
stop_seeder() { stop_pid "$SEEDER_PID"; wait "$SEEDER_PID" 2>/dev/null || true; }

# --- leechers --------------------------------------------------------------------------
LEECH_PIDS=()
start_leechers() { # start_leechers N: listening, waiting for $W/go
  local n=$1 i
  rm -f "$W/go" "$W"/done-* "$W"/leech-*.log
  rm -rf "${OUT:?}"/*
  LEECH_PIDS=()
  for ((i = 0; i < n; i++)); do
    new_port
    mkdir -p "$OUT/$i"
    in_cgroup "$LCG" "$PY" "$ROOT/tests/scripts/lt_leech.py" --meta "$META" --dir "$OUT/$i" --port "$PORT" \
      --quiet --keep-seeding --timeout "$TIMEOUT" --go-file "$W/go" --done-file "$W/done-$i" \
      >"$W/leech-$i.log" 2>&1 &
    LEECH_PIDS+=($!)
    PIDS+=($!)
  done
  for ((i = 0; i < n; i++)); do
    local j
    for ((j = 0; j < 600; j++)); do
      grep -q '^listening' "$W/leech-$i.log" 2>/dev/null && break
      sleep 0.05
    done
  done
}
stop_leechers() {
  local p
  for p in "${LEECH_PIDS[@]}"; do stop_pid "$p"; done
  for p in "${LEECH_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}

# keep_logs SEEDER N WHY: copies the round's logs to $W/failed/ (the next round overwrites
# them) and says where.
FAILED_ROUNDS=0
keep_logs() {
  FAILED_ROUNDS=$(( FAILED_ROUNDS + 1 ))
  local dir="$W/failed/$1-x$2-$FAILED_ROUNDS"
  mkdir -p "$dir"
  cp "$W"/*.log "$dir"/ 2>/dev/null || true
  say "  $1 x$2 FAILED: $3 (logs kept in $dir)"
}

# measure SEEDER N: sets M_TIME (s, or "timeout"), M_UP (upload ÷ payload or n/a), M_CPU
# and M_LCPU (the seeder's and all leechers' CPU seconds until the last leecher finished,
# or n/a), M_OK
measure() {
  local seeder=$1 n=$2 i t0 last up
  memory_warm_up "$OUT" $(( n * BYTES + 268435456 ))
  start_tracker
  if ! start_seeder "$seeder"; then
    stop_seeder; stop_tracker
    M_TIME=timeout M_UP=n/a M_CPU=n/a M_LCPU=n/a M_OK=FAILED
    keep_logs "$seeder" "$n" "the seeder did not start seeding"
    return 0
  fi
  start_leechers "$n"
  acct_reset
  t0=$(now)
  touch "$W/go"
  local deadline=$(( $(date +%s) + TIMEOUT )) done_count=0
  while [ "$(date +%s)" -lt "$deadline" ]; do
    done_count=$(find "$W" -maxdepth 1 -name 'done-*' -size +0 | wc -l)
    [ "$done_count" -ge "$n" ] && break
    sleep 0.01
  done
  up=$(acct_payload)
  M_CPU=$(acct_cpu)
  M_LCPU=$(acct_leechers_cpu)
  stop_leechers
  stop_seeder
  stop_tracker
  if [ "$done_count" -ge "$n" ]; then
    last=$(cat "$W"/done-* | sort -g | tail -1)
    M_TIME=$(echo "$last - $t0" | bc -l)
  else
    M_TIME=timeout
  fi
  if [ "$up" = n/a ]; then M_UP=n/a; else M_UP=$(echo "$up / $BYTES" | bc -l); fi
  M_OK=ok
  local differ=""
  for ((i = 0; i < n; i++)); do
    cmp -s "$PAYLOAD" "$OUT/$i/$NAME" || differ="$differ $i"
  done
  if [ -n "$differ" ]; then
    M_OK=FAILED
    keep_logs "$seeder" "$n" "the copies of leecher(s)$differ differ from the payload"
  fi
  rm -rf "${OUT:?}"/*
}

# --- the seeders to compare ---------------------------------------------------------------
RUN_SEEDERS=()
for s in $SEEDERS; do
  case "$s" in
    rqbit) [ -n "$RQBIT" ] || { say "rqbit: not installed (cargo install --locked rqbit), skipped"; continue; } ;;
    swarm|swarm-old|aria2|libtorrent) ;;
    *) die "unknown seeder $s (swarm swarm-old aria2 libtorrent rqbit)" ;;
  esac
  RUN_SEEDERS+=("$s")
done

declare -A TIMES UPS CPUS LCPUS STATUS
if [ "$DO_MATRIX" = 1 ]; then
  # One untimed measurement first: the payload's pages and every tool's code are warm
  # for whoever comes first.
  say "warm-up (libtorrent seeder, 1 leecher, not counted) ..."
  measure libtorrent 1
  say "  warm-up: ${M_TIME}s, data $M_OK"
  matrix_round() { # matrix_round SEEDER N ROUND
    local s=$1 n=$2
    say "seeder $s, $n leecher(s) (round $3/$REPEAT) ..."
    measure "$s" "$n"
    say "  $s x$n: ${M_TIME}s, upload/payload $M_UP, seeder CPU ${M_CPU}s, leechers CPU ${M_LCPU}s, data $M_OK"
    TIMES[$s:$n]="${TIMES[$s:$n]:-} $M_TIME"
    UPS[$s:$n]="${UPS[$s:$n]:-} $M_UP"
    CPUS[$s:$n]="${CPUS[$s:$n]:-} $M_CPU"
    LCPUS[$s:$n]="${LCPUS[$s:$n]:-} $M_LCPU"
    [ "$M_OK" = ok ] || STATUS[$s:$n]=FAILED
  }
  for_interleaved_rounds matrix_round
fi

UP_MEASURED=""
if [ "$DO_UP_RATE" = 1 ]; then
  say "swarm seed --up-rate $UP_RATE, 4 libtorrent leechers, ${UP_SECS}s ..."
  memory_warm_up "$OUT" $(( BYTES + 268435456 ))
  start_tracker
  if start_seeder swarm --up-rate "$UP_RATE"; then
    start_leechers 4
    acct_reset
    touch "$W/go"
    sleep "$UP_SECS"
    UP_MEASURED=$(acct_payload)
    stop_leechers
  else
    UP_MEASURED=failed
  fi
  stop_seeder
  stop_tracker
  rm -rf "${OUT:?}"/*
fi

# --- report ----------------------------------------------------------------------------
med() { printf '%s\n' $1 | grep -v -e timeout -e n/a | median; }
# The fastest and slowest of the rounds, "1.63..2.17": the spread says which differences
# between medians are real (on two busy cores one seeder's rounds vary by ±15 %).
span() {
  printf '%s\n' $1 | grep -v -e timeout -e n/a | sort -g | sed -n '1p;$p' \
    | xargs -r printf '%.2f\n' | paste -sd' ' | sed 's/ /../'
}
echo
echo "seed benchmark: $SIZE payload ($BYTES bytes, $PIECE_INFO, metainfo by mkmeta), tracker: ours (interval 5 s)"
echo "leechers: libtorrent, started together, keep seeding to each other; writing to $OUT_FS; all on 127.0.0.1${SWARM_BENCH_NETNS:+ in netns $SWARM_BENCH_NETNS}; $(nproc) cores"
echo "seeder upload counted by: $ACCT"
[ "$REPEAT" -gt 1 ] && echo "each measurement $REPEAT times in interleaved rounds: medians"
if [ "$DO_MATRIX" = 1 ]; then
  printf '%-9s %-11s %10s %13s %17s %13s %15s %17s  %s\n' leechers seeder "time (s)" "time range" \
    "upload/payload" "upload range" "seeder CPU (s)" "leechers CPU (s)" data
  for n in $LEECHER_COUNTS; do
    for s in "${RUN_SEEDERS[@]}"; do
      t=$(med "${TIMES[$s:$n]}"); u=$(med "${UPS[$s:$n]}"); c=$(med "${CPUS[$s:$n]:-}")
      l=$(med "${LCPUS[$s:$n]:-}")
      printf '%-9s %-11s %10s %13s %17s %13s %15s %17s  %s\n' "$n" "$s" \
        "$( [ -n "$t" ] && printf '%.2f' "$t" || echo timeout)" "$(span "${TIMES[$s:$n]}")" \
        "$( [ -n "$u" ] && printf '%.2f' "$u" || echo n/a)" "$(span "${UPS[$s:$n]}")" \
        "$( [ -n "$c" ] && printf '%.2f' "$c" || echo n/a)" \
        "$( [ -n "$l" ] && printf '%.2f' "$l" || echo n/a)" "${STATUS[$s:$n]:-ok}"
    done
  done
  if printf '%s\n' "${RUN_SEEDERS[@]}" | grep -qx swarm; then
    echo "time ratios (other's time ÷ swarm's; > 1 means swarm seed finished the swarm sooner):"
    for n in $LEECHER_COUNTS; do
      line="  $n leecher(s):"
      st=$(med "${TIMES[swarm:$n]}")
      for s in "${RUN_SEEDERS[@]}"; do
        [ "$s" = swarm ] && continue
        ot=$(med "${TIMES[$s:$n]}")
        if [ -n "$st" ] && [ -n "$ot" ]; then line+=$(printf '  swarm/%s %.2fx' "$s" "$(echo "$ot / $st" | bc -l)")
        else line+="  swarm/$s n/a"; fi
      done
      echo "$line"
    done
    echo "upload ratios (swarm's upload ÷ other's; < 1 means swarm seed uploaded less, peers traded more):"
    for n in $LEECHER_COUNTS; do
      line="  $n leecher(s):"
      su=$(med "${UPS[swarm:$n]}")
      for s in "${RUN_SEEDERS[@]}"; do
        [ "$s" = swarm ] && continue
        ou=$(med "${UPS[$s:$n]}")
        if [ -n "$su" ] && [ -n "$ou" ]; then line+=$(printf '  swarm/%s %.2fx' "$s" "$(echo "$su / $ou" | bc -l)")
        else line+="  swarm/$s n/a"; fi
      done
      echo "$line"
    done
  fi
fi
if [ -n "$UP_MEASURED" ]; then
  if [ "$UP_MEASURED" = failed ]; then
    echo "up-rate: swarm seed --up-rate $UP_RATE did not start (see $W/seed-swarm.log)"
  elif [ "$UP_MEASURED" = n/a ]; then
    echo "up-rate: swarm seed --up-rate $UP_RATE: n/a (no upload accounting)"
  else
    rate=$(echo "$UP_MEASURED / $UP_SECS" | bc -l)
    printf 'up-rate: swarm seed --up-rate %s, 4 leechers, %ss: %.3f MiB/s measured, %.3f x %s (target: within 10%%)\n' \
      "$UP_RATE" "$UP_SECS" "$(echo "$rate / 1048576" | bc -l)" "$(echo "$rate / $UP_BYTES" | bc -l)" "$UP_RATE"
  fi
fi
echo "logs: $W"
