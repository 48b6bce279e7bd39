#!/usr/bin/env python3
"""Checker of a chaos run (bench/chaos.sh): compares every daemon's answers,
as polled, with the ground truth the clients recorded, under the fault
schedule's reachability. Usage: check.py RUNDIR/record.json

Per registration (Jepsen set-full style), at every poll of every daemon D
that answered and did not say it is stale:

  loss   a registration live for at least P, whose origin D could reach
         during all of the last P (both ends up, a path of uncut links), is
         not served by D (neither it nor another live registration of its key,
         nor one that ended within its allowance: P, or the origin timeout
         + P when its origin died);
  ghost  an ended registration still served by D although D could reach the
         place where it ended (the origin; the daemon that took the DELETE —
         a DELETE ends only what its daemon could have seen: a registration
         its daemon could not reach when it was made ends with its TTL)
         for P at some time after the end, or D could not reach its origin
         for the origin timeout + P up to now (it should have been purged).

Links: a leaf links to the two masters of its cluster, masters to every
master. A link broken for d seconds (a cut, or an end down) counts as usable
again only min(300, 2d + 2) s after it is restored (the exponential reconnect
back-off D7 allows). P = 3 gossip intervals + 1.5 s (polling and client
timing). Convergence: the time from the last heal until every daemon
answers, is not stale, and serves exactly the live set (keys changed within
P excepted), holding to the end; it must be within
C = 10 s + the reconnect allowance of the breaks the last heal ended.
"""
import json, sys

STEP = 0.25


def allowance(d):
    return min(300.0, 2.0 * d + 2.0)


def bounds(rec):
    s = rec["settings"]
    P = 3 * s["gossip_ms"] / 1000 + 1.5
    OT = s["origin_timeout_ms"] / 1000
    return P, OT


def fault_end(f, rec):
    e = f.get("normal_at") or f.get("end")
    if e is None:
        e = rec.get("final_heal") or rec["now"]
    return e


CUT_TYPES = ("pair", "group", "isolate", "split", "long")


class Model:
    """Reachability over time, from the fault record, on a grid of STEP seconds.

    Two views: `sure` (a cell counts as connected only when every end was up
    and no cut touched the link during the whole cell, and only after the
    reconnect allowance that follows a break) decides what a daemon must
    have learned; `raw` (a cell counts as disconnected only when a cut or a
    death covered all of it) decides what a daemon must have purged."""

    def __init__(self, rec):
        import math
        self.rec = rec
        self.names = rec["names"]
        self.horizon = rec["now"] + 1
        self.n = int(self.horizon / STEP) + 2
        self.P, self.OT = bounds(rec)
        n = self.n
        heal = rec.get("final_heal") or rec["now"]
        up_sure = {x: [False] * n for x in self.names}
        up_any = {x: [False] * n for x in self.names}
        for life in rec["lives"]:
            r = life["ready"] if life["ready"] is not None else life["start"]
            e = life["end"] if life["end"] is not None else self.horizon + 10
            for i in range(max(0, math.ceil(r / STEP)), min(n, math.floor(e / STEP))):
                up_sure[life["name"]][i] = True
            for i in range(max(0, math.floor(r / STEP)), min(n, math.ceil(e / STEP))):
                up_any[life["name"]][i] = True
        self.up = up_sure
        cut = {}
        for f in rec["faults"]:
            if f["type"] in CUT_TYPES and f.get("start") is not None:
                end = f["end"] if f.get("end") is not None else heal
                for a, b in f["pairs"]:
                    cut.setdefault(tuple(sorted((a, b))), []).append((f["start"], end))
        sure, raw = {}, {}
        for a, b in (tuple(e) for e in rec["edges"]):
            ok = [up_sure[a][i] and up_sure[b][i] for i in range(n)]
            rw = [up_any[a][i] and up_any[b][i] for i in range(n)]
            for s, e in cut.get((a, b), []):
                for i in range(max(0, math.floor(s / STEP)), min(n, math.ceil(e / STEP))):
                    ok[i] = False
                for i in range(max(0, math.ceil(s / STEP)), min(n, math.floor(e / STEP))):
                    rw[i] = False
            broken = ok[:]
            i = 0
            while i < n:
                if broken[i]:
                    i += 1
                    continue
                j = i
                while j < n and not broken[j]:
                    j += 1
                if i > 0 and j < n:  # a break followed by a restore: the reconnect back-off
                    extra = int(math.ceil(allowance((j - i) * STEP) / STEP))
                    for k in range(j, min(n, j + extra)):
                        ok[k] = False
                i = j
            sure[(a, b)], raw[(a, b)] = ok, rw
        self.usable = sure
        self.comp = self.components(sure, up_sure)
        self.comp_raw = self.components(raw, up_any)
        self._last = {}

    def components(self, edges, up):
        out = []
        items = list(edges.items())
        for i in range(self.n):
            parent = {x: x for x in self.names}

            def find(x):
                while parent[x] != x:
                    parent[x] = parent[parent[x]]
                    x = parent[x]
                return x
            for (a, b), ok in items:
                if ok[i]:
                    parent[find(a)] = find(b)
            out.append({x: (find(x) if up[x][i] else None) for x in self.names})
        return out

    def idx(self, t):
        return max(0, min(self.n - 1, int(t / STEP)))

    def reach_at(self, d, s, i, raw=False):
        c = (self.comp_raw if raw else self.comp)[i]
        return c[d] is not None and c[d] == c[s]

    def last_arrays(self, d, s, raw=False):
        key = (d, s, raw)
        if key not in self._last:
            bad, good = [-1e9] * self.n, [-1e9] * self.n
            lb, lg = -1e9, -1e9
            for i in range(self.n):
                if self.reach_at(d, s, i, raw):
                    lg = i * STEP
                else:
                    lb = i * STEP
                bad[i], good[i] = lb, lg
            self._last[key] = (bad, good)
        return self._last[key]

    def reach_over(self, d, s, a, b):
        """d reached s at every grid point in [a, b]."""
        bad, _ = self.last_arrays(d, s)
        return bad[self.idx(b)] < a - 1e-9 and a >= 0

    def unreachable_for(self, d, s, t):
        """How long d surely has not reached s (cut off or s down), up to t."""
        _, good = self.last_arrays(d, s, raw=True)
        return t - good[self.idx(t)]

    def first_learn(self, d, s, t0):
        """Earliest u >= t0 with d reaching s over [u, u + P] (None if never)."""
        for i in range(self.idx(t0), self.n):
            u = max(t0, i * STEP)
            if u + self.P > self.horizon:
                return None
            if self.reach_over(d, s, u, u + self.P):
                return u
        return None


