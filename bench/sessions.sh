#!/usr/bin/env bash
# Daemon memory per session, on loopback: N held registrations (PUT ?hold on
# raw sockets) in one fresh release rarangid, and N parked blocking queries
# in another; RSS growth / N, beside the same daemon's growth for N plain
# TTL registrations of the same bodies (the record alone, no connection).
#   per held registration   goal <= 1 KB
#   per parked watch        goal <= 1 KB
# Usage: bench/sessions.sh [N, default 10000]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
ulimit -n "$(ulimit -Hn)"
. bench/lib.sh
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
status() { curl -s "http://127.0.0.1:$1/_status" | python3 -c "import json,sys; print(json.load(sys.stdin)$2)"; }
fresh() { # NAME -> sets port and dpid
  port=$(free_port)
  "$bin" --env development --listen "127.0.0.1:$port" --log-level warn --liveness 3600 \
    --max-connections 19000 --max-connections-per-address 19000 2>"$work/$1.log" &
  dpid=$!; pids+=($dpid)
  wait_port "$port"
  curl -s -o /dev/null "http://127.0.0.1:$port/_status"
  sleep 0.3
}
until_status() { # PORT FIELD N
  for _ in $(seq 600); do (( $(status "$1" "$2") >= $3 )) && return 0; sleep 0.1; done
  echo "$2 did not reach $3" >&2; exit 1
}

# Plain registrations of the same bodies on one keep-alive connection: the records alone.
fresh plain
r0=$(rss_kib "$dpid")
python3 - "$port" "$n" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
for base in range(0, n, 500):
    out = b""
    for i in range(base, min(n, base + 500)):
        body = b'{"host":"10.0.0.1","port":%d}' % (1000 + i % 50000)
        out += b"PUT /held/i%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (i, len(body), body)
    s.sendall(out)
    got = 0; buf = b""
    while got < min(500, n - base):
        buf += s.recv(1 << 20); got = buf.count(b"HTTP/1.1 ")
PY
until_status "$port" '["instances"]' "$n"
sleep 0.3
plain=$(( ($(rss_kib "$dpid") - r0) * 1024 / n ))

# RSS growth per session (into $per) of a fresh daemon while
# bench/mixed.py MODE keeps n sessions open, once the status FIELD counts them all.
per_session() { # MODE FIELD
  fresh "$1"
  local r0 client
  r0=$(rss_kib "$dpid")
  python3 bench/mixed.py "$1" "$port" "$n" 120 &
  client=$!; pids+=($client)
  until_status "$port" "$2" "$n"
  sleep 0.3
  per=$(( ($(rss_kib "$dpid") - r0) * 1024 / n ))
  kill "$client"; wait "$client" 2>/dev/null || true
}
per_session hold '["held"]'; held=$per
per_session park '["watchers"]'; parked=$per

python3 - "$n" "$plain" "$held" "$parked" <<'PY'
import sys
n, plain, held, parked = map(int, sys.argv[1:])
print(f"\nrarangid memory per session, {n:,} sessions on raw loopback sockets, RSS growth / n")
print(f"{'measure':44} {'bytes':>7}  {'ratio':24} verdict")
print(f"{'plain registration, same body (reference)':44} {plain:>7,}  {'':24} reference")
print(f"{'held registration (PUT ?hold)':44} {held:>7,}  {f'{held / plain:.2f}x plain, {held - plain:,} B more':24} {'PASS' if held <= 1024 else 'FAIL'} (<= 1 KB)")
print(f"{'parked watch (blocking query)':44} {parked:>7,}  {'':24} {'PASS' if parked <= 1024 else 'FAIL'} (<= 1 KB)")
PY
