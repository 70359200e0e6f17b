#!/usr/bin/python3.11
"""A libtorrent peer for the network lab: seeds or downloads one torrent on one lab host.

usage: lt_peer.py --meta F.meta --dir DIR --bind IP --port P [--seed]

Prints JSON lines on stdout, like `swarm --json`:
  {"event":"progress","pieces":N,"uploaded":B,"downloaded":B,"failed":B,"peers":N}  (twice a second)
  {"event":"complete"}  once every piece is verified
Runs until SIGTERM/SIGINT. Peers come from the metainfo's tracker only: DHT, local service
discovery, UPnP, NAT-PMP are off and no plugins are loaded (no ut_pex). TCP only (uTP off), so
every peer's transfers use the kernel's congestion control, as the other clients' do. Every
address is put in the global peer class: libtorrent would otherwise treat the lab's private
addresses as "local" peers, exempt from choking and rate limits, which no real swarm is.
Run with Debian's /usr/bin/python3.11, which sees python3-libtorrent.
"""
import argparse
import json
import signal
import sys
import time

import libtorrent as lt


def session(bind, port):
    settings = {
        "listen_interfaces": "%s:%d" % (bind, port),
        "outgoing_interfaces": bind,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "alert_mask": lt.alert_category.error | lt.alert_category.status,
        "user_agent": "swarm-lab-libtorrent",
    }
    ses = lt.session(settings, 0)  # flags 0: no default plugins
    f = lt.ip_filter()
    f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
    ses.set_peer_class_filter(f)
    return ses


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seed", action="store_true", help="the data is there: seed without checking")
    args = ap.parse_args()

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))

    ses = session(args.bind, args.port)
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(args.meta)
    atp.save_path = args.dir
    atp.flags &= ~lt.torrent_flags.auto_managed
    atp.flags &= ~lt.torrent_flags.paused
    if args.seed:
        atp.flags |= lt.torrent_flags.seed_mode
    h = ses.add_torrent(atp)
    emit({"event": "listening", "port": ses.listen_port()})

    complete = False
    last = 0.0
    while not stopping:
        for a in ses.pop_alerts():
            if a.category() & lt.alert_category.error:
                emit({"event": "error", "message": "%s: %s" % (type(a).__name__, a.message())})
        s = h.status()
        if s.is_seeding and not complete:
            complete = True
            emit({"event": "complete"})
        now = time.time()
        if now - last >= 0.5:
            last = now
            emit({
                "event": "progress",
                "pieces": s.num_pieces,
                "uploaded": s.total_payload_upload,
                "downloaded": s.total_payload_download,
                "failed": s.total_failed_bytes,
                "peers": s.num_peers,
            })
        time.sleep(0.05)
    # Let libtorrent close its files (and flush what it wrote) before exiting.
    h.pause()
    ses.pause()
    del h
    del ses


if __name__ == "__main__":
    main()
