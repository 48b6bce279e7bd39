#!/usr/bin/env bash
# Benchmark of one rarangid against nginx (worker_processes 1) serving the
# same bytes from a file, measured in the same run on loopback.
#   GET  /<service> of a 3-instance service       target >= 0.9 x nginx GET
#   PUT  refresh of one instance                    target >= 0.6 x nginx GET
#   RSS growth for 100,000 ~150-byte instances      target <= 3 x object bytes
# Usage: bench/catalogue.sh [SECONDS per wrk run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
. bench/lib.sh
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

dport=$(free_port)
"$bin" --env development --listen "127.0.0.1:$dport" --log-level warn --max-connections 1000 2>"$work/rarangid.log" &
dpid=$!; pids+=($dpid)
wait_port "$dport"
register_web "$dport"
mkdir -p "$work/www"
curl -s "http://127.0.0.1:$dport/web" >"$work/www/web"
bytes=$(stat -c %s "$work/www/web")

nport=$(free_port)
nginx_conf "$nport"
nginx -c "$work/nginx.conf" -p "$work" 2>>"$work/nginx-error.log" &
pids+=($!)
wait_port "$nport" || true
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$nport/web" && break; sleep 0.05; done

# The machine's limit: one epoll thread answering every request head with
# rarangid's whole response to GET /web, byte for byte.
fetch_response "$dport" "$work/response"
"$(command -v cc || command -v clang)" -O2 -o "$work/limit_reference" bench/limit_reference.c
lport=$(free_port)
"$work/limit_reference" "$lport" "$work/response" &
pids+=($!)
wait_port "$lport"

# libevent's own evhttp, serving the bytes from memory: the parser we chose not to use.
"$(command -v cc || command -v clang)" -O2 -o "$work/evhttp_reference" bench/evhttp_reference.c $(pkg-config --cflags --libs libevent)
eport=$(free_port)
"$work/evhttp_reference" "$eport" "$work/www/web" &
pids+=($!)
wait_port "$eport"

run_wrk() { wrk -t1 -c50 -d"${secs}s" "$@" 2>&1; }
run_wrk -d2s "http://127.0.0.1:$nport/web" >/dev/null   # warm-up
run_wrk -d2s "http://127.0.0.1:$dport/web" >/dev/null
nginx_get=$(run_wrk "http://127.0.0.1:$nport/web" | rps)
limit_get=$(run_wrk "http://127.0.0.1:$lport/web" | rps)
evhttp_get=$(run_wrk "http://127.0.0.1:$eport/web" | rps)
ours_get=$(run_wrk "http://127.0.0.1:$dport/web" | rps)
ours_put=$(run_wrk -s bench/put.lua "http://127.0.0.1:$dport" | rps)
# The same GET while a scraper reads /metrics every second, as Prometheus
# would; the scraper's own time per scrape is recorded.
scrape_log="$work/scrapes"
( end=$((SECONDS + secs + 1)); while ((SECONDS < end)); do
    curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$dport/metrics" >>"$scrape_log"; sleep 1
  done ) &
scraper=$!
ours_get_scraped=$(run_wrk "http://127.0.0.1:$dport/web" | rps)
wait "$scraper" 2>/dev/null || true
scrape_ms=$(python3 -c 'import sys; t=[float(x) for x in open(sys.argv[1])]; print(f"{1000*sum(t)/len(t):.2f} {len(t)}")' "$scrape_log")
kill "$dpid"; wait "$dpid" 2>/dev/null || true

# Memory: a fresh daemon, empty, then 100,000 registrations.
mport=$(free_port)
"$bin" --env development --listen "127.0.0.1:$mport" --log-level warn --liveness 3600 2>"$work/rarangid-mem.log" &
mpid=$!; pids+=($mpid)
wait_port "$mport"
rss0=$(rss_kib "$mpid")
object_bytes=$(python3 bench/load.py 127.0.0.1 "$mport" 100000)
sleep 0.5
rss1=$(rss_kib "$mpid")
instances=$(curl -s "http://127.0.0.1:$mport/_status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"])')

python3 - "$nginx_get" "$ours_get" "$ours_put" "$evhttp_get" "$rss0" "$rss1" "$object_bytes" "$instances" "$bytes" "$secs" "$ours_get_scraped" $scrape_ms "$limit_get" <<'PY'
import sys
nginx_get, ours_get, ours_put, evhttp_get = map(float, sys.argv[1:5])
rss0, rss1, obj, inst, size, secs = map(int, sys.argv[5:11])
scraped, scrape_ms, scrapes = float(sys.argv[11]), float(sys.argv[12]), int(sys.argv[13])
limit = float(sys.argv[14])
growth = (rss1 - rss0) * 1024
rows = [
    ("nginx GET /web (reference)", f"{nginx_get:,.0f} req/s", f"{nginx_get / limit:.2f}x limit", ""),
    ("epoll C, same bytes (the machine's limit)", f"{limit:,.0f} req/s", "", ""),
    ("libevent evhttp GET (C, from memory)", f"{evhttp_get:,.0f} req/s", f"{evhttp_get / nginx_get:.2f}x nginx", "info"),
    ("rarangid GET /web", f"{ours_get:,.0f} req/s", f"{ours_get / nginx_get:.2f}x nginx", "PASS" if ours_get >= 0.9 * nginx_get else "FAIL"),
    ("  rarangid GET against the limit", "", f"{ours_get / limit:.2f}x limit", "PASS" if ours_get >= 0.9 * limit else "FAIL"),
    ("rarangid GET /web, /metrics scraped 1/s", f"{scraped:,.0f} req/s", f"{scraped / ours_get:.2f}x unscraped GET", "PASS" if scraped >= 0.95 * ours_get else "FAIL"),
    (f"  one /metrics scrape (mean of {scrapes})", f"{scrape_ms:.2f} ms", "curl's total, during the GET load", "info"),
    ("rarangid PUT refresh", f"{ours_put:,.0f} req/s", f"{ours_put / nginx_get:.2f}x nginx GET, {ours_put / limit:.2f}x limit", "PASS" if ours_put >= 0.6 * nginx_get else "FAIL"),
    (f"RSS growth, {inst:,} instances", f"{growth / 1e6:.1f} MB", f"{growth / obj:.2f}x of {obj / 1e6:.1f} MB objects", "PASS" if growth <= 3 * obj else "FAIL"),
]
print(f"\nrarangid vs nginx (worker_processes 1), wrk -t1 -c50 -d{secs}s, {size}-byte response, loopback")
print(f"{'measure':38} {'value':>16}  {'ratio':28} target")
for name, value, ratio, verdict in rows:
    print(f"{name:38} {value:>16}  {ratio:28} {verdict}")
print("targets: GET >= 0.9x nginx and >= 0.9x the limit; scraped GET >= 0.95x unscraped; PUT >= 0.6x nginx GET; RSS growth <= 3x object bytes (etcd: about 7x)")
PY
