#!/bin/sh
# Seeds the fuzz corpora: the metainfo fixtures (good and bad), and a few peer-wire streams,
# extension payloads, magnet links, and tracker replies and datagrams. Run from anywhere:
#   fuzz/seed-corpus.sh && RUSTC_BOOTSTRAP=1 cargo fuzz run parse_metainfo --fuzz-dir fuzz
set -eu
cd "$(dirname "$0")"
mkdir -p corpus/parse_metainfo corpus/bencode corpus/wire_codec corpus/extension_payloads corpus/magnet \
    corpus/tracker_formats
for f in ../fixtures/*.meta ../fixtures/bad/*.meta; do
    # Skip the multi-megabyte ones: they slow every iteration down.
    [ "$(wc -c < "$f")" -lt 100000 ] || continue
    cp "$f" "corpus/parse_metainfo/$(basename "$(dirname "$f")")-$(basename "$f")"
    cp "$f" "corpus/bencode/$(basename "$(dirname "$f")")-$(basename "$f")"
done

# wire_codec: control byte 0xff (default limits), then framed messages.
# have all, have none, suggest 5, allowed fast 7, reject (1, 16384, 16384).
printf '\377\000\000\000\001\016\000\000\000\001\017\000\000\000\005\015\000\000\000\005\000\000\000\005\021\000\000\000\007\000\000\000\015\020\000\000\000\001\000\000\100\000\000\000\100\000' \
    > corpus/wire_codec/fast
# An extended handshake (id 0) and a ut_metadata request (our id 1).
printf '\377\000\000\000\032\024\000d1:md11:ut_metadatai1eee\000\000\000\033\024\001d8:msg_typei0e5:piecei0ee' \
    > corpus/wire_codec/extended

# extension_payloads: selector byte (0 handshake, 1 ut_metadata, 2 ut_pex, 3 fetch script).
printf '\000d1:md11:ut_metadatai2e6:ut_pexi1ee13:metadata_sizei5051e1:pi6881e4:reqqi500e1:v5:lt2.06:yourip4:\177\000\000\001e' \
    > corpus/extension_payloads/handshake
printf '\001d8:msg_typei1e5:piecei0e10:total_sizei3eeabc' > corpus/extension_payloads/metadata-data
printf '\002d5:added6:\001\002\003\004\032\3417:added.f1:\0027:dropped0:e' > corpus/extension_payloads/pex
# add peer 0 and 1 at the true size, request from both, answer pieces 0..2, one corrupted.
printf '\003\000\000\000\001\000\001\000\001\002\000\000\000\002\001\000\000\003\000\000\000\003\000\000\001\004\001\000\002\003\000\000\002' \
    > corpus/extension_payloads/fetch

# magnet: links, one with an info dictionary after a NUL.
printf 'magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=Some+File&tr=http%%3A%%2F%%2F127.0.0.1%%3A8000%%2Fannounce&x.pe=127.0.0.1:6881' \
    > corpus/magnet/hex
printf 'magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK&xt.1=urn:btmh:1220ab&tr.1=udp://[::1]:6969&x.pe=[::1]:1' \
    > corpus/magnet/base32
printf 'magnet:?xt=urn:btih:00\000d6:lengthi5e4:name5:hello12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae' \
    > corpus/magnet/with-info

# tracker_formats: HTTP announce replies (compact with peers6, dictionary peers), a scrape
# reply, and BEP 15 datagrams: connect and announce (with BEP 41 URL data) requests, an
# announce reply with two IPv4 peers, a scrape reply, an error.
printf 'd8:completei3e10:incompletei1e8:intervali1800e12:min intervali60e5:peers12:\177\000\000\001\032\341\177\000\000\002\032\3426:peers618:\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\001\032\341e' \
    > corpus/tracker_formats/announce-compact
printf 'd8:intervali900e5:peersld2:ip9:127.0.0.17:peer id20:-SW0100-abcdefghijkl4:porti6881eeee' \
    > corpus/tracker_formats/announce-dict
printf 'd5:filesd20:aaaaaaaaaaaaaaaaaaaad8:completei2e10:downloadedi5e10:incompletei1eeee' \
    > corpus/tracker_formats/scrape
printf '\000\000\004\027\047\020\031\200\000\000\000\000\000\000\000\007' > corpus/tracker_formats/udp-connect
printf '\000\000\000\000\000\000\000\001\000\000\000\001\000\000\000\011aaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbb\000\000\000\000\000\000\000\000\000\000\000\000\000\000\020\000\000\000\000\000\000\000\000\000\000\000\000\002\000\000\000\000\000\000\000\005\377\377\377\377\032\341\002\011/announce\000' \
    > corpus/tracker_formats/udp-announce
printf '\000\000\000\001\000\000\000\011\000\000\007\010\000\000\000\001\000\000\000\002\177\000\000\001\032\341\177\000\000\002\032\342' \
    > corpus/tracker_formats/udp-announce-reply
printf '\000\000\000\002\000\000\000\011\000\000\000\002\000\000\000\005\000\000\000\001' > corpus/tracker_formats/udp-scrape-reply
printf '\000\000\000\003\000\000\000\011unknown torrent' > corpus/tracker_formats/udp-error