def live_at(r, t):
    return r["start"] is not None and r["start"] <= t and (r["end"] is None or r["end"] > t)


def keyof(r):
    return f"{r['service']}/{r['id']}"


def analyse(rec):
    m = Model(rec)
    P, OT = m.P, m.OT
    regs = rec["regs"]
    bykey = {}
    for r in regs.values():
        bykey.setdefault(keyof(r), []).append(r)
    ttl = rec["settings"]["ttl_s"]
    learn_memo = {}
    viol = {}  # (kind, uid, daemon) -> list of [t, t1]
    ticks = rec["ticks"]
    fresh_since = {}  # daemon -> since when it has answered not stale, in this life
    for tick in ticks:
        t, t1 = tick["t"], tick["t1"]
        for d, obs in tick["d"].items():
            if obs["ok"] and not obs["stale"] and (d not in fresh_since or fresh_since[d][1] != obs.get("gen")):
                fresh_since[d] = (t, obs.get("gen"))
            elif not obs["ok"] or obs["stale"]:
                fresh_since.pop(d, None)
        live_keys = {}
        for r in regs.values():
            if live_at(r, t) and (r["end"] is None or r["end"] > t1):
                live_keys.setdefault(keyof(r), []).append(r)
        for d, obs in tick["d"].items():
            if not obs["ok"] or obs["stale"]:
                continue
            served = obs["served"]
            # Ghosts.
            for key, uid in served.items():
                r = regs.get(uid)
                if r is None:
                    viol.setdefault(("ghost", uid or key, d), []).append([t, t1])
                    continue
                if r["end"] is None or t < r["end"] + P:
                    continue
                if r["start"] is None or r.get("uncertain"):
                    # It may have been registered though the client saw a failure.
                    limit = r["end"] + (0 if r["kind"] == "held" else ttl) + P + OT
                    if t > limit:
                        viol.setdefault(("ghost", uid, d), []).append([t, t1])
                    continue
                src = r["source"] or r["origin"]
                if (r["reason"] or "").startswith("delete at") and src != r["origin"] \
                        and not m.reach_over(src, r["origin"], r["start"], min(r["end"], r["start"] + P)):
                    # The deleting daemon could not have seen it (cut off from its
                    # origin when it was registered): a DELETE ends only what its
                    # daemon was showing, so the two are concurrent and the
                    # registration ends with its TTL (its client stopped refreshing).
                    if t <= r["end"] + (0 if r["kind"] == "held" else ttl) + P:
                        continue
                mk = (d, src, r["end"])
                if mk not in learn_memo:
                    learn_memo[mk] = m.first_learn(d, src, r["end"])
                fl = learn_memo[mk]
                learned = fl is not None and t >= fl + P
                # The majority side purges an origin unreachable for the origin timeout: it
                # must be gone OT + P after both the cut-off and this daemon's last turn stale.
                cutoff = min(m.unreachable_for(d, r["origin"], t), t - fresh_since[d][0])
                purged = cutoff >= OT + P
                if learned or purged:
                    viol.setdefault(("ghost", uid, d), []).append([t, t1])
            # Losses.
            for key, rs in live_keys.items():
                got = served.get(key)
                if got is not None and any(x["uid"] == got for x in rs):
                    continue
                if got is not None and got in regs and live_at(regs[got], t):
                    continue
                # The key is shown with the body of another registration of it
                # that ended within its allowance (its origin just died and is
                # not purged yet, or its end is still propagating): served.
                if got is not None and got in regs and regs[got]["end"] is not None:
                    g = regs[got]
                    allowance = P + (OT if g["reason"] and "killed" in g["reason"] else 0)
                    if t < g["end"] + allowance:
                        continue
                for r in rs:
                    if t - P < r["start"]:
                        continue
                    if m.reach_over(d, r["origin"], t - P, t):
                        viol.setdefault(("loss", r["uid"], d), []).append([t, t1])
                        break
    # Merge consecutive ticks into intervals.
    tick_gap = 2.5 * rec["settings"]["poll_s"] + 1.0
    found = []
    for (kind, uid, d), spans in viol.items():
        spans.sort()
        cur = list(spans[0])
        for s in spans[1:]:
            if s[0] - cur[1] <= tick_gap:
                cur[1] = s[1]
            else:
                found.append((kind, uid, d, cur))
                cur = list(s)
        found.append((kind, uid, d, cur))
    out = []
    last_t = ticks[-1]["t1"] if ticks else 0
    for kind, uid, d, (a, b) in found:
        r = regs.get(uid)
        if kind == "ghost":
            lasted = b - (r["end"] if r else a)
        else:
            lasted = b - a + P
        out.append({"kind": kind, "uid": uid, "daemon": d, "from": a, "to": b, "lasted": lasted,
                    "open": abs(b - last_t) < 1e-6, "reg": r})
    out.sort(key=lambda v: -v["lasted"])
    return m, out


