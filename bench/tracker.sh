#!/usr/bin/env bash
# Tracker benchmark, one run, everything on 127.0.0.1: our tracker (release build) against
# opentracker and aquatic_http.
#   1. HTTP: wrk with bench/tracker/announce.lua (10,000 torrents, random peers, binary
#      percent-encoded hashes, compact, numwant 50, 5 % scrapes) at 64 and 256 connections,
#      wrk -t2 (WRK_THREADS) for every server: requests/s and p99 latency. This is a closed
#      loop: each connection sends its next request when the reply arrives, so at 256
#      connections the mean latency is 256 / throughput (Little's law) and on 2 cores shared
#      by wrk and the server the p99 mostly measures how long the server waits for a core.
#   1b. HTTP open loop: bench/udp-load http-rate, the same request mix at a fixed offered rate
#      (OPEN_RATE requests/s, default 10,000, which every server here sustains) over 256
#      keep-alive connections, latency counted from when each request was due: p50/p99/p99.9.
#   1c. HTTP closed loop with one core each: wrk -t1 against each server on one worker thread
#      (ours --threads 1, shown as ours_1t; opentracker has one; aquatic_http its default of
#      1 socket + 1 swarm worker) at SPLIT_CONNECTIONS, one server at a time: the load
#      generator and the server no longer take turns on the 2 cores, so the p99 is the server's.
#   2. UDP (BEP 15): bench/udp-load, 2 threads, 64 and 256 requests in flight (ours, opentracker;
#      aquatic_http has no UDP).
#   Our tracker runs twice: with the default in-memory store (ours) and with --store redis://
#   on a local redis-server (ours_redis), to show what the shared store costs.
#   3. Memory: RSS after loading 1,000,000 peers (100 per torrent) into a fresh instance;
#      bytes per peer. UDP for ours and opentracker (peer j sends from 127.1.x.y), HTTP for
#      aquatic_http. ours_ids = ours with --peer-ids (peer ids kept for compact=0 replies).
# Prints ratios ours/other. A tool that is not installed is skipped with a line saying so.
#
# Environment: DURATION (seconds per measurement, default 15), TORRENTS (10000),
# PEERS_PER_TORRENT (100), CONNECTIONS ("64 256"), SPLIT_CONNECTIONS ("64 256"; 0 skips 1c),
# WRK_THREADS (2), OPEN_RATE (10000; 0 skips the open-loop runs), OPEN_CONNECTIONS (256),
# ROUNDS (1: repeat every throughput/latency measurement, keep each server's best round),
# SKIP_BUILD=1 (use the existing release binaries), CARGO_TARGET_DIR, OLD_BIN (a previous
# build of our tracker, measured as `old` beside `ours`: bench/tracker-compare.sh builds one),
# ONLY ("ours old": measure only these tools). Needs wrk, python3, curl; opentracker needs
# root (chroot).
# Our tracker runs with metrics and the access log at their defaults; its per-address rate
# limits are raised out of the way (every request here comes from 127.0.0.1), so the limiter
# is still consulted on every request.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
DURATION="${DURATION:-15}"
TORRENTS="${TORRENTS:-10000}"
PEERS_PER_TORRENT="${PEERS_PER_TORRENT:-100}"
CONNECTIONS="${CONNECTIONS:-64 256}"
WRK_THREADS="${WRK_THREADS:-2}"
OPEN_RATE="${OPEN_RATE:-10000}"
OPEN_CONNECTIONS="${OPEN_CONNECTIONS:-256}"
SPLIT_CONNECTIONS="${SPLIT_CONNECTIONS:-64 256}"
ROUNDS="${ROUNDS:-1}"
WORK=$(mktemp -d /tmp/tracker-bench.XXXXXX)
# Read by our tracker (a previous build ignores them): limits far above the load, one catalog
# directory per instance (set by each start_* below).
export TRACKER_RATE_ANNOUNCE=1000000000 TRACKER_RATE_SCRAPE=1000000000
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '%s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

for tool in wrk python3 curl; do
  have "$tool" || { say "bench/tracker.sh: needs $tool"; exit 1; }
