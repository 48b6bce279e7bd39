#!/usr/bin/env python3
"""Replication benchmark: six rarangid on loopback (clusters a and b, each
two masters and a leaf). Prints propagation latency leaf→leaf at 1,000
changes/s, bootstrap time of a new daemon for 100,000 instances, idle link
bytes/s and convergence after a 30 s partition (iptables; root only).

With --sealed every daemon holds one cluster key (links authenticated and
sealed); with --compare it runs twice, without and with the key, and prints
both columns and their ratio (the seal's cost).

Usage: bench/replication.py PATH/TO/rarangid [--quick] [--sealed | --compare]
"""
import http.client, json, multiprocessing as mp, os, socket, subprocess, sys, time

BIN = sys.argv[1] if len(sys.argv) > 1 else ".build/release/rarangid"
QUICK = "--quick" in sys.argv
KEY_FILE = "/tmp/rarangi-bench-cluster.key"
SEALED = False
PORT = 4739
GOSSIP_MS = 1000
RULE = "rarangi-bench"
MEMBERS = [
    ("ma1", "127.0.32.1", ["--cluster", "a", "--master"]),
    ("ma2", "127.0.32.2", ["--cluster", "a", "--master", "--peer", f"127.0.32.1:{PORT}"]),
    ("la", "127.0.32.3", ["--cluster", "a", "--peer", f"127.0.32.1:{PORT}", "--peer", f"127.0.32.2:{PORT}"]),
    ("mb1", "127.0.32.4", ["--cluster", "b", "--master", "--peer", f"127.0.32.1:{PORT}"]),
    ("mb2", "127.0.32.5", ["--cluster", "b", "--master", "--peer", f"127.0.32.4:{PORT}"]),
    ("lb", "127.0.32.6", ["--cluster", "b", "--peer", f"127.0.32.4:{PORT}", "--peer", f"127.0.32.5:{PORT}"]),
]
HOST = {n: h for n, h, _ in MEMBERS}
procs = {}


def start(name, host, extra):
    args = [BIN, "--env", "testing", "--name", name, "--listen", f"{host}:{PORT}",
            "--gossip-interval", str(GOSSIP_MS), "--log-level", "warn", "--liveness", "3600"] + extra
    if SEALED:
        args += ["--cluster-key-file", KEY_FILE]
    procs[name] = subprocess.Popen(args, stderr=open(f"/tmp/bench-{name}.log", "w"))


