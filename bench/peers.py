#!/usr/bin/env python3
"""The measurements of bench/peers.sh: six rarangid, a 3-member etcd cluster
and a 3-server ZooKeeper ensemble, all already running on loopback (their
ports and pids in the JSON file named on the command line). Prints one table:
each figure for rarangi and a peer, measured in this run, and their ratio.

Every time is taken in this one process with one monotonic clock
(time.perf_counter): just before a write is sent, and when a watcher of
another daemon or member receives it.

Usage: bench/peers.py ENDPOINTS.json   (written by bench/peers.sh)
"""
import base64, collections, http.client, json, os, select, signal, socket, statistics, subprocess, sys, threading, time

cfg = json.load(open(sys.argv[1]))
WORK, SECS = cfg["work"], int(cfg["secs"])
RP, RPID = cfg["rarangi"]["ports"], cfg["rarangi"]["pids"]
EP, EPID = cfg["etcd"]["ports"], cfg["etcd"]["pids"]
ZP, ZPID = cfg["zookeeper"]["ports"], cfg["zookeeper"]["pids"]
H = "127.0.0.1"
RATE, PROP_SECS, KEYS = 1000, 5, 100
ROUNDS = 5
RECORDS = 100_000
children = []  # processes this script starts; killed on the way out
now = time.perf_counter


def b64(s):
    return base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()


def unb64(s):
    return base64.b64decode(s)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def note(msg):
    print(msg, file=sys.stderr, flush=True)


# --- HTTP/1.1 on a raw socket: pipelined requests, responses read as they come.

def request(method, path, body=b"", headers=()):
    body = body.encode() if isinstance(body, str) else body
    head = f"{method} {path} HTTP/1.1\r\nHost: {H}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode() + b"\r\n" + body