def staleness(rec):
    longest = {}
    cur = {}
    for tick in rec["ticks"]:
        for d, obs in tick["d"].items():
            if obs["ok"] and obs["stale"]:
                if d not in cur:
                    cur[d] = tick["t"]
                longest[d] = max(longest.get(d, 0), tick["t1"] - cur[d])
            elif obs["ok"]:
                cur.pop(d, None)
    return longest


def convergence_bound(rec):
    heal = rec.get("final_heal") or rec["now"]
    worst = 0.0
    for f in rec["faults"]:
        if f.get("start") is None:
            continue
        end = fault_end(f, rec)
        if end >= heal - 1.0:
            worst = max(worst, allowance(end - f["start"]))
    return 10.0 + worst


def converged_at(rec, tick):
    P, _ = bounds(rec)
    t = tick["t"]
    regs = rec["regs"]
    flux, live = set(), {}
    for r in regs.values():
        k = keyof(r)
        for x in (r["start"], r["end"], r.get("sent")):
            if x is not None and t - P - 1 <= x <= tick["t1"] + 1:
                flux.add(k)
        if r.get("uncertain") or r["start"] is None:
            flux.add(k) if r["end"] is not None and t - r["end"] < rec["settings"]["ttl_s"] + P else None
        if live_at(r, t):
            live.setdefault(k, set()).add(r["uid"])
    for d, obs in tick["d"].items():
        if not obs["ok"] or obs["stale"]:
            return False
        served = obs["served"]
        for k in set(served) | set(live):
            if k in flux:
                continue
            if k not in live or k not in served or served[k] not in live[k]:
                return False
    return True


def convergence(rec):
    """Seconds from the last heal until every daemon serves exactly the live set (for good)."""
    heal = rec.get("final_heal")
    if heal is None:
        return None
    first = None
    for tick in rec["ticks"]:
        if tick["t"] < heal:
            continue
        if converged_at(rec, tick):
            if first is None:
                first = tick["t"]
        else:
            first = None
    return None if first is None else first - heal


def active_faults(rec, a, b):
    P, OT = bounds(rec)
    out = []
    for f in rec["faults"]:
        if f.get("start") is None:
            continue
        e = fault_end(f, rec)
        if f["start"] <= b and e + P + OT >= a:
            out.append(f"#{f['id']} {f['desc']} [{f['start']:.1f}-{e:.1f}]")
    return out


def fmt_s(x):
    return f"{x:.1f} s"


