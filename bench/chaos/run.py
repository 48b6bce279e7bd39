#!/usr/bin/env python3
"""Chaos run of real rarangid daemons (started by bench/chaos.sh inside a
network namespace of its own, so every iptables rule and qdisc here lives and
dies with that namespace).

Ten daemons, clusters a and b, each two masters and three leaves, one
127.0.0.X address each. For a bounded time a fault schedule drawn from the
seed is applied (silent cuts, isolation, master splits, kill -9, restarts,
a restart with the wall clock stepped back, slow links) while client threads
register, refresh, hold, delete and re-register; a poller reads every
daemon's view. Everything is written to RUNDIR/record.json and judged by
check.py, whose table is printed at the end.

Usage (normally through bench/chaos.sh):
  run.py --bin PATH --rundir DIR --duration S --seed N [--faults all|none]
"""
import argparse, http.client, json, os, random, select, signal, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402

PORT = 4730
GOSSIP_MS = 500
ORIGIN_TIMEOUT_MS = 5000
LIVENESS_S = 30
TTL_S = 6           # clients register with ?ttl=6 ...
REFRESH_S = 2       # ... and refresh every 2 s
POLL_S = 0.5
SERVICES = ["web", "api", "db", "held", "dual"]
CLUSTERS = {"a": ["ma1", "ma2", "la1", "la2", "la3"], "b": ["mb1", "mb2", "lb1", "lb2", "lb3"]}
ADDR = {}
for ci, (c, names) in enumerate(sorted(CLUSTERS.items())):
    for i, n in enumerate(names):
        ADDR[n] = f"127.0.0.{11 + 10 * ci + i}"
NAMES = [n for c in sorted(CLUSTERS) for n in CLUSTERS[c]]
CLUSTER = {n: c for c, ns in CLUSTERS.items() for n in ns}
MASTERS = [n for n in NAMES if n[0] == "m"]
LEAVES = [n for n in NAMES if n[0] == "l"]


def peers_of(n):
    c = CLUSTER[n]
    m1, m2 = f"m{c}1", f"m{c}2"
    if n == "ma1":
        return []
    if n == "ma2":
        return ["ma1"]
    if n == "mb1":
        return ["ma1"]
    if n == "mb2":
        return ["mb1", "ma2"]
    return [m1, m2]


def topology_edges():
    e = set()
    for a in MASTERS:
        for b in MASTERS:
            if a < b:
                e.add((a, b))
    for l in LEAVES:
        c = CLUSTER[l]
        for m in (f"m{c}1", f"m{c}2"):
            e.add(tuple(sorted((l, m))))
    return sorted(e)


EDGES = topology_edges()
T0 = time.monotonic()


def now():
    return round(time.monotonic() - T0, 3)


LOCK = threading.RLock()
STOP = threading.Event()      # clients stop everything
QUIET = threading.Event()     # clients make no more changes (after the last heal)


