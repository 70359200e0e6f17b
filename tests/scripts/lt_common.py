"""Shared by lt_seed.py and lt_leech.py: a libtorrent session that only talks on loopback.

DHT, local service discovery, UPnP, NAT-PMP are off and no default plugins are loaded (so no
ut_pex / ut_metadata) unless a test asks for them by name ("ut_metadata", "ut_pex"). Run with Debian's /usr/bin/python3.11, which sees python3-libtorrent.
"""
import sys
import time

import libtorrent as lt


def make_session(port, high_performance=False, plugins=(), upload_rate=0):
    settings = {}
    if high_performance:
        settings.update(lt.high_performance_seed())
    settings.update({
        "listen_interfaces": "127.0.0.1:%d" % port,
        "outgoing_interfaces": "127.0.0.1",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        # Every peer of a loopback test has the address 127.0.0.1.
        "allow_multiple_connections_per_ip": True,
        # TCP only: our client speaks TCP; trying uTP first only slows connections down.
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "alert_mask": lt.alert_category.error | lt.alert_category.status,
        "user_agent": "swarm-tests-libtorrent",
        "upload_rate_limit": upload_rate,
    })
    ses = lt.session(settings, 0)  # flags 0: no default plugins
    for name in plugins:
        ses.add_extension(name)
    return ses


def add_plugin_args(ap):
    """--plugin NAME (repeatable) and --upload-rate BYTES_PER_S."""
    ap.add_argument("--plugin", action="append", default=[], choices=["ut_metadata", "ut_pex"])
    ap.add_argument("--upload-rate", type=int, default=0)


def parse_peer(text):
    host, _, port = text.rpartition(":")
    return (host.strip("[]"), int(port))


def wait_listening(ses, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ses.is_listening() and ses.listen_port() != 0:
            return ses.listen_port()
        time.sleep(0.02)
    raise SystemExit("libtorrent: not listening after %.0fs" % timeout)


def report_errors(ses):
    """Print error alerts to stderr; return True if a fatal torrent error happened."""
    fatal = False
    for a in ses.pop_alerts():
        if a.category() & lt.alert_category.error:
            print("libtorrent alert: %s: %s" % (type(a).__name__, a.message()), file=sys.stderr, flush=True)
            if isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
                fatal = True
    return fatal