class Reader:
    """Reads HTTP/1.1 responses (Content-Length or chunked) from a socket."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def take_until(self, sep):
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + len(sep):]
                return out
            self.fill()

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def head(self):
        lines = self.take_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return int(lines[0].split()[1]), headers

    def chunk(self):
        size = int(self.take_until(b"\r\n").split(b";")[0], 16)
        data = self.take(size)
        self.take(2)
        return data

    def response(self):
        status, headers = self.head()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                c = self.chunk()
                if not c:
                    break
                body += c
        else:
            body = self.take(int(headers.get("content-length", "0")))
        return status, headers, body


class Pipeline:
    """One keep-alive connection whose requests are sent without waiting;
    a thread reads and counts the responses."""

    def __init__(self, port):
        self.sock = socket.create_connection((H, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sent = self.ok = self.bad = 0
        self.times, self.acks = collections.deque(), []
        self.thread = threading.Thread(target=self.drain, daemon=True)
        self.thread.start()

    def send(self, data):
        """Sends one request; returns the time just before it was sent."""
        self.sent += 1
        t = now()
        self.times.append(t)
        self.sock.sendall(data)
        return t

    def drain(self):
        r = Reader(self.sock)
        try:
            while True:
                status, _, _ = r.response()
                self.acks.append((now() - self.times.popleft()) * 1000)
                if 200 <= status < 300:
                    self.ok += 1
                else:
                    self.bad += 1
        except (EOFError, OSError):
            pass

    def close(self, timeout=10):
        end = now() + timeout
        while self.ok + self.bad < self.sent and now() < end:
            time.sleep(0.01)
        self.sock.close()


def call(port, method, path, body=b"", timeout=10):
    c = http.client.HTTPConnection(H, port, timeout=timeout)
    c.request(method, path, body=body)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.headers, data


# --- etcd's gRPC gateway.

def etcd(port, path, doc):
    status, _, body = call(port, "POST", path, json.dumps(doc))
    if status != 200:
        raise RuntimeError(f"etcd {path}: {status} {body[:200]!r}")
    return json.loads(body)


def etcd_put_request(key, value, lease=None):
    doc = {"key": b64(key), "value": b64(value)}
    if lease:
        doc["lease"] = lease
    return request("POST", "/v3/kv/put", json.dumps(doc), [("Content-Type", "application/json")])


class EtcdWatch:
    """A /v3/watch stream on the gateway: events are yielded as they arrive."""

    def __init__(self, port, key, prefix=False):
        self.sock = socket.create_connection((H, port))
        req = {"key": b64(key)}
        if prefix:
            req["range_end"] = b64(key[:-1] + chr(ord(key[-1]) + 1))
        self.sock.sendall(request("POST", "/v3/watch", json.dumps({"create_request": req})))
        self.r = Reader(self.sock)
        status, headers = self.r.head()
        if status != 200:
            raise RuntimeError(f"etcd watch: {status}")
        self.chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        self.pending = ""
        first = self.message()
        assert first.get("result", {}).get("created"), first

    def message(self):
        dec = json.JSONDecoder()
        while True:
            text = self.pending.lstrip()
            if text:
                try:
                    doc, end = dec.raw_decode(text)
                    self.pending = text[end:]
                    return doc
                except ValueError:
                    pass
            if self.chunked:
                data = self.r.chunk()
            else:
                if not self.r.buf:
                    self.r.fill()
                data, self.r.buf = self.r.buf, b""
            self.pending += data.decode()

    def events(self):
        while True:
            doc = self.message()
            for ev in doc.get("result", {}).get("events", []) or []:
                yield ev

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# --- ZooKeeper (kazoo).

def kazoo(port, timeout=10.0):
    from kazoo.client import KazooClient
    import logging
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)
    c = KazooClient(hosts=f"{H}:{port}", timeout=timeout)
    c.start(timeout=15)
    return c


# --- 1. Propagation to a watcher of another daemon or member, 1,000 changes/s.

class Seen:
    """Write times by sequence number and the time each was first seen; a
    change is seen when the watcher's view shows it or a later change of the
    same key (which replaced it)."""

    def __init__(self, n):
        self.sent = [None] * n
        self.seen = [None] * n
        self.last = {k: k - KEYS for k in range(KEYS)}
        self.replaced = 0
        self.lock = threading.Lock()

    def saw(self, seq, t):
        with self.lock:
            k = seq % KEYS
            for s in range(self.last[k] + KEYS, seq + 1, KEYS):
                if self.seen[s] is None:
                    self.seen[s] = t
                    if s != seq:
                        self.replaced += 1
            self.last[k] = max(self.last[k], seq)

    def complete(self):
        return all(x is not None for x in self.seen)

    def latencies(self):
        return [(b - a) * 1000 for a, b in zip(self.sent, self.seen) if a is not None and b is not None]

    def missing(self):
        return sum(1 for a, b in zip(self.sent, self.seen) if a is not None and b is None)


def paced(n, send):
    t0 = now()
    for i in range(n):
        d = t0 + i / RATE - now()
        if d > 0:
            time.sleep(d)
        send(i)


def settle(seen, seconds=5):
    end = now() + seconds
    while not seen.complete() and now() < end:
        time.sleep(0.01)


def write_paced(seen, port, make_request, pipelines=8):
    """Sends request `make_request(i)` for every change of `seen` at the
    paced rate over keep-alive pipelines to PORT, noting when each was sent;
    waits for the watcher; returns (seen, refused writes, acknowledgement times)."""
    pipes = [Pipeline(port) for _ in range(pipelines)]

    def send(i):
        seen.sent[i] = pipes[i % len(pipes)].send(make_request(i))

    paced(len(seen.sent), send)
    settle(seen)
    for p in pipes:
        p.close()
    return seen, sum(p.bad for p in pipes), [a for p in pipes for a in p.acks]


def value(seq):
    return json.dumps({"host": "ip-10-0-12-34.eu-west-1.compute.internal", "port": 31234, "seq": seq})


def prop_rarangi():
    n = RATE * PROP_SECS
    seen = Seen(n)
    stop = threading.Event()
    _, hd, _ = call(RP["lb"], "GET", "/prop")
    index = hd.get("X-Rarangi-Index", "0")

    def watch():
        nonlocal index
        c = http.client.HTTPConnection(H, RP["lb"], timeout=30)
        while not stop.is_set():
            c.request("GET", f"/prop?index={index}&wait=2s")
            r = c.getresponse()
            body = r.read()
            t = now()
            index = r.headers.get("X-Rarangi-Index", index)
            if r.status == 200:
                for v in json.loads(body).values():
                    if isinstance(v, dict) and "seq" in v:
                        seen.saw(v["seq"], t)
        c.close()

    w = threading.Thread(target=watch, daemon=True)
    w.start()
    time.sleep(0.2)
    result = write_paced(seen, RP["la"], lambda i: request("PUT", f"/prop/k{i % KEYS}", value(i), [("Content-Type", "application/json")]))
    stop.set()
    return result


def prop_etcd():
    n = RATE * PROP_SECS
    seen = Seen(n)
    watch = EtcdWatch(EP[2], "prop/", prefix=True)

    def run():
        try:
            for ev in watch.events():
                t = now()
                kv = ev.get("kv", {})
                if ev.get("type", "PUT") == "PUT" and "value" in kv:
                    seen.saw(json.loads(unb64(kv["value"]))["seq"], t)
        except (EOFError, OSError, ValueError):
            pass

    w = threading.Thread(target=run, daemon=True)
    w.start()
    result = write_paced(seen, EP[0], lambda i: etcd_put_request(f"prop/k{i % KEYS}", value(i)))
    watch.close()
    return result


def prop_zookeeper():
    from kazoo.protocol.states import EventType
    n = RATE * PROP_SECS
    seen = Seen(n)
    w1, w3 = kazoo(ZP[0]), kazoo(ZP[2])
    try:
        w1.ensure_path("/prop")
        for k in range(KEYS):
            if not w1.exists(f"/prop/k{k}"):
                w1.create(f"/prop/k{k}", b"{}")
        w3.sync("/prop")
        stopping = threading.Event()

        def got(result):
            t = now()
            try:
                data, _ = result.get()
                doc = json.loads(data)
                if "seq" in doc:
                    seen.saw(doc["seq"], t)
            except Exception:
                pass

        def watcher(event):
            if event.type == EventType.CHANGED and not stopping.is_set():
                w3.get_async(event.path, watch=watcher).rawlink(got)

        for k in range(KEYS):
            w3.get(f"/prop/k{k}", watch=watcher)
        results, acks = [], []

        def send(i):
            data = value(i).encode()
            t = seen.sent[i] = now()
            r = w1.set_async(f"/prop/k{i % KEYS}", data)
            r.rawlink(lambda _, t=t: acks.append((now() - t) * 1000))
            results.append(r)

        paced(n, send)
        settle(seen)
        stopping.set()
        bad = 0
        for r in results:
            try:
                r.get(timeout=10)
            except Exception:
                bad += 1
        return seen, bad, acks
    finally:
        w1.stop(); w3.stop()


# --- 2. A holder killed with kill -9: gone at another daemon or member.

def spawn(args, **kw):
    p = subprocess.Popen(args, **kw)
    children.append(p)
    return p


def line_within(p, seconds):
    r, _, _ = select.select([p.stdout], [], [], seconds)
    return p.stdout.readline() if r else b""


def kill9(p):
    os.kill(p.pid, signal.SIGKILL)
    p.wait()


def gone_rarangi(i):
    key = f"h{i}"
    holder = spawn(["curl", "-s", "-N", "-X", "PUT", "-d", '{"host":"held","port":9}',
                    f"http://{H}:{RP['la']}/held/{key}?hold"], stdout=subprocess.DEVNULL)
    end = now() + 10
    while now() < end:
        status, hd, body = call(RP["lb"], "GET", "/held")
        if status == 200 and key in json.loads(body):
            break
        time.sleep(0.01)
    else:
        kill9(holder)
        raise RuntimeError("the held registration never reached leaf b")
    index = hd.get("X-Rarangi-Index")
    c = http.client.HTTPConnection(H, RP["lb"], timeout=30)
    t0 = now()
    kill9(holder)
    while now() - t0 < 20:
        c.request("GET", f"/held?index={index}&wait=10s")
        r = c.getresponse()
        body = r.read()
        t = now()
        index = r.headers.get("X-Rarangi-Index", index)
        if r.status != 200 or key not in json.loads(body):
            c.close()
            return (t - t0) * 1000
    raise RuntimeError("the held registration was still at leaf b after 20 s")


def gone_etcd(i):
    grant = etcd(EP[0], "/v3/lease/grant", {"TTL": 1})
    lease, ttl = grant["ID"], int(grant["TTL"])
    key = f"held/h{i}"
    etcd(EP[0], "/v3/kv/put", {"key": b64(key), "value": b64('{"host":"held","port":9}'), "lease": lease})
    keeper = spawn(["etcdctl", f"--endpoints={H}:{EP[0]}", "lease", "keep-alive", format(int(lease), "x")],
                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if b"keepalived" not in line_within(keeper, 5):
        kill9(keeper)
        raise RuntimeError("etcdctl lease keep-alive did not keep the lease alive")
    watch = EtcdWatch(EP[2], key)
    t0 = now()
    kill9(keeper)
    try:
        for ev in watch.events():
            if ev.get("type") == "DELETE":
                return (now() - t0) * 1000, ttl
            if now() - t0 > 30:
                break
    finally:
        watch.close()
    raise RuntimeError("no DELETE event within 30 s")


ZK_HOLDER = r"""
import logging, sys, time
from kazoo.client import KazooClient
logging.getLogger("kazoo").setLevel(logging.CRITICAL)
c = KazooClient(hosts=sys.argv[1], timeout=float(sys.argv[3]))
c.start(timeout=15)
c.create(sys.argv[2], b'{"host":"held","port":9}', ephemeral=True, makepath=True)
print(getattr(c, "_session_timeout", int(float(sys.argv[3]) * 1000)), flush=True)
time.sleep(120)
"""


def gone_zookeeper(i, w3, min_timeout_s):
    from kazoo.protocol.states import EventType
    path = f"/held/h{i}"
    holder = spawn(["/usr/bin/python3", "-c", ZK_HOLDER, f"{H}:{ZP[0]}", path, str(min_timeout_s)],
                   stdout=subprocess.PIPE)
    negotiated = line_within(holder, 20).strip()
    if not negotiated:
        kill9(holder)
        raise RuntimeError("the ZooKeeper holder did not create its ephemeral node")
    deleted = threading.Event()
    w3.sync(path)

    def watcher(event):
        if event.type == EventType.DELETED:
            deleted.t = now()
            deleted.set()

    if not w3.exists(path, watch=watcher):
        raise RuntimeError("the ephemeral node is not at server 3")
    t0 = now()
    kill9(holder)
    if not deleted.wait(60):
        raise RuntimeError("no NodeDeleted within 60 s")
    return (deleted.t - t0) * 1000, int(negotiated)


# --- 3. Resident memory for 100,000 records of ~150 bytes.

def record(i):
    return ('{"site":"eu-1b","host":"ip-10-%d-%d-%d.eu-west-1.compute.internal","port":%d,'
            '"updated_at":"2026-11-21T10:00:30Z","started_at":"2026-11-21T09:58:00Z"}'
            % (i // 65536 % 256, i // 256 % 256, i % 256, 20000 + i % 40000))


def pipelined_load(port, make, count, conns=16, batch=200):
    """Sends `count` requests over `conns` keep-alive connections, `batch`
    in flight on each; fails on any non-2xx."""
    errors = []

    def worker(lo, hi):
        s = socket.create_connection((H, port))
        r = Reader(s)
        try:
            for base in range(lo, hi, batch):
                top = min(hi, base + batch)
                s.sendall(b"".join(make(i) for i in range(base, top)))
                for _ in range(base, top):
                    status, _, body = r.response()
                    if not 200 <= status < 300:
                        errors.append(f"{status} {body[:120]!r}")
                        return
        finally:
            s.close()

    step = (count + conns - 1) // conns
    ts = [threading.Thread(target=worker, args=(lo, min(count, lo + step))) for lo in range(0, count, step)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise RuntimeError("load: " + errors[0])


def memory_rarangi():
    before = {n: rss_kib(p) for n, p in RPID.items()}
    count0 = json.loads(call(RP["lb"], "GET", "/_status")[2])["instances"]
    t0 = now()
    object_bytes = int(subprocess.run(["/usr/bin/python3", "bench/load.py", H, str(RP["la"]), str(RECORDS)],
                                      capture_output=True, text=True, check=True).stdout)
    load_s = now() - t0
    end = now() + 60
    while json.loads(call(RP["lb"], "GET", "/_status")[2])["instances"] < count0 + RECORDS and now() < end:
        time.sleep(0.1)
    time.sleep(1)
    after = {n: rss_kib(p) for n, p in RPID.items()}
    return {n: (after[n] - before[n]) * 1024 / RECORDS for n in RPID}, object_bytes / RECORDS, load_s


def memory_etcd():
    before = [rss_kib(p) for p in EPID]
    make = lambda i: etcd_put_request(f"svc-{i % 100}/inst-{i}", record(i))
    t0 = now()
    pipelined_load(EP[0], make, RECORDS, conns=32, batch=100)
    load_s = now() - t0
    n = int(etcd(EP[0], "/v3/kv/range", {"key": b64("svc-"), "range_end": b64("svc."), "count_only": True}).get("count", 0))
    time.sleep(1)
    after = [rss_kib(p) for p in EPID]
    return [(a - b) * 1024 / RECORDS for a, b in zip(after, before)], n, load_s


def memory_zookeeper():
    before = [rss_kib(p) for p in ZPID]
    c = kazoo(ZP[0])
    try:
        c.ensure_path("/mem")
        for s in range(100):
            c.create(f"/mem/svc-{s}", b"")
        t0 = now()
        window, pending, bad = 2000, [], 0
        for i in range(RECORDS):
            pending.append(c.create_async(f"/mem/svc-{i % 100}/inst-{i}", record(i).encode()))
            if len(pending) >= window:
                for r in pending:
                    try:
                        r.get(timeout=30)
                    except Exception:
                        bad += 1
                pending = []
        for r in pending:
            try:
                r.get(timeout=30)
            except Exception:
                bad += 1
        load_s = now() - t0
        n = sum(c.get("/mem/svc-%d" % s)[1].numChildren for s in range(100))
    finally:
        c.stop()
    time.sleep(1)
    after = [rss_kib(p) for p in ZPID]
    return [(a - b) * 1024 / RECORDS for a, b in zip(after, before)], n, bad, load_s


# --- 4. Lookups/s and registrations/s with wrk.

def wrk(url, script=None, secs=SECS):
    args = ["wrk", "-t1", "-c50", f"-d{secs}s"] + (["-s", script] if script else []) + [url]
    out = subprocess.run(args, capture_output=True, text=True, timeout=secs + 30).stdout
    rps = [l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec:")]
    errs = [l.strip() for l in out.splitlines() if "Non-2xx" in l or "Socket errors" in l]
    return float(rps[0]) if rps else float("nan"), errs


def write_lua():
    web = {i: ('{"site":"eu-1b","host":"ip-10-0-12-3%d.eu-west-1.compute.internal","port":3123%d,'
               '"updated_at":"2026-11-21T10:00:30Z","started_at":"2026-11-21T09:58:00Z"}' % (i, i)) for i in (1, 2, 3)}
    rng = json.dumps({"key": b64("web/"), "range_end": b64("web0")})
    ser = json.dumps({"key": b64("web/"), "range_end": b64("web0"), "serializable": True})
    for name, body in (("range.lua", rng), ("range-serializable.lua", ser)):
        with open(os.path.join(WORK, name), "w") as f:
            f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                    f"wrk.body = {json.dumps(body)}\n")
    # The same refresh bodies as bench/put.lua, base64 in etcd's JSON, precomputed.
    bodies = []
    for n in range(1, 3601):
        v = ('{"site":"eu-1b","host":"ip-10-0-12-34.eu-west-1.compute.internal","port":31234,'
             '"updated_at":"2026-11-21T10:%02d:%02dZ","seq":%d}' % ((n // 60) % 60, n % 60, n))
        bodies.append(json.dumps({"key": b64("web/i-1"), "value": b64(v)}))
    with open(os.path.join(WORK, "etcd-put.lua"), "w") as f:
        f.write("local bodies = {\n" + ",\n".join(json.dumps(b) for b in bodies) + "\n}\nlocal n = 0\n"
                "request = function()\n  n = n % #bodies + 1\n"
                '  return wrk.format("POST", "/v3/kv/put", {["Content-Type"] = "application/json"}, bodies[n])\nend\n')
    return web


def throughput():
    web = write_lua()
    for i, body in web.items():
        call(RP["la"], "PUT", f"/web/i-{i}", body)
        etcd(EP[0], "/v3/kv/put", {"key": b64(f"web/i-{i}"), "value": b64(body)})
    ours = f"http://{H}:{RP['la']}"
    theirs = f"http://{H}:{EP[0]}"
    wrk(ours + "/web", secs=2)
    wrk(theirs + "/v3/kv/range", os.path.join(WORK, "range.lua"), secs=2)
    res = {}
    res["get"] = wrk(ours + "/web")
    res["range"] = wrk(theirs + "/v3/kv/range", os.path.join(WORK, "range.lua"))
    res["range_s"] = wrk(theirs + "/v3/kv/range", os.path.join(WORK, "range-serializable.lua"))
    res["put"] = wrk(ours + "/web/i-1", "bench/put.lua")
    res["etcd_put"] = wrk(theirs + "/v3/kv/put", os.path.join(WORK, "etcd-put.lua"))
    return res


def etcd_leader():
    for i, p in enumerate(EP):
        st = etcd(p, "/v3/maintenance/status", {})
        if st.get("leader") == st.get("header", {}).get("member_id"):
            return f"e{i + 1}"
    return "?"


def zk_modes():
    modes = []
    for p in ZP:
        s = socket.create_connection((H, p), 2)
        s.sendall(b"srvr")
        d = b""
        while True:
            c = s.recv(4096)
            if not c:
                break
            d += c
        modes += [l.split()[1] for l in d.decode().splitlines() if l.startswith("Mode:")]
    return modes


def main():
    rows, notes = [], []

    def row(figure, ours, peer, theirs, unit, fmt="{:.2f}"):
        ratio = ours / theirs if theirs and theirs == theirs and ours == ours else float("nan")
        rows.append((figure, (fmt.format(ours) + " " + unit) if ours == ours else "n/a", peer,
                     (fmt.format(theirs) + " " + unit) if theirs == theirs else "n/a",
                     f"{ratio:.3g}x" if ratio == ratio else "n/a"))

    leader = etcd_leader()
    notes.append(f"etcd leader: {leader}; ZooKeeper modes (servers 1-3): {', '.join(zk_modes())}")

    # 1. Propagation.
    note("1/4 propagation at 1,000 changes/s ...")
    results = {}
    for name, fn in (("rarangi", prop_rarangi), ("etcd", prop_etcd), ("zookeeper", prop_zookeeper)):
        try:
            seen, bad, acks = fn()
            lat = seen.latencies()
            results[name] = (pct(lat, .5), pct(lat, .99), max(lat) if lat else float("nan"))
            notes.append(f"propagation {name}: {len(lat):,} of {RATE * PROP_SECS:,} changes seen "
                         f"({seen.replaced:,} only as replaced by a later change of the same key), "
                         f"{seen.missing():,} never, {bad} writes refused; the writer's acknowledgement p50 "
                         f"{pct(acks, .5):.2f} ms, p99 {pct(acks, .99):.2f} ms")
        except Exception as e:
            results[name] = (float("nan"),) * 3
            notes.append(f"propagation {name}: failed: {e!r}")
    for k, label in enumerate(("p50", "p99", "max")):
        for peer in ("etcd", "zookeeper"):
            row(f"1. propagation {label}, change -> watcher elsewhere", results["rarangi"][k], peer, results[peer][k], "ms")

    # 2. kill -9 -> gone at another daemon / member.
    note("2/4 kill -9 of a holder -> gone elsewhere ...")
    ours = [gone_rarangi(i) for i in range(ROUNDS)]
    ets, ttl = [], None
    for i in range(ROUNDS):
        t, ttl = gone_etcd(i)
        ets.append(t)
    zks, neg = [], None
    w3 = kazoo(ZP[2])
    try:
        for i in range(ROUNDS):
            try:
                t, neg = gone_zookeeper(i, w3, 4.0)
                zks.append(t)
            except Exception as e:
                notes.append(f"kill -9 zookeeper round {i}: failed: {e!r}")
    finally:
        w3.stop()
    med = lambda xs: statistics.median(xs) if xs else float("nan")
    mx = lambda xs: max(xs) if xs else float("nan")
    row(f"2. kill -9 -> gone elsewhere, median of {ROUNDS}", med(ours), "etcd", med(ets), "ms", "{:.1f}")
    row(f"2. kill -9 -> gone elsewhere, max of {ROUNDS}", mx(ours), "etcd", mx(ets), "ms", "{:.1f}")
    row(f"2. kill -9 -> gone elsewhere, median of {ROUNDS}", med(ours), "zookeeper", med(zks), "ms", "{:.1f}")
    row(f"2. kill -9 -> gone elsewhere, max of {ROUNDS}", mx(ours), "zookeeper", mx(zks), "ms", "{:.1f}")
    notes.append("kill -9 rarangi: curl -N ...?hold at leaf a killed, a blocking query at leaf b sees it gone; all ms: "
                 + ", ".join(f"{x:.1f}" for x in ours))
    notes.append(f"kill -9 etcd: lease granted with TTL 1 s came back as TTL {ttl} s (etcd's minimum), "
                 f"etcdctl lease keep-alive at e1 killed, watch at e3 sees DELETE; all ms: " + ", ".join(f"{x:.0f}" for x in ets))
    notes.append(f"kill -9 zookeeper: tickTime 2000 ms (ZooKeeper's default), session timeout asked 4000 ms, negotiated "
                 f"{neg} ms, holder at server 1 killed, exists-watch at server 3 sees NodeDeleted; all ms: "
                 + ", ".join(f"{x:.0f}" for x in zks))

    # 4. Throughput (before the memory load, on the same running daemons).
    note("3/4 lookups/s and registrations/s (wrk) ...")
    tp = throughput()
    row(f"4. lookups/s, wrk -t1 -c50 -d{SECS}s", tp["get"][0], "etcd", tp["range"][0], "req/s", "{:,.0f}")
    row(f"4. lookups/s, wrk -t1 -c50 -d{SECS}s", tp["get"][0], "etcd serializable", tp["range_s"][0], "req/s", "{:,.0f}")
    row(f"4. registrations/s, wrk -t1 -c50 -d{SECS}s", tp["put"][0], "etcd", tp["etcd_put"][0], "req/s", "{:,.0f}")
    for k, (_, errs) in tp.items():
        if errs:
            notes.append(f"wrk {k}: " + "; ".join(errs))

    # 3. Memory.
    note("4/4 resident memory for 100,000 records ...")
    ours_mem, obj, ours_load = memory_rarangi()
    et_mem, et_n, et_load = memory_etcd()
    try:
        zk_mem, zk_n, zk_bad, zk_load = memory_zookeeper()
    except Exception as e:
        zk_mem, zk_n, zk_bad, zk_load = [float("nan")] * 3, 0, 0, float("nan")
        notes.append(f"memory zookeeper: failed: {e!r}")
    row("3. resident memory per record (writer's RSS delta / n)", ours_mem["la"], "etcd", et_mem[0], "B", "{:,.0f}")
    row("3. resident memory per record (writer's RSS delta / n)", ours_mem["la"], "zookeeper", zk_mem[0], "B", "{:,.0f}")
    notes.append(f"memory: {RECORDS:,} records of {obj:.0f} bytes on average; rarangi loaded at leaf a in {ours_load:.1f} s "
                 "(bench/load.py), per record at every daemon: "
                 + ", ".join(f"{n} {v:,.0f} B" for n, v in ours_mem.items()))
    notes.append(f"memory etcd: {et_n:,} keys, loaded at e1 in {et_load:.1f} s (gateway /v3/kv/put, 32 keep-alive pipelined "
                 "connections); per record at e1, e2, e3: " + ", ".join(f"{v:,.0f} B" for v in et_mem))
    notes.append(f"memory zookeeper: {zk_n:,} znodes ({zk_bad} failed), loaded at server 1 in {zk_load:.1f} s (kazoo async); "
                 "JVM -Xmx1000m, per record at servers 1, 2, 3: " + ", ".join(f"{v:,.0f} B" for v in zk_mem))

    rows.sort(key=lambda r: r[0][:2])
    print(f"\nrarangi (six daemons, two clusters) beside etcd 3 members and ZooKeeper 3 servers, loopback, "
          f"{os.cpu_count()} cores shared; ratio = rarangi / peer (lower is better for times and memory, higher for req/s)")
    w = max(len(r[0]) for r in rows)
    print(f"{'figure':{w}}  {'rarangi':>14}  {'peer':18} {'peer value':>14}  {'ratio':>9}")
    for fig, a, peer, b, ratio in rows:
        print(f"{fig:{w}}  {a:>14}  {peer:18} {b:>14}  {ratio:>9}")
    fs = subprocess.run(["stat", "-f", "-c", "%T", WORK], capture_output=True, text=True).stdout.strip() or "?"
    notes.append(f"durability: etcd and ZooKeeper write to disk and fsync each commit (their defaults; data dirs on {fs}); "
                 "rarangid keeps its replica in memory only, so its writes wait for no disk")
    notes.append("clients: etcd through its gRPC gateway (HTTP/1.1 JSON, base64 keys and values), ZooKeeper through kazoo "
                 "(Python; one-shot watches re-armed on every event), both in this process beside the writer")
    print()
    for n in notes:
        print("  " + n)


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in children:
            if p.poll() is None:
                p.kill()
                p.wait()
