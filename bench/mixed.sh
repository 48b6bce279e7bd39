#!/usr/bin/env bash
# Mixed load on one release rarangid ("the daemon"), on loopback:
#   lookups of a 3-instance service (wrk --latency) while the daemon
#   replicates 1,000 changes/s made at a peer daemon and holds 10,000
#   sessions (held registrations on raw sockets), beside the same daemon
#   idle; ROUNDS rounds of idle then mixed, and idle once more at the end,
#   so a shared machine's drift shows in both columns       goal >= 0.8x
#   propagation of those changes to a watcher parked (blocking query) on the
#   daemon, from just before each write at the peer: p50/p99 during the
#   lookups, and with the lookups off as the reference
# Usage: bench/mixed.sh [SECONDS per measurement, default 10] [SESSIONS, default 10000] [CHANGES/s, default 1000] [ROUNDS, default 2]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
sessions=${2:-10000}
rate=${3:-1000}
rounds=${4:-2}
ulimit -n "$(ulimit -Hn)"
. bench/lib.sh
daemon() { # PORT NAME [ARGS...]
  local port=$1 name=$2; shift 2
  "$bin" --env testing --cluster mixed --name "$name" --listen "127.0.0.1:$port" --liveness 3600 --log-level warn \
    --max-connections 19000 --max-connections-per-address 19000 "$@" 2>"$work/$name.log" &
  pids+=($!)
}
status() { curl -s "http://127.0.0.1:$1/_status" | python3 -c "import json,sys; print(json.load(sys.stdin)$2)"; }
# wrk's requests/s and its 99th percentile latency (ms).
lookups() {
  wrk -t1 -c50 -d"${secs}s" --latency "http://127.0.0.1:$dport/web" >"$work/wrk.out" 2>&1
  python3 - "$work/wrk.out" <<'PY'
import re, sys
out = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s*([0-9.]+)", out).group(1)
v, unit = re.search(r"^\s*99%\s+([0-9.]+)(us|ms|s)\s*$", out, re.M).groups()
print(rps, float(v) * {"us": 1e-3, "ms": 1, "s": 1e3}[unit])
PY
}
# Propagation delays (ms) of the changes a watcher saw: "p50 p99 n".
pct() { python3 -c 'import sys; x=sorted(float(l) for l in open(sys.argv[1])); q=lambda p: x[min(len(x)-1, int(len(x)*p))]; print(f"{q(.5):.3f} {q(.99):.3f} {len(x)}") if x else print("nan nan 0")' "$1"; }

pport=$(free_port); daemon "$pport" mixed-peer
wait_port "$pport"
dport=$(free_port); daemon "$dport" mixed-daemon --peer "127.0.0.1:$pport"
wait_port "$dport"
register_web "$dport"
for _ in $(seq 100); do [[ $(status "$dport" '["partition"]["catching_up"]') == False ]] && break; sleep 0.05; done

hold() { # opens the sessions and waits until the daemon holds them all
  python3 bench/mixed.py hold "$dport" "$sessions" $((secs * 2 + 60)) &
  holder=$!; pids+=($holder)
  for _ in $(seq 600); do (( $(status "$dport" '["held"]') >= sessions )) && break; sleep 0.1; done
  local held; held=$(status "$dport" '["held"]')
  (( held >= sessions )) || { echo "only $held of $sessions sessions held" >&2; exit 1; }
}
release() { # closes them and waits until the daemon released them all
  kill "$holder"; wait "$holder" 2>/dev/null || true
  for _ in $(seq 100); do (( $(status "$dport" '["held"]') == 0 )) && break; sleep 0.1; done
}
idle_runs=(); mixed_runs=(); held_during=()

lookups >/dev/null   # warm-up
# Replicated changes to the watcher with the sessions held and the lookups
# off: the reference for propagation.
hold
python3 bench/mixed.py watch "$dport" $((secs + 1)) >"$work/prop-ref" &
watcher=$!; pids+=($watcher)
sleep 0.3
python3 bench/mixed.py write "$pport" "$rate" "$secs" >"$work/written-ref"
wait "$watcher"
release

