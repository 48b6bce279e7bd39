#!/usr/bin/env python3
"""The load generators of bench/mixed.sh, each bounded in count and time.

  mixed.py hold PORT N SECONDS        N held registrations (PUT ...?hold) on raw
                                      sockets, kept open SECONDS at most (or
                                      until SIGTERM)
  mixed.py park PORT N SECONDS        N blocking queries (GET /parked?index=..&wait=..)
                                      parked on raw sockets, kept SECONDS at most
  mixed.py write PORT RATE SECONDS    RATE changes/s for SECONDS to /chg/k0..k9,
                                      each body stamped with the wall clock
                                      (ns) just before it is sent
  mixed.py watch PORT SECONDS         blocking queries on /chg for SECONDS;
                                      prints one propagation delay (ms) a line
                                      for every change seen: arrival of the
                                      answer minus the stamp of the write
"""
import http.client
import json
import signal
import socket
import sys
import time

what, port = sys.argv[1], int(sys.argv[2])


def keep_open(n, request, seconds):
    """Opens N connections, sends `request(i)` on the i-th and keeps them
    all open for SECONDS (or until SIGTERM), reading nothing."""
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(request(i))
        socks.append(s)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    end = time.time() + seconds
    while time.time() < end:
        time.sleep(0.2)


def hold(n, seconds):
    def put(i):
        body = b'{"host":"10.0.0.1","port":%d}' % (1000 + i % 50000)
        return b"PUT /held/i%d?hold HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (i, len(body), body)
    keep_open(n, put, seconds)


def park(n, seconds):
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("GET", "/parked")
    r = c.getresponse()
    r.read()
    index = r.getheader("X-Rarangi-Index")
    wait = min(int(seconds) + 60, 300)
    keep_open(n, lambda _: b"GET /parked?index=%s&wait=%ds HTTP/1.1\r\nHost: x\r\n\r\n" % (index.encode(), wait), seconds)


def write(rate, seconds):
    c = http.client.HTTPConnection("127.0.0.1", port)
    n = int(rate * seconds)
    t0 = time.time()
    for i in range(n):
        d = t0 + i / rate - time.time()
        if d > 0:
            time.sleep(d)
        stamp = time.time_ns()
        c.request("PUT", f"/chg/k{i % 10}", body='{"host":"h","port":1,"t":%d}' % stamp)
        r = c.getresponse()
        r.read()
        if r.status not in (200, 201):
            sys.exit(f"write answered {r.status}")
    print(n, f"{time.time() - t0:.3f}")


def watch(seconds):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    seen = None
    index = "0"
    end = time.time() + seconds
    while time.time() < end:
        c.request("GET", f"/chg?index={index}&wait=2s")
        r = c.getresponse()
        body = r.read()
        now = time.time_ns()
        index = r.getheader("X-Rarangi-Index", index)
        if r.status != 200:
            continue
        doc = json.loads(body)
        stamps = {k: v.get("t") for k, v in doc.items()}
        if seen is not None:
            for k, t in stamps.items():
                if t is not None and seen.get(k) != t:
                    print(f"{(now - t) / 1e6:.3f}")
        seen = stamps


if what == "hold":
    hold(int(sys.argv[3]), float(sys.argv[4]))
elif what == "park":
    park(int(sys.argv[3]), float(sys.argv[4]))
elif what == "write":
    write(float(sys.argv[3]), float(sys.argv[4]))
elif what == "watch":
    watch(float(sys.argv[3]))
else:
    sys.exit(__doc__)