done

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "building: tracker (release), udp-load (release)…"
  cargo build --release --locked -p tracker --quiet
  cargo build --release --locked --manifest-path bench/udp-load/Cargo.toml \
    --target-dir "$TARGET/udp-load" --quiet
fi
OURS_BIN="$TARGET/release/tracker"
LOAD_BIN="$TARGET/udp-load/release/udp-load"
for b in "$OURS_BIN" "$LOAD_BIN"; do
  [ -x "$b" ] || { say "bench/tracker.sh: $b not built"; exit 1; }
done

# --- the torrents: deterministic random info-hashes; opentracker's whitelist is the same list
python3 - "$TORRENTS" > "$WORK/hashes.txt" <<'EOF'
import random, sys
r = random.Random(20261122)
print("\n".join(r.randbytes(20).hex() for _ in range(int(sys.argv[1]))))
EOF
mkdir -p "$WORK/opentracker"
cp "$WORK/hashes.txt" "$WORK/opentracker/whitelist.txt"
export HASHES="$WORK/hashes.txt"

free_port() {
  python3 -c 'import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass'
}

wait_port() { # PORT: wait until something accepts TCP on 127.0.0.1:PORT (10 s)
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Tools that can run here; each start_* sets STARTED_PID (and HELPER_PID for a helper
# process such as redis-server). ours_redis = our tracker with --store redis://.
TOOLS=(ours)
[ -n "${OLD_BIN:-}" ] && TOOLS+=(old)
have redis-server && TOOLS+=(ours_redis) || say "SKIP ours_redis: redis-server not installed"
have opentracker && TOOLS+=(opentracker) || say "SKIP opentracker: not installed (apt-get install opentracker)"
have aquatic_http && TOOLS+=(aquatic) || say "SKIP aquatic_http: not installed (cargo install --locked aquatic_http --no-default-features --features mimalloc)"
if [ -n "${ONLY:-}" ]; then
  kept=()
  for t in "${TOOLS[@]}"; do [[ " $ONLY " == *" $t "* ]] && kept+=("$t"); done
  TOOLS=("${kept[@]}")
fi
if [[ " ${TOOLS[*]} " == *" opentracker "* ]] && [ "$(id -u)" != 0 ]; then
  say "SKIP opentracker: needs root (it chroots and drops privileges)"
  TOOLS=("${TOOLS[@]/opentracker/}")
fi

start_old() { # a previous build of our tracker (OLD_BIN), same flags as ours
  TRACKER_DATA_DIR="$WORK/data-old" "$OLD_BIN" --listen "127.0.0.1:$1" --udp "127.0.0.1:$1" >"$WORK/old.log" 2>&1 &
  STARTED_PID=$!
}
start_ours() {
  TRACKER_DATA_DIR="$WORK/data-ours" "$OURS_BIN" --listen "127.0.0.1:$1" --udp "127.0.0.1:$1" >"$WORK/ours.log" 2>&1 &
  STARTED_PID=$!
}
start_ours_1t() { # one worker thread (the closed loop with one core each)
  TRACKER_DATA_DIR="$WORK/data-ours_1t" "$OURS_BIN" --listen "127.0.0.1:$1" --udp "127.0.0.1:$1" --threads 1 >"$WORK/ours_1t.log" 2>&1 &
  STARTED_PID=$!
}
start_ours_ids() {
  TRACKER_DATA_DIR="$WORK/data-ours_ids" "$OURS_BIN" --listen "127.0.0.1:$1" --udp "127.0.0.1:$1" --peer-ids >"$WORK/ours_ids.log" 2>&1 &
  STARTED_PID=$!
}
start_ours_redis() {
  local rport
  rport=$(free_port)
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
  HELPER_PID=$!
  PIDS+=("$HELPER_PID")
  wait_port "$rport" || { say "redis-server did not start"; cat "$WORK/redis.log"; exit 1; }
  "$OURS_BIN" --listen "127.0.0.1:$1" --udp "127.0.0.1:$1" --store "redis://127.0.0.1:$rport/" \
    >"$WORK/ours_redis.log" 2>&1 &
  STARTED_PID=$!
}
start_opentracker() {
  opentracker -i 127.0.0.1 -p "$1" -P "$1" -d "$WORK/opentracker" -u nobody \
    -w whitelist.txt >"$WORK/opentracker.log" 2>&1 &
  STARTED_PID=$!
}
start_aquatic() {
  aquatic_http -p | sed "s/^address = .*/address = \"127.0.0.1:$1\"/" >"$WORK/aquatic.toml"
  aquatic_http -c "$WORK/aquatic.toml" >"$WORK/aquatic.log" 2>&1 &
  STARTED_PID=$!
}

declare -A PORT PID HELPER
start() { # TOOL
  local port
  port=$(free_port)
  HELPER_PID=""
  "start_$1" "$port"
  PIDS+=("$STARTED_PID")
  PORT[$1]=$port
  PID[$1]=$STARTED_PID
  HELPER[$1]=$HELPER_PID
  if ! wait_port "$port"; then
    say "$1 did not start; its log:"; cat "$WORK/$1.log" || true
    exit 1
  fi
}
stop() { # TOOL
  for pid in "${PID[$1]}" ${HELPER[$1]}; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

tool_rss_kb() { # TOOL: the server's RSS, plus its helper's (redis-server) if any
  local total
  total=$(rss_kb "${PID[$1]}")
  [ -n "${HELPER[$1]}" ] && total=$((total + $(rss_kb "${HELPER[$1]}")))
  echo "$total"
}

announce_url() { # TOOL HASH-INDEX PEER-PORT LEFT
  local hash
  hash=$(sed -n "$2p" "$HASHES" | sed 's/../%&/g')
  printf 'http://127.0.0.1:%s/announce?info_hash=%s&peer_id=-BN0001-%%01%%02%%03%%04%%05%%06%%07%%08%%09%%0A%%0B%%0C&port=%s&uploaded=0&downloaded=0&left=%s&compact=1&numwant=50' \
    "${PORT[$1]}" "$hash" "$3" "$4"
}

sanity() { # TOOL: one announce must be a bencoded reply with peers, not a failure
  local body
  body=$(curl -s --max-time 5 "$(announce_url "$1" 1 40000 0)" | tr -d '\0' || true)
  if [[ "$body" != *"5:peers"* || "$body" == *"failure"* ]]; then
    say "WARNING: $1 answers the sample announce with: ${body:0:200}"
  fi
}

to_ms() { # wrk latency like 812.00us / 1.23ms / 1.10s -> ms
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "%s", v }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "n/a" }'; }

# CPU accounting around each measurement, to show how much of the machine went to anything
# other than the server under test and the load generator (others' work on a shared box).
cpu_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; } # jiffies
tool_cpu() { # TOOL: jiffies used by the server (and its helper)
  local total=0 pid
  for pid in ${PID[$1]} ${HELPER[$1]}; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
measure_start() { # TOOL
  M_T0=$(date +%s.%N)
  M_BUSY0=$(cpu_busy)
  M_SRV0=$(tool_cpu "$1")
}
measure_others() { # TOOL GENERATOR-OUTPUT: percent of all cores used by other processes
  local gen
  # The generator's own CPU: the `times` line appended to its output (children user, sys).
  gen=$(awk '/^[0-9]+m[0-9.]+s [0-9]+m[0-9.]+s$/ {line = $0} END {print line}' <<<"$2" |
    awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] } print t + 0 }')
  awk -v t0="$M_T0" -v t1="$(date +%s.%N)" -v b0="$M_BUSY0" -v b1="$(cpu_busy)" \
    -v s0="$M_SRV0" -v s1="$(tool_cpu "$1")" -v g="${gen:-0}" -v n="$(nproc)" 'BEGIN {
      other = (b1 - b0) / 100 - (s1 - s0) / 100 - g
      if (other < 0) other = 0
      printf "%.0f%%", 100 * other / ((t1 - t0) * n) }'
}

