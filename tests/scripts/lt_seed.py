#!/usr/bin/python3.11
"""Seed a torrent with libtorrent on 127.0.0.1 (no DHT/LSD/UPnP/NAT-PMP/PEX).

usage: lt_seed.py --meta F.meta --dir DATA_DIR --port P [--peer HOST:PORT]... [--seconds N]
                  [--recheck] [--high-performance] [--stdin] [--plugin ut_metadata|ut_pex]...
                  [--upload-rate BYTES_PER_S]

Prints "listening PORT" when the port is open and "seeding" once it serves the data. With
--stdin it reads commands ("connect HOST:PORT") line by line and exits at end of input.
Exits after --seconds (default 900) in any case.
"""
import argparse
import sys
import threading
import time

import libtorrent as lt

from lt_common import add_plugin_args, make_session, parse_peer, report_errors, wait_listening


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--peer", action="append", default=[])
    ap.add_argument("--seconds", type=float, default=900)
    ap.add_argument("--recheck", action="store_true", help="check the data instead of seed_mode")
    ap.add_argument("--high-performance", action="store_true")
    ap.add_argument("--stdin", action="store_true", help="read 'connect HOST:PORT' commands")
    add_plugin_args(ap)
    args = ap.parse_args()

    ses = make_session(args.port, args.high_performance, args.plugin, args.upload_rate)
    port = wait_listening(ses)
    print("listening %d" % port, flush=True)

    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(args.meta)
    atp.save_path = args.dir
    atp.flags &= ~lt.torrent_flags.auto_managed
    atp.flags &= ~lt.torrent_flags.paused
    if not args.recheck:
        atp.flags |= lt.torrent_flags.seed_mode
    h = ses.add_torrent(atp)
    if args.upload_rate:
        # A torrent's own limit: the session's leaves local (loopback) peers unlimited.
        h.set_upload_limit(args.upload_rate)

    deadline = time.time() + args.seconds
    while not h.status().is_seeding:
        if report_errors(ses) or time.time() > deadline:
            sys.exit("libtorrent seeder: data not complete/valid in %s" % args.dir)
        time.sleep(0.05)
    for p in args.peer:
        h.connect_peer(parse_peer(p))
    print("seeding", flush=True)

    done = threading.Event()
    if args.stdin:
        def commands():
            for line in sys.stdin:
                words = line.split()
                if len(words) == 2 and words[0] == "connect":
                    h.connect_peer(parse_peer(words[1]))
            done.set()
        threading.Thread(target=commands, daemon=True).start()

    last = 0.0
    while not done.is_set() and time.time() < deadline:
        report_errors(ses)
        now = time.time()
        if now - last >= 5:
            s = h.status()
            print("uploaded %d peers %d" % (s.total_upload, s.num_peers), file=sys.stderr, flush=True)
            last = now
        time.sleep(0.1)


if __name__ == "__main__":
    main()
