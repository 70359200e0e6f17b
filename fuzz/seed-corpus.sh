#!/bin/sh
# Seeds the fuzz corpus with the metainfo fixtures (good and bad). Run from the repository root:
#   fuzz/seed-corpus.sh && RUSTC_BOOTSTRAP=1 cargo fuzz run parse_metainfo --fuzz-dir fuzz
set -eu
cd "$(dirname "$0")"
mkdir -p corpus/parse_metainfo corpus/bencode
for f in ../fixtures/*.meta ../fixtures/bad/*.meta; do
    # Skip the multi-megabyte ones: they slow every iteration down.
    [ "$(wc -c < "$f")" -lt 100000 ] || continue
    cp "$f" "corpus/parse_metainfo/$(basename "$(dirname "$f")")-$(basename "$f")"
    cp "$f" "corpus/bencode/$(basename "$(dirname "$f")")-$(basename "$f")"
done