declare -A RPS P99 NOTE OTHERS
# With ROUNDS > 1 each measurement is repeated (rounds interleaved across servers) and the
# best round is kept: highest requests/s for throughput, lowest p99 for the open loop.
# Interference from other work only ever makes a round worse.
higher() { awk -v new="$1" -v old="${2:-}" 'BEGIN { exit !(old == "" || new + 0 > old + 0) }'; }
lower() { awk -v new="$1" -v old="${2:-}" 'BEGIN { exit !(new != "" && (old == "" || new + 0 < old + 0)) }'; }

run_wrk() { # TOOL CONNS [WRK-THREADS]: results under the key CONNS (or CONNS"t"THREADS)
  local out others rps threads=${3:-$WRK_THREADS} key=$2${3:+t$3}
  measure_start "$1"
  out=$(wrk -t"$threads" -c"$2" -d"${DURATION}s" --latency -s bench/tracker/announce.lua \
    "http://127.0.0.1:${PORT[$1]}" 2>&1; times)
  others=$(measure_others "$1" "$out")
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
  higher "$rps" "${RPS[$1,$key]:-}" || return 0
  OTHERS[$1,$key]=$others
  RPS[$1,$key]=$rps
  P99[$1,$key]=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  NOTE[$1,$key]="$(awk '/Non-2xx/ {printf "non-2xx %s ", $NF} /Socket errors/ {printf "timeouts %s", $NF}' <<<"$out")"
}

