#!/usr/bin/python3.11
"""Download a torrent with libtorrent on 127.0.0.1 (no DHT/LSD/UPnP/NAT-PMP/PEX).

usage: lt_leech.py (--meta F.meta | --magnet URI) --dir OUT_DIR --port P [--peer HOST:PORT]... [--timeout S]
                   [--keep-seeding] [--quiet] [--done-file FILE] [--go-file FILE]

Peers come from the metainfo's tracker and/or --peer (dialed directly). Prints "listening PORT",
"progress FRACTION BYTES_PER_S PEERS UPLOADED_BYTES" lines, then "done SECONDS" when every piece is verified
and exits 0 (or keeps seeding with --keep-seeding until killed / --timeout). Exits 2 on timeout.
With --go-file it waits, listening, until FILE exists before it adds the torrent (so several
leechers can start at the same moment, their interpreter start-up not counted).
"""
import argparse
import os
import sys
import time

import libtorrent as lt

from lt_common import add_plugin_args, make_session, parse_peer, report_errors, wait_listening


def main():
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--meta")
    src.add_argument("--magnet", help="fetch the metadata from peers (needs --plugin ut_metadata)")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--peer", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=180)
    ap.add_argument("--keep-seeding", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--done-file", help="write the completion time (epoch seconds) here")
    ap.add_argument("--go-file", help="wait until this file exists before starting")
    add_plugin_args(ap)
    args = ap.parse_args()

    ses = make_session(args.port, False, args.plugin, args.upload_rate)
    port = wait_listening(ses)
    print("listening %d" % port, flush=True)
    if args.go_file:
        give_up = time.time() + args.timeout
        while not os.path.exists(args.go_file):
            if time.time() > give_up:
                sys.exit("libtorrent leecher: %s never appeared" % args.go_file)
            time.sleep(0.005)

    if args.magnet:
        atp = lt.parse_magnet_uri(args.magnet)
    else:
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(args.meta)
    atp.save_path = args.dir
    atp.flags &= ~lt.torrent_flags.auto_managed
    atp.flags &= ~lt.torrent_flags.paused
    start = time.time()
    h = ses.add_torrent(atp)
    if args.upload_rate:
        # A torrent's own limit: the session's leaves local (loopback) peers unlimited.
        h.set_upload_limit(args.upload_rate)
    for p in args.peer:
        h.connect_peer(parse_peer(p))

    deadline = start + args.timeout
    last = 0.0
    redial = start
    while True:
        s = h.status()
        if s.is_seeding:
            break
        if report_errors(ses):
            sys.exit("libtorrent leecher: torrent error")
        now = time.time()
        if now > deadline:
            print("timeout progress %.4f peers %d" % (s.progress, s.num_peers), flush=True)
            sys.exit(2)
        if args.peer and s.num_peers == 0 and now - redial > 2:
            for p in args.peer:
                h.connect_peer(parse_peer(p))
            redial = now
        if not args.quiet and now - last >= 0.5:
            print("progress %.4f %d %d %d" % (s.progress, s.download_rate, s.num_peers,
                                              s.total_payload_upload), flush=True)
            last = now
        time.sleep(0.01)
    finished = time.time()
    if args.done_file:
        with open(args.done_file, "w") as f:
            f.write("%.6f\n" % finished)
    print("done %.3f" % (finished - start), flush=True)
    if args.keep_seeding:
        while time.time() < deadline:
            report_errors(ses)
            print("uploaded %d" % h.status().total_payload_upload, flush=True)
            time.sleep(0.5)


if __name__ == "__main__":
    main()