def report(rec, out=sys.stdout, full_path=None):
    P, OT = bounds(rec)
    m, found = analyse(rec)
    losses = [v for v in found if v["kind"] == "loss"]
    ghosts = [v for v in found if v["kind"] == "ghost"]
    stale = staleness(rec)
    conv = convergence(rec)
    cbound = convergence_bound(rec)
    checked = sum(1 for r in rec["regs"].values() if r["start"] is not None)
    polls = sum(sum(1 for o in t["d"].values() if o["ok"]) for t in rec["ticks"])
    w = out.write
    s = rec["settings"]
    w("\n")
    w(f"chaos run: seed {rec['seed']}, {rec['duration']} s, faults {rec['faults_mode']}, "
      f"{len(rec['names'])} daemons (clusters a, b: 2 masters + 3 leaves each)\n")
    w(f"settings: --gossip-interval {s['gossip_ms']} --origin-timeout {s['origin_timeout_ms']} "
      f"--liveness {s['liveness_s']}; clients ?ttl={s['ttl_s']} refreshed every {s['refresh_s']} s; "
      f"every daemon polled every {s['poll_s']} s\n")
    w(f"bounds: propagation P = 3 gossip intervals + 1.5 s = {P:.1f} s; a link broken d s is usable "
      f"min(300, 2d+2) s after it is restored; a dead or cut-off origin: origin timeout + P = {OT + P:.1f} s; "
      f"convergence C = {cbound:.1f} s\n")
    w(f"replay: {rec['replay']}\n\n")
    longest_stale = max(stale.values()) if stale else 0.0
    stale_who = max(stale, key=stale.get) if stale else "-"
    lg = max((v["lasted"] for v in ghosts), default=0.0)
    ll = max((v["lasted"] for v in losses), default=0.0)
    conv_ok = conv is not None and conv <= cbound
    cols = ["registrations checked", "faults injected", "lost", "ghosts", "longest ghost",
            "longest loss", "longest staleness", "convergence after last heal"]
    vals = [f"{checked} ({polls} daemon polls)", str(len(rec["faults"])),
            f"{len({v['uid'] for v in losses})} ({len(losses)} at daemons)",
            f"{len({v['uid'] for v in ghosts})} ({len(ghosts)} at daemons)",
            fmt_s(lg) + (" (open)" if any(v["open"] for v in ghosts if v["lasted"] == lg) else ""),
            fmt_s(ll) + (" (open)" if any(v["open"] for v in losses if v["lasted"] == ll) else ""),
            f"{fmt_s(longest_stale)} ({stale_who})",
            (fmt_s(conv) if conv is not None else "not reached") + f" (bound {cbound:.0f} s)"]
    widths = [max(len(c), len(v)) for c, v in zip(cols, vals)]
    w("| " + " | ".join(c.ljust(x) for c, x in zip(cols, widths)) + " |\n")
    w("|" + "|".join("-" * (x + 2) for x in widths) + "|\n")
    w("| " + " | ".join(v.ljust(x) for v, x in zip(vals, widths)) + " |\n\n")
    if stale:
        w("longest staleness per daemon: " + ", ".join(f"{d} {stale.get(d, 0):.1f} s" for d in rec["names"]) + "\n")
    for note in rec.get("notes", []):
        w(f"note: {note}\n")
    for f in rec["faults"]:
        if f.get("measured_offset_ms") is not None:
            w(f"clock step #{f['id']}: {f['node']}'s generation (its wall clock at start) was "
              f"{-f['measured_offset_ms'] / 1000:.1f} s behind the real wall clock ({rec.get('clock_mode')})\n")
    lines = []
    for v in found:
        r = v["reg"]
        if r:
            what = (f"{keyof(r)} reg={v['uid']} ({r['kind']}, origin {r['origin']}, live "
                    f"{r['start'] if r['start'] is None else round(r['start'], 1)}-"
                    f"{'end' if r['end'] is None else round(r['end'], 1)}"
                    f"{', ' + r['reason'] if r['reason'] else ''})")
        else:
            what = f"unknown registration {v['uid']}"
        lines.append(f"{v['kind'].upper()} {what} at {v['daemon']} t={v['from']:.1f}-{v['to']:.1f}"
                     f"{' (until the end)' if v['open'] else ''}, lasted {v['lasted']:.1f} s; faults: "
                     + ("; ".join(active_faults(rec, v['from'] - P, v['to'])) or "none"))
    if lines:
        w(f"\n{len(lines)} violations (longest first):\n")
        for line in lines[:40]:
            w("  " + line + "\n")
        if len(lines) > 40:
            w(f"  ... {len(lines) - 40} more" + (f" in {full_path}" if full_path else "") + "\n")
    if full_path:
        with open(full_path, "w") as f:
            f.write("\n".join(lines) + "\n")
    ok = not losses and not ghosts and conv_ok
    w(f"\nverdict: {'PASS' if ok else 'FAIL'}"
      + ("" if ok else f" ({len(losses)} losses, {len(ghosts)} ghosts"
         f"{'' if conv_ok else ', no convergence within the bound'})") + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    path = sys.argv[1]
    rec = json.load(open(path))
    import os
    sys.exit(report(rec, full_path=os.path.join(os.path.dirname(path), "violations.txt")))