declare -A OPEN
run_open() { # TOOL: open-loop latency at OPEN_RATE
  local out others p99
  measure_start "$1"
  out=$("$LOAD_BIN" http-rate "127.0.0.1:${PORT[$1]}" "$HASHES" "$DURATION" "$OPEN_CONNECTIONS" \
    "$OPEN_RATE" 2>&1; times) || true
  others=$(measure_others "$1" "$out")
  p99=$(awk '/^requests\/s/ {for (i = 1; i <= NF; i++) if ($i == "p99") print $(i + 1)}' <<<"$out")
  if [ -n "${OPEN[$1]:-}" ] && ! lower "$p99" "${P99[$1,open]:-}"; then return 0; fi
  OTHERS[$1,open]=$others
  OPEN[$1]=$(awk '/^requests\/s/ {print; found = 1} /udp-load:/ {print} END {if (!found) print "?"}' <<<"$out")
  P99[$1,open]=$p99
}

run_udp() { # TOOL INFLIGHT
  local out others rps
  measure_start "$1"
  out=$("$LOAD_BIN" bench "127.0.0.1:${PORT[$1]}" "$HASHES" "$DURATION" 2 $(($2 / 2)) 2>&1; times) || true
  others=$(measure_others "$1" "$out")
  rps=$(awk '/^requests\/s/ {print $2}' <<<"$out")
  if [ -n "${NOTE[$1,udp$2]:-}" ] && ! higher "$rps" "${RPS[$1,udp$2]:-}"; then return 0; fi
  OTHERS[$1,udp$2]=$others
  RPS[$1,udp$2]=$rps
  P99[$1,udp$2]=$(awk '/^requests\/s/ {for (i = 1; i <= NF; i++) if ($i == "p99") print $(i + 1)}' <<<"$out")
  NOTE[$1,udp$2]=$(awk '/^requests\/s/ {print "errors " $(NF - 2) " lost " $NF} /udp-load:/ {print}' <<<"$out")
}

print_row() { # LABEL TOOL KEY [BASE: the tool the ratios are of, default ours]
  local tool=$2 key=$3 base=${4:-ours} extra=""
  if [ "$tool" != "$base" ] && [ -n "${RPS[$base,$key]:-}" ] && [ -n "${RPS[$tool,$key]:-}" ]; then
    extra="$base/$tool: req/s $(ratio "${RPS[$base,$key]}" "${RPS[$tool,$key]}"), p99 $(ratio "${P99[$base,$key]}" "${P99[$tool,$key]}")"
  fi
  printf '  %-12s %-12s %9s req/s  p99 %8s ms  others %4s  %-28s %s\n' "$1" "$tool" \
    "${RPS[$tool,$key]:-?}" "${P99[$tool,$key]:-?}" "${OTHERS[$tool,$key]:-?}" "${NOTE[$tool,$key]:-}" "$extra"
}

