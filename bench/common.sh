# bench/common.sh — helpers shared by the benchmark scripts (sourced, not run): messages,
# sizes, free ports and waiting for them, medians, the real clients' safety flags, stopping
# every process a script started (by PID), and re-running a script inside a fresh
# loopback-only network namespace.
#
# The sourcing script sets ROOT (the repository) before sourcing.

BENCH_NAME=$(basename "$0")
say() { printf '%s\n' "$*" >&2; }
die() { say "$BENCH_NAME: $*"; exit 1; }

PY=/usr/bin/python3.11

bytes_of() { # 256M / 1G / 4GiB / 2MiB / 12345 -> bytes
  local s=${1%iB}; s=${s%B}
  case "$s" in
    *K|*k) echo $(( ${s%?} * 1024 )) ;;
    *M|*m) echo $(( ${s%?} * 1024 * 1024 )) ;;
    *G|*g) echo $(( ${s%?} * 1024 * 1024 * 1024 )) ;;
    *) echo "$s" ;;
  esac
}

now() { date +%s.%N; }

wait_port() { # wait_port PORT SECONDS: until something listens on 127.0.0.1:PORT
  local i
  for ((i = 0; i < $2 * 20; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# Ports for the clients a benchmark starts on 127.0.0.1: below the kernel's ephemeral range
# (32768 by default), where no client's outgoing connection can hold one as its source port
# (a seeder of bench/seed.sh once could not listen on 127.0.0.1:33495, most likely held so),
# and never one something listens on already. new_port sets PORT.
PORT_FLOOR=10000
PORT_CEILING=$(( $(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768) - 1 ))
[ "$PORT_CEILING" -gt $(( PORT_FLOOR + 1000 )) ] || PORT_CEILING=32767
PORT_NEXT=$(( PORT_FLOOR + RANDOM % (PORT_CEILING - PORT_FLOOR) ))
new_port() {
  local tries
  for ((tries = 0; tries <= PORT_CEILING - PORT_FLOOR; tries++)); do
    PORT=$PORT_NEXT
    PORT_NEXT=$(( PORT_NEXT >= PORT_CEILING ? PORT_FLOOR : PORT_NEXT + 1 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || return 0
  done
  die "no free port between $PORT_FLOOR and $PORT_CEILING on 127.0.0.1"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# for_interleaved_rounds FN: runs `FN SEEDER N ROUND` for each of REPEAT rounds, each
# leecher count in LEECHER_COUNTS and each seeder in the array RUN_SEEDERS, rotating which
# seeder goes first, so a slow spell of the shared machine hits every seeder alike.
for_interleaved_rounds() {
  local fn=$1 count=${#RUN_SEEDERS[@]} k=0 r n j
  for ((r = 1; r <= REPEAT; r++)); do
    for n in $LEECHER_COUNTS; do
      for ((j = 0; j < count; j++)); do
        "$fn" "${RUN_SEEDERS[$(( (j + k) % count ))]}" "$n" "$r"
      done
      k=$(( k + 1 ))
    done
  done
}

# Safety flags: no DHT, no local peer discovery, no PEX, loopback only; aria2c also quits
# when the script does.
ARIA_SAFE=(--enable-dht=false --enable-dht6=false --bt-enable-lpd=false
  --enable-peer-exchange=false --disable-ipv6=true --interface=127.0.0.1
  --summary-interval=0 --console-log-level=warn --file-allocation=none
  --auto-file-renaming=false --allow-overwrite=true --bt-save-metadata=false
  --follow-torrent=mem --no-conf=true --stop-with-process=$$)
# rqbit has no switch for PEX; it only ever learns loopback peers here.
RQ_SAFE=(--disable-dht --disable-dht-persistence --disable-lsd --disable-upnp-port-forward --ipv4-only
  --listen-ip 127.0.0.1)

# --- processes: every one started is recorded and stopped by PID -----------------------
PIDS=()
stop_pid() { # stop_pid PID: its children first (it may be /usr/bin/time or a wrapper)
  local c
  for c in $(pgrep -P "$1" 2>/dev/null); do kill "$c" 2>/dev/null || true; done
  kill "$1" 2>/dev/null || true
}
cleanup() { # only those still running as this shell's jobs: a reaped PID may be reused
  local p live
  live=" $(jobs -p | tr '\n' ' ') "
  for p in "${PIDS[@]}"; do
    case "$live" in *" $p "*) stop_pid "$p" ;; esac
  done
  wait 2>/dev/null || true
}

# stop_on_exit_or_signal CMD: runs CMD (e.g. cleanup) when the script exits, and makes
# Ctrl-C or SIGTERM end the script (exit 130, so CMD runs). A trap that only ran CMD on
# INT/TERM let the script go on to its next measurement with everything stopped.
stop_on_exit_or_signal() {
  trap "$1" EXIT
  trap 'say "interrupted"; exit 130' INT TERM
}

# bench_isolate CMD...: unless already inside one, re-run CMD in a fresh network namespace
# with only loopback (as root, unless ISOLATE=0) and exit with its status; exported
# variables pass through, SWARM_BENCH_NETNS names the namespace inside. Returns (does
# nothing) when isolation is off or impossible.
bench_isolate() {
  [ -z "${SWARM_BENCH_NETNS:-}" ] || return 0
  if [ "${ISOLATE:-1}" = 1 ] && [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
    BENCH_NS="swarmbench$$"
    ip netns add "$BENCH_NS"
    trap 'ip netns del "$BENCH_NS" 2>/dev/null || true' EXIT
    ip -n "$BENCH_NS" link set lo up
    local status=0
    SWARM_BENCH_NETNS=$BENCH_NS ip netns exec "$BENCH_NS" "$@" || status=$?
    exit $status
  fi
}

# memory_warm_up DIR BYTES: write and delete BYTES in DIR, so what runs next starts with
# freshly backed free memory. On a VM the host backs a guest page on first touch (a 1 GiB
# file written with ~2 s of system time the first time, ~0.2 s right after it is deleted and
# written again), and with virtio-balloon free page reporting memory freed for about 2 s
# goes back to the host and is cold again: without this, a run started a few seconds after
# the previous one's output was deleted pays ~2 s/GiB that another did not.
memory_warm_up() {
  dd if=/dev/zero of="$1/warm-up" bs=1M count=$(( $2 / 1048576 )) status=none
  rm -f "$1/warm-up"
}
