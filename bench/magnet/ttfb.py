#!/usr/bin/python3.11
"""Driver of bench/magnet.sh (read its header): time to first byte from a magnet link.

Starts our tracker and `swarm seed` once, then runs each leecher (swarm, libtorrent, aria2c)
REPEAT times in interleaved rounds, each into an empty folder with only the magnet link, and
measures from its start until the payload file first has data blocks on disk, and until the
leecher exits complete (checked byte for byte).
"""
import argparse
import filecmp
import hashlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

POLL = 0.005
LIMIT = 300


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    sys.exit("magnet.sh: nothing listens on port %d" % port)


def size_bytes(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text[-1].upper() in units:
        return int(text[:-1]) * units[text[-1].upper()]
    return int(text)


def info_hash(meta):
    data = open(meta, "rb").read()
    start = data.index(b"4:infod") + 6
    return hashlib.sha1(data[start:-1]).hexdigest()


def leecher_command(name, args, link, out, port):
    lt_leech = os.path.join(args.root, "tests", "scripts", "lt_leech.py")
    if name == "swarm":
        return [os.path.join(args.target, "release", "swarm"), "get", link, "-o", out,
                "--port", str(port), "--bind", "127.0.0.1", "-q",
                "--state-dir", out + ".state"]
    if name == "libtorrent":
        return ["/usr/bin/python3.11", lt_leech, "--magnet", link, "--dir", out,
                "--port", str(port), "--timeout", str(LIMIT), "--quiet",
                "--plugin", "ut_metadata"]
    return ["aria2c", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
            "--enable-peer-exchange=false", "--disable-ipv6=true", "--interface=127.0.0.1",
            "--summary-interval=0", "--console-log-level=error", "--file-allocation=none",
            "--bt-save-metadata=false", "--follow-torrent=mem", "--no-conf=true",
            "--seed-time=0", "--listen-port=%d" % port, "--dir=" + out, link]


def run_leecher(name, args, link, payload, round_no):
    out = os.path.join(args.work, "%s-%d" % (name, round_no))
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(out + ".state", ignore_errors=True)
    os.makedirs(out)
    target = os.path.join(out, os.path.basename(payload))
    cmd = leecher_command(name, args, link, out, free_port())
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = None
    try:
        while proc.poll() is None and time.monotonic() - start < LIMIT:
            if first is None:
                try:
                    if os.stat(target).st_blocks > 0:
                        first = time.monotonic() - start
                except FileNotFoundError:
                    pass
            time.sleep(POLL)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
            sys.exit("magnet.sh: %s did not finish within %d s" % (name, LIMIT))
    finally:
        if proc.poll() is None:
            proc.kill()
    done = time.monotonic() - start
    if proc.returncode != 0 or not filecmp.cmp(payload, target, shallow=False):
        sys.exit("magnet.sh: %s failed (exit %s): %s" % (name, proc.returncode,
                                                         proc.stderr.read().decode()[-500:]))
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(out + ".state", ignore_errors=True)
    return first if first is not None else done, done


def main():
    ap = argparse.ArgumentParser()
    for a in ("--root", "--target", "--work", "--size"):
        ap.add_argument(a, required=True)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    seed_dir = os.path.join(args.work, "seed")
    os.makedirs(seed_dir)
    payload = os.path.join(seed_dir, "payload.bin")
    with open(payload, "wb") as f:
        f.write(os.urandom(size_bytes(args.size)))
    bin_dir = os.path.join(args.target, "release")
    tracker_port = free_port()
    procs = []
    try:
        procs.append(subprocess.Popen(
            [os.path.join(bin_dir, "tracker"), "--listen", "127.0.0.1:%d" % tracker_port,
             "--udp", "off", "--interval", "2", "--data-dir", os.path.join(args.work, "tracker")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(tracker_port)
        announce = "http://127.0.0.1:%d/announce" % tracker_port
        meta = os.path.join(seed_dir, "payload.meta")
        subprocess.run([os.path.join(bin_dir, "mkmeta"), payload, "-o", meta, "-t", announce],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seed_port = free_port()
        procs.append(subprocess.Popen(
            [os.path.join(bin_dir, "swarm"), "seed", meta, "--port", str(seed_port),
             "--bind", "127.0.0.1", "-q", "--state-dir", os.path.join(args.work, "seed.state")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(seed_port)
        time.sleep(3)  # its first announce
        link = "magnet:?xt=urn:btih:%s&dn=payload.bin&tr=%s" % (
            info_hash(meta), announce.replace(":", "%3A").replace("/", "%2F"))
        results = {"swarm": [], "libtorrent": [], "aria2c": []}
        for round_no in range(args.repeat):
            for name in results:
                first, done = run_leecher(name, args, link, payload, round_no)
                results[name].append((first, done))
                print("round %d %-10s first byte %.3f s, complete %.3f s"
                      % (round_no + 1, name, first, done), file=sys.stderr, flush=True)
        report(results, args)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def report(results, args):
    med = {name: (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
           for name, runs in results.items()}
    print("magnet link, %s payload, seeder `swarm seed`, %d rounds, medians (%d cores, load %.2f):"
          % (args.size, args.repeat, os.cpu_count(), os.getloadavg()[0]))
    for name, (first, done) in med.items():
        print("  %-10s first byte %7.3f s   complete %7.3f s" % (name, first, done))
    for other in ("libtorrent", "aria2c"):
        print("  ratio swarm/%-10s first byte %.2f   complete %.2f"
              % (other, med["swarm"][0] / med[other][0], med["swarm"][1] / med[other][1]))


if __name__ == "__main__":
    main()
