#!/usr/bin/env bash
# Catalogue scale: 200,000 instances (10,000 hosts x 20 services, ~150-byte
# objects like register_web's) in one release rarangid, on loopback.
#   resident memory: VmRSS growth, and per instance
#   sync: a NEW daemon started with the loaded one as its peer, timed from
#         its start until its status counts every instance, and until it
#         reports it has caught up (catching_up false)          goal <= 2 s
#   lookup of a 3-instance service (wrk) on the loaded daemon beside the same
#         lookup on an empty daemon, measured in the same run
# Usage: bench/scale.sh [SECONDS per wrk run, default 5] [HOSTS, default 10000]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
hosts=${2:-10000}
services=20
count=$((hosts * services))
. bench/lib.sh
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
daemon() { # PORT NAME LOG [ARGS...]
  local port=$1 name=$2 log=$3; shift 3
  "$bin" --env testing --cluster scale --name "$name" --listen "127.0.0.1:$port" --liveness 3600 \
    --log-level warn "$@" 2>"$log" &
  pids+=($!)
}

# The loaded daemon, and an empty one for the lookup reference.
aport=$(free_port); daemon "$aport" scale-a "$work/a.log"; apid=${pids[-1]}
eport=$(free_port); daemon "$eport" scale-empty "$work/empty.log"; epid=${pids[-1]}
wait_port "$aport"; wait_port "$eport"
register_web "$aport"; register_web "$eport"
sleep 0.3
rss0=$(rss_kib "$apid")
t0=$(date +%s.%N)
object_bytes=$(python3 bench/scale_load.py 127.0.0.1 "$aport" "$hosts" "$services")
t1=$(date +%s.%N)
sleep 0.5
rss1=$(rss_kib "$apid")
loaded=$(curl -s "http://127.0.0.1:$aport/_status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"])')
[[ $loaded -ge $count ]] || { echo "the daemon holds $loaded instances, not $count" >&2; exit 1; }

# A new daemon joins with the loaded one as its peer. Its status is polled
# every 5 ms from just before its start (connection refused until it listens).
sync_run() { # PORT NAME -> "seconds-to-all-instances seconds-to-caught-up rss-kib"
  python3 - "$bin" "$1" "$2" "$aport" "$count" "$work/$2.log" <<'PY'
import http.client, json, subprocess, sys, time
binary, port, name, peer, count, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
t0 = time.perf_counter()
p = subprocess.Popen([binary, "--env", "testing", "--cluster", "scale", "--name", name, "--listen", f"127.0.0.1:{port}",
                      "--liveness", "3600", "--log-level", "info", "--peer", f"127.0.0.1:{peer}"], stderr=open(log, "w"))
all_at = caught_at = None
deadline = t0 + 60
try:
    while time.perf_counter() < deadline and (all_at is None or caught_at is None):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/_status")
            s = json.loads(c.getresponse().read())
            c.close()
        except (OSError, http.client.HTTPException, ValueError):
            time.sleep(0.005)
            continue
        t = time.perf_counter() - t0
        if all_at is None and s["instances"] >= count:
            all_at = t
        if caught_at is None and not s["partition"]["catching_up"]:
            caught_at = t
        time.sleep(0.005)
    rss = int(open(f"/proc/{p.pid}/statm").read().split()[1]) * 4
finally:
    p.terminate()
    p.wait()
fmt = lambda x: "timeout" if x is None else f"{x:.3f}"
print(fmt(all_at), fmt(caught_at), rss)
PY
}
read -r sync1_all sync1_caught sync1_rss < <(sync_run "$(free_port)" scale-new1)
read -r sync2_all sync2_caught sync2_rss < <(sync_run "$(free_port)" scale-new2)

# Lookups of the 3-instance service, alternating empty and loaded daemon.
run_wrk() { wrk -t1 -c50 -d"${secs}s" "http://127.0.0.1:$1/web" 2>&1 | rps; }
run_wrk "$eport" >/dev/null; run_wrk "$aport" >/dev/null   # warm-up
e1=$(run_wrk "$eport"); a1=$(run_wrk "$aport"); e2=$(run_wrk "$eport"); a2=$(run_wrk "$aport")
still=$(curl -s "http://127.0.0.1:$aport/_status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"])')
base=$(rss_kib "$epid")

python3 - "$count" "$hosts" "$services" "$rss0" "$rss1" "$object_bytes" "$t0" "$t1" \
  "$sync1_all" "$sync1_caught" "$sync1_rss" "$sync2_all" "$sync2_caught" "$sync2_rss" "$e1" "$a1" "$e2" "$a2" "$still" "$secs" "$base" <<'PY'
import sys
a = sys.argv[1:]
count, hosts, services, rss0, rss1, obj = map(int, a[0:6])
load_s = float(a[7]) - float(a[6])
syncs = [(a[8], a[9], int(a[10])), (a[11], a[12], int(a[13]))]
e1, a1, e2, a2 = map(float, a[14:18])
still, secs, base = int(a[18]), int(a[19]), int(a[20])
growth = (rss1 - rss0) * 1024
def sec(x): return "timeout" if x == "timeout" else f"{float(x):.3f} s"
def verdict(x): return "FAIL" if x == "timeout" or float(x) > 2 else "PASS"
empty, full = (e1 + e2) / 2, (a1 + a2) / 2
rows = [
    (f"load {count:,} instances (pipelined PUTs)", f"{load_s:.2f} s", f"{count / load_s:,.0f} PUT/s", "info"),
    ("RSS growth, loaded daemon", f"{growth / 2**20:.1f} MiB", f"{growth / obj:.2f}x of {obj / 2**20:.1f} MiB objects", "info"),
    ("  per instance", f"{growth / count:,.0f} B", f"object {obj / count:.0f} B", "info"),
]
for i, (all_at, caught, rss) in enumerate(syncs, 1):
    rows.append((f"new daemon #{i}: serves all {count:,}", sec(all_at), "from its start", verdict(all_at)))
    rows.append((f"new daemon #{i}: catching_up false", sec(caught), "from its start", verdict(caught)))
    rows.append((f"new daemon #{i}: RSS once synced", f"{rss / 1024:.1f} MiB", f"{(rss - base) * 1024 / count:,.0f} B/instance over an empty one", "info"))
rows += [
    ("GET /web (3 instances), empty daemon", f"{empty:,.0f} req/s", f"runs {e1:,.0f} / {e2:,.0f}", "reference"),
    (f"GET /web (3 instances), {still:,} there", f"{full:,.0f} req/s", f"runs {a1:,.0f} / {a2:,.0f}", ""),
    ("  loaded / empty", f"{full / empty:.2f}x", "", "PASS" if full >= 0.9 * empty else "FAIL"),
]
print(f"\nrarangid with {count:,} instances ({hosts:,} hosts x {services} services), loopback, wrk -t1 -c50 -d{secs}s")
print(f"{'measure':40} {'value':>14}  {'detail':40} verdict")
for name, value, detail, v in rows:
    print(f"{name:40} {value:>14}  {detail:40} {v}")
print("goals: a new daemon has every instance and has caught up <= 2 s after its start; lookups on the loaded daemon >= 0.9x the empty one")
PY
