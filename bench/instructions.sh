#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind (repeatable run
# to run, unlike rates on a shared machine), for the same GET answered by
# release rarangid, the one-thread epoll limit program (bench/limit_reference.c)
# and nginx (one process). Each server is warmed with 2,000 requests, its
# counters are zeroed, then REQUESTS more are sent pipelined 100 at a time on
# one connection and counted.
# Usage: bench/instructions.sh [REQUESTS, default 20000]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-20000}
. bench/lib.sh
command -v valgrind >/dev/null || { sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo; $sudo apt-get install -y -qq --no-install-recommends valgrind >/dev/null; }
# Valgrind 3.19 cannot read the Swift toolchain's debug information; a
# stripped copy counts the same instructions.
strip -o "$work/rarangid" "$bin"
bin=$work/rarangid
under_valgrind() { wait_port "$1" 60; }

# The client: COUNT GETs of /web, pipelined in batches, each answer read whole.
cat >"$work/client.py" <<'PY'
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
req = b"GET /web HTTP/1.1\r\nHost: x\r\n\r\n"
buf = b""
done = 0
while done < count:
    n = min(100, count - done)
    s.sendall(req * n)
    got = 0
    while got < n:
        while b"\r\n\r\n" not in buf: buf += s.recv(1 << 20)
        head, _, buf = buf.partition(b"\r\n\r\n")
        length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
        while len(buf) < length: buf += s.recv(1 << 20)
        buf = buf[length:]
        got += 1
    done += n
PY

# Counts instructions of server PID (started under callgrind with OUT) for the measured requests.
measure() { # PORT OUT PID
  python3 "$work/client.py" "$1" 2000
  callgrind_control -z "$3" >/dev/null
  python3 "$work/client.py" "$1" "$requests"
  callgrind_control -d "$3" >/dev/null
  sleep 1
  local ir
  ir=$(grep -h '^summary:' "$2".* 2>/dev/null | awk '{ s += $2 } END { print s + 0 }')
  echo "$ir"
}

dport=$(free_port)
valgrind --tool=callgrind --callgrind-out-file="$work/rarangid.out" "$bin" --env development \
  --listen "127.0.0.1:$dport" --log-level warn 2>"$work/rarangid.log" &
dpid=$!; pids+=($dpid)
under_valgrind "$dport"
register_web "$dport"
fetch_response "$dport" "$work/response" "$work/body"
ours=$(measure "$dport" "$work/rarangid.out" "$dpid")

cc -O2 -o "$work/limit_reference" bench/limit_reference.c
lport=$(free_port)
valgrind --tool=callgrind --callgrind-out-file="$work/limit.out" "$work/limit_reference" "$lport" "$work/response" 2>"$work/limit.log" &
lpid=$!; pids+=($lpid)
under_valgrind "$lport"
limit=$(measure "$lport" "$work/limit.out" "$lpid")

nport=$(free_port)
mkdir -p "$work/www"; cp "$work/body" "$work/www/web"
nginx_conf "$nport" one-process
valgrind --tool=callgrind --callgrind-out-file="$work/nginx.out" nginx -c "$work/nginx.conf" -p "$work" 2>"$work/nginx.log" &
npid=$!; pids+=($npid)
under_valgrind "$nport"
nginx=$(measure "$nport" "$work/nginx.out" "$npid")

python3 - "$ours" "$limit" "$nginx" "$requests" <<'PY'
import sys
ours, limit, nginx = (int(x) for x in sys.argv[1:4])
n = int(sys.argv[4])
print(f"\ninstructions per GET /web (callgrind, {n:,} pipelined requests after 2,000 of warm-up)")
print(f"{'server':40} {'instructions/request':>22}  ratio")
for name, v in [("epoll C, same bytes (the limit)", limit), ("nginx, one process", nginx), ("rarangid (release)", ours)]:
    print(f"{name:40} {v / n:>22,.0f}  {v / limit:.2f}x the limit")
PY
