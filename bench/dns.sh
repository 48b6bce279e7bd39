#!/usr/bin/env bash
# DNS and the Consul API of one release rarangid, beside references
# measured in the same run on loopback:
#   DNS A queries/s (dnsperf, UDP) of a 3-instance service, against dnsmasq
#   answering the same three A records from its configuration;
#   GET /v1/health/service/<name> (wrk) against our own lookup of the service.
# Usage: bench/dns.sh [SECONDS per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
. bench/lib.sh
qps() { sed -n 's/^[[:space:]]*Queries per second:[[:space:]]*\([0-9.]*\).*/\1/p'; }

hport=$(free_port) dport=$(free_port)
"$bin" --env development --listen "127.0.0.1:$hport" --dns-listen "127.0.0.1:$dport" --log-level warn 2>"$work/rarangid.log" &
pids+=($!)
wait_port "$hport"
for i in 1 2 3; do
  curl -s -o /dev/null -X PUT -d "{\"host\":\"10.0.12.3$i\",\"port\":3123$i,\"tags\":[\"eu\"],\"zone\":\"eu-1b\"}" "http://127.0.0.1:$hport/web/i-$i"
done
mport=$(free_port)
dnsmasq --no-daemon --no-resolv --no-hosts --port="$mport" --listen-address=127.0.0.1 --bind-interfaces \
  --address=/web.service.rarangi/10.0.12.31 --host-record=web.service.rarangi,10.0.12.31 \
  --host-record=web.service.rarangi,10.0.12.32 --host-record=web.service.rarangi,10.0.12.33 \
  --cache-size=0 --log-facility=- 2>"$work/dnsmasq.log" &
pids+=($!)
sleep 0.5
dig +short -p "$dport" @127.0.0.1 web.service.rarangi A | sort | paste -sd, >"$work/ours"
dig +short -p "$mport" @127.0.0.1 web.service.rarangi A | sort | paste -sd, >"$work/theirs"
echo "web.service.rarangi A" >"$work/queries"
run_dnsperf() { dnsperf -s 127.0.0.1 -p "$1" -d "$work/queries" -l "$secs" -c 1 -T 1 -q 100 2>&1; }
run_dnsperf "$mport" >/dev/null    # warm-up of both
run_dnsperf "$dport" >/dev/null
theirs_qps=$(run_dnsperf "$mport" | qps)
ours_qps=$(run_dnsperf "$dport" | qps)

run_wrk() { wrk -t1 -c50 -d"${secs}s" "$@" 2>&1; }
run_wrk -d2s "http://127.0.0.1:$hport/web" >/dev/null
lookup=$(run_wrk "http://127.0.0.1:$hport/web" | rps)
health=$(run_wrk "http://127.0.0.1:$hport/v1/health/service/web" | rps)

python3 - "$theirs_qps" "$ours_qps" "$lookup" "$health" "$secs" "$(cat "$work/ours")" "$(cat "$work/theirs")" <<'PY'
import sys
theirs, ours, lookup, health = map(float, sys.argv[1:5])
secs, a_ours, a_theirs = sys.argv[5], sys.argv[6], sys.argv[7]
rows = [
    ("dnsmasq A web.service.rarangi (reference)", f"{theirs:,.0f} q/s", "", ""),
    ("rarangid A web.service.rarangi", f"{ours:,.0f} q/s", f"{ours / theirs:.2f}x dnsmasq", "info"),
    ("rarangid GET /web (reference)", f"{lookup:,.0f} req/s", "", ""),
    ("rarangid GET /v1/health/service/web", f"{health:,.0f} req/s", f"{health / lookup:.2f}x our lookup", "info"),
]
print(f"\nDNS: dnsperf -c 1 -T 1 -q 100 -l {secs}, UDP, loopback; HTTP: wrk -t1 -c50 -d{secs}s")
print(f"answers: ours {a_ours}; dnsmasq {a_theirs}")
print(f"{'measure':44} {'value':>14}  {'ratio':22}")
for name, value, ratio, _ in rows:
    print(f"{name:44} {value:>14}  {ratio:22}")
PY