: >"$work/prop-mixed"; written_mixed=0; written_mixed_s=0
for _ in $(seq "$rounds"); do
  idle_runs+=("$(lookups)")
  hold
  python3 bench/mixed.py watch "$dport" $((secs + 3)) >>"$work/prop-mixed" &
  watcher=$!; pids+=($watcher)
  sleep 0.3
  python3 bench/mixed.py write "$pport" "$rate" $((secs + 2)) >"$work/written-mixed" &
  writer=$!; pids+=($writer)
  sleep 1
  mixed_runs+=("$(lookups)")
  held_during+=("$(status "$dport" '["held"]')")
  wait "$writer"; wait "$watcher"
  read -r n s <"$work/written-mixed"
  written_mixed=$((written_mixed + n)); written_mixed_s=$(python3 -c "print($written_mixed_s + $s)")
  release
done
idle_runs+=("$(lookups)")

python3 - "$secs" "$sessions" "$rate" "${idle_runs[*]}" "${mixed_runs[*]}" "${held_during[*]}" \
  $(pct "$work/prop-ref") $(pct "$work/prop-mixed") $(cat "$work/written-ref") "$written_mixed" "$written_mixed_s" <<'PY'
import sys
a = sys.argv[1:]
secs, sessions, rate = int(a[0]), int(a[1]), int(a[2])
pairs = lambda t: [tuple(map(float, t.split()[i:i + 2])) for i in range(0, len(t.split()), 2)]
idle_runs, mixed_runs = pairs(a[3]), pairs(a[4])
held = [int(x) for x in a[5].split()]
r50, r99, rn, m50, m99, mn = float(a[6]), float(a[7]), int(a[8]), float(a[9]), float(a[10]), int(a[11])
wref, wref_s, wmix, wmix_s = int(a[12]), float(a[13]), int(a[14]), float(a[15])
mean = lambda xs: sum(xs) / len(xs)
idle, idle_p = mean([r for r, _ in idle_runs]), mean([p for _, p in idle_runs])
m, mp = mean([r for r, _ in mixed_runs]), mean([p for _, p in mixed_runs])
ratio = lambda x, y: f"{x / y:>10.2f}x" if y == y and y > 0 else f"{'':>11}"
runs = lambda rs, f: " ".join(f(x) for x in rs)
print(f"\nrarangid mixed load, loopback, wrk -t1 -c50 -d{secs}s --latency on GET /web (3 instances), {len(mixed_runs)} rounds")
print(f"mixed = {min(held):,} held sessions + {rate:,} changes/s made at a peer, arriving by replication")
print(f"{'measure':44} {'idle':>13} {'mixed':>13} {'mixed/idle':>11}  verdict")
print(f"{'lookups/s (mean of the runs)':44} {idle:>13,.0f} {m:>13,.0f} {ratio(m, idle)}  {'PASS' if m >= 0.8 * idle else 'FAIL'} (>= 0.8x)")
print(f"{'lookup p99 (ms, mean of the runs)':44} {idle_p:>13.3f} {mp:>13.3f} {ratio(mp, idle_p)}  info")
print(f"  lookups/s, idle runs:  {runs(idle_runs, lambda x: f'{x[0]:,.0f}')}   mixed runs: {runs(mixed_runs, lambda x: f'{x[0]:,.0f}')}")
print(f"  p99 (ms), idle runs:   {runs(idle_runs, lambda x: f'{x[1]:.2f}')}   mixed runs: {runs(mixed_runs, lambda x: f'{x[1]:.2f}')}")
print(f"{'propagation p50, peer write -> watcher (ms)':44} {r50:>13.3f} {m50:>13.3f} {ratio(m50, r50)}  info")
print(f"{'propagation p99, peer write -> watcher (ms)':44} {r99:>13.3f} {m99:>13.3f} {ratio(m99, r99)}  info")
print(f"{'  changes written / seen by the watcher':44} {f'{wref:,} / {rn:,}':>13} {f'{wmix:,} / {mn:,}':>13}")
print(f"{'  changes/s achieved at the peer':44} {wref / max(wref_s, 1e-9):>13,.0f} {wmix / max(wmix_s, 1e-9):>13,.0f}")
print("idle: lookups alone, before each round and after the last; propagation's idle column: sessions and changes, no lookups")
PY