def get(host, path):
    c = http.client.HTTPConnection(host, PORT, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


def status(name):
    return json.loads(get(HOST[name], "/_status")[1])


def wait(cond, seconds):
    end = time.time() + seconds
    while time.time() < end:
        try:
            if cond():
                return True
        except Exception:
            pass
        time.sleep(0.01)
    return False


def writer(rate, seconds):
    c = http.client.HTTPConnection(HOST["la"], PORT)
    n = int(rate * seconds)
    t0 = time.time()
    for i in range(n):
        due = t0 + i / rate
        d = due - time.time()
        if d > 0:
            time.sleep(d)
        body = json.dumps({"host": "h", "port": 1, "t": time.time_ns()})
        c.request("PUT", f"/bench/k{i % 1000}", body=body, headers={"Content-Type": "application/json"})
        c.getresponse().read()


def reader(seconds, out):
    c = http.client.HTTPConnection(HOST["lb"], PORT)
    seen = {}
    lat = []
    end = time.time() + seconds
    while time.time() < end:
        c.request("GET", "/bench")
        doc = json.loads(c.getresponse().read())
        now = time.time_ns()
        for k, v in doc.items():
            t = v.get("t")
            if t and seen.get(k) != t:
                seen[k] = t
                lat.append((now - t) / 1e6)
    out.put(lat)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def load(name, count):
    """PUT `count` ~150-byte instances, pipelined on one connection."""
    s = socket.create_connection((HOST[name], PORT))
    batch = 500
    for base in range(0, count, batch):
        req = b""
        for i in range(base, min(count, base + batch)):
            body = json.dumps({"site": "eu-1b", "host": f"ip-10-0-{i % 250}-{i % 199}.eu-west-1.compute.internal",
                               "port": 8000 + i % 1000, "updated_at": "2026-11-21T10:00:00Z",
                               "started_at": "2026-11-21T09:00:00Z"}).encode()
            req += b"PUT /svc%d/i%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (i % 100, i, len(body)) + body
        s.sendall(req)
        got = 0
        buf = b""
        while got < min(batch, count - base):
            buf += s.recv(1 << 20)
            got = buf.count(b"HTTP/1.1 ")
    s.close()


def iptables(args):
    return subprocess.run(["iptables"] + args, capture_output=True).returncode


def unrule():
    out = subprocess.run(["iptables", "-S", "INPUT"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if RULE in line and line.startswith("-A "):
            iptables(["-D"] + line[3:].replace('"', "").split())


def run(sealed):
    global SEALED
    SEALED = sealed
    procs.clear()
    HOST.pop("ln", None)
    results = []
    for n, h, extra in MEMBERS:
        start(n, h, extra)
    try:
        assert wait(lambda: all(len(status(m)["masters"].get(m, {}).get("reaches", [])) == 3 for m in ["ma1", "ma2", "mb1", "mb2"]), 15), "mesh"
        # 1. Propagation latency at 1,000 changes/s for 10 s.
        secs = 3 if QUICK else 10
        q = mp.Queue()
        r = mp.Process(target=reader, args=(secs + 1, q)); r.start()
        time.sleep(0.2)
        w = mp.Process(target=writer, args=(1000, secs)); w.start()
        w.join(); lat = q.get(); r.join()
        results.append(("propagation p50 leaf a -> leaf b (1,000 changes/s)", f"{pct(lat, .5):.2f} ms", ""))
        results.append(("propagation p99 leaf a -> leaf b (1,000 changes/s)", f"{pct(lat, .99):.2f} ms", "<= 10 ms"))
        # 1b. A holding client killed with SIGKILL: gone from the other cluster's leaf.
        gone = []
        for i in range(10 if QUICK else 40):
            holder = subprocess.Popen(["curl", "-s", "-N", "-X", "PUT", "-d", '{"host":"held","port":9}',
                                       f"http://{HOST['la']}:{PORT}/held/h{i}?hold"], stdout=subprocess.DEVNULL)
            path = "/held"
            if not wait(lambda: f'"h{i}"'.encode() in get(HOST["lb"], path)[1], 5):
                holder.kill()
                continue
            holder.kill()
            holder.wait()
            t0 = time.perf_counter()
            while f'"h{i}"'.encode() in get(HOST["lb"], path)[1] and time.perf_counter() - t0 < 5:
                pass
            gone.append((time.perf_counter() - t0) * 1000)
        results.append(("held registration gone at leaf b after kill -9 of its holder at leaf a, p50",
                        f"{pct(gone, .5):.2f} ms", ""))
        results.append(("held registration gone at leaf b after kill -9 of its holder at leaf a, p99",
                        f"{pct(gone, .99):.2f} ms", "<= 50 ms"))
        # 2. Idle link bytes/s.
        time.sleep(2)
        b0 = {m: status(m)["peer_bytes_out"] for m in HOST}
        links = {m: sum(1 for l in status(m)["links"] if l["state"] == "up") for m in HOST}
        idle = 5 if QUICK else 10
        time.sleep(idle)
        b1 = {m: status(m)["peer_bytes_out"] for m in HOST}
        per_link = max((b1[m] - b0[m]) / idle / max(1, links[m]) for m in HOST)
        results.append(("idle link bytes/s (one direction, busiest daemon)", f"{per_link:.0f} B/s", "<= 1 KB/s"))
        # 3. A new daemon receives 100,000 instances.
        count = 20000 if QUICK else 100000
        load("la", count)
        assert wait(lambda: status("ma1")["instances"] >= count, 60), "load"
        t0 = time.time()
        start("ln", "127.0.32.7", ["--cluster", "a", "--peer", f"127.0.32.1:{PORT}", "--peer", f"127.0.32.2:{PORT}"])
        HOST["ln"] = "127.0.32.7"
        ok = wait(lambda: status("ln")["instances"] >= count + 0, 60)
        results.append((f"new daemon receives {count:,} instances", f"{time.time() - t0:.2f} s" if ok else "timeout", "<= 2 s"))
        rss = int(open(f"/proc/{procs['ln'].pid}/statm").read().split()[1]) * 4096
        results.append((f"new daemon resident memory with {count:,} instances", f"{rss / 2**20:.0f} MiB", ""))
        # 4. Convergence after a 30 s partition.
        if os.geteuid() == 0 and subprocess.run(["which", "iptables"], capture_output=True).returncode == 0:
            unrule()
            a = [HOST[x] for x in ["ma1", "ma2", "la", "ln"]]
            b = [HOST[x] for x in ["mb1", "mb2", "lb"]]
            for x in a:
                for y in b:
                    for s, d in [(x, y), (y, x)]:
                        iptables(["-A", "INPUT", "-s", s, "-d", d, "-p", "tcp", "-m", "comment", "--comment", RULE, "-j", "DROP"])
            part = 8 if QUICK else 30
            time.sleep(part / 2)
            c = http.client.HTTPConnection(HOST["lb"], PORT)
            c.request("PUT", "/heal/during", body='{"host":"b"}'); c.getresponse().read()
            time.sleep(part / 2)
            # The cut must have held: the write made on side b is not on side a yet.
            isolated = b"during" not in get(HOST["la"], "/heal")[1]
            stale_b = status("lb")["partition"]["stale"]
            t0 = time.time()  # the heal starts with the first rule removed
            unrule()
            def healed():
                return b"during" in get(HOST["la"], "/heal")[1] and not status("lb")["partition"]["stale"] \
                    and status("la")["instances"] == status("lb")["instances"]
            ok = wait(healed, 60)
            dt = time.time() - t0
            verdict = f"{dt * 1000:.0f} ms = {dt * 1000 / GOSSIP_MS:.1f} gossip intervals" if ok else "timeout"
            if not isolated:
                verdict = "invalid: the cut leaked"
            results.append((f"convergence after a {part} s partition heals", verdict, "<= 2 gossip intervals"))
            results.append(("minority side stale during the cut", "yes" if stale_b else "no", "yes"))
        else:
            results.append(("convergence after a 30 s partition heals", "skipped (needs root and iptables)", "<= 2 gossip intervals"))
    finally:
        unrule() if os.geteuid() == 0 else None
        for p in procs.values():
            p.kill()
        for p in procs.values():
            p.wait()
    return results


def number(v):
    try:
        return float(v.split()[0])
    except (ValueError, IndexError):
        return None


def main():
    with open(KEY_FILE, "w") as f:
        f.write(subprocess.run([os.path.join(os.path.dirname(BIN), "rarangi"), "keygen"],
                               capture_output=True, text=True, check=True).stdout)
    os.chmod(KEY_FILE, 0o600)
    if "--compare" in sys.argv:
        plain = run(False)
        time.sleep(1)
        sealed = run(True)
        w = max(len(r[0]) for r in plain)
        print(f"{'measure'.ljust(w)}  {'no key':>22}  {'cluster key':>22}  {'sealed/plain':>12}  target")
        for (name, a, target), (_, b, _) in zip(plain, sealed):
            ra = number(a)
            rb = number(b)
            ratio = f"{rb / ra:.2f}x" if ra and rb is not None else ""
            print(f"{name.ljust(w)}  {a:>22}  {b:>22}  {ratio:>12}  {target}")
        return
    results = run("--sealed" in sys.argv)
    w = max(len(r[0]) for r in results)
    print(f"{'measure'.ljust(w)}  {'result':>36}  target")
    for name, value, target in results:
        print(f"{name.ljust(w)}  {value:>36}  {target}")


if __name__ == "__main__":
    main()