class Run:
    def __init__(self, args):
        self.args = args
        self.bin = args.bin
        self.rundir = args.rundir
        self.procs = {}          # name -> Popen
        self.up = {}             # name -> bool (process believed running)
        self.lives = []          # {name, start, ready, end, wall_offset_ms, clock}
        self.faults = []         # applied faults
        self.regs = {}           # uid -> registration
        self.ticks = []          # poller observations
        self.holders = set()     # curl Popen objects
        self.notes = []
        self.seq = 0
        self.clock_mode = None   # how the wall clock is stepped
        self.netem = False
        self.slow_active = {}    # fault id -> pairs
        self.final_heal = None
        self.conv = None

    # ----- daemons -------------------------------------------------------
    def argv(self, n):
        a = [self.bin, "--env", "testing", "--cluster", CLUSTER[n], "--name", n,
             "--listen", f"{ADDR[n]}:{PORT}", "--gossip-interval", str(GOSSIP_MS),
             "--origin-timeout", str(ORIGIN_TIMEOUT_MS), "--liveness", str(LIVENESS_S), "--log-level", "info"]
        if n in MASTERS:
            a.append("--master")
        for p in peers_of(n):
            a += ["--peer", f"{ADDR[p]}:{PORT}"]
        return a

    def start(self, n, wall_offset_s=0):
        env = dict(os.environ)
        if wall_offset_s:
            env.update(self.clock_env(wall_offset_s))
        log = open(os.path.join(self.rundir, f"{n}.log"), "a")
        log.write(f"--- start at t={now()} wall_offset_s={wall_offset_s}\n")
        log.flush()
        p = subprocess.Popen(self.argv(n), stdout=subprocess.DEVNULL, stderr=log, env=env)
        life = {"name": n, "start": now(), "ready": None, "end": None, "pid": p.pid,
                "wall_offset_s": wall_offset_s, "measured_offset_ms": None}
        with LOCK:
            self.procs[n] = p
            self.up[n] = True
            self.lives.append(life)
        self.write_pids()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                st = json.loads(http_req(ADDR[n], "GET", "/_status", timeout=1)[2])
                life["ready"] = now()
                life["generation"] = st.get("generation")
                life["measured_offset_ms"] = int(st.get("generation", 0) - time.time() * 1000)
                return life
            except Exception:
                time.sleep(0.05)
        self.notes.append(f"{n} did not answer within 10 s of its start")
        life["ready"] = now()
        return life

    def kill9(self, n):
        with LOCK:
            p = self.procs.get(n)
            if not p or not self.up.get(n):
                return None
            p.send_signal(signal.SIGKILL)
            t = now()
            self.up[n] = False
            for life in reversed(self.lives):
                if life["name"] == n and life["end"] is None:
                    life["end"] = t
                    break
            # Every registration this daemon held ends with it (state lost).
            for r in self.regs.values():
                if r["origin"] == n and r["start"] is not None and (r["end"] is None or r["end"] > t):
                    r["end"], r["reason"], r["source"] = t, "origin-killed", n
        try:
            p.wait(5)
        except Exception:
            pass
        return t

    def clock_env(self, offset_s):
        if self.clock_mode == "faketime":
            return {"LD_PRELOAD": self.args.faketime_lib, "FAKETIME": f"{offset_s:+d}s",
                    "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
        return {"LD_PRELOAD": self.args.shim, "CHAOS_WALL_OFFSET_S": str(offset_s)}

    def probe_clock(self):
        """libfaketime if the daemon still gets its arguments under it, else the shim."""
        lib = self.args.faketime_lib
        if lib and os.path.exists(lib):
            env = dict(os.environ, LD_PRELOAD=lib, FAKETIME="-600s", FAKETIME_DONT_FAKE_MONOTONIC="1")
            r = subprocess.run([self.bin, "--env", "testing", "--check-config"], env=env, capture_output=True, text=True)
            if r.returncode == 0:
                self.clock_mode = "faketime"
                return
            self.notes.append("libfaketime preloaded into rarangid: the daemon loses its arguments "
                              f"({r.stderr.strip()[:80]}); the wall clock is stepped with bench/chaos/walloffset.c instead")
        self.clock_mode = "shim"

    def write_pids(self):
        with LOCK:
            pids = [p.pid for p in self.procs.values() if p.poll() is None] + \
                   [h.pid for h in self.holders if h.poll() is None]
        with open(os.path.join(self.rundir, "pids"), "w") as f:
            f.write("\n".join(map(str, pids)) + "\n")

    # ----- network faults ------------------------------------------------
    def ipt(self, op, a, b, tag, extra=()):
        for s, d in ((a, b), (b, a)):
            subprocess.run(["iptables", op, "INPUT", "-s", ADDR[s], "-d", ADDR[d], "-p", "tcp", *extra,
                            "-m", "comment", "--comment", tag, "-j", "DROP"], capture_output=True)

    def cut(self, pairs, tag, on):
        for a, b in pairs:
            self.ipt("-A" if on else "-D", a, b, tag)

    def probe_netem(self):
        r = subprocess.run(["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], capture_output=True)
        self.netem = r.returncode == 0
        subprocess.run(["tc", "qdisc", "del", "dev", "lo", "root"], capture_output=True)
        if not self.netem:
            # htb shaping of a 1500-byte-MTU lo, plus 5 % random drops by iptables.
            subprocess.run(["ip", "link", "set", "lo", "mtu", "1500"], capture_output=True)
            self.notes.append("tc netem is not available in this kernel: a slow link is htb 128 kbit/s "
                              "(queueing delay) plus 5 % loss (iptables statistic)")

    def rebuild_tc(self):
        subprocess.run(["tc", "qdisc", "del", "dev", "lo", "root"], capture_output=True)
        if not self.slow_active:
            return
        tc = lambda *a: subprocess.run(["tc", *a], capture_output=True)
        tc("qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "1", "r2q", "100000")
        tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:1", "htb", "rate", "20gbit")
        for fid, pairs in self.slow_active.items():
            cls = f"1:{100 + fid}"
            if self.netem:
                tc("class", "add", "dev", "lo", "parent", "1:", "classid", cls, "htb", "rate", "20gbit")
                tc("qdisc", "add", "dev", "lo", "parent", cls, "netem", "delay", "200ms", "loss", "5%")
            else:
                tc("class", "add", "dev", "lo", "parent", "1:", "classid", cls, "htb", "rate", "128kbit",
                   "burst", "3000", "quantum", "1514")
            for a, b in pairs:
                for s, d in ((a, b), (b, a)):
                    tc("filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
                       "match", "ip", "src", ADDR[s] + "/32", "match", "ip", "dst", ADDR[d] + "/32", "flowid", cls)

    def slow(self, fid, pairs, on):
        if on:
            self.slow_active[fid] = pairs
        else:
            self.slow_active.pop(fid, None)
        self.rebuild_tc()
        if not self.netem:
            for a, b in pairs:
                self.ipt("-A" if on else "-D", a, b, f"chaos-slow-{fid}",
                         extra=("-m", "statistic", "--mode", "random", "--probability", "0.05"))

    def undo_all(self):
        subprocess.run(["iptables", "-F", "INPUT"], capture_output=True)
        subprocess.run(["tc", "qdisc", "del", "dev", "lo", "root"], capture_output=True)
        self.slow_active.clear()

    # ----- the schedule --------------------------------------------------
    def execute(self, plan):
        """Applies the planned faults at their times; records what was done when."""
        events = []
        for f in plan:
            events.append((f["start"], 0, f, "on"))
            events.append((f["end"], 1, f, "off"))
            if f["type"] == "clock":
                events.append((f["normal_at"], 2, f, "normal"))
        events.sort(key=lambda e: (e[0], e[1]))
        for at, _, f, what in events:
            while not STOP.is_set() and now() < at:
                time.sleep(min(0.05, max(0.0, at - now())))
            if STOP.is_set():
                return
            rec = f["rec"]
            kind = f["type"]
            if what == "on":
                rec["start"] = now()
                if kind in ("pair", "group", "isolate", "split", "long"):
                    self.cut(f["pairs"], f"chaos-{f['id']}", True)
                elif kind == "slow":
                    self.slow(f["id"], f["pairs"], True)
                elif kind in ("kill-leaf", "kill-master", "clock"):
                    rec["start"] = self.kill9(f["node"]) or now()
                with LOCK:
                    self.faults.append(rec)
                log(f"t={rec['start']:7.2f} fault #{f['id']} {rec['desc']}")
            elif what == "off":
                if kind in ("pair", "group", "isolate", "split", "long"):
                    self.cut(f["pairs"], f"chaos-{f['id']}", False)
                elif kind == "slow":
                    self.slow(f["id"], f["pairs"], False)
                elif kind in ("kill-leaf", "kill-master"):
                    self.start(f["node"])
                elif kind == "clock":
                    life = self.start(f["node"], wall_offset_s=-600)
                    rec["measured_offset_ms"] = life["measured_offset_ms"]
                    log(f"t={now():7.2f}   {f['node']} restarted with its wall clock 600 s back "
                        f"({self.clock_mode}); its generation is {-life['measured_offset_ms'] / 1000:.1f} s "
                        f"behind the real wall clock")
                rec["end"] = now()
                log(f"t={rec['end']:7.2f} heal  #{f['id']} {rec['desc']}")
            elif what == "normal":
                self.kill9(f["node"])
                self.start(f["node"])
                rec["normal_at"] = now()
                log(f"t={now():7.2f}   {f['node']} restarted again with the real clock (#{f['id']})")


def make_plan(rng, duration, mode):
    heal_at = duration - 25
    if mode == "none":
        return [], heal_at
    start0 = 8.0
    plan = []
    fid = [0]

    def add(kind, start, length, **kw):
        end = min(start + length, heal_at)
        if end - start < 2:
            return None
        fid[0] += 1
        f = {"id": fid[0], "type": kind, "start": round(start, 2), "end": round(end, 2), **kw}
        desc = kw.pop("desc")
        f["rec"] = {"id": fid[0], "type": kind, "desc": desc, "pairs": kw.get("pairs", []),
                    "node": kw.get("node"), "planned": [f["start"], f["end"]], "start": None, "end": None}
        plan.append(f)
        return f

    all_pairs = [(a, b) for i, a in enumerate(NAMES) for b in NAMES[i + 1:]]

    def across(g1, g2):
        return [tuple(sorted((a, b))) for a in g1 for b in g2]

    def net_fault(kind, t):
        if kind == "pair":
            p = rng.choice(EDGES) if rng.random() < 0.8 else rng.choice(all_pairs)
            return add(kind, t, rng.uniform(3, 15), pairs=[p], desc=f"silent cut {p[0]}|{p[1]}")
        if kind == "group":
            if rng.random() < 0.3:
                g = CLUSTERS["a"]
            else:
                g = rng.sample(NAMES, rng.randint(2, 5))
            rest = [n for n in NAMES if n not in g]
            return add(kind, t, rng.uniform(5, 20), pairs=across(g, rest),
                       desc=f"silent group cut {{{','.join(sorted(g))}}}|rest")
        if kind == "isolate":
            n = rng.choice(NAMES)
            return add(kind, t, rng.uniform(5, 20), pairs=across([n], [x for x in NAMES if x != n]),
                       desc=f"isolate {n}")
        if kind == "split":
            g = rng.choice([["ma1", "mb1"], ["ma1", "mb2"], ["ma1", "ma2"]])
            rest = [m for m in MASTERS if m not in g]
            return add(kind, t, rng.uniform(5, 20), pairs=across(g, rest),
                       desc=f"master split {{{','.join(g)}}}|{{{','.join(rest)}}}")
        if kind == "slow":
            ps = rng.sample(EDGES, rng.randint(1, 3))
            return add(kind, t, rng.uniform(8, 20), pairs=ps,
                       desc="slow links " + ",".join(f"{a}|{b}" for a, b in ps))

    kinds = ["pair", "group", "isolate", "split", "slow"]
    for lane in range(2):
        t = start0 + lane * rng.uniform(3, 8)
        if lane == 0 and duration >= 300:
            # Longer than the tombstone lifetime (60 s): cluster a | cluster b.
            add("long", t, 75, pairs=across(CLUSTERS["a"], CLUSTERS["b"]),
                desc="silent cut cluster a|cluster b for 75 s (> tombstone lifetime)")
            t += 75 + rng.uniform(2, 5)
        while t < heal_at - 4:
            order = kinds[:]
            rng.shuffle(order)
            for k in order:
                if t >= heal_at - 4:
                    break
                f = net_fault(k, t)
                t = (f["end"] if f else t) + rng.uniform(1, 5)
    # Process faults in a lane of their own (one daemon down at a time).
    t = start0 + rng.uniform(0, 5)
    pk = ["kill-leaf", "kill-master", "clock"]
    while t < heal_at - 12:
        order = pk[:]
        rng.shuffle(order)
        for k in order:
            if t >= heal_at - 12:
                break
            if k == "kill-leaf":
                n = rng.choice(LEAVES)
                f = add(k, t, rng.uniform(3, 8), node=n, desc=f"kill -9 {n}, restart under the same name")
            elif k == "kill-master":
                n = rng.choice(MASTERS)
                f = add(k, t, rng.uniform(3, 8), node=n, desc=f"kill -9 {n}, restart under the same name")
            else:
                n = rng.choice(NAMES)
                f = add(k, t, rng.uniform(2, 4), node=n,
                        desc=f"kill -9 {n}, restart with its wall clock 10 min back")
                if f:
                    f["normal_at"] = round(min(f["end"] + rng.uniform(12, 20), heal_at - 1), 2)
                    f["rec"]["desc"] += f" (until t={f['normal_at']:.0f})"
            t = (f.get("normal_at", f["end"]) if f else t) + rng.uniform(3, 8)
    return plan, heal_at


# ----- HTTP ---------------------------------------------------------------
def http_req(host, method, path, body=None, timeout=2.0):
    c = http.client.HTTPConnection(host, PORT, timeout=timeout)
    try:
        c.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        r = c.getresponse()
        data = r.read()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
    finally:
        c.close()


LOGF = None


def log(msg):
    print(msg, flush=True)
    if LOGF:
        LOGF.write(msg + "\n")
        LOGF.flush()


# ----- clients --------------------------------------------------------------
class Clients:
    def __init__(self, run, rng_seed):
        self.run = run
        self.seed = rng_seed

    def new_uid(self):
        with LOCK:
            self.run.seq += 1
            return f"r{self.run.seq}"

    def up_daemons(self):
        with LOCK:
            return [n for n in NAMES if self.run.up.get(n)]

    def new_reg(self, uid, service, iid, origin, kind):
        r = {"uid": uid, "service": service, "id": iid, "origin": origin, "kind": kind, "sent": now(),
             "start": None, "end": None, "reason": None, "source": None, "uncertain": False}
        with LOCK:
            self.run.regs[uid] = r
        return r

    def body(self, uid, port):
        return json.dumps({"host": f"10.9.{port % 250}.{port % 199}", "port": port, "reg": uid})

    def alive(self, r):
        with LOCK:
            return r["end"] is None

    def end(self, r, t, reason, source, uncertain=False):
        with LOCK:
            if r["end"] is None or r["end"] > t:
                r["end"], r["reason"], r["source"] = t, reason, source
                r["uncertain"] = r["uncertain"] or uncertain

    def delete_key(self, service, iid, at):
        """DELETE at daemon `at`; on success every live registration of the key ends."""
        sent = now()
        try:
            st, _, _ = http_req(ADDR[at], "DELETE", f"/{service}/{iid}")
        except Exception:
            return None
        t = now()
        if st == 200:
            with LOCK:
                for r in self.run.regs.values():
                    if r["service"] == service and r["id"] == iid and r["start"] is not None \
                            and (r["end"] is None or r["end"] > sent):
                        r["end"], r["reason"], r["source"] = t, f"delete at {at}", at
            return t
        return None

    def put(self, r, first):
        try:
            st, _, _ = http_req(ADDR[r["origin"]], "PUT", f"/{r['service']}/{r['id']}?ttl={TTL_S}",
                                body=self.body(r["uid"], r["port"]))
        except Exception:
            return None
        return st

    def ready_daemons(self, at_least=1):
        """The daemons up now, or None (after a short wait) while the run is quiet or fewer
        than `at_least` are up: the actors' loops call it first."""
        if QUIET.is_set():
            time.sleep(0.2)
            return None
        ups = self.up_daemons()
        if len(ups) < at_least:
            time.sleep(0.5)
            return None
        return ups

    def ttl_actor(self, k, rng):
        """TTL registrations refreshed every 2 s; ended by expiry, DELETE (at the origin or
        elsewhere), or a DELETE at the origin raced by a re-registration of the key at
        another daemon right after it."""
        service = ["web", "api", "db"][k % 3]
        pending_origin = None
        j = 0
        iid = f"t{k}-0"
        while not STOP.is_set():
            ups = self.ready_daemons()
            if ups is None:
                continue
            race = pending_origin is not None
            if not race:
                iid = f"t{k}-{j % 2}"
            origin = pending_origin if race and pending_origin in ups else rng.choice(ups)
            pending_origin = None
            r = self.new_reg(self.new_uid(), service, iid, origin, "ttl-race" if race else "ttl")
            r["port"] = 1000 + int(r["uid"][1:]) % 60000
            st = self.put(r, True)
            if st not in (200, 201):
                self.end(r, now(), "put-failed", origin, uncertain=True)
                time.sleep(0.5)
                continue
            r["start"] = now()
            last_ok = r["start"]
            life_end = time.monotonic() + rng.uniform(5, 40)
            while not STOP.is_set() and (time.monotonic() < life_end or QUIET.is_set()):
                time.sleep(REFRESH_S)
                if not self.alive(r):
                    break
                sent = now()
                st = self.put(r, False)
                if st == 200:
                    # The daemon set the new deadline when the refresh arrived,
                    # between sending and the answer: the earliest end counts.
                    last_ok = sent
                elif st == 201:
                    # The daemon had lost it: it expired there before this refresh.
                    self.end(r, min(last_ok + TTL_S, sent), "expired-before-refresh", origin)
                    break
            if STOP.is_set() or QUIET.is_set() or not self.alive(r):
                continue
            mode = rng.random()
            others = [n for n in self.up_daemons() if n != origin] or [origin]
            if mode < 0.35:
                # Stop refreshing: it expires at the origin TTL_S after the last refresh.
                self.end(r, last_ok + TTL_S, "expired", origin)
                time.sleep(TTL_S + rng.uniform(0, 3))
            elif mode < 0.60:
                if self.delete_key(service, iid, origin) is None:
                    self.end(r, last_ok + TTL_S, "expired (delete failed)", origin)
                time.sleep(rng.uniform(0, 3))
            elif mode < 0.75:
                if self.delete_key(service, iid, rng.choice(others)) is None \
                        and self.delete_key(service, iid, origin) is None:
                    self.end(r, last_ok + TTL_S, "expired (delete failed)", origin)
                time.sleep(rng.uniform(0, 3))
            else:
                # DELETE at the origin, then at once the same key registered at another daemon.
                if self.delete_key(service, iid, origin) is None:
                    self.end(r, last_ok + TTL_S, "expired (delete failed)", origin)
                else:
                    pending_origin = rng.choice(others)
                    continue
            j += 1

    def held_actor(self, k, rng):
        """Held registrations (curl -N ... ?hold), ended by SIGKILL of curl, a DELETE, or the daemon's death."""
        j = 0
        while not STOP.is_set():
            ups = self.ready_daemons()
            if ups is None:
                continue
            origin = rng.choice(ups)
            r = self.new_reg(self.new_uid(), "held", f"h{k}-{j % 2}", origin, "held")
            j += 1
            body = self.body(r["uid"], 2000 + k)
            p = subprocess.Popen(["curl", "-s", "-N", "-X", "PUT", "-d", body, "--max-time", "900",
                                  f"http://{ADDR[origin]}:{PORT}/held/{r['id']}?hold"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            with LOCK:
                self.run.holders.add(p)
            self.run.write_pids()
            ready, _, _ = select.select([p.stdout], [], [], 3)
            line = p.stdout.readline() if ready else b""
            if b'"held":true' not in line:
                p.kill(); p.wait()
                self.end(r, now(), "hold-failed", origin, uncertain=True)
                with LOCK:
                    self.run.holders.discard(p)
                time.sleep(0.5)
                continue
            r["start"] = now()
            hold_end = time.monotonic() + rng.uniform(5, 40)
            mode = rng.random()
            while not STOP.is_set() and (time.monotonic() < hold_end or QUIET.is_set() or mode >= 0.85):
                if p.poll() is not None:
                    # curl ended: the daemon died (the kill recorded it) or closed the stream.
                    self.end(r, now(), "hold-stream-ended", origin)
                    break
                if not self.alive(r):
                    break
                time.sleep(0.2)
            if p.poll() is None and self.alive(r) and not STOP.is_set():
                if mode < 0.7:
                    p.send_signal(signal.SIGKILL)
                    self.end(r, now(), "holder killed (SIGKILL)", origin)
                else:
                    at = rng.choice(self.up_daemons() or [origin])
                    if self.delete_key("held", r["id"], at) is None:
                        p.send_signal(signal.SIGKILL)
                        self.end(r, now(), "holder killed (SIGKILL)", origin)
            if STOP.is_set():
                break
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait()
            with LOCK:
                self.run.holders.discard(p)
            time.sleep(rng.uniform(0.2, 3))

    def dual_actor(self, k, rng):
        """One key registered at two daemons: one expires, the other keeps it; then a DELETE ends both."""
        iid = f"d{k}"
        while not STOP.is_set():
            ups = self.ready_daemons(at_least=3)
            if ups is None:
                continue
            a, b, c = rng.sample(ups, 3)
            ra = self.new_reg(self.new_uid(), "dual", iid, a, "dual")
            ra["port"] = 3000 + k
            rb = self.new_reg(self.new_uid(), "dual", iid, b, "dual")
            rb["port"] = 3100 + k
            oks = {}
            for r in (ra, rb):
                st = self.put(r, True)
                if st in (200, 201):
                    r["start"] = now()
                    oks[r["uid"]] = r["start"]
                else:
                    self.end(r, now(), "put-failed", r["origin"], uncertain=True)
            t_a_stop = time.monotonic() + rng.uniform(5, 15)
            t_end = t_a_stop + rng.uniform(8, 15)
            a_refreshing = True
            while not STOP.is_set() and (time.monotonic() < t_end or QUIET.is_set()):
                time.sleep(REFRESH_S)
                if a_refreshing and time.monotonic() >= t_a_stop and not QUIET.is_set() and ra["uid"] in oks:
                    a_refreshing = False
                    self.end(ra, oks[ra["uid"]] + TTL_S, "expired (other origin keeps the key)", a)
                for r in (ra, rb) if a_refreshing else (rb,):
                    if r["uid"] in oks and self.alive(r):
                        sent = now()
                        st = self.put(r, False)
                        if st == 200:
                            oks[r["uid"]] = sent
                        elif st == 201:
                            self.end(r, now(), "expired-before-refresh", r["origin"])
                if not self.alive(rb) and not self.alive(ra):
                    break
            if STOP.is_set() or QUIET.is_set():
                continue
            if ra["uid"] in oks and a_refreshing:
                self.end(ra, oks[ra["uid"]] + TTL_S, "expired", a)
            if self.alive(rb) and rb["uid"] in oks:
                if self.delete_key("dual", iid, c) is None and self.delete_key("dual", iid, b) is None:
                    self.end(rb, oks[rb["uid"]] + TTL_S, "expired (delete failed)", b)
            time.sleep(TTL_S + rng.uniform(0, 2))


# ----- poller ----------------------------------------------------------------
def poll_one(n):
    obs = {"ok": False, "stale": None, "served": {}}
    try:
        c = http.client.HTTPConnection(ADDR[n], PORT, timeout=1.0)
        stale = False
        for s in SERVICES:
            c.request("GET", f"/{s}")
            r = c.getresponse()
            doc = json.loads(r.read())
            stale = stale or r.getheader("X-Rarangi-Stale", "") == "true"
            for iid, v in doc.items():
                obs["served"][f"{s}/{iid}"] = v.get("reg") if isinstance(v, dict) else None
        c.request("GET", "/_status")
        r = c.getresponse()
        st = json.loads(r.read())
        c.close()
        obs["stale"] = stale or bool(st.get("partition", {}).get("stale"))
        obs["gen"] = st.get("generation")
        obs["ok"] = True
    except Exception as e:
        obs["error"] = type(e).__name__
    return obs


def poller(run, until):
    n_ticks = 0
    while not STOP.is_set() and time.monotonic() < until and n_ticks < 100000:
        t0 = now()
        tick = {"t": t0, "d": {}}
        for n in NAMES:
            tick["d"][n] = poll_one(n)
        tick["t1"] = now()
        with LOCK:
            run.ticks.append(tick)
        n_ticks += 1
        time.sleep(max(0.0, POLL_S - (now() - t0)))


# ----- main -----------------------------------------------------------------
def main():
    global LOGF
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rundir", required=True)
    ap.add_argument("--duration", type=int, default=120)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--faults", choices=["all", "none"], default="all")
    ap.add_argument("--faketime-lib", default="")
    ap.add_argument("--shim", default="")
    ap.add_argument("--replay", default="")
    args = ap.parse_args()
    duration = max(60, args.duration)
    LOGF = open(os.path.join(args.rundir, "run.log"), "w")
    rng = random.Random(args.seed)
    run = Run(args)
    plan, heal_at = make_plan(rng, duration, args.faults)
    hard_stop = time.monotonic() + duration + 120  # duration + a fixed grace

    def on_signal(sig, frame):
        raise SystemExit(130)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True)
    run.probe_clock()
    run.probe_netem()
    log(f"chaos run: seed={args.seed} duration={duration}s faults={args.faults} daemons={len(NAMES)} "
        f"gossip={GOSSIP_MS}ms origin-timeout={ORIGIN_TIMEOUT_MS}ms liveness={LIVENESS_S}s ttl={TTL_S}s")
    log(f"replay: {args.replay}")
    for note in run.notes:
        log(f"note: {note}")
    threads = []
    rc = 2
    try:
        for n in NAMES:
            run.start(n)
        # Wait for the master mesh.
        end = time.monotonic() + 15
        while time.monotonic() < end:
            try:
                if all(len(json.loads(http_req(ADDR[m], "GET", "/_status")[2])["masters"].get(m, {}).get("reaches", [])) == 3
                       for m in MASTERS):
                    break
            except Exception:
                pass
            time.sleep(0.1)
        global T0
        # Times in the record are seconds since the daemons were all up.
        shift = time.monotonic() - T0
        T0 = time.monotonic()
        for life in run.lives:
            life["start"] = round(life["start"] - shift, 3)
            life["ready"] = round(life["ready"] - shift, 3)
        threads.append(threading.Thread(target=poller, args=(run, T0 + heal_at + 80), daemon=True))
        clients = Clients(run, args.seed)
        crng = random.Random(args.seed * 7919 + 1)
        for k in range(20):
            threads.append(threading.Thread(target=clients.ttl_actor, args=(k, random.Random(crng.random())), daemon=True))
        for k in range(6):
            threads.append(threading.Thread(target=clients.held_actor, args=(k, random.Random(crng.random())), daemon=True))
        for k in range(2):
            threads.append(threading.Thread(target=clients.dual_actor, args=(k, random.Random(crng.random())), daemon=True))
        ex = threading.Thread(target=run.execute, args=(plan,), daemon=True)
        for th in threads:
            th.start()
        ex.start()
        while now() < heal_at and time.monotonic() < hard_stop:
            time.sleep(0.1)
        # The last heal: no more changes by the clients, every fault undone.
        QUIET.set()
        ex_deadline = time.monotonic() + 15
        while ex.is_alive() and time.monotonic() < ex_deadline:
            time.sleep(0.05)
        run.undo_all()
        for n in NAMES:
            if not run.up.get(n):
                run.start(n)
        run.final_heal = now()
        log(f"t={run.final_heal:7.2f} last heal: every rule and qdisc removed, every daemon running; clients quiet")
        record = run_record(run, args, plan, duration)
        bound = check.convergence_bound(record)
        # Watch for convergence: every daemon serves exactly the live set for 3 s in a row.
        conv_deadline = time.monotonic() + bound + 5
        while time.monotonic() < conv_deadline and time.monotonic() < hard_stop:
            time.sleep(0.5)
            record = run_record(run, args, plan, duration)
            c = check.convergence(record)
            if c is not None and now() - (record["final_heal"] + c) >= 3:
                break
        STOP.set()
        record = run_record(run, args, plan, duration)
        with open(os.path.join(args.rundir, "record.json"), "w") as f:
            json.dump(record, f)
        rc = check.report(record, out=sys.stdout, full_path=os.path.join(args.rundir, "violations.txt"))
    finally:
        STOP.set()
        with LOCK:
            holders = list(run.holders)
            procs = list(run.procs.values())
        for h in holders:
            if h.poll() is None:
                h.kill()
        for p in procs:
            if p.poll() is None:
                p.kill()
        for p in procs + holders:
            try:
                p.wait(3)
            except Exception:
                pass
        run.undo_all()
    sys.exit(rc)


def run_record(run, args, plan, duration):
    with LOCK:
        return {
            "seed": args.seed, "duration": duration, "faults_mode": args.faults, "replay": args.replay,
            "settings": {"gossip_ms": GOSSIP_MS, "origin_timeout_ms": ORIGIN_TIMEOUT_MS, "liveness_s": LIVENESS_S,
                         "ttl_s": TTL_S, "refresh_s": REFRESH_S, "poll_s": POLL_S},
            "names": NAMES, "masters": MASTERS, "edges": EDGES, "addr": ADDR,
            "lives": [dict(l) for l in run.lives],
            "faults": [dict(f) for f in run.faults],
            "regs": {k: dict(v) for k, v in run.regs.items()},
            "ticks": list(run.ticks),
            "final_heal": run.final_heal, "now": now(), "notes": list(run.notes),
            "clock_mode": run.clock_mode, "netem": run.netem,
        }


if __name__ == "__main__":
    main()