say "tracker benchmark  $(date -u '+%Y-%m-%d %H:%M UTC')  $(nproc) cores  load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
say "tools: ${TOOLS[*]}   torrents: $TORRENTS   ${DURATION}s per measurement, best of $ROUNDS round(s)"
say "(others = share of all cores used during a measurement by processes other than the server and the load generator: the machine is shared)"

# --- 1 + 2: throughput, all tools up at once, measured in turns
for t in "${TOOLS[@]}"; do [ -n "$t" ] && { start "$t"; sanity "$t"; }; done
for t in "${TOOLS[@]}"; do # warm-up: fill the swarms a little, like a running tracker
  [ -n "$t" ] && wrk -t2 -c64 -d3s -s bench/tracker/announce.lua "http://127.0.0.1:${PORT[$t]}" >/dev/null 2>&1
done
# Each round starts with a different server: measured against an identical copy of itself,
# the server that always went first lost 9 % of its HTTP throughput at 64 connections
# (best of 9), a bias as large as the differences this benchmark is run to find.
rotated() { # ROUND: the tools, rotated by ROUND places
  local n=${#TOOLS[@]} i
  for ((i = 0; i < n; i++)); do echo "${TOOLS[(i + $1) % n]}"; done
}
for round in $(seq "$ROUNDS"); do
  mapfile -t ORDER < <(rotated "$round")
  for c in $CONNECTIONS; do
    for t in "${ORDER[@]}"; do [ -n "$t" ] && run_wrk "$t" "$c"; done
  done
  if [ "$OPEN_RATE" != 0 ]; then
    for t in "${ORDER[@]}"; do [ -n "$t" ] && run_open "$t"; done
  fi
  for c in $CONNECTIONS; do
    for t in "${ORDER[@]}"; do [ -n "$t" ] && [ "$t" != aquatic ] && run_udp "$t" "$c"; done
  done
done
for t in "${TOOLS[@]}"; do [ -n "$t" ] && stop "$t"; done

# --- 1c: closed loop with one core each: wrk -t1 and a server on one worker thread, so the
# load generator and the server do not take turns on the cores (with wrk -t2 and a
# two-thread server, 3-4 busy threads share 2 cores and the tail is mostly time spent waiting
# for a core). One tool at a time.
SPLIT_TOOLS=()
if [ "$SPLIT_CONNECTIONS" != 0 ]; then
  SPLIT_TOOLS=(ours_1t)
  for t in opentracker aquatic; do [[ " ${TOOLS[*]} " == *" $t "* ]] && SPLIT_TOOLS+=("$t"); done
fi
for t in "${SPLIT_TOOLS[@]}"; do
  start "$t"
  wrk -t1 -c64 -d3s -s bench/tracker/announce.lua "http://127.0.0.1:${PORT[$t]}" >/dev/null 2>&1
  for round in $(seq "$ROUNDS"); do
    for c in $SPLIT_CONNECTIONS; do run_wrk "$t" "$c" 1; done
  done
  stop "$t"
done

say ""
say "HTTP announce/scrape mix, closed loop (wrk -t$WRK_THREADS; opentracker closes the connection after every reply)"
for c in $CONNECTIONS; do
  for t in "${TOOLS[@]}"; do [ -n "$t" ] && print_row "$c conns" "$t" "$c"; done
done
if [ ${#SPLIT_TOOLS[@]} -gt 0 ]; then
  say ""
  say "HTTP closed loop, one core each: wrk -t1; servers on one worker thread (ours --threads 1 = ours_1t; opentracker has one; aquatic_http its default, 1 socket + 1 swarm worker)"
  for c in $SPLIT_CONNECTIONS; do
    for t in "${SPLIT_TOOLS[@]}"; do
      verdict=$(awk -v p="${P99[$t,${c}t1]:-}" 'BEGIN { if (p == "") print "?"; else if (p + 0 < 5) print "p99 < 5 ms: yes"; else print "p99 < 5 ms: no" }')
      printf '%s  [%s]\n' "$(print_row "$c conns" "$t" "${c}t1" ours_1t)" "$verdict"
    done
  done
fi
if [ "$OPEN_RATE" != 0 ]; then
  say ""
  say "HTTP open loop: $OPEN_RATE requests/s offered over $OPEN_CONNECTIONS connections (udp-load http-rate; latency from when each request was due)"
  for t in "${TOOLS[@]}"; do
    [ -n "$t" ] || continue
    verdict=$(awk -v p="${P99[$t,open]:-}" 'BEGIN { if (p == "") print "?"; else if (p + 0 < 5) print "p99 < 5 ms: yes"; else print "p99 < 5 ms: no" }')
    printf '  %-12s %s  others %s  [%s]\n' "$t" "${OPEN[$t]:-?}" "${OTHERS[$t,open]:-?}" "$verdict"
  done
fi
say ""
say "UDP announce/scrape mix (BEP 15, bench/udp-load, 2 threads)"
for c in $CONNECTIONS; do
  for t in "${TOOLS[@]}"; do
    [ -n "$t" ] && [ "$t" != aquatic ] && print_row "$c inflight" "$t" "udp$c"
  done
done
[[ " ${TOOLS[*]} " == *" aquatic "* ]] && say "  (aquatic_http has no UDP)"

# --- 3: memory, one fresh instance at a time
say ""
PEERS=$((TORRENTS * PEERS_PER_TORRENT))
say "Memory: RSS after loading $PEERS peers over $TORRENTS torrents into a fresh instance (ours_redis: tracker + redis-server)"
declare -A PER_PEER
MEMORY_TOOLS=("${TOOLS[@]}")
MEMORY_TOOLS=("${MEMORY_TOOLS[0]}" ours_ids "${MEMORY_TOOLS[@]:1}")
for t in "${MEMORY_TOOLS[@]}"; do
  [ -n "$t" ] || continue
  start "$t"
  sleep 1
  base=$(tool_rss_kb "$t")
  if [ "$t" = aquatic ]; then
    load=$("$LOAD_BIN" fill-http "127.0.0.1:${PORT[$t]}" "$HASHES" "$PEERS_PER_TORRENT" 32 2>&1) || true
  else
    load=$("$LOAD_BIN" fill "127.0.0.1:${PORT[$t]}" "$HASHES" "$PEERS_PER_TORRENT" 2>&1) || true
  fi
  sleep 2
  after=$(tool_rss_kb "$t")
  # Check that the tracker kept them: scrape the first torrent.
  first=$(head -1 "$HASHES" | sed 's/../%&/g')
  scrape=$(curl -s --max-time 5 "http://127.0.0.1:${PORT[$t]}/scrape?info_hash=$first" | tr -d '\0' |
    grep -ao 'completei[0-9]*e.*incompletei[0-9]*e' | head -1 || true)
  PER_PEER[$t]=$(awk -v a="$after" -v b="$base" -v n="$PEERS" 'BEGIN {printf "%.1f", (a - b) * 1024 / n}')
  printf '  %-12s RSS %7.1f MiB (idle %5.1f MiB)  %6s bytes/peer over idle  %6.1f bytes/peer total  [%s; first torrent: %s]\n' \
    "$t" "$(awk -v k="$after" 'BEGIN {print k / 1024}')" "$(awk -v k="$base" 'BEGIN {print k / 1024}')" \
    "${PER_PEER[$t]}" "$(awk -v a="$after" -v n="$PEERS" 'BEGIN {print a * 1024 / n}')" "$load" "${scrape:-?}"
  stop "$t"
done
for t in "${MEMORY_TOOLS[@]}"; do
  [ -n "$t" ] && [ "$t" != ours ] && say "  bytes/peer ours/$t: $(ratio "${PER_PEER[ours]}" "${PER_PEER[$t]}")"
done
[ -n "${PER_PEER[opentracker]:-}" ] &&
  say "  bytes/peer ours_ids/opentracker: $(ratio "${PER_PEER[ours_ids]}" "${PER_PEER[opentracker]}") (--peer-ids is opt-in: ids cost 20 bytes a peer)"
say ""
say "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)  (the machine is shared: compare within this run only)"
