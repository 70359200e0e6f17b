#!/usr/bin/env bash
# Our tracker against a previous build of itself, in one run: builds OLD (a commit, default
# the parent of the first commit that is not on main: `git merge-base HEAD main`) into its
# own target directory, then runs bench/tracker.sh with both (`ours` = this tree, `old` =
# OLD) measured in interleaved rounds, and prints new/old ratios. Only 127.0.0.1.
#   bench/tracker-compare.sh [OLD]        ROUNDS (default 3), DURATION (10), CONNECTIONS ("64 256")
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OLD="${1:-$(git merge-base HEAD main)}"
OLD_DIR=$(mktemp -d /tmp/tracker-old.XXXXXX)
cleanup() { git worktree remove --force "$OLD_DIR" >/dev/null 2>&1 || rm -rf "$OLD_DIR"; }
trap cleanup EXIT
echo "previous build: $(git log --oneline -1 "$OLD")"
git worktree add --detach "$OLD_DIR" "$OLD" >/dev/null
cargo build --release --locked --quiet -p tracker --manifest-path "$OLD_DIR/Cargo.toml" \
  --target-dir "$TARGET/tracker-old"
cp "$TARGET/tracker-old/release/tracker" "$TARGET/tracker-old/tracker-$(git rev-parse --short "$OLD")"
OLD_BIN="$TARGET/tracker-old/tracker-$(git rev-parse --short "$OLD")" \
  ONLY="${ONLY:-ours old}" ROUNDS="${ROUNDS:-3}" DURATION="${DURATION:-10}" \
  SPLIT_CONNECTIONS="${SPLIT_CONNECTIONS:-0}" OPEN_RATE="${OPEN_RATE:-0}" \
  bench/tracker.sh | tee "$TARGET/tracker-compare.txt"
echo
echo "new/old: the rows marked old show ours/old (1.00x = as fast; req/s above 0.95x is within 5 %)"
